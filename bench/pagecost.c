/*
 * pagecost.c - what reading a ring in shared memory costs N reader
 * processes, by what happened to its pages before: the effect behind
 * shm_pretouch().
 *
 * A writer (this process) publishes 48-byte lines into a ring of 4,096
 * slots of 680 bytes, six a page, as chatd's publishers do, in batches,
 * and after each batch posts the semaphore of every reader asleep.  Each
 * of N readers, forked first, maps the ring (MADV_POPULATE_READ, as a
 * worker does), copies every new slot, and sleeps again.  Three cases:
 *
 *   fresh      a new ring: the readers map pages nobody has written yet
 *   written    a ring written all over before the readers start, as
 *              chatd's is once it has wrapped
 *   read ahead as written, and each reader first reads a byte of every
 *              page (shm_pretouch())
 *   read-only  as read ahead, each reader having made the ring read-only
 *              in its mapping first (shm_slots_read_only())
 *
 * Prints, per N and case, the readers' time copying (ns a read: the
 * first access to each page is paid there), the writer's ns a line, and
 * reads a second.  On bare metal or with EPT the three cases cost about
 * the same.  On a guest with shadow page tables a first access after
 * another process wrote the page costs several times one before it, so
 * "written" is dear and "read ahead" cheap; and past about 1,000
 * processes KVM drops every mapping of a page each time one more process
 * maps it, so every case is dear (see bench/switchcost.c).
 *
 *	bench/pagecost [-n "100 500 1100"] [-m lines] [-b batch]
 *	make pagecost
 *
 * -n	the numbers of readers (default "100 500 1100", each 1 to 5000)
 * -m	lines a run publishes (default 3000: less than a lap; the ring
 *	holds 4,096, so -m 12000 is three laps, as a long run of chatd)
 * -b	lines a batch, between wake-ups (default 100)
 *
 * Bounded: N forks and M lines a case, no network; every reader is
 * killed by pid and reaped at the end of its case; a case stuck for
 * 120 s kills its readers and ends the program.
 */
#include <errno.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14 */
#endif

#define MAX_READERS 5000
#define SLOTS 4096
#define SLOT_SIZE 680
#define PER_PAGE 6 /* slots a 4 KiB page */
#define LINE 48

enum { FRESH, WRITTEN, READ_AHEAD, READ_ONLY };
static const char *const case_name[] = {"fresh", "written", "read ahead",
    "read-only"};

struct reader {
	sem_t wake;
	_Atomic int asleep;
	char pad[64];
};

struct head {
	_Atomic uint64_t next;	    /* the next line to be published */
	_Atomic uint64_t copy_ns;   /* all readers' time copying */
	_Atomic uint32_t ready;	    /* readers mapped and waiting */
	_Atomic uint32_t done;	    /* readers that read every line */
};

static struct head *hd;
static pid_t *pids;	/* this case's readers */
static volatile sig_atomic_t made; /* how many of them */
static struct reader *rd;
static unsigned char *ring;
static size_t ring_size, map_size;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static unsigned char *
slot(uint64_t seq)
{
	uint64_t i = seq % SLOTS;

	return ring + i / PER_PAGE * 4096 + i % PER_PAGE * SLOT_SIZE;
}

/* Reads every line from the next one on until LINES are read, and exits. */
static void
reader(int me, long lines, int ahead, int ro)
{
	unsigned char buf[SLOT_SIZE];
	uint64_t cur, end, t, top;
	unsigned sum = 0;
	size_t o;

	if (ro && mprotect(ring, ring_size, PROT_READ) == -1)
		_exit(1);
	madvise(hd, map_size, MADV_POPULATE_READ);
	if (ahead)
		for (o = 0; o < ring_size; o += 4096)
			sum += ((volatile unsigned char *)ring)[o];
	cur = atomic_load(&hd->next);
	end = cur + (uint64_t)lines;
	atomic_fetch_add(&hd->ready, 1);
	while (cur < end) {
		top = atomic_load(&hd->next);
		if (cur < top) {
			t = now_ns();
			for (; cur < top; cur++) {
				memcpy(buf, slot(cur), 8 + LINE);
				sum += buf[8];
			}
			atomic_fetch_add(&hd->copy_ns, now_ns() - t);
			continue;
		}
		atomic_store(&rd[me].asleep, 1);
		if (atomic_load(&hd->next) > cur) {
			atomic_store(&rd[me].asleep, 0);
			continue;
		}
		while (sem_wait(&rd[me].wake) == -1 && errno == EINTR)
			;
	}
	atomic_fetch_add(&hd->done, 1);
	_exit(sum == 0xdeadbeef);
}

static void
wake_sleepers(int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (atomic_exchange(&rd[i].asleep, 0))
			sem_post(&rd[i].wake);
}

/*
 * One case with N readers: prints its line, returns 0, or -1 on failure.
 * The ring is mapped anew for each case, so "fresh" is fresh.
 */
