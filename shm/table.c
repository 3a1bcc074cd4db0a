/*
 * table.c - the client table: one row per worker.
 *
 * Claims, releases, nicknames and room lists change under the table lock,
 * so "is this nickname free?" and "take it" are one decision for all
 * workers.  Nicknames compare case-insensitively (ASCII, as IRC's
 * "ascii" casemapping); rooms are stored lower-cased by their users.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shm.h"
#include "../common/fmt.h"
#include "../common/log.h"
#include "../common/util.h"

int
nick_equal(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

/* Buckets of the nickname index for NROWS rows: a power of two, at least
 * twice NROWS, so that probes stay short. */
uint32_t
nick_buckets(uint32_t nrows)
{
	uint32_t n = 64;

	while (n < 2 * (uint64_t)nrows && n < (1u << 30))
		n <<= 1;
	return n;
}

/*
 * The open-addressing indexes (linear probing) of nicknames and of rooms:
 * puts VAL1 (a row or an entry + 1) under HASH in IX of MASK + 1 buckets,
 * and takes out what bucket I holds, moving back the entries after it
 * that would no longer be found (deletion without tombstones).  Under the
 * lock.
 */
static void
ix_put(struct nick_ent *ix, uint32_t mask, uint32_t hash, uint32_t val1)
{
	uint32_t i, n;

	for (i = hash & mask, n = 0; n <= mask; i = (i + 1) & mask, n++)
		if (ix[i].row1 == 0) {
			ix[i].hash = hash;
			ix[i].row1 = val1;
			return;
		}
}

static void
ix_erase(struct nick_ent *ix, uint32_t mask, uint32_t i)
{
	uint32_t j, home, n;

	for (j = (i + 1) & mask, n = 0; n < mask; j = (j + 1) & mask, n++) {
		if (ix[j].row1 == 0)
			break;
		home = ix[j].hash & mask;
		/* J's entry may fill the hole at I unless its home lies
		 * cyclically in (I, J] */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			ix[i] = ix[j];
			i = j;
		}
	}
	ix[i].row1 = 0;
	ix[i].hash = 0;
}

/* The bucket where the probe for a nickname of hash HASH finds ROW; -1
 * if it is not there.  Under the lock. */
static long
nick_slot(struct shm *s, uint32_t hash, int row)
{
	uint32_t mask = nick_buckets(s->h->nrows) - 1, i, n;

	for (i = hash & mask, n = 0; n <= mask; i = (i + 1) & mask, n++) {
		if (s->nicks[i].row1 == 0)
			return -1;
		if (s->nicks[i].row1 == (uint32_t)row + 1)
			return (long)i;
	}
	return -1;
}

/* Puts ROW, whose nickname is not empty, in the index.  Under the lock. */
static void
nick_index(struct shm *s, int row)
{
	ix_put(s->nicks, nick_buckets(s->h->nrows) - 1,
	    room_hash(s->rows[row].nick), (uint32_t)row + 1);
}

/* Takes ROW out of the index (under its present nickname).  Under the
 * lock. */
static void
nick_unindex(struct shm *s, int row)
{
	long at;

	if (s->rows[row].nick[0] == '\0' ||
	    (at = nick_slot(s, room_hash(s->rows[row].nick), row)) < 0)
		return;
	ix_erase(s->nicks, nick_buckets(s->h->nrows) - 1, (uint32_t)at);
}

/* The row other than ROW whose nickname is NICK, or -1.  Under the lock. */
static int
nick_owner(struct shm *s, int row, const char *nick)
{
	uint32_t mask = nick_buckets(s->h->nrows) - 1, i, n, hash, r;

	hash = room_hash(nick);
	for (i = hash & mask, n = 0; n <= mask; i = (i + 1) & mask, n++) {
		if ((r = s->nicks[i].row1) == 0)
			break;
		if (s->nicks[i].hash == hash && (int)r - 1 != row &&
		    r - 1 < s->h->nrows &&
		    atomic_load(&s->rows[r - 1].state) != ROW_FREE &&
		    nick_equal(s->rows[r - 1].nick, nick))
			return (int)r - 1;
	}
	return -1;
}

