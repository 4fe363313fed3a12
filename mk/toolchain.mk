# Toolchain and output style, shared by the top-level Makefile.
CLANG   ?= clang
BPFTOOL ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
CC      ?= cc
AR      ?= ar
ARCH_TRIPLET := $(shell $(CC) -print-multiarch 2>/dev/null || echo $(shell uname -m)-linux-gnu)

ifeq ($(V),1)
  Q :=
  msg =
else
  Q := @
  msg = @printf '  %-8s %s\n' "$(1)" "$(patsubst $(O)/%,build/%,$(2))";
endif
