#!/bin/sh
# bench/compare.sh - the same publish/subscribe load against chatd, against
# redis-server (pub/sub) and against ngircd (an IRC server), side by side,
# on loopback.  Starts a server of each kind of its own on a free port
# (redis: no persistence, bench/redis.conf; ngircd: bench/ngircd.conf,
# flood control as far down as it goes), and bench/fanfloor ("floor": one
# process that only fans lines out, no ring, no workers, no checks: what
# the machine allows any server; "pfloor", not run unless asked: a
# process per client and a shared ring, as chatd, with nothing else),
# runs every scenario (S subscribers, P publishers, flat out with a
# window) RUNS times against each, the servers taking turns, and prints
# the median and the spread (min-max) of deliveries/s, of the p99 latency
# and of the CPU the server spent a delivery (all its processes and
# threads, counted by chatload -C while the lines flowed) of each, with
# the ratios of chatd to each other.  With CMP_RATE, one more scenario:
# the publishers together send CMP_RATE messages a second (not flat out)
# and the table gives p50, p99 and p99.9 of each server.  With CMP_STALL,
# one more: CMP_STALL_SUBS subscribers and one publisher flat out, run
# once as it is and once with CMP_STALL more subscribers that never read
# (a stalled client), to show what one costs the others.  The medians also
# go to CMP_DATA, a whitespace table that bench/plot.sh draws.  After a
# run against chatd it waits until that run's workers are gone, so that no
# run shares the machine with the end of the one before.  Stops what
# it started, by pid, however it ends (a chatd's workers and its segment
# too).
#	make compare
# Installs nothing: a server whose binary is missing is skipped, with how
# to get it.  Knobs (environment):
#   CMP_SUBS ("10 100"; 1000 wants an idle machine; "": no flat-out runs),
#   CMP_PUBS ("1 10"), RUNS (3), DELIVERIES (deliveries a flat-out run aims
#   at, 4000000: runs of 1000000 lasted 0.15-0.3 s against Redis or chatd
#   at S=100, too short to average out Redis's swings), WINDOW (64),
#   CMP_RATE (messages a second for the fixed-rate scenario; 0: none),
#   CMP_RATE_SUBS (100), CMP_RATE_PUBS (1), CMP_RATE_SECS (5: how long a
#   fixed-rate run lasts),
#   CMP_DATA (bench/results/compare.dat), CMP_SERVERS ("chatd redis
#   ngircd floor"), CHATD, REDIS, NGIRCD, FLOOR, LOAD (the binaries),
#   CMP_EACH (set: print every run's deliveries/s too, in order: the
#   runs after the first against one chatd can differ from it; see
#   BENCHMARKS.md).
set -eu
cd "$(dirname "$0")/.."
CHATD=${CHATD:-./chatd}
LOAD=${LOAD:-build/default/bench/chatload}
REDIS=${REDIS:-redis-server}
NGIRCD=${NGIRCD:-ngircd}
FLOOR=${FLOOR:-build/default/bench/fanfloor}
CMP_SUBS=${CMP_SUBS-10 100}
CMP_PUBS=${CMP_PUBS:-1 10}
RUNS=${RUNS:-3}
DELIVERIES=${DELIVERIES:-4000000}
WINDOW=${WINDOW:-64}
CMP_RATE=${CMP_RATE:-0}
CMP_RATE_SUBS=${CMP_RATE_SUBS:-100}
CMP_RATE_PUBS=${CMP_RATE_PUBS:-1}
CMP_RATE_SECS=${CMP_RATE_SECS:-5}
CMP_STALL=${CMP_STALL:-0}
CMP_STALL_SUBS=${CMP_STALL_SUBS:-99}
CMP_DATA=${CMP_DATA:-bench/results/compare.dat}
CMP_SERVERS=${CMP_SERVERS:-chatd redis ngircd floor}
CMP_EACH=${CMP_EACH:-}

[ -x "$LOAD" ] || { echo "compare: no $LOAD (run make compare)" >&2; exit 1; }
for n in "$RUNS" "$DELIVERIES" "$WINDOW" "$CMP_RATE" "$CMP_RATE_SUBS" \
    "$CMP_RATE_PUBS" "$CMP_RATE_SECS" "$CMP_STALL" "$CMP_STALL_SUBS"; do
	case $n in
	'' | *[!0-9]*) echo "compare: not a number: '$n'" >&2; exit 1 ;;
	esac
