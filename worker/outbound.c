/*
 * outbound.c - from the ring to the client's socket.
 *
 * outbound_run() drains every message published since the worker last
 * looked, keeps those meant for this client, formats them into one buffer
 * and writes it with as few send() calls as it can: batching is what makes
 * a busy room cheap.  outbound_sleep() sleeps on the row's wake semaphore,
 * after telling publishers so (ASLEEP) and looking at HEAD once more; the
 * client's input posts the same semaphore (see session.c), so one thread
 * waits for both.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "worker.h"
#include "../common/fmt.h"
#include "../common/log.h"
#include "../common/util.h"

#define LINE_ROOM 1024 /* more than any one formatted line */

static size_t put(char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* snprintf that returns what it really wrote. */
static size_t
put(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (size == 0)
		return 0;
	va_start(ap, fmt);
	n = line_vfmt(out, size, fmt, ap); /* a shallow stack: see fmt.c */
	va_end(ap);
	if (n < 0)
		return 0;
	return (size_t)n < size ? (size_t)n : size - 1;
}

/*
 * The delivery's own string work, done here and not by the C library:
 * its memcpy(), strnlen() and strcmp() lie on three pages of their own,
 * and with a thousand workers every shared page a wake-up reads costs
 * 20-45 ns a delivery (BENCHMARKS.md, "Pages a wake-up reads").  The
 * lines are short, so simple loops lose nothing.
 */
HOT static size_t
len_within(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n] != '\0')
		n++;
	return n;
}

HOT static int
same_name(const char *a, const char *b)
{
	size_t i;

	for (i = 0; i <= ROOM_MAX; i++) {
		if (a[i] != b[i])
			return 0;
		if (a[i] == '\0')
			return 1;
	}
	return 1;
}

/* Index of the joined room with hash HASH and name NAME, or -1. */
HOT static int
joined_room(struct worker *w, uint32_t hash, const char *name, uint64_t seq)
{
	int i;

	for (i = 0; i < ROOMS_PER_CLIENT; i++)
		if (w->rooms[i].name[0] != '\0' && w->rooms[i].hash == hash &&
		    w->rooms[i].joined && seq > w->rooms[i].since &&
		    (name == NULL || same_name(w->rooms[i].name, name)))
			return i;
	return -1;
}

/* Whether the sender of NICK/QUIT message M shares a room with us. */
static int
shares_room(struct worker *w, const struct msg *m, uint64_t seq)
{
	int i;

	for (i = 0; i < ROOMS_PER_CLIENT; i++)
		if (m->rooms[i] != 0 &&
		    joined_room(w, m->rooms[i], NULL, seq) >= 0)
			return 1;
	return 0;
}

/* Copies LEN bytes of S to P, as far as END; returns where it stopped. */
HOT static char *
append(char *p, char *end, const char *s, size_t len)
{
	if (len > (size_t)(end - p))
		len = (size_t)(end - p);
	for (; len >= 16; len -= 16, p += 16, s += 16)
		memcpy(p, s, 16);
	for (; len > 0; len--)
		*p++ = *s++;
	return p;
}

/*
 * "<nick> text" or "* nick text", tagged with the room if not current.
 * The line almost every delivery is, so it is put together by hand:
 * vsnprintf() took a tenth of a worker's CPU flat out.
 */
HOT static size_t
format_chat(struct worker *w, const struct msg *m, int room, char *out,
    size_t size)
{
	size_t nick = len_within(m->nick, NICK_MAX);
	const char *name;
	char *p = out, *end;

	if (size == 0)
		return 0;
	end = out + size - 1; /* room for the NUL */
	if (room != w->current) {
		name = w->rooms[room].name;
		p = append(p, end, "[", 1);
		p = append(p, end, name, len_within(name, ROOM_MAX));
		p = append(p, end, "] ", 2);
	}
	if (m->type == MSG_ACTION) {
		p = append(p, end, "* ", 2);
		p = append(p, end, m->nick, nick);
		p = append(p, end, " ", 1);
	} else {
		p = append(p, end, "<", 1);
		p = append(p, end, m->nick, nick);
		p = append(p, end, "> ", 2);
	}
	p = append(p, end, m->text, m->len); /* slot_copy() bounds it */
	p = append(p, end, "\r\n", 2);
	*p = '\0';
	return (size_t)(p - out);
}

/*
 * Formats message M (number SEQ) for this client into OUT and returns the
 * length, 0 if the message is not for us.  For our own JOIN it marks the
 * room joined and sets *REPLAY to the room's index, -1 otherwise.  The
 * caller holds W->mu.
 */
