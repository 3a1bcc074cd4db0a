/*
 * test_daemon.c - the real chatd over real sockets.
 *
 * Every test starts its own daemon in the foreground on a free loopback
 * port with a unique instance name (harness.c), talks to it as nc would,
 * and stops it, checking that nothing is left behind.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <dirent.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <linux/tcp.h> /* tcp_info with tcpi_segs_in */
#include <unistd.h>

#include "harness.h"
#include "../common/util.h"

#define LINE 8192

static struct daemon d;
static struct client *a, *b, *c;
static char na[32], nb[32], nc[32];

static void
start(const char *const *extra)
{
	ck_assert_msg(daemon_start(&d, extra) == 0, "chatd did not start: %s",
	    d.log ? d.log : "(no output)");
}

/* Stops the daemon and checks that it exits 0 leaving nothing behind. */
static void
stop(void)
{
	ck_assert_int_eq(daemon_stop(&d), 0);
	ck_assert_int_eq(daemon_leftovers(&d), 0);
	daemon_free(&d);
}

/* A daemon with options EXTRA and three greeted clients, A, B and C. */
static void
three_with(const char *const *extra)
{
	start(extra);
	ck_assert_ptr_nonnull(a = client_greeted(&d, na, sizeof(na)));
	ck_assert_ptr_nonnull(b = client_greeted(&d, nb, sizeof(nb)));
	ck_assert_ptr_nonnull(c = client_greeted(&d, nc, sizeof(nc)));
	/* everyone has seen everyone join: the ring is quiet */
	ck_assert_int_eq(client_expect(a, nc, NULL, 0), 0);
	ck_assert_int_eq(client_expect(b, nc, NULL, 0), 0);
}

/* A daemon and three greeted clients, A, B and C, in #lobby. */
static void
three(void)
{
	three_with(NULL);
}

static void two_done(void);

static void
one_done(void)
{
	client_close(a);
	a = NULL;
	stop();
}

static void
three_done(void)
{
	client_close(c);
	c = NULL;
	two_done();
}

/* Closes A and B and stops the daemon, checking it leaves nothing. */
static void
two_done(void)
{
	client_close(b);
	b = NULL;
	one_done();
}

/* Sends LINE from X and waits for a line holding WANT. */
static void
answer(struct client *x, const char *line, const char *want)
{
	client_send(x, "%s\n", line);
	ck_assert_msg(client_expect(x, want, NULL, 0) == 0,
	    "\"%s\" got no \"%s\"", line, want);
}

/* Renames client X to NICK and waits for the confirmation. */
static void
rename_to(struct client *x, const char *nick)
{
	client_send(x, "/nick %s\n", nick);
	ck_assert_int_eq(client_expect(x, "you are now known as", NULL, 0), 0);
}

START_TEST(greeting_names_nick_and_help)
{
	char line[LINE], nick[32];
	struct client *x;

	start(NULL);
	x = client_open(d.port);
	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(client_expect(x, "Welcome to chatd", line,
			     sizeof(line)),
	    0);
	ck_assert_ptr_nonnull(strstr(line, "guest"));
	ck_assert(sscanf(strstr(line, "guest"), "%31[a-z0-9]", nick) == 1);
	ck_assert_int_eq(client_expect(x, "Your nickname is", line,
			     sizeof(line)),
	    0);
	ck_assert_ptr_nonnull(strstr(line, nick));
	ck_assert_int_eq(client_expect(x, "/help", NULL, 0), 0);
	ck_assert_int_eq(client_expect(x, "you joined #lobby", NULL, 0), 0);
	client_close(x);
	stop();
}
END_TEST

START_TEST(broadcast_reaches_the_others)
{
	char line[LINE], want[64];

	three();
	client_send(a, "hello everyone\r\n");
	snprintf(want, sizeof(want), "<%s> hello everyone", na);
	ck_assert_int_eq(client_expect(b, "hello everyone", line, sizeof(line)),
	    0);
	ck_assert_str_eq(line, want);
	ck_assert_int_eq(client_expect(c, "hello everyone", line, sizeof(line)),
	    0);
	ck_assert_str_eq(line, want);
	three_done();
}
END_TEST

START_TEST(no_echo_to_the_sender)
{
	three();
	client_send(a, "only for others\n");
	ck_assert_int_eq(client_expect(b, "only for others", NULL, 0), 0);
	/* B's reply is published after A's line: A sees it, and must not
	 * have seen its own line before it */
	client_send(b, "marker-after\n");
	ck_assert_int_eq(client_expect_before(a, "marker-after",
			     "only for others"),
	    0);
	three_done();
}
END_TEST

START_TEST(lf_and_crlf_and_partial_lines)
{
	char line[LINE];

	three();
	client_send(a, "par");
	client_send(a, "tial li");
	client_send(a, "ne\r");
	client_send(a, "\nsecond\nthird\r\n");
	ck_assert_int_eq(client_expect(b, "partial line", line, sizeof(line)),
	    0);
	ck_assert_ptr_null(strchr(line, '\r'));
	ck_assert_int_eq(client_expect(b, "> second", NULL, 0), 0);
	ck_assert_int_eq(client_expect(b, "> third", NULL, 0), 0);
	three_done();
}
END_TEST

START_TEST(nick_change_is_announced)
{
	char line[LINE], want[64];

	three();
	answer(a, "/nick alice", "you are now known as alice");
	snprintf(want, sizeof(want), "*** %s is now known as alice", na);
	ck_assert_int_eq(client_expect(b, "is now known as", line,
			     sizeof(line)),
	    0);
	ck_assert_str_eq(line, want);
	client_send(a, "hi\n");
	ck_assert_int_eq(client_expect(c, "> hi", line, sizeof(line)), 0);
	ck_assert_str_eq(line, "<alice> hi");
	three_done();
}
END_TEST

START_TEST(nick_unique_case_insensitively)
{
	three();
	rename_to(a, "Alice");
	answer(b, "/nick aLICE", "already in use");
	/* changing only the case of one's own nick is fine */
	answer(a, "/nick ALICE", "you are now known as ALICE");
	three_done();
}
END_TEST

START_TEST(nick_invalid_is_refused)
{
	three();
	answer(a, "/nick 1abc", "*** invalid nickname");
	answer(a, "/nick abcdefghijklmnopq", "*** invalid nickname");
	client_send(a,
	    "/nick a\x01"
	    "b\n");
	ck_assert_int_eq(client_expect(a, "you are now known as ab", NULL, 0),
	    0);
	answer(a, "/nick", "*** usage: /nick NAME");
	answer(a, "/nick x y", "*** usage: /nick NAME");
	three_done();
}
END_TEST

START_TEST(who_lists_the_room)
{
	char line[LINE];

	three();
	rename_to(a, "alice");
	client_send(b, "/who\n");
	ck_assert_int_eq(client_expect(b, "3 in #lobby:", line, sizeof(line)),
	    0);
	ck_assert_ptr_nonnull(strstr(line, "alice"));
	ck_assert_ptr_nonnull(strstr(line, nb));
	ck_assert_ptr_nonnull(strstr(line, nc));
	answer(b, "/who #empty", "nobody is in #empty");
	three_done();
}
END_TEST

START_TEST(msg_reaches_only_its_target)
{
	char line[LINE];

	three();
	rename_to(a, "alice");
	rename_to(b, "bob");
	answer(a, "/msg BOB psst secret", "-> *bob* psst secret");
	ck_assert_int_eq(client_expect(b, "psst", line, sizeof(line)), 0);
	ck_assert_str_eq(line, "*alice* psst secret");
	client_send(a, "public-after\n");
	ck_assert_int_eq(client_expect_before(c, "public-after", "psst"), 0);
	three_done();
}
END_TEST

START_TEST(msg_errors)
{
	three();
	rename_to(a, "alice");
	answer(a, "/msg nobody hello", "*** no such nickname: nobody");
	answer(a, "/msg alice hello", "*** that is you");
	answer(a, "/msg alice", "*** usage: /msg NICK TEXT");
	three_done();
}
END_TEST

START_TEST(me_is_an_action)
{
	char line[LINE];

	three();
	rename_to(a, "alice");
	client_send(a, "/me waves at everyone\n");
	ck_assert_int_eq(client_expect(b, "waves", line, sizeof(line)), 0);
	ck_assert_str_eq(line, "* alice waves at everyone");
	answer(a, "/me", "usage: /me");
	three_done();
}
END_TEST

START_TEST(rooms_separate_talk)
{
	char line[LINE];

	three();
	rename_to(a, "alice");
	rename_to(b, "bob");
	answer(a, "/join #ops", "you joined #ops");
	answer(b, "/join #OPS", "you joined #ops");
	ck_assert_int_eq(client_expect(a, "*** bob joined #ops", NULL, 0), 0);
	client_send(a, "ops only\n");
	ck_assert_int_eq(client_expect(b, "ops only", line, sizeof(line)), 0);
	ck_assert_str_eq(line, "<alice> ops only");
	/* C stays in #lobby: it sees the lobby line but never the ops one */
	client_send(b, "//lobby? no, ops\n");
	ck_assert_int_eq(client_expect(a, "/lobby? no, ops", NULL, 0), 0);
	answer(a, "/join #lobby", "#lobby is now your current room");
	client_send(a, "lobby line\n");
	ck_assert_int_eq(client_expect_before(c, "lobby line", "ops"), 0);
	/* B is in both; the lobby is not its current room: tagged */
	ck_assert_int_eq(client_expect(b, "lobby line", line, sizeof(line)), 0);
	ck_assert_str_eq(line, "[#lobby] <alice> lobby line");
	three_done();
}
END_TEST

START_TEST(join_shows_backlog)
{
	char line[LINE];

	three();
	rename_to(a, "alice");
	answer(a, "/join #hist", "you joined #hist");
	client_send(a, "one\ntwo\n/me three\n");
	client_send(a, "/msg %s sync\n", nb);
	ck_assert_int_eq(client_expect(b, "sync", NULL, 0), 0);
	answer(b, "/join #hist", "you joined #hist");
	ck_assert_int_eq(client_line(b, line, sizeof(line), T_TIMEOUT) > 0, 1);
	ck_assert_str_eq(line, "*** last 3 messages in #hist:");
	client_line(b, line, sizeof(line), T_TIMEOUT);
	ck_assert_str_eq(line, "<alice> one");
	client_line(b, line, sizeof(line), T_TIMEOUT);
	ck_assert_str_eq(line, "<alice> two");
	client_line(b, line, sizeof(line), T_TIMEOUT);
	ck_assert_str_eq(line, "* alice three");
	client_line(b, line, sizeof(line), T_TIMEOUT);
	ck_assert_str_eq(line, "*** end of backlog");
	three_done();
}
END_TEST

START_TEST(backlog_length_is_configurable)
{
	const char *const args[] = {"-B", "2", NULL};
	char line[LINE];

	start(args);
	ck_assert_ptr_nonnull(a = client_greeted(&d, na, sizeof(na)));
	client_send(a, "m1\nm2\nm3\nm4\n");
	ck_assert_ptr_nonnull(b = client_greeted(&d, nb, sizeof(nb)));
	/* b joined after a's four lines were published... or during; the
	 * backlog holds at most 2 of them and only lines before b's join */
	client_send(b, "/join #x\n");
	client_send(b, "/join #lobby\n");
	ck_assert_int_eq(client_expect(b, "#lobby is now your current", line,
			     sizeof(line)),
	    0);
	two_done();
}
END_TEST

START_TEST(part_leaves_a_room)
{
	char line[LINE];

	three();
	rename_to(a, "alice");
	answer(a, "/join #ops", "you joined #ops");
	client_send(b, "/join #ops\n");
	ck_assert_int_eq(client_expect(a, "joined #ops", NULL, 0), 0);
	answer(a, "/part #ops off to lunch",
	    "you left #ops; you now talk in #lobby");
	ck_assert_int_eq(client_expect(b, "alice left", line, sizeof(line)), 0);
	ck_assert_str_eq(line, "*** alice left #ops (off to lunch)");
	answer(a, "/part #ops", "*** you are not in #ops");
	answer(a, "/part", "/join a room to talk");
	answer(a, "into the void", "*** you are in no room");
	three_done();
}
END_TEST

START_TEST(rooms_lists_rooms_and_counts)
{
	char line[LINE];

	three();
	answer(a, "/join #ops", "you joined #ops");
	client_send(c, "/rooms\n");
	ck_assert_int_eq(client_expect(c, "2 rooms:", line, sizeof(line)), 0);
	ck_assert_ptr_nonnull(strstr(line, "#lobby(3)"));
	ck_assert_ptr_nonnull(strstr(line, "#ops(1)"));
	answer(c, "/rooms extra", "usage: /rooms");
	three_done();
}
END_TEST

START_TEST(join_errors)
{
	int i;

	three();
	answer(a, "/join ops", "*** invalid room name");
	answer(a, "/join", "*** usage: /join #ROOM");
	for (i = 1; i < ROOMS_PER_CLIENT; i++)
		client_send(a, "/join #r%d\n", i);
	answer(a, "/join #toomany", "rooms already");
	three_done();
}
END_TEST

START_TEST(quit_says_goodbye_and_closes)
{
	char line[LINE], want[96];

	three();
	answer(c, "/quit gone fishing", "*** bye");
	ck_assert_int_eq(client_wait_eof(c, T_TIMEOUT), 0);
	snprintf(want, sizeof(want), "*** %s has quit (gone fishing)", nc);
	ck_assert_int_eq(client_expect(a, "has quit", line, sizeof(line)), 0);
	ck_assert_str_eq(line, want);
	ck_assert_int_eq(daemon_wait_log(&d, "reason=\"quit\"", T_TIMEOUT), 0);
	three_done();
}
END_TEST

START_TEST(help_lists_every_command)
{
	static const char *cmds[] = {"/nick", "/who", "/msg", "/me", "/join",
	    "/part", "/rooms", "/quit", "/help", "//"};
	size_t i;

	three();
	client_send(a, "/help\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		ck_assert_msg(client_expect(a, cmds[i], NULL, 0) == 0,
		    "/help lacks %s", cmds[i]);
	three_done();
}
END_TEST

START_TEST(unknown_command_is_an_error)
{
	three();
	answer(a, "/frobnicate now", "*** unknown command /frobnicate");
	client_send(a, "//not a command\n");
	ck_assert_int_eq(client_expect(b, "> /not a command", NULL, 0), 0);
	three_done();
}
END_TEST

START_TEST(reset_client_is_announced)
{
	char want[96];

	three();
	client_reset(c);
	c = NULL;
	snprintf(want, sizeof(want), "*** %s has quit (connection ", nc);
	ck_assert_int_eq(client_expect(a, want, NULL, 0), 0);
	ck_assert_int_eq(client_expect(b, want, NULL, 0), 0);
	ck_assert_int_eq(daemon_wait_log(&d, "disconnect", T_TIMEOUT), 0);
	/* chat goes on */
	client_send(a, "still here\n");
	ck_assert_int_eq(client_expect(b, "still here", NULL, 0), 0);
	three_done();
}
END_TEST

static pid_t
worker_pid(int nth)
{
	return worker_pid_of(&d, nth);
}

/*
 * Attaches SEG read-only and waits until the worker PID sleeps; returns
 * its row.  The caller detaches SEG.
 */
