#!/usr/bin/env bash
# Makes sure the real programs the tests drive (never mocks) are on this machine:
# - Debian's Chromium (/usr/bin/chromium, driven by playwright-core from
#   kit/src/testing/browser.ts) and fonts covering Latin and the Arabic script of the Persian
#   pages, installed with apt-get when missing (root only);
# - the Go-built servers, built into a cache shared by every clone on the machine,
#   ${AMANAT_TOOLS_DIR:-$HOME/.cache/amanat/test-tools}/bin, where kit/src/testing/test-tools.ts
#   looks for them.
# Idempotent and quick when everything is there: installed packages and binaries that already
# carry their pinned module version are left alone, so `npm test` pays the build (~100 s) once.
set -euo pipefail

# fonts-noto-core carries Noto Sans/Naskh Arabic, which has the Persian letters and digits;
# fonts-dejavu-core is the Latin fallback Chromium picks by default.
browser_packages=(chromium fonts-noto-core fonts-dejavu-core)
missing_packages=()
if command -v dpkg-query >/dev/null; then
  for package in "${browser_packages[@]}"; do
    dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null | grep -qx installed ||
      missing_packages+=("$package")
  done
elif [ ! -x /usr/bin/chromium ]; then
  missing_packages=("${browser_packages[@]}")
fi
if [ ${#missing_packages[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "infra/test-tools/ensure.sh: the browser tests need ${missing_packages[*]}; as root, run" \
      "\`apt-get update && apt-get install -y --no-install-recommends ${browser_packages[*]}\`" >&2
    exit 1
  fi
  echo "test tools: installing ${missing_packages[*]} from Debian's packages" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_packages[@]}"
fi
if [ ! -x /usr/bin/chromium ]; then
  echo "infra/test-tools/ensure.sh: /usr/bin/chromium is still missing after installing Debian's chromium" >&2
  exit 1
fi

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