/* Builds the nickname index again from the rows.  Under the lock. */
static void
nick_reindex(struct shm *s)
{
	uint32_t i;

	memset(s->nicks, 0,
	    (size_t)nick_buckets(s->h->nrows) * sizeof(struct nick_ent));
	for (i = 0; i < s->h->nrows; i++)
		if (atomic_load(&s->rows[i].state) != ROW_FREE &&
		    s->rows[i].nick[0] != '\0')
			nick_index(s, (int)i);
}

static void
table_lock(struct shm *s)
{
	int32_t dead;

	/*
	 * A dead owner may have been changing one row, which belongs to the
	 * dead worker and is released by the master; but the count of rooms
	 * in use, the nickname index and the free-row hint may be half-way,
	 * so they are made again.
	 */
	if ((dead = lock_take(&s->h->tablock)) != 0) {
		table_repair(s);
		log_err("repair: worker died holding a lock pid=%ld lock=table",
		    (long)dead);
	}
}

static void
table_unlock(struct shm *s)
{
	lock_give(&s->h->tablock);
}

/* Lowers the high-water mark past trailing free rows; under the lock. */
static void
shrink_hwm(struct shm *s)
{
	uint32_t hwm = atomic_load(&s->h->rows_hwm);

	while (hwm > 0 && atomic_load(&s->rows[hwm - 1].state) == ROW_FREE)
		hwm--;
	atomic_store(&s->h->rows_hwm, hwm);
}

/*
 * Claims a free row for a new connection from ADDR.  Returns its index,
 * or -1 if the table is full.  The row's wake semaphore is made anew: a
 * worker killed inside sem_wait() leaves the old one's waiter count wrong.
 */
int
table_claim(struct shm *s, const char *addr)
{
	struct row *r;
	uint32_t i;
	int found = -1;

	table_lock(s);
	/* no row below the hint is free: a storm of connections claims rows
	 * one after the other without reading the taken ones again */
	for (i = s->h->free_hint; i < s->h->nrows; i++)
		if (atomic_load(&s->rows[i].state) == ROW_FREE) {
			found = (int)i;
			break;
		}
	if (found >= 0) {
		s->h->free_hint = (uint32_t)found + 1;
		r = &s->rows[found];
		r->gen++;
		atomic_store(&r->pid, 0);
		atomic_store(&r->asleep, 0);
		atomic_store(&r->wake_at, 0);
		ring_awake(s, found);
		atomic_store(&r->quit_sent, 0);
		r->nick[0] = '\0';
		strlcpy_(r->addr, addr, sizeof(r->addr));
		r->since_ms = wall_ms();
		for (i = 0; i < ROOMS_PER_CLIENT; i++) {
			atomic_store(&r->rooms[i].hash, 0);
			r->rooms[i].name[0] = '\0';
		}
		atomic_store(&r->lines_in, 0);
		atomic_store(&r->lines_out, 0);
		atomic_store(&r->drops, 0);
		sem_destroy(&r->wake);
		sem_init(&r->wake, 1, 0);
		atomic_store(&r->state, ROW_CLAIMED);
		atomic_fetch_add(&s->h->clients, 1);
		if (atomic_load(&s->h->rows_hwm) < (uint32_t)found + 1)
			atomic_store(&s->h->rows_hwm, (uint32_t)found + 1);
	}
	table_unlock(s);
	return found;
}

/*
 * The directory entry of ROOM (hash HASH), or -1 if it is not in use.
 * Under the lock; table_crowded() also looks without it, when a change
 * moving the index under its feet can only make it find nothing.
 */
