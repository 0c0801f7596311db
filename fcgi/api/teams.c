/* Teams of a workspace: list, create, rename, delete, add and remove members (API-29..API-34).
 *
 * A team (DM-4) is {workspaceId, name, slug, isDefault, createdByUserId, createdAt,
 * updatedAt}, unique on (workspaceId, slug): the slug is derived from the name, so two names
 * that slug alike collide and the unique index answers 409 without a read-then-write race.
 * Team membership (DM-5) is {workspaceId, teamId, userId, createdAt}, unique on all three.
 * The General team (isDefault) holds every member (TEN-15): it cannot be renamed, deleted or
 * left, and it is simply invisible to those routes (404). Apps reference teams in
 * apps.teamIds, which a deletion pulls the team from. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "fcgi/api/api.h"
#include "fcgi/api/tenancy.h"
#include "lib/ids.h"
#include "lib/jsonx.h"
#include "lib/log.h"
#include "lib/timeutil.h"

static void must(int rc)
{
	/* jansson only fails these on allocation failure, and out of memory aborts (STYLE 5). */
	if (rc != 0)
		abort();
}

static json_t *check_team_name(const json_t *v)
{
	return tenancy_text(v, 1, NAME_MAX_CHARS);
}

static const struct tenancy_field name_fields[] = {
	{"name", check_team_name, true, "invalid_team_name", "name must be 1 to 80 characters"},
	{NULL, NULL, false, NULL, NULL},
};

static int reply_store_error(struct http_req *req, const char *what, const struct err *e)
{
	log_warning("%s: %s", what, e->msg);
	return http_reply_err(req, e);
}

static int not_found(struct http_req *req)
{
	return http_reply_error(req, 404, "not_found", "not found");
}

/* A name's slug; a name with no letter or digit at all gets "team". */
static void team_slug(const char *name, char out[NAME_MAX_BYTES + 1])
{
	if (tenancy_slugify(name, out, NAME_MAX_BYTES) == 0)
		strcpy(out, "team");
}

static json_t *team_json(const json_t *t)
{
	json_t *out = json_pack(
		"{s:O?, s:O?, s:O?, s:b, s:O?, s:O?}", "id", json_object_get(t, "_id"), "name",
		json_object_get(t, "name"), "slug", json_object_get(t, "slug"), "isDefault",
		json_is_true(json_object_get(t, "isDefault")), "createdAt",
		json_object_get(t, "createdAt"), "updatedAt", json_object_get(t, "updatedAt"));

	if (out == NULL)
		abort();
	return out;
}

/* {_id, workspaceId} of a team in the caller's workspace, optionally excluding the default. */
static json_t *team_filter(struct http_req *req, const char *team_id, bool not_default)
{
	json_t *f = json_pack("{s:s, s:s}", "_id", team_id, "workspaceId",
			      api_ctx(req)->workspace_id);

	if (f == NULL)
		abort();
	if (not_default)
		must(json_object_set_new(f, "isDefault", json_pack("{s:b}", "$ne", 1)));
	return f;
}

/* The path's team: -1 after a reply (404 for a malformed, unknown or, with not_default, the
 * General team). */
static int load_team(struct http_req *req, bool not_default, json_t **team)
{
	char id[ID_HEX_LEN + 1];
	struct err e = {0};
	json_t *f;
	int rc;

	*team = NULL;
	if (!tenancy_object_id(http_param(req, "teamId"), id)) {
		not_found(req);
		return -1;
	}
	f = team_filter(req, id, not_default);
	rc = store_find_one(api_of(req)->store, "workspace_teams", f, NULL, 0, team, &e);
	json_decref(f);
	if (rc != 0) {
		reply_store_error(req, "team", &e);
		return -1;
	}
	if (*team == NULL) {
		not_found(req);
		return -1;
	}
	return 0;
}

