/*
 * test_frame.c - telnet filtering and line framing: line ends, partial
 * reads, the TEXT_MAX limit, unbounded input and IAC sequences.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../worker/worker.h"
#include "harness.h"

#define NEV 16

/* What one non-MORE call of frame_feed handed over. */
struct ev {
	int event;
	size_t len;
	char buf[TEXT_MAX + 2];
};

/* Checks the invariants that hold after every call. */
static void
check_state(const struct frame *f, int event)
{
	ck_assert_uint_le(f->len, TEXT_MAX + 1);
	if (event != FRAME_MORE) {
		ck_assert_uint_le(f->len, TEXT_MAX);
		ck_assert_int_eq(f->buf[f->len], '\0');
	}
}

static void
record(const struct frame *f, int event, struct ev *evs, size_t *nev)
{
	ck_assert_uint_lt(*nev, NEV);
	evs[*nev].event = event;
	evs[*nev].len = f->len;
	memcpy(evs[*nev].buf, f->buf, f->len + 1);
	(*nev)++;
}

/*
 * Feeds IN[0..N) in calls of at most CHUNK bytes, looping like the caller
 * does; records every event other than FRAME_MORE.  Returns their number.
 */
static size_t
feed(struct frame *f, const char *in, size_t n, size_t chunk, struct ev *evs)
{
	size_t off = 0, end, used, nev = 0;
	int event;

	while (off < n) {
		end = n - off < chunk ? n : off + chunk;
		while (off < end) {
			event = -1;
			used = frame_feed(f, in + off, end - off, &event);
			ck_assert_uint_ge(used, 1);
			ck_assert_uint_le(used, end - off);
			ck_assert(event == FRAME_MORE || event == FRAME_LINE ||
			    event == FRAME_LONG);
			/* MORE only when the input was used up */
			if (event == FRAME_MORE)
				ck_assert_uint_eq(used, end - off);
			check_state(f, event);
			if (event != FRAME_MORE)
				record(f, event, evs, &nev);
			off += used;
		}
	}
	return nev;
}

static struct frame fr;
static struct ev evs[NEV];

static void
setup(void)
{
	frame_init(&fr);
	memset(evs, 0, sizeof(evs));
}

#define FEED(s, chunk) feed(&fr, (s), sizeof(s) - 1, (chunk), evs)

static void
expect_line(const struct ev *e, const char *s, size_t n)
{
	ck_assert_int_eq(e->event, FRAME_LINE);
	ck_assert_uint_eq(e->len, n);
	ck_assert_mem_eq(e->buf, s, n);
	ck_assert_int_eq(e->buf[n], '\0');
}

#define EXPECT_LINE(e, s) expect_line((e), (s), sizeof(s) - 1)

static char *
filled(size_t n, char c)
{
	char *p = malloc(n + 8);

	ck_assert_ptr_nonnull(p);
	memset(p, c, n);
	return p;
}

/* ---- line ends ---- */

START_TEST(init_is_empty)
{
	memset(&fr, 0x5a, sizeof(fr));
	frame_init(&fr);
	ck_assert_uint_eq(fr.len, 0);
	ck_assert_int_eq(fr.discard, 0);
	ck_assert_int_eq(fr.ready, 0);
	ck_assert_int_eq(fr.telnet, 0);
}
END_TEST

START_TEST(lf_ends_a_line)
{
	int event;
	size_t used = frame_feed(&fr, "hello\n", 6, &event);

	ck_assert_uint_eq(used, 6);
	ck_assert_int_eq(event, FRAME_LINE);
	ck_assert_uint_eq(fr.len, 5);
	ck_assert_str_eq(fr.buf, "hello");
}
END_TEST

START_TEST(crlf_ends_a_line)
{
	int event;
	size_t used = frame_feed(&fr, "hello\r\n", 7, &event);

	ck_assert_uint_eq(used, 7);
	ck_assert_int_eq(event, FRAME_LINE);
	ck_assert_uint_eq(fr.len, 5);
	ck_assert_str_eq(fr.buf, "hello");
}
END_TEST

