/* The audit routes of second-api (API-92..95) and `second-admin audit verify`, through lighttpd.
 *
 * Each test starts a fresh environment (redis-server, second-api, lighttpd) and a small world:
 * workspace "acme" with an owner, an admin and a plain member, and a stranger who owns another
 * workspace. Events the tests filter and page through are written with audit_record() into
 * the store the server uses, dated in 2025 with distinctive values, so the handlers' own
 * events (workspace.created, member.joined, ...) never blur the counts; events the server
 * writes itself (audit.viewed) are checked in the store, hashes and all. */
#include <config.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <criterion/criterion.h>

#include "lib/audit.h"
#include "lib/ids.h"
#include "lib/jsonx.h"
#include "lib/store.h"
#include "lib/timeutil.h"
#include "tests/api-client.h"

#define TEST_TIMEOUT_S 120
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SEEDED_UNTIL "2025-12-31T00:00:00Z" /* every seeded event is older */
#define XFF_IP "203.0.113.7"
#define USER_AGENT "audit-test-agent/1.0 (unique-ua-marker)"
#define ALL SIZE_MAX

enum who { OWNER, ADMIN, MEMBER, STRANGER, ANON, NWHO };

static const char *const who_names[NWHO] = {"owner", "admin", "member", "stranger", "anonymous"};

struct world {
	char *cookie[NWHO];
	char *ws;       /* acme */
	char *ws_other; /* the stranger's */
};

static struct tc_env env;
static struct world w;

static void setup(void)
{
	cr_assert_eq(tc_env_start(&env), 0);
	memset(&w, 0, sizeof(w));
	w.cookie[OWNER] = tc_login(&env, "Olive Owner", "owner@acme.test");
	w.ws = tc_workspace_new(&env, w.cookie[OWNER], "Acme");
	w.cookie[ADMIN] = tc_member_add(&env, w.cookie[OWNER], w.ws, "admin@acme.test", "admin");
	w.cookie[MEMBER] = tc_member_add(&env, w.cookie[OWNER], w.ws, "member@acme.test", "member");
	w.cookie[STRANGER] = tc_login(&env, "Sam Stranger", "stranger@else.test");
	w.ws_other = tc_workspace_new(&env, w.cookie[STRANGER], "Elsewhere");
}

static void teardown(void)
{
	for (int i = 0; i < NWHO; i++)
		free(w.cookie[i]);
	free(w.ws);
	free(w.ws_other);
	tc_env_stop(&env);
}

TestSuite(audit_api, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT_S);

/* A request; asserts the status and returns the parsed reply (new reference, may be NULL). */
static json_t *call(enum who who, const char *method, const char *path, long want)
{
	struct tc_resp r = {0};
	json_t *json;

	cr_assert_eq(tc_json(&env, w.cookie[who], method, path, NULL, &r), 0, "%s %s", method,
		     path);
	cr_assert_eq(r.status, want, "%s %s as %s: %ld, want %ld: %s", method, path, who_names[who],
		     r.status, want, r.body != NULL ? r.body : "");
	json = json_incref(r.json);
	tc_resp_free(&r);
	return json;
}

static void call_err(enum who who, const char *method, const char *path, long want,
		     const char *code)
{
	json_t *j = call(who, method, path, want);

	cr_assert_not_null(j, "%s %s: no JSON", method, path);
	cr_expect_str_eq(jsonx_str(j, "error"), code, "%s %s as %s", method, path, who_names[who]);
	json_decref(j);
}

/* "/api/workspaces/<ws>/audit-events<tail>" in a static buffer. */
static const char *audit_path(const char *ws, const char *tail)
{
	static char buf[2048];

	snprintf(buf, sizeof(buf), "/api/workspaces/%s/audit-events%s", ws, tail ? tail : "");
	return buf;
}

/* Seeded events: distinctive values, dated 2025-06-01 plus `second` seconds. */
struct seed {
	const char *name, *category, *outcome, *trust;
	const char *target_type, *target_id, *target_name;
	const char *actor_user, *actor_email, *app_id, *summary;
	int second;
};

