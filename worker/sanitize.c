/*
 * sanitize.c - make a client's line safe to show on anyone's terminal.
 *
 * Other people read this text in nc, telnet or a terminal emulator, where
 * an ESC sequence can recolour the screen, move the cursor, set the window
 * title or (OSC 52) write the clipboard.  So the output holds only valid
 * UTF-8 with no control character but TAB: C0 and DEL are dropped, whole
 * ESC sequences (CSI, OSC, DCS and the two-byte ones) are dropped, C1
 * controls (U+0080..U+009F) and the invisible characters that reorder or
 * hide text (bidi overrides, zero-width marks, BOM, line separators) are
 * dropped, and every byte that is not valid UTF-8 (overlong forms,
 * surrogates, values past U+10FFFF, truncated sequences) becomes U+FFFD.
 */
#include <string.h>

#include "worker.h"

#define ESC 0x1b

/* Length of a well-formed UTF-8 sequence at P (N bytes left), 0 if none. */
static size_t
utf8_len(const unsigned char *p, size_t n, unsigned long *cp)
{
	size_t len, i;
	unsigned long v, min;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	} else if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2, v = p[0] & 0x1f, min = 0x80;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3, v = p[0] & 0x0f, min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4, v = p[0] & 0x07, min = 0x10000;
	} else {
		return 0; /* continuation byte, C0/C1 lead, F5..FF */
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/* Whether code point CP is shown to nobody. */
static int
invisible(unsigned long cp)
{
	return (cp < 0x20 && cp != '\t') || cp == 0x7f ||
	    (cp >= 0x80 && cp <= 0x9f) || /* C1 controls */
	    cp == 0x061c || /* ALM, a bidi mark like LRM and RLM */
	    (cp >= 0x200b && cp <= 0x200f && cp != 0x200d) || /* ZW, marks */
	    (cp >= 0x2028 && cp <= 0x202e) || /* separators, bidi */
	    cp == 0x00ad ||		      /* soft hyphen */
	    (cp >= 0x2060 && cp <= 0x206f) || /* joiners, isolates, ... */
	    cp == 0xfeff ||		      /* BOM */
	    (cp >= 0xfff9 && cp <= 0xfffb) || /* interlinear annotation */
	    (cp >= 0xe0000 && cp <= 0xe007f); /* tags: hidden text */
}

/* Bytes of the escape sequence starting at P[0] == ESC. */
static size_t
escape_len(const unsigned char *p, size_t n)
{
	size_t i;

	if (n < 2)
		return 1;
	switch (p[1]) {
	case '[': /* CSI: parameters, intermediates, one final byte */
		for (i = 2; i < n; i++) {
			if (p[i] >= 0x40 && p[i] <= 0x7e)
				return i + 1;
			if (p[i] < 0x20 || p[i] > 0x3f)
				return i;
		}
		return n;
	case ']': /* OSC, DCS, SOS, PM, APC: up to BEL or ESC \ */
	case 'P':
	case 'X':
	case '^':
	case '_':
		for (i = 2; i < n; i++) {
			if (p[i] == 0x07)
				return i + 1;
			if (p[i] == ESC)
				return i + 1 < n && p[i + 1] == '\\' ? i + 2
								     : i + 1;
		}
		return n;
	default: /* ESC and one byte, if it is one of that kind */
		return p[1] >= 0x20 && p[1] <= 0x7e ? 2 : 1;
	}
}

/*
 * Writes the safe form of IN[0..N) to OUT (SIZE bytes, NUL-terminated) and
 * returns its length.  Output that would not fit is cut at a character
 * boundary, never inside one.
 */
size_t
sanitize(const char *in, size_t n, char *out, size_t size)
{
	return sanitize_cut(in, n, out, size, NULL);
}

/*
 * As sanitize(), and tells in *TAKEN how many bytes of IN it used: fewer
 * than N when what they became did not fit in SIZE.
 */
size_t
sanitize_cut(const char *in, size_t n, char *out, size_t size, size_t *taken)
{
	static const char repl[] = "\xef\xbf\xbd"; /* U+FFFD */
	const unsigned char *p = (const unsigned char *)in;
	size_t i = 0, o = 0, len;
	unsigned long cp;

	if (taken != NULL)
		*taken = 0;
	if (size == 0)
		return 0;
	while (i < n) {
		if (p[i] == ESC) {
			i += escape_len(p + i, n - i);
			continue;
		}
		len = utf8_len(p + i, n - i, &cp);
		if (len == 0) {
			if (o + 3 > size - 1)
				break;
			memcpy(out + o, repl, 3);
			o += 3;
			i++;
			continue;
		}
		if (!invisible(cp)) {
			if (o + len > size - 1)
				break;
			memcpy(out + o, p + i, len);
			o += len;
		}
		i += len;
	}
	out[o] = '\0';
	if (taken != NULL)
		*taken = i;
	return o;
}

static int
nick_char(unsigned char c, int first)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
		return 1;
	if (strchr("[]\\`^{}|_", c) != NULL && c != '\0')
		return 1;
	return !first && ((c >= '0' && c <= '9') || c == '-');
}

/*
 * Whether NICK is a valid nickname: 1 to NICK_MAX bytes of ASCII letters,
 * digits and -[]\`^{}|_ (IRC's set), not starting with a digit or '-'.
 * Nothing invisible or confusable can get in.
 */
int
nick_valid(const char *nick)
{
	size_t i;

	for (i = 0; nick[i] != '\0'; i++)
		if (i >= NICK_MAX || !nick_char((unsigned char)nick[i], i == 0))
			return 0;
	return i > 0;
}

/* Whether ROOM is '#' and 1 to ROOM_MAX - 1 of [A-Za-z0-9_.-]. */
int
room_valid(const char *room)
{
	size_t i;
	unsigned char c;

	if (room[0] != '#')
		return 0;
	for (i = 1; room[i] != '\0'; i++) {
		c = (unsigned char)room[i];
		if (i >= ROOM_MAX ||
		    !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '_' || c == '-' ||
			c == '.'))
			return 0;
	}
	return i > 1;
}
