/*
 * util.c - time, strings, processes: the few helpers everyone needs.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fmt.h"
#include "util.h"

uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

HOT void
realtime_in(struct timespec *ts, uint64_t ns)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ns += (uint64_t)ts->tv_nsec;
	ts->tv_sec += (time_t)(ns / 1000000000);
	ts->tv_nsec = (long)(ns % 1000000000);
}

/*
 * Copies SRC into DST of SIZE bytes, always terminating; returns strlen(SRC)
 * so truncation is detectable (as BSD strlcpy, which glibc 2.36 lacks).
 */
size_t
strlcpy_(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size > 0) {
		size_t n = len < size - 1 ? len : size - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

/*
 * Returns 1 if PID no longer runs any code: gone, or a zombie waiting to be
 * reaped.  A zombie still answers kill(pid, 0), so /proc is asked too; while
 * it is a zombie its pid cannot be reused, which makes the answer safe to act
 * on.
 */
int
proc_is_dead(pid_t pid)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	if (pid <= 0)
		return 1;
	if (kill(pid, 0) == -1 && errno == ESRCH)
		return 1;
	/* a worker waiting for a lock asks this: formatted on a shallow
	 * stack (fmt.c), as snprintf() would have cost it a page more */
	line_fmt(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "pid (comm) S ...": comm may hold spaces and parens, take the last */
	if ((p = strrchr(buf, ')')) == NULL || p[1] == '\0')
		return 0;
	return p[2] == 'Z' || p[2] == 'X';
}

/*
 * Writes all of BUF to FD, retrying on EINTR and short writes.  Sockets are
 * written with MSG_NOSIGNAL so a vanished peer is an EPIPE, not a SIGPIPE.
 * Returns 0, or -1 with errno set.
 */
HOT int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && errno == ENOTSOCK)
			n = write(fd, p, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Parses a decimal in [MIN, MAX]; returns 0, or -1 if S is not one. */
int
parse_uint(const char *s, unsigned long min, unsigned long max,
    unsigned long *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/*
 * Closes every descriptor from LOW up: close_range(2) where the kernel has
 * it, else one close(2) each up to the limit on open files.
 */
void
close_from(int low)
{
	struct rlimit rl;
	int fd, max;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)low, ~0U, 0U) == 0)
		return;
#endif
	max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1048576 ?
	    (int)rl.rlim_cur :
	    1048576;
	for (fd = low; fd < max; fd++)
		close(fd);
}
