/* Unit tests of lib/guard.c: the TEN-5 grid, roles, slugs, and guard_check's decisions.
 *
 * The grid is written out here a second time, cell by cell, from the spec's table, so a
 * change to the guard's table shows up as a failing cell. guard_check runs against a real
 * SQLite store in a temp dir; the framework (http_*) and the session lookup are replaced by
 * stubs defined below, which the linker prefers to the archive's members: a request is a
 * struct with a cookie, a ":ws" and an Authorization header, and a cookie "c:<id>" names
 * user <id> ("down" plays a Redis outage). Each case states the status and error code the
 * guard must answer, or the context it must pass on. */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <criterion/criterion.h>

#include "lib/guard.h"
#include "lib/session.h"
#include "lib/store.h"
#include "tests/harness.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The framework and session stubs. */

struct http_req {
	const char *cookie, *ws, *auth;
	int status; /* 0 while nothing was replied */
	char code[64];
	void *ctx;
	void (*ctx_free)(void *);
};

const char *http_cookie(const struct http_req *r, const char *name)
{
	return strcmp(name, SESSION_COOKIE) == 0 ? r->cookie : NULL;
}

const char *http_param(const struct http_req *r, const char *name)
{
	return strcmp(name, "ws") == 0 ? r->ws : NULL;
}

const char *http_header(const struct http_req *r, const char *name)
{
	return strcasecmp(name, "Authorization") == 0 ? r->auth : NULL;
}

int http_reply_error(struct http_req *r, int status, const char *code, const char *fmt, ...)
{
	(void)fmt;
	r->status = status;
	snprintf(r->code, sizeof(r->code), "%s", code);
	return 0;
}

int http_reply_err(struct http_req *r, const struct err *e)
{
	r->status = e->code == ERR_UNAVAILABLE ? 503 : 500;
	snprintf(r->code, sizeof(r->code), "%s", err_code_name(e->code));
	return 0;
}

void http_set_ctx(struct http_req *r, void *ctx, void (*free_fn)(void *))
{
	r->ctx = ctx;
	r->ctx_free = free_fn;
}

int session_resolve(struct rds *r, const char *cookie, char *user_id, size_t user_idsz,
		    char hash_out[65], struct err *e)
{
	(void)r;
	hash_out[0] = '\0';
	if (strcmp(cookie, "down") == 0)
		return err_set(e, ERR_UNAVAILABLE, "redis down");
	if (strncmp(cookie, "c:", 2) != 0)
		return err_set(e, ERR_NOT_FOUND, "no session");
	snprintf(user_id, user_idsz, "%s", cookie + 2);
	snprintf(hash_out, 65, "%064d", 7);
	return 0;
}

static struct rds *fake_redis(struct err *e)
{
	(void)e;
	return (struct rds *)&fake_redis;
}

static struct rds *no_redis(struct err *e)
{
	err_set(e, ERR_UNAVAILABLE, "redis: connect refused");
	return NULL;
}

/* The TEN-5 grid: owner, admin, member. */
static const struct {
	enum guard_perm perm;
	const char *name;
	bool owner, admin, member;
} grid[] = {
	{PERM_WORKSPACE_VIEW, "workspace:view", 1, 1, 1},
	{PERM_WORKSPACE_MANAGE, "workspace:manage", 1, 1, 0},
	{PERM_MEMBERS_VIEW, "members:view", 1, 1, 1},
	{PERM_MEMBERS_INVITE, "members:invite", 1, 1, 0},
	{PERM_MEMBERS_MANAGE, "members:manage", 1, 1, 0},
	{PERM_MEMBERS_MANAGE_OWNER, "members:manage-owner", 1, 0, 0},
	{PERM_INTEGRATIONS_VIEW, "integrations:view", 1, 1, 1},
	{PERM_INTEGRATIONS_MANAGE, "integrations:manage", 1, 1, 0},
	{PERM_AUDIT_READ, "audit:read", 1, 1, 0},
	{PERM_APPS_CREATE, "apps:create", 1, 1, 1},
	{PERM_APPS_UPDATE, "apps:update", 1, 1, 1},
	{PERM_APPS_DELETE, "apps:delete", 1, 1, 1},
	{PERM_AGENTS_RUN, "agents:run", 1, 1, 1},
};

