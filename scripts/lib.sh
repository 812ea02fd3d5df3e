# Shared by setup.sh and the kg entry point: where cached binaries live.
# The cache key is the pinned version plus a hash of the wrapper module, so a
# change to either builds afresh; src/local/runtime/binaries.ts computes the same key.
# shellcheck disable=SC2034
KG_CACHE=${KG_CACHE:-/var/cache/kernel-gossip}
# shellcheck source=scripts/versions.env
source "$ROOT/scripts/versions.env"

module_hash() {
  (cd "$1" && find . -name '*.go' -o -name go.mod -o -name go.sum | LC_ALL=C sort | xargs cat) |
    sha256sum | cut -c1-12
}
etcd_dir() { echo "$KG_CACHE/etcd-$ETCD_VERSION-$(module_hash "$ROOT/tests/env/etcd-build")"; }
kube_dir() { echo "$KG_CACHE/kubernetes-$KUBE_VERSION-$(module_hash "$ROOT/tests/env/kube-build")"; }
# The kubelet has its own wrapper module so it never changes kube_dir's key.
kubelet_dir() { echo "$KG_CACHE/kubelet-$KUBE_VERSION-$(module_hash "$ROOT/tests/env/kubelet-build")"; }
helm_dir() { echo "$KG_CACHE/helm-$HELM_VERSION"; }
vegeta_dir() { echo "$KG_CACHE/vegeta-$VEGETA_VERSION"; }
dockerd_dir() { echo "$KG_CACHE/dockerd-$DOCKER_VERSION-$(module_hash "$ROOT/tests/env/dockerd-build")"; }
compose_dir() { echo "$KG_CACHE/compose-$COMPOSE_VERSION-$(module_hash "$ROOT/tests/env/compose-build")"; }
