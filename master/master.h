/*
 * master.h - the master process: accept, spawn, reap, repair, signals.
 *
 * The master never reads chat traffic.  It owns the listening sockets and
 * the segment's life, forks one worker per connection, and after a worker
 * dies it finishes what the worker left: the goodbye to its rooms, its row,
 * any lock it held.
 */
#ifndef CHATD_MASTER_H
#define CHATD_MASTER_H

#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "../shm/shm.h"

#define MAX_LISTENERS 8
#define ADOPT_POLL_MS 500 /* without pidfds, how often to look */
#define DEFAULT_USER "nobody" /* root without -u serves as this */
#define PIDPATH_MAX 1024 /* bytes of a pidfile path, with the NUL */
#define ACCEPT_BURST 64	 /* connections taken per readable event */

struct listener {
	int fd;
	char desc[80]; /* "127.0.0.1 port 6660" */
	char name[84]; /* "127.0.0.1:6660", "[::1]:6660" */
};

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONFIG SYSCONFDIR "/chatd.conf"
#define DEFAULT_PORT "6660"
#define DEFAULT_MAXCLIENTS 1024
#define DEFAULT_MAXPERHOST 10
#define DEFAULT_BACKLOG 10
#define DEFAULT_SLOTS 4096
#define DEFAULT_FLOOD_RATE 5
#define DEFAULT_FLOOD_BURST 20
#define DEFAULT_SEND_TIMEOUT 60
#define DEFAULT_FLOOD_KICK 30
#define DEFAULT_IDLE_TIMEOUT 3600
#define DEFAULT_REGISTER_TIMEOUT 60
#define DEFAULT_NICK_LENGTH 16
#define DEFAULT_MAX_ROOMS 256
#define DEFAULT_WORKERS_PER_COPY 500 /* half KVM's 1,000: see copies.c */
#define DEFAULT_ANNOUNCE_LIMIT 100 /* members above which a room is quiet */
#define DEFAULT_BATCH_DELAY 200	   /* ms: see batch_wait() in outbound.c */
#define DEFAULT_BATCH_CLIENTS 100  /* clients from which workers batch */

struct config {
	const char *config; /* the file; DEFAULT_CONFIG need not exist */
	int config_given;   /* -c: the file must exist */
	int test_only;	    /* -t: check the configuration and exit */
	int status;	    /* -S: print the instance's status and exit */
	int foreground;
	int verbose; /* log LOG_DEBUG messages too */
	const char *motd;	 /* file shown after the greeting */
	uint32_t stats_interval; /* s between statistics lines, 0: none */
	char **owned;		 /* strings the configuration copied */
	size_t nowned;
	const char *port;
	const char *bind; /* NULL: every address */
	const char *name; /* instance; NULL: the port number */
	unsigned long maxclients;
	unsigned long maxperhost; /* connections from one address, 0: any */
	unsigned long nslots;
	int huge_pages; /* ask for 2 MiB pages for the segment */
	unsigned long workers_per_copy; /* fresh copies every so many, 0: none */
	struct shm_limits lim;
	const char *pidfile;
	const char *user; /* -u: whom to serve as; NULL: not root */
	int facility;
};

/* A worker of a dead master, watched through its pidfd. */
struct adopted {
	pid_t pid;
	int fd;
};

/* A worker started by the accept burst under way, logged after it. */
struct born {
	char addr[ADDR_MAX];
	pid_t pid;
	int row;
};

/*
 * What the master writes at every connection or pass of its loop, in
 * pages of its own that no worker inherits (master_keep() in main.c).
 * Inherited, each such page would be copied at the master's next write
 * and the old copy left to the worker for its life (BENCHMARKS.md, "What
 * a worker writes").
 */
struct master_hot {
	unsigned children;	   /* workers alive (not yet reaped) */
	unsigned long copy_forks;  /* workers forked since the last copies */
	uint64_t full_logged;	   /* when "server full" was last logged */
	unsigned long full_quiet;  /* refusals since then */
	uint64_t pause_until;	   /* accept nothing before this (ms) */
	unsigned long pause_quiet; /* resource errors since last logged */
	uint64_t next_stats; /* when the next statistics line is due (ms) */
	struct born born[ACCEPT_BURST]; /* see spawn_accept() */
	struct pollfd pollset[1 + MAX_LISTENERS]; /* see wait_events() */
};

/*
 * All the master's state, in one place.  What it writes only at start, at
 * a reload or rarely lies here, in a page its workers share with it; what
 * it writes all the time, in *HOT.  A worker writes none of it.
 */
struct master {
	struct config cf;
	struct shm shm;
	struct listener lst[MAX_LISTENERS];
	int nlst;
	struct master_hot *hot;
	int pidfd; /* locked pidfile, -1 if none */
	char pidpath[PIDPATH_MAX];
	char segname[64];
	int ready_fd;		 /* to the parent waiting on daemonize */
	struct adopted *adopted; /* workers of a master that died */
	unsigned nadopted;
	int adopt_polling; /* no pidfd_open(2): some have no pidfd */
	int argc;	   /* the command line, read again on SIGHUP */
	char **argv;
	int mem_fd;	   /* /proc/self/mem, for copies.c; -1 */
	int copies_failed; /* and logged: no more tries */
	pid_t log_pid;	   /* the log process (logproc.c), or -1 */
	int log_fd;	   /* the master's end of its socket, or -1 */
	uint64_t log_started; /* when it was started, ms (now_ms()) */
	unsigned log_restarts; /* how many times it was started again */
};

/* reload.c */
int limits_apply(struct shm *, const struct shm_limits *);
int motd_read(const char *path, char **text, char *err, size_t size);
void master_reload(struct master *);

/* config.c */
void config_defaults(struct config *);
void config_free(struct config *);
int config_option(struct config *, const char *arg, char *err, size_t size);
int config_file(struct config *, const char *path, int must_exist, char *err,
    size_t size);
int config_is_live(const char *key);
int config_name_valid(const char *);

/* copies.c */
void copies_open(struct master *);
void copies_make(struct master *);

/* adopt.c */
int adopt_segment(struct master *, const char *name);
int adopt_timeout(struct master *);
int adopt_pollfds(struct master *, struct pollfd *);
void adopt_reap(struct master *, const struct pollfd *, int n);

/* logproc.c */
pid_t logproc_start(struct master *);
void logproc_forget(const struct master *);
int logproc_reaped(struct master *, pid_t, int status);
void logproc_stop(struct master *);

/* listen.c */
int listen_open(struct master *);
void listen_close(struct master *);
int listen_port(int fd);

/* spawn.c */
void spawn_accept(struct master *, struct listener *);

/* reap.c */
void reap_children(struct master *);
void reap_worker(struct master *, pid_t, int status);

/* signal.c */
int signal_setup(void);
int signal_fd(void);
int signal_next(void);
void signal_child_reset(int worker);

/* daemon.c */
int daemon_detach(void);
void daemon_ready(struct master *, const char *err);
int drop_privileges(struct master *, char *why, size_t size);
int pidfile_open(struct master *, const char *path);
void pidfile_remove(struct master *);

/* status.c */
int status_main(const char *name);

/* main.c */
void master_notice(struct master *, int type, int target, uint32_t gen,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void master_stats(struct master *);
int master_configure(struct config *, int argc, char **argv, char *err,
    size_t size);

#endif
