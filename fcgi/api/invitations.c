/* Invitations with the local provider: invite, list, resend, revoke, and accept (API-25..28).
 *
 * An invitation (DM-6) is {workspaceId, email, emailNormalized, role, teamIds:[General],
 * status: pending|accepted|revoked|expired, provider:"local", invitedByUserId/Name,
 * createdAt, updatedAt, expiresAt (now + INVITATION_TTL_S), acceptedAt, revokedAt}. The
 * local provider sends nothing: the invitee signs in with the invited email and finds the
 * invitation under GET /api/invitations (ours; the reference has no local acceptance).
 * Status changes are compare-and-set updates guarded by {status:"pending"}, so of two
 * concurrent accepts or revokes exactly one wins. "At most one pending invitation per
 * address" has no unique index to lean on: an invitation is inserted, then the pending ones
 * for that address are counted, and a second one removes itself again (two racing requests
 * may then both answer 409; neither leaves a duplicate). */
#include <config.h>

#include <ctype.h>
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

static int reply_store_error(struct http_req *req, const char *what, const struct err *e)
{
	log_warning("%s: %s", what, e->msg);
	return http_reply_err(req, e);
}

static int not_found(struct http_req *req)
{
	return http_reply_error(req, 404, "workspace_invitation_not_found", "no such invitation");
}

/* API-26: 3..254 characters matching ^[^\s@]+@[^\s@]+\.[^\s@]+$, after trimming: one '@'
 * with something before it, and a '.' in the domain with something on both sides. */
static bool email_shape(const char *s)
{
	const char *at = strchr(s, '@'), *domain;
	size_t len;

	if (at == NULL || at == s || strchr(at + 1, '@') != NULL || strpbrk(s, " \t\n\r\v\f"))
		return false;
	domain = at + 1;
	len = strlen(domain);
	for (size_t i = 1; i + 1 < len; i++)
		if (domain[i] == '.')
			return true;
	return false;
}

static json_t *check_email(const json_t *v)
{
	json_t *t = tenancy_text(v, 3, EMAIL_MAX_CHARS);

	if (t != NULL && !email_shape(json_string_value(t))) {
		json_decref(t);
		return NULL;
	}
	return t;
}

static json_t *check_role(const json_t *v)
{
	enum guard_role role;

	if (!json_is_string(v) || guard_role_parse(json_string_value(v), &role) != 0)
		return NULL;
	return json_string(json_string_value(v));
}

static const struct tenancy_field invite_fields[] = {
	{"email", check_email, true, "invalid_email", "email must be a valid address"},
	{"role", check_role, true, "invalid_role", "role must be owner, admin or member"},
	{NULL, NULL, false, NULL, NULL},
};

/* DM-1 emailNormalized: trimmed and lowercased. out needs EMAIL_MAX_BYTES + 1. */
static void email_normalize(const char *email, char *out, size_t outsz)
{
	size_t n = 0, len;

	while (*email == ' ' || *email == '\t')
		email++;
	len = strlen(email);
	while (len > 0 && (email[len - 1] == ' ' || email[len - 1] == '\t'))
		len--;
	for (; n < len && n + 1 < outsz; n++)
		out[n] = (char)tolower((unsigned char)email[n]);
	out[n] = '\0';
}

/* The calling user's normalised email, "" when they have none. */
static void caller_email(struct http_req *req, char *out, size_t outsz)
{
	const json_t *user = api_ctx(req)->user;
	const char *e = jsonx_str(user, "emailNormalized");

	email_normalize(e != NULL ? e : (jsonx_str(user, "email") ? jsonx_str(user, "email") : ""),
			out, outsz);
}

/* A pending invitation past its expiry reads as expired before anything rewrites it. */
static const char *shown_status(const json_t *inv, const char *now)
{
	const char *status = jsonx_str(inv, "status"), *exp = jsonx_str(inv, "expiresAt");

	if (status != NULL && strcmp(status, "pending") == 0 && exp != NULL &&
	    strcmp(exp, now) <= 0)
		return "expired";
	return status;
}

