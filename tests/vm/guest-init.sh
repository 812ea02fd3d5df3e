#!/bin/busybox sh
# The VM harness's guest init (ADR 0060), pid 1 of every guest. Stage 1 copies the
# initramfs into a tmpfs and switch_roots into it: runc's pivot_root cannot leave
# the initramfs's rootfs. Stage 2 mounts what a Kubernetes node has (pure cgroup
# v2, tracefs, bpffs), loads the kernel modules the host listed, runs the commands
# of /kg/run.sh and frames each one's output on the second serial port (ttyS1,
# nothing but frames: the kernel's console is ttyS0) for the host:
#   @@KG@@<nonce> BEGIN <id>        stdout follows, live
#   @@KG@@<nonce> STDERR <id>       its stderr follows
#   @@KG@@<nonce> END <id> rc=<n>
# then powers off. The nonce comes from the host with run.sh, so nothing a test
# prints can forge a frame.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
bb=/bin/busybox

if [ "$$" = 1 ] && [ ! -e /.kg-stage2 ]; then
  $bb mount -t proc proc /proc
  $bb mount -t devtmpfs devtmpfs /dev
  $bb mkdir -p /newroot
  $bb mount -t tmpfs -o mode=0755 tmpfs /newroot
  for e in /*; do
    case $e in /proc | /dev | /sys | /newroot) $bb mkdir -p "/newroot$e" ;; *) $bb cp -a "$e" /newroot/ ;; esac
  done
  $bb touch /newroot/.kg-stage2
  $bb umount /proc
  $bb umount /dev
  exec $bb switch_root /newroot /init
fi

$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
$bb mount -t devtmpfs devtmpfs /dev
$bb mkdir -p /dev/pts /dev/shm /run /tmp /var
$bb mount -t devpts devpts /dev/pts
$bb mount -t tmpfs tmpfs /dev/shm
$bb mount -t tmpfs -o mode=0755 tmpfs /run
$bb mount -t tmpfs -o mode=1777 tmpfs /tmp
[ -e /var/run ] || $bb ln -s /run /var/run
# Pure cgroup v2 (the kernel is booted with cgroup_no_v1=all), every controller
# enabled for children, as systemd does on a v2 node.
$bb mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
for c in $($bb cat /sys/fs/cgroup/cgroup.controllers); do
  echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control || echo "kg-init: cannot enable $c"
done
$bb mount -t tracefs tracefs /sys/kernel/tracing
$bb mount -t debugfs debugfs /sys/kernel/debug
$bb mount -t bpf bpf /sys/fs/bpf
$bb hostname kg-guest
$bb ip link set lo up

# Modules the host picked and decompressed, dependencies first.
if [ -f /etc/kg/modules ]; then
  while read -r m; do
    out=$($bb insmod "$m" 2>&1) || case $out in *"File exists"*) ;; *) echo "kg-init: insmod $m: $out" ;; esac
  done </etc/kg/modules
fi

# kg_scratch DEV DIR: a disk-backed filesystem (page cache the kernel can reclaim,
# unlike tmpfs) for tests that need one.
kg_scratch() {
  # virtio_blk probes asynchronously: wait (at most 20 s) for the device node.
  n=0
  while [ ! -b "$1" ] && [ $n -lt 200 ]; do
    $bb sleep 0.1
    n=$((n + 1))
  done
  $bb mkdir -p "$2" && $bb mount -t ext4 "$1" "$2" && $bb chmod 1777 "$2"
}

# The frames port, opened once (raw: no line-discipline rewriting of the output).
$bb stty -F /dev/ttyS1 raw -echo 2>/dev/null
exec 3>/dev/ttyS1

# kg_run ID CMD...: one framed command (stdout live, then its stderr).
kg_run() {
  id=$1
  shift
  echo "@@KG@@$KG_NONCE BEGIN $id" >&3
  "$@" >&3 2>"/tmp/.kg-$id.err" </dev/null 3>&-
  rc=$?
  echo "@@KG@@$KG_NONCE STDERR $id" >&3
  $bb cat "/tmp/.kg-$id.err" >&3
  echo "@@KG@@$KG_NONCE END $id rc=$rc" >&3
}

if [ -f /kg/run.sh ]; then
  . /kg/run.sh
else
  echo "kg-init: no /kg/run.sh"
fi
$bb sync
$bb poweroff -f
