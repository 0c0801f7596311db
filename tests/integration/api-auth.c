/* Integration tests of sign-in, sessions, the onboarding states, preferences and health,
 * through lighttpd and second-api (tests/api-client.h).
 *
 * Every test gets its own environment (redis-server, second-api, lighttpd, a SQLite file) and
 * drives it over HTTP only; the store is opened beside it to prove what a request wrote, or
 * that a refused request wrote nothing (tc_store_dump before and after). Inputs that must be
 * refused are tables of cases, each stating the status and error code it gets. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include "lib/codec.h"
#include "lib/crypto.h"
#include "lib/jsonx.h"
#include "tests/api-client.h"

#define TEST_TIMEOUT_S 120
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define FORM "application/x-www-form-urlencoded"
#define LOCAL_USER_EMAIL "local-user@second.localhost"

static struct tc_env env;

/* Runs in the runner process only: a missing lighttpd or redis-server skips the program. */
ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	struct tc_env probe;

	(void)set;
	memset(&probe, 0, sizeof(probe));
	if (tc_env_start(&probe) != 0) {
		fprintf(stderr, "the API environment did not start\n");
		exit(1);
	}
	tc_env_stop(&probe);
}

static void setup(void)
{
	memset(&env, 0, sizeof(env));
	cr_assert_eq(tc_env_start(&env), 0, "tc_env_start");
}

static void teardown(void)
{
	tc_env_stop(&env);
}

TestSuite(auth, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT_S);

/* Helpers */

/* A JSON call that must answer `status`; returns the parsed reply (new reference). */
static json_t *call(const char *cookie, const char *method, const char *path, const char *body,
		    long status)
{
	struct tc_resp r = {0};
	json_t *j;

	cr_assert_eq(tc_json(&env, cookie, method, path, body, &r), 0, "%s %s", method, path);
	cr_assert_eq(r.status, status, "%s %s %s: %ld %s", method, path, body ? body : "", r.status,
		     r.body);
	j = r.json != NULL ? json_incref(r.json) : NULL;
	tc_resp_free(&r);
	return j;
}

/* A call that must be refused with status and {"error": code}. */
static void refused(const char *cookie, const char *method, const char *path, const char *body,
		    long status, const char *code)
{
	json_t *j = call(cookie, method, path, body, status);

	cr_assert_not_null(j, "%s %s: no JSON body", method, path);
	cr_expect_str_eq(jsonx_str(j, "error"), code, "%s %s %s", method, path, body ? body : "");
	json_decref(j);
}

/* The Set-Cookie line for cookie `name` (attributes included) into buf, or NULL. */
static const char *set_cookie(const struct tc_resp *r, const char *name, char *buf, size_t bufsz)
{
	size_t nlen = strlen(name);

	for (const char *p = r->headers; p != NULL && *p != '\0';) {
		const char *eol = strpbrk(p, "\r\n"), *v;
		size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);

		if (len > 11 && strncasecmp(p, "Set-Cookie:", 11) == 0) {
			v = p + 11;
			while (*v == ' ')
				v++;
			if (strncmp(v, name, nlen) == 0 && v[nlen] == '=') {
				snprintf(buf, bufsz, "%.*s", (int)(len - (size_t)(v - p)), v);
				return buf;
			}
		}
		p = eol != NULL ? eol + strspn(eol, "\r\n") : NULL;
	}
	return NULL;
}

/* The value part of a Set-Cookie line, malloc'd. */
static char *cookie_value(const char *line)
{
	const char *v = strchr(line, '=') + 1;

	return strndup(v, strcspn(v, ";"));
}

static bool has_attr(const char *line, const char *attr)
{
	char want[64];

	snprintf(want, sizeof(want), "; %s", attr);
	return strcasestr(line, want) != NULL;
}

static json_t *signin(const char *body, char **cookie_out)
{
	struct tc_resp r = {0};
	char line[512];
	json_t *j;

	cr_assert_eq(tc_json(&env, NULL, "POST", "/api/onboarding/identity", body, &r), 0);
	cr_assert_eq(r.status, 200, "%s: %ld %s", body, r.status, r.body);
	cr_assert_not_null(set_cookie(&r, "second_session", line, sizeof(line)), "%s", r.headers);
	*cookie_out = cookie_value(line);
	j = json_incref(r.json);
	tc_resp_free(&r);
	return j;
}

static size_t count(const char *coll, const char *filter_json)
{
	json_t *filter = json_loads(filter_json, 0, NULL);
	struct err e = {0};
	size_t n = 0;

	cr_assert_not_null(filter);
	cr_assert_eq(store_count(env.store, coll, filter, &n, &e), 0, "%s", e.msg);
	json_decref(filter);
	return n;
}

static json_t *user_doc(const char *id)
{
	json_t *doc = NULL;
	struct err e = {0};

	cr_assert_eq(store_get(env.store, "users", id, &doc, &e), 0, "%s", e.msg);
	cr_assert_not_null(doc, "user %s", id);
	return doc;
}