START_TEST(no_newline_is_more)
{
	int event = -1;
	size_t used = frame_feed(&fr, "hello", 5, &event);

	ck_assert_uint_eq(used, 5);
	ck_assert_int_eq(event, FRAME_MORE);
	used = frame_feed(&fr, "\n", 1, &event);
	ck_assert_uint_eq(used, 1);
	ck_assert_int_eq(event, FRAME_LINE);
	ck_assert_str_eq(fr.buf, "hello");
}
END_TEST

START_TEST(empty_input_is_more)
{
	int event = -1;

	ck_assert_uint_eq(frame_feed(&fr, "", 0, &event), 0);
	ck_assert_int_eq(event, FRAME_MORE);
}
END_TEST

START_TEST(split_byte_by_byte)
{
	size_t n = FEED("hello, world\r\n", 1);

	ck_assert_uint_eq(n, 1);
	EXPECT_LINE(&evs[0], "hello, world");
}
END_TEST

START_TEST(split_between_cr_and_lf)
{
	size_t n = FEED("abc\r", 64);

	ck_assert_uint_eq(n, 0);
	n = FEED("\n", 64);
	ck_assert_uint_eq(n, 1);
	EXPECT_LINE(&evs[0], "abc");
}
END_TEST

START_TEST(split_in_odd_chunks)
{
	static const char in[] = "first line\r\nsecond\nthird one\r\n";
	size_t chunk, n;

	for (chunk = 1; chunk < sizeof(in); chunk++) {
		frame_init(&fr);
		n = feed(&fr, in, sizeof(in) - 1, chunk, evs);
		ck_assert_uint_eq(n, 3);
		EXPECT_LINE(&evs[0], "first line");
		EXPECT_LINE(&evs[1], "second");
		EXPECT_LINE(&evs[2], "third one");
	}
}
END_TEST

START_TEST(returns_after_each_line)
{
	static const char in[] = "one\ntwo\r\nthree\n";
	const char *p = in;
	size_t left = sizeof(in) - 1, used;
	int event;

	used = frame_feed(&fr, p, left, &event);
	ck_assert_uint_eq(used, 4);
	ck_assert_int_eq(event, FRAME_LINE);
	ck_assert_str_eq(fr.buf, "one");
	p += used, left -= used;

	used = frame_feed(&fr, p, left, &event);
	ck_assert_uint_eq(used, 5);
	ck_assert_int_eq(event, FRAME_LINE);
	ck_assert_str_eq(fr.buf, "two");
	p += used, left -= used;

	used = frame_feed(&fr, p, left, &event);
	ck_assert_uint_eq(used, 6);
	ck_assert_int_eq(event, FRAME_LINE);
	ck_assert_str_eq(fr.buf, "three");
	ck_assert_uint_eq(left, used);
}
END_TEST

START_TEST(several_lines_one_buffer)
{
	size_t n = FEED("a\nbb\r\nccc\ndddd", 4096);

	ck_assert_uint_eq(n, 3);
	EXPECT_LINE(&evs[0], "a");
	EXPECT_LINE(&evs[1], "bb");
	EXPECT_LINE(&evs[2], "ccc");
	/* the unfinished one is kept for later */
	n = FEED("\n", 1);
	ck_assert_uint_eq(n, 1);
	EXPECT_LINE(&evs[0], "dddd");
}
END_TEST

START_TEST(empty_lines)
{
	size_t n = FEED("\n\r\n\nx\n", 4096), i;

	ck_assert_uint_eq(n, 4);
	for (i = 0; i < 3; i++)
		EXPECT_LINE(&evs[i], "");
	EXPECT_LINE(&evs[3], "x");
}
END_TEST

START_TEST(next_line_does_not_keep_old_text)
{
	size_t n = FEED("a long first line\nab\n", 4096);

	ck_assert_uint_eq(n, 2);
	EXPECT_LINE(&evs[1], "ab");
}
END_TEST

START_TEST(bare_cr_is_data)
{
	size_t n = FEED("a\rb\n", 4096);

	ck_assert_uint_eq(n, 1);
	EXPECT_LINE(&evs[0], "a\rb");
}
END_TEST

