/*
 * session.c - a worker's life: greet, read, obey, say goodbye.
 *
 * A worker runs two threads.  This one (inbound) reads the client's socket,
 * frames and sanitises lines, runs commands and publishes to the ring; it
 * answers the client directly for what concerns only the client (errors,
 * /who, /help).  The outbound thread (outbound.c) sleeps on the row's wake
 * semaphore and copies from the ring to the socket what is for this client.
 * A semaphore is not a file descriptor, so one thread cannot wait for both.
 */
#define _GNU_SOURCE /* SCHED_BATCH */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "worker.h"
#include "../common/log.h"
#include "../common/util.h"

#define DEFAULT_ROOM "#lobby"
#define OUTBOUND_STACK (128 * 1024)
#define CLIENT_SNDBUF (64 * 1024) /* the kernel doubles it */
#define WRAP 400 /* bytes of names on one /who or /rooms line */

static void flush_wakes(struct worker *);

/*
 * Writes BUF to the client; the one path to the socket for both threads.
 * On a write error the connection is shut down, which ends the inbound
 * read() and so the worker; the first error names the reason.  Returns 0
 * or -1.
 */
int
worker_send(struct worker *w, const char *buf, size_t len)
{
	const char *why;
	int ret, expect = 0;

	/* a write may wait for the client: nobody waits for us meanwhile */
	if (pthread_equal(pthread_self(), w->inbound))
		flush_wakes(w);
	pthread_mutex_lock(&w->out_mu);
	ret = write_all(w->fd, buf, len);
	why = ret == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)
	    ? "stopped reading"
	    : "write error";
	pthread_mutex_unlock(&w->out_mu);
	if (ret == -1 &&
	    atomic_compare_exchange_strong(&w->closing, &expect, 1)) {
		w->gone = why;
		if (why[0] == 's')
			log_warnx("slow client disconnected peer=%s nick=%s "
				  "socket_full_s=%u",
			    w->addr, w->nick, w->shm->h->lim.send_timeout);
		shutdown(w->fd, SHUT_RDWR);
	}
	return ret;
}

/* Sends PREFIX and the text built from FMT as one CRLF-ended line. */
static int
vline(struct worker *w, const char *prefix, const char *fmt, va_list ap)
{
	char line[TEXT_MAX + 64];
	size_t p = strlen(prefix);
	int n;

	memcpy(line, prefix, p);
	n = vsnprintf(line + p, sizeof(line) - p - 2, fmt, ap);
	if (n < 0)
		return -1;
	if ((size_t)n > sizeof(line) - p - 3)
		n = (int)(sizeof(line) - p - 3);
	memcpy(line + p + (size_t)n, "\r\n", 2);
	return worker_send(w, line, p + (size_t)n + 2);
}

/* Sends one "*** " line built from FMT: the server speaking. */
int
worker_notice(struct worker *w, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vline(w, "*** ", fmt, ap);
	va_end(ap);
	return ret;
}

/* Sends one plain line built from FMT. */
int
worker_line(struct worker *w, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vline(w, "", fmt, ap);
	va_end(ap);
	return ret;
}

/* Returns the index of room NAME in W's rooms, or -1.  Under W->mu. */
int
worker_room_find(struct worker *w, const char *name)
{
	int i;

	for (i = 0; i < ROOMS_PER_CLIENT; i++)
		if (w->rooms[i].name[0] != '\0' &&
		    strcmp(w->rooms[i].name, name) == 0)
			return i;
	return -1;
}

/* Fills the fields every message from this client carries. */
static void
msg_init(struct worker *w, struct msg *m, int type)
{
	memset(m, 0, offsetof(struct msg, text) + 1);
	m->type = (uint16_t)type;
	m->sender = w->row;
	m->sender_gen = w->gen;
	m->target = TARGET_ALL;
	m->time_ms = wall_ms();
	memcpy(m->nick, w->nick, sizeof(m->nick));
}

