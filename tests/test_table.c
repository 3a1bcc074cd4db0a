/*
 * test_table.c - the client table: rows, nicknames, rooms.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define ROWS 8

static struct shm s;

static void
setup(void)
{
	scratch_shm(&s, ROWS, 64);
}

static void
teardown(void)
{
	shm_detach(&s);
}

/* Claims a row and makes it active, as master and worker do together. */
static int
active_row(const char *nick)
{
	int row = table_claim(&s, "127.0.0.1:1");

	ck_assert_int_ge(row, 0);
	atomic_store(&s.rows[row].state, ROW_ACTIVE);
	if (nick != NULL)
		ck_assert_int_eq(table_set_nick(&s, row, nick, NULL), 0);
	return row;
}

/* Members of ROOM by the directory, -1 if it has no entry. */
static int
dir_members(const char *room)
{
	uint32_t e;
	int found = -1;

	for (e = 0; e < s.h->room_top; e++)
		if (atomic_load(&s.room_dir[e].members) > 0 &&
		    strcmp(s.room_dir[e].name, room) == 0) {
			ck_assert_int_eq(found, -1); /* one entry a room */
			found = (int)atomic_load(&s.room_dir[e].members);
		}
	return found;
}

/* Members of ROOM counted from the rows, in any state. */
static int
row_members(const char *room)
{
	uint32_t i;
	int k, n = 0;

	for (i = 0; i < ROWS; i++)
		for (k = 0; k < ROOMS_PER_CLIENT; k++)
			if (atomic_load(&s.rows[i].state) != ROW_FREE &&
			    atomic_load(&s.rows[i].rooms[k].hash) != 0 &&
			    strcmp(s.rows[i].rooms[k].name, room) == 0)
				n++;
	return n;
}

START_TEST(claim_until_full_then_release)
{
	int rows[ROWS], i;

	for (i = 0; i < ROWS; i++) {
		rows[i] = table_claim(&s, "a");
		ck_assert_int_eq(rows[i], i);
		ck_assert_uint_eq(atomic_load(&s.rows[i].state), ROW_CLAIMED);
	}
	ck_assert_int_eq(table_claim(&s, "b"), -1);
	ck_assert_int_eq(table_count(&s), ROWS);
	table_release(&s, 3);
	ck_assert_int_eq(table_count(&s), ROWS - 1);
	ck_assert_int_eq(table_claim(&s, "c"), 3);
	ck_assert_str_eq(s.rows[3].addr, "c");
}
END_TEST

START_TEST(generation_grows_with_each_claim)
{
	uint32_t g;
	int row;

	row = table_claim(&s, "a");
	g = s.rows[row].gen;
	table_release(&s, row);
	ck_assert_int_eq(table_claim(&s, "a"), row);
	ck_assert_uint_eq(s.rows[row].gen, g + 1);
}
END_TEST

START_TEST(claim_resets_the_row)
{
	int row = active_row("old"), v;

	table_add_room(&s, row, "#x", 0);
	atomic_store(&s.rows[row].lines_in, 7);
	sem_post(&s.rows[row].wake);
	table_release(&s, row);
	ck_assert_int_eq(table_claim(&s, "new"), row);
	ck_assert_str_eq(s.rows[row].nick, "");
	ck_assert_uint_eq(atomic_load(&s.rows[row].rooms[0].hash), 0);
	ck_assert_uint_eq(atomic_load(&s.rows[row].lines_in), 0);
	sem_getvalue(&s.rows[row].wake, &v);
	ck_assert_int_eq(v, 0);
}
END_TEST

START_TEST(high_water_mark_follows_rows)
{
	int a = table_claim(&s, "a"), b = table_claim(&s, "b");

	ck_assert_uint_eq(atomic_load(&s.h->rows_hwm), 2);
	table_release(&s, a);
	ck_assert_uint_eq(atomic_load(&s.h->rows_hwm), 2);
	table_release(&s, b);
	ck_assert_uint_eq(atomic_load(&s.h->rows_hwm), 0);
}
END_TEST

