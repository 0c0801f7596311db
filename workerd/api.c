/* workerd's internal API (W-2..W-18) for the responders, on the unix-socket listener.
 *
 * Every route but /health needs the INTERNAL bearer token (W-2), compared in constant time.
 * /sessions/:appId/messages validates the turn request into a `struct turn_config` and answers
 * with the turn's SSE stream. App ids are session keys and directory names, so they are held
 * to [A-Za-z0-9_.-], never "." or "..". */
#include <config.h>

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/crypto.h"
#include "lib/jsonx.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "workerd/build.h"
#include "workerd/detect.h"
#include "workerd/files.h"
#include "workerd/http.h"
#include "workerd/metadata.h"
#include "workerd/runtimes/runtime.h"
#include "workerd/sessions.h"
#include "workerd/turn.h"
#include "workerd/workerd.h"

/* T-1: the builder's default tools. */
static const char *const builder_tools[] = {
	"Skill",
	"Read",
	"Write",
	"Edit",
	"Bash",
	"Glob",
	"Grep",
	"WebSearch",
	"WebFetch",
	"mcp__second__present_plan",
	"mcp__second__present_suggestions",
	"mcp__second__list_app_integration_keys",
	"mcp__second__present_agents",
	"mcp__second__present_integration_setup",
	"mcp__second__done_building",
	NULL,
};

size_t api_body_limit(const char *method, const char *path)
{
	if (strcmp(method, "POST") != 0)
		return 0;
	size_t n = strlen(path);
	if (n > 12 && strcmp(path + n - 12, "/attachments") == 0)
		return WORKERD_UPLOAD_MAX;
	return WORKERD_BODY_MAX;
}