done
[ "$RUNS" -ge 1 ] || { echo "compare: RUNS must be 1 or more" >&2; exit 1; }

tmp=
cpid=
rpid=
npid=
fpid=
pfpid=
lpid=
cname="cmp-$$"
. bench/lib.sh

cleanup() {
	trap - EXIT INT TERM
	stop "$lpid"
	stop_chatd
	stop "$rpid"
	stop "$npid"
	stop "$fpid"
	stop "$pfpid"
	[ -z "$tmp" ] || rm -rf "$tmp"
}
trap 'cleanup' EXIT
trap 'exit 130' INT TERM
tmp=$(mktemp -d)

# a port of our own for redis and ngircd, which take no "any free one":
# tried until one is free (bounded)
base=$((20000 + $$ % 20000))
tries=10

servers=
started=

want() {
	case " $CMP_SERVERS " in
	*" $1 "*) return 0 ;;
	esac
	return 1
}

# chatd (bench/lib.sh), skipped if not built
start_chatd_cmp() {
	if [ ! -x "$CHATD" ]; then
		echo "compare: no $CHATD (run make); chatd skipped"
		return 0
	fi
	# shellcheck disable=SC2119 # no options more than lib.sh's
	start_chatd
	servers="$servers chatd"
	started="$started chatd $($CHATD -V | cut -d' ' -f2) port $cport,"
}

# waits (5 s at most) until server $1 writes a line matching $3 to its
# log $2; fails if it does not, or exits first (its port was taken)
await_line() {
	i=0
	while [ "$i" -le 100 ]; do
		! grep -q "$3" "$2" || return 0
		alive "$1" || return 1
		i=$((i + 1))
		sleep 0.05
	done
	return 1
}

start_redis() {
	if ! command -v "$REDIS" >/dev/null 2>&1; then
		echo "compare: redis-server not found; install it with:"
		echo "	apt-get install redis-server"
		echo "compare: redis skipped"
		return 0
	fi
	try=0
	rport=
	while [ "$try" -lt "$tries" ] && [ -z "$rport" ]; do
		p=$((base + try * 7))
		try=$((try + 1))
		: >"$tmp/redis.log"
		"$REDIS" bench/redis.conf --port "$p" --save "" \
			--appendonly no >"$tmp/redis.log" 2>&1 &
		rpid=$!
		if await_line "$rpid" "$tmp/redis.log" \
		    'Ready to accept connections'; then
			rport=$p
		else
			stop "$rpid"
			rpid=
		fi
	done
	[ -n "$rport" ] || { echo "redis-server did not start" >&2
		cat "$tmp/redis.log" >&2; exit 1; }
	servers="$servers redis"
	started="$started redis $($REDIS --version |
	    sed 's/.* v=\([^ ]*\).*/\1/') port $rport,"
}

# ngircd takes its port from its configuration only: bench/ngircd.conf
# with the port and an empty include directory of ours
start_ngircd() {
	if ! command -v "$NGIRCD" >/dev/null 2>&1; then
		echo "compare: ngircd not found; install it with:"
		echo "	apt-get install ngircd"
		echo "  (it starts a system service: stop it, or install with a"
		echo "  /usr/sbin/policy-rc.d that exits 101)"
		echo "compare: ngircd skipped"
		return 0
	fi
	mkdir "$tmp/ngircd.d"
	try=0
	nport=
	while [ "$try" -lt "$tries" ] && [ -z "$nport" ]; do
		p=$((base + 3 + try * 7))
		try=$((try + 1))
		sed -e "s|^\([[:space:]]*Ports[[:space:]]*=\).*|\1 $p|" \
		    -e "s|^\([[:space:]]*IncludeDir[[:space:]]*=\).*|\1 $tmp/ngircd.d|" \
		    bench/ngircd.conf >"$tmp/ngircd.conf"
		: >"$tmp/ngircd.log"
		"$NGIRCD" -n -f "$tmp/ngircd.conf" >"$tmp/ngircd.log" 2>&1 &
		npid=$!
		if await_line "$npid" "$tmp/ngircd.log" 'Server .* ready'; then
			nport=$p
		else
			stop "$npid"
			npid=
		fi
	done
	[ -n "$nport" ] || { echo "ngircd did not start" >&2
		cat "$tmp/ngircd.log" >&2; exit 1; }
	servers="$servers ngircd"
	started="$started ngircd $($NGIRCD --version | head -n 1 |
	    sed 's/^ngIRCd \([0-9.]*\).*/\1/') port $nport,"
}