/* Signs in and creates a workspace: a ready user. *ws_out gets the workspace id. */
static char *ready_user(const char *name, const char *email, const char *ws_name, char **ws_out)
{
	char *cookie = tc_login(&env, name, email);
	char body[256];
	json_t *j;

	snprintf(body, sizeof(body), "{\"workspaceName\":\"%s\"}", ws_name);
	j = call(cookie, "POST", "/api/onboarding/workspace", body, 201);
	*ws_out = strdup(jsonx_str(json_object_get(j, "workspace"), "id"));
	json_decref(j);
	return cookie;
}

/* Sign-in */

Test(auth, signin_without_email_is_the_default_local_user)
{
	char *c1 = NULL, *c2 = NULL;
	json_t *a = signin("{\"displayName\":\"Ada\",\"profileRole\":\"Engineer\"}", &c1);
	json_t *b = signin("{\"displayName\":\" Ada L \",\"profileRole\":\"Lead\",\"email\":\"\"}",
			   &c2);
	json_t *ua = json_object_get(a, "user"), *ub = json_object_get(b, "user"), *doc;

	cr_expect_str_eq(jsonx_str(ua, "email"), LOCAL_USER_EMAIL);
	cr_expect_str_eq(jsonx_str(ua, "displayName"), "Ada");
	cr_expect_str_eq(jsonx_str(ua, "profileRole"), "Engineer");
	cr_expect_str_eq(jsonx_str(ua, "onboardingStep"), "workspace");
	cr_expect_str_eq(jsonx_str(a, "next"), "/onboarding/workspace");
	cr_expect_str_eq(jsonx_str(ua, "id"), jsonx_str(ub, "id"), "one default user");
	cr_expect_str_eq(jsonx_str(ub, "displayName"), "Ada L", "trimmed and updated");
	cr_expect_str_neq(c1, c2, "every sign-in gets a new session id");
	cr_expect_eq(count("users", "{}"), 1);
	doc = user_doc(jsonx_str(ua, "id"));
	cr_expect_str_eq(jsonx_str(doc, "emailNormalized"), LOCAL_USER_EMAIL);
	cr_expect_str_eq(jsonx_str(doc, "profileRole"), "Lead");
	cr_expect_not_null(jsonx_str(doc, "createdAt"));
	json_decref(doc);
	json_decref(a);
	json_decref(b);
	free(c1);
	free(c2);
}

Test(auth, each_email_is_its_own_user)
{
	char *c1 = NULL, *c2 = NULL, *c3 = NULL;
	json_t *a = signin("{\"displayName\":\"Bob\",\"profileRole\":\"PM\",\"email\":\" "
			   "Bob@Example.TEST \"}",
			   &c1);
	json_t *b = signin("{\"displayName\":\"Cy\",\"profileRole\":\"QA\",\"email\":\"cy@x.io\"}",
			   &c2);
	json_t *c = signin("{\"displayName\":\"Bobby\",\"profileRole\":\"PM\",\"email\":"
			   "\"bob@example.test\"}",
			   &c3);
	const char *ida = jsonx_str(json_object_get(a, "user"), "id");
	json_t *doc;

	cr_expect_str_neq(ida, jsonx_str(json_object_get(b, "user"), "id"));
	cr_expect_str_eq(ida, jsonx_str(json_object_get(c, "user"), "id"), "same normalised email");
	cr_expect_eq(count("users", "{}"), 2);
	doc = user_doc(ida);
	cr_expect_str_eq(jsonx_str(doc, "emailNormalized"), "bob@example.test");
	cr_expect_str_eq(jsonx_str(doc, "displayName"), "Bobby");
	json_decref(doc);
	/* Each session names its own user. */
	doc = call(c2, "GET", "/api/me", NULL, 200);
	cr_expect_str_eq(jsonx_str(json_object_get(doc, "user"), "email"), "cy@x.io");
	json_decref(doc);
	doc = call(c1, "GET", "/api/me", NULL, 200);
	cr_expect_str_eq(jsonx_str(json_object_get(doc, "user"), "displayName"), "Bobby");
	json_decref(doc);
	json_decref(a);
	json_decref(b);
	json_decref(c);
	free(c1);
	free(c2);
	free(c3);
}

