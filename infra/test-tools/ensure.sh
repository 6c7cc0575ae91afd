#!/usr/bin/env bash
# Builds the Go-built servers the tests run for real (never mocks) into a cache shared by
# every clone on the machine, ${AMANAT_TOOLS_DIR:-$HOME/.cache/amanat/test-tools}/bin, where
# kit/src/testing/test-tools.ts looks for them. Idempotent: a binary that already carries its
# pinned module version is left alone, so `npm test` pays the build (~100 s) only once.
set -euo pipefail

bin_dir="${AMANAT_TOOLS_DIR:-$HOME/.cache/amanat/test-tools}/bin"

if ! command -v go >/dev/null; then
  echo "infra/test-tools/ensure.sh: 'go' is not on PATH; install Go (https://go.dev/dl/) to build the test tools" >&2
  exit 1
fi

# tool <binary name> <module> <package path inside the module> <version>
tool() {
  local name=$1 module=$2 package=$3 version=$4
  if [ -x "$bin_dir/$name" ] &&
    go version -m "$bin_dir/$name" 2>/dev/null | awk '$1 == "mod" { print $2, $3 }' | grep -qxF "$module $version"; then
    return
  fi
  echo "test tools: building $name $version into $bin_dir" >&2
  # An inherited GOFLAGS=-mod=vendor or a GOBIN elsewhere must not redirect the build.
  GOBIN="$bin_dir" GOFLAGS=-mod=mod go install "$module/$package@$version"
}

mkdir -p "$bin_dir"
tool versitygw github.com/versity/versitygw cmd/versitygw v1.8.0
