/* Audit events recorded by a request handler: the actor from the guard's context, the source
 * from the request (AUD-5), outcome and retention by event name (AUD-7, AUD-14), and an
 * invalidation hint on the workspace channel after each event (AUD-1). */
#include <config.h>

#include "lib/audit-http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/audit.h"
#include "lib/guard.h"
#include "lib/http.h"
#include "lib/jsonx.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/redis.h"
#include "lib/timeutil.h"

#define SHORT_HASH_LEN 19 /* "sha256:" + 12 hex (AUD-5) */

static void must(int rc)
{
	/* jansson fails these only on allocation failure, and out of memory aborts (STYLE 5). */
	if (rc != 0)
		abort();
}

static json_t *must_json(json_t *v)
{
	if (v == NULL)
		abort();
	return v;
}

/* Outcome and retention by event name: api_audit() takes neither, and AUD-7/AUD-14 fix both
 * per event. Exact names first, then suffixes; anything else is a success kept by default. */
static const struct event_policy {
	const char *name;
	const char *outcome;
	const char *retention;
} exact_policies[] =
	{
		{"access.denied", "denied", "security"},
		{"audit.viewed", "success", "security"},
		{"builder_run.created", "started", "default"},
		{"app_agent_run.created", "started", "default"},
		{"app_agent_tool_failure.reported", "started", "default"},
		{"app_runtime_tool_failure.reported", "started", "default"},
},
  suffix_policies[] = {
	  {".denied", "denied", "default"},       {".failed", "failure", "default"},
	  {"_failed", "failure", "default"},      {".started", "started", "default"},
	  {".completed", "completed", "default"},
};
static const struct event_policy default_policy = {NULL, "success", "default"};

static const struct event_policy *policy_of(const char *event_name)
{
	size_t len = event_name ? strlen(event_name) : 0, sl;

	for (size_t i = 0; i < sizeof(exact_policies) / sizeof(exact_policies[0]); i++)
		if (len && strcmp(event_name, exact_policies[i].name) == 0)
			return &exact_policies[i];
	for (size_t i = 0; i < sizeof(suffix_policies) / sizeof(suffix_policies[0]); i++) {
		sl = strlen(suffix_policies[i].name);
		if (len > sl && strcmp(event_name + len - sl, suffix_policies[i].name) == 0)
			return &suffix_policies[i];
	}
	return &default_policy;
}

static void set_str(json_t *obj, const char *key, const char *value)
{
	json_t *v = value && value[0] ? json_string(value) : NULL;

	/* A value that is not UTF-8 is left out: lib/audit cleans what it gets, not what it
	 * never got. */
	if (v != NULL)
		must(json_object_set_new(obj, key, v));
}

/* AUD-5 short hash: the first 19 characters of auditSha256 of the JSON string; "" when the
 * text is not UTF-8. Raw addresses and user agents are never stored. */
static void short_hash(const char *text, char out[SHORT_HASH_LEN + 1])
{
	json_t *v = json_string(text);
	char full[72];

	out[0] = '\0';
	if (v == NULL)
		return;
	audit_sha256(v, full);
	json_decref(v);
	memcpy(out, full, SHORT_HASH_LEN);
	out[SHORT_HASH_LEN] = '\0';
}

/* The calling user, with `role` in the event's workspace; the guard's team ids only belong
 * to the workspace it checked. */
static json_t *actor_of(const struct guard_ctx *ctx, const char *workspace_id, const char *role)
{
	json_t *actor = must_json(json_pack("{s:s}", "kind", "user"));

	set_str(actor, "userId", ctx->user_id);
	set_str(actor, "displayName", jsonx_str(ctx->user, "displayName"));
	set_str(actor, "email", jsonx_str(ctx->user, "email"));
	set_str(actor, "role", role);
	if (json_is_array(ctx->team_ids) && strcmp(ctx->workspace_id, workspace_id) == 0)
		must(json_object_set(actor, "teamIds", ctx->team_ids));
	return actor;
}

/* web_server / server_trusted, with the request id and the hashes of the client's first
 * forwarded address and user agent. Nothing else of the request is read. */
