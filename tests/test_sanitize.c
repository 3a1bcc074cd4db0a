/*
 * test_sanitize.c - what reaches other people's terminals: valid UTF-8
 * only, no controls, no escape sequences, no invisible reordering; and
 * the nickname and room name rules.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../worker/worker.h"
#include "harness.h"

#define FFFD "\xef\xbf\xbd"
#define OUTMAX 2048

/*
 * Whether S[0..N) is well-formed UTF-8, after the table of well-formed
 * byte sequences in the Unicode standard (3.9, table 3-7).
 */
static int
utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0, k, len;
	unsigned char lo, hi;

	while (i < n) {
		if (s[i] <= 0x7f) {
			i++;
			continue;
		}
		lo = 0x80, hi = 0xbf;
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			len = 2;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			len = 3;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			len = 4;
		else
			return 0;
		if (s[i] == 0xe0)
			lo = 0xa0;
		else if (s[i] == 0xed)
			hi = 0x9f;
		else if (s[i] == 0xf0)
			lo = 0x90;
		else if (s[i] == 0xf4)
			hi = 0x8f;
		if (n - i < len || s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (k = 2; k < len; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return 0;
		i += len;
	}
	return 1;
}

/* Encodes code point CP as UTF-8 into P; returns the length. */
static size_t
utf8_put(unsigned long cp, char *p)
{
	if (cp < 0x80) {
		p[0] = (char)cp;
		return 1;
	} else if (cp < 0x800) {
		p[0] = (char)(0xc0 | cp >> 6);
		p[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	} else if (cp < 0x10000) {
		p[0] = (char)(0xe0 | cp >> 12);
		p[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		p[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	p[0] = (char)(0xf0 | cp >> 18);
	p[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	p[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	p[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A fixed-seed generator, so any failure is reproducible. */
static uint32_t rng_state;

static uint32_t
rng(void)
{
	uint32_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return rng_state = x;
}

static void
hex(const char *s, size_t n, char *buf, size_t size)
{
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < n && o + 4 < size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%02x ",
		    (unsigned char)s[i]);
}

/*
 * Copies IN[0..N) to the very end of a page followed by one that cannot
 * be read, so a read past N crashes the test instead of passing unseen.
 */
static const char *
guarded(const char *in, size_t n)
{
	static char *page;
	static size_t psize;

	if (page == NULL) {
		psize = (size_t)sysconf(_SC_PAGESIZE);
		page = mmap(NULL, 2 * psize, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ck_assert_ptr_ne(page, MAP_FAILED);
		ck_assert_int_eq(mprotect(page + psize, psize, PROT_NONE), 0);
	}
	ck_assert_uint_le(n, psize);
	memcpy(page + psize - n, in, n);
	return page + psize - n;
}

/* Sanitises IN[0..N) and checks the output is WANT[0..WN). */
static void
expect(const char *in, size_t n, const char *want, size_t wn, int line)
{
	char out[OUTMAX], a[512], b[512], c[512];
	size_t len;

	memset(out, 0x5a, sizeof(out));
	len = sanitize(guarded(in, n), n, out, sizeof(out));
	if (len != wn || memcmp(out, want, wn) != 0) {
		hex(in, n, a, sizeof(a));
		hex(out, len < OUTMAX ? len : 0, b, sizeof(b));
		hex(want, wn, c, sizeof(c));
		ck_abort_msg("line %d: in [%s] gave [%s], want [%s]", line, a,
		    b, c);
	}
	ck_assert_int_eq(out[len], '\0');
}

#define EXPECT(in, want)                                                       \
	expect((in), sizeof(in) - 1, (want), sizeof(want) - 1, __LINE__)
#define SAME(in) EXPECT(in, in)

/* ---- what passes unchanged ---- */

START_TEST(plain_ascii)
{
	SAME("hello, world! 1+1=2 ~`@#$%^&*()[]{}<>?/\\|'\"");
}
END_TEST

START_TEST(empty_input)
{
	char out[8];

	memset(out, 0x5a, sizeof(out));
	ck_assert_uint_eq(sanitize("", 0, out, sizeof(out)), 0);
	ck_assert_int_eq(out[0], '\0');
}
END_TEST

START_TEST(all_printable_ascii)
{
	char in[128];
	size_t n = 0;
	int c;

	for (c = 0x20; c < 0x7f; c++)
		in[n++] = (char)c;
	expect(in, n, in, n, __LINE__);
}
END_TEST

START_TEST(two_byte_utf8)
{
	SAME("caf\xc3\xa9 na\xc3\xafve \xc3\xb1 \xd0\x96");
}
END_TEST

START_TEST(three_byte_utf8)
{
	SAME("\xe4\xb8\xad\xe6\x96\x87 \xe2\x82\xac");
}
END_TEST

START_TEST(four_byte_utf8)
{
	SAME("\xf0\x9f\x98\x80 \xf0\x9f\x8e\x89");
}
END_TEST

START_TEST(zwj_emoji_sequence_kept)
{
	/* man ZWJ woman ZWJ girl: the joiner is part of the emoji */
	SAME("\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d"
	     "\xf0\x9f\x91\xa7");
}
END_TEST

START_TEST(boundary_code_points_kept)
{
	SAME("\xc2\xa0");	  /* U+00A0, just past C1 */
	SAME("\xed\x9f\xbf");	  /* U+D7FF, before surrogates */
	SAME("\xee\x80\x80");	  /* U+E000, after them */
	SAME("\xef\xbf\xbd");	  /* U+FFFD itself */
	SAME("\xf4\x8f\xbf\xbf"); /* U+10FFFF, the last */
	SAME("\xe2\x80\x90");	  /* U+2010, after the ZW marks */
	SAME("\xe2\x80\xaf");	  /* U+202F, after the overrides */
	SAME("\xe2\x81\xb0");	  /* U+2070, after the isolates */
}
END_TEST

START_TEST(tab_kept)
{
	SAME("a\tb\t\tc");
}
END_TEST

/* ---- controls ---- */

START_TEST(c0_controls_removed)
{
	char in[4];
	int c;

	for (c = 0; c < 0x20; c++) {
		if (c == '\t' || c == 0x1b)
			continue;
		in[0] = 'a', in[1] = (char)c, in[2] = 'b';
		expect(in, 3, "ab", 2, c);
	}
}
END_TEST

START_TEST(nul_removed)
{
	EXPECT("a\0b\0", "ab");
}
END_TEST

START_TEST(cr_lf_bel_bs_removed)
{
	EXPECT("one\rtwo\nthree\x07\x08\x08", "onetwothree");
}
END_TEST

START_TEST(del_removed)
{
	EXPECT("a\x7f"
	       "b\x7f",
	    "ab");
}
END_TEST

START_TEST(c1_controls_removed)
{
	char in[4];
	unsigned c;

	for (c = 0x80; c <= 0x9f; c++) {
		ck_assert_uint_eq(utf8_put(c, in + 1), 2);
		in[0] = 'a', in[3] = 'b';
		expect(in, 4, "ab", 2, (int)c);
	}
}
END_TEST

START_TEST(raw_csi_byte_is_replaced)
{
	EXPECT("a\x9b"
	       "31mb",
	    "a" FFFD "31mb");
	EXPECT("\x9b", FFFD);
}
END_TEST

/* ---- escape sequences ---- */

START_TEST(csi_colour_removed)
{
	EXPECT("\x1b[31mred\x1b[0m", "red");
	EXPECT("a\x1b[1;38;5;196mb", "ab");
}
END_TEST

START_TEST(csi_private_and_intermediates_removed)
{
	EXPECT("a\x1b[?25lb", "ab");  /* hide the cursor */
	EXPECT("a\x1b[2 qb", "ab");   /* cursor style, SP q */
	EXPECT("a\x1b[1;2!pb", "ab"); /* intermediate '!' */
	EXPECT("a\x1b[>0;1\"pb", "ab");
	EXPECT("a\x1b[2J\x1b[Hb", "ab"); /* clear, home */
}
END_TEST

START_TEST(csi_unterminated_at_end)
{
	EXPECT("a\x1b[12;3", "a");
	EXPECT("a\x1b[", "a");
}
END_TEST

START_TEST(csi_cut_by_control_or_utf8)
{
	/* what cannot be in a CSI ends it; the rest is judged alone */
	EXPECT("a\x1b[12\n\x1b[3\xc3\xa9", "a\xc3\xa9");
}
END_TEST

START_TEST(osc_title_bel_removed)
{
	EXPECT("a\x1b]0;evil title\x07"
	       "b",
	    "ab");
	EXPECT("\x1b]2;x\x07", "");
}
END_TEST

START_TEST(osc_52_clipboard_removed)
{
	EXPECT("a\x1b]52;c;cm0gLXJmIH4K\x1b\\b", "ab");
}
END_TEST

START_TEST(osc_8_hyperlink_removed)
{
	EXPECT("\x1b]8;;http://evil/\x1b\\click\x1b]8;;\x1b\\", "click");
}
END_TEST

START_TEST(osc_unterminated_removed)
{
	EXPECT("a\x1b]0;title with no end", "a");
}
END_TEST

START_TEST(osc_ended_by_lone_esc_at_end)
{
	EXPECT("a\x1b]0;title\x1b", "a");
	EXPECT("a\x1bPq\x1b", "a");
}
END_TEST

START_TEST(osc_with_utf8_inside_removed)
{
	EXPECT("a\x1b]0;t\xc3\xa9tle\x07"
	       "b",
	    "ab");
}
END_TEST

START_TEST(dcs_removed)
{
	EXPECT("a\x1bPq#0;2;0;0;0#0!10~\x1b\\b", "ab");
	EXPECT("a\x1bP$q\"p\x1b\\b", "ab");
}
END_TEST

START_TEST(sos_pm_apc_removed)
{
	EXPECT("a\x1bXsos\x1b\\b", "ab");
	EXPECT("a\x1b^pm\x07"
	       "b",
	    "ab");
	EXPECT("a\x1b_apc\x1b\\b", "ab");
}
END_TEST

START_TEST(two_byte_escapes_removed)
{
	EXPECT("a\x1b"
	       "cb",
	    "ab"); /* full reset */
	EXPECT("a\x1b"
	       "7\x1b"
	       "8b",
	    "ab");		      /* save, restore cursor */
	EXPECT("a\x1bMb", "ab");      /* reverse index */
	EXPECT("a\x1b=\x1b>b", "ab"); /* keypad modes */
}
END_TEST

START_TEST(lone_esc_at_end)
{
	EXPECT("abc\x1b", "abc");
	EXPECT("\x1b", "");
}
END_TEST

START_TEST(esc_esc)
{
	EXPECT("a\x1b\x1b[31mb", "ab");
}
END_TEST

START_TEST(esc_before_utf8_takes_only_itself)
{
	EXPECT("\x1b\xc3\xa9", "\xc3\xa9");
}
END_TEST

START_TEST(esc_before_control)
{
	EXPECT("a\x1b\nb", "ab");
}
END_TEST

/* ---- invalid UTF-8 ---- */

START_TEST(overlong_two_bytes)
{
	EXPECT("\xc0\xaf", FFFD FFFD); /* '/' */
	EXPECT("\xc0\x80", FFFD FFFD); /* NUL */
	EXPECT("\xc1\xbf", FFFD FFFD);
}
END_TEST

START_TEST(overlong_three_bytes)
{
	EXPECT("\xe0\x80\xaf", FFFD FFFD FFFD);
	EXPECT("\xe0\x9f\xbf", FFFD FFFD FFFD); /* U+07FF, overlong */
}
END_TEST

START_TEST(overlong_four_bytes)
{
	EXPECT("\xf0\x80\x80\xaf", FFFD FFFD FFFD FFFD);
	EXPECT("\xf0\x8f\xbf\xbf", FFFD FFFD FFFD FFFD);
}
END_TEST

START_TEST(overlong_c1_is_not_smuggled)
{
	/* U+009B as an overlong three-byte form */
	EXPECT("a\xe0\x82\x9b"
	       "b",
	    "a" FFFD FFFD FFFD "b");
}
END_TEST

START_TEST(surrogates_invalid)
{
	EXPECT("\xed\xa0\x80", FFFD FFFD FFFD); /* U+D800 */
	EXPECT("\xed\xbf\xbf", FFFD FFFD FFFD); /* U+DFFF */
	EXPECT("\xed\xa0\xbd\xed\xb8\x80",	/* CESU pair */
	    FFFD FFFD FFFD FFFD FFFD FFFD);
}
END_TEST

START_TEST(past_10ffff_invalid)
{
	EXPECT("\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD);
	EXPECT("\xf7\xbf\xbf\xbf", FFFD FFFD FFFD FFFD);
}
END_TEST

START_TEST(f5_to_ff_invalid)
{
	char in[4];
	unsigned c;

	for (c = 0xf5; c <= 0xff; c++) {
		in[0] = 'a', in[1] = (char)c, in[2] = 'b';
		expect(in, 3, "a" FFFD "b", 5, (int)c);
	}
}
END_TEST

START_TEST(truncated_at_end)
{
	EXPECT("a\xc3", "a" FFFD);
	EXPECT("a\xe4\xb8", "a" FFFD FFFD);
	EXPECT("a\xf0\x9f\x98", "a" FFFD FFFD FFFD);
}
END_TEST

START_TEST(truncated_before_ascii)
{
	EXPECT("\xe4\xb8x", FFFD FFFD "x");
	EXPECT("\xf0\x9f"
	       "a\xc3\xa9",
	    FFFD FFFD "a\xc3\xa9");
}
END_TEST

START_TEST(truncated_before_esc)
{
	EXPECT("\xe4\x1b[31m", FFFD);
}
END_TEST

START_TEST(lone_continuation_bytes)
{
	EXPECT("\x80", FFFD);
	EXPECT("\xbf", FFFD);
	EXPECT("a\x80\x80"
	       "b",
	    "a" FFFD FFFD "b");
	EXPECT("\xc3\xa9\xa9", "\xc3\xa9" FFFD);
}
END_TEST

START_TEST(length_is_respected)
{
	/* bytes past N are not part of the input, even if they fit */
	expect("\xe4\xb8\xad", 2, FFFD FFFD, 6, __LINE__);
	expect("\xc3\xa9", 1, FFFD, 3, __LINE__);
	expect("ab\x1b"
	       "c",
	    3, "ab", 2, __LINE__);
	expect("a\x1b]0;x\x07"
	       "b",
	    6, "a", 1, __LINE__);
	expect("a\0b", 1, "a", 1, __LINE__);
}
END_TEST

START_TEST(every_single_high_byte_alone)
{
	char in[1];
	unsigned c;

	for (c = 0x80; c <= 0xff; c++) {
		in[0] = (char)c;
		expect(in, 1, FFFD, 3, (int)c);
	}
}
END_TEST

/* ---- invisible characters ---- */

START_TEST(bidi_override_removed)
{
	EXPECT("a\xe2\x80\xae"
	       "txt.exe",
	    "atxt.exe"); /* U+202E */
	EXPECT("a\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad"
	       "b",
	    "ab"); /* U+202A..D */
}
END_TEST

START_TEST(bidi_isolates_removed)
{
	unsigned long cp;
	char in[8];

	for (cp = 0x2066; cp <= 0x2069; cp++) {
		in[0] = 'a';
		ck_assert_uint_eq(utf8_put(cp, in + 1), 3);
		in[4] = 'b';
		expect(in, 5, "ab", 2, (int)cp);
	}
}
END_TEST

START_TEST(bidi_marks_removed)
{
	/* ALM is a bidi mark as LRM and RLM are, and as invisible */
	EXPECT("a\xd8\x9c"
	       "b",
	    "ab"); /* U+061C */
	EXPECT("a\xe2\x80\x8e\xe2\x80\x8f"
	       "b",
	    "ab"); /* U+200E, U+200F */
	/* the letters around ALM stay */
	SAME("\xd8\x9b\xd8\x9d");
}
END_TEST

/* Characters that show nothing yet carry text or change it */
START_TEST(hiders_removed)
{
	/* tag characters spell out hidden text after the visible one */
	EXPECT("ok\xf3\xa0\x81\xa8\xf3\xa0\x81\xa9\xf3\xa0\x81\xbf",
	    "ok"); /* U+E0068 U+E0069 U+E007F */
	EXPECT("soft\xc2\xadhyphen", "softhyphen"); /* U+00AD */
	EXPECT("a\xe2\x81\xaa\xe2\x81\xafz", "az"); /* U+206A, U+206F */
	EXPECT("x\xef\xbf\xb9y\xef\xbf\xbaz\xef\xbf\xbb", "xyz");
	/* their neighbours stay: U+00AC, U+E0080 (a variation selector) */
	SAME("\xc2\xac");
	SAME("\xf3\xa0\x82\x80");
}
END_TEST

START_TEST(zero_width_removed)
{
	EXPECT("a\xe2\x80\x8b"
	       "b",
	    "ab"); /* U+200B */
	EXPECT("a\xe2\x80\x8c"
	       "b",
	    "ab"); /* U+200C */
	EXPECT("a\xe2\x80\x8e\xe2\x80\x8f"
	       "b",
	    "ab"); /* LRM, RLM */
	EXPECT("a\xe2\x81\xa0"
	       "b",
	    "ab"); /* word joiner */
}
END_TEST

START_TEST(bom_removed)
{
	EXPECT("\xef\xbb\xbfhi", "hi");
	EXPECT("h\xef\xbb\xbfi", "hi");
}
END_TEST

START_TEST(line_separators_removed)
{
	EXPECT("a\xe2\x80\xa8"
	       "b\xe2\x80\xa9"
	       "c",
	    "abc");
}
END_TEST

/* ---- the output buffer ---- */

/* Sanitises into a SIZE-byte buffer and checks nothing past it moved. */
static size_t
bounded(const char *in, size_t n, char *out, size_t size)
{
	char buf[256];
	size_t len, i;

	ck_assert_uint_le(size + 16, sizeof(buf));
	memset(buf, 0x5a, sizeof(buf));
	len = sanitize(in, n, buf, size);
	for (i = size; i < sizeof(buf); i++)
		ck_assert_int_eq(buf[i], 0x5a);
	if (size > 0) {
		ck_assert_uint_lt(len, size);
		ck_assert_int_eq(buf[len], '\0');
	}
	memcpy(out, buf, size);
	return len;
}

START_TEST(size_five_cuts_before_third_e_acute)
{
	char out[8];
	size_t len = bounded("\xc3\xa9\xc3\xa9\xc3\xa9", 6, out, 5);

	ck_assert_uint_eq(len, 4);
	ck_assert_str_eq(out, "\xc3\xa9\xc3\xa9");
}
END_TEST

START_TEST(size_exact_fit)
{
	char out[8];
	size_t len = bounded("\xc3\xa9\xc3\xa9\xc3\xa9", 6, out, 7);

	ck_assert_uint_eq(len, 6);
	ck_assert_str_eq(out, "\xc3\xa9\xc3\xa9\xc3\xa9");
}
END_TEST

START_TEST(size_never_cuts_a_character)
{
	static const char in[] = "ab\xe4\xb8\xad\xf0\x9f\x98\x80"
				 "cd";
	static const size_t want[] = {0, 0, 1, 2, 2, 2, 5, 5, 5, 5, 9, 10, 11};
	char out[16];
	size_t size;

	for (size = 1; size < sizeof(want) / sizeof(want[0]); size++) {
		ck_assert_uint_eq(bounded(in, sizeof(in) - 1, out, size),
		    want[size]);
		ck_assert(utf8_ok((unsigned char *)out, want[size]));
		ck_assert_mem_eq(out, in, want[size]);
	}
}
END_TEST

START_TEST(size_never_cuts_a_replacement)
{
	char out[8];

	ck_assert_uint_eq(bounded("a\xff", 2, out, 4), 1);
	ck_assert_str_eq(out, "a");
	ck_assert_uint_eq(bounded("a\xff", 2, out, 5), 4);
	ck_assert_str_eq(out, "a" FFFD);
}
END_TEST

START_TEST(size_one_gives_empty)
{
	char out[4];

	ck_assert_uint_eq(bounded("abc", 3, out, 1), 0);
	ck_assert_int_eq(out[0], '\0');
}
END_TEST

START_TEST(size_zero_writes_nothing)
{
	char out[4];

	ck_assert_uint_eq(bounded("abc", 3, out, 0), 0);
}
END_TEST

START_TEST(dropped_bytes_do_not_count)
{
	char out[8];

	/* only what is written counts against SIZE */
	ck_assert_uint_eq(bounded("\x1b[31m\x01\x02"
				  "abc",
			      10, out, 4),
	    3);
	ck_assert_str_eq(out, "abc");
}
END_TEST

START_TEST(returns_strlen)
{
	char out[64];
	size_t len = sanitize("x\x01y\xffz", 5, out, sizeof(out));

	ck_assert_uint_eq(len, strlen(out));
	ck_assert_uint_eq(len, 6);
}
END_TEST

START_TEST(cut_tells_what_it_used)
{
	char in[510], out[511];
	size_t taken = 0, len;

	/* every invalid byte becomes three: 510 of them cannot fit */
	memset(in, 0xff, sizeof(in));
	len = sanitize_cut(in, sizeof(in), out, sizeof(out), &taken);
	ck_assert_uint_eq(len, 510);
	ck_assert_uint_eq(taken, 170);
	/* what fits is taken whole, escapes and all */
	len = sanitize_cut("a\x1b[31mb", 8, out, sizeof(out), &taken);
	ck_assert_str_eq(out, "ab");
	ck_assert_uint_eq(taken, 8);
	len = sanitize_cut("abc", 3, out, 0, &taken);
	ck_assert_uint_eq(taken, 0);
}
END_TEST

/* ---- properties over many inputs ---- */

/* Fills P with N bytes that are often interesting to the sanitiser. */
static void
random_bytes(char *p, size_t n)
{
	static const unsigned char pick[] = {
	    0x1b,
	    '[',
	    ']',
	    'P',
	    '\\',
	    0x07,
	    0x00,
	    '\t',
	    '\n',
	    0x7f,
	    0x80,
	    0x9b,
	    0xbf,
	    0xc0,
	    0xc2,
	    0xe0,
	    0xe2,
	    0xed,
	    0xef,
	    0xf0,
	    0xf4,
	    0xf5,
	    0xff,
	    'm',
	    ';',
	    '0',
	};
	size_t i;
	uint32_t r;

	for (i = 0; i < n; i++) {
		r = rng();
		if (r % 3 == 0)
			p[i] = (char)pick[(r >> 8) % sizeof(pick)];
		else if (r % 3 == 1)
			p[i] = (char)(0x80 | (r >> 8 & 0x3f));
		else
			p[i] = (char)(r >> 8);
	}
}

START_TEST(random_output_is_valid_utf8)
{
	char in[96], out[OUTMAX], small[OUTMAX], again[OUTMAX];
	size_t n, len, slen, alen, i, size;
	int iter;

	rng_state = 0x2545f491;
	for (iter = 0; iter < 5000; iter++) {
		n = rng() % sizeof(in);
		random_bytes(in, n);
		len = sanitize(guarded(in, n), n, out, sizeof(out));
		ck_assert_uint_lt(len, sizeof(out));
		ck_assert_int_eq(out[len], '\0');
		ck_assert_msg(utf8_ok((unsigned char *)out, len),
		    "invalid UTF-8 out, iteration %d", iter);
		for (i = 0; i < len; i++) {
			unsigned char c = (unsigned char)out[i];

			ck_assert_msg((c >= 0x20 || c == '\t') && c != 0x7f,
			    "control %#x out, iteration %d", c, iter);
		}
		/* the output is already safe: a second pass keeps it */
		alen = sanitize(out, len, again, sizeof(again));
		ck_assert_uint_eq(alen, len);
		ck_assert_mem_eq(again, out, len);
		/* a smaller buffer gives a prefix, cut between characters */
		size = 1 + rng() % (len + 2);
		slen = sanitize(in, n, small, size);
		ck_assert_uint_lt(slen, size);
		ck_assert_uint_le(slen, len);
		ck_assert_mem_eq(small, out, slen);
		ck_assert(utf8_ok((unsigned char *)small, slen));
	}
}
END_TEST

/* Whether CP is something the sanitiser is meant to drop. */
static int
meant_invisible(unsigned long cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
	    cp == 0x061c || (cp >= 0x200b && cp <= 0x200f && cp != 0x200d) ||
	    (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x206f) ||
	    cp == 0xfeff || cp == 0x00ad || (cp >= 0xfff9 && cp <= 0xfffb) ||
	    (cp >= 0xe0000 && cp <= 0xe007f);
}

START_TEST(random_valid_text_unchanged)
{
	char in[256];
	unsigned long cp;
	size_t n;
	int iter, k;

	rng_state = 0x9e3779b9;
	for (iter = 0; iter < 3000; iter++) {
		n = 0;
		for (k = rng() % 40; k > 0; k--) {
			switch (rng() % 4) {
			case 0:
				cp = rng() % 0x80;
				break;
			case 1:
				cp = 0x80 + rng() % 0x780;
				break;
			case 2:
				cp = 0x800 + rng() % 0xf800;
				break;
			default:
				cp = 0x10000 + rng() % 0x100000;
				break;
			}
			if ((cp >= 0xd800 && cp <= 0xdfff) || cp == 0x1b ||
			    meant_invisible(cp))
				continue;
			n += utf8_put(cp, in + n);
		}
		ck_assert(utf8_ok((unsigned char *)in, n));
		expect(in, n, in, n, iter);
	}
}
END_TEST

START_TEST(validator_self_check)
{
	/* the test's own validator must reject what it is meant to */
	ck_assert(
	    utf8_ok((const unsigned char *)"a\xc3\xa9\xf4\x8f\xbf\xbf", 7));
	ck_assert(!utf8_ok((const unsigned char *)"\xc0\xaf", 2));
	ck_assert(!utf8_ok((const unsigned char *)"\xe0\x80\xaf", 3));
	ck_assert(!utf8_ok((const unsigned char *)"\xed\xa0\x80", 3));
	ck_assert(!utf8_ok((const unsigned char *)"\xf4\x90\x80\x80", 4));
	ck_assert(!utf8_ok((const unsigned char *)"\xe4\xb8", 2));
	ck_assert(!utf8_ok((const unsigned char *)"\x80", 1));
}
END_TEST

/* ---- nicknames ---- */

START_TEST(nick_accepts)
{
	ck_assert_int_eq(nick_valid("alice"), 1);
	ck_assert_int_eq(nick_valid("Bob_"), 1);
	ck_assert_int_eq(nick_valid("[x]"), 1);
	ck_assert_int_eq(nick_valid("a-1"), 1);
	ck_assert_int_eq(nick_valid("a"), 1);
	ck_assert_int_eq(nick_valid("Z9"), 1);
}
END_TEST

START_TEST(nick_accepts_irc_specials_first)
{
	static const char specials[] = "[]\\`^{}|_";
	char nick[3];
	size_t i;

	for (i = 0; specials[i] != '\0'; i++) {
		nick[0] = specials[i], nick[1] = 'x', nick[2] = '\0';
		ck_assert_msg(nick_valid(nick), "rejected \"%s\"", nick);
	}
}
END_TEST

/* the syntax allows NICK_MAX; the daemon's nick_length may allow less */
START_TEST(nick_accepts_nick_max)
{
	ck_assert_uint_eq(strlen("abcdefghijklmnopqrstuvwxyzabcd"), NICK_MAX);
	ck_assert_int_eq(nick_valid("abcdefghijklmnopqrstuvwxyzabcd"), 1);
	ck_assert_int_eq(nick_valid("abcdefghijklmnop"), 1);
	ck_assert_int_eq(nick_valid("a12345678901234567890123456789"), 1);
}
END_TEST

START_TEST(nick_rejects_empty)
{
	ck_assert_int_eq(nick_valid(""), 0);
}
END_TEST

START_TEST(nick_rejects_longer)
{
	ck_assert_int_eq(nick_valid("abcdefghijklmnopqrstuvwxyzabcde"), 0);
	ck_assert_int_eq(nick_valid("abcdefghijklmnopqrstuvwxyzabcdefghij"), 0);
}
END_TEST

START_TEST(nick_rejects_leading_digit_or_dash)
{
	ck_assert_int_eq(nick_valid("1abc"), 0);
	ck_assert_int_eq(nick_valid("-x"), 0);
	ck_assert_int_eq(nick_valid("0"), 0);
}
END_TEST

START_TEST(nick_rejects_blank_and_controls)
{
	ck_assert_int_eq(nick_valid("a b"), 0);
	ck_assert_int_eq(nick_valid("a\x01"), 0);
	ck_assert_int_eq(nick_valid("a\t"), 0);
	ck_assert_int_eq(nick_valid(" a"), 0);
	ck_assert_int_eq(nick_valid("a\x7f"), 0);
}
END_TEST

START_TEST(nick_rejects_non_ascii)
{
	ck_assert_int_eq(nick_valid("\xc3\xa9"), 0);
	ck_assert_int_eq(nick_valid("a\xc3\xa9"), 0);
	ck_assert_int_eq(nick_valid("a\xe2\x80\x8b"
				    "b"),
	    0);
}
END_TEST

START_TEST(nick_rejects_punctuation)
{
	ck_assert_int_eq(nick_valid("a.b"), 0);
	ck_assert_int_eq(nick_valid("a:b"), 0);
	ck_assert_int_eq(nick_valid("#a"), 0);
	ck_assert_int_eq(nick_valid("a!b"), 0);
	ck_assert_int_eq(nick_valid("a@b"), 0);
	ck_assert_int_eq(nick_valid("a,b"), 0);
}
END_TEST

/* ---- room names ---- */

START_TEST(room_accepts)
{
	ck_assert_int_eq(room_valid("#a"), 1);
	ck_assert_int_eq(room_valid("#ops"), 1);
	ck_assert_int_eq(room_valid("#a.b-c_d"), 1);
	ck_assert_int_eq(room_valid("#0"), 1);
	ck_assert_int_eq(room_valid("#OPS"), 1);
}
END_TEST

START_TEST(room_accepts_thirty_one)
{
	char room[ROOM_MAX + 1];

	room[0] = '#';
	memset(room + 1, 'r', ROOM_MAX - 1);
	room[ROOM_MAX] = '\0';
	ck_assert_uint_eq(strlen(room), 31);
	ck_assert_int_eq(room_valid(room), 1);
}
END_TEST

START_TEST(room_rejects_thirty_two)
{
	char room[ROOM_MAX + 2];

	room[0] = '#';
	memset(room + 1, 'r', ROOM_MAX);
	room[ROOM_MAX + 1] = '\0';
	ck_assert_uint_eq(strlen(room), 32);
	ck_assert_int_eq(room_valid(room), 0);
}
END_TEST

START_TEST(room_rejects_hash_alone_and_empty)
{
	ck_assert_int_eq(room_valid("#"), 0);
	ck_assert_int_eq(room_valid(""), 0);
}
END_TEST

START_TEST(room_rejects_missing_hash)
{
	ck_assert_int_eq(room_valid("ops"), 0);
	ck_assert_int_eq(room_valid("&ops"), 0);
	ck_assert_int_eq(room_valid(" #ops"), 0);
}
END_TEST

START_TEST(room_rejects_bad_characters)
{
	ck_assert_int_eq(room_valid("#a b"), 0);
	ck_assert_int_eq(room_valid("#\xc3\xa9"), 0);
	ck_assert_int_eq(room_valid("#a#b"), 0);
	ck_assert_int_eq(room_valid("#a,b"), 0);
	ck_assert_int_eq(room_valid("#a\x07"), 0);
	ck_assert_int_eq(room_valid("#a\t"), 0);
}
END_TEST

static Suite *
sanitize_suite(void)
{
	Suite *su = suite_create("sanitize");
	TCase *tc;

	tc = tcase_create("kept");
	tcase_add_test(tc, plain_ascii);
	tcase_add_test(tc, empty_input);
	tcase_add_test(tc, all_printable_ascii);
	tcase_add_test(tc, two_byte_utf8);
	tcase_add_test(tc, three_byte_utf8);
	tcase_add_test(tc, four_byte_utf8);
	tcase_add_test(tc, zwj_emoji_sequence_kept);
	tcase_add_test(tc, boundary_code_points_kept);
	tcase_add_test(tc, tab_kept);
	suite_add_tcase(su, tc);

	tc = tcase_create("controls");
	tcase_add_test(tc, c0_controls_removed);
	tcase_add_test(tc, nul_removed);
	tcase_add_test(tc, cr_lf_bel_bs_removed);
	tcase_add_test(tc, del_removed);
	tcase_add_test(tc, c1_controls_removed);
	tcase_add_test(tc, raw_csi_byte_is_replaced);
	suite_add_tcase(su, tc);

	tc = tcase_create("escapes");
	tcase_add_test(tc, csi_colour_removed);
	tcase_add_test(tc, csi_private_and_intermediates_removed);
	tcase_add_test(tc, csi_unterminated_at_end);
	tcase_add_test(tc, csi_cut_by_control_or_utf8);
	tcase_add_test(tc, osc_title_bel_removed);
	tcase_add_test(tc, osc_52_clipboard_removed);
	tcase_add_test(tc, osc_8_hyperlink_removed);
	tcase_add_test(tc, osc_unterminated_removed);
	tcase_add_test(tc, osc_ended_by_lone_esc_at_end);
	tcase_add_test(tc, osc_with_utf8_inside_removed);
	tcase_add_test(tc, dcs_removed);
	tcase_add_test(tc, sos_pm_apc_removed);
	tcase_add_test(tc, two_byte_escapes_removed);
	tcase_add_test(tc, lone_esc_at_end);
	tcase_add_test(tc, esc_esc);
	tcase_add_test(tc, esc_before_utf8_takes_only_itself);
	tcase_add_test(tc, esc_before_control);
	suite_add_tcase(su, tc);

	tc = tcase_create("invalid utf-8");
	tcase_add_test(tc, overlong_two_bytes);
	tcase_add_test(tc, overlong_three_bytes);
	tcase_add_test(tc, overlong_four_bytes);
	tcase_add_test(tc, overlong_c1_is_not_smuggled);
	tcase_add_test(tc, surrogates_invalid);
	tcase_add_test(tc, past_10ffff_invalid);
	tcase_add_test(tc, f5_to_ff_invalid);
	tcase_add_test(tc, truncated_at_end);
	tcase_add_test(tc, truncated_before_ascii);
	tcase_add_test(tc, truncated_before_esc);
	tcase_add_test(tc, lone_continuation_bytes);
	tcase_add_test(tc, length_is_respected);
	tcase_add_test(tc, every_single_high_byte_alone);
	suite_add_tcase(su, tc);

	tc = tcase_create("invisible");
	tcase_add_test(tc, bidi_override_removed);
	tcase_add_test(tc, bidi_isolates_removed);
	tcase_add_test(tc, bidi_marks_removed);
	tcase_add_test(tc, hiders_removed);
	tcase_add_test(tc, zero_width_removed);
	tcase_add_test(tc, bom_removed);
	tcase_add_test(tc, line_separators_removed);
	suite_add_tcase(su, tc);

	tc = tcase_create("bounds");
	tcase_add_test(tc, size_five_cuts_before_third_e_acute);
	tcase_add_test(tc, size_exact_fit);
	tcase_add_test(tc, size_never_cuts_a_character);
	tcase_add_test(tc, size_never_cuts_a_replacement);
	tcase_add_test(tc, size_one_gives_empty);
	tcase_add_test(tc, size_zero_writes_nothing);
	tcase_add_test(tc, dropped_bytes_do_not_count);
	tcase_add_test(tc, returns_strlen);
	tcase_add_test(tc, cut_tells_what_it_used);
	suite_add_tcase(su, tc);

	tc = tcase_create("properties");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, validator_self_check);
	tcase_add_test(tc, random_output_is_valid_utf8);
	tcase_add_test(tc, random_valid_text_unchanged);
	suite_add_tcase(su, tc);

	tc = tcase_create("nick");
	tcase_add_test(tc, nick_accepts);
	tcase_add_test(tc, nick_accepts_irc_specials_first);
	tcase_add_test(tc, nick_accepts_nick_max);
	tcase_add_test(tc, nick_rejects_empty);
	tcase_add_test(tc, nick_rejects_longer);
	tcase_add_test(tc, nick_rejects_leading_digit_or_dash);
	tcase_add_test(tc, nick_rejects_blank_and_controls);
	tcase_add_test(tc, nick_rejects_non_ascii);
	tcase_add_test(tc, nick_rejects_punctuation);
	suite_add_tcase(su, tc);

	tc = tcase_create("room");
	tcase_add_test(tc, room_accepts);
	tcase_add_test(tc, room_accepts_thirty_one);
	tcase_add_test(tc, room_rejects_thirty_two);
	tcase_add_test(tc, room_rejects_hash_alone_and_empty);
	tcase_add_test(tc, room_rejects_missing_hash);
	tcase_add_test(tc, room_rejects_bad_characters);
	suite_add_tcase(su, tc);
	return su;
}

int
main(void)
{
	return harness_run(sanitize_suite());
}
