/* The app routes of second-api (API-35..API-46) through lighttpd, against a real store.
 *
 * Each test starts a fresh environment (redis-server, second-api, lighttpd) and a small world:
 * workspace "acme" with an owner, an admin and two plain members; a signed-in person with no
 * workspace; and a stranger who owns another workspace. Apps are created through the API;
 * states the API cannot reach yet (a published snapshot, team visibility, runs, data, grants)
 * are written straight into the store the server uses, which is also where the tests look for
 * what was, or was not, written: documents, cascades and audit events. */
#include <config.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "lib/ids.h"
#include "lib/jsonx.h"
#include "lib/store.h"
#include "lib/timeutil.h"
#include "tests/api-client.h"

#define TEST_TIMEOUT_S 120
#define PROMPT_MARK "zebra-quokka-7731 build me a payroll tracker"

enum who { OWNER, ADMIN, MEMBER, MEMBER2, ANON, NO_WS, STRANGER, NWHO };

static const char *const who_names[NWHO] = {"owner",     "admin", "member",  "member2",
					    "anonymous", "no-ws", "stranger"};

struct world {
	char *cookie[NWHO];
	char uid[NWHO][ID_HEX_LEN + 1];
	char *ws;        /* acme */
	char *ws_other;  /* the stranger's */
	char *ws_owner2; /* a second workspace of the owner */
};

static struct tc_env env;
static struct world w;

static void uid_of(const char *email, char out[ID_HEX_LEN + 1])
{
	json_t *filter = json_pack("{s:s}", "emailNormalized", email), *doc = NULL;
	struct err e = {0};

	cr_assert_eq(store_find_one(env.store, "users", filter, NULL, 0, &doc, &e), 0, "%s", e.msg);
	cr_assert_not_null(doc, "no user %s", email);
	snprintf(out, ID_HEX_LEN + 1, "%s", jsonx_str(doc, "_id"));
	json_decref(filter);
	json_decref(doc);
}

static void setup(void)
{
	static const struct {
		enum who who;
		const char *email, *role;
	} members[] = {
		{ADMIN, "admin@acme.test", "admin"},
		{MEMBER, "member@acme.test", "member"},
		{MEMBER2, "member2@acme.test", "member"},
	};

	cr_assert_eq(tc_env_start(&env), 0);
	memset(&w, 0, sizeof(w));
	w.cookie[OWNER] = tc_login(&env, "Olive Owner", "owner@acme.test");
	w.ws = tc_workspace_new(&env, w.cookie[OWNER], "Acme");
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		w.cookie[members[i].who] = tc_member_add(&env, w.cookie[OWNER], w.ws,
							 members[i].email, members[i].role);
		uid_of(members[i].email, w.uid[members[i].who]);
	}
	w.cookie[NO_WS] = tc_login(&env, "Nora Nowhere", "nowhere@else.test");
	w.cookie[STRANGER] = tc_login(&env, "Sam Stranger", "stranger@else.test");
	w.ws_other = tc_workspace_new(&env, w.cookie[STRANGER], "Elsewhere");
	uid_of("owner@acme.test", w.uid[OWNER]);
	uid_of("nowhere@else.test", w.uid[NO_WS]);
	uid_of("stranger@else.test", w.uid[STRANGER]);
}

static void teardown(void)
{
	for (int i = 0; i < NWHO; i++)
		free(w.cookie[i]);
	free(w.ws);
	free(w.ws_other);
	free(w.ws_owner2);
	tc_env_stop(&env);
}

TestSuite(apps, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT_S);

/* A request; asserts the status and returns the parsed reply (new reference, may be NULL). */
static json_t *call(enum who who, const char *method, const char *path, const char *body, long want)
{
	struct tc_resp r = {0};
	json_t *json;

	cr_assert_eq(tc_json(&env, w.cookie[who], method, path, body, &r), 0, "%s %s", method,
		     path);
	cr_assert_eq(r.status, want, "%s %s as %s: %ld, want %ld: %s", method, path, who_names[who],
		     r.status, want, r.body != NULL ? r.body : "");
	json = json_incref(r.json);
	tc_resp_free(&r);
	return json;
}

/* As call(), and the reply is {"error": code}; code NULL accepts any code (a refusal by the
 * framework before the handler runs, in its own words). */
static void call_err(enum who who, const char *method, const char *path, const char *body,
		     long want, const char *code)
{
	json_t *j = call(who, method, path, body, want);
	const char *got = jsonx_str(j, "error");

	cr_assert_not_null(got, "%s %s: no error code", method, path);
	if (code != NULL)
		cr_assert_str_eq(got, code, "%s %s: %s, want %s", method, path, got, code);
	json_decref(j);
}

static const char *apps_path(const char *ws, const char *id, const char *tail)
{
	static char buf[512];

	snprintf(buf, sizeof(buf), "/api/workspaces/%s/apps%s%s%s", ws, id != NULL ? "/" : "",
		 id != NULL ? id : "", tail != NULL ? tail : "");
	return buf;
}

/* Creates an app as `who` in ws and returns its id (malloc'd). */
static char *app_new_in(enum who who, const char *ws, const char *name)
{
	char body[256];
	json_t *j;
	char *id;

	snprintf(body, sizeof(body), "{\"appName\":\"%s\"}", name);
	j = call(who, "POST", apps_path(ws, NULL, NULL), body, 201);
	id = strdup(jsonx_str(j, "id"));
	json_decref(j);
	return id;
}

static char *app_new(enum who who, const char *name)
{
	return app_new_in(who, w.ws, name);
}

/* Applies a store update to an app, bypassing the API. */
static void app_update(const char *id, const char *update_json)
{
	json_t *filter = json_pack("{s:s}", "_id", id);
	json_t *update = json_loads(update_json, 0, NULL);
	struct err e = {0};
	size_t matched = 0;

	cr_assert_not_null(update, "bad update %s", update_json);
	cr_assert_eq(store_update_one(env.store, "apps", filter, update, &matched, &e), 0, "%s",
		     e.msg);
	cr_assert_eq(matched, 1);
	json_decref(filter);
	json_decref(update);
}

/* Gives an app a published version everyone in the workspace may see. */
static void app_publish(const char *id)
{
	app_update(id, "{\"$set\":{\"publishStatus\":\"published\",\"publishedSnapshotId\":"
		       "\"aaaaaaaaaaaaaaaaaaaaaaaa\",\"visibility\":\"workspace\"}}");
}

static json_t *app_doc(const char *id)
{
	json_t *doc = NULL;
	struct err e = {0};

	cr_assert_eq(store_get(env.store, "apps", id, &doc, &e), 0, "%s", e.msg);
	return doc;
}

static size_t count(const char *coll, json_t *filter_stolen)
{
	struct err e = {0};
	size_t n = 0;

	cr_assert_eq(store_count(env.store, coll, filter_stolen, &n, &e), 0, "%s", e.msg);
	json_decref(filter_stolen);
	return n;
}

static size_t events(const char *name)
{
	return count("audit_events",
		     json_pack("{s:s, s:s}", "workspaceId", w.ws, "eventName", name));
}

/* The newest event of that name (new reference). */
static json_t *event_last(const char *name)
{
	static const struct store_sort newest[] = {{"seq", -1}};
	json_t *filter = json_pack("{s:s, s:s}", "workspaceId", w.ws, "eventName", name);
	json_t *doc = NULL;
	struct err e = {0};

	cr_assert_eq(store_find_one(env.store, "audit_events", filter, newest, 1, &doc, &e), 0,
		     "%s", e.msg);
	cr_assert_not_null(doc, "no %s event", name);
	json_decref(filter);
	return doc;
}

