/*
 * session.c - a worker's life: greet, read, obey, say goodbye.
 *
 * A worker is one process with one thread.  It reads the client's socket,
 * frames and sanitises lines, runs commands and publishes to the ring; it
 * answers the client directly for what concerns only the client (errors,
 * /who, /help); and it copies from the ring to the socket what is for this
 * client (outbound.c).  In between it sleeps on its row's wake semaphore,
 * which publishers post.  A semaphore is not a file descriptor that poll()
 * could watch with the socket, so the socket is put in signal-driven mode
 * (O_ASYNC): the kernel sends SIGIO when input arrives, and the handler
 * posts the same semaphore.  One thread instead of two saves a kernel
 * stack, a thread stack and a task per client, and half the work of
 * starting a worker (bench/memory.sh, bench/spawnfloor.c).
 */
#define _GNU_SOURCE /* SCHED_BATCH */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
#include "../common/fmt.h"
#include "../common/log.h"
#include "../common/util.h"

#define DEFAULT_ROOM "#lobby"
#define CLIENT_SNDBUF (64 * 1024) /* the kernel doubles it */
#define WRAP 400 /* bytes of names on one /who or /rooms line */

static void flush_wakes(struct worker *);

/*
 * What a worker writes of its own, in one page-aligned block, zero from
 * the start (a worker serves one client, once).  What a worker writes after
 * fork() is what it costs in memory, a page at a time, copied from the
 * master's or new; an idle client writes the first page of this only: the
 * fields, its few lines in, and the lines it is sent, formatted at the
 * start of the outbound buffer (struct worker's order).
 */
static _Alignas(4096) struct worker_block {
	sem_t *input_wake; /* the row's wake semaphore, for the SIGIO handler */
	/*
	 * Set by the SIGIO handler, cleared before a recv(): while it is
	 * clear, nothing came since a recv() found the socket empty, and a
	 * worker woken by the ring need not ask (a third of all system calls
	 * flat out were recv()s that found nothing).
	 */
	volatile sig_atomic_t input_ready;
	struct shm shm; /* ours: we write it, not the master's page */
	struct worker w;
} self;

/* an idle client's lines go out from the first page (a short backlog too) */
#define FIRST_PAGE_OUT 384
_Static_assert(offsetof(struct worker_block, w.ob.buf) + FIRST_PAGE_OUT <= 4096,
    "the outbound buffer begins too far into the worker's first page");

/*
 * The message being read stays in the low half of its page.  At page
 * offsets 2,584-3,232, the offsets of a delivery's stack frames (serve()
 * begins at the top of a stack page), 10 subscribers flat out took 8-35%
 * more CPU a line (9f0d758; likely 4K aliasing, not confirmed).  Fields
 * added before it move it, and fields anywhere in struct worker have
 * moved deliveries' cost before (make pairs, BENCHMARKS.md): whoever
 * changes the layout runs make pairs at S=10 and S=1000.
 */
_Static_assert((offsetof(struct worker_block, w.m) & 4095) + sizeof(struct msg)
	<= 2048, "the message being read left the low half of its page");

/*
 * Why a quiet worker sends through a pipe.  Once a process has sent on a
 * TCP socket, Linux keeps a block of 32 KiB for its sends until it exits
 * (the task's page fragment, which tcp_sendmsg() copies what is sent
 * into): 32 KiB for every connected client, more than the rest of what an
 * idle worker keeps of its own (BENCHMARKS.md, "The page every worker
 * keeps for its sends").  Bytes spliced from a pipe leave in the pipe's
 * own pages instead, which go with them.  The pipe costs a system call
 * more a send, a page taken and given back each time, and its own 2 KiB
 * or so; so a worker sends through it until it has sent QUIET_SENDS times
 * or has a send of more than QUIET_MAX bytes (a busy client's batch),
 * then closes it and sends straight to the socket for the rest of its
 * life.  The greeting is not counted, whatever the motd's length, and
 * leaves in one send (greet_begin()); an idle client's join is one more.
 */
#define QUIET_SENDS 16
#define QUIET_MAX 1024 /* within a pipe's one page, however few it has */

