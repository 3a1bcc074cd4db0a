#!/bin/sh
# bench/compare.sh - the same publish/subscribe load against chatd and
# against redis-server, side by side, on loopback.  Starts a chatd and a
# redis-server of its own (no persistence, bench/redis.conf), runs every
# scenario (S subscribers, P publishers, flat out with a window) RUNS times
# against each, alternating, and prints the medians of deliveries/s and of
# the p99 latency with the chatd/redis ratio; stops what it started.
#	make compare
# Installs nothing: without redis-server it says how to get it and skips.
# Knobs (environment): CMP_SUBS ("10 100"; 1000 wants an idle machine),
# CMP_PUBS ("1 10"), RUNS (3), DELIVERIES (deliveries a run aims at,
# 1000000), WINDOW (64).
set -eu
cd "$(dirname "$0")/.."
CHATD=${CHATD:-./chatd}
LOAD=${LOAD:-build/default/bench/chatload}
REDIS=${REDIS:-redis-server}
CMP_SUBS=${CMP_SUBS:-10 100}
CMP_PUBS=${CMP_PUBS:-1 10}
RUNS=${RUNS:-3}
DELIVERIES=${DELIVERIES:-1000000}
WINDOW=${WINDOW:-64}

if ! command -v "$REDIS" >/dev/null 2>&1; then
	echo "compare: redis-server not found; install it with:"
	echo "	apt-get install redis-server"
	echo "compare: skipped"
	exit 0
fi
[ -x "$CHATD" ] || { echo "compare: no $CHATD (run make)" >&2; exit 1; }
[ -x "$LOAD" ] || { echo "compare: no $LOAD (run make compare)" >&2; exit 1; }

tmp=$(mktemp -d)
cpid=
rpid=
cleanup() {
	[ -n "$cpid" ] && kill "$cpid" 2>/dev/null && wait "$cpid" 2>/dev/null
	[ -n "$rpid" ] && kill "$rpid" 2>/dev/null && wait "$rpid" 2>/dev/null
	rm -rf "$tmp"
}
trap 'cleanup' EXIT
trap 'exit 130' INT TERM

# chatd: no flood control, no per-address limit, room for the clients
"$CHATD" -f -p 0 -b 127.0.0.1 -n "cmp-$$" -l 0 -a 0 \
	-o register_timeout=0 -m 11000 2>"$tmp/chatd.log" &
cpid=$!
i=0
while ! grep -q ' started version=' "$tmp/chatd.log"; do
	i=$((i + 1))
	[ "$i" -le 100 ] || { echo "chatd did not start" >&2
		cat "$tmp/chatd.log" >&2; exit 1; }
	sleep 0.05
done
cport=$(sed -n 's/.*listening on 127.0.0.1 port \([0-9]*\).*/\1/p' \
	"$tmp/chatd.log" | head -n 1)

# redis: a port of our own, tried until one is free (bounded)
base=$((20000 + $$ % 20000))
try=0
rport=
while [ "$try" -lt 10 ] && [ -z "$rport" ]; do
	p=$((base + try * 7))
	try=$((try + 1))
	"$REDIS" bench/redis.conf --port "$p" --save "" --appendonly no \
		>"$tmp/redis.log" 2>&1 &
	rpid=$!
	i=0
	while [ "$i" -le 100 ]; do
		if grep -q 'Ready to accept connections' "$tmp/redis.log"; then
			rport=$p
			break
		fi
		kill -0 "$rpid" 2>/dev/null || break
		i=$((i + 1))
		sleep 0.05
	done
	if [ -z "$rport" ]; then
		kill "$rpid" 2>/dev/null || :
		wait "$rpid" 2>/dev/null || :
		rpid=
	fi
done
[ -n "$rport" ] || { echo "redis-server did not start" >&2
	cat "$tmp/redis.log" >&2; exit 1; }

echo "chatd $($CHATD -V | cut -d' ' -f2) on 127.0.0.1 port $cport," \
	"$($REDIS --version | sed 's/.* v=\([^ ]*\).*/\1/') on port $rport;" \
	"$(nproc) cores, window $WINDOW, $RUNS runs each, medians"

# one run: prints its RESULT line, or a line of zeros when it failed
run() {
	out=$("$LOAD" -x "$1" -p "$2" -S "$3" -P "$4" -m "$5" -w "$WINDOW" \
		-t 60 2>"$tmp/err") && rc=0 || rc=$?
	line=$(printf '%s\n' "$out" | grep '^RESULT' || :)
	if [ -z "$line" ]; then
		sed 's/^/  /' "$tmp/err" >&2
		line="RESULT deliveries_per_s=0 p99_us=0 failed=1"
	fi
	[ "$rc" -eq 0 ] || line="$line incomplete=1"
	printf '%s\n' "$line"
}

# the median of the field NAME=value of the lines on stdin
median() {
	sed -n "s/.* $1=\([0-9.]*\).*/\1/p" | sort -n |
		awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print 0 }'
}

printf '%5s %3s | %12s %12s %6s | %10s %10s %6s\n' S P "chatd del/s" \
	"redis del/s" ratio "chatd p99" "redis p99" ratio
printf '%5s %3s | %12s %12s %6s | %10s %10s %6s\n' "" "" "" "" "" \
	"us" "us" ""
for s in $CMP_SUBS; do
	for p in $CMP_PUBS; do
		m=$((DELIVERIES / (s * p)))
		[ "$m" -ge 100 ] || m=100
		: >"$tmp/chatd.res"
		: >"$tmp/redis.res"
		r=0
		while [ "$r" -lt "$RUNS" ]; do
			run chatd "$cport" "$s" "$p" "$m" >>"$tmp/chatd.res"
			run redis "$rport" "$s" "$p" "$m" >>"$tmp/redis.res"
			r=$((r + 1))
		done
		cd_=$(median deliveries_per_s <"$tmp/chatd.res")
		rd_=$(median deliveries_per_s <"$tmp/redis.res")
		cp_=$(median p99_us <"$tmp/chatd.res")
		rp_=$(median p99_us <"$tmp/redis.res")
		note=
		for x in chatd redis; do
			! grep -q 'incomplete=1' "$tmp/$x.res" ||
				note="$note $x:incomplete"
		done
		awk -v s="$s" -v p="$p" -v cd="$cd_" -v rd="$rd_" -v cp="$cp_" \
		    -v rp="$rp_" -v note="$note" '
		function ratio(a, b) {
			return a > 0 && b > 0 ? sprintf("%.2f", a / b) : "-"
		}
		BEGIN {
			printf "%5d %3d | %12.0f %12.0f %6s | %10.0f %10.0f %6s%s\n",
			    s, p, cd, rd, ratio(cd, rd), cp, rp, ratio(cp, rp),
			    note
		}'
	done
done
echo "ratio: chatd/redis; deliveries above 1: chatd faster;" \
	"p99 above 1: chatd slower"