static const struct seed seeds[] = {
	{"tool.custom.executed", "tools", "success", "internal_trusted", "tool", "tool-1",
	 "Weather lookup", "u-seed-1", "ada@seed.test", "app-seed", "ran ZEBRA tool", 1},
	{"tool.custom.denied", "tools", "denied", "internal_trusted", "tool", "tool-1",
	 "Weather lookup", "u-seed-1", "ada@seed.test", "app-seed", "denied a tool", 2},
	{"integration.requested", "integrations", "success", "internal_trusted", "integration",
	 "int-1", "Payroll API", "u-seed-2", "bob@seed.test", NULL, "requested payroll", 3},
	{"app_data.document.inserted", "app_data", "success", "client_untrusted",
	 "app_data_document", "doc-1", NULL, "u-seed-2", "bob@seed.test", "app-seed",
	 "inserted a zebra row", 3},
	{"source_control.connected", "source_control", "success", "server_trusted",
	 "source_control_connection", "scc-1", "GitHub", "u-seed-1", "ada@seed.test", NULL,
	 "connected github", 3},
	{"review.requested", "reviews", "failure", "server_trusted", "review", "rev-1",
	 "Review of Payroll", "u-seed-3", "cy@seed.test", "app-other", "review wanted", 20},
};

static char *seed_one(const char *ws, const struct seed *s, const char *occurred_at)
{
	json_t *actor = json_pack("{s:s,s:s,s:s,s:s}", "kind", "user", "userId", s->actor_user,
				  "email", s->actor_email, "displayName", "Seed Person");
	json_t *source = json_pack("{s:s,s:s}", "kind", "worker", "trust", s->trust);
	json_t *target = json_pack("{s:s,s:s}", "type", s->target_type, "id", s->target_id);
	struct audit_event ev = {
		.workspace_id = ws,
		.event_name = s->name,
		.category = s->category,
		.outcome = s->outcome,
		.action = s->name,
		.summary = s->summary,
		.actor = actor,
		.source = source,
		.target = target,
		.occurred_at = occurred_at,
	};
	char id[ID_HEX_LEN + 1];
	struct err e = {0};

	if (s->app_id != NULL)
		json_object_set_new(source, "appId", json_string(s->app_id));
	if (s->target_name != NULL)
		json_object_set_new(target, "name", json_string(s->target_name));
	cr_assert_eq(audit_record(env.store, &ev, id, &e), 0, "%s", e.msg);
	json_decref(actor);
	json_decref(source);
	json_decref(target);
	return strdup(id);
}

static void seed_all(const char *ws)
{
	char when[32];

	for (size_t i = 0; i < ARRAY_LEN(seeds); i++) {
		snprintf(when, sizeof(when), "2025-06-01T00:00:%02dZ", seeds[i].second);
		free(seed_one(ws, &seeds[i], when));
	}
}

/* `n` numbered events "page.seed" in groups of three sharing one timestamp, so pages must
 * break ties on _id. */
static void seed_numbered(const char *ws, int n)
{
	struct seed s = {"page.seed",      "system", "success", "server_trusted",
			 "workspace",      "w",      NULL,      "u-page",
			 "page@seed.test", NULL,     NULL,      0};
	char when[32], summary[64];

	for (int i = 0; i < n; i++) {
		snprintf(when, sizeof(when), "2025-03-01T00:%02d:%02dZ", (i / 3) / 60,
			 (i / 3) % 60);
		snprintf(summary, sizeof(summary), "numbered %s %d", i % 2 ? "odd" : "even", i);
		s.summary = summary;
		free(seed_one(ws, &s, when));
	}
}

static size_t items_of(const char *query)
{
	json_t *j = call(OWNER, "GET", audit_path(w.ws, query), 200);
	size_t n = json_array_size(json_object_get(j, "items"));

	json_decref(j);
	return n;
}