/* GET /api/workspaces/:ws/teams (API-29): default team first, then by name. */
static int list_teams(struct http_req *req)
{
	static const struct store_sort order[] = {{"isDefault", -1}, {"name", 1}};
	struct guard_ctx *ctx = api_ctx(req);
	struct store *s = api_of(req)->store;
	json_t *f = json_pack("{s:s}", "workspaceId", ctx->workspace_id), *teams = NULL, *t;
	json_t *members = NULL, *def = NULL, *list = json_array();
	struct err e = {0};
	size_t i;

	if (f == NULL || list == NULL)
		abort();
	if (http_set_header(req, "x-second-request-id", http_request_id(req)) != 0)
		log_warning("teams: cannot set x-second-request-id");
	if (tenancy_find_all(s, "workspace_teams", f, order, 2, WORKSPACE_TEAMS_MAX, &teams, &e) !=
		    0 ||
	    tenancy_members(s, ctx->workspace_id, &members, &e) != 0 ||
	    tenancy_default_team(s, ctx->workspace_id, &def, &e) != 0) {
		reply_store_error(req, "teams", &e);
		goto out;
	}
	json_array_foreach (teams, i, t)
		must(json_array_append_new(list, team_json(t)));
	http_reply_json(req, 200,
			json_pack("{s:{s:s, s:s, s:o}, s:o, s:O, s:O}", "currentUser", "userId",
				  ctx->user_id, "role", guard_role_name(ctx->role), "permissions",
				  guard_role_permissions(ctx->role), "defaultTeam",
				  tenancy_team_ref(def), "teams", list, "members", members));
out:
	json_decref(f);
	json_decref(teams);
	json_decref(members);
	json_decref(def);
	json_decref(list);
	return 0;
}

/* A client may create teams, so their number has a ceiling; -1 after a reply. */
static int below_team_limit(struct http_req *req)
{
	json_t *f = json_pack("{s:s}", "workspaceId", api_ctx(req)->workspace_id);
	struct err e = {0};
	size_t n = 0;
	int rc;

	if (f == NULL)
		abort();
	rc = store_count(api_of(req)->store, "workspace_teams", f, &n, &e);
	json_decref(f);
	if (rc != 0) {
		reply_store_error(req, "team count", &e);
		return -1;
	}
	if (n >= WORKSPACE_TEAMS_MAX) {
		http_reply_error(req, 409, "team_limit_reached", "a workspace has at most %d teams",
				 WORKSPACE_TEAMS_MAX);
		return -1;
	}
	return 0;
}

static int reply_write_error(struct http_req *req, const char *what, const struct err *e)
{
	if (e->code == ERR_DUPLICATE)
		return http_reply_error(req, 409, "team_name_unavailable",
					"another team already has this name");
	return reply_store_error(req, what, e);
}

/* POST /api/workspaces/:ws/teams {name} (API-30). */
static int create_team(struct http_req *req)
{
	struct guard_ctx *ctx = api_ctx(req);
	char slug[NAME_MAX_BYTES + 1], now[TIME_ISO_LEN + 1];
	json_t *body = NULL, *team = NULL;
	struct err e = {0};

	if (tenancy_body(req, name_fields, &body) != 0 || below_team_limit(req) != 0)
		goto out;
	team_slug(jsonx_str(body, "name"), slug);
	time_now_iso8601(now);
	team = json_pack("{s:s, s:O, s:s, s:b, s:s, s:s, s:s}", "workspaceId", ctx->workspace_id,
			 "name", json_object_get(body, "name"), "slug", slug, "isDefault", 0,
			 "createdByUserId", ctx->user_id, "createdAt", now, "updatedAt", now);
	if (team == NULL)
		abort();
	if (store_insert(api_of(req)->store, "workspace_teams", team, &e) != 0) {
		reply_write_error(req, "team create", &e);
		goto out;
	}
	api_audit(req, "team.created", "teams", "notice", "team", jsonx_str(team, "_id"),
		  jsonx_str(team, "name"), "Created a team", json_pack("{s:s}", "slug", slug));
	http_reply_json(req, 201, json_pack("{s:o}", "team", team_json(team)));
out:
	json_decref(body);
	json_decref(team);
	return 0;
}

