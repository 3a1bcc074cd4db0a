/*
 * chatload.c - a publish/subscribe load generator for chatd (and redis and
 * IRC servers).
 *
 * S subscribers and P publishers connect to one server on loopback; every
 * publisher sends M messages of 48 bytes (its number, the message number and
 * its CLOCK_MONOTONIC send time, padded), each subscriber receives what every
 * publisher sends.  Publishers do not subscribe, subscribers do not publish.
 * A publisher keeps at most W messages in flight (sent, not yet received by
 * every subscriber), so the run measures the server rather than how much the
 * kernel buffers; with -r the publishers together send that many messages a
 * second instead of flat out (still bounded by the window).  Prints messages
 * sent per second, deliveries per second (messages received by all the
 * subscribers together), the latency from send to receive (p50, p99, p99.9,
 * max) and the messages missing, duplicated or out of order, per subscriber
 * and publisher, summed.
 *
 *	chatload [-x chatd|redis|irc] [-S subscribers] [-P publishers]
 *	    [-c clients] [-m messages] [-w window] [-r rate] [-z stalled]
 *	    [-A sources] [-C pid] [-t seconds] [-p port] [host]
 *
 * -x chatd (the default): each client joins a room named after this run,
 * publishers send plain lines there and subscribers read "<nick> text".
 * A publisher has to be in the room to speak in it, so chatd also sends it
 * what the other publishers say (read and thrown away, not counted): with
 * P publishers, each message goes to S + P - 1 clients, to S with redis.
 * -x redis: subscribers send SUBSCRIBE for a channel named after this run
 * and wait for the confirmation, publishers send PUBLISH to it; replies are
 * parsed as RESP, incrementally.
 * -x irc (RFC 1459/2812, e.g. ngircd with bench/ngircd.conf): each client
 * registers with NICK and USER, waits for the welcome (numeric 001), JOINs
 * a channel named after this run and counts as ready at the end of its
 * NAMES (366); publishers send "PRIVMSG #chan :text", subscribers read
 * ":nick!user@host PRIVMSG #chan :text", line by line as they come, however
 * split.  Every "PING :x" is answered "PONG :x", at any time.  As in chatd,
 * the publishers are in the channel too (a stock channel may be +n, no
 * messages from outside), so each message goes to S + P - 1 clients.
 * -c N (chatd and irc) is the older shape: N clients that each publish and
 * each receive what the others say.
 * -z N: N more subscribers that, once in, never read a byte again (with a
 * small receive buffer), to show what a stalled client costs the others.
 * -C PID: also report the CPU the server spent while the messages flowed
 * (from the first send to the last receipt, the connections not counted):
 * process PID and its children alive then (chatd's master and workers),
 * every thread of each, from /proc/PID/task/TID/schedstat and
 * /proc/PID/task/PID/children, in ns a delivery, with chatload's own and
 * how busy the machine was (/proc/stat).  On two cores the load generator
 * and the server share the CPU: what one server does a delivery is a
 * steadier figure than its deliveries/s, which moves with the machine.
 * -A N: spread the connections over N source addresses 127.0.0.1..N (the
 * default is one address for every 8 connections, up to 250, for chatd; one
 * for redis, whose protected mode accepts 127.0.0.1 only, and for irc,
 * whose per-address limit bench/ngircd.conf turns off), so that a
 * per-address limit in the server does not refuse them.
 *
 * Only ever talks to loopback addresses (127.0.0.0/8, ::1); every loop is
 * bounded by the message count and an overall time limit (-t seconds,
 * default 60; getting every connection in may take up to 30 s + 0.1 s a
 * connection when that is longer); a run in which nothing is delivered for
 * 3 s (a window held shut by messages the server dropped) stops there.
 * Exits 0 when every message reached every subscriber, 2 when some did
 * not, 1 on an error.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PAYLOAD 48	  /* bytes of every message */
#define INBUF 16384	  /* receive buffer of a connection */
#define OUTBUF 8192	  /* send buffer of a publisher */
#define MAXCONN 60000	  /* connections at most */
#define MAXDEPTH 8	  /* RESP nesting we accept */
#define HBUCKETS (48 * 64) /* latency histogram, see hidx() */
#define STUCK_NS 3000000000LL /* no delivery this long ends a run */
#define IRC_LINE 512	  /* an IRC line at most, CR LF included (RFC 2812) */
#define COMPLAINTS 10	  /* server error lines shown at most */

enum { PROTO_CHATD, PROTO_REDIS, PROTO_IRC };
static const char *const protoname[] = { "chatd", "redis", "irc" };
enum { ROLE_SUB = 1, ROLE_PUB = 2, ROLE_STALLED = 4 };

struct conn {
	int fd;
	int role;
	int pub;	/* publisher number, or -1 */
	int sub;	/* subscriber number, or -1 */
	int ready;	/* joined / subscribed */
	int registered;	/* irc: welcomed (001), JOIN sent */
	int wantout;	/* EPOLLOUT registered */
	long sent;	/* messages sent (publisher) */
	long replies;	/* PUBLISH replies read (redis publisher) */
	size_t len, olen, ooff;
	char *in;
	char *out;
};

