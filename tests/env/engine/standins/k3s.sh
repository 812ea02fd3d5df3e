#!/bin/bash
# /bin/k3s of the test stand-in for rancher/k3s (tests/env/engine/standins.ts,
# ADR 0072). NOT k3s: k3s' image cannot be had here. It reads the `server` flags
# docker-compose.yaml gives k3s and starts what they describe with the real
# upstream parts built by scripts/setup.sh: etcd and kube-apiserver (no kubelet,
# no add-ons — what --disable-agent and --disable=… ask of k3s), serving TLS for
# the --tls-san names under its own CA, and writes an admin kubeconfig like k3s'
# (https://127.0.0.1:6443, the CA inline, a system:masters client certificate).
# Any other flag stops it, so a compose change it does not understand is seen.
set -euo pipefail

[ "${1:-}" = server ] || { echo "k3s stand-in: only 'server' is implemented (got: $*)" >&2; exit 2; }
shift
sans=(k3s localhost)
kubeconfig=/etc/rancher/k3s/k3s.yaml
mode=600
for arg in "$@"; do
  case $arg in
  --disable-agent) ;;                     # no kubelet: the stand-in runs none
  --disable=*) ;;                         # no add-ons: the stand-in deploys none
  --tls-san=*) sans+=("${arg#--tls-san=}") ;;
  --write-kubeconfig=*) kubeconfig=${arg#--write-kubeconfig=} ;;
  --write-kubeconfig-mode=*) mode=${arg#--write-kubeconfig-mode=} ;;
  *) echo "k3s stand-in: unsupported flag $arg" >&2; exit 2 ;;
  esac
done

data=/var/lib/rancher/k3s/server
tls=$data/tls
mkdir -p "$tls" "$data/db" "$(dirname "$kubeconfig")"
echo "k3s stand-in (NOT k3s): etcd $(etcd --version | sed -n 's/^etcd Version: //p'), kube-apiserver $(kube-apiserver --version)"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
# A certificate for key $1 signed by the CA: $2 subject, $3 extensions.
cert() {
  local name=$1
  key "$tls/$name.key"
  openssl req -new -key "$tls/$name.key" -subj "$2" -out "$tls/$name.csr"
  printf '%s\n' "$3" >"$tls/$name.ext"
  openssl x509 -req -in "$tls/$name.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial \
    -days 3650 -extfile "$tls/$name.ext" -out "$tls/$name.crt" 2>/dev/null
}
if [ ! -f "$tls/ca.crt" ]; then
  key "$tls/ca.key"
  openssl req -x509 -new -key "$tls/ca.key" -subj "/CN=k3s-standin-ca" -days 3650 -out "$tls/ca.crt"
  ip=$(hostname -i | cut -d' ' -f1)
  alt="DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:127.0.0.1,IP:10.43.0.1,IP:$ip"
  for s in "${sans[@]}"; do alt="$alt,DNS:$s"; done
  cert serving "/CN=kube-apiserver" "subjectAltName=$alt
extendedKeyUsage=serverAuth"
  cert admin "/O=system:masters/CN=system:admin" "extendedKeyUsage=clientAuth"
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tls/sa.key" 2>/dev/null
  openssl pkey -in "$tls/sa.key" -pubout -out "$tls/sa.pub"
fi

etcd --data-dir="$data/db/etcd" --listen-client-urls=http://127.0.0.1:2379 \
  --advertise-client-urls=http://127.0.0.1:2379 --listen-peer-urls=http://127.0.0.1:2380 \
  --log-level=warn &
etcd=$!
kube-apiserver --etcd-servers=http://127.0.0.1:2379 --secure-port=6443 --bind-address=0.0.0.0 \
  --cert-dir="$tls" --tls-cert-file="$tls/serving.crt" --tls-private-key-file="$tls/serving.key" \
  --client-ca-file="$tls/ca.crt" --service-cluster-ip-range=10.43.0.0/16 --allow-privileged=true \
  --authorization-mode=Node,RBAC --service-account-issuer=https://kubernetes.default.svc \
  --service-account-key-file="$tls/sa.pub" --service-account-signing-key-file="$tls/sa.key" \
  --disable-admission-plugins=ServiceAccount --v=1 &
apiserver=$!

# docker compose down sends SIGTERM to this script (PID 1): stop the API server, then
# its datastore (the other way round the API server waits on etcd until killed).
trap 'kill "$apiserver" 2>/dev/null; wait "$apiserver"; kill "$etcd" 2>/dev/null; wait; exit 0' TERM INT

b64() { base64 -w0 "$1"; }
umask 077
cat >"$kubeconfig.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: default
    cluster:
      server: https://127.0.0.1:6443
      certificate-authority-data: $(b64 "$tls/ca.crt")
users:
  - name: default
    user:
      client-certificate-data: $(b64 "$tls/admin.crt")
      client-key-data: $(b64 "$tls/admin.key")
contexts:
  - name: default
    context: { cluster: default, user: default }
current-context: default
EOF
chmod "$mode" "$kubeconfig.tmp"
mv "$kubeconfig.tmp" "$kubeconfig"
# Either server exiting ends the container, so compose shows it.
wait -n
echo "k3s stand-in: etcd or kube-apiserver exited" >&2
exit 1