static void
msg_text(struct msg *m, const char *text)
{
	m->len = (uint16_t)strlcpy_(m->text, text, TEXT_MAX + 1);
	if (m->len > TEXT_MAX)
		m->len = TEXT_MAX;
}

/*
 * Whether room ROOM has more members than the announce limit: then its
 * members are not told who joins, leaves, quits or changes nickname.  In
 * a room of thousands such notices would be most of the traffic, and
 * filling the room would cost a notice to everyone for everyone.
 */
static int
quiet_room(struct worker *w, const char *room)
{
	return table_crowded(w->shm, room_hash(room), room,
	    w->shm->h->lim.announce_limit);
}

/*
 * Fills M's room list with our rooms that are told about NICK and QUIT
 * messages; returns 0 if we are in rooms and every one is quiet, so the
 * message need not be published at all.  The caller holds W->mu.
 */
static int
told_rooms(struct worker *w, struct msg *m)
{
	int i, in = 0, told = 0;

	for (i = 0; i < ROOMS_PER_CLIENT; i++) {
		m->rooms[i] = 0;
		if (w->rooms[i].name[0] == '\0')
			continue;
		in++;
		if (quiet_room(w, w->rooms[i].name))
			continue;
		m->rooms[i] = w->rooms[i].hash;
		told++;
	}
	return told > 0 || in == 0;
}

static void
msg_room(struct msg *m, const char *room)
{
	strlcpy_(m->room, room, sizeof(m->room));
	m->room_hash = room_hash(room);
}

/*
 * Wakes the readers of what the inbound thread has published since it
 * last did.  It is called before the thread can wait for anything (the
 * next read() from the client, a write to it, the flood control's pause)
 * and after any line that is not plain text, so a message waits for its
 * wake-up no longer than the lines read with it take to handle.
 */
static void
flush_wakes(struct worker *w)
{
	ring_wake_batch(w->shm, w->pending, w->npending);
	w->npending = 0;
}

/*
 * Publishes M (for this worker too if WAKE_SELF).  The readers of a text
 * or an action are woken later, together with those of the lines read
 * with it (see ring_wake_batch()); those of anything else, now.
 */
static void
publish(struct worker *w, struct msg *m, int wake_self)
{
	uint64_t seq = ring_publish(w->shm, m);
	struct wake_key k;

	ring_wake_key(&k, m, seq, wake_self ? -1 : w->row);
	if (!ring_wake_redundant(w->pending, w->npending, &k))
		w->pending[w->npending++] = k;
	if (w->npending == WAKE_BATCH ||
	    (m->type != MSG_TEXT && m->type != MSG_ACTION))
		flush_wakes(w);
}

static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static void
join_room(struct worker *w, char *room)
{
	const struct shm_limits *lim = &w->shm->h->lim;
	int max = (int)lim->rooms_per_client;
	struct msg m;
	int i, n;

	lower(room);
	pthread_mutex_lock(&w->mu);
	if ((i = worker_room_find(w, room)) >= 0) {
		w->current = i;
		pthread_mutex_unlock(&w->mu);
		worker_notice(w, "%s is now your current room", room);
		return;
	}
	for (i = 0, n = 0; i < ROOMS_PER_CLIENT; i++)
		n += w->rooms[i].name[0] != '\0';
	for (i = 0; i < ROOMS_PER_CLIENT; i++)
		if (w->rooms[i].name[0] == '\0')
			break;
	if (i == ROOMS_PER_CLIENT || n >= max) {
		pthread_mutex_unlock(&w->mu);
		worker_notice(w, "you are in %d rooms already: /part one first",
		    n);
		return;
	}
	if (table_add_room(w->shm, w->row, room, lim->max_rooms) == -1) {
		pthread_mutex_unlock(&w->mu);
		if (errno == EMLINK)
			worker_notice(w,
			    "the server has %u rooms already: "
			    "join one of them (/rooms)",
			    lim->max_rooms);
		else
			worker_notice(w,
			    "you are in %d rooms already: /part one first", n);
		return;
	}
	strlcpy_(w->rooms[i].name, room, sizeof(w->rooms[i].name));
	w->rooms[i].hash = room_hash(room);
	w->rooms[i].token = ++w->next_token;
	w->rooms[i].joined = 0;
	w->current = i;
	msg_init(w, &m, MSG_JOIN);
	msg_room(&m, room);
	m.target_gen = w->rooms[i].token;
	/* only our own outbound thread needs the JOIN of a crowded room */
	if (quiet_room(w, room))
		m.target = w->row;
	pthread_mutex_unlock(&w->mu);
	/* our own JOIN comes back to the outbound thread, which replays */
	publish(w, &m, 1);
}