/* what a subscriber knows of one publisher */
struct track {
	long next;	/* next number expected */
	uint64_t seen;	/* bit k: message next-1-k received */
};

static int proto = PROTO_CHATD;
static int nsub, npub, nclients, nstalled, window = 64, nconn;
static long lines = 100000;
static double rate;
static struct conn *conns;
static int *pubconn;		/* connection of each publisher */
static struct track *tracks;	/* nsubs x npubs */
static uint32_t *wcount;	/* npubs x window: receivers of each in flight */
static long *acked;		/* npubs: below this, received by all */
static int nsubs_all;		/* subscribers that read */
static long delivered, missing, dups, ooo, announced, protoerr;
static uint64_t hist[HBUCKETS];
static int64_t latmax;
static char room[64];
static int epfd;
static int complaints;		/* server error lines shown so far */

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* histogram bucket: exact below 64 ns, then 64 buckets per power of two */
static int
hidx(int64_t v)
{
	int e;

	if (v < 64)
		return v < 0 ? 0 : (int)v;
	e = 63 - __builtin_clzll((unsigned long long)v);
	if (e > 52)
		return HBUCKETS - 1;
	return (e - 5) * 64 + (int)((v >> (e - 6)) & 63);
}

static double
hval(int i)
{
	int e;

	if (i < 64)
		return i;
	e = i / 64 + 5;
	return (double)((int64_t)(64 + i % 64) << (e - 6));
}

static double
percentile(double q)
{
	uint64_t total = 0, want, acc = 0;
	int i;

	for (i = 0; i < HBUCKETS; i++)
		total += hist[i];
	if (total == 0)
		return 0;
	want = (uint64_t)((double)total * q);
	if (want >= total)
		want = total - 1;
	for (i = 0; i < HBUCKETS; i++) {
		acc += hist[i];
		if (acc > want)
			return hval(i);
	}
	return (double)latmax;
}

static int
loopback(const char *host, struct sockaddr_storage *ss, socklen_t *sl,
    int port)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (strcmp(host, "localhost") == 0)
		host = "127.0.0.1";
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		if ((ntohl(s4->sin_addr.s_addr) >> 24) != 127)
			return -1;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*sl = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1 &&
	    IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr)) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*sl = sizeof(*s6);
		return 0;
	}
	return -1;
}

/* Connects (blocking, at most 5 s) from source address number SRC, then
 * makes the socket non-blocking. */
static int
dial(const struct sockaddr_storage *ss, socklen_t sl, int src, int rcvbuf)
{
	struct timeval tv = { 5, 0 };
	int fd, one = 1;

	fd = socket(ss->ss_family, SOCK_STREAM, 0);
	if (fd == -1)
		return -1;
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (ss->ss_family == AF_INET && src > 0) {
		struct sockaddr_in b;

		memset(&b, 0, sizeof(b));
		b.sin_family = AF_INET;
		b.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)src);
#ifdef IP_BIND_ADDRESS_NO_PORT
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
#endif
		if (bind(fd, (void *)&b, sizeof(b)) == -1) {
			close(fd);
			return -1;
		}
	}
	if (connect(fd, (const void *)ss, sl) == -1) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static void
watch(struct conn *c, int out)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | (out ? EPOLLOUT : 0);
	ev.data.ptr = c;
	epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
	c->wantout = out;
}

/* Writes what is queued; -1 when the connection is gone. */
static int
flush(struct conn *c)
{
	ssize_t n;

	while (c->ooff < c->olen) {
		n = write(c->fd, c->out + c->ooff, c->olen - c->ooff);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			return -1;
		}
		c->ooff += (size_t)n;
	}
	if (c->ooff == c->olen)
		c->ooff = c->olen = 0;
	if ((c->olen > 0) != c->wantout)
		watch(c, c->olen > 0);
	return 0;
}

static int
queue(struct conn *c, const char *s, size_t n)
{
	if (c->ooff > 0 && c->olen + n > OUTBUF) {
		memmove(c->out, c->out + c->ooff, c->olen - c->ooff);
		c->olen -= c->ooff;
		c->ooff = 0;
	}
	if (c->olen + n > OUTBUF)
		return -1;
	memcpy(c->out + c->olen, s, n);
	c->olen += n;
	return 0;
}

/* Whether publisher P may send message SEQ: fewer than W in flight. */
static int
window_open(int p, long seq)
{
	return seq < acked[p] + window;
}

static void
credit(int p, long seq, int expect)
{
	uint32_t *w = wcount + (size_t)p * (size_t)window;

	if (seq < acked[p] || seq >= acked[p] + window)
		return;
	w[seq % window]++;
	while (w[acked[p] % window] >= (uint32_t)expect) {
		w[acked[p] % window] = 0;
		acked[p]++;
	}
}

/* receivers of each message of publisher P */
static int
expected(int p)
{
	return nsubs_all - (conns[pubconn[p]].sub >= 0 ? 1 : 0);
}

/*
 * Reads the decimal number at *S (before END) and the one space after it
 * unless LAST, into *V, and moves *S past them.  Returns 0, or -1 if
 * there is no number there.  sscanf() did this at more than half of
 * chatload's CPU, taken from the server it measures on a small machine.
 */
