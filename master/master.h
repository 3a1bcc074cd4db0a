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

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "../shm/shm.h"

#define MAX_LISTENERS 8
#define ADOPT_POLL_MS 500 /* without pidfds, how often to look */
#define DEFAULT_USER "nobody" /* root without -u serves as this */
#define PIDPATH_MAX 1024 /* bytes of a pidfile path, with the NUL */

struct listener {
	int fd;
	char desc[80]; /* "127.0.0.1 port 6660" */
};

struct config {
	int foreground;
	int verbose; /* log LOG_DEBUG messages too */
	const char *port;
	const char *bind; /* NULL: every address */
	const char *name; /* instance; NULL: the port number */
	unsigned long maxclients;
	unsigned long maxperhost; /* connections from one address, 0: any */
	unsigned long nslots;
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

/* All the master's state, in one place. */
struct master {
	struct config cf;
	struct shm shm;
	struct listener lst[MAX_LISTENERS];
	int nlst;
	unsigned children; /* workers alive (not yet reaped) */
	int pidfd;	   /* locked pidfile, -1 if none */
	char pidpath[PIDPATH_MAX];
	char segname[64];
	int ready_fd;		 /* to the parent waiting on daemonize */
	struct adopted *adopted; /* workers of a master that died */
	unsigned nadopted;
	int adopt_polling; /* no pidfd_open(2): some have no pidfd */
	uint64_t full_logged;	   /* when "server full" was last logged */
	unsigned long full_quiet;  /* refusals since then */
	uint64_t pause_until;	   /* accept nothing before this (ms) */
	unsigned long pause_quiet; /* resource errors since last logged */
};

/* adopt.c */
struct pollfd;
int adopt_segment(struct master *, const char *name);
int adopt_timeout(struct master *);
int adopt_pollfds(struct master *, struct pollfd *);
void adopt_reap(struct master *, const struct pollfd *, int n);

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
void signal_child_reset(void);

/* daemon.c */
int daemon_detach(void);
void daemon_ready(struct master *, const char *err);
int drop_privileges(struct master *, char *why, size_t size);
int pidfile_open(struct master *, const char *path);
void pidfile_remove(struct master *);

/* main.c */
void master_notice(struct master *, int type, int target, uint32_t gen,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void master_stats(struct master *);

#endif
