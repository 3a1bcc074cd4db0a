/*
 * shm.h - the shared segment: layout, lock, ring and client table.
 *
 * This header is the whole contract between the shm module and its users
 * (master, workers, tests, the status tool).  Layout in memory:
 *
 *	+--------+----------+--------+------+-------------+-------+-------+
 *	| header | sleepmap | owemap | cold | rows[nrows] | nicks | rooms |
 *	|        |          |        |      | (clients)   |       |       |
 *	+--------+----------+--------+------+-------------+-------+-------+
 *	| slots[nslots] (the ring), from a page boundary                  |
 *	+-----------------------------------------------------------------+
 *
 * The sleep map has a bit per row, set while that row's worker is asleep
 * or about to be: publishers look for sleepers in it, a word for 64 rows,
 * rather than in every row.  The owe map has a bit per row too, set while
 * that row's worker has published and not yet woken the readers: while it
 * is empty, a reader back from sleep may skip what was not for it.  Both
 * follow the header so that a wake-up reads one page of them (up to about
 * 14,000 rows).  The cold block holds the text chains and the message of
 * the day.  The nicks are an index of nicknames; the rooms, the room
 * directory and its index.  The slots start on a page of their own, so
 * that a worker can map them read-only (shm_slots_read_only()).
 *
 * Everything is sized once at creation; nothing in the segment is ever
 * allocated or freed afterwards.  Pointers are never stored in the segment,
 * only indices, so every process may map it at its own address.
 */
#ifndef CHATD_SHM_H
#define CHATD_SHM_H

#include <semaphore.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SHM_MAGIC 0x63686174u /* "chat" */
#define SHM_VERSION 13

#define TEXT_MAX 510	   /* bytes of text in a line, as IRC */
#define NICK_MAX 30	   /* bytes in a nickname, at most */
#define ROOM_MAX 31	   /* bytes in a room name, '#' included */
#define ROOMS_PER_CLIENT 8 /* rooms one client can be in at once */
#define MOTD_MAX 4096	   /* bytes of the message of the day */
#define BACKLOG_MAX 100	   /* lines a JOIN may replay, at most */
#define TEXT_CHAINS 1024   /* lists of rooms' texts, by room hash */
#define ADDR_MAX 64	   /* "[addr]:port" text of a peer */
/* rows in use up to which a starting worker reads the segment ahead */
#define SHM_PRETOUCH_ROWS 960

/*
 * A process that has published this many lines is a publisher: it then
 * fills its page table entries for its writable mapping of the slots, and
 * reads them there too (shm_become_publisher()).  A worker whose client
 * only joins and listens never does.
 */
#define PUBLISHER_WRITES 64

/*
 * A process's first publish through the read-only view of the slots
 * (shm_slots_writable()) may land in this many slots from the one it
 * guessed before taking the lock; past them it goes through the
 * writable mapping.
 */
#define FIRST_WRITE_SLOTS 16

/*
 * A lock whose word holds the owner's pid: taken by one compare-and-swap
 * from 0, so acquisition and recording the owner are a single atomic step
 * and there is no window in which the lock is held by nobody known.
 * Contenders sleep on SEM, which the releaser posts when WAITERS says
 * someone may sleep there.  A lock whose owner died is taken over (see
 * lock.c) and its data repaired by the taker.
 */
struct shm_lock {
	_Atomic int32_t owner;	    /* pid of the holder, 0 when free */
	_Atomic int32_t waiters;    /* contenders that may be asleep */
	_Atomic uint64_t takeovers; /* locks taken from dead owners */
	sem_t sem;
};

/* What a message is; the consumer decides from it who sees what. */
enum msg_type {
	MSG_TEXT = 1, /* <nick> text, to a room */
	MSG_ACTION,   /* * nick text, to a room */
	MSG_PRIVATE,  /* *nick* text, to one client */
	MSG_JOIN,     /* nick joined room */
	MSG_PART,     /* nick left room (text: reason) */
	MSG_NICK,     /* nick is now text, to the sender's rooms */
	MSG_QUIT,     /* nick quit (text: reason), to the sender's rooms */
	MSG_NOTICE,   /* server notice to one client or to all */
	MSG_SHUTDOWN, /* the server is going down, to all */
};

#define TARGET_ALL (-1)

/*
 * One message.  A slot of the ring holds one; a reader copies the fixed
 * part and LEN bytes of text, never the whole TEXT array.
 */
