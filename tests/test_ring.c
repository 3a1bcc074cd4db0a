/*
 * test_ring.c - the message ring: publish, read, laps, backlog, repair,
 * wake-ups, in one process and across several.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "../common/util.h"

static struct shm s;

static void
setup_small(void)
{
	scratch_shm(&s, 8, 64);
}

static void
teardown(void)
{
	shm_detach(&s);
}

static void
text_msg(struct msg *m, int sender, const char *room, const char *text)
{
	memset(m, 0, sizeof(*m));
	m->type = MSG_TEXT;
	m->sender = sender;
	m->target = TARGET_ALL;
	strcpy(m->room, room);
	m->room_hash = room_hash(room);
	strcpy(m->nick, "n");
	m->len = (uint16_t)strlen(text);
	memcpy(m->text, text, m->len + 1);
}

static uint64_t
publish_text(int sender, const char *room, const char *text)
{
	struct msg m;

	text_msg(&m, sender, room, text);
	return ring_publish(&s, &m);
}

START_TEST(empty_ring_reads_nothing)
{
	struct msg m;
	uint64_t cur = 0, seq, lost = 0;

	ck_assert_uint_eq(ring_head(&s), 0);
	ck_assert_int_eq(ring_read(&s, &cur, &m, &seq, &lost), 0);
	ck_assert_uint_eq(lost, 0);
	ck_assert_uint_eq(cur, 0);
}
END_TEST

START_TEST(publish_then_read_in_order)
{
	struct msg m;
	uint64_t cur = 0, seq, lost = 0;
	char text[32];
	int i;

	for (i = 0; i < 10; i++) {
		snprintf(text, sizeof(text), "line %d", i);
		ck_assert_uint_eq(publish_text(1, "#a", text), (uint64_t)i);
	}
	ck_assert_uint_eq(ring_head(&s), 10);
	for (i = 0; i < 10; i++) {
		ck_assert_int_eq(ring_read(&s, &cur, &m, &seq, &lost), 1);
		snprintf(text, sizeof(text), "line %d", i);
		ck_assert_uint_eq(seq, (uint64_t)i);
		ck_assert_str_eq(m.text, text);
		ck_assert_uint_eq(m.len, strlen(text));
		ck_assert_str_eq(m.room, "#a");
	}
	ck_assert_int_eq(ring_read(&s, &cur, &m, &seq, &lost), 0);
	ck_assert_uint_eq(lost, 0);
}
END_TEST

START_TEST(text_lengths_at_the_limits)
{
	struct msg m, out;
	uint64_t cur = 0, seq, lost = 0;

	text_msg(&m, 1, "#a", "");
	ring_publish(&s, &m);
	memset(m.text, 'z', TEXT_MAX);
	m.len = TEXT_MAX;
	ring_publish(&s, &m);
	/* an oversized length is clamped, never overflows a slot */
	memset(m.text, 'y', TEXT_MAX + 1);
	m.len = TEXT_MAX + 1;
	ring_publish(&s, &m);
	ck_assert_int_eq(ring_read(&s, &cur, &out, &seq, &lost), 1);
	ck_assert_uint_eq(out.len, 0);
	ck_assert_str_eq(out.text, "");
	ck_assert_int_eq(ring_read(&s, &cur, &out, &seq, &lost), 1);
	ck_assert_uint_eq(out.len, TEXT_MAX);
	ck_assert_uint_eq(strlen(out.text), TEXT_MAX);
	ck_assert_int_eq(ring_read(&s, &cur, &out, &seq, &lost), 1);
	ck_assert_uint_eq(out.len, TEXT_MAX);
	ck_assert_uint_eq(strlen(out.text), TEXT_MAX);
}
END_TEST

START_TEST(lapped_reader_counts_exactly_what_it_lost)
{
	struct msg m;
	uint64_t cur = 0, seq, lost = 0, n = s.h->nslots;
	char text[32];
	uint64_t i;

	for (i = 0; i < n + 100; i++) {
		snprintf(text, sizeof(text), "%llu", (unsigned long long)i);
		publish_text(1, "#a", text);
	}
	ck_assert_int_eq(ring_read(&s, &cur, &m, &seq, &lost), 1);
	ck_assert_uint_eq(lost, 100);
	ck_assert_uint_eq(seq, 100);
	ck_assert_str_eq(m.text, "100");
	for (i = 101; i < n + 100; i++) {
		ck_assert_int_eq(ring_read(&s, &cur, &m, &seq, &lost), 1);
		ck_assert_uint_eq(seq, i);
	}
	ck_assert_int_eq(ring_read(&s, &cur, &m, &seq, &lost), 0);
	ck_assert_uint_eq(lost, 100);
}
END_TEST

START_TEST(lapped_midway_counts_again)
{
	struct msg m;
	uint64_t cur = 0, seq, lost = 0, n = s.h->nslots;
	uint64_t i;

	for (i = 0; i < 10; i++)
		publish_text(1, "#a", "x");
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(ring_read(&s, &cur, &m, &seq, &lost), 1);
	for (i = 0; i < 3 * n; i++)
		publish_text(1, "#a", "y");
	/* head is 10 + 3n; the oldest kept is 10 + 2n; read from 5 */
	ck_assert_int_eq(ring_read(&s, &cur, &m, &seq, &lost), 1);
	ck_assert_uint_eq(lost, 5 + 2 * n);
	ck_assert_uint_eq(seq, 10 + 2 * n);
}
END_TEST

