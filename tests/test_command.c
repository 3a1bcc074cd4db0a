/*
 * test_command.c - a line as a command: plain text, the slash commands
 * and their arities, and the /help text.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "../worker/worker.h"
#include "harness.h"

static char line[TEXT_MAX + 2];
static struct cmd c;

/* Parses a copy of S, which cmd_parse may cut up, into C. */
static int
parse(const char *s)
{
	size_t n = strlen(s);
	int kind;

	ck_assert_uint_lt(n, sizeof(line));
	memcpy(line, s, n + 1);
	memset(&c, 0x5a, sizeof(c));
	kind = cmd_parse(line, &c);
	ck_assert_int_eq(kind, (int)c.kind);
	return kind;
}

/* Whether P points into the parsed copy of the line. */
static int
in_line(const char *p)
{
	return p >= line && p < line + sizeof(line);
}

/* ---- no command ---- */

START_TEST(empty_line_is_none)
{
	ck_assert_int_eq(parse(""), CMD_NONE);
	ck_assert_ptr_null(c.text);
	ck_assert_ptr_null(c.arg);
}
END_TEST

START_TEST(blank_line_is_none)
{
	ck_assert_int_eq(parse("   "), CMD_NONE);
	ck_assert_int_eq(parse("\t \t"), CMD_NONE);
	ck_assert_ptr_null(c.text);
}
END_TEST

START_TEST(plain_text_is_say)
{
	ck_assert_int_eq(parse("hello there, world"), CMD_SAY);
	ck_assert_ptr_nonnull(c.text);
	ck_assert_str_eq(c.text, "hello there, world");
	ck_assert_ptr_eq(c.text, line);
	ck_assert_ptr_null(c.arg);
}
END_TEST

START_TEST(say_keeps_blanks)
{
	ck_assert_int_eq(parse("  indented  text  "), CMD_SAY);
	ck_assert_str_eq(c.text, "  indented  text  ");
}
END_TEST

START_TEST(slash_not_first_is_say)
{
	ck_assert_int_eq(parse(" /nick bob"), CMD_SAY);
	ck_assert_str_eq(c.text, " /nick bob");
	ck_assert_int_eq(parse("a/b"), CMD_SAY);
	ck_assert_str_eq(c.text, "a/b");
}
END_TEST

START_TEST(double_slash_is_say)
{
	ck_assert_int_eq(parse("//text"), CMD_SAY);
	ck_assert_str_eq(c.text, "/text");
	ck_assert_ptr_eq(c.text, line + 1);
}
END_TEST

START_TEST(double_slash_command_is_say)
{
	ck_assert_int_eq(parse("//nick bob"), CMD_SAY);
	ck_assert_str_eq(c.text, "/nick bob");
	ck_assert_int_eq(parse("//"), CMD_SAY);
	ck_assert_str_eq(c.text, "/");
}
END_TEST

/* ---- unknown ---- */

START_TEST(slash_alone_is_unknown)
{
	ck_assert_int_eq(parse("/"), CMD_UNKNOWN);
	ck_assert_ptr_nonnull(c.name);
	ck_assert_str_eq(c.name, "");
}
END_TEST

START_TEST(slash_blank_is_unknown)
{
	ck_assert_int_eq(parse("/   "), CMD_UNKNOWN);
	ck_assert_ptr_nonnull(c.name);
	ck_assert_str_eq(c.name, "");
}
END_TEST

START_TEST(unknown_word)
{
	ck_assert_int_eq(parse("/foo"), CMD_UNKNOWN);
	ck_assert_str_eq(c.name, "foo");
	ck_assert_int_eq(parse("/foo bar baz"), CMD_UNKNOWN);
	ck_assert_str_eq(c.name, "foo");
}
END_TEST

START_TEST(prefix_of_command_is_unknown)
{
	ck_assert_int_eq(parse("/ni bob"), CMD_UNKNOWN);
	ck_assert_str_eq(c.name, "ni");
	ck_assert_int_eq(parse("/nickname bob"), CMD_UNKNOWN);
	ck_assert_str_eq(c.name, "nickname");
}
END_TEST

/* ---- command words ---- */