static bool list_has(enum who who, const char *ws, const char *id)
{
	json_t *j = call(who, "GET", apps_path(ws, NULL, NULL), NULL, 200), *item;
	bool found = false;
	size_t i;

	cr_assert(json_is_array(json_object_get(j, "items")));
	json_array_foreach (json_object_get(j, "items"), i, item) {
		if (strcmp(jsonx_str(item, "id"), id) == 0)
			found = true;
	}
	json_decref(j);
	return found;
}

static void insert(const char *coll, json_t *doc_stolen)
{
	struct err e = {0};

	cr_assert_eq(store_insert(env.store, coll, doc_stolen, &e), 0, "%s: %s", coll, e.msg);
	json_decref(doc_stolen);
}

/* prefix, then n copies of fill, then suffix (malloc'd): bodies just past a limit. */
static char *body_with(const char *prefix, char fill, size_t n, const char *suffix)
{
	size_t lp = strlen(prefix), ls = strlen(suffix);
	char *s = malloc(lp + n + ls + 1);

	cr_assert_not_null(s);
	memcpy(s, prefix, lp);
	memset(s + lp, fill, n);
	memcpy(s + lp + n, suffix, ls + 1);
	return s;
}

Test(apps, create_with_defaults)
{
	struct tc_resp r = {0};
	char cookie_hdr[512];
	json_t *j, *doc;

	cr_assert_eq(tc_json(&env, w.cookie[MEMBER], "POST", apps_path(w.ws, NULL, NULL),
			     "{\"appName\":\"  Payroll  \",\"prompt\":\"" PROMPT_MARK "\"}", &r),
		     0);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_not_null(tc_header(&r, "Set-Cookie", cookie_hdr, sizeof(cookie_hdr)));
	cr_assert_not_null(strstr(cookie_hdr, "second_workspace_id="), "%s", cookie_hdr);
	j = json_incref(r.json);
	tc_resp_free(&r);

	cr_assert(id_valid(jsonx_str(j, "id")));
	cr_assert_str_eq(jsonx_str(j, "workspaceId"), w.ws);
	cr_assert_str_eq(jsonx_str(j, "name"), "Payroll");
	cr_assert(json_is_null(json_object_get(j, "description")));
	cr_assert_str_eq(jsonx_str(j, "createdByUserId"), w.uid[MEMBER]);
	cr_assert_str_eq(jsonx_str(j, "publishStatus"), "draft");
	cr_assert_eq(json_array_size(json_object_get(j, "teamIds")), 0);
	cr_assert_eq(json_array_size(json_object_get(j, "collaboratorUserIds")), 0);
	cr_assert(json_is_null(json_object_get(j, "initialRun")));
	cr_assert_not_null(jsonx_str(j, "createdAt"));
	cr_assert_str_eq(jsonx_str(j, "createdAt"), jsonx_str(j, "updatedAt"));

	/* GOV-2 in the stored document. */
	doc = app_doc(jsonx_str(j, "id"));
	cr_assert_not_null(doc);
	cr_assert_str_eq(jsonx_str(doc, "visibility"), "teams");
	cr_assert_str_eq(jsonx_str(doc, "runtimeId"), "claude-code");
	cr_assert_str_eq(jsonx_str(doc, "runtimeModel"), "claude-opus-4-8");
	cr_assert(json_is_object(json_object_get(doc, "runtimeParams")));
	cr_assert_str_eq(jsonx_str(doc, "prompt"), PROMPT_MARK);
	static const char *const nulls[] = {"publishedSnapshotId",    "draftSnapshotId",
					    "agentsJsonApprovalHash", "sourceControl",
					    "reviewRequestedAt",      "publishedAt"};
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		cr_assert(json_is_null(json_object_get(doc, nulls[i])), "%s", nulls[i]);
	json_decref(doc);
	json_decref(j);

	/* Chosen runtime settings are kept; only string params are. */
	j = call(MEMBER, "POST", apps_path(w.ws, NULL, NULL),
		 "{\"appName\":\"Codexed\",\"runtimeId\":\"codex-cli\",\"runtimeModel\":"
		 "\"gpt-5.4\",\"runtimeParams\":{\"reasoningEffort\":\"low\",\"n\":3},"
		 "\"createInitialRun\":false}",
		 201);
	doc = app_doc(jsonx_str(j, "id"));
	cr_assert_str_eq(jsonx_str(doc, "runtimeId"), "codex-cli");
	cr_assert_str_eq(jsonx_str(doc, "runtimeModel"), "gpt-5.4");
	cr_assert_str_eq(jsonx_str(json_object_get(doc, "runtimeParams"), "reasoningEffort"),
			 "low");
	cr_assert_null(json_object_get(json_object_get(doc, "runtimeParams"), "n"));
	json_decref(doc);
	json_decref(j);
}

Test(apps, name_deduplication)
{
	static const char *const want[] = {"Tracker", "Tracker (2)", "Tracker (3)"};
	char long_name[81], body[256];
	char *ids[3], *other;
	json_t *j;

	for (int i = 0; i < 3; i++) {
		j = call(i == 1 ? ADMIN : OWNER, "POST", apps_path(w.ws, NULL, NULL),
			 "{\"appName\":\"Tracker\"}", 201);
		cr_assert_str_eq(jsonx_str(j, "name"), want[i]);
		ids[i] = strdup(jsonx_str(j, "id"));
		json_decref(j);
	}
	/* Names are unique per workspace only. */
	j = call(STRANGER, "POST", apps_path(w.ws_other, NULL, NULL), "{\"appName\":\"Tracker\"}",
		 201);
	cr_assert_str_eq(jsonx_str(j, "name"), "Tracker");
	json_decref(j);

	/* Renaming to its own name keeps it; to a taken one suffixes; the freed name is reused. */
	j = call(OWNER, "PATCH", apps_path(w.ws, ids[0], NULL), "{\"name\":\"Tracker\"}", 200);
	cr_assert_str_eq(jsonx_str(j, "name"), "Tracker");
	json_decref(j);
	j = call(OWNER, "PATCH", apps_path(w.ws, ids[0], NULL), "{\"name\":\"Tracker (3)\"}", 200);
	cr_assert_str_eq(jsonx_str(j, "name"), "Tracker (3) (2)");
	json_decref(j);
	other = app_new(OWNER, "Tracker");
	j = call(OWNER, "GET", apps_path(w.ws, other, NULL), NULL, 200);
	cr_assert_str_eq(jsonx_str(j, "name"), "Tracker");
	json_decref(j);

	/* A suffix never makes a name longer than 80 characters. */
	memset(long_name, 'x', 80);
	long_name[80] = '\0';
	snprintf(body, sizeof(body), "{\"appName\":\"%s\"}", long_name);
	json_decref(call(OWNER, "POST", apps_path(w.ws, NULL, NULL), body, 201));
	j = call(OWNER, "POST", apps_path(w.ws, NULL, NULL), body, 201);
	cr_assert_eq(strlen(jsonx_str(j, "name")), 80);
	cr_assert_eq(strcmp(jsonx_str(j, "name") + 76, " (2)"), 0, "%s", jsonx_str(j, "name"));
	json_decref(j);
	for (int i = 0; i < 3; i++)
		free(ids[i]);
	free(other);
}