Test(auth, bad_identity_is_refused_and_writes_nothing)
{
	char long81[128], email255[400], body[512];
	const struct {
		const char *body;
		long status;
		const char *code;
	} cases[] = {
		{"{\"profileRole\":\"Engineer\"}", 400, "invalid_identity"},
		{"{\"displayName\":\"A\",\"profileRole\":\"Engineer\"}", 400, "invalid_identity"},
		{"{\"displayName\":\"   \",\"profileRole\":\"Engineer\"}", 400, "invalid_identity"},
		{"{\"displayName\":\"  A  \",\"profileRole\":\"Engineer\"}", 400,
		 "invalid_identity"},
		{long81, 400, "invalid_identity"},
		{"{\"displayName\":\"Ada\\u0001\",\"profileRole\":\"Engineer\"}", 400,
		 "invalid_identity"},
		{"{\"displayName\":42,\"profileRole\":\"Engineer\"}", 400, "invalid_identity"},
		{"{\"displayName\":\"Ada\"}", 400, "invalid_identity"},
		{"{\"displayName\":\"Ada\",\"profileRole\":\"E\"}", 400, "invalid_identity"},
		{"{\"displayName\":\"Ada\",\"profileRole\":\"Eng\",\"email\":\"nope\"}", 400,
		 "invalid_identity"},
		{"{\"displayName\":\"Ada\",\"profileRole\":\"Eng\",\"email\":\"a@b\"}", 400,
		 "invalid_identity"},
		{"{\"displayName\":\"Ada\",\"profileRole\":\"Eng\",\"email\":\"a@b.\"}", 400,
		 "invalid_identity"},
		{"{\"displayName\":\"Ada\",\"profileRole\":\"Eng\",\"email\":\"a@.b\"}", 400,
		 "invalid_identity"},
		{"{\"displayName\":\"Ada\",\"profileRole\":\"Eng\",\"email\":\"@b.c\"}", 400,
		 "invalid_identity"},
		{"{\"displayName\":\"Ada\",\"profileRole\":\"Eng\",\"email\":\"a b@c.d\"}", 400,
		 "invalid_identity"},
		{"{\"displayName\":\"Ada\",\"profileRole\":\"Eng\",\"email\":\"a@b@c.d\"}", 400,
		 "invalid_identity"},
		{email255, 400, "invalid_identity"},
	};

	snprintf(long81, sizeof(long81), "{\"displayName\":\"%081d\",\"profileRole\":\"Eng\"}", 0);
	snprintf(email255, sizeof(email255),
		 "{\"displayName\":\"Ada\",\"profileRole\":\"Eng\",\"email\":\"%0248d@x.test\"}",
		 0);
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *before = tc_store_dump(&env), *after;
		struct tc_resp r = {0};
		char line[512];

		cr_assert_eq(
			tc_json(&env, NULL, "POST", "/api/onboarding/identity", cases[i].body, &r),
			0);
		cr_expect_eq(r.status, cases[i].status, "case %zu: %ld %s", i, r.status, r.body);
		cr_expect_str_eq(jsonx_str(r.json, "error"), cases[i].code, "case %zu", i);
		cr_expect_not_null(jsonx_str(r.json, "message"), "case %zu", i);
		cr_expect_null(set_cookie(&r, "second_session", line, sizeof(line)), "case %zu", i);
		tc_resp_free(&r);
		after = tc_store_dump(&env);
		cr_expect_str_eq(after, before, "case %zu wrote to the store", i);
		free(before);
		free(after);
	}
	/* The limits themselves are accepted: 2 and 80 characters, a 254-character email. */
	snprintf(body, sizeof(body),
		 "{\"displayName\":\"%080d\",\"profileRole\":\"QA\",\"email\":\"%0247d@x.test\"}",
		 0, 0);
	json_decref(call(NULL, "POST", "/api/onboarding/identity", body, 200));
	json_decref(call(NULL, "POST", "/api/onboarding/identity",
			 "{\"displayName\":\"Zoë\",\"profileRole\":\"QA\",\"email\":\"a@b.c\"}",
			 200));
	cr_expect_eq(count("users", "{}"), 2);
}

Test(auth, malformed_json_is_refused)
{
	char *before = tc_store_dump(&env), *after;
	struct tc_resp r = {0};

	cr_assert_eq(tc_call(&env, NULL, "POST", "/api/onboarding/identity", "application/json",
			     "{\"displayName\":", 15, NULL, &r),
		     0);
	cr_expect_eq(r.status, 400, "%ld %s", r.status, r.body);
	tc_resp_free(&r);
	after = tc_store_dump(&env);
	cr_expect_str_eq(after, before);
	free(before);
	free(after);
}

Test(auth, form_posts_get_redirects)
{
	static const char good[] = "displayName=Dee+Dee&profileRole=Designer&email=dee%40x.io";
	static const char bad[] = "displayName=D&profileRole=Designer";
	struct tc_resp r = {0};
	char loc[512], line[512];

	cr_assert_eq(tc_call(&env, NULL, "POST", "/api/onboarding/identity", FORM, bad, strlen(bad),
			     NULL, &r),
		     0);
	cr_expect_eq(r.status, 303, "%ld %s", r.status, r.body);
	cr_assert_not_null(tc_header(&r, "Location", loc, sizeof(loc)));
	cr_expect(strstr(loc, "/onboarding/identity?error=invalid_identity") != NULL, "%s", loc);
	tc_resp_free(&r);
	cr_expect_eq(count("users", "{}"), 0);

	cr_assert_eq(tc_call(&env, NULL, "POST", "/api/onboarding/identity", FORM, good,
			     strlen(good), NULL, &r),
		     0);
	cr_expect_eq(r.status, 303, "%ld %s", r.status, r.body);
	cr_assert_not_null(tc_header(&r, "Location", loc, sizeof(loc)));
	cr_expect(strstr(loc, "/onboarding/workspace") != NULL, "%s", loc);
	cr_expect_not_null(set_cookie(&r, "second_session", line, sizeof(line)));
	tc_resp_free(&r);
	cr_expect_eq(
		count("users", "{\"emailNormalized\":\"dee@x.io\",\"displayName\":\"Dee Dee\"}"),
		1);
}