START_TEST(command_word_case_insensitive)
{
	ck_assert_int_eq(parse("/NICK bob"), CMD_NICK);
	ck_assert_str_eq(c.arg, "bob");
	ck_assert_str_eq(c.name, "NICK");
	ck_assert_int_eq(parse("/Join #ops"), CMD_JOIN);
	ck_assert_str_eq(c.arg, "#ops");
	ck_assert_int_eq(parse("/qUiT"), CMD_QUIT);
}
END_TEST

START_TEST(name_is_the_word)
{
	ck_assert_int_eq(parse("/who #ops"), CMD_WHO);
	ck_assert_str_eq(c.name, "who");
	ck_assert(in_line(c.name));
}
END_TEST

START_TEST(blanks_after_command_word)
{
	ck_assert_int_eq(parse("/nick \t  bob"), CMD_NICK);
	ck_assert_str_eq(c.arg, "bob");
	ck_assert_int_eq(parse("/nick\tbob"), CMD_NICK);
	ck_assert_str_eq(c.arg, "bob");
	ck_assert_str_eq(c.name, "nick");
	ck_assert_int_eq(parse("/msg\t\tbob \t hi there"), CMD_MSG);
	ck_assert_str_eq(c.arg, "bob");
	ck_assert_str_eq(c.text, "hi there");
}
END_TEST

START_TEST(trailing_blanks_are_not_an_argument)
{
	ck_assert_int_eq(parse("/nick bob   "), CMD_NICK);
	ck_assert_str_eq(c.arg, "bob");
	ck_assert_int_eq(parse("/rooms \t "), CMD_ROOMS);
	ck_assert_int_eq(parse("/who  "), CMD_WHO);
	ck_assert_ptr_null(c.arg);
	ck_assert_int_eq(parse("/quit   "), CMD_QUIT);
	ck_assert_ptr_null(c.text);
}
END_TEST

/* ---- /nick ---- */

START_TEST(nick_no_arg_is_usage)
{
	ck_assert_int_eq(parse("/nick"), CMD_USAGE);
	ck_assert_ptr_nonnull(c.usage);
	ck_assert_str_eq(c.usage, "/nick NAME");
	ck_assert_str_eq(c.name, "nick");
}
END_TEST

START_TEST(nick_one_arg)
{
	ck_assert_int_eq(parse("/nick bob"), CMD_NICK);
	ck_assert_str_eq(c.arg, "bob");
	ck_assert_ptr_null(c.text);
}
END_TEST

START_TEST(nick_two_args_is_usage)
{
	ck_assert_int_eq(parse("/nick bob alice"), CMD_USAGE);
	ck_assert_str_eq(c.usage, "/nick NAME");
}
END_TEST

/* ---- /who ---- */

START_TEST(who_no_arg)
{
	ck_assert_int_eq(parse("/who"), CMD_WHO);
	ck_assert_ptr_null(c.arg);
}
END_TEST

START_TEST(who_one_arg)
{
	ck_assert_int_eq(parse("/who #ops"), CMD_WHO);
	ck_assert_str_eq(c.arg, "#ops");
}
END_TEST

START_TEST(who_two_args_is_usage)
{
	ck_assert_int_eq(parse("/who #ops #dev"), CMD_USAGE);
	ck_assert_str_eq(c.usage, "/who [#ROOM]");
}
END_TEST

/* ---- /msg ---- */

START_TEST(msg_no_arg_is_usage)
{
	ck_assert_int_eq(parse("/msg"), CMD_USAGE);
	ck_assert_str_eq(c.usage, "/msg NICK TEXT");
}
END_TEST

START_TEST(msg_missing_text_is_usage)
{
	ck_assert_int_eq(parse("/msg bob"), CMD_USAGE);
	ck_assert_str_eq(c.usage, "/msg NICK TEXT");
	ck_assert_int_eq(parse("/msg bob  \t "), CMD_USAGE);
}
END_TEST

START_TEST(msg_keeps_inner_spaces)
{
	ck_assert_int_eq(parse("/msg bob hello  world"), CMD_MSG);
	ck_assert_str_eq(c.arg, "bob");
	ck_assert_str_eq(c.text, "hello  world");
	ck_assert(in_line(c.arg));
	ck_assert(in_line(c.text));
}
END_TEST