Test(apps, create_rejects_bad_input)
{
	static const struct {
		const char *content_type, *body;
		long status;
		const char *code;
	} cases[] = {
		/* code NULL: refused by the framework before the handler, with its own code */
		{"application/json", "{}", 400, "invalid_app_name"},
		{"application/json", "{\"appName\":null}", 400, "invalid_app_name"},
		{"application/json", "{\"appName\":\"x\"}", 400, "invalid_app_name"},
		{"application/json", "{\"appName\":\"   x   \"}", 400, "invalid_app_name"},
		{"application/json", "{\"appName\":42}", 400, "invalid_app_name"},
		{"application/json", "{\"appName\":\"a\\nb\"}", 400, "invalid_app_name"},
		{"application/json", "{\"appName\":\"Ok\",\"prompt\":7}", 400, "invalid_prompt"},
		{"application/json", "{\"appName\":\"Ok\",\"runtimeId\":\"gpt\"}", 400,
		 "invalid_runtime_settings"},
		{"application/json", "{\"appName\":\"Ok\",\"runtimeId\":\"\"}", 400,
		 "invalid_runtime_settings"},
		{"application/json", "{\"appName\":\"Ok\",\"runtimeModel\":\"\"}", 400,
		 "invalid_runtime_settings"},
		{"application/json", "{\"appName\":\"Ok\",\"runtimeModel\":[1]}", 400,
		 "invalid_runtime_settings"},
		{"application/json", "{\"appName\":\"Ok\",\"runtimeParams\":[]}", 400,
		 "invalid_runtime_settings"},
		{"application/json", "{\"appName\":\"Ok\",\"runtimeParams\":\"high\"}", 400,
		 "invalid_runtime_settings"},
		{"application/json",
		 "{\"appName\":\"Ok\",\"runtimeParams\":{\"a\":{\"b\":{\"c\":1}}}}", 400,
		 "invalid_runtime_settings"},
		{"application/json", "{\"appName\":\"Ok\",\"createInitialRun\":true}", 400,
		 "unsupported"},
		{"application/json", "{\"appName\":\"Ok\",\"createInitialRun\":\"no\"}", 400,
		 "invalid_body"},
		{"application/json", "{\"appName\":\"Ok\",\"selectedAgentId\":\"x\"}", 400,
		 "invalid_body"},
		{"application/json", "[\"appName\"]", 400, NULL},
		{"application/json", "{\"appName\":", 400, NULL},
		{"multipart/form-data; boundary=xyz",
		 "--xyz\r\nContent-Disposition: form-data; "
		 "name=\"appName\"\r\n\r\nOk\r\n--xyz--\r\n",
		 415, NULL},
		{"text/plain", "appName=Ok", 415, NULL},
	};
	static const struct {
		const char *prefix;
		char fill;
		size_t n;
		const char *suffix, *code;
	} sizes[] = {
		{"{\"appName\":\"", 'x', NAME_MAX_CHARS + 1, "\"}", "invalid_app_name"},
		{"{\"appName\":\"Ok\",\"prompt\":\"", 'p', APP_PROMPT_MAX_CHARS + 1, "\"}",
		 "invalid_prompt"},
		{"{\"appName\":\"Ok\",\"runtimeModel\":\"", 'm', APP_RUNTIME_MODEL_MAX + 1, "\"}",
		 "invalid_runtime_settings"},
		{"{\"appName\":\"Ok\",\"runtimeParams\":{\"k\":\"", 'v', APP_RUNTIME_PARAMS_BYTES,
		 "\"}}", "invalid_runtime_settings"},
	};
	char *before = tc_store_dump(&env), *after, *body;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tc_resp r = {0};

		cr_assert_eq(tc_call(&env, w.cookie[MEMBER], "POST", apps_path(w.ws, NULL, NULL),
				     cases[i].content_type, cases[i].body, strlen(cases[i].body),
				     NULL, &r),
			     0);
		cr_assert_eq(r.status, cases[i].status, "case %zu %s: %ld %s", i, cases[i].body,
			     r.status, r.body);
		cr_assert_not_null(r.json, "case %zu: not JSON: %s", i, r.body);
		cr_assert_not_null(jsonx_str(r.json, "error"), "case %zu", i);
		if (cases[i].code != NULL)
			cr_assert_str_eq(jsonx_str(r.json, "error"), cases[i].code, "case %zu", i);
		tc_resp_free(&r);
	}
	/* Sizes just past each limit; then exactly at it, which passes. */
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		body = body_with(sizes[i].prefix, sizes[i].fill, sizes[i].n, sizes[i].suffix);
		call_err(MEMBER, "POST", apps_path(w.ws, NULL, NULL), body, 400, sizes[i].code);
		free(body);
	}
	after = tc_store_dump(&env);
	cr_assert_str_eq(before, after, "a refused request changed the store");
	free(before);
	free(after);

	for (size_t i = 0; i < 3; i++) {
		body = body_with(sizes[i].prefix, sizes[i].fill, sizes[i].n - 1, sizes[i].suffix);
		json_decref(call(MEMBER, "POST", apps_path(w.ws, NULL, NULL), body, 201));
		free(body);
	}
}

Test(apps, draft_visibility)
{
	char *id = app_new(MEMBER, "Mine");
	json_t *j;

	cr_assert(list_has(MEMBER, w.ws, id));
	cr_assert(list_has(OWNER, w.ws, id));
	cr_assert(list_has(ADMIN, w.ws, id));
	cr_assert_not(list_has(MEMBER2, w.ws, id));
	json_decref(call(MEMBER, "GET", apps_path(w.ws, id, NULL), NULL, 200));
	json_decref(call(ADMIN, "GET", apps_path(w.ws, id, NULL), NULL, 200));
	call_err(MEMBER2, "GET", apps_path(w.ws, id, NULL), NULL, 404, "app_not_found");

	/* A collaborator sees the draft, unmasked. */
	{
		char body[128];

		snprintf(body, sizeof(body), "{\"collaboratorUserIds\":[\"%s\"]}", w.uid[MEMBER2]);
		json_decref(
			call(MEMBER, "PATCH", apps_path(w.ws, id, "/collaborators"), body, 200));
	}
	cr_assert(list_has(MEMBER2, w.ws, id));
	j = call(MEMBER2, "GET", apps_path(w.ws, id, NULL), NULL, 200);
	cr_assert_str_eq(jsonx_str(j, "publishStatus"), "draft");
	cr_assert_str_eq(jsonx_str(j, "createdByUserId"), w.uid[MEMBER]);
	json_decref(j);

	/* Ids: malformed is 404; upper case is the same id (C-0.2). */
	call_err(MEMBER, "GET", apps_path(w.ws, "not-an-id", NULL), NULL, 404, "app_not_found");
	call_err(MEMBER, "GET", apps_path(w.ws, "0123456789abcdef0123456", NULL), NULL, 404,
		 "app_not_found");
	call_err(MEMBER, "GET", apps_path(w.ws, "0123456789abcdef01234567", NULL), NULL, 404,
		 "app_not_found");
	{
		char upper[ID_HEX_LEN + 1];

		for (int i = 0; i < ID_HEX_LEN; i++)
			upper[i] = (char)toupper((unsigned char)id[i]);
		upper[ID_HEX_LEN] = '\0';
		json_decref(call(MEMBER, "GET", apps_path(w.ws, upper, NULL), NULL, 200));
	}
	free(id);
}