static int
field(const char **s, const char *end, int last, long long *v)
{
	const char *q = *s;
	long long x = 0;

	if (q >= end || *q < '0' || *q > '9')
		return -1;
	for (; q < end && *q >= '0' && *q <= '9'; q++) {
		if (x > (LLONG_MAX - 9) / 10)
			return -1;
		x = x * 10 + (*q - '0');
	}
	if (!last) {
		if (q >= end || *q != ' ')
			return -1;
		q++;
	}
	*s = q;
	*v = x;
	return 0;
}

/* A message received by subscriber C: publisher P, number SEQ, sent at T. */
static void
on_message(struct conn *c, const char *payload, size_t n, int64_t t)
{
	struct track *tr;
	const char *s = payload, *end = payload + n;
	long long p, seq, sent;
	long k;

	if (c->sub < 0)
		return; /* a publisher hears other publishers in chatd */
	if (n != PAYLOAD) {
		protoerr++;
		return;
	}
	if (field(&s, end, 0, &p) == -1 || field(&s, end, 0, &seq) == -1 ||
	    field(&s, end, 1, &sent) == -1 || p >= npub || seq >= lines) {
		protoerr++;
		return;
	}
	tr = tracks + (size_t)c->sub * (size_t)npub + (size_t)p;
	if (seq >= tr->next) {
		for (k = tr->next; k < seq; k++) {
			missing++;
			credit((int)p, k, expected((int)p));
		}
		if (seq - tr->next + 1 >= 64)
			tr->seen = 0;
		else
			tr->seen <<= (seq - tr->next + 1);
		tr->seen |= 1;
		tr->next = seq + 1;
		delivered++;
		credit((int)p, seq, expected((int)p));
	} else {
		k = tr->next - 1 - seq;
		if (k < 64 && (tr->seen >> k & 1)) {
			dups++;
			return;
		}
		if (k < 64) {
			tr->seen |= (uint64_t)1 << k;
			missing--; /* counted missing when skipped */
			delivered++;
		}
		ooo++;
	}
	t -= (int64_t)sent;
	hist[hidx(t)]++;
	if (t > latmax)
		latmax = t;
}

/* chatd: one line (without its newline) */
static void
chatd_line(struct conn *c, char *line, size_t n, int64_t t)
{
	char *p;

	if (n > 0 && line[n - 1] == '\r')
		line[--n] = '\0';
	if (!c->ready) {
		if (strstr(line, "*** you joined #") != NULL &&
		    strstr(line, room) != NULL)
			c->ready = 1;
		return;
	}
	if (strncmp(line, "*** you missed ", 15) == 0) {
		if (c->sub >= 0)
			announced += atol(line + 15);
		return;
	}
	if (line[0] != '<' || (p = memchr(line, '>', n)) == NULL ||
	    p[1] != ' ')
		return;
	p += 2;
	on_message(c, p, n - (size_t)(p - line), t);
}

/* A line from the server that says something went wrong: shown (the first
 * few only: a server can say it for every message). */
static void
complain(const char *line)
{
	if (complaints < COMPLAINTS)
		fprintf(stderr, "chatload: the server says: %.*s\n", IRC_LINE,
		    line);
	else if (complaints == COMPLAINTS)
		fprintf(stderr, "chatload: (more of the server's complaints "
		    "not shown)\n");
	complaints++;
}

/* IRC: the next word of [*P, END) in *W, its length returned; *P moves past
 * it and the spaces after it. */
static size_t
irc_word(char **p, char *end, char **w)
{
	char *e;

	*w = *p;
	if ((e = memchr(*p, ' ', (size_t)(end - *p))) == NULL)
		e = end;
	*p = e;
	while (*p < end && **p == ' ')
		(*p)++;
	return (size_t)(e - *w);
}

/* IRC: whether the word W of N bytes names our channel (channel names are
 * not case-sensitive) */
static int
irc_ours(const char *w, size_t n)
{
	return n == strlen(room) && strncasecmp(w, room, n) == 0;
}

/*
 * IRC: one line (without its newline).  Returns -1 when the connection
 * cannot go on: the server refused us before we were in, or is closing it.
 */