START_TEST(msg_one_word_text)
{
	ck_assert_int_eq(parse("/msg alice hi"), CMD_MSG);
	ck_assert_str_eq(c.arg, "alice");
	ck_assert_str_eq(c.text, "hi");
}
END_TEST

/* ---- /me ---- */

START_TEST(me_without_text_is_usage)
{
	ck_assert_int_eq(parse("/me"), CMD_USAGE);
	ck_assert_str_eq(c.usage, "/me ACTION");
	ck_assert_int_eq(parse("/me   "), CMD_USAGE);
}
END_TEST

START_TEST(me_with_text)
{
	ck_assert_int_eq(parse("/me waves hand"), CMD_ME);
	ck_assert_str_eq(c.text, "waves hand");
	ck_assert_ptr_null(c.arg);
}
END_TEST

START_TEST(me_keeps_inner_spaces)
{
	ck_assert_int_eq(parse("/me  \tjumps   high"), CMD_ME);
	ck_assert_str_eq(c.text, "jumps   high");
}
END_TEST

/* ---- /join ---- */

START_TEST(join_no_arg_is_usage)
{
	ck_assert_int_eq(parse("/join"), CMD_USAGE);
	ck_assert_str_eq(c.usage, "/join #ROOM");
}
END_TEST

START_TEST(join_one_arg)
{
	ck_assert_int_eq(parse("/join #ops"), CMD_JOIN);
	ck_assert_str_eq(c.arg, "#ops");
}
END_TEST

START_TEST(join_two_args_is_usage)
{
	ck_assert_int_eq(parse("/join #ops #dev"), CMD_USAGE);
	ck_assert_str_eq(c.usage, "/join #ROOM");
}
END_TEST

/* ---- /part ---- */

START_TEST(part_alone)
{
	ck_assert_int_eq(parse("/part"), CMD_PART);
	ck_assert_ptr_null(c.arg);
	ck_assert_ptr_null(c.text);
}
END_TEST

START_TEST(part_room)
{
	ck_assert_int_eq(parse("/part #ops"), CMD_PART);
	ck_assert_str_eq(c.arg, "#ops");
	ck_assert_ptr_null(c.text);
}
END_TEST

START_TEST(part_room_and_reason)
{
	ck_assert_int_eq(parse("/part #ops gone home"), CMD_PART);
	ck_assert_str_eq(c.arg, "#ops");
	ck_assert_str_eq(c.text, "gone home");
}
END_TEST

START_TEST(part_reason_only)
{
	ck_assert_int_eq(parse("/part bye now"), CMD_PART);
	ck_assert_ptr_null(c.arg);
	ck_assert_str_eq(c.text, "bye now");
}
END_TEST

START_TEST(part_blanks_before_room)
{
	ck_assert_int_eq(parse("/part \t #ops  see  you"), CMD_PART);
	ck_assert_str_eq(c.arg, "#ops");
	ck_assert_str_eq(c.text, "see  you");
}
END_TEST

/* ---- /rooms, /help ---- */

START_TEST(rooms_alone)
{
	ck_assert_int_eq(parse("/rooms"), CMD_ROOMS);
	ck_assert_ptr_null(c.arg);
}
END_TEST

START_TEST(rooms_with_args_is_usage)
{
	ck_assert_int_eq(parse("/rooms all"), CMD_USAGE);
	ck_assert_str_eq(c.usage, "/rooms");
}
END_TEST

START_TEST(help_alone)
{
	ck_assert_int_eq(parse("/help"), CMD_HELP);
}
END_TEST

START_TEST(help_with_args_is_usage)
{
	ck_assert_int_eq(parse("/help nick"), CMD_USAGE);
	ck_assert_str_eq(c.usage, "/help");
}
END_TEST

/* ---- /quit ---- */

START_TEST(quit_without_reason)
{
	ck_assert_int_eq(parse("/quit"), CMD_QUIT);
	ck_assert_ptr_null(c.text);
}
END_TEST

START_TEST(quit_with_reason)
{
	ck_assert_int_eq(parse("/quit see you  later"), CMD_QUIT);
	ck_assert_str_eq(c.text, "see you  later");
}
END_TEST