static json_t *invitation_json(const json_t *inv, const char *now)
{
	json_t *out = json_pack(
		"{s:O?, s:O?, s:O?, s:O?, s:s?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?}",
		"id", json_object_get(inv, "_id"), "email", json_object_get(inv, "email"), "role",
		json_object_get(inv, "role"), "teamIds", json_object_get(inv, "teamIds"), "status",
		shown_status(inv, now), "provider", json_object_get(inv, "provider"),
		"invitedByUserId", json_object_get(inv, "invitedByUserId"), "invitedByUserName",
		json_object_get(inv, "invitedByUserName"), "createdAt",
		json_object_get(inv, "createdAt"), "updatedAt", json_object_get(inv, "updatedAt"),
		"expiresAt", json_object_get(inv, "expiresAt"), "acceptedAt",
		json_object_get(inv, "acceptedAt"), "revokedAt", json_object_get(inv, "revokedAt"));

	if (out == NULL)
		abort();
	return out;
}

static json_t *capability(void)
{
	json_t *c = json_pack("{s:b, s:s}", "supported", 1, "provider", "local");

	if (c == NULL)
		abort();
	return c;
}

/* GET /api/workspaces/:ws/invitations (API-25): newest first, at most INVITATIONS_LIST_MAX. */
static int list_invitations(struct http_req *req)
{
	static const struct store_sort newest_first[] = {{"createdAt", -1}};
	const struct store_find_opts opts = {
		.sort = newest_first, .nsort = 1, .limit = INVITATIONS_LIST_MAX};
	json_t *f = json_pack("{s:s}", "workspaceId", api_ctx(req)->workspace_id);
	json_t *docs = NULL, *list = json_array(), *inv;
	char now[TIME_ISO_LEN + 1];
	struct err e = {0};
	size_t i;

	if (f == NULL || list == NULL)
		abort();
	if (http_set_header(req, "x-second-request-id", http_request_id(req)) != 0)
		log_warning("invitations: cannot set x-second-request-id");
	time_now_iso8601(now);
	if (store_find(api_of(req)->store, "workspace_invitations", f, &opts, &docs, NULL, &e) !=
	    0) {
		reply_store_error(req, "invitations", &e);
		goto out;
	}
	json_array_foreach (docs, i, inv)
		must(json_array_append_new(list, invitation_json(inv, now)));
	http_reply_json(
		req, 200,
		json_pack("{s:o, s:O}", "invitationCapability", capability(), "invitations", list));
out:
	json_decref(f);
	json_decref(docs);
	json_decref(list);
	return 0;
}

/* 409 when a user with this address already is a member; -1 after a reply. */
static int not_yet_member(struct http_req *req, const char *email_norm)
{
	struct store *s = api_of(req)->store;
	json_t *f = json_pack("{s:s}", "emailNormalized", email_norm), *user = NULL, *m = NULL;
	struct err e = {0};
	int rc = -1;

	if (f == NULL)
		abort();
	if (store_find_one(s, "users", f, NULL, 0, &user, &e) != 0)
		goto fail;
	json_decref(f);
	f = NULL;
	if (user != NULL) {
		f = json_pack("{s:s, s:O}", "workspaceId", api_ctx(req)->workspace_id, "userId",
			      json_object_get(user, "_id"));
		if (f == NULL)
			abort();
		if (store_find_one(s, "workspace_memberships", f, NULL, 0, &m, &e) != 0)
			goto fail;
	}
	if (m != NULL)
		http_reply_error(req, 409, "workspace_member_already_exists",
				 "this person already is a member");
	else
		rc = 0;
	goto out;
fail:
	reply_store_error(req, "member check", &e);
out:
	json_decref(f);
	json_decref(user);
	json_decref(m);
	return rc;
}

