/* Builder runs in second-api (B-1, API-55, API-57, U-5): create a run, read its
 * conversation, list an app's runs, and the usage totals of a run, an app and a workspace.
 *
 * The streams themselves (the sender, observers, stop) are second-sse's. Runs are read only
 * by {_id, workspaceId, appId}; a caller who cannot work on the app gets 404 run_not_found
 * for its runs, as if they did not exist. */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "fcgi/api/api.h"
#include "fcgi/api/tenancy.h"
#include "lib/appaccess.h"
#include "lib/jsonx.h"
#include "lib/runs.h"

/* Loads the path's app and requires collaboration (404 `missing` code otherwise, or 403
 * forbidden when `forbid` and the app is visible). */
static int open_app(struct http_req *req, bool forbid, const char *missing, json_t **app,
		    char id[ID_HEX_LEN + 1])
{
	struct guard_ctx *ctx = api_ctx(req);
	struct app_access a;
	struct err e = {0};
	*app = NULL;
	if (!tenancy_object_id(http_param(req, "appId"), id))
		return http_reply_error(req, 404, "app_not_found", "no such app"), -1;
	json_t *f = json_pack("{s:s, s:s}", "_id", id, "workspaceId", ctx->workspace_id);
	int rc = store_find_one(api_of(req)->store, "apps", f, NULL, 0, app, &e);
	json_decref(f);
	if (rc != 0)
		return http_reply_err(req, &e), -1;
	if (*app)
		app_access_of(ctx, *app, &a);
	if (!*app || !app_can_view(&a)) {
		json_decref(*app);
		*app = NULL;
		return http_reply_error(req, 404, "app_not_found", "no such app"), -1;
	}
	if (!app_can_collaborate(&a)) {
		json_decref(*app);
		*app = NULL;
		if (forbid)
			return http_reply_error(req, 403, "forbidden", "not allowed on this app"),
			       -1;
		return http_reply_error(req, 404, missing, "no such run"), -1;
	}
	return 0;
}

static int open_run(struct http_req *req, json_t **run, char app_id[ID_HEX_LEN + 1])
{
	json_t *app = NULL;
	char run_id[ID_HEX_LEN + 1];
	struct err e = {0};
	*run = NULL;
	if (open_app(req, false, "run_not_found", &app, app_id) < 0)
		return -1;
	json_decref(app);
	if (!tenancy_object_id(http_param(req, "runId"), run_id))
		return http_reply_error(req, 404, "run_not_found", "no such run"), -1;
	struct runs_key k = {api_ctx(req)->workspace_id, app_id, run_id};
	if (runs_get(api_of(req)->store, &k, run, &e) != 0)
		return http_reply_err(req, &e), -1;
	if (!*run)
		return http_reply_error(req, 404, "run_not_found", "no such run"), -1;
	return 0;
}

static json_t *or_null(const json_t *doc, const char *key)
{
	json_t *v = json_object_get(doc, key);
	return v ? json_incref(v) : json_null();
}

static int create_run(struct http_req *req)
{
	json_t *app = NULL, *run = NULL;
	char app_id[ID_HEX_LEN + 1];
	struct err e = {0};
	if (open_app(req, true, "app_not_found", &app, app_id) < 0)
		return 0;
	if (runs_create(api_of(req)->store, api_ctx(req)->workspace_id, app_id, "builder", &run,
			&e) != 0) {
		json_decref(app);
		return http_reply_err(req, &e);
	}
	api_audit(req, "builder_run.created", "apps", "info", "run", jsonx_str(run, "_id"),
		  jsonx_str(app, "name"), "Builder run created",
		  json_pack("{s:s}", "appId", app_id));
	json_t *reply = json_pack("{s:O, s:s, s:s}", "id", json_object_get(run, "_id"), "appId",
				  app_id, "status", "pending");
	json_decref(app);
	json_decref(run);
	return http_reply_json(req, 201, reply);
}

static int get_chat(struct http_req *req)
{
	json_t *run = NULL;
	char app_id[ID_HEX_LEN + 1];
	if (open_run(req, &run, app_id) < 0)
		return 0;
	json_t *reply = json_pack("{s:o, s:o, s:o, s:o, s:o}", "messages", or_null(run, "messages"),
				  "status", or_null(run, "status"), "failure",
				  or_null(run, "failure"), "attachments",
				  or_null(run, "attachments"), "usage", or_null(run, "usage"));
	json_decref(run);
	return http_reply_json(req, 200, reply);
}

static int run_usage(struct http_req *req)
{
	json_t *run = NULL;
	char app_id[ID_HEX_LEN + 1];
	if (open_run(req, &run, app_id) < 0)
		return 0;
	json_t *reply = json_pack("{s:O, s:o}", "runId", json_object_get(run, "_id"), "usage",
				  or_null(run, "usage"));
	json_decref(run);
	return http_reply_json(req, 200, reply);
}

static void add_usage(json_t *total, const json_t *usage)
{
	static const char *const keys[] = {"totalInputTokens", "totalOutputTokens",
					   "totalCacheReadTokens", "totalCacheCreationTokens"};
	for (size_t i = 0; i < 4; i++) {
		json_int_t v = json_integer_value(json_object_get(usage, keys[i]));
		json_int_t t = json_integer_value(json_object_get(total, keys[i]));
		json_object_set_new(total, keys[i], json_integer(t + (v > 0 ? v : 0)));
	}
	double c = json_number_value(json_object_get(usage, "totalCostUsd"));
	double t = json_number_value(json_object_get(total, "totalCostUsd"));
	json_object_set_new(total, "totalCostUsd", json_real(t + (c > 0 ? c : 0)));
}

