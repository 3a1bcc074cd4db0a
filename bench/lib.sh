# bench/lib.sh - what the benchmark scripts that start a chatd of their
# own share (sourced by bench/compare.sh, bench/pairs.sh and
# bench/workerpages.sh): starting it on a free loopback port, waiting
# until a run's workers are gone, and stopping it, its workers and its
# segment, by pid.  The caller sets
# CHATD (the binary), cname (an instance name of its own) and tmp (a
# directory of its own); start_chatd sets cpid and cport.
# shellcheck shell=sh disable=SC2154,SC2034 # cname, tmp: the caller's; cport: for the caller

# whether process $1 is still there (a zombie is not: it is gone but for
# its parent's wait)
alive() {
	[ -r "/proc/$1/stat" ] || return 1
	case $(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) in
	'' | Z) return 1 ;;
	esac
	return 0
}

# stops process $1: SIGTERM, up to 10 s to go (a chatd gives its workers
# 3 s), then SIGKILL
stop() {
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null || :
	i=0
	while alive "$1" && [ "$i" -lt 100 ]; do
		i=$((i + 1))
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null || :
	wait "$1" 2>/dev/null || :
}

# the processes of our chatd (the master and its workers, whoever their
# parent now): those whose command line has our instance name
# (an argument that is exactly it: grep -z reads the arguments as lines),
# but for the master's log process (chatd-log), which lives as long as it
workers() {
	for f in $(grep -lsazx -- "$cname" /proc/[0-9]*/cmdline || :); do
		k=${f#/proc/}
		k=${k%/cmdline}
		[ "$(cat "/proc/$k/comm" 2>/dev/null)" != chatd-log ] || continue
		! alive "$k" || echo "$k"
	done
}

# starts $CHATD in the foreground on a free loopback port, with no flood
# control, no per-address limit and room for the clients, and more
# options if given; waits (5 s at most) until it listens
start_chatd() {
	: >"$tmp/chatd.log"	# there before the daemon opens it: grep it now
	"$CHATD" -f -p 0 -b 127.0.0.1 -n "$cname" -l 0 -a 0 \
		-o register_timeout=0 -m 11000 "$@" 2>"$tmp/chatd.log" &
	cpid=$!
	i=0
	while ! grep -q ' started version=' "$tmp/chatd.log"; do
		i=$((i + 1))
		if [ "$i" -gt 100 ] || ! alive "$cpid"; then
			echo "chatd did not start" >&2
			cat "$tmp/chatd.log" >&2
			exit 1
		fi
		sleep 0.05
	done
	cport=$(sed -n 's/.*listening on 127.0.0.1 port \([0-9]*\).*/\1/p' \
		"$tmp/chatd.log" | head -n 1)
}

# stops our chatd, if one runs; workers outlive a master that died (by
# design): any left, found by their instance name, get 3 s, then SIGKILL
stop_chatd() {
	[ -n "$cpid" ] || return 0
	stop "$cpid"
	i=0
	while [ -n "$(workers)" ] && [ "$i" -lt 30 ]; do
		i=$((i + 1))
		sleep 0.1
	done
	for k in $(workers); do
		kill -KILL "$k" 2>/dev/null || :
	done
	# a master that had to be killed leaves its segment behind
	rm -f "/dev/shm/chatd-$cname"
	cpid=
}

# waits until the workers of the run just ended are gone (up to 60 s), so
# that the next run does not share the two cores with the kernel ending a
# thousand processes: each run measures its own scenario, and what
# departures cost is measured by make memory
settle() {
	i=0
	while [ "$(workers | wc -l)" -gt 1 ] && [ "$i" -lt 600 ]; do
		i=$((i + 1))
		sleep 0.1
	done
}

# the values of the field NAME=value of chatload's RESULT lines on stdin,
# one a line
field() {
	sed -n "s/.* $1=\([0-9.]*\).*/\1/p"
}

# the median, the minimum and the maximum of the field NAME=value of the
# lines on stdin
stats() {
	field "$1" | sort -n |
		awk '{ v[NR] = $1 }
		END {
			if (NR) print v[int((NR + 1) / 2)], v[1], v[NR]
			else print 0, 0, 0
		}'
}
