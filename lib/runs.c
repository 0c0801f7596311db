/* Builder runs (see runs.h). Every state change is a compare-and-set on the store: the claim
 * filters on the states B-3 allows, and the lease id guards everything after it. */
#include <config.h>

#include "lib/runs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ids.h"
#include "lib/jsonx.h"
#include "lib/log.h"
#include "lib/store.h"
#include "lib/timeutil.h"

#define COLL "agent_runs"

static json_t *now_iso(void)
{
	char buf[TIME_ISO_LEN + 1];
	time_now_iso8601(buf);
	return json_string(buf);
}

static json_t *key_filter(const struct runs_key *k)
{
	return json_pack("{s:s, s:s, s:s}", "_id", k->run_id, "workspaceId", k->workspace_id,
			 "appId", k->app_id);
}

int runs_create(struct store *s, const char *workspace_id, const char *app_id, const char *mode,
		json_t **run, struct err *e)
{
	char id[ID_HEX_LEN + 1];
	id_new(id);
	json_t *now = now_iso();
	json_t *doc = json_pack(
		"{s:s, s:s, s:s, s:s, s:[], s:[], s:[], s:i, s:n, s:{}, s:n, s:n, s:n, s:s, s:n,"
		" s:n, s:n, s:O, s:O}",
		"_id", id, "appId", app_id, "workspaceId", workspace_id, "mode", mode,
		"selectedSkillRefs", "attachments", "messages", "messageCount", 0, "sessionState",
		"runtimeSessionStates", "activeStreamId", "streamLease", "failure", "status",
		"pending", "usage", "autoStartPrompt", "recoveryContext", "createdAt", now,
		"updatedAt", now);
	json_decref(now);
	json_object_set_new(doc, "pendingAttachments", json_array());
	json_incref(doc);
	if (store_insert(s, COLL, doc, e) < 0) {
		json_decref(doc);
		json_decref(doc);
		return -1;
	}
	*run = doc;
	json_decref(doc);
	return 0;
}

int runs_get(struct store *s, const struct runs_key *k, json_t **run, struct err *e)
{
	json_t *f = key_filter(k);
	int rc = store_find_one(s, COLL, f, NULL, 0, run, e);
	json_decref(f);
	return rc;
}

const char *runs_claim_name(enum runs_claim r)
{
	switch (r) {
	case RUNS_CLAIMED:
		return "claimed";
	case RUNS_ALREADY_STREAMING:
		return "already_streaming";
	case RUNS_STALE_RECOVERED:
		return "stale_stream_recovered";
	case RUNS_STALE_INPUT:
		return "stale_input";
	case RUNS_NOT_FOUND:
		return "not_found";
	}
	return "unknown";
}

/* Tries one claim filter (key + extra); 1 when it matched. */
static int try_claim(struct store *s, const struct runs_key *k, json_t *extra, const json_t *set,
		     json_t **run, struct err *e)
{
	json_t *f = key_filter(k);
	json_object_update(f, extra);
	json_decref(extra);
	json_t *upd = json_pack("{s:O}", "$set", set);
	int rc = store_find_one_and_update(s, COLL, f, upd, NULL, 0, 0, run, e);
	json_decref(f);
	json_decref(upd);
	if (rc < 0)
		return -1;
	return *run ? 1 : 0;
}

/* The id of the last user message of a UIMessage list, or NULL. */
static const char *last_user_id(const json_t *messages)
{
	for (size_t i = json_array_size(messages); i > 0; i--) {
		const json_t *m = json_array_get(messages, i - 1);
		if (jsonx_str(m, "role") && strcmp(jsonx_str(m, "role"), "user") == 0)
			return jsonx_str(m, "id");
	}
	return NULL;
}

static bool has_user_message(const json_t *messages, const char *id)
{
	size_t i;
	json_t *m;
	json_array_foreach ((json_t *)messages, i, m) {
		if (jsonx_str(m, "role") && strcmp(jsonx_str(m, "role"), "user") == 0 &&
		    jsonx_str(m, "id") && strcmp(jsonx_str(m, "id"), id) == 0)
			return true;
	}
	return false;
}

static bool older_than(const char *iso, int64_t ms)
{
	int64_t t = 0;
	return iso && time_parse_iso8601(iso, &t) == 0 && time_now_ms() - t >= ms;
}