/*
 * The greeting's lines wait in the pipe and leave together, in one
 * splice and one TCP segment where each took its own.  At most QUIET_HOLD
 * bytes wait: a pipe of one page (the least a pipe gets once its user has
 * many) takes them whole, since Linux merges small writes into the last
 * page while they fit.
 */
#define QUIET_HOLD 4096
_Static_assert(QUIET_MAX <= QUIET_HOLD && QUIET_MAX <= PIPE_BUF,
    "a quiet send fits in the pipe, and is written whole or not at all");

/*
 * The pipe's read and write ends, -1: none; the sends through it so far;
 * the bytes waiting in it; whether they wait for more.  The thread's, not
 * struct worker's: a worker writes its thread's storage anyway, and in
 * struct worker 16 bytes of this moved what follows them to other page
 * offsets, where 1,000 subscribers flat out took 8-20% more CPU a line
 * (make pairs, three pairs of three; as in 9f0d758).
 */
static _Thread_local int quiet_fd[2] = {-1, -1};
static _Thread_local int32_t quiet_sends;
static _Thread_local uint32_t quiet_held;
static _Thread_local int quiet_holding;

/* From now on every send goes straight to the socket. */
static void
quiet_end(void)
{
	if (quiet_fd[0] == -1)
		return;
	close(quiet_fd[0]);
	close(quiet_fd[1]);
	quiet_fd[0] = quiet_fd[1] = -1;
	quiet_held = 0;
}

/*
 * Makes the pipe a quiet worker sends through; without one it sends
 * directly.  The write end alone is non-blocking: a write that found no
 * room (in a pipe that took less than QUIET_HOLD reckons) fails and goes
 * directly, rather than wait for a reader that is the worker itself.
 * The read end stays blocking, or splice() would not wait for the socket.
 */
static void
quiet_start(void)
{
	if (pipe2(quiet_fd, O_CLOEXEC) == -1)
		quiet_fd[0] = quiet_fd[1] = -1;
	else if (fcntl(quiet_fd[1], F_SETFL, O_NONBLOCK) == -1)
		quiet_end();
}

/*
 * Where the kernel will not splice: reads back what waits in the pipe,
 * sends it directly and ends the pipe.  Returns 0, or -1 with errno set.
 * Apart, so that its buffer makes no frame deeper on the usual path.
 */
static __attribute__((noinline)) int
quiet_unsplice(struct worker *w)
{
	char chunk[512];
	ssize_t n;
	int ret = 0;

	while (ret == 0 && quiet_held > 0) {
		n = read(quiet_fd[0], chunk,
		    quiet_held < sizeof(chunk) ? quiet_held : sizeof(chunk));
		if (n > 0) {
			quiet_held -= (uint32_t)n;
			ret = write_all(w->fd, chunk, (size_t)n);
		} else if (n == 0 || errno != EINTR) {
			if (n == 0)
				errno = EIO;
			ret = -1;
		}
	}
	quiet_end();
	return ret;
}

/* Splices what waits in the pipe to the client: 0, or -1 with errno set. */
static int
quiet_flush(struct worker *w)
{
	ssize_t n;

	while (quiet_held > 0) {
		n = splice(quiet_fd[0], NULL, w->fd, NULL, quiet_held, 0);
		if (n > 0) {
			quiet_held -= (uint32_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EINVAL || errno == ENOSYS))
			return quiet_unsplice(w);
		/* the socket's error; the session ends, the pipe with it */
		if (n == 0)
			errno = EPIPE;
		return -1;
	}
	return 0;
}

/*
 * Writes BUF (LEN bytes, at most QUIET_MAX) to the client through the
 * pipe, as write_all() would: returns 0, or -1 with errno set.  While the
 * greeting is held, the bytes wait in the pipe for the rest of it.
 */
static int
quiet_send(struct worker *w, const char *buf, size_t len)
{
	ssize_t n;

	if (quiet_held + len > QUIET_HOLD && quiet_flush(w) == -1)
		return -1;
	if (quiet_fd[0] == -1) /* the kernel would not splice */
		return write_all(w->fd, buf, len);
	do
		n = write(quiet_fd[1], buf, len); /* all, or none: PIPE_BUF */
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)len) /* no room after all: send directly */
		return quiet_unsplice(w) == -1 ? -1
					       : write_all(w->fd, buf, len);
	quiet_held += (uint32_t)len;
	return quiet_holding ? 0 : quiet_flush(w);
}

