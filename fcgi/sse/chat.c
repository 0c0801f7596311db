/* POST .../runs/:runId/chat: the authoritative sender of a builder turn (B-2..B-12).
 *
 * It claims the run (B-3), asks workerd for the turn (B-4, B-5, B-7), and translates
 * workerd's messages into AI SDK UI chunks (lib/uistream) as they arrive. Every chunk is
 * written to the client, appended to the run's replay stream (so observers can attach), and
 * folded into the assistant message that is persisted at the end. A client that goes away
 * does not stop the turn: chunks keep being read, replayed and folded, and the run is
 * finished as usual. Only a stop (which takes the run's lease) or workerd ending the stream
 * does. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/sse/handoff.h"
#include "fcgi/sse/prompt.h"
#include "fcgi/sse/sse.h"
#include "lib/agents-hash.h"
#include "lib/crypto.h"
#include "lib/ids.h"
#include "lib/jsonx.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/replay.h"
#include "lib/snapshot.h"
#include "lib/sse.h"
#include "lib/timeutil.h"
#include "lib/uistream.h"

static const char *const claim_messages[] = {
	[RUNS_ALREADY_STREAMING] = "The agent is still working on the current turn. Wait for it "
				   "to finish or press Stop before sending another message.",
	[RUNS_STALE_INPUT] = "This chat has already moved past that message. Refresh the "
			     "conversation and send your next message again.",
	[RUNS_NOT_FOUND] = "This run is no longer available.",
};

struct chat {
	struct http_req *req;
	struct sse *sse;
	struct runs_key k;
	char lease[ID_HEX_LEN + 1];
	char stream_id[ID_HEX_LEN + 1];
	struct uis *uis;
	struct uis_fold *fold;
	json_t *chunks; /* scratch array for one message's chunks */
	bool gone;      /* the client went away; the turn goes on */
	bool attachable, lost_lease, redis_warned, saw_done;
	int64_t heartbeat_ms;
	int64_t written_ms; /* last write to the client, for keep-alives */
	char *fail;         /* the turn's failure text, when it failed */
};

static void ui_headers(struct http_req *req)
{
	http_set_header(req, "Cache-Control", "no-cache");
	http_set_header(req, "X-Vercel-Ai-Ui-Message-Stream", "v1");
	http_set_header(req, "X-Accel-Buffering", "no");
}

static void write_client(struct chat *c, const char *frame, size_t len)
{
	c->written_ms = time_mono_ms();
	if (!c->gone && http_stream_write(c->req, frame, len) < 0) {
		c->gone = true;
		log_info("chat client went away; run %s continues", c->k.run_id);
	}
}

/* One chunk to the client, the replay stream and the fold. */
static void emit(struct chat *c, const json_t *chunk)
{
	size_t len = 0;
	char *json = jsonx_dumps_compact(chunk, &len);
	struct err e = {0};
	struct rds *r = sse_redis(&e);
	if (!r || replay_append(r, c->k.run_id, json, len, NULL, &e) < 0) {
		if (!c->redis_warned)
			log_warning("run %s: replay not written: %s", c->k.run_id, e.msg);
		c->redis_warned = true;
	}
	size_t flen = 0;
	char *frame = sse_frame(json, len, NULL, &flen);
	write_client(c, frame, flen);
	free(frame);
	free(json);
	uis_fold_chunk(c->fold, chunk);
}

static void emit_done(struct chat *c)
{
	struct err e = {0};
	struct rds *r = sse_redis(&e);
	if (r && replay_append(r, c->k.run_id, "[DONE]", 6, NULL, &e) < 0)
		log_warning("run %s: replay not written: %s", c->k.run_id, e.msg);
	write_client(c, "data: [DONE]\n\n", 14);
}

