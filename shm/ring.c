/*
 * ring.c - the message ring: publish, consume, backlog, repair, wake-ups.
 *
 * Message number SEQ lives in slot SEQ % nslots.  HEAD is the next number
 * to publish; every number below HEAD is either committed or skipped.
 *
 * Memory ordering, pair by pair:
 *  - publisher: stamp := WRITING (relaxed), release fence, text, stamp :=
 *    COMMITTED (release), head := seq + 1 (release);
 *  - reader: head (acquire) tells which numbers exist; stamp (acquire)
 *    before the copy pairs with the COMMITTED store, so the copy sees the
 *    text; the acquire fence after the copy and the second stamp load pair
 *    with the WRITING store and its fence: if the copy saw any byte of a
 *    newer message, the second load sees a newer stamp and the copy is
 *    thrown away.  This is the classic seqlock; readers never write.
 *  - wake-up (a Dekker pair): the publisher stores HEAD then, after a full
 *    fence, loads the sleep map and the ASLEEP of a row whose bit is set;
 *    the consumer stores ASLEEP, sets its bit (a full barrier), then loads
 *    HEAD.  At least one of them sees the other's stores, so a consumer
 *    never sleeps with a message waiting for it.
 *  - skipping (ring_all_screened()): a publisher sets its bit in the owe
 *    map before it stores HEAD and clears it after its wake-up pass, which
 *    marks FIRST_WANT of every row whose bit is set in the sleep map; a
 *    reader back from sleep loads HEAD, then the owe map, then FIRST_WANT,
 *    and only then clears its sleep bit.  An empty owe map means every
 *    message below that HEAD had its pass while the sleep bit was set, so
 *    what lies below FIRST_WANT was for someone else and is not read.
 *  - batches: a consumer that sleeps for a batch stores WAKE_AT (the head
 *    it waits for) before its sleep bit, and sleeps only while HEAD is
 *    below it; a publisher that, after its fence, finds HEAD below WAKE_AT
 *    marks FIRST_WANT but does not post.  A post missed either way costs
 *    a delay, never a message: the consumer's wait is timed.
 */
#include <stddef.h>
#include <string.h>

#include "shm.h"
#include "../common/log.h"
#include "../common/util.h"

/* FNV-1a over the lower-cased name; 0 is kept for "no room". */
uint32_t
room_hash(const char *room)
{
	uint32_t h = 2166136261u;
	unsigned char c;

	while ((c = (unsigned char)*room++) != '\0') {
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		h = (h ^ c) * 16777619u;
	}
	return h == 0 ? 1 : h;
}

HOT uint64_t
ring_head(struct shm *s)
{
	return atomic_load_explicit(&s->h->head, memory_order_acquire);
}

/* The word of MAP (the sleep map, the owe map) and the bit of row ROW. */
#define MAP_WORD(map, row) (&(map)[(row) / 64])
#define ROW_BIT(row) ((uint64_t)1 << ((row) % 64))

/*
 * The worker of ROW (-1: the master) has woken the readers of what it
 * published (ring_wake_batch()): it owes nothing now.
 */
void
ring_screened(struct shm *s, int row)
{
	/* release: a reader that sees the debt cleared sees the wake-ups */
	if (row < 0)
		atomic_store_explicit(&s->h->master_owes, 0,
		    memory_order_release);
	else if (atomic_load_explicit(MAP_WORD(s->owemap, row), memory_order_relaxed) &
	    ROW_BIT(row))
		atomic_fetch_and_explicit(MAP_WORD(s->owemap, row), ~ROW_BIT(row),
		    memory_order_release);
}

/*
 * Whether every message below the HEAD the caller read before has been
 * screened for the rows asleep.  A reader that slept, and asks this before
 * it clears its bit in the sleep map, may then skip every message below
 * that HEAD and below its FIRST_WANT unread: none was for it.
 *
 * Why it holds: a publisher sets its bit in the owe map before it stores
 * HEAD past its message (a release store), and clears it (a release RMW)
 * after its wake-up pass; the reader's loads are acquires.  A reader that
 * saw that HEAD sees the bit set, or a later value of the word; the bit
 * clear means the clearing came first (a later publish sets it again, and
 * then the reader skips nothing), so the wake-up pass, and its store to
 * the reader's FIRST_WANT, happened before.  That pass saw the reader's sleep bit, set
 * before the reader's last look at HEAD and cleared only after this call.
 * The bit is one per publisher, set and cleared whole, so a publisher
 * killed at any point leaves it set at worst, and the master clears it
 * when it reaps the dead one (ring_forgive()).  The words read are
 * (rows + 63) / 64, once a wake-up.
 */
