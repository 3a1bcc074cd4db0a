/*
 * test_chaos.c - processes killed at any instruction, and what survives.
 *
 * Two levels.  On a scratch segment, forked children publish and are
 * killed at chosen instructions (single-stepped under ptrace), while
 * stopped holding a lock, and at random moments; after each death this
 * process runs the master's own repair (reap_worker() from master/reap.c)
 * and checks the locks, the ring and the table.  Against the real daemon,
 * clients publish flat out while random workers are SIGKILLed and their
 * clients replaced; every line any survivor receives is checked, publishing
 * must resume within a second of every kill, and at the end nothing may be
 * left wedged, leaked or unreaped.
 *
 * CHAOS_KILLS sets the number of kills against the daemon (default 60);
 * CHAOS_SEED replays a run (the seed is printed with the summary).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "../common/util.h"
#include "../master/master.h"

#define DEFAULT_KILLS 60

/* CRC-32 (IEEE), a byte at a time. */
static uint32_t
crc32(const char *p, size_t n)
{
	static uint32_t table[256];
	uint32_t c;
	int i, k;

	if (table[1] == 0)
		for (i = 0; i < 256; i++) {
			c = (uint32_t)i;
			for (k = 0; k < 8; k++)
				c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
			table[i] = c;
		}
	c = 0xffffffffu;
	while (n--)
		c = table[(c ^ (unsigned char)*p++) & 0xff] ^ (c >> 8);
	return ~c;
}

/* xorshift64*: a reproducible sequence from one seed. */
static uint64_t rng_state;

static void
rng_seed(void)
{
	const char *e = getenv("CHAOS_SEED");

	rng_state = e != NULL ? strtoull(e, NULL, 0) : 0;
	if (rng_state == 0)
		rng_state =
		    (uint64_t)now_ms() * 2654435761u ^ (uint64_t)getpid();
	if (rng_state == 0)
		rng_state = 1;
}

static uint32_t
rnd(uint32_t n)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ull) >> 33) % n;
}

static void
sleep_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * The payload of line SEQ of sender SID: "SID SEQ PAD", where PAD is a run
 * of letters whose length and content follow from SID and SEQ.  Returns
 * its length.
 */
static int
payload(char *out, size_t size, int sid, int seq)
{
	int n, len, i;

	n = snprintf(out, size, "%d %d ", sid, seq);
	len = 1 + (sid * 7 + seq * 13) % 200;
	for (i = 0; i < len && (size_t)(n + i) < size - 1; i++)
		out[n + i] = (char)('a' + (seq + i) % 26);
	out[n + i] = '\0';
	return n + i;
}

/* ------------------------------------------------------------------ */
/* The ring: children killed on a scratch segment, repaired as the     */
/* master repairs.                                                     */
/* ------------------------------------------------------------------ */

static struct shm s;
static struct master mp;
static struct master_hot mp_hot;
static uint64_t cur; /* this process reads the ring from here */

static void
ring_setup(void)
{
	scratch_shm(&s, 16, 256);
	memset(&mp, 0, sizeof(mp));
	mp.shm = s;
	mp.pidfd = -1;
	mp.ready_fd = -1;
	cur = 0;
}

static void
ring_teardown(void)
{
	shm_detach(&s);
}

static void
text_msg(struct msg *m, int row, const char *text)
{
	memset(m, 0, sizeof(*m));
	m->type = MSG_TEXT;
	m->sender = row;
	m->target = TARGET_ALL;
	strcpy(m->room, "#r");
	m->room_hash = room_hash("#r");
	strcpy(m->nick, "w");
	m->len = (uint16_t)strlen(text);
	memcpy(m->text, text, m->len + 1);
}

/* A row as the master claims one for a worker, serving its client. */
static int
claim_row(void)
{
	int row = table_claim(&s, "127.0.0.1:1");

	ck_assert_int_ge(row, 0);
	atomic_store(&s.rows[row].state, ROW_ACTIVE);
	return row;
}

/* What the master does when waitpid() reports PID's death with STATUS. */
static void
master_reaps(pid_t pid, int status)
{
	mp.hot = &mp_hot;
	mp.hot->children = 1;
	reap_worker(&mp, pid, status);
}

/* Reads the next message, failing if there is none. */
static void
next_msg(struct msg *m, uint64_t *seq)
{
	uint64_t lost = 0;

	ck_assert_msg(ring_read(&s, &cur, m, seq, &lost) == 1,
	    "expected a message at %llu, head %llu", (unsigned long long)cur,
	    (unsigned long long)ring_head(&s));
	ck_assert_uint_eq(lost, 0);
}

/* Checks that the next message is the master's QUIT for ROW. */
static void
expect_quit(int row)
{
	struct msg m;
	uint64_t seq;

	next_msg(&m, &seq);
	ck_assert_int_eq(m.type, MSG_QUIT);
	ck_assert_int_eq(m.sender, row);
	ck_assert_str_eq(m.text, "connection lost");
}

static void
expect_end(void)
{
	struct msg m;
	uint64_t seq, lost = 0;

	ck_assert_int_eq(ring_read(&s, &cur, &m, &seq, &lost), 0);
	ck_assert_uint_eq(lost, 0);
}

/*
 * Publishes TEXT from another process, which must be done within a
 * second: a lock left held by nobody known would make it wait for ever.
 */
static void
publish_elsewhere(const char *text)
{
	struct pollfd pfd;
	struct msg m;
	int fd, status;
	pid_t pid;

	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		text_msg(&m, -1, text);
		ring_publish(&s, &m);
		_exit(0);
	}
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	ck_assert_int_ne(fd, -1);
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 1000) != 1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(fd);
		ck_abort_msg("a publisher after the repair waited more than 1 "
			     "s: the publish lock is wedged");
	}
	close(fd);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void
expect_text(const char *text)
{
	struct msg m;
	uint64_t seq;

	next_msg(&m, &seq);
	ck_assert_int_eq(m.type, MSG_TEXT);
	ck_assert_str_eq(m.text, text);
}

/*
 * The lock word is the owner's pid, set by the same compare-and-swap that
 * takes the lock, so there is no moment at which the lock is held but its
 * owner unknown: a holder killed at any instruction is found by its pid
 * and the lock taken back.  A lock taken first (a semaphore, say) and its
 * owner recorded after would leave such a window: a child stopped right
 * after taking the lock would show no owner here, and once killed nobody
 * could ever release the lock, which publish_elsewhere() would find.
 */
START_TEST(stopped_lock_holder_is_already_its_owner)
{
	struct shm_lock *locks[2] = {&s.h->publock, &s.h->tablock};
	int i, row, status;
	pid_t pid;

	for (i = 0; i < 2; i++) {
		row = claim_row();
		pid = fork();
		ck_assert_int_ne(pid, -1);
		if (pid == 0) {
			lock_take(locks[i]);
			raise(SIGSTOP);
			lock_give(locks[i]);
			_exit(0);
		}
		table_set_pid(&s, row, pid);
		ck_assert_int_eq(waitpid(pid, &status, WUNTRACED), pid);
		ck_assert(WIFSTOPPED(status));
		ck_assert_int_eq(atomic_load(&locks[i]->owner), pid);
		ck_assert_int_eq(kill(pid, SIGKILL), 0);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		/* still the owner once dead: the repair can find it */
		ck_assert_int_eq(atomic_load(&locks[i]->owner), pid);
		master_reaps(pid, status);
		ck_assert_int_eq(atomic_load(&locks[i]->owner), 0);
		ck_assert_uint_eq(atomic_load(&locks[i]->takeovers), 1);
		ck_assert_int_eq(atomic_load(&s.rows[row].state), ROW_FREE);
		expect_quit(row);
		publish_elsewhere(i == 0 ? "after publock" : "after tablock");
		expect_text(i == 0 ? "after publock" : "after tablock");
		expect_end();
	}
	ck_assert_int_eq(table_count(&s), 0);
}
END_TEST