/* Sums the usage of every run matching `filter` into a reply with runCount and
 * usageRunCount. */
static int usage_totals(struct http_req *req, json_t *filter, json_t *extra)
{
	json_t *runs = NULL;
	struct err e = {0};
	const struct store_sort sort = {"createdAt", -1};
	int rc = tenancy_find_all(api_of(req)->store, "agent_runs", filter, &sort, 1,
				  RUNS_USAGE_SCAN_MAX, &runs, &e);
	json_decref(filter);
	if (rc != 0) {
		json_decref(extra);
		return http_reply_err(req, &e);
	}
	json_t *total = json_pack("{s:f, s:i, s:i, s:i, s:i}", "totalCostUsd", 0.0,
				  "totalInputTokens", 0, "totalOutputTokens", 0,
				  "totalCacheReadTokens", 0, "totalCacheCreationTokens", 0);
	size_t i, with_usage = 0, completed = 0;
	json_t *run;
	json_array_foreach (runs, i, run) {
		json_t *u = json_object_get(run, "usage");
		if (json_is_object(u)) {
			add_usage(total, u);
			with_usage++;
		}
		if (jsonx_str(run, "status") && strcmp(jsonx_str(run, "status"), "completed") == 0)
			completed++;
	}
	json_t *reply = json_pack("{s:o, s:I, s:I, s:I}", "usage", with_usage ? total : json_null(),
				  "runCount", (json_int_t)json_array_size(runs),
				  "completedRunCount", (json_int_t)completed, "usageRunCount",
				  (json_int_t)with_usage);
	if (!with_usage)
		json_decref(total);
	json_object_update(reply, extra);
	json_decref(extra);
	json_decref(runs);
	return http_reply_json(req, 200, reply);
}

static int app_usage(struct http_req *req)
{
	json_t *app = NULL;
	char app_id[ID_HEX_LEN + 1];
	if (open_app(req, false, "app_not_found", &app, app_id) < 0)
		return 0;
	json_decref(app);
	return usage_totals(
		req,
		json_pack("{s:s, s:s}", "workspaceId", api_ctx(req)->workspace_id, "appId", app_id),
		json_pack("{s:s}", "appId", app_id));
}

static int workspace_usage(struct http_req *req)
{
	struct guard_ctx *ctx = api_ctx(req);
	if (ctx->role != ROLE_OWNER && ctx->role != ROLE_ADMIN)
		return http_reply_error(req, 403, "forbidden",
					"only owners and admins see the workspace's usage");
	return usage_totals(req, json_pack("{s:s}", "workspaceId", ctx->workspace_id),
			    json_pack("{s:s}", "workspaceId", ctx->workspace_id));
}

static int list_runs(struct http_req *req)
{
	json_t *app = NULL, *runs = NULL;
	char app_id[ID_HEX_LEN + 1];
	struct err e = {0};
	if (open_app(req, false, "app_not_found", &app, app_id) < 0)
		return 0;
	json_decref(app);
	json_t *f = json_pack("{s:s, s:s}", "workspaceId", api_ctx(req)->workspace_id, "appId",
			      app_id);
	static const char *const fields[] = {"status", "mode",      "messageCount", "failure",
					     "usage",  "createdAt", "updatedAt",    NULL};
	const struct store_sort sort = {"createdAt", -1};
	struct store_find_opts o = {
		.sort = &sort, .nsort = 1, .limit = RUNS_LIST_MAX, .fields = fields};
	int rc = store_find(api_of(req)->store, "agent_runs", f, &o, &runs, NULL, &e);
	json_decref(f);
	if (rc != 0)
		return http_reply_err(req, &e);
	json_t *out = json_array();
	size_t i;
	json_t *run;
	json_array_foreach (runs, i, run) {
		json_array_append_new(
			out, json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
				       or_null(run, "_id"), "status", or_null(run, "status"),
				       "mode", or_null(run, "mode"), "messageCount",
				       or_null(run, "messageCount"), "failure",
				       or_null(run, "failure"), "usage", or_null(run, "usage"),
				       "createdAt", or_null(run, "createdAt"), "updatedAt",
				       or_null(run, "updatedAt")));
	}
	json_decref(runs);
	return http_reply_json(req, 200, json_pack("{s:o}", "runs", out));
}

const struct http_route api_routes_runs[] = {
	{"GET", "/api/workspaces/:ws/usage", workspace_usage, ACCESS_WORKSPACE, PERM_NONE, NULL, 0},
	{"POST", "/api/workspaces/:ws/apps/:appId/runs", create_run, ACCESS_WORKSPACE, PERM_NONE,
	 NULL, 0},
	{"GET", "/api/workspaces/:ws/apps/:appId/runs", list_runs, ACCESS_WORKSPACE, PERM_NONE,
	 NULL, 0},
	{"GET", "/api/workspaces/:ws/apps/:appId/usage", app_usage, ACCESS_WORKSPACE, PERM_NONE,
	 NULL, 0},
	{"GET", "/api/workspaces/:ws/apps/:appId/runs/:runId/chat", get_chat, ACCESS_WORKSPACE,
	 PERM_NONE, NULL, 0},
	{"GET", "/api/workspaces/:ws/apps/:appId/runs/:runId/usage", run_usage, ACCESS_WORKSPACE,
	 PERM_NONE, NULL, 0},
	{NULL, NULL, NULL, 0, 0, NULL, 0},
};
