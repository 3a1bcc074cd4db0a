/*
 * util.h - small helpers used by more than one part of chatd.
 */
#ifndef CHATD_UTIL_H
#define CHATD_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CHATD_VERSION "0.1.0"

/*
 * HOT marks the code a worker runs at every wake-up: the compiler puts it
 * in .text.hot, which the linker lays out together, so that a wake-up
 * reads few pages of code.  Every page it reads is shared by all the
 * workers, and past a thousand of them each costs (BENCHMARKS.md, "Pages
 * a wake-up reads").  NOINLINE keeps such code out of a cold caller.
 */
#if defined(__GNUC__)
#define HOT __attribute__((hot))
#define NOINLINE __attribute__((noinline))
#else
#define HOT
#define NOINLINE
#endif

struct timespec;

/* util.c */
uint64_t now_ms(void); /* CLOCK_MONOTONIC in milliseconds */
int64_t wall_ms(void); /* CLOCK_REALTIME in milliseconds */
/* TS := NS nanoseconds from now, as CLOCK_REALTIME (for sem_timedwait()) */
void realtime_in(struct timespec *ts, uint64_t ns);
size_t strlcpy_(char *dst, const char *src, size_t size);
int proc_is_dead(pid_t pid);
void close_from(int low); /* every descriptor from LOW up */
int write_all(int fd, const void *buf, size_t len);
int parse_uint(const char *s, unsigned long min, unsigned long max,
    unsigned long *out);

#endif
