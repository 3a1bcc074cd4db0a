/*
 * fmt.h - vsnprintf(3) for what chatd's lines hold, on a shallow stack.
 */
#ifndef CHATD_FMT_H
#define CHATD_FMT_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>

int line_vfmt(char *buf, size_t size, const char *fmt, va_list ap);
int line_fmt(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int addr_text(const struct sockaddr_storage *ss, char *out, size_t size);

#endif
