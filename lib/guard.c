/* The guard: session -> user -> onboarding state -> membership -> role -> permission.
 *
 * Two tables carry the policy: the TEN-5 permission grid (one row per permission, one column
 * per role) and the refusal each onboarding state gets from a route that needs more. Every
 * request is resolved from scratch: the session from Redis, the user and their memberships
 * from the store (oldest first, AUTH-8), and for workspace routes the path's workspace and the
 * caller's membership in it (AUTH-9), so a removed member or a revoked session loses access
 * on their next request. The workspace id only ever comes from the route's ":ws" parameter.
 *
 * What the store gives for one user (their document and memberships) and for one user in one
 * workspace (that it exists, the user's teams) is kept per process, tagged with the
 * store_revision() taken before it was read, and reused only by a request that gets the same
 * revision: that number moves on every write any process commits, so a kept answer is the
 * store's current one and removing a member still takes effect on their next request. The
 * session is never kept: it is looked up in Redis every time, so logout ends it at once. */
#include <config.h>

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/crypto.h"
#include "lib/guard.h"
#include "lib/jsonx.h"
#include "lib/log.h"
#include "lib/session.h"

/* TEN-5. Roles are fixed; there is no viewer role and no custom role. */
static const struct {
	enum guard_perm perm;
	const char *name;
	bool owner, admin, member;
} perm_table[] = {
	{PERM_WORKSPACE_VIEW, "workspace:view", true, true, true},
	{PERM_WORKSPACE_MANAGE, "workspace:manage", true, true, false},
	{PERM_MEMBERS_VIEW, "members:view", true, true, true},
	{PERM_MEMBERS_INVITE, "members:invite", true, true, false},
	{PERM_MEMBERS_MANAGE, "members:manage", true, true, false},
	{PERM_MEMBERS_MANAGE_OWNER, "members:manage-owner", true, false, false},
	{PERM_INTEGRATIONS_VIEW, "integrations:view", true, true, true},
	{PERM_INTEGRATIONS_MANAGE, "integrations:manage", true, true, false},
	{PERM_AUDIT_READ, "audit:read", true, true, false},
	{PERM_APPS_CREATE, "apps:create", true, true, true},
	{PERM_APPS_UPDATE, "apps:update", true, true, true},
	{PERM_APPS_DELETE, "apps:delete", true, true, true},
	{PERM_AGENTS_RUN, "agents:run", true, true, true},
};

static const struct {
	enum guard_role role;
	const char *name;
} role_table[] = {
	{ROLE_OWNER, "owner"},
	{ROLE_ADMIN, "admin"},
	{ROLE_MEMBER, "member"},
};