/* B-3's stale rule for a run found streaming. */
static bool stale(const json_t *run)
{
	const char *active = jsonx_str(run, "activeStreamId");
	if (!active)
		return older_than(jsonx_str(run, "updatedAt"), RUNS_STALE_UNATTACHED_MS);
	const char *hb = jsonx_str(json_object_get(run, "streamLease"), "heartbeatAt");
	return older_than(hb, RUNS_STALE_HEARTBEAT_MS);
}

int runs_claim(struct store *s, const struct runs_key *k, const json_t *messages,
	       const char *retry_id, enum runs_claim *result, char lease[ID_HEX_LEN + 1],
	       json_t **run, struct err *e)
{
	json_t *cur = NULL;
	*run = NULL;
	*result = RUNS_NOT_FOUND;
	if (runs_get(s, k, &cur, e) < 0)
		return -1;
	if (!cur)
		return 0;
	id_new(lease);
	json_t *now = now_iso();
	size_t n = json_array_size(messages);
	json_t *set = json_pack("{s:O, s:I, s:n, s:{s:s, s:O, s:O}, s:n, s:s, s:[], s:O}",
				"messages", messages, "messageCount", (json_int_t)n,
				"activeStreamId", "streamLease", "id", lease, "startedAt", now,
				"heartbeatAt", now, "failure", "status", "streaming",
				"pendingAttachments", "updatedAt", now);
	json_decref(now);
	int rc = try_claim(s, k, json_pack("{s:s}", "status", "pending"), set, run, e);
	if (rc == 0)
		rc = try_claim(s, k,
			       json_pack("{s:{s:[s,s]}, s:{s:I}}", "status", "$in", "completed",
					 "failed", "messageCount", "$lt", (json_int_t)n),
			       set, run, e);
	const char *latest = last_user_id(messages);
	if (rc == 0 && retry_id && latest && strcmp(retry_id, latest) == 0 &&
	    has_user_message(json_object_get(cur, "messages"), retry_id))
		rc = try_claim(s, k,
			       json_pack("{s:[{s:s}, {s:s, s:b}]}", "$or", "status", "completed",
					 "status", "failed", "failure.retryable", 1),
			       set, run, e);
	json_decref(set);
	if (rc != 0) {
		json_decref(cur);
		if (rc > 0)
			*result = RUNS_CLAIMED;
		return rc < 0 ? -1 : 0;
	}
	/* Not claimable: say why, recovering a dead stream on the way. */
	json_decref(cur);
	if (runs_get(s, k, &cur, e) < 0)
		return -1;
	const char *status = jsonx_str(cur, "status");
	if (!cur) {
		*result = RUNS_NOT_FOUND;
	} else if (status && strcmp(status, "streaming") == 0 && stale(cur)) {
		json_t *f = key_filter(k);
		json_t *lease_id = json_object_get(json_object_get(cur, "streamLease"), "id");
		json_object_set_new(f, "status", json_string("streaming"));
		json_object_set(f, "streamLease.id", lease_id ? lease_id : json_null());
		json_t *failure = runs_failure("stale_stream_recovered", "claim",
					       "The previous agent stream disconnected before it "
					       "finished. Retry the message to continue.",
					       true);
		json_t *t = now_iso();
		json_t *upd = json_pack("{s:{s:s, s:o, s:n, s:n, s:o}}", "$set", "status", "failed",
					"failure", failure, "activeStreamId", "streamLease",
					"updatedAt", t);
		json_t *after = NULL;
		int u = store_find_one_and_update(s, COLL, f, upd, NULL, 0, 0, &after, e);
		json_decref(f);
		json_decref(upd);
		if (u < 0) {
			json_decref(cur);
			return -1;
		}
		*result = after ? RUNS_STALE_RECOVERED : RUNS_ALREADY_STREAMING;
		*run = after;
	} else if (status && strcmp(status, "streaming") == 0) {
		*result = RUNS_ALREADY_STREAMING;
	} else {
		*result = RUNS_STALE_INPUT;
	}
	if (!*run)
		*run = cur;
	else
		json_decref(cur);
	return 0;
}

static json_t *lease_filter(const struct runs_key *k, const char *lease)
{
	json_t *f = key_filter(k);
	json_object_set_new(f, "status", json_string("streaming"));
	json_object_set_new(f, "streamLease.id", json_string(lease));
	return f;
}

