#!/bin/sh
# bench/memory.sh - what an idle connected client costs in memory.
#
# For each N (the environment's N, default "1000 10000") it starts a chatd
# of its own on a free loopback port with the limits lifted, connects N
# idle clients to it (bench/idlemem), and reports:
#   - the PSS of the daemon's whole process tree (master and every worker,
#     /proc/PID/smaps_rollup) before the clients and once all are greeted,
#     and the difference divided by N;
#   - the machine's MemAvailable drop (/proc/meminfo) over the same
#     interval divided by N, with the kernel's share (kernel stacks, page
#     tables, slab) and the client process's own share;
#   - the block a worker that has sent straight to its socket keeps for
#     its TCP sends, which no field of /proc/meminfo counts: 32 KiB, or
#     4 KiB where the administrator has set
#     net.core.high_order_alloc_disable to 1 (send_blocks());
#   - for one worker, which mappings its memory is in (/proc/PID/smaps),
#     its threads, descriptors, page tables and socket buffers;
#   - the connection storm's CPU time (/proc/PID/schedstat): the master's
#     per connection, and a worker's until its client was greeted, over
#     all of them and past the first 960, which read the segment ahead
#     (shm_pretouch()); make spawnfloor gives a bare fork's, the floor.
# Then it stops the daemon it started, by pid, and checks its segment is
# gone.  Repeat with:
#	make memory                      (1,000 clients)
#	make memory MEMORY_N="1000 10000"
# MemAvailable, KernelStack, PageTables, Slab and the slab caches are the
# whole machine's: anything else starting or ending processes at the same
# time shows in them, so run it on a quiet machine.  The PSS figures and
# the last lines, counted from the workers' own /proc files, are not
# disturbed that way.
#
# Then every client leaves at once (LEAVE=clients, the default) and it
# reports how long until the last worker is gone, within LEAVE_S (600 s);
# LEAVE=daemon stops the daemon with the clients still there instead.
#
# Each N is run RUNS times (3), each time with a daemon of its own, and
# a last table gives the median and the spread (min-max) of the main
# figures over the runs: the machine is small and noisy.
#
# IDLEMEM_FLAGS is passed to idlemem (idlemem -h).  The clients stay in
# #lobby: past announce_limit (100) members a room no longer tells everyone
# of every join, so N clients joining cost N lines, not N*N/2.
set -eu
cd "$(dirname "$0")/.."
CHATD=${CHATD:-./chatd}
IDLEMEM=${IDLEMEM:-build/default/bench/idlemem}
N=${N:-"1000 10000"}
CONNECT_S=${CONNECT_S:-600}
LEAVE=${LEAVE:-clients}
LEAVE_S=${LEAVE_S:-600}
RUNS=${RUNS:-3}
case $RUNS in
'' | *[!0-9]* | 0) echo "memory: RUNS must be a number, 1 or more" >&2; exit 1 ;;
esac

tmp=$(mktemp -d)
pid=
ipid=
logpid=
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || :
		wait "$pid" 2>/dev/null || :
	fi
	if [ -n "$ipid" ]; then
		kill "$ipid" 2>/dev/null || :
		wait "$ipid" 2>/dev/null || :
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

kib() { # the value of FIELD in /proc/meminfo
	awk -v f="$1:" '$1 == f { print $2 }' /proc/meminfo
}

# The block the kernel keeps for a process's TCP sends once it has sent
# straight to a socket (the task's page fragment: tcp_sendmsg() copies
# what is sent into it; it is freed when the process exits): 32 KiB, or
# one page with net.core.high_order_alloc_disable = 1.  It is in no field
# of /proc/meminfo, so it is counted here (send_blocks()).  BENCHMARKS.md,
# "The page every worker keeps for its sends".
send_block_kib() {
	pg=$(($(getconf PAGESIZE) / 1024))
	if [ "$(cat /proc/sys/net/core/high_order_alloc_disable \
	    2>/dev/null)" = 1 ] || [ "$pg" -ge 32 ]; then
		echo "$pg"
	else
		echo 32
	fi
}