# a floor: bench/fanfloor on a free port, which it prints; $1 is its name
# here ("floor": one process; "pfloor": -F, a process per client)
start_floor() {
	if [ ! -x "$FLOOR" ]; then
		echo "compare: no $FLOOR (run make compare); $1 skipped"
		return 0
	fi
	f=
	[ "$1" = floor ] || f=-F
	: >"$tmp/$1.log"
	# shellcheck disable=SC2086 # no flag or one
	"$FLOOR" $f -p 0 -c 11000 >"$tmp/$1.log" 2>&1 &
	pid=$!
	if [ "$1" = floor ]; then fpid=$pid; else pfpid=$pid; fi
	await_line "$pid" "$tmp/$1.log" '^listening on' || {
		echo "fanfloor $f did not start" >&2
		cat "$tmp/$1.log" >&2
		exit 1; }
	port=$(sed -n 's/^listening on 127.0.0.1 port \([0-9]*\).*/\1/p' \
		"$tmp/$1.log")
	if [ "$1" = floor ]; then fport=$port; else pport=$port; fi
	servers="$servers $1"
	started="$started $1 (bench/fanfloor $f) port $port,"
}

# ngircd serves every client from one process: let it have the descriptors
# (dash and bash have ulimit -n and -H)
# shellcheck disable=SC3045
ulimit -n "$(ulimit -Hn)" 2>/dev/null || :
! want chatd || start_chatd_cmp
! want redis || start_redis
! want ngircd || start_ngircd
! want floor || start_floor floor
! want pfloor || start_floor pfloor
if [ -z "$servers" ]; then
	echo "compare: no server to measure; nothing done"
	exit 0
fi

echo "on 127.0.0.1:$started $(nproc) cores, window $WINDOW, $RUNS runs each"
case " $servers " in
*" ngircd "*)
	echo "ngircd: penalties off (MaxPenaltyTime = 0), every client +F:" \
	    "still at most 10 commands of a client per pass of its loop" ;;
esac

# one run against server $1 (S $2, P $3, messages $4, more chatload
# options after): prints its RESULT line, or a line of zeros when it failed
run() {
	x=$1
	s=$2
	p=$3
	m=$4
	shift 4
	case $x in
	chatd) port=$cport spid=$cpid ;;
	redis) port=$rport spid=$rpid ;;
	ngircd) port=$nport spid=$npid ;;
	floor) port=$fport spid=$fpid ;;
	pfloor) port=$pport spid=$pfpid ;;
	esac
	case $x in
	ngircd) proto=irc ;;
	floor | pfloor) proto=chatd ;;
	*) proto=$x ;;
	esac
	# in the background, so that a signal stops the script at once (the
	# trap stops chatload too)
	"$LOAD" -x "$proto" -p "$port" -S "$s" -P "$p" -m "$m" -w "$WINDOW" \
		-C "$spid" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null &
	lpid=$!
	wait "$lpid" && rc=0 || rc=$?
	lpid=
	line=$(grep '^RESULT' "$tmp/out" || :)
	if [ -z "$line" ]; then
		sed "s/^/  $x: /" "$tmp/err" >&2
		line="RESULT deliveries_per_s=0 p50_us=0 p99_us=0 p999_us=0"
		line="$line failed=1"
	fi
	[ "$rc" -eq 0 ] || line="$line incomplete=1"
	printf '%s\n' "$line"
	[ "$x" != chatd ] || settle
	[ "$x" != pfloor ] || settle_children "$pfpid"
}

# as settle() (bench/lib.sh), for pfloor: waits (up to 60 s) until
# process $1 has no child
settle_children() {
	i=0
	while [ -n "$(cat "/proc/$1/task/$1/children" 2>/dev/null)" ] &&
	    [ "$i" -lt 600 ]; do
		i=$((i + 1))
		sleep 0.1
	done
}