int runs_heartbeat(struct store *s, const struct runs_key *k, const char *lease,
		   const char *active_stream_id, bool *owned, struct err *e)
{
	json_t *f = lease_filter(k, lease);
	json_t *now = now_iso();
	json_t *set = json_pack("{s:O, s:O}", "streamLease.heartbeatAt", now, "updatedAt", now);
	json_decref(now);
	if (active_stream_id)
		json_object_set_new(set, "activeStreamId", json_string(active_stream_id));
	json_t *upd = json_pack("{s:o}", "$set", set);
	size_t matched = 0;
	int rc = store_update_one(s, COLL, f, upd, &matched, e);
	json_decref(f);
	json_decref(upd);
	*owned = matched > 0;
	return rc;
}

int runs_owned(struct store *s, const struct runs_key *k, const char *lease, bool *owned,
	       json_t **run, struct err *e)
{
	json_t *doc = NULL;
	if (runs_get(s, k, &doc, e) < 0)
		return -1;
	const char *st = jsonx_str(doc, "status");
	const char *l = jsonx_str(json_object_get(doc, "streamLease"), "id");
	*owned = st && strcmp(st, "streaming") == 0 && l && strcmp(l, lease) == 0;
	if (run)
		*run = doc;
	else
		json_decref(doc);
	return 0;
}

int runs_finish(struct store *s, const struct runs_key *k, const char *lease,
		const json_t *messages, const json_t *failure, const json_t *session_state,
		const char *runtime_id, bool *applied, struct err *e)
{
	json_t *f = lease_filter(k, lease);
	json_t *now = now_iso();
	json_t *set = json_pack("{s:O, s:I, s:s, s:O, s:n, s:n, s:O}", "messages", messages,
				"messageCount", (json_int_t)json_array_size(messages), "status",
				failure ? "failed" : "completed", "failure",
				failure ? failure : json_null(), "activeStreamId", "streamLease",
				"updatedAt", now);
	json_decref(now);
	if (session_state && json_is_object(session_state)) {
		json_object_set(set, "sessionState", (json_t *)session_state);
		if (runtime_id) {
			char path[128];
			snprintf(path, sizeof(path), "runtimeSessionStates.%s", runtime_id);
			json_object_set(set, path, (json_t *)session_state);
		}
	}
	json_t *upd = json_pack("{s:o}", "$set", set);
	size_t matched = 0;
	int rc = store_update_one(s, COLL, f, upd, &matched, e);
	json_decref(f);
	json_decref(upd);
	*applied = matched > 0;
	return rc;
}

int runs_stop(struct store *s, const struct runs_key *k, const json_t *failure, bool *applied,
	      json_t **run, struct err *e)
{
	json_t *cur = NULL;
	*applied = false;
	*run = NULL;
	if (runs_get(s, k, &cur, e) < 0)
		return -1;
	const char *st = jsonx_str(cur, "status");
	const char *lease = jsonx_str(json_object_get(cur, "streamLease"), "id");
	if (!cur || !st || strcmp(st, "streaming") != 0 || !lease) {
		*run = cur;
		return 0;
	}
	json_t *f = lease_filter(k, lease);
	json_t *now = now_iso();
	json_t *upd = json_pack("{s:{s:s, s:O, s:n, s:n, s:O}}", "$set", "status", "failed",
				"failure", failure, "activeStreamId", "streamLease", "updatedAt",
				now);
	json_decref(now);
	int rc = store_find_one_and_update(s, COLL, f, upd, NULL, 0, 0, run, e);
	json_decref(f);
	json_decref(upd);
	if (rc == 0 && *run) {
		*applied = true;
		json_decref(cur);
	} else if (rc == 0) {
		json_decref(cur);
		rc = runs_get(s, k, run, e);
	} else {
		json_decref(cur);
	}
	return rc;
}

