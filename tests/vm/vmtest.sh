#!/usr/bin/env bash
# Boot Debian's stock 6.1 kernel under qemu (TCG software emulation, never KVM) with a busybox
# initramfs holding our static binaries, run tests/vm/guest.sh in it and report what it printed.
#
#   tests/vm/vmtest.sh [PATTERN...]     only guest tests whose name contains one of the patterns
#
# Exit status: 0 when the guest printed `VMTEST DONE`, at least one PASS and no FAIL;
#              77 (skip) when qemu or the kernel image cannot be had at all (reason on the last line);
#              1 otherwise.  Console log: build/vm/console.log.
#
# Environment:
#   ACCEPTSCOPE_VM_TIMEOUT=600        wall-clock limit for the whole VM run, in seconds
#   ACCEPTSCOPE_VM_TEST_TIMEOUT=60    per-test limit inside the guest, in seconds
#   ACCEPTSCOPE_STATIC_BIN=build/static  where the static acceptscope binaries are looked for
#   ACCEPTSCOPE_VM_KERNEL=FILE        boot this kernel image instead of the cached Debian one
#   ACCEPTSCOPE_VM_BOOT=pvh|bzimage   pvh (default): boot the vmlinux ELF unpacked from Debian's
#                                     vmlinuz on the host through qemu's PVH entry -- the same kernel,
#                                     minus ~3.5 s of in-guest xz decompression under TCG; bzimage:
#                                     boot /boot/vmlinuz as it is (fallback when unpacking fails)
#   ACCEPTSCOPE_VM_REFRESH=1          forget the cached kernel, ask apt for the current one again
#   ACCEPTSCOPE_VM_SMP=2 ACCEPTSCOPE_VM_MEM=1024   guest CPUs / MiB
#   ACCEPTSCOPE_VM_APPEND="..."       extra kernel command-line arguments
#   ACCEPTSCOPE_VM_EXTRA_TESTS=DIR    also run DIR/*.sh as guest tests (like tests/vm/guest.d/)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VMSRC=$ROOT/tests/vm
OUT=$ROOT/build/vm
CACHE=$OUT/cache
STATIC=${ACCEPTSCOPE_STATIC_BIN:-$ROOT/build/static}
VM_TIMEOUT=${ACCEPTSCOPE_VM_TIMEOUT:-600}
TEST_TIMEOUT=${ACCEPTSCOPE_VM_TEST_TIMEOUT:-60}
SMP=${ACCEPTSCOPE_VM_SMP:-2}
MEM=${ACCEPTSCOPE_VM_MEM:-1024}
CONSOLE=$OUT/console.log
QEMU_ERR=$OUT/qemu.stderr
# The binaries from build/static/ the initramfs carries when they exist.
STATIC_BINS=(acceptscope acceptscope-demo acceptscope-load)

say() { echo "vmtest: $*" >&2; }
# The runner (tests/run.sh) shows the last line of a skipped test: keep the reason last.
die() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

t_start=$(now)
mkdir -p "$OUT" "$CACHE"
# One VM run at a time per checkout: they share build/vm/.
exec 9>"$OUT/.lock"
flock -w "$VM_TIMEOUT" 9 || die "another vmtest holds $OUT/.lock"

# --- (a) dependencies ---------------------------------------------------------------------------
if ! deps_err=$(bash "$ROOT/scripts/deps.sh" vm 2>&1); then
	printf '%s\n' "$deps_err" >&2
	skip "cannot install the VM dependencies (busybox-static, cpio, qemu-system-x86)"
fi
QEMU=$(command -v qemu-system-x86_64 || true)
[[ -n $QEMU ]] || skip "qemu-system-x86_64 not found"
BUSYBOX=/bin/busybox
if [[ ! -x $BUSYBOX ]] || ! "$BUSYBOX" --list-full >/dev/null 2>&1; then
	skip "no static busybox at $BUSYBOX"
fi