# How many workers keep a send block: those that no longer send through
# the pipe a quiet worker splices its lines from (quiet_send() in
# worker/session.c), that is, without two descriptors of one pipe.
send_blocks() {
	workers >"$tmp/workers"
	sed 's|.*|/proc/&/fd|' "$tmp/workers" |
	    xargs -r sh -c 'find "$@" -mindepth 1 -maxdepth 1 \
		-lname "pipe:*" -printf "%h %l\n" 2>/dev/null' sh |
	    sort | uniq -d | awk -v n="$(wc -l <"$tmp/workers")" '
		{ quiet[$1] = 1 } END { for (w in quiet) q++; print n - q }'
}

tcp_mem_kib() { # socket buffer memory of all TCP sockets
	awk -v pg="$(getconf PAGESIZE)" \
	    '$1 == "TCP:" { for (i = 2; i < NF; i++) if ($i == "mem") \
		print $(i + 1) * pg / 1024 }' /proc/net/sockstat
}

workers() { # the master's children but its log process, one a line
	# the kernel's list: pgrep reads all of /proc, slow with 10,000 busy
	if [ -r "/proc/$pid/task/$pid/children" ]; then
		tr ' ' '\n' <"/proc/$pid/task/$pid/children"
	else
		pgrep -P "$pid" || :
	fi | sed "/^\$/d; /^${logpid:-x}\$/d"
}

# whether the master still has a worker: one small read, the log process
# (forked before any worker, so first in the kernel's list) left out
has_workers() {
	if k=$(head -c 32 "/proc/$pid/task/$pid/children" 2>/dev/null); then
		[ -n "$(printf '%s\n' $k | sed "/^${logpid:-x}\$/d")" ]
	else
		[ -n "$(workers | head -n 1)" ]
	fi
}

# Sums the smaps_rollup fields of the master ($pid), its log process and
# every worker: prints "procs pss pss_anon pss_shmem private_dirty rss"
tree_rollup() {
	{ echo "$pid"; [ -z "$logpid" ] || echo "$logpid"; workers; } |
	    sed 's|.*|/proc/&/smaps_rollup|' |
	    xargs cat 2>/dev/null |
	    awk '$1 == "Rss:" { n++; rss += $2 }
		 $1 == "Pss:" { pss += $2 }
		 $1 == "Pss_Anon:" { anon += $2 }
		 $1 == "Pss_Shmem:" { shm += $2 }
		 $1 == "Private_Dirty:" { pd += $2 }
		 END { printf "%d %d %d %d %d %d\n", n, pss, anon, shm, pd, rss }'
}

# CPU time of process $1 so far, in microseconds (/proc/PID/schedstat)
cpu_us() {
	awk '{ printf "%d\n", $1 / 1000 }' "/proc/$1/schedstat" 2>/dev/null ||
	    echo 0
}

# The workers' CPU time so far: "count mean_us late_count late_mean_us",
# the late ones those started after the first 960 (SHM_PRETOUCH_ROWS: the
# first read the segment ahead, shm_pretouch()), by start time.
workers_cpu() {
	workers |
	    awk '{ print "/proc/" $1 "/stat"; print "/proc/" $1 "/schedstat" }' |
	    xargs awk '{ p = FILENAME; sub("^/proc/", "", p); sub("/.*", "", p) }
		FILENAME ~ /\/stat$/ { l = $0; sub(/.*\) /, "", l); split(l, f, " ")
		    print p, "start", f[20] }
		FILENAME ~ /schedstat$/ { print p, "cpu", int($1 / 1000) }' \
	    2>/dev/null |
	    awk '$2 == "start" { s[$1] = $3 } $2 == "cpu" { c[$1] = $3 }
		END { for (p in s) if (p in c) print s[p], c[p] }' |
	    sort -n -k1,1 | awk '{ n++; t += $2 }
		n > 960 { ln++; lt += $2 }
		END { printf "%d %d %d %d\n", n, n ? t / n : 0, ln,
		    ln ? lt / ln : 0 }'
}