static int
irc_line(struct conn *c, char *line, size_t n, int64_t t)
{
	char out[IRC_LINE + 8], *p = line, *end, *cmd, *w;
	size_t clen, wlen;
	int k, num;

	if (n > 0 && line[n - 1] == '\r')
		line[--n] = '\0';
	end = line + n;
	/* tags (IRCv3, only if asked for) and the prefix (who it is from)
	 * tell us nothing we need */
	if (p < end && *p == '@')
		irc_word(&p, end, &w);
	if (p < end && *p == ':')
		irc_word(&p, end, &w);
	clen = irc_word(&p, end, &cmd);
	/* p: the parameters */
	if (clen == 4 && strncasecmp(cmd, "PING", 4) == 0) {
		/* the server asks whether we are alive (a subscriber sends
		 * nothing once in): answer now, whatever we are doing, or it
		 * cuts us off */
		k = snprintf(out, sizeof(out), "PONG %s\r\n", p);
		if (k < 0 || (size_t)k >= sizeof(out))
			return -1;
		return queue(c, out, (size_t)k) == 0 && flush(c) == 0 ? 0 : -1;
	}
	if (clen == 7 && strncasecmp(cmd, "PRIVMSG", 7) == 0) {
		wlen = irc_word(&p, end, &w);
		if (!irc_ours(w, wlen) || p >= end || *p != ':') {
			protoerr++;
			return 0;
		}
		if (c->ready)
			on_message(c, p + 1, (size_t)(end - (p + 1)), t);
		return 0;
	}
	if (clen == 5 && strncasecmp(cmd, "ERROR", 5) == 0) {
		complain(line);	/* why the server is closing the connection */
		return -1;
	}
	if (clen != 3 || !isdigit((unsigned char)cmd[0]) ||
	    !isdigit((unsigned char)cmd[1]) || !isdigit((unsigned char)cmd[2]))
		return 0; /* JOIN, MODE, NOTICE, ...: nothing for us */
	num = (cmd[0] - '0') * 100 + (cmd[1] - '0') * 10 + (cmd[2] - '0');
	if (num == 1 && !c->registered) {
		/* welcomed: a channel can be joined from now on only */
		c->registered = 1;
		k = snprintf(out, sizeof(out), "JOIN %s\r\n", room);
		return queue(c, out, (size_t)k) == 0 && flush(c) == 0 ? 0 : -1;
	}
	if (num == 366) {
		/* end of NAMES: "366 nick #chan :End of NAMES list"; we are in,
		 * and the server sends us what the channel says from now on */
		irc_word(&p, end, &w);
		wlen = irc_word(&p, end, &w);
		if (irc_ours(w, wlen))
			c->ready = 1;
		return 0;
	}
	if (num >= 400 && num < 600) {
		/* an error reply: before we are in, fatal (a nickname taken, a
		 * channel full, too many channels); after, a message refused */
		complain(line);
		if (c->ready) {
			protoerr++;
			return 0;
		}
		return -1;
	}
	return 0; /* the welcome, the MOTD, NAMES: nothing for us */
}

/*
 * RESP: parses one value at BUF[*POS..LEN).  Returns 1 and advances *POS
 * when it is complete, 0 when more bytes are needed, -1 on nonsense.  The
 * elements of a top-level array (up to 4) are left in EL/ELN, an integer or
 * an array length in *NUM.
 */
struct rval {
	char type;
	long long num;
	int nel;
	char eltype[4];
	const char *el[4];
	long long eln[4];
};

static const char *
crlf(const char *s, const char *end)
{
	const char *p;

	for (p = s; p + 1 < end; p++)
		if (p[0] == '\r' && p[1] == '\n')
			return p;
	return NULL;
}

static int
resp_parse(const char *buf, size_t len, size_t *pos, struct rval *top,
    int depth)
{
	const char *s = buf + *pos, *end = buf + len, *e;
	char type;
	long long num, i;
	char *stop;
	int r;

	if (depth > MAXDEPTH)
		return -1;
	if (s >= end)
		return 0;
	if ((e = crlf(s, end)) == NULL)
		return (size_t)(end - s) > 512 ? -1 : 0;
	type = s[0];
	num = 0;
	if (type == ':' || type == '$' || type == '*') {
		errno = 0;
		num = strtoll(s + 1, &stop, 10);
		if (stop != e || errno != 0)
			return -1;
	}
	if (depth == 0) {
		top->type = type;
		top->num = num;
		top->nel = 0;
	}
	switch (type) {
	case '+':
	case '-':
		*pos = (size_t)(e + 2 - buf);
		return 1;
	case ':':
		*pos = (size_t)(e + 2 - buf);
		return 1;
	case '$':
		if (num < 0) {
			*pos = (size_t)(e + 2 - buf);
			return 1;
		}
		if (num > 1 << 20)
			return -1;
		if ((size_t)(end - (e + 2)) < (size_t)num + 2)
			return 0;
		if (e[2 + num] != '\r' || e[3 + num] != '\n')
			return -1;
		*pos = (size_t)(e + 4 + num - buf);
		return 1;
	case '*':
		if (num > 1 << 16)
			return -1;
		*pos = (size_t)(e + 2 - buf);
		for (i = 0; i < num; i++) {
			size_t at = *pos;

			if ((r = resp_parse(buf, len, pos, top, depth + 1)) != 1)
				return r;
			if (depth == 0 && i < 4) {
				const char *v = buf + at, *ve;

				ve = crlf(v, end);
				top->eltype[i] = v[0];
				if (v[0] == '$') {
					top->el[i] = ve + 2;
					top->eln[i] = strtoll(v + 1, NULL, 10);
				} else {
					top->el[i] = v + 1;
					top->eln[i] = ve - (v + 1);
				}
				top->nel = (int)i + 1;
			}
		}
		return 1;
	default:
		return -1;
	}
}

static int
is(const struct rval *v, int i, const char *s)
{
	size_t n = strlen(s);

	return v->nel > i && v->eln[i] == (long long)n &&
	    strncasecmp(v->el[i], s, n) == 0;
}

