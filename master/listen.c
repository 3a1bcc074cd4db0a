/*
 * listen.c - the listening sockets: the one file that sets socket options.
 *
 * With no -b, chatd listens on every address, IPv6 and IPv4 on sockets of
 * their own (IPV6_V6ONLY), so each family works whether or not the other
 * does.  Sockets are non-blocking: poll() says one is readable, but the
 * connection may be gone by the time accept() runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "master.h"
#include "../common/log.h"

#define LISTEN_BACKLOG 4096 /* the kernel caps it at net.core.somaxconn */

int
listen_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static int
open_one(struct addrinfo *ai, char *desc, size_t size)
{
	char host[NI_MAXHOST];
	int fd, on = 1;

	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host), NULL,
		0, NI_NUMERICHOST) != 0)
		strcpy(host, "?");
	fd = socket(ai->ai_family,
	    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1) {
		log_warn("socket for %s", host);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(fd, LISTEN_BACKLOG) == -1) {
		int saved = errno;

		log_warn("cannot listen on %s port %d", host,
		    ai->ai_family == AF_INET6
			? ntohs(((struct sockaddr_in6 *)ai->ai_addr)->sin6_port)
			: ntohs(((struct sockaddr_in *)ai->ai_addr)->sin_port));
		close(fd);
		errno = saved;
		return -1;
	}
	snprintf(desc, size, "%s port %d", host, listen_port(fd));
	return fd;
}

/*
 * Opens a listening socket on each address of the -b ADDRESS (or every
 * address) and port.  With port 0 the first socket gets a port from the
 * kernel and the others take the same one.  Returns the number opened;
 * 0 means the daemon cannot serve and must not start: no address
 * worked, or one was in use or forbidden.  An address family the machine
 * lacks (no IPv6) is skipped.
 */
int
listen_open(struct master *mp)
{
	struct addrinfo hints, *res, *ai;
	char port[16];
	int err, fd;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%s", mp->cf.port);
	if ((err = getaddrinfo(mp->cf.bind, port, &hints, &res)) != 0) {
		log_warnx("cannot resolve %s port %s: %s",
		    mp->cf.bind ? mp->cf.bind : "*", port, gai_strerror(err));
		return 0;
	}
	/* IPv6 first, so "[::]" and "0.0.0.0" come in a stable order */
	for (int pass = 0; pass < 2; pass++)
		for (ai = res; ai != NULL && mp->nlst < MAX_LISTENERS;
		     ai = ai->ai_next) {
			if ((ai->ai_family == AF_INET6) != (pass == 0))
				continue;
			if (mp->nlst > 0 && strcmp(mp->cf.port, "0") == 0) {
				int p = listen_port(mp->lst[0].fd);
				if (ai->ai_family == AF_INET6)
					((struct sockaddr_in6 *)ai->ai_addr)
					    ->sin6_port = htons((uint16_t)p);
				else
					((struct sockaddr_in *)ai->ai_addr)
					    ->sin_port = htons((uint16_t)p);
			}
			fd = open_one(ai, mp->lst[mp->nlst].desc,
			    sizeof(mp->lst[mp->nlst].desc));
			if (fd != -1) {
				struct listener *l = &mp->lst[mp->nlst++];
				char *sp = strstr(l->desc, " port ");

				/* "host:port", "[v6]:port" for key=value */
				if (sp != NULL)
					snprintf(l->name, sizeof(l->name),
					    strchr(l->desc, ':') != NULL
						? "[%.*s]:%s"
						: "%.*s:%s",
					    (int)(sp - l->desc), l->desc,
					    sp + 6);
				l->fd = fd;
			}
			else if (errno != EAFNOSUPPORT &&
			    errno != EADDRNOTAVAIL) {
				/* in use or forbidden: never half a daemon */
				freeaddrinfo(res);
				listen_close(mp);
				return 0;
			}
		}
	freeaddrinfo(res);
	return mp->nlst;
}

void
listen_close(struct master *mp)
{
	int i;

	for (i = 0; i < mp->nlst; i++)
		close(mp->lst[i].fd);
	mp->nlst = 0;
}