struct msg {
	uint16_t type;	     /* enum msg_type */
	uint16_t len;	     /* bytes in text, <= TEXT_MAX */
	int32_t sender;	     /* row of the sender, -1: server */
	uint32_t sender_gen; /* generation of that row */
	int32_t target;	     /* row, or TARGET_ALL */
	uint32_t target_gen;
	uint32_t room_hash; /* room_hash(room) for room messages */
	uint32_t
	    rooms[ROOMS_PER_CLIENT]; /* sender's room hashes (NICK, QUIT) */
	int64_t time_ms;	     /* wall clock at publication */
	/*
	 * For a text or action: 1 + the sequence number of the one before
	 * it in its chain (the rooms of its room_hash % TEXT_CHAINS), 0 for
	 * none.  Set by the ring as it publishes.
	 */
	uint64_t prev_text;
	char room[ROOM_MAX + 1];
	char nick[NICK_MAX + 1]; /* sender's nickname as it was */
	char text[TEXT_MAX + 2]; /* LEN bytes and a NUL */
};

/*
 * A slot's stamp is seq << 2 | state.  A reader trusts a copy only if the
 * stamp said COMMITTED for the sequence it wanted both before and after
 * the copy (a seqlock).  WRITING marks a slot a publisher was filling; if
 * it died there, the repair turns the stamp into SKIPPED and no reader ever
 * sees the half-written text.
 */
enum slot_state {
	SLOT_EMPTY = 0,
	SLOT_WRITING = 1,
	SLOT_COMMITTED = 2,
	SLOT_SKIPPED = 3,
};
#define STAMP(seq, state) (((uint64_t)(seq) << 2) | (uint64_t)(state))
#define STAMP_SEQ(s) ((s) >> 2)
#define STAMP_STATE(s) ((unsigned)((s)&3))

struct slot {
	_Atomic uint64_t stamp;
	struct msg m;
};

enum row_state {
	ROW_FREE = 0,
	ROW_CLAIMED, /* taken by the master, worker starting */
	ROW_ACTIVE,  /* the worker is serving its client */
	ROW_LEAVING, /* saying goodbye: no longer listed or addressable */
};

struct row_room {
	_Atomic uint32_t hash; /* 0: unused entry */
	uint32_t ent;	       /* the room's entry in the directory */
	char name[ROOM_MAX + 1];
};

/*
 * One row per worker.  STATE, PID and GEN change only under the table
 * lock; NICK and the room names are written by the row's own worker under
 * the table lock and read by others under it.  The hashes, ASLEEP and the
 * counters are atomics read without a lock (publishers use them to decide
 * whom to wake).
 */
struct row {
	_Atomic uint32_t state;
	_Atomic int32_t pid;
	uint32_t gen;		   /* bumped at every claim */
	_Atomic int32_t asleep;	   /* 1: waiting on WAKE */
	/* the first message published for it while it slept */
	_Atomic uint64_t first_want;
	_Atomic int32_t quit_sent; /* the worker said goodbye itself */
	/* while its bit is in the owe map: the first message it owes */
	_Atomic uint64_t owes_from;
	/*
	 * While it sleeps for a batch (see outbound_sleep()): publishers
	 * post it only once the ring's head reaches this; 0: at once.
	 */
	_Atomic uint64_t wake_at;
	char nick[NICK_MAX + 1];
	char addr[ADDR_MAX];
	int64_t since_ms; /* wall clock at connection */
	struct row_room rooms[ROOMS_PER_CLIENT];
	_Atomic uint64_t lines_in;
	_Atomic uint64_t lines_out;
	_Atomic uint64_t drops;
	sem_t wake;
};

/*
 * What the master decides and every worker obeys.  It lives in the header,
 * not in each worker's copy of the options, so the master alone owns it.
 */
struct shm_limits { /* uint32_t fields only: see set_limits() */
	uint32_t backlog;     /* lines shown on join */
	uint32_t flood_rate;  /* lines a second a client may send, 0: any */
	uint32_t flood_burst; /* lines it may send at once */
	uint32_t
	    send_timeout; /* s a client may leave its socket full, 0: any */
	uint32_t flood_kick;	   /* s of flooding without pause, 0: any */
	uint32_t idle_timeout;	   /* s without a line from the client, 0: any */
	uint32_t register_timeout; /* s until its first line, 0: any */
	uint32_t nick_length;	   /* bytes in a nickname, <= NICK_MAX */
	uint32_t rooms_per_client; /* <= ROOMS_PER_CLIENT */
	uint32_t max_rooms;	   /* rooms in use at once, 0: any */
	uint32_t announce_limit;   /* rooms with more members are quiet */
	uint32_t batch_delay;	/* ms a busy client's lines may wait, 0: none */
	uint32_t batch_clients; /* clients from which they may */
};

/* Counters for statistics; only ever incremented. */
struct shm_stats {
	_Atomic uint64_t connections;
	_Atomic uint64_t published;
	_Atomic uint64_t delivered;
	_Atomic uint64_t drops;
	_Atomic uint64_t repairs;
	_Atomic uint64_t refused;
};

