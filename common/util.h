/*
 * util.h - small helpers used by more than one part of chatd.
 */
#ifndef CHATD_UTIL_H
#define CHATD_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CHATD_VERSION "0.1.0"

/* util.c */
uint64_t now_ms(void); /* CLOCK_MONOTONIC in milliseconds */
int64_t wall_ms(void); /* CLOCK_REALTIME in milliseconds */
size_t strlcpy_(char *dst, const char *src, size_t size);
int proc_is_dead(pid_t pid);
int write_all(int fd, const void *buf, size_t len);
int parse_uint(const char *s, unsigned long min, unsigned long max,
    unsigned long *out);

#endif
