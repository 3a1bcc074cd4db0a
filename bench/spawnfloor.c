/*
 * spawnfloor.c - what a process per client costs this machine, before any
 * chat: the floor under chatd's connection storm and idle memory.
 *
 * Forks N children, one after the other, as chatd's master does; each
 * (with -T 1, after starting one more thread with a small stack) says it
 * is ready on a pipe, then blocks.  Prints how long until all N
 * were ready (microseconds per child), the CPU time the parent spent per
 * fork and each child until it was ready (/proc/PID/schedstat, the
 * figures bench/memory.sh gives for chatd's master and workers in a
 * storm), what the machine's MemAvailable, KernelStack and PageTables
 * grew by per child, and how long the N took to be killed and reaped.
 * Then kills every child it made, by pid, and reaps it.
 *
 *	bench/spawnfloor [-n children] [-T 0|1]
 *	make spawnfloor                 (1,000 and 10,000 children)
 *
 * -n	children (default 1000, at most 20000)
 * -T	1: a thread in each child too (chatd's workers had one until they
 *	became single-threaded), 0 (default): none
 *
 * Compare with bench/memory.sh (make memory), which connects N clients to
 * a real chatd: the difference is what chatd itself adds.  Bounded: N
 * forks, one read per child, no network.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CHILDREN 20000
#define THREAD_STACK (64 * 1024)

static int ready[2], hold[2];

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* the value of FIELD in /proc/meminfo, in KiB; -1 if not there */
static long
meminfo_kib(const char *field)
{
	char line[256];
	size_t n = strlen(field);
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, n) == 0 && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* The CPU time PID has run, in ns (/proc/PID/schedstat); 0 if unknown. */
static unsigned long long
cpu_ns(pid_t pid)
{
	char path[64];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/schedstat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

static void *
blocked(void *arg)
{
	char c;

	(void)arg;
	while (read(hold[0], &c, 1) == -1 && errno == EINTR)
		;
	return NULL;
}

static void
child(int thread)
{
	pthread_attr_t attr;
	pthread_t t;
	char c = 1;

	if (thread) {
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, THREAD_STACK);
		if (pthread_create(&t, &attr, blocked, NULL) != 0)
			_exit(1);
	}
	if (write(ready[1], &c, 1) != 1)
		_exit(1);
	while (read(hold[0], &c, 1) == -1 && errno == EINTR)
		;
	_exit(0);
}

int
main(int argc, char **argv)
{
	int n = 1000, thread = 0, ch, i, made = 0, got = 0;
	long avail0, kstack0, pt0, avail1, kstack1, pt1;
	unsigned long long cpu0, cpu1, kids = 0;
	double t0, t1, t2;
	pid_t *pids, p;
	char c;

	while ((ch = getopt(argc, argv, "n:T:")) != -1)
		switch (ch) {
		case 'n':
			n = atoi(optarg);
			break;
		case 'T':
			thread = atoi(optarg) != 0;
			break;
		default:
			fprintf(stderr, "usage: spawnfloor [-n children] "
			    "[-T 0|1]\n");
			return 1;
		}
	if (n < 1 || n > MAX_CHILDREN) {
		fprintf(stderr, "spawnfloor: -n from 1 to %d\n", MAX_CHILDREN);
		return 1;
	}
	if ((pids = calloc((size_t)n, sizeof(*pids))) == NULL ||
	    pipe(ready) == -1 || pipe(hold) == -1) {
		perror("spawnfloor");
		return 1;
	}
	avail0 = meminfo_kib("MemAvailable");
	kstack0 = meminfo_kib("KernelStack");
	pt0 = meminfo_kib("PageTables");
	cpu0 = cpu_ns(getpid());
	t0 = now_s();
	for (i = 0; i < n; i++) {
		if ((p = fork()) == -1) {
			perror("spawnfloor: fork");
			break;
		}
		if (p == 0)
			child(thread);
		pids[made++] = p;
	}
	while (got < made) {
		if (read(ready[0], &c, 1) == 1)
			got++;
		else if (errno != EINTR)
			break;
	}
	t1 = now_s();
	cpu1 = cpu_ns(getpid());
	for (i = 0; i < made; i++)
		kids += cpu_ns(pids[i]);
	avail1 = meminfo_kib("MemAvailable");
	kstack1 = meminfo_kib("KernelStack");
	pt1 = meminfo_kib("PageTables");
	printf("spawnfloor: %d processes%s ready in %.2f s: %.0f us each\n",
	    got, thread ? " (with a thread each)" : "", t1 - t0,
	    got > 0 ? (t1 - t0) / got * 1e6 : 0.0);
	if (got > 0 && cpu1 > 0)
		printf("spawnfloor: CPU per process: the parent's fork %.0f us, "
		       "the child until ready %.0f us\n",
		    (double)(cpu1 - cpu0) / 1e3 / got, (double)kids / 1e3 / got);
	if (got > 0)
		printf("spawnfloor: per process: MemAvailable -%.1f KiB, "
		    "KernelStack +%.1f KiB, PageTables +%.1f KiB\n",
		    (double)(avail0 - avail1) / got,
		    (double)(kstack1 - kstack0) / got,
		    (double)(pt1 - pt0) / got);
	for (i = 0; i < made; i++)
		kill(pids[i], SIGKILL);
	for (i = 0; i < made; i++)
		while (waitpid(pids[i], NULL, 0) == -1 && errno == EINTR)
			;
	t2 = now_s();
	printf("spawnfloor: killed and reaped in %.2f s\n", t2 - t1);
	free(pids);
	return got == n ? 0 : 1;
}
