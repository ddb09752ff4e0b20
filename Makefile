# pinnerd — build, test, install.
#
#   sudo make run     install what running needs, build, run pinnerd in the foreground on
#                     conf/pinnerd.conf (edit it, then build/pinnerctl reload)
#   sudo make check   install build deps, then every test (unit, sanitizers, fuzz, integration)
#   make install      DESTDIR= and PREFIX= honoured (other systems; on Debian: make deb)
#   make deb          build/pinnerd_VERSION_ARCH.deb from a copy of the tree (DEB_OUT= elsewhere)

PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
DATADIR    ?= $(PREFIX)/share
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
# bash-completion's loader looks in $XDG_DATA_DIRS/bash-completion/completions
# (/usr/local/share and /usr/share by default).
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
# journald's message catalog: journalctl --update-catalog reads
# /usr/local/lib/systemd/catalog and /usr/lib/systemd/catalog.
CATALOGDIR ?= $(PREFIX)/lib/systemd/catalog
# Example Prometheus alerting rules (conf/pinnerd-alerts.yml) go here.
DOCDIR     ?= $(PREFIX)/share/doc/pinnerd
DESTDIR    ?=
DEB_OUT    ?= $(BUILD)

VERSION    := 0.1.0
CC         ?= cc
BUILD      ?= build
SANITIZE   ?=

PKGS       := libsystemd inih libbpf
WARN       := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CFLAGS     ?= -O2 -g
# CPPFLAGS: dpkg-buildflags puts _FORTIFY_SOURCE there.
ALL_CFLAGS := -std=gnu11 $(WARN) -D_GNU_SOURCE -DPINNERD_VERSION='"$(VERSION)"' \
              -Idaemon $(CPPFLAGS) $(CFLAGS) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS       := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)

ifneq ($(SANITIZE),)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS    += -fsanitize=address,undefined
endif

# Debian packages. RUN_DEPS build and run pinnerd (`make run` installs only
# these); TEST_DEPS are the rest of what `make check` needs. `make deps`
# (all) and `make run-deps` install the missing ones as root and print the
# apt-get line otherwise. Every name exists on Debian 12 and 13: the
# unversioned metapackages (libclang-rt-dev is LLVM 14 on 12 and 19 on 13),
# and packaging tools for `make deb` (dpkg-buildpackage insists on
# build-essential).
# libbpf-dev and clang: the drift-event BPF program (daemon/kernel/bpf/) is
# built with clang -target bpf and loaded with libbpf.
RUN_DEPS := gcc make pkg-config libsystemd-dev libinih-dev libbpf-dev clang
TEST_DEPS := check libsubunit-dev \
        clang clang-format libclang-rt-dev mandoc man-db systemd procps jq util-linux iproute2 python3 strace \
        build-essential dpkg-dev debhelper lintian bash-completion python3-prometheus-client
DEPS := $(RUN_DEPS) $(TEST_DEPS)
# The tree is formatted with clang-format 14, and later versions disagree with
# it (19 on Debian 13 wants ~50 changes). So format-check runs clang-format-14
# only, and is skipped with a message where the suite has none: taken when apt
# has a candidate for it (Debian 12), left out otherwise (Debian 13).
# systemd-dev: the systemd.pc the package build reads the unit directory from
# (Debian 13; on 12 it is part of systemd).
DEPS_IF_AVAILABLE := clang-format-14 systemd-dev
CLANG_FORMAT ?= clang-format-14

# Quiet by default; `make V=1` shows every command.
ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @echo "  $(1)	$(2)"
endif