static bool valid_app_id(const char *s, size_t n)
{
	if (n == 0 || n > WORKERD_APP_ID_MAX || (n == 1 && s[0] == '.') ||
	    (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

/* W-2. False after replying (the reply's result in *reply). */
static bool authorized(struct wd_req *r, int *reply)
{
	const char *tok = r->w->internal_token;
	if (!tok || !*tok) {
		if (!r->w->production)
			return true;
		*reply = wd_reply_json(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
				       json_pack("{s:s, s:s}", "error",
						 "INTERNAL_API_TOKEN not configured", "message",
						 "api.internal_token is not set"));
		return false;
	}
	const char *h = wd_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
	char want[TOKEN_MAX_BYTES * 2 + 16];
	snprintf(want, sizeof(want), "Bearer %s", tok);
	if (h && crypto_ct_streq(h, want))
		return true;
	*reply = wd_reply_error(r, MHD_HTTP_UNAUTHORIZED, "unauthorized",
				"a valid internal bearer token is required");
	return false;
}

static void workspace_dir(const struct workerd *w, const char *app_id, char *buf, size_t bufsz)
{
	snprintf(buf, bufsz, "%s/%s", w->workspaces_dir, app_id);
}

static char *dup_str(const json_t *v)
{
	char *s = strdup(json_string_value(v));
	if (!s)
		abort();
	return s;
}

/* allowedTools: canonical, deduplicated, bounded. NULL on a bad list. */
static json_t *tool_list(const json_t *v, const char *mode)
{
	json_t *out = json_array();
	if (!v || json_is_null(v)) {
		if (strcmp(mode, "workspace_agent") == 0)
			json_array_append_new(out, json_string("Skill"));
		else
			for (size_t i = 0; builder_tools[i]; i++)
				json_array_append_new(out, json_string(builder_tools[i]));
		return out;
	}
	if (!json_is_array(v) || json_array_size(v) > WORKERD_ALLOWED_TOOLS_MAX)
		goto bad;
	size_t i;
	json_t *t;
	json_array_foreach (v, i, t) {
		char canon[WORKERD_TOOL_NAME_MAX + 1];
		if (!json_is_string(t) || json_string_length(t) == 0 ||
		    json_string_length(t) > WORKERD_TOOL_NAME_MAX)
			goto bad;
		runtime_canonical_tool(json_string_value(t), canon, sizeof(canon));
		if (!runtime_tool_allowed(out, canon) || json_array_size(out) == 0)
			json_array_append_new(out, json_string(canon));
	}
	return out;
bad:
	json_decref(out);
	return NULL;
}

static bool string_params(const json_t *params)
{
	const char *k;
	json_t *v;
	if (!json_is_object(params) || json_object_size(params) > 32)
		return false;
	json_object_foreach ((json_t *)params, k, v)
		if (!json_is_string(v))
			return false;
	return true;
}

static bool opt_string(const json_t *body, const char *key, size_t max)
{
	json_t *v = json_object_get(body, key);
	return !v || json_is_null(v) || (json_is_string(v) && json_string_length(v) <= max);
}

/* W-4 into a turn_config; replies itself on a bad request (returns -1, *replied set). */
static int parse_turn(struct wd_req *r, const char *app_id, json_t *body, struct turn_config *c,
		      int *replied)
{
	json_t *rid = json_object_get(body, "runtimeId"),
	       *model = json_object_get(body, "runtimeModel");
	json_t *params = json_object_get(body, "runtimeParams");
	const struct runtime *rt = json_is_string(rid) ? runtime_find(json_string_value(rid))
						       : NULL;
	struct err e = {0};
	memset(c, 0, sizeof(*c));
	if (!rt || !json_is_string(model) || json_string_length(model) == 0 ||
	    json_string_length(model) > APP_RUNTIME_MODEL_MAX || !string_params(params)) {
		*replied = wd_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_runtime_settings",
					  "runtimeId, runtimeModel and runtimeParams are required");
		return -1;
	}
	c->runtime_id = strdup(rt->id);
	c->model = dup_str(model);
	c->params = json_deep_copy(params);
	if (rt->normalize(&c->model, c->params, &e) < 0) {
		*replied = wd_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_runtime_settings", "%s",
					  e.msg);
		return -1;
	}
	json_t *prompt = json_object_get(body, "prompt");
	json_t *mode = json_object_get(body, "runtimeMode");
	const char *mode_s = json_is_string(mode) ? json_string_value(mode) : "builder";
	if (!json_is_string(prompt) || json_string_length(prompt) == 0 ||
	    json_string_length(prompt) > WORKERD_PROMPT_MAX ||
	    !opt_string(body, "systemPrompt", WORKERD_SYSTEM_PROMPT_MAX) ||
	    (strcmp(mode_s, "builder") != 0 && strcmp(mode_s, "workspace_agent") != 0)) {
		*replied = wd_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_request",
					  "prompt (1 to %d bytes), systemPrompt and runtimeMode "
					  "must be valid",
					  WORKERD_PROMPT_MAX);
		return -1;
	}
	c->prompt = dup_str(prompt);
	c->system_prompt = json_is_string(json_object_get(body, "systemPrompt"))
				   ? dup_str(json_object_get(body, "systemPrompt"))
				   : strdup("");
	c->mode = strdup(mode_s);
	c->app_id = strdup(app_id);
	c->allowed_tools = tool_list(json_object_get(body, "allowedTools"), mode_s);
	json_t *mt = json_object_get(body, "maxTurns");
	json_t *state = json_object_get(body, "sessionState");
	if (!c->allowed_tools || (mt && !json_is_null(mt) && !json_is_integer(mt)) ||
	    (state && !json_is_null(state) && !json_is_object(state))) {
		*replied = wd_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_request",
					  "allowedTools, maxTurns or sessionState is invalid");
		return -1;
	}
	json_int_t turns = json_is_integer(mt) ? json_integer_value(mt) : 500;
	c->max_turns = turns < 1 ? 1 : turns > WORKERD_MAX_TURNS ? WORKERD_MAX_TURNS : (int)turns;
	c->session_state = json_is_object(state) ? json_deep_copy(state) : NULL;
	char dir[WORKSPACE_PATH_MAX];
	workspace_dir(r->w, app_id, dir, sizeof(dir));
	if (files_mkdirs(dir, &e) < 0) {
		*replied = wd_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
					  "workspace_unavailable",
					  "the app workspace cannot be created");
		return -1;
	}
	json_t *wd = json_object_get(body, "workingDirectory");
	if (json_is_string(wd)) {
		/* Only somewhere inside the workspaces root: a client never picks a directory of
		 * its own on this host. */
		char sub[WORKSPACE_PATH_MAX];
		const char *rel = json_string_value(wd);
		size_t rl = strlen(r->w->workspaces_dir);
		if (strncmp(rel, r->w->workspaces_dir, rl) == 0 && rel[rl] == '/')
			rel += rl + 1;
		if (files_safe_path(r->w->workspaces_dir, rel, sub, sizeof(sub), &e) < 0 ||
		    files_mkdirs(sub, &e) < 0) {
			*replied = wd_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_request",
						  "workingDirectory must be inside the workspaces "
						  "directory");
			return -1;
		}
		c->cwd = strdup(sub);
	} else {
		c->cwd = strdup(dir);
	}
	/* P-2: an empty workspace gets the snapshot it is restored from, else (builder turns)
	 * the template. */
	json_t *src = json_object_get(body, "sourceFiles");
	json_t *st = files_workspace_status(c->cwd);
	bool empty = !json_is_true(json_object_get(st, "workspaceHasFiles"));
	json_decref(st);
	bool scaffolded = false;
	if (empty && json_is_object(src) && json_object_size(src) > 0) {
		if (files_restore(c->cwd, src, &e) < 0) {
			*replied = wd_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_source_files",
						  "%s", e.msg);
			return -1;
		}
		scaffolded = true;
	} else if (empty && strcmp(mode_s, "builder") == 0 && *r->w->template_dir) {
		if (files_copy_tree(r->w->template_dir, c->cwd, &e) < 0) {
			log_error("scaffold of %s failed: %s", app_id, e.msg);
			*replied = wd_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
						  "scaffold_failed",
						  "the app workspace could not be prepared");
			return -1;
		}
		scaffolded = true;
	}
	/* P-4: dependencies install while the agent plans and writes; done_building waits. The
	 * result only matters to done_building, which installs itself when this did not. */
	if (scaffolded)
		(void)build_warmup_start(r->w, c->cwd);
	c->context = json_object();
	static const char *const keys[] = {
		"workspaceId",         "runId", "appName", "requestedByUserId",
		"requestedByUserName", NULL};
	for (size_t i = 0; keys[i]; i++)
		if (json_is_string(json_object_get(body, keys[i])))
			json_object_set(c->context, keys[i], json_object_get(body, keys[i]));
	if (json_is_object(json_object_get(body, "agentConfig")))
		json_object_set(c->context, "agentConfig", json_object_get(body, "agentConfig"));
	json_object_set_new(c->context, "runtimeMode", json_string(mode_s));
	return 0;
}