/* redis: the values in C's buffer; returns bytes used, -1 on nonsense */
static long
redis_values(struct conn *c, int64_t t)
{
	size_t pos = 0, at;
	struct rval v;
	int r;

	for (;;) {
		at = pos;
		if ((r = resp_parse(c->in, c->len, &pos, &v, 0)) == 0)
			return (long)at;
		if (r < 0)
			return -1;
		if (v.type == '-') {
			fprintf(stderr, "chatload: redis says %.*s\n",
			    (int)(pos - at - 3), c->in + at + 1);
			return -1;
		}
		if (c->role & ROLE_PUB) {
			if (v.type == ':')
				c->replies++;
			else
				protoerr++;
			continue;
		}
		if (v.type != '*' || v.nel < 3) {
			protoerr++;
			continue;
		}
		if (is(&v, 0, "subscribe") && is(&v, 1, room + 1)) {
			c->ready = 1;
		} else if (is(&v, 0, "message") && v.eltype[2] == '$') {
			if (c->ready)
				on_message(c, v.el[2], (size_t)v.eln[2], t);
		} else {
			protoerr++;
		}
	}
}

/* Reads what C has; -1 when the connection is gone or speaks nonsense. */
static int
drain(struct conn *c)
{
	ssize_t n;
	int64_t t;
	char *nl, *start;
	long used;

	n = read(c->fd, c->in + c->len, INBUF - c->len);
	if (n == 0)
		return -1;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	c->len += (size_t)n;
	t = now_ns();
	if (proto == PROTO_REDIS) {
		if ((used = redis_values(c, t)) < 0)
			return -1;
		start = c->in + used;
	} else {
		/* lines: what follows the last newline waits for the rest */
		start = c->in;
		while ((nl = memchr(start, '\n',
			    c->len - (size_t)(start - c->in))) != NULL) {
			*nl = '\0';
			if (proto == PROTO_IRC) {
				if (irc_line(c, start, (size_t)(nl - start),
				    t) == -1)
					return -1;
			} else {
				chatd_line(c, start, (size_t)(nl - start), t);
			}
			start = nl + 1;
		}
		if (start == c->in && c->len == INBUF)
			start = c->in + c->len; /* an endless line */
	}
	c->len -= (size_t)(start - c->in);
	memmove(c->in, start, c->len);
	return 0;
}

/* Queues the next message of publisher C. */
static int
publish(struct conn *c)
{
	char pl[PAYLOAD + 1], msg[160];
	int n;

	n = snprintf(pl, sizeof(pl), "%d %ld %lld ", c->pub, c->sent,
	    (long long)now_ns());
	if (n < 0 || n > PAYLOAD)
		return -1;
	memset(pl + n, 'x', (size_t)(PAYLOAD - n));
	pl[PAYLOAD] = '\0';
	if (proto == PROTO_REDIS)
		n = snprintf(msg, sizeof(msg),
		    "*3\r\n$7\r\nPUBLISH\r\n$%zu\r\n%s\r\n$%d\r\n%s\r\n",
		    strlen(room + 1), room + 1, PAYLOAD, pl);
	else if (proto == PROTO_IRC)
		n = snprintf(msg, sizeof(msg), "PRIVMSG %s :%s\r\n", room, pl);
	else
		n = snprintf(msg, sizeof(msg), "%s\n", pl);
	/* irc: leave room for a PONG, which must not wait for the window */
	if (proto == PROTO_IRC &&
	    c->olen - c->ooff + (size_t)n + IRC_LINE + 8 > OUTBUF)
		return 1;
	if (queue(c, msg, (size_t)n) == -1)
		return 1;
	c->sent++;
	return 0;
}

/* CPU time of process PID, in ns: its threads' /proc/.../schedstat. */
static long long
proc_ns(long pid)
{
	char path[320], buf[128];
	struct dirent *d;
	long long sum = 0;
	ssize_t n;
	DIR *dir;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/task", pid);
	if ((dir = opendir(path)) == NULL)
		return 0;
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/task/%s/schedstat", pid,
		    d->d_name);
		if ((fd = open(path, O_RDONLY)) == -1)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			sum += strtoll(buf, NULL, 10);
		}
	}
	closedir(dir);
	return sum;
}

/* CPU ns of PID and of its children alive now (one level deep). */
static long long
tree_ns(long pid)
{
	char path[64];
	long long sum = proc_ns(pid);
	long kid;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", pid, pid);
	if ((f = fopen(path, "r")) == NULL)
		return sum;
	while (fscanf(f, "%ld", &kid) == 1)
		sum += proc_ns(kid);
	fclose(f);
	return sum;
}

/* The machine's CPU ticks: busy (all but idle and iowait) and in all. */
static void
machine_ticks(long long *busy, long long *all)
{
	unsigned long long v[8] = {0};
	FILE *f = fopen("/proc/stat", "r");
	int i;

	*busy = *all = 0;
	if (f == NULL)
		return;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
		&v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8)
		for (i = 0; i < 8; i++) {
			*all += (long long)v[i];
			if (i != 3 && i != 4)
				*busy += (long long)v[i];
		}
	fclose(f);
}

/* chatload's own CPU time, in ns. */
static int64_t
self_cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) *
	    1000000000 + ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) *
	    1000;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: chatload [-x chatd|redis|irc] [-S subscribers]"
	    " [-P publishers] [-c clients]\n"
	    "\t[-m messages] [-w window] [-r rate] [-z stalled] [-A sources]"
	    " [-C pid]\n\t[-t seconds] [-p port] [host]\n");
	exit(1);
}