Test(apps, published_visibility)
{
	char team[ID_HEX_LEN + 1], other_team[ID_HEX_LEN + 1], now[TIME_ISO_LEN + 1];
	struct {
		const char *update;
		bool member_sees;
	} cases[] = {
		{"{\"$set\":{\"visibility\":\"workspace\"}}", false},
		{"{\"$set\":{\"publishedSnapshotId\":\"aaaaaaaaaaaaaaaaaaaaaaaa\","
		 "\"visibility\":\"workspace\"}}",
		 true},
		{"{\"$set\":{\"publishedSnapshotId\":\"aaaaaaaaaaaaaaaaaaaaaaaa\"},"
		 "\"$unset\":{\"visibility\":\"\"}}",
		 true},
		{"{\"$set\":{\"publishedSnapshotId\":\"aaaaaaaaaaaaaaaaaaaaaaaa\","
		 "\"visibility\":\"teams\",\"teamIds\":[]}}",
		 false},
		{NULL, true},  /* teams visibility with the member's team: filled in below */
		{NULL, false}, /* teams visibility with another team */
		{"{\"$set\":{\"publishStatus\":\"published\",\"draftSnapshotId\":"
		 "\"bbbbbbbbbbbbbbbbbbbbbbbb\",\"visibility\":\"workspace\"}}",
		 true},
		{"{\"$unset\":{\"publishStatus\":\"\"},\"$set\":{\"draftSnapshotId\":"
		 "\"bbbbbbbbbbbbbbbbbbbbbbbb\",\"visibility\":\"workspace\"}}",
		 true},
		{"{\"$set\":{\"publishStatus\":\"review_requested\",\"draftSnapshotId\":"
		 "\"bbbbbbbbbbbbbbbbbbbbbbbb\",\"visibility\":\"workspace\"}}",
		 false},
		{"{\"$set\":{\"publishStatus\":\"draft\",\"publishedSourceFiles\":{\"src/App\":"
		 "\"x\"},\"visibility\":\"workspace\"}}",
		 true},
	};
	char with_team[256], without_team[256];

	id_new(team);
	id_new(other_team);
	time_now_iso8601(now);
	insert("workspace_teams",
	       json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "_id", team, "workspaceId", w.ws, "name",
			 "Ops", "slug", "ops", "isDefault", 0, "createdAt", now));
	insert("workspace_team_memberships",
	       json_pack("{s:s, s:s, s:s, s:s}", "workspaceId", w.ws, "teamId", team, "userId",
			 w.uid[MEMBER], "createdAt", now));
	snprintf(with_team, sizeof(with_team),
		 "{\"$set\":{\"publishedSnapshotId\":\"aaaaaaaaaaaaaaaaaaaaaaaa\","
		 "\"visibility\":\"teams\",\"teamIds\":[\"%s\"]}}",
		 team);
	snprintf(without_team, sizeof(without_team),
		 "{\"$set\":{\"publishedSnapshotId\":\"aaaaaaaaaaaaaaaaaaaaaaaa\","
		 "\"visibility\":\"teams\",\"teamIds\":[\"%s\"]}}",
		 other_team);
	cases[4].update = with_team;
	cases[5].update = without_team;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char name[32], *id;

		snprintf(name, sizeof(name), "Published %zu", i);
		id = app_new(OWNER, name);
		app_update(id, cases[i].update);
		cr_assert_eq(list_has(MEMBER, w.ws, id), cases[i].member_sees, "case %zu", i);
		json_decref(call(MEMBER, "GET", apps_path(w.ws, id, NULL), NULL,
				 cases[i].member_sees ? 200 : 404));
		/* Admins see everything; the stranger nothing. */
		cr_assert(list_has(ADMIN, w.ws, id), "case %zu", i);
		json_decref(call(STRANGER, "GET", apps_path(w.ws, id, NULL), NULL, 404));
		free(id);
	}
}

Test(apps, viewer_masking)
{
	char *id = app_new(OWNER, "Shown");
	char body[128];
	json_t *j, *item;
	size_t i;

	snprintf(body, sizeof(body), "{\"collaboratorUserIds\":[\"%s\"]}", w.uid[MEMBER2]);
	json_decref(call(OWNER, "PATCH", apps_path(w.ws, id, "/collaborators"), body, 200));
	app_update(id, "{\"$set\":{\"publishStatus\":\"changes_requested\",\"publishedSnapshotId\":"
		       "\"aaaaaaaaaaaaaaaaaaaaaaaa\",\"visibility\":\"workspace\",\"teamIds\":"
		       "[\"cccccccccccccccccccccccc\"]}}");

	/* API-38: a published-only viewer sees no draft state. */
	j = call(MEMBER, "GET", apps_path(w.ws, id, NULL), NULL, 200);
	cr_assert_str_eq(jsonx_str(j, "id"), id);
	cr_assert_str_eq(jsonx_str(j, "name"), "Shown");
	cr_assert(json_is_null(json_object_get(j, "createdByUserId")));
	cr_assert_str_eq(jsonx_str(j, "publishStatus"), "published");
	cr_assert_eq(json_array_size(json_object_get(j, "teamIds")), 0);
	cr_assert_eq(json_array_size(json_object_get(j, "collaboratorUserIds")), 0);
	cr_assert_null(json_object_get(j, "initialRun"));
	json_decref(j);

	/* Collaborators and the creator see it all. */
	for (size_t k = 0; k < 2; k++) {
		j = call(k == 0 ? OWNER : ADMIN, "GET", apps_path(w.ws, id, NULL), NULL, 200);
		cr_assert_str_eq(jsonx_str(j, "publishStatus"), "changes_requested");
		cr_assert_str_eq(jsonx_str(j, "createdByUserId"), w.uid[OWNER]);
		cr_assert_eq(json_array_size(json_object_get(j, "teamIds")), 1);
		json_decref(j);
	}
	j = call(MEMBER2, "GET", apps_path(w.ws, id, NULL), NULL, 200);
	cr_assert_str_eq(jsonx_str(j, "publishStatus"), "changes_requested");
	cr_assert_eq(json_array_size(json_object_get(j, "collaboratorUserIds")), 1);
	json_decref(j);

	/* API-35: the list does not mask. */
	j = call(MEMBER, "GET", apps_path(w.ws, NULL, NULL), NULL, 200);
	json_array_foreach (json_object_get(j, "items"), i, item) {
		if (strcmp(jsonx_str(item, "id"), id) != 0)
			continue;
		cr_assert_str_eq(jsonx_str(item, "publishStatus"), "changes_requested");
		cr_assert_str_eq(jsonx_str(item, "createdByUserId"), w.uid[OWNER]);
		cr_assert(json_is_null(json_object_get(item, "initialRun")));
	}
	json_decref(j);
	free(id);
}

Test(apps, list_is_newest_first_and_complete)
{
	char *ids[5];
	json_t *j;

	for (int i = 0; i < 5; i++) {
		char name[16], ts[TIME_ISO_LEN + 1], upd[128];

		snprintf(name, sizeof(name), "Ordered %d", i);
		ids[i] = app_new(MEMBER, name);
		time_iso8601(1700000000000LL + i * 1000, ts);
		snprintf(upd, sizeof(upd), "{\"$set\":{\"createdAt\":\"%s\"}}", ts);
		app_update(ids[i], upd);
	}
	j = call(MEMBER, "GET", apps_path(w.ws, NULL, NULL), NULL, 200);
	cr_assert_eq(json_array_size(json_object_get(j, "items")), 5);
	for (int i = 0; i < 5; i++)
		cr_assert_str_eq(
			jsonx_str(json_array_get(json_object_get(j, "items"), (size_t)i), "id"),
			ids[4 - i]);
	json_decref(j);
	for (int i = 0; i < 5; i++)
		free(ids[i]);
}

/* Applies a store update to every document of coll matching filter, bypassing the API. */
static void store_set(const char *coll, json_t *filter_stolen, const char *update_json)
{
	json_t *update = json_loads(update_json, 0, NULL);
	struct err e = {0};
	size_t matched = 0;

	cr_assert_not_null(update, "bad update %s", update_json);
	cr_assert_eq(store_update_many(env.store, coll, filter_stolen, update, &matched, &e), 0,
		     "%s", e.msg);
	cr_assert_gt(matched, 0, "%s: nothing matched", coll);
	json_decref(filter_stolen);
	json_decref(update);
}