static long
dir_find(struct shm *s, uint32_t hash, const char *room)
{
	uint32_t mask = nick_buckets(s->h->nrows) - 1, i, n, e;

	for (i = hash & mask, n = 0; n <= mask; i = (i + 1) & mask, n++) {
		if ((e = s->room_ix[i].row1) == 0)
			break;
		if (s->room_ix[i].hash == hash && e - 1 < s->h->nrows &&
		    strncmp(s->room_dir[e - 1].name, room, ROOM_MAX + 1) == 0)
			return (long)e - 1;
	}
	return -1;
}

/*
 * Makes an entry for ROOM (hash HASH), with no members yet: one more room
 * in use.  Returns it, or -1 if every entry is taken.  Under the lock.
 */
static long
dir_add(struct shm *s, uint32_t hash, const char *room)
{
	struct room_ent *d;
	uint32_t e;

	if (s->h->room_free1 != 0 && s->h->room_free1 - 1 < s->h->nrows) {
		e = s->h->room_free1 - 1;
		s->h->room_free1 = s->room_dir[e].next1;
	} else if (s->h->room_top < s->h->nrows) {
		e = s->h->room_top++;
	} else {
		return -1;
	}
	d = &s->room_dir[e];
	atomic_store(&d->members, 0);
	d->hash = hash;
	d->next1 = 0;
	strlcpy_(d->name, room, sizeof(d->name));
	ix_put(s->room_ix, nick_buckets(s->h->nrows) - 1, hash, e + 1);
	s->h->rooms_in_use++;
	return (long)e;
}

/*
 * Frees entry E: out of the index and onto the free list, one room fewer
 * in use.  Under the lock.
 */
static void
dir_del(struct shm *s, uint32_t e)
{
	uint32_t mask = nick_buckets(s->h->nrows) - 1, i, n;

	for (i = s->room_dir[e].hash & mask, n = 0; n <= mask;
	    i = (i + 1) & mask, n++) {
		if (s->room_ix[i].row1 == 0)
			break;
		if (s->room_ix[i].row1 == e + 1) {
			ix_erase(s->room_ix, mask, i);
			break;
		}
	}
	s->room_dir[e].name[0] = '\0';
	s->room_dir[e].hash = 0;
	atomic_store(&s->room_dir[e].members, 0);
	s->room_dir[e].next1 = s->h->room_free1;
	s->h->room_free1 = e + 1;
	if (s->h->rooms_in_use > 0)
		s->h->rooms_in_use--;
}

/*
 * Puts row R's room K in the directory: one more member.  Returns 0, or
 * -1 if the room is new and MAX_ROOMS (0: no limit) rooms are in use or
 * the directory is full.  Under the lock.
 */
static int
dir_join(struct shm *s, struct row *r, int k, uint32_t max_rooms)
{
	uint32_t hash = atomic_load(&r->rooms[k].hash);
	long e = dir_find(s, hash, r->rooms[k].name);

	if (e < 0 && ((max_rooms > 0 && s->h->rooms_in_use >= max_rooms) ||
	    (e = dir_add(s, hash, r->rooms[k].name)) < 0))
		return -1;
	atomic_fetch_add(&s->room_dir[e].members, 1);
	r->rooms[k].ent = (uint32_t)e;
	return 0;
}

/*
 * Whether more than LIMIT clients are in ROOM (hash HASH); LIMIT 0: never.
 * Row FROM asks (the caller's own, or one the master says goodbye for):
 * if it is in ROOM, its entry is read without a search, and if it is
 * saying goodbye it does not count itself, as /who no longer lists it.
 * Others saying goodbye count until their rows are freed.  Without the
 * lock: the answer only decides whether joins and leaves are announced,
 * and a client joining or leaving meanwhile may or may not be counted.
 * It used to count the rows, at most LIMIT + 1 of them but all of them
 * when the room was small: when 10,000 clients left at once, that was a
 * tenth of the machine's time (perf).
 */