/* Pending invitations for the address in this workspace; stale ones are marked expired
 * first so that they do not block a new invitation. */
static int count_pending(struct http_req *req, const char *email_norm, const char *now, size_t *n,
			 struct err *e)
{
	struct store *s = api_of(req)->store;
	const char *ws = api_ctx(req)->workspace_id;
	json_t *f = json_pack("{s:s, s:s, s:s, s:{s:s}}", "workspaceId", ws, "emailNormalized",
			      email_norm, "status", "pending", "expiresAt", "$lte", now);
	json_t *u = json_pack("{s:{s:s, s:s}}", "$set", "status", "expired", "updatedAt", now);
	int rc;

	if (f == NULL || u == NULL)
		abort();
	rc = store_update_many(s, "workspace_invitations", f, u, NULL, e);
	json_decref(f);
	json_decref(u);
	if (rc != 0)
		return -1;
	f = json_pack("{s:s, s:s, s:s}", "workspaceId", ws, "emailNormalized", email_norm, "status",
		      "pending");
	if (f == NULL)
		abort();
	rc = store_count(s, "workspace_invitations", f, n, e);
	json_decref(f);
	return rc;
}

/* 409 for a second pending invitation or past the workspace's ceiling; -1 after a reply. */
static int may_invite(struct http_req *req, const char *email_norm, const char *now)
{
	json_t *f = json_pack("{s:s, s:s}", "workspaceId", api_ctx(req)->workspace_id, "status",
			      "pending");
	size_t mine = 0, all = 0;
	struct err e = {0};
	int rc;

	if (f == NULL)
		abort();
	rc = count_pending(req, email_norm, now, &mine, &e);
	if (rc == 0)
		rc = store_count(api_of(req)->store, "workspace_invitations", f, &all, &e);
	json_decref(f);
	if (rc != 0) {
		reply_store_error(req, "pending invitations", &e);
		return -1;
	}
	if (mine > 0) {
		http_reply_error(req, 409, "workspace_invitation_already_pending",
				 "an invitation to this address is already pending");
		return -1;
	}
	if (all >= INVITATIONS_PENDING_MAX) {
		http_reply_error(req, 409, "invitation_limit_reached",
				 "a workspace has at most %d pending invitations",
				 INVITATIONS_PENDING_MAX);
		return -1;
	}
	return 0;
}

/* TEN-9: invitations always target the General team and nothing a client names. */
static json_t *invitation_new(struct http_req *req, const json_t *body, const char *email_norm,
			      int64_t now_ms, const json_t *team)
{
	struct guard_ctx *ctx = api_ctx(req);
	char now[TIME_ISO_LEN + 1], expires[TIME_ISO_LEN + 1];
	json_t *inv;

	time_iso8601(now_ms, now);
	time_iso8601(now_ms + INVITATION_TTL_S * 1000, expires);
	inv = json_pack("{s:s, s:O, s:s, s:O, s:[], s:s, s:s, s:s, s:s?, s:s, s:s, s:s, s:n, s:n}",
			"workspaceId", ctx->workspace_id, "email", json_object_get(body, "email"),
			"emailNormalized", email_norm, "role", json_object_get(body, "role"),
			"teamIds", "status", "pending", "provider", "local", "invitedByUserId",
			ctx->user_id, "invitedByUserName", jsonx_str(ctx->user, "displayName"),
			"createdAt", now, "updatedAt", now, "expiresAt", expires, "acceptedAt",
			"revokedAt");
	if (inv == NULL)
		abort();
	if (team != NULL)
		must(json_array_append(json_object_get(inv, "teamIds"),
				       json_object_get(team, "_id")));
	return inv;
}