HOT size_t
format_msg(struct worker *w, const struct msg *m, uint64_t seq, char *out,
    size_t size, int *replay)
{
	int me = m->sender == w->row && m->sender_gen == w->gen;
	int i;

	*replay = -1;
	/*
	 * The line almost every delivery is, before the switch: its jump
	 * table is read-only data, one more page for a wake-up to read.
	 */
	if (m->type == MSG_TEXT || m->type == MSG_ACTION) {
		if (me || (i = joined_room(w, m->room_hash, m->room, seq)) < 0)
			return 0;
		return format_chat(w, m, i, out, size);
	}
	switch (m->type) {
	case MSG_JOIN:
		if (me) {
			for (i = 0; i < ROOMS_PER_CLIENT; i++)
				if (w->rooms[i].name[0] != '\0' &&
				    w->rooms[i].token == m->target_gen &&
				    !w->rooms[i].joined)
					break;
			if (i == ROOMS_PER_CLIENT)
				return 0;
			w->rooms[i].joined = 1;
			w->rooms[i].since = seq;
			*replay = i;
			return put(out, size, "*** you joined %s\r\n", m->room);
		}
		if (m->target != TARGET_ALL ||
		    joined_room(w, m->room_hash, m->room, seq) < 0)
			return 0;
		return put(out, size, "*** %s joined %s\r\n", m->nick, m->room);
	case MSG_PART:
		if (me || joined_room(w, m->room_hash, m->room, seq) < 0)
			return 0;
		return put(out, size, "*** %s left %s%s%s%s\r\n", m->nick,
		    m->room, m->len ? " (" : "", m->text, m->len ? ")" : "");
	case MSG_NICK:
		if (me || !shares_room(w, m, seq))
			return 0;
		return put(out, size, "*** %s is now known as %s\r\n", m->nick,
		    m->text);
	case MSG_QUIT:
		if (me || !shares_room(w, m, seq))
			return 0;
		return put(out, size, "*** %s has quit (%s)\r\n", m->nick,
		    m->text);
	case MSG_PRIVATE:
		if (m->target != w->row || m->target_gen != w->gen)
			return 0;
		return put(out, size, "*%s* %s\r\n", m->nick, m->text);
	case MSG_NOTICE:
		if (m->target != TARGET_ALL &&
		    (m->target != w->row || m->target_gen != w->gen))
			return 0;
		return put(out, size, "*** %s\r\n", m->text);
	case MSG_SHUTDOWN:
		return put(out, size, "*** %s\r\n", m->text);
	default:
		return 0;
	}
}

HOT static int
flush(struct outbuf *o)
{
	int ret = 0;

	if (o->used > 0)
		ret = worker_send(o->w, o->buf, o->used);
	o->used = 0;
	return ret;
}

/* Makes room for one more line, flushing if needed. */
HOT static char *
reserve(struct outbuf *o)
{
	if (OUTBUF - o->used < LINE_ROOM)
		flush(o);
	return o->buf + o->used;
}

/*
 * Shows the last messages of room IDX published before SEQ (our JOIN),
 * read straight from the ring, one at a time through M (w->m: the caller
 * is done with it).  The room is current, so lines carry no tag.  Lines
 * overwritten since they were found were the oldest: they are left out
 * before the count is told.
 */
static void
replay(struct outbuf *o, int idx, uint64_t seq, struct msg *m)
{
	struct worker *w = o->w;
	uint32_t max = w->shm->h->lim.backlog;
	size_t n, i;

	if (max > BACKLOG_MAX) /* a segment of a newer chatd */
		max = BACKLOG_MAX;
	if (max == 0)
		return;
	n = ring_backlog_seqs(w->shm, seq, w->rooms[idx].hash,
	    w->rooms[idx].name, max, o->ago, m);
	for (i = 0; i < n && !ring_fetch(w->shm, seq - o->ago[i], m); i++)
		;
	if (i == n)
		return;
	o->used += put(reserve(o), LINE_ROOM,
	    "*** last %zu message%s in "
	    "%s:\r\n",
	    n - i, n - i == 1 ? "" : "s", w->rooms[idx].name);
	for (;;) {
		o->used += format_chat(w, m, idx, reserve(o), LINE_ROOM);
		while (++i < n && !ring_fetch(w->shm, seq - o->ago[i], m))
			;
		if (i >= n)
			break;
	}
	o->used += put(reserve(o), LINE_ROOM, "*** end of backlog\r\n");
}

/*
 * Tells the client, at the very place of the gap, that it lost N messages
 * because it read too slowly; counts and logs it.
 */
static void
report_lost(struct outbuf *o, uint64_t n)
{
	struct worker *w = o->w;

	atomic_fetch_add(&w->shm->rows[w->row].drops, n);
	atomic_fetch_add(&w->shm->h->stats.drops, n);
	log_warnx("slow client dropped peer=%s nick=%s dropped=%llu", w->addr,
	    w->nick, (unsigned long long)n);
	o->used += put(reserve(o), LINE_ROOM,
	    "*** you missed %llu message%s: "
	    "your connection was too slow\r\n",
	    (unsigned long long)n, n == 1 ? "" : "s");
}