pss_of() {
	awk '$1 == "Pss:" { print $2 }' "/proc/$1/smaps_rollup"
}

# Where one worker's memory is, by mapping kind.  A mapping holding the
# stack pointer of a thread other than the main one is that thread's
# stack; an anonymous mapping starting on a 64 MiB boundary is a glibc
# malloc arena of a thread (the main thread's is [heap]).
breakdown() {
	w=$1
	sps=
	for t in /proc/"$w"/task/*; do
		tid=${t##*/}
		[ "$tid" = "$w" ] && continue
		sp=$(awk 'NF >= 9 { print $(NF - 1) }' "$t/syscall" \
		    2>/dev/null || :)
		case $sp in
		0x[0-9a-f]*) sps="$sps $sp" ;;
		esac
	done
	awk -v sps="$sps" -v exe="$(readlink "/proc/$w/exe" | sed 's/ (deleted)$//')" '
	function pad(h) { # hex without 0x, 16 digits, comparable as text
		sub(/^0x/, "", h)
		while (length(h) < 16)
			h = "0" h
		return h
	}
	function kind(name, perms, lo, hi,    i, s) {
		for (i = 1; i <= nsp; i++)
			if (sp[i] >= lo && sp[i] < hi)
				return "outbound thread stack"
		if (name == "[stack]") return "main thread stack"
		if (name == "[heap]") return "malloc main arena ([heap])"
		if (name ~ /^\/dev\/shm\/chatd-/) return "shared segment"
		if (name ~ /\/libc[.-]/) return "libc"
		if (name ~ /\/ld-linux/) return "ld.so"
		if (name == exe) return "chatd binary"
		if (name ~ /^\[(vdso|vvar|vsyscall|vvar_vclock)\]$/)
			return "vdso, vvar"
		if (name != "") return "other files"
		if (perms ~ /^---/) return "reserved, no access (guards)"
		s = substr(lo, 10)
		if (substr(s, 2) == "000000" && index("048c", substr(s, 1, 1)))
			return "malloc thread arena"
		return "other anonymous"
	}
	BEGIN {
		nsp = split(sps, sp, " ")
		for (i = 1; i <= nsp; i++)
			sp[i] = pad(sp[i])
	}
	/^[0-9a-f]+-[0-9a-f]+ / {
		split($1, r, "-")
		name = NF >= 6 ? $6 : ""
		cur = kind(name, $2, pad(r[1]), pad(r[2]))
		if (!(cur in maps))
			order[++nk] = cur
		maps[cur]++
		next
	}
	$1 == "Size:" { size[cur] += $2 }
	$1 == "Rss:" { rss[cur] += $2 }
	$1 == "Pss:" { pss[cur] += $2 }
	$1 == "Private_Dirty:" { pd[cur] += $2 }
	$1 == "Private_Clean:" { pc[cur] += $2 }
	$1 == "Shared_Clean:" || $1 == "Shared_Dirty:" { sh[cur] += $2 }
	END {
		printf "  %-30s %4s %9s %7s %7s %7s %7s %7s\n", "mapping",
		    "maps", "size", "rss", "pss", "privdty", "privcln",
		    "shared"
		for (i = 1; i <= nk; i++) {
			k = order[i]
			printf "  %-30s %4d %9d %7d %7.1f %7d %7d %7d\n", k,
			    maps[k], size[k], rss[k], pss[k], pd[k], pc[k],
			    sh[k]
			t[1] += size[k]; t[2] += rss[k]; t[3] += pss[k]
			t[4] += pd[k]; t[5] += pc[k]; t[6] += sh[k]
		}
		printf "  %-30s %4s %9d %7d %7.1f %7d %7d %7d   (KiB)\n",
		    "total", "", t[1], t[2], t[3], t[4], t[5], t[6]
	}' "/proc/$w/smaps"
	awk '$1 ~ /^(Threads|VmPTE|VmRSS|VmStk|VmData|RssAnon|RssFile|RssShmem):$/ {
		printf "  %s %s%s", $1, $2, ($3 == "" ? "" : " " $3) "," }
		END { print "" }' "/proc/$w/status"
	echo "  open fds: $(ls "/proc/$w/fd" | wc -l)" \
	    "($(ls -l "/proc/$w/fd" | awk '/socket:/ { n++ } END { print n + 0 }')" \
	    "sockets)"
}