Test(audit_api, access_by_role)
{
	static const char *const tails[] = {"", "/summary"};
	char detail[64];

	snprintf(detail, sizeof(detail), "/%024d", 0);
	for (size_t i = 0; i < ARRAY_LEN(tails); i++) {
		json_decref(call(OWNER, "GET", audit_path(w.ws, tails[i]), 200));
		json_decref(call(ADMIN, "GET", audit_path(w.ws, tails[i]), 200));
		call_err(MEMBER, "GET", audit_path(w.ws, tails[i]), 403, "audit_logs_forbidden");
		call_err(STRANGER, "GET", audit_path(w.ws, tails[i]), 404, "not_found");
		json_decref(call(ANON, "GET", audit_path(w.ws, tails[i]), 401));
	}
	call_err(MEMBER, "GET", audit_path(w.ws, detail), 403, "audit_logs_forbidden");
	call_err(MEMBER, "POST", audit_path(w.ws, "/viewed"), 403, "audit_logs_forbidden");
	call_err(STRANGER, "POST", audit_path(w.ws, "/viewed"), 404, "not_found");
	json_decref(call(ANON, "POST", audit_path(w.ws, "/viewed"), 401));
}

Test(audit_api, list_item_shape)
{
	json_t *actor = json_pack("{s:s,s:s,s:s,s:s,s:[s,s]}", "kind", "user", "userId", "u-x",
				  "email", "x@seed.test", "role", "admin", "teamIds", "t1", "t2");
	json_t *source = json_pack("{s:s,s:s,s:s,s:s,s:s}", "kind", "app_agent", "trust",
				   "internal_trusted", "appId", "app-9", "appName", "Payroll",
				   "requestId", "req-1");
	json_t *meta = json_pack("{s:i,s:[s,s],s:s,s:b}", "messageCount", 3, "fileExtensions", "ts",
				 "css", "apiKey", "k-123", "mock_only", 1);
	json_t *changes = json_pack("{s:[s,s]}", "changedFields", "name", "visibility");
	json_t *related = json_pack("{s:s,s:s}", "runId", "run-7", "reviewRequestId", "rr-1");
	struct audit_event ev = {
		.workspace_id = w.ws,
		.event_name = "shape.checked",
		.category = "apps",
		.severity = "notice",
		.action = "shape.checked",
		.summary = "Checked the shape",
		.actor = actor,
		.source = source,
		.target = NULL,
		.metadata = meta,
		.changes = changes,
		.related_ids = related,
		.occurred_at = "2025-01-01T00:00:00Z",
	};
	struct err e = {0};
	char id[ID_HEX_LEN + 1], *got;
	json_t *j, *it, *want;

	cr_assert_eq(audit_record(env.store, &ev, id, &e), 0, "%s", e.msg);
	j = call(ADMIN, "GET", audit_path(w.ws, "?eventName=shape.checked"), 200);
	cr_assert_eq(json_array_size(json_object_get(j, "items")), 1);
	it = json_array_get(json_object_get(j, "items"), 0);
	want = json_pack(
		"{s:s,s:s,s:s,s:s,s:s,s:s,"
		"s:{s:s,s:s,s:s,s:s,s:s},"
		"s:{s:s,s:s,s:s,s:s,s:s,s:s},"
		"s:{s:s,s:s,s:s},"
		"s:s,"
		"s:[{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s}],"
		"s:[s,s],s:[s,s]}",
		"id", id, "occurredAt", "2025-01-01T00:00:00.000Z", "eventName", "shape.checked",
		"category", "apps", "outcome", "success", "severity", "notice", "actor", "kind",
		"user", "name", "x@seed.test", "email", "x@seed.test", "role", "admin", "team",
		"2 teams", "source", "kind", "app_agent", "trust", "internal_trusted", "app",
		"Payroll", "appId", "app-9", "runId", "run-7", "requestId", "req-1", "target",
		"type", "workspace", "id", w.ws, "name", w.ws, "summary", "Checked the shape",
		"metadata", "label", "Message count", "value", "3", "label", "File extensions",
		"value", "ts, css", "label", "Api key", "value", "[redacted]", "label", "Mock only",
		"value", "true", "changedFields", "name", "visibility", "related", "run-7", "rr-1");
	cr_assert_not_null(want);
	got = jsonx_dumps_stable(it);
	cr_expect(json_equal(it, want), "got %s", got);
	free(got);
	json_decref(j);
	json_decref(want);
	json_decref(actor);
	json_decref(source);
	json_decref(meta);
	json_decref(changes);
	json_decref(related);
}

