/* An app's agents.json (data-agents-integrations 2.5): what the builder wrote and the approval
 * that lets its agents and backend functions run.
 *
 *   GET  .../apps/:appId/agents           the parsed agents.json of the draft (collaborators,
 *                                         with workerd's live files) or of the published
 *                                         version (everyone else); {"agents": []} when there
 *                                         is none or it does not parse
 *   PATCH .../apps/:appId/agents          API-50 (managers): the body is the new agents.json,
 *                                         saved pretty-printed into the draft (and workerd's
 *                                         live workspace); a stale approval is cleared
 *   POST .../apps/:appId/agents/approval  API-51: records the GOV-11 hash of the current
 *                                         draft agents.json, or of {agentsJson} when given
 *
 * An approval by an owner or admin has source build_chat; anyone else's is mock-only
 * (build_chat_mock): their agents' integrations answer with mock data until an admin reviews
 * the app. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fcgi/api/api.h"
#include "lib/agents-hash.h"
#include "lib/appaccess.h"
#include "lib/jsonx.h"
#include "lib/log.h"
#include "lib/snapshot.h"
#include "lib/workerc.h"
#include "lib/timeutil.h"

static int agents_get(struct http_req *req)
{
	struct api_snapshot snap = {0};
	struct app_access a;
	json_t *app = NULL, *files = NULL, *parsed = NULL;
	struct err e = {0};
	const json_t *text;
	int rc;

	if (api_app_open(req, NEED_VIEW, &app, &a) != 0)
		return 0;
	if (app_can_collaborate(&a)) {
		rc = api_draft_files(req, app, &files, &e);
	} else {
		rc = api_snapshot_load(api_of(req)->store, app, API_PUBLISHED, &snap, &e);
		files = json_incref(snap.files);
		api_snapshot_free(&snap);
	}
	json_decref(app);
	if (rc != 0)
		return http_reply_err(req, &e);
	text = json_object_get(files, "agents.json");
	if (json_is_string(text))
		parsed = json_loadb(json_string_value(text), json_string_length(text),
				    JSON_DECODE_ANY, NULL);
	json_decref(files);
	if (!json_is_object(parsed)) {
		json_decref(parsed);
		parsed = json_pack("{s:[]}", "agents");
	}
	http_set_header(req, "Cache-Control", "no-store");
	return http_reply_json(req, 200, parsed);
}

/* The agents.json text to approve: the body's agentsJson, serialised, or the draft's file.
 * *text is NULL when there is none. Replies and returns -1 on refusal. */
static int approval_text(struct http_req *req, const json_t *app, char **text)
{
	const char *raw;
	size_t len;
	json_t *body, *given, *files = NULL;
	struct err e = {0};

	*text = NULL;
	if (http_body(req, &raw, &len, &e) != 0) {
		http_reply_err(req, &e);
		return -1;
	}
	body = len > 0 ? http_json(req, &e) : NULL;
	if (len > 0 && !json_is_object(body)) {
		if (body == NULL && e.code != ERR_INVALID && e.code != ERR_TOO_DEEP)
			http_reply_err(req, &e);
		else
			http_reply_error(req, 400, "invalid_body",
					 "the body must be a JSON object");
		return -1;
	}
	given = json_object_get(body, "agentsJson");
	if (given != NULL && !json_is_null(given)) {
		if (!json_is_object(given)) {
			http_reply_error(req, 400, "invalid_agents_json",
					 "agentsJson must be an object");
			return -1;
		}
		*text = json_dumps(given, JSON_COMPACT);
		if (*text == NULL)
			abort();
		return 0;
	}
	if (api_draft_files(req, app, &files, &e) != 0) {
		http_reply_err(req, &e);
		return -1;
	}
	const json_t *file = json_object_get(files, "agents.json");
	if (json_is_string(file)) {
		*text = strndup(json_string_value(file), json_string_length(file));
		if (*text == NULL)
			abort();
	}
	json_decref(files);
	return 0;
}