START_TEST(backlog_returns_the_latest_of_a_room)
{
	struct msg out[10];
	char text[32];
	size_t n;
	int i;

	for (i = 0; i < 20; i++) {
		snprintf(text, sizeof(text), "a%d", i);
		publish_text(1, "#a", text);
		snprintf(text, sizeof(text), "b%d", i);
		publish_text(1, "#b", text);
	}
	n = ring_backlog(&s, ring_head(&s), room_hash("#a"), "#a", 5, out);
	ck_assert_uint_eq(n, 5);
	for (i = 0; i < 5; i++) {
		snprintf(text, sizeof(text), "a%d", 15 + i);
		ck_assert_str_eq(out[i].text, text);
	}
	/* only what came before the given number */
	n = ring_backlog(&s, 2, room_hash("#b"), "#b", 5, out);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(out[0].text, "b0");
	n = ring_backlog(&s, ring_head(&s), room_hash("#c"), "#c", 5, out);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(backlog_skips_other_kinds_and_stops_at_overwritten)
{
	struct msg m, out[100];
	size_t n;
	int i;

	text_msg(&m, 1, "#a", "join");
	m.type = MSG_JOIN;
	ring_publish(&s, &m);
	publish_text(1, "#a", "said");
	n = ring_backlog(&s, ring_head(&s), room_hash("#a"), "#a", 10, out);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(out[0].text, "said");
	/* the ring holds 64: a backlog of 100 finds at most what is left */
	for (i = 0; i < 200; i++)
		publish_text(1, "#a", "more");
	n = ring_backlog(&s, ring_head(&s), room_hash("#a"), "#a", 100, out);
	ck_assert_uint_le(n, s.h->nslots);
	ck_assert_uint_ge(n, s.h->nslots - 1);
}
END_TEST

/* a backlog starts at the latest text: the joins and notices after it,
 * most of a ring after a storm of connections, are not read */
START_TEST(backlog_starts_at_the_latest_text)
{
	struct msg m, out[10];
	size_t n;
	int i;

	_Atomic uint64_t *chain = text_chain(s.cold, room_hash("#a"));

	ck_assert_uint_eq(atomic_load(chain), 0);
	text_msg(&m, 1, "#a", "join");
	m.type = MSG_JOIN;
	for (i = 0; i < 20; i++)
		ring_publish(&s, &m);
	/* no text yet: nothing, whatever the ring holds */
	n = ring_backlog(&s, ring_head(&s), room_hash("#a"), "#a", 10, out);
	ck_assert_uint_eq(n, 0);
	publish_text(1, "#a", "first");
	ck_assert_uint_eq(atomic_load(chain), ring_head(&s));
	publish_text(1, "#b", "other");
	/* #b's chain is another */
	ck_assert_uint_eq(atomic_load(chain), ring_head(&s) - 1);
	for (i = 0; i < 30; i++)
		ring_publish(&s, &m);
	n = ring_backlog(&s, ring_head(&s), room_hash("#a"), "#a", 10, out);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(out[0].text, "first");
	/* an action counts as text */
	text_msg(&m, 1, "#a", "waves");
	m.type = MSG_ACTION;
	ring_publish(&s, &m);
	ck_assert_uint_eq(atomic_load(chain), ring_head(&s));
	n = ring_backlog(&s, ring_head(&s), room_hash("#a"), "#a", 10, out);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(out[1].text, "waves");
}
END_TEST

/* A room name other than ROOM whose chain is ROOM's. */
static void
chain_mate(const char *room, char *out, size_t size)
{
	_Atomic uint64_t *want = text_chain(s.cold, room_hash(room));
	int i;

	for (i = 0; i < 1000000; i++) {
		snprintf(out, size, "#r%d", i);
		if (text_chain(s.cold, room_hash(out)) == want &&
		    room_hash(out) != room_hash(room))
			return;
	}
	ck_abort_msg("no room shares a chain with %s", room);
}

/*
 * Each text links to the one before it in its chain, so a join into a
 * quiet room reads that room's lines, not the ring of a busy one: three
 * lines of #quiet under 50 of #busy are found in four links.
 */
START_TEST(backlog_follows_the_room_chain)
{
	struct msg out[10], m;
	uint64_t q[3], seq, cur;
	uint64_t lost = 0;
	size_t n;
	int i;

	q[0] = publish_text(1, "#quiet", "q0");
	q[1] = publish_text(1, "#quiet", "q1");
	for (i = 0; i < 50; i++)
		publish_text(1, "#busy", "b");
	q[2] = publish_text(1, "#quiet", "q2");
	ck_assert_uint_eq(
	    atomic_load(text_chain(s.cold, room_hash("#quiet"))),
	    q[2] + 1);
	/* the links, as a reader sees them */
	cur = q[2];
	ck_assert_int_eq(ring_read(&s, &cur, &m, &seq, &lost), 1);
	ck_assert_uint_eq(m.prev_text, q[1] + 1);
	cur = q[1];
	ck_assert_int_eq(ring_read(&s, &cur, &m, &seq, &lost), 1);
	ck_assert_uint_eq(m.prev_text, q[0] + 1);
	cur = q[0];
	ck_assert_int_eq(ring_read(&s, &cur, &m, &seq, &lost), 1);
	ck_assert_uint_eq(m.prev_text, 0);
	n = ring_backlog(&s, ring_head(&s), room_hash("#quiet"), "#quiet", 10,
	    out);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(out[0].text, "q0");
	ck_assert_str_eq(out[1].text, "q1");
	ck_assert_str_eq(out[2].text, "q2");
	/* lines after the join are not its backlog, and do not hide it */
	n = ring_backlog(&s, q[2], room_hash("#quiet"), "#quiet", 10, out);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(out[1].text, "q1");
}
END_TEST

/* Two rooms in one chain: each backlog is its own room's, in order. */
START_TEST(backlog_of_rooms_sharing_a_chain)
{
	struct msg out[10];
	char mate[16], text[16];
	size_t n;
	int i;

	chain_mate("#a", mate, sizeof(mate));
	for (i = 0; i < 6; i++) {
		snprintf(text, sizeof(text), "a%d", i);
		publish_text(1, "#a", text);
		snprintf(text, sizeof(text), "m%d", i);
		publish_text(1, mate, text);
		publish_text(1, mate, text);
	}
	n = ring_backlog(&s, ring_head(&s), room_hash("#a"), "#a", 4, out);
	ck_assert_uint_eq(n, 4);
	for (i = 0; i < 4; i++) {
		snprintf(text, sizeof(text), "a%d", 2 + i);
		ck_assert_str_eq(out[i].text, text);
	}
	n = ring_backlog(&s, ring_head(&s), room_hash(mate), mate, 3, out);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(out[0].text, "m4");
	ck_assert_str_eq(out[1].text, "m5");
	ck_assert_str_eq(out[2].text, "m5");
}
END_TEST

START_TEST(room_hash_folds_case_and_is_never_zero)
{
	ck_assert_uint_eq(room_hash("#Ops"), room_hash("#ops"));
	ck_assert_uint_ne(room_hash("#ops"), room_hash("#opt"));
	ck_assert_uint_ne(room_hash(""), 0);
}
END_TEST

/*
 * A publisher killed inside the critical section: the child takes the
 * lock, marks the slot being written and dies.  The next publisher must
 * take the lock over, void the half-written slot, and go on; readers never
 * see the garbage.
 */
static pid_t
die_while_publishing(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		uint64_t seq;
		struct slot *sl;

		lock_take(&s.h->publock);
		seq = atomic_load(&s.h->head);
		sl = &s.slots[seq % s.h->nslots];
		atomic_store(&sl->stamp, STAMP(seq, SLOT_WRITING));
		memset(sl->m.text, '#', 100);
		sl->m.len = 100;
		_exit(0);
	}
	return pid;
}