/* PATCH /api/workspaces/:ws/teams/:teamId {name} (API-31): renaming re-derives the slug. */
static int rename_team(struct http_req *req)
{
	char id[ID_HEX_LEN + 1], slug[NAME_MAX_BYTES + 1], now[TIME_ISO_LEN + 1];
	json_t *body = NULL, *f = NULL, *u = NULL, *before = NULL;
	const char *name, *old_name;
	struct err e = {0};

	if (!tenancy_object_id(http_param(req, "teamId"), id)) {
		not_found(req);
		goto out;
	}
	if (tenancy_body(req, name_fields, &body) != 0)
		goto out;
	name = jsonx_str(body, "name");
	team_slug(name, slug);
	time_now_iso8601(now);
	f = team_filter(req, id, true);
	u = json_pack("{s:{s:s, s:s, s:s}}", "$set", "name", name, "slug", slug, "updatedAt", now);
	if (u == NULL)
		abort();
	if (store_find_one_and_update(api_of(req)->store, "workspace_teams", f, u, NULL, 0,
				      STORE_RETURN_OLD, &before, &e) != 0) {
		reply_write_error(req, "team rename", &e);
		goto out;
	}
	if (before == NULL) {
		not_found(req);
		goto out;
	}
	old_name = jsonx_str(before, "name");
	if (old_name == NULL || strcmp(old_name, name) != 0)
		api_audit(req, "team.renamed", "teams", "notice", "team", id, name,
			  "Renamed a team",
			  json_pack("{s:s?, s:s, s:s}", "previousName", old_name, "name", name,
				    "slug", slug));
	http_reply_json(req, 200,
			json_pack("{s:{s:s, s:s, s:s, s:b}}", "team", "id", id, "name", name,
				  "slug", slug, "isDefault", 0));
out:
	json_decref(body);
	json_decref(f);
	json_decref(u);
	json_decref(before);
	return 0;
}

/* Pulls the team from apps and drops its memberships; counts go to the audit event. */
static int detach_team(struct http_req *req, const char *team_id, size_t *apps, size_t *members,
		       struct err *e)
{
	const char *ws = api_ctx(req)->workspace_id;
	struct store *s = api_of(req)->store;
	json_t *f = json_pack("{s:s, s:s}", "workspaceId", ws, "teamIds", team_id);
	json_t *u = json_pack("{s:{s:s}}", "$pull", "teamIds", team_id);
	int rc;

	if (f == NULL || u == NULL)
		abort();
	rc = store_update_many(s, "apps", f, u, apps, e);
	json_decref(f);
	json_decref(u);
	if (rc != 0)
		return -1;
	f = json_pack("{s:s, s:s}", "workspaceId", ws, "teamId", team_id);
	if (f == NULL)
		abort();
	rc = store_delete_many(s, "workspace_team_memberships", f, members, e);
	json_decref(f);
	return rc;
}

/* DELETE /api/workspaces/:ws/teams/:teamId (API-32). References go first and the team last,
 * so a failure half way leaves the team in place and the request can simply be repeated. */
static int delete_team(struct http_req *req)
{
	json_t *team = NULL, *f = NULL;
	size_t apps = 0, members = 0, n = 0;
	const char *id;
	struct err e = {0};

	if (load_team(req, true, &team) != 0)
		goto out;
	id = jsonx_str(team, "_id");
	if (detach_team(req, id, &apps, &members, &e) != 0) {
		reply_store_error(req, "team delete", &e);
		goto out;
	}
	f = team_filter(req, id, true);
	if (store_delete_one(api_of(req)->store, "workspace_teams", f, &n, &e) != 0) {
		reply_store_error(req, "team delete", &e);
		goto out;
	}
	if (n == 0) {
		not_found(req); /* deleted by a concurrent request */
		goto out;
	}
	api_audit(req, "team.deleted", "teams", "warning", "team", id, jsonx_str(team, "name"),
		  "Deleted a team",
		  json_pack("{s:I, s:I}", "appsUpdated", (json_int_t)apps, "membershipsRemoved",
			    (json_int_t)members));
	http_reply_json(req, 200, json_pack("{s:b}", "ok", 1));
out:
	json_decref(team);
	json_decref(f);
	return 0;
}

/* The path's user, who must be a member of the workspace; -1 after a 404. */
static int load_member(struct http_req *req, char uid[ID_HEX_LEN + 1], json_t **user)
{
	json_t *f = NULL, *m = NULL;
	struct err e = {0};
	int rc = -1;

	*user = NULL;
	if (!tenancy_object_id(http_param(req, "userId"), uid)) {
		http_reply_error(req, 404, "member_not_found", "no such member");
		return -1;
	}
	f = json_pack("{s:s, s:s}", "workspaceId", api_ctx(req)->workspace_id, "userId", uid);
	if (f == NULL)
		abort();
	if (store_find_one(api_of(req)->store, "workspace_memberships", f, NULL, 0, &m, &e) != 0 ||
	    (m != NULL && store_get(api_of(req)->store, "users", uid, user, &e) != 0))
		reply_store_error(req, "member", &e);
	else if (m == NULL)
		http_reply_error(req, 404, "member_not_found", "no such member");
	else
		rc = 0;
	json_decref(f);
	json_decref(m);
	return rc;
}