START_TEST(only_the_last_cr_is_dropped)
{
	size_t n = FEED("a\r\r\n\r\r\n", 4096);

	ck_assert_uint_eq(n, 2);
	EXPECT_LINE(&evs[0], "a\r");
	EXPECT_LINE(&evs[1], "\r");
}
END_TEST

START_TEST(nul_bytes_are_data)
{
	static const char want[] = "a\0b\0\0c";
	size_t n = FEED("a\0b\0\0c\r\n", 4096);

	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(evs[0].event, FRAME_LINE);
	ck_assert_uint_eq(evs[0].len, 6);
	ck_assert_mem_eq(evs[0].buf, want, 6);
}
END_TEST

START_TEST(only_nul_bytes)
{
	size_t n = FEED("\0\0\0\n", 1);

	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(evs[0].event, FRAME_LINE);
	ck_assert_uint_eq(evs[0].len, 3);
}
END_TEST

START_TEST(init_forgets_a_partial_line)
{
	ck_assert_uint_eq(FEED("junk", 4096), 0);
	frame_init(&fr);
	ck_assert_uint_eq(FEED("ok\n", 4096), 1);
	EXPECT_LINE(&evs[0], "ok");
}
END_TEST

/* ---- the TEXT_MAX limit ---- */

START_TEST(exactly_text_max_lf)
{
	char *in = filled(TEXT_MAX + 1, 'a');
	size_t n;

	in[TEXT_MAX - 1] = 'z';
	in[TEXT_MAX] = '\n';
	n = feed(&fr, in, TEXT_MAX + 1, 4096, evs);
	ck_assert_uint_eq(n, 1);
	expect_line(&evs[0], in, TEXT_MAX);
	free(in);
}
END_TEST

START_TEST(exactly_text_max_crlf)
{
	char *in = filled(TEXT_MAX + 2, 'b');
	size_t n;

	in[TEXT_MAX - 1] = 'z';
	in[TEXT_MAX] = '\r';
	in[TEXT_MAX + 1] = '\n';
	n = feed(&fr, in, TEXT_MAX + 2, 4096, evs);
	ck_assert_uint_eq(n, 1);
	expect_line(&evs[0], in, TEXT_MAX);
	free(in);
}
END_TEST

START_TEST(exactly_text_max_crlf_byte_by_byte)
{
	char *in = filled(TEXT_MAX + 2, 'c');
	size_t n;

	in[TEXT_MAX] = '\r';
	in[TEXT_MAX + 1] = '\n';
	n = feed(&fr, in, TEXT_MAX + 2, 1, evs);
	ck_assert_uint_eq(n, 1);
	expect_line(&evs[0], in, TEXT_MAX);
	free(in);
}
END_TEST

START_TEST(exactly_text_max_then_next_line)
{
	char *in = filled(TEXT_MAX + 8, 'd');
	size_t n;

	in[TEXT_MAX] = '\r';
	in[TEXT_MAX + 1] = '\n';
	memcpy(in + TEXT_MAX + 2, "next\n", 5);
	n = feed(&fr, in, TEXT_MAX + 7, 4096, evs);
	ck_assert_uint_eq(n, 2);
	expect_line(&evs[0], in, TEXT_MAX);
	EXPECT_LINE(&evs[1], "next");
	free(in);
}
END_TEST

START_TEST(text_max_plus_one_is_long)
{
	char *in = filled(TEXT_MAX + 8, 'e');
	size_t i, n;

	for (i = 0; i < TEXT_MAX + 1; i++)
		in[i] = (char)('a' + i % 26);
	in[TEXT_MAX + 1] = '\n';
	memcpy(in + TEXT_MAX + 2, "next\n", 5);
	n = feed(&fr, in, TEXT_MAX + 7, 4096, evs);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(evs[0].event, FRAME_LONG);
	ck_assert_uint_eq(evs[0].len, TEXT_MAX);
	ck_assert_mem_eq(evs[0].buf, in, TEXT_MAX);
	ck_assert_int_eq(evs[0].buf[TEXT_MAX], '\0');
	/* the LF that ends the dropped part makes no empty line */
	EXPECT_LINE(&evs[1], "next");
	free(in);
}
END_TEST