Test(audit_api, filters)
{
	static const struct {
		const char *query;
		size_t want; /* ALL: the filter is ignored, so as many as unfiltered */
	} cases[] = {
		{"?until=" SEEDED_UNTIL, 6},
		{"?until=2025-12-31", 6},
		{"?since=2025-06-01T00:00:02Z&until=2025-06-01T00:00:03Z", 4},
		{"?category=tools", 2},
		{"?category=tools&outcome=denied", 1},
		{"?outcome=denied", 1},
		{"?outcome=failure", 1},
		{"?targetType=tool", 2},
		{"?targetId=int-1", 1},
		{"?actorUserId=u-seed-2", 2},
		{"?appId=app-seed", 3},
		{"?eventName=review.requested", 1},
		{"?eventName=review", 0}, /* exact only */
		{"?q=zebra", 2},
		{"?q=ZeBrA&until=" SEEDED_UNTIL, 2},
		{"?q=cy@SEED", 1},
		{"?q=payroll", 2},
		{"?q=scc-1", 1},
		{"?q=tool.custom", 2},
		{"?category=source_control", ALL},
		{"?targetType=source_control_connection", ALL},
		{"?category=bogus", ALL},
		{"?since=not-a-date", ALL},
		{"?until=31/12/2025", ALL},
	};
	size_t all;
	json_t *j;

	seed_all(w.ws);
	all = items_of("?limit=200");
	cr_assert_geq(all, ARRAY_LEN(seeds));
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		size_t got = items_of(cases[i].query);
		size_t want = cases[i].want == ALL ? all : cases[i].want;

		/* The default limit (100) is well above what this world holds. */
		cr_expect_eq(got, want, "%s: %zu items, want %zu", cases[i].query, got, want);
	}
	/* The seeded events are all in acme: the stranger's workspace shows none of them. */
	j = call(STRANGER, "GET", audit_path(w.ws_other, "?until=" SEEDED_UNTIL), 200);
	cr_expect_eq(json_array_size(json_object_get(j, "items")), 0);
	json_decref(j);
}

/* Follows nextBefore from `query` with `limit`; returns every id in order (new array) and
 * checks the order is (occurredAt, id) descending. */
static json_t *walk(const char *query, int limit, int *pages)
{
	json_t *ids = json_array(), *j, *item;
	char path[1024], *before = NULL, prev_at[32] = "", prev_id[32] = "";
	size_t i;

	*pages = 0;
	for (;;) {
		snprintf(path, sizeof(path), "%s&limit=%d%s%s", query, limit,
			 before ? "&before=" : "", before ? before : "");
		free(before);
		before = NULL;
		j = call(OWNER, "GET", audit_path(w.ws, path), 200);
		(*pages)++;
		cr_assert_leq(json_array_size(json_object_get(j, "items")), (size_t)limit);
		json_array_foreach (json_object_get(j, "items"), i, item) {
			const char *at = jsonx_str(item, "occurredAt"), *id = jsonx_str(item, "id");

			cr_assert(prev_at[0] == '\0' || strcmp(at, prev_at) < 0 ||
					  (strcmp(at, prev_at) == 0 && strcmp(id, prev_id) < 0),
				  "order broken at %s %s", at, id);
			snprintf(prev_at, sizeof(prev_at), "%s", at);
			snprintf(prev_id, sizeof(prev_id), "%s", id);
			json_array_append_new(ids, json_string(id));
		}
		if (json_is_string(json_object_get(j, "nextBefore")))
			before = strdup(jsonx_str(j, "nextBefore"));
		json_decref(j);
		if (before == NULL)
			break;
		cr_assert_lt(*pages, 100, "paging does not end");
	}
	return ids;
}