START_TEST(next_publisher_repairs_a_dead_one)
{
	struct msg m;
	uint64_t cur = 0, seq, lost = 0;
	pid_t pid;

	publish_text(1, "#a", "before");
	pid = die_while_publishing();
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	ck_assert_int_eq(atomic_load(&s.h->publock.owner), pid);
	ck_assert_uint_eq(publish_text(1, "#a", "after"), 2);
	ck_assert_int_eq(atomic_load(&s.h->publock.owner), 0);
	ck_assert_uint_eq(atomic_load(&s.h->publock.takeovers), 1);
	ck_assert_uint_eq(atomic_load(&s.h->stats.repairs), 1);
	ck_assert_int_eq(ring_read(&s, &cur, &m, &seq, &lost), 1);
	ck_assert_str_eq(m.text, "before");
	ck_assert_int_eq(ring_read(&s, &cur, &m, &seq, &lost), 1);
	ck_assert_str_eq(m.text, "after");
	ck_assert_int_eq(ring_read(&s, &cur, &m, &seq, &lost), 0);
	ck_assert_uint_eq(lost, 0);
}
END_TEST

START_TEST(master_repairs_a_dead_publisher)
{
	pid_t pid;

	pid = die_while_publishing();
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	ck_assert_int_eq(lock_release_dead(&s.h->publock, pid + 1), 0);
	ck_assert_int_eq(lock_release_dead(&s.h->publock, pid), 1);
	ck_assert_int_eq(ring_repair(&s), 1);
	lock_give(&s.h->publock);
	ck_assert_uint_eq(ring_head(&s), 1);
	ck_assert_uint_eq(STAMP_STATE(atomic_load(&s.slots[0].stamp)),
	    SLOT_SKIPPED);
	ck_assert_uint_eq(publish_text(1, "#a", "fine"), 1);
}
END_TEST

/*
 * A publisher that died after committing its text, before it moved the
 * head and its chain: the repair does both, and a join finds the text.
 */