/* The lease heartbeat, and the first chunk making the run attachable (B-12). */
static void heartbeat(struct chat *c)
{
	int64_t now = time_mono_ms();
	if (c->attachable && now - c->heartbeat_ms < CHAT_HEARTBEAT_MS)
		return;
	bool owned = true;
	struct err e = {0};
	if (runs_heartbeat(c->sse->store, &c->k, c->lease, c->attachable ? NULL : c->stream_id,
			   &owned, &e) < 0) {
		log_warning("run %s: heartbeat: %s", c->k.run_id, e.msg);
		return;
	}
	c->heartbeat_ms = now;
	if (!owned) {
		c->lost_lease = true;
		return;
	}
	if (!c->attachable) {
		c->attachable = true;
		sse_run_event(c->k.run_id, "stream_started", c->stream_id);
	}
}

static void flush_chunks(struct chat *c)
{
	size_t i;
	json_t *ch;
	json_array_foreach (c->chunks, i, ch) {
		emit(c, ch);
	}
	json_array_clear(c->chunks);
	heartbeat(c);
}

static int on_worker_data(void *arg, const char *data, size_t len)
{
	struct chat *c = arg;
	int rc;
	if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
		c->saw_done = true;
		rc = uis_done(c->uis, c->chunks, &c->fail);
	} else {
		json_error_t je;
		json_t *msg = json_loadb(data, len, 0, &je);
		if (!json_is_object(msg)) {
			json_decref(msg);
			return 0; /* B-8: unparseable lines are skipped */
		}
		rc = uis_feed(c->uis, msg, c->chunks, &c->fail);
		json_decref(msg);
	}
	flush_chunks(c);
	/* A stop took the lease: stop reading (workerd was told to cancel by the stop). */
	return rc < 0 || c->lost_lease ? 1 : 0;
}

/* A comment line keeps quiet connections (and proxies) from timing out; clients ignore it. */
static void tick(void *arg)
{
	struct chat *c = arg;
	if (!c->gone && time_mono_ms() - c->written_ms >= c->sse->keepalive_s * 1000L)
		write_client(c, ": keep-alive\n\n", 14);
}

static json_t *app_settings(const json_t *body, const json_t *app)
{
	const json_t *src = body;
	for (int pass = 0; pass < 2; pass++, src = app) {
		const char *rid = jsonx_str(src, "runtimeId"),
			   *model = jsonx_str(src, "runtimeModel");
		json_t *params = json_object_get(src, "runtimeParams");
		if (rid && model && *model && (!params || json_is_object(params)))
			return json_pack("{s:s, s:s, s:O}", "runtimeId", rid, "runtimeModel", model,
					 "runtimeParams", params ? params : json_object());
	}
	return NULL;
}

/* B-4: when workerd lost the app's workspace (or cannot say), the draft snapshot's files go
 * with the turn as {path: text}, and workerd writes them into the empty workspace. New ref or
 * NULL. */
static json_t *restore_files(struct chat *c, bool *needed)
{
	char path[WORKERC_MAX_PATH];
	long status = 0;
	json_t *reply = NULL, *snap = NULL, *files = NULL;
	struct err e = {0};
	*needed = true;
	snprintf(path, sizeof(path), "/sessions/%s/status", c->k.app_id);
	if (wkc_call(&c->sse->worker, "GET", path, NULL, &status, &reply, &e) == 0 &&
	    status == 200 && json_is_false(json_object_get(reply, "restoreNeeded")))
		*needed = false;
	json_decref(reply);
	if (!*needed)
		return NULL;
	json_t *f = json_pack("{s:s, s:s, s:s}", "workspaceId", c->k.workspace_id, "appId",
			      c->k.app_id, "kind", "draft");
	if (store_find_one(c->sse->store, "app_source_snapshots", f, NULL, 0, &snap, &e) != 0)
		log_warning("run %s: draft snapshot not read: %s", c->k.run_id, e.msg);
	json_decref(f);
	/* Stored as [{path, content}]: paths are not usable as document keys (dots). */
	size_t i;
	json_t *item;
	json_array_foreach (json_object_get(snap, "files"), i, item) {
		const char *p = jsonx_str(item, "path");
		json_t *content = json_object_get(item, "content");
		if (!p || !json_is_string(content))
			continue;
		if (!files)
			files = json_object();
		json_object_set(files, p, content);
	}
	json_decref(snap);
	return files;
}

