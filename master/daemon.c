/*
 * daemon.c - detach like a classic daemon, and the pidfile.
 *
 * The parent that the administrator started waits on a pipe until the
 * detached daemon has its pidfile and segment and says "ok", so a daemon
 * that cannot start fails with a message and a non-zero exit status at the
 * prompt, not silently in the background.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "master.h"
#include "../common/log.h"
#include "../common/util.h"

/* In the first parent: wait for the daemon's word and exit with it. */
static void
await_ready(int fd)
{
	char buf[512];
	size_t used = 0;
	ssize_t n;

	while (used < sizeof(buf) - 1) {
		n = read(fd, buf + used, sizeof(buf) - 1 - used);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	buf[used] = '\0';
	if (strcmp(buf, "ok") == 0)
		exit(0);
	if (used == 0)
		fprintf(stderr,
		    "chatd: the daemon exited during start-up; "
		    "see the system log\n");
	else
		fprintf(stderr, "chatd: %s\n", buf);
	exit(1);
}

/*
 * Detaches: fork, setsid, fork again (so the daemon can never regain a
 * controlling terminal), chdir /, stdio to /dev/null.  Returns, in the
 * daemon, the pipe on which to report readiness with daemon_ready().
 */
int
daemon_detach(void)
{
	int p[2], fd;
	pid_t pid;

	if (pipe(p) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0) {
		close(p[1]);
		/* the middle process exits at once; leave no zombie */
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
		await_ready(p[0]);
	}
	close(p[0]);
	if (setsid() == -1)
		fatal("setsid");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0)
		_exit(0);
	if (chdir("/") == -1)
		fatal("chdir /");
	umask(022);
	if ((fd = open("/dev/null", O_RDWR)) == -1)
		fatal("open /dev/null");
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	log_tostderr(0);
	return p[1];
}

/* Tells the waiting parent that start-up worked (ERR NULL) or why not. */
void
daemon_ready(struct master *mp, const char *err)
{
	const char *word = err != NULL ? err : "ok";

	if (mp->ready_fd == -1)
		return;
	if (write_all(mp->ready_fd, word, strlen(word)) == -1) {
		/* the parent is gone; nobody to tell */
	}
	close(mp->ready_fd);
	mp->ready_fd = -1;
}

/*
 * Creates and locks the pidfile PATH and writes our pid in it.  Returns 0;
 * -1 with errno set if it cannot be opened or written; -2 if a running
 * chatd holds its lock (whose pid is logged).
 */
int
pidfile_open(struct master *mp, const char *path)
{
	struct flock fl;
	char buf[32];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1)
		return -1;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_SETLK, &fl) == -1) {
		n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		log_warnx("pidfile %s is locked by a running chatd (pid %s)",
		    path, buf[0] ? buf : "?");
		close(fd);
		return -2;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || write_all(fd, buf, (size_t)n) == -1) {
		close(fd);
		return -1;
	}
	mp->pidfd = fd;
	strlcpy_(mp->pidpath, path, sizeof(mp->pidpath));
	return 0;
}

#define LOOKUP_GROUPS 1024 /* supplementary groups of the user, at most */

/* What lookup_user() learnt of a user. */
struct who {
	int found;   /* 0: no such user */
	int ngroups; /* -1: more than LOOKUP_GROUPS */
	uid_t uid;
	gid_t gid;
	gid_t groups[LOOKUP_GROUPS];
};

/*
 * Looks up user NAME, its ids and its groups, in a child process, which
 * writes them on a pipe and exits.  The lookup goes through NSS, which
 * loads modules (libnss_systemd and the libraries it needs): in the
 * master they stayed mapped for good and every worker inherited them, 15
 * of a worker's 39 mappings, each a kernel object to copy and link at
 * every fork().  Returns 0, or -1 with errno set if the lookup itself
 * failed.
 */