START_TEST(repair_links_a_committed_text)
{
	struct msg m, out[4];
	pid_t pid;

	publish_text(1, "#a", "one");
	pid = fork();
	if (pid == 0) {
		struct slot *sl = &s.slots[1];

		lock_take(&s.h->publock);
		atomic_store(&sl->stamp, STAMP(1, SLOT_WRITING));
		text_msg(&m, 1, "#a", "two");
		m.prev_text = 1;
		memcpy(&sl->m, &m, sizeof(m));
		atomic_store(&sl->stamp, STAMP(1, SLOT_COMMITTED));
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	ck_assert_int_eq(lock_release_dead(&s.h->publock, pid), 1);
	ck_assert_int_eq(ring_repair(&s), 1);
	lock_give(&s.h->publock);
	ck_assert_uint_eq(ring_head(&s), 2);
	ck_assert_uint_eq(
	    atomic_load(text_chain(s.cold, room_hash("#a"))), 2);
	ck_assert_uint_eq(
	    ring_backlog(&s, ring_head(&s), room_hash("#a"), "#a", 4, out), 2);
	ck_assert_str_eq(out[0].text, "one");
	ck_assert_str_eq(out[1].text, "two");
}
END_TEST

START_TEST(dead_owner_who_had_not_begun_needs_no_repair)
{
	pid_t pid = fork();

	if (pid == 0) {
		lock_take(&s.h->publock);
		_exit(0);
	}
	publish_text(1, "#a", "x"); /* may run before or after the child */
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	ck_assert_uint_eq(publish_text(1, "#a", "y"), 1);
	ck_assert_uint_eq(ring_head(&s), 2);
}
END_TEST

START_TEST(proc_is_dead_tells_zombies_and_the_living)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(proc_is_dead(getpid()), 0);
	/* a zombie until reaped: dead, though kill(pid, 0) succeeds */
	while (!proc_is_dead(pid))
		sched_yield();
	ck_assert_int_eq(kill(pid, 0), 0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	ck_assert_int_eq(proc_is_dead(pid), 1);
	ck_assert_int_eq(proc_is_dead(0), 1);
}
END_TEST

/*
 * A publisher owes wake-ups from its first publish until it says it woke
 * the readers: one bit a row (and one for the master).  The master,
 * reaping a worker that died owing, wakes every sleeper for the first
 * message it owed.
 */
START_TEST(publishers_owe_wakeups_until_they_wake)
{
	struct msg m;
	struct row *r0 = &s.rows[0], *r2 = &s.rows[2];
	uint64_t first, seq;
	int v;

	ck_assert_int_eq(table_claim(&s, "x"), 0);
	ck_assert_int_eq(table_claim(&s, "y"), 1);
	ck_assert_int_eq(table_claim(&s, "z"), 2);
	ck_assert(ring_all_screened(&s));
	ck_assert_uint_eq(ring_owing(&s), 0);
	text_msg(&m, 0, "#a", "one");
	first = ring_publish_row(&s, &m, 0);
	ring_publish_row(&s, &m, 0);
	ck_assert(!ring_all_screened(&s));
	ck_assert_uint_eq(ring_owing(&s), 1);
	/* the first message owed, not the latest */
	ck_assert_uint_eq(atomic_load(&r0->owes_from), first);
	/* the master's own: published and woken for at once */
	seq = ring_publish(&s, &m);
	ck_assert_uint_eq(ring_owing(&s), 2);
	ring_wake(&s, &m, seq, -1);
	ck_assert_uint_eq(ring_owing(&s), 1);
	/* the worker woke its readers: nobody owes */
	ring_screened(&s, 0);
	ck_assert(ring_all_screened(&s));
	/* row 1 publishes and dies before waking anyone */
	seq = ring_publish_row(&s, &m, 1);
	ring_publish_row(&s, &m, 1);
	ck_assert(!ring_all_screened(&s));
	atomic_store(&r2->first_want, UINT64_MAX);
	atomic_store(&r2->asleep, 1);
	ring_sleep(&s, 2);
	atomic_store(&r0->first_want, UINT64_MAX);
	ring_forgive(&s, 1);
	ck_assert(ring_all_screened(&s));
	/* the sleeper was woken for the first of them; row 0, awake, not */
	ck_assert_uint_eq(atomic_load(&r2->first_want), seq);
	sem_getvalue(&r2->wake, &v);
	ck_assert_int_eq(v, 1);
	ck_assert_uint_eq(atomic_load(&r0->first_want), UINT64_MAX);
	/* a worker that owed nothing costs nothing to forgive */
	ring_forgive(&s, 0);
	ck_assert(ring_all_screened(&s));
	/* nor does a master that owed nothing; one that did is forgiven */
	ring_forgive(&s, -1);
	seq = ring_publish(&s, &m);
	atomic_store(&r2->first_want, UINT64_MAX);
	atomic_store(&r2->asleep, 1);
	ring_forgive(&s, -1);
	ck_assert(ring_all_screened(&s));
	ck_assert_uint_eq(atomic_load(&r2->first_want), seq);
}
END_TEST

START_TEST(wake_posts_only_sleepers_that_care)
{
	struct msg m;
	struct row *r0 = &s.rows[0], *r1 = &s.rows[1];
	uint64_t seq;
	int v;

	ck_assert_int_eq(table_claim(&s, "x"), 0);
	ck_assert_int_eq(table_claim(&s, "y"), 1);
	atomic_store(&r0->state, ROW_ACTIVE);
	atomic_store(&r1->state, ROW_ACTIVE);
	table_add_room(&s, 0, "#a", 0);
	table_add_room(&s, 1, "#b", 0);
	atomic_store(&r0->asleep, 1);
	atomic_store(&r1->asleep, 1);
	text_msg(&m, 5, "#a", "hi");
	/* a sleeper publishers cannot see in the sleep map is not posted */
	seq = ring_publish(&s, &m);
	ring_wake(&s, &m, seq, -1);
	sem_getvalue(&r0->wake, &v);
	ck_assert_int_eq(v, 0);
	ring_sleep(&s, 0);
	ring_sleep(&s, 1);
	seq = ring_publish(&s, &m);
	atomic_store(&r0->first_want, UINT64_MAX);
	atomic_store(&r1->first_want, UINT64_MAX);
	ring_wake(&s, &m, seq, -1);
	/* the woken row knows what woke it; the other is untouched */
	ck_assert_uint_eq(atomic_load(&r0->first_want), seq);
	ck_assert_uint_eq(atomic_load(&r1->first_want), UINT64_MAX);
	sem_getvalue(&r0->wake, &v);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(atomic_load(&r0->asleep), 0);
	sem_getvalue(&r1->wake, &v);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(atomic_load(&r1->asleep), 1);
	/* awake rows are not posted, however interested */
	ring_wake(&s, &m, seq, -1);
	sem_getvalue(&r0->wake, &v);
	ck_assert_int_eq(v, 1);
	/* a private message wakes only its target */
	m.type = MSG_PRIVATE;
	m.target = 1;
	ring_wake(&s, &m, seq, -1);
	sem_getvalue(&r1->wake, &v);
	ck_assert_int_eq(v, 1);
	/* the skipped row is never posted */
	atomic_store(&r0->asleep, 1);
	ring_sleep(&s, 0);
	m.type = MSG_SHUTDOWN;
	ring_wake(&s, &m, seq, 0);
	ck_assert_int_eq(atomic_load(&r0->asleep), 1);
}
END_TEST

/*
 * Several processes publish at once while this one reads: every message
 * is seen exactly once, in each sender's order, intact.
 */
#define WRITERS 4
#define PER_WRITER 5000

static uint32_t
checksum(const char *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ (unsigned char)*p++) * 16777619u;
	return h;
}

static void
writer(int id, int count)
{
	struct msg m;
	char body[200];
	int i, n;

	for (i = 0; i < count; i++) {
		n = snprintf(body, sizeof(body), "%d %d ", id, i);
		/* a payload whose length varies with i */
		memset(body + n, 'a' + id, (size_t)(i % 100));
		body[n + i % 100] = '\0';
		text_msg(&m, id, "#a", body);
		snprintf(m.nick, sizeof(m.nick), "%08x",
		    checksum(body, strlen(body)));
		ring_publish(&s, &m);
	}
	_exit(0);
}

static void
check_concurrent(int count, int slow)
{
	pid_t pids[WRITERS];
	int next[WRITERS] = {0}, i, id, k, done = 0;
	uint64_t cur = 0, seq, lost = 0, seen = 0, total;
	struct msg m;
	char sum[16];

	total = (uint64_t)WRITERS * (uint64_t)count;
	for (i = 0; i < WRITERS; i++) {
		pids[i] = fork();
		ck_assert_int_ne(pids[i], -1);
		if (pids[i] == 0)
			writer(i, count);
	}
	while (seen + lost < total) {
		if (!ring_read(&s, &cur, &m, &seq, &lost)) {
			if (done == WRITERS && ring_head(&s) == cur)
				break;
			for (i = 0; i < WRITERS; i++)
				if (pids[i] > 0 &&
				    waitpid(pids[i], NULL, WNOHANG) ==
					pids[i]) {
					pids[i] = 0;
					done++;
				}
			continue;
		}
		seen++;
		ck_assert_int_eq(sscanf(m.text, "%d %d", &id, &k), 2);
		ck_assert(id >= 0 && id < WRITERS);
		snprintf(sum, sizeof(sum), "%08x", checksum(m.text, m.len));
		ck_assert_str_eq(m.nick, sum);
		/* per-sender order; a lapped reader may skip, never go back */
		if (slow)
			ck_assert_int_ge(k, next[id]);
		else
			ck_assert_int_eq(k, next[id]);
		next[id] = k + 1;
		if (slow && seen % 64 == 0) {
			struct timespec ts = {0, 200 * 1000};
			nanosleep(&ts, NULL); /* a reader slower than them */
		}
	}
	for (i = 0; i < WRITERS; i++)
		if (pids[i] > 0)
			waitpid(pids[i], NULL, 0);
	ck_assert_uint_eq(seen + lost, total);
	if (!slow) {
		ck_assert_uint_eq(lost, 0);
		for (i = 0; i < WRITERS; i++)
			ck_assert_int_eq(next[i], count);
	}
}

