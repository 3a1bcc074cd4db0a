/*
 * status.c - chatd -S: what a running instance is doing, read from its
 * segment.
 *
 * The segment is mapped read-only and none of its locks is taken, so
 * looking can neither change nor stall the instance.  The price is that
 * rows may change while they are copied: each is copied to a local
 * snapshot first, again if its state or generation moved during the copy,
 * and its strings are cut at their last byte whatever happened.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "master.h"
#include "../common/util.h"

#define ROOMS_TEXT (ROOMS_PER_CLIENT * (ROOM_MAX + 1))
#define COPY_TRIES 5

/* A row as it was copied out of the segment. */
struct client_view {
	uint32_t state;
	int32_t pid;
	char nick[NICK_MAX + 1];
	char addr[ADDR_MAX];
	char rooms[ROOMS_TEXT]; /* "#a,#b", or "" */
	int64_t since_ms;
	uint64_t in, out, drops;
};

/* Replaces what a terminal should not get, and lowers if LOWER. */
static void
printable(char *s, int lower)
{
	for (; *s != '\0'; s++) {
		if (!isprint((unsigned char)*s) || *s == ' ')
			*s = '?';
		else if (lower)
			*s = (char)tolower((unsigned char)*s);
	}
}

/* Copies the strings and counters of R into V, the strings cut. */
static void
copy_row(struct row *r, struct client_view *v)
{
	char name[ROOM_MAX + 1];
	size_t used = 0, n;
	int k;

	v->pid = atomic_load(&r->pid);
	memcpy(v->nick, r->nick, sizeof(v->nick));
	v->nick[sizeof(v->nick) - 1] = '\0';
	memcpy(v->addr, r->addr, sizeof(v->addr));
	v->addr[sizeof(v->addr) - 1] = '\0';
	v->since_ms = r->since_ms;
	v->rooms[0] = '\0';
	for (k = 0; k < ROOMS_PER_CLIENT; k++) {
		if (atomic_load(&r->rooms[k].hash) == 0)
			continue;
		memcpy(name, r->rooms[k].name, sizeof(name));
		name[sizeof(name) - 1] = '\0';
		if ((n = strlen(name)) == 0 || used + n + 2 > sizeof(v->rooms))
			continue;
		if (used > 0)
			v->rooms[used++] = ',';
		memcpy(v->rooms + used, name, n + 1);
		used += n;
	}
	v->in = atomic_load(&r->lines_in);
	v->out = atomic_load(&r->lines_out);
	v->drops = atomic_load(&r->drops);
}

/*
 * Takes a snapshot of R into V.  Returns 1, or 0 if the row is free (or
 * became free meanwhile).
 */
static int
snapshot(struct row *r, struct client_view *v)
{
	volatile uint32_t *genp = &r->gen;
	uint32_t state, gen;
	int tries;

	for (tries = 0; tries < COPY_TRIES; tries++) {
		if ((state = atomic_load(&r->state)) == ROW_FREE)
			return 0;
		gen = *genp;
		atomic_thread_fence(memory_order_acquire);
		copy_row(r, v);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load(&r->state) == state && *genp == gen)
			break;
	}
	/* a row that kept moving shows as last copied; a freed one not */
	if ((v->state = atomic_load(&r->state)) == ROW_FREE)
		return 0;
	printable(v->nick, 0);
	printable(v->addr, 0);
	printable(v->rooms, 1);
	return 1;
}

/* Copies every row in use; returns how many, *OUT to be freed. */
static size_t
snapshot_all(struct shm *s, struct client_view **out)
{
	struct client_view *v = NULL, *nv;
	uint32_t i, hwm = atomic_load(&s->h->rows_hwm);
	size_t n = 0, cap = 0;

	if (hwm > s->h->nrows)
		hwm = s->h->nrows;
	for (i = 0; i < hwm; i++) {
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				fprintf(stderr,
				    "chatd: out of memory copying the client "
				    "table\n");
				free(v);
				exit(1);
			}
			v = nv;
		}
		if (snapshot(&s->rows[i], &v[n]))
			n++;
	}
	*out = v;
	return n;
}

static const char *
state_name(uint32_t state)
{
	switch (state) {
	case ROW_CLAIMED:
		return "starting";
	case ROW_ACTIVE:
		return "active";
	case ROW_LEAVING:
		return "leaving";
	default:
		return "unknown";
	}
}