/* What a route that needs more than the caller's state answers (C-0.4, TEN-3). */
static const struct {
	int status;
	const char *code;
	const char *message;
} refusals[] = {
	[ONBOARDING_MISSING_IDENTITY] = {401, "identity_required", "sign in first"},
	[ONBOARDING_NEEDS_PROFILE] = {401, "profile_required", "complete your profile first"},
	[ONBOARDING_NEEDS_WORKSPACE] = {403, "workspace_required",
					"create or join a workspace first"},
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static bool row_grants(size_t i, enum guard_role role)
{
	switch (role) {
	case ROLE_OWNER:
		return perm_table[i].owner;
	case ROLE_ADMIN:
		return perm_table[i].admin;
	case ROLE_MEMBER:
		return perm_table[i].member;
	case ROLE_NONE:
		break;
	}
	return false;
}

const char *guard_perm_name(enum guard_perm perm)
{
	for (size_t i = 0; i < sizeof(perm_table) / sizeof(perm_table[0]); i++)
		if (perm_table[i].perm == perm)
			return perm_table[i].name;
	return "";
}

bool guard_role_has(enum guard_role role, enum guard_perm perm)
{
	if (role == ROLE_NONE)
		return false;
	if (perm == PERM_NONE)
		return true;
	for (size_t i = 0; i < ARRAY_LEN(perm_table); i++)
		if (perm_table[i].perm == perm)
			return row_grants(i, role);
	return false;
}

int guard_role_parse(const char *s, enum guard_role *out)
{
	*out = ROLE_NONE;
	if (s == NULL)
		return -1;
	for (size_t i = 0; i < ARRAY_LEN(role_table); i++)
		if (strcmp(s, role_table[i].name) == 0) {
			*out = role_table[i].role;
			return 0;
		}
	return -1;
}

const char *guard_role_name(enum guard_role role)
{
	for (size_t i = 0; i < ARRAY_LEN(role_table); i++)
		if (role_table[i].role == role)
			return role_table[i].name;
	return "none";
}

json_t *guard_role_permissions(enum guard_role role)
{
	json_t *names = json_array();

	if (names == NULL)
		abort();
	for (size_t i = 0; i < ARRAY_LEN(perm_table); i++)
		if (row_grants(i, role) &&
		    json_array_append_new(names, json_string(perm_table[i].name)) != 0)
			abort();
	return names;
}

bool guard_workspace_id_valid(const char *id)
{
	size_t len;

	if (id == NULL)
		return false;
	len = strnlen(id, WORKSPACE_SLUG_MAX + 1);
	if (len == 0 || len > WORKSPACE_SLUG_MAX || id[0] == '-' || id[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9') ||
		      id[i] == '-'))
			return false;
	return true;
}

struct kept {
	char *key;    /* "u:<user id>" or "w:<workspace>:<user id>"; NULL when free */
	uint64_t rev; /* the store revision the value was read under */
	uint64_t used;
	json_t *value; /* never changed once kept; copies go out */
};

static struct {
	pthread_mutex_t mu;
	uint64_t tick;
	struct kept slot[GUARD_CACHE_ENTRIES];
} kept = {.mu = PTHREAD_MUTEX_INITIALIZER};

static char *kept_key(const char *kind, const char *a, const char *b)
{
	size_t len = strlen(kind) + strlen(a) + (b != NULL ? strlen(b) + 1 : 0) + 2;
	char *key = malloc(len);

	if (key == NULL)
		abort();
	snprintf(key, len, "%s:%s%s%s", kind, a, b != NULL ? ":" : "", b != NULL ? b : "");
	return key;
}

static struct kept *kept_slot(const char *key)
{
	for (size_t i = 0; i < GUARD_CACHE_ENTRIES; i++)
		if (kept.slot[i].key != NULL && strcmp(kept.slot[i].key, key) == 0)
			return &kept.slot[i];
	return NULL;
}

static void kept_clear(struct kept *k)
{
	free(k->key);
	json_decref(k->value);
	k->key = NULL;
	k->value = NULL;
}

/* A deep copy of the value kept for key at exactly rev, or NULL. rev 0 never matches. */
static json_t *kept_get(const char *key, uint64_t rev)
{
	json_t *copy = NULL;
	struct kept *k;

	if (rev == 0)
		return NULL;
	pthread_mutex_lock(&kept.mu);
	k = kept_slot(key);
	if (k != NULL && k->rev == rev) {
		k->used = ++kept.tick;
		copy = json_deep_copy(k->value);
		if (copy == NULL)
			abort();
	} else if (k != NULL && k->rev < rev) {
		kept_clear(k);
	}
	pthread_mutex_unlock(&kept.mu);
	return copy;
}

/* Keeps a deep copy of value, read after store_revision() returned rev; the least recently
 * used slot makes room. */
static void kept_put(const char *key, uint64_t rev, const json_t *value)
{
	json_t *copy;
	struct kept *k;

	if (rev == 0)
		return;
	copy = json_deep_copy(value);
	if (copy == NULL)
		abort();
	pthread_mutex_lock(&kept.mu);
	k = kept_slot(key);
	if (k != NULL && k->rev > rev) {
		pthread_mutex_unlock(&kept.mu);
		json_decref(copy);
		return;
	}
	if (k == NULL) {
		k = &kept.slot[0];
		for (size_t i = 0; i < GUARD_CACHE_ENTRIES && k->key != NULL; i++)
			if (kept.slot[i].key == NULL || kept.slot[i].used < k->used)
				k = &kept.slot[i];
	}
	kept_clear(k);
	k->key = strdup(key);
	if (k->key == NULL)
		abort();
	k->rev = rev;
	k->used = ++kept.tick;
	k->value = copy;
	pthread_mutex_unlock(&kept.mu);
}

static struct guard_ctx *ctx_new(void)
{
	struct guard_ctx *ctx = calloc(1, sizeof(*ctx));

	if (ctx == NULL)
		abort();
	ctx->state = ONBOARDING_MISSING_IDENTITY;
	ctx->memberships = json_array();
	ctx->team_ids = json_array();
	if (ctx->memberships == NULL || ctx->team_ids == NULL)
		abort();
	return ctx;
}

void guard_ctx_free(void *p)
{
	struct guard_ctx *ctx = p;

	if (ctx == NULL)
		return;
	json_decref(ctx->user);
	json_decref(ctx->memberships);
	json_decref(ctx->team_ids);
	free(ctx);
}

/* A backend failure while finding out who is calling. Public routes carry on without an
 * identity (the health check must answer when Redis is down); the others cannot decide. */
static int backend_failed(struct http_req *req, int access, const char *what, const struct err *e)
{
	log_warning("guard: %s: %s", what, e->msg);
	if (access == ACCESS_PUBLIC)
		return 1;
	if (e->code == ERR_UNAVAILABLE || e->code == ERR_TIMEOUT || e->code == ERR_IO)
		http_reply_error(req, 503, "unavailable", "a backend is unavailable; try again");
	else
		http_reply_err(req, e);
	return -1;
}

static int load_memberships(const struct guard_deps *deps, struct http_req *req, int access,
			    struct guard_ctx *ctx)
{
	static const struct store_sort oldest_first[] = {{"createdAt", 1}};
	const struct store_find_opts opts = {.sort = oldest_first, .nsort = 1};
	json_t *filter = json_pack("{s:s}", "userId", ctx->user_id);
	json_t *docs = NULL;
	struct err e = {0};
	int rc;

	if (filter == NULL)
		abort();
	rc = store_find(deps->store, "workspace_memberships", filter, &opts, &docs, NULL, &e);
	json_decref(filter);
	if (rc != 0)
		return backend_failed(req, access, "memberships", &e);
	json_decref(ctx->memberships);
	ctx->memberships = docs;
	ctx->state = json_array_size(docs) > 0 ? ONBOARDING_READY : ONBOARDING_NEEDS_WORKSPACE;
	return 0;
}

static bool nonempty(const json_t *doc, const char *key)
{
	const char *s = jsonx_str(doc, key);

	return s != NULL && s[0] != '\0';
}

/* A user with a profile and their memberships, from what was kept for them. */
static bool load_user_kept(struct guard_ctx *ctx, const char *key)
{
	json_t *pair = kept_get(key, ctx->store_rev);

	if (pair == NULL)
		return false;
	ctx->user = json_incref(json_array_get(pair, 0));
	json_decref(ctx->memberships);
	ctx->memberships = json_incref(json_array_get(pair, 1));
	json_decref(pair);
	ctx->user_id = jsonx_str(ctx->user, "_id");
	ctx->state = json_array_size(ctx->memberships) > 0 ? ONBOARDING_READY
							   : ONBOARDING_NEEDS_WORKSPACE;
	return true;
}

/* AUTH-8 from an actor on: the user, the profile, the memberships. */
static int load_user(const struct guard_deps *deps, struct http_req *req, int access,
		     struct guard_ctx *ctx, const char *user_id)
{
	char *key = kept_key("u", user_id, NULL);
	json_t *pair;
	struct err e = {0};
	int rc = 0;

	ctx->state = ONBOARDING_NEEDS_PROFILE;
	if (load_user_kept(ctx, key))
		goto out;
	if (store_get(deps->store, "users", user_id, &ctx->user, &e) != 0) {
		rc = backend_failed(req, access, "user", &e);
		goto out;
	}
	if (ctx->user == NULL)
		goto out;
	ctx->user_id = jsonx_str(ctx->user, "_id");
	if (ctx->user_id == NULL || !nonempty(ctx->user, "displayName") ||
	    !nonempty(ctx->user, "email"))
		goto out;
	rc = load_memberships(deps, req, access, ctx);
	if (rc == 0 && json_array_size(ctx->memberships) <= GUARD_CACHE_MAX_ITEMS) {
		pair = json_pack("[O, O]", ctx->user, ctx->memberships);
		if (pair == NULL)
			abort();
		kept_put(key, ctx->store_rev, pair);
		json_decref(pair);
	}
out:
	free(key);
	return rc;
}

/* 0 with the context filled as far as the caller goes, -1 after a reply, 1 when a public
 * route must do without an identity. */
static int resolve_identity(const struct guard_deps *deps, struct http_req *req, int access,
			    struct guard_ctx *ctx)
{
	const char *cookie = http_cookie(req, SESSION_COOKIE);
	char user_id[STORE_MAX_ID_BYTES + 1];
	struct err e = {0};
	struct rds *r;

	if (cookie == NULL || cookie[0] == '\0')
		return 0;
	r = deps->redis(&e);
	if (r == NULL)
		return backend_failed(req, access, "redis", &e);
	if (session_resolve(r, cookie, user_id, sizeof(user_id), ctx->session_hash, &e) != 0) {
		if (e.code == ERR_NOT_FOUND)
			return 0;
		return backend_failed(req, access, "session", &e);
	}
	/* Without a revision (MongoDB, or a failure the reads below report) nothing is kept. */
	if (store_revision(deps->store, &ctx->store_rev, &e) != 0)
		ctx->store_rev = 0;
	return load_user(deps, req, access, ctx, user_id);
}

static int require_state(struct http_req *req, const struct guard_ctx *ctx,
			 enum guard_onboarding need)
{
	if (ctx->state >= need)
		return 0;
	http_reply_error(req, refusals[ctx->state].status, refusals[ctx->state].code, "%s",
			 refusals[ctx->state].message);
	return -1;
}

/* TEN-1: the path's id after trim and lowercase must have the slug format. */
static bool workspace_id_normalize(const char *raw, char out[WORKSPACE_SLUG_MAX + 1])
{
	size_t len;

	if (raw == NULL)
		return false;
	while (isspace((unsigned char)*raw))
		raw++;
	len = strnlen(raw, WORKSPACE_SLUG_MAX + 1);
	while (len > 0 && isspace((unsigned char)raw[len - 1]))
		len--;
	if (len == 0 || len > WORKSPACE_SLUG_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		out[i] = (char)tolower((unsigned char)raw[i]);
	out[len] = '\0';
	return guard_workspace_id_valid(out);
}

static json_t *membership_in(const json_t *memberships, const char *ws)
{
	size_t i;
	json_t *m;

	json_array_foreach (memberships, i, m) {
		const char *id = jsonx_str(m, "workspaceId");

		if (id != NULL && strcmp(id, ws) == 0)
			return m;
	}
	return NULL;
}

static int not_found(struct http_req *req)
{
	http_reply_error(req, 404, "not_found", "not found");
	return -1;
}

static int load_team_ids(const struct guard_deps *deps, struct http_req *req, struct guard_ctx *ctx)
{
	static const char *const team_only[] = {"teamId", NULL};
	const struct store_find_opts opts = {.fields = team_only};
	json_t *filter = json_pack("{s:s, s:s}", "workspaceId", ctx->workspace_id, "userId",
				   ctx->user_id);
	json_t *docs = NULL, *doc;
	struct err e = {0};
	size_t i;
	int rc;

	if (filter == NULL)
		abort();
	rc = store_find(deps->store, "workspace_team_memberships", filter, &opts, &docs, NULL, &e);
	json_decref(filter);
	if (rc != 0)
		return backend_failed(req, ACCESS_WORKSPACE, "team memberships", &e);
	json_array_foreach (docs, i, doc) {
		const char *team = jsonx_str(doc, "teamId");

		if (team != NULL && json_array_append_new(ctx->team_ids, json_string(team)) != 0)
			abort();
	}
	json_decref(docs);
	return 0;
}

/* 0 when the workspace exists; otherwise replies and returns -1. */
static int workspace_exists(const struct guard_deps *deps, struct http_req *req,
			    const struct guard_ctx *ctx)
{
	json_t *filter = json_pack("{s:s}", "_id", ctx->workspace_id);
	struct err e = {0};
	size_t n = 0;
	int rc;

	if (filter == NULL)
		abort();
	/* Counting reads no document. */
	rc = store_count(deps->store, "workspaces", filter, &n, &e);
	json_decref(filter);
	if (rc != 0)
		return backend_failed(req, ACCESS_WORKSPACE, "workspace", &e);
	return n > 0 ? 0 : not_found(req);
}

/* The caller's role in the workspace must grant the route's permission. */
static int check_role(const struct guard_deps *deps, struct http_req *req,
		      const struct http_route *route, struct guard_ctx *ctx)
{
	/* An unknown role in the data must not grant anything (AUTH-7). */
	if (guard_role_parse(jsonx_str(ctx->membership, "role"), &ctx->role) != 0) {
		http_reply_error(req, 403, "request_denied", "your membership has no valid role");
		return -1;
	}
	if (route->perm != PERM_NONE && !guard_role_has(ctx->role, route->perm)) {
		if ((route->flags & GUARD_AUDIT_DENIED) && deps->on_denied != NULL)
			deps->on_denied(req, ctx, route);
		http_reply_error(req, 403, route->denied_code ? route->denied_code : "forbidden",
				 "your role does not allow this");
		return -1;
	}
	return 0;
}

/* Outside the tenant is 404 whatever the reason (TEN-7); inside it, a missing permission is
 * 403 with the route's own code. Kept team ids also say that the workspace exists. */
static int check_workspace(const struct guard_deps *deps, struct http_req *req,
			   const struct http_route *route, struct guard_ctx *ctx)
{
	json_t *teams = NULL;
	char *key = NULL;
	int rc = -1;

	if (!workspace_id_normalize(http_param(req, "ws"), ctx->workspace_id))
		return not_found(req);
	ctx->membership = membership_in(ctx->memberships, ctx->workspace_id);
	if (ctx->membership == NULL)
		return not_found(req);
	key = kept_key("w", ctx->workspace_id, ctx->user_id);
	teams = kept_get(key, ctx->store_rev);
	if ((teams == NULL && workspace_exists(deps, req, ctx) != 0) ||
	    check_role(deps, req, route, ctx) != 0)
		goto out;
	if (teams != NULL) {
		json_decref(ctx->team_ids);
		ctx->team_ids = teams;
		teams = NULL;
		rc = 0;
	} else if ((rc = load_team_ids(deps, req, ctx)) == 0 &&
		   json_array_size(ctx->team_ids) <= GUARD_CACHE_MAX_ITEMS) {
		kept_put(key, ctx->store_rev, ctx->team_ids);
	}
out:
	json_decref(teams);
	free(key);
	return rc;
}

/* AUTH-10: the token names the caller (workerd), never a tenant. */
static int check_internal(const struct guard_deps *deps, struct http_req *req)
{
	const char *h = http_header(req, "Authorization");
	char token[HTTP_MAX_HEADER_BYTES + 1];
	size_t len;

	if (deps->internal_token == NULL || deps->internal_token[0] == '\0') {
		http_reply_error(req, 500, "server_misconfigured",
				 "the internal API token is not configured");
		return -1;
	}
	token[0] = '\0';
	if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0) {
		h += 7;
		while (*h == ' ' || *h == '\t')
			h++;
		len = strnlen(h, sizeof(token) - 1);
		while (len > 0 && (h[len - 1] == ' ' || h[len - 1] == '\t'))
			len--;
		memcpy(token, h, len);
		token[len] = '\0';
	}
	if (token[0] == '\0' || !crypto_ct_streq(token, deps->internal_token)) {
		http_reply_error(req, 401, "unauthorized", "a valid internal token is required");
		return -1;
	}
	return 0;
}

static int check_access(const struct guard_deps *deps, struct http_req *req,
			const struct http_route *route, struct guard_ctx *ctx)
{
	switch (route->access) {
	case ACCESS_PUBLIC:
	case ACCESS_IDENTITY:
		return 0;
	case ACCESS_PROFILE:
		return require_state(req, ctx, ONBOARDING_NEEDS_WORKSPACE);
	case ACCESS_READY:
		return require_state(req, ctx, ONBOARDING_READY);
	case ACCESS_WORKSPACE:
		if (require_state(req, ctx, ONBOARDING_READY) != 0)
			return -1;
		return check_workspace(deps, req, route, ctx);
	default:
		break;
	}
	log_error("guard: route %s %s has unknown access level %d", route->method, route->pattern,
		  route->access);
	http_reply_error(req, 500, "internal", "internal error");
	return -1;
}

int guard_check(const struct guard_deps *deps, struct http_req *req, const struct http_route *route)
{
	struct guard_ctx *ctx = ctx_new();
	int rc;

	if (route->access == ACCESS_INTERNAL) {
		rc = check_internal(deps, req);
	} else {
		rc = resolve_identity(deps, req, route->access, ctx);
		if (rc > 0) {
			/* A public route after a backend failure: present no identity at all. */
			guard_ctx_free(ctx);
			ctx = ctx_new();
			rc = 0;
		}
		if (rc == 0)
			rc = check_access(deps, req, route, ctx);
	}
	if (rc != 0) {
		guard_ctx_free(ctx);
		return -1;
	}
	http_set_ctx(req, ctx, guard_ctx_free);
	return 0;
}