static int
lookup_user(const char *name, struct who *w)
{
	struct passwd *pw;
	size_t got = 0;
	ssize_t n;
	pid_t pid;
	int p[2], saved;

	memset(w, 0, sizeof(*w));
	if (pipe(p) == -1)
		return -1;
	if ((pid = fork()) == -1) {
		saved = errno;
		close(p[0]);
		close(p[1]);
		errno = saved;
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		if ((pw = getpwnam(name)) != NULL) {
			w->found = 1;
			w->uid = pw->pw_uid;
			w->gid = pw->pw_gid;
			w->ngroups = LOOKUP_GROUPS;
			if (getgrouplist(name, pw->pw_gid, w->groups,
				&w->ngroups) == -1)
				w->ngroups = -1;
		}
		while (got < sizeof(*w)) {
			n = write(p[1], (char *)w + got, sizeof(*w) - got);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0)
				_exit(1);
			got += (size_t)n;
		}
		_exit(0);
	}
	close(p[1]);
	while (got < sizeof(*w)) {
		n = read(p[0], (char *)w + got, sizeof(*w) - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(p[0]);
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
	if (got < sizeof(*w)) {
		memset(w, 0, sizeof(*w));
		errno = EIO;
		return -1;
	}
	return 0;
}

/*
 * Gives up root for good, before anything a client can reach exists:
 * switches to -u USER, or to "nobody" if root gave no -u, with that
 * user's groups.  The pidfile opened as root is handed to that user.
 * Returns 0, or -1 with the reason in WHY.
 */
int
drop_privileges(struct master *mp, char *why, size_t size)
{
	const char *name = mp->cf.user != NULL ? mp->cf.user : DEFAULT_USER;
	struct who w;

	if (geteuid() != 0 && mp->cf.user == NULL)
		return 0;
	if (lookup_user(name, &w) == -1) {
		snprintf(why, size, "cannot look up user %s: %s", name,
		    strerror(errno));
		return -1;
	}
	if (geteuid() != 0) {
		if (!w.found || w.uid != geteuid()) {
			snprintf(why, size, "-u %s needs root", name);
			return -1;
		}
		return 0;
	}
	if (!w.found) {
		snprintf(why, size, "no user %s%s", name,
		    mp->cf.user == NULL ? " to serve as instead of root (-u)"
					: "");
		return -1;
	}
	if (w.uid == 0) {
		snprintf(why, size,
		    "will not serve clients as root: give -u an "
		    "unprivileged user");
		return -1;
	}
	if (w.ngroups < 0) {
		snprintf(why, size, "user %s is in more than %d groups", name,
		    LOOKUP_GROUPS);
		return -1;
	}
	if (mp->pidfd != -1 && fchown(mp->pidfd, w.uid, w.gid) == -1) {
		snprintf(why, size, "chown pidfile to %s: %s", name,
		    strerror(errno));
		return -1;
	}
	if (setgroups((size_t)w.ngroups, w.groups) == -1 ||
	    setgid(w.gid) == -1 || setuid(w.uid) == -1) {
		snprintf(why, size, "cannot become %s: %s", name,
		    strerror(errno));
		return -1;
	}
	/* no way back */
	if (setuid(0) != -1 || geteuid() == 0) {
		snprintf(why, size, "still root after becoming %s", name);
		return -1;
	}
	log_notice("serving as user=%s uid=%ld gid=%ld", name, (long)w.uid,
	    (long)w.gid);
	return 0;
}

void
pidfile_remove(struct master *mp)
{
	if (mp->pidfd == -1)
		return;
	/*
	 * After dropping privileges we may not remove a file in /run: an
	 * empty, unlocked pidfile names nobody, as good as none.
	 */
	if (unlink(mp->pidpath) == -1 && ftruncate(mp->pidfd, 0) == -1) {
		/* nothing more we can do */
	}
	close(mp->pidfd);
	mp->pidfd = -1;
}