int
table_crowded(struct shm *s, uint32_t hash, const char *room, uint32_t limit,
    int from)
{
	struct row *r = NULL;
	uint32_t n, self = 0;
	long e = -1;
	int k;

	if (limit == 0)
		return 0;
	if (from >= 0 && (uint32_t)from < s->h->nrows)
		r = &s->rows[from];
	for (k = 0; r != NULL && k < ROOMS_PER_CLIENT; k++)
		if (atomic_load(&r->rooms[k].hash) == hash &&
		    strncmp(r->rooms[k].name, room, ROOM_MAX + 1) == 0 &&
		    r->rooms[k].ent < s->h->nrows) {
			e = (long)r->rooms[k].ent;
			self = atomic_load(&r->state) != ROW_ACTIVE;
			break;
		}
	if (e < 0 && (e = dir_find(s, hash, room)) < 0)
		return 0;
	n = atomic_load(&s->room_dir[e].members);
	return n > self && n - self > limit;
}

/* Takes R out of its room K, which ends if R was its last.  Under lock. */
static void
drop_room(struct shm *s, struct row *r, int k)
{
	uint32_t e = r->rooms[k].ent;

	atomic_store(&r->rooms[k].hash, 0);
	if (e >= s->h->nrows || atomic_load(&s->room_dir[e].members) == 0)
		return; /* not so: the repair will count again */
	if (atomic_fetch_sub(&s->room_dir[e].members, 1) == 1)
		dir_del(s, e);
}

void
table_set_pid(struct shm *s, int row, pid_t pid)
{
	atomic_store(&s->rows[row].pid, (int32_t)pid);
}

/* Frees ROW: its rooms, its nickname, the row itself.  Under lock. */
static void
release_locked(struct shm *s, int row)
{
	struct row *r = &s->rows[row];
	int i;

	for (i = 0; i < ROOMS_PER_CLIENT; i++)
		if (atomic_load(&r->rooms[i].hash) != 0)
			drop_room(s, r, i);
	nick_unindex(s, row);
	r->nick[0] = '\0';
	atomic_store(&r->pid, 0);
	if (atomic_load(&r->state) != ROW_FREE &&
	    atomic_load(&s->h->clients) > 0)
		atomic_fetch_sub(&s->h->clients, 1);
	atomic_store(&r->state, ROW_FREE);
	if ((uint32_t)row < s->h->free_hint)
		s->h->free_hint = (uint32_t)row;
	shrink_hwm(s);
}

void
table_release(struct shm *s, int row)
{
	table_lock(s);
	release_locked(s, row);
	table_unlock(s);
}

/*
 * As table_release(), but only if the table lock is free now: a worker
 * leaving does not wait for it.  When all clients leave at once, thousands
 * of workers queueing for the lock only to free a row each would keep the
 * machine busy for minutes; the master frees the rows of the workers it
 * reaps instead, one process taking the lock for each.  Returns 0 if ROW
 * was freed, -1 if that is left to the master.
 */
int
table_release_try(struct shm *s, int row)
{
	if (!lock_try(&s->h->tablock))
		return -1;
	release_locked(s, row);
	table_unlock(s);
	return 0;
}

/*
 * Marks ROW as leaving, as a worker does before it says goodbye: whoever
 * sees the goodbye and asks /who or sends /msg must not find it any more.
 * Its rooms and nickname stay until table_release(), so that the master
 * can still say goodbye for it if it dies before it did.
 */
void
table_leave(struct shm *s, int row)
{
	atomic_store(&s->rows[row].state, ROW_LEAVING);
}

/* Returns the row of worker PID, or -1. */
int
table_find_pid(struct shm *s, pid_t pid)
{
	uint32_t i, hwm = atomic_load(&s->h->rows_hwm);

	for (i = 0; i < hwm && i < s->h->nrows; i++)
		if (atomic_load(&s->rows[i].state) != ROW_FREE &&
		    atomic_load(&s->rows[i].pid) == (int32_t)pid)
			return (int)i;
	return -1;
}

