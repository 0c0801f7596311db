/* Integration tests of lib/replay (a run's chat replay buffer) against a real redis-server:
 * order and cursors, the terminal entry, a blocked reader woken by an append, completeness
 * after trimming, expiry, and bad input. */
#include <config.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "lib/limits.h"
#include "lib/redis.h"
#include "lib/replay.h"
#include "tests/harness.h"

static struct harness_redis srv;
static struct rds *r;

static struct rds *open_conn(void)
{
	struct rds_opts o = {
		.url = srv.url, .connect_timeout_ms = 2000, .command_timeout_ms = 5000};
	struct rds *c = NULL;
	struct err e = {0};
	cr_assert_eq(rds_open(&o, &c, &e), 0, "%s", e.msg);
	return c;
}

static void setup(void)
{
	cr_assert_eq(harness_redis_start(&srv, false), 0);
	r = open_conn();
}

static void teardown(void)
{
	rds_close(r);
	harness_redis_stop(&srv);
}

TestSuite(replay, .init = setup, .fini = teardown, .timeout = 60);

static void append(const char *run, const char *chunk, char *id)
{
	struct err e = {0};
	cr_assert_eq(replay_append(r, run, chunk, strlen(chunk), id, &e), 0, "%s", e.msg);
}

Test(replay, reads_in_order_after_a_cursor)
{
	struct err e = {0};
	char ids[5][REPLAY_ID_MAX];
	cr_assert_eq(replay_reset(r, "run1", &e), 0, "%s", e.msg);
	for (int i = 0; i < 5; i++) {
		char chunk[64];
		snprintf(chunk, sizeof(chunk), "{\"type\":\"text-delta\",\"delta\":\"%d\"}", i);
		append("run1", chunk, ids[i]);
		cr_expect(replay_valid_id(ids[i]), "%s", ids[i]);
	}
	struct replay_event *ev = NULL;
	size_t n = 0;
	cr_assert_eq(replay_read(r, "run1", NULL, -1, 0, &ev, &n, &e), 0, "%s", e.msg);
	cr_assert_eq(n, 5, "the start marker must not be returned");
	for (size_t i = 0; i < n; i++) {
		cr_expect_str_eq(ev[i].id, ids[i]);
		cr_expect(strstr(ev[i].chunk, "\"delta\"") != NULL);
		cr_expect_str_eq(ev[i].terminal, "");
	}
	replay_events_free(ev, n);
	cr_assert_eq(replay_read(r, "run1", ids[2], -1, 0, &ev, &n, &e), 0);
	cr_assert_eq(n, 2);
	cr_expect_str_eq(ev[0].id, ids[3]);
	replay_events_free(ev, n);
	bool exists, complete, terminal;
	cr_assert_eq(replay_state(r, "run1", &exists, &complete, &terminal, &e), 0);
	cr_expect(exists && complete && !terminal);
	cr_assert_eq(replay_terminal(r, "run1", "completed", &e), 0);
	cr_assert_eq(replay_state(r, "run1", &exists, &complete, &terminal, &e), 0);
	cr_expect(terminal);
	cr_assert_eq(replay_read(r, "run1", ids[4], -1, 0, &ev, &n, &e), 0);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(ev[0].terminal, "completed");
	cr_expect_null(ev[0].chunk);
	replay_events_free(ev, n);
	/* A reset empties it. */
	cr_assert_eq(replay_reset(r, "run1", &e), 0);
	cr_assert_eq(replay_read(r, "run1", NULL, -1, 0, &ev, &n, &e), 0);
	cr_expect_eq(n, 0);
	replay_events_free(ev, n);
}

static void *late_writer(void *arg)
{
	(void)arg;
	struct rds *w = open_conn();
	struct err e = {0};
	usleep(300000);
	if (replay_append(w, "run2", "{\"late\":true}", 13, NULL, &e) != 0)
		abort();
	rds_close(w);
	return NULL;
}

Test(replay, a_blocked_reader_wakes_on_append)
{
	struct err e = {0};
	char last[REPLAY_ID_MAX];
	cr_assert_eq(replay_reset(r, "run2", &e), 0);
	append("run2", "{\"first\":true}", last);
	pthread_t th;
	pthread_create(&th, NULL, late_writer, NULL);
	struct replay_event *ev = NULL;
	size_t n = 0;
	cr_assert_eq(replay_read(r, "run2", last, 3000, 0, &ev, &n, &e), 0, "%s", e.msg);
	pthread_join(th, NULL);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(ev[0].chunk, "{\"late\":true}");
	replay_events_free(ev, n);
	/* Nothing more: the wait times out with no entries. */
	cr_assert_eq(replay_read(r, "run2", "99999999999999-0", 100, 0, &ev, &n, &e), 0);
	cr_expect_eq(n, 0);
	replay_events_free(ev, n);
}

Test(replay, trimming_marks_the_buffer_incomplete)
{
	struct err e = {0};
	cr_assert_eq(replay_reset(r, "run3", &e), 0);
	for (int i = 0; i < REPLAY_MAX_CHUNKS + 500; i++)
		append("run3", "{}", NULL);
	bool exists, complete, terminal;
	cr_assert_eq(replay_state(r, "run3", &exists, &complete, &terminal, &e), 0);
	cr_expect(exists && !complete);
	redisReply *ttl = rds_command(r, &e, "TTL run:run3:stream");
	cr_assert_not_null(ttl);
	cr_expect(ttl->integer > 0 && ttl->integer <= REPLAY_TTL_S, "%lld", ttl->integer);
	freeReplyObject(ttl);
}

Test(replay, bad_input_is_refused)
{
	struct err e = {0};
	struct replay_event *ev = NULL;
	size_t n = 0;
	cr_expect_eq(replay_read(r, "run4", "not-an-id", -1, 0, &ev, &n, &e), -1);
	cr_expect_eq(replay_read(r, "", NULL, -1, 0, &ev, &n, &e), -1);
	char *big = malloc(REPLAY_MAX_CHUNK_BYTES + 2);
	cr_assert_not_null(big);
	memset(big, 'x', REPLAY_MAX_CHUNK_BYTES + 1);
	cr_expect_eq(replay_append(r, "run4", big, REPLAY_MAX_CHUNK_BYTES + 1, NULL, &e), -1);
	cr_expect_eq(e.code, ERR_TOO_LARGE);
	free(big);
	cr_expect(!replay_valid_id("12-"));
	cr_expect(!replay_valid_id("-1"));
	cr_expect(!replay_valid_id("1a-2"));
	cr_expect(replay_valid_id("1732345678901-12"));
}
