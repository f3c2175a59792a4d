#!/bin/sh
# shellcheck shell=dash disable=SC3045  # busybox ash's ulimit has -l and -n
# /init (PID 1) of the acceptscope test VM: busybox ash, no bash.  Packed by tests/vm/vmtest.sh.
# Mounts the pseudo file systems BPF tracing needs, brings up lo, runs /acceptscope/guest.sh and
# powers the VM off.  It never returns: if PID 1 exited the kernel would panic (and, with
# panic=-1 and qemu -no-reboot, end the VM without `VMTEST DONE`, which the host reports).
export PATH=/acceptscope/bin:/sbin:/bin:/usr/sbin:/usr/bin
export HOME=/root TERM=dumb

mount -t devtmpfs -o mode=0755 devtmpfs /dev 2>/dev/null
# If the initramfs had no /dev/console node the kernel started us without stdio; fix that now.
[ -t 1 ] || exec </dev/console >/dev/console 2>&1

mount -t proc -o nosuid,nodev,noexec proc /proc
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mount -t bpf -o mode=0700 bpf /sys/fs/bpf
[ -e /proc/self/fd ] && ln -sf /proc/self/fd /dev/fd

ip link set lo up
hostname acceptscope-vm
ulimit -l unlimited
ulimit -n 65536

sh /acceptscope/guest.sh || echo "init: guest.sh exited with status $?"
sync
poweroff -f
# Not reached unless poweroff failed: sleep until the host's timeout ends qemu.
while :; do sleep 3600; done
