/*
 * pipefull.c - pipes that hold fewer bytes than Linux gives them.  A
 * write(2) to a non-blocking pipe that would leave more than
 * PIPEFULL_ROOM bytes in it (the environment's, read at load) fails
 * with EAGAIN, as a full pipe's does.  Preloaded (LD_PRELOAD) into a
 * chatd by test_daemon's a_full_pipe_loses_no_line, to take a worker
 * down the path where a held greeting's write finds no room.  Test
 * code: never installed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static long room = -1;

static void __attribute__((constructor))
pipefull_init(void)
{
	const char *s = getenv("PIPEFULL_ROOM");

	if (s != NULL)
		room = strtol(s, NULL, 10);
}

ssize_t
write(int fd, const void *buf, size_t len)
{
	struct stat st;
	int queued, flags;

	if (room >= 0 && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) &&
	    (flags = fcntl(fd, F_GETFL)) != -1 && (flags & O_NONBLOCK) &&
	    ioctl(fd, FIONREAD, &queued) == 0 &&
	    (size_t)queued + len > (size_t)room) {
		errno = EAGAIN;
		return -1;
	}
	return syscall(SYS_write, fd, buf, len);
}