# --- (b) the kernel image, fetched once ---------------------------------------------------------
# unpack_vmlinux VMLINUZ OUT: the ELF vmlinux inside a bzImage, if it can be booted through PVH.
unpack_vmlinux() {
	local in=$1 out=$2 fmt magic off
	command -v readelf >/dev/null || return 1
	# The payload is one compressed stream after the setup code; try each plausible start.
	for fmt in xz zstd gzip; do
		case $fmt in
		xz) magic='\xfd7zXZ\x00' ;;
		zstd) magic='\x28\xb5\x2f\xfd' ;;
		gzip) magic='\x1f\x8b\x08' ;;
		esac
		command -v $fmt >/dev/null || continue
		for off in $(LC_ALL=C grep -obUaP "$magic" "$in" 2>/dev/null | cut -d: -f1 | head -n 5); do
			case $fmt in
			xz) tail -c +$((off + 1)) "$in" | xz -dcq --single-stream >"$out.tmp" 2>/dev/null || true ;;
			*) tail -c +$((off + 1)) "$in" | $fmt -dcq >"$out.tmp" 2>/dev/null || true ;;
			esac
			# An ELF with the Xen PHYS32_ENTRY note (type 0x12) is what qemu's PVH loader needs.
			if [[ $(head -c 4 "$out.tmp" 2>/dev/null | od -An -tx1 | tr -d ' \n') == 7f454c46 ]] &&
				LC_ALL=C readelf -n "$out.tmp" 2>/dev/null | grep -q 'Xen.*0x00000012'; then
				mv "$out.tmp" "$out"
				return 0
			fi
		done
	done
	rm -f "$out.tmp"
	return 1
}

# Debian's linux-image-amd64 depends on the current linux-image-<abi>-amd64; we take /boot/vmlinuz
# (and the config, for reference) out of that .deb without installing it.
kernel_pkg() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }'
}
fetch_kernel() {
	local pkg dl deb ver
	pkg=$(kernel_pkg)
	[[ -n $pkg ]] || return 1
	ver=${pkg#linux-image-}
	say "downloading $pkg (once; cached in ${CACHE#"$ROOT"/})"
	dl=$(mktemp -d "$CACHE/dl.XXXXXX")
	# The download sandbox user (_apt) cannot write into a root-owned build tree; download as us.
	if ! (cd "$dl" && apt-get download -q=2 -o APT::Sandbox::User=root "$pkg" >&2); then
		rm -rf "$dl"; return 1
	fi
	deb=$(find "$dl" -maxdepth 1 -name '*.deb' | head -n 1)
	if [[ -z $deb ]] || ! (cd "$dl" && dpkg-deb --fsys-tarfile "$deb" | tar -x "./boot/vmlinuz-$ver" "./boot/config-$ver"); then
		rm -rf "$dl"; return 1
	fi
	mv "$dl/boot/config-$ver" "$CACHE/config-$ver"
	mv "$dl/boot/vmlinuz-$ver" "$CACHE/vmlinuz-$ver"   # last: its presence means "cached"
	echo "$pkg" >"$CACHE/kernel.pkg"
	rm -rf "$dl"
}
if [[ -n ${ACCEPTSCOPE_VM_KERNEL:-} ]]; then
	KERNEL=$ACCEPTSCOPE_VM_KERNEL
	[[ -r $KERNEL ]] || die "ACCEPTSCOPE_VM_KERNEL=$KERNEL is not readable"
else
	[[ ${ACCEPTSCOPE_VM_REFRESH:-0} == 1 ]] && rm -f "$CACHE"/vmlinu[xz]-* "$CACHE"/config-* "$CACHE/kernel.pkg"
	rm -rf "$CACHE"/dl.*   # leftovers of an interrupted download
	# shellcheck disable=SC2012  # newest first; the names are ours
	KERNEL=$(ls -t "$CACHE"/vmlinuz-* 2>/dev/null | head -n 1 || true)
	if [[ -z $KERNEL ]]; then
		if ! fetch_kernel; then
			# No package lists yet, or they name a version the mirror no longer has.
			say "refreshing the package lists (apt-get update) and trying again"
			apt-get update -qq >&2 || true
			fetch_kernel || skip "cannot download Debian's linux-image-amd64 kernel (apt-get download failed)"
		fi
		# shellcheck disable=SC2012
		KERNEL=$(ls -t "$CACHE"/vmlinuz-* | head -n 1)
	fi
fi
BOOT=${ACCEPTSCOPE_VM_BOOT:-pvh}
if [[ $BOOT == pvh && -z ${ACCEPTSCOPE_VM_KERNEL:-} ]]; then
	ELF=$CACHE/vmlinux-$(basename "$KERNEL" | sed 's/^vmlinuz-//')
	if [[ -s $ELF && ! $ELF -ot $KERNEL ]] || unpack_vmlinux "$KERNEL" "$ELF"; then
		KERNEL=$ELF
	else
		say "warning: cannot unpack a PVH-bootable vmlinux from $KERNEL; booting the bzImage (slower)"
		BOOT=bzimage
	fi
fi
say "kernel: ${KERNEL#"$ROOT"/} ($BOOT boot)"

# --- (c) the initramfs ---------------------------------------------------------------------------
# A tiny static program of our own (no BPF program in it): proves the guest runs a static
# libbpf binary and that libbpf can parse /sys/kernel/btf/vmlinux.
BTFCHECK=$OUT/btfcheck
if [[ ! -x $BTFCHECK || $VMSRC/btfcheck.c -nt $BTFCHECK || $0 -nt $BTFCHECK ]]; then
	# shellcheck disable=SC2046  # pkg-config prints several words
	gcc -O2 -g -Wall -Wextra -Werror -static $(pkg-config --cflags libbpf 2>/dev/null) \
		"$VMSRC/btfcheck.c" -l:libbpf.a -lelf -lz -o "$BTFCHECK.tmp" ||
		die "cannot build $VMSRC/btfcheck.c statically (libbpf-dev, libelf-dev, zlib1g-dev installed?)"
	mv "$BTFCHECK.tmp" "$BTFCHECK"
fi

STAGE=$OUT/initramfs
# Left uncompressed: the kernel unpacks a plain cpio faster than it gunzips one under TCG.
INITRD=$OUT/initramfs.cpio
rm -rf "$STAGE"
mkdir -p "$STAGE"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,root,etc}
mkdir -p "$STAGE"/acceptscope/{bin,guest.d}
cp "$BUSYBOX" "$STAGE/bin/busybox"
mapfile -t applets < <("$BUSYBOX" --list-full | grep -vx 'bin/busybox')
(
	cd "$STAGE"
	printf '%s\n' "${applets[@]%/*}" | sort -u | xargs mkdir -p
	for a in "${applets[@]}"; do ln -s /bin/busybox "$a"; done
)
# The kernel opens /dev/console for PID 1 before /init can mount devtmpfs.
if ! mknod -m 600 "$STAGE/dev/console" c 5 1 2>/dev/null; then
	say "warning: cannot mknod /dev/console (not root?); /init will reopen it after mounting devtmpfs"
