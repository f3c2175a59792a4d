# acceptscope build.  `make` builds everything into build/ (or build/san with SAN=1).
# `make demo` and `make test` also install missing Debian packages first.

SAN ?= 0
STATIC ?= 0
ifeq ($(SAN),1)
BUILD := build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else ifeq ($(STATIC),1)
# Static binaries for the stock-kernel VM test (tests/vm): libbpf.a, libelf, zlib.
BUILD := build/static
SANFLAGS := -static
else
BUILD := build
SANFLAGS :=
endif

CC ?= gcc
CLANG ?= clang
LLVM_STRIP ?= llvm-strip
BPFTOOL ?= bpftool
# The kernel's name for this machine's architecture (bpf_tracing.h's __TARGET_ARCH_*).
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/' \
			       -e 's/riscv64/riscv/' -e 's/s390x/s390/' -e 's/loongarch64/loongarch/')

CFLAGS := -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE $(SANFLAGS)
LDFLAGS := $(SANFLAGS)
LIBBPF_CFLAGS := $(shell pkg-config --cflags libbpf 2>/dev/null)
ifeq ($(STATIC),1)
LIBBPF_LIBS := -l:libbpf.a -lelf -lz
else
LIBBPF_LIBS := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz)
endif
# The /metrics server (user/prom_http.c).  Debian ships no static libmicrohttpd: STATIC=1 builds
# leave it out and --prometheus says so.
ifeq ($(STATIC),1)
MHD_CFLAGS :=
MHD_LIBS :=
else
MHD_CFLAGS := $(shell pkg-config --cflags libmicrohttpd 2>/dev/null) -DHAVE_LIBMICROHTTPD
MHD_LIBS := $(shell pkg-config --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd)
endif
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -I. -Ibpf

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

# Each program is its folders; common/ goes into all three.
obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
COMMON_OBJS := $(call obj,$(wildcard common/*.c))
USER_OBJS := $(call obj,$(wildcard user/*.c user/compare/*.c))
# Everything but main.c, for unit tests.
USER_LIB_OBJS := $(filter-out $(BUILD)/obj/user/main.o,$(USER_OBJS)) $(COMMON_OBJS)
DEMO_OBJS := $(call obj,$(wildcard server/*.c server/models/*.c))
LOAD_OBJS := $(call obj,$(wildcard load/*.c))
HEADERS := $(wildcard bpf/*.h common/*.h user/*.h user/compare/*.h server/*.h server/models/*.h load/*.h)

UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

BINS := $(BUILD)/acceptscope $(BUILD)/acceptscope-demo $(BUILD)/acceptscope-load
# bench/cost.sh: empty programs (the floor) and the tool that attaches them and reads run times.
BENCH := $(BUILD)/bench/floor.bpf.o $(BUILD)/bench/bpfcost

.PHONY: all deps demo test asan vmtest vmlinux clean
.DELETE_ON_ERROR:
.SECONDARY:

ifeq ($(STATIC),1)
all: $(BINS) $(BENCH)	# Debian ships no static cmocka; the VM needs only the binaries
else
all: $(BINS) $(BENCH) $(UNIT_BINS)
endif

deps:
	@bash scripts/deps.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@bash scripts/demo.sh $(BUILD)

test: deps
	@$(MAKE) --no-print-directory all
	@ACCEPTSCOPE_BIN=$(abspath $(BUILD)) bash tests/run.sh

# The fentry and kprobe backends, in Debian's stock kernel under qemu (tests/vm).
vmtest: deps
	@$(MAKE) --no-print-directory STATIC=1 all
	@bash tests/vm/vmtest.sh

asan:
	@$(MAKE) --no-print-directory SAN=1 all

# Regenerate vmlinux.h from the running kernel's BTF (committed; the build never needs it).
vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h

$(BUILD) $(BUILD)/tests $(BUILD)/bench:
	@mkdir -p $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) vmlinux.h | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(LLVM_STRIP) -g $@

$(BUILD)/bench/floor.bpf.o: bench/floor.bpf.c vmlinux.h | $(BUILD)/bench
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(LLVM_STRIP) -g $@

$(BUILD)/bench/bpfcost: bench/bpfcost.c | $(BUILD)/bench
	$(CC) $(CFLAGS) $(LIBBPF_CFLAGS) $< $(LDFLAGS) $(LIBBPF_LIBS) -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@

# Quoted includes find the including file's own folder first, then these.
$(BUILD)/obj/%.o: %.c $(HEADERS) $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LIBBPF_CFLAGS) $(MHD_CFLAGS) -I$(BUILD) -Icommon -Ibpf -Iuser -c $< -o $@

$(BUILD)/acceptscope: $(USER_OBJS) $(COMMON_OBJS)
	$(CC) $(LDFLAGS) $^ $(LIBBPF_LIBS) $(MHD_LIBS) -ljson-c -lm -o $@

$(BUILD)/acceptscope-demo: $(DEMO_OBJS) $(COMMON_OBJS)
	$(CC) $(LDFLAGS) $^ -ljson-c -lpthread -lm -o $@

$(BUILD)/acceptscope-load: $(LOAD_OBJS) $(COMMON_OBJS)
	$(CC) $(LDFLAGS) $^ -ljson-c -lm -o $@

$(BUILD)/tests/%: tests/unit/%.c $(USER_LIB_OBJS) | $(BUILD)/tests
	$(CC) $(CFLAGS) $(LIBBPF_CFLAGS) -I$(BUILD) -Icommon -Ibpf -Iuser $< $(USER_LIB_OBJS) $(LIBBPF_LIBS) $(MHD_LIBS) -ljson-c -lcmocka -lm -o $@

clean:
	rm -rf build