/* ---- usage strings ---- */

START_TEST(usage_set_for_every_usage)
{
	static const char *const bad[] = {
	    "/nick",
	    "/nick a b",
	    "/who a b",
	    "/msg",
	    "/msg a",
	    "/me",
	    "/join",
	    "/join a b",
	    "/rooms x",
	    "/help x",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(bad[i]) == CMD_USAGE, "%s", bad[i]);
		ck_assert_ptr_nonnull(c.usage);
		ck_assert_msg(c.usage[0] == '/', "%s: %s", bad[i], c.usage);
		/* the usage names the command that was typed */
		ck_assert_msg(strncmp(c.usage + 1, line + 1, strlen(c.name)) ==
			0,
		    "%s: %s", bad[i], c.usage);
	}
}
END_TEST

START_TEST(parse_clears_previous_result)
{
	ck_assert_int_eq(parse("/msg bob hi"), CMD_MSG);
	ck_assert_int_eq(parse("/who"), CMD_WHO);
	ck_assert_ptr_null(c.arg);
	ck_assert_ptr_null(c.text);
	ck_assert_int_eq(parse("plain"), CMD_SAY);
	ck_assert_ptr_null(c.usage);
	ck_assert_ptr_null(c.arg);
}
END_TEST

/* ---- /help text ---- */

START_TEST(help_has_ten_lines)
{
	size_t i;

	for (i = 0; i < 10; i++)
		ck_assert_msg(cmd_help(i) != NULL, "line %zu", i);
	ck_assert_ptr_null(cmd_help(10));
	ck_assert_ptr_null(cmd_help(11));
	ck_assert_ptr_null(cmd_help((size_t)-1));
}
END_TEST

START_TEST(help_lines_name_commands)
{
	static const char *const names[] = {
	    "/nick",
	    "/who",
	    "/msg",
	    "/me",
	    "/join",
	    "/part",
	    "/rooms",
	    "/quit",
	    "/help",
	    "//",
	};
	const char *h;
	size_t i, j;
	int found;

	for (i = 0; i < 10; i++) {
		h = cmd_help(i);
		ck_assert_ptr_nonnull(h);
		ck_assert_msg(h[0] == '/', "line %zu: %s", i, h);
		ck_assert_uint_gt(strlen(h), 10);
		ck_assert_uint_lt(strlen(h), 80);
		ck_assert_ptr_null(strchr(h, '\n'));
		found = 0;
		for (j = 0; j < sizeof(names) / sizeof(names[0]); j++)
			if (strncmp(h, names[j], strlen(names[j])) == 0)
				found = 1;
		ck_assert_msg(found, "line %zu names no command: %s", i, h);
	}
}
END_TEST

START_TEST(help_covers_every_command)
{
	static const char *const names[] = {
	    "/nick ",
	    "/who ",
	    "/msg ",
	    "/me ",
	    "/join ",
	    "/part ",
	    "/rooms ",
	    "/quit ",
	    "/help ",
	    "//",
	};
	size_t i, j;
	int found;

	for (j = 0; j < sizeof(names) / sizeof(names[0]); j++) {
		found = 0;
		for (i = 0; cmd_help(i) != NULL; i++)
			if (strncmp(cmd_help(i), names[j], strlen(names[j])) ==
			    0)
				found = 1;
		ck_assert_msg(found, "no help line for %s", names[j]);
	}
}
END_TEST

START_TEST(help_lines_are_aligned)
{
	const char *h;
	size_t i;

	/* the descriptions start in one column */
	for (i = 0; (h = cmd_help(i)) != NULL; i++) {
		ck_assert_uint_gt(strlen(h), 23);
		ck_assert_msg(h[22] == ' ' && h[23] != ' ', "line %zu: \"%s\"",
		    i, h);
	}
}
END_TEST

START_TEST(help_is_stable)
{
	char first[128];
	const char *h = cmd_help(3);

	ck_assert_ptr_nonnull(h);
	ck_assert_uint_lt(strlen(h), sizeof(first));
	strcpy(first, h);
	(void)cmd_help(0);
	(void)cmd_help(9);
	ck_assert_str_eq(cmd_help(3), first);
}
END_TEST

