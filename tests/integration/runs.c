/* Integration tests of lib/runs on a real SQLite store with the product's schema: the claim
 * outcomes of B-3 (pending, more messages, already streaming, stale input, stale stream
 * recovered, explicit retry), the lease (finish after a stop misses), scoping by workspace
 * and app, and usage accumulation (U-4). */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "lib/jsonx.h"
#include "lib/runs.h"
#include "lib/store.h"
#include "tests/harness.h"

static struct store *s;

static void setup(void)
{
	char uri[HARNESS_PATH_MAX + 32];
	struct err e = {0};
	snprintf(uri, sizeof(uri), "sqlite:%s/runs.db", harness_tmpdir());
	cr_assert_eq(store_open(uri, &store_schema_second, &s, &e), 0, "%s", e.msg);
}

static void teardown(void)
{
	store_close(s);
}

TestSuite(runs, .init = setup, .fini = teardown, .timeout = 30);

static json_t *msgs(int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++) {
		char id[16];
		snprintf(id, sizeof(id), "m%d", i);
		json_array_append_new(a, json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "id", id, "role",
						   i % 2 ? "assistant" : "user", "parts", "type",
						   "text", "text", "hi"));
	}
	return a;
}

static struct runs_key new_run(char *id)
{
	json_t *run = NULL;
	struct err e = {0};
	cr_assert_eq(runs_create(s, "ws1", "app1", "builder", &run, &e), 0, "%s", e.msg);
	strcpy(id, jsonx_str(run, "_id"));
	cr_expect_str_eq(jsonx_str(run, "status"), "pending");
	json_decref(run);
	return (struct runs_key){"ws1", "app1", id};
}

static enum runs_claim claim(const struct runs_key *k, int n, const char *retry, char *lease)
{
	enum runs_claim r;
	json_t *run = NULL, *m = msgs(n);
	struct err e = {0};
	char l[ID_HEX_LEN + 1];
	cr_assert_eq(runs_claim(s, k, m, retry, &r, lease ? lease : l, &run, &e), 0, "%s", e.msg);
	json_decref(run);
	json_decref(m);
	return r;
}

static void finish(const struct runs_key *k, const char *lease, int n, bool fail, bool want)
{
	bool applied = false;
	struct err e = {0};
	json_t *m = msgs(n),
	       *f = fail ? runs_failure("worker_stream_failed", "worker_stream", "boom", true)
			 : NULL;
	json_t *st = json_pack("{s:s, s:s}", "runtimeId", "claude-code", "sessionId", "abc");
	cr_assert_eq(runs_finish(s, k, lease, m, f, st, "claude-code", &applied, &e), 0, "%s",
		     e.msg);
	cr_expect_eq(applied, want);
	json_decref(m);
	json_decref(f);
	json_decref(st);
}

Test(runs, claim_outcomes)
{
	char id[ID_HEX_LEN + 1], lease[ID_HEX_LEN + 1];
	struct runs_key k = new_run(id);
	cr_expect_eq(claim(&k, 1, NULL, lease), RUNS_CLAIMED);
	cr_expect_eq(claim(&k, 1, NULL, NULL), RUNS_ALREADY_STREAMING);
	cr_expect_eq(claim(&k, 3, NULL, NULL), RUNS_ALREADY_STREAMING);
	finish(&k, lease, 2, false, true);
	json_t *run = NULL;
	struct err e = {0};
	cr_assert_eq(runs_get(s, &k, &run, &e), 0);
	cr_expect_str_eq(jsonx_str(run, "status"), "completed");
	cr_expect_eq(json_array_size(json_object_get(run, "messages")), 2);
	cr_expect_str_eq(jsonx_str(json_object_get(run, "sessionState"), "sessionId"), "abc");
	cr_expect_not_null(
		json_object_get(json_object_get(run, "runtimeSessionStates"), "claude-code"));
	json_decref(run);
	/* The same (or a shorter) conversation again: stale input. More messages: claimed. */
	cr_expect_eq(claim(&k, 2, NULL, NULL), RUNS_STALE_INPUT);
	cr_expect_eq(claim(&k, 3, NULL, lease), RUNS_CLAIMED);
	finish(&k, lease, 3, true, true);
	/* An explicit retry of the latest user message of a retryable failure. */
	cr_expect_eq(claim(&k, 3, "m1", NULL), RUNS_STALE_INPUT, "m1 is not the latest user");
	cr_expect_eq(claim(&k, 3, "m2", lease), RUNS_CLAIMED);
	/* Another workspace or app never sees the run. */
	struct runs_key other = {"ws2", "app1", id};
	cr_expect_eq(claim(&other, 9, NULL, NULL), RUNS_NOT_FOUND);
	struct runs_key other_app = {"ws1", "app2", id};
	cr_expect_eq(claim(&other_app, 9, NULL, NULL), RUNS_NOT_FOUND);
}