/*
 * A gap of N messages before message BOUNDARY: told to the client if it
 * may have held something for it.  After a sleep, everything before the
 * first message a publisher woke us for was of no interest, so a gap
 * below it is no loss: remembered, in case a publisher that was slow to
 * say it wanted us says so later (see wait_for_messages()).
 */
static void
gap(struct outbuf *o, uint64_t n, uint64_t boundary)
{
	struct worker *w = o->w;

	if (w->want_from >= boundary) {
		if (boundary > w->quiet_floor)
			w->quiet_floor = boundary;
		return;
	}
	report_lost(o, n);
}

/* lines the last wake-up must have sent for the next sleep to batch */
#define BATCH_MIN 16

/*
 * Decides whether this sleep waits for a batch.  If it does, stores in
 * the row the head to wait for, sets *UNTIL to when to stop waiting
 * (CLOCK_MONOTONIC, ms) and returns the ms to wait at most; else 0.
 *
 * A wake-up costs a switch to the worker's address space whatever it
 * sends, and past 1,000 processes a switch costs three times as much
 * (BENCHMARKS.md).  So once batch_clients clients are connected, a worker
 * that sent many lines (at least BATCH_MIN) from at least two senders at
 * a wake-up, and at another less than batch_delay ms before, is not
 * posted again until as many more are in the ring, or twice the time
 * since that other one has passed (at most batch_delay ms; the client's
 * input wakes it at once).  The first busy wake-up of a flow only times
 * it, so a lone burst is never followed by a wait, and no line waits for
 * a batch longer than twice a turn of the flow it came in.  Quiet rooms
 * never batch, so their latency is untouched; a busy one's batches
 * follow its flow, grow while they fill before their time is up, and
 * end as soon as a wake-up finds little.  Waiting for as many lines as
 * the last wake-up sent, not half as many, went ahead in eight
 * alternated pairs of eleven at 1,000 subscribers and 10 publishers, by
 * a seventh at the median.
 * One talker never batches: a client that waits for its lines to be read
 * before it sends more (as a benchmark with a window does) would only
 * wait longer, every worker taking turns with it, and a worker cannot
 * tell such a client from a flood.  With one sender excluded, batches
 * cost nothing with one publisher and gave a fifth more lines at half
 * the CPU a line at 100 subscribers and 10 publishers; at 10 and 10
 * they cost a third, so they wait for batch_clients (BENCHMARKS.md).
 */
static uint64_t
batch_wait(struct worker *w, uint64_t *until)
{
	const struct shm_header *h = w->shm->h;
	uint32_t most = h->lim.batch_delay;
	uint64_t found = w->found, now, wait;
	uint32_t talkers = w->talkers;

	w->found = 0;
	w->talkers = 0;
	w->talker = INT32_MIN;
	if (most == 0 || w->closing || w->out->used > 0 ||
	    atomic_load(&h->clients) < h->lim.batch_clients) {
		w->batch_ms = 0;
		return 0;
	}
	if (found < BATCH_MIN || talkers < 2)
		return 0; /* a lull: the flow's last busy time stays */
	now = now_ms();
	if (w->batch_ms == 0 || now - w->batch_ms >= most) {
		/* the first busy wake-up of a flow: its time, and no batch */
		w->batch_ms = now;
		return 0;
	}
	wait = 2 * (now - w->batch_ms);
	if (wait < 1)
		wait = 1;
	if (wait > most)
		wait = most;
	w->batch_ms = now;
	if (found > h->nslots / 4) /* long before it could be lapped */
		found = h->nslots / 4;
	atomic_store(&w->shm->rows[w->row].wake_at, w->cursor + found);
	*until = now + wait;
	return wait;
}

/* Waits on the row's semaphore until TS; 0 if posted, -1 if timed out. */
static int
wait_until(struct row *r, const struct timespec *ts)
{
	int rc;

	while ((rc = sem_timedwait(&r->wake, ts)) == -1 && errno == EINTR)
		;
	return rc;
}

/*
 * Sleeps until a publisher posts our row, the client's input does (see
 * session.c), or DEADLINE (CLOCK_MONOTONIC, ms) comes, unless something
 * is waiting in the ring already; or, for a batch (batch_wait()), until
 * enough is, or its time is up.  The clock is read only for a deadline
 * other than the last one: sleep after sleep to the same deadline reads
 * none (each read touches the vDSO's pages, which every process shares:
 * see serve()).  A sleep that times out at DEADLINE sets W->clock_due.
 */
