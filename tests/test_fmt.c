/*
 * test_fmt.c - line_fmt() writes and returns what snprintf(3) does, for
 * every conversion chatd's lines use and for those it hands on; and
 * addr_text() names an address as getnameinfo(3) does.
 */
#include <check.h>
#include <arpa/inet.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../common/fmt.h"
#include "harness.h"

/* Both into SIZE bytes: the same text and the same return value. */
#define SAME(size, ...)                                                  \
	do {                                                             \
		char want[256], got[256];                                \
		volatile size_t n_ = (size);                             \
		int w, g;                                                \
		memset(want, 'x', sizeof(want));                         \
		memset(got, 'x', sizeof(got));                           \
		w = snprintf(want, n_, __VA_ARGS__);                     \
		g = line_fmt(got, n_, __VA_ARGS__);                      \
		ck_assert_int_eq(g, w);                                  \
		ck_assert_mem_eq(got, want, sizeof(want));               \
	} while (0)

START_TEST(plain_text_and_percent)
{
	SAME(64, "hello");
	SAME(64, "%%");
	SAME(64, "100%% sure %s", "yes");
	SAME(64, "%s", "");
	SAME(1, "%s", "anything");
	SAME(0, "%s", "anything");
}
END_TEST

START_TEST(strings_with_width_and_precision)
{
	SAME(64, "*** %s joined %s\r\n", "alice", "#lobby");
	SAME(64, "[%.*s]", 3, "abcdef");
	SAME(64, "[%.*s]", 10, "abc");
	SAME(64, "[%.*s]", -1, "abc");
	SAME(64, "[%.2s]", "abc");
	SAME(64, "[%7s]", "abc");
	SAME(64, "[%-7s]", "abc");
	SAME(64, "[%*s]", 6, "ab");
	SAME(64, "[%-*s]", 6, "ab");
	SAME(64, "[%*s]", -6, "ab");
	SAME(64, "[%c%c]", 'a', 'z');
	SAME(64, "[%3c]", 'q');
}
END_TEST

START_TEST(integers_of_every_size)
{
	SAME(64, "%d %d %d", 0, -1, 42);
	SAME(64, "%d %d", INT_MAX, INT_MIN);
	SAME(64, "%i", -7);
	SAME(64, "%u %u", 0u, UINT_MAX);
	SAME(64, "%ld %ld", LONG_MAX, LONG_MIN);
	SAME(64, "%lu", ULONG_MAX);
	SAME(64, "%llu %llu", 0ULL, ULLONG_MAX);
	SAME(64, "%lld %lld", LLONG_MAX, LLONG_MIN);
	SAME(64, "%zu", (size_t)SIZE_MAX);
	SAME(64, "%x %lx %llx %zx", 0xbeefu, 0xdeadbeefUL, ULLONG_MAX,
	    (size_t)4096);
	SAME(64, "%02ld:%02ld", 7L, 123L);
	SAME(64, "[%05d] [%05d] [%-5d] [%5d]", -42, 42, -42, -42);
	SAME(64, "[%*d] [%-*u]", 4, 5, 4, 5u);
}
END_TEST

START_TEST(truncation_returns_the_whole_length)
{
	int size;

	for (size = 0; size < 24; size++) {
		SAME(size, "guest%u", 123456u);
		SAME(size, "%s(%u) %ld", "#room", 12u, -99L);
		SAME(size, "[%-8s]%05d", "ab", -3);
	}
}
END_TEST

/* What it does not do itself it hands on, whole, to vsnprintf(). */
START_TEST(other_conversions_are_handed_on)
{
	const char *volatile none = NULL;

	SAME(64, "%s and %5.2f", "pi", 3.14159);
	SAME(64, "%p", (void *)0x1234);
	SAME(64, "%s", none);
	SAME(64, "[%+d] [% d] [%#x]", 5, 5, 255);
	SAME(64, "[%.3d]", 7);
	SAME(64, "[%hd] [%hhu] [%jd]", (short)-3, (unsigned char)200,
	    (intmax_t)-9);
	SAME(64, "%zd", (ssize_t)-5);
	SAME(64, "%o", 8u);
}
END_TEST

