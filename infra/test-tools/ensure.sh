#!/usr/bin/env bash
# Makes sure the real programs the tests drive (never mocks) are on this machine:
# - Debian's Chromium (/usr/bin/chromium, driven by playwright-core from
#   kit/src/testing/browser.ts) and fonts covering Latin and the Arabic script of the Persian
#   pages, installed with apt-get when missing (root only);
# - the Go-built tools — versitygw, helm, and etcd plus the Kubernetes control plane for the e2e
#   cluster (e2e/cluster/{etcd,kube}: small Go modules that pin them) — built into a cache
#   shared by every clone on the machine,
#   ${AMANAT_TOOLS_DIR:-$HOME/.cache/amanat/test-tools}/bin, where kit/src/testing/test-tools.ts
#   looks for them.
# Idempotent and quick when everything is there: installed packages and binaries that already
# carry their pinned module version are left alone, so `npm test` pays the builds once (~100 s for
# versitygw, ~10 min on two cores for Kubernetes).
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
    go version -m "$bin_dir/$name" 2>/dev/null | awk '$1 == "mod" { print $2, $3 }' | grep -xF "$module $version" >/dev/null; then
    return
  fi
  echo "test tools: building $name $version into $bin_dir" >&2
  # An inherited GOFLAGS=-mod=vendor or a GOBIN elsewhere must not redirect the build.
  GOBIN="$bin_dir" GOFLAGS=-mod=mod go install "$module/$package@$version"
}

mkdir -p "$bin_dir"
tool versitygw github.com/versity/versitygw cmd/versitygw v1.8.0
# helm lints and templates the chart in charts/ (cdk8s/src/helm-chart.test.ts).
tool helm helm.sh/helm/v3 cmd/helm v3.22.0

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# cluster_tool <binary name> <module dir> <package> <pinned module> [<ldflags> <--version line>]:
# builds <package> inside the Go module in <module dir>, whose go.mod pins <pinned module>. A
# binary that records that module at the pinned version (and, given one, prints that line for
# --version: -trimpath keeps ldflags out of the build info) is left alone. The greps read all
# their input (no -q): under pipefail, an early exit would fail the pipeline with SIGPIPE.
cluster_tool() {
  local name=$1 dir=$2 package=$3 pinned=$4 ldflags=${5:-} version_line=${6:-}
  local version
  version=$(cd "$dir" && GOFLAGS=-mod=mod go list -m -f '{{.Version}}' "$pinned")
  if [ -x "$bin_dir/$name" ] &&
    go version -m "$bin_dir/$name" 2>/dev/null | awk '$1 == "mod" || $1 == "dep" { print $2, $3 }' |
    grep -xF "$pinned $version" >/dev/null &&
    { [ -z "$version_line" ] || [ "$("$bin_dir/$name" --version 2>/dev/null)" = "$version_line" ]; }; then
    return
  fi
  echo "test tools: building $name ($pinned $version) into $bin_dir" >&2
  (cd "$dir" && GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$bin_dir/$name" "$package")
}

cluster_tool etcd "$repo_root/e2e/cluster/etcd" . go.etcd.io/etcd/server/v3

# The version stamps hack/lib/version.sh gives a release build, so /version and the
# components' --version report the real release rather than v0.0.0-master.
kube_version=$(cd "$repo_root/e2e/cluster/kube" && GOFLAGS=-mod=mod go list -m -f '{{.Version}}' k8s.io/kubernetes)
kube_minor=${kube_version#v*.}
kube_minor=${kube_minor%%.*}
kube_major=${kube_version#v}
kube_major=${kube_major%%.*}
kube_ldflags=""
for stamp in "gitVersion=$kube_version" "gitMajor=$kube_major" "gitMinor=$kube_minor" "gitTreeState=clean"; do
  kube_ldflags+=" -X k8s.io/component-base/version.$stamp -X k8s.io/client-go/pkg/version.$stamp"
done
kube_ldflags=${kube_ldflags# }
for component in kube-apiserver kube-controller-manager kube-scheduler; do
  cluster_tool "$component" "$repo_root/e2e/cluster/kube" "k8s.io/kubernetes/cmd/$component" k8s.io/kubernetes \
    "$kube_ldflags" "Kubernetes $kube_version"
done