/* Where a publisher was when it died, seen from the shared state. */
enum where {
	W_BEFORE,    /* had not taken the lock */
	W_LOCKED,    /* held it, had not touched the slot */
	W_WRITING,   /* held it, slot stamped WRITING: half-written */
	W_COMMITTED, /* held it, slot committed, HEAD not yet moved */
	W_PUBLISHED, /* held it, HEAD moved, lock not yet given */
	W_AFTER,     /* had given the lock back */
	W_N
};

static const char *where_name[W_N] = {"before the lock", "holding the lock",
    "half-way writing the slot", "after committing, before HEAD",
    "after HEAD, before giving the lock", "after giving the lock"};

/* Where publisher PID is in ring_publish(), read from segment SEG. */
static enum where
where_in(struct shm *seg, pid_t pid, uint64_t h0)
{
	uint64_t head = ring_head(seg);
	uint64_t st = atomic_load(&seg->slots[h0 % seg->h->nslots].stamp);

	if (atomic_load(&seg->h->publock.owner) != pid)
		return head == h0 ? W_BEFORE : W_AFTER;
	if (head != h0)
		return W_PUBLISHED;
	if (st == STAMP(h0, SLOT_WRITING))
		return W_WRITING;
	if (st == STAMP(h0, SLOT_COMMITTED))
		return W_COMMITTED;
	return W_LOCKED;
}

/*
 * Forks a child that stops for its tracer, then publishes TEXT from row
 * ROW with ring_publish() and stops again.  Returns with the child in its
 * first stop, or -1 if this system does not allow ptrace.
 */
static pid_t
traced_publisher(int row, const char *text)
{
	struct msg m;
	int status;
	pid_t pid;

	text_msg(&m, row, text);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) == -1)
			_exit(2);
		raise(SIGSTOP);
		ring_publish(&s, &m);
		raise(SIGSTOP);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
		return -1;
	ck_assert_msg(WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP,
	    "the traced child did not stop (status %#x)", status);
	return pid;
}

/*
 * Single-steps PID up to N instructions.  Returns how many it ran, fewer
 * than N if it reached its second stop (ring_publish() returned).
 */
static long
step(pid_t pid, long n)
{
	int status;
	long i;

	for (i = 0; i < n; i++) {
		if (ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL) == -1 ||
		    waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status))
			ck_abort_msg("single-stepping %ld failed", (long)pid);
		if (WSTOPSIG(status) == SIGSTOP)
			break;
		if (WSTOPSIG(status) != SIGTRAP)
			ck_abort_msg("child stopped by signal %d",
			    WSTOPSIG(status));
	}
	return i;
}

#define STEP_POINTS 200 /* kill points, besides those around changes */
#define NEAR 8		/* instructions each side of a change of state */

/*
 * A publisher killed at every instruction of ring_publish() in turn
 * (single-stepped under ptrace), and after each death the master's repair:
 * the lock is free and publishing goes on, the message is delivered whole
 * exactly once or, if the kill came before it was committed, never; and
 * the master's QUIT follows.  Every place a death can leave the ring in is
 * reached at least once, the half-written slot above all.
 */