static const char *
yes_no(int yes)
{
	return yes ? "yes" : "no";
}

static void
print_header(struct shm *s, const char *name, size_t clients)
{
	struct shm_header *h = s->h;
	struct shm_stats *st = &h->stats;
	struct shm_limits lim = h->lim;
	int32_t master = atomic_load(&h->master_pid);

	printf("instance: %s\n", name);
	printf("segment: %s\n", s->name);
	printf("segment_size: %zu\n", s->size);
	printf("master_pid: %ld\n", (long)master);
	printf("master_alive: %s\n", yes_no(!proc_is_dead(master)));
	printf("shutting_down: %s\n",
	    yes_no(atomic_load(&h->shutting_down) != 0));
	printf("clients: %zu\n", clients);
	printf("max_clients: %" PRIu32 "\n", h->nrows);
	printf("rooms_in_use: %" PRIu32 "\n", h->rooms_in_use);
	printf("ring_slots: %" PRIu32 "\n", h->nslots);
	printf("head: %" PRIu64 "\n", (uint64_t)atomic_load(&h->head));
	printf("backlog: %" PRIu32 "\n", lim.backlog);
	printf("flood_rate: %" PRIu32 "\n", lim.flood_rate);
	printf("flood_burst: %" PRIu32 "\n", lim.flood_burst);
	printf("flood_kick: %" PRIu32 "\n", lim.flood_kick);
	printf("send_timeout: %" PRIu32 "\n", lim.send_timeout);
	printf("idle_timeout: %" PRIu32 "\n", lim.idle_timeout);
	printf("register_timeout: %" PRIu32 "\n", lim.register_timeout);
	printf("nick_length: %" PRIu32 "\n", lim.nick_length);
	printf("rooms_per_client: %" PRIu32 "\n", lim.rooms_per_client);
	printf("max_rooms: %" PRIu32 "\n", lim.max_rooms);
	printf("announce_limit: %" PRIu32 "\n", lim.announce_limit);
	printf("batch_delay: %" PRIu32 "\n", lim.batch_delay);
	printf("batch_clients: %" PRIu32 "\n", lim.batch_clients);
	printf("connections: %" PRIu64 "\n",
	    (uint64_t)atomic_load(&st->connections));
	printf("published: %" PRIu64 "\n",
	    (uint64_t)atomic_load(&st->published));
	printf("delivered: %" PRIu64 "\n",
	    (uint64_t)atomic_load(&st->delivered));
	printf("drops: %" PRIu64 "\n", (uint64_t)atomic_load(&st->drops));
	printf("repairs: %" PRIu64 "\n", (uint64_t)atomic_load(&st->repairs));
	printf("refused: %" PRIu64 "\n", (uint64_t)atomic_load(&st->refused));
	printf("lock_takeovers: %" PRIu64 "\n",
	    (uint64_t)(atomic_load(&h->publock.takeovers) +
		atomic_load(&h->tablock.takeovers)));
	printf("owing_wakeups: %" PRIu32 "\n", ring_owing(s));
}