static bool grid_cell(size_t i, enum guard_role role)
{
	return role == ROLE_OWNER   ? grid[i].owner
	       : role == ROLE_ADMIN ? grid[i].admin
				    : grid[i].member;
}

Test(perm, grid_every_cell)
{
	static const enum guard_role roles[] = {ROLE_OWNER, ROLE_ADMIN, ROLE_MEMBER};

	for (size_t i = 0; i < ARRAY_LEN(grid); i++)
		for (size_t j = 0; j < ARRAY_LEN(roles); j++)
			cr_expect_eq(guard_role_has(roles[j], grid[i].perm), grid_cell(i, roles[j]),
				     "%s for %s", grid[i].name, guard_role_name(roles[j]));
}

Test(perm, none_role_has_nothing_and_none_perm_needs_a_role)
{
	for (size_t i = 0; i < ARRAY_LEN(grid); i++)
		cr_expect_not(guard_role_has(ROLE_NONE, grid[i].perm), "%s", grid[i].name);
	cr_expect_not(guard_role_has(ROLE_NONE, PERM_NONE));
	cr_expect(guard_role_has(ROLE_MEMBER, PERM_NONE));
	cr_expect_not(guard_role_has(ROLE_OWNER, (enum guard_perm)999));
}

Test(perm, permission_names_per_role)
{
	static const enum guard_role roles[] = {ROLE_OWNER, ROLE_ADMIN, ROLE_MEMBER, ROLE_NONE};

	for (size_t j = 0; j < ARRAY_LEN(roles); j++) {
		json_t *names = guard_role_permissions(roles[j]);
		size_t k = 0;

		cr_assert(json_is_array(names));
		for (size_t i = 0; i < ARRAY_LEN(grid); i++) {
			if (roles[j] == ROLE_NONE || !grid_cell(i, roles[j]))
				continue;
			cr_assert_lt(k, json_array_size(names), "%s", guard_role_name(roles[j]));
			cr_expect_str_eq(json_string_value(json_array_get(names, k)), grid[i].name);
			k++;
		}
		cr_expect_eq(json_array_size(names), k, "%s", guard_role_name(roles[j]));
		json_decref(names);
	}
}

Test(role, parse_and_name)
{
	static const struct {
		const char *text;
		int rc;
		enum guard_role role;
	} cases[] = {
		{"owner", 0, ROLE_OWNER},     {"admin", 0, ROLE_ADMIN},  {"member", 0, ROLE_MEMBER},
		{"Owner", -1, ROLE_NONE},     {"viewer", -1, ROLE_NONE}, {"", -1, ROLE_NONE},
		{"owner ", -1, ROLE_NONE},    {" admin", -1, ROLE_NONE}, {"none", -1, ROLE_NONE},
		{"superuser", -1, ROLE_NONE}, {NULL, -1, ROLE_NONE},
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		enum guard_role got = ROLE_OWNER;

		cr_expect_eq(guard_role_parse(cases[i].text, &got), cases[i].rc, "'%s'",
			     cases[i].text ? cases[i].text : "(null)");
		cr_expect_eq(got, cases[i].role, "'%s'", cases[i].text ? cases[i].text : "(null)");
		if (cases[i].rc == 0)
			cr_expect_str_eq(guard_role_name(got), cases[i].text);
	}
	cr_expect_str_eq(guard_role_name(ROLE_NONE), "none");
}

Test(slug, table)
{
	char s80[81], s81[82], dash80[81];
	const struct {
		const char *id;
		bool valid;
	} cases[] = {
		{"a", true},       {"7", true},
		{"acme", true},    {"acme-co", true},
		{"a-b-c-1", true}, {"a--b", true},
		{s80, true},       {dash80, true},
		{s81, false},      {"", false},
		{"-", false},      {"-acme", false},
		{"acme-", false},  {"-acme-", false},
		{"Acme", false},   {"ACME", false},
		{"ac_me", false},  {"ac me", false},
		{" acme", false},  {"acme.co", false},
		{"acme/x", false}, {"caf\xc3\xa9", false},
		{"a\n", false},    {NULL, false},
	};

	memset(s80, 'a', 80);
	s80[80] = '\0';
	memset(s81, 'b', 81);
	s81[81] = '\0';
	memset(dash80, '-', 80);
	dash80[0] = 'x';
	dash80[79] = '9';
	dash80[80] = '\0';
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		cr_expect_eq(guard_workspace_id_valid(cases[i].id), cases[i].valid, "case %zu '%s'",
			     i, cases[i].id ? cases[i].id : "(null)");
}

