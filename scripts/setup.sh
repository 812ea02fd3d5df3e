#!/usr/bin/env bash
# Machine setup for kernel-gossip, called by both README commands (./kg run,
# ./kg test). Idempotent: a second run only checks. Fails loudly, naming the
# missing package or the failed build step. Heavy builds are cached outside the
# repo under $KG_CACHE, keyed by version and wrapper-module hash, and published
# by an atomic rename so a failed build never leaves a binary a later run trusts.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

APT_PACKAGES=(
  # eBPF observer build (clang compiles CO-RE objects; static link needs libelf.a/libz.a)
  clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config make gcc
  # real servers the tests and the run command start
  prometheus prometheus-alertmanager chromium
  # Grafana's UI font, so the dashboard renderer's pictures and text measurements are Grafana's
  fonts-inter
  # scenario tests: network namespaces, packet filters, containers
  iproute2 iptables runc busybox-static
  # real test node (tests/env/node.ts): containerd + runc run pods, CNI bridge plugins;
  # strace for bench/node (an independent count of a pod start)
  containerd containernetworking-plugins strace
  # certificates for the test API server, HTTP checks, benchmarks
  openssl curl jq linux-perf util-linux
  # a venv for Pixie's Python client (pxapi), the contract peer in src/gateway/pixie.test.ts
  python3-venv
  # the terminal CLI's test runs `kernel-gossip watch` in a real terminal
  tmux
  # the kernel matrix (tests/vm): QEMU guests (TCG), their scratch disk, module
  # decompression, stripped test binaries in the guest root
  qemu-system-x86 e2fsprogs xz-utils zstd binutils
  # the container engine test (tests/compose-engine.test.ts): Debian base images, nft to
  # drop the packet-filter tables the engine created once they are empty again, and the
  # library Debian's docker.io dockerd (unpacked, not installed: Docker 20.10) links
  debootstrap nftables libdevmapper1.02.1
)

step() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'setup: FAILED: %s\n' "$*" >&2; exit 1; }

install_packages() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    step "Debian packages: all ${#APT_PACKAGES[@]} present"
    return
  fi
  step "Debian packages: installing ${missing[*]}"
  [ "$(id -u)" -eq 0 ] || die "installing packages needs root (missing: ${missing[*]})"
  apt-get update -qq || die "apt-get update"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >/tmp/kernel-gossip-apt.log 2>&1 || {
    tail -20 /tmp/kernel-gossip-apt.log >&2
    die "apt-get install ${missing[*]} (log: /tmp/kernel-gossip-apt.log)"
  }
  for p in "${missing[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
      die "package $p did not install"
  done
}

mount_fs() {
  [ "$(id -u)" -eq 0 ] || { step "mounts: not root, skipping tracefs/bpffs"; return; }
  if ! mountpoint -q /sys/kernel/tracing; then
    mount -t tracefs nodev /sys/kernel/tracing || die "mount tracefs at /sys/kernel/tracing"
  fi
  if ! mountpoint -q /sys/fs/bpf; then
    mount -t bpf bpf /sys/fs/bpf || die "mount bpffs at /sys/fs/bpf"
  fi
  step "mounts: tracefs at /sys/kernel/tracing, bpffs at /sys/fs/bpf"
}

node_modules() {
  local stamp="$ROOT/node_modules/.kg-lock-hash" want
  want=$(sha256sum "$ROOT/package-lock.json" | cut -c1-16)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    step "npm: node_modules up to date"
    return
  fi
  step "npm: installing dependencies (npm ci)"
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci"
  echo "$want" >"$stamp"
}

