/*
 * ownpages.c - the pages each of some processes alone maps, by mapping.
 *
 * A forked worker costs, in memory, the pages that are its own: those it
 * wrote after fork() and those the master wrote after forking it (the
 * worker keeps the old copy).  Such a page is mapped by one process only;
 * /proc/PID/pagemap says so of every present page (bit 56, "exclusively
 * mapped", Linux 4.2 or later).  For each PID given, this reads its
 * writable private mappings, counts those pages in each, and prints, for
 * every mapping, the median count over the PIDs with its minimum and
 * maximum, then the total.  A mapping is named by its file; an anonymous
 * one right after a file's writable private data is that file's bss
 * ("libc.so.6 bss"); the rest are [heap], [stack] or "anonymous" (the
 * main thread's storage among them).
 *
 *	bench/ownpages PID...
 *	make workerpages          (bench/workerpages.sh: a chatd's workers)
 *
 * Reading another user's pagemap needs root (or the same user).  At most
 * MAX_PIDS processes and MAX_LABELS names; it only reads /proc.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PIDS 20000
#define MAX_LABELS 64
#define LABEL_MAX 48

static char labels[MAX_LABELS][LABEL_MAX];
static int nlabels;
static unsigned short (*counts)[MAX_LABELS]; /* [pid][label] */

static int
label_of(const char *name)
{
	int i;

	for (i = 0; i < nlabels; i++)
		if (strcmp(labels[i], name) == 0)
			return i;
	if (nlabels == MAX_LABELS)
		return MAX_LABELS - 1; /* the last one takes the rest */
	snprintf(labels[nlabels], LABEL_MAX, "%s", name);
	return nlabels++;
}

/* The pages of [LO, HI) that PM (PID's pagemap) says are PID's alone. */
static long
own_pages(int pm, unsigned long lo, unsigned long hi)
{
	uint64_t e[512];
	unsigned long a;
	long n = 0;
	size_t i, k;
	ssize_t r;

	for (a = lo; a < hi; a += k * 4096UL) {
		k = (hi - a) / 4096UL;
		if (k > 512)
			k = 512;
		r = pread(pm, e, k * sizeof(e[0]), (off_t)(a / 4096UL * 8));
		if (r <= 0)
			return n;
		k = (size_t)r / sizeof(e[0]);
		for (i = 0; i < k; i++)
			if ((e[i] >> 63) & 1 && (e[i] >> 56) & 1)
				n++;
	}
	return n;
}

/* Counts process P's (the Pth given, PID) own pages into counts[P]. */
static int
read_pid(int p, long pid)
{
	char path[64], line[512], name[256], prev[256] = "", perms[8];
	char label[LABEL_MAX];
	unsigned long lo, hi, prev_hi = 0;
	const char *base;
	FILE *maps;
	int pm, fields, prev_private_w = 0;

	snprintf(path, sizeof(path), "/proc/%ld/maps", pid);
	if ((maps = fopen(path, "r")) == NULL)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/pagemap", pid);
	if ((pm = open(path, O_RDONLY)) == -1) {
		fclose(maps);
		return -1;
	}
	while (fgets(line, sizeof(line), maps) != NULL) {
		name[0] = '\0';
		fields = sscanf(line, "%lx-%lx %7s %*s %*s %*s %255s", &lo, &hi,
		    perms, name);
		if (fields < 3)
			continue;
		if (name[0] == '\0') {
			/* a file's bss follows its writable private data */
			if (prev[0] != '\0' && prev[0] != '[' && lo == prev_hi &&
			    prev_private_w)
				snprintf(label, sizeof(label), "%.40s bss",
				    prev);
			else
				snprintf(label, sizeof(label), "anonymous");
		} else {
			base = strrchr(name, '/');
			snprintf(label, sizeof(label), "%s",
			    base != NULL ? base + 1 : name);
		}
		/* what the next mapping may be the bss of: this file, or none */
		snprintf(prev, sizeof(prev), "%s", name[0] != '\0' ? label : "");
		prev_hi = hi;
		prev_private_w = perms[1] == 'w' && perms[3] == 'p';
		if (perms[1] != 'w' || perms[3] != 'p')
			continue; /* only what a process can write alone */
		counts[p][label_of(label)] += (unsigned short)own_pages(pm, lo,
		    hi);
	}
	close(pm);
	fclose(maps);
	return 0;
}

static int
cmp_ushort(const void *a, const void *b)
{
	unsigned short x = *(const unsigned short *)a;
	unsigned short y = *(const unsigned short *)b;

	return (x > y) - (x < y);
}

/* The median, minimum and maximum of V[0..N). */
static void
spread(unsigned short *v, int n, unsigned *med, unsigned *min, unsigned *max)
{
	qsort(v, (size_t)n, sizeof(v[0]), cmp_ushort);
	*med = v[n / 2];
	*min = v[0];
	*max = v[n - 1];
}

int
main(int argc, char **argv)
{
	static unsigned short col[MAX_PIDS];
	unsigned med, min, max;
	int i, l, n = 0, missing = 0;
	long pid;

	if (argc < 2 || argc - 1 > MAX_PIDS) {
		fprintf(stderr, "usage: ownpages PID... (at most %d)\n",
		    MAX_PIDS);
		return 2;
	}
	if ((counts = calloc((size_t)(argc - 1), sizeof(*counts))) == NULL) {
		perror("ownpages");
		return 1;
	}
	for (i = 1; i < argc; i++) {
		pid = strtol(argv[i], NULL, 10);
		if (pid <= 0 || read_pid(n, pid) == -1) {
			if (errno == EACCES || errno == EPERM) {
				fprintf(stderr, "ownpages: cannot read "
						"process %ld: run as root\n",
				    pid);
				return 1;
			}
			missing++; /* gone meanwhile */
			continue;
		}
		n++;
	}
	if (n == 0) {
		fprintf(stderr, "ownpages: no process could be read\n");
		return 1;
	}
	printf("pages each of %d processes alone maps, by mapping "
	       "(median, min-max)%s\n",
	    n, missing > 0 ? "; some had gone" : "");
	for (l = 0; l < nlabels; l++) {
		for (i = 0; i < n; i++)
			col[i] = counts[i][l];
		spread(col, n, &med, &min, &max);
		if (max > 0)
			printf("  %-32s %4u  (%u-%u)\n", labels[l], med, min,
			    max);
	}
	for (i = 0; i < n; i++) {
		unsigned t = 0;

		for (l = 0; l < nlabels; l++)
			t += counts[i][l];
		col[i] = (unsigned short)t;
	}
	spread(col, n, &med, &min, &max);
	printf("  %-32s %4u  (%u-%u) pages, %u KiB\n", "total", med, min, max,
	    med * 4);
	free(counts);
	return 0;
}