/* ---- a chat line as a client sees it (format_msg) ---- */

static struct worker fw;
static struct msg fm;
static char fout[1100];

static void
set_room(const char *room)
{
	strcpy(fm.room, room);
	fm.room_hash = room_hash(room);
}

static void
set_text(const char *text)
{
	fm.len = (uint16_t)strlen(text);
	strcpy(fm.text, text);
}

/* A worker in row 1 that joined #lobby (current) and #side. */
static void
format_setup(void)
{
	memset(&fw, 0, sizeof(fw));
	fw.row = 1;
	fw.gen = 7;
	strcpy(fw.rooms[0].name, "#lobby");
	fw.rooms[0].hash = room_hash("#lobby");
	fw.rooms[0].joined = 1;
	strcpy(fw.rooms[1].name, "#side");
	fw.rooms[1].hash = room_hash("#side");
	fw.rooms[1].joined = 1;
	fw.current = 0;
	memset(&fm, 0, sizeof(fm));
	fm.type = MSG_TEXT;
	fm.sender = 2;
	fm.sender_gen = 3;
	strcpy(fm.nick, "alice");
	set_room("#lobby");
	set_text("hello there");
	memset(fout, 0x5a, sizeof(fout));
}

/* Formats FM into FOUT (SIZE bytes); checks the length is FOUT's. */
static size_t
format(size_t size)
{
	int replay;
	size_t n = format_msg(&fw, &fm, 10, fout, size, &replay);

	ck_assert_int_eq(replay, -1);
	if (n > 0)
		ck_assert_uint_eq(n, strlen(fout));
	return n;
}

START_TEST(chat_in_current_room)
{
	format(sizeof(fout));
	ck_assert_str_eq(fout, "<alice> hello there\r\n");
}
END_TEST

START_TEST(action_in_current_room)
{
	fm.type = MSG_ACTION;
	set_text("waves");
	format(sizeof(fout));
	ck_assert_str_eq(fout, "* alice waves\r\n");
}
END_TEST

START_TEST(chat_in_other_room_is_tagged)
{
	set_room("#side");
	format(sizeof(fout));
	ck_assert_str_eq(fout, "[#side] <alice> hello there\r\n");
	fm.type = MSG_ACTION;
	format(sizeof(fout));
	ck_assert_str_eq(fout, "[#side] * alice hello there\r\n");
}
END_TEST

START_TEST(longest_line_whole)
{
	char text[TEXT_MAX + 1], want[1100];
	const char *nick = "n23456789012345678901234567890";
	const char *room = "#r34567890123456789012345678901";

	ck_assert_uint_eq(strlen(nick), NICK_MAX);
	ck_assert_uint_eq(strlen(room), ROOM_MAX);
	memset(text, 'x', TEXT_MAX);
	text[TEXT_MAX] = '\0';
	strcpy(fw.rooms[2].name, room);
	fw.rooms[2].hash = room_hash(room);
	fw.rooms[2].joined = 1;
	set_room(room);
	strcpy(fm.nick, nick);
	set_text(text);
	snprintf(want, sizeof(want), "[%s] <%s> %s\r\n", room, nick, text);
	ck_assert_uint_eq(format(sizeof(fout)), strlen(want));
	ck_assert_str_eq(fout, want);
}
END_TEST

START_TEST(short_buffer_cuts_like_snprintf)
{
	const char *whole = "[#side] <alice> hello there\r\n";
	size_t size;

	set_room("#side");
	for (size = 1; size <= strlen(whole) + 1; size++) {
		ck_assert_uint_eq(format(size), size - 1);
		ck_assert_int_eq(memcmp(fout, whole, size - 1), 0);
		ck_assert_int_eq(fout[size - 1], '\0');
		ck_assert_int_eq(fout[size], 0x5a);
	}
	memset(fout, 0x5a, sizeof(fout));
	ck_assert_uint_eq(format(0), 0);
	ck_assert_int_eq(fout[0], 0x5a);
}
END_TEST

