/*
 * fuzz_sanitize.c - libFuzzer target for sanitize(), sanitize_cut(),
 * nick_valid() and room_valid().
 *
 * Input: one byte that picks the output size, then the bytes to sanitise.
 * Sizes 0..63 exercise the cutting; most others give the worker's own
 * TEXT_MAX + 1; 0xf0 and up give room for anything (three bytes out for
 * each byte in, at worst).
 *
 * What sanitize.c promises, checked on every input:
 * - the output is well-formed UTF-8 (Unicode 3.9, table 3-7), holds no
 *   control but TAB (so no ESC, no DEL, no C1), none of the invisible
 *   characters it lists, and no NUL before the terminating one;
 * - it fits: length < size, out[length] == NUL, nothing written past
 *   SIZE bytes, nothing at all when SIZE is 0;
 * - *taken <= n, and the output is that of IN[0..taken) given all the room
 *   it needs, which is a prefix of the output of all of IN; a cut wastes
 *   less than one character (at most 4 bytes) of room;
 * - sanitising the output again gives it back unchanged;
 * - text that is already well-formed and visible is passed through as is.
 * nick_valid() and room_valid() are compared with the rules they state.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../worker/worker.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(x)                                                               \
	do {                                                                   \
		if (!(x))                                                      \
			__builtin_trap();                                      \
	} while (0)

#define GUARD 16

/*
 * Decodes one well-formed UTF-8 sequence at S (N bytes left) after table
 * 3-7 of the Unicode standard; returns its length, 0 if ill-formed.
 */
static size_t
decode(const unsigned char *s, size_t n, unsigned long *cp)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, k;

	if (s[0] <= 0x7f) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (k = 2; k < len; k++)
		if (s[k] < 0x80 || s[k] > 0xbf)
			return 0;
	*cp = s[0] & (0xff >> (len + 1));
	for (k = 1; k < len; k++)
		*cp = *cp << 6 | (s[k] & 0x3f);
	return len;
}

/*
 * What sanitize.c says it drops: controls but TAB, and what reorders or
 * hides text: every bidi formatting character of UAX #9 (the marks ALM,
 * LRM, RLM, the embeddings and overrides, the isolates), the zero-width
 * characters but ZWJ, the word joiner and invisible operators, the line
 * and paragraph separators, and the BOM.
 */
static int
dropped(unsigned long cp)
{
	return (cp < 0x20 && cp != '\t') || cp == 0x7f ||
	    (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200b ||
	    cp == 0x200c || cp == 0x200e || cp == 0x200f ||
	    (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x206f) ||
	    cp == 0xfeff || cp == 0x00ad || (cp >= 0xfff9 && cp <= 0xfffb) ||
	    (cp >= 0xe0000 && cp <= 0xe007f);
}

/* Whether S[0..N) is well-formed UTF-8 with nothing that is dropped. */
static int
clean(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned long cp;
	size_t i, len;

	for (i = 0; i < n; i += len) {
		len = decode(p + i, n - i, &cp);
		if (len == 0 || dropped(cp))
			return 0;
	}
	return 1;
}

/*
 * Sanitises IN[0..N) into a buffer of exactly SIZE bytes followed by a
 * guard that must stay untouched; checks the promises about the bounds
 * and returns a copy of the output (NUL-terminated) and its length.
 */
static char *
run(const char *in, size_t n, size_t size, size_t *lenp, size_t *takenp)
{
	char *buf = malloc(size + GUARD), *copy;
	size_t len, len2, taken = (size_t)-1, i;

	CHECK(buf != NULL);
	memset(buf, 0xa5, size + GUARD);
	len = sanitize_cut(in, n, buf, size, &taken);
	CHECK(taken <= n);
	for (i = size; i < size + GUARD; i++)
		CHECK((unsigned char)buf[i] == 0xa5);
	if (size == 0) {
		CHECK(len == 0 && taken == 0);
	} else {
		CHECK(len < size);
		CHECK(buf[len] == '\0');
		CHECK(strlen(buf) == len);
	}
	copy = malloc(len + 1);
	CHECK(copy != NULL);
	memcpy(copy, buf, len);
	copy[len] = '\0';

	/* sanitize() is sanitize_cut() without the count */
	memset(buf, 0xa5, size + GUARD);
	len2 = sanitize(in, n, buf, size);
	CHECK(len2 == len);
	CHECK(size == 0 || memcmp(buf, copy, len + 1) == 0);
	free(buf);
	*lenp = len;
	*takenp = taken;
	return copy;
}

static void
check_names(const char *s)
{
	size_t n = strlen(s), i;
	int want;
	unsigned char c;

	/* 1..NICK_MAX of letters, digits, -[]\`^{}|_, no digit or - first */
	want = n >= 1 && n <= NICK_MAX;
	for (i = 0; want && i < n; i++) {
		c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c != '\0' && strchr("[]\\`^{}|_", c) != NULL))
			continue;
		if (i > 0 && ((c >= '0' && c <= '9') || c == '-'))
			continue;
		want = 0;
	}
	CHECK(!nick_valid(s) == !want);

	/* '#' and 1..ROOM_MAX - 1 of letters, digits, _ . - */
	want = n >= 2 && n <= ROOM_MAX && s[0] == '#';
	for (i = 1; want && i < n; i++) {
		c = (unsigned char)s[i];
		want = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
	}
	CHECK(!room_valid(s) == !want);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in, *out, *full, *again, *prefix, *str;
	size_t n, bufsize, big, len, flen, alen, plen, taken, t;

	if (size < 1)
		return 0;
	n = size - 1;
	big = 3 * n + 1;
	if (data[0] < 0x40)
		bufsize = data[0];
	else if (data[0] < 0xf0)
		bufsize = TEXT_MAX + 1;
	else
		bufsize = big;

	/* a copy of exactly N bytes, so that a read past it is caught */
	in = malloc(n > 0 ? n : 1);
	CHECK(in != NULL);
	memcpy(in, data + 1, n);

	out = run(in, n, bufsize, &len, &taken);
	CHECK(clean(out, len));
	full = run(in, n, big, &flen, &t);
	CHECK(t == n);
	CHECK(clean(full, flen));

	/* what was taken gives the same output, all of it */
	prefix = run(in, taken, big, &plen, &t);
	CHECK(t == taken && plen == len && memcmp(prefix, out, len) == 0);
	/* a cut output is the start of the whole one */
	CHECK(len <= flen && memcmp(out, full, len) == 0);
	if (bufsize == 0) {
		/* no room even for the NUL: nothing is taken */
		CHECK(taken == 0);
	} else if (taken < n) {
		CHECK(len + 4 >= bufsize);
		CHECK(flen > len);
	} else {
		CHECK(flen == len);
	}

	/* the output is safe already: a second pass keeps it whole */
	again = run(out, len, len + 1, &alen, &t);
	CHECK(alen == len && t == len && memcmp(again, out, len) == 0);

	/* text that is already safe passes through unchanged */
	if (clean(in, n)) {
		CHECK(flen == n && memcmp(full, in, n) == 0);
		if (n < bufsize)
			CHECK(len == n && taken == n);
	}

	/* the name rules, on the raw input and on what sanitising made */
	str = malloc(n + 1);
	CHECK(str != NULL);
	memcpy(str, in, n);
	str[n] = '\0';
	check_names(str);
	check_names(out);

	free(str);
	free(again);
	free(prefix);
	free(full);
	free(out);
	free(in);
	return 0;
}