HOT int
ring_all_screened(struct shm *s)
{
	uint32_t w, words = (atomic_load(&s->h->rows_hwm) + 63) / 64;

	if (words > (s->h->nrows + 63) / 64)
		words = (s->h->nrows + 63) / 64;
	if (atomic_load_explicit(&s->h->master_owes, memory_order_acquire) !=
	    0)
		return 0;
	for (w = 0; w < words; w++)
		if (atomic_load_explicit(&s->owemap[w], memory_order_acquire) !=
		    0)
			return 0;
	return 1;
}

/* How many publishers owe wake-ups now (chatd -S). */
uint32_t
ring_owing(struct shm *s)
{
	uint32_t w, n = atomic_load(&s->h->master_owes) != 0;

	for (w = 0; w < (s->h->nrows + 63) / 64; w++)
		n += (uint32_t)__builtin_popcountll(atomic_load(&s->owemap[w]));
	return n;
}

/*
 * Completes what a publisher that died holding the lock left: a slot
 * stamped WRITING for HEAD becomes SKIPPED, and HEAD moves past any slot
 * the dead publisher stamped.  The caller holds the publish lock.  Returns
 * 1 if anything was repaired.
 */
int
ring_repair(struct shm *s)
{
	struct shm_header *h = s->h;
	uint64_t seq = atomic_load_explicit(&h->head, memory_order_relaxed);
	struct slot *sl = &s->slots[seq % h->nslots];
	uint64_t st = atomic_load_explicit(&sl->stamp, memory_order_relaxed);

	if (STAMP_SEQ(st) != seq || (seq == 0 && st == 0))
		return 0; /* the dead publisher had not begun */
	if (STAMP_STATE(st) == SLOT_WRITING)
		atomic_store_explicit(&sl->stamp, STAMP(seq, SLOT_SKIPPED),
		    memory_order_release);
	else if (sl->m.type == MSG_TEXT || sl->m.type == MSG_ACTION)
		/* committed: it died before it could say so */
		atomic_store_explicit(text_chain(s->cold, sl->m.room_hash),
		    seq + 1, memory_order_relaxed);
	atomic_store_explicit(&h->head, seq + 1, memory_order_release);
	atomic_fetch_add(&h->stats.repairs, 1);
	return 1;
}

/*
 * Publishes M (its LEN bytes of text) and returns its sequence number.
 * The critical section is a bounded copy: no system call, no allocation.
 * The caller wakes the consumers afterwards with ring_wake().
 */
uint64_t
ring_publish(struct shm *s, struct msg *m)
{
	return ring_publish_row(s, m, -1);
}

/*
 * Before a publish by a process not yet a publisher (see PUBLISHER_WRITES):
 * reads, through the writable mapping, both ends of the slot the line will
 * most likely go to, so that the page table entries a write needs are made
 * here and not by a page fault inside the publish lock.
 */
static void
touch_next_slot(struct shm *s)
{
	uint64_t seq = atomic_load_explicit(&s->h->head, memory_order_relaxed);
	const volatile char *p =
	    (const volatile char *)&s->slots[seq % s->h->nslots];

	(void)p[0];
	(void)p[sizeof(struct slot) - 1];
}

/*
 * As ring_publish(), by the worker of ROW, which says when it has woken
 * the readers with ring_screened(); the master uses ring_wake(), which
 * does both.
 */
