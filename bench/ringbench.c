/*
 * ringbench.c - a micro-benchmark of the shared ring alone: no sockets, no
 * master, no workers; only shm/ring.c and shm/table.c on a scratch segment.
 *
 * To repeat:
 *
 *	make ringbench                  build it and run it once
 *	build/default/bench/ringbench   run it again; take the median of
 *	                                several runs (the figures are noisy)
 *	build/default/bench/ringbench --no-strace   without part 3
 *
 * It measures
 *  1. publish cost, ring_publish() + ring_wake(), with 1, 10, 100 and 1,000
 *     reader rows in one room, readers busy (asleep flag 0) and readers
 *     asleep (reader processes really blocked in sem_wait() on their row's
 *     wake semaphore, as a worker's outbound thread is).  Busy: batches
 *     of publishes timed together.  Asleep: each publish timed alone, by
 *     the wall clock and by the publisher's CPU clock, with every reader
 *     asleep when it starts; the readers wake, drain and fall asleep again
 *     between publishes, untimed.  Re-arming only the flag, with nobody
 *     waiting, would leave out the futex wake: glibc's sem_post() makes no
 *     system call when nobody waits;
 *  2. consume cost of ring_read() for 48-byte text messages, from a
 *     pre-filled ring and chasing a publisher in another process;
 *  3. system calls per publish, busy versus asleep, counted by running the
 *     publish loop under "strace -c" (if strace is installed): two runs that
 *     differ only in the number of messages, divided by that difference, so
 *     set-up and tear-down cancel out.  strace runs without -f: the reader
 *     processes are not traced, only the publisher;
 *  4. a join's backlog, ring_backlog() of 10 lines: of a quiet room whose
 *     lines are behind a ring full of another room's, and of that busy
 *     room itself; ns per call, the median of many calls;
 *  5. a room's bookkeeping among 10,000 rows all in one big room and each
 *     in one of 256 smaller ones: a join and a part of a room of its own
 *     (table_add_room + table_del_room, under the table lock), whether a
 *     room is too big to announce its joins (table_crowded), for a room
 *     of two and for the big room, and the list of rooms a /rooms gives
 *     (table_rooms, under the lock).
 *
 * Every loop is bounded in count and in time, and the process is killed by
 * alarm() if anything hangs; the segment is unlinked as soon as it is
 * created, so nothing is left in /dev/shm whatever happens.  Linux only
 * (prctl(PR_SET_PDEATHSIG), /proc/self/exe).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../shm/shm.h"

#define MAX_READERS 1000
#define NSLOTS 4096
#define ROOM "#room"
#define TEXT48 "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL"
#define WATCHDOG_S 600

static const int reader_counts[] = {1, 10, 100, 1000};
#define NCOUNTS (int)(sizeof(reader_counts) / sizeof(reader_counts[0]))

static unsigned seg_uniq;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time of this thread: what the publisher itself spends */
static uint64_t
cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
die(const char *what)
{
	perror(what);
	exit(2);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t
median(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return n == 0 ? 0 : v[n / 2];
}

/* A scratch segment, unlinked at once: only the mapping keeps it alive. */
static void
scratch(struct shm *s, uint32_t nrows)
{
	struct shm_params p;
	char name[64];
	pid_t live;

	memset(&p, 0, sizeof(p));
	p.nrows = nrows;
	p.nslots = NSLOTS;
	p.lim.backlog = 10;
	p.lim.nick_length = NICK_MAX;
	p.lim.rooms_per_client = ROOMS_PER_CLIENT;
	snprintf(name, sizeof(name), "/chatd-ringbench-%ld-%u", (long)getpid(),
	    seg_uniq++);
	if (shm_create(s, name, &p, &live) == -1)
		die("shm_create");
	shm_unlink(name);
}

/* NROWS active rows, all in ROOM, none asleep. */
static void
fill_table(struct shm *s, int nrows)
{
	int i, row;

	for (i = 0; i < nrows; i++) {
		if ((row = table_claim(s, "bench")) != i)
			die("table_claim");
		atomic_store(&s->rows[row].state, ROW_ACTIVE);
		if (table_add_room(s, row, ROOM, 0) != 0) {
			fprintf(stderr, "table_add_room failed\n");
			exit(2);
		}
	}
}

static void
text_msg(struct msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = MSG_TEXT;
	m->sender = -1;
	m->target = TARGET_ALL;
	m->room_hash = room_hash(ROOM);
	strcpy(m->room, ROOM);
	strcpy(m->nick, "bench");
	m->len = (uint16_t)strlen(TEXT48);
	memcpy(m->text, TEXT48, m->len);
}

/* One publish as a server thread does it: publish, then wake. */
static void
publish(struct shm *s, struct msg *m)
{
	uint64_t seq = ring_publish(s, m);

	ring_wake(s, m, seq, -1);
}

/*
 * A reader process for row ROW: drains the ring, then goes to sleep the
 * way worker/outbound.c does (first_want, asleep := 1, ring_sleep(), look at the
 * head once more, sem_wait).  It ends when the segment says shutting_down
 * or its parent is gone; every wait is bounded.
 */
static void
reader(struct shm *s, int row, pid_t parent)
{
	struct row *r = &s->rows[row];
	uint64_t cursor = ring_head(s), seq, lost = 0;
	struct timespec ts;
	struct msg m;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm(WATCHDOG_S);
	if (getppid() != parent)
		_exit(1);
	for (;;) {
		while (ring_read(s, &cursor, &m, &seq, &lost))
			;
		if (atomic_load(&s->h->shutting_down))
			_exit(0);
		atomic_store(&r->first_want, UINT64_MAX);
		atomic_store(&r->asleep, 1);
		ring_sleep(s, row);
		atomic_thread_fence(memory_order_seq_cst);
		if (ring_head(s) == cursor &&
		    !atomic_load(&s->h->shutting_down)) {
			for (;;) {
				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_sec += 1;
				if (sem_timedwait(&r->wake, &ts) == 0)
					break;
				if (errno == ETIMEDOUT && getppid() != parent)
					_exit(1);
			}
		}
		atomic_store(&r->asleep, 0);
		ring_awake(s, row);
	}
}

static pid_t readers[MAX_READERS];

static void
start_readers(struct shm *s, int n)
{
	pid_t me = getpid();
	int i;

	for (i = 0; i < n; i++) {
		if ((readers[i] = fork()) == -1)
			die("fork");
		if (readers[i] == 0)
			reader(s, i, me);
	}
}

static void
stop_readers(struct shm *s, int n)
{
	int i;

	atomic_store(&s->h->shutting_down, 1);
	for (i = 0; i < n; i++)
		sem_post(&s->rows[i].wake);
	for (i = 0; i < n; i++)
		while (waitpid(readers[i], NULL, 0) == -1 && errno == EINTR)
			;
}

/*
 * Waits, untimed, until every reader is asleep again: its flag is 1 and,
 * after a settling spin, it is blocked in sem_wait().  A reader that set
 * the flag has only a few loads left before the futex wait; the spin of
 * 50 us plus 1 us a reader covers that.  Pure loads and vDSO clock reads:
 * no system call, so the syscall count of a run is the publishes' own.
 * Returns 0 if the readers did not all fall asleep within 5 s.
 */
static int
wait_asleep(struct shm *s, int n)
{
	uint64_t start = now_ns(), settle;
	int i = 0;

	while (i < n) {
		if (atomic_load(&s->rows[i].asleep) == 1)
			i++;
		else if (now_ns() - start > 5000000000u)
			return 0;
	}
	settle = now_ns() + 50000u + 1000u * (uint64_t)n;
	while (now_ns() < settle)
		;
	return 1;
}

/* Busy readers: ns per publish over batches, median of the batches. */
static uint64_t
publish_busy(int nreaders, int batches, int per_batch)
{
	uint64_t t[16], t0;
	struct shm s;
	struct msg m;
	int b, i;

	scratch(&s, MAX_READERS);
	fill_table(&s, nreaders);
	text_msg(&m);
	for (i = 0; i < per_batch / 10; i++) /* warm up */
		publish(&s, &m);
	for (b = 0; b < batches && b < 16; b++) {
		t0 = now_ns();
		for (i = 0; i < per_batch; i++)
			publish(&s, &m);
		t[b] = (now_ns() - t0) / (uint64_t)per_batch;
	}
	shm_detach(&s);
	return median(t, (size_t)b);
}

/*
 * Asleep readers: each publish is timed alone, with all NREADERS readers
 * blocked in sem_wait() when it starts; between publishes the readers
 * wake, drain and go back to sleep, untimed.  Two clocks: wall time, which
 * includes being preempted by the readers just woken (2 cores), and the
 * publishing thread's own CPU time.  Fills the medians WALL and CPU and
 * the MEAN wall time (ns, clock-read costs not subtracted); returns how
 * many publishes were timed.
 */
static int
publish_asleep(int nreaders, int msgs, uint64_t max_ns, uint64_t *wall,
    uint64_t *cpu, uint64_t *mean)
{
	static uint64_t tw[2000], tc[2000];
	uint64_t t0, t1, c0, c1, sum = 0, start;
	struct shm s;
	struct msg m;
	int i, n = 0;

	if (msgs > 2000)
		msgs = 2000;
	scratch(&s, MAX_READERS);
	fill_table(&s, nreaders);
	text_msg(&m);
	start_readers(&s, nreaders);
	start = now_ns();
	for (i = 0; i < msgs && now_ns() - start < max_ns; i++) {
		if (!wait_asleep(&s, nreaders))
			break;
		c0 = cpu_ns();
		t0 = now_ns();
		publish(&s, &m);
		t1 = now_ns();
		c1 = cpu_ns();
		tw[n] = t1 - t0;
		tc[n++] = c1 - c0;
		sum += t1 - t0;
	}
	stop_readers(&s, nreaders);
	shm_detach(&s);
	*mean = n > 0 ? sum / (uint64_t)n : 0;
	*wall = median(tw, (size_t)n);
	*cpu = median(tc, (size_t)n);
	return n;
}

/* ring_read of a pre-filled ring: ns per message, median of ROUNDS. */
static uint64_t
consume_prefilled(int rounds)
{
	uint64_t t[16], t0, cursor = 0, seq, lost = 0, got;
	struct shm s;
	struct msg m, out;
	int r, i;

	scratch(&s, 1);
	text_msg(&m);
	for (r = 0; r < rounds && r < 16; r++) {
		for (i = 0; i < NSLOTS; i++)
			ring_publish(&s, &m);
		got = 0;
		t0 = now_ns();
		while (got < NSLOTS &&
		    ring_read(&s, &cursor, &out, &seq, &lost))
			got++;
		t[r] = (now_ns() - t0) / (got ? got : 1);
		if (got != NSLOTS || lost != 0 || out.len != 48) {
			fprintf(stderr, "prefilled read: got %llu lost %llu\n",
			    (unsigned long long)got, (unsigned long long)lost);
			exit(2);
		}
	}
	shm_detach(&s);
	return median(t, (size_t)r);
}

/*
 * ring_backlog() of 10 lines of ROOM_ (QUIET: 10 lines of it, then a ring
 * all but full of ROOM's), ns per call, the median of ROUNDS calls.
 */
static uint64_t
backlog_cost(int quiet, int rounds)
{
	uint64_t t[101], t0, before;
	struct shm s;
	struct msg m, out[10];
	const char *room = quiet ? "#quiet" : ROOM;
	size_t got;
	int r, i;

	scratch(&s, 1);
	text_msg(&m);
	strcpy(m.room, "#quiet");
	m.room_hash = room_hash("#quiet");
	for (i = 0; i < 10; i++)
		ring_publish(&s, &m);
	text_msg(&m);
	for (i = 0; i < NSLOTS - 20; i++)
		ring_publish(&s, &m);
	before = ring_head(&s);
	for (r = 0; r < rounds && r < 101; r++) {
		t0 = now_ns();
		got = ring_backlog(&s, before, room_hash(room), room, 10, out);
		t[r] = now_ns() - t0;
		if (got != 10) {
			fprintf(stderr, "backlog of %s: got %zu\n", room, got);
			exit(2);
		}
	}
	shm_detach(&s);
	return median(t, (size_t)r);
}

#define BOOK_ROWS 10000

/*
 * Part 5 (see the top): ns per call, medians of ROUNDS, into T[4]: a join
 * and part of a room of one, table_crowded() of a room of two members at
 * the two ends of the table, and of ROOM, which every row is in, and
 * table_rooms() of the 259 rooms.
 */
static void
bookkeeping_cost(int rounds, uint64_t t[4])
{
	static struct room_count rc[300];
	uint64_t v[4][101], t0;
	struct shm s;
	char room[16];
	int r, last = BOOK_ROWS - 1, n = 0;

	scratch(&s, BOOK_ROWS);
	fill_table(&s, BOOK_ROWS);
	for (r = 0; r < BOOK_ROWS; r++) {
		snprintf(room, sizeof(room), "#r%d", r % 256);
		if (table_add_room(&s, r, room, 0) != 0)
			die("table_add_room");
	}
	if (table_add_room(&s, 0, "#pair", 0) != 0 ||
	    table_add_room(&s, last, "#pair", 0) != 0)
		die("table_add_room");
	for (r = 0; r < rounds && r < 101; r++) {
		t0 = now_ns();
		if (table_add_room(&s, 1, "#alone", 0) != 0 ||
		    table_del_room(&s, 1, "#alone") != 0)
			die("join and part");
		v[0][r] = now_ns() - t0;
		t0 = now_ns();
		n += table_crowded(&s, room_hash("#pair"), "#pair", 100, 0);
		v[1][r] = now_ns() - t0;
		t0 = now_ns();
		n += !table_crowded(&s, room_hash(ROOM), ROOM, 100, 0);
		v[2][r] = now_ns() - t0;
		t0 = now_ns();
		n += table_rooms(&s, rc, 300) != 258;
		v[3][r] = now_ns() - t0;
	}
	if (n != 0) {
		fprintf(stderr, "table_crowded or table_rooms: wrong answers\n");
		exit(2);
	}
	shm_detach(&s);
	for (n = 0; n < 4; n++)
		t[n] = median(v[n], (size_t)r);
}

/*
 * One reader chasing a publisher process that publishes MSGS messages as
 * fast as it can.  ns per message delivered; if the reader often found the
 * ring empty (EMPTY), it kept up and the figure is the publisher's pace.
 */
static void
consume_chasing(uint64_t msgs, uint64_t *ns, uint64_t *got, uint64_t *lost,
    uint64_t *empty)
{
	uint64_t cursor = 0, seq, t0 = 0, t1, limit;
	struct shm s;
	struct msg m, out;
	pid_t pub, me = getpid();
	uint64_t i;

	scratch(&s, 1);
	text_msg(&m);
	*got = *lost = *empty = 0;
	if ((pub = fork()) == -1)
		die("fork");
	if (pub == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != me)
			_exit(1);
		limit = now_ns() + 5000000000u;
		for (i = 0; i < msgs && now_ns() < limit; i++)
			ring_publish(&s, &m);
		atomic_store(&s.h->shutting_down, 1);
		_exit(0);
	}
	limit = now_ns() + 10000000000u;
	for (;;) {
		if (ring_read(&s, &cursor, &out, &seq, lost)) {
			if ((*got)++ == 0)
				t0 = now_ns();
			continue;
		}
		if (atomic_load(&s.h->shutting_down) &&
		    cursor >= ring_head(&s))
			break;
		if (*got > 0)
			(*empty)++;
		if (now_ns() > limit)
			break;
	}
	t1 = now_ns();
	while (waitpid(pub, NULL, 0) == -1 && errno == EINTR)
		;
	shm_detach(&s);
	*ns = *got > 1 ? (t1 - t0) / (*got - 1) : 0;
}