# The server side of one client connection: its socket memory (ss -m).
one_socket() {
	ss -tmnH state established "( sport = :$port )" 2>/dev/null |
	    awk 'NR % 2 == 1 { peer = $NF } /skmem/ { print "  " peer ": " \
		$1; exit }'
}

# The slab caches that grew most over the interval (objects in use times
# their size), per client: the kernel objects behind a worker and its
# connection (both ends: the client's socket is in there too).
slab_delta() {
	[ -s "$tmp/slab.before" ] && [ -s "$tmp/slab.after" ] || return 0
	echo "  slab caches that grew most (KiB per client, object size):"
	awk -v g="$1" 'NR == FNR { if (FNR > 2) b[$1] = $2 * $4; next }
		FNR > 2 { d = $2 * $4 - b[$1]
			if (d > 0) printf "%.2f %s %d\n", d / 1024 / g, $1, $4 }' \
	    "$tmp/slab.before" "$tmp/slab.after" | sort -rn | head -n 14 |
	    awk '{ printf "    %-24s %6.2f  (%d B)\n", $2, $1, $3; t += $1 }
		END { printf "    %-24s %6.2f\n", "these together", t }'
}

run() {
	n=$1
	flags=${IDLEMEM_FLAGS-}
	need=$((n + 64))
	# shellcheck disable=SC3045
	if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
		ulimit -n "$need" 2>/dev/null || {
			echo "cannot raise the descriptor limit to $need" \
			    "(hard: $(ulimit -Hn))" >&2
			return 1
		}
	fi
	name="mem-$$-$n"
	log=$tmp/chatd-$n.log
	: >"$log"
	"$CHATD" -f -p 0 -b 127.0.0.1 -n "$name" -m $((n + 1000)) -a 0 \
	    -o register_timeout=0 -o idle_timeout=0 2>"$log" &
	pid=$!
	i=0
	while ! grep -q ' started version=' "$log"; do
		i=$((i + 1))
		[ "$i" -le 100 ] || { echo "chatd did not start" >&2; cat "$log" >&2; return 1; }
		sleep 0.05
	done
	port=$(sed -n 's/.*listening on 127.0.0.1 port \([0-9]*\).*/\1/p' "$log" | head -n 1)
	sleep 1
	# the master's log process: not a worker (master/logproc.c)
	logpid=$(pgrep -P "$pid" -x chatd-log || :)

	echo "=== $n idle clients: chatd pid $pid, port $port," \
	    "segment /dev/shm/chatd-$name," \
	    "$(du -k "/dev/shm/chatd-$name" | cut -f1) KiB in use of" \
	    "$(($(stat -c %s "/dev/shm/chatd-$name") / 1024)) KiB" \
	    "${flags:+, idlemem $flags}"
	# shellcheck disable=SC2046
	set -- $(tree_rollup)
	b_procs=$1 b_pss=$2 b_anon=$3 b_shm=$4 b_pd=$5
	b_avail=$(kib MemAvailable) b_kstack=$(kib KernelStack)
	b_pt=$(kib PageTables) b_slab=$(kib Slab) b_sunr=$(kib SUnreclaim)
	b_shmem=$(kib Shmem) b_anonp=$(kib AnonPages) b_tcp=$(tcp_mem_kib)
	cat /proc/slabinfo >"$tmp/slab.before" 2>/dev/null || :

	rm -f "$tmp/fifo" && mkfifo "$tmp/fifo"
	mcpu0=$(cpu_us "$pid")
	t0=$(date +%s)
	# shellcheck disable=SC2086
	"$IDLEMEM" -c "$n" -p "$port" -t "$CONNECT_S" -w 3600 $flags \
	    <"$tmp/fifo" >"$tmp/idle.out" 2>"$tmp/idle.err" &
	ipid=$!
	exec 3>"$tmp/fifo"
	i=0
	while ! grep -q '^ready ' "$tmp/idle.out"; do
		i=$((i + 1))
		if [ "$i" -gt $((CONNECT_S * 5 + 100)) ] ||
		    ! kill -0 "$ipid" 2>/dev/null; then
			echo "idlemem did not get ready" >&2
			cat "$tmp/idle.err" >&2
			return 1
		fi
		sleep 0.2
	done
	t1=$(date +%s)
	mcpu1=$(cpu_us "$pid")
	# shellcheck disable=SC2046
	set -- $(workers_cpu)
	wn=$1 wmean=$2 wln=$3 wlmean=$4
	sed 's/^/  /' "$tmp/idle.err"
	greeted=$(sed -n 's/^ready .*greeted=\([0-9]*\).*/\1/p' "$tmp/idle.out")
	[ "$greeted" -gt 0 ] || { echo "no client was greeted" >&2; return 1; }
	sleep 2

	# shellcheck disable=SC2046
	set -- $(tree_rollup)
	a_procs=$1 a_pss=$2 a_anon=$3 a_shm=$4 a_pd=$5
	a_avail=$(kib MemAvailable) a_kstack=$(kib KernelStack)
	a_pt=$(kib PageTables) a_slab=$(kib Slab) a_sunr=$(kib SUnreclaim)
	a_shmem=$(kib Shmem) a_anonp=$(kib AnonPages) a_tcp=$(tcp_mem_kib)
	cat /proc/slabinfo >"$tmp/slab.after" 2>/dev/null || :
	ipss=$(pss_of "$ipid")
	mpss=$(pss_of "$pid")
	blocks=$(send_blocks)
	sp=$(send_block_kib)

	echo "  $greeted of $n greeted in $((t1 - t0)) s; processes in the" \
	    "tree: $b_procs before, $a_procs after"
	echo "  CPU a connection until greeted: the master $(((mcpu1 - mcpu0) /
	    (greeted > 0 ? greeted : 1))) us, a worker $wmean us ($wn);" \
	    "past the first 960: $wlmean us ($wln)" \
	    "(make spawnfloor: a bare fork's parent and child)"
	awk -v g="$greeted" \
	    -v bp="$b_pss" -v ap="$a_pss" -v ba="$b_anon" -v aa="$a_anon" \
	    -v bs="$b_shm" -v as="$a_shm" -v bd="$b_pd" -v ad="$a_pd" \
	    -v bv="$b_avail" -v av="$a_avail" -v bk="$b_kstack" \
	    -v ak="$a_kstack" -v bt="$b_pt" -v at="$a_pt" -v bl="$b_slab" \
	    -v al="$a_slab" -v bu="$b_sunr" -v au="$a_sunr" \
	    -v bh="$b_shmem" -v ah="$a_shmem" -v bn="$b_anonp" \
	    -v an="$a_anonp" -v bc="$b_tcp" -v ac="$a_tcp" -v ip="$ipss" \
	    -v mp="$mpss" -v sb="$((blocks * sp))" -v nb="$blocks" 'BEGIN {
		f = "  %-44s %10.0f KiB  %7.1f KiB/client\n"
		printf "  %-44s %10s      %11s\n", "", "total", "per client"
		printf f, "PSS of the daemon tree, after - before", ap - bp, (ap - bp) / g
		printf f, "  of which anonymous (Pss_Anon)", aa - ba, (aa - ba) / g
		printf f, "  of which shared memory (Pss_Shmem)", as - bs, (as - bs) / g
		printf f, "  Private_Dirty of the tree", ad - bd, (ad - bd) / g
		printf f, "  the master alone (PSS, after)", mp, mp / g
		printf f, "MemAvailable drop", bv - av, (bv - av) / g
		printf f, "  KernelStack", ak - bk, (ak - bk) / g
		printf f, "  PageTables", at - bt, (at - bt) / g
		printf f, "  Slab (unreclaimable)", al - bl, (al - bl) / g
		printf f, "    of which SUnreclaim", au - bu, (au - bu) / g
		printf f, "  AnonPages", an - bn, (an - bn) / g
		printf f, "  Shmem", ah - bh, (ah - bh) / g
		printf f, "  TCP socket buffers, both ends", ac - bc, (ac - bc) / g
		printf f, "  TCP send blocks of " nb " workers (no field)", sb, sb / g
		printf f, "  the idlemem client process (PSS)", ip, ip / g
		printf f, "MemAvailable drop without idlemem", bv - av - ip, (bv - av - ip) / g
		s = ap - bp + ak - bk + at - bt + au - bu + ac - bc
		printf f, "PSS + KernelStack + PageTables + SUnreclaim", s, s / g
		printf "  %-44s\n", "  + TCP buffers (less noisy than MemAvailable)"
		printf f, "  + their TCP send blocks", s + sb, (s + sb) / g
	}'
	# for the summary: greeted in (s), then KiB a client: PSS,
	# MemAvailable drop, the sum above
	sum_greet=$(sed -n 's/.* greeted in \([0-9.]*\) s.*/\1/p' \
	    "$tmp/idle.err" | head -n 1)
	sum_mem=$(awk -v g="$greeted" -v bp="$b_pss" -v ap="$a_pss" \
	    -v bv="$b_avail" -v av="$a_avail" -v s=$((a_pss - b_pss + \
	    a_kstack - b_kstack + a_pt - b_pt + a_sunr - b_sunr + a_tcp - \
	    b_tcp)) -v sb="$((blocks * sp))" 'BEGIN {
		printf "%.1f %.1f %.1f %.1f", (ap - bp) / g, (bv - av) / g,
		s / g, (s + sb) / g }')
	sum_leave=-

	slab_delta "$greeted"

	# one typical worker: the one in the middle of the pid order
	# shellcheck disable=SC2046
	set -- $(workers | sort -n)
	w=$(eval echo "\${$(($# / 2 + 1))}")
	echo "  --- worker $w"
	breakdown "$w"
	echo "  socket of one client, server side (r,rb: receive queued,"\
	    "buffer; t,tb: send; f: forward alloc; w; o; bl; d):"
	one_socket
	# the average over every worker, to check the one above is typical
	workers | sed 's|.*|/proc/&/status|' | xargs cat 2>/dev/null |
	    awk -v pss=$((a_pss - b_pss)) -v g="$greeted" \
		'$1 == "Threads:" { n++; th += $2 } $1 == "VmPTE:" { pte += $2 }
		 $1 == "RssAnon:" { ra += $2 }
		 END { if (!n) exit
		printf "  all %d workers: threads %.2f, VmPTE %.1f KiB, RssAnon %.1f KiB on average\n", n, th / n, pte / n, ra / n
		# x86-64: a 16 KiB kernel stack a task
		printf "  per client from the workers'"'"' own figures, not disturbed by the rest\n"
		printf "  of the machine: PSS %.1f + kernel stacks %.1f + VmPTE %.1f = %.1f KiB,\n", pss / g, 16 * th / n, pte / n, pss / g + 16 * th / n + pte / n
		printf "  plus the PGD (4 or 8 KiB) and the slab objects above\n" }'

	if [ "$LEAVE" = clients ]; then
		# every client leaves at once, as when a network goes down.
		# idlemem stands for N machines of their own: as root it is
		# not left to queue for the CPU behind the workers it ends,
		# nor is this shell, which watches them go (chrt).
		chrt -f -p 2 "$ipid" 2>/dev/null || :
		chrt -f -p 1 $$ 2>/dev/null || :
		t0=$(date +%s%N)
		exec 3>&-
		i=0
		# one small read a tenth of a second: this shell outranks the
		# workers, so it must not take their CPU
		while has_workers; do
			i=$((i + 1))
			[ "$i" -le $((LEAVE_S * 10)) ] || {
				echo "workers still there after $LEAVE_S s" >&2
				return 1
			}
			sleep 0.1
		done
		t1=$(date +%s%N)
		chrt -o -p 0 $$ 2>/dev/null || :
		echo "  all $greeted clients left at once: every worker gone" \
		    "in $(((t1 - t0) / 1000000)) ms"
		sum_leave=$(((t1 - t0) / 1000000))
	fi
	# then stop the daemon: with LEAVE=daemon, its shutdown tells every
	# worker at once
	kill "$pid"
	i=0
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -le 600 ] || { echo "chatd did not stop in 60 s" >&2; return 1; }
		sleep 0.1
	done
	wait "$pid" || :
	pid=
	exec 3>&-
	i=0
	while kill -0 "$ipid" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -le 300 ] || { echo "idlemem did not stop" >&2; return 1; }
		sleep 0.1
	done
	wait "$ipid" || :
	ipid=
	if [ -e "/dev/shm/chatd-$name" ]; then
		echo "segment /dev/shm/chatd-$name left behind" >&2
		return 1
	fi
	echo "  stopped; segment removed"
	echo "${sum_greet:--} $sum_mem $sum_leave" >>"$tmp/summary-$n"
}