START_TEST(text_max_plus_one_byte_by_byte)
{
	char *in = filled(TEXT_MAX + 8, 'f');
	size_t n;

	in[TEXT_MAX + 1] = '\n';
	memcpy(in + TEXT_MAX + 2, "next\n", 5);
	n = feed(&fr, in, TEXT_MAX + 7, 1, evs);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(evs[0].event, FRAME_LONG);
	ck_assert_uint_eq(evs[0].len, TEXT_MAX);
	EXPECT_LINE(&evs[1], "next");
	free(in);
}
END_TEST

START_TEST(long_event_returns_at_the_cut)
{
	char *in = filled(TEXT_MAX + 100, 'g');
	size_t used;
	int event;

	used = frame_feed(&fr, in, TEXT_MAX + 100, &event);
	ck_assert_int_eq(event, FRAME_LONG);
	ck_assert_uint_eq(used, TEXT_MAX + 1);
	ck_assert_uint_eq(fr.len, TEXT_MAX);
	/* the rest is eaten without events */
	used = frame_feed(&fr, in, 99, &event);
	ck_assert_uint_eq(used, 99);
	ck_assert_int_eq(event, FRAME_MORE);
	free(in);
}
END_TEST

START_TEST(bare_cr_past_text_max_is_long)
{
	char *in = filled(TEXT_MAX + 8, 'h');
	size_t n;

	/* TEXT_MAX bytes, a CR that is data, more data: too long */
	in[TEXT_MAX] = '\r';
	memcpy(in + TEXT_MAX + 1, "x\nok\n", 5);
	n = feed(&fr, in, TEXT_MAX + 6, 4096, evs);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(evs[0].event, FRAME_LONG);
	ck_assert_uint_eq(evs[0].len, TEXT_MAX);
	ck_assert_mem_eq(evs[0].buf, in, TEXT_MAX);
	EXPECT_LINE(&evs[1], "ok");
	free(in);
}
END_TEST

START_TEST(text_max_plus_crlf_after_data_cr_is_long)
{
	char *in = filled(TEXT_MAX + 8, 'i');
	size_t n;

	/* TEXT_MAX bytes, a CR that is data, then CR LF: 511 bytes */
	memcpy(in + TEXT_MAX, "\r\r\nok\n", 6);
	n = feed(&fr, in, TEXT_MAX + 6, 4096, evs);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(evs[0].event, FRAME_LONG);
	EXPECT_LINE(&evs[1], "ok");
	free(in);
}
END_TEST

START_TEST(twice_text_max_is_one_long_event)
{
	char *in = filled(2 * TEXT_MAX + 40, 'j');
	size_t n;

	memcpy(in + 2 * TEXT_MAX + 30, "\r\nlast\r\n", 8);
	n = feed(&fr, in, 2 * TEXT_MAX + 38, 4096, evs);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(evs[0].event, FRAME_LONG);
	EXPECT_LINE(&evs[1], "last");
	free(in);
}
END_TEST

START_TEST(long_line_split_then_lf_alone)
{
	char *in = filled(TEXT_MAX + 1, 'k');
	size_t n;

	n = feed(&fr, in, TEXT_MAX + 1, 4096, evs);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(evs[0].event, FRAME_LONG);
	n = FEED("\n", 1);
	ck_assert_uint_eq(n, 0);
	n = FEED("\n", 1);
	ck_assert_uint_eq(n, 1);
	EXPECT_LINE(&evs[0], "");
	free(in);
}
END_TEST