static int messages(struct wd_req *r, const char *app_id)
{
	int replied = 0;
	json_t *body = wd_body_object(r, &replied);
	if (!body)
		return replied;
	struct turn_config c;
	int rc = parse_turn(r, app_id, body, &c, &replied);
	json_decref(body);
	if (rc < 0) {
		turn_config_free(&c);
		return replied;
	}
	struct turn *t = NULL;
	struct err e = {0};
	if (sessions_start_turn(r->w->sessions, &c, &t, &e) < 0) {
		log_notice("turn refused for app %s: %s", app_id, e.msg);
		return wd_reply_sse_error(r, e.msg);
	}
	return wd_reply_sse_turn(r, t);
}

static int status(struct wd_req *r, const char *app_id)
{
	char dir[WORKSPACE_PATH_MAX];
	char *cwd = NULL;
	json_t *st = sessions_state(r->w->sessions, app_id, &cwd);
	json_decref(st);
	workspace_dir(r->w, app_id, dir, sizeof(dir));
	json_t *ws = files_workspace_status(cwd ? cwd : dir);
	free(cwd);
	json_t *s = sessions_status(r->w->sessions, app_id);
	json_object_update(s, ws);
	json_decref(ws);
	return wd_reply_json(r, MHD_HTTP_OK, s);
}

/* W-8: the provider state, with Claude's session JSONL as `data` so another host can
 * resume it (S-7). */