static void store_remove(const char *coll, json_t *filter_stolen)
{
	struct err e = {0};
	size_t n = 0;

	cr_assert_eq(store_delete_many(env.store, coll, filter_stolen, &n, &e), 0, "%s", e.msg);
	cr_assert_gt(n, 0, "%s: nothing deleted", coll);
	json_decref(filter_stolen);
}

/* The name the caller's list shows for id, or "" when the list does not hold it (static). */
static const char *listed_name(enum who who, const char *id)
{
	static char name[128];
	json_t *j = call(who, "GET", apps_path(w.ws, NULL, NULL), NULL, 200), *item;
	size_t i;

	name[0] = '\0';
	json_array_foreach (json_object_get(j, "items"), i, item) {
		if (strcmp(jsonx_str(item, "id"), id) == 0)
			snprintf(name, sizeof(name), "%s", jsonx_str(item, "name"));
	}
	json_decref(j);
	return name;
}

/* second-api keeps list replies and what the guard read while the store is unchanged: every
 * write, by the server or by another process (this one, straight into the store), must show
 * on the very next request. Each step asks twice, so the second answer is a kept one. */
Test(apps, kept_answers_follow_every_write)
{
	char team[ID_HEX_LEN + 1], now[TIME_ISO_LEN + 1], body[256];
	char *id = app_new(OWNER, "Kept"), *other = app_new(OWNER, "Owner only");

	time_now_iso8601(now);
	id_new(team);
	for (int k = 0; k < 2; k++)
		cr_assert_str_eq(listed_name(MEMBER, id), "");

	/* Published to a team: visible once the member joins it, gone when they leave. */
	snprintf(body, sizeof(body),
		 "{\"$set\":{\"publishedSnapshotId\":\"aaaaaaaaaaaaaaaaaaaaaaaa\","
		 "\"visibility\":\"teams\",\"teamIds\":[\"%s\"]}}",
		 team);
	app_update(id, body);
	for (int k = 0; k < 2; k++)
		cr_assert_str_eq(listed_name(MEMBER, id), "");
	insert("workspace_team_memberships",
	       json_pack("{s:s, s:s, s:s, s:s}", "workspaceId", w.ws, "teamId", team, "userId",
			 w.uid[MEMBER], "createdAt", now));
	for (int k = 0; k < 2; k++)
		cr_assert_str_eq(listed_name(MEMBER, id), "Kept");
	store_remove("workspace_team_memberships",
		     json_pack("{s:s, s:s}", "teamId", team, "userId", w.uid[MEMBER]));
	for (int k = 0; k < 2; k++)
		cr_assert_str_eq(listed_name(MEMBER, id), "");

	/* Collaborators through the API, a rename behind the server's back. */
	snprintf(body, sizeof(body), "{\"collaboratorUserIds\":[\"%s\"]}", w.uid[MEMBER2]);
	for (int k = 0; k < 2; k++)
		cr_assert_str_eq(listed_name(MEMBER2, id), "");
	json_decref(call(OWNER, "PATCH", apps_path(w.ws, id, "/collaborators"), body, 200));
	for (int k = 0; k < 2; k++)
		cr_assert_str_eq(listed_name(MEMBER2, id), "Kept");
	app_update(id, "{\"$set\":{\"name\":\"Renamed elsewhere\"}}");
	for (int k = 0; k < 2; k++)
		cr_assert_str_eq(listed_name(MEMBER2, id), "Renamed elsewhere");

	/* A role change, then the membership removed (their only one). */
	for (int k = 0; k < 2; k++)
		cr_assert_str_eq(listed_name(MEMBER2, other), "");
	store_set("workspace_memberships",
		  json_pack("{s:s, s:s}", "workspaceId", w.ws, "userId", w.uid[MEMBER2]),
		  "{\"$set\":{\"role\":\"admin\"}}");
	for (int k = 0; k < 2; k++)
		cr_assert_str_eq(listed_name(MEMBER2, other), "Owner only");
	store_remove("workspace_memberships",
		     json_pack("{s:s, s:s}", "workspaceId", w.ws, "userId", w.uid[MEMBER2]));
	for (int k = 0; k < 2; k++)
		call_err(MEMBER2, "GET", apps_path(w.ws, NULL, NULL), NULL, 403,
			 "workspace_required");

	/* The user document itself, and an app deleted behind the server's back. */
	store_set("users", json_pack("{s:s}", "_id", w.uid[MEMBER]),
		  "{\"$set\":{\"displayName\":\"\"}}");
	for (int k = 0; k < 2; k++)
		call_err(MEMBER, "GET", apps_path(w.ws, NULL, NULL), NULL, 401, "profile_required");
	for (int k = 0; k < 2; k++)
		cr_assert_str_eq(listed_name(OWNER, other), "Owner only");
	store_remove("apps", json_pack("{s:s}", "_id", other));
	for (int k = 0; k < 2; k++)
		cr_assert_str_eq(listed_name(OWNER, other), "");
	free(id);
	free(other);
}

/* Who may rename, delete, change settings and manage collaborators (TEN-6b). */
Test(apps, capabilities)
{
	static const struct {
		const char *method, *tail, *body;
		long creator, collaborator, admin, viewer, hidden;
	} routes[] = {
		{"PATCH", NULL, "{\"name\":\"Renamed\"}", 200, 403, 200, 403, 404},
		{"PATCH", "/settings", "{\"runtimeId\":\"opencode\"}", 200, 200, 200, 403, 404},
		{"GET", "/collaborators", NULL, 200, 403, 200, 403, 404},
		{"PATCH", "/collaborators", "{\"collaboratorUserIds\":[]}", 200, 403, 200, 403,
		 404},
		{"DELETE", NULL, NULL, 200, 403, 200, 403, 404},
	};

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		/* MEMBER creates and MEMBER2 collaborates on `id`; the viewer and hidden columns
		 * are MEMBER2 on apps of MEMBER's it does not collaborate on, one published to
		 * the workspace and one a draft. */
		const struct {
			enum who who;
			long want;
		} calls[] = {
			{MEMBER2, routes[i].collaborator},
			{ADMIN, routes[i].admin},
			{MEMBER, routes[i].creator},
		};
		char *id = app_new(MEMBER, "Cap"), *seen = app_new(MEMBER, "Seen"),
		     *hidden = app_new(MEMBER, "Hidden");
		char body[128];

		snprintf(body, sizeof(body), "{\"collaboratorUserIds\":[\"%s\"]}", w.uid[MEMBER2]);
		json_decref(
			call(MEMBER, "PATCH", apps_path(w.ws, id, "/collaborators"), body, 200));
		app_publish(seen);
		for (size_t c = 0; c < sizeof(calls) / sizeof(calls[0]); c++) {
			/* Deleting succeeds once; each success gets a fresh app. */
			if (c > 0 && strcmp(routes[i].method, "DELETE") == 0 &&
			    calls[c - 1].want == 200) {
				free(id);
				id = app_new(MEMBER, "Cap");
			}
			json_decref(call(calls[c].who, routes[i].method,
					 apps_path(w.ws, id, routes[i].tail), routes[i].body,
					 calls[c].want));
		}
		json_decref(call(MEMBER2, routes[i].method, apps_path(w.ws, seen, routes[i].tail),
				 routes[i].body, routes[i].viewer));
		json_decref(call(MEMBER2, routes[i].method, apps_path(w.ws, hidden, routes[i].tail),
				 routes[i].body, routes[i].hidden));
		free(id);
		free(seen);
		free(hidden);
	}
}