/* Feeds SIZE bytes without LF in CHUNK-byte calls, then a line. */
static void
huge(size_t size, size_t chunk)
{
	char *in = filled(chunk, 'x');
	size_t off, n, nev = 0, m, longs = 0, k;

	for (off = 0; off < size; off += n) {
		n = size - off < chunk ? size - off : chunk;
		m = feed(&fr, in, n, n, evs);
		for (k = 0; k < m; k++) {
			ck_assert_int_eq(evs[k].event, FRAME_LONG);
			ck_assert_uint_eq(evs[k].len, TEXT_MAX);
			longs++;
		}
		nev += m;
		/* memory stays bounded: nothing grows past the buffer */
		ck_assert_uint_le(fr.len, TEXT_MAX + 1);
	}
	ck_assert_uint_eq(nev, 1);
	ck_assert_uint_eq(longs, 1);
	m = FEED("\r\nafter\r\n", 4096);
	ck_assert_uint_eq(m, 1);
	EXPECT_LINE(&evs[0], "after");
	free(in);
}

START_TEST(hundred_kb_without_newline)
{
	huge(100 * 1024, 4096);
}
END_TEST

START_TEST(one_mb_without_newline)
{
	huge(1024 * 1024, 65536);
}
END_TEST

START_TEST(one_mb_in_odd_chunks)
{
	huge(1024 * 1024, 777);
}
END_TEST

START_TEST(state_size_is_fixed)
{
	ck_assert_uint_le(sizeof(struct frame), TEXT_MAX + 64);
}
END_TEST

/* ---- telnet ---- */

START_TEST(iac_will_wont_do_dont_removed)
{
	static const unsigned char verbs[] = {251, 252, 253, 254};
	char in[16];
	size_t i, n;

	for (i = 0; i < sizeof(verbs); i++) {
		frame_init(&fr);
		memcpy(in,
		    "ab\xff\x00\x01"
		    "cd\n",
		    8);
		in[3] = (char)verbs[i];
		n = feed(&fr, in, 8, 4096, evs);
		ck_assert_uint_eq(n, 1);
		EXPECT_LINE(&evs[0], "abcd");
	}
}
END_TEST

START_TEST(iac_option_lf_is_not_a_line_end)
{
	static const unsigned char verbs[] = {251, 252, 253, 254};
	char in[16];
	size_t i, n;

	for (i = 0; i < sizeof(verbs); i++) {
		frame_init(&fr);
		memcpy(in,
		    "ab\xff\x00\n"
		    "cd\n",
		    8);
		in[3] = (char)verbs[i];
		n = feed(&fr, in, 8, 4096, evs);
		ck_assert_uint_eq(n, 1);
		EXPECT_LINE(&evs[0], "abcd");
	}
}
END_TEST

START_TEST(iac_option_cr_is_not_data)
{
	size_t n = FEED("ab\xff\xfb\r"
			"cd\xff\xfd\r\n",
	    4096);

	ck_assert_uint_eq(n, 1);
	EXPECT_LINE(&evs[0], "abcd");
}
END_TEST

START_TEST(iac_option_ff_is_the_option)
{
	/* IAC DO 255: the option byte is not a new IAC */
	size_t n = FEED("a\xff\xfd\xff"
			"b\n",
	    4096);

	ck_assert_uint_eq(n, 1);
	EXPECT_LINE(&evs[0], "ab");
}
END_TEST

START_TEST(iac_sb_removed_with_lf_inside)
{
	size_t n = FEED("a\xff\xfa\x18\x00xterm\n\r\xff\xf0"
			"b\n",
	    4096);

	ck_assert_uint_eq(n, 1);
	EXPECT_LINE(&evs[0], "ab");
}
END_TEST

START_TEST(iac_sb_with_escaped_iac)
{
	/* IAC IAC inside SB is a data 0xff, not the end */
	size_t n = FEED("\xff\xfa\x18\xff\xff\n\xff\xf0ok\n", 4096);

	ck_assert_uint_eq(n, 1);
	EXPECT_LINE(&evs[0], "ok");
}
END_TEST

START_TEST(iac_sb_other_byte_after_iac_stays_inside)
{
	/* IAC x inside SB (x not SE) does not end it */
	size_t n = FEED("\xff\xfa\x01\xff\x01\nzz\xff\xf0ok\n", 4096);

	ck_assert_uint_eq(n, 1);
	EXPECT_LINE(&evs[0], "ok");
}
END_TEST