static int
row_asleep(struct shm *seg, pid_t pid)
{
	uint64_t deadline = now_ms() + (uint64_t)T_TIMEOUT;
	int row;

	ck_assert_int_eq(shm_attach_ro(seg, d.segname), 0);
	ck_assert_int_ge(row = table_find_pid(seg, pid), 0);
	while (atomic_load(&seg->rows[row].asleep) == 0 && now_ms() < deadline)
		usleep(1000); /* a flag in shared memory: nothing to wait on */
	ck_assert_int_eq(atomic_load(&seg->rows[row].asleep), 1);
	return row;
}

/*
 * With batches at any number of clients (batch_clients=0), sends a burst
 * from each of the first BURSTERS of A and C while B's worker is stopped,
 * so that B's worker finds them all at one wake-up.  Checks that B gets every
 * line, each sender's in order, none reported missed, and returns the
 * wake_at B's worker stored for the sleep that follows (0: no batch).
 */
#define BURST 200

static uint64_t
burst_to_b(int bursters)
{
	char line[LINE], want[64], *burst;
	struct client *from[2];
	int got[2] = {0, 0}, i, k, n, row;
	size_t used, size = BURST * 24;
	uint64_t wake_at;
	pid_t wb = worker_pid(2);
	struct shm seg;

	from[0] = a;
	from[1] = c;
	ck_assert_int_gt(wb, 0);
	ck_assert_ptr_nonnull(burst = malloc(size));
	ck_assert_int_eq(kill(wb, SIGSTOP), 0);
	for (k = 0; k < bursters; k++) {
		used = 0;
		for (n = 0; n < BURST; n++)
			used += (size_t)snprintf(burst + used, size - used,
			    "burst %d %d\n", k, n);
		ck_assert_int_eq(client_send_raw(from[k], burst, used), 0);
		/* in the ring: the other sender (or A, from C) has it all */
		snprintf(want, sizeof(want), "burst %d %d", k, BURST - 1);
		ck_assert_int_eq(client_expect(from[k == 0 ? 1 : 0], want,
				     NULL, 0),
		    0);
	}
	free(burst);
	ck_assert_int_eq(kill(wb, SIGCONT), 0);
	for (i = 0; i < bursters * BURST &&
	     client_line(b, line, sizeof(line), T_TIMEOUT) > 0;) {
		ck_assert_msg(strstr(line, "you missed") == NULL, "%s", line);
		if (strstr(line, "> burst ") == NULL)
			continue;
		k = strstr(line, "> burst 1 ") != NULL;
		snprintf(want, sizeof(want), "<%s> burst %d %d",
		    k == 0 ? na : nc, k, got[k]);
		ck_assert_str_eq(line, want);
		got[k]++;
		i++;
	}
	ck_assert_int_eq(i, bursters * BURST);
	/* the sleep after that wake-up */
	row = row_asleep(&seg, wb);
	wake_at = atomic_load(&seg.rows[row].wake_at);
	shm_detach(&seg);
	return wake_at;
}

static const char *const batch_args[] = {"-l", "0", "-o", "batch_clients=0",
    "-o", "batch_delay=1000", NULL};

/*
 * A listener that woke to a burst from two talkers waits for a batch
 * after its next such wake-up, if that comes within batch_delay (the
 * first only times the flow, so a lone burst is never followed by a
 * wait): every line still comes, and a lone line after them comes too,
 * once the batch's time is over.  A burst takes a while under valgrind,
 * so a few are sent until one leads to a batch.
 */
START_TEST(many_talkers_get_batches_and_lose_nothing)
{
	char line[LINE], want[64];
	int i;

	three_with(batch_args);
	ck_assert_uint_eq(burst_to_b(2), 0);
	for (i = 0; i < 5 && burst_to_b(2) == 0; i++)
		;
	ck_assert_int_lt(i, 5);
	client_send(a, "after the bursts\n");
	ck_assert_int_eq(client_expect(b, "after the bursts", line,
			     sizeof(line)),
	    0);
	snprintf(want, sizeof(want), "<%s> after the bursts", na);
	ck_assert_str_eq(line, want);
	three_done();
}
END_TEST

/*
 * Bursts from one talker do not batch, however many: a client that waits
 * for its lines to be read before it sends more would only wait longer.
 */
START_TEST(one_talker_gets_no_batch)
{
	three_with(batch_args);
	ck_assert_uint_eq(burst_to_b(1), 0);
	ck_assert_uint_eq(burst_to_b(1), 0);
	client_send(a, "after the bursts\n");
	ck_assert_int_eq(client_expect(b, "after the bursts", NULL, 0), 0);
	three_done();
}
END_TEST

/*
 * Whether process PID maps part of segment SEG read-only: a worker reads
 * the slots there (shm_slots_read_only()).
 */
static int
slots_read_only(pid_t pid, const char *seg)
{
	char path[64], line[512], perms[8];
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%ld/maps", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, seg) != NULL &&
		    sscanf(line, "%*s %7s", perms) == 1 &&
		    strcmp(perms, "r--s") == 0;
	fclose(f);
	return found;
}

START_TEST(killed_worker_is_reaped_and_announced)
{
	char want[96];
	pid_t pid;

	three();
	pid = worker_pid(3);
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	snprintf(want, sizeof(want), "*** %s has quit (connection lost)", nc);
	ck_assert_int_eq(client_expect(a, want, NULL, 0), 0);
	ck_assert_int_eq(daemon_wait_log(&d, "signal=9", T_TIMEOUT), 0);
	ck_assert_int_eq(client_wait_eof(c, T_TIMEOUT), 0);
	answer(a, "/who", "2 in #lobby");
	three_done();
}
END_TEST

START_TEST(huge_line_is_cut_with_a_notice)
{
	char *big, line[LINE];
	size_t n = 100 * 1024;

	three();
	big = malloc(n + 1);
	memset(big, 'x', n);
	big[n] = '\n';
	ck_assert_int_eq(client_send_raw(a, big, n + 1), 0);
	free(big);
	ck_assert_int_eq(client_expect(a, "longer than 510 bytes", NULL, 0), 0);
	ck_assert_int_eq(client_expect(b, "xxxx", line, sizeof(line)), 0);
	ck_assert_uint_eq(strlen(line), strlen(na) + 3 + 510);
	client_send(a, "after the flood\n");
	ck_assert_int_eq(client_expect(b, "after the flood", line,
			     sizeof(line)),
	    0);
	ck_assert_ptr_null(strstr(line, "xxx"));
	three_done();
}
END_TEST

/*
 * Whether LINE (N bytes) is safe for a terminal: valid UTF-8 (shortest
 * form, no surrogates), no C0 control but TAB, no DEL, no C1 control.
 */
static int
terminal_safe(const char *line, int n)
{
	const unsigned char *p = (const unsigned char *)line;
	unsigned long cp;
	int i = 0, k, len;

	while (i < n) {
		if (p[i] < 0x80) {
			if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
				return 0;
			i++;
			continue;
		}
		if (p[i] >= 0xc2 && p[i] <= 0xdf)
			len = 2, cp = p[i] & 0x1f;
		else if (p[i] >= 0xe0 && p[i] <= 0xef)
			len = 3, cp = p[i] & 0x0f;
		else if (p[i] >= 0xf0 && p[i] <= 0xf4)
			len = 4, cp = p[i] & 0x07;
		else
			return 0;
		if (i + len > n)
			return 0;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp <= 0x9f))
			return 0;
		i += len;
	}
	return 1;
}

/* The worker's resident memory in KiB, from /proc, or -1. */
static long
rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			kib = atol(line + 6);
	fclose(f);
	return kib;
}

/* clang-format off */
#define J(s) {s, sizeof(s) - 1}
/* clang-format on */

START_TEST(hostile_input_reaches_nobody_raw)
{
	static const struct {
		const char *bytes;
		size_t len;
	} junk[] = {
	    J("nul\0in\0the\0middle\n"),
	    J("overlong \xc0\xaf \xe0\x80\xaf \xf0\x80\x80\xaf slash\n"),
	    J("surrogates \xed\xa0\x80 \xed\xbf\xbf end\n"),
	    J("ansi \x1b[2J\x1b[31mred\x1b[0m\n"),
	    J("osc \x1b]0;title\x07 and \x1b]8;;http://x\x1b\\link\n"),
	    J("iac \xff\xfb\x01\xff\xfd\x03\xff\xff\xff\xfa\x18\x01\xff\xf0 "
	      "run\n"),
	    J("c1 \xc2\x80\xc2\x9b"
	      "31m\xc2\x9d done\n"),
	    J("del \x7f and bell \x07 and bs \x08\x08\n"),
	    J("cr\rin the middle\n"),
	    J("max \xf4\x8f\xbf\xbf over \xf4\x90\x80\x80 end\n"),
	};
	char line[LINE], want[64];
	size_t i, big = 1024 * 1024;
	long before, after;
	char *mb;
	int n, lines = 0;
	pid_t wa;

	three();
	wa = worker_pid(1);
	before = rss_kib(wa);
	ck_assert_int_gt(before, 0);
	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		ck_assert_int_eq(client_send_raw(a, junk[i].bytes, junk[i].len),
		    0);
	/* 1 MB without a newline, ten times over: a cut, not a heap */
	ck_assert_ptr_nonnull(mb = malloc(big));
	memset(mb, 'm', big);
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(client_send_raw(a, mb, big), 0);
	free(mb);
	answer(a, "", "longer than 510 bytes");
	after = rss_kib(wa);
	ck_assert_msg(after - before < 1024,
	    "worker grew from %ld to %ld KiB on 10 MB of one line", before,
	    after);
	/* nicknames of nothing visible, /msg to oneself and to nobody */
	/* (what cannot be seen is gone before the command is read) */
	answer(a, "/nick \x01\x02\x03", "usage: /nick");
	answer(a, "/nick \xe2\x80\x8b\xe2\x80\x8b", "usage: /nick");
	answer(a, "/nick \xc3\xa9t\xc3\xa9", "invalid nickname");
	client_send(a, "/nick %s\xe2\x80\x8b\n", nb);
	ck_assert_int_eq(client_expect(a, "is already in use", NULL, 0), 0);
	client_send(a, "/msg %s hi me\n", na);
	ck_assert_int_eq(client_expect(a, "that is you", NULL, 0), 0);
	answer(a, "/msg nobody-here hi", "no such nickname: nobody-here");
	/* missing and extra arguments */
	answer(a, "/msg", "usage: /msg NICK TEXT");
	client_send(a, "/msg %s\n", nb);
	ck_assert_int_eq(client_expect(a, "usage: /msg NICK TEXT", NULL, 0), 0);
	answer(a, "/nick", "usage: /nick");
	answer(a, "/nick two words", "usage: /nick");
	answer(a, "/join", "usage: /join");
	answer(a, "/join #a #b", "usage: /join");
	answer(a, "/rooms extra", "usage: /rooms");
	client_send(a, "END-OF-BATTERY\n");
	/* B saw only safe lines, A's nick unchanged, nothing from /msg */
	snprintf(want, sizeof(want), "<%s> ", na);
	while ((n = client_line(b, line, sizeof(line), T_TIMEOUT)) >= 0) {
		ck_assert_msg(terminal_safe(line, n), "unsafe line %d: %.*s",
		    lines, n, line);
		ck_assert_ptr_null(strstr(line, "hi me"));
		ck_assert_ptr_null(strstr(line, "is now known as"));
		lines++;
		if (strstr(line, "END-OF-BATTERY") != NULL)
			break;
		if (strncmp(line, want, strlen(want)) == 0)
			ck_assert_int_le(n - (int)strlen(want), 510);
	}
	ck_assert_int_ge(n, 0);
	ck_assert_int_ge(lines, 11);
	three_done();
}
END_TEST

/* A client in a quiet room is not "too slow" because other rooms are busy. */
START_TEST(quiet_room_is_not_a_slow_reader)
{
	const char *const args[] = {"-l", "0", "-s", "64", NULL};
	char line[64];
	struct shm seg;
	int i;

	start(args);
	ck_assert_ptr_nonnull(a = client_greeted(&d, na, sizeof(na)));
	ck_assert_ptr_nonnull(b = client_greeted(&d, nb, sizeof(nb)));
	ck_assert_ptr_nonnull(c = client_greeted(&d, nc, sizeof(nc)));
	answer(a, "/join #quiet\n/part #lobby", "you left #lobby");
	client_send(c, "/msg %s ready\n", na);
	ck_assert_int_eq(client_expect(a, "ready", NULL, 0), 0);
	/* and A's worker sleeps (it would, in a moment, with no traffic) */
	(void)row_asleep(&seg, worker_pid(1));
	shm_detach(&seg);
	/*
	 * B fills the ring of 64 many times over in #lobby, while A's
	 * worker sleeps: nothing of it is for A.  (A worker that is awake
	 * and falls a whole ring behind the server's traffic is told, even
	 * if what it lost was for others: it cannot know.)
	 */
	for (i = 0; i < 1000; i++)
		client_send(b, "busy %d\n", i);
	ck_assert_int_eq(client_expect(c, "busy 999", NULL, 0), 0);
	client_send(c, "/msg %s hush\n", na);
	/* A lost nothing it wanted, so hears of no loss */
	ck_assert_int_eq(client_expect_before(a, "hush", "you missed"), 0);
	snprintf(line, sizeof(line), "nick=%s dropped=", na);
	ck_assert_msg(!daemon_log_has(&d, line), "%s", d.log);
	client_close(a);
	client_close(b);
	client_close(c);
	a = b = c = NULL;
	stop();
}
END_TEST

#define FLOOD 60000

START_TEST(stalled_reader_is_told_what_it_missed)
{
	const char *const args[] = {"-l", "0", NULL}; /* no flood control */
	char line[LINE], *flood;
	struct client *slow;
	int i, missed = 0, status;
	size_t used = 0;
	pid_t pid;

	start(args);
	ck_assert_ptr_nonnull(a = client_greeted(&d, na, sizeof(na)));
	ck_assert_ptr_nonnull(b = client_greeted(&d, nb, sizeof(nb)));
	/* a small receive window: the worker's writes to SLOW block soon */
	slow = client_open_rcvbuf("127.0.0.1", d.port, 16384);
	ck_assert_ptr_nonnull(slow);
	ck_assert_int_eq(client_expect(slow, "you joined #lobby", NULL, 0), 0);
	/* A floods from a child while B reads: more lines than the ring
	 * and all the kernel buffers between SLOW and its worker hold */
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		flood = malloc(FLOOD * 110);
		for (i = 0; i < FLOOD; i++)
			used += (size_t)sprintf(flood + used, "%05d %0100d\n",
			    i, 0);
		_exit(client_send_raw(a, flood, used) == 0 ? 0 : 1);
	}
	/* B gets every line in order, or is told what it missed */
	for (i = 0; i < FLOOD;) {
		int k, lost;

		ck_assert_int_ge(client_line(b, line, sizeof(line), T_TIMEOUT),
		    0);
		if (sscanf(line, "*** you missed %d message", &lost) == 1)
			i += lost;
		else if (sscanf(line, "<%*[^>]> %d ", &k) == 1) {
			ck_assert_int_eq(k, i);
			i++;
		}
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(status, 0);
	/* SLOW reads now: it was lapped, and is told by how much */
	client_send(a, "the end\n");
	for (;;) {
		int r = client_line(slow, line, sizeof(line), T_TIMEOUT);

		ck_assert_msg(r >= 0, "slow client: %s after %d missed",
		    r == -1 ? "timeout" : "eof", missed);
		if (strstr(line, "the end") != NULL)
			break;

		if (sscanf(line, "*** you missed %d message", &i) == 1)
			missed += i;
	}
	ck_assert_int_gt(missed, 0);
	ck_assert_int_eq(daemon_wait_log(&d, "slow client", T_TIMEOUT), 0);
	client_close(slow);
	two_done();
}
END_TEST

