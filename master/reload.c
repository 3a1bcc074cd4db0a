/*
 * reload.c - what the configuration decides while chatd runs: the limits
 * and the message of the day in the segment, and SIGHUP.
 *
 * The limits live in the segment's header, where every worker reads them
 * each time it needs one, so writing them there changes them for running
 * clients too.  What the segment and the sockets were made with (port,
 * address, instance name, ring and table size, user) stays until a
 * restart; a reload that asks for another value is told so in the log.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "master.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../worker/worker.h"

/*
 * Makes LIM the limits every worker obeys, field by field (each is read on
 * its own, so each is stored on its own).  A running worker keeps the
 * send timeout and the room for backlog lines it started with.  Returns
 * whether anything changed.
 */
int
limits_apply(struct shm *s, const struct shm_limits *lim)
{
	/* struct shm_limits is uint32_t fields only */
	uint32_t *to = (uint32_t *)&s->h->lim;
	const uint32_t *from = (const uint32_t *)lim;
	size_t i;

	if (memcmp(to, from, sizeof(*lim)) == 0)
		return 0;
	for (i = 0; i < sizeof(*lim) / sizeof(uint32_t); i++)
		__atomic_store_n(&to[i], from[i], __ATOMIC_RELAXED);
	return 1;
}

/*
 * Reads the message of the day from PATH into *TEXT (malloc'd, "" for no
 * PATH), each line made safe for terminals and cut to what a notice holds.
 * Returns 0, or -1 with the reason in ERR.
 */
int
motd_read(const char *path, char **textp, char *err, size_t size)
{
	char *text, line[TEXT_MAX + 1], raw[2048];
	size_t used = 0, n;
	FILE *f = NULL;
	int c;

	if ((text = calloc(1, MOTD_MAX)) == NULL) {
		snprintf(err, size, "motd: out of memory");
		return -1;
	}
	*textp = text;
	if (path == NULL)
		return 0;
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, size, "motd %s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(raw, sizeof(raw), f) != NULL) {
		n = strcspn(raw, "\r\n");
		if (raw[n] == '\0' && !feof(f))
			while ((c = getc(f)) != EOF && c != '\n')
				; /* longer than we keep: drop the rest */
		/* "*** - " and CR LF around it must fit in a line */
		if (n > TEXT_MAX - 8)
			n = TEXT_MAX - 8;
		n = sanitize(raw, n, line, TEXT_MAX - 8);
		if (used + n + 2 > MOTD_MAX)
			break; /* the rest does not fit: cut at a line */
		memcpy(text + used, line, n);
		used += n;
		text[used++] = '\n';
		text[used] = '\0';
	}
	if (ferror(f)) {
		snprintf(err, size, "motd %s: %s", path, strerror(errno));
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

/* Whether two optional strings differ. */
static int
differ(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

/* Logs that setting KEY keeps WAS although the file now says NOW. */
static void
kept(const char *key, const char *was, const char *now)
{
	log_warnx("reload: %s cannot change while chatd runs; keeping %s "
		  "(the file says %s)",
	    key, was != NULL ? was : "the default",
	    now != NULL ? now : "the default");
}

/*
 * SIGHUP: reads the configuration again, as at start-up, and applies what
 * can change live.  A bad file changes nothing.
 */
void
master_reload(struct master *mp)
{
	struct config nc, *cf = &mp->cf;
	char err[1200], a[32], b[32], *motd = NULL;
	char **owned;

	if (master_configure(&nc, mp->argc, mp->argv, err, sizeof(err)) ==
	    -1) {
		log_err("reload: %s; keeping the running configuration", err);
		config_free(&nc);
		return;
	}
	if (differ(cf->port, nc.port))
		kept("port", cf->port, nc.port);
	if (differ(cf->bind, nc.bind))
		kept("listen", cf->bind, nc.bind);
	if (differ(cf->name, nc.name))
		kept("name", cf->name, nc.name);
	if (differ(cf->user, nc.user))
		kept("user", cf->user, nc.user);
	if (differ(cf->pidfile, nc.pidfile))
		kept("pidfile", cf->pidfile, nc.pidfile);
	if (cf->facility != nc.facility)
		kept("facility", "the running one", "another");
	if (cf->maxclients != nc.maxclients) {
		snprintf(a, sizeof(a), "%lu", cf->maxclients);
		snprintf(b, sizeof(b), "%lu", nc.maxclients);
		kept("max_clients", a, b);
	}
	if (cf->nslots != nc.nslots) {
		snprintf(a, sizeof(a), "%lu", cf->nslots);
		snprintf(b, sizeof(b), "%lu", nc.nslots);
		kept("ring_slots", a, b);
	}
	if (cf->huge_pages != nc.huge_pages)
		kept("huge_pages", cf->huge_pages ? "yes" : "no",
		    nc.huge_pages ? "yes" : "no");
	if (motd_read(nc.motd, &motd, err, sizeof(err)) == -1) {
		log_err("reload: %s; keeping the running configuration", err);
		free(motd);
		config_free(&nc);
		return;
	}
	shm_set_motd(&mp->shm, motd);
	free(motd);
	/* what can change, changes */
	if (limits_apply(&mp->shm, &nc.lim))
		log_notice("reload: limits now backlog=%u flood=%u:%u "
			   "flood_kick=%u send_timeout=%u idle_timeout=%u "
			   "register_timeout=%u nick_length=%u "
			   "rooms_per_client=%u max_rooms=%u "
			   "announce_limit=%u batch_delay=%u "
			   "batch_clients=%u",
		    nc.lim.backlog, nc.lim.flood_rate, nc.lim.flood_burst,
		    nc.lim.flood_kick, nc.lim.send_timeout,
		    nc.lim.idle_timeout, nc.lim.register_timeout,
		    nc.lim.nick_length, nc.lim.rooms_per_client,
		    nc.lim.max_rooms, nc.lim.announce_limit,
		    nc.lim.batch_delay, nc.lim.batch_clients);
	cf->lim = nc.lim;
	cf->maxperhost = nc.maxperhost;
	cf->workers_per_copy = nc.workers_per_copy;
	cf->stats_interval = nc.stats_interval;
	cf->verbose = nc.verbose;
	log_setverbose(nc.verbose);
	atomic_store(&mp->shm.h->verbose, nc.verbose);
	/* the new copies of the strings live as long as the old ones */
	if (nc.nowned == 0) {
		cf->motd = NULL; /* nothing in the file names one */
	} else if ((owned = realloc(cf->owned,
			(cf->nowned + nc.nowned) * sizeof(*owned))) != NULL) {
		memcpy(owned + cf->nowned, nc.owned,
		    nc.nowned * sizeof(*owned));
		cf->owned = owned;
		cf->nowned += nc.nowned;
		free(nc.owned);
		cf->motd = nc.motd;
	} else {
		config_free(&nc); /* the motd path is the old one, then */
	}
	log_notice("reload: configuration %s read", cf->config);
}
