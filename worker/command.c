/*
 * command.c - a sanitised line as a command.
 *
 * Parsing only splits and checks arity; whether a nickname is free or a
 * room exists is the session's business.  The line is split in place.
 */
#include <string.h>
#include <strings.h>

#include "worker.h"

static const struct {
	const char *name;
	enum cmd_kind kind;
	const char *usage;
	const char *help;
} cmds[] = {
    {"nick", CMD_NICK, "/nick NAME", "change your nickname"},
    {"who", CMD_WHO, "/who [#ROOM]", "list who is in a room"},
    {"msg", CMD_MSG, "/msg NICK TEXT", "send TEXT to NICK only"},
    {"me", CMD_ME, "/me ACTION", "say you do something"},
    {"join", CMD_JOIN, "/join #ROOM",
	"enter a room (made if new) and talk there"},
    {"part", CMD_PART, "/part [#ROOM] [REASON]",
	"leave a room (the current one by default)"},
    {"rooms", CMD_ROOMS, "/rooms", "list the rooms"},
    {"quit", CMD_QUIT, "/quit [REASON]", "leave the chat"},
    {"help", CMD_HELP, "/help", "show this help"},
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static char *
skip_blanks(char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Cuts the next word off *P; returns it, or NULL at the end of the line. */
static char *
next_word(char **p)
{
	char *w = skip_blanks(*p), *e;

	if (*w == '\0')
		return NULL;
	for (e = w; *e != '\0' && *e != ' ' && *e != '\t'; e++)
		;
	if (*e != '\0')
		*e++ = '\0';
	*p = e;
	return w;
}

/* Returns line I of /help, or NULL past the last. */
const char *
cmd_help(size_t i)
{
	static char line[NCMDS][96];
	size_t k;

	if (i >= NCMDS + 1)
		return NULL;
	if (i == NCMDS)
		return "//TEXT                 send TEXT that starts with /";
	if (line[i][0] == '\0')
		for (k = 0; k < NCMDS; k++) {
			size_t n = strlen(cmds[k].usage);
			memcpy(line[k], cmds[k].usage, n);
			memset(line[k] + n, ' ', n < 23 ? 23 - n : 1);
			strcpy(line[k] + (n < 23 ? 23 : n + 1), cmds[k].help);
		}
	return line[i];
}

/* The rest of the line after blanks, or NULL if nothing is left. */
static char *
rest(char *p)
{
	p = skip_blanks(p);
	return *p != '\0' ? p : NULL;
}

/*
 * Parses LINE (sanitised, NUL-terminated, changed in place) into C.
 * Returns C->kind.  Plain text and "//text" are CMD_SAY with C->text.
 */
int
cmd_parse(char *line, struct cmd *c)
{
	char *p, *word;
	size_t i;
	int ok = 1;

	memset(c, 0, sizeof(*c));
	if (*skip_blanks(line) == '\0')
		return c->kind = CMD_NONE;
	if (line[0] != '/' || line[1] == '/') {
		c->text = line[0] == '/' ? line + 1 : line;
		return c->kind = CMD_SAY;
	}
	p = line + 1;
	word = next_word(&p);
	c->name = word != NULL ? word : "";
	for (i = 0; word != NULL && i < NCMDS; i++)
		if (strcasecmp(word, cmds[i].name) == 0)
			break;
	if (word == NULL || i == NCMDS)
		return c->kind = CMD_UNKNOWN;
	c->usage = cmds[i].usage;
	switch (cmds[i].kind) {
	case CMD_NICK:
	case CMD_JOIN: /* exactly one word */
		c->arg = next_word(&p);
		ok = c->arg != NULL && next_word(&p) == NULL;
		break;
	case CMD_WHO: /* at most one word */
		c->arg = next_word(&p);
		ok = next_word(&p) == NULL;
		break;
	case CMD_ROOMS:
	case CMD_HELP: /* no words */
		ok = next_word(&p) == NULL;
		break;
	case CMD_MSG: /* a word and text */
		c->arg = next_word(&p);
		c->text = rest(p);
		ok = c->arg != NULL && c->text != NULL;
		break;
	case CMD_ME: /* text */
		ok = (c->text = rest(p)) != NULL;
		break;
	case CMD_PART: /* an optional room, optional text */
		if (*skip_blanks(p) == '#')
			c->arg = next_word(&p);
		c->text = rest(p);
		break;
	default: /* CMD_QUIT: optional text */
		c->text = rest(p);
		break;
	}
	return c->kind = ok ? cmds[i].kind : CMD_USAGE;
}