/* B-5: the provider state to resume, and how many messages it covers. */
static json_t *session_state(const json_t *run, const char *runtime_id, bool retry, size_t *covered)
{
	json_t *st = json_object_get(json_object_get(run, "runtimeSessionStates"), runtime_id);
	json_t *legacy = json_object_get(run, "sessionState");
	bool from_legacy = false;
	*covered = 0;
	if (!json_is_object(st) && json_is_object(legacy) && jsonx_str(legacy, "runtimeId") &&
	    strcmp(jsonx_str(legacy, "runtimeId"), runtime_id) == 0) {
		st = legacy;
		from_legacy = true;
	}
	if (!json_is_object(st) || retry)
		return NULL;
	json_t *count = json_object_get(json_object_get(st, "metadata"), "uiMessageCount");
	if (json_is_integer(count) && json_integer_value(count) >= 0)
		*covered = (size_t)json_integer_value(count);
	else if (from_legacy)
		*covered = json_array_size(json_object_get(run, "messages"));
	return json_deep_copy(st);
}

/* The prompt names the workspace by its display name; the guard only holds the id, which stands
 * in when the document cannot be read (not worth failing the turn over). New string. */
static char *system_prompt(struct chat *c, const json_t *app)
{
	json_t *ws = NULL;
	struct err e = {0};
	if (store_get(c->sse->store, "workspaces", c->k.workspace_id, &ws, &e) != 0)
		log_warning("run %s: workspace name not read: %s", c->k.run_id, e.msg);
	const char *name = jsonx_str(ws, "name");
	char *p = prompt_builder_new(name ? name : c->k.workspace_id, jsonx_str(app, "name"));
	json_decref(ws);
	return p;
}

static json_t *worker_body(struct chat *c, const json_t *app, const json_t *settings,
			   const char *prompt, json_t *state)
{
	struct guard_ctx *ctx = sse_ctx(c->req);
	char *sys = system_prompt(c, app);
	const char *name = jsonx_str(ctx->user, "displayName");
	json_t *b = json_pack(
		"{s:s, s:s, s:O, s:O, s:O, s:s, s:i, s:o, s:s, s:s, s:s?, s:s?, s:s?}", "prompt",
		prompt, "systemPrompt", sys, "runtimeId", json_object_get(settings, "runtimeId"),
		"runtimeModel", json_object_get(settings, "runtimeModel"), "runtimeParams",
		json_object_get(settings, "runtimeParams"), "runtimeMode", "builder", "maxTurns",
		500, "sessionState", state ? state : json_null(), "workspaceId", c->k.workspace_id,
		"runId", c->k.run_id, "appName", jsonx_str(app, "name"), "requestedByUserId",
		ctx->user_id, "requestedByUserName", name);
	free(sys);
	return b;
}

/* B-11 step 5: completed, or the failure of a turn that stopped short. New ref or NULL. */
static json_t *classify(struct chat *c)
{
	if (c->fail)
		return runs_failure("worker_stream_failed", "worker_stream", c->fail, true);
	struct uis_summary s;
	uis_summary(c->uis, &s);
	if (s.approval_stop || s.done_building_ok)
		return NULL;
	const char *msg = NULL;
	if (s.done_building_attempted)
		msg = "The agent stopped before producing a successful app build. Retry the "
		      "message to continue.";
	else if (s.wrote_files)
		msg = "The agent wrote files but stopped before calling done_building "
		      "successfully. Retry the message to continue.";
	if (!msg)
		return NULL;
	if (!s.saw_result)
		msg = "The agent runtime stream ended without a final result before the app was "
		      "ready. Retry the message to continue.";
	return runs_failure("build_incomplete", "worker_stream", msg, true);
}