START_TEST(find_by_pid)
{
	int row = table_claim(&s, "a");

	table_set_pid(&s, row, 4242);
	ck_assert_int_eq(table_find_pid(&s, 4242), row);
	ck_assert_int_eq(table_find_pid(&s, 4243), -1);
	table_release(&s, row);
	ck_assert_int_eq(table_find_pid(&s, 4242), -1);
}
END_TEST

START_TEST(nicknames_are_unique_ignoring_case)
{
	int a = active_row("Alice"), b = active_row(NULL);
	char old[NICK_MAX + 1];

	ck_assert_int_eq(table_set_nick(&s, b, "alice", NULL), -1);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_int_eq(table_set_nick(&s, b, "ALICE", NULL), -1);
	ck_assert_int_eq(table_set_nick(&s, b, "bob", old), 0);
	ck_assert_str_eq(old, "");
	/* one's own nick in another case is not a clash */
	ck_assert_int_eq(table_set_nick(&s, a, "ALICE", old), 0);
	ck_assert_str_eq(old, "Alice");
	ck_assert_str_eq(s.rows[a].nick, "ALICE");
}
END_TEST

START_TEST(released_nick_is_free_again)
{
	int a = active_row("carol"), b = active_row(NULL);

	table_release(&s, a);
	ck_assert_int_eq(table_set_nick(&s, b, "carol", NULL), 0);
}
END_TEST

START_TEST(find_nick_ignores_case_and_starting_rows)
{
	int a = active_row("dave"), b;
	char spelled[NICK_MAX + 1];
	uint32_t gen = 0;

	ck_assert_int_eq(table_find_nick(&s, "DAVE", &gen, spelled), a);
	ck_assert_str_eq(spelled, "dave");
	ck_assert_uint_eq(gen, s.rows[a].gen);
	ck_assert_int_eq(table_find_nick(&s, "nobody", &gen, NULL), -1);
	/* a row still starting up is not someone to talk to */
	b = table_claim(&s, "x");
	ck_assert_int_eq(table_set_nick(&s, b, "eve", NULL), 0);
	ck_assert_int_eq(table_find_nick(&s, "eve", &gen, NULL), -1);
}
END_TEST

START_TEST(guest_nicks_skip_taken_ones)
{
	int a = active_row(NULL), b = active_row(NULL);
	char n1[NICK_MAX + 1], n2[NICK_MAX + 1];

	atomic_store(&s.h->guest_next, 5);
	ck_assert_int_eq(table_set_nick(&s, a, "GUEST5", NULL), 0);
	ck_assert_int_eq(table_guest_nick(&s, b, n1, sizeof(n1)), 0);
	ck_assert_str_eq(n1, "guest6");
	ck_assert_int_eq(table_guest_nick(&s, b, n2, sizeof(n2)), 0);
	ck_assert_str_eq(n2, "guest7");
}
END_TEST