START_TEST(flooder_is_slowed_not_robbed)
{
	const char *const args[] = {"-l", "4:3", NULL};
	char line[LINE], want[32];
	uint64_t t0;
	int i;

	start(args);
	ck_assert_ptr_nonnull(a = client_greeted(&d, na, sizeof(na)));
	ck_assert_ptr_nonnull(b = client_greeted(&d, nb, sizeof(nb)));
	t0 = now_ms();
	answer(a, "f0\nf1\nf2\nf3\nf4\nf5\nf6", "your lines are slowed down");
	/* every line arrives, in order: 3 at once, 4 more at 4 a second */
	for (i = 0; i < 7; i++) {
		snprintf(want, sizeof(want), "> f%d", i);
		ck_assert_int_eq(client_expect(b, "> f", line, sizeof(line)),
		    0);
		ck_assert_ptr_nonnull(strstr(line, want));
	}
	ck_assert_uint_ge(now_ms() - t0, 900);
	ck_assert_int_eq(daemon_wait_log(&d, "flood slowed peer=", T_TIMEOUT),
	    0);
	two_done();
}
END_TEST

START_TEST(client_that_stops_reading_is_cut_off)
{
	const char *const args[] = {"-l", "0", "-w", "1", NULL};
	char want[96], *flood;
	struct client *stuck;
	size_t used = 0;
	int i;

	start(args);
	ck_assert_ptr_nonnull(a = client_greeted(&d, na, sizeof(na)));
	stuck = client_open_rcvbuf("127.0.0.1", d.port, 4096);
	ck_assert_ptr_nonnull(stuck);
	ck_assert_int_eq(client_expect(stuck, "Welcome to chatd, ", want,
			     sizeof(want)),
	    0);
	ck_assert_int_eq(client_expect(stuck, "you joined", NULL, 0), 0);
	ck_assert_int_eq(client_expect(a, "joined #lobby", want, sizeof(want)),
	    0);
	/* A talks; STUCK never reads again: its socket fills and stays full */
	flood = malloc(20000 * 110);
	for (i = 0; i < 20000; i++)
		used += (size_t)sprintf(flood + used, "%05d %0100d\n", i, 0);
	ck_assert_int_eq(client_send_raw(a, flood, used), 0);
	free(flood);
	ck_assert_int_eq(daemon_wait_log(&d, "socket_full_s=1", 3 * T_TIMEOUT),
	    0);
	ck_assert_int_eq(client_expect(a, "has quit (stopped reading)", NULL,
			     0),
	    0);
	client_close(stuck);
	one_done();
}
END_TEST

START_TEST(escapes_never_reach_others)
{
	char line[LINE];

	three();
	client_send(a, "\x1b[2J\x1b]0;pwned\x07red\x1b[31m alert\x01\x7f\n");
	ck_assert_int_eq(client_expect(b, "alert", line, sizeof(line)), 0);
	ck_assert_ptr_null(strchr(line, '\x1b'));
	ck_assert_ptr_null(strchr(line, '\x07'));
	ck_assert_ptr_null(strstr(line, "pwned"));
	ck_assert_ptr_nonnull(strstr(line, "> red alert"));
	/* telnet negotiation vanishes too */
	client_send_raw(a, "\xff\xfd\x01tel\xff\xfb\x0anet\n", 13);
	ck_assert_int_eq(client_expect(b, "telnet", line, sizeof(line)), 0);
	ck_assert_ptr_null(strchr(line, '\xff'));
	three_done();
}
END_TEST

START_TEST(full_server_refuses_newcomers)
{
	const char *const args[] = {"-m", "2", "-v", NULL};
	struct client *x;
	char reaped[64];

	start(args);
	ck_assert_ptr_nonnull(a = client_greeted(&d, na, sizeof(na)));
	ck_assert_ptr_nonnull(b = client_greeted(&d, nb, sizeof(nb)));
	x = client_open(d.port);
	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(client_expect(x, "*** server is full", NULL, 0), 0);
	ck_assert_int_eq(client_wait_eof(x, T_TIMEOUT), 0);
	client_close(x);
	ck_assert_int_eq(daemon_wait_log(&d, "server full", T_TIMEOUT), 0);
	/* a place freed is a place to take, once the master has reaped */
	client_send(b, "/quit\n");
	ck_assert_int_eq(client_wait_eof(b, T_TIMEOUT), 0);
	client_close(b);
	b = NULL;
	snprintf(reaped, sizeof(reaped), "worker reaped pid=%ld",
	    (long)worker_pid(2));
	ck_assert_int_eq(daemon_wait_log(&d, reaped, T_TIMEOUT), 0);
	ck_assert_ptr_nonnull(b = client_greeted(&d, nb, sizeof(nb)));
	client_close(b);
	b = NULL;
	one_done();
}
END_TEST

/* Tasks (threads) whose real user is UID, from /proc. */
static long
tasks_of(uid_t uid)
{
	char path[300], line[256];
	struct dirent *e;
	long n = 0, threads;
	unsigned long ruid;
	DIR *dir;
	FILE *f;

	if ((dir = opendir("/proc")) == NULL)
		return -1;
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/status", e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		ruid = (unsigned long)-1;
		threads = 0;
		while (fgets(line, sizeof(line), f) != NULL) {
			if (strncmp(line, "Uid:", 4) == 0)
				ruid = strtoul(line + 4, NULL, 10);
			else if (strncmp(line, "Threads:", 8) == 0)
				threads = atol(line + 8);
		}
		fclose(f);
		if (ruid == (unsigned long)uid)
			n += threads;
	}
	closedir(dir);
	return n;
}

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif

/*
 * In the daemon's child before exec: leave room under RLIMIT_NPROC for
 * the master, its log process and two workers of one thread each, no more.  Root is not
 * bound by the limit, so as root the daemon runs as a uid of its own,
 * which no other process (another test run, say) shares and counts
 * against the limit; not root, it counts the user's tasks now.  Under
 * AddressSanitizer the leak check a process runs at exit needs a thread
 * of its own, which the limit leaves no room for: a worker would never
 * end, so that check is off for this daemon.
 */
static void
two_workers_at_most(void)
{
	struct rlimit rl;
	uid_t uid = getuid();
#ifdef SANITIZED
	char opts[512];
	const char *was = getenv("ASAN_OPTIONS");

	snprintf(opts, sizeof(opts), "%s%sdetect_leaks=0",
	    was != NULL ? was : "", was != NULL && *was != '\0' ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
#endif

	if (uid == 0) {
		uid = (uid_t)(61000 + getpid() % 4000);
		if (setgroups(0, NULL) == -1 || setgid(uid) == -1)
			_exit(126);
	}
	/*
	 * this process, the master to be, is among the counted already; the
	 * log process and two workers may come
	 */
	rl.rlim_cur = rl.rlim_max =
	    (rlim_t)(tasks_of(uid) + 3 + (uid != getuid()));
	if (setrlimit(RLIMIT_NPROC, &rl) == -1 ||
	    (uid != getuid() && setuid(uid) == -1))
		_exit(126);
}

START_TEST(failed_fork_is_survived)
{
	const char *const args[] = {"-v", NULL};
	struct client *x, *y;
	char reaped[64];

	harness_exec_hook = two_workers_at_most;
	start(args);
	harness_exec_hook = NULL;
	ck_assert_ptr_nonnull(a = client_greeted(&d, na, sizeof(na)));
	ck_assert_ptr_nonnull(b = client_greeted(&d, nb, sizeof(nb)));
	/* no process to spare: two newcomers are told, one line is logged */
	ck_assert_ptr_nonnull(x = client_open(d.port));
	ck_assert_ptr_nonnull(y = client_open(d.port));
	ck_assert_int_eq(client_expect(x, "*** server is busy", NULL, 0), 0);
	ck_assert_int_eq(client_expect(y, "*** server is busy", NULL, 0), 0);
	ck_assert_int_eq(client_wait_eof(x, T_TIMEOUT), 0);
	ck_assert_int_eq(client_wait_eof(y, T_TIMEOUT), 0);
	client_close(x);
	client_close(y);
	ck_assert_int_eq(daemon_wait_log(&d, "op=fork", T_TIMEOUT), 0);
	ck_assert(daemon_log_has(&d, "accept paused ms=250"));
	pthread_mutex_lock(&d.mu);
	ck_assert_ptr_null(strstr(strstr(d.log, "op=fork") + 1, "op=fork"));
	pthread_mutex_unlock(&d.mu);
	/* the others chat on */
	client_send(a, "still here\n");
	ck_assert_int_eq(client_expect(b, "still here", NULL, 0), 0);
	/* a process freed is a newcomer served */
	client_send(b, "/quit\n");
	ck_assert_int_eq(client_wait_eof(b, T_TIMEOUT), 0);
	client_close(b);
	b = NULL;
	snprintf(reaped, sizeof(reaped), "worker reaped pid=%ld",
	    (long)worker_pid(2));
	ck_assert_int_eq(daemon_wait_log(&d, reaped, T_TIMEOUT), 0);
	ck_assert_ptr_nonnull(b = client_greeted(&d, nb, sizeof(nb)));
	client_close(b);
	client_close(a);
	a = b = NULL;
	stop();
}
END_TEST

START_TEST(too_many_from_one_address)
{
	const char *const args[] = {"-a", "2", NULL};
	struct client *x;

	start(args);
	ck_assert_ptr_nonnull(a = client_greeted(&d, na, sizeof(na)));
	ck_assert_ptr_nonnull(b = client_greeted(&d, nb, sizeof(nb)));
	x = client_open(d.port);
	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(client_expect(x,
			     "*** too many connections from "
			     "your address",
			     NULL, 0),
	    0);
	ck_assert_int_eq(client_wait_eof(x, T_TIMEOUT), 0);
	client_close(x);
	ck_assert_int_eq(daemon_wait_log(&d, "2 connections from its address",
			     T_TIMEOUT),
	    0);
	/* the two already in are unharmed */
	client_send(a, "still fine\n");
	ck_assert_int_eq(client_expect(b, "still fine", NULL, 0), 0);
	two_done();
}
END_TEST

/* Reaps the children that came to us as subreaper; returns how many. */
static int
reap_orphans(void)
{
	int n = 0;

	while (waitpid(-1, NULL, WNOHANG) > 0)
		n++;
	return n;
}

/*
 * Whether PID maps a file whose path holds NEEDLE: 1, with that mapping's
 * VmFlags in FLAGS unless it is NULL; 0 if not; -1 if PID's mappings
 * cannot be read.
 */
static int
mapping_of(pid_t pid, const char *needle, char *flags, size_t size)
{
	char path[64], line[512];
	FILE *f;
	int found = 0;
	size_t n;

	if (flags != NULL)
		flags[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%ld/smaps", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		/* a mapping's first line is its range: "lo-hi perms ... path" */
		n = strspn(line, "0123456789abcdef");
		found = n > 0 && line[n] == '-' && strstr(line, needle) != NULL;
	}
	/* and its last line its flags */
	while (found && flags != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmFlags:", 8) == 0) {
			strlcpy_(flags, line + 8, size);
			break;
		}
	fclose(f);
	return found;
}

/* Whether this kernel has transparent huge pages to ask for. */
static int
thp_built(void)
{
	return access("/sys/kernel/mm/transparent_hugepage", F_OK) == 0;
}

START_TEST(workers_outlive_the_master_and_are_adopted)
{
	static const char *const unlimited[] = {"-l", "0", NULL};
	struct daemon d2;
	struct client *x;
	char want[96], line[LINE];
	pid_t w1, w2;
	int i, logfd;

	/* the workers of the killed master are reparented to us: reap them */
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	start(NULL);
	ck_assert_ptr_nonnull(a = client_greeted(&d, na, sizeof(na)));
	ck_assert_ptr_nonnull(b = client_greeted(&d, nb, sizeof(nb)));
	w1 = worker_pid(1);
	w2 = worker_pid(2);
	ck_assert_int_gt(w2, 0);
	ck_assert_int_ge(logfd = pidfd_of(daemon_logproc(&d)), 0);
	ck_assert_int_eq(daemon_signal(&d, SIGKILL), 0);
	ck_assert_int_eq(daemon_wait_exit(&d, T_TIMEOUT), 128 + SIGKILL);
	/* its log process goes with it: no worker holds the master's end */
	ck_assert_int_eq(pidfd_gone(logfd, T_TIMEOUT), 1);
	/* no master: A and B still chat */
	client_send(a, "nobody minds\n");
	ck_assert_int_eq(client_expect(b, "nobody minds", NULL, 0), 0);
	/* a new master of the same instance adopts them, with its limits */
	ck_assert_int_eq(daemon_start_named(&d2, d.name, unlimited), 0);
	ck_assert(daemon_log_has(&d2, "workers=2 "));
	ck_assert(daemon_log_has(&d2, "backlog=10 flood=0:20 "));
	ck_assert_ptr_nonnull(x = client_greeted(&d2, NULL, 0));
	/*
	 * its workers read the slots where they are read-only, as ours: it
	 * made the mappings, which they inherit
	 */
	ck_assert_int_eq(slots_read_only(worker_pid_of(&d2, 1), d.segname), 1);
	ck_assert_int_eq(slots_read_only(d2.pid, d.segname), 1);
	/* the adopting master asks for huge pages on the segment too */
	if (thp_built()) {
		ck_assert_int_eq(
		    mapping_of(d2.pid, d.segname, line, sizeof(line)), 1);
		ck_assert_msg(strstr(line, " hg") != NULL, "%s", line);
	}
	client_send(x, "/who\n");
	ck_assert_int_eq(client_expect(x, "3 in #lobby", line, sizeof(line)),
	    0);
	ck_assert_ptr_nonnull(strstr(line, na));
	client_send(x, "hello old ones\n");
	ck_assert_int_eq(client_expect(a, "hello old ones", NULL, 0), 0);
	/* an adopted worker that dies is noticed and repaired for */
	ck_assert_int_eq(kill(w2, SIGKILL), 0);
	snprintf(want, sizeof(want), "*** %s has quit (connection lost)", nb);
	ck_assert_int_eq(client_expect(a, want, NULL, 0), 0);
	ck_assert_int_eq(client_expect(x, want, NULL, 0), 0);
	snprintf(want, sizeof(want), "adopted worker exited pid=%ld", (long)w2);
	ck_assert_int_eq(daemon_wait_log(&d2, want, T_TIMEOUT), 0);
	/* and SIGTERM stops everyone, old and new */
	ck_assert_int_eq(daemon_stop(&d2), 0);
	ck_assert_int_eq(client_expect(a, "shutting down", NULL, 0), 0);
	ck_assert_int_eq(client_wait_eof(a, T_TIMEOUT), 0);
	ck_assert_int_eq(client_wait_eof(x, T_TIMEOUT), 0);
	ck_assert_int_eq(daemon_leftovers(&d2), 0);
	for (i = 0; i < 2; i++)
		waitpid(i == 0 ? w1 : w2, NULL, 0);
	reap_orphans();
	ck_assert_int_eq(daemon_leftovers(&d), 0);
	harness_untrack(d.slot);
	client_close(x);
	client_close(a);
	client_close(b);
	a = b = NULL;
	daemon_free(&d2);
	daemon_free(&d);
}
END_TEST

START_TEST(two_instances_side_by_side)
{
	struct daemon d2;
	struct client *y, *z;

	three();
	ck_assert_int_eq(daemon_start(&d2, NULL), 0);
	ck_assert_int_ne(d2.port, d.port);
	ck_assert_ptr_nonnull(y = client_greeted(&d2, NULL, 0));
	ck_assert_ptr_nonnull(z = client_greeted(&d2, NULL, 0));
	client_send(y, "in the second\n");
	ck_assert_int_eq(client_expect(z, "in the second", NULL, 0), 0);
	client_send(a, "in the first\n");
	ck_assert_int_eq(client_expect_before(b, "in the first", "second"), 0);
	client_close(y);
	client_close(z);
	ck_assert_int_eq(daemon_stop(&d2), 0);
	ck_assert_int_eq(daemon_leftovers(&d2), 0);
	daemon_free(&d2);
	three_done();
}
END_TEST

START_TEST(same_name_refused)
{
	char out[4096];
	const char *argv[] = {"chatd", "-f", "-p", "0", "-b", "127.0.0.1", "-n",
	    NULL, NULL};

	start(NULL);
	argv[7] = d.name;
	ck_assert_int_eq(run_chatd(argv, out, sizeof(out), T_TIMEOUT), 1);
	ck_assert_msg(strstr(out, "running already") != NULL, "%s", out);
	/* the first one is unharmed */
	ck_assert_ptr_nonnull(a = client_greeted(&d, na, sizeof(na)));
	one_done();
}
END_TEST

START_TEST(same_port_refused)
{
	char out[4096], port[16], name[40];
	const char *argv[] = {"chatd", "-f", "-p", port, "-b", "127.0.0.1",
	    "-n", name, NULL};

	start(NULL);
	snprintf(port, sizeof(port), "%d", d.port);
	harness_unique(name, sizeof(name), "t");
	ck_assert_int_eq(run_chatd(argv, out, sizeof(out), T_TIMEOUT), 1);
	ck_assert_msg(strstr(out, "Address already in use") != NULL, "%s", out);
	stop();
}
END_TEST

START_TEST(stale_segment_is_replaced)
{
	char name[40], seg[64];
	struct shm_header h;
	int fd;

	harness_unique(name, sizeof(name), "t");
	snprintf(seg, sizeof(seg), "/chatd-%s", name);
	/* a segment whose master is long gone: pid 0x7ffffffe never runs */
	fd = shm_open(seg, O_RDWR | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ne(fd, -1);
	/* left by an earlier run, as the user chatd serves as */
	if (geteuid() == 0)
		ck_assert_int_eq(fchown(fd, 65534, 65534), 0);
	memset(&h, 0, sizeof(h));
	h.magic = SHM_MAGIC;
	h.version = SHM_VERSION;
	h.size = sizeof(h);
	atomic_store(&h.master_pid, 0x7ffffffe);
	ck_assert_int_eq(write(fd, &h, sizeof(h)), (ssize_t)sizeof(h));
	close(fd);
	ck_assert_int_eq(daemon_start_named(&d, name, NULL), 0);
	ck_assert_ptr_nonnull(a = client_greeted(&d, na, sizeof(na)));
	one_done();
}
END_TEST

START_TEST(graceful_shutdown_leaves_nothing)
{
	three();
	ck_assert_int_eq(daemon_signal(&d, SIGTERM), 0);
	ck_assert_int_eq(client_expect(a, "server is shutting down", NULL, 0),
	    0);
	ck_assert_int_eq(client_expect(b, "server is shutting down", NULL, 0),
	    0);
	ck_assert_int_eq(client_expect(c, "server is shutting down", NULL, 0),
	    0);
	ck_assert_int_eq(client_wait_eof(a, T_TIMEOUT), 0);
	ck_assert_int_eq(client_wait_eof(b, T_TIMEOUT), 0);
	ck_assert_int_eq(client_wait_eof(c, T_TIMEOUT), 0);
	ck_assert_int_eq(daemon_wait_exit(&d, 2 * T_TIMEOUT), 0);
	ck_assert_int_eq(daemon_leftovers(&d), 0);
	ck_assert(daemon_log_has(&d, "chatd stopped"));
	client_close(a);
	client_close(b);
	client_close(c);
	a = b = c = NULL;
	daemon_free(&d);
}
END_TEST

START_TEST(sigint_also_stops)
{
	start(NULL);
	ck_assert_ptr_nonnull(a = client_greeted(&d, na, sizeof(na)));
	ck_assert_int_eq(daemon_signal(&d, SIGINT), 0);
	ck_assert_int_eq(client_expect(a, "shutting down", NULL, 0), 0);
	ck_assert_int_eq(daemon_wait_exit(&d, 2 * T_TIMEOUT), 0);
	ck_assert_int_eq(daemon_leftovers(&d), 0);
	client_close(a);
	a = NULL;
	daemon_free(&d);
}
END_TEST

/* Whether process PID is a program run by valgrind. */
static int
under_valgrind(pid_t pid)
{
	char path[64], exe[512];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%ld/exe", (long)pid);
	if ((n = readlink(path, exe, sizeof(exe) - 1)) <= 0)
		return 0;
	exe[n] = '\0';
	return strstr(exe, "valgrind") != NULL || strstr(exe, "memcheck") != NULL;
}

/* The signal set after KEY ("SigIgn:", "SigCgt:") in PID's status. */
static unsigned long long
signal_set(pid_t pid, const char *key)
{
	char path[64], line[256];
	unsigned long long set = ~0ULL;
	size_t n = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return set;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, n) == 0)
			set = strtoull(line + n, NULL, 16);
	fclose(f);
	return set;
}

