/*
 * test_config.c - the configuration file and -o, every error path.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "harness.h"
#include "../master/master.h"

static struct config cf;
static char path[64], err[1024];

/* Writes TEXT to a scratch file; its name is in PATH. */
static void
file_with(const char *text)
{
	FILE *f;

	harness_unique(path, sizeof(path), "/tmp/chatd-conf-");
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

/* Loads TEXT as a configuration file; returns what config_file does. */
static int
load(const char *text)
{
	int r;

	file_with(text);
	err[0] = '\0';
	r = config_file(&cf, path, 1, err, sizeof(err));
	unlink(path);
	return r;
}

/* Whether the error message is "PATH:LINE: " followed by WHAT. */
static int
error_is(unsigned line, const char *what)
{
	char want[128];

	snprintf(want, sizeof(want), "%s:%u: ", path, line);
	return strncmp(err, want, strlen(want)) == 0 &&
	    strstr(err + strlen(want), what) != NULL;
}

static void
setup(void)
{
	config_defaults(&cf);
}

static void
teardown(void)
{
	config_free(&cf);
}

START_TEST(defaults)
{
	ck_assert_str_eq(cf.port, "6660");
	ck_assert_uint_eq(cf.maxclients, 1024);
	ck_assert_uint_eq(cf.lim.flood_rate, 5);
	ck_assert_uint_eq(cf.lim.nick_length, 16);
	ck_assert_int_eq(cf.facility, LOG_DAEMON);
	ck_assert_str_eq(cf.config, "/etc/chatd.conf");
}
END_TEST

START_TEST(every_kind_of_value)
{
	ck_assert_int_eq(load("# a comment\n"
			      "\n"
			      "   \t\n"
			      "port 7000\n"
			      "listen ::1\n"
			      "name main   # trailing comment\n"
			      "pidfile /run/x.pid\n"
			      "user chat\n"
			      "facility local3\n"
			      "verbose yes\n"
			      "motd /etc/chatd#1.motd\n"
			      "stats_interval=300\n"
			      "max_clients = 50\n"
			      "max_per_host\t3\n"
			      "ring_slots 128\n"
			      "huge_pages no\n"
			      "workers_per_copy 0\n"
			      "backlog 0\n"
			      "flood_rate 0\n"
			      "flood_burst 7\n"
			      "flood_kick 9\n"
			      "send_timeout 11\n"
			      "idle_timeout 13\n"
			      "register_timeout 15\n"
			      "nick_length 30\n"
			      "rooms_per_client 2\n"
			      "max_rooms 0\r\n"
			      "batch_clients 0\n"
			      "batch_delay 1000\n"),
	    0);
	ck_assert_str_eq(cf.port, "7000");
	ck_assert_str_eq(cf.bind, "::1");
	ck_assert_str_eq(cf.name, "main");
	ck_assert_str_eq(cf.pidfile, "/run/x.pid");
	ck_assert_str_eq(cf.user, "chat");
	ck_assert_int_eq(cf.facility, LOG_LOCAL3);
	ck_assert_int_eq(cf.verbose, 1);
	ck_assert_str_eq(cf.motd, "/etc/chatd#1.motd");
	ck_assert_uint_eq(cf.stats_interval, 300);
	ck_assert_uint_eq(cf.maxclients, 50);
	ck_assert_uint_eq(cf.maxperhost, 3);
	ck_assert_uint_eq(cf.nslots, 128);
	ck_assert_int_eq(cf.huge_pages, 0);
	ck_assert_uint_eq(cf.workers_per_copy, 0);
	ck_assert_uint_eq(cf.lim.backlog, 0);
	ck_assert_uint_eq(cf.lim.flood_rate, 0);
	ck_assert_uint_eq(cf.lim.flood_burst, 7);
	ck_assert_uint_eq(cf.lim.flood_kick, 9);
	ck_assert_uint_eq(cf.lim.send_timeout, 11);
	ck_assert_uint_eq(cf.lim.idle_timeout, 13);
	ck_assert_uint_eq(cf.lim.batch_clients, 0);
	ck_assert_uint_eq(cf.lim.batch_delay, 1000);
	ck_assert_uint_eq(cf.lim.register_timeout, 15);
	ck_assert_uint_eq(cf.lim.nick_length, 30);
	ck_assert_uint_eq(cf.lim.rooms_per_client, 2);
	ck_assert_uint_eq(cf.lim.max_rooms, 0);
}
END_TEST

START_TEST(missing_file)
{
	ck_assert_int_eq(config_file(&cf, "/nonexistent/chatd.conf", 0, err,
			     sizeof(err)),
	    0);
	ck_assert_int_eq(config_file(&cf, "/nonexistent/chatd.conf", 1, err,
			     sizeof(err)),
	    -1);
	ck_assert_str_eq(err, "/nonexistent/chatd.conf: No such file or "
			      "directory");
}
END_TEST

START_TEST(a_directory_is_not_a_file)
{
	ck_assert_int_eq(config_file(&cf, "/tmp", 1, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/tmp: "));
}
END_TEST

START_TEST(unknown_key)
{
	ck_assert_int_eq(load("port 7000\nprot 7001\n"), -1);
	ck_assert_msg(error_is(2, "unknown setting \"prot\""), "%s", err);
	ck_assert_ptr_nonnull(strstr(err, "register_timeout"));
}
END_TEST

START_TEST(no_value)
{
	ck_assert_int_eq(load("backlog\n"), -1);
	ck_assert_msg(error_is(1, "backlog: no value"), "%s", err);
	ck_assert_int_eq(load("backlog =  # nothing\n"), -1);
	ck_assert_msg(error_is(1, "no value"), "%s", err);
}
END_TEST

START_TEST(numbers_out_of_range_or_not_numbers)
{
	ck_assert_int_eq(load("\nport 65536\n"), -1);
	ck_assert_msg(error_is(2, "port takes a number from 0 to 65535"),
	    "%s", err);
	ck_assert_int_eq(load("backlog 101\n"), -1);
	ck_assert_msg(error_is(1, "backlog takes a number from 0 to 100"),
	    "%s", err);
	ck_assert_int_eq(load("max_clients 0\n"), -1);
	ck_assert_msg(error_is(1, "max_clients takes"), "%s", err);
	ck_assert_int_eq(load("idle_timeout -1\n"), -1);
	ck_assert_msg(error_is(1, "not \"-1\""), "%s", err);
	ck_assert_int_eq(load("flood_rate 5 lines\n"), -1);
	ck_assert_msg(error_is(1, "flood_rate takes"), "%s", err);
	ck_assert_int_eq(load("nick_length 31\n"), -1);
	ck_assert_msg(error_is(1, "from 1 to 30"), "%s", err);
	ck_assert_int_eq(load("ring_slots 99999999999999999999999\n"), -1);
	ck_assert_msg(error_is(1, "ring_slots takes"), "%s", err);
}
END_TEST

START_TEST(bad_words)
{
	ck_assert_int_eq(load("facility kern\n"), -1);
	ck_assert_msg(error_is(1, "facility \"kern\""), "%s", err);
	ck_assert_int_eq(load("verbose maybe\n"), -1);
	ck_assert_msg(error_is(1, "verbose takes yes or no"), "%s", err);
	ck_assert_int_eq(load("name ../etc\n"), -1);
	ck_assert_msg(error_is(1, "name \"../etc\""), "%s", err);
	ck_assert_int_eq(load("name .hidden\n"), -1);
	ck_assert_msg(error_is(1, "not starting with '.'"), "%s", err);
}
END_TEST

START_TEST(pidfile_too_long)
{
	char text[PIDPATH_MAX + 32];

	/* (in a file, the line would be too long first) */
	snprintf(text, sizeof(text), "pidfile=/%0*d", PIDPATH_MAX, 0);
	ck_assert_int_eq(config_option(&cf, text, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "pidfile: longer than") != NULL, "%s", err);
}
END_TEST

START_TEST(set_twice)
{
	ck_assert_int_eq(load("backlog 5\n# again:\nbacklog = 6\n"), -1);
	ck_assert_msg(error_is(3, "backlog is set already, on line 1"), "%s",
	    err);
}
END_TEST

START_TEST(line_too_long)
{
	char text[1200];

	memset(text, 'x', sizeof(text) - 2);
	memcpy(text, "motd ", 5);
	text[sizeof(text) - 2] = '\n';
	text[sizeof(text) - 1] = '\0';
	ck_assert_int_eq(load(text), -1);
	ck_assert_msg(error_is(1, "line longer than 1024 bytes"), "%s", err);
}
END_TEST

START_TEST(the_first_error_wins_and_nothing_after_it_counts)
{
	ck_assert_int_eq(load("backlog 3\nbogus 1\nflood_rate 9\n"), -1);
	ck_assert_msg(error_is(2, "unknown setting"), "%s", err);
	ck_assert_uint_eq(cf.lim.flood_rate, 5);
}
END_TEST

START_TEST(dash_o)
{
	ck_assert_int_eq(config_option(&cf, "idle_timeout=5", err, sizeof(err)),
	    0);
	ck_assert_uint_eq(cf.lim.idle_timeout, 5);
	ck_assert_int_eq(config_option(&cf, "idle_timeout", err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "not KEY=VALUE"));
	ck_assert_int_eq(config_option(&cf, "nosuch=1", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "unknown setting \"nosuch\""));
	ck_assert_int_eq(config_option(&cf, "port=", err, sizeof(err)), -1);
	ck_assert_int_eq(config_option(&cf, "name=", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "name needs a value"));
}
END_TEST

START_TEST(what_changes_live)
{
	ck_assert(config_is_live("backlog"));
	ck_assert(config_is_live("flood_rate"));
	ck_assert(config_is_live("motd"));
	ck_assert(config_is_live("verbose"));
	ck_assert(config_is_live("workers_per_copy"));
	ck_assert(config_is_live("batch_delay"));
	ck_assert(config_is_live("batch_clients"));
	ck_assert(!config_is_live("port"));
	ck_assert(!config_is_live("listen"));
	ck_assert(!config_is_live("name"));
	ck_assert(!config_is_live("ring_slots"));
	ck_assert(!config_is_live("huge_pages"));
	ck_assert(!config_is_live("max_clients"));
	ck_assert(!config_is_live("nosuch"));
}
END_TEST

/* The example in contrib/ parses, commented and uncommented, to the defaults. */
START_TEST(the_example_file_tells_the_truth)
{
	char line[1100], *text = calloc(1, 65536);
	struct config def;
	size_t used = 0;
	FILE *f;

	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(config_file(&cf, "contrib/chatd.conf", 1, err,
			     sizeof(err)),
	    0);
	/* uncomment every "#key value" line */
	ck_assert_ptr_nonnull(f = fopen("contrib/chatd.conf", "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *p = line;

		if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z')
			p = line + 1;
		used += (size_t)snprintf(text + used, 65536 - used, "%s", p);
	}
	fclose(f);
	ck_assert_msg(load(text) == 0, "%s", err);
	free(text);
	/* the values it shows are the defaults, where there is one */
	config_defaults(&def);
	ck_assert_str_eq(cf.port, def.port);
	ck_assert_uint_eq(cf.maxclients, def.maxclients);
	ck_assert_uint_eq(cf.maxperhost, def.maxperhost);
	ck_assert_uint_eq(cf.nslots, def.nslots);
	ck_assert_uint_eq(cf.workers_per_copy, def.workers_per_copy);
	ck_assert_int_eq(cf.facility, def.facility);
	ck_assert_int_eq(cf.verbose, def.verbose);
	ck_assert_int_eq(memcmp(&cf.lim, &def.lim, sizeof(def.lim)), 0);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("file");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, every_kind_of_value);
	tcase_add_test(tc, missing_file);
	tcase_add_test(tc, a_directory_is_not_a_file);
	tcase_add_test(tc, unknown_key);
	tcase_add_test(tc, no_value);
	tcase_add_test(tc, numbers_out_of_range_or_not_numbers);
	tcase_add_test(tc, bad_words);
	tcase_add_test(tc, pidfile_too_long);
	tcase_add_test(tc, set_twice);
	tcase_add_test(tc, line_too_long);
	tcase_add_test(tc, the_first_error_wins_and_nothing_after_it_counts);
	tcase_add_test(tc, dash_o);
	tcase_add_test(tc, what_changes_live);
	tcase_add_test(tc, the_example_file_tells_the_truth);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return harness_run(config_suite());
}