/* guard_check against a real store. */

static struct store *store;

static void put(const char *coll, const char *json)
{
	json_error_t jerr;
	json_t *doc = json_loads(json, 0, &jerr);
	struct err e = {0};

	cr_assert_not_null(doc, "%s: %s", json, jerr.text);
	cr_assert_eq(store_insert(store, coll, doc, &e), 0, "%s: %s", json, e.msg);
	json_decref(doc);
}

static void member(const char *id, const char *ws, const char *user, const char *role,
		   const char *created)
{
	char buf[512];

	snprintf(buf, sizeof(buf),
		 "{\"_id\":\"%s\",\"workspaceId\":\"%s\",\"userId\":\"%s\",\"role\":\"%s\","
		 "\"createdAt\":\"%s\"}",
		 id, ws, user, role, created);
	put("workspace_memberships", buf);
}

static void user(const char *id, const char *name)
{
	char buf[512];

	snprintf(buf, sizeof(buf),
		 "{\"_id\":\"%s\",\"email\":\"%s@x.test\",\"emailNormalized\":\"%s@x.test\","
		 "\"displayName\":\"%s\",\"createdAt\":\"2026-01-01T00:00:00.000Z\"}",
		 id, id, id, name);
	put("users", buf);
}

static void setup(void)
{
	char uri[HARNESS_PATH_MAX + 32];
	struct err e = {0};

	snprintf(uri, sizeof(uri), "sqlite:%s/guard.db", harness_tmpdir());
	cr_assert_eq(store_open(uri, &store_schema_second, &store, &e), 0, "%s", e.msg);
	user("owner1", "Olive");
	user("admin1", "Adam");
	user("member1", "Mia");
	user("nows", "Nora");
	user("noname", "");
	user("weird", "Wes");
	put("workspaces", "{\"_id\":\"acme\",\"slug\":\"acme\",\"name\":\"Acme\"}");
	put("workspaces", "{\"_id\":\"other\",\"slug\":\"other\",\"name\":\"Other\"}");
	/* owner1's newer membership is inserted first: the guard must sort by createdAt. */
	member("m1", "other", "owner1", "member", "2026-02-01T00:00:00.000Z");
	member("m2", "acme", "owner1", "owner", "2026-01-01T00:00:00.000Z");
	member("m3", "acme", "admin1", "admin", "2026-01-02T00:00:00.000Z");
	member("m4", "acme", "member1", "member", "2026-01-03T00:00:00.000Z");
	member("m5", "ghost", "member1", "owner", "2026-01-04T00:00:00.000Z");
	member("m6", "acme", "weird", "superuser", "2026-01-05T00:00:00.000Z");
	put("workspace_team_memberships", "{\"_id\":\"t1\",\"workspaceId\":\"acme\",\"teamId\":"
					  "\"general\",\"userId\":\"member1\"}");
	put("workspace_team_memberships", "{\"_id\":\"t2\",\"workspaceId\":\"acme\",\"teamId\":"
					  "\"design\",\"userId\":\"member1\"}");
	put("workspace_team_memberships",
	    "{\"_id\":\"t3\",\"workspaceId\":\"other\",\"teamId\":\"ops\",\"userId\":\"member1\"}");
}

static void teardown(void)
{
	store_close(store);
	store = NULL;
}

TestSuite(check, .init = setup, .fini = teardown);

struct check_case {
	int access, perm;
	const char *denied, *cookie, *ws, *auth;
	int status;       /* 0: passes */
	const char *code; /* error code, or the passing context's role name */
	int state;        /* the passing context's onboarding state */
};