START_TEST(rooms_add_remove_and_limit)
{
	int a = active_row("a"), i;
	char room[16];

	for (i = 0; i < ROOMS_PER_CLIENT; i++) {
		snprintf(room, sizeof(room), "#r%d", i);
		ck_assert_int_eq(table_add_room(&s, a, room, 0), 0);
	}
	ck_assert_int_eq(table_add_room(&s, a, "#one-more", 0), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_int_eq(table_del_room(&s, a, "#r3"), 0);
	ck_assert_int_eq(table_del_room(&s, a, "#r3"), -1);
	ck_assert_int_eq(table_add_room(&s, a, "#one-more", 0), 0);
}
END_TEST

START_TEST(rooms_in_use_counted_and_limited)
{
	int a = active_row("a"), b = active_row("b");

	ck_assert_int_eq(table_add_room(&s, a, "#one", 2), 0);
	ck_assert_int_eq(table_add_room(&s, b, "#one", 2), 0);
	ck_assert_uint_eq(s.h->rooms_in_use, 1);
	ck_assert_int_eq(table_add_room(&s, b, "#two", 2), 0);
	ck_assert_uint_eq(s.h->rooms_in_use, 2);
	/* a third room is refused; joining one in use is not */
	ck_assert_int_eq(table_add_room(&s, a, "#three", 2), -1);
	ck_assert_int_eq(errno, EMLINK);
	ck_assert_int_eq(table_add_room(&s, a, "#two", 2), 0);
	/* a room ends with its last member, by part or by release */
	ck_assert_int_eq(table_del_room(&s, a, "#one"), 0);
	ck_assert_uint_eq(s.h->rooms_in_use, 2);
	table_release(&s, b);
	ck_assert_uint_eq(s.h->rooms_in_use, 1);
	ck_assert_int_eq(table_add_room(&s, a, "#three", 2), 0);
	ck_assert_uint_eq(s.h->rooms_in_use, 2);
	/* what a crash mid-change could leave wrong, a recount puts right */
	s.h->rooms_in_use = 77;
	table_repair(&s);
	ck_assert_uint_eq(s.h->rooms_in_use, 2);
	/* rooms shared by several rows are counted once */
	b = active_row("b");
	ck_assert_int_eq(table_add_room(&s, b, "#three", 0), 0);
	ck_assert_int_eq(table_add_room(&s, b, "#four", 0), 0);
	ck_assert_int_eq(table_add_room(&s, b, "#two", 0), 0);
	ck_assert_uint_eq(s.h->rooms_in_use, 3);
	s.h->rooms_in_use = 0;
	table_repair(&s);
	ck_assert_uint_eq(s.h->rooms_in_use, 3);
}
END_TEST

START_TEST(members_and_room_counts)
{
	int a = active_row("a"), b = active_row("b"), c = active_row("c");
	struct nick nicks[ROWS];
	struct room_count rc[8];
	size_t n, i;
	int lobby = 0, ops = 0;

	table_add_room(&s, a, "#lobby", 0);
	table_add_room(&s, b, "#lobby", 0);
	table_add_room(&s, c, "#lobby", 0);
	table_add_room(&s, b, "#ops", 0);
	n = table_members(&s, "#lobby", nicks, ROWS);
	ck_assert_uint_eq(n, 3);
	n = table_members(&s, "#ops", nicks, ROWS);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(nicks[0].name, "b");
	/* more members than room to copy: the count is still right */
	ck_assert_uint_eq(table_members(&s, "#lobby", nicks, 1), 3);
	n = table_rooms(&s, rc, 8);
	ck_assert_uint_eq(n, 2);
	for (i = 0; i < n; i++) {
		if (strcmp(rc[i].name, "#lobby") == 0)
			lobby = (int)rc[i].members;
		if (strcmp(rc[i].name, "#ops") == 0)
			ops = (int)rc[i].members;
	}
	ck_assert_int_eq(lobby, 3);
	ck_assert_int_eq(ops, 1);
}
END_TEST

START_TEST(crowded_counts_active_members_of_the_room)
{
	int a = active_row("a"), b = active_row("b"), c = active_row("c");
	uint32_t lobby = room_hash("#lobby");

	table_add_room(&s, a, "#lobby", 0);
	table_add_room(&s, b, "#lobby", 0);
	table_add_room(&s, c, "#ops", 0);
	ck_assert_int_eq(table_crowded(&s, lobby, "#lobby", 1, 0), 1);
	ck_assert_int_eq(table_crowded(&s, lobby, "#lobby", 2, 0), 0);
	/* 0: no limit */
	ck_assert_int_eq(table_crowded(&s, lobby, "#lobby", 0, 0), 0);
	ck_assert_int_eq(table_crowded(&s, room_hash("#ops"), "#ops", 1, 0), 0);
	/* a client saying goodbye does not count itself, as /who does not
	 * list it; for the others it counts until its row is freed */
	table_leave(&s, b);
	ck_assert_int_eq(table_crowded(&s, lobby, "#lobby", 1, b), 0);
	ck_assert_int_eq(table_crowded(&s, lobby, "#lobby", 1, a), 1);
	table_release(&s, b);
	ck_assert_int_eq(table_crowded(&s, lobby, "#lobby", 1, a), 0);
	table_add_room(&s, c, "#lobby", 0);
	ck_assert_int_eq(table_crowded(&s, lobby, "#lobby", 1, 0), 1);
	/* asked by a row in the room or not, or by none: the same answer */
	ck_assert_int_eq(table_crowded(&s, lobby, "#lobby", 1, c), 1);
	ck_assert_int_eq(table_crowded(&s, lobby, "#lobby", 2, c), 0);
	ck_assert_int_eq(table_crowded(&s, lobby, "#lobby", 1, 1000), 1);
	ck_assert_int_eq(table_crowded(&s, lobby, "#lobby", 1, -1), 1);
	/* a room nobody is in any more is in nobody's way */
	table_del_room(&s, a, "#lobby");
	table_del_room(&s, c, "#lobby");
	ck_assert_int_eq(table_crowded(&s, lobby, "#lobby", 1, a), 0);
	ck_assert_int_eq(dir_members("#lobby"), -1);
}
END_TEST

/*
 * The room directory agrees with the rows through any mix of joins, parts
 * and releases, also rebuilt after a crash left it wrong, and holds no
 * more rooms than rows: a
 * pseudo-random walk checked against a count of the rows at every step.
 */
START_TEST(room_directory_agrees_with_the_rows)
{
	static const char *const names[] = {"#a", "#b", "#c", "#d", "#e",
	    "#f", "#g", "#h", "#i", "#j", "#k", "#l"};
	struct room_count rc[12];
	int rows[ROWS], i, j, step, in_use, n;
	unsigned x = 12345;

	for (i = 0; i < ROWS; i++)
		rows[i] = active_row(names[i]);
	for (step = 0; step < 4000; step++) {
		x = x * 1103515245u + 12345u;
		i = (int)((x >> 8) % ROWS);
		j = (int)((x >> 16) % 12);
		switch ((x >> 24) % 8) {
		case 0:
			table_release(&s, rows[i]);
			rows[i] = active_row(names[i]);
			break;
		case 1:
		case 2:
		case 3:
			table_del_room(&s, rows[i], names[j]);
			break;
		case 4:
			/* a worker dead half-way through a change: the
			 * directory wrong, the rows right */
			memset(s.room_ix, 0,
			    nick_buckets(ROWS) * sizeof(*s.room_ix));
			atomic_store(&s.room_dir[0].members, 99);
			table_repair(&s);
			break;
		default:
			if (table_add_room(&s, rows[i], names[j], 0) == -1)
				ck_assert(errno == ENOSPC || errno == EMLINK);
		}
		for (j = 0, in_use = 0; j < 12; j++) {
			n = row_members(names[j]);
			ck_assert_int_eq(dir_members(names[j]), n > 0 ? n : -1);
			in_use += n > 0;
		}
		ck_assert_uint_eq(s.h->rooms_in_use, (unsigned)in_use);
		ck_assert_int_le(in_use, ROWS);
		/* and /rooms lists each room in use once, with its count */
		ck_assert_uint_eq(table_rooms(&s, rc, 12), (size_t)in_use);
		for (j = 0; j < in_use; j++)
			ck_assert_int_eq((int)rc[j].members,
			    row_members(rc[j].name));
	}
}
END_TEST

/*
 * Processes race for one nickname: the table lock makes exactly one of
 * them win, however they interleave.
 */
/* the lowest free row is claimed first, also below the rows in use */
START_TEST(claim_takes_the_lowest_free_row)
{
	int i;

	for (i = 0; i < ROWS; i++)
		ck_assert_int_eq(table_claim(&s, "a"), i);
	table_release(&s, 5);
	table_release(&s, 2);
	ck_assert_int_eq(table_claim(&s, "b"), 2);
	ck_assert_int_eq(table_claim(&s, "c"), 5);
	ck_assert_int_eq(table_claim(&s, "d"), -1);
	/* a repair forgets where to start, and still finds the free row */
	table_release(&s, 6);
	table_repair(&s);
	ck_assert_int_eq(table_claim(&s, "e"), 6);
}
END_TEST

/*
 * The nickname index against the simplest model: an array of who holds
 * what.  Thousands of random changes, releases and claims over a table of
 * 256 rows with 300 nicknames in mixed case, so that probes collide and
 * entries are moved back on deletion; every answer must be the model's.
 */
#define MROWS 256
#define MNAMES 300

static int
model_owner(char model[][NICK_MAX + 1], int row, const char *nick)
{
	int i;

	for (i = 0; i < MROWS; i++)
		if (i != row && model[i][0] != '\0' &&
		    strcasecmp(model[i], nick) == 0)
			return i;
	return -1;
}

START_TEST(nick_index_agrees_with_a_model)
{
	static char model[MROWS][NICK_MAX + 1];
	struct shm m;
	char nick[NICK_MAX + 1], old[NICK_MAX + 1];
	uint32_t gen;
	int i, k, row, owner, ret;

	memset(model, 0, sizeof(model));
	scratch_shm(&m, MROWS, 64);
	for (i = 0; i < MROWS; i++) {
		ck_assert_int_eq(table_claim(&m, "a"), i);
		atomic_store(&m.rows[i].state, ROW_ACTIVE);
	}
	srand(7);
	for (k = 0; k < 20000; k++) {
		row = rand() % MROWS;
		if (rand() % 10 == 0) {
			/* the client leaves, another takes its row */
			table_release(&m, row);
			ck_assert_int_eq(table_claim(&m, "b"), row);
			atomic_store(&m.rows[row].state, ROW_ACTIVE);
			model[row][0] = '\0';
			continue;
		}
		snprintf(nick, sizeof(nick), "%sck%d", rand() % 2 ? "Ni" : "ni",
		    rand() % MNAMES);
		owner = model_owner(model, row, nick);
		ret = table_set_nick(&m, row, nick, old);
		if (owner >= 0) {
			ck_assert_int_eq(ret, -1);
			ck_assert_int_eq(errno, EEXIST);
		} else {
			ck_assert_int_eq(ret, 0);
			ck_assert_str_eq(old, model[row]);
			strcpy(model[row], nick);
		}
	}
	for (i = 0; i < MNAMES; i++) {
		snprintf(nick, sizeof(nick), "NICK%d", i);
		ck_assert_int_eq(table_find_nick(&m, nick, &gen, NULL),
		    model_owner(model, -1, nick));
	}
	shm_detach(&m);
}
END_TEST

/*
 * Three nicknames that fall in one bucket: the second and third sit after
 * the first.  When the first goes, they must still be found (moved back,
 * not left behind a hole), whichever goes first.
 */
START_TEST(nicks_that_collide_are_found_after_a_removal)
{
	char names[3][NICK_MAX + 1], cand[NICK_MAX + 1];
	uint32_t mask = nick_buckets(s.h->nrows) - 1, want = 0, gen;
	int n = 0, i, rows[3], first;

	for (i = 0; n < 3 && i < 100000; i++) {
		snprintf(cand, sizeof(cand), "x%d", i);
		if (n == 0)
			want = room_hash(cand) & mask;
		if ((room_hash(cand) & mask) == want)
			strcpy(names[n++], cand);
	}
	ck_assert_int_eq(n, 3);
	for (first = 0; first < 3; first++) {
		for (i = 0; i < 3; i++)
			rows[i] = active_row(names[i]);
		table_release(&s, rows[first]);
		for (i = 0; i < 3; i++)
			ck_assert_int_eq(table_find_nick(&s, names[i], &gen,
			    NULL), i == first ? -1 : rows[i]);
		for (i = 0; i < 3; i++)
			if (i != first)
				table_release(&s, rows[i]);
		/* nothing left behind */
		for (i = 0; i <= (int)mask; i++)
			ck_assert_uint_eq(s.nicks[i].row1, 0);
	}
}
END_TEST

/* a worker that dies in the middle of a change leaves the rows right: the
 * repair builds the index again from them */
START_TEST(repair_rebuilds_the_nick_index)
{
	uint32_t gen;
	int a = active_row("alice"), b = active_row("bob");

	memset(s.nicks, 0, nick_buckets(s.h->nrows) * sizeof(struct nick_ent));
	ck_assert_int_eq(table_find_nick(&s, "alice", &gen, NULL), -1);
	table_repair(&s);
	ck_assert_int_eq(table_find_nick(&s, "ALICE", &gen, NULL), a);
	ck_assert_int_eq(table_find_nick(&s, "bob", &gen, NULL), b);
	ck_assert_int_eq(table_set_nick(&s, b, "Alice", NULL), -1);
	ck_assert_int_eq(table_set_nick(&s, b, "carol", NULL), 0);
	ck_assert_int_eq(table_find_nick(&s, "bob", &gen, NULL), -1);
}
END_TEST

START_TEST(nick_race_has_one_winner)
{
	int rows[ROWS], i, won = 0, status;
	pid_t pids[ROWS];

	for (i = 0; i < ROWS; i++)
		rows[i] = active_row(NULL);
	for (i = 0; i < ROWS; i++) {
		pids[i] = fork();
		ck_assert_int_ne(pids[i], -1);
		if (pids[i] == 0)
			_exit(
			    table_set_nick(&s, rows[i], "highlander", NULL) == 0
				? 0
				: 1);
	}
	for (i = 0; i < ROWS; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFEXITED(status));
		if (WEXITSTATUS(status) == 0)
			won++;
	}
	ck_assert_int_eq(won, 1);
}
END_TEST