struct shm_header {
	uint32_t magic;
	uint32_t version;
	uint32_t nrows;
	uint32_t nslots;
	uint64_t size;	       /* bytes in the whole segment */
	struct shm_limits lim; /* what every worker obeys */
	_Atomic int32_t master_pid;
	_Atomic int32_t shutting_down;
	_Atomic int verbose; /* log debugging messages too */
	_Atomic uint32_t guest_next; /* N of the next guestN */
	_Atomic uint32_t rows_hwm;   /* rows at or above are all free */
	uint32_t rooms_in_use;	     /* distinct rooms; under tablock */
	_Atomic uint32_t clients;    /* rows not free; under tablock */
	uint32_t free_hint;	     /* no free row below it; under tablock */
	uint32_t room_top;	     /* directory entries ever used */
	uint32_t room_free1;	     /* a free entry below it + 1, 0: none */
	struct shm_lock publock;     /* serialises publishers */
	struct shm_lock tablock;     /* guards the client table */
	/* the next sequence number to be published; alone on its line */
	_Alignas(64) _Atomic uint64_t head;
	/*
	 * 1 while the master has published and not yet woken the readers:
	 * the master's bit of the owe map (see ring_all_screened())
	 */
	_Alignas(64) _Atomic uint32_t master_owes;
	_Atomic uint64_t master_owes_from; /* the first message it owes */
	_Alignas(64) struct shm_stats stats;
};

/*
 * What is read seldom, kept off the header's page: the segment places
 * the sleep and owe maps right after the header, so that a worker's
 * wake-up reads one page for HEAD, the owe map and its sleep bit, where
 * it read three (see layout() in segment.c).
 */
struct shm_cold {
	/*
	 * For each chain: 1 + the sequence number of the latest text or
	 * action in it, 0: none yet.  A join's backlog starts there and
	 * follows prev_text back, reading its room's lines and few others
	 * however busy other rooms are.  Written under publock.
	 */
	_Atomic uint64_t last_text[TEXT_CHAINS];
	/* the message of the day: odd MOTD_SEQ while the master writes it */
	_Atomic uint32_t motd_seq;
	char motd[MOTD_MAX];
};

/* The chain of texts the room of hash HASH is in: its head in C. */
static inline _Atomic uint64_t *
text_chain(struct shm_cold *c, uint32_t hash)
{
	return &c->last_text[hash % TEXT_CHAINS];
}

/*
 * What a publisher needs to know of a message it published to wake the
 * rows that want it (see ring_wake_batch()): the message's type, target
 * and rooms, its number, and the row not to wake (the publisher's own).
 */
struct wake_key {
	uint64_t seq;
	int32_t target;
	int32_t skip; /* -1: none */
	uint32_t room_hash;
	uint16_t type;
	uint32_t rooms[ROOMS_PER_CLIENT]; /* NICK and QUIT only */
};

/*
 * The nickname index: an open-addressing hash table (linear probing) of
 * the rows that hold a nickname, keyed by room_hash() of the nickname,
 * so that "is this nickname taken?" does not read every row.  Changed only
 * under the table lock, together with the row's nickname; a worker that
 * dies half-way through leaves the rows right, and the repair builds the
 * index again from them.
 */
struct nick_ent {
	uint32_t row1; /* row + 1; 0: an empty bucket */
	uint32_t hash; /* room_hash() of that row's nickname */
};

/*
 * The room directory: an entry for each room in use (at most one per row
 * of the table), with the number of rows in it, and an index of them as
 * the nicknames have (struct nick_ent, ROW1 being the entry + 1), so that
 * "is this room in use?" and "how many are in it?" read one entry instead
 * of every row.  An entry stays where it is while its room is in use, and
 * each row_room says which it is.  Changed under the table lock; MEMBERS
 * is also read without it (table_crowded()).  A worker that dies half-way
 * through leaves the rows right, and the repair builds it again from them.
 */
struct room_ent {
	_Atomic uint32_t members; /* rows in the room, any state */
	uint32_t hash;		  /* room_hash() of NAME */
	uint32_t next1;		  /* free: the next free entry + 1, 0: none */
	char name[ROOM_MAX + 1];
};

/* A process's view of a mapped segment. */
struct shm {
	struct shm_header *h;
	struct row *rows;
	_Atomic uint64_t *sleepmap; /* (nrows + 63) / 64 words */
	_Atomic uint64_t *owemap;   /* as many: rows owing wake-ups */
	struct shm_cold *cold;	    /* the text chains and the motd */
	struct nick_ent *nicks;	    /* nick_buckets(nrows) of them */
	struct room_ent *room_dir;  /* nrows of them */
	struct nick_ent *room_ix;   /* nick_buckets(nrows) of them */
	struct slot *slots;	    /* where messages are written */
	const struct slot *rslots;  /* where they are read */
	void *wmap;		    /* see shm_slots_read_only(), or NULL */
	size_t slots_off;	    /* the slots' offset in the segment */
	size_t slots_len;	    /* and their length, whole pages */
	size_t page;		    /* the page size, read once */
	unsigned writes;	    /* publishes, counted to PUBLISHER_WRITES */
	size_t size;
	int fd;			    /* the creator's descriptor, or -1 */
	int huge;		    /* what shm_huge_pages() asked */
	char name[64];
};

