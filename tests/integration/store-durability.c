/* Durability of the SQLite store: every insert acknowledged before a SIGKILL is still there.
 *
 * A child process opens the store and inserts documents in a loop, writing each _id to a pipe
 * only after store_insert returned 0, one write(2) per id (shorter than PIPE_BUF, so never
 * torn). The parent reads acknowledgements for a while, kills the child mid-loop, drains the
 * pipe, then opens the same file and checks every acknowledged id with store_get, and the
 * file with PRAGMA integrity_check. The parent never opens the database before the child is
 * dead, since SQLite handles must not cross a fork. A second test has several processes create
 * and fill one new database at the same moment. */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "lib/ids.h"
#include "lib/limits.h"
#include "lib/store.h"
#include "lib/timeutil.h"
#include "tests/harness.h"

#define RUN_MS 1500      /* how long the child writes before it is killed */
#define MAX_RUN_MS 20000 /* give a slow disk this long to reach MIN_ACKS */
#define MIN_ACKS 300
#define MAX_ACKS 1000000
#define ACK_LEN (ID_HEX_LEN + 1) /* id and '\n' */
#define OPENERS 6
#define OPENER_INSERTS 50

static const struct store_index events_indexes[] = {
	{.name = "dur_events_seq", .keys = {"seq"}},
	{.name = NULL},
};
static const struct store_collection dur_collections[] = {
	{"events", NULL, events_indexes},
};
static const struct store_schema dur_schema = {dur_collections, 1};

/* The child: insert until killed. Exits 2 on any failure so the parent can tell. */
static void writer(const char *uri, int fd)
{
	struct store *s = NULL;
	struct err e = {0};
	char ack[ACK_LEN];

	if (store_open(uri, &dur_schema, &s, &e) != 0) {
		fprintf(stderr, "durability child: store_open: %s\n", e.msg);
		_exit(2);
	}
	for (long seq = 0;; seq++) {
		json_t *doc = json_pack("{s:i,s:s}", "seq", (json_int_t)seq, "pad",
					"a few bytes so that pages fill and the WAL grows");

		if (store_insert(s, "events", doc, &e) != 0) {
			fprintf(stderr, "durability child: insert: %s\n", e.msg);
			_exit(2);
		}
		memcpy(ack, json_string_value(json_object_get(doc, "_id")), ID_HEX_LEN);
		ack[ID_HEX_LEN] = '\n';
		json_decref(doc);
		if (write(fd, ack, sizeof(ack)) != (ssize_t)sizeof(ack))
			_exit(2);
	}
}

struct acks {
	char (*ids)[ID_HEX_LEN + 1];
	size_t n;
	char partial[ACK_LEN];
	size_t npartial;
};

/* Reads what is available (blocking for some) and splits it into ids. 0 at EOF. */
static ssize_t read_acks(int fd, struct acks *a)
{
	char buf[ACK_LEN * 64];
	ssize_t got;

	while ((got = read(fd, buf, sizeof(buf))) == -1 && errno == EINTR)
		;

	for (ssize_t i = 0; i < got; i++) {
		if (buf[i] != '\n') {
			cr_assert_lt(a->npartial, ID_HEX_LEN, "a malformed acknowledgement");
			a->partial[a->npartial++] = buf[i];
			continue;
		}
		cr_assert_eq(a->npartial, ID_HEX_LEN, "a torn acknowledgement");
		cr_assert_lt(a->n, MAX_ACKS);
		memcpy(a->ids[a->n], a->partial, ID_HEX_LEN);
		a->ids[a->n++][ID_HEX_LEN] = '\0';
		a->npartial = 0;
	}
	return got;
}

