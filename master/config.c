/*
 * config.c - every setting by name: the configuration file and -o.
 *
 * The file is a list of "key value" lines (an '=' between them is
 * allowed), '#' starting a comment, the same keys -o takes.  The command
 * line is applied after the file, so it overrides it.  Every error names
 * the file, the line and what is wrong; the caller refuses to start on it,
 * or on SIGHUP keeps the configuration it runs with.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "master.h"
#include "../common/log.h"
#include "../common/util.h"

#define LINE_MAX_ 1024 /* bytes in a line of the file */

enum kind {
	K_UL,	    /* unsigned long */
	K_U32,	    /* uint32_t */
	K_STR,	    /* a string, copied */
	K_PORT,	    /* a string that is a port number */
	K_FACILITY, /* a syslog facility by name */
	K_BOOL,	    /* yes or no */
};

#define CF(f) offsetof(struct config, f)
#define LIM(f) offsetof(struct config, lim.f)

static const struct setting {
	const char *key;
	enum kind kind;
	size_t off;
	unsigned long min, max;
	int live; /* takes effect on SIGHUP */
} settings[] = {
    {"listen", K_STR, CF(bind), 0, 0, 0},
    {"port", K_PORT, CF(port), 0, 65535, 0},
    {"name", K_STR, CF(name), 0, 0, 0},
    {"pidfile", K_STR, CF(pidfile), 0, 0, 0},
    {"user", K_STR, CF(user), 0, 0, 0},
    {"facility", K_FACILITY, CF(facility), 0, 0, 0},
    {"verbose", K_BOOL, CF(verbose), 0, 1, 1},
    {"motd", K_STR, CF(motd), 0, 0, 1},
    {"stats_interval", K_U32, CF(stats_interval), 0, 86400, 1},
    {"max_clients", K_UL, CF(maxclients), 1, 100000, 0},
    {"max_per_host", K_UL, CF(maxperhost), 0, 100000, 1},
    {"ring_slots", K_UL, CF(nslots), 64, 1UL << 20, 0},
    {"huge_pages", K_BOOL, CF(huge_pages), 0, 1, 0},
    {"workers_per_copy", K_UL, CF(workers_per_copy), 0, 100000, 1},
    {"backlog", K_U32, LIM(backlog), 0, BACKLOG_MAX, 1},
    {"flood_rate", K_U32, LIM(flood_rate), 0, 100000, 1},
    {"flood_burst", K_U32, LIM(flood_burst), 1, 100000, 1},
    {"flood_kick", K_U32, LIM(flood_kick), 0, 86400, 1},
    {"send_timeout", K_U32, LIM(send_timeout), 0, 86400, 1},
    {"idle_timeout", K_U32, LIM(idle_timeout), 0, 30 * 86400, 1},
    {"register_timeout", K_U32, LIM(register_timeout), 0, 86400, 1},
    {"nick_length", K_U32, LIM(nick_length), 1, NICK_MAX, 1},
    {"rooms_per_client", K_U32, LIM(rooms_per_client), 1, ROOMS_PER_CLIENT,
	1},
    {"max_rooms", K_U32, LIM(max_rooms), 0, 1000000, 1},
    {"announce_limit", K_U32, LIM(announce_limit), 0, 1000000, 1},
    {"batch_delay", K_U32, LIM(batch_delay), 0, 1000, 1},
    {"batch_clients", K_U32, LIM(batch_clients), 0, 100000, 1},
};

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