/*
 * Lines published together are woken for together: each sleeper once,
 * for the first of them it wants; a line like one before it in the batch
 * adds nothing to it.
 */
START_TEST(batch_wakes_each_sleeper_once_for_its_first)
{
	struct msg m;
	struct wake_key batch[4];
	struct row *r0 = &s.rows[0], *r1 = &s.rows[1], *r2 = &s.rows[2];
	uint64_t sa, sb, sa2;
	int v, i;

	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(table_claim(&s, "x"), i);
		atomic_store(&s.rows[i].state, ROW_ACTIVE);
		atomic_store(&s.rows[i].asleep, 1);
		atomic_store(&s.rows[i].first_want, UINT64_MAX);
		ring_sleep(&s, i);
	}
	table_add_room(&s, 0, "#a", 0);
	table_add_room(&s, 1, "#b", 0);
	table_add_room(&s, 2, "#a", 0);
	table_add_room(&s, 2, "#b", 0);
	text_msg(&m, 2, "#a", "one");
	sa = ring_publish(&s, &m);
	ring_wake_key(&batch[0], &m, sa, 2);
	text_msg(&m, 2, "#b", "two");
	sb = ring_publish(&s, &m);
	ring_wake_key(&batch[1], &m, sb, 2);
	ck_assert_int_eq(ring_wake_redundant(batch, 2, &batch[1]), 1);
	ck_assert_int_eq(ring_wake_redundant(batch, 1, &batch[1]), 0);
	text_msg(&m, 2, "#a", "three");
	sa2 = ring_publish(&s, &m);
	ring_wake_key(&batch[2], &m, sa2, 2);
	/* the same room, the same publisher: nothing new to wake for */
	ck_assert_int_eq(ring_wake_redundant(batch, 2, &batch[2]), 1);
	ring_wake_batch(&s, batch, 2);
	/* #a's sleeper for the first line, #b's for the second */
	ck_assert_uint_eq(atomic_load(&r0->first_want), sa);
	ck_assert_uint_eq(atomic_load(&r1->first_want), sb);
	sem_getvalue(&r0->wake, &v);
	ck_assert_int_eq(v, 1);
	sem_getvalue(&r1->wake, &v);
	ck_assert_int_eq(v, 1);
	/* the publisher, in both rooms, is skipped */
	ck_assert_int_eq(atomic_load(&r2->asleep), 1);
	sem_getvalue(&r2->wake, &v);
	ck_assert_int_eq(v, 0);
	/* woken once: the same batch again posts nobody */
	ring_wake_batch(&s, batch, 2);
	sem_getvalue(&r0->wake, &v);
	ck_assert_int_eq(v, 1);
	/* a batch of private lines wakes their targets, in order */
	atomic_store(&r2->first_want, UINT64_MAX);
	m.type = MSG_PRIVATE;
	m.target = 2;
	ring_wake_key(&batch[0], &m, sa, 0);
	ring_wake_key(&batch[1], &m, sb, 0);
	ring_wake_batch(&s, batch, 2);
	ck_assert_uint_eq(atomic_load(&r2->first_want), sa);
	sem_getvalue(&r2->wake, &v);
	ck_assert_int_eq(v, 1);
}
END_TEST

/*
 * A row asleep for a batch (WAKE_AT) learns at once what is for it, but
 * is posted only when the messages reach WAKE_AT; a shutdown posts it
 * whatever it waits for.
 */
START_TEST(a_row_waiting_for_a_batch_is_posted_once_it_fills)
{
	struct msg m;
	struct wake_key batch[2];
	struct row *r0 = &s.rows[0];
	uint64_t first, second, third;
	int v;

	ck_assert_int_eq(table_claim(&s, "x"), 0);
	ck_assert_uint_eq(atomic_load(&r0->wake_at), 0);
	atomic_store(&r0->state, ROW_ACTIVE);
	table_add_room(&s, 0, "#a", 0);
	atomic_store(&r0->first_want, UINT64_MAX);
	atomic_store(&r0->wake_at, ring_head(&s) + 3);
	atomic_store(&r0->asleep, 1);
	ring_sleep(&s, 0);
	text_msg(&m, 5, "#a", "one");
	first = ring_publish(&s, &m);
	ring_wake(&s, &m, first, -1);
	/* marked, not posted: one message of the three it waits for */
	ck_assert_uint_eq(atomic_load(&r0->first_want), first);
	sem_getvalue(&r0->wake, &v);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(atomic_load(&r0->asleep), 1);
	second = ring_publish(&s, &m);
	ring_wake_key(&batch[0], &m, second, -1);
	ring_wake_batch(&s, batch, 1);
	sem_getvalue(&r0->wake, &v);
	ck_assert_int_eq(v, 0);
	/* the third fills it, though its key is the second's, merged */
	text_msg(&m, 5, "#a", "three");
	third = ring_publish(&s, &m);
	ring_wake_key(&batch[1], &m, third, -1);
	ck_assert_int_eq(ring_wake_redundant(batch, 1, &batch[1]), 1);
	ring_wake_batch(&s, batch, 1);
	sem_getvalue(&r0->wake, &v);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(atomic_load(&r0->asleep), 0);
	ck_assert_uint_eq(atomic_load(&r0->first_want), first);
	/* asleep for a batch far off: a shutdown posts it all the same */
	ck_assert_int_eq(sem_trywait(&r0->wake), 0);
	atomic_store(&r0->wake_at, third + 1000);
	atomic_store(&r0->asleep, 1);
	memset(&m, 0, sizeof(m));
	m.type = MSG_SHUTDOWN;
	m.sender = -1;
	m.target = TARGET_ALL;
	ring_wake(&s, &m, ring_publish(&s, &m), -1);
	sem_getvalue(&r0->wake, &v);
	ck_assert_int_eq(v, 1);
}
END_TEST

