#!/bin/sh
# bench/pairs.sh - two builds or two settings of chatd taking turns on the
# same load: what BENCHMARKS.md calls "alternated by hand".  Each run has
# a daemon of its own, started in the foreground on a free loopback port;
# its ring first carries PAIRS_WRAP lines (10 publishers, 10 subscribers),
# as a server's ring that has wrapped, then chatload sends PAIRS_LINES
# lines from each of PAIRS_P publishers to PAIRS_S subscribers flat out
# (window 64) and counts the CPU the daemon spent a delivery.  A and B
# take turns, the first of each pair changing from pair to pair, so that
# neither always runs right after the other's teardown.  Prints every
# run's figures, then the medians and spread of each side.  Stops what it
# started, by pid, however it ends.
#	make pairs PAIRS_B="-o batch_delay=0"
#	make pairs CHATD_B=../old/chatd PAIRS_S=100 PAIRS_LINES=15000
# Knobs (environment): CHATD_A (./chatd), CHATD_B (CHATD_A), PAIRS_A and
# PAIRS_B (more chatd options of each side, "" by default), PAIRS (3
# pairs), PAIRS_S (1000), PAIRS_P (10), PAIRS_LINES (1500 a publisher:
# 15,000,000 deliveries at S=1000), PAIRS_WRAP (70000; 0: a fresh ring),
# LOAD (the chatload binary).  Runs at S=1000 want an idle machine: the
# machine's speed changes by the hour, so only pairs run together compare.
set -eu
cd "$(dirname "$0")/.."
CHATD_A=${CHATD_A:-./chatd}
CHATD_B=${CHATD_B:-$CHATD_A}
PAIRS_A=${PAIRS_A-}
PAIRS_B=${PAIRS_B-}
PAIRS=${PAIRS:-3}
PAIRS_S=${PAIRS_S:-1000}
PAIRS_P=${PAIRS_P:-10}
PAIRS_LINES=${PAIRS_LINES:-1500}
PAIRS_WRAP=${PAIRS_WRAP:-70000}
LOAD=${LOAD:-build/default/bench/chatload}

for n in "$PAIRS" "$PAIRS_S" "$PAIRS_P" "$PAIRS_LINES" "$PAIRS_WRAP"; do
	case $n in
	'' | *[!0-9]*) echo "pairs: not a number: '$n'" >&2; exit 1 ;;
	esac
done
[ "$PAIRS" -ge 1 ] || { echo "pairs: PAIRS must be 1 or more" >&2; exit 1; }
for f in "$LOAD" "$CHATD_A" "$CHATD_B"; do
	[ -x "$f" ] || { echo "pairs: no $f (run make)" >&2; exit 1; }
done

tmp=
cpid=
lpid=
cname=
. bench/lib.sh

cleanup() {
	trap - EXIT INT TERM
	stop "$lpid"
	stop_chatd
	[ -z "$tmp" ] || rm -rf "$tmp"
}
trap 'cleanup' EXIT
trap 'exit 130' INT TERM
tmp=$(mktemp -d)

# chatload against our chatd, in the background so that a signal stops
# the script at once (the trap stops chatload too); its output in $tmp/out
load() {
	"$LOAD" -x chatd -p "$cport" -w 64 "$@" >"$tmp/out" 2>"$tmp/err" \
		</dev/null &
	lpid=$!
	wait "$lpid" && rc=0 || rc=$?
	lpid=
	return "$rc"
}

# one run of side $1 (A or B), pair $2: appends its RESULT line, with the
# side in front, to $tmp/res (a line of zeros when it failed).  In this
# shell, not a subshell, so that the trap knows the pids it started.
one() {
	if [ "$1" = A ]; then
		CHATD=$CHATD_A opts=$PAIRS_A
	else
		CHATD=$CHATD_B opts=$PAIRS_B
	fi
	cname="pairs-$$-$2$1"
	# shellcheck disable=SC2086 # the options split into words, on purpose
	start_chatd $opts
	if [ "$PAIRS_WRAP" -gt 0 ]; then
		load -S 10 -P 10 -m $(((PAIRS_WRAP + 9) / 10)) -t 60 || :
		settle
	fi
	load -S "$PAIRS_S" -P "$PAIRS_P" -m "$PAIRS_LINES" -C "$cpid" \
		-t 120 && rc=0 || rc=$?
	line=$(grep '^RESULT' "$tmp/out" || :)
	if [ -z "$line" ]; then
		sed "s/^/  $1: /" "$tmp/err" >&2
		line="RESULT deliveries_per_s=0 p50_us=0 p99_us=0 failed=1"
	fi
	[ "$rc" -eq 0 ] || line="$line incomplete=1"
	stop_chatd
	echo "$1 $line" >>"$tmp/res"
	printf '  pair %d, %s: %s deliveries/s, %s ns a delivery, p50 %s us,' \
	    $(($2 + 1)) "$1" "$(echo "$line" | field deliveries_per_s)" \
	    "$(echo "$line" | field server_ns)" \
	    "$(echo "$line" | field p50_us)"
	printf ' p99 %s us, %s missing\n' "$(echo "$line" | field p99_us)" \
	    "$(echo "$line" | field missing)"
}

# the median (min-max) of field $1 of side $2's runs
summary() {
	grep "^$2 " "$tmp/res" | stats "$1" |
		awk '{ printf "%s (%s-%s)", $1, $2, $3 }'
}

echo "pairs: S=$PAIRS_S P=$PAIRS_P, $PAIRS_LINES lines a publisher," \
    "ring wrapped with $PAIRS_WRAP lines first, $PAIRS pairs, $(nproc) cores"
echo "  A: $CHATD_A $PAIRS_A"
echo "  B: $CHATD_B $PAIRS_B"
: >"$tmp/res"
r=0
while [ "$r" -lt "$PAIRS" ]; do
	if [ $((r % 2)) -eq 0 ]; then
		one A "$r"
		one B "$r"
	else
		one B "$r"
		one A "$r"
	fi
	r=$((r + 1))
done
echo "medians (min-max)"
for side in A B; do
	echo "  $side: $(summary deliveries_per_s "$side") deliveries/s," \
	    "$(summary server_ns "$side") ns a delivery," \
	    "p50 $(summary p50_us "$side") us, p99 $(summary p99_us "$side") us"
done
if grep -q 'incomplete=1\|failed=1' "$tmp/res"; then
	echo "incomplete: runs in which chatload failed or lines went missing"
fi