Test(auth, cookie_attributes)
{
	struct tc_resp r = {0};
	char line[512];
	char *value;
	uint8_t raw[64];
	size_t n = 0;

	cr_assert_eq(tc_json(&env, NULL, "POST", "/api/onboarding/identity",
			     "{\"displayName\":\"Ada\",\"profileRole\":\"Engineer\"}", &r),
		     0);
	cr_assert_not_null(set_cookie(&r, "second_session", line, sizeof(line)), "%s", r.headers);
	cr_expect(has_attr(line, "HttpOnly"), "%s", line);
	cr_expect(has_attr(line, "SameSite=Lax"), "%s", line);
	cr_expect(has_attr(line, "Path=/"), "%s", line);
	cr_expect(has_attr(line, "Max-Age=2592000"), "%s", line);
	cr_expect_not(has_attr(line, "Secure"), "plain http: %s", line);
	value = cookie_value(line);
	cr_expect_eq(strlen(value), 43, "%s", value);
	cr_expect_eq(codec_b64url_decode(value, strlen(value), raw, sizeof(raw), &n), 0);
	cr_expect_eq(n, 32, "256 random bits");
	/* No workspace yet: the workspace cookie is cleared. */
	cr_assert_not_null(set_cookie(&r, "second_workspace_id", line, sizeof(line)));
	cr_expect(has_attr(line, "Max-Age=0"), "%s", line);
	free(value);
	tc_resp_free(&r);
}

/* Sessions */

Test(auth, forged_cookies_are_no_identity)
{
	char random_cookie[TOKEN_MAX_BYTES], *real = tc_login(&env, "Ada", NULL), *ws = NULL;
	char *owner = ready_user("Olive", "olive@x.io", "Olive Co", &ws);
	char tampered[TOKEN_MAX_BYTES];
	const char *const forged[] = {random_cookie,
				      tampered,
				      "abc",
				      "x",
				      "%00",
				      "a;b",
				      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};

	crypto_random_token(random_cookie, sizeof(random_cookie));
	snprintf(tampered, sizeof(tampered), "%s", owner);
	tampered[0] = tampered[0] == 'A' ? 'B' : 'A';
	for (size_t i = 0; i < ARRAY_LEN(forged); i++) {
		refused(forged[i], "GET", "/api/me/preferences", NULL, 401, "identity_required");
		refused(forged[i], "GET", "/api/me", NULL, 401, "identity_required");
	}
	json_decref(call(owner, "GET", "/api/me/preferences", NULL, 200));
	free(real);
	free(owner);
	free(ws);
}

Test(auth, logout_revokes_the_session)
{
	char *cookie = NULL, *ws = NULL;
	struct tc_resp r = {0};
	char line[512];
	json_t *j;

	cookie = ready_user("Ada", NULL, "Acme", &ws);
	json_decref(call(cookie, "GET", "/api/me", NULL, 200));
	cr_assert_eq(tc_json(&env, cookie, "POST", "/api/auth/logout", NULL, &r), 0);
	cr_expect_eq(r.status, 200, "%ld %s", r.status, r.body);
	cr_expect(json_is_true(json_object_get(r.json, "ok")));
	cr_assert_not_null(set_cookie(&r, "second_session", line, sizeof(line)));
	cr_expect(has_attr(line, "Max-Age=0"), "%s", line);
	cr_assert_not_null(set_cookie(&r, "second_workspace_id", line, sizeof(line)));
	cr_expect(has_attr(line, "Max-Age=0"), "%s", line);
	tc_resp_free(&r);
	/* The client kept the cookie; the server no longer knows it. */
	refused(cookie, "GET", "/api/me", NULL, 401, "identity_required");
	refused(cookie, "GET", "/api/me/preferences", NULL, 401, "identity_required");
	/* Logging out again, or with no session at all, still succeeds. */
	j = call(cookie, "POST", "/api/auth/logout", NULL, 200);
	json_decref(j);
	j = call(NULL, "POST", "/api/auth/logout", NULL, 200);
	json_decref(j);
	free(cookie);
	free(ws);
}

/* A sign-in from a browser that still holds a session replaces it; sessions of other
 * browsers (no cookie sent) are left alone. */