static void run_case(const struct guard_deps *deps, size_t i, const struct check_case *c)
{
	const struct http_route route = {"GET", "/x", NULL, c->access, c->perm, c->denied, 0};
	struct http_req req = {.cookie = c->cookie, .ws = c->ws, .auth = c->auth};
	struct guard_ctx *ctx;
	int rc = guard_check(deps, &req, &route);

	cr_expect_eq(req.status, c->status, "case %zu: status %d", i, req.status);
	if (c->status != 0) {
		cr_expect_eq(rc, -1, "case %zu", i);
		cr_expect_str_eq(req.code, c->code, "case %zu", i);
		cr_expect_null(req.ctx, "case %zu", i);
		return;
	}
	cr_assert_eq(rc, 0, "case %zu", i);
	cr_assert_not_null(req.ctx, "case %zu", i);
	ctx = req.ctx;
	cr_expect_eq((int)ctx->state, c->state, "case %zu: state %d", i, ctx->state);
	cr_expect_str_eq(guard_role_name(ctx->role), c->code, "case %zu", i);
	req.ctx_free(ctx);
}

#define OWNER "c:owner1"
#define ADMIN "c:admin1"
#define MEMBER "c:member1"

Test(check, decision_table)
{
	static const struct check_case cases[] = {
		/* Public and identity routes pass in every state. */
		{ACCESS_PUBLIC, 0, NULL, NULL, NULL, NULL, 0, "none", ONBOARDING_MISSING_IDENTITY},
		{ACCESS_PUBLIC, 0, NULL, OWNER, NULL, NULL, 0, "none", ONBOARDING_READY},
		{ACCESS_PUBLIC, 0, NULL, "down", NULL, NULL, 0, "none",
		 ONBOARDING_MISSING_IDENTITY},
		{ACCESS_IDENTITY, 0, NULL, NULL, NULL, NULL, 0, "none",
		 ONBOARDING_MISSING_IDENTITY},
		{ACCESS_IDENTITY, 0, NULL, "forged", NULL, NULL, 0, "none",
		 ONBOARDING_MISSING_IDENTITY},
		{ACCESS_IDENTITY, 0, NULL, "c:nobody", NULL, NULL, 0, "none",
		 ONBOARDING_NEEDS_PROFILE},
		{ACCESS_IDENTITY, 0, NULL, "c:nows", NULL, NULL, 0, "none",
		 ONBOARDING_NEEDS_WORKSPACE},
		{ACCESS_IDENTITY, 0, NULL, "down", NULL, NULL, 503, "unavailable", 0},
		/* Profile routes. */
		{ACCESS_PROFILE, 0, NULL, NULL, NULL, NULL, 401, "identity_required", 0},
		{ACCESS_PROFILE, 0, NULL, "", NULL, NULL, 401, "identity_required", 0},
		{ACCESS_PROFILE, 0, NULL, "forged", NULL, NULL, 401, "identity_required", 0},
		{ACCESS_PROFILE, 0, NULL, "c:nobody", NULL, NULL, 401, "profile_required", 0},
		{ACCESS_PROFILE, 0, NULL, "c:noname", NULL, NULL, 401, "profile_required", 0},
		{ACCESS_PROFILE, 0, NULL, "c:nows", NULL, NULL, 0, "none",
		 ONBOARDING_NEEDS_WORKSPACE},
		{ACCESS_PROFILE, 0, NULL, OWNER, NULL, NULL, 0, "none", ONBOARDING_READY},
		{ACCESS_PROFILE, 0, NULL, "down", NULL, NULL, 503, "unavailable", 0},
		/* Ready routes. */
		{ACCESS_READY, 0, NULL, NULL, NULL, NULL, 401, "identity_required", 0},
		{ACCESS_READY, 0, NULL, "c:noname", NULL, NULL, 401, "profile_required", 0},
		{ACCESS_READY, 0, NULL, "c:nows", NULL, NULL, 403, "workspace_required", 0},
		{ACCESS_READY, 0, NULL, MEMBER, NULL, NULL, 0, "none", ONBOARDING_READY},
		/* Workspace routes: onboarding first (C-0.4), then 404 outside the tenant. */
		{ACCESS_WORKSPACE, 0, NULL, NULL, "acme", NULL, 401, "identity_required", 0},
		{ACCESS_WORKSPACE, 0, NULL, NULL, "Bad_Slug", NULL, 401, "identity_required", 0},
		{ACCESS_WORKSPACE, 0, NULL, "c:noname", "acme", NULL, 401, "profile_required", 0},
		{ACCESS_WORKSPACE, 0, NULL, "c:nows", "nope", NULL, 403, "workspace_required", 0},
		{ACCESS_WORKSPACE, 0, NULL, "c:nows", "acme", NULL, 403, "workspace_required", 0},
		{ACCESS_WORKSPACE, 0, NULL, MEMBER, "nope", NULL, 404, "not_found", 0},
		{ACCESS_WORKSPACE, 0, NULL, MEMBER, "-bad", NULL, 404, "not_found", 0},
		{ACCESS_WORKSPACE, 0, NULL, MEMBER, "ac_me", NULL, 404, "not_found", 0},
		{ACCESS_WORKSPACE, 0, NULL, MEMBER, NULL, NULL, 404, "not_found", 0},
		{ACCESS_WORKSPACE, 0, NULL, MEMBER, "other", NULL, 404, "not_found", 0},
		{ACCESS_WORKSPACE, 0, NULL, MEMBER, "ghost", NULL, 404, "not_found", 0},
		{ACCESS_WORKSPACE, 0, NULL, "c:weird", "acme", NULL, 403, "request_denied", 0},
		{ACCESS_WORKSPACE, 0, NULL, MEMBER, "acme", NULL, 0, "member", ONBOARDING_READY},
		{ACCESS_WORKSPACE, 0, NULL, MEMBER, "ACME", NULL, 0, "member", ONBOARDING_READY},
		{ACCESS_WORKSPACE, 0, NULL, OWNER, "other", NULL, 0, "member", ONBOARDING_READY},
		{ACCESS_WORKSPACE, 0, NULL, "down", "acme", NULL, 503, "unavailable", 0},
		/* Permissions: 403 with the route's code, or "forbidden". */
		{ACCESS_WORKSPACE, PERM_AUDIT_READ, "audit_logs_forbidden", MEMBER, "acme", NULL,
		 403, "audit_logs_forbidden", 0},
		{ACCESS_WORKSPACE, PERM_AUDIT_READ, NULL, MEMBER, "acme", NULL, 403, "forbidden",
		 0},
		{ACCESS_WORKSPACE, PERM_AUDIT_READ, NULL, ADMIN, "acme", NULL, 0, "admin",
		 ONBOARDING_READY},
		{ACCESS_WORKSPACE, PERM_MEMBERS_MANAGE_OWNER, NULL, ADMIN, "acme", NULL, 403,
		 "forbidden", 0},
		{ACCESS_WORKSPACE, PERM_MEMBERS_MANAGE_OWNER, NULL, OWNER, "acme", NULL, 0, "owner",
		 ONBOARDING_READY},
		{ACCESS_WORKSPACE, PERM_MEMBERS_MANAGE_OWNER, NULL, OWNER, "other", NULL, 403,
		 "forbidden", 0},
		{ACCESS_WORKSPACE, PERM_APPS_CREATE, NULL, MEMBER, "acme", NULL, 0, "member",
		 ONBOARDING_READY},
		/* Internal: the bearer token only. */
		{ACCESS_INTERNAL, 0, NULL, NULL, NULL, "Bearer s3cret", 0, "none",
		 ONBOARDING_MISSING_IDENTITY},
		{ACCESS_INTERNAL, 0, NULL, OWNER, NULL, "bearer   s3cret  ", 0, "none",
		 ONBOARDING_MISSING_IDENTITY},
		{ACCESS_INTERNAL, 0, NULL, OWNER, NULL, NULL, 401, "unauthorized", 0},
		{ACCESS_INTERNAL, 0, NULL, NULL, NULL, "Bearer s3cre", 401, "unauthorized", 0},
		{ACCESS_INTERNAL, 0, NULL, NULL, NULL, "Bearer s3cret2", 401, "unauthorized", 0},
		{ACCESS_INTERNAL, 0, NULL, NULL, NULL, "Basic s3cret", 401, "unauthorized", 0},
		{ACCESS_INTERNAL, 0, NULL, NULL, NULL, "Bearer ", 401, "unauthorized", 0},
		{ACCESS_INTERNAL, 0, NULL, NULL, NULL, "s3cret", 401, "unauthorized", 0},
		/* A row with an access level the guard does not know is refused, not passed. */
		{42, 0, NULL, OWNER, NULL, NULL, 500, "internal", 0},
	};
	const struct guard_deps deps = {
		.store = store, .redis = fake_redis, .internal_token = "s3cret"};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		run_case(&deps, i, &cases[i]);
}

