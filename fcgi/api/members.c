/* Workspace members: the list, role changes and removal, with owner safety (API-22..API-24).
 *
 * A membership (DM-3) is {workspaceId, userId, role, invitedByUserId?, createdAt, updatedAt};
 * the user's name and email live in `users` (DM-1) and their teams in
 * workspace_team_memberships (DM-5). TEN-14: nobody changes their own role or removes
 * themselves, owners are touched only with members:manage-owner, and a workspace keeps at
 * least one owner. The store has no multi-document transactions, so "last owner" is checked
 * twice: a count before the write (the common case, with a clean 400), and a count after it,
 * undoing the write when it left no owner. Two owners demoting each other at the same moment
 * can therefore both be refused, but never both succeed. The residual risk is a process that
 * dies between the write and its undo, which leaves the workspace without an owner until an
 * operator fixes it. This file also holds the data-side helpers of fcgi/api/tenancy.h. */
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

static json_t *ws_filter(const char *workspace_id)
{
	json_t *f = json_pack("{s:s}", "workspaceId", workspace_id);

	if (f == NULL)
		abort();
	return f;
}

/* Data-side helpers of tenancy.h */

int tenancy_find_all(struct store *s, const char *coll, const json_t *filter,
		     const struct store_sort *sort, size_t nsort, size_t max, json_t **docs,
		     struct err *e)
{
	struct store_find_opts opts = {.sort = sort, .nsort = nsort};
	json_t *all = json_array(), *page = NULL;
	char *cursor = NULL, *next = NULL;
	int rc = -1;

	if (all == NULL)
		abort();
	*docs = NULL;
	do {
		opts.cursor = cursor;
		if (store_find(s, coll, filter, &opts, &page, &next, e) != 0)
			goto out;
		must(json_array_extend(all, page));
		json_decref(page);
		page = NULL;
		free(cursor);
		cursor = next;
		next = NULL;
		if (json_array_size(all) > max) {
			err_set(e, ERR_TOO_LARGE, "%s: more than %zu documents", coll, max);
			goto out;
		}
	} while (cursor != NULL);
	*docs = all;
	all = NULL;
	rc = 0;
out:
	json_decref(all);
	free(cursor);
	return rc;
}

/* One $in query of at most STORE_MAX_IN_VALUES ids, added to by_id. */
static int by_id_chunk(struct store *s, const char *coll, json_t *chunk, const json_t *extra_filter,
		       json_t *by_id, struct err *e)
{
	json_t *filter = json_pack("{s:{s:O}}", "_id", "$in", chunk), *docs = NULL, *doc;
	size_t i;
	int rc;

	if (filter == NULL)
		abort();
	if (extra_filter != NULL)
		must(json_object_update(filter, (json_t *)extra_filter));
	rc = tenancy_find_all(s, coll, filter, NULL, 0, STORE_MAX_IN_VALUES, &docs, e);
	json_decref(filter);
	if (rc != 0)
		return -1;
	json_array_foreach (docs, i, doc)
		must(json_object_set(by_id, jsonx_str(doc, "_id"), doc));
	json_decref(docs);
	return 0;
}

int tenancy_by_id(struct store *s, const char *coll, const json_t *ids, const json_t *extra_filter,
		  json_t **by_id, struct err *e)
{
	json_t *map = json_object(), *chunk = json_array(), *id;
	size_t i;
	int rc = -1;

	if (map == NULL || chunk == NULL)
		abort();
	*by_id = NULL;
	json_array_foreach (ids, i, id) {
		if (!json_is_string(id))
			continue;
		must(json_array_append(chunk, id));
		if (json_array_size(chunk) == STORE_MAX_IN_VALUES) {
			if (by_id_chunk(s, coll, chunk, extra_filter, map, e) != 0)
				goto out;
			json_array_clear(chunk);
		}
	}
	if (json_array_size(chunk) > 0 && by_id_chunk(s, coll, chunk, extra_filter, map, e) != 0)
		goto out;
	*by_id = map;
	map = NULL;
	rc = 0;
out:
	json_decref(map);
	json_decref(chunk);
	return rc;
}