#define SIGBIT(s) (1ULL << ((s) - 1))
#define MASTER_SIGNALS \
	(SIGBIT(SIGINT) | SIGBIT(SIGHUP) | SIGBIT(SIGPIPE) | SIGBIT(SIGTERM) | \
	    SIGBIT(SIGUSR1) | SIGBIT(SIGCHLD))

/* Ctrl-C in a terminal signals the whole process group, workers too. */
START_TEST(ctrl_c_to_the_group_is_a_graceful_stop)
{
	pid_t w;

	three();
	/*
	 * a worker ignores what the group gets (and SIGPIPE), and catches
	 * none of the master's signals: SIGIO is its own (valgrind catches
	 * every signal itself)
	 */
	ck_assert_int_gt(w = worker_pid(2), 0);
	if (!under_valgrind(w)) {
		ck_assert_uint_eq(signal_set(w, "SigIgn:") & MASTER_SIGNALS,
		    SIGBIT(SIGINT) | SIGBIT(SIGHUP) | SIGBIT(SIGPIPE));
		ck_assert_uint_eq(signal_set(w, "SigCgt:") &
			(MASTER_SIGNALS | SIGBIT(SIGIO)),
		    SIGBIT(SIGIO));
	}
	ck_assert_int_eq(kill(-d.pid, SIGINT), 0);
	ck_assert_int_eq(client_expect(a, "server is shutting down", NULL, 0),
	    0);
	ck_assert_int_eq(client_expect(b, "server is shutting down", NULL, 0),
	    0);
	ck_assert_int_eq(client_expect(c, "server is shutting down", NULL, 0),
	    0);
	ck_assert_int_eq(daemon_wait_exit(&d, 2 * T_TIMEOUT), 0);
	ck_assert_int_eq(daemon_leftovers(&d), 0);
	ck_assert(!daemon_log_has(&d, "connection lost"));
	ck_assert(!daemon_log_has(&d, "worker killed"));
	client_close(a);
	client_close(b);
	client_close(c);
	a = b = c = NULL;
	daemon_free(&d);
}
END_TEST

START_TEST(usr1_logs_statistics_hup_is_harmless)
{
	three();
	client_send(a, "count me\n");
	ck_assert_int_eq(client_expect(b, "count me", NULL, 0), 0);
	ck_assert_int_eq(client_expect(c, "count me", NULL, 0), 0);
	ck_assert_int_eq(daemon_signal(&d, SIGUSR1), 0);
	ck_assert_int_eq(daemon_wait_log(&d, "stats clients=3 ", T_TIMEOUT), 0);
	ck_assert(daemon_log_has(&d, " published="));
	ck_assert(!daemon_log_has(&d, " published=0 "));
	ck_assert(daemon_log_has(&d, " delivered="));
	ck_assert(!daemon_log_has(&d, " delivered=0 "));
	ck_assert_int_eq(daemon_signal(&d, SIGHUP), 0);
	ck_assert_int_eq(daemon_wait_log(&d,
			     "reload: configuration /dev/null "
			     "read",
			     T_TIMEOUT),
	    0);
	client_send(a, "after hup\n");
	ck_assert_int_eq(client_expect(b, "after hup", NULL, 0), 0);
	three_done();
}
END_TEST

/*
 * The master's lines go to syslog through a log process of its own, a
 * child named chatd-log that the workers have no part of.  Killed, it is
 * started again, and the master serves on as if nothing had happened.
 */
START_TEST(log_process_killed_is_started_again)
{
	char want[96];
	pid_t l1, l2;

	three();
	ck_assert_int_gt(l1 = daemon_logproc(&d), 0);
	ck_assert_int_eq(children_named(d.pid, "chatd-log", NULL), 1);
	ck_assert_int_eq(children_named(worker_pid(1), NULL, NULL), 0);
	ck_assert_int_eq(kill(l1, SIGKILL), 0);
	snprintf(want, sizeof(want), "log process died pid=%ld signal=9",
	    (long)l1);
	ck_assert_int_eq(daemon_wait_log(&d, want, T_TIMEOUT), 0);
	ck_assert_int_eq(
	    daemon_wait_log(&d, "log process restarted pid=", T_TIMEOUT), 0);
	ck_assert_int_gt(l2 = daemon_logproc(&d), 0);
	ck_assert_int_ne(l2, l1);
	/* not taken for a worker: nobody is told of a lost connection */
	ck_assert(!daemon_log_has(&d, "worker killed"));
	client_send(a, "still logged\n");
	ck_assert_int_eq(client_expect(b, "still logged", NULL, 0), 0);
	ck_assert_int_eq(client_expect(c, "still logged", NULL, 0), 0);
	ck_assert_int_eq(daemon_signal(&d, SIGUSR1), 0);
	ck_assert_int_eq(daemon_wait_log(&d, "stats clients=3 ", T_TIMEOUT), 0);
	three_done();
}
END_TEST

START_TEST(chat_text_is_not_logged)
{
	three();
	client_send(a, "supersecret-words\n/msg %s private-words\n", nb);
	ck_assert_int_eq(client_expect(b, "private-words", NULL, 0), 0);
	client_send(a, "/quit secret-reason\n");
	ck_assert_int_eq(client_wait_eof(a, T_TIMEOUT), 0);
	ck_assert_int_eq(daemon_wait_log(&d, "disconnect", T_TIMEOUT), 0);
	ck_assert(!daemon_log_has(&d, "supersecret"));
	ck_assert(!daemon_log_has(&d, "private-words"));
	ck_assert(!daemon_log_has(&d, "secret-reason"));
	three_done();
}
END_TEST

START_TEST(ipv6_loopback)
{
	const char *const args[] = {NULL};
	struct daemon d6;
	struct client *x, *y;
	char out[4096], name[40];
	const char *argv[] = {"chatd", "-f", "-p", "0", "-b", "::1", "-n", name,
	    NULL};
	int fd = socket(AF_INET6, SOCK_STREAM, 0);

	(void)args;
	(void)out;
	(void)argv;
	if (fd == -1)
		return; /* no IPv6 on this machine */
	close(fd);
	harness_unique(name, sizeof(name), "t6");
	memset(&d6, 0, sizeof(d6));
	/* -b ::1 overrides the harness's -b 127.0.0.1: the last wins */
	{
		const char *const extra[] = {"-b", "::1", NULL};
		if (daemon_start_named(&d6, name, extra) == -1) {
			/* listening on ::1 failed: the log must say why */
			ck_assert_msg(d6.log != NULL &&
				strstr(d6.log, "::1") != NULL,
			    "%s", d6.log ? d6.log : "");
			daemon_free(&d6);
			return;
		}
	}
	ck_assert(daemon_log_has(&d6, "listening on ::1 port"));
	ck_assert_int_eq(daemon_wait_log(&d6, "listening on ::1 port ",
			     T_TIMEOUT),
	    0);
	pthread_mutex_lock(&d6.mu);
	d6.port = atoi(strstr(d6.log, "listening on ::1 port ") +
	    strlen("listening on ::1 port "));
	pthread_mutex_unlock(&d6.mu);
	ck_assert_ptr_nonnull(x = client_open_addr("::1", d6.port));
	ck_assert_ptr_nonnull(y = client_open_addr("::1", d6.port));
	ck_assert_int_eq(client_expect(x, "you joined", NULL, 0), 0);
	ck_assert_int_eq(client_expect(y, "you joined", NULL, 0), 0);
	client_send(y, "over six\n");
	ck_assert_int_eq(client_expect(x, "over six", NULL, 0), 0);
	ck_assert_int_eq(daemon_wait_log(&d6, "connect [::1]:", T_TIMEOUT), 0);
	client_close(x);
	client_close(y);
	ck_assert_int_eq(daemon_stop(&d6), 0);
	ck_assert_int_eq(daemon_leftovers(&d6), 0);
	daemon_free(&d6);
}
END_TEST

/* The real, effective, saved and file-system uids of PID, from /proc. */
static int
uids_of(pid_t pid, long uid[4], long *ngroups, long *group)
{
	char path[64], line[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	*ngroups = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "Uid:", 4) == 0)
			sscanf(line + 4, "%ld %ld %ld %ld", &uid[0], &uid[1],
			    &uid[2], &uid[3]);
		if (strncmp(line, "Groups:", 7) == 0)
			for (p = line + 7;
			     *(p += strspn(p, " \t")) != '\n' && *p != '\0';
			     p += strcspn(p, " \t\n"))
				*group = atol(p), (*ngroups)++;
	}
	fclose(f);
	return 0;
}

/*
 * Starts a daemon with EXTRA and one greeted client, and checks that the
 * segment's mapping in the master and in that client's worker has the
 * VmFlag WANT and not UNWANTED (" hg", " nh"), then stops it.
 */
static void
segment_flag_is(const char *const *extra, const char *want,
    const char *unwanted)
{
	char flags[256];
	pid_t pid[2];
	int i;

	start(extra);
	ck_assert_ptr_nonnull(a = client_greeted(&d, na, sizeof(na)));
	pid[0] = d.pid;
	pid[1] = worker_pid(1);
	ck_assert_int_eq(slots_read_only(pid[1], d.segname), 1);
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(
		    mapping_of(pid[i], d.segname, flags, sizeof(flags)), 1);
		ck_assert_msg(strstr(flags, want) != NULL &&
			strstr(flags, unwanted) == NULL,
		    "%s: %s", i == 0 ? "master" : "worker", flags);
	}
	one_done();
}

START_TEST(segment_asks_for_huge_pages)
{
	/* without transparent huge pages there is nothing to ask for */
	if (!thp_built())
		return;
	/* "hg": MADV_HUGEPAGE, made by the master, inherited by a worker */
	segment_flag_is(NULL, " hg", " nh");
}
END_TEST