static void check_acks(const char *uri, const struct acks *a)
{
	struct store *s = NULL;
	struct err e = {0};
	size_t n = 0;

	cr_assert_eq(store_open(uri, &dur_schema, &s, &e), 0, "reopen: %s", e.msg);
	for (size_t i = 0; i < a->n; i++) {
		json_t *doc = NULL;

		cr_assert_eq(store_get(s, "events", a->ids[i], &doc, &e), 0, "%s", e.msg);
		cr_expect_not_null(doc, "acknowledged id %s (ack %zu of %zu) is missing", a->ids[i],
				   i + 1, a->n);
		json_decref(doc);
	}
	cr_expect_eq(store_count(s, "events", NULL, &n, &e), 0, "%s", e.msg);
	/* At most one insert can be committed but not yet acknowledged. */
	cr_expect(n == a->n || n == a->n + 1, "%zu stored, %zu acknowledged", n, a->n);
	cr_expect_eq(store_verify(s, &e), 0, "integrity_check: %s", e.msg);
	store_close(s);
}

Test(durability, acknowledged_inserts_survive_sigkill, .timeout = 60)
{
	struct acks a = {.ids = calloc(MAX_ACKS, sizeof(*a.ids))};
	char uri[HARNESS_PATH_MAX + 64];
	int fds[2], status = 0;
	int64_t start;
	pid_t pid;

	cr_assert_not_null(a.ids);
	snprintf(uri, sizeof(uri), "sqlite:%s/durability.db", harness_tmpdir());
	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		close(fds[0]);
		writer(uri, fds[1]);
	}
	close(fds[1]);
	start = time_mono_ms();
	while (time_mono_ms() - start < RUN_MS ||
	       (a.n < MIN_ACKS && time_mono_ms() - start < MAX_RUN_MS))
		cr_assert_gt(read_acks(fds[0], &a), 0, "the writer stopped early");
	cr_assert_eq(kill(pid, SIGKILL), 0);
	while (waitpid(pid, &status, 0) == -1)
		cr_assert_eq(errno, EINTR);
	cr_expect(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		  "the writer ended on its own (status %d)", status);
	while (read_acks(fds[0], &a) > 0)
		;
	close(fds[0]);
	cr_expect_eq(a.npartial, 0, "a torn acknowledgement at the end");
	cr_assert_geq(a.n, MIN_ACKS, "only %zu acknowledgements", a.n);
	cr_log_info("%zu acknowledged inserts before SIGKILL", a.n);
	check_acks(uri, &a);
	free(a.ids);
}

/* One of several processes that open a new database at the same moment, then write to it. */
static void opener(const char *uri)
{
	struct store *s = NULL;
	struct err e = {0};

	if (store_open(uri, &dur_schema, &s, &e) != 0) {
		fprintf(stderr, "opener: store_open: %s\n", e.msg);
		_exit(2);
	}
	for (int i = 0; i < OPENER_INSERTS; i++) {
		json_t *doc = json_pack("{s:i}", "seq", i);

		if (store_insert(s, "events", doc, &e) != 0) {
			fprintf(stderr, "opener: insert: %s\n", e.msg);
			_exit(2);
		}
		json_decref(doc);
	}
	store_close(s);
	_exit(0);
}

/* Creating tables and indexes in BEGIN IMMEDIATE lets processes race to open one file. */
Test(durability, processes_open_and_write_at_once, .timeout = 60)
{
	char uri[HARNESS_PATH_MAX + 64];
	pid_t pids[OPENERS];
	struct store *s = NULL;
	struct err e = {0};
	size_t n = 0;
	int status;

	snprintf(uri, sizeof(uri), "sqlite:%s/race.db", harness_tmpdir());
	for (int i = 0; i < OPENERS; i++) {
		pids[i] = fork();
		cr_assert_neq(pids[i], -1);
		if (pids[i] == 0)
			opener(uri);
	}
	for (int i = 0; i < OPENERS; i++) {
		while (waitpid(pids[i], &status, 0) == -1)
			cr_assert_eq(errno, EINTR);
		cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "opener %d failed", i);
	}
	cr_assert_eq(store_open(uri, &dur_schema, &s, &e), 0, "%s", e.msg);
	cr_expect_eq(store_count(s, "events", NULL, &n, &e), 0, "%s", e.msg);
	cr_expect_eq(n, OPENERS * OPENER_INSERTS);
	cr_expect_eq(store_verify(s, &e), 0, "%s", e.msg);
	store_close(s);
}
