# SPDX-License-Identifier: MIT
#
# tock — one top-level Makefile. Sources are found by directory, so adding a file to
# userspace/lib/ or a test to tests/unit/ needs no edit here.
#
#   make            build everything into build/
#   make test       install missing packages, build, run every test (incl. ASan/UBSan builds)
#   make run        install missing packages, build, start tock-ke + tockd on loopback
#   make bench      side-by-side benchmarks against chronyd (bench/)
#   make fmt|lint   clang-format / cppcheck
#   make deb        Debian package (packaging/debian)
#   make install    install into $(DESTDIR)$(PREFIX)

CC      ?= gcc
CLANG   ?= clang
BPFTOOL ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
B       := build
PREFIX  ?= /usr

NL_CFLAGS := $(shell pkg-config --cflags libnl-3.0 2>/dev/null || echo -I/usr/include/libnl3)
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wshadow -D_GNU_SOURCE -pthread \
	   -Iuserspace/lib -Ikmod-free -Ibpf -I$(B)/bpf -Itests/unit $(NL_CFLAGS) -MMD -MP
LDLIBS  := -luring -lbpf -lelf -lz -lnl-route-3 -lnl-genl-3 -lnl-3 -lssl -lcrypto -lpthread -lm
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

LIB_SRC   := $(wildcard userspace/lib/*.c) $(wildcard kmod-free/*.c)
PROGS     := tockd tock-ke tockctl
BPF_SRC   := $(wildcard bpf/*.bpf.c)
BPF_SKELS := $(patsubst bpf/%.bpf.c,$(B)/bpf/%.skel.h,$(BPF_SRC))
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
BPFT_SRC  := $(wildcard tests/bpf/test_*.c)
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
BENCH_SRC := $(wildcard bench/tock-bench/*.c)
HELPER_SRC := $(wildcard tests/helpers/*.c)

obj  = $(patsubst %.c,$(B)/obj/%.o,$(1))
aobj = $(patsubst %.c,$(B)/asan-obj/%.o,$(1))

LIB   := $(B)/lib/libtock.a
ALIB  := $(B)/lib/libtock-asan.a
BINS  := $(addprefix $(B)/bin/,$(PROGS)) $(if $(BENCH_SRC),$(B)/bin/tock-bench)
UNIT  := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
AUNIT := $(patsubst tests/unit/%.c,$(B)/asan/%,$(UNIT_SRC))
BPFT  := $(patsubst tests/bpf/%.c,$(B)/tests/bpf_%,$(BPFT_SRC))
FUZZR := $(patsubst tests/fuzz/fuzz_%.c,$(B)/fuzz/replay_%,$(FUZZ_SRC))
HELPERS := $(patsubst tests/helpers/%.c,$(B)/tests/helpers/%,$(HELPER_SRC))

.PHONY: all deps test test-only asan-progs run bench fmt lint clean install deb fuzz
all: $(BINS) $(BPF_SKELS)

deps:
	@bash packaging/deps.sh

# ---- BPF: object and generated skeleton (never committed) -------------------------
$(B)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h)
	@mkdir -p $(@D)
	$(CLANG) -O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -I/usr/include/$(shell uname -m)-linux-gnu \
		-Ibpf -Wall -Wno-unused-function -c $< -o $@
# Keep the objects: tests and bench/ attach tock_pass.bpf.o directly.
.SECONDARY: $(patsubst bpf/%.bpf.c,$(B)/bpf/%.bpf.o,$(BPF_SRC))
$(B)/bpf/%.skel.h: $(B)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

# ---- library (plain and sanitizer builds) -------------------------------------------
$(B)/obj/%.o: %.c | $(BPF_SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@
$(B)/asan-obj/%.o: %.c | $(BPF_SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -O1 $(SAN) -c $< -o $@
$(LIB): $(call obj,$(LIB_SRC))
	@mkdir -p $(@D)
	$(AR) rcs $@ $^
$(ALIB): $(call aobj,$(LIB_SRC))
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

# ---- programs: one folder each -------------------------------------------------------
define prog_rule
$(B)/bin/$(1): $(call obj,$(wildcard userspace/$(1)/*.c)) $(LIB)
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach p,$(PROGS),$(eval $(call prog_rule,$(p))))
$(B)/bin/tock-bench: $(call obj,$(BENCH_SRC)) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# ---- tests ------------------------------------------------------------------------------
$(B)/tests/test_%: $(B)/obj/tests/unit/test_%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lgnutls
$(B)/asan/test_%: $(B)/asan-obj/tests/unit/test_%.o $(ALIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS) -lgnutls
$(B)/tests/bpf_test_%: $(B)/obj/tests/bpf/test_%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(B)/tests/helpers/%: $(B)/obj/tests/helpers/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lgnutls
# Fuzz targets: a stand-alone replay binary (gcc + sanitizers) that `make test` runs over
# tests/fuzz/corpus/NAME/, and a libFuzzer binary when clang has -fsanitize=fuzzer.
$(B)/fuzz/replay_%: $(B)/asan-obj/tests/fuzz/fuzz_%.o $(B)/asan-obj/tests/fuzz/replay_main.o $(ALIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS)
$(B)/fuzz/libfuzzer_%: tests/fuzz/fuzz_%.c $(LIB_SRC) | $(BPF_SKELS)
	@mkdir -p $(@D)
	$(CLANG) $(filter-out -MMD -MP,$(CFLAGS)) -O1 -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)
fuzz: $(patsubst tests/fuzz/fuzz_%.c,$(B)/fuzz/libfuzzer_%,$(FUZZ_SRC))

TEST_BINS := $(UNIT) $(AUNIT) $(BPFT) $(FUZZR) $(HELPERS)
test: deps
	$(MAKE) all
	$(MAKE) $(TEST_BINS) asan-progs
	bash tests/run.sh
# The same without the package check (for a machine already set up).
test-only: all $(TEST_BINS) asan-progs
	bash tests/run.sh

# The programs and test helpers once more with ASan/UBSan, in $(B)/asand: tests/run.sh runs
# the netns system tests against them too (tests/asan_netns.sh).
asan-progs:
	$(MAKE) B=$(B)/asand CC="$(CC) $(SAN)" all \
		$(patsubst $(B)/%,$(B)/asand/%,$(HELPERS))

run: deps
	$(MAKE) all
	bash packaging/run-demo.sh

bench: deps
	$(MAKE) all
	bash bench/compare.sh

fmt:
	clang-format -i $(shell find userspace kmod-free bpf bench tests -name '*.[ch]')
lint:
	cppcheck -q --error-exitcode=1 --enable=warning,portability --inline-suppr \
		--suppress=missingIncludeSystem -Iuserspace/lib -Ikmod-free -Ibpf \
		userspace kmod-free bench tests/unit tests/fuzz
	@clang-format --dry-run $(shell find userspace kmod-free bpf bench tests -name '*.[ch]') \
		2>&1 | grep -c warning | sed 's/^/clang-format: lines to reformat: /'

install: all
	bash packaging/install.sh "$(DESTDIR)" "$(PREFIX)"
deb:
	bash packaging/build-deb.sh

clean:
	rm -rf $(B)

-include $(shell find $(B)/obj $(B)/asan-obj -name '*.d' -type f 2>/dev/null)
