/*
 * switchcost.c - what waking one process after another costs this machine
 * as the number of processes grows: the floor under chatd's deliveries
 * with a thousand subscribers.
 *
 * Forks N children joined in a ring of pipes.  A token goes round the ring
 * LAPS times; each child, when the token reaches it, reads one byte of
 * each of K pages of a shared mapping (as a worker reads ring slots and
 * its row), then passes the token on.  Every hop is one wake-up and one
 * switch to another address space, and nothing else runs, so the time per
 * hop is what a wake-up costs when N processes take turns.  Prints one
 * line per N: microseconds per hop with K = 0 and with K pages.  Then
 * kills every child it made, by pid, and reaps it.
 *
 *	bench/switchcost [-n "10 100 1000"] [-k pages] [-h hops] [-t tables]
 *	    [-g group [-s]]
 *	make switchcost
 *	make switchcost SWITCH_FLAGS="-g 500"
 *
 * -n	the numbers of processes to try (default "10 100 300 1000", each at
 *	most 5000)
 * -k	pages each child reads on its turn (default 32)
 * -h	hops to time for each N (default 20000; at least one lap)
 * -g	before every GROUP-th fork, the parent makes itself new copies of
 *	its pages (pagecopy_all(), as chatd's master does every
 *	workers_per_copy workers), so no page of code or data is shared by
 *	more than GROUP children
 * -s	with -g: each group of children also reads a shared mapping of its
 *	own, as if chatd's segment were copied per group too
 * -t	each child also keeps TABLES more page-table pages (it writes one
 *	page every 2 MiB of a private mapping): whether the cost past 1,000
 *	processes is one of shadow pages or of address spaces
 *
 * On a machine whose page tables are shadowed by a hypervisor the cost
 * per hop grows with N once the processes outnumber the address spaces it
 * keeps: chatd at S=1000 pays that on every wake-up, Redis (one process)
 * never does.  Bounded: N forks, HOPS hops, no network.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/pagecopy.h"

#define MAX_PROCS 5000

static int group;    /* -g: new copies every GROUP forks, 0: none */
static int split;    /* -s: a shared mapping per group */
static int mem_fd = -1; /* /proc/self/mem, for -g */
static int tables;	/* -t: page-table pages each child adds */

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14 */
#endif

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Passes the token from IN to OUT, reading K pages of MAP each turn. */
static void
child(int in, int out, const volatile char *map, int k)
{
	unsigned sum = 0;
	char c;
	int j;

	/* mapped now, as chatd's workers map their segment at start */
	madvise((void *)(uintptr_t)map, (size_t)(k > 0 ? k : 1) * 4096,
	    MADV_POPULATE_READ);
	if (tables > 0) {
		/* a page every 2 MiB: one page-table page each, kept */
		size_t span = (size_t)tables << 21;
		char *t = mmap(NULL, span, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		if (t == MAP_FAILED)
			_exit(1);
		madvise(t, span, MADV_NOHUGEPAGE);
		for (j = 0; j < tables; j++)
			t[(size_t)j << 21] = 1;
	}
	for (;;) {
		if (read(in, &c, 1) != 1)
			_exit(0);
		for (j = 0; j < k; j++)
			sum += (unsigned)map[(size_t)j * 4096];
		c = (char)(c + (char)(sum & 1));
		if (write(out, &c, 1) != 1)
			_exit(0);
	}
}

/* Microseconds per hop for N processes reading K pages; -1 on failure. */
static double
ring(int n, int k, long hops)
{
	size_t size = (size_t)(k > 0 ? k : 1) * 4096;
	long laps = hops / n > 0 ? hops / n : 1, l;
	int (*p)[2], i, made = 0, nmaps = 0;
	double t0 = 0, t = -1;
	volatile char *map, *maps[MAX_PROCS];
	unsigned long skipped;
	pid_t *pids;
	char c = 0;

	map = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	p = calloc((size_t)n + 1, sizeof(*p));
	pids = calloc((size_t)n, sizeof(*pids));
	if (map == MAP_FAILED || p == NULL || pids == NULL) {
		perror("switchcost");
		exit(1);
	}
	memset((void *)(uintptr_t)map, 1, size);
	maps[nmaps++] = map;
	for (i = 0; i <= n; i++)
		if (pipe(p[i]) == -1) {
			perror("switchcost: pipe");
			goto out;
		}
	for (i = 0; i < n; i++) {
		if (group > 0 && i > 0 && i % group == 0) {
			if (pagecopy_all(mem_fd, &skipped) == -1) {
				perror("switchcost: copies");
				goto out;
			}
			if (split) {
				map = mmap(NULL, size, PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
				if (map == MAP_FAILED) {
					perror("switchcost: mmap");
					goto out;
				}
				memset((void *)(uintptr_t)map, 1, size);
				maps[nmaps++] = map;
			}
		}
		if ((pids[i] = fork()) == -1) {
			perror("switchcost: fork");
			goto out;
		}
		if (pids[i] == 0)
			child(p[i][0], p[i + 1][1], map, k);
		made++;
	}
	/* one lap untimed: every child has run and mapped once */
	for (l = -1; l < laps; l++) {
		if (l == 0)
			t0 = now_us();
		if (write(p[0][1], &c, 1) != 1 || read(p[n][0], &c, 1) != 1) {
			perror("switchcost: the token was lost");
			goto out;
		}
	}
	t = (now_us() - t0) / ((double)laps * n);
out:
	for (i = 0; i < made; i++)
		kill(pids[i], SIGKILL);
	for (i = 0; i < made; i++)
		while (waitpid(pids[i], NULL, 0) == -1 && errno == EINTR)
			;
	for (i = 0; i <= n; i++) {
		close(p[i][0]);
		close(p[i][1]);
	}
	free(p);
	free(pids);
	while (nmaps > 0)
		munmap((void *)(uintptr_t)maps[--nmaps], size);
	return t;
}

int
main(int argc, char **argv)
{
	const char *ns = "10 100 300 1000";
	char *list, *tok, *save;
	long hops = 20000;
	int k = 32, ch, n;
	double a, b;

	while ((ch = getopt(argc, argv, "n:k:h:g:st:")) != -1)
		switch (ch) {
		case 'n':
			ns = optarg;
			break;
		case 'k':
			k = atoi(optarg);
			break;
		case 'h':
			hops = atol(optarg);
			break;
		case 'g':
			group = atoi(optarg);
			break;
		case 's':
			split = 1;
			break;
		case 't':
			tables = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: switchcost [-n \"N ...\"] "
			    "[-k pages] [-h hops] [-t tables] "
			    "[-g group [-s]]\n");
			return 1;
		}
	if (k < 0 || k > 4096 || hops < 1 || hops > 10000000 || tables < 0 ||
	    tables > 512) {
		fprintf(stderr, "switchcost: -k 0 to 4096, -h 1 to 10000000, "
		    "-t 0 to 512\n");
		return 1;
	}
	if (group < 0 || (split && group == 0)) {
		fprintf(stderr, "switchcost: -g 1 or more; -s needs -g\n");
		return 1;
	}
	if (group > 0 &&
	    (mem_fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC)) == -1) {
		perror("switchcost: /proc/self/mem");
		return 1;
	}
	if ((list = strdup(ns)) == NULL)
		return 1;
	if (group > 0)
		printf("new copies every %d forks%s\n", group,
		    split ? ", a shared mapping per group" : "");
	printf("processes   us per hop, 0 pages   us per hop, %d pages\n", k);
	for (tok = strtok_r(list, " ,", &save); tok != NULL;
	     tok = strtok_r(NULL, " ,", &save)) {
		n = atoi(tok);
		if (n < 2 || n > MAX_PROCS) {
			fprintf(stderr, "switchcost: N from 2 to %d\n",
			    MAX_PROCS);
			return 1;
		}
		if ((a = ring(n, 0, hops)) < 0 || (b = ring(n, k, hops)) < 0)
			return 1;
		printf("%9d   %18.1f   %18.1f\n", n, a, b);
		fflush(stdout);
	}
	free(list);
	return 0;
}
