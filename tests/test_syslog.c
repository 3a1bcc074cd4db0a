/*
 * test_syslog.c - what an administrator's syslog gets from chatd.
 *
 * A real rsyslogd from Debian receives chatd's messages, and writes each
 * with its facility and level.  So that neither the machine's /dev/log nor
 * its syslog is touched, the test runs in a mount namespace of its own
 * whose /dev holds just what chatd needs (null, urandom, shm) and the test
 * syslogd's socket as log.  It needs root for that; without root or
 * without rsyslogd it says why it cannot run.
 */
#define _GNU_SOURCE /* unshare(2) */
#include <check.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "../common/util.h"

#define RSYSLOGD "/usr/sbin/rsyslogd"

static char dir[64], out[96];

/* Why the test cannot run here, or NULL if it can. */
static const char *
cannot_run(void)
{
	if (geteuid() != 0)
		return "it needs root for a mount namespace of its own";
	if (access(RSYSLOGD, X_OK) != 0)
		return "there is no " RSYSLOGD " (apt-get install rsyslog)";
	return NULL;
}

/* An empty file or directory at PATH, bind-mounted from FROM. */
static int
bind_into(const char *from, const char *path, int is_dir)
{
	int fd;

	if (is_dir) {
		if (mkdir(path, 0755) == -1)
			return -1;
	} else {
		if ((fd = open(path, O_CREAT | O_WRONLY, 0666)) == -1)
			return -1;
		close(fd);
	}
	return mount(from, path, NULL, MS_BIND | MS_REC, NULL);
}

/*
 * Makes /dev, for this process and its children only, a directory with
 * null, urandom, shm and log, where log is a socket the test syslogd listens on.
 */
