/*
 * harness.h - what every test shares: a scratch segment for unit tests,
 * and for integration tests the real chatd started in the foreground on a
 * free loopback port with a unique instance name, plus socket clients.
 *
 * Cleanup is guaranteed even when a test fails: check runs each test in a
 * forked child that exits at the first failed assertion, so every daemon
 * a test starts is recorded in a registry shared with the test runner,
 * and harness_cleanup() (the unchecked teardown, run in the runner) kills
 * what is left, by the process group the harness created for it, and
 * unlinks its segment.
 */
#ifndef CHATD_HARNESS_H
#define CHATD_HARNESS_H

#include <check.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

#include "../shm/shm.h"

/* ms to wait for anything that should come; CHATD_TIMEOUT_MS stretches
 * it for slow runs (valgrind) */
#define T_TIMEOUT harness_timeout()

struct daemon {
	pid_t pid; /* the master; also its process group */
	int port;
	int slot;	  /* in the registry */
	char name[48];	  /* instance name, "-n" */
	char segname[64]; /* "/chatd-NAME" */
	int errfd;	  /* read end of the daemon's stderr */
	pthread_t reader;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *log; /* all the daemon wrote on stderr */
	size_t loglen;
	int eof;
	int reading; /* the reader waits for more: the log has the rest */
	int exited; /* the master was reaped */
};

struct client {
	int fd;
	size_t len;
	char buf[256 * 1024];
};

/* harness.c: every test program's main() */
int harness_run(Suite *);

/* harness.c: the registry */
int harness_timeout(void);
void harness_init(void);
void harness_cleanup(void);
int harness_track(pid_t pgid, const char *segname);
void harness_untrack(int slot);
void harness_unique(char *buf, size_t size, const char *prefix);

/* harness.c: unit tests' scratch segment, unlinked at once */
void scratch_shm(struct shm *, uint32_t nrows, uint32_t nslots);

/* harness.c: the daemon */
/* run in the child of daemon_start*() and run_chatd() before exec */
extern void (*harness_exec_hook)(void);
const char *chatd_path(void);
int daemon_start(struct daemon *, const char *const *extra);
int daemon_start_named(struct daemon *, const char *name,
    const char *const *extra);
int daemon_wait_log(struct daemon *, const char *needle, int timeout_ms);
int daemon_log_has(struct daemon *, const char *needle);
int daemon_signal(struct daemon *, int sig);
int daemon_wait_exit(struct daemon *, int timeout_ms);
int daemon_stop(struct daemon *);
int daemon_leftovers(struct daemon *);
int children_named(pid_t parent, const char *name, pid_t *first);
pid_t daemon_logproc(struct daemon *);
pid_t worker_pid_of(struct daemon *, int nth);
int pidfd_of(pid_t);
int pidfd_gone(int fd, int timeout_ms);
void daemon_free(struct daemon *);
int run_chatd(const char *const *argv, char *out, size_t size, int timeout_ms);
size_t daemon_log_len(struct daemon *);
int daemon_wait_log_from(struct daemon *, size_t from, const char *needle,
    char *line, size_t size, int timeout_ms);
int daemon_log_count(struct daemon *, const char *needle);

/* harness.c: clients */
struct client *client_open(int port);
struct client *client_open_addr(const char *addr, int port);
struct client *client_open_rcvbuf(const char *addr, int port, int rcvbuf);
void client_close(struct client *);
void client_reset(struct client *);
int client_send(struct client *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int client_send_raw(struct client *, const void *, size_t);
int client_line(struct client *, char *line, size_t size, int timeout_ms);
int client_expect(struct client *, const char *needle, char *line, size_t size);
int client_expect_before(struct client *, const char *needle,
    const char *forbidden);
int client_wait_eof(struct client *, int timeout_ms);
struct client *client_greeted(struct daemon *, char *nick, size_t size);
int client_port(struct client *);

#endif
