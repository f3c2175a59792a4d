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
ARCH := x86

CFLAGS := -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE $(SANFLAGS)
LDFLAGS := $(SANFLAGS)
LIBBPF_CFLAGS := $(shell pkg-config --cflags libbpf 2>/dev/null)
ifeq ($(STATIC),1)
LIBBPF_LIBS := -l:libbpf.a -lelf -lz
else
LIBBPF_LIBS := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz)
endif
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -I. -Ibpf

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

USER_SRCS := $(wildcard user/*.c)
USER_OBJS := $(patsubst user/%.c,$(BUILD)/user/%.o,$(USER_SRCS))
# Everything but main.c, for unit tests.
USER_LIB_OBJS := $(filter-out $(BUILD)/user/main.o,$(USER_OBJS))

LOAD_SRCS := $(wildcard server/load*.c)
DEMO_SRCS := $(filter-out $(LOAD_SRCS),$(wildcard server/*.c))
DEMO_OBJS := $(patsubst server/%.c,$(BUILD)/server/%.o,$(DEMO_SRCS))
# The load generator prints peers' X-Worker values through the tracer's escaping.
LOAD_OBJS := $(patsubst server/%.c,$(BUILD)/server/%.o,$(LOAD_SRCS)) $(BUILD)/user/escape.o

UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

BINS := $(BUILD)/acceptscope $(BUILD)/acceptscope-demo $(BUILD)/acceptscope-load

.PHONY: all deps demo test asan vmtest vmlinux clean
.DELETE_ON_ERROR:
.SECONDARY:

ifeq ($(STATIC),1)
all: $(BINS)		# Debian ships no static cmocka; the VM needs only the binaries
else
all: $(BINS) $(UNIT_BINS)
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

$(BUILD) $(BUILD)/user $(BUILD)/server $(BUILD)/tests:
	@mkdir -p $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) user/acceptscope.h vmlinux.h | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(LLVM_STRIP) -g $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@

$(BUILD)/user/%.o: user/%.c $(wildcard user/*.h) $(SKELS) | $(BUILD)/user
	$(CC) $(CFLAGS) $(LIBBPF_CFLAGS) -I$(BUILD) -Iuser -c $< -o $@

$(BUILD)/acceptscope: $(USER_OBJS)
	$(CC) $(LDFLAGS) $^ $(LIBBPF_LIBS) -ljson-c -lm -o $@

$(BUILD)/server/%.o: server/%.c $(wildcard server/*.h) user/escape.h | $(BUILD)/server
	$(CC) $(CFLAGS) -Iserver -Iuser -c $< -o $@

$(BUILD)/acceptscope-demo: $(DEMO_OBJS)
	$(CC) $(LDFLAGS) $^ -lpthread -lm -o $@

$(BUILD)/acceptscope-load: $(LOAD_OBJS)
	$(CC) $(LDFLAGS) $^ -lm -o $@

$(BUILD)/tests/%: tests/unit/%.c $(USER_LIB_OBJS) | $(BUILD)/tests
	$(CC) $(CFLAGS) $(LIBBPF_CFLAGS) -I$(BUILD) -Iuser $< $(USER_LIB_OBJS) $(LIBBPF_LIBS) -ljson-c -lcmocka -lm -o $@

clean:
	rm -rf build