/* GOV-13: when the app's draft approval no longer matches the new agents.json (changed,
 * removed or invalid), nulls the approval fields in `set` and returns the audit details
 * {reason, appId, changes:{before, after}} (new ref); NULL when nothing is stale. */
static json_t *approval_staleness(struct chat *c, const json_t *app_filter, const json_t *agents,
				  json_t *set)
{
	json_t *app = NULL;
	struct err e = {0};
	if (store_find_one(c->sse->store, "apps", app_filter, NULL, 0, &app, &e) != 0 || !app) {
		log_warning("run %s: approval not checked: %s", c->k.run_id, e.msg);
		return NULL;
	}
	const char *before = jsonx_str(app, "agentsJsonApprovalHash");
	const char *text = json_string_value(agents);
	size_t len = json_string_length(agents);
	json_t *out = NULL;
	if (agents_hash_stale(before, text, len)) {
		char after[AGENTS_HASH_LEN + 1];
		bool ok = text && agents_hash(text, len, after, NULL, &e) == AGENTS_HASH_OK;
		out = json_pack("{s:s, s:s, s:{s:s, s:s?}}", "reason", "source_snapshot_updated",
				"appId", c->k.app_id, "changes", "before", before, "after",
				ok ? after : NULL);
		for (size_t i = 0; i < AGENTS_APPROVAL_FIELDS; i++)
			json_object_set_new(set, agents_approval_fields[i], json_null());
	}
	json_decref(app);
	return out;
}

/* P-7 after a successful done_building (B-11 steps 2 and 4): the workspace's files become the
 * app's draft snapshot (one document per app and kind, files as [{path, content}]), and the
 * app points at it. Best effort: a failure is logged and the turn's outcome stands. */
static void save_snapshot(struct chat *c)
{
	struct sse *s = c->sse;
	char path[WORKERC_MAX_PATH];
	struct snapshot_saved saved;
	long status = 0;
	json_t *reply = NULL;
	struct err e = {0};
	snprintf(path, sizeof(path), "/sessions/%s/files", c->k.app_id);
	if (wkc_call(&s->worker, "GET", path, NULL, &status, &reply, &e) != 0 || status != 200 ||
	    !json_is_object(json_object_get(reply, "files"))) {
		log_warning("run %s: files not fetched (%ld): %s", c->k.run_id, status, e.msg);
		json_decref(reply);
		return;
	}
	json_t *files = json_object_get(reply, "files");
	if (snapshot_save(s->store, c->k.workspace_id, c->k.app_id, "draft", files, &saved, &e) !=
	    0) {
		log_error("run %s: draft snapshot not saved: %s", c->k.run_id, e.msg);
		json_decref(reply);
		return;
	}
	json_t *f = json_pack("{s:s, s:s}", "_id", c->k.app_id, "workspaceId", c->k.workspace_id);
	json_t *set = json_pack("{s:s}", "updatedAt", saved.at);
	snapshot_app_fields(set, "draft", &saved);
	json_t *upd = json_pack("{s:o}", "$set", set);
	json_t *stale = approval_staleness(c, f, json_object_get(files, "agents.json"), set);
	if (store_update_one(s->store, "apps", f, upd, NULL, &e) != 0)
		log_error("run %s: app not pointed at its snapshot: %s", c->k.run_id, e.msg);
	else if (stale)
		sse_audit(c->req, "app.agents_config.stale", "warning", c->k.run_id, NULL,
			  "The app's agents.json changed after its approval; the approval was "
			  "cleared",
			  json_incref(stale));
	json_decref(stale);
	json_decref(f);
	json_decref(upd);
	json_decref(reply);
	sse_audit(c->req, "app.source_snapshot.updated", "info", c->k.run_id, NULL,
		  "Draft source saved after a successful build",
		  json_pack("{s:s, s:I, s:I, s:s}", "appId", c->k.app_id, "fileCount",
			    (json_int_t)saved.count, "sizeBytes", (json_int_t)saved.bytes, "hash",
			    saved.hash));
}

