/*
 * fmt.c - vsnprintf(3) for what chatd's lines hold, on a shallow stack.
 *
 * Why: glibc's vsnprintf() takes about 1.9 KiB of stack.  A new worker's
 * deepest frames are the lines it formats for its greeting and its join,
 * and the master's, after forking it, the lines it logs; each page of
 * stack the one writes, or the other writes after the fork, is a page
 * the worker keeps a copy of for its life.  With vsnprintf() the two
 * spanned two pages; with these functions, one (BENCHMARKS.md, "A page
 * of stack").
 *
 * It knows the conversions chatd's messages use: d, i, u, x, c, s and %,
 * the flags '-' and '0', a width (digits or '*'), a precision for s
 * (digits or '*'), and the sizes l, ll and z.  Anything else (a float,
 * %p, %m, another flag, a precision on a number) is handed whole to
 * vsnprintf().  The result is vsnprintf()'s: what it writes and what it
 * returns.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "fmt.h"

struct out {
	char *buf;
	size_t size;
	size_t n; /* what the whole result takes, written or not */
};

static void
out_c(struct out *o, char c)
{
	if (o->n + 1 < o->size)
		o->buf[o->n] = c;
	o->n++;
}

static void
out_s(struct out *o, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		out_c(o, s[i]);
}

static void
out_pad(struct out *o, char c, size_t count)
{
	while (count-- > 0)
		out_c(o, c);
}

/* The digits of V in BASE, at the end of BUF; returns where they start. */
static char *
digits(char *end, unsigned long long v, unsigned base)
{
	do {
		*--end = "0123456789abcdef"[v % base];
		v /= base;
	} while (v != 0);
	return end;
}

int
line_vfmt(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = {buf, size, 0};
	const char *f;
	va_list again;
	int r;

	va_copy(again, ap);
	for (f = fmt; *f != '\0'; f++) {
		char num[24], sign = 0;
		const char *s;
		size_t len, width = 0;
		int left = 0, zero = 0, prec = -1, size_mod = 0, w;
		unsigned long long u;
		long long v;

		if (*f != '%') {
			out_c(&o, *f);
			continue;
		}
		for (f++; *f == '-' || *f == '0'; f++)
			*(*f == '-' ? &left : &zero) = 1;
		if (*f == '*') {
			w = va_arg(ap, int);
			if (w < 0) {
				left = 1;
				w = w == INT_MIN ? INT_MAX : -w;
			}
			width = (size_t)w;
			f++;
		} else {
			for (; *f >= '0' && *f <= '9'; f++)
				if ((width = width * 10 + (size_t)(*f - '0')) >
				    INT_MAX)
					goto whole;
		}
		if (*f == '.') {
			f++;
			if (*f == '*') {
				prec = va_arg(ap, int);
				f++;
			} else {
				for (prec = 0; *f >= '0' && *f <= '9'; f++)
					if ((prec = prec * 10 + (*f - '0')) >
					    INT_MAX / 10)
						goto whole;
			}
		}
		if (*f == 'l') {
			size_mod = 1;
			if (*++f == 'l') {
				size_mod = 2;
				f++;
			}
		} else if (*f == 'z') {
			size_mod = 3;
			f++;
		}
		switch (*f) {
		case '%':
			if (width != 0 || prec >= 0 || size_mod != 0)
				goto whole;
			out_c(&o, '%');
			continue;
		case 'c':
			if (size_mod != 0 || prec >= 0 || zero)
				goto whole;
			num[0] = (char)va_arg(ap, int);
			s = num;
			len = 1;
			break;
		case 's':
			if (size_mod != 0 || zero)
				goto whole;
			if ((s = va_arg(ap, const char *)) == NULL)
				goto whole; /* glibc's "(null)" */
			len = prec >= 0 ? strnlen(s, (size_t)prec) : strlen(s);
			break;
		case 'd':
		case 'i':
			if (prec >= 0 || size_mod == 3)
				goto whole;
			v = size_mod == 0   ? va_arg(ap, int)
			    : size_mod == 1 ? va_arg(ap, long)
					    : va_arg(ap, long long);
			if (v < 0) {
				sign = '-';
				u = 0 - (unsigned long long)v;
			} else {
				u = (unsigned long long)v;
			}
			s = digits(num + sizeof(num), u, 10);
			len = (size_t)(num + sizeof(num) - s);
			break;
		case 'u':
		case 'x':
			if (prec >= 0)
				goto whole;
			u = size_mod == 0   ? va_arg(ap, unsigned)
			    : size_mod == 1 ? va_arg(ap, unsigned long)
			    : size_mod == 2 ? va_arg(ap, unsigned long long)
					    : va_arg(ap, size_t);
			s = digits(num + sizeof(num), u, *f == 'u' ? 10 : 16);
			len = (size_t)(num + sizeof(num) - s);
			break;
		default:
			goto whole;
		}
		if (sign != 0)
			len++;
		if (left) {
			if (sign != 0)
				out_c(&o, sign);
			out_s(&o, s, sign != 0 ? len - 1 : len);
			if (width > len)
				out_pad(&o, ' ', width - len);
			continue;
		}
		if (width > len && !zero)
			out_pad(&o, ' ', width - len);
		if (sign != 0)
			out_c(&o, sign);
		if (width > len && zero)
			out_pad(&o, '0', width - len);
		out_s(&o, s, sign != 0 ? len - 1 : len);
	}
	va_end(again);
	if (size > 0)
		buf[o.n < size ? o.n : size - 1] = '\0';
	return o.n > INT_MAX ? -1 : (int)o.n;
whole:
	r = vsnprintf(buf, size, fmt, again);
	va_end(again);
	return r;
}