static void
part_room(struct worker *w, char *room, const char *reason)
{
	struct msg m;
	int i, k, quiet;

	pthread_mutex_lock(&w->mu);
	if (room == NULL) {
		if (w->current < 0) {
			pthread_mutex_unlock(&w->mu);
			worker_notice(w, "you are in no room");
			return;
		}
		room = w->rooms[w->current].name;
	}
	lower(room);
	if ((i = worker_room_find(w, room)) < 0) {
		pthread_mutex_unlock(&w->mu);
		worker_notice(w, "you are not in %s", room);
		return;
	}
	msg_init(w, &m, MSG_PART);
	msg_room(&m, w->rooms[i].name);
	msg_text(&m, reason != NULL ? reason : "");
	quiet = quiet_room(w, m.room);
	table_del_room(w->shm, w->row, w->rooms[i].name);
	w->rooms[i].name[0] = '\0';
	if (w->current == i) {
		w->current = -1;
		for (k = ROOMS_PER_CLIENT - 1; k >= 0; k--)
			if (w->rooms[k].name[0] != '\0') {
				w->current = k;
				break;
			}
	}
	k = w->current;
	pthread_mutex_unlock(&w->mu);
	if (!quiet)
		publish(w, &m, 0);
	if (k >= 0)
		worker_notice(w, "you left %s; you now talk in %s", m.room,
		    w->rooms[k].name);
	else
		worker_notice(w, "you left %s; /join a room to talk", m.room);
}

static void
say(struct worker *w, int type, const char *text)
{
	struct msg m;

	pthread_mutex_lock(&w->mu);
	if (w->current < 0) {
		pthread_mutex_unlock(&w->mu);
		worker_notice(w, "you are in no room: /join #ROOM first");
		return;
	}
	msg_init(w, &m, type);
	msg_room(&m, w->rooms[w->current].name);
	pthread_mutex_unlock(&w->mu);
	msg_text(&m, text);
	publish(w, &m, 0);
}

static void
private_msg(struct worker *w, const char *nick, const char *text)
{
	struct msg m;
	char to[NICK_MAX + 1];
	uint32_t gen;
	int row;

	if ((row = table_find_nick(w->shm, nick, &gen, to)) < 0) {
		worker_notice(w, "no such nickname: %s", nick);
		return;
	}
	if (row == w->row) {
		worker_notice(w, "that is you: /msg sends to someone else");
		return;
	}
	msg_init(w, &m, MSG_PRIVATE);
	m.target = row;
	m.target_gen = gen;
	msg_text(&m, text);
	publish(w, &m, 0);
	worker_line(w, "-> *%s* %s", to, text);
}

