# ward top-level Makefile.
#
# Kconfig picks the features; each subsystem's Makefile lists its objects as
# obj-$(CONFIG_X) += file.o, and its programs as prog-y += name with
# name-y := main.o ...  This file only glues the lists together.
#
#   make                 build build/ward-agent and build/wardctl
#   make run             the main job on this machine (see README.md)
#   make test            ASan+UBSan build, unit + integration tests, fuzz smoke
#   make fuzz            libFuzzer targets under build/fuzz/
#   make bench           benchmarks against peers, figures on stdout
#   make menuconfig | defconfig | <board>_defconfig | savedefconfig
#
# Variants: VARIANT=release (default, build/), asan (build/asan/), fuzz (build/fuzz/),
# mbedtls3 (build/mbedtls3/: asan against mbedtls 3.6, see make check-mbedtls3).

VARIANT ?= release
SUBDIRS := agent sensor drivers tools

ifeq ($(VARIANT),release)
O := build
else
O := build/$(VARIANT)
endif

PY       := /usr/bin/python3
# The jobs (run, test, fuzz, bench) build with every core unless make was
# given -j itself; a 2-core machine halves the build part of `make test`.
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
ifeq ($(filter -j%,$(MAKEFLAGS)),)
SUBMAKE  := $(MAKE) --no-print-directory -j$(JOBS)
else
SUBMAKE  := $(MAKE) --no-print-directory
endif
KCONFIGLIB := /usr/lib/python3/dist-packages
KCONFIG_CONFIG ?= .config
BOARD_DEFAULT := x86_64-generic
export KCONFIG_CONFIG

-include $(KCONFIG_CONFIG)

PKGS := libcyaml yaml-0.1 libuv jansson libzstd
CC_release := gcc
CC_asan    := gcc
CC_fuzz    := clang
CC_mbedtls3 := gcc
CC := $(CC_$(VARIANT))

CPPFLAGS += -I$(O)/include -Iagent -Iagent/core -Isensor -Idrivers -Itools -D_GNU_SOURCE \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CFLAGS   += -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wno-unused-parameter -g
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) \
	-lmbedtls -lmbedx509 -lmbedcrypto -lhttp_parser -lm

# The sensor captures with libpcap and confines itself with libseccomp.
ifeq ($(CONFIG_SENSOR),y)
LDLIBS += -lpcap -lseccomp -lz
endif

ifeq ($(CONFIG_HARDENING),y)
HARDEN := -fstack-protector-strong -fPIE
LDHARDEN := -pie -Wl,-z,relro,-z,now
endif

ifeq ($(VARIANT),release)
CFLAGS  += -O2 $(HARDEN) -D_FORTIFY_SOURCE=2
LDFLAGS += $(LDHARDEN)
endif
ifeq ($(VARIANT),asan)
CFLAGS  += -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
# mbedtls 3.6 headers and libraries unpacked by scripts/mbedtls3.sh; they
# come before the system's 2.28 (-isystem and -L precede the defaults).
ifeq ($(VARIANT),mbedtls3)
MBEDTLS3 := $(abspath build/mbedtls3/sysroot/usr)
MBEDTLS3_LIB := $(MBEDTLS3)/lib/$(shell $(CC) -print-multiarch)
CPPFLAGS += -isystem $(MBEDTLS3)/include
CFLAGS  += -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined -L$(MBEDTLS3_LIB) -Wl,-rpath,$(MBEDTLS3_LIB)
endif
ifeq ($(VARIANT),fuzz)
CFLAGS  += -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
	-fno-sanitize-recover=undefined -DWARD_FUZZING
LDFLAGS += -fsanitize=fuzzer,address,undefined
endif

# ---- subsystem lists ------------------------------------------------------
LIB_OBJS :=
PROGS :=
define subdir_rules
obj-y :=
prog-y :=
include $(1)/Makefile
LIB_OBJS += $$(addprefix $(O)/obj/$(1)/,$$(obj-y))
PROGS += $$(prog-y)
$$(foreach p,$$(prog-y),$$(eval $$(p)-objs := $$(addprefix $(O)/obj/$(1)/,$$($$(p)-y))))
endef
$(foreach d,$(SUBDIRS),$(eval $(call subdir_rules,$(d))))

LIB := $(O)/libward.a
AUTOCONF := $(O)/include/generated/autoconf.h
PROG_BINS := $(addprefix $(O)/,$(PROGS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(O)/tests/%,$(UNIT_SRCS))
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(patsubst tests/tools/%.c,$(O)/tests/tools/%,$(TOOL_SRCS))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRCS))