static void expect_unique(const json_t *ids, size_t want, const char *what)
{
	size_t i, k;
	json_t *a, *b;

	cr_expect_eq(json_array_size(ids), want, "%s: %zu ids", what, json_array_size(ids));
	json_array_foreach (ids, i, a)
		json_array_foreach (ids, k, b)
			if (k > i)
				cr_expect_not(json_equal(a, b), "%s: %s twice", what,
					      json_string_value(a));
}

Test(audit_api, paging_walks_every_event_once)
{
	json_t *ids;
	int pages;

	seed_numbered(w.ws, 23);
	ids = walk("?eventName=page.seed", 5, &pages);
	expect_unique(ids, 23, "plain");
	cr_expect_eq(pages, 5);
	json_decref(ids);
	ids = walk("?eventName=page.seed", 23, &pages);
	expect_unique(ids, 23, "one full page");
	cr_expect_eq(pages, 1, "an exactly full last page says there is no more");
	json_decref(ids);
	/* q is filtered here, not in the store: pages still hold every match once. */
	ids = walk("?q=even&until=" SEEDED_UNTIL, 4, &pages);
	expect_unique(ids, 12, "q=even");
	json_decref(ids);
	/* An ISO date in before is the reference's form: occurredAt strictly before it. */
	cr_expect_eq(items_of("?eventName=page.seed&before=2025-03-01T00:00:02Z"), 6);
	call_err(OWNER, "GET", audit_path(w.ws, "?before=not-a-cursor"), 400, "invalid_before");
}

Test(audit_api, limit_is_clamped)
{
	static const struct {
		const char *query;
		size_t want;
	} cases[] = {
		{"?eventName=page.seed", AUDIT_LIST_DEFAULT},
		{"?eventName=page.seed&limit=abc", AUDIT_LIST_DEFAULT},
		{"?eventName=page.seed&limit=0", 1},
		{"?eventName=page.seed&limit=-5", 1},
		{"?eventName=page.seed&limit=7", 7},
		{"?eventName=page.seed&limit=1000", AUDIT_LIST_MAX},
	};

	seed_numbered(w.ws, AUDIT_LIST_MAX + 5);
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		cr_expect_eq(items_of(cases[i].query), cases[i].want, "%s", cases[i].query);
}

Test(audit_api, detail_is_scoped_to_the_workspace)
{
	char *mine = seed_one(w.ws, &seeds[0], NULL),
	     *theirs = seed_one(w.ws_other, &seeds[0], NULL);
	char tail[64];
	json_t *j;

	snprintf(tail, sizeof(tail), "/%s", mine);
	j = call(OWNER, "GET", audit_path(w.ws, tail), 200);
	cr_expect_str_eq(jsonx_str(json_object_get(j, "event"), "id"), mine);
	cr_expect_str_eq(jsonx_str(json_object_get(j, "event"), "eventName"), seeds[0].name);
	json_decref(j);
	json_decref(call(ADMIN, "GET", audit_path(w.ws, tail), 200));
	snprintf(tail, sizeof(tail), "/%s", theirs);
	call_err(OWNER, "GET", audit_path(w.ws, tail), 404, "not_found");
	json_decref(call(STRANGER, "GET", audit_path(w.ws_other, tail), 200));
	call_err(OWNER, "GET", audit_path(w.ws, "/000000000000000000000000"), 404, "not_found");
	free(mine);
	free(theirs);
}

static json_int_t num(const json_t *obj, const char *key)
{
	return json_integer_value(json_object_get(obj, key));
}