/* addr_text() against getnameinfo(3) with NI_NUMERICHOST. */
static void
same_name(const struct sockaddr_storage *ss)
{
	char host[NI_MAXHOST], serv[16], want[96], got[96];
	socklen_t len = ss->ss_family == AF_INET6
			    ? sizeof(struct sockaddr_in6)
			    : sizeof(struct sockaddr_in);

	ck_assert_int_eq(getnameinfo((const struct sockaddr *)ss, len, host,
			     sizeof(host), serv, sizeof(serv),
			     NI_NUMERICHOST | NI_NUMERICSERV),
	    0);
	snprintf(want, sizeof(want),
	    ss->ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, serv);
	ck_assert_int_eq(addr_text(ss, got, sizeof(got)), 0);
	ck_assert_str_eq(got, want);
}

static void
v6(const char *text, unsigned port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons((uint16_t)port);
	ck_assert_int_eq(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
	same_name(&ss);
}

START_TEST(addresses_as_getnameinfo_names_them)
{
	static const char *const six[] = {"::", "::1", "1::", "::ffff:1.2.3.4",
	    "::1.2.3.4", "::0.0.0.1", "1:0:0:2::3", "1::2:0:0:3",
	    "2001:db8::ff00:42:8329", "fe80::1:0:0:0", "1:2:3:4:5:6:7:8",
	    "1:0:3:4:5:6:7:8", "ffff::", "::ffff:0:1.2.3.4", "0:1::",
	    "::ffff:255.255.255.255", "::fffe:1.2.3.4"};
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	unsigned seed = 12345, i, k;
	char small[8];

	for (i = 0; i < sizeof(six) / sizeof(six[0]); i++)
		v6(six[i], i * 4099);
	memset(&ss, 0, sizeof(ss));
	in->sin_family = AF_INET;
	in->sin_port = htons(65535);
	in->sin_addr.s_addr = htonl(0x7f000001);
	same_name(&ss);
	in->sin_addr.s_addr = 0;
	in->sin_port = 0;
	same_name(&ss);
	/* random ones, with runs of zero words of every length */
	for (i = 0; i < 2000; i++) {
		memset(&ss, 0, sizeof(ss));
		if (i % 2 == 0) {
			in->sin_family = AF_INET;
			in->sin_port = (uint16_t)rand_r(&seed);
			in->sin_addr.s_addr = (uint32_t)rand_r(&seed);
		} else {
			in6->sin6_family = AF_INET6;
			in6->sin6_port = (uint16_t)rand_r(&seed);
			for (k = 0; k < 16; k++)
				in6->sin6_addr.s6_addr[k] =
				    rand_r(&seed) % 3 == 0
					? 0
					: (unsigned char)rand_r(&seed);
		}
		same_name(&ss);
	}
	/* too small, or not an address it knows */
	ck_assert_int_eq(addr_text(&ss, small, sizeof(small)), -1);
	ck_assert_str_eq(small, "unknown");
	ss.ss_family = AF_UNIX;
	ck_assert_int_eq(addr_text(&ss, small, sizeof(small)), -1);
}
END_TEST

static Suite *
fmt_suite(void)
{
	Suite *su = suite_create("fmt");
	TCase *tc = tcase_create("format");

	tcase_add_test(tc, plain_text_and_percent);
	tcase_add_test(tc, strings_with_width_and_precision);
	tcase_add_test(tc, integers_of_every_size);
	tcase_add_test(tc, truncation_returns_the_whole_length);
	tcase_add_test(tc, other_conversions_are_handed_on);
	tcase_add_test(tc, addresses_as_getnameinfo_names_them);
	suite_add_tcase(su, tc);
	return su;
}

int
main(void)
{
	return harness_run(fmt_suite());
}