/* userId -> [teamId...] for one workspace. */
static int team_ids_by_user(struct store *s, const char *workspace_id, json_t **out, struct err *e)
{
	json_t *filter = ws_filter(workspace_id), *docs = NULL, *doc, *map = json_object();
	size_t i;
	int rc;

	if (map == NULL)
		abort();
	rc = tenancy_find_all(s, "workspace_team_memberships", filter, NULL, 0,
			      WORKSPACE_TEAM_MEMBERSHIPS_MAX, &docs, e);
	json_decref(filter);
	if (rc != 0) {
		json_decref(map);
		return -1;
	}
	json_array_foreach (docs, i, doc) {
		const char *user = jsonx_str(doc, "userId");
		json_t *team = json_object_get(doc, "teamId"), *list;

		if (user == NULL || !json_is_string(team))
			continue;
		list = json_object_get(map, user);
		if (list == NULL) {
			list = json_array();
			must(json_object_set_new(map, user, list));
		}
		must(json_array_append(list, team));
	}
	json_decref(docs);
	*out = map;
	return 0;
}

static json_t *member_json(const json_t *m, const json_t *user, json_t *team_ids)
{
	json_t *updated = json_object_get(m, "updatedAt");
	json_t *out = json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?, s:O, s:O?, s:O?}", "id",
				json_object_get(m, "_id"), "userId", json_object_get(m, "userId"),
				"displayName", json_object_get(user, "displayName"), "email",
				json_object_get(user, "email"), "role", json_object_get(m, "role"),
				"teamIds", team_ids, "createdAt", json_object_get(m, "createdAt"),
				"updatedAt", updated ? updated : json_object_get(m, "createdAt"));

	if (out == NULL)
		abort();
	return out;
}

int tenancy_members(struct store *s, const char *workspace_id, json_t **members, struct err *e)
{
	static const struct store_sort oldest_first[] = {{"createdAt", 1}};
	json_t *filter = ws_filter(workspace_id), *ms = NULL, *teams = NULL, *users = NULL;
	json_t *user_ids = json_array(), *out = json_array(), *m;
	size_t i;
	int rc = -1;

	if (user_ids == NULL || out == NULL)
		abort();
	*members = NULL;
	if (tenancy_find_all(s, "workspace_memberships", filter, oldest_first, 1,
			     WORKSPACE_MEMBERS_MAX, &ms, e) != 0 ||
	    team_ids_by_user(s, workspace_id, &teams, e) != 0)
		goto out;
	json_array_foreach (ms, i, m)
		if (json_is_string(json_object_get(m, "userId")))
			must(json_array_append(user_ids, json_object_get(m, "userId")));
	if (tenancy_by_id(s, "users", user_ids, NULL, &users, e) != 0)
		goto out;
	json_array_foreach (ms, i, m) {
		const char *uid = jsonx_str(m, "userId");
		json_t *tids = uid ? json_object_get(teams, uid) : NULL, *empty = json_array();

		if (empty == NULL)
			abort();
		must(json_array_append_new(out,
					   member_json(m, uid ? json_object_get(users, uid) : NULL,
						       tids ? tids : empty)));
		json_decref(empty);
	}
	*members = out;
	out = NULL;
	rc = 0;
out:
	json_decref(filter);
	json_decref(ms);
	json_decref(teams);
	json_decref(users);
	json_decref(user_ids);
	json_decref(out);
	return rc;
}

int tenancy_default_team(struct store *s, const char *workspace_id, json_t **team, struct err *e)
{
	json_t *ws = NULL, *filter = NULL;
	const char *team_id;
	int rc = -1;

	*team = NULL;
	if (store_get(s, "workspaces", workspace_id, &ws, e) != 0)
		return -1;
	team_id = jsonx_str(ws, "defaultTeamId");
	/* Older documents may lack defaultTeamId: the isDefault flag names the team too. */
	if (team_id != NULL)
		filter = json_pack("{s:s, s:s}", "_id", team_id, "workspaceId", workspace_id);
	else
		filter = json_pack("{s:s, s:b}", "workspaceId", workspace_id, "isDefault", 1);
	if (filter == NULL)
		abort();
	if (store_find_one(s, "workspace_teams", filter, NULL, 0, team, e) != 0)
		goto out;
	rc = 0;
out:
	json_decref(ws);
	json_decref(filter);
	return rc;
}