# the servers in turn, each round starting with the next one, so that none
# always runs first (right after the others' teardown)
order() {
	k=$1
	# shellcheck disable=SC2086 # split into words, on purpose
	set -- $servers
	k=$((k % $#))
	while [ "$k" -gt 0 ]; do
		first=$1
		shift
		set -- "$@" "$first"
		k=$((k - 1))
	done
	echo "$@"
}

# the scenario ($1 S, $2 P, $3 messages, more chatload options after),
# RUNS times against each server; results in $tmp/NAME.res
scenario() {
	for x in $servers; do
		: >"$tmp/$x.res"
	done
	r=0
	while [ "$r" -lt "$RUNS" ]; do
		for x in $(order "$r"); do
			run "$x" "$@" >>"$tmp/$x.res"
		done
		r=$((r + 1))
	done
	[ -n "$CMP_EACH" ] || return 0
	for x in $servers; do
		printf '  S=%s P=%s %s, each run in order (deliveries/s):' \
		    "$1" "$2" "$x"
		field deliveries_per_s <"$tmp/$x.res" | sed 's/^/ /' |
		    tr -d '\n'
		echo
	done
}

# a row of the data file for server $1 (S $2, P $3, rate $4, stalled
# clients $5)
data_row() {
	z=${5:-0}
	set -- "$1" "$2" "$3" "$4" \
	    "$(stats deliveries_per_s <"$tmp/$1.res")" \
	    "$(stats p50_us <"$tmp/$1.res")" \
	    "$(stats p99_us <"$tmp/$1.res")" \
	    "$(stats p999_us <"$tmp/$1.res")" \
	    "$(grep -c 'incomplete=1' "$tmp/$1.res" || :)" \
	    "$(stats server_ns <"$tmp/$1.res")" \
	    "$(stats load_ns <"$tmp/$1.res")" \
	    "$(stats busy_pct <"$tmp/$1.res")"
	echo "$@" | awk -v runs="$RUNS" -v z="$z" '{
		f = "%-7s %5d %4d %6d %4d %10.0f %10.0f %10.0f"
		f = f " %9.1f %9.1f %9.1f %9.1f %9.1f %4d %4d %6.0f %6.0f %6.0f"
		f = f " %6.0f %4.0f\n"
		printf f, $1, $2, $3, $4, runs, $5, $6, $7, $8, $11, $12, $13,
		    $14, $17, z, $18, $19, $20, $21, $24
	}' >>"$tmp/data"
}

# the table lines of a scenario from its data rows ($1 S, $2 P, $3 rate,
# $4 stalled clients)
table() {
	awk -v s="$1" -v p="$2" -v rate="$3" -v z="${4:-0}" \
	    -v servers="$servers" '
	function ratio(a, b) {
		return a > 0 && b > 0 ? sprintf("%.2f", a / b) : "-"
	}
	$2 == s && $3 == p && $4 == rate && $15 == z {
		d[$1] = $6; dmin[$1] = $7; dmax[$1] = $8
		p50[$1] = $9; p99[$1] = $10; pmin[$1] = $11; pmax[$1] = $12
		p999[$1] = $13; inc[$1] = $14
		cpu[$1] = $16; cmin[$1] = $17; cmax[$1] = $18; lcpu[$1] = $19
	}
	END {
		n = split(servers, sv, " ")
		lead = sprintf("%5s %4d", z > 0 ? s "+" z : s, p)
		for (i = 1; i <= n; i++) {
			x = sv[i]
			note = inc[x] > 0 ? sprintf("  %d incomplete", inc[x]) : ""
			if (rate == 0)
				printf "%s  %-13s %10.0f %-23s %8.0f %-15s" \
				    " %5.0f %-11s %5.0f%s\n",
				    lead, x, d[x],
				    sprintf("(%.0f-%.0f)", dmin[x], dmax[x]),
				    p99[x], sprintf("(%.0f-%.0f)", pmin[x], pmax[x]),
				    cpu[x], sprintf("(%.0f-%.0f)", cmin[x], cmax[x]),
				    lcpu[x], note
			else
				printf "%s  %-13s %8.0f %8.0f %8.0f %10.0f %7.0f%s\n",
				    lead, x, p50[x], p99[x], p999[x], d[x], cpu[x],
				    note
			lead = sprintf("%10s", "")
		}
		for (i = 1; i <= n; i++) {
			x = sv[i]
			if (x == "chatd" || !("chatd" in d))
				continue
			if (rate == 0)
				printf "%s  %-13s %10s %-23s %8s %-15s %5s\n",
				    lead, "chatd/" x, ratio(d["chatd"], d[x]), "",
				    ratio(p99["chatd"], p99[x]), "",
				    ratio(cpu["chatd"], cpu[x])
			else
				printf "%s  %-13s %8s %8s %8s %10s %7s\n", lead,
				    "chatd/" x, ratio(p50["chatd"], p50[x]),
				    ratio(p99["chatd"], p99[x]),
				    ratio(p999["chatd"], p999[x]),
				    ratio(d["chatd"], d[x]),
				    ratio(cpu["chatd"], cpu[x])
		}
	}' "$tmp/data"
}

{
	echo "# bench/compare.sh $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc)" \
	    "cores, window $WINDOW, medians of $RUNS runs:$started"
	echo "# rate: messages a second asked (0: flat out); dps: deliveries/s;" \
	    "latency in microseconds; medians, _min and _max the spread;" \
	    "incomplete: runs in which something went missing;" \
	    "stalled: subscribers that never read, on top of subs;" \
	    "srv_ns, load_ns: CPU of the server (all its processes and" \
	    "threads) and of chatload while the messages flowed, ns a" \
	    "delivery; busy_pct: how busy the machine was meanwhile"
	printf '# %-5s %5s %4s %6s %4s %10s %10s %10s %9s %9s %9s %9s %9s %s %s %s %s %s %s %s\n' \
	    server subs pubs rate runs dps dps_min dps_max p50_us p99_us \
	    p99_min p99_max p999_us incomplete stalled srv_ns srv_ns_min \
	    srv_ns_max load_ns busy_pct
} >"$tmp/data"

if [ -n "$CMP_SUBS" ]; then
	echo
	echo "flat out: deliveries/s, p99 latency, and CPU a delivery of the" \
	    "server and of chatload, median (min-max)"
	printf '%5s %4s  %-13s %10s %-23s %8s %-15s %5s %-11s %5s\n' S P \
	    server "del/s" "(min-max)" "p99 us" "(min-max)" "srvns" \
	    "(min-max)" "ldns"
	for s in $CMP_SUBS; do
		for p in $CMP_PUBS; do
			m=$((DELIVERIES / (s * p)))
			[ "$m" -ge 100 ] || m=100
			scenario "$s" "$p" "$m" -t 60
			for x in $servers; do
				data_row "$x" "$s" "$p" 0
			done
			table "$s" "$p" 0
		done
	done
	echo "chatd/X: deliveries above 1: chatd faster; p99 above 1: chatd" \
	    "slower; srvns above 1: chatd spends more CPU a delivery"
	echo "srvns: the server's CPU (every process and thread) while the" \
	    "lines flowed, ns a delivery; ldns: chatload's, which shares the" \
	    "cores"
fi

if [ "$CMP_RATE" -gt 0 ]; then
	s=$CMP_RATE_SUBS
	p=$CMP_RATE_PUBS
	m=$((CMP_RATE * CMP_RATE_SECS / p))
	[ "$m" -ge 1 ] || m=1
	echo
	echo "fixed rate: $CMP_RATE messages/s from $p publisher(s) to $s" \
	    "subscribers, ${CMP_RATE_SECS} s a run; latency in us, medians"
	printf '%5s %4s  %-13s %8s %8s %8s %10s %7s\n' S P server p50 p99 \
	    p999 "del/s" "srvns"
	scenario "$s" "$p" "$m" -r "$CMP_RATE" -t $((CMP_RATE_SECS * 3 + 10))
	for x in $servers; do
		data_row "$x" "$s" "$p" "$CMP_RATE"
	done
	table "$s" "$p" "$CMP_RATE"
	echo "chatd/X: latency above 1: chatd slower; srvns (the server's CPU a" \
	    "delivery) above 1: chatd spends more"
fi

if [ "$CMP_STALL" -gt 0 ]; then
	s=$CMP_STALL_SUBS
	m=$((DELIVERIES / s))
	[ "$m" -ge 100 ] || m=100
	echo
	echo "a stalled client: $s subscribers, 1 publisher flat out, without" \
	    "and with $CMP_STALL more that never read (S+$CMP_STALL);" \
	    "deliveries/s and p99 of the $s"
	printf '%5s %4s  %-13s %10s %-23s %8s %-15s %5s %-11s %5s\n' S P \
	    server "del/s" "(min-max)" "p99 us" "(min-max)" "srvns" \
	    "(min-max)" "ldns"
	for z in 0 "$CMP_STALL"; do
		scenario "$s" 1 "$m" -z "$z" -t 60
		for x in $servers; do
			data_row "$x" "$s" 1 0 "$z"
		done
		table "$s" 1 0 "$z"
	done
	echo "incomplete: runs in which some of the $s reading subscribers" \
	    "missed lines"
fi

mkdir -p "$(dirname "$CMP_DATA")"
cp "$tmp/data" "$CMP_DATA.new"
mv -f "$CMP_DATA.new" "$CMP_DATA"
echo
echo "medians written to $CMP_DATA (bench/plot.sh draws them)"