# go_build NAME MODULE_DIR DEST_DIR PKG...: builds into a temp dir beside DEST_DIR,
# then renames it into place, so DEST_DIR exists only when the build completed.
go_build() {
  local name=$1 dir=$2 dest=$3
  shift 3
  if [ -f "$dest/.complete" ]; then
    step "$name: cached at $dest"
    return
  fi
  command -v go >/dev/null || die "$name: go toolchain not found on PATH"
  mkdir -p "$(dirname "$dest")"
  local tmp="$dest.partial.$$"
  rm -rf "$tmp" && mkdir -p "$tmp"
  step "$name: building from the Go module proxy into $dest (cold builds take several minutes on 2 cores)"
  local start=$SECONDS
  (
    cd "$dir"
    GOFLAGS=-mod=mod go build -trimpath -tags "$(tags_for "$name")" -ldflags "$(ldflags_for "$name")" -o "$tmp/" "$@" 2>&1 &
    pid=$!
    # Go prints nothing while compiling; show that we are alive every 30s.
    while kill -0 "$pid" 2>/dev/null; do
      sleep 30
      kill -0 "$pid" 2>/dev/null && printf '    ... %s still building (%ss)\n' "$name" $((SECONDS - start)) >&2
    done
    wait "$pid"
  ) || { rm -rf "$tmp"; die "$name: go build in $dir"; }
  # compose's main package is .../cmd: the CLI plugin must be called docker-compose.
  if [ "$name" = compose ]; then mv "$tmp/cmd" "$tmp/docker-compose"; fi
  touch "$tmp/.complete"
  rm -rf "$dest" && mv "$tmp" "$dest"
  step "$name: built in $((SECONDS - start))s"
}

ldflags_for() {
  case $1 in
  kubernetes | kubelet)
    local major=${KUBE_VERSION%%.*} rest=${KUBE_VERSION#*.}
    local minor=${rest%%.*} pkg=k8s.io/component-base/version
    echo "-s -w -X $pkg.gitVersion=v$KUBE_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ;;
  compose) echo "-s -w -X github.com/docker/compose/v5/internal.Version=v$COMPOSE_VERSION" ;;
  dockerd)
    # The version the daemon reports (GET /version); compose reads it.
    echo "-s -w -X github.com/docker/docker/dockerversion.Version=$DOCKER_VERSION"
    ;;
  *) echo "-s -w" ;;
  esac
}

# Build tags: the daemon without the btrfs and zfs storage drivers (btrfs needs
# C headers Debian does not install here; overlay2 is what runs).
tags_for() {
  case $1 in
  dockerd) echo "netgo osusergo exclude_graphdriver_btrfs exclude_graphdriver_zfs" ;;
  *) echo "" ;;
  esac
}

rust_toolchain() {
  command -v cargo >/dev/null || die "cargo not found: install Rust (rustup) to build the observer"
  local have
  have=$(rustup component list --installed 2>/dev/null || true)
  for c in clippy rustfmt; do
    if ! grep -q "^$c" <<<"$have"; then
      step "rust: adding $c"
      rustup component add "$c" || die "rustup component add $c"
    fi
  done
  step "rust: $(cargo --version)"
}

# Python tools the tests use (PyPI): schemathesis fuzzes the gateway's OpenAPI contract.
PIP_PACKAGES=(schemathesis==4.32.5)

python_tools() {
  command -v python3 >/dev/null || die "python3 not found (needed for schemathesis)"
  local missing=()
  for p in "${PIP_PACKAGES[@]}"; do
    [ "$(python3 -m pip show "${p%%==*}" 2>/dev/null | sed -n 's/^Version: //p')" = "${p#*==}" ] || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    step "python tools: ${PIP_PACKAGES[*]} present"
    return
  fi
  step "python tools: installing ${missing[*]}"
  python3 -m pip install --quiet --disable-pip-version-check "${missing[@]}" || die "pip install ${missing[*]}"
  hash -r
}