static void finish(struct chat *c, const json_t *settings, const json_t *request_messages)
{
	struct sse *s = c->sse;
	struct err e = {0};
	const char *rid = jsonx_str(settings, "runtimeId");
	json_t *failure = c->lost_lease ? NULL : classify(c);
	if (failure && !c->fail) {
		json_t *ch = json_pack("{s:s, s:O}", "type", "error", "errorText",
				       json_object_get(failure, "message"));
		emit(c, ch);
		json_decref(ch);
	}
	struct uis_summary sum;
	uis_summary(c->uis, &sum);
	if (sum.done_building_ok && !c->lost_lease)
		save_snapshot(c);
	json_t *usage = uis_usage(c->uis);
	if (usage && runs_add_usage(s->store, &c->k, usage, &e) < 0)
		log_warning("run %s: usage not saved: %s", c->k.run_id, e.msg);
	json_decref(usage);
	if (c->lost_lease) {
		json_decref(failure);
		emit_done(c);
		return; /* stopped: the stop route owns the run's end */
	}
	/* B-11 step 1: the provider state, covering every message now. */
	char path[WORKERC_MAX_PATH];
	long status = 0;
	json_t *reply = NULL, *state = NULL;
	snprintf(path, sizeof(path), "/sessions/%s/session-file", c->k.app_id);
	if (wkc_call(&s->worker, "GET", path, NULL, &status, &reply, &e) == 0 && status == 200)
		state = json_incref(json_object_get(reply, "sessionState"));
	json_decref(reply);
	json_t *messages = uis_fold_messages(c->fold);
	(void)request_messages; /* the fold starts from them */
	/* The state covers the conversation only when the runtime can resume it: a Claude
	 * session interrupted at an approval stop may have no file (data null), and then the
	 * next turn gets the transcript instead. */
	bool resumable = json_is_object(state) &&
			 (strcmp(rid, "claude-code") != 0 || jsonx_str(state, "data"));
	if (resumable) {
		json_t *meta = json_object_get(state, "metadata");
		if (!json_is_object(meta)) {
			meta = json_object();
			json_object_set_new(state, "metadata", meta);
		}
		json_object_set_new(meta, "uiMessageCount",
				    json_integer((json_int_t)json_array_size(messages)));
	}
	bool applied = false;
	if (runs_finish(s->store, &c->k, c->lease, messages, failure,
			json_is_object(state) ? state : NULL, rid, &applied, &e) < 0)
		log_error("run %s: not finished: %s", c->k.run_id, e.msg);
	/* [DONE] goes into the replay before its terminal entry, so observers get it too. */
	emit_done(c);
	if (applied) {
		sse_audit(c->req, failure ? "builder_run.failed" : "builder_run.completed",
			  failure ? "warning" : "info", c->k.run_id, NULL,
			  failure ? "Builder run failed" : "Builder run completed",
			  failure ? json_pack("{s:s, s:O}", "appId", c->k.app_id, "failureCode",
					      json_object_get(failure, "code"))
				  : json_pack("{s:s}", "appId", c->k.app_id));
		struct rds *r = sse_redis(&e);
		if (!r || replay_terminal(r, c->k.run_id, failure ? "failed" : "completed", &e) < 0)
			log_warning("run %s: replay terminal not written: %s", c->k.run_id, e.msg);
		sse_run_event(c->k.run_id, failure ? "failed" : "completed", NULL);
	}
	json_decref(messages);
	json_decref(state);
	json_decref(failure);
}

