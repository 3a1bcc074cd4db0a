/*
 * frame.c - from a TCP byte stream to lines.
 *
 * Two layers in one pass.  First telnet: a telnet client mixes option
 * negotiation (IAC ...) into the stream, and its bytes may include 0x0A,
 * so IAC sequences are removed before lines are cut.  Then lines: LF ends
 * a line, a CR before it is dropped, and a line is at most TEXT_MAX bytes;
 * a longer one is handed over cut (FRAME_LONG) and its remainder dropped
 * up to the next LF, so memory stays bounded whatever the client sends.
 */
#include <string.h>

#include "worker.h"

#define IAC 255
#define SB 250
#define SE 240
#define WILL 251 /* WILL, WONT, DO, DONT: 251..254, one option byte */

enum { T_DATA, T_IAC, T_OPT, T_SB, T_SB_IAC };

void
frame_init(struct frame *f)
{
	memset(f, 0, sizeof(*f));
}

/* Returns 1 if byte C is data, 0 if telnet swallowed it. */
static int
telnet(struct frame *f, unsigned char c)
{
	switch (f->telnet) {
	case T_DATA:
		if (c != IAC)
			return 1;
		f->telnet = T_IAC;
		return 0;
	case T_IAC:
		/* IAC IAC is a literal 0xff: never valid UTF-8, dropped */
		if (c >= WILL && c < IAC)
			f->telnet = T_OPT;
		else if (c == SB)
			f->telnet = T_SB;
		else
			f->telnet = T_DATA;
		return 0;
	case T_OPT:
		f->telnet = T_DATA;
		return 0;
	case T_SB:
		if (c == IAC)
			f->telnet = T_SB_IAC;
		return 0;
	default: /* T_SB_IAC */
		f->telnet = c == SE ? T_DATA : T_SB;
		return 0;
	}
}

/*
 * Consumes bytes of IN[0..N) until a line is complete or the input is used
 * up.  Returns the number of bytes consumed; *EVENT says whether buf[0..len)
 * now holds a line (NUL-terminated, CR and LF removed).  The line stays
 * valid until the next call.
 */
size_t
frame_feed(struct frame *f, const char *in, size_t n, int *event)
{
	size_t i;
	unsigned char c;

	if (f->ready) {
		f->ready = 0;
		f->len = 0;
	}
	*event = FRAME_MORE;
	for (i = 0; i < n; i++) {
		c = (unsigned char)in[i];
		if (!telnet(f, c))
			continue;
		if (c == '\n') {
			if (f->discard) {
				f->discard = 0;
				f->len = 0;
				continue;
			}
			if (f->len > 0 && f->buf[f->len - 1] == '\r')
				f->len--;
			f->buf[f->len] = '\0';
			f->ready = 1;
			*event = FRAME_LINE;
			return i + 1;
		}
		if (f->discard)
			continue;
		/* room is kept for a CR after a full line, LF may follow */
		if (f->len > TEXT_MAX || (f->len == TEXT_MAX && c != '\r')) {
			/* the cut part goes now; the rest up to LF is dropped
			 */
			f->len = TEXT_MAX;
			f->buf[f->len] = '\0';
			f->discard = 1;
			f->ready = 1;
			*event = FRAME_LONG;
			return i + 1;
		}
		f->buf[f->len++] = (char)c;
	}
	return n;
}