/*
 * Gives row ROW the nickname NICK if no other row has it (in any case).
 * The previous nickname is copied to OLD (NICK_MAX + 1 bytes) if OLD is
 * not NULL.  Returns 0, or -1 with errno EEXIST.
 */
int
table_set_nick(struct shm *s, int row, const char *nick, char *old)
{
	struct row *r = &s->rows[row];

	table_lock(s);
	if (nick_owner(s, row, nick) >= 0) {
		table_unlock(s);
		errno = EEXIST;
		return -1;
	}
	if (old != NULL)
		memcpy(old, r->nick, NICK_MAX + 1);
	nick_unindex(s, row);
	strlcpy_(r->nick, nick, sizeof(r->nick));
	if (r->nick[0] != '\0')
		nick_index(s, row);
	table_unlock(s);
	return 0;
}

/* Gives ROW the first free "guestN"; returns 0, or -1 if none is free. */
int
table_guest_nick(struct shm *s, int row, char *nick, size_t size)
{
	int tries;

	for (tries = 0; tries < 1000; tries++) {
		line_fmt(nick, size, "guest%u",
		    atomic_fetch_add(&s->h->guest_next, 1));
		if (table_set_nick(s, row, nick, NULL) == 0)
			return 0;
	}
	return -1;
}

/* Returns the active row called NICK, storing its generation; or -1. */
int
table_find_nick(struct shm *s, const char *nick, uint32_t *gen,
    char *spelled)
{
	int found;

	table_lock(s);
	found = nick_owner(s, -1, nick);
	if (found >= 0 && atomic_load(&s->rows[found].state) != ROW_ACTIVE)
		found = -1;
	if (found >= 0) {
		*gen = s->rows[found].gen;
		if (spelled != NULL)
			memcpy(spelled, s->rows[found].nick, NICK_MAX + 1);
	}
	table_unlock(s);
	return found;
}

/*
 * Adds ROOM to ROW's rooms.  Returns 0, or -1 with errno ENOSPC when the
 * row is in ROOMS_PER_CLIENT rooms already, or EMLINK when ROOM is new
 * and MAX_ROOMS (0: no limit) rooms are in use, or as many as the table
 * has rows (the directory's size).
 */
int
table_add_room(struct shm *s, int row, const char *room, uint32_t max_rooms)
{
	struct row *r = &s->rows[row];
	uint32_t hash = room_hash(room);
	int i;

	table_lock(s);
	for (i = 0; i < ROOMS_PER_CLIENT; i++)
		if (atomic_load(&r->rooms[i].hash) == 0)
			break;
	if (i == ROOMS_PER_CLIENT) {
		table_unlock(s);
		errno = ENOSPC;
		return -1;
	}
	strlcpy_(r->rooms[i].name, room, sizeof(r->rooms[i].name));
	atomic_store(&r->rooms[i].hash, hash);
	if (dir_join(s, r, i, max_rooms) == -1) {
		atomic_store(&r->rooms[i].hash, 0);
		r->rooms[i].name[0] = '\0';
		table_unlock(s);
		errno = EMLINK;
		return -1;
	}
	table_unlock(s);
	return 0;
}

static void recount_rooms(struct shm *);

/*
 * Makes again what a worker that died holding the table lock may have
 * left half-changed: the count of rooms in use, the nickname index and
 * the free-row hint.  The rows themselves are each one worker's, and
 * right.  The caller holds the lock.
 */
void
table_repair(struct shm *s)
{
	recount_rooms(s);
	nick_reindex(s);
	s->h->free_hint = 0;
}

/*
 * Builds the room directory again from the rows, and so the count of
 * rooms in use.  Under the lock.  A row's rooms are its own and right; a
 * worker that died holding the lock may have left the directory half-way.
 */