/* The claim failed: an empty stream, or one error chunk, with the B-3 headers. */
static int refuse_claim(struct http_req *req, enum runs_claim res, const json_t *run,
			size_t request_count)
{
	const char *name = runs_claim_name(res);
	bool retryable = res == RUNS_ALREADY_STREAMING || res == RUNS_STALE_RECOVERED;
	ui_headers(req);
	http_set_header(req, "X-Second-Chat-Claim-Result", name);
	if (res == RUNS_ALREADY_STREAMING &&
	    request_count <= json_array_size(json_object_get(run, "messages"))) {
		if (http_stream_begin(req, 200, "text/event-stream") == 0)
			http_stream_write(req, "data: [DONE]\n\n", 14);
		return 0;
	}
	http_set_header(req, "X-Second-Chat-Retryable", retryable ? "true" : "false");
	http_set_header(req, "X-Second-Chat-Error-Code",
			res == RUNS_STALE_RECOVERED     ? "stale_stream_recovered"
			: res == RUNS_ALREADY_STREAMING ? "run_already_streaming"
							: "claim_rejected");
	const char *msg = res == RUNS_STALE_RECOVERED
				  ? jsonx_str(json_object_get(run, "failure"), "message")
				  : claim_messages[res];
	json_t *ch = json_pack("{s:s, s:s}", "type", "error", "errorText", msg ? msg : name);
	size_t len = 0;
	char *json = jsonx_dumps_compact(ch, &len), *frame = sse_frame(json, len, NULL, &len);
	if (http_stream_begin(req, 200, "text/event-stream") == 0) {
		http_stream_write(req, frame, len);
		http_stream_write(req, "data: [DONE]\n\n", 14);
	}
	json_decref(ch);
	free(json);
	free(frame);
	if (res == RUNS_STALE_RECOVERED) {
		struct err e = {0};
		struct rds *r = sse_redis(&e);
		if (!r || replay_terminal(r, jsonx_str(run, "_id"), "failed", &e) < 0)
			log_warning("replay terminal not written: %s", e.msg);
		sse_run_event(jsonx_str(run, "_id"), "failed", NULL);
	}
	return 0;
}

static bool valid_messages(const json_t *messages)
{
	if (!json_is_array(messages) || json_array_size(messages) == 0 ||
	    json_array_size(messages) > CHAT_MAX_MESSAGES)
		return false;
	size_t i;
	json_t *m;
	json_array_foreach (messages, i, m) {
		const char *role = jsonx_str(m, "role");
		if (!json_is_object(m) || !jsonx_str(m, "id") || !role ||
		    (strcmp(role, "user") != 0 && strcmp(role, "assistant") != 0 &&
		     strcmp(role, "system") != 0) ||
		    !json_is_array(json_object_get(m, "parts")))
			return false;
	}
	const char *last = jsonx_str(json_array_get(messages, json_array_size(messages) - 1),
				     "role");
	return strcmp(last, "user") == 0;
}

