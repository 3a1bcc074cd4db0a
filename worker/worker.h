/*
 * worker.h - one worker process serving one client.
 *
 * The codec pieces (framing, sanitising, command parsing, formatting) are
 * pure functions of their input, so the unit tests drive them directly;
 * session.c and outbound.c tie them to the socket and the ring.
 */
#ifndef CHATD_WORKER_H
#define CHATD_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "../shm/shm.h"

/* frame.c: telnet filtering and line framing of the byte stream */
enum frame_event {
	FRAME_MORE = 0, /* input used up, no line yet */
	FRAME_LINE,	/* a whole line is in buf[0..len) */
	FRAME_LONG,	/* the line was cut at TEXT_MAX; the rest is dropped */
};

struct frame {
	int telnet;  /* telnet parser state */
	int discard; /* dropping the rest of an overlong line */
	int ready;   /* buf holds a line the caller has seen */
	size_t len;
	char buf[TEXT_MAX + 2]; /* a line, a CR, a NUL */
};

void frame_init(struct frame *);
size_t frame_feed(struct frame *, const char *in, size_t n, int *event);

/* sanitize.c: what a client sends, made safe for everyone's terminal */
size_t sanitize(const char *in, size_t n, char *out, size_t size);
size_t sanitize_cut(const char *in, size_t n, char *out, size_t size,
    size_t *taken);
int nick_valid(const char *);
int room_valid(const char *);

/* command.c: a line as a command */
enum cmd_kind {
	CMD_NONE = 0, /* empty line: nothing to do */
	CMD_SAY,      /* text for the current room */
	CMD_NICK,
	CMD_WHO,
	CMD_MSG,
	CMD_ME,
	CMD_JOIN,
	CMD_PART,
	CMD_ROOMS,
	CMD_QUIT,
	CMD_HELP,
	CMD_UNKNOWN, /* NAME holds the word */
	CMD_USAGE,   /* wrong arguments: USAGE says how it goes */
};

struct cmd {
	enum cmd_kind kind;
	const char *name; /* the command word, without '/' */
	char *arg;	  /* first argument, or NULL */
	char *text;	  /* the rest of the line, or NULL */
	const char *usage;
};

int cmd_parse(char *line, struct cmd *);
const char *cmd_help(size_t i);

/* session.c: the worker's life */
struct wroom {
	char name[ROOM_MAX + 1]; /* "" when the entry is free */
	uint32_t hash;
	uint32_t token; /* matches our own JOIN message */
	int joined;	/* our JOIN has been seen */
	uint64_t since; /* seq of that JOIN */
};

#define WAKE_BATCH 32 /* messages published before their wake-ups, at most */
#define INBUF 512     /* bytes a recv() of the client's input takes, first */
#define OUTBUF (32 * 1024) /* bytes formatted for one send() */

struct worker;

/* outbound.c: what goes to the socket from the ring */
struct outbuf {
	struct worker *w;
	size_t used;
	/* a room's backlog: how far before our JOIN each line was published */
	uint32_t ago[BACKLOG_MAX];
	char buf[OUTBUF];
};

/*
 * A worker's state, so that what an idle client writes lies in the first
 * page (see "self" in session.c): the message it reads, the fields, the
 * line it sends and the start of what goes back to it; the rest of the
 * outbound buffer, the wake-ups a talker owes and a busy client's input
 * buffer after them.
 */
struct worker {
	/*
	 * The message being read (outbound.c), first: at the low end of
	 * its page, away from the page offsets of the frames a delivery
	 * runs on (serve() begins at the top of a stack page), whose loads
	 * would otherwise wait on the copy's stores to the same offsets
	 */
	struct msg m;
	struct shm *shm;
	int row;
	uint32_t gen;
	int fd;
	char nick[NICK_MAX + 1];
	char addr[ADDR_MAX];
	struct wroom rooms[ROOMS_PER_CLIENT];
	int current; /* index in rooms, -1: none */
	uint32_t next_token;
	int closing;	      /* we shut the connection */
	int throttled;	      /* told it is being slowed down */
	struct outbuf *out;   /* &ob */
	uint64_t cursor;      /* the next message to read from the ring */
	uint64_t want_from;   /* after a sleep, the first message wanted */
	uint64_t quiet_floor; /* the end of gaps taken as no loss */
	double tokens;	      /* flood control: lines it may send now */
	uint64_t refilled;    /* when TOKENS was last topped up (ms) */
	uint64_t held_ms;     /* ms its lines were held back this episode */
	uint64_t since_ms;    /* when it connected (monotonic ms) */
	uint64_t last_ms;     /* when its last line came, 0: none yet */
	const char *gone;     /* why we shut the connection, if we did */
	uint64_t resume_ms;   /* a held line may go at this time (ms) */
	uint32_t tick_s;      /* the SO_RCVTIMEO set on the socket, s */
	int held;	      /* a framed line waits for the flood control */
	/*
	 * The clock is read for the timeouts only when one may have come
	 * due: after a sleep that timed out, after the client's input, and
	 * every CLOCK_LOOPS passes otherwise (see serve() in session.c)
	 */
	int clock_due;
	uint32_t loops;		  /* passes since the clock was read */
	uint64_t deadline_ms;	  /* when to look up from a sleep, 0: stale */
	uint64_t sleep_for_ms;	  /* the deadline SLEEP_TS was made for */
	struct timespec sleep_ts; /* that deadline as CLOCK_REALTIME */
	uint64_t found;		  /* lines sent since the last sleep */
	int32_t talker;		  /* sender of the last of them */
	uint32_t talkers;	  /* changes of sender among them */
	uint64_t batch_ms;	  /* when the last busy sleep began, 0: none */
	int npending;		  /* entries in pending[] */
	int in_busy; /* a recv() filled in: the next ones go to in_more */
	struct frame frame;
	char line[TEXT_MAX + 1]; /* the line being handled, made safe */
	/* in_off..in_len of the input buffer (input_buffer() in session.c)
	 * is not framed yet */
	size_t in_off;
	size_t in_len;
	char in[INBUF]; /* what a recv() got */
	/* the outbound buffer: its first bytes share the first page */
	struct outbuf ob;
	/*
	 * What a talker published and has not woken for yet (see
	 * flush_wakes() in session.c): an idle client's one publish, its
	 * JOIN, wakes at once and writes nothing here.
	 */
	struct wake_key pending[WAKE_BATCH];
	/* a client that sends more than INBUF at once: one recv() of this
	 * takes what eight of in would */
	char in_more[8 * INBUF];
};

void worker_main(struct shm *, int row, int fd, const char *addr)
    __attribute__((noreturn));
int worker_send(struct worker *, const char *buf, size_t len);
int worker_notice(struct worker *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int worker_line(struct worker *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int worker_room_find(struct worker *, const char *name);

/* outbound.c: the ring to the socket */
void outbound_start(struct worker *);
int outbound_run(struct worker *);
void outbound_sleep(struct worker *, uint64_t deadline_ms);
size_t format_msg(struct worker *, const struct msg *, uint64_t seq, char *out,
    size_t size, int *replay);

#endif