fi
install -m 755 "$VMSRC/init.sh" "$STAGE/init"
install -m 755 "$VMSRC/guest.sh" "$STAGE/acceptscope/guest.sh"
for d in "$VMSRC/guest.d" ${ACCEPTSCOPE_VM_EXTRA_TESTS:+"$ACCEPTSCOPE_VM_EXTRA_TESTS"}; do
	[[ -d $d ]] || continue
	for f in "$d"/*; do
		[[ -f $f ]] && install -m 755 "$f" "$STAGE/acceptscope/guest.d/"
	done
done
install -m 755 "$BTFCHECK" "$STAGE/acceptscope/bin/btfcheck"
present=()
for b in "${STATIC_BINS[@]}"; do
	[[ -x $STATIC/$b ]] || continue
	if file -b "$STATIC/$b" 2>/dev/null | grep -q 'dynamically linked'; then
		say "warning: $STATIC/$b is dynamically linked; not copied (build it with make STATIC=1)"
		continue
	fi
	install -m 755 "$STATIC/$b" "$STAGE/acceptscope/bin/$b"
	present+=("$b")
done
say "static binaries: ${present[*]:-none} (from ${STATIC#"$ROOT"/})"
# Host tools the guest tests use (jq for the JSON checks), with the shared libraries they need:
# the guest's libc is the host's, so the same test code runs on both sides.
for tool in jq; do
	path=$(command -v "$tool") || die "$tool is not installed on the host"
	install -D -m 755 "$path" "$STAGE/usr/bin/$tool"
	for lib in $(ldd "$path" | grep -o '/[^ ]*'); do
		install -D -m 755 "$lib" "$STAGE$lib"
	done
done
# Settings for the guest; guest.sh sources this file.
{
	printf 'VMTEST_TEST_TIMEOUT=%q\n' "$TEST_TIMEOUT"
	printf 'VMTEST_FILTER=%q\n' "$*"
	printf 'VMTEST_KERNEL_PKG=%q\n' "$(cat "$CACHE/kernel.pkg" 2>/dev/null || basename "$KERNEL")"
} >"$STAGE/acceptscope/env"
(cd "$STAGE" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) >"$INITRD.tmp"
mv "$INITRD.tmp" "$INITRD"
say "initramfs: $(du -k "$INITRD" | cut -f1) KiB"

# --- (d) boot ------------------------------------------------------------------------------------
# quiet + panic=-1 (with -no-reboot: a panic ends qemu at once); oops=panic so an oops ends the run
# instead of hanging; net.ifnames=0 keeps interface names predictable; no_timer_check skips the
# IO-APIC timer sanity check, which emulated timers can fail.
APPEND="console=ttyS0 quiet panic=-1 oops=panic softlockup_panic=1 net.ifnames=0 no_timer_check rdinit=/init ${ACCEPTSCOPE_VM_APPEND:-}"
QEMU_CMD=(
	"$QEMU" -accel tcg -cpu max -smp "$SMP" -m "$MEM"
	-nodefaults -no-user-config -display none -no-reboot
	-serial "file:$CONSOLE" -monitor none
	-kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND"
)
# A guest kernel soft lockup panics at once (softlockup_panic=1) and is rerun once: under TCG
# the kernel has been seen to lock up patching its own code (see tests/vm/init.sh).  The
# lockup is printed and its console kept; the rerun's result is final.
for attempt in 1 2; do
	: >"$CONSOLE"
	say "booting (timeout ${VM_TIMEOUT}s): ${QEMU_CMD[*]}"
	t_boot=$(now)
	rc=0
	timeout -k 10 "$VM_TIMEOUT" "${QEMU_CMD[@]}" </dev/null >"$QEMU_ERR" 2>&1 || rc=$?
	t_end=$(now)
	((attempt == 1)) && grep -aq 'soft lockup' "$CONSOLE" || break
	cp "$CONSOLE" "$OUT/console.lockup.log"
	say "the guest kernel locked up (console kept as ${OUT#"$ROOT"/}/console.lockup.log); running the VM once more:"
	grep -a 'soft lockup\|RIP: 0010' "$CONSOLE" | tr -d '\r' | head -n 6 | sed 's/^/  | /' >&2
done

# --- (e) results ---------------------------------------------------------------------------------
# Serial output has CRLF line ends.  The result lines are those that start with VMTEST.
tr -d '\r' <"$CONSOLE" >"$CONSOLE.txt"
mapfile -t lines < <(grep -a '^VMTEST ' "$CONSOLE.txt" || true)
if ((rc != 0 && rc != 124 && rc != 137)) && [[ ! -s $CONSOLE ]]; then
	sed 's/^/  qemu: /' "$QEMU_ERR" >&2
	skip "qemu could not start (exit $rc): $(head -n 1 "$QEMU_ERR")"
fi
pass=0 fail=0 skipped=0 done=0
failures=()
for l in ${lines[@]+"${lines[@]}"}; do
	case $l in
	"VMTEST PASS "*) pass=$((pass + 1)) ;;
	"VMTEST FAIL "*) fail=$((fail + 1)); failures+=("${l#VMTEST FAIL }") ;;
	"VMTEST SKIP "*) skipped=$((skipped + 1)) ;;
	"VMTEST DONE"*) done=1 ;;
	esac
done
# Show the guest's output: everything from its first VMTEST line (failure details are indented).
sed -n '/^VMTEST /,$p' "$CONSOLE.txt"

# --- (f) summary ---------------------------------------------------------------------------------
boot_s=$(elapsed "$t_boot" "$t_end")
total_s=$(elapsed "$t_start" "$t_end")
echo "vmtest: $pass passed, $fail failed, $skipped skipped; VM ${boot_s}s (qemu exit $rc), total ${total_s}s"
problem=
if ((rc == 124 || rc == 137)); then
	problem="VM did not finish within ${VM_TIMEOUT}s (ACCEPTSCOPE_VM_TIMEOUT)"
elif ((!done)); then
	problem="guest never printed VMTEST DONE (qemu exit $rc)"
elif ((fail)); then
	problem="$fail guest test(s) failed: ${failures[*]}"
elif ((pass == 0)); then
	problem="no guest test passed"
fi
if [[ -n $problem ]]; then
	if ((!done)); then
		echo "vmtest: last console lines (${CONSOLE#"$ROOT"/}):"
		tail -n 40 "$CONSOLE.txt" | sed 's/^/  | /'
	fi
	[[ -s $QEMU_ERR ]] && sed 's/^/  qemu: /' "$QEMU_ERR"
	die "$problem"
fi
echo "PASS: vmtest"