Test(auth, signin_again_ends_the_previous_session)
{
	char *first = tc_login(&env, "Ada", "ada@x.io"),
	     *elsewhere = tc_login(&env, "Ada", "ada@x.io");
	struct tc_resp r = {0};
	char line[512], *second;

	cr_assert_eq(
		tc_json(&env, first, "POST", "/api/onboarding/identity",
			"{\"displayName\":\"Ada\",\"profileRole\":\"Eng\",\"email\":\"ada@x.io\"}",
			&r),
		0);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	cr_assert_not_null(set_cookie(&r, "second_session", line, sizeof(line)));
	second = cookie_value(line);
	tc_resp_free(&r);
	refused(first, "GET", "/api/me", NULL, 401, "identity_required");
	json_decref(call(second, "GET", "/api/me", NULL, 200));
	json_decref(call(elsewhere, "GET", "/api/me", NULL, 200));
	free(first);
	free(second);
	free(elsewhere);
}

Test(auth, logout_form_redirects)
{
	char *cookie = tc_login(&env, "Ada", NULL);
	struct tc_resp r = {0};
	char loc[512];

	cr_assert_eq(tc_call(&env, cookie, "POST", "/api/auth/logout", FORM, "", 0, NULL, &r), 0);
	cr_expect_eq(r.status, 303, "%ld %s", r.status, r.body);
	cr_assert_not_null(tc_header(&r, "Location", loc, sizeof(loc)));
	cr_expect(strstr(loc, "/onboarding/identity") != NULL, "%s", loc);
	tc_resp_free(&r);
	refused(cookie, "GET", "/api/me", NULL, 401, "identity_required");
	free(cookie);
}

/* Onboarding states (AUTH-8, C-0.4) */

Test(auth, onboarding_state_codes)
{
	char *nows = tc_login(&env, "Nora", "nora@x.io"), *ws = NULL, *other_ws = NULL;
	char *ready = ready_user("Olive", "olive@x.io", "Olive Co", &ws);
	char *other = ready_user("Otto", "otto@x.io", "Otto Co", &other_ws);
	char path[256];
	json_t *j;

	/* No identity. */
	refused(NULL, "GET", "/api/me/preferences", NULL, 401, "identity_required");
	refused(NULL, "GET", "/api/me", NULL, 401, "identity_required");
	refused(NULL, "POST", "/api/onboarding/workspace", "{\"workspaceName\":\"X Co\"}", 401,
		"identity_required");
	refused(NULL, "GET", "/api/workspaces/olive-co/members", NULL, 401, "identity_required");
	/* Identity, no workspace: READY and workspace routes say so before anything else. */
	refused(nows, "GET", "/api/me/preferences", NULL, 403, "workspace_required");
	refused(nows, "POST", "/api/onboarding/step", "{\"step\":\"loader\"}", 403,
		"workspace_required");
	refused(nows, "GET", "/api/workspaces/does-not-exist/members", NULL, 403,
		"workspace_required");
	refused(nows, "GET", "/api/workspaces/olive-co/members", NULL, 403, "workspace_required");
	j = call(nows, "GET", "/api/me", NULL, 200);
	cr_expect_str_eq(jsonx_str(json_object_get(j, "onboarding"), "state"), "needs-workspace");
	cr_expect_str_eq(jsonx_str(json_object_get(j, "onboarding"), "next"),
			 "/onboarding/workspace");
	cr_expect_eq(json_array_size(json_object_get(j, "memberships")), 0);
	json_decref(j);
	/* Ready: outside the tenant is 404 whatever the reason. */
	cr_expect_str_eq(ws, "olive-co");
	refused(ready, "GET", "/api/workspaces/does-not-exist/members", NULL, 404, "not_found");
	refused(ready, "GET", "/api/workspaces/-bad-/members", NULL, 404, "not_found");
	snprintf(path, sizeof(path), "/api/workspaces/%s/members", other_ws);
	refused(ready, "GET", path, NULL, 404, "not_found");
	snprintf(path, sizeof(path), "/api/workspaces/%s/members", ws);
	json_decref(call(ready, "GET", path, NULL, 200));
	json_decref(call(ready, "GET", "/api/me/preferences", NULL, 200));
	free(nows);
	free(ready);
	free(other);
	free(ws);
	free(other_ws);
}

/* GET /api/auth/session answers 200 in every state, so the UI learns where the caller stands
 * without an error status; signed in it carries /api/me's body. */