static int session_file(struct wd_req *r, const char *app_id)
{
	char *cwd = NULL;
	json_t *st = sessions_state(r->w->sessions, app_id, &cwd);
	const char *sid = jsonx_str(st, "sessionId"), *rid = jsonx_str(st, "runtimeId");
	if (!st || !sid || !*sid) {
		json_decref(st);
		free(cwd);
		return wd_reply_json(r, MHD_HTTP_OK, json_pack("{s:n}", "sessionState"));
	}
	char dir[WORKSPACE_PATH_MAX], path[WORKSPACE_PATH_MAX];
	if (rid && strcmp(rid, "claude-code") == 0 && cwd &&
	    claude_session_file(cwd, sid, dir, sizeof(dir), path, sizeof(path)) == 0) {
		char *data = NULL;
		size_t len = 0;
		FILE *f = fopen(path, "re");
		if (f) {
			fseek(f, 0, SEEK_END);
			long n = ftell(f);
			rewind(f);
			if (n >= 0 && n <= WORKERD_SESSION_STATE_MAX) {
				data = malloc((size_t)n + 1);
				if (!data)
					abort();
				len = fread(data, 1, (size_t)n, f);
				data[len] = '\0';
			}
			fclose(f);
		}
		json_object_set_new(st, "data", data ? json_stringn(data, len) : json_null());
		json_object_set_new(st, "format", json_string("claude-jsonl"));
		free(data);
	}
	free(cwd);
	return wd_reply_json(r, MHD_HTTP_OK, json_pack("{s:o}", "sessionState", st));
}

static int files(struct wd_req *r, const char *app_id)
{
	char dir[WORKSPACE_PATH_MAX];
	workspace_dir(r->w, app_id, dir, sizeof(dir));
	json_t *ws = files_workspace_status(dir);
	bool exists = json_is_true(json_object_get(ws, "workspaceExists"));
	json_decref(ws);
	if (!exists)
		return wd_reply_json(r, MHD_HTTP_OK, json_pack("{s:{}}", "files"));
	json_t *out = NULL;
	struct err e = {0};
	if (files_collect(dir, &out, &e) < 0)
		return wd_reply_json(r, MHD_HTTP_CONTENT_TOO_LARGE,
				     json_pack("{s:s, s:s}", "error", e.msg, "message", e.msg));
	return wd_reply_json(r, MHD_HTTP_OK, json_pack("{s:o}", "files", out));
}

/* POST /sessions/:app/files {"files": {relPath: text}}: writes the files into the app's live
 * workspace, so an edit made outside a turn (the agents.json of PATCH .../agents) is what the
 * next turn and GET .../files see. A workspace that does not exist is left alone: it is
 * restored from the saved draft when a turn next needs it. */
static int files_write(struct wd_req *r, const char *app_id)
{
	int replied = 0;
	json_t *body = wd_body_object(r, &replied);
	if (!body)
		return replied;
	const json_t *files = json_object_get(body, "files");
	if (!json_is_object(files) || json_object_size(files) == 0) {
		json_decref(body);
		return wd_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_request",
				      "files must be a non-empty object");
	}
	char dir[WORKSPACE_PATH_MAX];
	workspace_dir(r->w, app_id, dir, sizeof(dir));
	json_t *ws = files_workspace_status(dir);
	bool exists = json_is_true(json_object_get(ws, "workspaceHasFiles"));
	json_decref(ws);
	struct err e = {0};
	int rc = exists ? files_restore(dir, files, &e) : 0;
	json_decref(body);
	if (rc < 0)
		return wd_reply_error(r,
				      e.code == ERR_TOO_LARGE ? MHD_HTTP_CONTENT_TOO_LARGE
							      : MHD_HTTP_BAD_REQUEST,
				      "invalid_request", "%s", e.msg);
	return wd_reply_json(r, MHD_HTTP_OK, json_pack("{s:b}", "written", exists));
}

static int attachments(struct wd_req *r, const char *app_id, bool check)
{
	int replied = 0;
	json_t *body = wd_body_object(r, &replied);
	if (!body)
		return replied;
	char dir[WORKSPACE_PATH_MAX];
	workspace_dir(r->w, app_id, dir, sizeof(dir));
	json_t *out = NULL;
	const char *code = "invalid_request";
	struct err e = {0};
	int rc = files_mkdirs(dir, &e);
	if (rc == 0)
		rc = check ? files_attachments_check(dir, body, &out, &code, &e)
			   : files_attachments_save(dir, body, &out, &code, &e);
	json_decref(body);
	if (rc < 0)
		return wd_reply_error(r,
				      e.code == ERR_TOO_LARGE ? MHD_HTTP_CONTENT_TOO_LARGE
							      : MHD_HTTP_BAD_REQUEST,
				      code, "%s", e.msg);
	return wd_reply_json(r, MHD_HTTP_OK, out);
}