static int
one_case(int n, int which, long lines, int batch)
{
	uint64_t t0, w_ns = 0, t, seq;
	int i, rc = -1;
	long k, b;
	/* the head and the readers' semaphores, in whole pages */
	size_t hdr_pages = (sizeof(*hd) + (size_t)n * sizeof(*rd) + 4095) / 4096;

	ring_size = (size_t)(SLOTS / PER_PAGE + 1) * 4096;
	map_size = hdr_pages * 4096 + ring_size;
	hd = mmap(NULL, map_size, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pids = calloc((size_t)n, sizeof(*pids));
	if (hd == MAP_FAILED || pids == NULL) {
		perror("pagecost");
		exit(1);
	}
	made = 0;
	rd = (struct reader *)(hd + 1);
	ring = (unsigned char *)hd + hdr_pages * 4096;
	for (i = 0; i < n; i++)
		if (sem_init(&rd[i].wake, 1, 0) == -1) {
			perror("pagecost: sem_init");
			goto out;
		}
	if (which != FRESH) {
		/* a lap written before, as a ring that has wrapped */
		for (seq = 0; seq < SLOTS; seq++)
			memset(slot(seq), 'x', 8 + LINE);
		atomic_store(&hd->next, SLOTS);
	}
	for (i = 0; i < n; i++) {
		if ((pids[i] = fork()) == -1) {
			perror("pagecost: fork");
			goto out;
		}
		if (pids[i] == 0)
			reader(i, lines, which >= READ_AHEAD,
			    which == READ_ONLY);
		made++;
	}
	alarm(120);
	while (atomic_load(&hd->ready) < (uint32_t)n)
		usleep(1000);
	seq = atomic_load(&hd->next);
	t0 = now_ns();
	for (k = 0; k < lines; k += batch) {
		t = now_ns();
		for (b = 0; b < batch && k + b < lines; b++, seq++) {
			memset(slot(seq) + 8, 'a' + (int)(seq % 26), LINE);
			memcpy(slot(seq), &seq, 8);
		}
		atomic_store(&hd->next, seq);
		w_ns += now_ns() - t;
		wake_sleepers(n);
		sched_yield();
	}
	while (atomic_load(&hd->done) < (uint32_t)n) {
		wake_sleepers(n); /* one that slept as the last batch came */
		usleep(100);
	}
	t = now_ns() - t0;
	alarm(0);
	printf("%7d   %-10s   %11.0f   %16.0f   %12.0f\n", n,
	    case_name[which],
	    (double)atomic_load(&hd->copy_ns) / ((double)n * lines),
	    (double)w_ns / lines, (double)n * lines * 1e9 / (double)t);
	fflush(stdout);
	rc = 0;
out:
	for (i = 0; i < made; i++)
		kill(pids[i], SIGKILL);
	for (i = 0; i < made; i++)
		while (waitpid(pids[i], NULL, 0) == -1 && errno == EINTR)
			;
	free(pids);
	munmap(hd, map_size);
	return rc;
}

/* A case stuck: kills its readers, by pid, and ends. */
static void
on_alarm(int sig)
{
	static const char m[] = "pagecost: a case took over 120 s\n";
	int i;

	(void)sig;
	for (i = 0; i < made; i++)
		kill(pids[i], SIGKILL);
	if (write(2, m, sizeof(m) - 1) < 0)
		_exit(1);
	_exit(1);
}

int
main(int argc, char **argv)
{
	const char *ns = "100 500 1100";
	char *list, *tok, *save;
	long lines = 3000;
	int batch = 100, ch, n, c;

	while ((ch = getopt(argc, argv, "n:m:b:")) != -1)
		switch (ch) {
		case 'n':
			ns = optarg;
			break;
		case 'm':
			lines = atol(optarg);
			break;
		case 'b':
			batch = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: pagecost [-n \"N ...\"] "
			    "[-m lines] [-b batch]\n");
			return 1;
		}
	if (lines < 1 || lines > 1000000 || batch < 1 || batch > SLOTS) {
		fprintf(stderr, "pagecost: -m 1 to 1000000, -b 1 to %d\n",
		    SLOTS);
		return 1;
	}
	if ((list = strdup(ns)) == NULL)
		return 1;
	signal(SIGALRM, on_alarm);
	printf("readers   case         ns a read   writer ns a line"
	       "   reads/s\n");
	for (tok = strtok_r(list, " ,", &save); tok != NULL;
	     tok = strtok_r(NULL, " ,", &save)) {
		n = atoi(tok);
		if (n < 1 || n > MAX_READERS) {
			fprintf(stderr, "pagecost: N from 1 to %d\n",
			    MAX_READERS);
			return 1;
		}
		for (c = FRESH; c <= READ_ONLY; c++)
			if (one_case(n, c, lines, batch) == -1)
				return 1;
	}
	free(list);
	return 0;
}
