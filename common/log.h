/*
 * log.h - the logging facade shared by master and workers.
 *
 * Everything goes to syslog(3); in the foreground it is copied to stderr as
 * well.  The names follow OpenBSD's daemons: log_warn() appends the errno
 * text, log_warnx() does not; fatal()/fatalx() are for broken invariants and
 * for start-up errors, never for what a client can cause.
 */
#ifndef CHATD_LOG_H
#define CHATD_LOG_H

#include <stdarg.h>
#include <stdatomic.h>

/* A line's longest, the stderr copy's prefix and newline included. */
#define LOG_LINE_MAX 1100

/* log.c */
void log_init(int to_stderr, int facility);
void log_tostderr(int to_stderr);
void log_setverbose(int verbose);
void log_follow(const _Atomic int *flag);
int log_facility_byname(const char *name);
void log_relay(int fd);
void log_relay_serve(int fd) __attribute__((noreturn));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