Test(auth, session_state_without_error_status)
{
	char *nows = tc_login(&env, "Nora", "nora@x.io"), *ws = NULL;
	char *ready = ready_user("Olive", "olive@x.io", "Olive Co", &ws);
	const char *const anonymous[] = {NULL, "abc",
					 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};
	json_t *j, *me, *first;

	for (size_t i = 0; i < ARRAY_LEN(anonymous); i++) {
		j = call(anonymous[i], "GET", "/api/auth/session", NULL, 200);
		cr_expect(json_is_false(json_object_get(j, "signedIn")), "%zu", i);
		cr_expect_str_eq(jsonx_str(j, "authMode"), "none");
		cr_expect_str_eq(jsonx_str(json_object_get(j, "onboarding"), "state"),
				 "missing-identity");
		cr_expect_str_eq(jsonx_str(json_object_get(j, "onboarding"), "next"),
				 "/onboarding/identity");
		cr_expect_null(json_object_get(j, "user"));
		cr_expect_null(json_object_get(j, "memberships"));
		json_decref(j);
	}
	j = call(nows, "GET", "/api/auth/session", NULL, 200);
	cr_expect(json_is_true(json_object_get(j, "signedIn")));
	cr_expect_str_eq(jsonx_str(json_object_get(j, "onboarding"), "state"), "needs-workspace");
	cr_expect_str_eq(jsonx_str(json_object_get(j, "user"), "email"), "nora@x.io");
	cr_expect_eq(json_array_size(json_object_get(j, "memberships")), 0);
	json_decref(j);
	/* Ready: the same user, memberships and onboarding as GET /api/me. */
	j = call(ready, "GET", "/api/auth/session", NULL, 200);
	me = call(ready, "GET", "/api/me", NULL, 200);
	cr_expect(json_is_true(json_object_get(j, "signedIn")));
	cr_expect(json_equal(json_object_get(j, "user"), json_object_get(me, "user")));
	cr_expect(
		json_equal(json_object_get(j, "memberships"), json_object_get(me, "memberships")));
	cr_expect(json_equal(json_object_get(j, "onboarding"), json_object_get(me, "onboarding")));
	cr_expect_str_eq(jsonx_str(json_object_get(j, "onboarding"), "state"), "ready");
	first = json_array_get(json_object_get(j, "memberships"), 0);
	cr_expect_str_eq(jsonx_str(first, "workspaceId"), ws);
	json_decref(me);
	json_decref(j);
	/* After sign-out the same cookie is anonymous again. */
	json_decref(call(ready, "POST", "/api/auth/logout", NULL, 200));
	j = call(ready, "GET", "/api/auth/session", NULL, 200);
	cr_expect(json_is_false(json_object_get(j, "signedIn")));
	json_decref(j);
	free(nows);
	free(ready);
	free(ws);
}

Test(auth, onboarding_workspace_flow)
{
	char *cookie = tc_login(&env, "Ada", "ada@x.io");
	struct tc_resp r = {0};
	char line[512];
	json_t *j, *doc;
	const char *id;

	refused(cookie, "POST", "/api/onboarding/workspace", "{\"workspaceName\":\"A\"}", 400,
		"invalid_workspace");
	refused(cookie, "POST", "/api/onboarding/workspace", "{}", 400, "invalid_workspace");
	cr_expect_eq(count("workspaces", "{}"), 0);
	cr_assert_eq(tc_json(&env, cookie, "POST", "/api/onboarding/workspace",
			     "{\"workspaceName\":\"  Acme Co  \"}", &r),
		     0);
	cr_assert_eq(r.status, 201, "%ld %s", r.status, r.body);
	cr_expect_str_eq(jsonx_str(r.json, "next"), "/onboarding/loader");
	cr_expect_str_eq(jsonx_str(json_object_get(r.json, "workspace"), "id"), "acme-co");
	cr_assert_not_null(set_cookie(&r, "second_workspace_id", line, sizeof(line)));
	cr_expect(strncmp(line, "second_workspace_id=acme-co;", 28) == 0, "%s", line);
	tc_resp_free(&r);
	j = call(cookie, "GET", "/api/me", NULL, 200);
	id = jsonx_str(json_object_get(j, "user"), "id");
	doc = user_doc(id);
	cr_expect_str_eq(jsonx_str(doc, "onboardingStep"), "loader");
	json_decref(doc);
	cr_expect_str_eq(jsonx_str(json_object_get(j, "onboarding"), "state"), "ready");
	cr_expect_str_eq(jsonx_str(json_object_get(j, "onboarding"), "next"), "/onboarding/loader");
	cr_expect_str_eq(jsonx_str(json_array_get(json_object_get(j, "memberships"), 0), "role"),
			 "owner");
	cr_expect_str_eq(
		jsonx_str(json_array_get(json_object_get(j, "memberships"), 0), "workspaceName"),
		"Acme Co");
	json_decref(j);
	/* Already onboarded: sent on, nothing created. */
	j = call(cookie, "POST", "/api/onboarding/workspace", "{\"workspaceName\":\"Again\"}", 200);
	cr_expect_str_eq(jsonx_str(j, "next"), "/onboarding/loader");
	json_decref(j);
	cr_expect_eq(count("workspaces", "{}"), 1);
	/* Signing in again sets the workspace cookie to the first workspace. */
	cr_assert_eq(
		tc_json(&env, NULL, "POST", "/api/onboarding/identity",
			"{\"displayName\":\"Ada\",\"profileRole\":\"Eng\",\"email\":\"ada@x.io\"}",
			&r),
		0);
	cr_assert_not_null(set_cookie(&r, "second_workspace_id", line, sizeof(line)));
	cr_expect(strncmp(line, "second_workspace_id=acme-co;", 28) == 0, "%s", line);
	cr_expect_str_eq(jsonx_str(r.json, "next"), "/onboarding/loader");
	tc_resp_free(&r);
	free(cookie);
}