/* The count after the insert settles a race between two invitations to one address. */
static int insert_invitation(struct http_req *req, json_t *inv, const char *email_norm,
			     const char *now)
{
	struct store *s = api_of(req)->store;
	json_t *f = NULL;
	struct err e = {0};
	size_t n = 0;

	if (store_insert(s, "workspace_invitations", inv, &e) != 0 ||
	    count_pending(req, email_norm, now, &n, &e) != 0) {
		reply_store_error(req, "invitation", &e);
		return -1;
	}
	if (n <= 1)
		return 0;
	f = json_pack("{s:O, s:s}", "_id", json_object_get(inv, "_id"), "workspaceId",
		      api_ctx(req)->workspace_id);
	if (f == NULL)
		abort();
	if (store_delete_one(s, "workspace_invitations", f, NULL, &e) != 0)
		log_error("invitation race: removing the duplicate failed: %s", e.msg);
	json_decref(f);
	http_reply_error(req, 409, "workspace_invitation_already_pending",
			 "an invitation to this address is already pending");
	return -1;
}

/* POST /api/workspaces/:ws/invitations {email, role} (API-26), checks in the spec's order. */
static int create_invitation(struct http_req *req)
{
	struct guard_ctx *ctx = api_ctx(req);
	char email_norm[EMAIL_MAX_BYTES + 1], now[TIME_ISO_LEN + 1];
	json_t *body = NULL, *team = NULL, *inv = NULL;
	struct err e = {0};
	int64_t now_ms;

	if (tenancy_body(req, invite_fields, &body) != 0)
		goto out;
	if (strcmp(jsonx_str(body, "role"), "owner") == 0 &&
	    !guard_role_has(ctx->role, PERM_MEMBERS_MANAGE_OWNER)) {
		http_reply_error(req, 403, "workspace_owner_invite_forbidden",
				 "only an owner can invite an owner");
		goto out;
	}
	email_normalize(jsonx_str(body, "email"), email_norm, sizeof(email_norm));
	now_ms = time_now_ms();
	time_iso8601(now_ms, now);
	if (not_yet_member(req, email_norm) != 0 || may_invite(req, email_norm, now) != 0)
		goto out;
	if (tenancy_default_team(api_of(req)->store, ctx->workspace_id, &team, &e) != 0) {
		reply_store_error(req, "default team", &e);
		goto out;
	}
	inv = invitation_new(req, body, email_norm, now_ms, team);
	if (insert_invitation(req, inv, email_norm, now) != 0)
		goto out;
	/* The invitee's address stays out of the audit log: the invitation id names it. */
	api_audit(req, "member.invited", "members", "notice", "invitation", jsonx_str(inv, "_id"),
		  NULL, "Invited a person to the workspace",
		  json_pack("{s:O, s:O, s:s, s:O}", "role", json_object_get(inv, "role"), "teamIds",
			    json_object_get(inv, "teamIds"), "provider", "local", "expiresAt",
			    json_object_get(inv, "expiresAt")));
	http_reply_json(req, 201, json_pack("{s:o}", "invitation", invitation_json(inv, now)));
out:
	json_decref(body);
	json_decref(team);
	json_decref(inv);
	return 0;
}

/* Applies `set` to the path's pending invitation; *inv gets the old document, NULL when
 * there is none. -1 after a reply. */
static int update_pending(struct http_req *req, json_t *set, json_t **inv)
{
	char id[ID_HEX_LEN + 1];
	json_t *f = NULL, *u = NULL;
	struct err e = {0};
	int rc = -1;

	*inv = NULL;
	if (!tenancy_object_id(http_param(req, "invitationId"), id)) {
		not_found(req);
		goto out;
	}
	f = json_pack("{s:s, s:s, s:s}", "_id", id, "workspaceId", api_ctx(req)->workspace_id,
		      "status", "pending");
	u = json_pack("{s:O}", "$set", set);
	if (f == NULL || u == NULL)
		abort();
	if (store_find_one_and_update(api_of(req)->store, "workspace_invitations", f, u, NULL, 0,
				      STORE_RETURN_OLD, inv, &e) != 0)
		reply_store_error(req, "invitation update", &e);
	else if (*inv == NULL)
		not_found(req);
	else
		rc = 0;
out:
	json_decref(f);
	json_decref(u);
	return rc;
}