json_t *tenancy_team_ref(const json_t *team)
{
	json_t *out;

	if (team == NULL)
		return json_null();
	out = json_pack("{s:O?, s:O?, s:O?}", "id", json_object_get(team, "_id"), "name",
			json_object_get(team, "name"), "slug", json_object_get(team, "slug"));
	if (out == NULL)
		abort();
	return out;
}

static void join_undo(struct store *s, const char *workspace_id, const json_t *membership,
		      json_t *added)
{
	json_t *f = json_pack("{s:s, s:{s:O}}", "workspaceId", workspace_id, "_id", "$in", added);
	struct err e = {0};

	if (f == NULL)
		abort();
	if (json_array_size(added) > 0 &&
	    store_delete_many(s, "workspace_team_memberships", f, NULL, &e) != 0)
		log_error("join %s: undo team memberships: %s", workspace_id, e.msg);
	json_decref(f);
	f = json_pack("{s:s, s:O}", "workspaceId", workspace_id, "_id",
		      json_object_get(membership, "_id"));
	if (f == NULL)
		abort();
	if (store_delete_one(s, "workspace_memberships", f, NULL, &e) != 0)
		log_error("join %s: undo membership: %s", workspace_id, e.msg);
	json_decref(f);
}

static int join_team(struct store *s, const char *workspace_id, const char *user_id,
		     json_t *team_id, const char *now, json_t *added, struct err *e)
{
	json_t *tm = json_pack("{s:s, s:O, s:s, s:s}", "workspaceId", workspace_id, "teamId",
			       team_id, "userId", user_id, "createdAt", now);
	int rc = 0;

	if (tm == NULL)
		abort();
	if (store_insert(s, "workspace_team_memberships", tm, e) == 0)
		must(json_array_append(added, json_object_get(tm, "_id")));
	else if (e->code == ERR_DUPLICATE)
		err_clear(e); /* already in the team: joining is idempotent there */
	else
		rc = -1;
	json_decref(tm);
	return rc;
}

int tenancy_join(struct store *s, const char *workspace_id, const char *user_id, const char *role,
		 const char *invited_by, const json_t *team_ids, json_t **membership, struct err *e)
{
	json_t *m = NULL, *added = json_array(), *team_id;
	char now[TIME_ISO_LEN + 1];
	size_t i;
	int rc = -1;

	if (added == NULL)
		abort();
	if (membership != NULL)
		*membership = NULL;
	time_now_iso8601(now);
	m = json_pack("{s:s, s:s, s:s, s:s, s:s}", "workspaceId", workspace_id, "userId", user_id,
		      "role", role, "createdAt", now, "updatedAt", now);
	if (m == NULL)
		abort();
	if (invited_by != NULL)
		must(json_object_set_new(m, "invitedByUserId", json_string(invited_by)));
	if (store_insert(s, "workspace_memberships", m, e) != 0)
		goto out;
	json_array_foreach (team_ids, i, team_id)
		if (json_is_string(team_id) &&
		    join_team(s, workspace_id, user_id, team_id, now, added, e) != 0) {
			join_undo(s, workspace_id, m, added);
			goto out;
		}
	if (membership != NULL)
		*membership = json_incref(m);
	rc = 0;
out:
	json_decref(m);
	json_decref(added);
	return rc;
}

/* Handlers */

static int reply_store_error(struct http_req *req, const char *what, const struct err *e)
{
	log_warning("%s: %s", what, e->msg);
	return http_reply_err(req, e);
}