/* The table counts the rows in use, which workers read to batch. */
START_TEST(the_table_counts_its_clients)
{
	ck_assert_uint_eq(atomic_load(&s.h->clients), 0);
	ck_assert_int_eq(table_claim(&s, "a"), 0);
	ck_assert_int_eq(table_claim(&s, "b"), 1);
	ck_assert_uint_eq(atomic_load(&s.h->clients), 2);
	atomic_store(&s.rows[1].wake_at, 77);
	table_release(&s, 1);
	ck_assert_uint_eq(atomic_load(&s.h->clients), 1);
	/* freed twice (a worker and the master both): counted once */
	table_release(&s, 1);
	ck_assert_uint_eq(atomic_load(&s.h->clients), 1);
	/* a row claimed again waits for no batch of its last worker's */
	ck_assert_int_eq(table_claim(&s, "c"), 1);
	ck_assert_uint_eq(atomic_load(&s.rows[1].wake_at), 0);
	ck_assert_uint_eq(atomic_load(&s.h->clients), 2);
}
END_TEST

START_TEST(concurrent_publishers_big_ring)
{
	struct shm big;

	shm_detach(&s);
	scratch_shm(&big, 8, WRITERS * PER_WRITER);
	s = big;
	check_concurrent(PER_WRITER, 0);
}
END_TEST

START_TEST(concurrent_publishers_lapping_reader)
{
	struct shm small;

	shm_detach(&s);
	scratch_shm(&small, 8, 256);
	s = small;
	check_concurrent(PER_WRITER, 1);
}
END_TEST

/*
 * A starting worker reads ahead everything before the rows (the header,
 * the maps, the indexes and the ring), then the rows in use, and nothing
 * once the server is crowded.
 */
START_TEST(pretouch_reads_the_rows_in_use_and_the_rest)
{
	struct shm big;
	size_t r[2][2];
	const char *base;

	scratch_shm(&big, SHM_PRETOUCH_ROWS + 100, 64);
	base = (const char *)big.h;
	ck_assert_int_eq(shm_pretouch_ranges(&big, 3, r), 2);
	ck_assert_uint_eq(r[0][0], 0);
	ck_assert_uint_eq(r[0][1], (size_t)((const char *)big.rows - base));
	ck_assert_uint_lt((size_t)((const char *)big.owemap - base), r[0][1]);
	ck_assert_uint_lt((size_t)((const char *)big.room_ix - base), r[0][1]);
	ck_assert_uint_le((size_t)((const char *)&big.slots[64] - base),
	    r[0][1]);
	ck_assert_uint_eq(r[1][0], r[0][1]);
	ck_assert_uint_eq(r[1][1], (size_t)((const char *)&big.rows[3] - base));
	ck_assert_uint_lt(r[1][1], big.size); /* the free rows are skipped */
	shm_pretouch(&big, 3); /* under ASan and valgrind: reads in bounds */
	ck_assert_int_eq(shm_pretouch_ranges(&big, SHM_PRETOUCH_ROWS, r), 2);
	ck_assert_uint_eq(r[1][1], (size_t)((const char *)
	    &big.rows[SHM_PRETOUCH_ROWS] - base));
	shm_pretouch(&big, SHM_PRETOUCH_ROWS);
	ck_assert_int_eq(
	    shm_pretouch_ranges(&big, SHM_PRETOUCH_ROWS + 1, r), 0);
	shm_pretouch(&big, SHM_PRETOUCH_ROWS + 1);
	shm_detach(&big);
	/* a table smaller than the limit, all of it in use */
	ck_assert_int_eq(shm_pretouch_ranges(&s, 8, r), 2);
	ck_assert_uint_eq(r[1][1],
	    (size_t)((const char *)&s.rows[8] - (const char *)s.h));
	ck_assert_int_eq(shm_pretouch_ranges(&s, 9, r), 0);
	shm_pretouch(&s, 8);
}
END_TEST

/*
 * A starting worker fills its page tables for what it will read ahead;
 * once the server is crowded, for the header, the maps, the cold part,
 * its own row and the ring only: not the other rows, not the indexes.
 */
START_TEST(populate_skips_the_rows_of_others_when_crowded)
{
	struct shm big;
	size_t r[3][2], p[2][2], row_at;
	const char *base;
	uint32_t crowd = SHM_PRETOUCH_ROWS + 1;

	scratch_shm(&big, SHM_PRETOUCH_ROWS + 100, 64);
	base = (const char *)big.h;
	ck_assert_int_eq(shm_populate_ranges(&big, 3, 1, r), 2);
	ck_assert_int_eq(shm_pretouch_ranges(&big, 3, p), 2);
	ck_assert_mem_eq(r, p, sizeof(p));
	shm_populate(&big, 3, 1);

	ck_assert_int_eq(shm_populate_ranges(&big, crowd, 700, r), 3);
	ck_assert_uint_eq(r[0][0], 0);
	ck_assert_uint_lt((size_t)((const char *)big.owemap - base), r[0][1]);
	ck_assert_uint_lt((size_t)((const char *)big.cold - base), r[0][1]);
	ck_assert_uint_eq(r[0][1], (size_t)((const char *)big.nicks - base));
	row_at = (size_t)((const char *)&big.rows[700] - base);
	ck_assert_uint_eq(r[1][0], row_at);
	ck_assert_uint_eq(r[1][1], row_at + sizeof(struct row));
	ck_assert_uint_eq(r[2][0], (size_t)((const char *)big.rslots - base));
	ck_assert_uint_eq(r[2][1], r[2][0] + big.slots_len);
	ck_assert_uint_ge(r[2][1],
	    (size_t)((const char *)&big.rslots[64] - base));
	/* the indexes lie between the header and the ring, the rows after */
	ck_assert_uint_lt((size_t)((const char *)big.room_ix - base), r[2][0]);
	ck_assert_uint_le(r[2][1], (size_t)((const char *)big.rows - base));
	shm_populate(&big, crowd, 700);
	shm_populate(&big, crowd, SHM_PRETOUCH_ROWS + 99); /* the last row */
	shm_detach(&big);
}
END_TEST

