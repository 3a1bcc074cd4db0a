/*
 * fuzz_frame.c - libFuzzer target for frame_feed(): telnet filtering and
 * line framing.
 *
 * Input: one byte that seeds the choice of split points, then the bytes
 * a client sends.  The stream is framed three ways: in one call per line
 * (the whole rest of the input each time), in pieces whose sizes the seed
 * picks, and one byte at a time.  All three must hand over the same lines,
 * and those lines must be what a plain reading of the rules gives
 * (model() below): telnet commands removed, LF ends a line, one CR before
 * it dropped, a line longer than TEXT_MAX cut there and the rest up to
 * the next LF dropped.
 *
 * After every call: at least one byte used unless the input was empty,
 * never more than given, FRAME_MORE only when all was used, and a line
 * handed over is at most TEXT_MAX bytes, NUL-terminated at buf[len], holds
 * no LF and no 0xff (0xff is always telnet's IAC), and a FRAME_LONG line
 * is exactly TEXT_MAX bytes.
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

/* The events of one framing of the input, one after the other. */
struct evlog {
	unsigned char *p;
	size_t len, cap, count;
};

static void
log_add(struct evlog *l, int event, const char *buf, size_t len)
{
	size_t need = l->len + 1 + sizeof(len) + len;

	if (need > l->cap) {
		l->cap = need * 2;
		l->p = realloc(l->p, l->cap);
		CHECK(l->p != NULL);
	}
	l->p[l->len++] = (unsigned char)event;
	memcpy(l->p + l->len, &len, sizeof(len));
	l->len += sizeof(len);
	memcpy(l->p + l->len, buf, len);
	l->len += len;
	l->count++;
}

static void
log_free(struct evlog *l)
{
	free(l->p);
	memset(l, 0, sizeof(*l));
}

static int
log_eq(const struct evlog *a, const struct evlog *b)
{
	return a->count == b->count && a->len == b->len &&
	    (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

/* Checks what one call did and records the line it handed over, if any. */
static void
after_call(const struct frame *f, size_t used, size_t given, int event,
    struct evlog *l)
{
	size_t i;

	CHECK(used <= given);
	CHECK(given == 0 || used >= 1);
	CHECK(
	    event == FRAME_MORE || event == FRAME_LINE || event == FRAME_LONG);
	CHECK(f->len <= TEXT_MAX + 1);
	if (event == FRAME_MORE) {
		CHECK(used == given);
		return;
	}
	CHECK(f->len <= TEXT_MAX);
	CHECK(f->buf[f->len] == '\0');
	if (event == FRAME_LONG)
		CHECK(f->len == TEXT_MAX);
	for (i = 0; i < f->len; i++) {
		CHECK(f->buf[i] != '\n');
		CHECK((unsigned char)f->buf[i] != 0xff);
	}
	log_add(l, event, f->buf, f->len);
}

/*
 * Frames IN[0..N) in pieces of the sizes NEXT_PIECE gives, each piece
 * looped over like the worker does, until all of it is used.
 */
static void
frame_all(const char *in, size_t n, size_t (*next_piece)(void), struct evlog *l)
{
	struct frame f;
	size_t off = 0, end, used, calls = 0;
	int event;

	frame_init(&f);
	while (off < n) {
		end = off + next_piece();
		if (end > n || end <= off)
			end = n;
		do {
			event = -1;
			used = frame_feed(&f, in + off, end - off, &event);
			after_call(&f, used, end - off, event, l);
			off += used;
			/* every call uses a byte: no more calls than bytes */
			CHECK(++calls <= n);
		} while (off < end);
	}
	/* an empty piece changes nothing */
	used = frame_feed(&f, in, 0, &event);
	CHECK(used == 0 && event == FRAME_MORE);
}

static uint32_t rng_state;

static size_t
piece_whole(void)
{
	return SIZE_MAX;
}

static size_t
piece_one(void)
{
	return 1;
}

/* Mostly short pieces, sometimes one past a line's length. */
static size_t
piece_random(void)
{
	uint32_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	rng_state = x;
	switch (x & 3) {
	case 0:
		return 1 + (x >> 8) % 4;
	case 1:
		return 1 + (x >> 8) % 64;
	case 2:
		return TEXT_MAX - 2 + (x >> 8) % 5;
	default:
		return 1 + (x >> 8) % 2048;
	}
}

enum { M_DATA, M_IAC, M_OPT, M_SB, M_SB_IAC };

/*
 * The event for the data line LINE[0..LEN), ended by an LF or, when AT_LF
 * is 0, by the end of the input (then only called when it is too long).
 */
static void
model_line(const char *line, size_t len, int at_lf, struct evlog *l)
{
	if (at_lf && len > 0 && line[len - 1] == '\r')
		len--;
	if (len > TEXT_MAX)
		log_add(l, FRAME_LONG, line, TEXT_MAX);
	else
		log_add(l, FRAME_LINE, line, len);
}

/*
 * The lines of IN[0..N) read as a whole: first the telnet commands are
 * taken out (IAC x, IAC WILL/WONT/DO/DONT x, IAC SB ... IAC SE; IAC IAC
 * is dropped too), then the data is cut at each LF.  A line still open at
 * the end is reported only if it is known to be too long already, which
 * is when TEXT_MAX + 1 bytes are in and the last is not a CR that an LF
 * may follow.
 */
static void
model(const unsigned char *in, size_t n, struct evlog *l)
{
	char *data = malloc(n + 1);
	size_t i, d = 0, start = 0, len;
	int st = M_DATA;

	CHECK(data != NULL);
	for (i = 0; i < n; i++) {
		switch (st) {
		case M_DATA:
			if (in[i] == 0xff)
				st = M_IAC;
			else
				data[d++] = (char)in[i];
			break;
		case M_IAC:
			if (in[i] >= 251 && in[i] <= 254)
				st = M_OPT;
			else if (in[i] == 250)
				st = M_SB;
			else
				st = M_DATA;
			break;
		case M_OPT:
			st = M_DATA;
			break;
		case M_SB:
			if (in[i] == 0xff)
				st = M_SB_IAC;
			break;
		default:
			st = in[i] == 240 ? M_DATA : M_SB;
			break;
		}
	}
	for (i = 0; i < d; i++)
		if (data[i] == '\n') {
			model_line(data + start, i - start, 1, l);
			start = i + 1;
		}
	len = d - start;
	if (len > TEXT_MAX + 1 ||
	    (len == TEXT_MAX + 1 && data[start + TEXT_MAX] != '\r'))
		model_line(data + start, len, 0, l);
	free(data);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evlog whole = {0}, pieces = {0}, bytes = {0}, want = {0};
	const char *in;
	size_t n;

	if (size < 1)
		return 0;
	rng_state = 0x9e3779b9u ^ (uint32_t)data[0] * 0x01000193u;
	in = (const char *)data + 1;
	n = size - 1;

	frame_all(in, n, piece_whole, &whole);
	frame_all(in, n, piece_random, &pieces);
	frame_all(in, n, piece_one, &bytes);
	model(data + 1, n, &want);
	CHECK(log_eq(&whole, &pieces));
	CHECK(log_eq(&whole, &bytes));
	CHECK(log_eq(&whole, &want));

	log_free(&whole);
	log_free(&pieces);
	log_free(&bytes);
	log_free(&want);
	return 0;
}
