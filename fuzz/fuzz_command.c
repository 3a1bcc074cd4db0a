/*
 * fuzz_command.c - libFuzzer target for cmd_parse().
 *
 * Input: a line.  It is parsed twice: as it is (up to its first NUL), in
 * a buffer of exactly its length and the NUL, so that a read past the NUL
 * is caught by AddressSanitizer; and as the worker parses it, after
 * sanitize_cut() into TEXT_MAX + 1 bytes.
 *
 * Each result is compared with a plain reading of the rules (expect()
 * below): a blank line is nothing, a line not starting with '/' or
 * starting with "//" is text, otherwise the first word after '/' names
 * a command (in any case) whose arguments are counted in blank-separated
 * words.  Besides, the parse may only have turned blanks into NULs,
 * ARG, TEXT and NAME point into the line (NAME may be ""), the kind is
 * one of enum cmd_kind, USAGE names the command typed, and a /nick or
 * /join argument that passes nick_valid() or room_valid() fits in
 * NICK_MAX or ROOM_MAX bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../worker/worker.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(x)                                                               \
	do {                                                                   \
		if (!(x))                                                      \
			__builtin_trap();                                      \
	} while (0)

static const struct {
	const char *name;
	enum cmd_kind kind;
} names[] = {
    {"nick", CMD_NICK},
    {"who", CMD_WHO},
    {"msg", CMD_MSG},
    {"me", CMD_ME},
    {"join", CMD_JOIN},
    {"part", CMD_PART},
    {"rooms", CMD_ROOMS},
    {"quit", CMD_QUIT},
    {"help", CMD_HELP},
};

#define NNAMES (sizeof(names) / sizeof(names[0]))
#define MAXWORDS 3

static int
blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Offsets into the line; -1 for NAME means "", for ARG and TEXT NULL. */
struct want {
	int kind;
	long name;
	size_t namelen;
	long arg;
	size_t arglen;
	long text;
};

/*
 * The words of S from offset OFF: their offsets (at most MAXWORDS are
 * kept) and how many there are.
 */
static size_t
words(const char *s, size_t off, size_t *at, size_t *len)
{
	size_t n = 0, i = off, start;

	for (;;) {
		while (blank(s[i]))
			i++;
		if (s[i] == '\0')
			return n;
		start = i;
		while (s[i] != '\0' && !blank(s[i]))
			i++;
		if (n < MAXWORDS) {
			at[n] = start;
			len[n] = i - start;
		}
		n++;
	}
}

/* What cmd_parse() should give for the line S (unchanged). */
static void
expect(const char *s, struct want *w)
{
	size_t at[MAXWORDS], len[MAXWORDS], nw, i, k;
	int ok = 1;

	memset(w, 0, sizeof(*w));
	w->name = w->arg = w->text = -1;
	for (i = 0; blank(s[i]); i++)
		;
	if (s[i] == '\0') {
		w->kind = CMD_NONE;
		return;
	}
	if (s[0] != '/' || s[1] == '/') {
		w->kind = CMD_SAY;
		w->text = s[0] == '/';
		return;
	}
	nw = words(s, 1, at, len);
	if (nw == 0) {
		w->kind = CMD_UNKNOWN;
		return;
	}
	w->name = (long)at[0];
	w->namelen = len[0];
	for (k = 0; k < NNAMES; k++)
		if (strlen(names[k].name) == len[0] &&
		    strncasecmp(s + at[0], names[k].name, len[0]) == 0)
			break;
	if (k == NNAMES) {
		w->kind = CMD_UNKNOWN;
		return;
	}
	nw = words(s, at[0] + len[0], at, len);
	switch (names[k].kind) {
	case CMD_NICK:
	case CMD_JOIN:
		ok = nw == 1;
		w->arg = (long)at[0];
		w->arglen = len[0];
		break;
	case CMD_WHO:
		ok = nw <= 1;
		if (nw == 1) {
			w->arg = (long)at[0];
			w->arglen = len[0];
		}
		break;
	case CMD_ROOMS:
	case CMD_HELP:
		ok = nw == 0;
		break;
	case CMD_MSG:
		ok = nw >= 2;
		if (ok) {
			w->arg = (long)at[0];
			w->arglen = len[0];
			w->text = (long)at[1];
		}
		break;
	case CMD_ME:
		ok = nw >= 1;
		if (ok)
			w->text = (long)at[0];
		break;
	case CMD_PART:
		if (nw >= 1 && s[at[0]] == '#') {
			w->arg = (long)at[0];
			w->arglen = len[0];
			if (nw >= 2)
				w->text = (long)at[1];
		} else if (nw >= 1) {
			w->text = (long)at[0];
		}
		break;
	default: /* CMD_QUIT */
		if (nw >= 1)
			w->text = (long)at[0];
		break;
	}
	w->kind = ok ? (int)names[k].kind : CMD_USAGE;
}