HOT void
outbound_sleep(struct worker *w, uint64_t deadline)
{
	struct outbuf *o = w->out;
	struct row *r = &w->shm->rows[w->row];
	uint64_t first = atomic_load(&r->first_want), now, head, until = 0;
	uint64_t batch = batch_wait(w, &until);
	struct timespec ts;
	int slept = 0;

	/* a message we wanted, marked late, inside a gap we took as none */
	if (first < w->quiet_floor)
		report_lost(o, w->quiet_floor - first);
	w->quiet_floor = 0;
	atomic_store(&r->first_want, UINT64_MAX);
	atomic_store(&r->asleep, 1);
	ring_sleep(w->shm, w->row);
	atomic_thread_fence(memory_order_seq_cst);
	w->want_from = 0; /* awake: every gap counts */
	head = ring_head(w->shm);
	/* a batch that DEADLINE would cut short is waited for as a sleep */
	if (batch > 0 && until < deadline && head < atomic_load(&r->wake_at)) {
		/* unread messages were not screened: the cursor stays */
		realtime_in(&ts, batch * 1000000);
		(void)wait_until(r, &ts);
	} else if (head == w->cursor && !w->closing && o->used == 0) {
		if (deadline != w->sleep_for_ms) {
			now = now_ms();
			/* past already: the wait times out at once */
			realtime_in(&w->sleep_ts,
			    (deadline > now ? deadline - now : 0) * 1000000);
			w->sleep_for_ms = deadline;
		}
		if (wait_until(r, &w->sleep_ts) == -1) {
			/* timed out: the next deadline is new */
			w->clock_due = 1;
			w->sleep_for_ms = 0;
		}
		w->want_from = atomic_load(&r->first_want);
		slept = 1;
	}
	/*
	 * What came while we slept and was for us, its publisher marked in
	 * FIRST_WANT.  Once every publisher is done marking (and before our
	 * bit goes from the sleep map), what lies before that mark, or
	 * before HEAD, was not for us: the cursor jumps over it unread.  An
	 * idle client in a quiet room is woken at no cost for the thousands
	 * of messages of other rooms, or of others' quiet joins, that came
	 * meanwhile.
	 */
	if (slept) {
		head = ring_head(w->shm);
		if (ring_all_screened(w->shm)) {
			first = atomic_load(&r->first_want);
			if (first > head)
				first = head;
			if (first > w->cursor)
				w->cursor = first;
		}
	}
	if (batch > 0)
		atomic_store(&r->wake_at, 0);
	atomic_store(&r->asleep, 0);
	ring_awake(w->shm, w->row);
	/*
	 * Publishers screened what they published while we slept; what
	 * comes from now on was not, so a gap there is a loss whatever
	 * woke us (the client's input leaves FIRST_WANT unset).
	 */
	head = ring_head(w->shm);
	if (head < w->want_from)
		w->want_from = head;
	/* what posted us is served by the loop that follows */
	while (sem_trywait(&r->wake) == 0)
		;
}

/* Drains the ring once; returns 1 if the server is going down. */
HOT static int
drain(struct outbuf *o)
{
	struct msg *m = &o->w->m;
	struct worker *w = o->w;
	struct row *r = &w->shm->rows[w->row];
	uint64_t seq, lost = 0, lines = 0;
	size_t len;
	int idx, down = 0;

	while (ring_read(w->shm, &w->cursor, m, &seq, &lost)) {
		if (lost > 0) {
			gap(o, lost, seq);
			lost = 0;
		}
		len = format_msg(w, m, seq, reserve(o), LINE_ROOM, &idx);
		o->used += len;
		if (len > 0) {
			lines++;
			if (m->sender != w->talker) {
				w->talker = m->sender;
				w->talkers++;
			}
		}
		down = m->type == MSG_SHUTDOWN;
		if (idx >= 0) /* our JOIN: M is free for the backlog */
			replay(o, idx, seq, m);
		if (down || w->closing)
			break;
	}
	if (lost > 0)
		gap(o, lost, w->cursor);
	w->found += lines;
	/* once a batch: the counters are shared by every worker */
	if (lines > 0) {
		atomic_fetch_add_explicit(&r->lines_out, lines,
		    memory_order_relaxed);
		atomic_fetch_add_explicit(&w->shm->h->stats.delivered, lines,
		    memory_order_relaxed);
	}
	return down;
}

/*
 * Sets up the worker's outbound buffer, W's own (struct worker): of its
 * 33 KiB a worker writes only the pages it uses, and an idle client only
 * what lies on the first page of the worker's block.
 */
void
outbound_start(struct worker *w)
{
	w->ob.w = w;
	w->ob.used = 0;
	w->out = &w->ob;
	w->talker = INT32_MIN;
}

/*
 * Copies to the socket what the ring holds for this client; returns 1 if
 * the server is going down (the client has been told), else 0.
 */
HOT int
outbound_run(struct worker *w)
{
	int down = drain(w->out);

	flush(w->out);
	return down;
}