/*
 * What a wake-up reads of the segment besides its row and its slots is on
 * the segment's first page, with 10,000 clients too: HEAD, rows_hwm, the
 * master's owe flag, the counters and both maps.  Every page more is one
 * that a thousand workers share (BENCHMARKS.md, "Pages a wake-up reads").
 */
START_TEST(a_wake_up_reads_one_page_of_header_and_maps)
{
	struct shm big;
	size_t page = (size_t)sysconf(_SC_PAGESIZE), words;
	const char *base;

	scratch_shm(&big, 10000, 64);
	base = (const char *)big.h;
	words = (10000 + 63) / 64;
	ck_assert_uint_lt((size_t)((const char *)&big.h->head - base), page);
	ck_assert_uint_lt(
	    (size_t)((const char *)&big.h->rows_hwm - base), page);
	ck_assert_uint_lt(
	    (size_t)((const char *)&big.h->master_owes - base), page);
	ck_assert_uint_lt(
	    (size_t)((const char *)(&big.h->stats + 1) - base), page + 1);
	ck_assert_uint_lt(
	    (size_t)((const char *)&big.sleepmap[words] - base), page + 1);
	ck_assert_uint_lt(
	    (size_t)((const char *)&big.owemap[words] - base), page + 1);
	/* and what a wake-up does not read is not in the way */
	ck_assert_uint_ge((size_t)((const char *)big.cold - base),
	    (size_t)((const char *)&big.owemap[words] - base));
	ck_assert_uint_ge((size_t)((const char *)big.rows - base),
	    (size_t)((const char *)(big.cold + 1) - base));
	shm_detach(&big);
}
END_TEST

/*
 * The segment is mapped from a 2 MiB boundary (what one page table maps),
 * and with 10,000 rows and the default ring its header, maps, indexes and
 * ring lie in its first 4 MiB: two page tables, which every worker fills.
 * Its own row may take one more.
 */
START_TEST(what_a_worker_reads_lies_in_two_page_tables)
{
	const size_t span = (size_t)2 << 20;
	struct shm big;
	const char *base;

	scratch_shm(&big, 10000, 4096);
	base = (const char *)big.h;
	ck_assert_uint_eq((uintptr_t)base % span, 0);
	ck_assert_uint_le((size_t)((const char *)&big.slots[4096] - base),
	    2 * span);
	ck_assert_uint_le((size_t)((const char *)&big.slots[4096] - base),
	    (size_t)((const char *)big.rows - base));
	ck_assert_uint_lt((size_t)((const char *)big.room_ix - base),
	    (size_t)((const char *)big.slots - base));
	shm_detach(&big);
}
END_TEST

/* How many of LEN bytes' pages from ADDR this process has mapped. */
static size_t
pages_present(const void *addr, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), i, n = 0;
	uint64_t e;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	ck_assert_int_ne(fd, -1);
	for (i = 0; i < len / page; i++) {
		off_t at = (off_t)(((uintptr_t)addr / page + i) * sizeof(e));

		ck_assert_int_eq(pread(fd, &e, sizeof(e), at), (int)sizeof(e));
		n += (e >> 63) & 1;
	}
	close(fd);
	return n;
}

/* Whether /proc/self/maps shows a mapping from ADDR with permissions PERM. */
static int
mapped_as(const void *addr, const char *perm)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512], p[8];
	unsigned long lo, hi;
	int found = 0;

	ck_assert_ptr_nonnull(f);
	while (!found && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, p) == 3 &&
		    (unsigned long)addr >= lo && (unsigned long)addr < hi)
			found = strcmp(p, perm) == 0 ? 1 : -1;
	fclose(f);
	return found;
}

/*
 * A worker reads the slots where they are read-only and writes them
 * through a mapping of their own; both see every line, published before
 * the change and after, as lines and as a room's backlog.  A publisher
 * reads where it writes once it has published PUBLISHER_WRITES lines.
 */
START_TEST(slots_are_read_where_they_are_read_only)
{
	struct msg m, bl[4];
	uint64_t cur = 0, seq, lost = 0;
	const struct slot *before = s.rslots;
	int i;

	/* on pages of their own: nothing else becomes read-only with them */
	ck_assert_uint_eq((size_t)((const char *)s.rslots - (const char *)s.h) %
	    (size_t)sysconf(_SC_PAGESIZE), 0);
	publish_text(1, "#a", "before");
	ck_assert_ptr_eq(s.rslots, s.slots);
	ck_assert_int_ne(s.fd, -1);
	ck_assert_int_eq(mapped_as(s.rslots, "rw-s"), 1);
	ck_assert_int_eq(shm_slots_read_only(&s), 0);
	ck_assert_int_eq(s.fd, -1); /* closed: a worker needs it no more */
	ck_assert_ptr_eq(s.rslots, before);
	ck_assert_ptr_ne((const struct slot *)s.slots, s.rslots);
	ck_assert_int_eq(mapped_as(s.rslots, "r--s"), 1);
	ck_assert_int_eq(mapped_as(s.slots, "rw-s"), 1);
	ck_assert_int_eq(mapped_as(s.rows, "rw-s"), 1);
	shm_pretouch(&s, 8); /* under ASan and valgrind: reads in bounds */
	publish_text(1, "#a", "after");
	ck_assert_int_eq(ring_read(&s, &cur, &m, &seq, &lost), 1);
	ck_assert_str_eq(m.text, "before");
	ck_assert_int_eq(ring_read(&s, &cur, &m, &seq, &lost), 1);
	ck_assert_str_eq(m.text, "after");
	ck_assert_uint_eq(lost, 0);
	ck_assert_uint_eq(ring_backlog(&s, ring_head(&s), room_hash("#a"),
			      "#a", 4, bl), 2);
	ck_assert_str_eq(bl[0].text, "before");
	ck_assert_str_eq(bl[1].text, "after");
	/* the process can make no second writable mapping: it has no file */
	ck_assert_int_eq(shm_slots_read_only(&s), -1);
	ck_assert_int_eq(errno, EBADF);
	/* a publisher: the ring holds 64 slots, so it laps the reader */
	for (i = 1; i < PUBLISHER_WRITES - 1; i++)
		publish_text(1, "#a", "more");
	ck_assert_ptr_eq(s.rslots, before);
	publish_text(1, "#a", "last");
	ck_assert_ptr_eq(s.rslots, (const struct slot *)s.slots);
	ck_assert_uint_eq(ring_backlog(&s, ring_head(&s), room_hash("#a"),
			      "#a", 4, bl), 4);
	ck_assert_str_eq(bl[2].text, "more");
	ck_assert_str_eq(bl[3].text, "last");
}
END_TEST

