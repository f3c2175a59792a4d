#!/usr/bin/env bash
# Install the Debian packages acceptscope needs, only those missing.
# Idempotent and silent when everything is present.
set -euo pipefail

packages=(
	make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config
	libcmocka-dev libjson-c-dev jq wrk curl python3 iproute2 procps util-linux
	libmicrohttpd-dev prometheus   # the /metrics exporter and its tests (promtool)
	nginx-light	# tests/diagnose: a real server's accept mutex
)
# Extra groups, asked for by name: `deps.sh vm`, `deps.sh bench`, `deps.sh browser`.
for group in "$@"; do
	case "$group" in
	vm) packages+=(busybox-static cpio) ;;   # qemu itself is installed without recommends below
	bench) packages+=(nginx-light) ;;
	browser) packages+=(chromium) ;;
	*) echo "deps.sh: unknown group '$group'" >&2; exit 2 ;;
	esac
done

missing=()
for p in "${packages[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
need_qemu=0
for group in "$@"; do
	[[ $group == vm ]] && ! dpkg -s qemu-system-x86 >/dev/null 2>&1 && need_qemu=1
done
((${#missing[@]} == 0 && need_qemu == 0)) && exit 0

if [[ $(id -u) -ne 0 ]]; then
	echo "deps.sh: missing packages (${missing[*]}); run as root or install them" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "deps.sh: installing ${missing[*]}" >&2
apt-get update -qq
if ((${#missing[@]})); then
	apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ((need_qemu)); then
	apt-get install -y -qq --no-install-recommends qemu-system-x86 >/dev/null
fi