int
line_fmt(char *buf, size_t size, const char *format, ...)
{
	va_list ap;
	int r;

	va_start(ap, format);
	r = line_vfmt(buf, size, format, ap);
	va_end(ap);
	return r;
}

/* Writes the digits of V in BASE at P; returns their end. */
static char *
digits_to(char *p, unsigned v, unsigned base)
{
	char tmp[12], *t = digits(tmp + sizeof(tmp), v, base);

	while (t < tmp + sizeof(tmp))
		*p++ = *t++;
	return p;
}

static char *
dotted_quad(char *p, const unsigned char *b)
{
	int i;

	for (i = 0; i < 4; i++) {
		if (i > 0)
			*p++ = '.';
		p = digits_to(p, b[i], 10);
	}
	return p;
}

/*
 * The numeric text of the address in SS and its port, "192.0.2.1:5555"
 * or "[2001:db8::1]:5555", as getnameinfo(3) with NI_NUMERICHOST and
 * inet_ntop(3) write them (the longest run of zero words as "::", an
 * IPv4-mapped address in dotted form), into OUT.  Returns 0, or -1 for
 * another family or too small an OUT ("unknown" is then written, if it
 * fits).  Not getnameinfo(): the master names every newcomer, between
 * two forks, and getnameinfo() and inet_ntop() format through
 * snprintf(3), whose stack reaches a page below the rest (see above).
 */
int
addr_text(const struct sockaddr_storage *ss, char *out, size_t size)
{
	char text[64], *p = text;
	const unsigned char *b;
	unsigned port, w[8];
	int i, best = -1, best_len = 0, run;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		p = dotted_quad(p, (const unsigned char *)&in->sin_addr);
		port = ntohs(in->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
		    (const struct sockaddr_in6 *)ss;

		b = in6->sin6_addr.s6_addr;
		for (i = 0; i < 8; i++)
			w[i] = (unsigned)b[2 * i] << 8 | b[2 * i + 1];
		for (i = 0; i < 8; i += run > 0 ? run : 1) {
			for (run = 0; i + run < 8 && w[i + run] == 0; run++)
				;
			if (run > best_len) {
				best = i;
				best_len = run;
			}
		}
		if (best_len < 2)
			best = -1;
		*p++ = '[';
		for (i = 0; i < 8; i++) {
			if (i == best) {
				*p++ = ':';
				if (i + best_len == 8)
					*p++ = ':';
				i += best_len - 1;
				continue;
			}
			if (i > 0)
				*p++ = ':';
			/* ::a.b.c.d and ::ffff:a.b.c.d, as glibc writes them */
			if (i == 6 && best == 0 &&
			    (best_len == 6 || (best_len == 5 && w[5] == 0xffff))) {
				p = dotted_quad(p, b + 12);
				break;
			}
			p = digits_to(p, w[i], 16);
		}
		*p++ = ']';
		port = ntohs(in6->sin6_port);
	} else {
		goto unknown;
	}
	*p++ = ':';
	p = digits_to(p, port, 10);
	if ((size_t)(p - text) >= size)
		goto unknown;
	memcpy(out, text, (size_t)(p - text));
	out[p - text] = '\0';
	return 0;
unknown:
	if (size >= sizeof("unknown"))
		memcpy(out, "unknown", sizeof("unknown"));
	else if (size > 0)
		out[0] = '\0';
	return -1;
}