/*
 * A process's first publish (a worker's: its client's join) goes through
 * the read-only view of the slots, made writable for it and read-only
 * again after: it touches nothing of the writable mapping, which would
 * cost it a page table of its own.  The second goes through the writable
 * mapping, as before.
 */
START_TEST(a_join_writes_through_the_read_only_view)
{
	struct msg m;
	uint64_t cur, seq, lost = 0;

	publish_text(1, "#a", "before");
	cur = ring_head(&s);
	ck_assert_int_eq(shm_slots_read_only(&s), 0);
	ck_assert_uint_eq(pages_present(s.wmap, s.slots_len), 0);
	publish_text(2, "#a", "joined");
	ck_assert_uint_eq(pages_present(s.wmap, s.slots_len), 0);
	ck_assert_int_eq(mapped_as(s.rslots, "r--s"), 1);
	ck_assert_int_eq(ring_read(&s, &cur, &m, &seq, &lost), 1);
	ck_assert_str_eq(m.text, "joined");
	publish_text(2, "#a", "said");
	ck_assert_uint_gt(pages_present(s.wmap, s.slots_len), 0);
	ck_assert_int_eq(ring_read(&s, &cur, &m, &seq, &lost), 1);
	ck_assert_str_eq(m.text, "said");
	ck_assert_uint_eq(lost, 0);
}
END_TEST

/*
 * A worker starts from a copy of the master's handle, the slots' two
 * mappings made already (shm_slots_read_only()).  Whatever the master
 * published through it, shm_forked() has the worker count its own writes
 * from nothing and read through the read-only view until it is a
 * publisher itself.
 */
START_TEST(a_forked_handle_reads_read_only_again)
{
	const struct slot *before = s.rslots;
	struct shm w;
	struct msg m, jm;
	uint64_t cur, seq, lost = 0;
	int i;

	ck_assert_int_eq(shm_slots_read_only(&s), 0);
	for (i = 0; i < PUBLISHER_WRITES; i++)
		publish_text(1, "#a", "master");
	ck_assert_ptr_eq(s.rslots, (const struct slot *)s.slots);
	cur = ring_head(&s);
	w = s;
	shm_forked(&w);
	ck_assert_uint_eq(w.writes, 0);
	ck_assert_ptr_eq(w.rslots, before);
	ck_assert_int_eq(mapped_as(w.rslots, "r--s"), 1);
	text_msg(&jm, 2, "#a", "joined");
	ck_assert_uint_eq(ring_publish_row(&w, &jm, 2), cur);
	ck_assert_int_eq(mapped_as(w.rslots, "r--s"), 1);
	ck_assert_uint_eq(w.writes, 1);
	ck_assert_int_eq(ring_read(&w, &cur, &m, &seq, &lost), 1);
	ck_assert_str_eq(m.text, "joined");
	ck_assert_uint_eq(lost, 0);
	/* without the second mapping there is nothing to go back to */
	w.wmap = NULL;
	w.rslots = (const struct slot *)w.slots;
	shm_forked(&w);
	ck_assert_ptr_eq(w.rslots, (const struct slot *)w.slots);
}
END_TEST

static Suite *
ring_suite(void)
{
	Suite *su = suite_create("ring");
	TCase *tc;

	tc = tcase_create("one process");
	tcase_add_checked_fixture(tc, setup_small, teardown);
	tcase_add_test(tc, empty_ring_reads_nothing);
	tcase_add_test(tc, publish_then_read_in_order);
	tcase_add_test(tc, text_lengths_at_the_limits);
	tcase_add_test(tc, lapped_reader_counts_exactly_what_it_lost);
	tcase_add_test(tc, lapped_midway_counts_again);
	tcase_add_test(tc, backlog_returns_the_latest_of_a_room);
	tcase_add_test(tc, backlog_skips_other_kinds_and_stops_at_overwritten);
	tcase_add_test(tc, backlog_starts_at_the_latest_text);
	tcase_add_test(tc, backlog_follows_the_room_chain);
	tcase_add_test(tc, backlog_of_rooms_sharing_a_chain);
	tcase_add_test(tc, room_hash_folds_case_and_is_never_zero);
	tcase_add_test(tc, wake_posts_only_sleepers_that_care);
	tcase_add_test(tc, batch_wakes_each_sleeper_once_for_its_first);
	tcase_add_test(tc, a_row_waiting_for_a_batch_is_posted_once_it_fills);
	tcase_add_test(tc, the_table_counts_its_clients);
	tcase_add_test(tc, publishers_owe_wakeups_until_they_wake);
	tcase_add_test(tc, pretouch_reads_the_rows_in_use_and_the_rest);
	tcase_add_test(tc, populate_skips_the_rows_of_others_when_crowded);
	tcase_add_test(tc, a_wake_up_reads_one_page_of_header_and_maps);
	tcase_add_test(tc, slots_are_read_where_they_are_read_only);
	tcase_add_test(tc, what_a_worker_reads_lies_in_two_page_tables);
	tcase_add_test(tc, a_join_writes_through_the_read_only_view);
	tcase_add_test(tc, a_forked_handle_reads_read_only_again);
	suite_add_tcase(su, tc);

	tc = tcase_create("crash repair");
	tcase_add_checked_fixture(tc, setup_small, teardown);
	tcase_add_test(tc, next_publisher_repairs_a_dead_one);
	tcase_add_test(tc, master_repairs_a_dead_publisher);
	tcase_add_test(tc, repair_links_a_committed_text);
	tcase_add_test(tc, dead_owner_who_had_not_begun_needs_no_repair);
	tcase_add_test(tc, proc_is_dead_tells_zombies_and_the_living);
	suite_add_tcase(su, tc);

	tc = tcase_create("processes");
	tcase_add_checked_fixture(tc, setup_small, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, concurrent_publishers_big_ring);
	tcase_add_test(tc, concurrent_publishers_lapping_reader);
	suite_add_tcase(su, tc);
	return su;
}

int
main(void)
{
	return harness_run(ring_suite());
}