/* PUT /api/workspaces/:ws/teams/:teamId/members/:userId (API-33): adding twice is a no-op. */
static int add_team_member(struct http_req *req)
{
	char uid[ID_HEX_LEN + 1], now[TIME_ISO_LEN + 1];
	json_t *team = NULL, *user = NULL, *tm = NULL;
	struct err e = {0};

	if (load_team(req, false, &team) != 0 || load_member(req, uid, &user) != 0)
		goto out;
	time_now_iso8601(now);
	tm = json_pack("{s:s, s:O, s:s, s:s}", "workspaceId", api_ctx(req)->workspace_id, "teamId",
		       json_object_get(team, "_id"), "userId", uid, "createdAt", now);
	if (tm == NULL)
		abort();
	if (store_insert(api_of(req)->store, "workspace_team_memberships", tm, &e) == 0) {
		api_audit(req, "member.team_added", "members", "info", "member", uid,
			  jsonx_str(user, "displayName"), "Added a member to a team",
			  json_pack("{s:O, s:O?}", "teamId", json_object_get(team, "_id"),
				    "teamName", json_object_get(team, "name")));
	} else if (e.code != ERR_DUPLICATE) {
		reply_store_error(req, "team member add", &e);
		goto out;
	}
	http_reply_json(req, 200, json_pack("{s:b}", "ok", 1));
out:
	json_decref(team);
	json_decref(user);
	json_decref(tm);
	return 0;
}

/* DELETE /api/workspaces/:ws/teams/:teamId/members/:userId (API-34): never from General. */
static int remove_team_member(struct http_req *req)
{
	char uid[ID_HEX_LEN + 1];
	json_t *team = NULL, *f = NULL, *user = NULL;
	struct err e = {0};
	size_t n = 0;

	if (load_team(req, true, &team) != 0)
		goto out;
	if (!tenancy_object_id(http_param(req, "userId"), uid)) {
		not_found(req);
		goto out;
	}
	f = json_pack("{s:s, s:O, s:s}", "workspaceId", api_ctx(req)->workspace_id, "teamId",
		      json_object_get(team, "_id"), "userId", uid);
	if (f == NULL)
		abort();
	if (store_delete_one(api_of(req)->store, "workspace_team_memberships", f, &n, &e) != 0) {
		reply_store_error(req, "team member remove", &e);
		goto out;
	}
	if (n == 0) {
		not_found(req);
		goto out;
	}
	if (store_get(api_of(req)->store, "users", uid, &user, &e) != 0)
		log_warning("user %s: %s", uid, e.msg); /* only a label for the audit event */
	api_audit(req, "member.team_removed", "members", "info", "member", uid,
		  jsonx_str(user, "displayName"), "Removed a member from a team",
		  json_pack("{s:O, s:O?}", "teamId", json_object_get(team, "_id"), "teamName",
			    json_object_get(team, "name")));
	http_reply_json(req, 200, json_pack("{s:b}", "ok", 1));
out:
	json_decref(team);
	json_decref(f);
	json_decref(user);
	return 0;
}

const struct http_route api_routes_teams[] = {
	{"GET", "/api/workspaces/:ws/teams", list_teams, ACCESS_WORKSPACE, PERM_NONE, NULL, 0},
	{"POST", "/api/workspaces/:ws/teams", create_team, ACCESS_WORKSPACE, PERM_MEMBERS_MANAGE,
	 "forbidden", 0},
	{"PATCH", "/api/workspaces/:ws/teams/:teamId", rename_team, ACCESS_WORKSPACE,
	 PERM_MEMBERS_MANAGE, "forbidden", 0},
	{"DELETE", "/api/workspaces/:ws/teams/:teamId", delete_team, ACCESS_WORKSPACE,
	 PERM_MEMBERS_MANAGE, "forbidden", 0},
	{"PUT", "/api/workspaces/:ws/teams/:teamId/members/:userId", add_team_member,
	 ACCESS_WORKSPACE, PERM_MEMBERS_MANAGE, "forbidden", 0},
	{"DELETE", "/api/workspaces/:ws/teams/:teamId/members/:userId", remove_team_member,
	 ACCESS_WORKSPACE, PERM_MEMBERS_MANAGE, "forbidden", 0},
	{NULL, NULL, NULL, 0, 0, NULL, 0},
};
