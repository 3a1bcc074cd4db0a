/*
 * spawn.c - accept a connection and fork its worker.
 *
 * The master claims the worker's table row before fork(), so a client
 * over the limit is refused before any process exists for it, and it
 * records the child's pid right after fork(): SIGCHLD is only acted on in
 * the main loop, so the pid is in the table before the master can reap it.
 */
#define _GNU_SOURCE /* _Fork() */
#include <errno.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "master.h"
#include "../common/fmt.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../worker/worker.h"

#if defined(__GLIBC__) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
#define HAVE__FORK 1
#include <sys/single_threaded.h>
#endif

#define FULL_LOG_MS 10000 /* "server full" logged once per this */
#define PAUSE_MS 250	  /* no accept() for this after EMFILE, EAGAIN */

/*
 * Tells the newcomer on FD why it cannot stay (LINE), and closes it.  The
 * refusal is logged with WHY, once per FULL_LOG_MS with a count of those
 * not logged: a storm of refusals must not become a storm of log lines.
 */
static void
refuse(struct master *mp, int fd, const char *addr, const char *line,
    const char *why)
{
	uint64_t now = now_ms();
	char junk[4096];
	int i;

	/*
	 * Closing a socket with unread input sends a reset, which may
	 * destroy our line before the client reads it: drop what it sent.
	 */
	for (i = 0; i < 4 && recv(fd, junk, sizeof(junk), MSG_DONTWAIT) > 0;
	     i++)
		;
	if (send(fd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL) == -1) {
		/* it will not read it either way */
	}
	close(fd);
	atomic_fetch_add(&mp->shm.h->stats.refused, 1);
	if (mp->hot->full_logged != 0 &&
	    now - mp->hot->full_logged < FULL_LOG_MS) {
		mp->hot->full_quiet++;
		return;
	}
	if (mp->hot->full_quiet > 0)
		log_warnx("refused peer=%s reason=\"%s\" suppressed=%lu",
		    addr, why, mp->hot->full_quiet);
	else
		log_warnx("refused peer=%s reason=\"%s\"", addr, why);
	mp->hot->full_logged = now;
	mp->hot->full_quiet = 0;
}

/* Whether two "host:port" or "[host]:port" peers share the host. */
static int
same_host(const char *a, const char *b)
{
	const char *ca = strrchr(a, ':'), *cb = strrchr(b, ':');

	return ca != NULL && cb != NULL && ca - a == cb - b &&
	    strncmp(a, b, (size_t)(ca - a)) == 0;
}

/* Connections from ADDR's host being served now. */
static unsigned
from_host(struct master *mp, const char *addr)
{
	unsigned n = 0;
	uint32_t i;

	for (i = 0; i < mp->shm.h->nrows; i++)
		if (atomic_load(&mp->shm.rows[i].state) != ROW_FREE &&
		    same_host(mp->shm.rows[i].addr, addr))
			n++;
	return n;
}

/*
 * Out of descriptors or processes: stop accepting for a while instead of
 * spinning on a listener that stays readable, and log once per burst.
 */
static void
pause_accepting(struct master *mp, const char *what)
{
	int saved = errno;

	if (mp->hot->pause_quiet == 0)
		log_warnx("accept paused ms=%d op=%s error=\"%s\"",
		    PAUSE_MS, what, strerror(saved));
	mp->hot->pause_quiet++;
	mp->hot->pause_until = now_ms() + PAUSE_MS;
}

/*
 * fork(2) for a worker, without what only a master with threads needs.
 * glibc's fork() also runs the pthread_atfork() handlers and, in the
 * child, resets locks and lists that only another thread could have held:
 * the dynamic loader's, on two pages of its data, and the thread
 * library's, on a page of the C library's.  Each write left the worker a
 * private copy of a page it otherwise shares with the master: three of
 * the nine pages an idle worker kept (BENCHMARKS.md).  _Fork() (glibc
 * 2.34, POSIX.1-2024) is fork() without them.  With one thread in the
 * parent its child may do all it did before; the one handler chatd
 * registers (shm/lock.c) the child runs by hand.  A master with threads
 * (none so far) gets fork().
 */
static pid_t
worker_fork(void)
{
	pid_t pid;

#ifdef HAVE__FORK
	if (!__libc_single_threaded)
		return fork();
	if ((pid = _Fork()) == 0)
		lock_forget_pid();
#else
	pid = fork();
#endif
	return pid;
}