/* API-51: POST .../apps/:appId/agents/approval */
static int agents_approve(struct http_req *req)
{
	struct guard_ctx *ctx = api_ctx(req);
	char hash[AGENTS_HASH_LEN + 1], now[TIME_ISO_LEN + 1];
	json_t *app = NULL, *payload = NULL, *filter = NULL, *update = NULL, *set;
	enum agents_hash_result hr = AGENTS_HASH_ABSENT;
	struct app_access a;
	struct err e = {0};
	char *text = NULL;
	const char *id, *user_name;
	bool admin = ctx->role == ROLE_OWNER || ctx->role == ROLE_ADMIN;
	int rc = 0;

	if (api_app_open(req, NEED_COLLAB, &app, &a) != 0)
		return 0;
	if (approval_text(req, app, &text) != 0)
		goto out;
	if (text != NULL)
		hr = agents_hash(text, strlen(text), hash, &payload, &e);
	if (hr == AGENTS_HASH_INVALID) {
		rc = http_reply_error(req, 400, "invalid_agents_json", "%s", e.msg);
		goto out;
	}
	id = jsonx_str(app, "_id");
	user_name = jsonx_str(ctx->user, "displayName");
	time_now_iso8601(now);
	set = json_object();
	if (hr == AGENTS_HASH_OK) {
		json_t *values[AGENTS_APPROVAL_FIELDS] = {
			json_string(hash),
			json_incref(payload),
			json_string(ctx->user_id),
			user_name != NULL ? json_string(user_name) : json_null(),
			json_string(now),
			json_string(admin ? "build_chat" : "build_chat_mock")};
		for (size_t i = 0; i < AGENTS_APPROVAL_FIELDS; i++)
			json_object_set_new(set, agents_approval_fields[i], values[i]);
	} else {
		for (size_t i = 0; i < AGENTS_APPROVAL_FIELDS; i++)
			json_object_set_new(set, agents_approval_fields[i], json_null());
	}
	json_object_set_new(set, "updatedAt", json_string(now));
	filter = json_pack("{s:s, s:s}", "_id", id, "workspaceId", ctx->workspace_id);
	update = json_pack("{s:o}", "$set", set);
	if (store_update_one(api_of(req)->store, "apps", filter, update, NULL, &e) != 0) {
		rc = http_reply_err(req, &e);
		goto out;
	}
	if (hr == AGENTS_HASH_OK)
		api_audit(req, "app.agents_config.approved", "apps", "notice", "app", id,
			  jsonx_str(app, "name"),
			  admin ? "Approved app-agent runtime policy from the build chat"
				: "Approved mock-only app-agent policy from the build chat",
			  json_pack("{s:s, s:s, s:b, s:I, s:I}", "hash", hash, "source",
				    admin ? "build_chat" : "build_chat_mock", "mockOnly", !admin,
				    "agentCount",
				    (json_int_t)json_array_size(json_object_get(payload, "agents")),
				    "appToolCount",
				    (json_int_t)json_array_size(
					    json_object_get(payload, "appTools"))));
	rc = http_reply_json(req, 200,
			     json_pack("{s:b, s:b, s:b, s:s?}", "ok", 1, "mockOnly", !admin,
				       "hasAgentsJson", hr == AGENTS_HASH_OK, "hash",
				       hr == AGENTS_HASH_OK ? hash : NULL));
out:
	free(text);
	json_decref(payload);
	json_decref(filter);
	json_decref(update);
	json_decref(app);
	return rc;
}

/* The body of PATCH .../agents (an object: the body parser refuses anything else with 400
 * invalid_json) as agents.json text, pretty-printed with 2-space indent; NULL after a refusal
 * it has replied. */
static char *patch_text(struct http_req *req)
{
	struct err e = {0};
	json_t *body = http_json(req, &e);
	char *text;

	if (body == NULL) {
		http_reply_err(req, &e);
		return NULL;
	}
	text = json_dumps(body, JSON_INDENT(2));
	if (text == NULL)
		abort();
	return text;
}

/* Writes agents.json into workerd's live workspace of the app, when it has one, so the next
 * turn builds on it. The saved draft already holds it: a failure is only logged. */
static void live_write(struct http_req *req, const char *app_id, const char *text)
{
	char path[WORKERC_MAX_PATH];
	json_t *body = json_pack("{s:{s:s}}", "files", "agents.json", text), *reply = NULL;
	struct err e = {0};
	struct wkc w;
	long status = 0;

	api_workerd_client(req, &w);
	snprintf(path, sizeof(path), "/sessions/%s/files", app_id);
	if (wkc_call(&w, "POST", path, body, &status, &reply, &e) != 0 || status != 200)
		log_warning("app %s: agents.json not written to the live workspace (%ld): %s",
			    app_id, status, e.msg[0] != '\0' ? e.msg : "unexpected reply");
	json_decref(body);
	json_decref(reply);
}