void
config_defaults(struct config *cf)
{
	memset(cf, 0, sizeof(*cf));
	cf->port = DEFAULT_PORT;
	cf->maxclients = DEFAULT_MAXCLIENTS;
	cf->maxperhost = DEFAULT_MAXPERHOST;
	cf->nslots = DEFAULT_SLOTS;
	cf->huge_pages = 1;
	cf->workers_per_copy = DEFAULT_WORKERS_PER_COPY;
	cf->lim.backlog = DEFAULT_BACKLOG;
	cf->lim.flood_rate = DEFAULT_FLOOD_RATE;
	cf->lim.flood_burst = DEFAULT_FLOOD_BURST;
	cf->lim.flood_kick = DEFAULT_FLOOD_KICK;
	cf->lim.send_timeout = DEFAULT_SEND_TIMEOUT;
	cf->lim.idle_timeout = DEFAULT_IDLE_TIMEOUT;
	cf->lim.register_timeout = DEFAULT_REGISTER_TIMEOUT;
	cf->lim.nick_length = DEFAULT_NICK_LENGTH;
	cf->lim.rooms_per_client = ROOMS_PER_CLIENT;
	cf->lim.max_rooms = DEFAULT_MAX_ROOMS;
	cf->lim.announce_limit = DEFAULT_ANNOUNCE_LIMIT;
	cf->lim.batch_delay = DEFAULT_BATCH_DELAY;
	cf->lim.batch_clients = DEFAULT_BATCH_CLIENTS;
	cf->facility = LOG_DAEMON;
	cf->config = DEFAULT_CONFIG;
}

/* A copy of S that CF frees with itself; NULL if out of memory. */
static char *
keep(struct config *cf, const char *s)
{
	char **o, *copy;

	if ((copy = strdup(s)) == NULL)
		return NULL;
	if ((o = realloc(cf->owned, (cf->nowned + 1) * sizeof(*o))) == NULL) {
		free(copy);
		return NULL;
	}
	cf->owned = o;
	cf->owned[cf->nowned++] = copy;
	return copy;
}

void
config_free(struct config *cf)
{
	size_t i;

	for (i = 0; i < cf->nowned; i++)
		free(cf->owned[i]);
	free(cf->owned);
	cf->owned = NULL;
	cf->nowned = 0;
}

static const struct setting *
find(const char *key, size_t len)
{
	size_t i;

	for (i = 0; i < NSETTINGS; i++)
		if (strlen(settings[i].key) == len &&
		    strncmp(settings[i].key, key, len) == 0)
			return &settings[i];
	return NULL;
}

/* The keys, for an error message: "backlog, flood_rate, ...". */
static void
key_list(char *buf, size_t size)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < NSETTINGS && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s",
		    i > 0 ? " " : "", settings[i].key);
}

/*
 * Sets KEY (LEN bytes) to VALUE.  Returns 0, or -1 with the reason in ERR
 * (which names the key).
 */
static int
set(struct config *cf, const char *key, size_t len, const char *value,
    char *err, size_t size)
{
	const struct setting *st = find(key, len);
	char *p = (char *)cf + (st != NULL ? st->off : 0), keys[512];
	unsigned long v;
	int f;

	if (st == NULL) {
		key_list(keys, sizeof(keys));
		snprintf(err, size, "unknown setting \"%.*s\"; the settings "
				    "are: %s",
		    (int)len, key, keys);
		return -1;
	}
	switch (st->kind) {
	case K_UL:
	case K_U32:
	case K_PORT:
		if (parse_uint(value, st->min, st->max, &v) == -1) {
			snprintf(err, size,
			    "%s takes a number from %lu to %lu, not \"%s\"",
			    st->key, st->min, st->max, value);
			return -1;
		}
		if (st->kind == K_UL)
			*(unsigned long *)p = v;
		else if (st->kind == K_U32)
			*(uint32_t *)p = (uint32_t)v;
		else if ((*(const char **)p = keep(cf, value)) == NULL)
			goto nomem;
		return 0;
	case K_STR:
		if (*value == '\0') {
			snprintf(err, size, "%s needs a value", st->key);
			return -1;
		}
		if (strcmp(st->key, "name") == 0 && !config_name_valid(value)) {
			snprintf(err, size,
			    "name \"%s\": 1 to 40 letters, digits or _.- not "
			    "starting with '.'",
			    value);
			return -1;
		}
		if (strcmp(st->key, "pidfile") == 0 &&
		    strlen(value) >= PIDPATH_MAX) {
			snprintf(err, size, "pidfile: longer than %d bytes",
			    PIDPATH_MAX - 1);
			return -1;
		}
		if ((*(const char **)p = keep(cf, value)) == NULL)
			goto nomem;
		return 0;
	case K_FACILITY:
		if ((f = log_facility_byname(value)) < 0) {
			snprintf(err, size,
			    "facility \"%s\": not daemon, user or "
			    "local0..local7",
			    value);
			return -1;
		}
		*(int *)p = f;
		return 0;
	case K_BOOL:
		if (strcmp(value, "yes") == 0 || strcmp(value, "1") == 0)
			*(int *)p = 1;
		else if (strcmp(value, "no") == 0 || strcmp(value, "0") == 0)
			*(int *)p = 0;
		else {
			snprintf(err, size, "%s takes yes or no, not \"%s\"",
			    st->key, value);
			return -1;
		}
		return 0;
	}
nomem:
	snprintf(err, size, "%s: out of memory", st->key);
	return -1;
}