static int chat_post(struct http_req *req)
{
	struct sse *s = sse_of(req);
	json_t *app = NULL, *run = NULL, *body = NULL, *settings = NULL;
	struct runs_key k;
	struct err e = {0};
	if (sse_open_run(req, false, &app, &run, &k) < 0)
		return 0;
	body = json_incref(http_json(req, &e));
	if (!body || !valid_messages(json_object_get(body, "messages"))) {
		json_decref(app);
		json_decref(run);
		json_decref(body);
		return http_reply_error(req, 400, "invalid_body",
					"the body must be a chat request whose last message is the "
					"user's");
	}
	settings = app_settings(body, app);
	if (!settings) {
		json_decref(app);
		json_decref(run);
		json_decref(body);
		return http_reply_error(
			req, 400, "invalid_runtime_settings",
			"neither the request nor the app names a runtime and model");
	}
	json_t *messages = json_object_get(body, "messages");
	const char *retry = jsonx_str(body, "retryLastMessageId");
	struct chat c = {.req = req, .sse = s, .k = k};
	enum runs_claim res;
	json_t *claimed = NULL;
	if (runs_claim(s->store, &k, messages, retry, &res, c.lease, &claimed, &e) < 0) {
		json_decref(app);
		json_decref(run);
		json_decref(body);
		json_decref(settings);
		return http_reply_err(req, &e);
	}
	if (res != RUNS_CLAIMED) {
		if (res == RUNS_STALE_RECOVERED || res == RUNS_STALE_INPUT)
			sse_audit(req,
				  res == RUNS_STALE_RECOVERED ? "builder_run.stale_stream_recovered"
							      : "builder_run.claim_rejected",
				  "warning", k.run_id, jsonx_str(app, "name"),
				  res == RUNS_STALE_RECOVERED
					  ? "A dead builder stream was recovered"
					  : "A chat message was refused",
				  json_pack("{s:s, s:s}", "appId", k.app_id, "claimResult",
					    runs_claim_name(res)));
		refuse_claim(req, res, claimed, json_array_size(messages));
		goto out;
	}
	sse_audit(req, "builder_run.started", "info", k.run_id, jsonx_str(app, "name"),
		  "Builder run started",
		  json_pack("{s:s, s:s, s:I}", "appId", k.app_id, "runtimeId",
			    jsonx_str(settings, "runtimeId"), "messageCount",
			    (json_int_t)json_array_size(messages)));
	struct rds *r = sse_redis(&e);
	if (!r || replay_reset(r, k.run_id, &e) < 0)
		log_warning("run %s: replay not reset: %s", k.run_id, e.msg);
	id_new(c.stream_id);
	size_t covered = 0;
	const char *rid = jsonx_str(settings, "runtimeId");
	json_t *state = session_state(run, rid, retry != NULL, &covered);
	bool restore = false;
	json_t *source = restore_files(&c, &restore);
	/* A restored workspace keeps only a durable session: Claude's, carried as its JSONL. */
	if (state && restore &&
	    !(strcmp(rid, "claude-code") == 0 && jsonx_str(state, "data") &&
	      *jsonx_str(state, "data"))) {
		json_decref(state);
		state = NULL;
		covered = 0;
	}
	char *prompt = handoff_prompt(messages, covered, rid, jsonx_str(settings, "runtimeModel"));
	json_t *wb = worker_body(&c, app, settings, prompt, state);
	free(prompt);
	if (source)
		json_object_set_new(wb, "sourceFiles", source);
	char new_id[ID_HEX_LEN + 1];
	id_new(new_id);
	c.uis = uis_new();
	c.fold = uis_fold_new(messages, new_id);
	c.chunks = json_array();
	ui_headers(req);
	http_set_header(req, "X-Second-Chat-Claim-Result", "claimed");
	if (http_stream_begin(req, 200, "text/event-stream") < 0)
		c.gone = true;
	bool lost = false;
	c.written_ms = time_mono_ms();
	int wrc = wkc_turn(&s->worker, k.app_id, wb, on_worker_data, tick, &c, &lost, &e);
	if (!c.saw_done && !c.fail && !c.lost_lease) {
		/* B-8's last rows: the stream ended early, broke, or never started. */
		char *why = NULL;
		uis_eof(c.uis, wrc < 0 && lost, c.chunks, &why);
		flush_chunks(&c);
		if (wrc < 0 && !lost) {
			free(why);
			why = strdup(e.msg);
		}
		c.fail = why ? why : strdup("Agent worker stream ended before completion.");
	}
	if (c.fail && !c.lost_lease) {
		json_t *ch = json_pack("{s:s, s:s}", "type", "error", "errorText", c.fail);
		emit(&c, ch);
		json_decref(ch);
	}
	finish(&c, settings, messages);
	json_decref(wb);
	json_decref(c.chunks);
	uis_free(c.uis);
	uis_fold_free(c.fold);
	free(c.fail);
out:
	json_decref(claimed);
	json_decref(app);
	json_decref(run);
	json_decref(body);
	json_decref(settings);
	return 0;
}

const struct http_route sse_routes_chat[] = {
	{"POST", "/api/workspaces/:ws/apps/:appId/runs/:runId/chat", chat_post, ACCESS_WORKSPACE, 0,
	 NULL, 0},
	{NULL, NULL, NULL, 0, 0, NULL, 0},
};