/* GET /api/workspaces/:ws/members (API-22). */
static int list_members(struct http_req *req)
{
	struct guard_ctx *ctx = api_ctx(req);
	struct store *s = api_of(req)->store;
	json_t *members = NULL, *team = NULL;
	struct err e = {0};

	/* C-0.6: settings routes echo the request id for client-side timing. */
	if (http_set_header(req, "x-second-request-id", http_request_id(req)) != 0)
		log_warning("members: cannot set x-second-request-id");
	if (tenancy_members(s, ctx->workspace_id, &members, &e) != 0 ||
	    tenancy_default_team(s, ctx->workspace_id, &team, &e) != 0) {
		json_decref(members);
		return reply_store_error(req, "members", &e);
	}
	http_reply_json(req, 200,
			json_pack("{s:{s:s, s:s, s:o, s:O}, s:o, s:{s:b, s:s}, s:o}", "currentUser",
				  "userId", ctx->user_id, "role", guard_role_name(ctx->role),
				  "permissions", guard_role_permissions(ctx->role), "teamIds",
				  ctx->team_ids, "defaultTeam", tenancy_team_ref(team),
				  "invitationCapability", "supported", 1, "provider", "local",
				  "members", members));
	json_decref(team);
	return 0;
}

static json_t *check_role(const json_t *v)
{
	enum guard_role role;

	if (!json_is_string(v) || guard_role_parse(json_string_value(v), &role) != 0)
		return NULL;
	return json_string(json_string_value(v));
}

static const struct tenancy_field role_fields[] = {
	{"role", check_role, true, "invalid_role", "role must be owner, admin or member"},
	{NULL, NULL, false, NULL, NULL},
};

/* The path's member: -1 after a 404 (malformed id) or a 400 (the caller themself). */
static int target_user(struct http_req *req, char uid[ID_HEX_LEN + 1], const char *self_code,
		       const char *self_message)
{
	if (!tenancy_object_id(http_param(req, "userId"), uid)) {
		http_reply_error(req, 404, "member_not_found", "no such member");
		return -1;
	}
	if (strcmp(uid, api_ctx(req)->user_id) == 0) {
		http_reply_error(req, 400, self_code, "%s", self_message);
		return -1;
	}
	return 0;
}

/* The target's membership in the caller's workspace; -1 after a reply (404 or 5xx). */
static int load_membership(struct http_req *req, const char *uid, json_t **m)
{
	json_t *f = json_pack("{s:s, s:s}", "workspaceId", api_ctx(req)->workspace_id, "userId",
			      uid);
	struct err e = {0};
	int rc;

	if (f == NULL)
		abort();
	rc = store_find_one(api_of(req)->store, "workspace_memberships", f, NULL, 0, m, &e);
	json_decref(f);
	if (rc != 0) {
		reply_store_error(req, "membership", &e);
		return -1;
	}
	if (*m == NULL) {
		http_reply_error(req, 404, "member_not_found", "no such member");
		return -1;
	}
	return 0;
}

static int count_owners(struct http_req *req, size_t *n, struct err *e)
{
	json_t *f = json_pack("{s:s, s:s}", "workspaceId", api_ctx(req)->workspace_id, "role",
			      "owner");
	int rc;

	if (f == NULL)
		abort();
	rc = store_count(api_of(req)->store, "workspace_memberships", f, n, e);
	json_decref(f);
	return rc;
}

/* The pre-write half of the last-owner rule; -1 after a reply. */
static int keeps_an_owner(struct http_req *req)
{
	struct err e = {0};
	size_t n = 0;

	if (count_owners(req, &n, &e) != 0) {
		reply_store_error(req, "owner count", &e);
		return -1;
	}
	if (n < 2) {
		http_reply_error(req, 400, "workspace_must_have_owner",
				 "a workspace must keep at least one owner");
		return -1;
	}
	return 0;
}

/* The post-write half: true when the write left no owner and must be undone. A failed count
 * is treated as "no owner", so the write is undone rather than left unchecked. */
static bool left_no_owner(struct http_req *req)
{
	struct err e = {0};
	size_t n = 0;

	if (count_owners(req, &n, &e) != 0) {
		log_warning("owner recount: %s", e.msg);
		return true;
	}
	return n == 0;
}

static const char *display_name(struct http_req *req, const char *uid, json_t **user)
{
	struct err e = {0};

	if (store_get(api_of(req)->store, "users", uid, user, &e) != 0)
		log_warning("user %s: %s", uid, e.msg); /* only a label for the audit event */
	return jsonx_str(*user, "displayName");
}

