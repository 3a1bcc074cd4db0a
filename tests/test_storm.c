/*
 * test_storm.c - a connection storm against the default limits.
 *
 * STORM_CONNS connections (1,000 in make check, 10,000 with make storm)
 * are opened as fast as one process can, from many loopback addresses
 * (127.0.0.0/8 is all loopback), while two clients already in keep
 * chatting.  Every newcomer must be either greeted or refused with a
 * "*** " line; the two must be served throughout; afterwards no worker is
 * left, reaped or not, and no row of the client table stays taken.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "../common/util.h"

#define PER_ADDR 25 /* connections from each source address */

enum fate { OPEN = 0, GREETED, FULL, PERHOST, BUSY, CLOSED, OTHER };

struct conn {
	int fd;
	enum fate fate;
	size_t len;
	char buf[160];
};

static struct daemon d;

static int
storm_size(void)
{
	const char *e = getenv("STORM_CONNS");
	int n = e != NULL ? atoi(e) : 0;

	return n > 0 && n <= 20000 ? n : 1000;
}

/* Enough descriptors for N connections and the harness. */
static int
raise_nofile(int n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	if (rl.rlim_cur >= (rlim_t)n + 64)
		return 0;
	rl.rlim_cur = (rlim_t)n + 64;
	if (rl.rlim_max < rl.rlim_cur)
		rl.rlim_max = rl.rlim_cur;
	return setrlimit(RLIMIT_NOFILE, &rl);
}

/* A non-blocking connect from 127.0.0.X (X from 2) to the daemon. */
static int
open_from(int x, int port)
{
	struct sockaddr_in src, dst;
	int fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		return -1;
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(0x7f000000u | (uint32_t)(x + 2));
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)port);
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) == -1 ||
	    (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) == -1 &&
		errno != EINPROGRESS)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Decides C's fate from what it has read so far. */
static void
classify(struct conn *c)
{
	c->buf[c->len] = '\0';
	if (strstr(c->buf, "*** Welcome to chatd") != NULL)
		c->fate = GREETED;
	else if (strstr(c->buf, "*** server is full") != NULL)
		c->fate = FULL;
	else if (strstr(c->buf, "*** too many connections from your") != NULL)
		c->fate = PERHOST;
	else if (strstr(c->buf, "*** server is busy") != NULL)
		c->fate = BUSY;
}