Test(auth, steps_and_completion)
{
	char *ws = NULL, *cookie = ready_user("Ada", NULL, "Acme", &ws);
	const char *const bad[] = {"{\"step\":\"nope\"}", "{\"step\":\"\"}", "{}", "{\"step\":3}",
				   "{\"step\":\"Start\"}"};
	json_t *j;

	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		refused(cookie, "POST", "/api/onboarding/step", bad[i], 400, "invalid_step");
	j = call(cookie, "POST", "/api/onboarding/step", "{\"step\":\"provider\"}", 200);
	cr_expect(json_is_true(json_object_get(j, "ok")));
	json_decref(j);
	j = call(cookie, "GET", "/api/me", NULL, 200);
	cr_expect_str_eq(jsonx_str(json_object_get(j, "user"), "onboardingStep"), "provider");
	cr_expect_str_eq(jsonx_str(json_object_get(j, "onboarding"), "next"),
			 "/onboarding/provider");
	json_decref(j);
	json_decref(call(cookie, "POST", "/api/onboarding/complete", NULL, 200));
	j = call(cookie, "GET", "/api/me", NULL, 200);
	cr_expect_str_eq(jsonx_str(json_object_get(j, "user"), "onboardingStep"), "start");
	cr_expect_not_null(jsonx_str(json_object_get(j, "user"), "onboardingCompletedAt"));
	cr_expect(json_is_true(json_object_get(json_object_get(j, "onboarding"), "completed")));
	cr_expect_str_eq(jsonx_str(json_object_get(j, "onboarding"), "next"), "/w/acme");
	json_decref(j);
	free(cookie);
	free(ws);
}

Test(auth, context_is_normalised)
{
	char *ws = NULL, *cookie = ready_user("Ada", NULL, "Acme", &ws);
	char *big = malloc(3600), *body = malloc(3700);
	json_t *j, *doc = NULL;
	struct err e = {0};

	j = call(cookie, "POST", "/api/onboarding/context",
		 "{\"companyContext\":\"  We sell\\r\\nwidgets\\n\\n\\n\\n\\n\\nworldwide "
		 "\",\"userContext\":"
		 "\"  \"}",
		 200);
	cr_expect(json_is_true(json_object_get(j, "ok")));
	cr_expect_str_eq(jsonx_str(j, "companyContext"), "We sell\nwidgets\n\n\nworldwide");
	cr_expect(json_is_null(json_object_get(j, "userContext")));
	json_decref(j);
	cr_assert_eq(store_get(env.store, "workspaces", ws, &doc, &e), 0);
	cr_expect_str_eq(jsonx_str(doc, "companyContext"), "We sell\nwidgets\n\n\nworldwide");
	json_decref(doc);
	/* Cut to 3,000 characters; an absent field is left alone. */
	memset(big, 'x', 3500);
	big[3500] = '\0';
	snprintf(body, 3700, "{\"userContext\":\"%s\"}", big);
	j = call(cookie, "POST", "/api/onboarding/context", body, 200);
	cr_expect_eq(strlen(jsonx_str(j, "userContext")), 3000);
	cr_expect_str_eq(jsonx_str(j, "companyContext"), "We sell\nwidgets\n\n\nworldwide");
	json_decref(j);
	refused(cookie, "POST", "/api/onboarding/context", "{\"userContext\":5}", 400,
		"invalid_context");
	/* Bodies that are not objects never reach the handler. */
	refused(cookie, "POST", "/api/onboarding/context", "[]", 400, "invalid_json");
	refused(cookie, "PATCH", "/api/me/preferences", "[\"themeMode\"]", 400, "invalid_json");
	free(big);
	free(body);
	free(cookie);
	free(ws);
}

/* Preferences (API-11) */