/* Sets the role if it still is `from`; *after gets the new document, NULL if it changed. */
static int set_role(struct http_req *req, const json_t *m, const char *from, const char *to,
		    const char *now, json_t **after, struct err *e)
{
	json_t *f = json_pack("{s:O, s:s, s:s}", "_id", json_object_get(m, "_id"), "workspaceId",
			      api_ctx(req)->workspace_id, "role", from);
	json_t *u = json_pack("{s:{s:s, s:s}}", "$set", "role", to, "updatedAt", now);
	int rc;

	if (f == NULL || u == NULL)
		abort();
	rc = store_find_one_and_update(api_of(req)->store, "workspace_memberships", f, u, NULL, 0,
				       0, after, e);
	json_decref(f);
	json_decref(u);
	return rc;
}

static int reply_changed(struct http_req *req)
{
	return http_reply_error(req, 409, "member_changed",
				"the member changed at the same time; try again");
}

/* Writes the role change, with the post-write owner check; -1 after a reply. */
static int change_role(struct http_req *req, const json_t *m, const char *from, const char *to,
		       json_t **after)
{
	char now[TIME_ISO_LEN + 1];
	json_t *undone = NULL;
	struct err e = {0};

	time_now_iso8601(now);
	if (set_role(req, m, from, to, now, after, &e) != 0) {
		reply_store_error(req, "role change", &e);
		return -1;
	}
	if (*after == NULL) {
		reply_changed(req);
		return -1;
	}
	if (strcmp(from, "owner") != 0 || !left_no_owner(req))
		return 0;
	if (set_role(req, m, to, from, now, &undone, &e) != 0 || undone == NULL)
		log_error("workspace %s: undoing a demotion of its last owner failed: %s",
			  api_ctx(req)->workspace_id, e.msg);
	json_decref(undone);
	json_decref(*after);
	*after = NULL;
	http_reply_error(req, 400, "workspace_must_have_owner",
			 "a workspace must keep at least one owner");
	return -1;
}

static bool needs_owner_perm(struct http_req *req, const char *from, const char *to)
{
	bool touches_owner = strcmp(from, "owner") == 0 || (to && strcmp(to, "owner") == 0);

	return touches_owner && !guard_role_has(api_ctx(req)->role, PERM_MEMBERS_MANAGE_OWNER);
}

/* PATCH /api/workspaces/:ws/members/:userId {role} (API-23), checks in the spec's order. */
static int patch_member(struct http_req *req)
{
	json_t *body = NULL, *m = NULL, *after = NULL, *user = NULL;
	char uid[ID_HEX_LEN + 1];
	const char *from, *to;

	if (target_user(req, uid, "cannot_change_own_role", "you cannot change your own role") !=
		    0 ||
	    tenancy_body(req, role_fields, &body) != 0 || load_membership(req, uid, &m) != 0)
		goto out;
	from = jsonx_str(m, "role") ? jsonx_str(m, "role") : "";
	to = jsonx_str(body, "role");
	if (needs_owner_perm(req, from, to)) {
		http_reply_error(req, 403, "workspace_owner_management_forbidden",
				 "only an owner can change an owner or make one");
		goto out;
	}
	if (strcmp(from, to) == 0) {
		after = json_incref(m);
	} else {
		if (strcmp(from, "owner") == 0 && keeps_an_owner(req) != 0)
			goto out;
		if (change_role(req, m, from, to, &after) != 0)
			goto out;
		api_audit(req, "member.role_changed", "members", "notice", "member", uid,
			  display_name(req, uid, &user), "Changed a member's role",
			  json_pack("{s:s, s:s}", "fromRole", from, "toRole", to));
	}
	http_reply_json(req, 200,
			json_pack("{s:b, s:{s:s, s:O?, s:O?}}", "ok", 1, "member", "userId", uid,
				  "role", json_object_get(after, "role"), "updatedAt",
				  json_object_get(after, "updatedAt")));
out:
	json_decref(body);
	json_decref(m);
	json_decref(after);
	json_decref(user);
	return 0;
}

