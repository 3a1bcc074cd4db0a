/*
 * adopt.c - take over the workers of a master that died.
 *
 * Workers hold their own sockets and mappings, so a master killed by
 * SIGKILL, a crash or an upgrade leaves its clients chatting.  A master
 * started later with the same instance name finds the segment, sees that
 * the master recorded there is gone, and adopts the workers still alive:
 * they are no longer its children, so it watches each through a pidfd
 * (pidfd_open(2), Linux 5.3) instead of SIGCHLD, and repairs after them as
 * after its own.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "master.h"
#include "../common/log.h"
#include "../common/util.h"

static int
pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int
add_adopted(struct master *mp, pid_t pid)
{
	struct adopted *a;
	int fd;

	if ((fd = pidfd_open_(pid)) == -1) {
		if (errno != ENOSYS)
			return -1;
		/* an old kernel, or valgrind: look at it now and then */
		if (!mp->adopt_polling)
			log_notice("no pidfd_open(2): looking at adopted workers "
				   "every %d ms",
			    ADOPT_POLL_MS);
		mp->adopt_polling = 1;
	}
	a = realloc(mp->adopted, (mp->nadopted + 1) * sizeof(*a));
	if (a == NULL) {
		close(fd);
		return -1;
	}
	mp->adopted = a;
	mp->adopted[mp->nadopted].pid = pid;
	mp->adopted[mp->nadopted].fd = fd;
	mp->nadopted++;
	mp->hot->children++;
	return 0;
}

/* Finishes what the dead master left locked. */
static void
repair_master_locks(struct master *mp, pid_t old)
{
	struct shm_header *h = mp->shm.h;

	if (lock_release_dead(&h->publock, old)) {
		ring_repair(&mp->shm);
		lock_give(&h->publock);
		log_err("repair: old master died holding a lock pid=%ld "
			"lock=publish",
		    (long)old);
	}
	if (lock_release_dead(&h->tablock, old)) {
		table_repair(&mp->shm);
		lock_give(&h->tablock);
		log_err("repair: old master died holding a lock pid=%ld "
			"lock=table",
		    (long)old);
	}
	/* wake-ups it owed, if it died between a publish and them */
	ring_forgive(&mp->shm, -1);
}

/* Whether any row of S belongs to a worker that still runs. */
static int
has_live_workers(struct shm *s)
{
	uint32_t i;
	pid_t pid;

	for (i = 0; i < s->h->nrows; i++) {
		pid = atomic_load(&s->rows[i].pid);
		if (atomic_load(&s->rows[i].state) != ROW_FREE && pid > 0 &&
		    !proc_is_dead(pid))
			return 1;
	}
	return 0;
}

/*
 * If segment NAME belongs to a dead master and live workers, maps it into
 * MP->shm and adopts them.  Returns 1 if it did; 0 if there is nothing to
 * adopt (no segment, a live master, or no live worker), and then the
 * caller creates the segment as usual.
 */
int
adopt_segment(struct master *mp, const char *name)
{
	struct shm s;
	uint32_t i, n = 0, gone = 0;
	pid_t old, pid;

	if (shm_attach(&s, name) == -1)
		return 0;
	old = atomic_load(&s.h->master_pid);
	if ((old > 0 && !proc_is_dead(old)) || !has_live_workers(&s)) {
		shm_detach(&s);
		return 0;
	}
	mp->shm = s;
	/* new workers inherit the advice with our mapping */
	(void)shm_huge_pages(&mp->shm, mp->cf.huge_pages);
	atomic_store(&s.h->master_pid, (int32_t)getpid());
	repair_master_locks(mp, old);
	for (i = 0; i < s.h->nrows; i++) {
		if (atomic_load(&s.rows[i].state) == ROW_FREE)
			continue;
		pid = atomic_load(&s.rows[i].pid);
		if (pid > 0 && !proc_is_dead(pid) &&
		    add_adopted(mp, pid) == 0) {
			n++;
			continue;
		}
		/* died with the master, or never started: as if reaped */
		if (pid > 0) {
			mp->hot->children++;
			reap_worker(mp, pid, 0);
		} else {
			table_release(&mp->shm, (int)i);
		}
		gone++;
	}
	if (mp->cf.maxclients != s.h->nrows || mp->cf.nslots != s.h->nslots)
		log_warnx("adopted segment keeps its size segment=%s "
			  "max_clients=%u ring_slots=%u",
		    name, s.h->nrows, s.h->nslots);
	if (limits_apply(&s, &mp->cf.lim))
		log_notice("adopted segment takes our limits segment=%s "
			   "backlog=%u flood=%u:%u send_timeout=%u",
		    s.name, mp->cf.lim.backlog, mp->cf.lim.flood_rate,
		    mp->cf.lim.flood_burst, mp->cf.lim.send_timeout);
	log_notice("adopted the workers of a dead master workers=%u "
		   "old_master=%ld segment=%s gone=%u",
	    n, (long)old, name, gone);
	return 1;
}

/*
 * How long the master may sleep before looking at the adopted workers it
 * has no pidfd for: -1 if it has a pidfd for each.
 */
int
adopt_timeout(struct master *mp)
{
	unsigned i;

	for (i = 0; mp->adopt_polling && i < mp->nadopted; i++)
		if (mp->adopted[i].fd == -1)
			return ADOPT_POLL_MS;
	return -1;
}

/* Adds the adopted workers' pidfds to PFD; returns how many. */
int
adopt_pollfds(struct master *mp, struct pollfd *pfd)
{
	unsigned i;

	for (i = 0; i < mp->nadopted; i++) {
		pfd[i].fd = mp->adopted[i].fd; /* poll skips -1 */
		pfd[i].events = POLLIN;
		pfd[i].revents = 0;
	}
	return (int)mp->nadopted;
}

/*
 * Handles the adopted workers whose pidfd (in PFD, as adopt_pollfds()
 * filled it, N entries) says they exited: someone else reaps them, we
 * repair as after our own.
 */
void
adopt_reap(struct master *mp, const struct pollfd *pfd, int n)
{
	struct adopted a;
	unsigned i, k = 0;

	/*
	 * Called at every pass of the master's loop: writing even the same
	 * count would copy struct master's page, whose old copy every worker
	 * forked since would keep (see struct master_hot).
	 */
	if (mp->nadopted == 0)
		return;
	for (i = 0; i < (unsigned)n && i < mp->nadopted; i++) {
		a = mp->adopted[i];
		if (a.fd == -1 ? !proc_is_dead(a.pid)
			       : (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) ==
				   0) {
			mp->adopted[k++] = a;
			continue;
		}
		log_info("adopted worker exited pid=%ld", (long)a.pid);
		if (a.fd != -1)
			close(a.fd);
		reap_worker(mp, a.pid, 0);
	}
	for (; i < mp->nadopted; i++)
		mp->adopted[k++] = mp->adopted[i];
	mp->nadopted = k;
}