START_TEST(huge_pages_no_keeps_the_segment_off_them)
{
	const char *extra[] = {"-o", "huge_pages=no", NULL};

	if (!thp_built())
		return;
	/* "nh": MADV_NOHUGEPAGE, which even huge=always obeys */
	segment_flag_is(extra, " nh", " hg");
}
END_TEST

#define CODE_PAGES_MAX 4096

/* The physical pages of process PID's code: chatd's and the C library's. */
struct code_pages {
	unsigned long addr[CODE_PAGES_MAX];
	uint64_t pfn[CODE_PAGES_MAX];
	int n;
};

/*
 * Fills CP with the pages of PID's executable mappings of chatd and the C
 * library that are in its page tables, with their page frame numbers.
 * Returns 0, or -1 if they cannot be read; the numbers read as 0 without
 * CAP_SYS_ADMIN, which the caller checks.
 */
static int
code_pages_of(pid_t pid, struct code_pages *cp)
{
	char path[64], line[512], perms[8];
	unsigned long lo, hi, va;
	uint64_t e;
	FILE *f;
	int fd;

	cp->n = 0;
	snprintf(path, sizeof(path), "/proc/%ld/maps", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/pagemap", (long)pid);
	if ((fd = open(path, O_RDONLY)) == -1) {
		fclose(f);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 ||
		    strcmp(perms, "r-xp") != 0 ||
		    (strstr(line, "/chatd\n") == NULL &&
			strstr(line, "/libc.so") == NULL))
			continue;
		for (va = lo; va < hi && cp->n < CODE_PAGES_MAX; va += 4096) {
			if (pread(fd, &e, sizeof(e), (off_t)(va / 4096 * 8)) !=
			    (ssize_t)sizeof(e))
				break;
			if ((e >> 63) & 1) { /* present */
				cp->addr[cp->n] = va;
				cp->pfn[cp->n++] = e & ((1ULL << 55) - 1);
			}
		}
	}
	close(fd);
	fclose(f);
	return 0;
}

/* Of the code pages X and Y both have, how many are the same page. */
static void
code_pages_compare(const struct code_pages *x, const struct code_pages *y,
    int *same, int *differ)
{
	int i = 0, j = 0;

	*same = *differ = 0;
	while (i < x->n && j < y->n) {
		if (x->addr[i] < y->addr[j]) {
			i++;
		} else if (x->addr[i] > y->addr[j]) {
			j++;
		} else {
			if (x->pfn[i] == y->pfn[j])
				(*same)++;
			else
				(*differ)++;
			i++, j++;
		}
	}
}

/*
 * Starts a daemon with EXTRA, greets four clients and fills CP[i] with
 * the code pages of the Ith one's worker, and *COPIED with whether the
 * master logged making fresh copies.  Returns 0, or -1 when page
 * frame numbers cannot be read here (not root): nothing to compare then.
 */
static int
four_workers_code(const char *const *extra, struct code_pages *cp,
    int *copied)
{
	struct client *x[4];
	char nick[32];
	int i, n;

	start(extra);
	if (under_valgrind(d.pid)) {
		/*
		 * valgrind checks a write(2)'s bytes against its own
		 * records, and the master would write its pages: the
		 * copies are not for a master under valgrind.
		 */
		stop();
		return -1;
	}
	for (i = 0; i < 4; i++)
		ck_assert_ptr_nonnull(x[i] = client_greeted(&d, nick,
					  sizeof(nick)));
	/* each line reaches the other three, old workers and new alike */
	client_send(x[3], "from the fourth\n");
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(client_expect(x[i], "from the fourth", NULL, 0),
		    0);
	client_send(x[0], "from the first\n");
	for (i = 1; i < 4; i++)
		ck_assert_int_eq(client_expect(x[i], "from the first", NULL, 0),
		    0);
	for (i = 0, n = 0; i < 4; i++) {
		ck_assert_int_eq(code_pages_of(worker_pid(i + 1), &cp[i]), 0);
		ck_assert_int_gt(cp[i].n, 10);
		n += cp[i].pfn[0] != 0;
	}
	*copied = daemon_log_has(&d, "fresh copies pages=");
	for (i = 0; i < 4; i++)
		client_close(x[i]);
	stop();
	return n == 4 ? 0 : -1;
}

START_TEST(workers_get_fresh_copies_of_the_code_by_twos)
{
	static struct code_pages cp[4];
	const char *extra[] = {"-o", "workers_per_copy=2", NULL};
	int same, differ, copied;

	if (four_workers_code(extra, cp, &copied) == -1)
		return; /* no page frame numbers without CAP_SYS_ADMIN */
	ck_assert(copied);
	/* the first two share the code's pages, and the last two theirs */
	code_pages_compare(&cp[0], &cp[1], &same, &differ);
	ck_assert_int_gt(same, 10);
	ck_assert_int_eq(differ, 0);
	code_pages_compare(&cp[2], &cp[3], &same, &differ);
	ck_assert_int_gt(same, 10);
	ck_assert_int_eq(differ, 0);
	/* but the third was forked after the copies: no page in common */
	code_pages_compare(&cp[0], &cp[2], &same, &differ);
	ck_assert_int_gt(differ, 10);
	ck_assert_int_eq(same, 0);
}
END_TEST

START_TEST(workers_per_copy_0_shares_one_copy)
{
	static struct code_pages cp[4];
	const char *extra[] = {"-o", "workers_per_copy=0", NULL};
	int same, differ, copied, i;

	if (four_workers_code(extra, cp, &copied) == -1)
		return;
	ck_assert(!copied);
	for (i = 1; i < 4; i++) {
		code_pages_compare(&cp[0], &cp[i], &same, &differ);
		ck_assert_int_gt(same, 10);
		ck_assert_int_eq(differ, 0);
	}
}
END_TEST

/*
 * The allocator's memory lies beside the libraries, not at the program
 * break (heap_beside_libraries() in master/main.c): neither the master nor
 * a worker has a [heap] mapping, which cost every worker a page-table page
 * or two of its own.  valgrind keeps the break its own way: not checked
 * there.
 */
START_TEST(no_heap_at_the_program_break)
{
	three();
	if (!under_valgrind(d.pid)) {
		ck_assert_int_eq(mapping_of(d.pid, "[heap]", NULL, 0), 0);
		ck_assert_int_eq(mapping_of(worker_pid(1), "[heap]", NULL, 0),
		    0);
		ck_assert_int_eq(mapping_of(worker_pid(3), "[heap]", NULL, 0),
		    0);
	}
	/* and they work as ever: a line reaches the others */
	client_send(a, "no heap\n");
	ck_assert_int_eq(client_expect(b, "no heap", NULL, 0), 0);
	ck_assert_int_eq(client_expect(c, "no heap", NULL, 0), 0);
	three_done();
}
END_TEST

/*
 * Attaches to PID with ptrace and stops it; returns the stop's status.
 * PTRACE_DETACH lets it go again (so does the test's exit).
 */
static int
trace_and_stop(pid_t pid)
{
	int st;

	ck_assert_int_eq(ptrace(PTRACE_SEIZE, pid, NULL, NULL), 0);
	ck_assert_int_eq(ptrace(PTRACE_INTERRUPT, pid, NULL, NULL), 0);
	ck_assert_int_eq(waitpid(pid, &st, __WALL), pid);
	ck_assert(WIFSTOPPED(st));
	return st;
}

/*
 * A worker takes the publish lock in its own name.  Workers are forked
 * without fork()'s handlers (_Fork()), and the lock code keeps its pid: a
 * worker that kept the master's would, killed inside the lock, leave it
 * held by a live process, so nobody would ever take it over.  Stops A's
 * worker (ptrace), has A say a line, and single-steps the worker until
 * the publish lock's word names a holder: it must be the worker.  Not
 * under valgrind, whose translation would take millions of steps.
 */
START_TEST(workers_take_locks_in_their_own_name)
{
	const char *const args[] = {"-l", "0", NULL};
	uint64_t deadline;
	struct shm seg;
	pid_t wa, owner = 0;
	long steps = 0;
	int st, sig = 0;

	start(args);
	ck_assert_ptr_nonnull(a = client_greeted(&d, na, sizeof(na)));
	ck_assert_ptr_nonnull(b = client_greeted(&d, nb, sizeof(nb)));
	ck_assert_int_gt(wa = worker_pid(1), 0);
	if (under_valgrind(d.pid)) {
		two_done();
		return;
	}
	ck_assert_int_eq(shm_attach_ro(&seg, d.segname), 0);
	(void)trace_and_stop(wa);
	client_send(a, "in the lock\n");
	deadline = now_ms() + (uint64_t)T_TIMEOUT;
	while ((owner = atomic_load(&seg.h->publock.owner)) == 0 &&
	    now_ms() < deadline) {
		if (ptrace(PTRACE_SINGLESTEP, wa, NULL, (void *)(long)sig) ==
			-1 ||
		    waitpid(wa, &st, __WALL) != wa || !WIFSTOPPED(st))
			break;
		/* a signal for the worker (SIGIO: A's line) goes on to it */
		sig = WSTOPSIG(st) == SIGTRAP ? 0 : WSTOPSIG(st);
		steps++;
	}
	ptrace(PTRACE_DETACH, wa, NULL, (void *)(long)sig);
	shm_detach(&seg);
	ck_assert_msg(owner == wa,
	    "publish lock held by %ld, not by the worker %ld (%ld steps)",
	    (long)owner, (long)wa, steps);
	ck_assert_int_eq(client_expect(b, "in the lock", NULL, 0), 0);
	two_done();
}
END_TEST

#ifndef PTRACE_GET_RSEQ_CONFIGURATION
#define PTRACE_GET_RSEQ_CONFIGURATION 0x420f /* Linux 5.13 */
#endif

#ifndef SANITIZED
/*
 * Pages of PID's writable private mappings of the file whose path ends in
 * NAME that PID alone maps (/proc/PID/pagemap bit 56), with the anonymous
 * mapping right after the last of them (a binary's bss) if BSS; -1 if
 * they cannot be read.
 */
static int
pages_alone(pid_t pid, const char *name, int bss)
{
	char path[64], line[512];
	unsigned long lo, hi, at, end = 0, page =
	    (unsigned long)sysconf(_SC_PAGESIZE);
	size_t len = strlen(name), l;
	uint64_t e;
	FILE *f;
	int fd, n = -1, named;

	snprintf(path, sizeof(path), "/proc/%ld/maps", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/pagemap", (long)pid);
	fd = open(path, O_RDONLY);
	while (fd != -1 && fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		l = strcspn(line, "\n");
		line[l] = '\0';
		named = l >= len && strcmp(line + l - len, name) == 0;
		if (strstr(line, " rw-p ") == NULL ||
		    !(named ||
			(bss && lo == end && strchr(line, '/') == NULL))) {
			end = 0;
			continue;
		}
		end = named ? hi : 0;
		for (n = n < 0 ? 0 : n, at = lo; at < hi; at += page)
			if (pread(fd, &e, sizeof(e), (off_t)(at / page * 8)) ==
				sizeof(e) &&
			    (e >> 63) != 0 && ((e >> 56) & 1) != 0)
				n++;
	}
	if (fd != -1)
		close(fd);
	fclose(f);
	return n;
}

/* the same for the dynamic loader's data */
static int
loader_pages_alone(pid_t pid)
{
	char path[64], line[512], *p;
	FILE *f;
	int n = -1;

	snprintf(path, sizeof(path), "/proc/%ld/maps", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (n == -1 && fgets(line, sizeof(line), f) != NULL)
		if ((p = strstr(line, "/ld-linux")) != NULL) {
			p[strcspn(p, "\n")] = '\0';
			n = pages_alone(pid, p, 0);
		}
	fclose(f);
	return n;
}

/*
 * A client that has been greeted, has changed its nickname and has read
 * two others join costs its worker one page of chatd's own data: the
 * worker's block is laid out so that all it writes for such a client
 * (its fields, the line it sent, the messages it read and what it sent
 * back) lies in its first page (struct worker).  Two pages before.
 */
START_TEST(an_idle_worker_writes_one_page_of_chatd)
{
	char exe[4096], path[64], *base;
	ssize_t len;
	pid_t w;
	int n;

	three();
	client_send(a, "/nick quietone\n");
	ck_assert_int_eq(client_expect(b, "quietone", NULL, 0), 0);
	ck_assert_int_eq(client_expect(a, "quietone", NULL, 0), 0);
	ck_assert_int_gt(w = worker_pid(1), 0);
	snprintf(path, sizeof(path), "/proc/%ld/exe", (long)w);
	if (!under_valgrind(d.pid) &&
	    (len = readlink(path, exe, sizeof(exe) - 1)) > 0) {
		exe[len] = '\0';
		base = strrchr(exe, '/');
		if ((n = pages_alone(w, base != NULL ? base : exe, 1)) >= 0)
			ck_assert_msg(n == 1,
			    "an idle worker keeps %d pages of chatd's data", n);
	}
	three_done();
}
END_TEST
#endif

/* A pipe descriptor of a process: its number, and the pipe it is of. */
struct pipe_fd {
	int num;
	char pipe[64]; /* "pipe:[INODE]" */
};

/*
 * Fills P with the pipe descriptors of process PID, at most MAX; returns
 * how many, or -1 if its descriptors cannot be read.
 */
static int
pipe_fds(pid_t pid, struct pipe_fd *p, int max)
{
	char dir[64], path[320];
	struct dirent *e;
	ssize_t len;
	DIR *fds;
	int n = 0;

	snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)pid);
	if ((fds = opendir(dir)) == NULL)
		return -1;
	while ((e = readdir(fds)) != NULL && n < max) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		len = readlink(path, p[n].pipe, sizeof(p[n].pipe) - 1);
		if (len <= 0 || strncmp(p[n].pipe, "pipe:", 5) != 0)
			continue;
		p[n].pipe[len] = '\0';
		p[n].num = atoi(e->d_name);
		n++;
	}
	closedir(fds);
	return n;
}

/*
 * How many pipes PID holds both ends of; -1 if its descriptors cannot be
 * read.
 */
static int
own_pipes(pid_t pid)
{
	struct pipe_fd p[32];
	int n = pipe_fds(pid, p, 32), pipes = 0, i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++)
			if (strcmp(p[i].pipe, p[j].pipe) == 0)
				pipes++;
	return n < 0 ? -1 : pipes;
}

/*
 * Reads lines from X until N have held MARK followed by a number, the
 * numbers 0 to N - 1 in order; other lines are skipped.
 */
static void
expect_in_order(struct client *x, const char *mark, int n)
{
	char line[LINE], *p;
	int i;

	for (i = 0; i < n;) {
		ck_assert_int_ge(client_line(x, line, sizeof(line), T_TIMEOUT),
		    0);
		if ((p = strstr(line, mark)) != NULL) {
			ck_assert_int_eq(atoi(p + strlen(mark)), i);
			i++;
		}
	}
}

/*
 * Counts the pipe descriptors of process PID that are non-blocking: read
 * ends in *READS, write ends in *WRITES (from /proc/PID/fdinfo).
 */
static void
nonblocking_pipe_ends(pid_t pid, int *reads, int *writes)
{
	struct pipe_fd p[32];
	char path[64], line[128];
	unsigned long flags;
	int n = pipe_fds(pid, p, 32), i;
	FILE *f;

	*reads = *writes = 0;
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/proc/%ld/fdinfo/%d", (long)pid,
		    p[i].num);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "flags: %lo", &flags) == 1 &&
			    (flags & O_NONBLOCK))
				++*((flags & O_ACCMODE) == O_WRONLY ? writes
								    : reads);
		fclose(f);
	}
}