static void
change_nick(struct worker *w, const char *nick)
{
	uint32_t max = w->shm->h->lim.nick_length;
	char old[NICK_MAX + 1];
	struct msg m;
	int told;

	if (!nick_valid(nick) || strlen(nick) > max) {
		worker_notice(w,
		    "invalid nickname: 1 to %u letters, digits "
		    "or -[]\\`^{}|_, not starting with a digit or -",
		    max);
		return;
	}
	if (strcmp(nick, w->nick) == 0) {
		worker_notice(w, "you are %s already", nick);
		return;
	}
	if (table_set_nick(w->shm, w->row, nick, old) == -1) {
		worker_notice(w, "nickname %s is already in use", nick);
		return;
	}
	pthread_mutex_lock(&w->mu);
	strlcpy_(w->nick, nick, sizeof(w->nick));
	msg_init(w, &m, MSG_NICK);
	memcpy(m.nick, old, sizeof(m.nick));
	told = told_rooms(w, &m);
	pthread_mutex_unlock(&w->mu);
	msg_text(&m, nick);
	if (told > 0)
		publish(w, &m, 0);
	log_debug("nick changed peer=%s old=%s new=%s", w->addr, old, nick);
	worker_notice(w, "you are now known as %s", nick);
}

/*
 * Sends HEAD followed by the words of LIST (N entries of STRIDE bytes),
 * wrapped into lines of about WRAP bytes.
 */
static void
send_wrapped(struct worker *w, const char *head, const char *list, size_t n,
    size_t stride)
{
	char line[WRAP + 64];
	size_t i, len;

	len = (size_t)snprintf(line, sizeof(line), "%s", head);
	for (i = 0; i < n; i++) {
		const char *word = list + i * stride;

		if (len + strlen(word) + 1 > WRAP) {
			worker_notice(w, "%s", line);
			len = (size_t)snprintf(line, sizeof(line), "  ");
		}
		len += (size_t)snprintf(line + len, sizeof(line) - len, " %s",
		    word);
	}
	worker_notice(w, "%s", line);
}

static void
who(struct worker *w, char *room)
{
	struct nick *nicks;
	char head[96];
	size_t n, max = w->shm->h->nrows;

	pthread_mutex_lock(&w->mu);
	if (room == NULL && w->current >= 0)
		room = w->rooms[w->current].name;
	pthread_mutex_unlock(&w->mu);
	if (room == NULL) {
		worker_notice(w, "you are in no room: /who #ROOM");
		return;
	}
	lower(room);
	if (!room_valid(room)) {
		worker_notice(w, "invalid room name: %s", room);
		return;
	}
	if ((nicks = calloc(max, sizeof(*nicks))) == NULL) {
		worker_notice(w, "out of memory");
		return;
	}
	n = table_members(w->shm, room, nicks, max);
	if (n == 0)
		worker_notice(w, "nobody is in %s", room);
	else {
		snprintf(head, sizeof(head), "%zu in %s:", n, room);
		send_wrapped(w, head, nicks[0].name, n < max ? n : max,
		    sizeof(*nicks));
	}
	free(nicks);
}

static void
list_rooms(struct worker *w)
{
	enum { MAXROOMS = 256 };
	struct room_count *rc;
	struct {
		char s[ROOM_MAX + 16];
	} * words;
	char head[64];
	size_t n, i;

	rc = calloc(MAXROOMS, sizeof(*rc));
	words = calloc(MAXROOMS, sizeof(*words));
	if (rc == NULL || words == NULL) {
		worker_notice(w, "out of memory");
		goto out;
	}
	n = table_rooms(w->shm, rc, MAXROOMS);
	for (i = 0; i < n; i++)
		snprintf(words[i].s, sizeof(words[i].s), "%s(%u)", rc[i].name,
		    rc[i].members);
	if (n == 0)
		worker_notice(w, "there are no rooms: /join #ROOM makes one");
	else {
		snprintf(head, sizeof(head), "%zu room%s:", n,
		    n == 1 ? "" : "s");
		send_wrapped(w, head, words[0].s, n, sizeof(*words));
	}
out:
	free(rc);
	free(words);
}

static void
help(struct worker *w)
{
	const char *line;
	size_t i;

	worker_notice(w, "commands:");
	for (i = 0; (line = cmd_help(i)) != NULL; i++)
		worker_notice(w, "  %s", line);
	worker_notice(w, "anything else you type goes to your current room");
}

