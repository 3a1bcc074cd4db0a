/*
 * nosplice.c - a splice(2) that always fails with EINVAL, as on a kernel
 * that will not splice to a socket.  Preloaded (LD_PRELOAD) into a chatd
 * by test_daemon's splice_refused_loses_no_line, to take a worker down
 * the path where it reads back what waits in its pipe and sends it
 * directly.  Test code: never installed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/types.h>

ssize_t
splice(int fd_in, loff_t *off_in, int fd_out, loff_t *off_out, size_t len,
    unsigned int flags)
{
	(void)fd_in;
	(void)off_in;
	(void)fd_out;
	(void)off_out;
	(void)len;
	(void)flags;
	errno = EINVAL;
	return -1;
}