/* API-50: PATCH .../apps/:appId/agents, the complete new agents.json (managers). */
static int agents_patch(struct http_req *req)
{
	struct guard_ctx *ctx = api_ctx(req);
	char hash[AGENTS_HASH_LEN + 1];
	json_t *app = NULL, *files = NULL, *set = NULL, *filter = NULL, *update = NULL;
	struct api_draft_edit edit;
	struct snapshot_saved saved;
	struct app_access a;
	struct err e = {0};
	const char *id, *before;
	char *text = NULL;
	bool stale;
	int rc = 0;

	if (api_app_open(req, NEED_MANAGE, &app, &a) != 0)
		return 0;
	if ((text = patch_text(req)) == NULL)
		goto out;
	if (agents_hash(text, strlen(text), hash, NULL, &e) != AGENTS_HASH_OK) {
		rc = http_reply_error(req, 400, "invalid_agents_json", "%s", e.msg);
		goto out;
	}
	id = jsonx_str(app, "_id");
	if (api_mark_draft_edited(req, app, &edit, &e) != 0 ||
	    api_draft_files(req, app, &files, &e) != 0) {
		rc = http_reply_err(req, &e);
		goto out;
	}
	json_object_set_new(files, "agents.json", json_string(text));
	if (snapshot_save(api_of(req)->store, ctx->workspace_id, id, "draft", files, &saved, &e) !=
	    0) {
		rc = http_reply_err(req, &e);
		goto out;
	}
	live_write(req, id, text);
	before = jsonx_str(app, "agentsJsonApprovalHash");
	stale = agents_hash_stale(before, text, strlen(text));
	set = json_pack("{s:s}", "updatedAt", saved.at);
	snapshot_app_fields(set, "draft", &saved);
	for (size_t i = 0; stale && i < AGENTS_APPROVAL_FIELDS; i++)
		json_object_set_new(set, agents_approval_fields[i], json_null());
	filter = json_pack("{s:s, s:s}", "_id", id, "workspaceId", ctx->workspace_id);
	update = json_pack("{s:O}", "$set", set);
	if (store_update_one(api_of(req)->store, "apps", filter, update, NULL, &e) != 0) {
		rc = http_reply_err(req, &e);
		goto out;
	}
	if (stale)
		api_audit(req, "app.agents_config.stale", "apps", "warning", "app", id,
			  jsonx_str(app, "name"),
			  "The app's agents.json changed after its approval; the approval was "
			  "cleared",
			  json_pack("{s:s, s:s, s:{s:s, s:s}}", "reason", "agents_json_updated",
				    "appId", id, "changes", "before", before, "after", hash));
	api_audit(req, "app.source_snapshot.updated", "apps", "info", "app", id,
		  jsonx_str(app, "name"), "Draft source saved with a new agents.json",
		  json_pack("{s:s, s:I, s:I, s:s}", "appId", id, "fileCount",
			    (json_int_t)saved.count, "sizeBytes", (json_int_t)saved.bytes, "hash",
			    saved.hash));
	rc = http_reply_json(req, 200,
			     json_pack("{s:b, s:b, s:b}", "ok", 1, "reviewInvalidated",
				       edit.review_invalidated, "draftCreatedFromPublished",
				       edit.draft_created_from_published));
out:
	free(text);
	json_decref(files);
	json_decref(set);
	json_decref(filter);
	json_decref(update);
	json_decref(app);
	return rc;
}

const struct http_route api_routes_agents[] = {
	{"GET", "/api/workspaces/:ws/apps/:appId/agents", agents_get, ACCESS_WORKSPACE, PERM_NONE,
	 NULL, 0},
	{"PATCH", "/api/workspaces/:ws/apps/:appId/agents", agents_patch, ACCESS_WORKSPACE,
	 PERM_NONE, NULL, 0},
	{"POST", "/api/workspaces/:ws/apps/:appId/agents/approval", agents_approve,
	 ACCESS_WORKSPACE, PERM_NONE, NULL, 0},
	{NULL, NULL, NULL, 0, 0, NULL, 0},
};