/*
 * A worker sends its first lines through a pipe of its own, spliced to
 * the socket, so that an idle client's worker keeps no 32 KiB block for
 * TCP sends; once busy (more than 16 sends after its greeting, or a
 * batch of more than 1 KiB) it closes the pipe and sends straight to the
 * socket.  Every line arrives, in order, both ways.
 */
START_TEST(a_quiet_worker_sends_through_a_pipe)
{
	const char *const args[] = {"-l", "0", NULL}; /* no flood control */
	char line[LINE], *burst;
	size_t used = 0;
	int i, quiet, nbr, nbw;
	pid_t w;

	three_with(args);
	ck_assert_int_gt(w = worker_pid(2), 0); /* B's */
	quiet = own_pipes(w);
	ck_assert_int_ge(quiet, 1);
	if (!under_valgrind(w)) {
		/* a write that finds no room fails, a splice waits */
		nonblocking_pipe_ends(w, &nbr, &nbw);
		ck_assert_int_eq(nbw, 1);
		ck_assert_int_eq(nbr, 0);
	}
	client_send(a, "through the pipe\n");
	ck_assert_int_eq(client_expect(b, "through the pipe", line,
			     sizeof(line)),
	    0);
	ck_assert_ptr_nonnull(strstr(line, na));
	ck_assert_int_eq(own_pipes(w), quiet);

	burst = malloc(300 * 16);
	ck_assert_ptr_nonnull(burst);
	for (i = 0; i < 300; i++)
		used += (size_t)sprintf(burst + used, "busy %03d\n", i);
	ck_assert_int_eq(client_send_raw(a, burst, used), 0);
	free(burst);
	expect_in_order(b, "> busy ", 300);
	ck_assert_int_eq(own_pipes(w), quiet - 1);
	client_send(a, "straight to the socket\n");
	ck_assert_int_eq(client_expect(b, "straight to the socket", NULL, 0),
	    0);
	three_done();
}
END_TEST

/*
 * A worker writes none of what only a forked master with threads would
 * need: it is forked with _Fork(), so the dynamic loader's data stays
 * shared with the master (fork() re-initialised its locks in the child),
 * and the master has turned off restartable sequences, so the kernel
 * writes no rseq area in it (ptrace's view of its rseq registration).
 * Each was a page of the worker's own.  Not under valgrind, which keeps a
 * loader of its own, nor the sanitizers, whose runtime may write it.
 */
START_TEST(workers_write_no_fork_state)
{
	struct {
		uint64_t pointer;
		uint32_t size, signature, flags, pad;
	} rseq;
	pid_t w;
	int n;

	three();
	ck_assert_int_gt(w = worker_pid(2), 0);
#ifndef SANITIZED
	if (!under_valgrind(d.pid) && (n = loader_pages_alone(w)) >= 0)
		ck_assert_msg(n == 0,
		    "%d page(s) of the loader's data are the worker's alone",
		    n);
#endif
	(void)trace_and_stop(w);
	memset(&rseq, 0, sizeof(rseq));
	n = (int)ptrace(PTRACE_GET_RSEQ_CONFIGURATION, w,
	    (void *)sizeof(rseq), &rseq);
	ptrace(PTRACE_DETACH, w, NULL, NULL);
	if (n != -1) /* -1: a kernel before 5.13 */
		ck_assert_msg(rseq.pointer == 0,
		    "the worker has an rseq area at %#llx",
		    (unsigned long long)rseq.pointer);
	/* and the worker serves on after being looked at */
	client_send(b, "still here\n");
	ck_assert_int_eq(client_expect(a, "still here", NULL, 0), 0);
	three_done();
}
END_TEST

/*
 * A descriptor the caller left open is closed at start: when the test
 * closes its own copy of a pipe's write end, its read end sees EOF at once,
 * though chatd, its log process and a worker were all started with it.
 */
START_TEST(inherited_descriptors_are_closed)
{
	struct pollfd pfd;
	char byte;
	int p[2];

	ck_assert_int_eq(pipe(p), 0); /* not close-on-exec: chatd gets it */
	start(NULL);
	close(p[1]);
	ck_assert_ptr_nonnull(a = client_greeted(&d, na, sizeof(na)));
	pfd.fd = p[0];
	pfd.events = POLLIN;
	ck_assert_int_eq(poll(&pfd, 1, T_TIMEOUT), 1);
	ck_assert_int_eq(read(p[0], &byte, 1), 0);
	close(p[0]);
	one_done();
}
END_TEST

START_TEST(never_serves_as_root)
{
	const char *a1[] = {"chatd", "-f", "-p", "0", "-b", "127.0.0.1", "-u",
	    "root", NULL};
	const char *a2[] = {"chatd", "-f", "-p", "0", "-b", "127.0.0.1", "-u",
	    "no-such-user-here", NULL};
	char out[4096], path[80];
	long uid[4] = {-1, -1, -1, -1}, ngroups, group = -1;
	uid_t want = geteuid() == 0 ? 65534 : geteuid();
	struct stat st;
	pid_t pid;
	int i;

	/* root without -u serves as nobody; anyone else as itself */
	start(NULL);
	ck_assert_ptr_nonnull(a = client_greeted(&d, na, sizeof(na)));
	for (i = 0; i < 2; i++) {
		pid = i == 0 ? d.pid : worker_pid(1);
		ck_assert_int_eq(uids_of(pid, uid, &ngroups, &group), 0);
		ck_assert_int_eq(uid[0], want);
		ck_assert_int_eq(uid[1], want);
		ck_assert_int_eq(uid[2], want);
		ck_assert_int_eq(uid[3], want);
		if (want == 65534) {
			/* nobody's groups only: root's are gone */
			ck_assert_int_le(ngroups, 1);
			ck_assert(ngroups == 0 || group == 65534);
		}
	}
	if (want == 65534) {
		ck_assert(daemon_log_has(&d, "serving as user=nobody"));
		/*
		 * nobody was looked up in a child: the NSS modules it loaded
		 * are not in the master, nor in every worker after it
		 */
		ck_assert_int_eq(mapping_of(d.pid, "/libnss_", NULL, 0), 0);
		ck_assert_int_eq(mapping_of(worker_pid(1), "/libnss_", NULL, 0), 0);
	}
	/* the segment is the serving user's, and only its */
	snprintf(path, sizeof(path), "/dev/shm%s", d.segname);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_uid, want);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	one_done();
	/* root is never whom to serve as; an unknown user is an error */
	ck_assert_int_eq(run_chatd(a1, out, sizeof(out), T_TIMEOUT), 1);
	ck_assert_msg(strstr(out,
			  geteuid() == 0 ? "will not serve clients as "
					   "root"
					 : "needs root") != NULL,
	    "%s", out);
	ck_assert_int_eq(run_chatd(a2, out, sizeof(out), T_TIMEOUT), 1);
	ck_assert_msg(strstr(out,
			  geteuid() == 0 ? "no user no-such-user-here"
					 : "needs root") != NULL,
	    "%s", out);
}
END_TEST

START_TEST(detaches_as_a_daemon_with_pidfile)
{
	char out[4096], name[40], pidfile[128], buf[32], seg[64];
	const char *argv[] = {"chatd", "-p", "0", "-b", "127.0.0.1", "-n", name,
	    "-P", pidfile, NULL};
	pid_t pid;
	int fd, status, slot;
	ssize_t n;

	/* the detached daemon is reparented to us, so we can reap it */
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	harness_unique(name, sizeof(name), "td");
	snprintf(pidfile, sizeof(pidfile), "/tmp/chatd-test-%s.pid", name);
	snprintf(seg, sizeof(seg), "/chatd-%s", name);
	ck_assert_int_eq(run_chatd(argv, out, sizeof(out), T_TIMEOUT), 0);
	fd = open(pidfile, O_RDONLY);
	ck_assert_int_ne(fd, -1);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	pid = (pid_t)atol(buf);
	ck_assert_int_gt(pid, 1);
	ck_assert_int_eq(kill(pid, 0), 0);
	slot = harness_track(pid, seg);
	/* the pidfile belongs to the user the daemon serves as */
	{
		struct stat st;

		ck_assert_int_eq(stat(pidfile, &st), 0);
		ck_assert_int_eq(st.st_uid, geteuid() == 0 ? 65534 : geteuid());
	}
	/* detached: in a session of its own, and not its leader */
	ck_assert_int_ne(getsid(pid), getsid(0));
	ck_assert_int_ne(getsid(pid), pid);
	/* a second start on the same pidfile is refused, with a reason */
	harness_unique(name, sizeof(name), "td");
	ck_assert_int_eq(run_chatd(argv, out, sizeof(out), T_TIMEOUT), 1);
	ck_assert_msg(strstr(out, "locked") != NULL, "%s", out);
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	/* we are its subreaper: it is our child now, so wait for it */
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	ck_assert_int_ne(fd, -1);
	{
		struct pollfd pfd = {fd, POLLIN, 0};
		ck_assert_int_eq(poll(&pfd, 1, 2 * T_TIMEOUT), 1);
	}
	close(fd);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		; /* and any other orphan that came to us */
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_ne(access(pidfile, F_OK), 0);
	fd = shm_open(seg, O_RDONLY, 0);
	ck_assert_int_eq(fd, -1);
	harness_untrack(slot);
}
END_TEST

START_TEST(bad_options_are_refused)
{
	char out[4096];
	const char *a1[] = {"chatd", "-p", "70000", NULL};
	const char *a2[] = {"chatd", "-F", "nosuch", NULL};
	const char *a3[] = {"chatd", "-n", "../etc", NULL};
	const char *a4[] = {"chatd", "-x", NULL};
	const char *a5[] = {"chatd", "-V", NULL};

	ck_assert_int_eq(run_chatd(a1, out, sizeof(out), T_TIMEOUT), 1);
	ck_assert_ptr_nonnull(strstr(out, "-p 70000"));
	ck_assert_int_eq(run_chatd(a2, out, sizeof(out), T_TIMEOUT), 1);
	ck_assert_ptr_nonnull(strstr(out, "unknown facility"));
	ck_assert_int_eq(run_chatd(a3, out, sizeof(out), T_TIMEOUT), 1);
	ck_assert_int_eq(run_chatd(a4, out, sizeof(out), T_TIMEOUT), 1);
	ck_assert_ptr_nonnull(strstr(out, "usage:"));
	ck_assert_int_eq(run_chatd(a5, out, sizeof(out), T_TIMEOUT), 0);
	ck_assert_ptr_nonnull(strstr(out, "chatd " CHATD_VERSION));
}
END_TEST

/* ---- limits set with -o ---- */

START_TEST(silent_newcomer_is_cut_off)
{
	const char *const args[] = {"-o", "register_timeout=1", NULL};
	char want[64];

	start(args);
	ck_assert_ptr_nonnull(a = client_greeted(&d, na, sizeof(na)));
	ck_assert_ptr_nonnull(b = client_greeted(&d, nb, sizeof(nb)));
	/* A says something in time, B does not */
	client_send(a, "hello\n");
	ck_assert_int_eq(client_expect(b, "hello", NULL, 0), 0);
	ck_assert_int_eq(client_expect(b, "you sent nothing for 1 seconds",
			     NULL, 0),
	    0);
	ck_assert_int_eq(client_wait_eof(b, T_TIMEOUT), 0);
	snprintf(want, sizeof(want), "%s has quit (registration timeout)", nb);
	ck_assert_int_eq(client_expect(a, want, NULL, 0), 0);
	ck_assert_int_eq(daemon_wait_log(&d, "reason=\"registration timeout\"",
			     T_TIMEOUT),
	    0);
	/* A, who spoke, stays */
	answer(a, "/who", "1 in #lobby");
	two_done();
}
END_TEST

/* A, told it was idle (T0: when its 1 s began), is gone, and logged so. */
static void
cut_for_idleness(uint64_t t0)
{
	ck_assert_uint_ge(now_ms() - t0, 500);
	ck_assert_int_eq(client_wait_eof(a, T_TIMEOUT), 0);
	ck_assert_int_eq(daemon_wait_log(&d, "reason=\"idle timeout\"",
			     T_TIMEOUT),
	    0);
	two_done();
}

START_TEST(idle_client_is_cut_off)
{
	const char *const args[] = {"-o", "idle_timeout=1", NULL};
	uint64_t t0;

	start(args);
	ck_assert_ptr_nonnull(a = client_greeted(&d, na, sizeof(na)));
	ck_assert_ptr_nonnull(b = client_greeted(&d, nb, sizeof(nb)));
	/* B keeps talking for a while and stays; A says nothing */
	t0 = now_ms();
	ck_assert_int_eq(client_expect(a, "you were idle for 1 seconds", NULL,
			     0),
	    0);
	cut_for_idleness(t0);
}
END_TEST

/*
 * A client that says nothing is cut off for idleness even while the room
 * keeps its worker busy, waking it for every line: its worker looks at
 * the timeouts without the clock being read at each wake-up (serve() in
 * worker/session.c), and must still see this one come due.
 */
START_TEST(idle_client_is_cut_off_in_a_busy_room)
{
	const char *const args[] = {"-l", "0", "-o", "idle_timeout=1", NULL};
	char line[512];
	uint64_t t0, deadline;
	int i, cut = 0;

	start(args);
	ck_assert_ptr_nonnull(a = client_greeted(&d, na, sizeof(na)));
	ck_assert_ptr_nonnull(b = client_greeted(&d, nb, sizeof(nb)));
	t0 = now_ms();
	deadline = t0 + (uint64_t)T_TIMEOUT;
	/* bounded: 20,000 lines at most, and the test's time limit */
	for (i = 0; i < 20000 && !cut && now_ms() < deadline; i++) {
		ck_assert_int_eq(client_send(b, "tick %d", i), 0);
		while (!cut && client_line(a, line, sizeof(line), 2) >= 0)
			cut = strstr(line, "you were idle for 1 seconds") !=
			    NULL;
	}
	ck_assert_int_eq(cut, 1);
	ck_assert_int_gt(i, 50); /* the room was busy meanwhile */
	cut_for_idleness(t0);
}
END_TEST

START_TEST(persistent_flooder_is_disconnected)
{
	const char *const args[] = {"-l", "5:5", "-o", "flood_kick=1", NULL};
	char want[64];
	int i;

	start(args);
	ck_assert_ptr_nonnull(a = client_greeted(&d, na, sizeof(na)));
	ck_assert_ptr_nonnull(b = client_greeted(&d, nb, sizeof(nb)));
	for (i = 0; i < 40; i++)
		client_send(a, "flood %d\n", i);
	ck_assert_int_eq(client_expect(a, "your lines are slowed down", NULL,
			     0),
	    0);
	ck_assert_int_eq(client_expect(a,
			     "you kept sending more than 5 lines a second",
			     NULL, 0),
	    0);
	ck_assert_int_eq(client_wait_eof(a, T_TIMEOUT), 0);
	/* what got through came in order; then A was gone */
	ck_assert_int_eq(client_expect(b, "> flood 0", NULL, 0), 0);
	snprintf(want, sizeof(want), "%s has quit (excess flood)", na);
	ck_assert_int_eq(client_expect_before(b, want, "flood 39"), 0);
	ck_assert_int_eq(daemon_wait_log(&d, "kick_s=1", T_TIMEOUT), 0);
	two_done();
}
END_TEST