/* Reads what C has; returns 1 once its fate is known. */
static int
drain(struct conn *c)
{
	ssize_t n;

	while (c->len < sizeof(c->buf) - 1) {
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
		if (n > 0) {
			c->len += (size_t)n;
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			break;
		classify(c);
		if (c->fate == OPEN)
			c->fate = n == 0 ? CLOSED : OTHER;
		return 1;
	}
	classify(c);
	return c->fate != OPEN;
}

/*
 * The kernel's count of SYN-cookie handshakes it could not complete and
 * answered with a reset (TcpExt SyncookiesFailed), or -1.  When the
 * accept queue overflows, such connections never reach the daemon.
 */
static long
cookies_failed(void)
{
	char names[4096], values[4096], *n, *v, *sn, *sv;
	long found = -1;
	FILE *f;

	if ((f = fopen("/proc/net/netstat", "r")) == NULL)
		return -1;
	while (fgets(names, sizeof(names), f) != NULL &&
	    fgets(values, sizeof(values), f) != NULL) {
		if (strncmp(names, "TcpExt:", 7) != 0)
			continue;
		n = strtok_r(names, " \n", &sn);
		v = strtok_r(values, " \n", &sv);
		while ((n = strtok_r(NULL, " \n", &sn)) != NULL &&
		    (v = strtok_r(NULL, " \n", &sv)) != NULL)
			if (strcmp(n, "SyncookiesFailed") == 0)
				found = atol(v);
	}
	fclose(f);
	return found;
}

/* How many times NEEDLE is in the daemon's log. */
static int
log_count(const char *needle)
{
	const char *p;
	int n = 0;

	pthread_mutex_lock(&d.mu);
	for (p = d.log; p != NULL && (p = strstr(p, needle)) != NULL; p++)
		n++;
	pthread_mutex_unlock(&d.mu);
	return n;
}

/* Non-free rows of the daemon's client table, or -1. */
static int
rows_taken(void)
{
	struct shm s;
	int n;

	if (shm_attach(&s, d.segname) == -1)
		return -1;
	n = table_count(&s);
	shm_detach(&s);
	return n;
}

/* The master's workers, zombies included, from /proc. */
static int
children_of_master(void)
{
	int all = children_named(d.pid, NULL, NULL);

	return all - children_named(d.pid, "chatd-log", NULL);
}

START_TEST(storm_against_the_default_limits)
{
	int total = storm_size(), opened = 0, known = 0, i, n, ep, x;
	int count[OTHER + 1] = {0};
	struct epoll_event ev, evs[256];
	struct client *a, *b;
	struct conn *conns;
	uint64_t deadline, said = 0, worst = 0, t_start, progress = 0;
	long cookies0, reset_by_kernel = 0;
	int poked = 0;
	char line[256];

	ck_assert_int_eq(raise_nofile(total), 0);
	ck_assert_ptr_nonnull(conns = calloc((size_t)total, sizeof(*conns)));
	ck_assert_int_eq(daemon_start(&d, NULL), 0);
	ck_assert_ptr_nonnull(a = client_greeted(&d, NULL, 0));
	ck_assert_ptr_nonnull(b = client_greeted(&d, NULL, 0));
	/* both have spoken, so no registration timeout cuts them off */
	client_send(b, "ready\n");
	ck_assert_int_eq(client_expect(a, "ready", NULL, 0), 0);
	ck_assert_int_ne(ep = epoll_create1(0), -1);

	/* open them all as fast as we can, reading as we go */
	cookies0 = cookies_failed();
	t_start = now_ms();
	deadline = t_start + 120000;
	while ((opened < total || known < opened) && now_ms() < deadline) {
		for (i = 0; i < 64 && opened < total; i++, opened++) {
			conns[opened].fd =
			    open_from(opened / PER_ADDR, d.port);
			ck_assert_int_ne(conns[opened].fd, -1);
			ev.events = EPOLLIN | EPOLLRDHUP;
			ev.data.u32 = (uint32_t)opened;
			ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD,
					     conns[opened].fd, &ev),
			    0);
		}
		n = epoll_wait(ep, evs, 256, opened < total ? 0 : 100);
		if (n > 0)
			progress = now_ms();
		/*
		 * When the accept queue overflows, the kernel drops the last
		 * ACK of a handshake it answered with a SYN cookie: the
		 * client thinks it is connected, the server knows nothing
		 * until the client sends something.  A person would press
		 * Enter; so do we, once, when nothing has moved for 2 s.
		 */
		if (opened == total && !poked && now_ms() - progress > 2000) {
			for (i = 0; i < total; i++)
				if (conns[i].fate == OPEN &&
				    write(conns[i].fd, "\n", 1) == 1)
					poked++;
			fprintf(stderr, "storm: pressed Enter on %d\n", poked);
			poked = poked > 0 ? poked : -1;
		}
		for (i = 0; i < n; i++) {
			struct conn *c = &conns[evs[i].data.u32];

			if (c->fate == OPEN && drain(c)) {
				known++;
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
			}
		}
		/* the two inside keep talking during the storm */
		if (now_ms() - said >= 200) {
			uint64_t t0 = now_ms();

			client_send(a, "still here %d\n", opened);
			ck_assert_int_eq(client_expect(b, "still here", line,
					     sizeof(line)),
			    0);
			said = now_ms();
			if (said - t0 > worst)
				worst = said - t0;
		}
	}
	ck_assert_int_eq(known, total);
	for (i = 0; i < total; i++)
		count[conns[i].fate]++;
	if (cookies0 >= 0 && cookies_failed() >= cookies0)
		reset_by_kernel = cookies_failed() - cookies0;
	fprintf(stderr,
	    "storm: %d connections: %d greeted, %d refused as full, %d as "
	    "too many from one address, %d busy, %d reset (the kernel "
	    "reset %ld SYN-cookie handshakes), in "
	    "%llu ms; slowest line between the two inside: %llu ms\n",
	    total, count[GREETED], count[FULL], count[PERHOST], count[BUSY],
	    count[CLOSED] + count[OTHER], reset_by_kernel,
	    (unsigned long long)(now_ms() - t_start),
	    (unsigned long long)worst);
	/*
	 * Every newcomer the daemon saw was greeted or told why not; the
	 * only ones closed without a word are those the kernel itself
	 * reset, never accepted (see above).
	 */
	ck_assert_int_le(count[CLOSED] + count[OTHER], reset_by_kernel);
	ck_assert_int_eq(count[CLOSED], 0);
	/* the default limits held: 10 from an address, 1024 in all */
	ck_assert_int_le(count[GREETED] + 2, 1024);
	for (x = 0; x * PER_ADDR < total; x++) {
		int g = 0;

		for (i = x * PER_ADDR; i < total && i < (x + 1) * PER_ADDR; i++)
			g += conns[i].fate == GREETED;
		ck_assert_int_le(g, 10);
	}
	if (total >= 1024 / 10 * PER_ADDR)
		ck_assert_int_gt(count[FULL], 0);
	ck_assert_int_gt(count[PERHOST], 0);
	/* refusals are logged in a few lines, not one per connection */
	ck_assert_int_le(log_count("refused peer=127."), 20);

	/* everyone leaves but the two: no worker, no row is left over */
	for (i = 0; i < total; i++)
		close(conns[i].fd);
	close(ep);
	/* generous: under sanitizers each exit runs a leak check */
	deadline = now_ms() + 120000;
	while ((rows_taken() != 2 || children_of_master() != 2) &&
	    now_ms() < deadline)
		usleep(20000); /* polling the master's work: nothing to wait on */
	ck_assert_int_eq(rows_taken(), 2);
	ck_assert_int_eq(children_of_master(), 2);
	client_send(a, "after the storm\n");
	ck_assert_int_eq(client_expect(b, "after the storm", NULL, 0), 0);
	client_close(a);
	client_close(b);
	free(conns);
	ck_assert_int_eq(daemon_stop(&d), 0);
	ck_assert_int_eq(daemon_leftovers(&d), 0);
	daemon_free(&d);
}
END_TEST

static Suite *
storm_suite(void)
{
	Suite *s = suite_create("storm");
	TCase *tc = tcase_create("storm");

	tcase_add_unchecked_fixture(tc, harness_init, harness_cleanup);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, storm_against_the_default_limits);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return harness_run(storm_suite());
}