START_TEST(publisher_killed_at_every_instruction)
{
	int hits[W_N] = {0}, row, status, w, prev = W_BEFORE, nch = 0, i;
	long total, k, lo = -1, hi = -1, stride, change[16];
	struct msg m;
	uint64_t h0, seq;
	char text[64];
	pid_t pid;

	/* a full run, watching the shared state after each instruction */
	row = claim_row();
	if ((pid = traced_publisher(row, "full run")) == -1) {
		fprintf(stderr,
		    "ring: no ptrace here: not killed at every "
		    "instruction\n");
		return;
	}
	h0 = ring_head(&s);
	for (total = 0;; total++) {
		w = where_in(&s, pid, h0);
		if (w != W_BEFORE && w != W_AFTER) {
			if (lo < 0)
				lo = total;
			hi = total;
		}
		if (w != prev && nch < 16)
			change[nch++] = total;
		prev = w;
		/* nothing but this child ever owns the lock here */
		if (atomic_load(&s.h->publock.owner) != 0 &&
		    atomic_load(&s.h->publock.owner) != pid)
			ck_abort_msg("the lock owned by %d",
			    (int)atomic_load(&s.h->publock.owner));
		if (step(pid, 1) == 0 || total > 1000000)
			break;
	}
	ck_assert_msg(lo >= 0, "the lock was never seen held");
	ck_assert_int_eq(ptrace(PTRACE_CONT, pid, NULL, NULL), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	table_release(&s, row);
	expect_text("full run");
	expect_end();

	ck_assert_int_ge(nch, 5);

	/*
	 * Then one child per kill point: every instruction around each change
	 * of the shared state (taking the lock, stamping the slot, committing
	 * it, moving HEAD, giving the lock back), and an even sample of the
	 * rest: all of them when ring_publish() is short enough.
	 */
	stride = total / STEP_POINTS + 1;
	for (k = 0; k <= total + 1; k++) {
		for (i = 0; i < nch; i++)
			if (k >= change[i] - NEAR && k <= change[i] + NEAR)
				break;
		if (i == nch && k % stride != 0)
			continue;
		snprintf(text, sizeof(text), "killed at %ld", k);
		row = claim_row();
		ck_assert_int_gt(pid = traced_publisher(row, text), 0);
		table_set_pid(&s, row, pid);
		h0 = ring_head(&s);
		step(pid, k);
		ck_assert_int_eq(kill(pid, SIGKILL), 0);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		w = where_in(&s, pid, h0);
		hits[w]++;
		master_reaps(pid, status);
		ck_assert_msg(atomic_load(&s.h->publock.owner) == 0,
		    "killed %s (step %ld): lock still owned by %d",
		    where_name[w], k, (int)atomic_load(&s.h->publock.owner));
		ck_assert_int_eq(atomic_load(&s.rows[row].state), ROW_FREE);
		if (w >= W_COMMITTED) {
			next_msg(&m, &seq);
			ck_assert_msg(m.type == MSG_TEXT &&
				strcmp(m.text, text) == 0,
			    "killed %s (step %ld): got \"%s\"", where_name[w],
			    k, m.text);
			ck_assert_uint_eq(seq, h0);
		}
		if (w == W_WRITING)
			ck_assert_uint_eq(atomic_load(
					      &s.slots[h0 % s.h->nslots].stamp),
			    STAMP(h0, SLOT_SKIPPED));
		/* no trace of a message that was not committed */
		expect_quit(row);
		publish_elsewhere(text);
		expect_text(text);
		expect_end();
	}
	for (w = 0; w < W_N; w++)
		ck_assert_msg(hits[w] > 0, "no kill landed %s", where_name[w]);
	ck_assert_int_eq(table_count(&s), 0);
	ck_assert_int_eq(atomic_load(&s.h->tablock.owner), 0);
	fprintf(stderr,
	    "ring: ring_publish() is %ld instructions, the lock held for "
	    "%ld; killed %d times before the lock, %d holding it (%d "
	    "half-way writing), %d after\n",
	    total, hi - lo + 1, hits[W_BEFORE],
	    hits[W_LOCKED] + hits[W_WRITING] + hits[W_COMMITTED] +
		hits[W_PUBLISHED],
	    hits[W_WRITING], hits[W_AFTER]);
}
END_TEST

#define RP_CHILDREN 4
#define RP_KILLS 200
#define RP_BURST 64 /* messages a child publishes between short rests */

/*
 * A child publishing as sender SID until killed: bursts at full speed
 * with short rests, so that this process can read along.
 */
static void __attribute__((noreturn)) flat_out(int row, int sid)
{
	char body[300];
	struct msg m;
	int seq;

	for (seq = 0;; seq++) {
		payload(body, sizeof(body), sid, seq);
		text_msg(&m, row, body);
		snprintf(m.nick, sizeof(m.nick), "%08x",
		    crc32(body, strlen(body)));
		ring_publish(&s, &m);
		if (seq % RP_BURST == RP_BURST - 1)
			sleep_us(100);
	}
}

struct rp_child {
	pid_t pid;
	int row, sid;
};

static void
rp_spawn(struct rp_child *c, int sid)
{
	c->row = claim_row();
	c->sid = sid;
	c->pid = fork();
	ck_assert_int_ne(c->pid, -1);
	if (c->pid == 0)
		flat_out(c->row, sid);
	table_set_pid(&s, c->row, c->pid);
}

struct rp_seen {
	int next;	  /* sequence expected next */
	uint64_t lost_at; /* LOST when the last one came */
};

/*
 * Reads what is in the ring: every text message intact, each sender's in
 * order, never twice, and a gap only where this reader was lapped by at
 * least as many messages.
 */
static void
rp_drain(struct rp_seen *seen, int nsids, uint64_t *lost, uint64_t *quits)
{
	char sum[16], want[300];
	uint64_t seq;
	int sid, k, n, off;
	struct msg m;

	/* no ck_assert per message: check records each one it passes */
	for (n = 0; n < (int)s.h->nslots && ring_read(&s, &cur, &m, &seq, lost);
	     n++) {
		if (m.type == MSG_QUIT &&
		    strcmp(m.text, "connection lost") == 0) {
			(*quits)++;
			continue;
		}
		if (m.type != MSG_TEXT ||
		    sscanf(m.text, "%d %d %n", &sid, &k, &off) != 2 ||
		    sid < 0 || sid >= nsids || k < 0)
			ck_abort_msg("message %llu of no known form: type %d "
				     "\"%s\"",
			    (unsigned long long)seq, m.type, m.text);
		snprintf(sum, sizeof(sum), "%08x", crc32(m.text, m.len));
		payload(want, sizeof(want), sid, k);
		if (strcmp(m.nick, sum) != 0 || strcmp(m.text, want) != 0)
			ck_abort_msg("message %llu damaged: \"%s\"",
			    (unsigned long long)seq, m.text);
		if (k < seen[sid].next)
			ck_abort_msg("sender %d: %d after %d", sid, k,
			    seen[sid].next - 1);
		if (*lost - seen[sid].lost_at < (uint64_t)(k - seen[sid].next))
			ck_abort_msg("sender %d: %d after %d, not lapped", sid,
			    k, seen[sid].next - 1);
		seen[sid].next = k + 1;
		seen[sid].lost_at = *lost;
	}
}

/*
 * Children publish flat out; this process kills one at a random moment,
 * repairs as the master does, forks a replacement, and reads everything.
 * Every message is seen whole, once, in its sender's order; a killed
 * sender loses at most the one message it was writing, which is never
 * seen.  A quarter of the kills stop the child first to learn whether it
 * held the lock.
 */
START_TEST(publishers_killed_at_random_moments)
{
	struct rp_child c[RP_CHILDREN];
	struct rp_seen *seen;
	int nsids = 0, i, v, status, stopped_in = 0, st;
	uint64_t takeovers0, quits = 0, kills = 0, lost = 0, total = 0;
	struct shm big;

	shm_detach(&s);
	scratch_shm(&big, 16, 1u << 16);
	s = big;
	mp.shm = s;
	rng_seed();
	seen = calloc(RP_CHILDREN + RP_KILLS, sizeof(*seen));
	for (i = 0; i < RP_CHILDREN; i++)
		rp_spawn(&c[i], nsids++);
	takeovers0 = atomic_load(&s.h->publock.takeovers);
	for (i = 0; i < RP_KILLS; i++) {
		rp_drain(seen, nsids, &lost, &quits);
		sleep_us(rnd(2000));
		v = (int)rnd(RP_CHILDREN);
		if (i % 4 == 0) {
			ck_assert_int_eq(kill(c[v].pid, SIGSTOP), 0);
			ck_assert_int_eq(waitpid(c[v].pid, &st, WUNTRACED),
			    c[v].pid);
			ck_assert(WIFSTOPPED(st));
			if (atomic_load(&s.h->publock.owner) == c[v].pid)
				stopped_in++;
		}
		ck_assert_int_eq(kill(c[v].pid, SIGKILL), 0);
		ck_assert_int_eq(waitpid(c[v].pid, &status, 0), c[v].pid);
		ck_assert(WIFSIGNALED(status));
		kills++;
		master_reaps(c[v].pid, status);
		rp_spawn(&c[v], nsids++);
	}
	for (i = 0; i < RP_CHILDREN; i++) {
		kill(c[i].pid, SIGKILL);
		ck_assert_int_eq(waitpid(c[i].pid, &status, 0), c[i].pid);
		master_reaps(c[i].pid, status);
	}
	while (cur < ring_head(&s))
		rp_drain(seen, nsids, &lost, &quits);
	if (lost == 0)
		ck_assert_uint_eq(quits, kills + RP_CHILDREN);
	ck_assert_int_eq(atomic_load(&s.h->publock.owner), 0);
	ck_assert_int_eq(atomic_load(&s.h->tablock.owner), 0);
	ck_assert_int_eq(table_count(&s), 0);
	for (i = 0; i < nsids; i++)
		total += (uint64_t)seen[i].next;
	ck_assert_uint_gt(total, 0);
	fprintf(stderr,
	    "ring: %llu publishers killed at random, %llu of them holding "
	    "the publish lock (%d found stopped in it); %llu messages "
	    "checked, %llu lapped\n",
	    (unsigned long long)kills,
	    (unsigned long long)(atomic_load(&s.h->publock.takeovers) -
		takeovers0),
	    stopped_in, (unsigned long long)total, (unsigned long long)lost);
	free(seen);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The daemon: workers SIGKILLed while their clients chat flat out.    */
/* ------------------------------------------------------------------ */

#define NPUB 6	 /* clients that publish flat out in #lobby */
#define NREAD 5	 /* clients that only read #lobby */
#define NWATCH 3 /* clients in #probe only: the liveness probes */
#define NPEERS (NPUB + NREAD + NWATCH)
#define IN_CAP (512 * 1024)
#define OUT_CAP (16 * 1024)
/*
 * The bound on the time from a kill to the next line delivered.  Under
 * AddressSanitizer every process of the daemon runs several times slower.
 */
#if defined(__SANITIZE_ADDRESS__)
#define RESUME_MS 3000
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RESUME_MS 3000
#endif
#endif
#ifndef RESUME_MS
#define RESUME_MS 1000
#endif
#define TRACE_STEPS 2000000 /* instructions to single-step into the lock */

enum role { PUB, READ, WATCH };

struct peer {
	struct client *c;
	int fd;
	pid_t pid; /* its worker */
	enum role role;
	int sid;   /* as a publisher; -1 */
	int ready; /* a watcher: talks in #probe only */
	int in_backlog;
	char nick[NICK_MAX + 1];
	int *last;	     /* per sender: last sequence received, -1 */
	uint64_t *missed_at; /* per sender: MISSED when LAST came */
	uint64_t missed;     /* messages the server said we missed */
	size_t inlen, outlen, outoff;
	char in[IN_CAP];
	char out[OUT_CAP];
};

struct sender {
	char nick[NICK_MAX + 1];
	int next;    /* sequence of the next line to write */
	int sent;    /* lines wholly written to the socket */
	int maxseen; /* highest sequence any client received, -1 */
	int killed;
	int last_pub; /* killed: the last line it published, -1 */
	int exact;    /* last_pub was found in the ring, not guessed */
	int final;    /* the last line, once the flood is over; -1 */
};

struct kill {
	pid_t pid;
	char nick[NICK_MAX + 1]; /* as far as it had one */
	int greeted;		 /* its client was being served */
	int in_publock, in_tablock;
	int quit_seen; /* a survivor was told it quit */
};

static struct {
	struct daemon d;
	struct shm seg; /* read-only */
	struct peer *p[NPEERS];
	struct sender *snd;
	int nsids, maxsids;
	struct kill *k;
	int nk, maxk;
	int flooding;
	/* the probe awaited after a kill */
	int probe_id, probe_got;
	char probe_from[NICK_MAX + 1];
	/* what the summary reports */
	uint64_t lines, notices_missed, missed;
	int worst_resume, early, traced, no_ptrace;
	int phase[W_N];
} C;

static void
failf(const char *what, const struct peer *p, const char *line)
{
	ck_abort_msg("%s: client %s got \"%s\" (seed %llu)", what, p->nick,
	    line, (unsigned long long)rng_state);
}

static struct kill *
kill_by_nick(const char *nick)
{
	int i;

	for (i = 0; i < C.nk; i++)
		if (strcmp(C.k[i].nick, nick) == 0)
			return &C.k[i];
	return NULL;
}

/*
 * A line "<nick> C sid seq crc pad" from a publisher.  It must be intact,
 * wholly sent, not our own, after the last one of its sender, and follow
 * it directly unless the server said we missed at least as many.
 */
static void
got_data(struct peer *p, const char *nick, const char *body, const char *line)
{
	char want[300], pl[300];
	unsigned crc;
	int sid, seq, n = 0, last;
	struct sender *sd;

	if (sscanf(body, "C %d %d %8x %n", &sid, &seq, &crc, &n) != 3 || n == 0)
		failf("malformed line", p, line);
	if (sid < 0 || sid >= C.nsids)
		failf("unknown sender", p, line);
	sd = &C.snd[sid];
	if (strcmp(nick, sd->nick) != 0)
		failf("line under the wrong nickname", p, line);
	if (sid == p->sid)
		failf("own line echoed", p, line);
	if (seq < 0 || seq >= sd->sent)
		failf("line that was never wholly sent", p, line);
	payload(want, sizeof(want), sid, seq);
	snprintf(pl, sizeof(pl), "%d %d %s", sid, seq, body + n);
	if (strcmp(pl, want) != 0 || crc32(pl, strlen(pl)) != crc)
		failf("damaged line", p, line);
	last = p->last[sid];
	if (last >= 0 && seq <= last)
		failf(seq == last ? "line repeated" : "line out of order", p,
		    line);
	if (last >= 0 && seq > last + 1 &&
	    p->missed - p->missed_at[sid] < (uint64_t)(seq - last - 1))
		failf("lines lost without a notice", p, line);
	p->last[sid] = seq;
	p->missed_at[sid] = p->missed;
	if (seq > sd->maxseen)
		sd->maxseen = seq;
	C.lines++;
}

static void
got_notice(struct peer *p, const char *text, const char *line)
{
	unsigned long long n;
	char nick[64];
	struct kill *k;
	int m = 0;

	if (sscanf(text, "you missed %llu message", &n) == 1) {
		p->missed += n;
		C.missed += n;
		C.notices_missed++;
	} else if (sscanf(text, "%63s has quit (connection lost)%n", nick,
		       &m) == 1 &&
	    m > 0) {
		if ((k = kill_by_nick(nick)) == NULL)
			failf("quit of a client not killed", p, line);
		k->quit_seen = 1;
	} else if (strncmp(text, "last ", 5) == 0) {
		p->in_backlog = 1;
	} else if (strcmp(text, "end of backlog") == 0) {
		p->in_backlog = 0;
	} else if (strcmp(text, "you left #lobby; you now talk in #probe") ==
	    0) {
		p->ready = 1;
	} else if (strstr(text, " joined #lobby") == NULL &&
	    strstr(text, " joined #probe") == NULL &&
	    strstr(text, " left #lobby") == NULL)
		failf("unexpected notice", p, line);
}

static void
got_line(struct peer *p, char *line)
{
	char *gt, nick[NICK_MAX + 1];
	size_t n;
	int id;

	if (strncmp(line, "*** ", 4) == 0) {
		got_notice(p, line + 4, line);
		return;
	}
	/* a watcher talks in #probe before it has left #lobby */
	if (p->role == WATCH && strncmp(line, "[#lobby] ", 9) == 0)
		line += 9;
	if (line[0] != '<' || (gt = strstr(line, "> ")) == NULL ||
	    (n = (size_t)(gt - line - 1)) > NICK_MAX)
		failf("line of no known form", p, line);
	memcpy(nick, line + 1, n);
	nick[n] = '\0';
	if (gt[2] == 'C') {
		got_data(p, nick, gt + 2, line);
	} else if (sscanf(gt + 2, "P %d", &id) == 1) {
		/* the backlog of #probe replays old probes */
		if (p->in_backlog || id < C.probe_id)
			return;
		if (id > C.probe_id || strcmp(nick, C.probe_from) != 0)
			failf("probe nobody sent", p, line);
		if (strcmp(p->nick, C.probe_from) == 0)
			failf("own probe echoed", p, line);
		C.probe_got = 1;
	} else
		failf("line of no known form", p, line);
}

/*
 * Reads and checks what P's socket holds, a bounded amount so that a
 * socket the server keeps full cannot starve the others; returns -1 at
 * end of stream.
 */
static int
peer_read(struct peer *p)
{
	char *nl, *start;
	ssize_t n;
	size_t len;
	int round;

	for (round = 0; round < 4; round++) {
		n = recv(p->fd, p->in + p->inlen, IN_CAP - 1 - p->inlen,
		    MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return -1;
		p->inlen += (size_t)n;
		start = p->in;
		while ((nl = memchr(start, '\n',
			    p->inlen - (size_t)(start - p->in))) != NULL) {
			len = (size_t)(nl - start);
			if (len > 0 && start[len - 1] == '\r')
				len--;
			start[len] = '\0';
			got_line(p, start);
			start = nl + 1;
		}
		len = p->inlen - (size_t)(start - p->in);
		if (len >= IN_CAP - 1)
			failf("a line too long", p, "");
		memmove(p->in, start, len);
		p->inlen = len;
	}
	return 0;
}

/* Adds P's next line to what it has to send. */
static void
peer_line(struct peer *p)
{
	struct sender *sd = &C.snd[p->sid];
	char pl[300];
	int len;

	len = payload(pl, sizeof(pl), p->sid, sd->next);
	p->outlen += (size_t)snprintf(p->out + p->outlen, OUT_CAP - p->outlen,
	    "C %d %d %08x %s\n", p->sid, sd->next, crc32(pl, (size_t)len),
	    strchr(strchr(pl, ' ') + 1, ' ') + 1);
	sd->next++;
}

/* Writes what P has to send, making more lines while the flood is on. */
static void
peer_write(struct peer *p)
{
	struct sender *sd = &C.snd[p->sid];
	ssize_t n, i;

	if (p->outoff == p->outlen && C.flooding) {
		p->outoff = p->outlen = 0;
		while (OUT_CAP - p->outlen > 600)
			peer_line(p);
	}
	while (p->outoff < p->outlen) {
		n = send(p->fd, p->out + p->outoff, p->outlen - p->outoff,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0)
			ck_abort_msg("publisher %s: send: %s", p->nick,
			    strerror(errno));
		for (i = 0; i < n; i++)
			if (p->out[p->outoff + (size_t)i] == '\n')
				sd->sent++;
		p->outoff += (size_t)n;
	}
}

/* One round of the event loop: waits up to MS for any socket. */
static void
pump(int ms)
{
	struct pollfd pfd[NPEERS];
	int idx[NPEERS], n = 0, i;
	struct peer *p;

	for (i = 0; i < NPEERS; i++) {
		if ((p = C.p[i]) == NULL)
			continue;
		pfd[n].fd = p->fd;
		pfd[n].events = POLLIN;
		if (p->role == PUB && (C.flooding || p->outoff < p->outlen))
			pfd[n].events |= POLLOUT;
		idx[n++] = i;
	}
	if (poll(pfd, (nfds_t)n, ms) <= 0)
		return;
	for (i = 0; i < n; i++) {
		p = C.p[idx[i]];
		if ((pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    peer_read(p) == -1)
			ck_abort_msg("the server closed %s, which was not "
				     "killed (seed %llu)",
			    p->nick, (unsigned long long)rng_state);
		if (pfd[i].revents & POLLOUT)
			peer_write(p);
	}
}

static void
run_for(int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;

	while (now_ms() < end)
		pump(5);
}

/* Reads the worker's pid from the master's "connect" line after MARK. */
static pid_t
worker_of(struct client *c, size_t mark)
{
	char needle[64], line[256], *w;

	snprintf(needle, sizeof(needle), "connect peer=127.0.0.1:%d ",
	    client_port(c));
	if (daemon_wait_log_from(&C.d, mark, needle, line, sizeof(line),
		T_TIMEOUT) == -1 ||
	    (w = strstr(line, " worker=")) == NULL)
		ck_abort_msg("no \"%s\" in the log", needle);
	return (pid_t)atol(w + strlen(" worker="));
}

static struct peer *
peer_new(enum role role)
{
	size_t mark = daemon_log_len(&C.d);
	uint64_t end;
	struct peer *p;
	int i, one = 1;

	ck_assert_ptr_nonnull(p = calloc(1, sizeof(*p)));
	p->c = client_greeted(&C.d, p->nick, sizeof(p->nick));
	if (p->c == NULL)
		ck_abort_msg("a new client was not greeted");
	p->fd = p->c->fd;
	/* a probe must not wait for Nagle's algorithm */
	setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* what the greeting read past "you joined" is ours to check */
	memcpy(p->in, p->c->buf, p->c->len);
	p->inlen = p->c->len;
	p->c->len = 0;
	p->pid = worker_of(p->c, mark);
	p->last = malloc((size_t)C.maxsids * sizeof(*p->last));
	p->missed_at = calloc((size_t)C.maxsids, sizeof(*p->missed_at));
	ck_assert(p->last != NULL && p->missed_at != NULL);
	for (i = 0; i < C.maxsids; i++)
		p->last[i] = -1;
	p->role = role;
	p->sid = -1;
	if (role == PUB) {
		ck_assert_int_lt(C.nsids, C.maxsids);
		p->sid = C.nsids++;
		memset(&C.snd[p->sid], 0, sizeof(C.snd[p->sid]));
		strlcpy_(C.snd[p->sid].nick, p->nick, sizeof(p->nick));
		C.snd[p->sid].maxseen = -1;
		C.snd[p->sid].last_pub = -1;
		C.snd[p->sid].final = -1;
	}
	if (role == WATCH) {
		client_send(p->c, "/join #probe\n/part #lobby\n");
		end = now_ms() + (uint64_t)T_TIMEOUT;
		while (!p->ready && now_ms() < end) {
			if (peer_read(p) == -1)
				ck_abort_msg("watcher %s closed", p->nick);
			pump(5);
		}
		ck_assert_msg(p->ready, "watcher %s never left #lobby",
		    p->nick);
	}
	return p;
}

static void
peer_free(struct peer *p)
{
	client_close(p->c);
	free(p->last);
	free(p->missed_at);
	free(p);
}

/* Whether every thread of PID is stopped. */
static int
all_stopped(pid_t pid)
{
	char path[64], buf[512], *q;
	struct dirent *e;
	int fd, stopped = 1, n = 0;
	ssize_t r;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
	if ((dir = opendir(path)) == NULL)
		return 0;
	while (stopped && (e = readdir(dir)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/task/%ld/stat",
		    (long)pid, atol(e->d_name));
		if ((fd = open(path, O_RDONLY)) == -1)
			continue;
		r = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (r <= 0)
			continue;
		buf[r] = '\0';
		q = strrchr(buf, ')');
		stopped = q != NULL && (q[2] == 'T' || q[2] == 't');
		n++;
	}
	closedir(dir);
	return stopped && n > 0;
}

static struct kill *
kill_record(pid_t pid, const char *nick)
{
	struct kill *k;
	uint32_t i;

	ck_assert_int_lt(C.nk, C.maxk);
	k = &C.k[C.nk++];
	memset(k, 0, sizeof(*k));
	k->pid = pid;
	k->greeted = nick[0] != '\0';
	strlcpy_(k->nick, nick, sizeof(k->nick));
	k->in_publock = atomic_load(&C.seg.h->publock.owner) == pid;
	k->in_tablock = atomic_load(&C.seg.h->tablock.owner) == pid;
	/* a worker killed while starting may have a nickname already */
	for (i = 0; nick[0] == '\0' && i < C.seg.h->nrows; i++)
		if (atomic_load(&C.seg.rows[i].pid) == pid &&
		    atomic_load(&C.seg.rows[i].state) != ROW_FREE)
			memcpy(k->nick, C.seg.rows[i].nick, sizeof(k->nick));
	k->nick[NICK_MAX] = '\0';
	return k;
}

/*
 * Kills worker PID at whatever instruction it is at: stops it, notes
 * which locks it holds (the lock words name their owner), and SIGKILLs
 * it.
 */
static void
kill_worker(pid_t pid, const char *nick)
{
	uint64_t end = now_ms() + (uint64_t)T_TIMEOUT;

	ck_assert_int_eq(kill(pid, SIGSTOP), 0);
	while (!all_stopped(pid)) {
		if (now_ms() >= end)
			ck_abort_msg("worker %ld would not stop", (long)pid);
		sched_yield();
	}
	kill_record(pid, nick);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
}

/*
 * Waits for traced worker PID to stop after a resume, keeping the flood
 * going meanwhile (a worker waiting for lines needs them), and returns
 * the signal to pass on when it is resumed: none for a trap.
 */
static int
await_stop(pid_t pid, uint64_t end, int *status)
{
	pid_t r;
	int n;

	for (n = 0; (r = waitpid(pid, status, __WALL | WNOHANG)) == 0; n++) {
		if (n < 100)
			sched_yield();
		else
			pump(1);
		if (now_ms() > end + (uint64_t)T_TIMEOUT)
			ck_abort_msg("worker %ld never stopped", (long)pid);
	}
	if (r != pid || !WIFSTOPPED(*status))
		ck_abort_msg("tracing worker %ld failed", (long)pid);
	return (WSTOPSIG(*status) & 0x7f) == SIGTRAP ? 0 : WSTOPSIG(*status);
}

/*
 * Lets traced worker PID run to the end of a read that got its client's
 * lines: publishing them comes next.  In between reads a worker copies the
 * ring to its client, thousands of instructions a line, through which
 * single-stepping would crawl for the whole time allowed.
 */
static void
run_to_input(pid_t pid, uint64_t end)
{
	struct __ptrace_syscall_info si;
	uint64_t nr = (uint64_t)-1;
	int status, sig = 0;

	while (now_ms() < end) {
		if (ptrace(PTRACE_SYSCALL, pid, NULL, (void *)(long)sig) == -1)
			ck_abort_msg("resuming worker %ld failed", (long)pid);
		sig = await_stop(pid, end, &status);
		if (WSTOPSIG(status) != (SIGTRAP | 0x80))
			continue;
		if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, (void *)sizeof(si),
			&si) <= 0)
			return; /* not this kernel: step from here */
		if (si.op == PTRACE_SYSCALL_INFO_ENTRY)
			nr = si.entry.nr;
		else if (si.op == PTRACE_SYSCALL_INFO_EXIT &&
		    (nr == SYS_recvfrom || nr == SYS_read) &&
		    si.exit.rval > 0)
			return;
	}
}

/*
 * Kills publisher P's worker inside the publish lock: runs it to a read of
 * its client's lines, then single-steps it until it holds the lock and
 * has got to WANT, and SIGKILLs it there.  Returns 0, or -1 if ptrace is
 * not allowed here.
 */
static int
kill_in_lock(struct peer *p, enum where want)
{
	pid_t pid = p->pid;
	uint64_t h0 = 0, end = now_ms() + (uint64_t)T_TIMEOUT;
	int status, sig = 0, held = 0;
	enum where w = W_BEFORE;
	long i;

	if (ptrace(PTRACE_SEIZE, pid, NULL, (void *)PTRACE_O_TRACESYSGOOD) ==
	    -1)
		return -1;
	if (ptrace(PTRACE_INTERRUPT, pid, NULL, NULL) == -1 ||
	    waitpid(pid, &status, __WALL) != pid)
		ck_abort_msg("cannot stop worker %ld", (long)pid);
	run_to_input(pid, end);
	for (i = 0; i < TRACE_STEPS && now_ms() < end; i++) {
		if (ptrace(PTRACE_SINGLESTEP, pid, NULL, (void *)(long)sig) ==
		    -1)
			ck_abort_msg("single-stepping worker %ld failed",
			    (long)pid);
		/* a signal for the worker is passed on, not swallowed */
		sig = await_stop(pid, end, &status);
		if (!held) {
			if (atomic_load(&C.seg.h->publock.owner) != pid)
				continue;
			held = 1;
			h0 = atomic_load(&C.seg.h->head);
		}
		w = where_in(&C.seg, pid, h0);
		if (w >= want || w == W_AFTER)
			break;
	}
	kill_record(pid, p->nick);
	C.phase[w]++;
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	/* the tracer hears of the death first; the master waits on us */
	ck_assert_int_eq(waitpid(pid, &status, __WALL), pid);
	C.traced++;
	return 0;
}

/* RESUME_MS, stretched as the harness's timeout is (valgrind). */
static int
resume_bound(void)
{
	return T_TIMEOUT > 5000 ? RESUME_MS * (T_TIMEOUT / 5000) : RESUME_MS;
}

/*
 * Liveness after a kill at T0: a line a surviving watcher sends in #probe
 * must reach another survivor within RESUME_MS.  The watchers are out of
 * the flood, so nothing queues ahead of the probe: the time is that of
 * the ring and its repair.
 */
static void
probe(uint64_t t0)
{
	uint64_t end = now_ms() + (uint64_t)T_TIMEOUT;
	struct peer *from = NULL;
	int i, n = 0, ms;

	for (i = 0; i < NPEERS; i++)
		if (C.p[i] != NULL && C.p[i]->role == WATCH &&
		    rnd((uint32_t)++n) == 0)
			from = C.p[i];
	ck_assert_int_ge(n, 2);
	strlcpy_(C.probe_from, from->nick, sizeof(C.probe_from));
	C.probe_id++;
	C.probe_got = 0;
	ck_assert_int_eq(client_send(from->c, "P %d\n", C.probe_id), 0);
	while (!C.probe_got && now_ms() < end)
		pump(5);
	ms = (int)(now_ms() - t0);
	if (!C.probe_got || ms > resume_bound()) {
		struct kill *k = &C.k[C.nk - 1];
		struct shm_header *h = C.seg.h;
		size_t len = daemon_log_len(&C.d);

		pthread_mutex_lock(&C.d.mu);
		fprintf(stderr, "%s\n",
		    C.d.log + (len > 3000 ? len - 3000 : 0));
		pthread_mutex_unlock(&C.d.mu);
		ck_abort_msg("publishing %s %d ms after a kill (seed %llu): "
			     "killed %ld %s in publock %d in tablock %d "
			     "(traced %d); now publock owner %d waiters %d, "
			     "tablock owner %d waiters %d, head %llu",
		    C.probe_got ? "resumed only" : "had not resumed", ms,
		    (unsigned long long)rng_state, (long)k->pid, k->nick,
		    k->in_publock, k->in_tablock, C.traced,
		    (int)atomic_load(&h->publock.owner),
		    (int)atomic_load(&h->publock.waiters),
		    (int)atomic_load(&h->tablock.owner),
		    (int)atomic_load(&h->tablock.waiters),
		    (unsigned long long)atomic_load(&h->head));
	}
	if (ms > C.worst_resume)
		C.worst_resume = ms;
}

/* A new connection whose worker is killed before or while it starts. */
static void
early_kill(void)
{
	size_t mark = daemon_log_len(&C.d);
	struct client *c;
	pid_t pid;

	ck_assert_ptr_nonnull(c = client_open(C.d.port));
	pid = worker_of(c, mark);
	if (rnd(2))
		sleep_us(rnd(3000));
	kill_worker(pid, "");
	client_close(c);
	C.early++;
}

static int
kills_wanted(void)
{
	const char *e = getenv("CHAOS_KILLS");
	int n = e != NULL ? atoi(e) : 0;

	return n > 0 ? n : DEFAULT_KILLS;
}

/*
 * Finds the last line killed sender SID published, reading the ring
 * through the read-only mapping (ring_read() writes nothing shared): the
 * lines after it are the ones it had not published when it died, the only
 * ones it may lose.
 */
static void
last_published(int sid)
{
	struct sender *sd = &C.snd[sid];
	uint64_t head = atomic_load(&C.seg.h->head), cursor, seq, lost = 0;
	uint64_t lost_then = 0;
	struct msg m;
	int id, k;

	cursor = head > C.seg.h->nslots ? head - C.seg.h->nslots : 0;
	sd->last_pub = -1;
	while (cursor < head && ring_read(&C.seg, &cursor, &m, &seq, &lost))
		if (m.type == MSG_TEXT &&
		    sscanf(m.text, "C %d %d ", &id, &k) == 2 && id == sid &&
		    k > sd->last_pub) {
			sd->last_pub = k;
			lost_then = lost;
		}
	/*
	 * Its lines come in ring order, so the last one found is the last
	 * one published, unless the flood overwrote what came after it:
	 * before the scan began (none of its lines left), or while it ran
	 * (slots skipped after it).  Then what someone saw is the best
	 * known, a lower bound that lines still on their way may pass.
	 */
	sd->exact = sd->last_pub >= 0 && lost == lost_then;
	if (sd->maxseen > sd->last_pub)
		sd->last_pub = sd->maxseen;
}

/* Whether no publisher, dead or alive, owes wake-ups. */
static int
nobody_owes(void)
{
	return ring_owing(&C.seg) == 0;
}

/* Whether every survivor has every surviving publisher's last line. */
static int
finals_in(void)
{
	int i, j, sid;

	for (i = 0; i < NPEERS; i++)
		for (j = 0; j < NPEERS; j++) {
			if (i == j || C.p[j]->role != PUB ||
			    C.p[i]->role == WATCH)
				continue;
			sid = C.p[j]->sid;
			if (C.p[i]->last[sid] != C.snd[sid].final)
				return 0;
		}
	return 1;
}

/* Zombies among the children of PARENT. */
static int
zombies_of(pid_t parent)
{
	char path[64], buf[512], *q;
	struct dirent *e;
	int fd, n = 0;
	long ppid;
	ssize_t r;
	DIR *dir;

	ck_assert_ptr_nonnull(dir = opendir("/proc"));
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", atol(e->d_name));
		if ((fd = open(path, O_RDONLY)) == -1)
			continue;
		r = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (r <= 0)
			continue;
		buf[r] = '\0';
		if ((q = strrchr(buf, ')')) == NULL ||
		    sscanf(q + 2, "%*c %ld", &ppid) != 1)
			continue;
		if (ppid == (long)parent && q[2] == 'Z')
			n++;
	}
	closedir(dir);
	return n;
}

/* Runs the event loop until COND() or MS have passed; returns COND(). */
static int
await(int (*cond)(void), int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;

	while (!cond() && now_ms() < end)
		pump(5);
	return cond();
}

static int
flushed(void)
{
	int i;

	for (i = 0; i < NPEERS; i++)
		if (C.p[i]->role == PUB && C.p[i]->outoff < C.p[i]->outlen)
			return 0;
	return 1;
}

static int reaped_upto; /* kills whose reaping the log has shown */

static int
all_reaped(void)
{
	char needle[64];
	int v, times;

	for (; reaped_upto < C.nk; reaped_upto++) {
		snprintf(needle, sizeof(needle),
		    "worker killed pid=%ld signal=9",
		    (long)C.k[reaped_upto].pid);
		for (v = times = 0; v <= reaped_upto; v++)
			times += C.k[v].pid == C.k[reaped_upto].pid;
		/* a pid may come back for another worker */
		if (daemon_log_count(&C.d, needle) < times)
			return 0;
	}
	return 1;
}

/* Client I of the population, which keeps its role when replaced. */
static enum role
role_of(int i)
{
	if (i < NPUB)
		return PUB;
	return i < NPUB + NREAD ? READ : WATCH;
}

START_TEST(workers_killed_while_clients_chat)
{
	const char *const args[] = {"-l", "0", "-a", "0", "-s", "32768", NULL};
	int kills = kills_wanted(), i, v, in_pub = 0, in_tab = 0, rows, traced;
	int sid, lost_tail = 0, guessed = 0;
	enum where want;
	int repairs, tabrepairs, pubkills = 0;
	char needle[128], nx[32];
	struct client *x, *y;
	enum role role;
	uint64_t t0, start = now_ms();

	rng_seed();
	memset(&C, 0, sizeof(C));
	reaped_upto = 0;
	C.maxk = kills + 1;
	C.maxsids = NPUB + kills + 1;
	C.k = calloc((size_t)C.maxk, sizeof(*C.k));
	C.snd = calloc((size_t)C.maxsids, sizeof(*C.snd));
	ck_assert(C.k != NULL && C.snd != NULL);
	ck_assert_msg(daemon_start(&C.d, args) == 0, "chatd did not start: %s",
	    C.d.log ? C.d.log : "");
	ck_assert_int_eq(shm_attach_ro(&C.seg, C.d.segname), 0);
	for (i = 0; i < NPEERS; i++)
		C.p[i] = peer_new(role_of(i));
	C.flooding = 1;
	run_for(100);
	while (C.nk < kills) {
		/* pacing: publishing goes on between kills */
		run_for(10 + (int)rnd(30));
		if (rnd(8) == 0) {
			early_kill();
			continue;
		}
		v = (int)rnd(NPEERS);
		/* every fifth, a publisher killed inside the publish lock */
		traced = 0;
		if (C.nk % 5 == 2 && !C.no_ptrace) {
			v = (int)rnd(NPUB);
			want = (enum where)(W_LOCKED + rnd(W_AFTER - W_LOCKED));
			if (kill_in_lock(C.p[v], want) == 0)
				traced = 1;
			else
				C.no_ptrace = 1;
		}
		role = C.p[v]->role;
		if (!traced)
			kill_worker(C.p[v]->pid, C.p[v]->nick);
		t0 = now_ms();
		sid = C.p[v]->sid;
		if (role == PUB) {
			C.snd[sid].killed = 1;
			pubkills++;
		}
		peer_free(C.p[v]);
		C.p[v] = NULL;
		probe(t0);
		/* the repair is done by now: what did it publish in all? */
		if (role == PUB)
			last_published(sid);
		C.p[v] = peer_new(role);
	}

	/* the flood is over: let what was written be published */
	C.flooding = 0;
	ck_assert_msg(await(flushed, T_TIMEOUT), "publishers stuck");
	/* every killed worker reaped; its QUIT is in the ring by then */
	ck_assert_msg(await(all_reaped, T_TIMEOUT),
	    "worker %ld killed but not reaped", (long)C.k[reaped_upto].pid);
	/* each publisher's last line: everything before it must come */
	for (i = 0; i < NPEERS; i++)
		if (C.p[i]->role == PUB) {
			C.snd[C.p[i]->sid].final = C.snd[C.p[i]->sid].next;
			C.p[i]->outoff = C.p[i]->outlen = 0;
			peer_line(C.p[i]);
			peer_write(C.p[i]);
		}
	ck_assert_msg(await(finals_in, 2 * T_TIMEOUT),
	    "survivors did not get every line of the surviving publishers");
	/* the dead owed wake-ups until reaped; the living are done waking */
	ck_assert_msg(await(nobody_owes, T_TIMEOUT),
	    "%u publishers still owe wake-ups", ring_owing(&C.seg));
	/*
	 * A killed publisher lost only the lines it had not published: each
	 * survivor that had its lines got all of them up to the last one it
	 * published, unless told it missed as many.
	 */
	for (v = 0; v < C.nsids; v++) {
		struct sender *sd = &C.snd[v];

		if (!sd->killed)
			continue;
		if (sd->exact)
			ck_assert_int_le(sd->maxseen, sd->last_pub);
		else {
			guessed++;
			if (sd->maxseen > sd->last_pub)
				sd->last_pub = sd->maxseen;
		}
		lost_tail += sd->sent - 1 - sd->last_pub;
		for (i = 0; i < NPEERS; i++) {
			struct peer *p = C.p[i];
			int gap = sd->last_pub - p->last[v];

			/* watchers left #lobby: their lines stop there */
			if (p->role == WATCH || p->last[v] < 0 || gap == 0)
				continue;
			ck_assert_msg(p->missed - p->missed_at[v] >=
				(uint64_t)gap,
			    "%s: %d lines of %s never came and were not said "
			    "missed",
			    p->nick, gap, sd->nick);
		}
	}
	for (i = 0; i < C.nk; i++) {
		if (C.k[i].greeted)
			ck_assert_msg(C.k[i].quit_seen,
			    "nobody was told %s quit", C.k[i].nick);
		in_pub += C.k[i].in_publock;
		in_tab += C.k[i].in_tablock;
	}
	/* a repair line for each kill inside the publish lock */
	repairs = daemon_log_count(&C.d, "lock=publish");
	tabrepairs = daemon_log_count(&C.d, "lock=table");
	for (i = 0; i < C.nk; i++) {
		snprintf(needle, sizeof(needle),
		    "repair: worker died holding a lock pid=%ld lock=publish",
		    (long)C.k[i].pid);
		if (C.k[i].in_publock)
			ck_assert_msg(daemon_log_has(&C.d, needle),
			    "no \"%s\" in the log (%d kills inside the lock, "
			    "%d repair lines, %llu takeovers)",
			    needle, in_pub, repairs,
			    (unsigned long long)atomic_load(
				&C.seg.h->publock.takeovers));
	}
	ck_assert_int_eq(repairs, in_pub);
	/* nothing wedged, leaked or unreaped */
	ck_assert_int_eq(atomic_load(&C.seg.h->publock.owner), 0);
	ck_assert_int_eq(atomic_load(&C.seg.h->tablock.owner), 0);
	rows = 0;
	for (i = 0; i < (int)C.seg.h->nrows; i++) {
		if (atomic_load(&C.seg.rows[i].state) == ROW_FREE)
			continue;
		rows++;
		for (v = 0; v < NPEERS; v++)
			if (C.p[v]->pid == atomic_load(&C.seg.rows[i].pid))
				break;
		ck_assert_msg(v < NPEERS,
		    "row %d is held by %ld, no live client's worker", i,
		    (long)atomic_load(&C.seg.rows[i].pid));
	}
	ck_assert_int_eq(rows, NPEERS);
	ck_assert_int_eq(zombies_of(C.d.pid), 0);
	/* and the daemon still serves */
	ck_assert_ptr_nonnull(x = client_greeted(&C.d, nx, sizeof(nx)));
	ck_assert_ptr_nonnull(y = client_greeted(&C.d, NULL, 0));
	client_send(x, "after the chaos\n");
	snprintf(needle, sizeof(needle), "<%s> after the chaos", nx);
	ck_assert_int_eq(client_expect(y, needle, NULL, 0), 0);
	client_close(x);
	client_close(y);
	fprintf(stderr,
	    "chaos: %d kills in %.1f s (seed %llu): %d publishers, %d "
	    "others, %d while starting; %d inside the publish lock (%d "
	    "single-stepped there: %d holding it, %d half-way writing, %d "
	    "committed, %d published), %d inside the table lock; repair "
	    "lines: %d publish lock, %d table lock; worst time to resume "
	    "%d ms; %llu lines checked, %llu missed in %llu notices, %d "
	    "unpublished lines of killed publishers (for %d of them, the "
	    "last published was overwritten before it was found)%s\n",
	    C.nk, (double)(now_ms() - start) / 1000.0,
	    (unsigned long long)rng_state, pubkills, C.nk - pubkills - C.early,
	    C.early, in_pub,
	    C.phase[W_LOCKED] + C.phase[W_WRITING] + C.phase[W_COMMITTED] +
		C.phase[W_PUBLISHED],
	    C.phase[W_LOCKED], C.phase[W_WRITING], C.phase[W_COMMITTED],
	    C.phase[W_PUBLISHED], in_tab, repairs, tabrepairs, C.worst_resume,
	    (unsigned long long)C.lines, (unsigned long long)C.missed,
	    (unsigned long long)C.notices_missed, lost_tail, guessed,
	    C.no_ptrace ? "; no ptrace here" : "");
	for (i = 0; i < NPEERS; i++) {
		peer_free(C.p[i]);
		C.p[i] = NULL;
	}
	shm_detach(&C.seg);
	ck_assert_int_eq(daemon_stop(&C.d), 0);
	ck_assert_int_eq(daemon_leftovers(&C.d), 0);
	daemon_free(&C.d);
	free(C.k);
	free(C.snd);
}
END_TEST

static Suite *
chaos_suite(void)
{
	Suite *su = suite_create("chaos");
	TCase *tc;

	tc = tcase_create("ring");
	tcase_add_checked_fixture(tc, ring_setup, ring_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, stopped_lock_holder_is_already_its_owner);
	tcase_add_test(tc, publisher_killed_at_every_instruction);
	tcase_add_test(tc, publishers_killed_at_random_moments);
	suite_add_tcase(su, tc);

	tc = tcase_create("daemon");
	tcase_add_unchecked_fixture(tc, harness_init, harness_cleanup);
	tcase_set_timeout(tc, 60 + kills_wanted());
	tcase_add_test(tc, workers_killed_while_clients_chat);
	suite_add_tcase(su, tc);
	return su;
}

int
main(void)
{
	return harness_run(chaos_suite());
}