static void
recount_rooms(struct shm *s)
{
	uint32_t i;
	int k;

	memset(s->room_ix, 0,
	    (size_t)nick_buckets(s->h->nrows) * sizeof(struct nick_ent));
	for (i = 0; i < s->h->room_top && i < s->h->nrows; i++) {
		atomic_store(&s->room_dir[i].members, 0);
		s->room_dir[i].hash = 0;
		s->room_dir[i].name[0] = '\0';
	}
	s->h->room_top = 0;
	s->h->room_free1 = 0;
	s->h->rooms_in_use = 0;
	for (i = 0; i < s->h->nrows; i++) {
		if (atomic_load(&s->rows[i].state) == ROW_FREE)
			continue;
		for (k = 0; k < ROOMS_PER_CLIENT; k++)
			if (atomic_load(&s->rows[i].rooms[k].hash) != 0 &&
			    dir_join(s, &s->rows[i], k, 0) == -1)
				atomic_store(&s->rows[i].rooms[k].hash, 0);
	}
}

/* Removes ROOM from ROW's rooms; returns 0, or -1 if it was not there. */
int
table_del_room(struct shm *s, int row, const char *room)
{
	struct row *r = &s->rows[row];
	int i, ret = -1;

	table_lock(s);
	for (i = 0; i < ROOMS_PER_CLIENT; i++)
		if (atomic_load(&r->rooms[i].hash) != 0 &&
		    strcmp(r->rooms[i].name, room) == 0) {
			drop_room(s, r, i);
			r->rooms[i].name[0] = '\0';
			ret = 0;
			break;
		}
	table_unlock(s);
	return ret;
}

/* Returns the number of rows in use. */
int
table_count(struct shm *s)
{
	uint32_t i;
	int n = 0;

	for (i = 0; i < s->h->nrows; i++)
		if (atomic_load(&s->rows[i].state) != ROW_FREE)
			n++;
	return n;
}

static int
in_room(const struct row *r, const char *room)
{
	int i;

	for (i = 0; i < ROOMS_PER_CLIENT; i++)
		if (atomic_load(&r->rooms[i].hash) != 0 &&
		    strcmp(r->rooms[i].name, room) == 0)
			return 1;
	return 0;
}

/*
 * Copies the nicknames of the active members of ROOM into NICKS (up to
 * MAX).  Returns the number of members, which may exceed MAX.
 */
size_t
table_members(struct shm *s, const char *room, struct nick *nicks, size_t max)
{
	size_t n = 0;
	uint32_t i;

	table_lock(s);
	for (i = 0; i < s->h->nrows; i++) {
		struct row *r = &s->rows[i];

		if (atomic_load(&r->state) != ROW_ACTIVE || !in_room(r, room))
			continue;
		if (n < max)
			memcpy(nicks[n].name, r->nick, NICK_MAX + 1);
		n++;
	}
	table_unlock(s);
	return n;
}

/*
 * Fills OUT with the distinct rooms in use and their member counts (up to
 * MAX rooms), from the room directory: it used to gather them from every
 * row, comparing each row's rooms with those found so far, all of it
 * under the lock (ringbench part 5: 10,000 clients in 257 rooms, a /rooms
 * held the lock for milliseconds).  Members saying goodbye count until
 * their rows are freed.  Returns the number of rooms stored.
 */
size_t
table_rooms(struct shm *s, struct room_count *out, size_t max)
{
	size_t n = 0;
	uint32_t e, members;

	table_lock(s);
	for (e = 0; e < s->h->room_top && e < s->h->nrows && n < max; e++) {
		if ((members = atomic_load(&s->room_dir[e].members)) == 0)
			continue;
		memcpy(out[n].name, s->room_dir[e].name, ROOM_MAX + 1);
		out[n].name[ROOM_MAX] = '\0';
		out[n++].members = members;
	}
	table_unlock(s);
	return n;
}