/* Removes the membership if its role is still `role`: 1 removed, 0 it changed, -1 error. */
static int remove_membership(struct http_req *req, const json_t *m, const char *role)
{
	json_t *f = json_pack("{s:O, s:s, s:s}", "_id", json_object_get(m, "_id"), "workspaceId",
			      api_ctx(req)->workspace_id, "role", role);
	struct err e = {0};
	size_t n = 0;
	int rc;

	if (f == NULL)
		abort();
	rc = store_delete_one(api_of(req)->store, "workspace_memberships", f, &n, &e);
	json_decref(f);
	if (rc != 0) {
		reply_store_error(req, "member removal", &e);
		return -1;
	}
	if (n == 0)
		reply_changed(req);
	return n > 0 ? 1 : 0;
}

/* Puts a removed owner's membership back when the removal left no owner; -1 after a reply. */
static int recheck_owner_removal(struct http_req *req, json_t *m)
{
	struct err e = {0};

	if (!left_no_owner(req))
		return 0;
	if (store_insert(api_of(req)->store, "workspace_memberships", m, &e) != 0)
		log_error("workspace %s: restoring its last owner failed: %s",
			  api_ctx(req)->workspace_id, e.msg);
	http_reply_error(req, 400, "workspace_must_have_owner",
			 "a workspace must keep at least one owner");
	return -1;
}

static void remove_team_memberships(struct http_req *req, const char *uid, size_t *n)
{
	json_t *f = json_pack("{s:s, s:s}", "workspaceId", api_ctx(req)->workspace_id, "userId",
			      uid);
	struct err e = {0};

	if (f == NULL)
		abort();
	/* Left over team memberships grant nothing without a membership (the guard checks it
	 * first) and are removed again if the user rejoins and leaves: log and carry on. */
	if (store_delete_many(api_of(req)->store, "workspace_team_memberships", f, n, &e) != 0)
		log_warning("member %s: team memberships: %s", uid, e.msg);
	json_decref(f);
}

/* DELETE /api/workspaces/:ws/members/:userId (API-24). */
static int delete_member(struct http_req *req)
{
	json_t *m = NULL, *user = NULL;
	char uid[ID_HEX_LEN + 1];
	const char *role;
	size_t teams = 0;
	int removed;

	if (target_user(req, uid, "cannot_remove_self", "you cannot remove yourself") != 0 ||
	    load_membership(req, uid, &m) != 0)
		goto out;
	role = jsonx_str(m, "role") ? jsonx_str(m, "role") : "";
	if (needs_owner_perm(req, role, NULL)) {
		http_reply_error(req, 403, "workspace_owner_management_forbidden",
				 "only an owner can remove an owner");
		goto out;
	}
	if (strcmp(role, "owner") == 0 && keeps_an_owner(req) != 0)
		goto out;
	removed = remove_membership(req, m, role);
	if (removed <= 0)
		goto out;
	if (strcmp(role, "owner") == 0 && recheck_owner_removal(req, m) != 0)
		goto out;
	remove_team_memberships(req, uid, &teams);
	api_audit(
		req, "member.removed", "members", "warning", "member", uid,
		display_name(req, uid, &user), "Removed a member from the workspace",
		json_pack("{s:s, s:I}", "role", role, "teamMembershipsRemoved", (json_int_t)teams));
	http_reply_json(req, 200, json_pack("{s:b}", "ok", 1));
out:
	json_decref(m);
	json_decref(user);
	return 0;
}

const struct http_route api_routes_members[] = {
	{"GET", "/api/workspaces/:ws/members", list_members, ACCESS_WORKSPACE, PERM_MEMBERS_VIEW,
	 "workspace_members_forbidden", 0},
	{"PATCH", "/api/workspaces/:ws/members/:userId", patch_member, ACCESS_WORKSPACE,
	 PERM_MEMBERS_MANAGE, NULL, 0},
	{"DELETE", "/api/workspaces/:ws/members/:userId", delete_member, ACCESS_WORKSPACE,
	 PERM_MEMBERS_MANAGE, NULL, 0},
	{NULL, NULL, NULL, 0, 0, NULL, 0},
};