START_TEST(nickname_length_is_a_setting)
{
	const char *const args[] = {"-o", "nick_length=5", NULL};

	start(args);
	ck_assert_ptr_nonnull(a = client_greeted(&d, na, sizeof(na)));
	answer(a, "/nick abcdef", "invalid nickname: 1 to 5 ");
	rename_to(a, "abcde");
	one_done();
}
END_TEST

START_TEST(rooms_per_client_and_in_all)
{
	const char *const args[] = {"-o", "rooms_per_client=2", "-o",
	    "max_rooms=3", NULL};

	start(args);
	ck_assert_ptr_nonnull(a = client_greeted(&d, na, sizeof(na)));
	ck_assert_ptr_nonnull(b = client_greeted(&d, nb, sizeof(nb)));
	answer(a, "/join #one", "you joined #one");
	answer(a, "/join #two", "you are in 2 rooms already");
	answer(b, "/join #two", "you joined #two");
	/* #lobby, #one, #two: a fourth room is refused, a used one is not */
	answer(a, "/part #one\n/join #three", "you joined #three");
	ck_assert_ptr_nonnull(c = client_greeted(&d, nc, sizeof(nc)));
	answer(c, "/join #four", "the server has 3 rooms already");
	answer(c, "/join #three", "you joined #three");
	/* a room ends with its last member and frees its place */
	answer(b, "/part #two", "you left #two");
	answer(c, "/part #three\n/join #four", "you joined #four");
	client_close(a);
	client_close(b);
	client_close(c);
	a = b = c = NULL;
	stop();
}
END_TEST

START_TEST(crowded_rooms_are_quiet)
{
	const char *const args[] = {"-o", "announce_limit=2", NULL};
	char want[128];

	start(args);
	ck_assert_ptr_nonnull(a = client_greeted(&d, na, sizeof(na)));
	ck_assert_ptr_nonnull(b = client_greeted(&d, nb, sizeof(nb)));
	/* two members: the second one's join is told */
	snprintf(want, sizeof(want), "*** %s joined #lobby", nb);
	ck_assert_int_eq(client_expect(a, want, NULL, 0), 0);
	/* a third is one too many: nobody is told, the joiner still is */
	ck_assert_ptr_nonnull(c = client_greeted(&d, nc, sizeof(nc)));
	answer(c, "/who", nc);
	client_send(b, "after the third\n");
	ck_assert_int_eq(client_expect_before(a, "after the third", "joined"),
	    0);
	/* nor told of a nick change or a quit there */
	answer(c, "/nick crowd3", "you are now known as crowd3");
	client_send(c, "/quit\n");
	ck_assert_int_eq(client_wait_eof(c, T_TIMEOUT), 0);
	client_close(c);
	c = NULL;
	client_send(b, "after the quit\n");
	ck_assert_int_eq(client_expect_before(a, "after the quit", "crowd3"),
	    0);
	/* two again: a leave is told */
	client_send(b, "/part\n");
	snprintf(want, sizeof(want), "*** %s left #lobby", nb);
	ck_assert_int_eq(client_expect(a, want, NULL, 0), 0);
	client_close(a);
	client_close(b);
	a = b = NULL;
	stop();
}
END_TEST

START_TEST(bad_settings_are_refused)
{
	char out[4096];
	const char *a1[] = {"chatd", "-o", "nosuch=1", NULL};
	const char *a2[] = {"chatd", "-o", "idle_timeout=-1", NULL};
	const char *a3[] = {"chatd", "-o", "nick_length", NULL};
	const char *a4[] = {"chatd", "-o", "nick_length=31", NULL};

	ck_assert_int_eq(run_chatd(a1, out, sizeof(out), T_TIMEOUT), 1);
	ck_assert_ptr_nonnull(strstr(out, "unknown setting \"nosuch\""));
	ck_assert_ptr_nonnull(strstr(out, "register_timeout"));
	ck_assert_int_eq(run_chatd(a2, out, sizeof(out), T_TIMEOUT), 1);
	ck_assert_ptr_nonnull(strstr(out, "idle_timeout takes a number"));
	ck_assert_int_eq(run_chatd(a3, out, sizeof(out), T_TIMEOUT), 1);
	ck_assert_ptr_nonnull(strstr(out, "not KEY=VALUE"));
	ck_assert_int_eq(run_chatd(a4, out, sizeof(out), T_TIMEOUT), 1);
	ck_assert_ptr_nonnull(strstr(out, "from 1 to 30"));
}
END_TEST

/* ---- the configuration file, -t and SIGHUP ---- */

static char conf[64], motd[64];

/* Writes TEXT to the file PATH names (made unique on first use). */
static void
write_file(char *path, size_t size, const char *prefix, const char *text)
{
	char tmp[80];
	FILE *f;

	if (path[0] == '\0')
		harness_unique(path, size, prefix);
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	ck_assert_ptr_nonnull(f = fopen(tmp, "w"));
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
	/* the daemon serves as nobody: the files must be readable to it */
	ck_assert_int_eq(chmod(path, 0644), 0);
}

