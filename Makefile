# chatd - a group-chat daemon: master, one worker per client, a shared ring.
#
#   make               build ./chatd
#   make check         build and run every test (unit, integration, man lint)
#   make check SANITIZE=1   the same under AddressSanitizer and UBSan
#   make install       PREFIX=/usr/local DESTDIR= MANDIR=$(PREFIX)/share/man
#   make valgrind      the tests with every process under valgrind
#   make chaos         the chaos test at full size (CHAOS_KILLS=500 kills)
#   make bench         throughput and latency on loopback (bench/)
#   make clean

PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
EXAMPLESDIR ?= $(PREFIX)/share/doc/chatd/examples
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
DESTDIR ?=

CC ?= cc
CSTD = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wpointer-arith -Wformat=2
CFLAGS ?= -O2 -g
WERROR ?= 1
ifeq ($(WERROR),1)
WARN += -Werror
endif
ifeq ($(SANITIZE),1)
CFLAGS += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
          -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
BUILD = build/asan
else
BUILD = build/default
endif
ALL_CFLAGS = $(CSTD) $(WARN) $(CFLAGS) -pthread -MMD -MP \
	     -DSYSCONFDIR='"$(SYSCONFDIR)"'
LDLIBS += -pthread -lrt
# Every symbol bound at start, and the tables read-only after: the master
# resolves them once, before it forks, so a worker neither looks a symbol
# up nor copies a page of them on its first call of each function.
LDFLAGS += -Wl,-z,relro,-z,now

CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck)

COMMON_SRC = common/log.c common/util.c common/pagecopy.c common/fmt.c
SHM_SRC = shm/segment.c shm/lock.c shm/ring.c shm/table.c
WORKER_SRC = worker/frame.c worker/sanitize.c worker/command.c \
             worker/session.c worker/outbound.c
MASTER_SRC = master/adopt.c master/config.c master/reload.c master/listen.c master/spawn.c master/reap.c master/signal.c \
             master/daemon.c master/status.c master/copies.c master/logproc.c
LIB_SRC = $(COMMON_SRC) $(SHM_SRC) $(WORKER_SRC) $(MASTER_SRC)

LIB_OBJ = $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB = $(BUILD)/libchatd.a

UNIT_TESTS = test_ring test_table test_frame test_sanitize test_command \
             test_config test_fmt
INTEG_TESTS = test_daemon test_storm test_syslog test_chaos
TESTS = $(UNIT_TESTS) $(INTEG_TESTS)
TEST_BINS = $(TESTS:%=$(BUILD)/tests/%)

MANPAGES = man/chatd.8 man/chatd.conf.5


.PHONY: all chatd check unit integration lint-man bench valgrind clean install \
	uninstall storm chaos

all: chatd

# ./chatd at the top is always the build of the flavour last asked for
chatd: $(BUILD)/chatd
	@cmp -s $(BUILD)/chatd $@ || \
	  { cp $(BUILD)/chatd $@.new && mv -f $@.new $@; }

$(BUILD)/chatd: $(BUILD)/master/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(LIB): $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -c -o $@ $<

$(BUILD)/tests/test_%: $(BUILD)/tests/test_%.o $(BUILD)/tests/harness.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

# a splice(2) that fails and pipes that fill early, preloaded into a
# chatd by two tests of test_daemon; built plain, without the sanitizers,
# whatever the flavour
SHIMS = $(BUILD)/tests/nosplice.so $(BUILD)/tests/pipefull.so
$(SHIMS): $(BUILD)/tests/%.so: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O2 -fPIC -shared -o $@ $<

$(BUILD)/tests/test_daemon: | $(SHIMS)

check: chatd $(TEST_BINS) lint-man
	@set -e; for t in $(TEST_BINS); do \
	  echo "== $$t"; CHATD=$(BUILD)/chatd $$t; done
	@echo "all tests passed"

unit: $(UNIT_TESTS:%=$(BUILD)/tests/%)
	@set -e; for t in $^; do echo "== $$t"; $$t; done