START_TEST(table_lock_of_a_dead_worker_is_taken_over)
{
	pid_t pid = fork();
	int row;

	if (pid == 0) {
		lock_take(&s.h->tablock);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	ck_assert_int_eq(atomic_load(&s.h->tablock.owner), pid);
	row = table_claim(&s, "after");
	ck_assert_int_ge(row, 0);
	ck_assert_int_eq(atomic_load(&s.h->tablock.owner), 0);
}
END_TEST

static Suite *
table_suite(void)
{
	Suite *su = suite_create("table");
	TCase *tc = tcase_create("table");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, claim_until_full_then_release);
	tcase_add_test(tc, generation_grows_with_each_claim);
	tcase_add_test(tc, claim_resets_the_row);
	tcase_add_test(tc, high_water_mark_follows_rows);
	tcase_add_test(tc, find_by_pid);
	tcase_add_test(tc, nicknames_are_unique_ignoring_case);
	tcase_add_test(tc, released_nick_is_free_again);
	tcase_add_test(tc, find_nick_ignores_case_and_starting_rows);
	tcase_add_test(tc, guest_nicks_skip_taken_ones);
	tcase_add_test(tc, rooms_add_remove_and_limit);
	tcase_add_test(tc, rooms_in_use_counted_and_limited);
	tcase_add_test(tc, members_and_room_counts);
	tcase_add_test(tc, crowded_counts_active_members_of_the_room);
	tcase_add_test(tc, room_directory_agrees_with_the_rows);
	tcase_add_test(tc, claim_takes_the_lowest_free_row);
	tcase_add_test(tc, nick_index_agrees_with_a_model);
	tcase_add_test(tc, nicks_that_collide_are_found_after_a_removal);
	tcase_add_test(tc, repair_rebuilds_the_nick_index);
	tcase_add_test(tc, nick_race_has_one_winner);
	tcase_add_test(tc, table_lock_of_a_dead_worker_is_taken_over);
	suite_add_tcase(su, tc);
	return su;
}

int
main(void)
{
	return harness_run(table_suite());
}
