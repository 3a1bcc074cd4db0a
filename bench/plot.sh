#!/bin/sh
# bench/plot.sh - draws what bench/compare.sh measured: deliveries/s
# against the number of subscribers (log scale), one line per server and
# publisher count, from the medians in CMP_DATA.  Writes an SVG (PLOT_SVG)
# and prints the same plot as text, to paste into a markdown document
# (indent it, or put it between ``` lines).
#	make plot
# Needs gnuplot (apt-get install gnuplot-nox); without it, says so and
# does nothing.  Knobs (environment): CMP_DATA (bench/results/compare.dat),
# PLOT_SVG (bench/results/deliveries.svg), PLOT_COLS (100) and PLOT_ROWS
# (32): the size of the text plot.
set -eu
cd "$(dirname "$0")/.."
CMP_DATA=${CMP_DATA:-bench/results/compare.dat}
PLOT_SVG=${PLOT_SVG:-bench/results/deliveries.svg}
PLOT_COLS=${PLOT_COLS:-100}
PLOT_ROWS=${PLOT_ROWS:-32}
GNUPLOT=${GNUPLOT:-gnuplot}

if ! command -v "$GNUPLOT" >/dev/null 2>&1; then
	echo "plot: gnuplot not found; install it with:"
	echo "	apt-get install gnuplot-nox"
	echo "plot: skipped"
	exit 0
fi
if [ ! -r "$CMP_DATA" ]; then
	echo "plot: no $CMP_DATA: run bench/compare.sh (make compare) first" >&2
	exit 1
fi
for n in "$PLOT_COLS" "$PLOT_ROWS"; do
	case $n in
	'' | *[!0-9]*) echo "plot: not a number: '$n'" >&2; exit 1 ;;
	esac
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# The gnuplot script: one data block per server and publisher count (the
# flat-out rows, rate 0, sorted by subscribers) so that each line joins its
# own points only; colour by server, point and dash by publisher count.
awk -v svg="$PLOT_SVG" -v cols="$PLOT_COLS" -v rows="$PLOT_ROWS" '
/^#/ {
	if (!head) {
		head = substr($0, 3)
		sub(/ runs:.*/, " runs", head)
		sub(/^bench\/compare.sh /, "", head)
	}
	next
}
NF >= 14 && $4 == 0 && (NF < 15 || $15 == 0) {
	key = $1 " " $3
	if (!(key in n)) {
		keys[++nk] = key
		n[key] = 0
	}
	row[key, ++n[key]] = $2 " " $6 " " $7 " " $8
	if (!($2 in subs)) {
		subs[$2] = 1
		slist[++ns] = $2
		if (smin == "" || $2 + 0 < smin + 0)
			smin = $2
		if (smax == "" || $2 + 0 > smax + 0)
			smax = $2
	}
	if (!($3 in pubs)) {
		pubs[$3] = 1
		plist[++np] = $3
	}
}
END {
	if (nk == 0) {
		print "no flat-out rows" > "/dev/stderr"
		exit 1
	}
	colour["chatd"] = "#1f60c4"
	colour["redis"] = "#c4281f"
	colour["ngircd"] = "#2f9e44"
	colour["floor"] = "#808080"
	for (i = 1; i <= nk; i++) {
		split(keys[i], kp, " ")
		# rows of one series by number of subscribers (a few: sort by
		# insertion)
		m = n[keys[i]]
		for (a = 1; a <= m; a++)
			line[a] = row[keys[i], a]
		for (a = 2; a <= m; a++)
			for (b = a; b > 1; b--) {
				split(line[b], x, " ")
				split(line[b - 1], y, " ")
				if (x[1] + 0 >= y[1] + 0)
					break
				t = line[b]; line[b] = line[b - 1]; line[b - 1] = t
			}
		printf "$d%d << EOD\n", i
		for (a = 1; a <= m; a++)
			print line[a]
		print "EOD"
	}
	tics = ""
	for (i = 1; i <= ns; i++)
		tics = tics (i > 1 ? ", " : "") "\"" slist[i] "\" " slist[i]
	print "set logscale x"
	# a margin on either side, and a range even for one point
	printf "set xrange [%g:%g]\n", smin / 1.6, smax * 1.6
	print "set xtics (" tics ")"
	print "set xlabel \"subscribers\""
	print "set ylabel \"deliveries/s\""
	print "set format y \"%.1s%c\""
	print "set yrange [0:*]"
	print "set offsets 0, 0, graph 0.05, 0"
	print "set grid"
	print "set key outside right top"
	print "set title \"deliveries/s, flat out (" head ")\" noenhanced"
	# the SVG: colour by server, dashes and points by publisher count; the
	# text: a letter of its own for the points of each line (no colour)
	plot = ""
	text = ""
	for (i = 1; i <= nk; i++) {
		split(keys[i], kp, " ")
		for (j = 1; j <= np; j++)
			if (plist[j] == kp[2])
				pj = j
		c = kp[1] in colour ? colour[kp[1]] : "black"
		title = sprintf("%s, %d pub%s", kp[1], kp[2],
		    kp[2] == 1 ? "" : "s")
		plot = plot (i > 1 ? ", \\\n     " : "") \
		    sprintf("$d%d using 1:2 with linespoints lc rgb \"%s\" " \
		    "dt %d pt %d title \"%s\"", i, c, pj, pj + 3, title)
		text = text (i > 1 ? ", \\\n     " : "") \
		    sprintf("$d%d using 1:2 with linespoints pt %d " \
		    "title \"%s\"", i, i, title)
	}
	print "set terminal svg size 900,540 dynamic font \"sans,12\" " \
	    "background \"white\""
	print "set output \"" svg "\""
	print "plot " plot
	print "set output"
	print "set terminal dumb size " cols ", " rows
	print "set output"
	print "set title \"deliveries/s, flat out\""
	print "plot " text
}' "$CMP_DATA" >"$tmp/plot.gp"

mkdir -p "$(dirname "$PLOT_SVG")"
# the text plot: no form feed, no trailing blanks, so that it pastes
"$GNUPLOT" "$tmp/plot.gp" | tr -d '\f' | sed 's/[[:space:]]*$//'
echo "plot: $PLOT_SVG"
