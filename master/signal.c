/*
 * signal.c - signals become bytes on a pipe the main loop polls.
 *
 * A handler may only do async-signal-safe things, so each one writes its
 * signal number to a non-blocking self-pipe and returns; the main loop
 * reads the pipe and acts in ordinary code.  A full pipe loses nothing
 * that matters: one pending byte of a kind is enough (SIGCHLD reaping
 * loops over waitpid() until nothing is left).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "master.h"

static int sigpipe[2] = {-1, -1};

static const int handled[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1};
#define NHANDLED (sizeof(handled) / sizeof(handled[0]))

static void
on_signal(int sig)
{
	int saved = errno;
	unsigned char c = (unsigned char)sig;

	if (write(sigpipe[1], &c, 1) == -1) {
		/* full: a byte of this kind is pending already */
	}
	errno = saved;
}

int
signal_setup(void)
{
	struct sigaction sa;
	size_t i;
	int k;

	if (pipe(sigpipe) == -1)
		return -1;
	for (k = 0; k < 2; k++)
		if (fcntl(sigpipe[k], F_SETFL, O_NONBLOCK) == -1 ||
		    fcntl(sigpipe[k], F_SETFD, FD_CLOEXEC) == -1)
			return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < NHANDLED; i++)
		if (sigaction(handled[i], &sa, NULL) == -1)
			return -1;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int
signal_fd(void)
{
	return sigpipe[0];
}

/* Returns the next pending signal, or 0 if none is. */
int
signal_next(void)
{
	unsigned char c;

	if (read(sigpipe[0], &c, 1) == 1)
		return c;
	return 0;
}

/*
 * In a new child of the master: default dispositions, and no master's
 * pipe.  A WORKER ignores SIGINT and SIGHUP instead: Ctrl-C and a hang-up
 * of the terminal reach the whole foreground process group, and are
 * meant for the master, which tells the workers to say goodbye.  SIGTERM
 * still ends a worker alone.  SIGPIPE stays ignored, as signal_setup()
 * left it.
 */
void
signal_child_reset(int worker)
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < NHANDLED; i++) {
		sa.sa_handler = SIG_DFL;
		if (worker && (handled[i] == SIGINT || handled[i] == SIGHUP))
			sa.sa_handler = SIG_IGN;
		sigaction(handled[i], &sa, NULL);
	}
	close(sigpipe[0]);
	close(sigpipe[1]);
}