/* "YYYY-MM-DD HH:MM:SS" local time of MS, or "-" if it has none. */
static void
format_since(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || localtime_r(&t, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		strlcpy_(buf, "-", size);
}

/* How long since MS, as ps(1) shows it: [[d-]hh:]mm:ss. */
static void
format_elapsed(int64_t ms, int64_t now, char *buf, size_t size)
{
	int64_t s = ms > 0 && now > ms ? (now - ms) / 1000 : 0;
	long d = (long)(s / 86400), hh = (long)(s / 3600 % 24),
	     mm = (long)(s / 60 % 60), ss = (long)(s % 60);

	if (ms <= 0)
		strlcpy_(buf, "-", size);
	else if (d > 0)
		snprintf(buf, size, "%ld-%02ld:%02ld:%02ld", d, hh, mm, ss);
	else if (hh > 0)
		snprintf(buf, size, "%02ld:%02ld:%02ld", hh, mm, ss);
	else
		snprintf(buf, size, "%02ld:%02ld", mm, ss);
}

enum column {
	C_NICK,
	C_ADDR,
	C_ROOMS,
	C_SINCE,
	C_ELAPSED, /* this one and those up to C_PID are right-aligned */
	C_IN,
	C_OUT,
	C_DROPS,
	C_PID,
	C_STATE,
	NCOLS
};

static const char *const heads[NCOLS] = {"NICK", "ADDRESS", "ROOMS",
    "CONNECTED", "ELAPSED", "IN", "OUT", "DROPS", "PID", "STATE"};

/* One line of the table as text. */
struct cells {
	const char *s[NCOLS];
	char since[32], elapsed[32], in[24], out[24], drops[24], pid[16];
};

static const char *
or_dash(const char *s)
{
	return s[0] != '\0' ? s : "-";
}

static void
row_cells(const struct client_view *v, int64_t now, struct cells *c)
{
	format_since(v->since_ms, c->since, sizeof(c->since));
	format_elapsed(v->since_ms, now, c->elapsed, sizeof(c->elapsed));
	snprintf(c->in, sizeof(c->in), "%" PRIu64, v->in);
	snprintf(c->out, sizeof(c->out), "%" PRIu64, v->out);
	snprintf(c->drops, sizeof(c->drops), "%" PRIu64, v->drops);
	if (v->pid > 0)
		snprintf(c->pid, sizeof(c->pid), "%ld", (long)v->pid);
	else
		strlcpy_(c->pid, "-", sizeof(c->pid));
	c->s[C_NICK] = or_dash(v->nick);
	c->s[C_ADDR] = or_dash(v->addr);
	c->s[C_ROOMS] = or_dash(v->rooms);
	c->s[C_SINCE] = c->since;
	c->s[C_ELAPSED] = c->elapsed;
	c->s[C_IN] = c->in;
	c->s[C_OUT] = c->out;
	c->s[C_DROPS] = c->drops;
	c->s[C_PID] = c->pid;
	c->s[C_STATE] = state_name(v->state);
}

static void
print_cells(const char *const *s, const int *w)
{
	int i;

	for (i = 0; i < NCOLS - 1; i++)
		printf(i >= C_ELAPSED && i <= C_PID ? "%*s  " : "%-*s  ", w[i],
		    s[i]);
	printf("%s\n", s[NCOLS - 1]);
}

/* The table of clients, each column as wide as its widest cell. */
static void
print_clients(const struct client_view *v, size_t n)
{
	struct cells c;
	int64_t now = wall_ms();
	int w[NCOLS], i, len;
	size_t k;

	for (i = 0; i < NCOLS; i++)
		w[i] = (int)strlen(heads[i]);
	for (k = 0; k < n; k++) {
		row_cells(&v[k], now, &c);
		for (i = 0; i < NCOLS; i++)
			if ((len = (int)strlen(c.s[i])) > w[i])
				w[i] = len;
	}
	print_cells(heads, w);
	for (k = 0; k < n; k++) {
		row_cells(&v[k], now, &c);
		print_cells(c.s, w);
	}
}

/* Says why the segment SEG of instance NAME cannot be read. */
static void
attach_failed(const char *name, const char *seg, int err)
{
	switch (err) {
	case ENOENT:
		fprintf(stderr,
		    "chatd: no running chatd instance %s (no segment %s)\n",
		    name, seg);
		break;
	case EACCES:
	case EPERM:
		fprintf(stderr,
		    "chatd: cannot read segment %s: permission denied; run "
		    "chatd -S as the user the daemon serves as, or as root\n",
		    seg);
		break;
	case EPROTO:
		fprintf(stderr,
		    "chatd: segment %s is not a chatd segment of version %d "
		    "(not chatd's, still being made, or made by another "
		    "version of chatd)\n",
		    seg, SHM_VERSION);
		break;
	default:
		fprintf(stderr, "chatd: cannot read segment %s: %s\n", seg,
		    strerror(err));
		break;
	}
}

/*
 * chatd -S: prints the status of instance NAME (the -n name or the port)
 * on the standard output.  Returns the exit status: 0 if printed, 1 with a
 * message on the standard error output if not.
 */
int
status_main(const char *name)
{
	struct client_view *v;
	struct shm s;
	char seg[64];
	size_t n;
	int failed;

	snprintf(seg, sizeof(seg), "/chatd-%s", name);
	if (shm_attach_ro(&s, seg) == -1) {
		attach_failed(name, seg, errno);
		return 1;
	}
	n = snapshot_all(&s, &v);
	print_header(&s, name, n);
	putchar('\n');
	print_clients(v, n);
	free(v);
	shm_detach(&s);
	failed = fflush(stdout) == EOF || ferror(stdout);
	if (failed)
		fprintf(stderr, "chatd: cannot write the status: %s\n",
		    strerror(errno));
	return failed;
}