/* -o KEY=VALUE.  Returns 0, or -1 with the reason in ERR. */
int
config_option(struct config *cf, const char *arg, char *err, size_t size)
{
	const char *eq = strchr(arg, '=');

	if (eq == NULL) {
		snprintf(err, size, "-o %s: not KEY=VALUE", arg);
		return -1;
	}
	return set(cf, arg, (size_t)(eq - arg), eq + 1, err, size);
}

/* Whether the setting KEY can change on SIGHUP. */
int
config_is_live(const char *key)
{
	const struct setting *st = find(key, strlen(key));

	return st != NULL && st->live;
}

/*
 * Reads the configuration file PATH into CF.  A missing file is an error
 * only if MUST_EXIST.  Returns 0, or -1 with "PATH:LINE: what" in ERR.
 */
int
config_file(struct config *cf, const char *path, int must_exist, char *err,
    size_t size)
{
	char line[LINE_MAX_ + 2], why[600], *p, *key, *end;
	unsigned seen[sizeof(settings) / sizeof(settings[0])] = {0};
	unsigned lineno = 0;
	size_t klen;
	FILE *f;
	int c;

	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT && !must_exist)
			return 0;
		snprintf(err, size, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, size, "%s:%u: line longer than %d bytes",
			    path, lineno, LINE_MAX_);
			while ((c = getc(f)) != EOF && c != '\n')
				;
			goto fail;
		}
		/* a comment runs from '#' at the start or after a blank */
		for (p = line; *p != '\0'; p++)
			if (*p == '#' && (p == line || p[-1] == ' ' ||
					     p[-1] == '\t')) {
				*p = '\0';
				break;
			}
		for (end = line + strlen(line);
		     end > line && strchr(" \t\r\n", end[-1]) != NULL; end--)
			;
		*end = '\0';
		key = line + strspn(line, " \t");
		if (*key == '\0')
			continue;
		klen = strcspn(key, " \t=");
		p = key + klen;
		p += strspn(p, " \t");
		if (*p == '=')
			p += 1 + strspn(p + 1, " \t");
		if (*p == '\0') {
			snprintf(err, size, "%s:%u: %.*s: no value", path,
			    lineno, (int)klen, key);
			goto fail;
		}
		if (set(cf, key, klen, p, why, sizeof(why)) == -1) {
			snprintf(err, size, "%s:%u: %s", path, lineno, why);
			goto fail;
		}
		/* set() found it, so find() does */
		c = (int)(find(key, klen) - settings);
		if (seen[c] != 0) {
			snprintf(err, size,
			    "%s:%u: %s is set already, on line %u", path,
			    lineno, settings[c].key, seen[c]);
			goto fail;
		}
		seen[c] = lineno;
	}
	if (ferror(f)) {
		snprintf(err, size, "%s: %s", path, strerror(errno));
		goto fail;
	}
	fclose(f);
	return 0;
fail:
	fclose(f);
	return -1;
}

/* Whether S is a valid instance name: 1 to 40 of [A-Za-z0-9_.-], no '.' first. */
int
config_name_valid(const char *s)
{
	size_t n = strspn(s,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRST"
	    "UVWXYZ0123456789_.-");

	return n > 0 && n <= 40 && s[n] == '\0' && s[0] != '.';
}