Test(apps, rename_checks_the_name_first)
{
	char *hidden = app_new(MEMBER, "Hidden");
	char *before, *after, *long_name;
	json_t *doc, *j;

	before = tc_store_dump(&env);
	call_err(MEMBER2, "PATCH", apps_path(w.ws, hidden, NULL), "{\"name\":\"   \"}", 400,
		 "invalid_name");
	call_err(MEMBER2, "PATCH", apps_path(w.ws, "nope", NULL), "{\"name\":\"\"}", 400,
		 "invalid_name");
	call_err(MEMBER, "PATCH", apps_path(w.ws, hidden, NULL), "{}", 400, "invalid_name");
	long_name = body_with("{\"name\":\"", 'n', NAME_MAX_CHARS + 1, "\"}");
	call_err(MEMBER, "PATCH", apps_path(w.ws, hidden, NULL), long_name, 400, "invalid_name");
	free(long_name);
	call_err(MEMBER, "PATCH", apps_path(w.ws, hidden, NULL), "{\"name\":\"A\",\"x\":1}", 400,
		 "invalid_body");
	call_err(MEMBER2, "PATCH", apps_path(w.ws, hidden, NULL), "{\"name\":\"Fine\"}", 404,
		 "app_not_found");
	after = tc_store_dump(&env);
	cr_assert_str_eq(before, after);
	free(before);
	free(after);

	/* One character is enough for a rename (API-39), and it is trimmed. */
	j = call(MEMBER, "PATCH", apps_path(w.ws, hidden, NULL), "{\"name\":\" Q \"}", 200);
	cr_assert(json_is_true(json_object_get(j, "ok")));
	cr_assert_str_eq(jsonx_str(j, "name"), "Q");
	json_decref(j);
	doc = app_doc(hidden);
	cr_assert_str_eq(jsonx_str(doc, "name"), "Q");
	json_decref(doc);
	free(hidden);
}

Test(apps, settings)
{
	char *id = app_new(MEMBER, "Tuned");
	json_t *doc;

	json_decref(call(MEMBER, "PATCH", apps_path(w.ws, id, "/settings"),
			 "{\"runtimeId\":\"opencode\",\"runtimeModel\":\"anthropic/claude-x\","
			 "\"runtimeParams\":{\"variant\":\"high\"}}",
			 200));
	doc = app_doc(id);
	cr_assert_str_eq(jsonx_str(doc, "runtimeId"), "opencode");
	cr_assert_str_eq(jsonx_str(doc, "runtimeModel"), "anthropic/claude-x");
	cr_assert_str_eq(jsonx_str(json_object_get(doc, "runtimeParams"), "variant"), "high");
	json_decref(doc);

	call_err(MEMBER, "PATCH", apps_path(w.ws, id, "/settings"), "{}", 400,
		 "invalid_runtime_settings");
	call_err(MEMBER, "PATCH", apps_path(w.ws, id, "/settings"), "{\"runtimeId\":\"vim\"}", 400,
		 "invalid_runtime_settings");
	call_err(MEMBER, "PATCH", apps_path(w.ws, id, "/settings"),
		 "{\"runtimeId\":\"opencode\",\"runtimeParams\":[]}", 400,
		 "invalid_runtime_settings");
	call_err(MEMBER, "PATCH", apps_path(w.ws, id, "/settings"),
		 "{\"runtimeId\":\"opencode\",\"colour\":\"red\"}", 400, "invalid_body");
	call_err(MEMBER, "PATCH", apps_path(w.ws, id, "/settings"), "[1]", 400, NULL);
	doc = app_doc(id);
	cr_assert_str_eq(jsonx_str(doc, "runtimeId"), "opencode");
	json_decref(doc);
	free(id);
}

static bool has_id(const json_t *arr, const char *id)
{
	size_t i;
	json_t *v;

	json_array_foreach (arr, i, v) {
		if (strcmp(json_string_value(v), id) == 0)
			return true;
	}
	return false;
}

Test(apps, collaborators)
{
	char *id = app_new(MEMBER, "Team effort");
	char body[512];
	json_t *j, *ev, *meta, *m;
	size_t i;

	/* GET lists every member of the workspace. */
	j = call(MEMBER, "GET", apps_path(w.ws, id, "/collaborators"), NULL, 200);
	cr_assert_eq(json_array_size(json_object_get(j, "members")), 4);
	json_array_foreach (json_object_get(j, "members"), i, m) {
		cr_assert(id_valid(jsonx_str(m, "userId")));
		cr_assert_not_null(jsonx_str(m, "displayName"));
		cr_assert_not_null(jsonx_str(m, "email"));
		cr_assert_not_null(jsonx_str(m, "role"));
		if (strcmp(jsonx_str(m, "userId"), w.uid[ADMIN]) == 0)
			cr_assert_str_eq(jsonx_str(m, "role"), "admin");
	}
	json_decref(j);

	/* Non-members, malformed ids, duplicates and the creator are dropped; upper case is
	 * normalised. */
	snprintf(body, sizeof(body),
		 "{\"collaboratorUserIds\":[\"%s\",\"%s\",\"%s\",\"%s\",\"nope\",\"%s\"]}",
		 w.uid[MEMBER2], w.uid[MEMBER2], w.uid[STRANGER], w.uid[MEMBER], w.uid[NO_WS]);
	j = call(MEMBER, "PATCH", apps_path(w.ws, id, "/collaborators"), body, 200);
	cr_assert_eq(json_array_size(json_object_get(j, "collaboratorUserIds")), 1, "%s",
		     json_dumps(j, 0));
	cr_assert(has_id(json_object_get(j, "collaboratorUserIds"), w.uid[MEMBER2]));
	json_decref(j);
	cr_assert_eq(events("app.collaborator_added"), 1);
	ev = event_last("app.collaborator_added");
	meta = json_object_get(ev, "metadata");
	cr_assert_eq(json_array_size(json_object_get(meta, "addedUserIds")), 1);
	cr_assert_eq(json_array_size(json_object_get(meta, "removedUserIds")), 0);
	cr_assert_eq(json_integer_value(json_object_get(meta, "collaboratorCount")), 1);
	json_decref(ev);

	/* Replace MEMBER2 by ADMIN: a change; then remove all: a removal; repeat: nothing. */
	snprintf(body, sizeof(body), "{\"collaboratorUserIds\":[\"%s\"]}", w.uid[ADMIN]);
	json_decref(call(MEMBER, "PATCH", apps_path(w.ws, id, "/collaborators"), body, 200));
	cr_assert_eq(events("app.collaborators_changed"), 1);
	ev = event_last("app.collaborators_changed");
	meta = json_object_get(ev, "metadata");
	cr_assert(has_id(json_object_get(meta, "addedUserIds"), w.uid[ADMIN]));
	cr_assert(has_id(json_object_get(meta, "removedUserIds"), w.uid[MEMBER2]));
	json_decref(ev);
	json_decref(call(MEMBER, "PATCH", apps_path(w.ws, id, "/collaborators"),
			 "{\"collaboratorUserIds\":[]}", 200));
	cr_assert_eq(events("app.collaborator_removed"), 1);
	json_decref(call(MEMBER, "PATCH", apps_path(w.ws, id, "/collaborators"),
			 "{\"collaboratorUserIds\":[]}", 200));
	cr_assert_eq(events("app.collaborator_removed"), 1);
	cr_assert_eq(events("app.collaborator_added") + events("app.collaborators_changed"), 2);

	/* Shape errors. */
	call_err(MEMBER, "PATCH", apps_path(w.ws, id, "/collaborators"), "{}", 400, "invalid_body");
	call_err(MEMBER, "PATCH", apps_path(w.ws, id, "/collaborators"),
		 "{\"collaboratorUserIds\":\"x\"}", 400, "invalid_body");
	call_err(MEMBER, "PATCH", apps_path(w.ws, id, "/collaborators"),
		 "{\"collaboratorUserIds\":[1]}", 400, "invalid_body");
	{
		char *many = malloc(64 * (APP_MAX_COLLABORATORS + 2));
		size_t n = (size_t)sprintf(many, "{\"collaboratorUserIds\":[");

		for (int k = 0; k <= APP_MAX_COLLABORATORS; k++)
			n += (size_t)sprintf(many + n, "%s\"%s\"", k ? "," : "", w.uid[ADMIN]);
		strcpy(many + n, "]}");
		call_err(MEMBER, "PATCH", apps_path(w.ws, id, "/collaborators"), many, 400,
			 "invalid_body");
		free(many);
	}
	free(id);
}