uint64_t
ring_publish_row(struct shm *s, struct msg *m, int row)
{
	struct shm_header *h = s->h;
	_Atomic uint64_t *chain = NULL;
	struct slot *sl, *slots = s->slots;
	uint64_t seq;
	uint32_t first = UINT32_MAX, at;
	int dead, fixed = 0;

	if (m->len > TEXT_MAX)
		m->len = TEXT_MAX;
	m->text[m->len] = '\0';
	if (s->wmap != NULL && s->writes < PUBLISHER_WRITES) {
		/* not under the lock: a system call or a page fault */
		if (++s->writes == PUBLISHER_WRITES) {
			shm_become_publisher(s);
		} else if (s->writes == 1) {
			/* most likely a join: see shm_slots_writable() */
			first = (uint32_t)(atomic_load_explicit(&h->head,
					       memory_order_relaxed) %
			    h->nslots);
			if (shm_slots_writable(s, first, FIRST_WRITE_SLOTS,
				1) == -1) {
				first = UINT32_MAX;
				touch_next_slot(s);
			}
		} else {
			touch_next_slot(s);
		}
	}
	if ((dead = lock_take(&h->publock)) > 0)
		fixed = ring_repair(s);
	seq = atomic_load_explicit(&h->head, memory_order_relaxed);
	at = (uint32_t)(seq % h->nslots);
	if (first != UINT32_MAX && at >= first &&
	    at - first < FIRST_WRITE_SLOTS)
		slots = (struct slot *)s->rslots; /* writable for now */
	sl = &slots[at];
	atomic_store_explicit(&sl->stamp, STAMP(seq, SLOT_WRITING),
	    memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	memcpy(&sl->m, m, offsetof(struct msg, text) + m->len + 1);
	sl->m.prev_text = 0;
	if (m->type == MSG_TEXT || m->type == MSG_ACTION) {
		chain = text_chain(s->cold, m->room_hash);
		sl->m.prev_text =
		    atomic_load_explicit(chain, memory_order_relaxed);
	}
	/*
	 * Owed before it exists (see ring_all_screened()): the release store
	 * of HEAD below orders these before it.
	 */
	if (row < 0) {
		atomic_store_explicit(&h->master_owes_from, seq,
		    memory_order_relaxed);
		atomic_store_explicit(&h->master_owes, 1, memory_order_relaxed);
	} else if ((atomic_load_explicit(MAP_WORD(s->owemap, row),
		      memory_order_relaxed) & ROW_BIT(row)) == 0) {
		atomic_store_explicit(&s->rows[row].owes_from, seq,
		    memory_order_relaxed);
		atomic_fetch_or_explicit(MAP_WORD(s->owemap, row), ROW_BIT(row),
		    memory_order_relaxed);
	}
	atomic_store_explicit(&sl->stamp, STAMP(seq, SLOT_COMMITTED),
	    memory_order_release);
	if (chain != NULL)
		atomic_store_explicit(chain, seq + 1, memory_order_relaxed);
	atomic_store_explicit(&h->head, seq + 1, memory_order_release);
	lock_give(&h->publock);
	atomic_fetch_add_explicit(&h->stats.published, 1, memory_order_relaxed);
	if (first != UINT32_MAX)
		(void)shm_slots_writable(s, first, FIRST_WRITE_SLOTS, 0);
	/*
	 * A publisher that took the lock over from a dead one did the repair
	 * the master would have done: it logs it as the master does, outside
	 * the critical section.
	 */
	if (dead > 0)
		log_err("repair: worker died holding a lock pid=%ld "
			"lock=publish slot=%s",
		    (long)dead, fixed ? "skipped" : "intact");
	return seq;
}

static int
has_room(const struct row *r, uint32_t hash)
{
	int i;

	for (i = 0; i < ROOMS_PER_CLIENT; i++)
		if (atomic_load_explicit(&r->rooms[i].hash,
			memory_order_relaxed) == hash)
			return 1;
	return 0;
}

/*
 * Whether row IDX may want the message K stands for.  A false "yes" costs
 * one spurious wake-up (hashes can collide); a false "no" would lose a
 * message, so when in doubt this says yes.
 */
static int
interested(const struct row *r, int idx, const struct wake_key *k)
{
	int i;

	switch (k->type) {
	case MSG_JOIN:
		/* a JOIN for its sender alone: the room is too big to tell */
		if (k->target != TARGET_ALL)
			return k->target == idx;
		return has_room(r, k->room_hash);
	case MSG_TEXT:
	case MSG_ACTION:
	case MSG_PART:
		return has_room(r, k->room_hash);
	case MSG_PRIVATE:
	case MSG_NOTICE:
		return k->target == TARGET_ALL || k->target == idx;
	case MSG_NICK:
	case MSG_QUIT:
		for (i = 0; i < ROOMS_PER_CLIENT; i++)
			if (k->rooms[i] != 0 && has_room(r, k->rooms[i]))
				return 1;
		return 0;
	default:
		return 1;
	}
}

/* Whether K is for one row only (a private line, a quiet join). */
static int
one_row(const struct wake_key *k)
{
	return k->target != TARGET_ALL && (k->type == MSG_PRIVATE ||
	    k->type == MSG_NOTICE || k->type == MSG_JOIN);
}

/*
 * What ring_wake_batch() needs to know of M, published as SEQ, whose
 * publisher does not want row SKIP (-1: none) woken for it.
 */
void
ring_wake_key(struct wake_key *k, const struct msg *m, uint64_t seq,
    int skip)
{
	memset(k, 0, sizeof(*k));
	k->seq = seq;
	k->type = m->type;
	k->target = m->target;
	k->skip = skip;
	k->room_hash = m->room_hash;
	if (m->type == MSG_NICK || m->type == MSG_QUIT)
		memcpy(k->rooms, m->rooms, sizeof(k->rooms));
}

/*
 * Whether K would wake no row that one of the N keys before it would not
 * wake first, with an earlier message: then it can be left out of a
 * batch.
 */
int
ring_wake_redundant(const struct wake_key *batch, int n,
    const struct wake_key *k)
{
	int i;

	for (i = 0; i < n; i++)
		if (batch[i].type == k->type && batch[i].target == k->target &&
		    batch[i].skip == k->skip &&
		    batch[i].room_hash == k->room_hash &&
		    memcmp(batch[i].rooms, k->rooms, sizeof(k->rooms)) == 0)
			return 1;
	return 0;
}

/*
 * Row IDX is going to sleep: from now on publishers look at it.  The
 * caller has set its ASLEEP flag and, after this (a full barrier), looks
 * at HEAD once more before it sleeps; see the note at the top.
 */
HOT void
ring_sleep(struct shm *s, int idx)
{
	atomic_fetch_or(MAP_WORD(s->sleepmap, idx), ROW_BIT(idx));
}

/* Row IDX is awake again (or gone): publishers need not look at it. */
HOT void
ring_awake(struct shm *s, int idx)
{
	atomic_fetch_and(MAP_WORD(s->sleepmap, idx), ~ROW_BIT(idx));
}

/*
 * Tells row R, whose bit is set in the sleep map, that message SEQ may be
 * for it, and wakes it if it still sleeps, unless it sleeps for a batch
 * that the messages below END (the head) do not yet fill.
 */
static void
wake_row(struct row *r, uint64_t seq, uint64_t end)
{
	uint64_t first = atomic_load(&r->first_want);
	int32_t one = 1;

	while (seq < first &&
	    !atomic_compare_exchange_weak(&r->first_want, &first, seq))
		;
	if (end < atomic_load_explicit(&r->wake_at, memory_order_relaxed))
		return;
	/* woken already (not yet running): its line stays shared */
	if (atomic_load_explicit(&r->asleep, memory_order_relaxed) != 0 &&
	    atomic_compare_exchange_strong(&r->asleep, &one, 0))
		sem_post(&r->wake);
}

/*
 * Wakes every row that sleeps and may want one of the N messages of BATCH
 * (in the order they were published), each row for the first it wants.
 * Only rows whose bit is set in the sleep map are looked at, so a publish
 * costs the same however many readers are busy: a load per 64 rows of the
 * table.  A sleeping reader costs a sem_post() (one futex wake); the CAS
 * on ASLEEP makes sure each sleep is posted only once.  A sleeper is also
 * told the first message it wanted: what came before was of no interest
 * to it, so if the ring overwrote that while it slept, it lost nothing (it
 * is not a slow reader).
 *
 * A publisher that has several lines to publish at once publishes them
 * all, then wakes once for the batch: a sleeper that wants them all is
 * woken once, not once a line, and finds them all when it runs.
 */
void
ring_wake_batch(struct shm *s, const struct wake_key *batch, int n)
{
	uint32_t w, words, hwm;
	uint64_t bits, end;
	struct row *r;
	int i, j, all_one = 1;

	if (n <= 0)
		return;
	atomic_thread_fence(memory_order_seq_cst);
	/*
	 * What is published by now, for rows waiting for a batch: not the
	 * batch's last key, which stands for every later message of its
	 * kind (ring_wake_redundant())
	 */
	end = ring_head(s);
	/* a shutdown (or a repair, see ring_forgive()) waits for no batch */
	for (j = 0; j < n; j++)
		if (batch[j].type == MSG_SHUTDOWN)
			end = UINT64_MAX;
	hwm = atomic_load(&s->h->rows_hwm);
	if (hwm > s->h->nrows)
		hwm = s->h->nrows;
	for (j = 0; j < n; j++)
		all_one = all_one && one_row(&batch[j]);
	/* messages for one row each: those rows only, however many sleep */
	if (all_one) {
		for (j = 0; j < n; j++) {
			i = batch[j].target;
			if (i < 0 || (uint32_t)i >= hwm || i == batch[j].skip)
				continue;
			r = &s->rows[i];
			if ((atomic_load(MAP_WORD(s->sleepmap, i)) &
				ROW_BIT(i)) != 0 &&
			    atomic_load(&r->state) != ROW_FREE)
				wake_row(r, batch[j].seq, end);
		}
		return;
	}
	words = (hwm + 63) / 64;
	for (w = 0; w < words; w++) {
		bits = atomic_load(&s->sleepmap[w]);
		while (bits != 0) {
			i = (int)(w * 64) + __builtin_ctzll(bits);
			bits &= bits - 1;
			if ((uint32_t)i >= hwm)
				continue;
			/*
			 * Not ASLEEP but the bit: a row another publisher has
			 * woken already must still learn that an earlier
			 * message is for it, or it would skip it unread
			 */
			r = &s->rows[i];
			if (atomic_load(&r->state) == ROW_FREE)
				continue;
			for (j = 0; j < n; j++)
				if (i != batch[j].skip &&
				    interested(r, i, &batch[j])) {
					wake_row(r, batch[j].seq, end);
					break;
				}
		}
	}
}

/*
 * The worker of ROW is dead (-1: a master, which a new one adopts after),
 * maybe before it woke the readers of what it published: every row asleep
 * is woken for the first of those, which is what a publisher would have
 * done at most, and the debt is cleared.  The master, when it reaps.
 */
void
ring_forgive(struct shm *s, int row)
{
	struct wake_key all;

	memset(&all, 0, sizeof(all));
	if (row < 0) {
		if (atomic_load(&s->h->master_owes) == 0)
			return;
		all.seq = atomic_load(&s->h->master_owes_from);
	} else {
		if ((atomic_load(MAP_WORD(s->owemap, row)) & ROW_BIT(row)) == 0)
			return;
		all.seq = atomic_load(&s->rows[row].owes_from);
	}
	/* a shutdown interests every row: each sleeper is marked and posted */
	all.type = MSG_SHUTDOWN;
	all.target = TARGET_ALL;
	all.skip = -1;
	ring_wake_batch(s, &all, 1);
	ring_screened(s, row);
}

/* Wakes every row that sleeps and may want M, message SEQ, except SKIP. */
void
ring_wake(struct shm *s, const struct msg *m, uint64_t seq, int skip)
{
	struct wake_key k;

	ring_wake_key(&k, m, seq, skip);
	ring_wake_batch(s, &k, 1);
	ring_screened(s, -1);
}

/*
 * Copies message SEQ from its slot into OUT.  Returns 1 if the copy is
 * good, 0 if the slot holds another message or is skipped (STATE tells
 * which).
 */
HOT static int
slot_copy(struct shm *s, uint64_t seq, struct msg *out, unsigned *state)
{
	const struct slot *sl = &s->rslots[seq % s->h->nslots];
	uint64_t s1, s2;
	size_t len;

	s1 = atomic_load_explicit(&sl->stamp, memory_order_acquire);
	*state = STAMP_SEQ(s1) == seq ? STAMP_STATE(s1) : SLOT_EMPTY;
	if (*state != SLOT_COMMITTED)
		return 0;
	memcpy(out, &sl->m, offsetof(struct msg, text));
	len = out->len <= TEXT_MAX ? out->len : TEXT_MAX;
	memcpy(out->text, sl->m.text, len);
	atomic_thread_fence(memory_order_acquire);
	s2 = atomic_load_explicit(&sl->stamp, memory_order_relaxed);
	if (s2 != s1) {
		*state = SLOT_EMPTY;
		return 0;
	}
	out->len = (uint16_t)len;
	out->text[len] = '\0';
	out->room[ROOM_MAX] = '\0';
	out->nick[NICK_MAX] = '\0';
	return 1;
}

/*
 * Reads the next message at *CURSOR into OUT and advances the cursor.
 * Returns 1 with *SEQ set, or 0 when the reader has caught up with HEAD.
 * *LOST counts messages the writers overwrote before this reader got to
 * them (the reader was lapped); the cursor jumps over them.
 */
HOT int
ring_read(struct shm *s, uint64_t *cursor, struct msg *out, uint64_t *seq,
    uint64_t *lost)
{
	uint64_t head, n = s->h->nslots;
	unsigned state;

	for (;;) {
		head = atomic_load_explicit(&s->h->head, memory_order_acquire);
		if (*cursor >= head)
			return 0;
		if (head - *cursor > n) {
			*lost += head - n - *cursor;
			*cursor = head - n;
		}
		if (slot_copy(s, *cursor, out, &state)) {
			*seq = (*cursor)++;
			return 1;
		}
		/* skipped by a repair: nobody got it, nothing to count */
		if (state != SLOT_SKIPPED)
			(*lost)++;
		(*cursor)++;
	}
}

/*
 * Reads the link of slot SEQ, a text or action of a chain: whether it may
 * be one of the room of hash HASH (1) or not (0), and *PREV, the one
 * before it in the chain.  Reads the fixed part only: the whole message
 * is copied only when it may be the room's.  Returns -1 when the slot no
 * longer holds SEQ, committed (overwritten since, or never written).
 */
static int
slot_link(struct shm *s, uint64_t seq, uint32_t hash, uint64_t *prev)
{
	const struct slot *sl = &s->rslots[seq % s->h->nslots];
	uint64_t s1, s2, p;
	uint32_t rh;
	uint16_t type;

	s1 = atomic_load_explicit(&sl->stamp, memory_order_acquire);
	if (STAMP_SEQ(s1) != seq || STAMP_STATE(s1) != SLOT_COMMITTED)
		return -1;
	type = sl->m.type;
	rh = sl->m.room_hash;
	p = sl->m.prev_text;
	atomic_thread_fence(memory_order_acquire);
	s2 = atomic_load_explicit(&sl->stamp, memory_order_relaxed);
	if (s2 != s1)
		return -1;
	*prev = p;
	return (type == MSG_TEXT || type == MSG_ACTION) && rh == hash;
}

/*
 * Fills AGO with how far before BEFORE (BEFORE minus the sequence number)
 * each of up to MAX of the latest text and action messages of ROOM (hash
 * HASH) numbered below BEFORE was published, oldest first, read straight
 * from the ring (at most a turn of it back: the distance fits 32 bits);
 * TMP holds each candidate while its room is checked.  It follows the
 * room's chain back from its latest text: the lines it reads are the
 * room's own, those of rooms sharing its chain, and those of the room
 * published since BEFORE; not every slot of a ring full of other rooms'
 * lines, which cost a join into a quiet room milliseconds.  It stops at
 * the first slot already overwritten.  Returns how many.  Numbers, not
 * copies: a joining worker then copies one line at a time (ring_fetch()),
 * where copies of ten lines wrote two pages of its own that an idle worker
 * keeps for life; and 4 bytes each, where 8 took room on its first page
 * (struct worker).
 */
size_t
ring_backlog_seqs(struct shm *s, uint64_t before, uint32_t hash,
    const char *room, size_t max, uint32_t *ago, struct msg *tmp)
{
	uint64_t next, prev, seq, floor, hops;
	uint32_t t;
	size_t n = 0, i;
	unsigned state;
	int may;

	next = atomic_load_explicit(text_chain(s->cold, hash),
	    memory_order_relaxed);
	floor = before > s->h->nslots ? before - s->h->nslots : 0;
	for (hops = 0; n < max && next > floor && hops < s->h->nslots;
	     hops++) {
		seq = next - 1;
		if ((may = slot_link(s, seq, hash, &prev)) < 0)
			break;
		if (may == 1 && seq < before) {
			if (!slot_copy(s, seq, tmp, &state))
				break;
			prev = tmp->prev_text;
			if (tmp->room_hash == hash &&
			    strcmp(tmp->room, room) == 0)
				ago[n++] = (uint32_t)(before - seq);
		}
		if (prev >= next) /* a chain only goes back */
			break;
		next = prev;
	}
	for (i = 0; i < n / 2; i++) {
		t = ago[i];
		ago[i] = ago[n - 1 - i];
		ago[n - 1 - i] = t;
	}
	return n;
}

/*
 * Copies message SEQ into OUT.  Returns 1, or 0 if its slot holds another
 * message by now.
 */
int
ring_fetch(struct shm *s, uint64_t seq, struct msg *out)
{
	unsigned state;

	return slot_copy(s, seq, out, &state);
}

/*
 * As ring_backlog_seqs(), but copies the messages into OUT (MAX at most
 * BACKLOG_MAX); those overwritten in between are left out.
 */
size_t
ring_backlog(struct shm *s, uint64_t before, uint32_t hash, const char *room,
    size_t max, struct msg *out)
{
	uint32_t ago[BACKLOG_MAX];
	size_t n, i, k = 0;

	if (max > BACKLOG_MAX)
		max = BACKLOG_MAX;
	n = ring_backlog_seqs(s, before, hash, room, max, ago, out);
	for (i = 0; i < n; i++)
		k += (size_t)ring_fetch(s, before - ago[i], &out[k]);
	return k;
}