START_TEST(own_line_and_other_rooms_not_shown)
{
	fm.sender = fw.row;
	fm.sender_gen = fw.gen;
	ck_assert_uint_eq(format(sizeof(fout)), 0);
	fm.sender_gen = fw.gen + 1; /* an earlier client in our row */
	ck_assert_uint_gt(format(sizeof(fout)), 0);
	set_room("#elsewhere");
	ck_assert_uint_eq(format(sizeof(fout)), 0);
}
END_TEST

static Suite *
command_suite(void)
{
	Suite *su = suite_create("command");
	TCase *tc;

	tc = tcase_create("text");
	tcase_add_test(tc, empty_line_is_none);
	tcase_add_test(tc, blank_line_is_none);
	tcase_add_test(tc, plain_text_is_say);
	tcase_add_test(tc, say_keeps_blanks);
	tcase_add_test(tc, slash_not_first_is_say);
	tcase_add_test(tc, double_slash_is_say);
	tcase_add_test(tc, double_slash_command_is_say);
	suite_add_tcase(su, tc);

	tc = tcase_create("words");
	tcase_add_test(tc, slash_alone_is_unknown);
	tcase_add_test(tc, slash_blank_is_unknown);
	tcase_add_test(tc, unknown_word);
	tcase_add_test(tc, prefix_of_command_is_unknown);
	tcase_add_test(tc, command_word_case_insensitive);
	tcase_add_test(tc, name_is_the_word);
	tcase_add_test(tc, blanks_after_command_word);
	tcase_add_test(tc, trailing_blanks_are_not_an_argument);
	suite_add_tcase(su, tc);

	tc = tcase_create("arity");
	tcase_add_test(tc, nick_no_arg_is_usage);
	tcase_add_test(tc, nick_one_arg);
	tcase_add_test(tc, nick_two_args_is_usage);
	tcase_add_test(tc, who_no_arg);
	tcase_add_test(tc, who_one_arg);
	tcase_add_test(tc, who_two_args_is_usage);
	tcase_add_test(tc, msg_no_arg_is_usage);
	tcase_add_test(tc, msg_missing_text_is_usage);
	tcase_add_test(tc, msg_keeps_inner_spaces);
	tcase_add_test(tc, msg_one_word_text);
	tcase_add_test(tc, me_without_text_is_usage);
	tcase_add_test(tc, me_with_text);
	tcase_add_test(tc, me_keeps_inner_spaces);
	tcase_add_test(tc, join_no_arg_is_usage);
	tcase_add_test(tc, join_one_arg);
	tcase_add_test(tc, join_two_args_is_usage);
	tcase_add_test(tc, part_alone);
	tcase_add_test(tc, part_room);
	tcase_add_test(tc, part_room_and_reason);
	tcase_add_test(tc, part_reason_only);
	tcase_add_test(tc, part_blanks_before_room);
	tcase_add_test(tc, rooms_alone);
	tcase_add_test(tc, rooms_with_args_is_usage);
	tcase_add_test(tc, help_alone);
	tcase_add_test(tc, help_with_args_is_usage);
	tcase_add_test(tc, quit_without_reason);
	tcase_add_test(tc, quit_with_reason);
	tcase_add_test(tc, usage_set_for_every_usage);
	tcase_add_test(tc, parse_clears_previous_result);
	suite_add_tcase(su, tc);

	tc = tcase_create("help");
	tcase_add_test(tc, help_has_ten_lines);
	tcase_add_test(tc, help_lines_name_commands);
	tcase_add_test(tc, help_covers_every_command);
	tcase_add_test(tc, help_lines_are_aligned);
	tcase_add_test(tc, help_is_stable);
	suite_add_tcase(su, tc);

	tc = tcase_create("format");
	tcase_add_checked_fixture(tc, format_setup, NULL);
	tcase_add_test(tc, chat_in_current_room);
	tcase_add_test(tc, action_in_current_room);
	tcase_add_test(tc, chat_in_other_room_is_tagged);
	tcase_add_test(tc, longest_line_whole);
	tcase_add_test(tc, short_buffer_cuts_like_snprintf);
	tcase_add_test(tc, own_line_and_other_rooms_not_shown);
	suite_add_tcase(su, tc);
	return su;
}

int
main(void)
{
	return harness_run(command_suite());
}