# `go install` of an upstream command at a pinned version (its go.mod needs no
# wrapper) into a cache dir, with the same temp-dir-then-rename publish as go_build.
#   go_install NAME DEST PACKAGE@VERSION [LDFLAGS]
go_install() {
  local name=$1 dest=$2 pkg=$3 ldflags=${4:-"-s -w"}
  if [ -f "$dest/.complete" ]; then
    step "$name: cached at $dest"
    return
  fi
  command -v go >/dev/null || die "$name: go toolchain not found on PATH"
  local tmp="$dest.partial.$$" start=$SECONDS
  rm -rf "$tmp" && mkdir -p "$tmp"
  step "$name: building $pkg from the Go module proxy into $dest"
  (
    GOBIN="$tmp" GOFLAGS=-trimpath go install -ldflags "$ldflags" "$pkg" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
      sleep 30
      kill -0 "$pid" 2>/dev/null && printf '    ... %s still building (%ss)\n' "$name" $((SECONDS - start)) >&2
    done
    wait "$pid"
  ) || { rm -rf "$tmp"; die "$name: go install $pkg"; }
  touch "$tmp/.complete"
  rm -rf "$dest" && mv "$tmp" "$dest"
  step "$name: built in $((SECONDS - start))s"
}

# The kernel matrix's Debian kernels (tests/vm, ADR 0060): each suite's newest
# cloud kernel, resolved through a private apt directory at most every 12 hours
# and cached under $KG_CACHE/vm/kernels/<package>_<version>/.
vm_kernels() {
  step "vm kernels: resolving and fetching the kernel matrix (tests/vm/kernels.ts)"
  # --keep-going: a kernel Debian does not serve today fails its row of the matrix,
  # not the whole setup.
  (cd "$ROOT" && node --import tsx tests/vm/kernels.ts --keep-going) || die "vm kernels (tests/vm/kernels.ts)"
}

# The container engine test's inputs from Debian's archive (tests/env/engine/prefetch.ts):
# the stand-in images' root filesystems (debootstrap, about 1 min each cold) and Debian's
# docker.io 20.10 unpacked for the older-engine check. Cached under $KG_CACHE.
engine_test_inputs() {
  [ "$(id -u)" -eq 0 ] || { step "engine test inputs: not root, skipping (debootstrap needs root)"; return; }
  step "engine test inputs: stand-in root filesystems and Debian's docker.io (tests/env/engine/prefetch.ts)"
  (cd "$ROOT" && node --import tsx tests/env/engine/prefetch.ts) || die "engine test inputs (tests/env/engine/prefetch.ts)"
}

main() {
  install_packages
  rust_toolchain
  python_tools
  mount_fs
  node_modules
  vm_kernels
  go_build etcd "$ROOT/tests/env/etcd-build" "$(etcd_dir)" ./cmd/etcd
  go_build kubernetes "$ROOT/tests/env/kube-build" "$(kube_dir)" ./cmd/kube-apiserver ./cmd/kubectl
  # Real test node (tests/env/node.ts): kubelet from its own wrapper module.
  go_build kubelet "$ROOT/tests/env/kubelet-build" "$(kubelet_dir)" ./cmd/kubelet
  # helm renders charts/kernel-gossip in tests (a few minutes on 2 cores).
  go_install helm "$(helm_dir)" "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION" \
    "-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION"
  # vegeta drives bench/gateway at a constant rate (ADR 0055; about 10 s to build).
  go_install vegeta "$(vegeta_dir)" "github.com/tsenart/vegeta/v12@v$VEGETA_VERSION"
  # The container engine of tests/compose-engine.test.ts (ADR 0070): Docker Engine's
  # daemon and port proxy from its wrapper module, the compose CLI plugin.
  go_build dockerd "$ROOT/tests/env/dockerd-build" "$(dockerd_dir)" \
    github.com/docker/docker/cmd/dockerd github.com/docker/docker/cmd/docker-proxy
  go_build compose "$ROOT/tests/env/compose-build" "$(compose_dir)" github.com/docker/compose/v5/cmd
  engine_test_inputs
  step "setup complete: etcd $(etcd_dir)/etcd, kube-apiserver and kubectl in $(kube_dir), kubelet in $(kubelet_dir)"
}

main "$@"