/*
 * A failed write to the client (RET -1): shuts the connection down, and
 * the session ends; the first error names the reason.  Returns RET.
 */
static int
send_result(struct worker *w, int ret)
{
	const char *why;

	if (ret == 0)
		return 0;
	why = errno == EAGAIN || errno == EWOULDBLOCK ? "stopped reading"
						       : "write error";
	w->closing = 1;
	w->gone = why;
	if (why[0] == 's')
		log_warnx("slow client disconnected peer=%s nick=%s "
			  "socket_full_s=%u",
		    w->addr, w->nick, w->shm->h->lim.send_timeout);
	shutdown(w->fd, SHUT_RDWR);
	return ret;
}

/*
 * Writes BUF to the client; the one path to the socket.  On a write error
 * the connection is shut down and the session ends.  Returns 0 or -1.
 */
HOT int
worker_send(struct worker *w, const char *buf, size_t len)
{
	int ret;

	if (w->closing)
		return -1;
	/* a write may wait for the client: nobody waits for us meanwhile */
	flush_wakes(w);
	if (quiet_fd[0] == -1)
		ret = write_all(w->fd, buf, len);
	else if (len <= QUIET_MAX && ++quiet_sends <= QUIET_SENDS)
		ret = quiet_send(w, buf, len);
	else if ((ret = quiet_flush(w)) == 0) {
		quiet_end();
		ret = write_all(w->fd, buf, len);
	}
	return send_result(w, ret);
}

/*
 * The greeting's lines are held until greet_done(), and not counted
 * towards a busy client, whatever the motd's length.
 */
static void
greet_begin(void)
{
	quiet_sends = -(int32_t)MOTD_MAX;
	quiet_holding = 1;
}

/* Sends the greeting's lines that wait. */
static void
greet_done(struct worker *w)
{
	quiet_sends = 0;
	quiet_holding = 0;
	if (!w->closing)
		send_result(w, quiet_flush(w));
}

/* Sends PREFIX and the text built from FMT as one CRLF-ended line. */
static int
vline(struct worker *w, const char *prefix, const char *fmt, va_list ap)
{
	char line[TEXT_MAX + 64];
	size_t p = strlen(prefix);
	int n;

	memcpy(line, prefix, p);
	n = line_vfmt(line + p, sizeof(line) - p - 2, fmt, ap); /* see fmt.c */
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
	    w->shm->h->lim.announce_limit, w->row);
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

/* Wakes the readers of the N messages KEYS describe, published by W. */
HOT static void
wake_readers(struct worker *w, const struct wake_key *keys, int n)
{
	ring_wake_batch(w->shm, keys, n);
	ring_screened(w->shm, w->row);
}

/*
 * Wakes the readers of what this worker has published since it last did.
 * It is called before the worker can wait for anything (its sleep, a
 * write to the client)
 * and after any line that is not plain text, so a message waits for its
 * wake-up no longer than the lines read with it take to handle.
 */