.PHONY: all run test fuzz bench deps deps-test clean distclean menuconfig \
	defconfig savedefconfig olddefconfig check-units tests-build check-mbedtls3
.DEFAULT_GOAL := all

all: $(PROG_BINS)

# ---- configuration ----------------------------------------------------------
KCONFIG_FILES := Kconfig $(wildcard */Kconfig)

# A missing .config comes from the default board. An existing one is
# brought up to date when a Kconfig file changes (new symbols take their
# defaults and selects), as Linux's syncconfig does; make then re-reads it,
# so the obj-$(CONFIG_X) lists never lag behind autoconf.h.
$(KCONFIG_CONFIG): $(KCONFIG_FILES)
	@if [ -f $@ ]; then \
		echo "  CONFIG  $@ updated for the changed Kconfig"; \
		$(PY) $(KCONFIGLIB)/olddefconfig.py Kconfig >/dev/null; \
	else \
		echo "  CONFIG  $@ from board/$(BOARD_DEFAULT)/defconfig"; \
		$(PY) $(KCONFIGLIB)/defconfig.py --kconfig Kconfig board/$(BOARD_DEFAULT)/defconfig >/dev/null; \
	fi
	@touch $@

$(AUTOCONF): $(KCONFIG_CONFIG) $(KCONFIG_FILES)
	@mkdir -p $(dir $@)
	@$(PY) $(KCONFIGLIB)/genconfig.py --header-path $@ Kconfig

%_defconfig:
	@test -f board/$*/defconfig || { echo "no board/$*/defconfig" >&2; exit 2; }
	@$(PY) $(KCONFIGLIB)/defconfig.py --kconfig Kconfig board/$*/defconfig

defconfig: $(BOARD_DEFAULT)_defconfig

menuconfig:
	@$(PY) $(KCONFIGLIB)/menuconfig.py Kconfig

olddefconfig:
	@$(PY) $(KCONFIGLIB)/olddefconfig.py Kconfig

savedefconfig:
	@$(PY) $(KCONFIGLIB)/savedefconfig.py --kconfig Kconfig --out defconfig
	@echo "wrote ./defconfig"

# ---- compile and link -------------------------------------------------------
$(O)/obj/%.o: %.c $(AUTOCONF)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# The object list comes from .config and the subsystem Makefiles: when
# either changes, the archive is rebuilt even if every object is older.
$(LIB): $(LIB_OBJS) $(KCONFIG_CONFIG) $(addsuffix /Makefile,$(SUBDIRS))
	@rm -f $@
	@ar rcs $@ $(filter %.o,$^)

define prog_rule
$(O)/$(1): $$($(1)-objs) $(LIB)
	@echo "  LD      $$@"
	@$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach p,$(PROGS),$(eval $(call prog_rule,$(p))))

$(O)/tests/%: $(O)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(O)/tests/tools/%: $(O)/obj/tests/tools/%.o $(LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The EDR load generator writes zlib and gzip itself, with or without CONFIG_EDR.
$(O)/tests/tools/edr_loadgen: LDLIBS += -lz

build/fuzz/fuzz_%: build/fuzz/obj/tests/fuzz/fuzz_%.o build/fuzz/libward.a
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

-include $(shell find $(O)/obj -name '*.d' 2>/dev/null)

# ---- top-level jobs ---------------------------------------------------------
deps:
	@sh scripts/deps.sh build

deps-test:
	@sh scripts/deps.sh test

run: deps
	@$(SUBMAKE) all
	@sh scripts/run.sh

tests-build: $(PROG_BINS) $(UNIT_BINS) $(TOOL_BINS)

fuzz: deps-test
	@$(SUBMAKE) VARIANT=fuzz fuzz-bins

.PHONY: fuzz-bins
fuzz-bins: $(FUZZ_BINS)

test: deps-test
	@$(SUBMAKE) VARIANT=asan tests-build
	@$(SUBMAKE) VARIANT=fuzz fuzz-bins
	@$(SUBMAKE) all
	@sh tests/run.sh

# Builds build/mbedtls3 against Debian trixie's mbedtls 3.6 (fetched with
# apt into build/mbedtls3/, nothing installed) and runs the crypto and TLS
# unit tests there, asserting TLS 1.3.
check-mbedtls3: deps-test
	@sh scripts/mbedtls3.sh

bench: deps
	@sh scripts/deps.sh bench
	@$(SUBMAKE) all
	@$(SUBMAKE) VARIANT=release tests-build
	@sh bench/run.sh

clean:
	rm -rf build

distclean: clean
	rm -f .config .config.old