/* POST .../invitations/:invitationId/resend (API-27): the local provider sends nothing, so
 * this only touches updatedAt; no audit event, as in the reference. */
static int resend_invitation(struct http_req *req)
{
	char now[TIME_ISO_LEN + 1];
	json_t *set, *inv = NULL;

	time_now_iso8601(now);
	set = json_pack("{s:s}", "updatedAt", now);
	if (set == NULL)
		abort();
	if (update_pending(req, set, &inv) == 0)
		http_reply_json(req, 200, json_pack("{s:b}", "ok", 1));
	json_decref(set);
	json_decref(inv);
	return 0;
}

/* POST .../invitations/:invitationId/revoke (API-28). */
static int revoke_invitation(struct http_req *req)
{
	char now[TIME_ISO_LEN + 1];
	json_t *set, *inv = NULL;

	time_now_iso8601(now);
	set = json_pack("{s:s, s:s, s:s}", "status", "revoked", "revokedAt", now, "updatedAt", now);
	if (set == NULL)
		abort();
	if (update_pending(req, set, &inv) == 0) {
		api_audit(req, "member.invitation_revoked", "members", "info", "invitation",
			  jsonx_str(inv, "_id"), NULL, "Revoked an invitation",
			  json_pack("{s:O?}", "role", json_object_get(inv, "role")));
		http_reply_json(req, 200, json_pack("{s:b}", "ok", 1));
	}
	json_decref(set);
	json_decref(inv);
	return 0;
}

/* The caller's open invitations with their workspace names, as a new array; invitations of
 * a workspace that is gone are left out. */
static int my_items(struct http_req *req, const json_t *docs, json_t **items, struct err *e)
{
	json_t *ids = json_array(), *names = NULL, *list = json_array(), *inv, *ws;
	size_t i;
	int rc = -1;

	if (ids == NULL || list == NULL)
		abort();
	json_array_foreach (docs, i, inv)
		if (json_is_string(json_object_get(inv, "workspaceId")))
			must(json_array_append(ids, json_object_get(inv, "workspaceId")));
	if (tenancy_by_id(api_of(req)->store, "workspaces", ids, NULL, &names, e) != 0)
		goto out;
	json_array_foreach (docs, i, inv) {
		ws = json_object_get(names, jsonx_str(inv, "workspaceId"));
		if (ws != NULL)
			must(json_array_append_new(
				list, json_pack("{s:O, s:O, s:O?, s:O?, s:O?, s:O?}", "id",
						json_object_get(inv, "_id"), "workspaceId",
						json_object_get(ws, "_id"), "workspaceName",
						json_object_get(ws, "name"), "role",
						json_object_get(inv, "role"), "invitedByUserName",
						json_object_get(inv, "invitedByUserName"),
						"expiresAt", json_object_get(inv, "expiresAt"))));
	}
	*items = list;
	list = NULL;
	rc = 0;
out:
	json_decref(ids);
	json_decref(names);
	json_decref(list);
	return rc;
}

/* GET /api/invitations: the caller's pending invitations in every workspace. This query is
 * scoped by the caller's address instead of a workspace: it is how they find workspaces. */
static int my_invitations(struct http_req *req)
{
	static const struct store_sort newest_first[] = {{"createdAt", -1}};
	const struct store_find_opts opts = {
		.sort = newest_first, .nsort = 1, .limit = INVITATIONS_LIST_MAX};
	char email_norm[EMAIL_MAX_BYTES + 1], now[TIME_ISO_LEN + 1];
	json_t *f, *docs = NULL, *items = NULL;
	struct err e = {0};
	int rc;

	caller_email(req, email_norm, sizeof(email_norm));
	time_now_iso8601(now);
	f = json_pack("{s:s, s:s, s:{s:s}}", "emailNormalized", email_norm, "status", "pending",
		      "expiresAt", "$gt", now);
	if (f == NULL)
		abort();
	rc = store_find(api_of(req)->store, "workspace_invitations", f, &opts, &docs, NULL, &e);
	if (rc == 0)
		rc = my_items(req, docs, &items, &e);
	if (rc == 0)
		http_reply_json(req, 200, json_pack("{s:o}", "invitations", items));
	else
		reply_store_error(req, "my invitations", &e);
	json_decref(f);
	json_decref(docs);
	return 0;
}