Test(check, internal_token_unset_is_a_server_error)
{
	static const char *const tokens[] = {NULL, ""};

	for (size_t i = 0; i < ARRAY_LEN(tokens); i++) {
		const struct guard_deps deps = {
			.store = store, .redis = fake_redis, .internal_token = tokens[i]};
		const struct check_case c = {.access = ACCESS_INTERNAL,
					     .auth = "Bearer ",
					     .status = 500,
					     .code = "server_misconfigured"};

		run_case(&deps, i, &c);
	}
}

Test(check, redis_unreachable)
{
	const struct guard_deps deps = {.store = store, .redis = no_redis, .internal_token = NULL};
	const struct check_case cases[] = {
		{ACCESS_READY, 0, NULL, OWNER, NULL, NULL, 503, "unavailable", 0},
		{ACCESS_IDENTITY, 0, NULL, OWNER, NULL, NULL, 503, "unavailable", 0},
		/* No cookie: Redis is not needed at all. */
		{ACCESS_READY, 0, NULL, NULL, NULL, NULL, 401, "identity_required", 0},
		{ACCESS_PUBLIC, 0, NULL, OWNER, NULL, NULL, 0, "none", ONBOARDING_MISSING_IDENTITY},
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		run_case(&deps, i, &cases[i]);
}

Test(check, context_contents)
{
	const struct guard_deps deps = {
		.store = store, .redis = fake_redis, .internal_token = NULL};
	const struct http_route route = {"GET", "/x", NULL, ACCESS_WORKSPACE, PERM_NONE, NULL, 0};
	struct http_req req = {.cookie = MEMBER, .ws = " Acme "};
	struct guard_ctx *ctx;
	json_t *m;

	cr_assert_eq(guard_check(&deps, &req, &route), 0, "%d %s", req.status, req.code);
	ctx = req.ctx;
	cr_expect_str_eq(ctx->user_id, "member1");
	cr_expect_str_eq(ctx->workspace_id, "acme");
	cr_expect_str_eq(ctx->session_hash,
			 "0000000000000000000000000000000000000000000000000000000000000007");
	cr_expect_str_eq(json_string_value(json_object_get(ctx->membership, "_id")), "m4");
	cr_assert_eq(json_array_size(ctx->team_ids), 2);
	m = ctx->team_ids;
	cr_expect(strcmp(json_string_value(json_array_get(m, 0)), "general") == 0 ||
		  strcmp(json_string_value(json_array_get(m, 1)), "general") == 0);
	cr_expect(strcmp(json_string_value(json_array_get(m, 0)), "design") == 0 ||
		  strcmp(json_string_value(json_array_get(m, 1)), "design") == 0);
	req.ctx_free(ctx);
}

Test(check, memberships_oldest_first)
{
	const struct guard_deps deps = {
		.store = store, .redis = fake_redis, .internal_token = NULL};
	const struct http_route route = {"GET", "/x", NULL, ACCESS_READY, PERM_NONE, NULL, 0};
	struct http_req req = {.cookie = OWNER};
	struct guard_ctx *ctx;

	cr_assert_eq(guard_check(&deps, &req, &route), 0);
	ctx = req.ctx;
	cr_assert_eq(json_array_size(ctx->memberships), 2);
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(ctx->memberships, 0),
							   "workspaceId")),
			 "acme");
	cr_expect_eq(ctx->membership, NULL);
	cr_expect_eq(json_array_size(ctx->team_ids), 0);
	cr_expect_str_eq(ctx->workspace_id, "");
	req.ctx_free(ctx);
}

Test(check, ctx_free_accepts_null)
{
	guard_ctx_free(NULL);
}