integration: chatd $(INTEG_TESTS:%=$(BUILD)/tests/%)
	@set -e; for t in $(INTEG_TESTS:%=$(BUILD)/tests/%); do \
	  echo "== $$t"; CHATD=$(BUILD)/chatd $$t; done

# the integration tests with every chatd process under valgrind memcheck;
# each process writes its own report, and any error fails the target.
# When the tests run as root the workers run as nobody, and a checkout in
# a private home (/root) is closed to nobody: its valgrind could write no
# report and the worker died at birth.  So chatd, its valgrind wrapper and
# the reports live in a scratch directory in /tmp that all may enter; the
# reports are copied to build/valgrind at the end, failed or not.
# --vgdb=no: valgrind's gdbserver makes three files in /tmp named by pid;
# the master makes them as root and cannot remove them once it is nobody,
# and a worker given that pid later (pid_max is 32768 here) died on them.
VALGRIND_FLAGS = -q --trace-children=yes --leak-check=full \
	--errors-for-leak-kinds=definite --error-exitcode=99 --vgdb=no
valgrind: chatd $(TEST_BINS)
	@rm -rf build/valgrind && mkdir -p build/valgrind
	@set -e; dir=$$(mktemp -d /tmp/chatd-valgrind.XXXXXX); \
	trap 'cp "$$dir"/*.log build/valgrind/ 2>/dev/null; rm -rf "$$dir"' EXIT; \
	chmod 1777 "$$dir"; \
	mkdir -m 755 "$$dir/bin" && cp $(BUILD)/chatd "$$dir/bin/chatd"; \
	chmod 755 "$$dir/bin/chatd"; \
	vg="valgrind $(VALGRIND_FLAGS) --log-file=$$dir/%p.log"; \
	printf '#!/bin/sh\nexec %s %s "$$@"\n' "$$vg" "$$dir/bin/chatd" \
	  > "$$dir/chatd"; \
	chmod 755 "$$dir/chatd"; \
	for t in $(UNIT_TESTS:%=$(BUILD)/tests/%); do \
	  echo "== valgrind $$t"; $$vg $$t; done; \
	echo "== $(BUILD)/tests/test_daemon, chatd under valgrind"; \
	CHATD=$$dir/chatd CHATD_TIMEOUT_MS=20000 $(BUILD)/tests/test_daemon
	@if grep -l 'ERROR SUMMARY: [1-9]' build/valgrind/*.log; then \
	  echo "valgrind found errors (see the files above)"; exit 1; fi
	@echo "valgrind: no errors"

# the connection storm at full size: 10,000 connections (check runs 1,000)
storm: chatd $(BUILD)/tests/test_storm
	STORM_CONNS=10000 CHATD=$(BUILD)/chatd $(BUILD)/tests/test_storm

# the chaos test at full size: workers SIGKILLed 500 times (check runs 60)
CHAOS_KILLS ?= 500
chaos: chatd $(BUILD)/tests/test_chaos
	CHAOS_KILLS=$(CHAOS_KILLS) CHATD=$(BUILD)/chatd $(BUILD)/tests/test_chaos

# throughput and latency of three clients on loopback (not part of check)
bench: chatd $(BUILD)/bench/chatload
	CHATD=./chatd LOAD=$(BUILD)/bench/chatload bench/run.sh

$(BUILD)/bench/chatload: bench/chatload.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -D_GNU_SOURCE -o $@ $< $(LDFLAGS)

lint-man:
	mandoc -Tlint -Wwarning $(MANPAGES)

install: chatd
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 \
	  $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(EXAMPLESDIR) \
	  $(DESTDIR)$(SYSTEMDUNITDIR)
	install -m 755 chatd $(DESTDIR)$(SBINDIR)/chatd
	install -m 644 man/chatd.8 $(DESTDIR)$(MANDIR)/man8/chatd.8
	install -m 644 man/chatd.conf.5 $(DESTDIR)$(MANDIR)/man5/chatd.conf.5
	install -m 644 contrib/chatd.conf $(DESTDIR)$(EXAMPLESDIR)/chatd.conf
	install -m 644 contrib/sysctl-chatd.conf \
	  $(DESTDIR)$(EXAMPLESDIR)/sysctl-chatd.conf
	sed 's|@SBINDIR@|$(SBINDIR)|g' contrib/chatd.service \
	  > $(DESTDIR)$(SYSTEMDUNITDIR)/chatd.service
	chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/chatd.service

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/chatd $(DESTDIR)$(MANDIR)/man8/chatd.8 \
	  $(DESTDIR)$(MANDIR)/man5/chatd.conf.5 \
	  $(DESTDIR)$(EXAMPLESDIR)/chatd.conf \
	  $(DESTDIR)$(EXAMPLESDIR)/sysctl-chatd.conf \
	  $(DESTDIR)$(SYSTEMDUNITDIR)/chatd.service
	-rmdir $(DESTDIR)$(EXAMPLESDIR) 2>/dev/null

clean:
	rm -rf build chatd

-include $(shell find build -name '*.d' 2>/dev/null)

# ---- fuzzing: libFuzzer targets for the client-input codecs (fuzz/) ----
#
#   make fuzz              each target FUZZ_SECONDS (60) seconds, one after
#                          the other; any crash or broken invariant fails
#   make fuzz-smoke        the same, 10 seconds each (for CI)
#
# Needs clang with its libFuzzer runtime.  Each target runs on a copy of
# its seed corpus in build/fuzz/corpus/, which keeps what the fuzzer adds
# from one run to the next; crash inputs go to build/fuzz/artifacts/.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = frame sanitize command
FUZZ_CFLAGS = $(CSTD) $(WARN) -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_SRC = worker/frame.c worker/sanitize.c worker/command.c
FUZZ_BINS = $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)

.PHONY: fuzz fuzz-smoke

build/fuzz/fuzz_%: fuzz/fuzz_%.c $(FUZZ_SRC) worker/worker.h shm/shm.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_SRC)

fuzz: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
	  mkdir -p build/fuzz/corpus/$$t build/fuzz/artifacts/$$t; \
	  cp fuzz/corpus/$$t/* build/fuzz/corpus/$$t/; \
	  build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=30 \
	    -max_len=4096 -dict=fuzz/$$t.dict -print_final_stats=1 \
	    -artifact_prefix=build/fuzz/artifacts/$$t/ \
	    build/fuzz/corpus/$$t; done
	@echo "fuzz: no crash"

fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=10

# ---- ringbench: the shared ring alone (bench/ringbench.c) ----
#
#   make ringbench         publish cost (1..1,000 readers, busy and asleep),
#                          ring_read cost, and system calls per publish
#                          (under strace -c, when strace is installed)
#
# No network, no daemon: a scratch segment, unlinked as soon as made.

.PHONY: ringbench

$(BUILD)/bench/ringbench: bench/ringbench.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ bench/ringbench.c $(LIB) $(LDFLAGS) $(LDLIBS)

ringbench: $(BUILD)/bench/ringbench
	$(BUILD)/bench/ringbench

# ---- memory: what an idle connected client costs (bench/memory.sh) ----
#
#   make memory            PSS of the daemon tree and MemAvailable, per
#                          client, at 1,000 idle clients, and where one
#                          worker's memory is
#   make memory MEMORY_N="1000 10000"   also at 10,000 (MEMORY_CONNECT_S
#                          bounds the connecting, 600 s by default)
#   make memory MEMORY_RUNS=1           one run of each, not three
#
# Starts its own chatd on a free loopback port for each run and stops it,
# and ends with the medians and spreads over the runs.  A run of 1,000
# clients takes under 20 s; one of 10,000 two to three minutes on two
# cores, about 3 GiB and 20,000 tasks (kernel.pid_max above that), hence
# 1,000 only by default.

MEMORY_N ?= 1000
MEMORY_CONNECT_S ?= 600
MEMORY_RUNS ?= 3

.PHONY: memory

$(BUILD)/bench/idlemem: bench/idlemem.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -D_GNU_SOURCE -o $@ $< $(LDFLAGS)

memory: chatd $(BUILD)/bench/idlemem
	N="$(MEMORY_N)" CONNECT_S=$(MEMORY_CONNECT_S) RUNS=$(MEMORY_RUNS) \
	  CHATD=./chatd IDLEMEM=$(BUILD)/bench/idlemem bench/memory.sh

# ---- spawnfloor: what a process per client costs, without chatd ----
#
#   make spawnfloor        fork 1,000 and 10,000 processes, as the master
#                          does: time and memory per process, the floor
#                          under make memory's figures and the connection
#                          storm (SPAWN_FLAGS=-T1: a thread in each too)
#   make switchcost        wake N processes in turn (N = 10 ... 1,000):
#                          what a wake-up costs as processes multiply,
#                          the floor under deliveries at S=1000
#                          (SWITCH_FLAGS="-g 500": with new copies of the
#                          pages every 500 forks, as chatd makes them;
#                          "-g 500 -s": the shared mapping copied too)
#   make pagecost          N processes read a ring another writes, in a
#                          new ring, in one written before, in one read
#                          ahead at start, and read ahead and read-only:
#                          why workers read the segment ahead
#                          (shm_pretouch()) and read the slots where they
#                          are read-only (shm_slots_read_only())
#   make wakepages         the pages a worker reads when a line wakes it,
#                          by mapping, and how many every worker shares
#                          (WAKE_FLOOR=1: a member of fanfloor -F instead)
#   make workerpages       the pages an idle worker keeps as its own, by
#                          mapping, clients one at a time, in bursts, and
#                          in bursts into a room with a backlog
#                          (WORKERPAGES_N clients, 100; WORKERPAGES_HISTORY
#                          lines said first, 10)

SPAWN_N ?= 1000 10000
SPAWN_FLAGS ?=
SWITCH_N ?= 10 100 300 1000
SWITCH_FLAGS ?=
PAGE_N ?= 100 500 1100

WAKE_FLOOR ?=
WORKERPAGES_N ?= 100
WORKERPAGES_HISTORY ?= 10

.PHONY: spawnfloor switchcost pagecost wakepages workerpages

$(BUILD)/bench/spawnfloor: bench/spawnfloor.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LDFLAGS) $(LDLIBS)

$(BUILD)/bench/switchcost: bench/switchcost.c common/pagecopy.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

$(BUILD)/bench/pagecost: bench/pagecost.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LDFLAGS) $(LDLIBS)

$(BUILD)/bench/ownpages: bench/ownpages.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LDFLAGS) $(LDLIBS)

spawnfloor: $(BUILD)/bench/spawnfloor
	@for n in $(SPAWN_N); do \
	  $(BUILD)/bench/spawnfloor -n $$n $(SPAWN_FLAGS) || exit 1; done

switchcost: $(BUILD)/bench/switchcost
	$(BUILD)/bench/switchcost -n "$(SWITCH_N)" $(SWITCH_FLAGS)

pagecost: $(BUILD)/bench/pagecost
	$(BUILD)/bench/pagecost -n "$(PAGE_N)"

wakepages: chatd $(BUILD)/bench/fanfloor
	CHATD=./chatd FLOOR=$(if $(WAKE_FLOOR),$(BUILD)/bench/fanfloor) \
	  bench/wakepages.sh

workerpages: chatd $(BUILD)/bench/idlemem $(BUILD)/bench/ownpages
	CHATD=./chatd IDLEMEM=$(BUILD)/bench/idlemem \
	  OWNPAGES=$(BUILD)/bench/ownpages N="$(WORKERPAGES_N)" \
	  HISTORY="$(WORKERPAGES_HISTORY)" \
	  bench/workerpages.sh

# ---- compare: chatd against redis-server, ngircd and the floors (bench/) ----
#
#   make compare           the same load (S subscribers, P publishers, flat
#                          out, 48-byte messages) against a chatd, a
#                          redis-server (pub/sub), an ngircd and
#                          bench/fanfloor (one process that only fans
#                          lines out: the floor), three runs each; a
#                          table of medians and spread, deliveries/s,
#                          p99 and the server's CPU a delivery, with
#                          the ratios; then the latency at a fixed 1,000
#                          messages/s, S=100, and what one stalled
#                          client does to 99 others
#   make compare CMP_SUBS="10 100 1000" CMP_PUBS="1 10" CMP_RUNS=3
#   make compare CMP_RATE=0 CMP_STALL=0   neither of the last two
#   make compare CMP_SERVERS="chatd redis"   leave ngircd and the floor out
#   make compare CMP_SERVERS="chatd redis floor pfloor"   also a process
#                          per client with nothing else (bench/fanfloor -F)
#   make compare CMP_EACH=1   every run's deliveries/s too, in order
#   make compare DELIVERIES=1000000   shorter flat-out runs (4,000,000:
#                          a quarter of a second of Redis or chatd at S=100
#                          was too short a run to give a steady figure)
#   make plot              deliveries/s against subscribers, from the last
#                          compare: bench/deliveries.svg (BENCHMARKS.md
#                          shows it) and as text
#
# Needs redis-server and ngircd (apt-get install redis-server ngircd) and,
# for the plot, gnuplot (apt-get install gnuplot-nox); a server that is
# missing is skipped.  The medians go to bench/results/compare.dat.

CMP_SUBS ?= 10 100
CMP_PUBS ?= 1 10
CMP_RUNS ?= 3
CMP_RATE ?= 1000
CMP_STALL ?= 1
CMP_SERVERS ?= chatd redis ngircd floor
CMP_EACH ?=
DELIVERIES ?= 4000000

.PHONY: compare plot

$(BUILD)/bench/fanfloor: bench/fanfloor.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -D_GNU_SOURCE -o $@ $< $(LDFLAGS)

compare: chatd $(BUILD)/bench/chatload $(BUILD)/bench/fanfloor
	CHATD=./chatd LOAD=$(BUILD)/bench/chatload \
	  FLOOR=$(BUILD)/bench/fanfloor CMP_SUBS="$(CMP_SUBS)" \
	  CMP_PUBS="$(CMP_PUBS)" RUNS="$(CMP_RUNS)" CMP_RATE="$(CMP_RATE)" \
	  CMP_STALL="$(CMP_STALL)" \
	  CMP_SERVERS="$(CMP_SERVERS)" DELIVERIES="$(DELIVERIES)" \
	  CMP_EACH="$(CMP_EACH)" bench/compare.sh

plot:
	PLOT_SVG=bench/deliveries.svg bench/plot.sh

# ---- pairs: two builds or settings of chatd taking turns (bench/) ----
#
#   make pairs PAIRS_B="-o batch_delay=0"
#                          ./chatd as it is (A) against ./chatd with
#                          batches off (B), three pairs, a daemon of
#                          its own each run, its ring wrapped first:
#                          S=1000, P=10, 1,500 lines a publisher; every
#                          run's figures, then each side's medians
#   make pairs CHATD_B=../other/chatd PAIRS_S=100 PAIRS_LINES=15000
#                          this build against another, at S=100
#   make pairs PAIRS=5 PAIRS_WRAP=0   five pairs, fresh rings

CHATD_A ?= ./chatd
CHATD_B ?=
PAIRS_A ?=
PAIRS_B ?=
PAIRS ?= 3
PAIRS_S ?= 1000
PAIRS_P ?= 10
PAIRS_LINES ?= 1500
PAIRS_WRAP ?= 70000

.PHONY: pairs

pairs: chatd $(BUILD)/bench/chatload
	CHATD_A="$(CHATD_A)" CHATD_B="$(or $(CHATD_B),$(CHATD_A))" \
	  PAIRS_A="$(PAIRS_A)" PAIRS_B="$(PAIRS_B)" PAIRS="$(PAIRS)" \
	  PAIRS_S="$(PAIRS_S)" PAIRS_P="$(PAIRS_P)" \
	  PAIRS_LINES="$(PAIRS_LINES)" PAIRS_WRAP="$(PAIRS_WRAP)" \
	  LOAD=$(BUILD)/bench/chatload bench/pairs.sh