static int
private_dev(const char *newdev)
{
	char path[128];

	if (unshare(CLONE_NEWNS) == -1 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/null", newdev);
	if (bind_into("/dev/null", path, 0) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/urandom", newdev);
	if (bind_into("/dev/urandom", path, 0) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/shm", newdev);
	if (bind_into("/dev/shm", path, 1) == -1)
		return -1;
	return mount(newdev, "/dev", NULL, MS_BIND | MS_REC, NULL);
}

/* Starts rsyslogd writing "facility.level program[pid]: text" lines to OUT. */
static pid_t
start_syslogd(void)
{
	char conf[96], pidfile[96];
	struct stat st;
	uint64_t deadline;
	FILE *f;
	pid_t pid;

	snprintf(conf, sizeof(conf), "%s/rsyslog.conf", dir);
	snprintf(pidfile, sizeof(pidfile), "%s/rsyslogd.pid", dir);
	if ((f = fopen(conf, "w")) == NULL)
		return -1;
	fprintf(f,
	    "global(workDirectory=\"%s\")\n"
	    "module(load=\"imuxsock\" SysSock.Name=\"/dev/log\"\n"
	    "    SysSock.RateLimit.Interval=\"0\")\n"
	    "template(name=\"t\" type=\"string\"\n"
	    "    string=\"%%syslogfacility-text%%.%%syslogseverity-text%% "
	    "%%programname%%[%%procid%%]:%%msg%%\\n\")\n"
	    "*.* action(type=\"omfile\" file=\"%s\" template=\"t\")\n",
	    dir, out);
	fclose(f);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		setpgid(0, 0);
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		execl(RSYSLOGD, "rsyslogd", "-n", "-f", conf, "-i", pidfile,
		    (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	harness_track(pid, "");
	/* ready once its socket is there */
	deadline = now_ms() + (uint64_t)T_TIMEOUT;
	while (stat("/dev/log", &st) == -1 || !S_ISSOCK(st.st_mode)) {
		if (now_ms() > deadline)
			return -1;
		usleep(10000); /* a file to appear: nothing to wait on */
	}
	return pid;
}

/*
 * Waits until OUT has N lines with both WANT and TOO; returns the Nth or
 * NULL.
 */
static char *
logged_n(const char *want, const char *too, int n, char *line, size_t size)
{
	uint64_t deadline = now_ms() + (uint64_t)T_TIMEOUT;
	FILE *f;
	int seen;

	while (now_ms() < deadline) {
		if ((f = fopen(out, "r")) != NULL) {
			seen = 0;
			while (fgets(line, (int)size, f) != NULL)
				if (strstr(line, want) != NULL &&
				    strstr(line, too) != NULL && ++seen == n) {
					fclose(f);
					return line;
				}
			fclose(f);
		}
		usleep(20000); /* rsyslogd writes when it will */
	}
	return NULL;
}

static char *
logged(const char *want, const char *too, char *line, size_t size)
{
	return logged_n(want, too, 1, line, size);
}

/* "FACILITY.LEVEL chatd[PID]:" in WANT. */
static const char *
from(char *want, size_t size, const char *level, pid_t pid)
{
	snprintf(want, size, "local3.%s chatd[%ld]:", level, (long)pid);
	return want;
}

/* chatd's lines in OUT that are not at FACILITY (the first in LINE). */
static int
lines_not_at(const char *facility, char *line, size_t size)
{
	FILE *f = fopen(out, "r");
	int n = 0;

	if (f == NULL)
		return -1;
	while (fgets(line, (int)size, f) != NULL)
		if (strstr(line, " chatd[") != NULL &&
		    strncmp(line, facility, strlen(facility)) != 0)
			n++;
	fclose(f);
	return n;
}

START_TEST(lifecycle_arrives_with_facility_and_level)
{
	const char *const args[] = {"-F", "local3", NULL};
	const char *why = cannot_run();
	char newdev[96], line[1024], want[64];
	struct daemon d;
	struct client *a;
	pid_t syslogd, master, worker, logproc;
	int status;

	if (why != NULL) {
		fprintf(stderr, "test_syslog: not run: %s\n", why);
		return;
	}
	/* named after the runner, which removes it whatever happens */
	snprintf(dir, sizeof(dir), "/tmp/chatd-syslog-%ld-XXXXXX",
	    (long)getppid());
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0755), 0);
	snprintf(out, sizeof(out), "%s/messages", dir);
	snprintf(newdev, sizeof(newdev), "%s/dev", dir);
	ck_assert_int_eq(mkdir(newdev, 0755), 0);
	ck_assert_int_eq(private_dev(newdev), 0);
	ck_assert_int_gt(syslogd = start_syslogd(), 0);

	ck_assert_int_eq(daemon_start(&d, args), 0);
	master = d.pid;
	ck_assert_ptr_nonnull(a = client_greeted(&d, NULL, 0));
	ck_assert_int_gt(worker = worker_pid_of(&d, 1), 0);
	client_send(a, "/quit\n");
	ck_assert_int_eq(client_wait_eof(a, T_TIMEOUT), 0);
	client_close(a);
	ck_assert_int_eq(daemon_wait_log(&d, "disconnect", T_TIMEOUT), 0);
	/* the master's lines go through its log process: one killed is
	 * started again, and what the master logs meanwhile is not lost */
	ck_assert_int_gt(logproc = daemon_logproc(&d), 0);
	ck_assert_int_eq(kill(logproc, SIGKILL), 0);
	ck_assert_int_eq(
	    daemon_wait_log(&d, "log process restarted pid=", T_TIMEOUT), 0);
	ck_assert_int_gt(daemon_logproc(&d), 0);
	ck_assert_int_ne(daemon_logproc(&d), logproc);
	ck_assert_ptr_nonnull(a = client_greeted(&d, NULL, 0));
	client_close(a);
	ck_assert_int_eq(daemon_signal(&d, SIGUSR1), 0);
	ck_assert_int_eq(daemon_wait_log(&d, "stats clients=", T_TIMEOUT), 0);
	ck_assert_int_eq(daemon_stop(&d), 0);
	ck_assert_int_eq(daemon_leftovers(&d), 0);
	daemon_free(&d);

	/*
	 * Each arrives, with its facility and level, and the pid of the
	 * process that logged it: the master's through its log process, up to
	 * its last line; a worker's from the worker.
	 */
	ck_assert_ptr_nonnull(logged(from(want, sizeof(want), "notice", master),
	    " started version=", line, sizeof(line)));
	ck_assert_ptr_nonnull(logged_n(from(want, sizeof(want), "info", master),
	    " connect peer=127.0.0.1", 2, line, sizeof(line)));
	ck_assert_ptr_nonnull(logged(from(want, sizeof(want), "info", worker),
	    " disconnect peer=127.0.0.1", line, sizeof(line)));
	ck_assert_ptr_nonnull(logged(from(want, sizeof(want), "warning", master),
	    " log process died", line, sizeof(line)));
	ck_assert_ptr_nonnull(logged(from(want, sizeof(want), "info", master),
	    " stats clients=", line, sizeof(line)));
	ck_assert_ptr_nonnull(logged(from(want, sizeof(want), "notice", master),
	    " chatd stopped", line, sizeof(line)));
	/* and nothing at another facility */
	ck_assert_int_eq(lines_not_at("local3.", line, sizeof(line)), 0);

	kill(syslogd, SIGTERM);
	ck_assert_int_eq(waitpid(syslogd, &status, 0), syslogd);
}
END_TEST

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* The runner's teardown: the test's scratch directories go. */
static void
remove_scratch(void)
{
	char prefix[64], path[320];
	struct dirent *e;
	DIR *tmp;

	harness_cleanup();
	snprintf(prefix, sizeof(prefix), "chatd-syslog-%ld-", (long)getpid());
	if ((tmp = opendir("/tmp")) == NULL)
		return;
	while ((e = readdir(tmp)) != NULL)
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
			snprintf(path, sizeof(path), "/tmp/%s", e->d_name);
			nftw(path, remove_one, 8, FTW_DEPTH | FTW_PHYS);
		}
	closedir(tmp);
}

static Suite *
syslog_suite(void)
{
	Suite *s = suite_create("syslog");
	TCase *tc = tcase_create("rsyslogd");

	tcase_add_unchecked_fixture(tc, harness_init, remove_scratch);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, lifecycle_arrives_with_facility_and_level);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return harness_run(syslog_suite());
}