/*
 * Forks the worker for FD on row ROW; returns its pid, or -1.  The child
 * reads *MP but writes none of it, so that its page stays shared with the
 * master (struct master_hot); worker_main() keeps its own copy of the
 * segment's handle.
 */
static pid_t
spawn_worker(struct master *mp, int fd, int row, const char *addr)
{
	pid_t pid = worker_fork();
	int i;

	if (pid != 0)
		return pid;
	for (i = 0; i < mp->nlst; i++)
		close(mp->lst[i].fd);
	if (mp->mem_fd != -1)
		close(mp->mem_fd); /* the master's memory: see copies.c */
	if (mp->pidfd != -1)
		close(mp->pidfd);
	if (mp->ready_fd != -1)
		close(mp->ready_fd);
	logproc_forget(mp); /* a worker calls syslog(3) itself */
	signal_child_reset(1);
	worker_main(&mp->shm, row, fd, addr);
}

/*
 * Logs the N workers a burst on listener L started (B: mp->hot->born, not
 * on the stack, where 4.6 KiB more pushed the calls below spawn_accept()
 * onto two more pages, which the master then wrote at every connection).
 * The lines wait until the burst's last fork(): every fork makes all the
 * master's pages copy-on-write again, and a line logged between two forks
 * wrote seven of them (syslog(3)'s buffer and state, the time zone, the
 * stack), each copied and its TLB entry shot down on every CPU.  In a
 * connection storm that was a quarter of the master's time a connection
 * (BENCHMARKS.md).
 */
static void
log_born(const struct listener *l, const struct born *b, int n)
{
	int i;

	for (i = 0; i < n; i++)
		log_info("connect peer=%s listener=%s worker=%ld row=%d",
		    b[i].addr, l->name, (long)b[i].pid, b[i].row);
}

/* Accepts what is waiting on listener L, a burst at a time. */
void
spawn_accept(struct master *mp, struct listener *l)
{
	struct sockaddr_storage ss;
	char addr[ADDR_MAX], why[64];
	socklen_t len;
	int i, fd, row, n = 0;
	pid_t pid;

	for (i = 0; i < ACCEPT_BURST; i++) {
		len = sizeof(ss);
		fd = accept(l->fd, (struct sockaddr *)&ss, &len);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				pause_accepting(mp, "accept");
			else if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("accept failed listener=%s", l->name);
			break;
		}
		/* not getnameinfo(3): a shallow stack (common/fmt.c) */
		addr_text(&ss, addr, sizeof(addr));
		if (mp->cf.maxperhost > 0 &&
		    from_host(mp, addr) >= mp->cf.maxperhost) {
			snprintf(why, sizeof(why),
			    "%lu connections from its "
			    "address already",
			    mp->cf.maxperhost);
			refuse(mp, fd, addr,
			    "*** too many connections from your address; "
			    "try again later\r\n",
			    why);
			continue;
		}
		if (mp->hot->children >= mp->cf.maxclients ||
		    (row = table_claim(&mp->shm, addr)) < 0) {
			snprintf(why, sizeof(why), "server full (%u clients)",
			    mp->hot->children);
			refuse(mp, fd, addr,
			    "*** server is full; try again later\r\n", why);
			continue;
		}
		/* each group of workers its own copy of our pages */
		if (mp->cf.workers_per_copy > 0 && !mp->copies_failed &&
		    mp->hot->copy_forks >= mp->cf.workers_per_copy &&
		    mp->hot->children >= mp->cf.workers_per_copy)
			copies_make(mp);
		if ((pid = spawn_worker(mp, fd, row, addr)) == -1) {
			pause_accepting(mp, "fork");
			send(fd, "*** server is busy; try again later\r\n", 37,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
			close(fd);
			table_release(&mp->shm, row);
			break;
		}
		table_set_pid(&mp->shm, row, pid);
		mp->hot->pause_quiet = 0;
		mp->hot->children++;
		mp->hot->copy_forks++;
		atomic_fetch_add(&mp->shm.h->stats.connections, 1);
		close(fd);
		memcpy(mp->hot->born[n].addr, addr, sizeof(addr));
		mp->hot->born[n].pid = pid;
		mp->hot->born[n].row = row;
		n++;
	}
	log_born(l, mp->hot->born, n);
}