# The median and the spread of column COL of the lines of FILE ("-": none).
median() {
	awk -v c="$1" '$c != "-" { print $c }' "$2" | sort -n |
	    awk '{ v[NR] = $1 }
		END { if (NR == 0) { print "-"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%g (%g-%g)\n", m, v[1], v[NR] }'
}

summary() {
	echo
	echo "medians over $RUNS run(s), (min-max):"
	printf "  %7s  %-20s %-20s %-20s %-20s %-20s %s\n" clients \
	    "greeted in s" "PSS KiB/client" "MemAvail KiB/cl." \
	    "PSS+KS+PT+SUnr." "+ send blocks" "all gone in ms"
	for n in $N; do
		f=$tmp/summary-$n
		[ -s "$f" ] || continue
		printf "  %7s  %-20s %-20s %-20s %-20s %-20s %s\n" "$n" \
		    "$(median 1 "$f")" "$(median 2 "$f")" "$(median 3 "$f")" \
		    "$(median 4 "$f")" "$(median 5 "$f")" "$(median 6 "$f")"
	done
}

[ -x "$IDLEMEM" ] || { echo "$IDLEMEM: not built (make memory builds it)" >&2; exit 1; }
echo "chatd $($CHATD -V | cut -d' ' -f2), $(nproc) cores," \
    "$(($(kib MemTotal) / 1024)) MiB," \
    "MemAvailable $(($(kib MemAvailable) / 1024)) MiB, kernel $(uname -r)," \
    "page size $(getconf PAGESIZE)," \
    "net.core.high_order_alloc_disable" \
    "$(cat /proc/sys/net/core/high_order_alloc_disable 2>/dev/null || echo -)" \
    "(a TCP send block: $(send_block_kib) KiB)"
for n in $N; do
	r=1
	while [ "$r" -le "$RUNS" ]; do
		[ "$RUNS" -eq 1 ] || echo "--- run $r of $RUNS"
		run "$n"
		r=$((r + 1))
	done
done
summary