PROGS      := $(BUILD)/pinnerd $(BUILD)/pinnerctl
# daemon/ holds one folder per layer, each using only the ones before it:
# lib → kernel → rules → core → ctl, and main.c on top (make layers checks it).
LAYERS     := lib kernel rules core ctl
DAEMON_SRCS:= $(sort $(foreach l,$(LAYERS),$(wildcard daemon/$(l)/*.c)))
DAEMON_HDRS:= $(sort $(foreach l,$(LAYERS),$(wildcard daemon/$(l)/*.h)))
LIB_SRCS   := $(filter-out daemon/ctl/pinnerctl.c,$(DAEMON_SRCS))
LIB_OBJS   := $(LIB_SRCS:daemon/%.c=$(BUILD)/obj/%.o)
UNIT_SRCS  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_OBJS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/unit/%.o)
HELPER_SRCS:= $(sort $(wildcard tests/helpers/*.c))
HELPERS    := $(HELPER_SRCS:tests/helpers/%.c=$(BUILD)/helpers/%)
# Static programs with their own _start and no libc (x86-64): firstmask
# reads its mask as its first instruction, setaff32 uses the 32-bit syscall.
ifeq ($(shell uname -m),x86_64)
NOLIBC_SRCS:= $(sort $(wildcard tests/helpers/nolibc/*.c))
HELPERS    += $(NOLIBC_SRCS:tests/helpers/nolibc/%.c=$(BUILD)/helpers/%)
endif
BENCH_SRCS := $(sort $(wildcard tests/bench/*.c))
BENCHES    := $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/bench/%)

.PHONY: all deps run-deps run check unit asan fuzz integration man-lint layers install install-files uninstall clean bench \
        check-vm format format-check deb deb-check print-deps soak valgrind
.DELETE_ON_ERROR:

all: $(PROGS)

# install_missing PACKAGES [IF_AVAILABLE]: what is not installed yet, with
# apt-get as root; the apt-get line to run otherwise.
define install_missing
	@avail=$$(for p in $(2); do \
		apt-cache policy $$p 2>/dev/null | grep -q 'Candidate: [0-9]' && echo $$p; done); \
	missing=$$(for p in $(1) $$avail; do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then echo "$@: all installed"; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "$@: installing" $$missing; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		avail=$$(for p in $(2); do \
			apt-cache policy $$p 2>/dev/null | grep -q 'Candidate: [0-9]' && echo $$p; done); \
		missing=$$(for p in $(1) $$avail; do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "$@: missing packages; run: sudo apt-get install" $$missing; exit 1; fi
endef

deps:
	$(call install_missing,$(DEPS),$(DEPS_IF_AVAILABLE))

run-deps:
	$(call install_missing,$(RUN_DEPS),)

# For tests/system (the README check in a fresh guest): the two lists.
print-deps:
	@echo "DEPS=$(DEPS)"; echo "DEPS_IF_AVAILABLE=$(DEPS_IF_AVAILABLE)"; echo "RUN_DEPS=$(RUN_DEPS)"

# The drift-event BPF program (daemon/kernel/bpf/), built for the BPF target
# and embedded in kernel/bpfwatch.o (.incbin), so pinnerd stays one file.
# Its kernel types come from the running kernel's BTF when it loads (CO-RE):
# no vmlinux.h, no bpftool at build time.
BPF_ARCH   := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/' -e 's/s390x/s390/')
MULTIARCH  := $(shell $(CC) -print-multiarch 2>/dev/null)
BPF_CLANG  ?= clang
BPF_OBJ    := $(BUILD)/bpf/affinity.bpf.o

$(BPF_OBJ): daemon/kernel/bpf/affinity.bpf.c
	$(call say,BPF,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(BPF_CLANG) -target bpf -O2 -g -Wall -Werror -D__TARGET_ARCH_$(BPF_ARCH) \
		$(if $(MULTIARCH),-I/usr/include/$(MULTIARCH)) -c $< -o $@

$(BUILD)/obj/kernel/bpfwatch.o: $(BPF_OBJ)
$(BUILD)/obj/kernel/bpfwatch.o: ALL_CFLAGS += -DBPFWATCH_OBJ='"$(abspath $(BPF_OBJ))"'

$(BUILD)/obj/%.o: daemon/%.c $(DAEMON_HDRS)
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libpinnerd.a: $(LIB_OBJS)
	$(call say,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(BUILD)/pinnerd: $(BUILD)/obj/main.o $(BUILD)/libpinnerd.a
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/pinnerctl: $(BUILD)/obj/ctl/pinnerctl.o $(BUILD)/libpinnerd.a
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/unit $(BUILD)/helpers $(BUILD)/bench $(BUILD)/fuzz:
	$(Q)mkdir -p $@

# Unit tests: every tests/unit/test_*.c defines `Suite *NAME_suite(void)`; the
# runner is generated from those declarations, so adding a file adds a suite.
$(BUILD)/unit/suites.inc: $(UNIT_SRCS) | $(BUILD)/unit
	$(Q)grep -ho '^Suite \*[a-z0-9_]*_suite(void)' $(UNIT_SRCS) | sed 's/^Suite \*\(.*\)(void)/SUITE(\1)/' > $@

# A suite's only external symbol is its NAME_suite(), declared by the runner.
$(BUILD)/unit/%.o: tests/unit/%.c $(DAEMON_HDRS) $(wildcard tests/unit/*.h) | $(BUILD)/unit
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -Itests/unit -c $< -o $@

$(BUILD)/unit/main.o: tests/unit/main.c $(BUILD)/unit/suites.inc
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit -I$(BUILD)/unit -c $< -o $@

$(BUILD)/unit-tests: $(BUILD)/unit/main.o $(filter-out $(BUILD)/unit/main.o,$(UNIT_OBJS)) $(BUILD)/libpinnerd.a
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(CHECK_LIBS)

$(BUILD)/helpers/%: tests/helpers/%.c $(BUILD)/libpinnerd.a | $(BUILD)/helpers
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS) -lpthread

$(BUILD)/helpers/%: tests/helpers/nolibc/%.c | $(BUILD)/helpers
	$(call say,CC,$<)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -static -nostdlib -ffreestanding -fno-stack-protector -fno-builtin \
		-fno-pie -no-pie -o $@ $<

$(BUILD)/bench/%: tests/bench/%.c $(BUILD)/libpinnerd.a | $(BUILD)/bench
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS) -lpthread

unit: $(BUILD)/unit-tests
	$(Q)PINNERD_FIXTURES=$(CURDIR)/tests/fixtures $(BUILD)/unit-tests

# Sanitized code runs several times slower; on a loaded 2-CPU machine the
# 4096-CPU round trips need more than Check's default 4 s.
asan:
	@echo "== unit tests under AddressSanitizer and UBSan"
	$(Q)CK_TIMEOUT_MULTIPLIER=$${CK_TIMEOUT_MULTIPLIER:-4} $(MAKE) --no-print-directory BUILD=build-asan SANITIZE=1 CC=$(CC) unit

fuzz:
	@sh tests/fuzz/run.sh $(BUILD)

integration: $(PROGS) $(HELPERS)
	@sh tests/integration/run.sh $(abspath $(BUILD))

# Every include in daemon/ points down its layers, and no module circle.
layers:
	@sh tests/lint/layers.sh $(CURDIR)

man-lint:
	@for m in $(wildcard man/*.[0-9]); do mandoc -Tlint -W warning $$m || exit 1; done; echo "man-lint: clean"

check: deps
	@echo "== build and unit tests"
	$(Q)$(MAKE) --no-print-directory all unit
	$(Q)$(MAKE) --no-print-directory asan
	@echo "== man pages, formatting, layers"
	$(Q)$(MAKE) --no-print-directory man-lint
	$(Q)$(MAKE) --no-print-directory format-check
	$(Q)$(MAKE) --no-print-directory layers
	@echo "== Debian package"
	$(Q)$(MAKE) --no-print-directory deb-check
	@echo "== fuzzing"
	$(Q)$(MAKE) --no-print-directory fuzz
	@echo "== integration tests"
	$(Q)$(MAKE) --no-print-directory integration

bench: $(PROGS) $(BENCHES) $(HELPERS)
	@sh tests/bench/run.sh $(abspath $(BUILD))

# Long churn under one daemon (SOAK_S seconds, default 600); exit 77 is a skip.
soak: $(PROGS) $(HELPERS)
	@SOAK_S=$(or $(SOAK_S),600) bash tests/soak/run.sh $(abspath $(BUILD)); rc=$$?; [ $$rc = 77 ] && rc=0; exit $$rc

# The daemon under valgrind memcheck through churn, reloads, ctl verbs and stop.
valgrind: $(PROGS) $(HELPERS)
	@bash tests/valgrind/run.sh $(abspath $(BUILD)); rc=$$?; [ $$rc = 77 ] && rc=0; exit $$rc

# Exit 77 is a skip: run.sh has printed "check-vm: SKIP: <why>".
check-vm: deps all
	@sh tests/system/run.sh $(CURDIR); rc=$$?; [ $$rc = 77 ] && rc=0; exit $$rc

# The try-it loop (tests/make-run.sh): pinnerd in the foreground on
# conf/pinnerd.conf and conf/pinnerd.d/*.conf, decisions on this terminal
# (PINNERD_LOG_TARGET=journal|auto to send them to the journal), control
# socket PINNERD_SOCKET (default /run/pinnerd/control), more options in
# RUN_ARGS. pinnerd reads only root-owned files nobody else can write (as
# sshd), so it reads a root-owned copy that the script keeps in step with
# the checkout: edit, then `sudo build/pinnerctl reload`. Ctrl-C reaches
# pinnerd as SIGINT, which restores what it changed. Installs only what
# running needs (RUN_DEPS), not the test tools.
run: run-deps all
	@bash tests/make-run.sh $(BUILD)

# install-files only copies (the package build uses it); install also tells the
# running system, when there is one to tell (no DESTDIR). The package leaves the
# catalog to the systemd package's dpkg trigger on /usr/lib/systemd/catalog.
install: install-files
	@if [ -z "$(DESTDIR)" ] && command -v journalctl >/dev/null; then \
		echo "install: journalctl --update-catalog"; journalctl --update-catalog; fi
	@if [ -z "$(DESTDIR)" ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then \
		echo "install: systemctl daemon-reload"; systemctl daemon-reload; fi

install-files: all
	install -D -m 0755 $(BUILD)/pinnerd $(DESTDIR)$(SBINDIR)/pinnerd
	install -D -m 0755 $(BUILD)/pinnerctl $(DESTDIR)$(BINDIR)/pinnerctl
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSCONFDIR)/pinnerd.d
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' systemd/pinnerd.service.in > $(DESTDIR)$(UNITDIR)/pinnerd.service
	sed -e 's|@BINDIR@|$(BINDIR)|g' systemd/pinnerd-metrics.service.in > $(DESTDIR)$(UNITDIR)/pinnerd-metrics.service
	install -m 0644 systemd/pinnerd-metrics.timer $(DESTDIR)$(UNITDIR)/
	chmod 0644 $(DESTDIR)$(UNITDIR)/pinnerd.service $(DESTDIR)$(UNITDIR)/pinnerd-metrics.service
	install -m 0644 man/pinnerd.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 man/pinnerd.8 man/pinnerctl.8 $(DESTDIR)$(MANDIR)/man8/
	install -D -m 0644 conf/pinnerctl.bash-completion $(DESTDIR)$(COMPLETIONDIR)/pinnerctl
	install -D -m 0644 systemd/pinnerd.catalog $(DESTDIR)$(CATALOGDIR)/pinnerd.catalog
	install -D -m 0644 systemd/pinnerd-guarantee.conf $(DESTDIR)$(DATADIR)/pinnerd/guarantee.conf
	install -D -m 0644 conf/pinnerd-alerts.yml $(DESTDIR)$(DOCDIR)/examples/pinnerd-alerts.yml
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/pinnerd.conf ]; then \
		echo "install: keeping existing $(DESTDIR)$(SYSCONFDIR)/pinnerd.conf"; \
	else install -m 0644 conf/pinnerd.conf $(DESTDIR)$(SYSCONFDIR)/pinnerd.conf; fi

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/pinnerd $(DESTDIR)$(BINDIR)/pinnerctl $(DESTDIR)$(UNITDIR)/pinnerd.service \
	      $(DESTDIR)$(UNITDIR)/pinnerd-metrics.service $(DESTDIR)$(UNITDIR)/pinnerd-metrics.timer \
	      $(DESTDIR)$(MANDIR)/man5/pinnerd.conf.5 $(DESTDIR)$(MANDIR)/man8/pinnerd.8 $(DESTDIR)$(MANDIR)/man8/pinnerctl.8 \
	      $(DESTDIR)$(COMPLETIONDIR)/pinnerctl $(DESTDIR)$(CATALOGDIR)/pinnerd.catalog \
	      $(DESTDIR)$(DATADIR)/pinnerd/guarantee.conf $(DESTDIR)$(DOCDIR)/examples/pinnerd-alerts.yml
	@if [ -z "$(DESTDIR)" ] && command -v journalctl >/dev/null; then journalctl --update-catalog; fi

# The Debian package, built by dpkg-buildpackage in a copy of the tree (tracked
# and new files, as they are now) so the checkout stays clean; the .deb lands
# in DEB_OUT (build/ by default).
deb:
	@command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null || \
		{ echo "deb: needs dpkg-dev and debhelper (make deps)"; exit 1; }
	@set -e; tmp=$$(mktemp -d /tmp/pinnerd-deb.XXXXXX); trap 'rm -rf "$$tmp"' EXIT INT TERM; \
	mkdir -p "$$tmp/src" "$(DEB_OUT)"; \
	git ls-files -z -co --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$$tmp/src"; \
	echo "deb: dpkg-buildpackage in $$tmp/src (log: $$tmp/build.log)"; \
	if ! (cd "$$tmp/src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u BUILD -u SANITIZE \
		dpkg-buildpackage -b -us -uc) >"$$tmp/build.log" 2>&1; then \
		tail -n 40 "$$tmp/build.log"; echo "deb: dpkg-buildpackage failed"; exit 1; fi; \
	for f in "$$tmp"/pinnerd_*.deb; do cp "$$f" "$(DEB_OUT)/"; echo "deb: $(DEB_OUT)/$${f##*/}"; done

# make deb + lintian, from make check. Skipped (with the reason) where the
# packaging tools are missing and cannot be installed.
deb-check:
	@if ! command -v dpkg-buildpackage >/dev/null || ! command -v dh >/dev/null || ! command -v lintian >/dev/null; then \
		echo "deb-check: SKIP: needs dpkg-dev, debhelper and lintian (make deps installs them)"; exit 0; fi; \
	rm -f $(DEB_OUT)/pinnerd_*.deb && $(MAKE) --no-print-directory deb && \
	lintian --fail-on error,warning $$([ "$$(id -u)" = 0 ] && echo --allow-root) $(DEB_OUT)/pinnerd_*.deb && echo "deb-check: lintian clean"

FORMAT_SRCS = daemon/*.c daemon/*/*.[ch] tests/unit/*.[ch] tests/helpers/*.c tests/helpers/nolibc/*.c tests/bench/*.c tests/fuzz/*.c

# clang-format-14 only (see DEPS_IF_AVAILABLE): another version's verdict on
# this tree is about that version, not about the code.
format:
	$(CLANG_FORMAT) -i $(FORMAT_SRCS)

format-check:
	@if ! command -v $(CLANG_FORMAT) >/dev/null 2>&1; then \
		echo "format-check: SKIP: $(CLANG_FORMAT) not found (the tree is formatted with clang-format 14;" \
		     "other versions format differently; Debian 13 has no clang-format-14)"; \
	else $(CLANG_FORMAT) --dry-run -Werror $(FORMAT_SRCS) && echo "format-check: clean"; fi

clean:
	rm -rf build build-asan
