#!/bin/bash
# bench/workerpages.sh - the pages an idle worker keeps as its own.
#
# Starts a chatd of its own on a free loopback port, connects N idle
# clients (bench/idlemem), first one at a time (each greeted before the
# next connects: every accept burst is one connection) and then, against
# a new chatd, in bursts of up to 64 (a storm), and after each prints, by
# mapping, how many pages each worker alone maps (bench/ownpages: the
# median over the workers, with the spread), and once more in bursts into
# a room where HISTORY lines (10) were said first, which every JOIN
# replays.  Those pages are what a
# worker costs beyond its share of what all of them map: the pages it
# wrote after fork(), and those the master wrote after forking it, whose
# old copy the worker keeps (BENCHMARKS.md, "What a worker writes").
#
#	make workerpages                  100 clients each way
#	make workerpages WORKERPAGES_N=500
#
# Needs to read the workers' /proc/PID/pagemap: run it as root (chatd then
# serves as nobody) or as the user chatd runs as.  Loopback only; stops
# what it started, by pid.
set -eu
cd "$(dirname "$0")/.."
CHATD=${CHATD:-./chatd}
IDLEMEM=${IDLEMEM:?the idlemem binary (make workerpages builds it)}
OWNPAGES=${OWNPAGES:?the ownpages binary (make workerpages builds it)}
N=${N:-100}
HISTORY=${HISTORY:-10}
case $N in
'' | *[!0-9]* | 0) echo "workerpages: N must be a number, 1 or more" >&2; exit 1 ;;
esac
[ "$N" -le 5000 ] || { echo "workerpages: N is at most 5000" >&2; exit 1; }
case $HISTORY in
'' | *[!0-9]*) echo "workerpages: HISTORY must be a number" >&2; exit 1 ;;
esac

tmp=$(mktemp -d)
cname="workerpages$$"
cpid=
ipid=
. bench/lib.sh
stop_all() {
	exec 3>&- 2>/dev/null || :
	if [ -n "$ipid" ]; then
		kill "$ipid" 2>/dev/null || :
		wait "$ipid" 2>/dev/null || :
		ipid=
	fi
	stop_chatd
}
cleanup() {
	stop_all
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

ulimit -n $((N + 200)) 2>/dev/null || :

# HISTORY lines said in #lobby by a client that then leaves: what the
# next clients' JOIN replays (the backlog, 10 lines by default)
history() {
	local i
	exec 4<>"/dev/tcp/127.0.0.1/$cport"
	{
		echo historian
		for i in $(seq "$HISTORY"); do
			echo "line $i of the room's history"
		done
		echo /quit
	} >&4
	timeout 10 cat <&4 >/dev/null || :
	exec 4>&-
}

# one pass: a chatd, N clients with idlemem's window $1, the pages; with
# a third argument, into a room with HISTORY lines said before
measure() {
	local window=$1 what=$2 logpid workers i
	start_chatd -o idle_timeout=0
	[ -z "${3:-}" ] || history
	rm -f "$tmp/fifo" && mkfifo "$tmp/fifo"
	"$IDLEMEM" -c "$N" -p "$cport" -j "$window" -t 300 -w 600 \
	    <"$tmp/fifo" >"$tmp/idle.out" 2>"$tmp/idle.err" &
	ipid=$!
	exec 3>"$tmp/fifo"
	for i in $(seq 3000); do
		grep -q '^ready ' "$tmp/idle.out" && break
		kill -0 "$ipid" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q '^ready ' "$tmp/idle.out"; then
		echo "workerpages: the clients did not all get in:" >&2
		cat "$tmp/idle.err" >&2
		return 1
	fi
	# the master's children but its log process (master/logproc.c)
	logpid=$(pgrep -P "$cpid" -x chatd-log || :)
	workers=$(tr ' ' '\n' <"/proc/$cpid/task/$cpid/children" |
	    sed "/^\$/d; /^${logpid:-x}\$/d")
	echo "=== $N clients $what ($(sed -n 's/^ready //p' "$tmp/idle.out"))"
	# shellcheck disable=SC2086
	"$OWNPAGES" $workers
	stop_all
}

measure 1 "one at a time"
measure 64 "in bursts of up to 64"
measure 64 "in bursts, into a room with $HISTORY lines of history" history
