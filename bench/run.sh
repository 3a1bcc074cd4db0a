#!/bin/sh
# bench/run.sh - start a chatd of our own on loopback, measure how fast
# three clients exchange lines through it (and the CPU chatd spends a
# delivery), with and without a fourth that reads nothing, stop it.
# Repeat with:
#	make bench
# Figures vary with the machine and its load: run it three times and keep
# the median.
set -eu
cd "$(dirname "$0")/.."
CHATD=${CHATD:-./chatd}
LOAD=${LOAD:-build/bench/chatload}
LINES=${LINES:-100000}
log=$(mktemp)
name="bench-$$"

# -l 0: no flood control, the load generator sends flat out on purpose
"$CHATD" -f -p 0 -b 127.0.0.1 -n "$name" -l 0 2>"$log" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -f "$log"' EXIT INT TERM

# wait (bounded) for the daemon to say where it listens
i=0
while ! grep -q ' started version=' "$log"; do
	i=$((i + 1))
	[ "$i" -le 100 ] || { echo "chatd did not start" >&2; cat "$log" >&2; exit 1; }
	sleep 0.05
done
port=$(sed -n 's/.*listening on 127.0.0.1 port \([0-9]*\).*/\1/p' "$log" | head -n 1)

echo "chatd $($CHATD -V | cut -d' ' -f2) on 127.0.0.1 port $port, $(nproc) cores"
for w in 1 64 256; do
	echo "--- window $w"
	"$LOAD" -p "$port" -C "$pid" -c 3 -m "$LINES" -w "$w" -t 60
done

# what a client that stops reading costs the others: the same runs with
# one stalled client in the room (compare with the runs above)
for w in 1 64; do
	echo "--- window $w, one stalled client"
	# the server may drop lines for the others too: say so, go on
	"$LOAD" -p "$port" -C "$pid" -c 3 -m "$LINES" -w "$w" -z 1 -t 60 ||
		echo "(not every line arrived: exit status $?)"
done