Test(auth, preferences)
{
	char *ws = NULL, *cookie = ready_user("Ada", NULL, "Acme", &ws), *before, *after;
	const struct {
		const char *body, *code;
	} bad[] = {
		{"{\"foo\":1}", "invalid_preferences"},
		{"{\"themeMode\":\"dark\",\"extra\":true}", "invalid_preferences"},
		{"{}", "empty_preferences"},
		{"{\"loaderColor\":\"pink\"}", "invalid_loader_color"},
		{"{\"loaderColor\":null}", "invalid_loader_color"},
		{"{\"loaderStyle\":\"spin\"}", "invalid_loader_style"},
		{"{\"loaderStyle\":1}", "invalid_loader_style"},
		{"{\"loaderCustomColor\":\"red\"}", "invalid_loader_custom_color"},
		{"{\"loaderCustomColor\":\"#12345g\"}", "invalid_loader_custom_color"},
		{"{\"loaderCustomColor\":\"#1234567\"}", "invalid_loader_custom_color"},
		{"{\"loaderColor\":\"custom\"}", "invalid_loader_custom_color"},
		{"{\"themeMode\":\"auto\"}", "invalid_theme_mode"},
		{"{\"themeMode\":\"DARK\"}", "invalid_theme_mode"},
	};
	json_t *j, *p;

	j = call(cookie, "GET", "/api/me/preferences", NULL, 200);
	p = json_object_get(j, "preferences");
	cr_expect_str_eq(jsonx_str(p, "loaderColor"), "violet");
	cr_expect_str_eq(jsonx_str(p, "loaderStyle"), "orbit");
	cr_expect(json_is_null(json_object_get(p, "loaderCustomColor")));
	cr_expect_str_eq(jsonx_str(p, "themeMode"), "system");
	json_decref(j);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		before = tc_store_dump(&env);
		refused(cookie, "PATCH", "/api/me/preferences", bad[i].body, 400, bad[i].code);
		after = tc_store_dump(&env);
		cr_expect_str_eq(after, before, "case %zu wrote to the store", i);
		free(before);
		free(after);
	}
	j = call(cookie, "PATCH", "/api/me/preferences",
		 "{\"loaderColor\":\"custom\",\"loaderCustomColor\":\"#A1B2C3\",\"themeMode\":"
		 "\"dark\"}",
		 200);
	p = json_object_get(j, "preferences");
	cr_expect_str_eq(jsonx_str(p, "loaderColor"), "custom");
	cr_expect_str_eq(jsonx_str(p, "loaderCustomColor"), "#a1b2c3");
	cr_expect_str_eq(jsonx_str(p, "themeMode"), "dark");
	cr_expect_str_eq(jsonx_str(p, "loaderStyle"), "orbit");
	json_decref(j);
	/* A custom colour cannot be cleared while it is in use; with another colour it can. */
	refused(cookie, "PATCH", "/api/me/preferences", "{\"loaderCustomColor\":null}", 400,
		"invalid_loader_custom_color");
	j = call(cookie, "PATCH", "/api/me/preferences",
		 "{\"loaderColor\":\"blue\",\"loaderCustomColor\":null,\"loaderStyle\":\"bars\"}",
		 200);
	json_decref(j);
	j = call(cookie, "GET", "/api/me/preferences", NULL, 200);
	p = json_object_get(j, "preferences");
	cr_expect_str_eq(jsonx_str(p, "loaderColor"), "blue");
	cr_expect_str_eq(jsonx_str(p, "loaderStyle"), "bars");
	cr_expect(json_is_null(json_object_get(p, "loaderCustomColor")));
	cr_expect_str_eq(jsonx_str(p, "themeMode"), "dark");
	json_decref(j);
	free(cookie);
	free(ws);
}

/* Health (API-1) */

Test(auth, health)
{
	char *ws = NULL, *cookie = ready_user("Ada", NULL, "Acme", &ws);
	json_t *j;

	j = call(NULL, "GET", "/api/health", NULL, 200);
	cr_expect_str_eq(jsonx_str(j, "status"), "ok");
	cr_expect_str_eq(jsonx_str(json_object_get(j, "store"), "status"), "ok");
	cr_expect_str_eq(jsonx_str(json_object_get(j, "store"), "backend"), "sqlite");
	cr_expect_str_eq(jsonx_str(json_object_get(j, "redis"), "status"), "ok");
	json_decref(j);

	harness_redis_stop(&env.redis);
	j = call(NULL, "GET", "/api/health", NULL, 503);
	cr_expect_str_eq(jsonx_str(j, "status"), "error");
	cr_expect_str_eq(jsonx_str(json_object_get(j, "store"), "status"), "ok");
	cr_expect_str_eq(jsonx_str(json_object_get(j, "redis"), "status"), "error");
	cr_expect_not_null(jsonx_str(json_object_get(j, "redis"), "error"));
	json_decref(j);
	/* A public route still answers with a session cookie; the others cannot decide. */
	json_decref(call(cookie, "GET", "/api/health", NULL, 503));
	refused(cookie, "GET", "/api/me", NULL, 503, "unavailable");
	refused(NULL, "GET", "/api/me", NULL, 401, "identity_required");
	free(cookie);
	free(ws);
}

Test(auth, health_never_shows_backend_details)
{
	struct tc_resp r = {0};

	harness_redis_stop(&env.redis);
	cr_assert_eq(tc_json(&env, NULL, "GET", "/api/health", NULL, &r), 0);
	cr_expect_eq(r.status, 503);
	cr_expect(strstr(r.body, env.redis.sock) == NULL, "%s", r.body);
	cr_expect(strstr(r.body, env.dir) == NULL, "%s", r.body);
	tc_resp_free(&r);
}
