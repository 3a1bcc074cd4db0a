#!/bin/bash
# bench/wakepages.sh - which pages a worker reads when a line wakes it.
#
# Starts a chatd of its own on a free loopback port, connects two clients,
# A and B (bash's /dev/tcp), and LINES times (5): clears the referenced
# bits of A's worker (/proc/PID/clear_refs), has B send a line, waits
# until A has it, and counts the pages A's worker referenced since, by
# mapping (the Referenced lines of /proc/PID/smaps).  It prints a line a
# mapping, the count of each time, the total, and how many of them every
# worker shares (read-only mappings and the segment).
#
# Why: the pages of chatd, of the C library and of the segment are shared
# by every worker, and past a thousand processes sharing a page this
# machine's hypervisor drops its shadow mappings of it over and over, so
# each such page read at a wake-up costs about 20-45 ns a delivery with
# 1,000 subscribers (BENCHMARKS.md, "Pages a wake-up reads").  A change
# to the delivery path should not add any.
#
# With FLOOR set (to bench/fanfloor), it measures a member process of
# fanfloor -F instead: a process per client and a shared ring, nothing
# else, the least the design reads.
#	make wakepages
#	make wakepages WAKE_FLOOR=1
# Needs to write /proc/PID/clear_refs of the worker: run it as the user
# chatd runs as, or as root (chatd then serves as nobody).  Stops what it
# started, by pid.
set -eu
cd "$(dirname "$0")/.."
CHATD=${CHATD:-./chatd}
FLOOR=${FLOOR:-}
LINES=${LINES:-5}
case $LINES in
'' | *[!0-9]* | 0) echo "wakepages: LINES must be a number, 1 or more" >&2; exit 1 ;;
esac

tmp=$(mktemp -d)
pid=
cleanup() {
	exec 3>&- 4>&- 2>/dev/null || :
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || :
		wait "$pid" 2>/dev/null || :
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

if [ -n "$FLOOR" ]; then
	"$FLOOR" -F -p 0 -c 16 >"$tmp/log" 2>&1 &
	pid=$!
	what="fanfloor -F"
else
	"$CHATD" -f -p 0 -b 127.0.0.1 -n "wakepages$$" -l 0 -a 0 \
	    -o register_timeout=0 -o idle_timeout=0 2>"$tmp/log" &
	pid=$!
	what=chatd
fi
port=
for _ in $(seq 100); do
	port=$(sed -n 's/.*port \([0-9][0-9]*\).*/\1/p' "$tmp/log" | head -1)
	[ -n "$port" ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.05
done
if [ -z "$port" ]; then
	echo "wakepages: $what did not start:" >&2
	cat "$tmp/log" >&2
	exit 1
fi

# Reads from descriptor FD until a line holds TEXT: 200 lines or 5 s.
await() {
	local fd=$1 text=$2 line i
	for ((i = 0; i < 200; i++)); do
		IFS= read -r -t 5 -u "$fd" line || break
		case $line in *"$text"*) return 0 ;; esac
	done
	echo "wakepages: no \"$text\" from $what" >&2
	return 1
}

# The one child of the server that is not in the list $1.
newchild() {
	local c
	for _ in $(seq 100); do
		for c in $(pgrep -P "$pid" || :); do
			case " $1 " in *" $c "*) ;; *) echo "$c"; return 0 ;; esac
		done
		sleep 0.05
	done
	echo "wakepages: no worker for the client" >&2
	return 1
}

before=$(pgrep -P "$pid" | tr '\n' ' ' || :)
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf '/nick alice\r\n/join #wake\r\n' >&3
await 3 "joined #wake"
worker=$(newchild "$before")
exec 4<>"/dev/tcp/127.0.0.1/$port"
printf '/nick bob\r\n/join #wake\r\n' >&4
await 4 "joined #wake"

: >"$tmp/refs"
for i in $(seq "$LINES"); do
	# let the worker go to sleep, as it does between lines
	sleep 0.2
	# From here until the copy of smaps is made, no process may start:
	# one would fault the C library's pages in and mark them referenced
	# for every process that maps them.  So only built-ins: read -t on
	# B's socket, which nothing is sent to, is the wait.
	echo 1 >"/proc/$worker/clear_refs"
	printf 'line %d of a wake-up, as long as a chat line usually is\r\n' \
	    "$i" >&4
	await 3 "line $i of a wake-up"
	IFS= read -r -t 0.05 -u 4 _ || :
	while IFS= read -r l; do
		printf '%s\n' "$l"
	done <"/proc/$worker/smaps" >"$tmp/smaps"
	awk -v run="$i" '
	/^[0-9a-f]+-[0-9a-f]+ / {
		name = NF >= 6 ? $6 : "[anon]"
		if (name ~ /^\/dev\/shm\// || name ~ /^\/dev\/zero/)
			name = "segment"
		else
			sub(/.*\//, "", name)
		name = name " " $2
	}
	/^Referenced:/ { pages[name] += $2 / 4 }
	END { for (n in pages) print run, n, pages[n] }' \
	    "$tmp/smaps" >>"$tmp/refs"
done

echo "# pages a $what worker referenced per line that woke it ($LINES lines)"
awk -v lines="$LINES" '
{
	k = $2 " " $3; c[k, $1] = $4; keys[k] = 1; tot[$1] += $4
	# pages every worker shares: read-only ones, and the segment
	if ($3 !~ /w/ || $3 ~ /s$/)
		shared[$1] += $4
}
END {
	n = 0
	for (k in keys)
		names[++n] = k
	for (i = 1; i <= n; i++)
		for (j = i + 1; j <= n; j++)
			if (names[j] < names[i]) {
				t = names[i]; names[i] = names[j]; names[j] = t
			}
	for (i = 1; i <= n; i++) {
		line = sprintf("%-28s", names[i]); any = 0
		for (r = 1; r <= lines; r++) {
			line = line sprintf(" %3d", c[names[i], r])
			any += c[names[i], r]
		}
		if (any > 0)
			print line
	}
	line = sprintf("%-28s", "total")
	for (r = 1; r <= lines; r++)
		line = line sprintf(" %3d", tot[r])
	print line
	line = sprintf("%-28s", "of them shared")
	for (r = 1; r <= lines; r++)
		line = line sprintf(" %3d", shared[r])
	print line
}' "$tmp/refs"