struct shm_params {
	uint32_t nrows;
	uint32_t nslots;
	struct shm_limits lim;
	int huge_pages; /* ask for 2 MiB pages (see shm_huge_pages()) */
};

/* segment.c */
int shm_create(struct shm *, const char *name, const struct shm_params *,
    pid_t *live_master);
int shm_attach(struct shm *, const char *name);
int shm_huge_pages(struct shm *, int on);
int shm_pretouch_ranges(const struct shm *, uint32_t rows, size_t out[2][2]);
void shm_pretouch(struct shm *, uint32_t rows);
int shm_populate_ranges(const struct shm *, uint32_t rows, int row,
    size_t out[3][2]);
void shm_populate(struct shm *, uint32_t rows, int row);
int shm_slots_read_only(struct shm *);
void shm_forked(struct shm *);
void shm_become_publisher(struct shm *);
int shm_slots_writable(struct shm *, uint32_t first, uint32_t count,
    int on);
int shm_attach_ro(struct shm *, const char *name);
void shm_detach(struct shm *);
int shm_unlink_name(const char *name);
void shm_set_motd(struct shm *, const char *text);
size_t shm_get_motd(struct shm *, char *out);

/* lock.c */
int lock_init(struct shm_lock *);
int lock_take(struct shm_lock *);
int lock_try(struct shm_lock *);
void lock_give(struct shm_lock *);
int lock_release_dead(struct shm_lock *, pid_t dead);
void lock_forget_pid(void);

/* ring.c */
uint64_t ring_publish(struct shm *, struct msg *);
uint64_t ring_publish_row(struct shm *, struct msg *, int row);
void ring_wake(struct shm *, const struct msg *, uint64_t seq, int skip);
void ring_wake_key(struct wake_key *, const struct msg *, uint64_t seq,
    int skip);
int ring_wake_redundant(const struct wake_key *batch, int n,
    const struct wake_key *);
void ring_wake_batch(struct shm *, const struct wake_key *batch, int n);
void ring_sleep(struct shm *, int row);
void ring_awake(struct shm *, int row);
uint64_t ring_head(struct shm *);
void ring_screened(struct shm *, int row);
int ring_all_screened(struct shm *);
uint32_t ring_owing(struct shm *);
void ring_forgive(struct shm *, int row);
int ring_read(struct shm *, uint64_t *cursor, struct msg *, uint64_t *seq,
    uint64_t *lost);
size_t ring_backlog_seqs(struct shm *, uint64_t before, uint32_t hash,
    const char *room, size_t max, uint32_t *ago, struct msg *tmp);
int ring_fetch(struct shm *, uint64_t seq, struct msg *out);
size_t ring_backlog(struct shm *, uint64_t before, uint32_t hash,
    const char *room, size_t max, struct msg *out);
int ring_repair(struct shm *);
/* case-folded FNV-1a, never 0: of room names, and of nicknames too */
uint32_t room_hash(const char *room);

/* A nickname, as /who lists them. */
struct nick {
	char name[NICK_MAX + 1];
};

/* One line of /rooms. */
struct room_count {
	char name[ROOM_MAX + 1];
	uint32_t members;
};

/* table.c */
int table_claim(struct shm *, const char *addr);
void table_set_pid(struct shm *, int row, pid_t pid);
void table_release(struct shm *, int row);
int table_release_try(struct shm *, int row);
int table_find_pid(struct shm *, pid_t pid);
int table_set_nick(struct shm *, int row, const char *nick, char *old);
uint32_t nick_buckets(uint32_t nrows);
int table_guest_nick(struct shm *, int row, char *nick, size_t size);
int table_find_nick(struct shm *, const char *nick, uint32_t *gen,
    char *spelled);
void table_leave(struct shm *, int row);
int table_add_room(struct shm *, int row, const char *room,
    uint32_t max_rooms);
void table_repair(struct shm *);
int table_del_room(struct shm *, int row, const char *room);
int table_crowded(struct shm *, uint32_t hash, const char *room,
    uint32_t limit, int from);
int table_count(struct shm *);
size_t table_members(struct shm *, const char *room, struct nick *, size_t max);
size_t table_rooms(struct shm *, struct room_count *, size_t max);
int nick_equal(const char *, const char *);

#endif