static void conf_is(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
conf_is(const char *fmt, ...)
{
	char text[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	write_file(conf, sizeof(conf), "/tmp/chatd-test-conf-", text);
}

static void
conf_done(void)
{
	unlink(conf);
	unlink(motd);
	conf[0] = motd[0] = '\0';
}

START_TEST(file_settings_and_the_command_line_over_them)
{
	const char *const args[] = {"-c", conf, "-o", "nick_length=7", NULL};

	write_file(motd, sizeof(motd), "/tmp/chatd-test-motd-",
	    "Welcome to the \x1b[31mtest\x1b[0m server.\n"
	    "\n"
	    "Be nice.\n");
	conf_is("# a test configuration\n"
		"motd %s\n"
		"nick_length = 5\n"
		"rooms_per_client 2\n",
	    motd);
	start(args);
	ck_assert_ptr_nonnull(a = client_open(d.port));
	ck_assert_int_eq(client_expect(a, "*** - Welcome to the test server.",
			     NULL, 0),
	    0);
	ck_assert_int_eq(client_expect(a, "*** - Be nice.", NULL, 0), 0);
	/* the file's rooms_per_client, the command line's nick_length */
	answer(a, "/nick abcdefg\n/join #x\n/join #y",
	    "you are now known as abcdefg");
	ck_assert_int_eq(client_expect(a, "you are in 2 rooms already", NULL,
			     0),
	    0);
	one_done();
	conf_done();
}
END_TEST

/*
 * A long message of the day does not make a client busy: its worker still
 * sends through its pipe after a greeting of 24 lines and its join.
 */
START_TEST(a_long_motd_keeps_the_worker_quiet)
{
	const char *const args[] = {"-c", conf, NULL};
	struct tcp_info ti;
	socklen_t tl = sizeof(ti);
	char text[1024];
	size_t used = 0;
	pid_t w;
	int i;

	for (i = 0; i < 20; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used,
		    "news item %02d\n", i);
	write_file(motd, sizeof(motd), "/tmp/chatd-test-motd-", text);
	conf_is("motd %s\n", motd);
	start(args);
	ck_assert_ptr_nonnull(a = client_open(d.port));
	ck_assert_int_eq(client_expect(a, "*** - news item 19", NULL, 0), 0);
	ck_assert_int_eq(client_expect(a, "you joined #lobby", NULL, 0), 0);
	ck_assert_int_gt(w = worker_pid(1), 0);
	ck_assert_int_ge(own_pipes(w), 1);
	/*
	 * the greeting's 24 lines came in one segment: with the handshake's
	 * and the join's, three (a line a send would be 26)
	 */
	ck_assert_int_eq(getsockopt(a->fd, IPPROTO_TCP, TCP_INFO, &ti, &tl), 0);
	ck_assert_uint_le(ti.tcpi_segs_in, 4);
	one_done();
	conf_done();
}
END_TEST

/*
 * Starts the daemon with a 20-line motd and the shim SHIM_NAME (a library
 * built beside this test from tests/SHIM_NAME.c) preloaded into it, for
 * the daemon alone: the shim is loaded when chatd starts.
 */
static void
start_preloaded(const char *shim_name)
{
	const char *const args[] = {"-c", conf, NULL};
	const char *asan = getenv("ASAN_OPTIONS");
	char text[1024], exe[PATH_MAX], shim[PATH_MAX + 16], *slash;
	char saved[512] = "", opts[sizeof(saved) + 32];
	int had_asan = asan != NULL;
	size_t used = 0;
	ssize_t n;
	int i;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ck_assert_int_gt(n, 0);
	exe[n] = '\0';
	ck_assert_ptr_nonnull(slash = strrchr(exe, '/'));
	*slash = '\0';
	snprintf(shim, sizeof(shim), "%s/%s.so", exe, shim_name);
	ck_assert_msg(access(shim, R_OK) == 0, "no %s (make builds it)", shim);
	for (i = 0; i < 20; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used,
		    "news item %02d\n", i);
	write_file(motd, sizeof(motd), "/tmp/chatd-test-motd-", text);
	conf_is("motd %s\n", motd);
	if (had_asan)
		strlcpy_(saved, asan, sizeof(saved));
	snprintf(opts, sizeof(opts), "%s%sverify_asan_link_order=0", saved,
	    saved[0] != '\0' ? ":" : "");
	setenv("LD_PRELOAD", shim, 1);
	setenv("ASAN_OPTIONS", opts, 1);
	start(args);
	unsetenv("LD_PRELOAD");
	if (had_asan)
		setenv("ASAN_OPTIONS", saved, 1);
	else
		unsetenv("ASAN_OPTIONS");
}

/*
 * The greeting and what follows it reach the client whole and in order,
 * and the worker has ended its pipe and sends directly.
 */
static void
greeting_whole_and_pipe_ended(void)
{
	char line[LINE];
	pid_t w;

	ck_assert_ptr_nonnull(a = client_open(d.port));
	ck_assert_int_ge(client_line(a, line, sizeof(line), T_TIMEOUT), 0);
	ck_assert_ptr_nonnull(strstr(line, "*** Welcome to chatd, "));
	expect_in_order(a, "*** - news item ", 20);
	ck_assert_int_eq(client_expect(a, "you joined #lobby", NULL, 0), 0);
	ck_assert_int_gt(w = worker_pid(1), 0);
	/* the pipe is gone (valgrind keeps a pipe of its own in every one) */
	if (!under_valgrind(w))
		ck_assert_int_eq(own_pipes(w), 0);
	ck_assert_ptr_nonnull(b = client_greeted(&d, nb, sizeof(nb)));
	client_send(a, "sent directly\n");
	ck_assert_int_eq(client_expect(b, "sent directly", NULL, 0), 0);
}

/*
 * Where the kernel will not splice to a socket (splice(2) preloaded to
 * fail with EINVAL: tests/nosplice.c), a worker reads back the greeting
 * that waits in its pipe, sends it directly and ends the pipe: every line
 * arrives, in order, and so do the lines after it.
 */
START_TEST(splice_refused_loses_no_line)
{
	start_preloaded("nosplice");
	greeting_whole_and_pipe_ended();
	two_done();
	conf_done();
}
END_TEST

/*
 * A held greeting's write that finds no room in the pipe (a pipe that
 * holds 300 bytes: tests/pipefull.c) fails at once rather than wait for
 * a reader that is the worker itself: the worker reads back what waits,
 * sends it and the line that found no room directly, and ends the pipe.
 */
START_TEST(a_full_pipe_loses_no_line)
{
	setenv("PIPEFULL_ROOM", "300", 1);
	start_preloaded("pipefull");
	unsetenv("PIPEFULL_ROOM");
	greeting_whole_and_pipe_ended();
	two_done();
	conf_done();
}
END_TEST

START_TEST(sighup_changes_limits_and_motd_for_everyone)
{
	const char *const args[] = {"-c", conf, NULL};

	conf_is("nick_length 16\n");
	start(args);
	ck_assert_ptr_nonnull(a = client_greeted(&d, na, sizeof(na)));
	rename_to(a, "early");
	ck_assert(!daemon_log_has(&d, "new=early"));
	write_file(motd, sizeof(motd), "/tmp/chatd-test-motd-",
	    "Fresh news.\n");
	conf_is("nick_length 5\nmotd %s\nverbose yes\nstats_interval 1\n",
	    motd);
	ck_assert_int_eq(daemon_signal(&d, SIGHUP), 0);
	ck_assert_int_eq(daemon_wait_log(&d, "reload: configuration",
			     T_TIMEOUT),
	    0);
	ck_assert(daemon_log_has(&d, "nick_length=5"));
	/* a client already connected obeys the new limit */
	answer(a, "/nick abcdef", "invalid nickname: 1 to 5 ");
	/* a new one sees the new message of the day */
	ck_assert_ptr_nonnull(b = client_open(d.port));
	ck_assert_int_eq(client_expect(b, "*** - Fresh news.", NULL, 0), 0);
	/* the log level changed in the workers too, and stats come alone */
	client_send(a, "/nick late\n");
	ck_assert_int_eq(daemon_wait_log(&d, "new=late", T_TIMEOUT), 0);
	client_send(b, "hello\n/quit\n");
	ck_assert_int_eq(client_wait_eof(b, T_TIMEOUT), 0);
	ck_assert_int_eq(daemon_wait_log(&d, "worker reaped pid=", T_TIMEOUT),
	    0);
	ck_assert_int_eq(daemon_wait_log(&d, "stats clients=", T_TIMEOUT), 0);
	two_done();
	conf_done();
}
END_TEST

START_TEST(sighup_keeps_what_cannot_change_and_a_bad_file)
{
	const char *const args[] = {"-c", conf, NULL};

	conf_is("backlog 3\n");
	start(args);
	ck_assert_ptr_nonnull(a = client_greeted(&d, na, sizeof(na)));
	/* a file with a mistake changes nothing */
	conf_is("backlog 4\nnick_length 5\nbogus yes\n");
	ck_assert_int_eq(daemon_signal(&d, SIGHUP), 0);
	ck_assert_int_eq(daemon_wait_log(&d,
			     "keeping the running "
			     "configuration",
			     T_TIMEOUT),
	    0);
	ck_assert(daemon_log_has(&d, ":3: unknown setting \"bogus\""));
	answer(a, "/nick abcdef", "you are now known as abcdef");
	/* what the sockets and the segment were made with stays */
	conf_is("ring_slots 128\nmax_clients 5\nfacility local5\n"
		"huge_pages no\n");
	ck_assert_int_eq(daemon_signal(&d, SIGHUP), 0);
	ck_assert_int_eq(daemon_wait_log(&d, "reload: configuration",
			     T_TIMEOUT),
	    0);
	ck_assert(daemon_log_has(&d, "ring_slots cannot change"));
	ck_assert(daemon_log_has(&d, "max_clients cannot change"));
	ck_assert(daemon_log_has(&d, "facility cannot change"));
	ck_assert(daemon_log_has(&d, "huge_pages cannot change while chatd runs; "
			      "keeping yes"));
	ck_assert_ptr_nonnull(b = client_greeted(&d, nb, sizeof(nb)));
	two_done();
	conf_done();
}
END_TEST

START_TEST(dash_t_checks_and_says_why)
{
	const char *good[] = {"chatd", "-t", "-c", conf, NULL};
	const char *missing[] = {"chatd", "-t", "-c", "/nonexistent/x.conf",
	    NULL};
	char out[4096];

	conf_is("port 7000\nflood_rate 3\n");
	ck_assert_int_eq(run_chatd(good, out, sizeof(out), T_TIMEOUT), 0);
	ck_assert_msg(strstr(out, "is valid") != NULL, "%s", out);
	conf_is("port 7000\n\nflood_rate three\n");
	ck_assert_int_eq(run_chatd(good, out, sizeof(out), T_TIMEOUT), 1);
	ck_assert_msg(strstr(out, ":3: flood_rate takes a number") != NULL,
	    "%s", out);
	conf_is("motd /nonexistent/motd\n");
	ck_assert_int_eq(run_chatd(good, out, sizeof(out), T_TIMEOUT), 1);
	ck_assert_msg(strstr(out, "motd /nonexistent/motd") != NULL, "%s", out);
	conf_is("user no-such-user-here\n");
	ck_assert_int_eq(run_chatd(good, out, sizeof(out), T_TIMEOUT), 1);
	ck_assert_int_eq(run_chatd(missing, out, sizeof(out), T_TIMEOUT), 1);
	ck_assert_msg(strstr(out, "/nonexistent/x.conf: No such file") != NULL,
	    "%s", out);
	conf_done();
}
END_TEST

START_TEST(bad_file_refuses_to_start)
{
	char out[4096];
	const char *argv[] = {"chatd", "-f", "-p", "0", "-c", conf, NULL};

	conf_is("idle_timeout 10\nidle_timeout 20\n");
	ck_assert_int_eq(run_chatd(argv, out, sizeof(out), T_TIMEOUT), 1);
	ck_assert_msg(strstr(out,
			  ":2: idle_timeout is set already, on line "
			  "1") != NULL,
	    "%s", out);
	conf_done();
}
END_TEST

/* ---- chatd -S: the status of a running instance ---- */

/* The line of OUT that starts with WORD and a space, copied to LINE. */
static int
status_line(const char *out, const char *word, char *line, size_t size)
{
	size_t n = strlen(word), len;
	const char *p = out;

	for (; *p != '\0'; p += len + (p[len] == '\n')) {
		len = strcspn(p, "\n");
		if (strncmp(p, word, n) == 0 && p[n] == ' ') {
			snprintf(line, size, "%.*s", (int)len, p);
			return 0;
		}
	}
	return -1;
}

/* In run_chatd()'s child: become nobody. */
static void
as_nobody(void)
{
	if (setgroups(0, NULL) == -1 || setgid(65534) == -1 ||
	    setuid(65534) == -1)
		_exit(126);
}

/* Runs "chatd -S -n NAME -c /dev/null" as uid and gid 65534. */
static int
status_as_nobody(const char *name, char *out, size_t size)
{
	const char *argv[] = {"chatd", "-S", "-n", name, "-c", "/dev/null",
	    NULL};
	int r;

	harness_exec_hook = as_nobody;
	r = run_chatd(argv, out, size, T_TIMEOUT);
	harness_exec_hook = NULL;
	return r;
}

START_TEST(status_shows_the_instance_and_its_clients)
{
	const char *argv[] = {"chatd", "-S", "-n", d.name, "-c", "/dev/null",
	    NULL};
	char out[16384], line[1024], want[128], nick[64], addr[80], rooms[300];
	char state[32];
	unsigned long in, out_, drops;
	long pid;
	uint64_t head, published, deadline;
	struct shm s;

	start(NULL);
	ck_assert_ptr_nonnull(a = client_greeted(&d, na, sizeof(na)));
	ck_assert_ptr_nonnull(b = client_greeted(&d, nb, sizeof(nb)));
	answer(b, "/join #ops", "you joined #ops");
	/* five lines from A: two commands and three said in #ops */
	rename_to(a, "alice");
	answer(a, "/join #OPS", "you joined #ops");
	client_send(a, "one\ntwo\nthree\n");
	ck_assert_int_eq(client_expect(b, "<alice> three", NULL, 0), 0);

	ck_assert_int_eq(shm_attach_ro(&s, d.segname), 0);
	/* B has the line: A's worker is done waking, or about to be */
	deadline = now_ms() + (uint64_t)T_TIMEOUT;
	while (ring_owing(&s) != 0 && now_ms() < deadline)
		usleep(1000); /* bits in shared memory: nothing to wait on */
	ck_assert_uint_eq(ring_owing(&s), 0);
	head = atomic_load(&s.h->head);
	published = atomic_load(&s.h->stats.published);
	ck_assert_int_eq(run_chatd(argv, out, sizeof(out), T_TIMEOUT), 0);

	/* the header */
	snprintf(want, sizeof(want), "instance: %s\n", d.name);
	ck_assert_ptr_nonnull(strstr(out, want));
	snprintf(want, sizeof(want), "\nsegment: %s\n", d.segname);
	ck_assert_ptr_nonnull(strstr(out, want));
	snprintf(want, sizeof(want), "\nmaster_pid: %ld\n", (long)d.pid);
	ck_assert_ptr_nonnull(strstr(out, want));
	ck_assert_ptr_nonnull(strstr(out, "\nmaster_alive: yes\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nclients: 2\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nmax_clients: 1024\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nrooms_in_use: 2\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nring_slots: 4096\n"));
	snprintf(want, sizeof(want), "\nhead: %llu\n",
	    (unsigned long long)head);
	ck_assert_ptr_nonnull(strstr(out, want));
	ck_assert_ptr_nonnull(strstr(out, "\nbacklog: 10\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nflood_rate: 5\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nflood_burst: 20\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nnick_length: 16\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nmax_rooms: 256\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nconnections: 2\n"));
	snprintf(want, sizeof(want), "\npublished: %llu\n",
	    (unsigned long long)published);
	ck_assert_ptr_nonnull(strstr(out, want));
	ck_assert_ptr_nonnull(strstr(out, "\nlock_takeovers: 0\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nowing_wakeups: 0\n"));

	/* NICK ADDRESS ROOMS date time ELAPSED IN OUT DROPS PID STATE */
	ck_assert_int_eq(status_line(out, "NICK", line, sizeof(line)), 0);
	ck_assert_int_eq(status_line(out, "alice", line, sizeof(line)), 0);
	ck_assert_int_eq(sscanf(line,
			     "%63s %79s %299s %*s %*s %*s %lu %lu %lu "
			     "%ld %31s",
			     nick, addr, rooms, &in, &out_, &drops, &pid,
			     state),
	    8);
	ck_assert_str_eq(nick, "alice");
	ck_assert_int_eq(strncmp(addr, "127.0.0.1:", 10), 0);
	ck_assert_ptr_nonnull(strstr(rooms, "#ops"));
	ck_assert_ptr_nonnull(strstr(rooms, "#lobby"));
	ck_assert_uint_eq(in, 5);
	ck_assert_uint_eq(drops, 0);
	ck_assert_int_gt(pid, 0);
	ck_assert_int_ne(pid, d.pid);
	ck_assert_str_eq(state, "active");
	ck_assert_int_eq(status_line(out, nb, line, sizeof(line)), 0);
	ck_assert_ptr_nonnull(strstr(line, "#ops"));

	/* looking changed nothing, and the daemon goes on serving */
	ck_assert_uint_eq(atomic_load(&s.h->head), head);
	ck_assert_uint_eq(atomic_load(&s.h->stats.published), published);
	ck_assert_int_eq(atomic_load(&s.h->publock.owner), 0);
	ck_assert_int_eq(atomic_load(&s.h->tablock.owner), 0);
	client_send(b, "still here\n");
	ck_assert_int_eq(client_expect(a, "still here", line, sizeof(line)), 0);
	snprintf(want, sizeof(want), "<%s> still here", nb);
	ck_assert_str_eq(line, want);
	ck_assert_uint_eq(atomic_load(&s.h->head), head + 1);
	shm_detach(&s);
	two_done();
}
END_TEST

START_TEST(status_says_why_it_cannot_show)
{
	const char *a1[] = {"chatd", "-S", "-n", "no-such-instance", "-c",
	    "/dev/null", NULL};
	const char *a2[] = {"chatd", "-S", "-p", "1", "-c", "/dev/null", NULL};
	const char *a3[] = {"chatd", "-S", "-n", NULL, "-c", "/dev/null", NULL};
	char out[4096], name[40], seg[64], junk[4096];
	int fd, slot;

	ck_assert_int_eq(run_chatd(a1, out, sizeof(out), T_TIMEOUT), 1);
	ck_assert_ptr_nonnull(strstr(out,
	    "no running chatd instance no-such-instance "
	    "(no segment /chatd-no-such-instance)"));
	/* without -n, the instance is named after the port */
	ck_assert_int_eq(run_chatd(a2, out, sizeof(out), T_TIMEOUT), 1);
	ck_assert_ptr_nonnull(
	    strstr(out, "no running chatd instance 1 (no segment /chatd-1)"));

	/* a segment named as chatd names them, but not chatd's */
	harness_unique(name, sizeof(name), "t");
	snprintf(seg, sizeof(seg), "/chatd-%s", name);
	fd = shm_open(seg, O_RDWR | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ne(fd, -1);
	slot = harness_track(0, seg);
	memset(junk, 'x', sizeof(junk));
	ck_assert_int_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	a3[3] = name;
	ck_assert_int_eq(run_chatd(a3, out, sizeof(out), T_TIMEOUT), 1);
	ck_assert_ptr_nonnull(strstr(out, "is not a chatd segment"));
	ck_assert_ptr_null(strstr(out, "instance:"));
	/* one the user may not read */
	if (geteuid() == 0) {
		ck_assert_int_eq(status_as_nobody(name, out, sizeof(out)), 1);
		ck_assert_ptr_nonnull(strstr(out, "permission denied"));
		ck_assert_ptr_nonnull(strstr(out, "as root"));
	}
	ck_assert_int_eq(shm_unlink(seg), 0);
	harness_untrack(slot);
}
END_TEST

static Suite *
daemon_suite(void)
{
	Suite *s = suite_create("daemon");
	TCase *tc;

	tc = tcase_create("chat");
	tcase_add_unchecked_fixture(tc, harness_init, harness_cleanup);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, greeting_names_nick_and_help);
	tcase_add_test(tc, broadcast_reaches_the_others);
	tcase_add_test(tc, no_echo_to_the_sender);
	tcase_add_test(tc, many_talkers_get_batches_and_lose_nothing);
	tcase_add_test(tc, one_talker_gets_no_batch);
	tcase_add_test(tc, lf_and_crlf_and_partial_lines);
	tcase_add_test(tc, nick_change_is_announced);
	tcase_add_test(tc, nick_unique_case_insensitively);
	tcase_add_test(tc, nick_invalid_is_refused);
	tcase_add_test(tc, who_lists_the_room);
	tcase_add_test(tc, msg_reaches_only_its_target);
	tcase_add_test(tc, msg_errors);
	tcase_add_test(tc, me_is_an_action);
	tcase_add_test(tc, rooms_separate_talk);
	tcase_add_test(tc, join_shows_backlog);
	tcase_add_test(tc, backlog_length_is_configurable);
	tcase_add_test(tc, part_leaves_a_room);
	tcase_add_test(tc, rooms_lists_rooms_and_counts);
	tcase_add_test(tc, join_errors);
	tcase_add_test(tc, quit_says_goodbye_and_closes);
	tcase_add_test(tc, help_lists_every_command);
	tcase_add_test(tc, unknown_command_is_an_error);
	suite_add_tcase(s, tc);

	tc = tcase_create("robustness");
	tcase_add_unchecked_fixture(tc, harness_init, harness_cleanup);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, reset_client_is_announced);
	tcase_add_test(tc, killed_worker_is_reaped_and_announced);
	tcase_add_test(tc, huge_line_is_cut_with_a_notice);
	tcase_add_test(tc, escapes_never_reach_others);
	tcase_add_test(tc, hostile_input_reaches_nobody_raw);
	tcase_add_test(tc, stalled_reader_is_told_what_it_missed);
	tcase_add_test(tc, quiet_room_is_not_a_slow_reader);
	tcase_add_test(tc, flooder_is_slowed_not_robbed);
	tcase_add_test(tc, client_that_stops_reading_is_cut_off);
	tcase_add_test(tc, full_server_refuses_newcomers);
	tcase_add_test(tc, too_many_from_one_address);
	tcase_add_test(tc, failed_fork_is_survived);
	tcase_add_test(tc, chat_text_is_not_logged);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_unchecked_fixture(tc, harness_init, harness_cleanup);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, silent_newcomer_is_cut_off);
	tcase_add_test(tc, idle_client_is_cut_off);
	tcase_add_test(tc, idle_client_is_cut_off_in_a_busy_room);
	tcase_add_test(tc, persistent_flooder_is_disconnected);
	tcase_add_test(tc, nickname_length_is_a_setting);
	tcase_add_test(tc, rooms_per_client_and_in_all);
	tcase_add_test(tc, crowded_rooms_are_quiet);
	tcase_add_test(tc, bad_settings_are_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("configuration");
	tcase_add_unchecked_fixture(tc, harness_init, harness_cleanup);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, file_settings_and_the_command_line_over_them);
	tcase_add_test(tc, sighup_changes_limits_and_motd_for_everyone);
	tcase_add_test(tc, a_long_motd_keeps_the_worker_quiet);
	tcase_add_test(tc, splice_refused_loses_no_line);
	tcase_add_test(tc, a_full_pipe_loses_no_line);
	tcase_add_test(tc, sighup_keeps_what_cannot_change_and_a_bad_file);
	tcase_add_test(tc, dash_t_checks_and_says_why);
	tcase_add_test(tc, bad_file_refuses_to_start);
	suite_add_tcase(s, tc);

	tc = tcase_create("daemon life");
	tcase_add_unchecked_fixture(tc, harness_init, harness_cleanup);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, two_instances_side_by_side);
	tcase_add_test(tc, workers_outlive_the_master_and_are_adopted);
	tcase_add_test(tc, same_name_refused);
	tcase_add_test(tc, same_port_refused);
	tcase_add_test(tc, stale_segment_is_replaced);
	tcase_add_test(tc, graceful_shutdown_leaves_nothing);
	tcase_add_test(tc, sigint_also_stops);
	tcase_add_test(tc, ctrl_c_to_the_group_is_a_graceful_stop);
	tcase_add_test(tc, usr1_logs_statistics_hup_is_harmless);
	tcase_add_test(tc, log_process_killed_is_started_again);
	tcase_add_test(tc, ipv6_loopback);
	tcase_add_test(tc, detaches_as_a_daemon_with_pidfile);
	tcase_add_test(tc, never_serves_as_root);
	tcase_add_test(tc, segment_asks_for_huge_pages);
	tcase_add_test(tc, huge_pages_no_keeps_the_segment_off_them);
	tcase_add_test(tc, workers_get_fresh_copies_of_the_code_by_twos);
	tcase_add_test(tc, workers_per_copy_0_shares_one_copy);
	tcase_add_test(tc, no_heap_at_the_program_break);
	tcase_add_test(tc, inherited_descriptors_are_closed);
	tcase_add_test(tc, workers_take_locks_in_their_own_name);
	tcase_add_test(tc, workers_write_no_fork_state);
	tcase_add_test(tc, a_quiet_worker_sends_through_a_pipe);
#ifndef SANITIZED
	tcase_add_test(tc, an_idle_worker_writes_one_page_of_chatd);
#endif
	tcase_add_test(tc, bad_options_are_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("status");
	tcase_add_unchecked_fixture(tc, harness_init, harness_cleanup);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, status_shows_the_instance_and_its_clients);
	tcase_add_test(tc, status_says_why_it_cannot_show);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return harness_run(daemon_suite());
}
