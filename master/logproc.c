/*
 * logproc.c - the log process: the master's lines reach syslog(3) through it.
 *
 * syslog(3) writes four pages of the C library's own at every call (its
 * state, the time zone's, the allocator's), and every page the master
 * writes after a fork() is copied: the worker forked last keeps the old
 * copy, alone, for its whole life.  With clients that come one at a time,
 * every connect line cost the worker just forked 16 KiB (BENCHMARKS.md,
 * "What a worker writes").  syslog(3) also waits when the log daemon does
 * not read, and the master would stop accepting with it.
 *
 * So the master hands each line, without waiting, over a socket pair to a
 * process of its own, forked once it has started, which calls syslog(3)
 * with the master's name and pid ("chatd[1234]"): the line reads as before.
 * Whatever the log process cannot take at once (its queue full, or it is
 * gone), the master gives to syslog(3) itself; a log process that is
 * killed takes only the lines still queued to it along.  A log process
 * that dies is started again, unless it was itself a restarted one that
 * died within a second; then the master logs directly from then on.
 * Workers call syslog(3) themselves: they log little, and their pages are
 * their own anyway.
 *
 * At stop the master closes its end and waits (LOGPROC_DRAIN_MS at most)
 * until the log process has written everything and exited.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "master.h"
#include "../common/log.h"
#include "../common/util.h"

#define LOGPROC_DRAIN_MS 2000	 /* at stop, for the last lines */
#define LOGPROC_MIN_LIFE_MS 1000 /* a restarted one's shorter life ends it */
#define LOGPROC_READY_MS 1000	 /* for a new one to say it is there */

/* In the log process: every descriptor but 0-2 and FD (made 3) closed. */
static int
keep_only(int fd)
{
	if (fd != 3 && dup2(fd, 3) == -1)
		return -1;
	close_from(4);
	return 3;
}

/* The log process, for the master MASTER, logging at FACILITY. */
static void __attribute__((noreturn))
logproc_main(int fd, pid_t master, int facility)
{
	static char ident[32];

	signal_child_reset(0);
	/* the master's signals, meant for it: the last lines come at EOF */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	prctl(PR_SET_NAME, "chatd-log", 0, 0, 0);
	closelog(); /* its descriptor goes with the others */
	log_relay(-1);
	if ((fd = keep_only(fd)) == -1)
		_exit(1);
	snprintf(ident, sizeof(ident), "chatd[%ld]", (long)master);
	openlog(ident, LOG_NDELAY, facility);
	/* ready: the master waits for this (logproc_start()) */
	if (send(fd, "", 1, MSG_NOSIGNAL) != 1)
		_exit(1);
	log_relay_serve(fd);
}

/*
 * Waits (LOGPROC_READY_MS at most) until the new log process on FD says it
 * is ready: from then on it is named, and has its own way to syslog.  Lines
 * sent before would wait in the socket, so a late one costs nothing.
 */
static void
await_ready(int fd)
{
	struct pollfd pfd;
	char c;

	pfd.fd = fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	while (poll(&pfd, 1, LOGPROC_READY_MS) == -1 && errno == EINTR)
		;
	if (pfd.revents & POLLIN)
		(void)recv(fd, &c, 1, MSG_DONTWAIT);
}

/*
 * Starts the log process and sends the master's lines to it from now on.
 * Returns its pid, or -1 (logged) if the master logs directly.
 */
pid_t
logproc_start(struct master *mp)
{
	pid_t master = getpid(), pid;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		goto fail;
	if ((pid = fork()) == -1) {
		close(sv[0]);
		close(sv[1]);
		goto fail;
	}
	if (pid == 0) {
		close(sv[0]);
		logproc_main(sv[1], master, mp->cf.facility);
	}
	close(sv[1]);
	await_ready(sv[0]);
	mp->log_pid = pid;
	mp->log_fd = sv[0];
	mp->log_started = now_ms();
	log_relay(sv[0]);
	return pid;
fail:
	log_warn("log process not started; the master logs directly");
	return -1;
}

/* In a new worker: the master's end of the log process's socket closed. */
void
logproc_forget(const struct master *mp)
{
	if (mp->log_pid > 0) {
		log_relay(-1);
		close(mp->log_fd);
	}
}

/*
 * If PID is the log process, which exited with STATUS, says so, starts
 * another (unless a restarted one died young), and returns 1; else 0.
 */
int
logproc_reaped(struct master *mp, pid_t pid, int status)
{
	uint64_t lived;

	if (pid != mp->log_pid || pid <= 0)
		return 0;
	log_relay(-1);
	close(mp->log_fd);
	mp->log_fd = -1;
	mp->log_pid = -1;
	lived = now_ms() - mp->log_started;
	if (WIFSIGNALED(status))
		log_warnx("log process died pid=%ld signal=%d lived_ms=%llu",
		    (long)pid, WTERMSIG(status), (unsigned long long)lived);
	else
		log_warnx("log process exited pid=%ld status=%d lived_ms=%llu",
		    (long)pid, WEXITSTATUS(status), (unsigned long long)lived);
	if (mp->log_restarts > 0 && lived < LOGPROC_MIN_LIFE_MS) {
		log_warnx("log process not restarted; the master logs "
			  "directly");
		return 1;
	}
	mp->log_restarts++;
	if ((pid = logproc_start(mp)) > 0)
		log_notice("log process restarted pid=%ld", (long)pid);
	return 1;
}

/*
 * At stop: closes the master's end, so that the log process writes what it
 * still holds and exits, and waits for that (LOGPROC_DRAIN_MS at most).
 */
void
logproc_stop(struct master *mp)
{
	uint64_t deadline = now_ms() + LOGPROC_DRAIN_MS, now;
	struct pollfd pfd;
	int done = 0;
	char c;

	if (mp->log_pid <= 0)
		return;
	log_relay(-1);
	shutdown(mp->log_fd, SHUT_WR);
	pfd.fd = mp->log_fd;
	pfd.events = POLLIN;
	/* its end closes when it exits: EOF here */
	while (!done && (now = now_ms()) < deadline) {
		pfd.revents = 0;
		if (poll(&pfd, 1, (int)(deadline - now)) == -1 &&
		    errno != EINTR)
			break;
		if (pfd.revents != 0 && recv(mp->log_fd, &c, 1, 0) <= 0)
			done = 1;
	}
	if (!done) {
		kill(mp->log_pid, SIGKILL);
		log_warnx("log process killed pid=%ld: it did not finish in "
			  "%d ms",
		    (long)mp->log_pid, LOGPROC_DRAIN_MS);
	}
	close(mp->log_fd);
	while (waitpid(mp->log_pid, NULL, 0) == -1 && errno == EINTR)
		;
	mp->log_fd = -1;
	mp->log_pid = -1;
}