Test(runs, a_stop_takes_the_lease)
{
	char id[ID_HEX_LEN + 1], lease[ID_HEX_LEN + 1];
	struct runs_key k = new_run(id);
	cr_assert_eq(claim(&k, 1, NULL, lease), RUNS_CLAIMED);
	bool owned = false, applied = false;
	struct err e = {0};
	cr_assert_eq(runs_heartbeat(s, &k, lease, "stream-1", &owned, &e), 0);
	cr_expect(owned);
	json_t *f = runs_failure("user_stopped", "client_stop", "Run stopped by the user.", true);
	json_t *run = NULL;
	cr_assert_eq(runs_stop(s, &k, f, &applied, &run, &e), 0, "%s", e.msg);
	cr_expect(applied);
	cr_expect_str_eq(jsonx_str(run, "status"), "failed");
	cr_expect_str_eq(jsonx_str(json_object_get(run, "failure"), "code"), "user_stopped");
	json_decref(run);
	/* The sender's later writes miss. */
	cr_assert_eq(runs_heartbeat(s, &k, lease, NULL, &owned, &e), 0);
	cr_expect(!owned);
	finish(&k, lease, 2, false, false);
	/* A second stop finds nothing to stop. */
	cr_assert_eq(runs_stop(s, &k, f, &applied, &run, &e), 0);
	cr_expect(!applied);
	cr_expect_str_eq(jsonx_str(run, "status"), "failed");
	json_decref(run);
	json_decref(f);
}

Test(runs, a_dead_stream_is_recovered_at_claim)
{
	char id[ID_HEX_LEN + 1], lease[ID_HEX_LEN + 1];
	struct runs_key k = new_run(id);
	cr_assert_eq(claim(&k, 1, NULL, lease), RUNS_CLAIMED);
	struct err e = {0};
	json_t *f = json_pack("{s:s}", "_id", id);
	json_t *u = json_pack("{s:{s:s}}", "$set", "updatedAt", "2020-01-01T00:00:00.000Z");
	cr_assert_eq(store_update_one(s, "agent_runs", f, u, NULL, &e), 0, "%s", e.msg);
	json_decref(f);
	json_decref(u);
	cr_expect_eq(claim(&k, 1, NULL, NULL), RUNS_STALE_RECOVERED);
	json_t *run = NULL;
	cr_assert_eq(runs_get(s, &k, &run, &e), 0);
	cr_expect_str_eq(jsonx_str(run, "status"), "failed");
	json_t *failure = json_object_get(run, "failure");
	cr_expect_str_eq(jsonx_str(failure, "code"), "stale_stream_recovered");
	cr_expect(json_is_true(json_object_get(failure, "retryable")));
	json_decref(run);
}

Test(runs, usage_accumulates)
{
	char id[ID_HEX_LEN + 1];
	struct runs_key k = new_run(id);
	struct err e = {0};
	json_t *u = json_pack("{s:f, s:{s:{s:i, s:i, s:i, s:i, s:f}, s:{s:i, s:i}}}",
			      "totalCostUsd", 0.5, "modelUsage", "claude-sonnet-4.5", "inputTokens",
			      100, "outputTokens", 10, "cacheReadInputTokens", 5,
			      "cacheCreationInputTokens", 1, "costUSD", 0.5, "zero", "inputTokens",
			      0, "outputTokens", -4);
	cr_assert_eq(runs_add_usage(s, &k, u, &e), 0, "%s", e.msg);
	cr_assert_eq(runs_add_usage(s, &k, u, &e), 0, "%s", e.msg);
	json_decref(u);
	json_t *run = NULL;
	cr_assert_eq(runs_get(s, &k, &run, &e), 0);
	json_t *usage = json_object_get(run, "usage");
	cr_expect_eq(json_integer_value(json_object_get(usage, "totalInputTokens")), 200);
	cr_expect_eq(json_integer_value(json_object_get(usage, "totalOutputTokens")), 20);
	cr_expect_eq(json_integer_value(json_object_get(usage, "totalCacheReadTokens")), 10);
	cr_expect(json_number_value(json_object_get(usage, "totalCostUsd")) > 0.99);
	json_t *by = json_object_get(json_object_get(usage, "byModel"), "claude-sonnet-4%2E5");
	cr_assert_not_null(by, "%s", json_dumps(usage, 0));
	cr_expect_eq(json_integer_value(json_object_get(by, "inputTokens")), 200);
	cr_expect_null(json_object_get(json_object_get(usage, "byModel"), "zero"));
	json_decref(run);
	char key[64];
	runs_usage_key("openai/gpt-5.5", key, sizeof(key));
	cr_expect_str_eq(key, "openai%2Fgpt-5%2E5");
}

Test(runs, failure_messages_are_bounded)
{
	char long_msg[600];
	memset(long_msg, 'x', sizeof(long_msg) - 1);
	long_msg[sizeof(long_msg) - 1] = '\0';
	json_t *f = runs_failure("unknown", "persistence", long_msg, false);
	cr_expect_eq(strlen(jsonx_str(f, "message")), RUNS_FAILURE_MESSAGE_MAX);
	json_decref(f);
}