static json_t *source_of(struct http_req *req)
{
	const char *xff = http_header(req, "X-Forwarded-For"), *ua = http_header(req, "User-Agent");
	json_t *src = must_json(
		json_pack("{s:s,s:s}", "kind", "web_server", "trust", "server_trusted"));
	char hash[SHORT_HASH_LEN + 1], first[HTTP_MAX_HEADER_BYTES + 1];
	char *rid = audit_clean_text(http_request_id(req), AUDIT_REQUEST_ID_MAX);
	size_t start, n;

	set_str(src, "requestId", rid);
	free(rid);
	if (xff != NULL) {
		start = strspn(xff, " \t");
		n = strcspn(xff + start, ", \t");
		if (n > 0 && n <= HTTP_MAX_HEADER_BYTES) {
			memcpy(first, xff + start, n);
			first[n] = '\0';
			short_hash(first, hash);
			set_str(src, "ipHash", hash);
		}
	}
	if (ua != NULL && ua[0] != '\0') {
		short_hash(ua, hash);
		set_str(src, "userAgentHash", hash);
	}
	return src;
}

/* AUD-1: an invalidation hint on the workspace channel; the list is refreshed by hand
 * anyway (AUD-9), so a lost hint costs nothing. */
static void publish_changed(struct rds *(*redis)(struct err *e), const char *workspace_id)
{
	char channel[RDS_MAX_KEY_BYTES], at[TIME_ISO_LEN + 1], *text;
	struct err e = {0};
	struct rds *r = redis(&e);
	json_t *msg;
	size_t len;

	if (r == NULL) {
		log_warning("audit hint not published: %s", e.msg);
		return;
	}
	time_now_iso8601(at);
	snprintf(channel, sizeof(channel), "workspace:%s:events", workspace_id);
	msg = must_json(json_pack("{s:i,s:s,s:s,s:s,s:s}", "version", 1, "type", "audit.changed",
				  "workspaceId", workspace_id, "scope", "audit-events", "at", at));
	text = jsonx_dumps_compact(msg, &len);
	if (rds_publish(r, channel, text, len, NULL, &e) != 0)
		log_warning("audit hint not published: %s", e.msg);
	free(text);
	json_decref(msg);
}

/* One event with the caller taken from `ctx` (the guard's context, set or not yet set). */
void audit_http(struct store *store, struct rds *(*redis)(struct err *e), struct http_req *req,
		const struct guard_ctx *ctx, const char *workspace_id, const char *role,
		const char *event_name, const char *category, const char *severity,
		const char *target_type, const char *target_id, const char *target_name,
		const char *summary, json_t *metadata_stolen)
{
	const struct event_policy *pol = policy_of(event_name);
	struct audit_event ev = {0};
	json_t *actor = NULL, *source = NULL, *target = NULL;
	struct err e = {0};

	if (ctx == NULL || workspace_id == NULL || workspace_id[0] == '\0') {
		log_warning("audit %s not recorded: no workspace", event_name);
		goto out;
	}
	actor = actor_of(ctx, workspace_id, role);
	source = source_of(req);
	if (target_type != NULL) {
		target = must_json(json_pack("{s:s}", "type", target_type));
		set_str(target, "id", target_id);
		set_str(target, "name", target_name);
	}
	ev = (struct audit_event){
		.workspace_id = workspace_id,
		.event_name = event_name,
		.category = category,
		.severity = severity,
		.outcome = pol->outcome,
		.action = event_name,
		.summary = summary,
		.actor = actor,
		.source = source,
		.target = target,
		.metadata = metadata_stolen,
		.retention_policy = pol->retention,
	};
	/* Best effort (AUD-6): the business change stands. The message names the event and the
	 * cause only, never the metadata. */
	if (audit_record(store, &ev, NULL, &e) != 0)
		log_warning("audit %s in %s not recorded: %s", event_name, workspace_id, e.msg);
	else
		publish_changed(redis, workspace_id);
out:
	json_decref(actor);
	json_decref(source);
	json_decref(target);
	json_decref(metadata_stolen);
}