/* Documents of the kinds a deletion cascades to, for app `id`. */
static void insert_children(const char *id)
{
	char draft[64], now[TIME_ISO_LEN + 1];

	time_now_iso8601(now);
	snprintf(draft, sizeof(draft), "%s__draft", id);
	insert("app_source_snapshots",
	       json_pack("{s:s, s:s, s:s, s:{}, s:s}", "workspaceId", w.ws, "appId", id, "kind",
			 "draft", "files", "updatedAt", now));
	insert("app_source_snapshots",
	       json_pack("{s:s, s:s, s:s, s:{}, s:s}", "workspaceId", w.ws, "appId", id, "kind",
			 "published", "files", "updatedAt", now));
	insert("agent_runs", json_pack("{s:s, s:s, s:s, s:s}", "workspaceId", w.ws, "appId", id,
				       "status", "completed", "createdAt", now));
	insert("app_agent_runs", json_pack("{s:s, s:s, s:s, s:s}", "workspaceId", w.ws, "appId", id,
					   "status", "completed", "createdAt", now));
	insert("app_data", json_pack("{s:s, s:s, s:s, s:{}, s:s}", "workspaceId", w.ws, "appId", id,
				     "collection", "tasks", "data", "updatedAt", now));
	insert("app_data", json_pack("{s:s, s:s, s:s, s:{}, s:s}", "workspaceId", w.ws, "appId",
				     draft, "collection", "tasks", "data", "updatedAt", now));
	insert("integrations",
	       json_pack("{s:s, s:s, s:s, s:s, s:s}", "workspaceId", w.ws, "appId", id, "domain",
			 "api.example.com", "keySlug", "default", "updatedAt", now));
	insert("builder_attachments",
	       json_pack("{s:{s:s, s:s, s:s}, s:s}", "metadata", "workspaceId", w.ws, "appId", id,
			 "attachmentId", "att1", "uploadDate", now));
}

static size_t children(const char *ws, const char *id)
{
	static const char *const colls[] = {"app_source_snapshots", "agent_runs", "app_agent_runs",
					    "integrations"};
	char draft[64];
	size_t n = 0;

	snprintf(draft, sizeof(draft), "%s__draft", id);
	for (size_t i = 0; i < sizeof(colls) / sizeof(colls[0]); i++)
		n += count(colls[i], json_pack("{s:s, s:s}", "workspaceId", ws, "appId", id));
	n += count("app_data",
		   json_pack("{s:s, s:{s:[s, s]}}", "workspaceId", ws, "appId", "$in", id, draft));
	n += count("builder_attachments",
		   json_pack("{s:s, s:s}", "metadata.workspaceId", ws, "metadata.appId", id));
	return n;
}

Test(apps, delete_cascades)
{
	char *doomed = app_new(MEMBER, "Doomed"), *kept = app_new(MEMBER, "Kept");
	json_t *j, *ev, *meta, *doc;

	insert_children(doomed);
	insert_children(kept);
	cr_assert_eq(children(w.ws, doomed), 8);

	j = call(MEMBER, "DELETE", apps_path(w.ws, doomed, NULL), NULL, 200);
	cr_assert(json_is_true(json_object_get(j, "ok")));
	json_decref(j);
	doc = app_doc(doomed);
	cr_assert_null(doc);
	cr_assert_eq(children(w.ws, doomed), 0);
	cr_assert_eq(children(w.ws, kept), 8, "another app's documents were touched");
	doc = app_doc(kept);
	cr_assert_not_null(doc);
	json_decref(doc);

	cr_assert_eq(events("app.deleted"), 1);
	ev = event_last("app.deleted");
	meta = json_object_get(ev, "metadata");
	cr_assert_eq(json_integer_value(json_object_get(meta, "snapshots")), 2);
	cr_assert_eq(json_integer_value(json_object_get(meta, "builderRuns")), 1);
	cr_assert_eq(json_integer_value(json_object_get(meta, "agentRuns")), 1);
	cr_assert_eq(json_integer_value(json_object_get(meta, "dataDocuments")), 2);
	cr_assert_eq(json_integer_value(json_object_get(meta, "grants")), 1);
	cr_assert_eq(json_integer_value(json_object_get(meta, "attachments")), 1);
	cr_assert_str_eq(jsonx_str(json_object_get(ev, "target"), "id"), doomed);
	cr_assert_str_eq(jsonx_str(ev, "severity"), "warning");
	json_decref(ev);

	call_err(MEMBER, "DELETE", apps_path(w.ws, doomed, NULL), NULL, 404, "app_not_found");
	call_err(MEMBER, "GET", apps_path(w.ws, doomed, NULL), NULL, 404, "app_not_found");
	free(doomed);
	free(kept);
}

/* An app of one workspace, asked for under another where the caller is a member. */
Test(apps, cross_workspace)
{
	static const struct {
		const char *method, *tail, *body;
	} routes[] = {
		{"GET", NULL, NULL},
		{"PATCH", NULL, "{\"name\":\"Stolen\"}"},
		{"DELETE", NULL, NULL},
		{"PATCH", "/settings", "{\"runtimeId\":\"opencode\"}"},
		{"GET", "/collaborators", NULL},
		{"PATCH", "/collaborators", "{\"collaboratorUserIds\":[]}"},
	};
	char *id = app_new(OWNER, "Home");
	char *before, *after;

	w.ws_owner2 = tc_workspace_new(&env, w.cookie[OWNER], "Second Home");
	app_publish(id);
	before = tc_store_dump(&env);
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		call_err(OWNER, routes[i].method, apps_path(w.ws_owner2, id, routes[i].tail),
			 routes[i].body, 404, "app_not_found");
	cr_assert_not(list_has(OWNER, w.ws_owner2, id));
	after = tc_store_dump(&env);
	cr_assert_str_eq(before, after);
	free(before);
	free(after);
	free(id);
}

Test(apps, status)
{
	char *mine = app_new(MEMBER, "Running"), *shown = app_new(OWNER, "Shown"),
	     *idle = app_new(MEMBER, "Idle");
	json_t *j, *st;

	app_publish(shown);
	insert("agent_runs",
	       json_pack("{s:s, s:s, s:s, s:s}", "workspaceId", w.ws, "appId", mine, "status",
			 "completed", "createdAt", "2026-01-01T00:00:00.000Z"));
	insert("agent_runs",
	       json_pack("{s:s, s:s, s:s, s:s}", "workspaceId", w.ws, "appId", mine, "status",
			 "streaming", "createdAt", "2026-01-02T00:00:00.000Z"));
	insert("agent_runs",
	       json_pack("{s:s, s:s, s:s, s:s}", "workspaceId", w.ws, "appId", shown, "status",
			 "failed", "createdAt", "2026-01-02T00:00:00.000Z"));
	/* A run of the same app id recorded in another workspace does not count. */
	insert("agent_runs",
	       json_pack("{s:s, s:s, s:s, s:s}", "workspaceId", w.ws_other, "appId", idle, "status",
			 "failed", "createdAt", "2026-01-03T00:00:00.000Z"));

	j = call(MEMBER, "GET", apps_path(w.ws, NULL, "/status"), NULL, 200);
	st = json_object_get(j, "statuses");
	cr_assert_str_eq(jsonx_str(st, mine), "streaming");
	cr_assert_null(json_object_get(st, shown), "a published-only viewer gets no run status");
	cr_assert_null(json_object_get(st, idle));
	cr_assert(json_is_object(json_object_get(j, "toolRecoveryStatuses")));
	json_decref(j);

	/* The owner (an admin) sees the published app's status, and the drafts of others not
	 * shown in their sidebar are left out (TEN-6c). */
	j = call(OWNER, "GET", apps_path(w.ws, NULL, "/status"), NULL, 200);
	st = json_object_get(j, "statuses");
	cr_assert_str_eq(jsonx_str(st, shown), "failed");
	cr_assert_null(json_object_get(st, mine));
	json_decref(j);
	free(mine);
	free(shown);
	free(idle);
}