/* Whether P is a non-empty string starting inside BUF[0..LEN). */
static int
inside(const char *p, const char *buf, size_t len)
{
	return p >= buf && p < buf + len && *p != '\0';
}

/* Parses BUF[0..LEN] (NUL at LEN, none before) and checks the result. */
static void
check_parse(char *buf, size_t len)
{
	struct want w;
	struct cmd c;
	char *orig;
	size_t i, n;
	int kind;

	orig = malloc(len + 1);
	CHECK(orig != NULL);
	memcpy(orig, buf, len + 1);
	expect(orig, &w);

	memset(&c, 0x5a, sizeof(c));
	kind = cmd_parse(buf, &c);
	CHECK(kind == (int)c.kind);
	CHECK(kind >= CMD_NONE && kind <= CMD_USAGE);
	CHECK(kind == w.kind);

	/* in place: only blanks may have become NULs */
	for (i = 0; i <= len; i++)
		CHECK(buf[i] == orig[i] || (buf[i] == '\0' && blank(orig[i])));

	if (c.arg != NULL) {
		CHECK(inside(c.arg, buf, len));
		for (i = 0; c.arg[i] != '\0'; i++)
			CHECK(!blank(c.arg[i]));
	}
	if (c.text != NULL) {
		CHECK(inside(c.text, buf, len));
		/* the rest of the line, not cut */
		CHECK(strcmp(c.text, orig + (c.text - buf)) == 0);
		if (kind != CMD_SAY)
			CHECK(!blank(c.text[0]));
	}
	if (kind == CMD_NONE || kind == CMD_SAY) {
		CHECK(c.name == NULL && c.arg == NULL && c.usage == NULL);
	} else {
		CHECK(c.name != NULL);
		if (w.name < 0) {
			CHECK(c.name[0] == '\0');
		} else {
			CHECK(c.name == buf + w.name);
			CHECK(strlen(c.name) == w.namelen);
		}
	}
	if (kind == CMD_UNKNOWN)
		CHECK(c.usage == NULL && c.arg == NULL && c.text == NULL);
	if (kind != CMD_NONE && kind != CMD_SAY && kind != CMD_UNKNOWN) {
		/* the usage is that of the command typed */
		n = strlen(c.name);
		CHECK(c.usage != NULL && c.usage[0] == '/');
		CHECK(strncasecmp(c.usage + 1, c.name, n) == 0);
		CHECK(c.usage[n + 1] == ' ' || c.usage[n + 1] == '\0');
	}
	if (kind != CMD_USAGE) {
		/* what a command got is exactly what the rules give */
		CHECK(w.text < 0 ? c.text == NULL : c.text == buf + w.text);
		CHECK(w.arg < 0 ? c.arg == NULL : c.arg == buf + w.arg);
		CHECK(c.arg == NULL || strlen(c.arg) == w.arglen);
	}
	if (kind == CMD_NICK && nick_valid(c.arg))
		CHECK(strlen(c.arg) <= NICK_MAX);
	if (kind == CMD_JOIN && room_valid(c.arg))
		CHECK(strlen(c.arg) <= ROOM_MAX);
	free(orig);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[TEXT_MAX + 1], *buf;
	size_t n, taken;

	/* as it is, up to the first NUL, in a buffer that ends there */
	n = strnlen((const char *)data, size);
	buf = malloc(n + 1);
	CHECK(buf != NULL);
	memcpy(buf, data, n);
	buf[n] = '\0';
	check_parse(buf, n);
	free(buf);

	/* as the worker has it: sanitised into TEXT_MAX + 1 bytes */
	n = sanitize_cut((const char *)data, size, line, sizeof(line), &taken);
	buf = malloc(n + 1);
	CHECK(buf != NULL);
	memcpy(buf, line, n + 1);
	check_parse(buf, n);
	free(buf);
	return 0;
}