/*
 * Flood control: a token bucket of FLOOD_BURST lines refilled at
 * FLOOD_RATE a second.  A client over the rate is slowed down, not cut
 * off and never robbed of a line: this thread waits for the next token, so
 * its input stays in the kernel and TCP pushes back on the client.  It is
 * told once per episode, and the episode is logged.
 */
static int
pace(struct worker *w)
{
	uint32_t rate = w->shm->h->lim.flood_rate;
	uint32_t burst = w->shm->h->lim.flood_burst;
	uint32_t kick = w->shm->h->lim.flood_kick;
	uint64_t now = now_ms();
	struct timespec ts;
	double wait;

	if (rate == 0)
		return 0;
	w->tokens += (double)(now - w->refilled) * rate / 1000.0;
	w->refilled = now;
	if (w->tokens >= burst) {
		w->tokens = burst;
		w->throttled = 0;
		w->held_ms = 0;
	}
	if (w->tokens < 1) {
		if (!w->throttled) {
			w->throttled = 1;
			log_warnx("flood slowed peer=%s nick=%s rate=%u",
			    w->addr, w->nick, rate);
			worker_notice(w,
			    "you are sending more than %u lines a second: "
			    "your lines are slowed down",
			    rate);
		}
		wait = (1 - w->tokens) * 1000.0 / rate;
		/* held back this long in all without a pause: enough */
		w->held_ms += (uint64_t)wait;
		if (kick > 0 && w->held_ms > (uint64_t)kick * 1000) {
			log_warnx("flood disconnected peer=%s nick=%s rate=%u "
				  "kick_s=%u",
			    w->addr, w->nick, rate, kick);
			worker_notice(w,
			    "you kept sending more than %u lines a second: "
			    "disconnected",
			    rate);
			return -1;
		}
		flush_wakes(w);
		ts.tv_sec = (time_t)(wait / 1000);
		ts.tv_nsec = (long)((wait - (double)ts.tv_sec * 1000) * 1e6);
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
		w->tokens = 1;
		w->refilled = now_ms();
	}
	w->tokens -= 1;
	return 0;
}

/* Runs one line; returns 1 if the client asked to quit. */
static int
handle_line(struct worker *w, char *raw, size_t rawlen, char **reason)
{
	static char line[TEXT_MAX + 1];
	struct cmd c;
	size_t taken;

	sanitize_cut(raw, rawlen, line, sizeof(line), &taken);
	if (taken < rawlen)
		worker_notice(w,
		    "line cut to %d bytes: the characters that replace "
		    "what cannot be shown made it longer",
		    TEXT_MAX);
	switch (cmd_parse(line, &c)) {
	case CMD_NONE:
		if (rawlen > 0 && raw[strspn(raw, " \t")] != '\0')
			worker_notice(w,
			    "nothing left to send once control "
			    "characters were removed");
		break;
	case CMD_SAY:
		say(w, MSG_TEXT, c.text);
		break;
	case CMD_ME:
		say(w, MSG_ACTION, c.text);
		break;
	case CMD_NICK:
		change_nick(w, c.arg);
		break;
	case CMD_MSG:
		private_msg(w, c.arg, c.text);
		break;
	case CMD_JOIN:
		lower(c.arg);
		if (!room_valid(c.arg))
			worker_notice(w,
			    "invalid room name: %s (a # and up "
			    "to %d letters, digits or _-.)",
			    c.arg, ROOM_MAX - 1);
		else
			join_room(w, c.arg);
		break;
	case CMD_PART:
		part_room(w, c.arg, c.text);
		break;
	case CMD_WHO:
		who(w, c.arg);
		break;
	case CMD_ROOMS:
		list_rooms(w);
		break;
	case CMD_HELP:
		help(w);
		break;
	case CMD_QUIT:
		*reason = c.text;
		return 1;
	case CMD_UNKNOWN:
		worker_notice(w, "unknown command /%s: /help lists them",
		    c.name);
		break;
	case CMD_USAGE:
		worker_notice(w, "usage: %s", c.usage);
		break;
	}
	return 0;
}