static int metadata(struct wd_req *r, const char *app_id)
{
	int replied = 0;
	json_t *body = wd_body_object(r, &replied);
	if (!body)
		return replied;
	json_t *out = NULL;
	const char *code = NULL;
	struct err e = {0};
	int rc = metadata_generate(r->w, app_id, body, &out, &code, &e);
	json_decref(body);
	if (rc < 0)
		return wd_reply_error(r,
				      strcmp(code, "metadata_generation_failed") == 0
					      ? MHD_HTTP_BAD_GATEWAY
					      : MHD_HTTP_BAD_REQUEST,
				      code, "%s", e.msg);
	return wd_reply_json(r, MHD_HTTP_OK, out);
}

static int not_found(struct wd_req *r)
{
	return wd_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no such route");
}

static int method_not_allowed(struct wd_req *r)
{
	return wd_reply_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
			      "method not allowed on this route");
}

static int session_routes(struct wd_req *r, const char *rest)
{
	const char *slash = strchr(rest, '/');
	size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
	char app_id[WORKERD_APP_ID_MAX + 1];
	if (!valid_app_id(rest, n))
		return wd_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_app_id",
				      "the app id is not valid");
	memcpy(app_id, rest, n);
	app_id[n] = '\0';
	const char *sub = slash ? slash : "";
	const char *m = r->method;
	bool get = strcmp(m, "GET") == 0, post = strcmp(m, "POST") == 0;
	if (strcmp(sub, "") == 0) {
		if (strcmp(m, "DELETE") != 0)
			return method_not_allowed(r);
		sessions_destroy(r->w->sessions, app_id);
		return wd_reply_json(r, MHD_HTTP_OK, json_pack("{s:b}", "ok", 1));
	}
	if (strcmp(sub, "/messages") == 0)
		return post ? messages(r, app_id) : method_not_allowed(r);
	if (strcmp(sub, "/status") == 0)
		return get ? status(r, app_id) : method_not_allowed(r);
	if (strcmp(sub, "/cancel") == 0) {
		if (!post)
			return method_not_allowed(r);
		int replied = 0;
		json_t *body = wd_body_object(r, &replied);
		if (!body)
			return replied;
		const char *reason = jsonx_str(body, "reason");
		char why[64];
		snprintf(why, sizeof(why), "%s", reason && *reason ? reason : "cancelled");
		json_decref(body);
		/* The reason is kept by the turn; only a fixed set of words is stored. */
		const char *kept = strcmp(why, "user_stopped") == 0 ? "user_stopped" : "cancelled";
		return wd_reply_json(r, MHD_HTTP_OK, sessions_cancel(r->w->sessions, app_id, kept));
	}
	if (strcmp(sub, "/metadata") == 0)
		return post ? metadata(r, app_id) : method_not_allowed(r);
	if (strcmp(sub, "/session-file") == 0)
		return get ? session_file(r, app_id) : method_not_allowed(r);
	if (strcmp(sub, "/files") == 0)
		return get    ? files(r, app_id)
		       : post ? files_write(r, app_id)
			      : method_not_allowed(r);
	if (strcmp(sub, "/attachments") == 0)
		return post ? attachments(r, app_id, false) : method_not_allowed(r);
	if (strcmp(sub, "/attachments/check") == 0)
		return post ? attachments(r, app_id, true) : method_not_allowed(r);
	return not_found(r);
}

int api_dispatch(struct wd_req *r)
{
	log_debug("%s %s", r->method, r->path);
	if (strcmp(r->path, "/health") == 0) {
		if (strcmp(r->method, "GET") != 0)
			return method_not_allowed(r);
		return wd_reply_json(r, MHD_HTTP_OK,
				     json_pack("{s:s, s:o}", "status", "ok", "sessions",
					       sessions_list(r->w->sessions)));
	}
	int reply = 0;
	if (!authorized(r, &reply))
		return reply;
	if (strcmp(r->path, "/detect-provider") == 0)
		return strcmp(r->method, "GET") == 0
			       ? wd_reply_json(r, MHD_HTTP_OK, detect_providers(r->w))
			       : method_not_allowed(r);
	static const char prefix[] = "/sessions/";
	if (strncmp(r->path, prefix, sizeof(prefix) - 1) == 0)
		return session_routes(r, r->path + sizeof(prefix) - 1);
	return not_found(r);
}