/* Marks a pending invitation past its date as expired; the guard keeps a concurrent accept
 * or revoke from being overwritten. */
static void mark_expired(struct http_req *req, const json_t *inv, const char *now)
{
	json_t *f = json_pack("{s:O, s:O, s:s}", "_id", json_object_get(inv, "_id"), "workspaceId",
			      json_object_get(inv, "workspaceId"), "status", "pending");
	json_t *u = json_pack("{s:{s:s, s:s}}", "$set", "status", "expired", "updatedAt", now);
	struct err e = {0};

	if (f == NULL || u == NULL)
		abort();
	if (store_update_one(api_of(req)->store, "workspace_invitations", f, u, NULL, &e) != 0)
		log_warning("invitation expiry: %s", e.msg); /* the 410 stands either way */
	json_decref(f);
	json_decref(u);
}

/* True when inv exists, is addressed to email_norm and is well formed. */
static bool addressed_to(const json_t *inv, const char *email_norm)
{
	const char *to = jsonx_str(inv, "emailNormalized");
	enum guard_role role;

	return inv != NULL && email_norm[0] != '\0' && to != NULL && strcmp(to, email_norm) == 0 &&
	       jsonx_str(inv, "status") != NULL && jsonx_str(inv, "workspaceId") != NULL &&
	       guard_role_parse(jsonx_str(inv, "role"), &role) == 0;
}

/* The invitation of the path if it is addressed to the caller and still open; -1 after a
 * reply. Another person's invitation is 404, like a missing one, so ids leak nothing. */
static int load_open_invitation(struct http_req *req, const char *now, json_t **inv)
{
	char id[ID_HEX_LEN + 1], email_norm[EMAIL_MAX_BYTES + 1];
	const char *status, *exp;
	struct err e = {0};

	*inv = NULL;
	caller_email(req, email_norm, sizeof(email_norm));
	if (!tenancy_object_id(http_param(req, "invitationId"), id))
		goto missing;
	if (store_get(api_of(req)->store, "workspace_invitations", id, inv, &e) != 0) {
		reply_store_error(req, "invitation", &e);
		return -1;
	}
	if (!addressed_to(*inv, email_norm))
		goto missing;
	status = jsonx_str(*inv, "status");
	exp = jsonx_str(*inv, "expiresAt");
	if (strcmp(status, "pending") == 0) {
		if (exp != NULL && strcmp(exp, now) > 0)
			return 0;
		mark_expired(req, *inv, now);
	} else if (strcmp(status, "expired") != 0) {
		goto missing;
	}
	http_reply_error(req, 410, "workspace_invitation_expired", "this invitation has expired");
	return -1;
missing:
	not_found(req);
	return -1;
}

/* The compare-and-set that makes one accept win; -1 after a reply (404 when another request
 * accepted, revoked or expired it a moment ago). */