/* Why the connection was shut from our side. */
static const char *
closed_why(struct worker *w)
{
	return w->gone != NULL ? w->gone : "closed";
}

/*
 * Whether the registration or idle timeout has run out; if so tells the
 * client and returns the reason for disconnecting it, else NULL.  The
 * limits are read each time: a reload may have changed them.
 */
static char *
timed_out(struct worker *w)
{
	uint32_t reg = w->shm->h->lim.register_timeout;
	uint32_t idle = w->shm->h->lim.idle_timeout;
	uint64_t now = now_ms();
	int first = w->last_ms == 0;

	if (first && reg > 0 && now >= w->since_ms + (uint64_t)reg * 1000) {
		worker_notice(w, "you sent nothing for %u seconds: goodbye",
		    reg);
		return "registration timeout";
	}
	if (idle > 0 &&
	    now >= (first ? w->since_ms : w->last_ms) + (uint64_t)idle * 1000) {
		worker_notice(w, "you were idle for %u seconds: goodbye", idle);
		return "idle timeout";
	}
	return NULL;
}

/*
 * Makes read() give up now and then, so that timed_out() is asked: every
 * TICK seconds, the shortest timeout that applies (at most a minute, so a
 * reload is noticed).  The socket option is set only when the tick
 * changes, not at every read.
 */