Test(audit_api, summary_counts_the_last_24_hours)
{
	json_t *before = call(OWNER, "GET", audit_path(w.ws, "/summary"), 200), *after;
	json_t *bc, *ac, *bo, *ao;

	cr_expect_str_eq(jsonx_str(before, "window"), "24h");
	/* Now: every seed; long ago: the same again, outside the window. */
	for (size_t i = 0; i < ARRAY_LEN(seeds); i++) {
		free(seed_one(w.ws, &seeds[i], NULL));
		free(seed_one(w.ws, &seeds[i], "2025-06-01T00:00:00Z"));
	}
	free(seed_one(w.ws_other, &seeds[0], NULL));
	after = call(ADMIN, "GET", audit_path(w.ws, "/summary"), 200);
	cr_expect_eq(num(after, "total") - num(before, "total"), 6);
	cr_expect_eq(num(after, "trusted") - num(before, "trusted"), 5);
	cr_expect_eq(num(after, "denied") - num(before, "denied"), 2);
	bc = json_object_get(before, "byCategory");
	ac = json_object_get(after, "byCategory");
	cr_expect_eq(num(ac, "tools") - num(bc, "tools"), 2);
	cr_expect_eq(num(ac, "integrations") - num(bc, "integrations"), 1);
	cr_expect_eq(num(ac, "source_control") - num(bc, "source_control"), 1);
	cr_expect_eq(num(ac, "reviews") - num(bc, "reviews"), 1);
	cr_expect_eq(num(ac, "app_data") - num(bc, "app_data"), 1);
	bo = json_object_get(before, "byOutcome");
	ao = json_object_get(after, "byOutcome");
	cr_expect_eq(num(ao, "success") - num(bo, "success"), 4);
	cr_expect_eq(num(ao, "denied") - num(bo, "denied"), 1);
	cr_expect_eq(num(ao, "failure") - num(bo, "failure"), 1);
	json_decref(before);
	json_decref(after);
}

static size_t viewed_events(const char *ws, json_t **last)
{
	json_t *filter = json_pack("{s:s,s:s}", "workspaceId", ws, "eventName", "audit.viewed");
	struct err e = {0};
	size_t n = 0;

	cr_assert_eq(store_count(env.store, "audit_events", filter, &n, &e), 0, "%s", e.msg);
	if (last != NULL)
		cr_assert_eq(store_find_one(env.store, "audit_events", filter, NULL, 0, last, &e),
			     0, "%s", e.msg);
	json_decref(filter);
	return n;
}

Test(audit_api, viewed_is_recorded_once_per_window)
{
	static const char *const headers[] = {"X-Forwarded-For: " XFF_IP ", 10.0.0.1",
					      "User-Agent: " USER_AGENT, NULL};
	struct tc_resp r = {0};
	json_t *doc = NULL, *ip;
	char full[72], *text;

	for (int i = 0; i < 2; i++) {
		cr_assert_eq(tc_call(&env, w.cookie[OWNER], "POST", audit_path(w.ws, "/viewed"),
				     "application/json", "{}", 2, headers, &r),
			     0);
		cr_expect_eq(r.status, 200, "%s", r.body);
		cr_expect(json_is_true(json_object_get(r.json, "ok")), "%s", r.body);
		tc_resp_free(&r);
	}
	cr_expect_eq(viewed_events(w.ws, &doc), 1);
	cr_assert_not_null(doc);
	cr_expect_str_eq(jsonx_str(doc, "category"), "audit");
	cr_expect_str_eq(jsonx_str(doc, "severity"), "info");
	cr_expect_str_eq(jsonx_str(json_object_get(doc, "retention"), "policy"), "security");
	cr_expect_eq(num(json_object_get(doc, "metadata"), "rateLimitedWindowSeconds"), 60);
	cr_expect_str_eq(jsonx_str(json_object_get(doc, "actor"), "kind"), "user");
	cr_expect_str_eq(jsonx_str(json_object_get(doc, "actor"), "role"), "owner");
	cr_expect_str_eq(jsonx_str(json_object_get(doc, "actor"), "email"), "owner@acme.test");
	cr_expect_str_eq(jsonx_str(json_object_get(doc, "source"), "kind"), "web_server");
	cr_expect_str_eq(jsonx_str(json_object_get(doc, "source"), "trust"), "server_trusted");
	cr_expect_not_null(jsonx_str(json_object_get(doc, "source"), "requestId"));
	ip = json_string(XFF_IP);
	audit_sha256(ip, full);
	full[19] = '\0';
	cr_expect_str_eq(jsonx_str(json_object_get(doc, "source"), "ipHash"), full);
	cr_expect_eq(strlen(jsonx_str(json_object_get(doc, "source"), "userAgentHash")), 19);
	text = jsonx_dumps_compact(doc, NULL);
	cr_expect_null(strstr(text, XFF_IP), "a raw address was stored");
	cr_expect_null(strstr(text, "unique-ua-marker"), "a raw user agent was stored");
	free(text);
	json_decref(ip);
	json_decref(doc);
	/* Another user has a window of their own; the member is refused and records nothing. */
	json_decref(call(ADMIN, "POST", audit_path(w.ws, "/viewed"), 200));
	json_decref(call(ADMIN, "POST", audit_path(w.ws, "/viewed"), 200));
	call_err(MEMBER, "POST", audit_path(w.ws, "/viewed"), 403, "audit_logs_forbidden");
	cr_expect_eq(viewed_events(w.ws, NULL), 2);
}