static int claim(struct http_req *req, const json_t *inv, const char *now)
{
	json_t *f = json_pack("{s:O, s:O, s:O, s:s, s:{s:s}}", "_id", json_object_get(inv, "_id"),
			      "workspaceId", json_object_get(inv, "workspaceId"), "emailNormalized",
			      json_object_get(inv, "emailNormalized"), "status", "pending",
			      "expiresAt", "$gt", now);
	json_t *u = json_pack("{s:{s:s, s:s, s:s, s:s}}", "$set", "status", "accepted",
			      "acceptedAt", now, "acceptedByUserId", api_ctx(req)->user_id,
			      "updatedAt", now);
	json_t *won = NULL;
	struct err e = {0};
	int rc;

	if (f == NULL || u == NULL)
		abort();
	rc = store_find_one_and_update(api_of(req)->store, "workspace_invitations", f, u, NULL, 0,
				       0, &won, &e);
	json_decref(f);
	json_decref(u);
	if (rc != 0)
		reply_store_error(req, "invitation claim", &e);
	else if (won == NULL)
		not_found(req);
	json_decref(won);
	return rc == 0 && won != NULL ? 0 : -1;
}

/* Gives a claimed invitation back when the membership could not be written. */
static void unclaim(struct http_req *req, const json_t *inv, const char *now)
{
	json_t *f = json_pack("{s:O, s:O, s:s, s:s}", "_id", json_object_get(inv, "_id"),
			      "workspaceId", json_object_get(inv, "workspaceId"), "status",
			      "accepted", "acceptedAt", now);
	json_t *u = json_pack("{s:{s:s, s:n}, s:{s:s}}", "$set", "status", "pending", "acceptedAt",
			      "$unset", "acceptedByUserId", "");
	struct err e = {0};

	if (f == NULL || u == NULL)
		abort();
	if (store_update_one(api_of(req)->store, "workspace_invitations", f, u, NULL, &e) != 0)
		log_error("invitation %s: giving it back failed: %s", jsonx_str(inv, "_id"), e.msg);
	json_decref(f);
	json_decref(u);
}

/* The teams a new member joins: the General team and those of the invitation that still
 * exist in its workspace (TEN-9, TEN-15). A new array. */
static int join_teams(struct http_req *req, const json_t *inv, json_t **teams, struct err *e)
{
	const char *ws = jsonx_str(inv, "workspaceId");
	json_t *def = NULL, *found = NULL, *scope = json_pack("{s:s}", "workspaceId", ws);
	json_t *out = json_array();
	const char *key;
	json_t *v;
	int rc = -1;

	if (scope == NULL || out == NULL)
		abort();
	if (tenancy_default_team(api_of(req)->store, ws, &def, e) != 0 ||
	    tenancy_by_id(api_of(req)->store, "workspace_teams", json_object_get(inv, "teamIds"),
			  scope, &found, e) != 0)
		goto out;
	if (def != NULL)
		must(json_array_append(out, json_object_get(def, "_id")));
	json_object_foreach (found, key, v)
		if (def == NULL || strcmp(key, jsonx_str(def, "_id")) != 0)
			must(json_array_append_new(out, json_string(key)));
	*teams = out;
	out = NULL;
	rc = 0;
out:
	json_decref(def);
	json_decref(found);
	json_decref(scope);
	json_decref(out);
	return rc;
}

/* Membership and teams for a claimed invitation; -1 after a reply (the claim is undone). */
static int accept_join(struct http_req *req, const json_t *inv, const char *now, json_t **teams)
{
	struct err e = {0};

	if (join_teams(req, inv, teams, &e) == 0 &&
	    tenancy_join(api_of(req)->store, jsonx_str(inv, "workspaceId"), api_ctx(req)->user_id,
			 jsonx_str(inv, "role"), jsonx_str(inv, "invitedByUserId"), *teams, NULL,
			 &e) == 0)
		return 0;
	unclaim(req, inv, now);
	if (e.code == ERR_DUPLICATE)
		http_reply_error(req, 409, "workspace_member_already_exists",
				 "you already are a member of this workspace");
	else
		reply_store_error(req, "invitation accept", &e);
	return -1;
}

/* 409 when the caller already is a member of the invitation's workspace (checked before the
 * claim so that the invitation stays open); -1 after a reply. */