START_TEST(iac_iac_dropped)
{
	size_t n = FEED("a\xff\xff"
			"b\n",
	    4096);

	ck_assert_uint_eq(n, 1);
	EXPECT_LINE(&evs[0], "ab");
}
END_TEST

START_TEST(iac_other_command_two_bytes)
{
	/* NOP, DM, BRK, IP, AO, AYT, EC, EL, GA, and SE outside SB */
	static const unsigned char cmds[] = {
	    241,
	    242,
	    243,
	    244,
	    245,
	    246,
	    247,
	    248,
	    249,
	    240,
	};
	char in[8];
	size_t i, n;

	for (i = 0; i < sizeof(cmds); i++) {
		frame_init(&fr);
		memcpy(in,
		    "a\xff\x00"
		    "b\n",
		    5);
		in[2] = (char)cmds[i];
		n = feed(&fr, in, 5, 4096, evs);
		ck_assert_uint_eq(n, 1);
		EXPECT_LINE(&evs[0], "ab");
	}
}
END_TEST

START_TEST(iac_then_plain_byte_drops_both)
{
	size_t n = FEED("a\xffxb\n", 4096);

	ck_assert_uint_eq(n, 1);
	EXPECT_LINE(&evs[0], "ab");
}
END_TEST

START_TEST(iac_lf_drops_both)
{
	/* IAC LF: a two-byte sequence, so the LF is not a line end */
	size_t n = FEED("a\xff\nb\n", 4096);

	ck_assert_uint_eq(n, 1);
	EXPECT_LINE(&evs[0], "ab");
}
END_TEST

START_TEST(iac_split_across_calls)
{
	static const char in[] = "x\xff\xfd\ny\xff\xfa\x1f\n\xff\xff\xff\xf0"
				 "z\xff\xff"
				 "w\xff\xf1"
				 "v\r\n";
	size_t chunk, n;

	for (chunk = 1; chunk < sizeof(in); chunk++) {
		frame_init(&fr);
		n = feed(&fr, in, sizeof(in) - 1, chunk, evs);
		ck_assert_uint_eq(n, 1);
		EXPECT_LINE(&evs[0], "xyzwv");
	}
}
END_TEST

START_TEST(iac_split_piece_by_piece)
{
	ck_assert_uint_eq(FEED("a\xff", 4096), 0);
	ck_assert_uint_eq(FEED("\xfb", 4096), 0);
	ck_assert_uint_eq(FEED("\n", 4096), 0);
	ck_assert_uint_eq(FEED("b\xff\xfa", 4096), 0);
	ck_assert_uint_eq(FEED("\n\xff", 4096), 0);
	ck_assert_uint_eq(FEED("\xf0", 4096), 0);
	ck_assert_uint_eq(FEED("c\n", 4096), 1);
	EXPECT_LINE(&evs[0], "abc");
}
END_TEST

START_TEST(iac_does_not_count_toward_the_limit)
{
	char *in = malloc(TEXT_MAX * 4 + 8);
	size_t i, o = 0, n;

	ck_assert_ptr_nonnull(in);
	for (i = 0; i < TEXT_MAX; i++) {
		in[o++] = 'm';
		if (i % 2 == 0) {
			in[o++] = (char)0xff;
			in[o++] = (char)0xfd;
			in[o++] = '\n';
		}
	}
	in[o++] = '\n';
	n = feed(&fr, in, o, 4096, evs);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(evs[0].event, FRAME_LINE);
	ck_assert_uint_eq(evs[0].len, TEXT_MAX);
	free(in);
}
END_TEST

START_TEST(iac_in_dropped_part_of_long_line)
{
	char *in = filled(TEXT_MAX + 64, 'n');
	size_t n;

	/* an IAC DO LF in the dropped part must not end the line */
	memcpy(in + TEXT_MAX + 10, "\xff\xfd\nmore\n", 8);
	memcpy(in + TEXT_MAX + 18, "ok\n", 3);
	n = feed(&fr, in, TEXT_MAX + 21, 4096, evs);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(evs[0].event, FRAME_LONG);
	EXPECT_LINE(&evs[1], "ok");
	free(in);
}
END_TEST

