# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# sluice top-level build. Everything generated goes under $(O) (default
# build/). `make help` lists the targets; `make V=1` prints full commands.

O ?= build
override O := $(abspath $(O))
SRC := $(abspath .)

include mk/toolchain.mk

BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_NAMES  := $(patsubst bpf/%.bpf.c,%,$(BPF_SRCS))
BPF_OBJS   := $(patsubst %,$(O)/bpf/%.bpf.o,$(BPF_NAMES))
BPF_SKELS  := $(patsubst %,$(O)/bpf/%.skel.h,$(BPF_NAMES))

LIB_SRCS   := $(wildcard user/lib/*.c)
LIB_OBJS   := $(patsubst %.c,$(O)/%.o,$(LIB_SRCS))
LIB        := $(O)/libsluice.a

CLI_SRCS   := $(wildcard user/sluice/*.c)
CLI_OBJS   := $(patsubst %.c,$(O)/%.o,$(CLI_SRCS))
CLI        := $(O)/sluice

AGENT_SRCS := $(wildcard user/sluiced/*.c)
AGENT_OBJS := $(patsubst %.c,$(O)/%.o,$(AGENT_SRCS))
AGENT      := $(O)/sluiced

CNI_SRCS   := $(wildcard cni/*.c)
CNI_OBJS   := $(patsubst %.c,$(O)/%.o,$(CNI_SRCS))
CNI        := $(O)/sluice-cni

TEST_SRCS  := $(wildcard selftests/*.c) $(wildcard selftests/prog_tests/*.c)
TEST_OBJS  := $(patsubst %.c,$(O)/%.o,$(TEST_SRCS))
TEST_LIST  := $(O)/selftests/tests.inc
TEST_PROGS := $(O)/test_progs

# Benchmarks (tools/bench, docs/benchmarks.md): BPF drivers and baselines
# into $(O)/bench, one userspace driver linking libsluice.
BENCH_BPF_SRCS := $(wildcard tools/bench/bpf/*.bpf.c)
BENCH_BPF_OBJS := $(patsubst tools/bench/bpf/%.bpf.c,$(O)/bench/%.bpf.o,$(BENCH_BPF_SRCS))
BENCH_SKELS    := $(BENCH_BPF_OBJS:.bpf.o=.skel.h)
BENCH_SRCS     := $(wildcard tools/bench/*.c)
BENCH_OBJS     := $(patsubst %.c,$(O)/%.o,$(BENCH_SRCS))
BENCH          := $(O)/bench/sluice-bench

CPPFLAGS += -I$(SRC)/user/lib -I$(SRC)/bpf -I$(O)/bpf -I$(SRC)/selftests -I$(O)/selftests
CFLAGS   ?= -O2 -g
CFLAGS   += -D_GNU_SOURCE -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-format-truncation \
            -Werror=implicit-function-declaration -MMD -MP
LDLIBS   += -lbpf -lelf -lz -lmnl -lcjson -lcrypto -lpthread -lm

BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -Wall -Wno-unused-function \
              -I$(SRC)/bpf/include -I$(SRC)/bpf -I/usr/include/$(ARCH_TRIPLET) -MMD -MP

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SECONDARY: $(BPF_OBJS) $(BENCH_BPF_OBJS)
.PHONY: all help deps bpf test check vmtest demo demo-down bench clean

all: deps-check $(BPF_OBJS) $(BPF_SKELS) $(LIB) $(CLI) $(AGENT) $(CNI) $(TEST_PROGS) $(BENCH)

help:
	@echo 'sluice build targets:'
	@echo '  all (default)  BPF objects, skeletons, libsluice, sluice, sluiced, test_progs into $$(O)'
	@echo '  deps           install the Debian packages the build, tests and demo need'
	@echo '  test           run every test (sudo; the README command 2)'
	@echo '  vmtest         run the tests in a VM on the Debian 12 kernel, 6.1 (KERNEL=; docs/kernels.md)'
	@echo '  demo           bring up the demo topology with traffic (sudo; README command 1)'
	@echo '  demo-down      tear the demo down'
	@echo '  bench          run the benchmarks (docs/benchmarks.md)'
	@echo '  clean          remove $$(O)'
	@echo 'variables: O=<dir> (build dir, default build/), V=1 (full commands),'
	@echo '           T=<filter> (make test/vmtest: only tests whose name contains it)'

deps:
	$(Q)tools/install-deps.sh

# As root: installs what is missing; otherwise fails early saying what to install.
deps-check:
	$(Q)if [ "$$(id -u)" = 0 ]; then tools/install-deps.sh; else tools/install-deps.sh --check; fi

bpf: $(BPF_SKELS)

$(O)/bpf/%.bpf.o: bpf/%.bpf.c | $(O)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MF $(O)/bpf/$*.bpf.d -MT $@ -c $< -o $(O)/bpf/$*.tmp.bpf.o
	$(Q)$(BPFTOOL) gen object $@ $(O)/bpf/$*.tmp.bpf.o
	$(Q)rm -f $(O)/bpf/$*.tmp.bpf.o

$(O)/bpf/%.skel.h: $(O)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@

# Userspace objects may include any skeleton: build all of them first.
$(O)/%.o: %.c $(BPF_SKELS) | $(O)/bpf
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(CLI): $(CLI_OBJS) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $(CLI_OBJS) $(LIB) $(LDLIBS)

$(AGENT): $(AGENT_OBJS) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $(AGENT_OBJS) $(LIB) $(LDLIBS) -lmicrohttpd

# The CNI plugin (docs/cni.md).
$(CNI): $(CNI_OBJS) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $(CNI_OBJS) $(LIB) $(LDLIBS)

# The list of tests is generated from the test_<name>() definitions.
$(TEST_LIST): $(wildcard selftests/prog_tests/*.c) | $(O)/bpf
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)sed -n 's/^void \(test_[a-z0-9_]*\)(void)$$/DEFINE_TEST(\1)/p' $(sort $(wildcard selftests/prog_tests/*.c)) > $@.tmp
	$(Q)if cmp -s $@.tmp $@; then rm $@.tmp; else mv $@.tmp $@; fi

$(O)/selftests/test_progs.o: $(TEST_LIST)

$(TEST_PROGS): $(TEST_OBJS) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $(TEST_OBJS) $(LIB) $(LDLIBS)

$(O)/bpf:
	$(Q)mkdir -p $@

$(O)/bench/%.bpf.o: tools/bench/bpf/%.bpf.c
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MF $(O)/bench/$*.bpf.d -MT $@ -c $< -o $(O)/bench/$*.tmp.bpf.o
	$(Q)$(BPFTOOL) gen object $@ $(O)/bench/$*.tmp.bpf.o
	$(Q)rm -f $(O)/bench/$*.tmp.bpf.o

$(O)/bench/%.skel.h: $(O)/bench/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@

$(BENCH_OBJS): $(BENCH_SKELS)
$(BENCH_OBJS): CPPFLAGS += -I$(O)/bench

$(BENCH): $(BENCH_OBJS) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $(BENCH_OBJS) $(LIB) $(LDLIBS)

# README command 2: every test. T=<filter> narrows it.
test: all
	$(Q)selftests/run.sh $(O) $(T)

check: test

# The selftests in a VM on another kernel (tools/vmtest/vmtest.sh).
vmtest: all
	$(Q)KERNEL='$(KERNEL)' tools/vmtest/vmtest.sh $(O) $(T)

demo: all
	$(Q)tools/demo.sh up $(O)

demo-down:
	$(Q)tools/demo.sh down $(O)

bench: all
	$(Q)tools/bench/run.sh $(O)

clean:
	$(call msg,CLEAN,$(O))
	$(Q)rm -rf $(O)

-include $(wildcard $(O)/bpf/*.d) $(wildcard $(O)/bench/*.bpf.d)
-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(CNI_OBJS:.o=.d) $(AGENT_OBJS:.o=.d) $(TEST_OBJS:.o=.d) $(BENCH_OBJS:.o=.d)