static void
arm_tick(struct worker *w)
{
	uint32_t reg = w->shm->h->lim.register_timeout;
	uint32_t idle = w->shm->h->lim.idle_timeout;
	uint32_t tick = 60;
	struct timeval tv;

	if (w->last_ms == 0 && reg > 0 && reg < tick)
		tick = reg;
	if (idle > 0 && idle < tick)
		tick = idle;
	if (tick == w->tick_s)
		return;
	tv.tv_sec = (time_t)tick;
	tv.tv_usec = 0;
	if (setsockopt(w->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0)
		w->tick_s = tick;
}

/*
 * Reads and runs the client's lines until it quits or goes.  Returns the
 * reason to give the others; QUIT is set if the client said /quit.
 */
static const char *
serve(struct worker *w, int *quit, char *reason, size_t size)
{
	char buf[4096], *why;
	size_t off, used;
	ssize_t n;
	int ev;

	*quit = 0;
	for (;;) {
		/* what the last read's lines published: woken before we wait */
		flush_wakes(w);
		if ((why = timed_out(w)) != NULL)
			return why;
		arm_tick(w);
		n = read(w->fd, buf, sizeof(buf));
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue; /* interrupted, or a tick: check the time */
		if (n == 0 && atomic_load(&w->shm->h->shutting_down))
			return "server shutdown";
		if (n == 0)
			return atomic_load(&w->closing) ? closed_why(w)
							: "connection closed";
		if (n == -1)
			return errno == ECONNRESET ? "connection reset"
						   : strerror(errno);
		for (off = 0; off < (size_t)n; off += used) {
			used = frame_feed(&w->frame, buf + off, (size_t)n - off,
			    &ev);
			if (ev == FRAME_MORE)
				continue;
			atomic_fetch_add(&w->shm->rows[w->row].lines_in, 1);
			w->last_ms = now_ms();
			if (pace(w) == -1)
				return "excess flood";
			if (atomic_load(&w->closing))
				return closed_why(w);
			if (ev == FRAME_LONG)
				worker_notice(w,
				    "line longer than %d bytes: "
				    "the rest was cut",
				    TEXT_MAX);
			why = NULL;
			if (handle_line(w, w->frame.buf, w->frame.len, &why)) {
				*quit = 1;
				strlcpy_(reason, why != NULL ? why : "quit",
				    size);
				return reason;
			}
		}
	}
}

/* Publishes our QUIT, unless the master has told everyone already. */
static void
say_goodbye(struct worker *w, const char *reason)
{
	struct msg m;
	int told;

	if (atomic_load(&w->shm->h->shutting_down))
		return;
	/* counted as the rooms were with us in them, as for a part */
	msg_init(w, &m, MSG_QUIT);
	pthread_mutex_lock(&w->mu);
	told = told_rooms(w, &m);
	pthread_mutex_unlock(&w->mu);
	table_leave(w->shm, w->row);
	msg_text(&m, reason);
	if (told > 0)
		publish(w, &m, 0);
	atomic_store(&w->shm->rows[w->row].quit_sent, 1);
}

/*
 * Closes the connection without losing what is queued for the client:
 * half-close, then read and drop what the client still sends (briefly),
 * because closing with unread input makes the kernel send a reset that
 * may destroy our last lines at the client.
 */
static void
linger_close(int fd)
{
	struct timeval tv = {0, 200 * 1000};
	char buf[4096];
	int i;

	shutdown(fd, SHUT_WR);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (i = 0; i < 16 && read(fd, buf, sizeof(buf)) > 0; i++)
		;
	close(fd);
}

/* The message of the day, a notice a line (the master made it safe). */
static void
show_motd(struct worker *w)
{
	char *motd = malloc(MOTD_MAX), *line, *next;

	if (motd == NULL)
		return;
	shm_get_motd(w->shm, motd);
	for (line = motd; *line != '\0'; line = next) {
		next = line + strcspn(line, "\n");
		if (*next == '\n')
			*next++ = '\0';
		worker_notice(w, "- %s", line);
	}
	free(motd);
}

static void
greet(struct worker *w)
{
	worker_notice(w, "Welcome to chatd, %s!", w->nick);
	worker_notice(w, "Your nickname is %s; change it with /nick NAME.",
	    w->nick);
	worker_notice(w,
	    "Type /help for the commands. You are in %s; what "
	    "you type goes to everyone there.",
	    DEFAULT_ROOM);
	if (w->shm->h->lim.register_timeout > 0)
		worker_notice(w,
		    "Say something or pick a /nick within %u seconds to "
		    "stay connected.",
		    w->shm->h->lim.register_timeout);
	show_motd(w);
}

/*
 * Asks the kernel to treat this worker (and the outbound thread it will
 * start) as a batch task: one that a wake-up does not let preempt the task
 * running.  A publisher then finishes the lines it has read before the
 * readers it woke run, and each reader finds a batch to drain instead of a
 * single line: on two cores with a hundred readers this doubles the lines
 * delivered per second and cuts the p99 latency of a flooded room by
 * three (bench/compare.sh).  A reader still runs as soon as a CPU is free,
 * so a quiet server answers as fast as before.  Linux-only; elsewhere, or
 * if refused, the worker keeps the normal policy.
 */
static void
batch_scheduling(void)
{
#ifdef SCHED_BATCH
	struct sched_param sp;

	memset(&sp, 0, sizeof(sp));
	if (sched_setscheduler(0, SCHED_BATCH, &sp) == -1)
		log_debug("worker scheduling unchanged error=\"%s\"",
		    strerror(errno));
#endif
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14 */
#endif

/*
 * Maps the whole segment into our page tables now, in one system call.
 * fork() does not copy the page table entries of a shared mapping: a
 * worker would otherwise fault on every page of the ring and the table
 * it reads, once each, a few hundred faults, which on a virtual machine
 * cost more than the rest of its start.  Without MADV_POPULATE_READ (a
 * kernel before 5.14) nothing is done and the pages fault in as before.
 */
static void
map_segment(struct shm *shm)
{
	madvise(shm->h, shm->size, MADV_POPULATE_READ);
}

static pthread_t
start_outbound(struct worker *w)
{
	pthread_attr_t attr;
	pthread_t t;
	int err;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, OUTBOUND_STACK);
	err = pthread_create(&t, &attr, outbound_main, w);
	pthread_attr_destroy(&attr);
	if (err != 0) {
		errno = err;
		log_warn("worker failed peer=%s call=pthread_create", w->addr);
		worker_notice(w, "server error: cannot serve you now");
		close(w->fd);
		table_release(w->shm, w->row);
		exit(1);
	}
	return t;
}

/*
 * Serves the client on FD from row ROW of the table, which the master
 * claimed for us, and exits.
 */
void
worker_main(struct shm *shm, int row, int fd, const char *addr)
{
	static struct worker w;
	char room[] = DEFAULT_ROOM, reason[TEXT_MAX + 1];
	struct row *r = &shm->rows[row];
	const char *why;
	pthread_t out;
	int quit, one = 1, sndbuf = CLIENT_SNDBUF;

	signal(SIGPIPE, SIG_IGN);
	batch_scheduling();
	map_segment(shm);
#ifdef M_ARENA_MAX
	/*
	 * One malloc arena: the outbound thread would otherwise get one of
	 * its own, a 64 MiB reservation of which it dirties 16 KiB and a page
	 * table page, per client, for a few small buffers.
	 */
	mallopt(M_ARENA_MAX, 1);
#endif
	log_follow(&shm->h->verbose);
	/*
	 * Lines are small and every one should leave at once: without this
	 * Nagle's algorithm holds a line back until the client's delayed ACK
	 * of the previous one, up to 40 ms on Linux.
	 */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/*
	 * A fixed send buffer: the kernel would otherwise grow it to
	 * megabytes for a client that stops reading, memory that a thousand
	 * stalled clients would take from everyone.  Lines past it wait in
	 * the ring, where a reader that falls too far behind is lapped.
	 */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	/*
	 * A client that leaves its socket full for SEND_TIMEOUT seconds is
	 * not reading: a send() that makes no progress that long fails with
	 * EAGAIN and ends the connection.
	 */
	if (shm->h->lim.send_timeout > 0) {
		struct timeval tv = {(time_t)shm->h->lim.send_timeout, 0};

		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	memset(&w, 0, sizeof(w));
	w.shm = shm;
	w.row = row;
	w.gen = r->gen;
	w.fd = fd;
	w.current = -1;
	strlcpy_(w.addr, addr, sizeof(w.addr));
	pthread_mutex_init(&w.mu, NULL);
	pthread_mutex_init(&w.out_mu, NULL);
	frame_init(&w.frame);
	w.inbound = pthread_self();
	w.tokens = shm->h->lim.flood_burst;
	w.refilled = now_ms();
	w.since_ms = w.refilled;
	if (table_guest_nick(shm, row, w.nick, sizeof(w.nick)) == -1) {
		worker_notice(&w, "server error: no free nickname");
		close(fd);
		table_release(shm, row);
		exit(1);
	}
	atomic_store(&r->state, ROW_ACTIVE);
	/*
	 * The cursor is read before the shutdown flag: if the flag is still
	 * clear, the master's SHUTDOWN message comes later and the outbound
	 * thread will see it; if it is set, that message may be behind us.
	 */
	w.cursor = atomic_load(&shm->h->head);
	if (atomic_load(&shm->h->shutting_down)) {
		worker_notice(&w, "server is shutting down; goodbye");
		close(fd);
		table_release(shm, row);
		exit(0);
	}
	greet(&w);
	out = start_outbound(&w);
	join_room(&w, room);

	why = serve(&w, &quit, reason, sizeof(reason));
	flush_wakes(&w);
	say_goodbye(&w, why);
	if (quit)
		worker_notice(&w, "bye");
	log_info("disconnect peer=%s nick=%s reason=\"%s\" lines_in=%llu "
		 "lines_out=%llu",
	    w.addr, w.nick, quit ? "quit" : why,
	    (unsigned long long)atomic_load(&r->lines_in),
	    (unsigned long long)atomic_load(&r->lines_out));

	/* stop the outbound thread: wake it, and unblock a stuck write */
	atomic_store(&w.closing, 1);
	sem_post(&r->wake);
	shutdown(fd, SHUT_WR);
	pthread_join(out, NULL);
	linger_close(fd);
	table_release(shm, row);
	exit(0);
}