static int check_not_member(struct http_req *req, const json_t *inv)
{
	json_t *m = NULL;
	struct err e = {0};
	json_t *f = json_pack("{s:O, s:s}", "workspaceId", json_object_get(inv, "workspaceId"),
			      "userId", api_ctx(req)->user_id);
	int rc;

	if (f == NULL)
		abort();
	rc = store_find_one(api_of(req)->store, "workspace_memberships", f, NULL, 0, &m, &e);
	json_decref(f);
	if (rc != 0) {
		reply_store_error(req, "membership", &e);
		return -1;
	}
	if (m == NULL)
		return 0;
	json_decref(m);
	http_reply_error(req, 409, "workspace_member_already_exists",
			 "you already are a member of this workspace");
	return -1;
}

/* The invitation's workspace, which the caller must not belong to yet; -1 after a reply. */
static int joinable_workspace(struct http_req *req, const json_t *inv, json_t **ws)
{
	const char *ws_id = jsonx_str(inv, "workspaceId");
	struct err e = {0};

	*ws = NULL;
	if (ws_id != NULL && store_get(api_of(req)->store, "workspaces", ws_id, ws, &e) != 0) {
		reply_store_error(req, "workspace", &e);
		return -1;
	}
	if (*ws == NULL) {
		not_found(req);
		return -1;
	}
	return check_not_member(req, inv);
}

/* POST /api/invitations/:invitationId/accept (ours). */
static int accept_invitation(struct http_req *req)
{
	char now[TIME_ISO_LEN + 1];
	json_t *inv = NULL, *ws = NULL, *teams = NULL;
	const char *ws_id, *role;

	time_now_iso8601(now);
	if (load_open_invitation(req, now, &inv) != 0 || joinable_workspace(req, inv, &ws) != 0 ||
	    claim(req, inv, now) != 0 || accept_join(req, inv, now, &teams) != 0)
		goto out;
	ws_id = jsonx_str(inv, "workspaceId");
	role = jsonx_str(inv, "role");
	tenancy_set_workspace_cookie(req, ws_id);
	api_audit_in(req, ws_id, role, "member.joined", "members", "notice", "member",
		     api_ctx(req)->user_id, jsonx_str(api_ctx(req)->user, "displayName"),
		     "Joined the workspace by invitation",
		     json_pack("{s:s, s:O, s:O}", "role", role, "invitationId",
			       json_object_get(inv, "_id"), "teamIds", teams));
	http_reply_json(req, 200,
			json_pack("{s:{s:s, s:O?}, s:s}", "workspace", "id", ws_id, "name",
				  json_object_get(ws, "name"), "role", role));
out:
	json_decref(inv);
	json_decref(ws);
	json_decref(teams);
	return 0;
}

const struct http_route api_routes_invitations[] = {
	{"GET", "/api/workspaces/:ws/invitations", list_invitations, ACCESS_WORKSPACE,
	 PERM_MEMBERS_INVITE, "workspace_invitations_forbidden", 0},
	{"POST", "/api/workspaces/:ws/invitations", create_invitation, ACCESS_WORKSPACE,
	 PERM_MEMBERS_INVITE, "workspace_invitations_forbidden", 0},
	{"POST", "/api/workspaces/:ws/invitations/:invitationId/resend", resend_invitation,
	 ACCESS_WORKSPACE, PERM_MEMBERS_INVITE, "workspace_invitations_forbidden", 0},
	{"POST", "/api/workspaces/:ws/invitations/:invitationId/revoke", revoke_invitation,
	 ACCESS_WORKSPACE, PERM_MEMBERS_INVITE, "workspace_invitations_forbidden", 0},
	{"GET", "/api/invitations", my_invitations, ACCESS_PROFILE, PERM_NONE, NULL, 0},
	{"POST", "/api/invitations/:invitationId/accept", accept_invitation, ACCESS_PROFILE,
	 PERM_NONE, NULL, 0},
	{NULL, NULL, NULL, 0, 0, NULL, 0},
};