/* Runs `second-admin audit verify ws` on the test store; *out gets its output (malloc'd). */
static int admin_verify(const char *ws, char **out)
{
	const char *top = getenv("top_builddir");
	char cmd[2048], buf[512];
	size_t len = 0;
	FILE *p;
	int status;

	cr_assert_not_null(top, "top_builddir is not set");
	cr_assert_eq(setenv("SECOND_STORE_URI", env.store_uri, 1), 0);
	snprintf(cmd, sizeof(cmd), "'%s/second-admin' audit verify '%s' 2>&1", top, ws);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	*out = calloc(1, 1);
	while (fgets(buf, sizeof(buf), p) != NULL) {
		*out = realloc(*out, len + strlen(buf) + 1);
		strcpy(*out + len, buf);
		len += strlen(buf);
	}
	status = pclose(p);
	cr_assert(WIFEXITED(status), "second-admin did not exit: %s", *out);
	return WEXITSTATUS(status);
}

Test(audit_api, admin_verify_finds_the_edited_event)
{
	json_t *filter, *upd;
	char *out = NULL, *id, want[64];
	struct err e = {0};
	size_t n = 0, matched = 0;

	seed_all(w.ws);
	json_decref(call(OWNER, "POST", audit_path(w.ws, "/viewed"), 200));
	filter = json_pack("{s:s}", "workspaceId", w.ws);
	cr_assert_eq(store_count(env.store, "audit_events", filter, &n, &e), 0, "%s", e.msg);
	json_decref(filter);
	cr_expect_eq(admin_verify(w.ws, &out), 0, "%s", out);
	snprintf(want, sizeof(want), "ok: %zu events", n);
	cr_expect_not_null(strstr(out, want), "%s", out);
	free(out);

	id = seed_one(w.ws, &seeds[2], "2025-07-01T00:00:00Z");
	free(seed_one(w.ws, &seeds[3], NULL));
	filter = json_pack("{s:s}", "_id", id);
	upd = json_pack("{s:{s:s}}", "$set", "summary", "nothing to see here");
	cr_assert_eq(store_update_one(env.store, "audit_events", filter, upd, &matched, &e), 0,
		     "%s", e.msg);
	cr_assert_eq(matched, 1);
	cr_expect_eq(admin_verify(w.ws, &out), 1, "%s", out);
	cr_expect_not_null(strstr(out, id), "the output names the event: %s", out);
	cr_expect_not_null(strstr(out, "hash mismatch"), "%s", out);
	free(out);
	/* Other workspaces are untouched. */
	cr_expect_eq(admin_verify(w.ws_other, &out), 0, "%s", out);
	free(out);
	json_decref(filter);
	json_decref(upd);
	free(id);
}
