/*
 * reap.c - learn of every worker's death and finish what it left.
 *
 * A worker that quits normally has told its rooms and released its row.
 * One that was killed (a bug, the OOM killer, kill -9) may have left all
 * of that undone and may even hold a lock; the master, which learns of
 * every death through SIGCHLD and waitpid(), completes it here.
 */
#include <errno.h>
#include <string.h>
#include <sys/wait.h>

#include "master.h"
#include "../common/log.h"
#include "../common/util.h"

/* Takes back the locks PID held, repairing the ring if needed. */
static void
repair_locks(struct master *mp, pid_t pid)
{
	struct shm_header *h = mp->shm.h;

	if (lock_release_dead(&h->publock, pid)) {
		int fixed = ring_repair(&mp->shm);

		lock_give(&h->publock);
		log_err("repair: worker died holding a lock pid=%ld "
			"lock=publish slot=%s",
		    (long)pid, fixed ? "skipped" : "intact");
	}
	if (lock_release_dead(&h->tablock, pid)) {
		table_repair(&mp->shm);
		lock_give(&h->tablock);
		log_err("repair: worker died holding a lock pid=%ld lock=table",
		    (long)pid);
	}
}

/*
 * Tells the rooms of row ROW that its client is gone, those small enough
 * to be told (announce_limit).
 */
static void
goodbye_for(struct master *mp, int row)
{
	struct row *r = &mp->shm.rows[row];
	char room[ROOM_MAX + 1];
	struct msg m;
	int i, in = 0, told = 0;

	memset(&m, 0, offsetof(struct msg, text));
	m.type = MSG_QUIT;
	m.sender = row;
	m.sender_gen = r->gen;
	m.target = TARGET_ALL;
	m.time_ms = wall_ms();
	memcpy(m.nick, r->nick, sizeof(m.nick));
	m.nick[NICK_MAX] = '\0';
	for (i = 0; i < ROOMS_PER_CLIENT; i++) {
		if ((m.rooms[i] = atomic_load(&r->rooms[i].hash)) == 0)
			continue;
		in++;
		memcpy(room, r->rooms[i].name, sizeof(room));
		room[ROOM_MAX] = '\0';
		if (table_crowded(&mp->shm, m.rooms[i], room,
			mp->shm.h->lim.announce_limit, row))
			m.rooms[i] = 0;
		else
			told++;
	}
	if (in > 0 && told == 0)
		return; /* every room of its was too big to be told */
	m.len = (uint16_t)strlcpy_(m.text, "connection lost", TEXT_MAX + 1);
	ring_wake(&mp->shm, &m, ring_publish(&mp->shm, &m), row);
}

void
reap_worker(struct master *mp, pid_t pid, int status)
{
	int row;

	if (mp->hot->children > 0)
		mp->hot->children--;
	repair_locks(mp, pid);
	row = table_find_pid(&mp->shm, pid);
	if (row >= 0) {
		struct row *r = &mp->shm.rows[row];

		if (!atomic_load(&mp->shm.h->shutting_down) &&
		    atomic_load(&r->state) >= ROW_ACTIVE &&
		    !atomic_load(&r->quit_sent))
			goodbye_for(mp, row);
		ring_forgive(&mp->shm, row);
		table_release(&mp->shm, row);
	}
	if (WIFSIGNALED(status))
		log_warnx("worker killed pid=%ld signal=%d row_released=%s",
		    (long)pid, WTERMSIG(status), row >= 0 ? "yes" : "no");
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		log_warnx("worker failed pid=%ld status=%d", (long)pid,
		    WEXITSTATUS(status));
	else
		log_debug("worker reaped pid=%ld", (long)pid);
}

/* Reaps every worker that has died; never blocks. */
void
reap_children(struct master *mp)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0 ||
	    (pid == -1 && errno == EINTR))
		if (pid > 0 && !logproc_reaped(mp, pid, status))
			reap_worker(mp, pid, status);
}