START_TEST(iac_sb_spanning_lines_of_input)
{
	/* an unterminated SB swallows everything, LFs too */
	ck_assert_uint_eq(FEED("\xff\xfaline one\nline two\n", 4096), 0);
	ck_assert_uint_eq(FEED("\xff\xf0"
			       "back\n",
			      4096),
	    1);
	EXPECT_LINE(&evs[0], "back");
}
END_TEST

static Suite *
frame_suite(void)
{
	Suite *su = suite_create("frame");
	TCase *tc;

	tc = tcase_create("lines");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, init_is_empty);
	tcase_add_test(tc, lf_ends_a_line);
	tcase_add_test(tc, crlf_ends_a_line);
	tcase_add_test(tc, no_newline_is_more);
	tcase_add_test(tc, empty_input_is_more);
	tcase_add_test(tc, split_byte_by_byte);
	tcase_add_test(tc, split_between_cr_and_lf);
	tcase_add_test(tc, split_in_odd_chunks);
	tcase_add_test(tc, returns_after_each_line);
	tcase_add_test(tc, several_lines_one_buffer);
	tcase_add_test(tc, empty_lines);
	tcase_add_test(tc, next_line_does_not_keep_old_text);
	tcase_add_test(tc, bare_cr_is_data);
	tcase_add_test(tc, only_the_last_cr_is_dropped);
	tcase_add_test(tc, nul_bytes_are_data);
	tcase_add_test(tc, only_nul_bytes);
	tcase_add_test(tc, init_forgets_a_partial_line);
	suite_add_tcase(su, tc);

	tc = tcase_create("limit");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, exactly_text_max_lf);
	tcase_add_test(tc, exactly_text_max_crlf);
	tcase_add_test(tc, exactly_text_max_crlf_byte_by_byte);
	tcase_add_test(tc, exactly_text_max_then_next_line);
	tcase_add_test(tc, text_max_plus_one_is_long);
	tcase_add_test(tc, text_max_plus_one_byte_by_byte);
	tcase_add_test(tc, long_event_returns_at_the_cut);
	tcase_add_test(tc, bare_cr_past_text_max_is_long);
	tcase_add_test(tc, text_max_plus_crlf_after_data_cr_is_long);
	tcase_add_test(tc, twice_text_max_is_one_long_event);
	tcase_add_test(tc, long_line_split_then_lf_alone);
	tcase_add_test(tc, hundred_kb_without_newline);
	tcase_add_test(tc, one_mb_without_newline);
	tcase_add_test(tc, one_mb_in_odd_chunks);
	tcase_add_test(tc, state_size_is_fixed);
	suite_add_tcase(su, tc);

	tc = tcase_create("telnet");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, iac_will_wont_do_dont_removed);
	tcase_add_test(tc, iac_option_lf_is_not_a_line_end);
	tcase_add_test(tc, iac_option_cr_is_not_data);
	tcase_add_test(tc, iac_option_ff_is_the_option);
	tcase_add_test(tc, iac_sb_removed_with_lf_inside);
	tcase_add_test(tc, iac_sb_with_escaped_iac);
	tcase_add_test(tc, iac_sb_other_byte_after_iac_stays_inside);
	tcase_add_test(tc, iac_iac_dropped);
	tcase_add_test(tc, iac_other_command_two_bytes);
	tcase_add_test(tc, iac_then_plain_byte_drops_both);
	tcase_add_test(tc, iac_lf_drops_both);
	tcase_add_test(tc, iac_split_across_calls);
	tcase_add_test(tc, iac_split_piece_by_piece);
	tcase_add_test(tc, iac_does_not_count_toward_the_limit);
	tcase_add_test(tc, iac_in_dropped_part_of_long_line);
	tcase_add_test(tc, iac_sb_spanning_lines_of_input);
	suite_add_tcase(su, tc);
	return su;
}

int
main(void)
{
	return harness_run(frame_suite());
}