json_t *runs_failure(const char *code, const char *phase, const char *message, bool retryable)
{
	char msg[RUNS_FAILURE_MESSAGE_MAX + 1];
	size_t n = message ? strlen(message) : 0;
	if (n > RUNS_FAILURE_MESSAGE_MAX) {
		n = RUNS_FAILURE_MESSAGE_MAX;
		/* Never cut inside a UTF-8 sequence: back off to the start of the last one. */
		while (n > 0 && ((unsigned char)message[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(msg, message ? message : "", n);
	msg[n] = '\0';
	return json_pack("{s:s, s:s, s:s, s:b, s:o}", "code", code, "phase", phase, "message", msg,
			 "retryable", retryable, "occurredAt", now_iso());
}

void runs_usage_key(const char *model, char *buf, size_t bufsz)
{
	static const char keep[] = "-_!~*'()";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)model; *p && o + 4 < bufsz; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || (*p && strchr(keep, *p)))
			buf[o++] = (char)*p;
		else
			o += (size_t)snprintf(buf + o, bufsz - o, "%%%02X", *p);
	}
	buf[o] = '\0';
}

static double num(const json_t *v)
{
	double d = json_is_number(v) ? json_number_value(v) : 0;
	return isfinite(d) && d > 0 ? d : 0;
}

int runs_add_usage(struct store *s, const struct runs_key *k, const json_t *usage, struct err *e)
{
	if (!json_is_object(usage))
		return 0;
	/* Zeros first, once: $inc then only ever adds. */
	json_t *f = key_filter(k);
	json_object_set_new(f, "usage", json_null());
	json_t *zero = json_pack("{s:{s:{s:f, s:i, s:i, s:i, s:i, s:{}}}}", "$set", "usage",
				 "totalCostUsd", 0.0, "totalInputTokens", 0, "totalOutputTokens", 0,
				 "totalCacheReadTokens", 0, "totalCacheCreationTokens", 0,
				 "byModel");
	int rc = store_update_one(s, COLL, f, zero, NULL, e);
	json_decref(f);
	json_decref(zero);
	if (rc < 0)
		return -1;
	json_t *inc = json_object();
	double cost = num(json_object_get(usage, "totalCostUsd"));
	json_int_t tin = 0, tout = 0, tread = 0, tcreate = 0;
	const char *model;
	json_t *mu;
	size_t nmodels = 0;
	json_object_foreach (json_object_get(usage, "modelUsage"), model, mu) {
		json_int_t in = (json_int_t)num(json_object_get(mu, "inputTokens"));
		json_int_t out = (json_int_t)num(json_object_get(mu, "outputTokens"));
		json_int_t rd = (json_int_t)num(json_object_get(mu, "cacheReadInputTokens"));
		json_int_t cr = (json_int_t)num(json_object_get(mu, "cacheCreationInputTokens"));
		double mc = num(json_object_get(mu, "costUsd"));
		if (mc == 0)
			mc = num(json_object_get(mu, "costUSD"));
		if (!in && !out && !rd && !cr && mc == 0)
			continue;
		if (++nmodels > RUNS_USAGE_MODELS_MAX)
			break;
		char key[RUNS_USAGE_KEY_MAX], path[RUNS_USAGE_KEY_MAX + 64];
		runs_usage_key(model, key, sizeof(key));
		static const char *const fields[] = {"inputTokens", "outputTokens",
						     "cacheReadInputTokens",
						     "cacheCreationInputTokens"};
		json_int_t vals[] = {in, out, rd, cr};
		for (size_t i = 0; i < 4; i++) {
			snprintf(path, sizeof(path), "usage.byModel.%s.%s", key, fields[i]);
			json_object_set_new(inc, path, json_integer(vals[i]));
		}
		snprintf(path, sizeof(path), "usage.byModel.%s.costUsd", key);
		json_object_set_new(inc, path, json_real(mc));
		tin += in, tout += out, tread += rd, tcreate += cr;
	}
	json_object_set_new(inc, "usage.totalCostUsd", json_real(cost));
	json_object_set_new(inc, "usage.totalInputTokens", json_integer(tin));
	json_object_set_new(inc, "usage.totalOutputTokens", json_integer(tout));
	json_object_set_new(inc, "usage.totalCacheReadTokens", json_integer(tread));
	json_object_set_new(inc, "usage.totalCacheCreationTokens", json_integer(tcreate));
	json_t *upd = json_pack("{s:o}", "$inc", inc);
	f = key_filter(k);
	rc = store_update_one(s, COLL, f, upd, NULL, e);
	json_decref(f);
	json_decref(upd);
	return rc;
}
