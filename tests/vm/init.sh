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
# Keep the sys_enter/sys_exit tracepoints on for the whole run, through a syscall nobody makes.
# Otherwise each tracer start and stop flips their static key, and the kernel patches the jump
# in syscall_trace_enter() (text_poke_bp: int3, IPI, rewrite) while the other CPU runs through
# it.  Under TCG that sometimes never completes: both CPUs were found spinning there, one in
# asm_exc_int3, until the soft-lockup watchdog fired (2 runs of about 20).  Real CPUs do not
# do this; the tests are about acceptscope, not about qemu's cross-modifying code.
for _e in sys_enter_vhangup sys_exit_vhangup; do
	echo 1 >/sys/kernel/tracing/events/syscalls/$_e/enable 2>/dev/null ||
		echo "init: could not enable syscalls/$_e"
done
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