HOT static void
flush_wakes(struct worker *w)
{
	if (w->npending == 0)
		return;
	wake_readers(w, w->pending, w->npending);
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
	uint64_t seq = ring_publish_row(w->shm, m, w->row);
	struct wake_key k;

	ring_wake_key(&k, m, seq, wake_self ? -1 : w->row);
	if (w->npending == 0 && m->type != MSG_TEXT && m->type != MSG_ACTION) {
		/* woken now, without a write to pending[], which an idle
		 * client (its JOIN) then never touches */
		wake_readers(w, &k, 1);
		return;
	}
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
	if ((i = worker_room_find(w, room)) >= 0) {
		w->current = i;
		worker_notice(w, "%s is now your current room", room);
		return;
	}
	for (i = 0, n = 0; i < ROOMS_PER_CLIENT; i++)
		n += w->rooms[i].name[0] != '\0';
	for (i = 0; i < ROOMS_PER_CLIENT; i++)
		if (w->rooms[i].name[0] == '\0')
			break;
	if (i == ROOMS_PER_CLIENT || n >= max) {
		worker_notice(w, "you are in %d rooms already: /part one first",
		    n);
		return;
	}
	if (table_add_room(w->shm, w->row, room, lim->max_rooms) == -1) {
		if (errno == EMLINK)
			worker_notice(w,
			    "the server has %u rooms already: "
			    "join one of them (/rooms)",
			    lim->max_rooms > 0 &&
				    lim->max_rooms < w->shm->h->nrows ?
				lim->max_rooms : w->shm->h->nrows);
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
	/* only we need the JOIN of a crowded room */
	if (quiet_room(w, room))
		m.target = w->row;
	/* our own JOIN comes back to us from the ring, and we replay */
	publish(w, &m, 1);
}

static void
part_room(struct worker *w, char *room, const char *reason)
{
	struct msg m;
	int i, k, quiet;

	if (room == NULL) {
		if (w->current < 0) {
			worker_notice(w, "you are in no room");
			return;
		}
		room = w->rooms[w->current].name;
	}
	lower(room);
	if ((i = worker_room_find(w, room)) < 0) {
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

	if (w->current < 0) {
		worker_notice(w, "you are in no room: /join #ROOM first");
		return;
	}
	msg_init(w, &m, type);
	msg_room(&m, w->rooms[w->current].name);
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
	strlcpy_(w->nick, nick, sizeof(w->nick));
	msg_init(w, &m, MSG_NICK);
	memcpy(m.nick, old, sizeof(m.nick));
	told = told_rooms(w, &m);
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

	len = (size_t)line_fmt(line, sizeof(line), "%s", head);
	for (i = 0; i < n; i++) {
		const char *word = list + i * stride;

		if (len + strlen(word) + 1 > WRAP) {
			worker_notice(w, "%s", line);
			len = (size_t)line_fmt(line, sizeof(line), "  ");
		}
		len += (size_t)line_fmt(line + len, sizeof(line) - len, " %s",
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

	if (room == NULL && w->current >= 0)
		room = w->rooms[w->current].name;
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
		line_fmt(head, sizeof(head), "%zu in %s:", n, room);
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
		line_fmt(words[i].s, sizeof(words[i].s), "%s(%u)", rc[i].name,
		    rc[i].members);
	if (n == 0)
		worker_notice(w, "there are no rooms: /join #ROOM makes one");
	else {
		line_fmt(head, sizeof(head), "%zu room%s:", n,
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
 * off and never robbed of a line: its line waits for the next token and
 * its input stays in the kernel meanwhile, so TCP pushes back on the
 * client, while the lines for it still go out.  It is told once per
 * episode, and the episode is logged.  Returns 0 if the line may go now,
 * the milliseconds it must wait, or -1 if the client is disconnected.
 */
static long
pace(struct worker *w)
{
	uint32_t rate = w->shm->h->lim.flood_rate;
	uint32_t burst = w->shm->h->lim.flood_burst;
	uint32_t kick = w->shm->h->lim.flood_kick;
	uint64_t now = now_ms();
	long wait;

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
		/* rounded up: by then the token is whole */
		wait = (long)((1 - w->tokens) * 1000.0 / rate) + 1;
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
		return wait;
	}
	w->tokens -= 1;
	return 0;
}

/* Runs one line; returns 1 if the client asked to quit. */
static int
handle_line(struct worker *w, char *raw, size_t rawlen, char **reason)
{
	char *line = w->line;
	struct cmd c;
	size_t taken;

	sanitize_cut(raw, rawlen, line, sizeof(w->line), &taken);
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
 * When the worker must look up from its sleep even if nothing comes: the
 * registration or idle timeout, the end of a flood control's wait, and at
 * least once a minute, so a reload that shortens a timeout is noticed.
 * The limits are read each time: a reload may have changed them.
 */
static uint64_t
wake_deadline(struct worker *w)
{
	uint32_t reg = w->shm->h->lim.register_timeout;
	uint32_t idle = w->shm->h->lim.idle_timeout;
	uint64_t at = now_ms() + 60 * 1000, t;

	if (w->last_ms == 0 && reg > 0 &&
	    (t = w->since_ms + (uint64_t)reg * 1000) < at)
		at = t;
	if (idle > 0 &&
	    (t = (w->last_ms == 0 ? w->since_ms : w->last_ms) +
		(uint64_t)idle * 1000) < at)
		at = t;
	if (w->held != FRAME_MORE && w->resume_ms < at)
		at = w->resume_ms;
	return at;
}

/* Why the client's input ended: recv() returned N (0 or -1). */
static const char *
input_ended(struct worker *w, ssize_t n)
{
	if (n == 0 && atomic_load(&w->shm->h->shutting_down))
		return "server shutdown";
	if (n == 0)
		return w->closing ? closed_why(w) : "connection closed";
	if (w->closing)
		return closed_why(w);
	return errno == ECONNRESET ? "connection reset" : strerror(errno);
}

/*
 * The buffer W's recv()s go to, and its SIZE: the 512 bytes on the first
 * page, or, once a recv() has filled those, 4 KiB past the outbound
 * buffer (struct worker).  It changes only before a recv().
 */
static char *
input_buffer(struct worker *w, size_t *size)
{
	if (w->in_busy) {
		*size = sizeof(w->in_more);
		return w->in_more;
	}
	*size = sizeof(w->in);
	return w->in;
}

/*
 * Takes what the client sent: at most one recv() of it, every line in it
 * run, unless the flood control holds a line back (W->held, until
 * W->resume_ms).  Returns 1 if it did something, 0 if there was nothing
 * to do now, -1 if the session ends: *WHY says why, and *QUIT is set if
 * the client said /quit (REASON holds its words).
 */
static int
take_input(struct worker *w, const char **why, int *quit, char *reason,
    size_t size)
{
	char *words, *buf;
	size_t used, room;
	ssize_t n;
	long wait;
	int ev, did = 0;

	if (w->held != FRAME_MORE && now_ms() < w->resume_ms)
		return 0;
	for (;;) {
		if (w->held == FRAME_MORE) {
			if (w->in_off == w->in_len) {
				if (did)
					return 1;
				if (!self.input_ready)
					return 0;
				self.input_ready = 0;
				if (w->in_len == sizeof(w->in))
					w->in_busy = 1; /* the last one filled in */
				buf = input_buffer(w, &room);
				n = recv(w->fd, buf, room, MSG_DONTWAIT);
				if (n == -1 &&
				    (errno == EAGAIN || errno == EWOULDBLOCK))
					return 0;
				/* there may be more, or we were interrupted */
				self.input_ready = 1;
				if (n == -1 && errno == EINTR)
					return 0;
				if (n <= 0) {
					*why = input_ended(w, n);
					return -1;
				}
				w->in_off = 0;
				w->in_len = (size_t)n;
				did = 1;
			}
			used = frame_feed(&w->frame,
			    input_buffer(w, &room) + w->in_off,
			    w->in_len - w->in_off, &ev);
			w->in_off += used;
			if (ev == FRAME_MORE)
				continue;
			atomic_fetch_add(&w->shm->rows[w->row].lines_in, 1);
			w->last_ms = now_ms();
			w->held = ev;
		}
		if ((wait = pace(w)) == -1) {
			*why = "excess flood";
			return -1;
		}
		if (wait > 0) {
			w->resume_ms = now_ms() + (uint64_t)wait;
			return 1;
		}
		ev = w->held;
		w->held = FRAME_MORE;
		did = 1;
		if (ev == FRAME_LONG)
			worker_notice(w,
			    "line longer than %d bytes: the rest was cut",
			    TEXT_MAX);
		words = NULL;
		if (handle_line(w, w->frame.buf, w->frame.len, &words)) {
			*quit = 1;
			strlcpy_(reason, words != NULL ? words : "quit", size);
			*why = reason;
			return -1;
		}
		if (w->closing) {
			*why = closed_why(w);
			return -1;
		}
	}
}

/*
 * Serves the client until it quits or goes: what the ring holds for it
 * goes out, then what it sent is run, and when there is neither the
 * worker sleeps.  Returns the reason to give the others; QUIT is set if
 * the client said /quit.
 *
 * The timeouts are looked at, and the clock read, only when one may have
 * come due: after a sleep that timed out (at the deadline they set),
 * after the client's input (which moves them), and every CLOCK_LOOPS
 * passes, for a worker kept so busy that it never sleeps to its
 * deadline.  Past 1,000 processes each page a wake-up touches costs
 * (BENCHMARKS.md), and reading the clock touches the vDSO's, which every
 * process on the machine shares: with a clock read at every pass, 1,000
 * subscribers got a fifth fewer lines a second.
 */
#define CLOCK_LOOPS 256

HOT NOINLINE static const char *
serve(struct worker *w, int *quit, char *reason, size_t size)
{
	const char *why;
	int did;

	*quit = 0;
	w->clock_due = 1;
	for (;;) {
		if (outbound_run(w))
			return "server shutdown";
		if (w->closing)
			return closed_why(w);
		if ((did = take_input(w, &why, quit, reason, size)) == -1)
			return why;
		if (did || w->clock_due || ++w->loops >= CLOCK_LOOPS) {
			w->clock_due = 0;
			w->loops = 0;
			if ((why = timed_out(w)) != NULL)
				return why;
			w->deadline_ms = 0; /* made again before a sleep */
		}
		if (did)
			continue;
		/* what the lines published: woken before we wait */
		flush_wakes(w);
		if (w->deadline_ms == 0)
			w->deadline_ms = wake_deadline(w);
		outbound_sleep(w, w->deadline_ms);
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
	told = told_rooms(w, &m);
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
 * may destroy our last lines at the client.  What it drops goes to W's
 * input buffer, done with by now: a buffer on the stack made
 * worker_main()'s frame, where this is inlined, a page larger for a
 * worker's whole life.
 */
static void
linger_close(struct worker *w)
{
	struct timeval tv = {0, 200 * 1000};
	int i;

	shutdown(w->fd, SHUT_WR);
	setsockopt(w->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (i = 0; i < 128 && read(w->fd, w->in, sizeof(w->in)) > 0; i++)
		;
	close(w->fd);
}

/*
 * The message of the day, a notice a line (the master made it safe).  It
 * is copied to the start of the outbound buffer, unused before the
 * greeting, where the lines sent later go anyway: a copy of its own cost
 * every worker a page or two more.
 */
_Static_assert(MOTD_MAX <= OUTBUF, "the motd is copied to the outbound buffer");
static void
show_motd(struct worker *w)
{
	char *motd = w->ob.buf, *line, *next;

	if (shm_get_motd(w->shm, motd) == 0)
		return;
	for (line = motd; *line != '\0'; line = next) {
		next = line + strcspn(line, "\n");
		if (*next == '\n')
			*next++ = '\0';
		worker_notice(w, "- %s", line);
	}
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
 * Asks the kernel to treat this worker as a batch task: one that a
 * wake-up does not let preempt the task running.  A publisher then
 * finishes the lines it has read before the readers it woke run, and each
 * reader finds a batch to drain instead of a single line: on two cores
 * with a hundred readers this doubles the lines delivered per second and
 * cuts the p99 latency of a flooded room by three (bench/compare.sh).  A
 * reader still runs as soon as a CPU is free, so a quiet server answers
 * as fast as before.  Linux-only; elsewhere, or
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

/*
 * Maps what we will read of the segment into our page tables now
 * (shm_populate()); the slots are read-only there, as the master left
 * them (shm_slots_read_only()).  Then, while the server is not crowded,
 * reads a byte of each page it will read, for the hypervisors that make
 * a first access dear (see shm_pretouch()).
 */
static void
map_segment(struct shm *shm, int row)
{
	uint32_t rows = atomic_load(&shm->h->rows_hwm);

	shm_forked(shm);
	shm_populate(shm, rows, row);
	shm_pretouch(shm, rows);
}

/* The client sent something: wake the worker as a publisher would. */
static void
on_input(int sig)
{
	int saved = errno;

	(void)sig;
	self.input_ready = 1;
	sem_post(self.input_wake); /* async-signal-safe */
	errno = saved;
}

/*
 * Has the kernel send us SIGIO when the client's socket has input (or an
 * error, or room again after a full send buffer), and the handler post
 * WAKE.  Returns 0 or -1.
 */
static int
watch_input(int fd, sem_t *wake)
{
	struct sigaction sa;
	int fl;

	self.input_wake = wake;
	self.input_ready = 1; /* what came before the signals were on */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_input;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGIO, &sa, NULL) == -1 ||
	    fcntl(fd, F_SETOWN, (int)getpid()) == -1 ||
	    (fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_ASYNC) == -1)
		return -1;
	return 0;
}

/*
 * Ends the worker.  Nothing is left to flush (the log is written
 * unbuffered) and the segment needs no goodbye, so the C library's exit
 * handlers are skipped: with thousands of workers leaving at once they
 * took a tenth of the time, writing to pages each worker shares
 * copy-on-write with the master (a page copy and a TLB flush on every CPU
 * each).  Under AddressSanitizer they run: its leak check is one of them.
 */
static _Noreturn void
worker_exit(int status)
{
#if defined(__SANITIZE_ADDRESS__)
	exit(status);
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
	exit(status);
#endif
#endif
	_exit(status);
}

/* No more SIGIO: the last reads need none. */
static void
unwatch_input(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl != -1)
		fcntl(fd, F_SETFL, fl & ~O_ASYNC);
}

/* Ends a worker that could not start serving. */
static void
fail_start(struct worker *w, const char *call)
{
	log_warn("worker failed peer=%s call=%s", w->addr, call);
	worker_notice(w, "server error: cannot serve you now");
	close(w->fd);
	table_release(w->shm, w->row);
	worker_exit(1);
}

/*
 * Serves the client on FD from row ROW of the table, which the master
 * claimed for us, and exits.
 */
void
worker_main(struct shm *shm, int row, int fd, const char *addr)
{
	struct worker *w = &self.w;
	char room[] = DEFAULT_ROOM, reason[TEXT_MAX + 1];
	struct row *r = &shm->rows[row];
	const char *why;
	int quit, one = 1, sndbuf = CLIENT_SNDBUF;

	self.shm = *shm; /* ours to write, with the rest of our state */
	shm = &self.shm;
	/* SIGPIPE is ignored already: see signal_child_reset() */
	batch_scheduling();
	map_segment(shm, row);
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
	w->shm = shm;
	w->row = row;
	w->gen = r->gen;
	w->fd = fd;
	quiet_start();
	w->current = -1;
	strlcpy_(w->addr, addr, sizeof(w->addr));
	frame_init(&w->frame);
	w->tokens = shm->h->lim.flood_burst;
	w->refilled = now_ms();
	w->since_ms = w->refilled;
	if (table_guest_nick(shm, row, w->nick, sizeof(w->nick)) == -1) {
		worker_notice(w, "server error: no free nickname");
		close(fd);
		table_release(shm, row);
		worker_exit(1);
	}
	atomic_store(&r->state, ROW_ACTIVE);
	/*
	 * The cursor is read before the shutdown flag: if the flag is still
	 * clear, the master's SHUTDOWN message comes later and we will see
	 * it in the ring; if it is set, that message may be behind us.
	 */
	w->cursor = atomic_load(&shm->h->head);
	if (atomic_load(&shm->h->shutting_down)) {
		worker_notice(w, "server is shutting down; goodbye");
		close(fd);
		table_release(shm, row);
		worker_exit(0);
	}
	greet_begin();
	greet(w);
	greet_done(w);
	outbound_start(w);
	if (watch_input(fd, &r->wake) == -1)
		fail_start(w, "fcntl");
	join_room(w, room);

	why = serve(w, &quit, reason, sizeof(reason));
	flush_wakes(w);
	say_goodbye(w, why);
	if (quit)
		worker_notice(w, "bye");
	log_info("disconnect peer=%s nick=%s reason=\"%s\" lines_in=%llu "
		 "lines_out=%llu",
	    w->addr, w->nick, quit ? "quit" : why,
	    (unsigned long long)atomic_load(&r->lines_in),
	    (unsigned long long)atomic_load(&r->lines_out));

	unwatch_input(fd);
	/*
	 * The row goes before the connection: once the client has seen us
	 * close, nobody may still count us in a room (its announce limit).
	 * If the lock is busy, the master frees the row when it reaps us.
	 */
	table_release_try(shm, row);
	linger_close(w);
	worker_exit(0);
}