static void
raise_nofile(int want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur >= (rlim_t)want)
		return;
	if (rl.rlim_max < (rlim_t)want) {
		rl.rlim_max = (rlim_t)want;
		rl.rlim_cur = (rlim_t)want;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			return;
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

/*
 * IRC: the nickname of connection I, unique to this run (a run that just
 * ended may still be leaving the server when the next one arrives), in the
 * 9 characters of RFC 2812: the role, I and the process id in base 36, the
 * latter always 4 characters so that no two (I, pid) give the same name.
 */
static void
irc_nick(char *buf, size_t size, int role, int i)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	char idx[8], tag[5], *ip;
	unsigned long v;
	int k;

	v = (unsigned long)i;
	ip = idx + sizeof(idx) - 1;
	*ip = '\0';
	do {
		*--ip = digits[v % 36];
		v /= 36;
	} while (v > 0 && ip > idx);
	v = (unsigned long)getpid();
	for (k = 3; k >= 0; k--) {
		tag[k] = digits[v % 36];
		v /= 36;
	}
	tag[4] = '\0';
	snprintf(buf, size, "%c%s%s", role & ROLE_STALLED ? 'z' :
	    role & ROLE_PUB ? 'p' : 's', ip, tag);
}

/* Sends C's greeting: join the room, subscribe or register. */
static int
hello(struct conn *c, int i)
{
	char out[256], nick[16];
	int n;

	if (proto == PROTO_REDIS) {
		if (!(c->role & (ROLE_SUB | ROLE_STALLED))) {
			c->ready = 1; /* publishers need nothing */
			return 0;
		}
		n = snprintf(out, sizeof(out),
		    "*2\r\n$9\r\nSUBSCRIBE\r\n$%zu\r\n%s\r\n",
		    strlen(room + 1), room + 1);
	} else if (proto == PROTO_IRC) {
		/* JOIN once welcomed: see irc_line() */
		irc_nick(nick, sizeof(nick), c->role, i);
		n = snprintf(out, sizeof(out), "NICK %s\r\nUSER %s 0 * "
		    ":chatload\r\n", nick, nick);
	} else {
		n = snprintf(out, sizeof(out),
		    "/nick %c%d\n/join %s\n/part #lobby\n",
		    c->role & ROLE_STALLED ? 'z' :
		    c->role & ROLE_PUB ? 'p' : 's', i, room);
	}
	return queue(c, out, (size_t)n) == 0 && flush(c) == 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	const char *host = "127.0.0.1";
	struct sockaddr_storage ss;
	struct epoll_event ev, *evs;
	socklen_t sl;
	int64_t t0, t1, start, deadline_ns, last;
	double limit = 60, secs;
	long total_deliveries, lost = 0, seen, server = 0;
	long long srv0 = 0, srv1 = 0, busy0, busy1, all0, all1;
	int64_t self0, self1;
	double per, srv_ns, load_ns, busy;
	int stuck = 0;
	int port = -1, ch, i, n, nsrc = -1, ready, nready;

	while ((ch = getopt(argc, argv, "A:C:c:m:P:p:r:S:t:w:x:z:")) != -1) {
		switch (ch) {
		case 'A':
			nsrc = atoi(optarg);
			break;
		case 'C':
			server = atol(optarg);
			break;
		case 'c':
			nclients = atoi(optarg);
			break;
		case 'm':
			lines = atol(optarg);
			break;
		case 'P':
			npub = atoi(optarg);
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'r':
			rate = atof(optarg);
			break;
		case 'S':
			nsub = atoi(optarg);
			break;
		case 't':
			limit = atof(optarg);
			break;
		case 'w':
			window = atoi(optarg);
			break;
		case 'x':
			if (strcmp(optarg, "chatd") == 0)
				proto = PROTO_CHATD;
			else if (strcmp(optarg, "redis") == 0)
				proto = PROTO_REDIS;
			else if (strcmp(optarg, "irc") == 0)
				proto = PROTO_IRC;
			else
				usage();
			break;
		case 'z':
			nstalled = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind < argc)
		host = argv[optind];
	if (optind + 1 < argc)
		usage();
	if (port < 0)
		port = proto == PROTO_REDIS ? 6379 : proto == PROTO_IRC ?
		    6667 : 6660;
	if (nclients > 0) {
		if (proto == PROTO_REDIS || nsub > 0 || npub > 0) {
			fprintf(stderr, "chatload: -c is for chatd and irc, "
			    "without -S and -P\n");
			return 1;
		}
		if (nclients < 2) {
			fprintf(stderr, "chatload: -c needs 2 clients\n");
			return 1;
		}
		nsub = npub = nclients;
	} else {
		if (nsub == 0)
			nsub = 2;
		if (npub == 0)
			npub = 1;
	}
	if (nsub < 1 || npub < 1 || lines < 1 || window < 1 ||
	    window > 1 << 20 || nstalled < 0 || rate < 0 || limit <= 0 ||
	    port < 1 || port > 65535 || lines > 1000000000L || server < 0) {
		fprintf(stderr, "chatload: bad numbers\n");
		return 1;
	}
	nconn = nclients > 0 ? nclients + nstalled : nsub + npub + nstalled;
	if (nconn > MAXCONN) {
		fprintf(stderr, "chatload: at most %d connections\n", MAXCONN);
		return 1;
	}
	if (loopback(host, &ss, &sl, port) == -1) {
		fprintf(stderr, "chatload: %s: loopback addresses only\n", host);
		return 1;
	}
	/* redis has no per-address limit, and its protected mode takes only
	 * 127.0.0.1 for loopback; bench/ngircd.conf has no per-address limit
	 * either (a stock ngircd allows 5: use -A) */
	if (nsrc < 0)
		nsrc = proto == PROTO_CHATD ? (nconn + 7) / 8 : 1;
	if (nsrc > 250)
		nsrc = 250;
	if (nsrc < 1)
		nsrc = 1;
	raise_nofile(nconn + 64);
	snprintf(room, sizeof(room), "#load-%ld", (long)getpid());

	conns = calloc((size_t)nconn, sizeof(*conns));
	pubconn = calloc((size_t)npub, sizeof(*pubconn));
	tracks = calloc((size_t)nsub * (size_t)npub, sizeof(*tracks));
	wcount = calloc((size_t)npub * (size_t)window, sizeof(*wcount));
	acked = calloc((size_t)npub, sizeof(*acked));
	evs = calloc(1024, sizeof(*evs));
	if (!conns || !pubconn || !tracks || !wcount || !acked || !evs ||
	    (epfd = epoll_create1(0)) == -1) {
		perror("chatload");
		return 1;
	}
	nsubs_all = nsub;
	/* subscribers first, so that they are in before anyone publishes */
	for (i = 0; i < nconn; i++) {
		struct conn *c = &conns[i];

		c->pub = c->sub = -1;
		if (nclients > 0 && i < nclients) {
			c->role = ROLE_SUB | ROLE_PUB;
			c->sub = c->pub = i;
			pubconn[i] = i;
		} else if (nclients == 0 && i < nsub) {
			c->role = ROLE_SUB;
			c->sub = i;
		} else if (nclients == 0 && i < nsub + npub) {
			c->role = ROLE_PUB;
			c->pub = i - nsub;
			pubconn[c->pub] = i;
		} else {
			c->role = ROLE_STALLED;
		}
		c->in = malloc(INBUF);
		c->out = malloc(OUTBUF);
		c->fd = dial(&ss, sl, nsrc > 1 ? i % nsrc : 0,
		    c->role == ROLE_STALLED ? 4096 : 0);
		if (!c->in || !c->out || c->fd == -1) {
			fprintf(stderr,
			    "chatload: connection %d to %s port %d: %s\n", i,
			    host, port, strerror(errno));
			return 1;
		}
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) == -1 ||
		    hello(c, i) == -1) {
			fprintf(stderr, "chatload: connection %d lost\n", i);
			return 1;
		}
	}
	/* everyone in (bounded): joined the room or subscribed; in chatd,
	 * every join is told to everyone already in, which takes a while
	 * with thousands */
	start = now_ns();
	deadline_ns = start + (int64_t)((limit > 30 + nconn / 10.0 ? limit :
	    30 + nconn / 10.0) * 1e9);
	for (;;) {
		nready = 0;
		for (i = 0; i < nconn; i++)
			nready += conns[i].ready;
		if (nready == nconn)
			break;
		if (now_ns() > deadline_ns) {
			fprintf(stderr, "chatload: %d of %d connections never "
			    "ready\n", nconn - nready, nconn);
			return 1;
		}
		n = epoll_wait(epfd, evs, 1024, 100);
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if ((evs[i].events & EPOLLOUT) && flush(c) == -1)
				return 1;
			if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
			    !(c->role == ROLE_STALLED && c->ready) &&
			    drain(c) == -1) {
				fprintf(stderr, "chatload: connection lost "
				    "while getting ready\n");
				return 1;
			}
		}
	}
	/* the stalled ones read nothing from now on */
	for (i = 0; i < nconn; i++)
		if (conns[i].role == ROLE_STALLED)
			epoll_ctl(epfd, EPOLL_CTL_DEL, conns[i].fd, NULL);
	/* what joined late still arrives: let it settle, reading */
	start = now_ns();
	while (now_ns() < start + 50000000) {
		n = epoll_wait(epfd, evs, 1024, 10);
		for (i = 0; i < n; i++)
			if (drain(evs[i].data.ptr) == -1)
				return 1;
	}

	total_deliveries = lines * (long)npub * (long)(nclients > 0 ?
	    nclients - 1 : nsub);
	if (server > 0)
		srv0 = tree_ns(server);
	machine_ticks(&busy0, &all0);
	self0 = self_cpu_ns();
	t0 = now_ns();
	deadline_ns = t0 + (int64_t)(limit * 1e9);
	ready = 1;
	last = t0;
	seen = 0;
	while (now_ns() < deadline_ns) {
		int64_t t = now_ns();
		int timeout = rate > 0 ? 1 : 100;

		/* messages the server dropped can hold a window shut for good */
		if (delivered + announced != seen) {
			seen = delivered + announced;
			last = t;
		} else if (t - last > STUCK_NS) {
			fprintf(stderr, "chatload: nothing delivered for %d s, "
			    "giving up\n", (int)(STUCK_NS / 1000000000));
			stuck = 1;
			break;
		}

		for (i = 0; i < npub; i++) {
			struct conn *c = &conns[pubconn[i]];
			long allow = lines;

			if (rate > 0) {
				allow = (long)((double)(t - t0) / 1e9 * rate /
				    npub) + 1;
				if (allow > lines)
					allow = lines;
			}
			while (c->sent < allow && window_open(i, c->sent))
				if (publish(c) != 0)
					break;
			if (c->olen > 0 && flush(c) == -1) {
				fprintf(stderr, "chatload: publisher %d lost\n",
				    i);
				lost++;
				ready = 0;
				break;
			}
		}
		if (!ready)
			break;
		if (delivered + missing + announced >= total_deliveries)
			break;
		n = epoll_wait(epfd, evs, 1024, timeout);
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if ((evs[i].events & EPOLLOUT) && flush(c) == -1)
				ready = 0;
			if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
			    drain(c) == -1)
				ready = 0;
			if (!ready) {
				fprintf(stderr, "chatload: %s %d lost\n",
				    c->sub >= 0 ? "subscriber" : "publisher",
				    c->sub >= 0 ? c->sub : c->pub);
				lost++;
				break;
			}
		}
		if (!ready)
			break;
	}
	t1 = stuck ? last : now_ns();
	self1 = self_cpu_ns();
	machine_ticks(&busy1, &all1);
	if (server > 0)
		srv1 = tree_ns(server);
	secs = (double)(t1 - t0) / 1e9;
	if (secs <= 0)
		secs = 1e-9;
	{
		long sent = 0;

		for (i = 0; i < npub; i++)
			sent += conns[pubconn[i]].sent;
		if (nclients > 0)
			printf("clients %d, lines %ld each, window %d: "
			    "%.2f s\n", nclients, lines, window, secs);
		else
			printf("%s: subscribers %d, publishers %d, %ld "
			    "messages each, window %d, %s: %.2f s\n",
			    protoname[proto], nsub,
			    npub, lines, window, rate > 0 ? "rate" : "flat out",
			    secs);
		if (rate > 0)
			printf("rate       %10.0f msgs/s asked\n", rate);
		printf("sent       %10.0f lines/s (%ld messages)\n",
		    (double)sent / secs, sent);
	}
	printf("delivered  %10.0f lines/s (%ld deliveries of %ld)\n",
	    (double)delivered / secs, delivered, total_deliveries);
	printf("latency    p50 %.1f us, p99 %.1f us, p999 %.1f us, "
	    "max %.1f us\n", percentile(0.5) / 1e3, percentile(0.99) / 1e3,
	    percentile(0.999) / 1e3, (double)latmax / 1e3);
	printf("missing    %ld, duplicated %ld, out of order %ld",
	    total_deliveries - delivered, dups, ooo);
	if (announced > 0)
		printf(" (server announced %ld missed)", announced);
	printf("\n");
	if (protoerr > 0)
		printf("garbled    %ld replies or lines not understood\n",
		    protoerr);
	if (stuck)
		printf("stuck      nothing delivered for %d s: run cut short\n",
		    (int)(STUCK_NS / 1000000000));
	if (nstalled > 0)
		printf("stalled    %d client%s in the room reading nothing\n",
		    nstalled, nstalled == 1 ? "" : "s");
	/* CPU a delivery: the server's (0 without -C), chatload's, and how
	 * busy the machine was meanwhile */
	per = delivered > 0 ? (double)delivered : 1;
	srv_ns = server > 0 ? (double)(srv1 - srv0) / per : 0;
	load_ns = (double)(self1 - self0) / per;
	busy = all1 > all0 ?
	    100.0 * (double)(busy1 - busy0) / (double)(all1 - all0) : 0;
	printf("cpu        ");
	if (server > 0)
		printf("server %.0f ns, ", srv_ns);
	printf("chatload %.0f ns a delivery; machine %.0f%% busy\n", load_ns,
	    busy);
	printf("RESULT proto=%s subs=%d pubs=%d deliveries_per_s=%.0f "
	    "p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f missing=%ld "
	    "dups=%ld ooo=%ld lost=%ld server_ns=%.0f load_ns=%.0f "
	    "busy_pct=%.0f\n",
	    protoname[proto], nsub, npub,
	    (double)delivered / secs, percentile(0.5) / 1e3,
	    percentile(0.99) / 1e3, percentile(0.999) / 1e3,
	    (double)latmax / 1e3, total_deliveries - delivered, dups, ooo,
	    lost, srv_ns, load_ns, busy);
	for (i = 0; i < nconn; i++) {
		close(conns[i].fd);
		free(conns[i].in);
		free(conns[i].out);
	}
	free(conns);
	free(pubconn);
	free(tracks);
	free(wcount);
	free(acked);
	free(evs);
	close(epfd);
	return delivered == total_deliveries && dups == 0 && ooo == 0 &&
	    lost == 0 ? 0 : 2;
}