/*
 * The child of "strace -c": N readers busy or asleep, MSGS publishes, no
 * output.  Run twice with different MSGS; the difference is the publishes'.
 */
static int
count_child(const char *mode, int n, int msgs)
{
	struct shm s;
	struct msg m;
	int i, asleep = strcmp(mode, "asleep") == 0;

	alarm(WATCHDOG_S);
	scratch(&s, MAX_READERS);
	fill_table(&s, n);
	text_msg(&m);
	if (asleep)
		start_readers(&s, n);
	for (i = 0; i < msgs; i++) {
		if (asleep && !wait_asleep(&s, n))
			return 3;
		publish(&s, &m);
	}
	if (asleep)
		stop_readers(&s, n);
	shm_detach(&s);
	return 0;
}

#define MAX_NAMES 64

struct counts {
	long total;
	int nnames;
	char name[MAX_NAMES][32];
	long calls[MAX_NAMES];
};

static long
calls_of(const struct counts *c, const char *name)
{
	int i;

	for (i = 0; i < c->nnames; i++)
		if (strcmp(c->name[i], name) == 0)
			return c->calls[i];
	return 0;
}

/* Runs the publish loop under strace -c; 0 on success. */
static int
strace_run(const char *mode, int n, int msgs, struct counts *c)
{
	char path[] = "/tmp/ringbench-strace-XXXXXX", line[256];
	char nbuf[16], mbuf[16], name[32], self[4096];
	ssize_t len;
	int fd, status, devnull;
	long calls;
	pid_t pid;
	FILE *f;

	/* strace's own /proc/self/exe would be strace: resolve it here */
	if ((len = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		return -1;
	self[len] = '\0';
	if ((fd = mkstemp(path)) == -1)
		return -1;
	close(fd);
	snprintf(nbuf, sizeof(nbuf), "%d", n);
	snprintf(mbuf, sizeof(mbuf), "%d", msgs);
	if ((pid = fork()) == -1) {
		unlink(path);
		return -1;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(WATCHDOG_S);
		if ((devnull = open("/dev/null", O_WRONLY)) != -1)
			dup2(devnull, 1);
		execlp("strace", "strace", "-c", "-o", path, self,
		    "--count-child", mode, nbuf, mbuf, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	c->total = -1;
	c->nnames = 0;
	if ((f = fopen(path, "r")) != NULL) {
		/* "% time seconds usecs/call calls [errors] syscall" */
		while (fgets(line, sizeof(line), f) != NULL) {
			char *last = strrchr(line, ' ');
			double a, b;
			long u;

			if (last == NULL ||
			    sscanf(line, "%lf %lf %ld %ld", &a, &b, &u,
				&calls) != 4 ||
			    sscanf(last + 1, "%31s", name) != 1)
				continue;
			if (strcmp(name, "total") == 0) {
				c->total = calls;
			} else if (c->nnames < MAX_NAMES) {
				memcpy(c->name[c->nnames], name, sizeof(name));
				c->calls[c->nnames++] = calls;
			}
		}
		fclose(f);
	}
	unlink(path);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || c->total < 0)
		return -1;
	return 0;
}

static void
count_syscalls(void)
{
	static const char *modes[] = {"busy", "asleep"};
	struct counts a, b;
	int k, i, j, n, m1 = 10, m2 = 60;
	long d;

	printf("\n3. system calls per publish (strace -c on the publisher, "
	       "(runs of %d - %d publishes) / %d)\n",
	    m2, m1, m2 - m1);
	printf("   %-7s %8s %10s  %s\n", "readers", "case", "syscalls",
	    "by name");
	for (i = 0; i < NCOUNTS; i++)
		for (k = 0; k < 2; k++) {
			n = reader_counts[i];
			if (strace_run(modes[k], n, m1, &a) != 0 ||
			    strace_run(modes[k], n, m2, &b) != 0) {
				printf("   strace -c did not run (not "
				       "installed or ptrace not permitted): "
				       "not counted\n");
				return;
			}
			printf("   %-7d %8s %10.2f ", n, modes[k],
			    (double)(b.total - a.total) / (m2 - m1));
			for (j = 0; j < b.nnames; j++) {
				d = b.calls[j] - calls_of(&a, b.name[j]);
				if (d != 0)
					printf(" %s %.2f", b.name[j],
					    (double)d / (m2 - m1));
			}
			printf("\n");
		}
	printf("   (wait4 and fractions of a futex come from starting and "
	       "stopping the reader processes, whose timing differs "
	       "between the two runs)\n");
}

int
main(int argc, char **argv)
{
	uint64_t med, mean, ns, cpu, got, lost, empty, t0, ov[64], ovc[64];
	uint64_t book[4];
	int i, n, timed;

	if (argc == 5 && strcmp(argv[1], "--count-child") == 0)
		return count_child(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (argc > 1 && strcmp(argv[1], "--no-strace") != 0) {
		fprintf(stderr, "usage: ringbench [--no-strace]\n");
		return 2;
	}
	alarm(WATCHDOG_S);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < 64; i++) {
		t0 = now_ns();
		ov[i] = now_ns() - t0;
		t0 = cpu_ns();
		ovc[i] = cpu_ns() - t0;
	}
	printf("ringbench: the ring alone on a scratch segment (%d slots, "
	       "48-byte text to one room); busy: rows in the room with asleep "
	       "0, batches of publishes timed together; asleep: reader "
	       "processes blocked in sem_wait, each publish timed alone and "
	       "the readers left to fall asleep again between publishes, "
	       "untimed, by the wall clock and by the publisher's CPU "
	       "clock; clock reads cost %llu ns (wall) and %llu ns (CPU), "
	       "not subtracted.\n",
	    NSLOTS, (unsigned long long)median(ov, 64),
	    (unsigned long long)median(ovc, 64));

	printf("\n1. publish cost, ring_publish + ring_wake, ns per message\n");
	printf("   %-7s %10s %14s %14s %14s %6s\n", "readers", "busy",
	    "asleep wall", "(wall mean)", "asleep CPU", "n");
	for (i = 0; i < NCOUNTS; i++) {
		n = reader_counts[i];
		med = publish_busy(n, 7, n >= 1000 ? 20000 : 200000);
		printf("   %-7d %10llu", n, (unsigned long long)med);
		timed = publish_asleep(n, n >= 1000 ? 100 : 500,
		    5000000000u, &ns, &cpu, &mean);
		printf(" %14llu %14llu %14llu %6d\n", (unsigned long long)ns,
		    (unsigned long long)mean, (unsigned long long)cpu, timed);
	}

	printf("\n2. consume cost, ring_read of 48-byte text, "
	       "ns per message\n");
	med = consume_prefilled(9);
	printf("   pre-filled ring (%d messages, median of 9 rounds): %llu\n",
	    NSLOTS, (unsigned long long)med);
	consume_chasing(2000000, &ns, &got, &lost, &empty);
	printf("   chasing a publisher process (%llu read, %llu lost, "
	       "%llu empty polls): %llu%s\n",
	    (unsigned long long)got, (unsigned long long)lost,
	    (unsigned long long)empty, (unsigned long long)ns,
	    empty > got / 10 ?
		" (the reader often waited: this is the publisher's pace)" :
		"");

	if (argc > 1)
		printf("\n3. system calls: not counted (--no-strace)\n");
	else
		count_syscalls();

	printf("\n4. a join's backlog, ring_backlog of 10 lines, ns per call "
	       "(median of 101)\n");
	printf("   a quiet room behind %d lines of a busy one: %llu\n",
	    NSLOTS - 20, (unsigned long long)backlog_cost(1, 101));
	printf("   the busy room: %llu\n",
	    (unsigned long long)backlog_cost(0, 101));

	bookkeeping_cost(101, book);
	printf("\n5. a room's bookkeeping, %d rows all in %s and each in one "
	       "of 256 others,\n   ns per call (median of 101)\n", BOOK_ROWS,
	    ROOM);
	printf("   join and part a room of one's own: %llu\n",
	    (unsigned long long)book[0]);
	printf("   is a room of two crowded? %llu\n",
	    (unsigned long long)book[1]);
	printf("   is %s crowded? %llu\n", ROOM,
	    (unsigned long long)book[2]);
	printf("   list the 258 rooms (/rooms): %llu\n",
	    (unsigned long long)book[3]);
	return 0;
}