/* Every mutating route writes exactly its event, and no event holds the prompt. */
Test(apps, audit_events)
{
	char *id, body[128];
	json_t *filter, *docs = NULL, *doc, *ev;
	struct err e = {0};
	size_t i;

	json_decref(call(MEMBER, "POST", apps_path(w.ws, NULL, NULL),
			 "{\"appName\":\"Audited\",\"prompt\":\"" PROMPT_MARK "\"}", 201));
	cr_assert_eq(events("app.created"), 1);
	ev = event_last("app.created");
	cr_assert_str_eq(jsonx_str(ev, "category"), "apps");
	cr_assert_str_eq(jsonx_str(ev, "severity"), "notice");
	cr_assert_str_eq(jsonx_str(json_object_get(ev, "target"), "type"), "app");
	cr_assert_str_eq(jsonx_str(json_object_get(ev, "actor"), "userId"), w.uid[MEMBER]);
	id = strdup(jsonx_str(json_object_get(ev, "target"), "id"));
	json_decref(ev);

	json_decref(
		call(MEMBER, "PATCH", apps_path(w.ws, id, NULL), "{\"name\":\"Audited 2\"}", 200));
	cr_assert_eq(events("app.renamed"), 1);
	ev = event_last("app.renamed");
	cr_assert(json_is_true(json_object_get(json_object_get(ev, "metadata"), "nameChanged")));
	cr_assert_str_eq(jsonx_str(ev, "severity"), "info");
	json_decref(ev);

	json_decref(call(MEMBER, "PATCH", apps_path(w.ws, id, "/settings"),
			 "{\"runtimeId\":\"codex-cli\"}", 200));
	snprintf(body, sizeof(body), "{\"collaboratorUserIds\":[\"%s\"]}", w.uid[MEMBER2]);
	json_decref(call(MEMBER, "PATCH", apps_path(w.ws, id, "/collaborators"), body, 200));
	cr_assert_eq(events("app.collaborator_added"), 1);
	json_decref(call(MEMBER, "DELETE", apps_path(w.ws, id, NULL), NULL, 200));
	cr_assert_eq(events("app.deleted"), 1);
	/* Reads and refusals write nothing. */
	json_decref(call(MEMBER, "GET", apps_path(w.ws, NULL, NULL), NULL, 200));
	json_decref(call(MEMBER, "GET", apps_path(w.ws, NULL, "/status"), NULL, 200));

	filter = json_pack("{s:s}", "workspaceId", w.ws);
	cr_assert_eq(store_find(env.store, "audit_events", filter, NULL, &docs, NULL, &e), 0, "%s",
		     e.msg);
	json_array_foreach (docs, i, doc) {
		char *text = json_dumps(doc, JSON_COMPACT);
		const char *name = jsonx_str(doc, "eventName");

		cr_assert_null(strstr(text, "zebra-quokka"), "prompt in %s", text);
		if (strncmp(name, "app.", 4) == 0)
			cr_assert(strcmp(name, "app.created") == 0 ||
					  strcmp(name, "app.renamed") == 0 ||
					  strcmp(name, "app.collaborator_added") == 0 ||
					  strcmp(name, "app.deleted") == 0,
				  "unexpected %s", name);
		free(text);
	}
	json_decref(docs);
	json_decref(filter);
	free(id);
}

/* Every route against every kind of caller, on a published app the owner made. */
Test(apps, role_matrix)
{
	enum {
		R_LIST,
		R_CREATE,
		R_STATUS,
		R_GET,
		R_RENAME,
		R_SETTINGS,
		R_COLLAB_GET,
		R_COLLAB_SET,
		R_DELETE,
		NROUTES
	};
	static const struct {
		const char *method, *tail, *body;
		bool per_app;
	} routes[NROUTES] = {
		[R_LIST] = {"GET", NULL, NULL, false},
		[R_CREATE] = {"POST", NULL, "{\"appName\":\"Matrix\"}", false},
		[R_STATUS] = {"GET", "/status", NULL, false},
		[R_GET] = {"GET", "", NULL, true},
		[R_RENAME] = {"PATCH", "", "{\"name\":\"Matrix renamed\"}", true},
		[R_SETTINGS] = {"PATCH", "/settings", "{\"runtimeId\":\"codex-cli\"}", true},
		[R_COLLAB_GET] = {"GET", "/collaborators", NULL, true},
		[R_COLLAB_SET] = {"PATCH", "/collaborators", "{\"collaboratorUserIds\":[]}", true},
		[R_DELETE] = {"DELETE", "", NULL, true},
	};
	static const enum who callers[] = {OWNER, ADMIN, MEMBER, ANON, NO_WS, STRANGER};
	/* owner, admin, member, anonymous, no workspace, member of another workspace */
	static const long want[NROUTES][6] = {
		[R_LIST] = {200, 200, 200, 401, 403, 404},
		[R_CREATE] = {201, 201, 201, 401, 403, 404},
		[R_STATUS] = {200, 200, 200, 401, 403, 404},
		[R_GET] = {200, 200, 200, 401, 403, 404},
		[R_RENAME] = {200, 200, 403, 401, 403, 404},
		[R_SETTINGS] = {200, 200, 403, 401, 403, 404},
		[R_COLLAB_GET] = {200, 200, 403, 401, 403, 404},
		[R_COLLAB_SET] = {200, 200, 403, 401, 403, 404},
		[R_DELETE] = {200, 200, 403, 401, 403, 404},
	};

	for (int r = 0; r < NROUTES; r++) {
		for (size_t c = 0; c < sizeof(callers) / sizeof(callers[0]); c++) {
			char path[512];
			char *id = app_new(OWNER, "Matrix");
			struct tc_resp resp = {0};

			app_publish(id);
			if (routes[r].per_app)
				snprintf(path, sizeof(path), "%s",
					 apps_path(w.ws, id, routes[r].tail));
			else
				snprintf(path, sizeof(path), "%s",
					 apps_path(w.ws, NULL, routes[r].tail));
			cr_assert_eq(tc_json(&env, w.cookie[callers[c]], routes[r].method, path,
					     routes[r].body, &resp),
				     0);
			cr_assert_eq(resp.status, want[r][c], "%s %s as %s: %ld, want %ld: %s",
				     routes[r].method, path, who_names[callers[c]], resp.status,
				     want[r][c], resp.body);
			cr_assert_not_null(resp.json, "%s %s as %s: not JSON", routes[r].method,
					   path, who_names[callers[c]]);
			if (want[r][c] >= 400)
				cr_assert_not_null(jsonx_str(resp.json, "error"));
			tc_resp_free(&resp);
			free(id);
		}
	}
}
