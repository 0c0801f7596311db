/* The Codex app-server protocol over bytes: requests out, lines in, R-1
 * messages emitted.
 *
 * The client walks a fixed sequence: initialize → initialized → (account/login/start) →
 * thread/resume or thread/start → turn/start, each step started by the response to the one
 * before. Turn notifications are mapped as they come: deltas open one block at index 0 (a
 * Codex turn streams one thing at a time), tool items become a tool_use when they start and a
 * tool_result when they complete, and turn/completed becomes the `result` with the usage of
 * the last model call. The server's own requests are answered at once by a fixed policy
 * (declines, T-15 for MCP elicitations). Everything per turn lives in the client: the tools
 * in flight (item id → name), cumulative command output, the pending MCP call per server. */
#include <config.h>

#include "workerd/runtimes/codex-map.h"

#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/jsonx.h"
#include "lib/limits.h"
#include "workerd/runtimes/runtime.h"

enum block { BLOCK_NONE, BLOCK_TEXT, BLOCK_THINKING };

struct codex_client {
	struct codex_turn turn;
	struct codex_io io;
	enum codex_state state;
	char error[1024];
	json_int_t next_id;
	json_int_t id_init, id_login, id_thread, id_turn; /* 0: not pending */
	bool resuming;                                    /* id_thread is a thread/resume */
	bool turn_sent;
	char thread_id[CODEX_ID_MAX];
	char announced[CODEX_ID_MAX]; /* the thread a system/init was emitted for */
	char *turn_id;                /* NULL until turn/start answers */
	enum block block;
	char *block_item;
	json_t *tools;       /* item id -> canonical tool name (tool_use emitted) */
	json_t *outputs;     /* item id -> cumulative command output */
	json_t *pending_mcp; /* server -> tool of the MCP call in progress */
	json_t *usage;       /* tokenUsage.last of this turn, or NULL */
	char *last_text;     /* the last agent message, for the result */
};

static char *xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");
	if (!d)
		abort();
	return d;
}

static enum codex_state fail(struct codex_client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static enum codex_state fail(struct codex_client *c, const char *fmt, ...)
{
	if (c->state != CODEX_RUNNING)
		return c->state;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
	c->state = CODEX_FAILED;
	return c->state;
}

/* Sends one JSON object as a line; steals o. */
static void send_json(struct codex_client *c, json_t *o)
{
	size_t len = 0;
	char *text = jsonx_dumps_compact(o, &len);
	json_decref(o);
	text = realloc(text, len + 2);
	if (!text)
		abort();
	text[len++] = '\n';
	text[len] = '\0';
	if (c->io.send(c->io.arg, text, len) < 0)
		fail(c, "cannot write to codex app-server");
	free(text);
}

/* Sends a request; steals params. Returns its id. */
static json_int_t request(struct codex_client *c, const char *method, json_t *params)
{
	json_int_t id = c->next_id++;
	send_json(c, json_pack("{s:I, s:s, s:o}", "id", id, "method", method, "params", params));
	return id;
}

static void emit(struct codex_client *c, json_t *msg)
{
	if (c->state == CODEX_FAILED) {
		json_decref(msg);
		return;
	}
	if (c->io.emit(c->io.arg, msg) < 0)
		fail(c, "Agent run cancelled");
}

static void stream_event(struct codex_client *c, json_t *event)
{
	emit(c, json_pack("{s:s, s:o}", "type", "stream_event", "event", event));
}

static void close_block(struct codex_client *c)
{
	if (c->block == BLOCK_NONE)
		return;
	stream_event(c, json_pack("{s:s, s:i}", "type", "content_block_stop", "index", 0));
	c->block = BLOCK_NONE;
	free(c->block_item);
	c->block_item = NULL;
}

static bool block_is(const struct codex_client *c, enum block kind, const char *item)
{
	return c->block == kind && c->block_item && item && strcmp(c->block_item, item) == 0;
}

static void open_block(struct codex_client *c, enum block kind, const char *item)
{
	if (block_is(c, kind, item))
		return;
	close_block(c);
	json_t *cb = kind == BLOCK_TEXT
			     ? json_pack("{s:s, s:s}", "type", "text", "text", "")
			     : json_pack("{s:s, s:s}", "type", "thinking", "thinking", "");
	stream_event(c, json_pack("{s:s, s:i, s:o}", "type", "content_block_start", "index", 0,
				  "content_block", cb));
	c->block = kind;
	c->block_item = xstrdup(item);
}

static void delta(struct codex_client *c, enum block kind, const char *item, const char *text)
{
	open_block(c, kind, item);
	json_t *d = kind == BLOCK_TEXT
			    ? json_pack("{s:s, s:s}", "type", "text_delta", "text", text)
			    : json_pack("{s:s, s:s}", "type", "thinking_delta", "thinking", text);
	stream_event(c, json_pack("{s:s, s:i, s:o}", "type", "content_block_delta", "index", 0,
				  "delta", d));
}

/* A tool call as Claude streams one, then the whole assistant message; steals input. */
static void tool_use(struct codex_client *c, const char *id, const char *name, json_t *input)
{
	if (!id || json_object_get(c->tools, id)) {
		json_decref(input);
		return;
	}
	close_block(c);
	json_object_set_new(c->tools, id, json_string(name));
	stream_event(c, json_pack("{s:s, s:i, s:{s:s, s:s, s:s, s:{}}}", "type",
				  "content_block_start", "index", 0, "content_block", "type",
				  "tool_use", "id", id, "name", name, "input"));
	char *partial = jsonx_dumps_compact(input, NULL);
	stream_event(c,
		     json_pack("{s:s, s:i, s:{s:s, s:s}}", "type", "content_block_delta", "index",
			       0, "delta", "type", "input_json_delta", "partial_json", partial));
	free(partial);
	stream_event(c, json_pack("{s:s, s:i}", "type", "content_block_stop", "index", 0));
	emit(c, json_pack("{s:s, s:{s:s, s:[{s:s, s:s, s:s, s:o}]}}", "type", "assistant",
			  "message", "role", "assistant", "content", "type", "tool_use", "id", id,
			  "name", name, "input", input));
}

/* Steals content. */
static void tool_result(struct codex_client *c, const char *id, json_t *content, bool is_error)
{
	json_t *part = json_pack("{s:s, s:s, s:o}", "type", "tool_result", "tool_use_id", id,
				 "content", content);
	if (is_error)
		json_object_set_new(part, "is_error", json_true());
	emit(c, json_pack("{s:s, s:{s:s, s:[o]}}", "type", "user", "message", "role", "user",
			  "content", part));
}

/* The input of a fileChange item and whether it is a Write (every change an add). */
static json_t *file_input(const json_t *item, bool *is_write)
{
	json_t *changes = json_object_get(item, "changes");
	json_t *first = json_array_get(changes, 0);
	const char *status = jsonx_str(item, "status");
	size_t i;
	json_t *ch;
	*is_write = json_array_size(changes) > 0;
	json_array_foreach (changes, i, ch) {
		json_t *kind = json_object_get(ch, "kind");
		const char *k = json_is_string(kind) ? json_string_value(kind)
						     : jsonx_str(kind, "type");
		if (!k || strcmp(k, "add") != 0)
			*is_write = false;
	}
	const char *path = jsonx_str(first, "path"), *diff = jsonx_str(first, "diff");
	json_t *in = json_pack("{s:s, s:O?, s:s}", "file_path", path ? path : "", "changes",
			       changes, "status", status ? status : "");
	if (*is_write) {
		json_object_set_new(in, "content", json_string(diff ? diff : ""));
		return in;
	}
	/* The +/- lines of the first change's unified diff, without the headers. */
	json_t *del = json_object_get(first, "kind");
	const char *dk = json_is_string(del) ? json_string_value(del) : jsonx_str(del, "type");
	size_t cap = diff ? strlen(diff) + 1 : 1;
	char *olds = calloc(1, cap), *news = calloc(1, cap);
	if (!olds || !news)
		abort();
	size_t on = 0, nn = 0;
	for (const char *p = diff ? diff : ""; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
		bool header = strncmp(p, "---", 3) == 0 || strncmp(p, "+++", 3) == 0;
		if (!header && *p == '-') {
			memcpy(olds + on, p + 1, n - 1);
			on += n - 1;
		} else if (!header && *p == '+') {
			memcpy(news + nn, p + 1, n - 1);
			nn += n - 1;
		}
		p += n;
	}
	if (dk && strcmp(dk, "delete") == 0 && on == 0 && diff) {
		snprintf(olds, cap, "%s", diff); /* a delete carries the old content as is */
		nn = 0;
	}
	news[nn] = '\0';
	json_object_set_new(in, "old_string", json_string(olds));
	json_object_set_new(in, "new_string", json_string(news));
	free(olds);
	free(news);
	return in;
}

static void mcp_name(const json_t *item, char *buf, size_t bufsz)
{
	const char *server = jsonx_str(item, "server"), *tool = jsonx_str(item, "tool");
	snprintf(buf, bufsz, "mcp__%s__%s", server ? server : "", tool ? tool : "");
}

static json_t *arguments(const json_t *item)
{
	json_t *a = json_object_get(item, "arguments");
	if (json_is_string(a)) {
		json_error_t je;
		json_t *v = json_loads(json_string_value(a), 0, &je);
		if (json_is_object(v))
			return v;
		json_decref(v);
	}
	return json_is_object(a) ? json_deep_copy(a) : json_object();
}

static void item_started(struct codex_client *c, const json_t *item)
{
	const char *type = jsonx_str(item, "type"), *id = jsonx_str(item, "id");
	char name[WORKERD_TOOL_NAME_MAX + 1];
	if (!type || !id)
		return;
	if (strcmp(type, "mcpToolCall") == 0) {
		mcp_name(item, name, sizeof(name));
		const char *server = jsonx_str(item, "server"), *tool = jsonx_str(item, "tool");
		if (server && tool)
			json_object_set_new(c->pending_mcp, server, json_string(tool));
		tool_use(c, id, name, arguments(item));
	} else if (strcmp(type, "commandExecution") == 0) {
		const char *cmd = jsonx_str(item, "command"), *cwd = jsonx_str(item, "cwd");
		tool_use(c, id, "Bash",
			 json_pack("{s:s, s:s}", "command", cmd ? cmd : "", "cwd", cwd ? cwd : ""));
	} else if (strcmp(type, "fileChange") == 0) {
		bool is_write;
		json_t *in = file_input(item, &is_write);
		tool_use(c, id, is_write ? "Write" : "Edit", in);
	} else if (strcmp(type, "dynamicToolCall") == 0) {
		const char *tool = jsonx_str(item, "tool");
		runtime_canonical_tool(tool ? tool : "tool", name, sizeof(name));
		tool_use(c, id, name, arguments(item));
	}
}

static void web_search(struct codex_client *c, const json_t *item, const char *id)
{
	json_t *action = json_object_get(item, "action");
	const char *kind = jsonx_str(action, "type");
	const char *query = jsonx_str(item, "query");
	if (!query)
		query = jsonx_str(action, "query");
	if (kind && (strcmp(kind, "openPage") == 0 || strcmp(kind, "findInPage") == 0)) {
		const char *url = jsonx_str(action, "url");
		tool_use(c, id, "WebFetch", json_pack("{s:s}", "url", url ? url : ""));
		tool_result(c, id, json_pack("{s:s, s:O}", "url", url ? url : "", "action", action),
			    false);
		return;
	}
	tool_use(c, id, "WebSearch", json_pack("{s:s}", "query", query ? query : ""));
	tool_result(c, id,
		    json_pack("{s:s, s:O?, s:[]}", "query", query ? query : "", "action", action,
			      "results"),
		    false);
}

static void item_completed(struct codex_client *c, const json_t *item)
{
	const char *type = jsonx_str(item, "type"), *id = jsonx_str(item, "id");
	if (!type || !id)
		return;
	if (strcmp(type, "agentMessage") == 0) {
		const char *text = jsonx_str(item, "text");
		if (block_is(c, BLOCK_TEXT, id)) {
			close_block(c);
		} else if (text && *text) {
			close_block(c);
			emit(c, json_pack("{s:s, s:{s:s, s:[{s:s, s:s}]}}", "type", "assistant",
					  "message", "role", "assistant", "content", "type", "text",
					  "text", text));
		}
		if (text && *text) {
			free(c->last_text);
			c->last_text = xstrdup(text);
		}
		return;
	}
	if (strcmp(type, "reasoning") == 0) {
		if (block_is(c, BLOCK_THINKING, id))
			close_block(c);
		return;
	}
	if (strcmp(type, "webSearch") == 0) {
		web_search(c, item, id);
		return;
	}
	item_started(c, item); /* a tool whose start was missed still gets its tool_use */
	if (!json_object_get(c->tools, id))
		return;
	if (strcmp(type, "mcpToolCall") == 0) {
		char name[WORKERD_TOOL_NAME_MAX + 1];
		mcp_name(item, name, sizeof(name));
		json_t *err = json_object_get(item, "error"),
		       *res = json_object_get(item, "result");
		json_t *content;
		bool is_error = false;
		if (json_is_object(err) || json_is_string(err)) {
			const char *m = json_is_string(err) ? json_string_value(err)
							    : jsonx_str(err, "message");
			content = json_string(m ? m : "MCP tool call failed");
			is_error = true;
		} else if (json_is_array(json_object_get(res, "content"))) {
			content = json_incref(json_object_get(res, "content"));
		} else if (res && !json_is_null(res)) {
			content = json_incref(res);
		} else {
			content = json_pack("{s:O?, s:O?}", "status",
					    json_object_get(item, "status"), "durationMs",
					    json_object_get(item, "durationMs"));
		}
		const char *server = jsonx_str(item, "server");
		if (server)
			json_object_del(c->pending_mcp, server);
		bool stop = !is_error && runtime_is_approval_stop(name, content);
		tool_result(c, id, content, is_error);
		if (stop && c->state == CODEX_RUNNING)
			c->state = CODEX_STOPPED;
	} else if (strcmp(type, "commandExecution") == 0) {
		const char *out = jsonx_str(item, "aggregatedOutput");
		json_t *code = json_object_get(item, "exitCode");
		const char *status = jsonx_str(item, "status");
		char msg[128];
		if (out) {
			tool_result(c, id, json_string(out), false);
			return;
		}
		if (json_is_integer(code))
			snprintf(msg, sizeof(msg), "Command %s with exit code %lld.",
				 status ? status : "completed",
				 (long long)json_integer_value(code));
		else
			snprintf(msg, sizeof(msg), "Command %s.", status ? status : "completed");
		tool_result(c, id, json_string(msg), false);
	} else if (strcmp(type, "fileChange") == 0) {
		bool is_write;
		tool_result(c, id, file_input(item, &is_write), false);
	} else if (strcmp(type, "dynamicToolCall") == 0) {
		json_t *items = json_object_get(item, "contentItems");
		tool_result(c, id,
			    items ? json_incref(items)
				  : json_boolean(json_is_true(json_object_get(item, "success"))),
			    false);
	}
}

static void output_delta(struct codex_client *c, const json_t *params)
{
	const char *id = jsonx_str(params, "itemId"), *d = jsonx_str(params, "delta");
	if (!id || !d)
		return;
	const char *prev = jsonx_str(c->outputs, id);
	size_t pl = prev ? strlen(prev) : 0, dl = strlen(d);
	char *all = malloc(pl + dl + 1);
	if (!all)
		abort();
	memcpy(all, prev ? prev : "", pl);
	memcpy(all + pl, d, dl + 1);
	const char *keep = all;
	if (pl + dl > CODEX_OUTPUT_MAX)
		keep = all + (pl + dl - CODEX_OUTPUT_MAX);
	json_object_set_new(c->outputs, id, json_string(keep));
	free(all);
	emit(c, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", "tool_output_delta",
			  "tool_use_id", id, "toolName", "Bash", "delta", d, "output",
			  jsonx_str(c->outputs, id), "status", "running"));
}

double codex_cost_usd(const char *model, long long input, long long cached, long long output)
{
	static const struct {
		const char *model;
		double in, cached, out; /* USD per million tokens */
	} prices[] = {
		{"gpt-5.5", 5, 0.5, 30},
		{"openai/gpt-5.5", 5, 0.5, 30},
		{"gpt-5.4", 2.5, 0.25, 15},
		{"gpt-5.4-codex", 2.5, 0.25, 15},
		{"openai/gpt-5.4", 2.5, 0.25, 15},
		{"gpt-5.4-mini", 0.75, 0.075, 4.5},
		{"openai/gpt-5.4-mini", 0.75, 0.075, 4.5},
	};
	for (size_t i = 0; model && i < sizeof(prices) / sizeof(prices[0]); i++) {
		if (strcmp(model, prices[i].model) != 0)
			continue;
		long long fresh = input - cached > 0 ? input - cached : 0;
		return ((double)fresh * prices[i].in + (double)cached * prices[i].cached +
			(double)output * prices[i].out) /
		       1e6;
	}
	return 0;
}

static void emit_result(struct codex_client *c, const json_t *turn)
{
	json_int_t in = json_integer_value(json_object_get(c->usage, "inputTokens"));
	json_int_t cached = json_integer_value(json_object_get(c->usage, "cachedInputTokens"));
	json_int_t out = json_integer_value(json_object_get(c->usage, "outputTokens"));
	double cost = codex_cost_usd(c->turn.model, in, cached, out);
	json_t *dur = json_object_get(turn, "durationMs");
	json_t *usage = json_object();
	json_object_set_new(usage, c->turn.model,
			    json_pack("{s:I, s:I, s:I, s:i, s:f}", "inputTokens", in,
				      "outputTokens", out, "cacheReadInputTokens", cached,
				      "cacheCreationInputTokens", 0, "costUSD", cost));
	emit(c, json_pack("{s:s, s:s, s:b, s:s, s:f, s:I, s:i, s:i, s:o}", "type", "result",
			  "subtype", "success", "is_error", 0, "result",
			  c->last_text ? c->last_text : "", "total_cost_usd", cost, "duration_ms",
			  json_is_integer(dur) ? json_integer_value(dur) : (json_int_t)0,
			  "duration_api_ms", 0, "num_turns", 1, "modelUsage", usage));
}

static void announce_thread(struct codex_client *c, const char *tid)
{
	if (!tid || !*tid || strlen(tid) >= sizeof(c->thread_id))
		return;
	snprintf(c->thread_id, sizeof(c->thread_id), "%s", tid);
	if (strcmp(c->announced, tid) == 0 ||
	    (c->turn.resume_thread && strcmp(c->turn.resume_thread, tid) == 0))
		return;
	snprintf(c->announced, sizeof(c->announced), "%s", tid);
	emit(c,
	     json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}}", "type", "system", "subtype",
		       "init", "session_id", tid, "model", c->turn.model, "providerSessionState",
		       "runtimeId", "codex-cli", "sessionId", tid, "format", "codex-cli-session"));
}

/* Whether a turn-scoped notification belongs to this client's turn. */
static bool in_turn(const struct codex_client *c, const json_t *params)
{
	const char *tid = jsonx_str(params, "turnId");
	if (!tid)
		return true;
	if (!c->turn_sent)
		return false;
	return !c->turn_id || strcmp(c->turn_id, tid) == 0;
}

static void turn_completed(struct codex_client *c, const json_t *params)
{
	json_t *turn = json_object_get(params, "turn");
	const char *id = jsonx_str(turn, "id"), *status = jsonx_str(turn, "status");
	if (!c->turn_sent || (c->turn_id && id && strcmp(c->turn_id, id) != 0))
		return;
	close_block(c);
	if (status && strcmp(status, "failed") == 0) {
		const char *m = jsonx_str(json_object_get(turn, "error"), "message");
		fail(c, "%s", m ? m : "Codex turn failed");
		return;
	}
	emit_result(c, turn);
	if (c->state == CODEX_RUNNING)
		c->state = CODEX_DONE;
}

static void on_notification(struct codex_client *c, const char *method, const json_t *params)
{
	if (!in_turn(c, params))
		return;
	if (strcmp(method, "item/agentMessage/delta") == 0) {
		const char *d = jsonx_str(params, "delta");
		if (d && *d)
			delta(c, BLOCK_TEXT, jsonx_str(params, "itemId"), d);
	} else if (strcmp(method, "item/reasoning/textDelta") == 0 ||
		   strcmp(method, "item/reasoning/summaryTextDelta") == 0) {
		const char *d = jsonx_str(params, "delta");
		if (d && *d)
			delta(c, BLOCK_THINKING, jsonx_str(params, "itemId"), d);
	} else if (strcmp(method, "item/started") == 0) {
		item_started(c, json_object_get(params, "item"));
	} else if (strcmp(method, "item/completed") == 0) {
		item_completed(c, json_object_get(params, "item"));
	} else if (strcmp(method, "item/commandExecution/outputDelta") == 0 ||
		   strcmp(method, "command/exec/outputDelta") == 0) {
		output_delta(c, params);
	} else if (strcmp(method, "item/mcpToolCall/progress") == 0) {
		const char *m = jsonx_str(params, "delta");
		if (!m)
			m = jsonx_str(params, "message");
		if (m)
			emit(c, json_pack("{s:s, s:s}", "type", "tool_use_summary", "summary", m));
	} else if (strcmp(method, "thread/started") == 0) {
		announce_thread(c, jsonx_str(json_object_get(params, "thread"), "id"));
	} else if (strcmp(method, "thread/tokenUsage/updated") == 0) {
		json_t *last = json_object_get(json_object_get(params, "tokenUsage"), "last");
		if (json_is_object(last) && jsonx_str(params, "turnId")) {
			json_decref(c->usage);
			c->usage = json_incref(last);
		}
	} else if (strcmp(method, "turn/started") == 0) {
		const char *id = jsonx_str(json_object_get(params, "turn"), "id");
		if (c->turn_sent && !c->turn_id && id)
			c->turn_id = xstrdup(id);
	} else if (strcmp(method, "error") == 0) {
		const char *m = jsonx_str(json_object_get(params, "error"), "message");
		m = m ? m : "Codex reported an error";
		if (json_is_true(json_object_get(params, "willRetry")))
			emit(c, json_pack("{s:s, s:s}", "type", "error", "error", m));
		else
			fail(c, "%s", m);
	} else if (strcmp(method, "turn/completed") == 0) {
		turn_completed(c, params);
	}
}

bool codex_is_missing_thread(const char *message)
{
	static const char *const pattern =
		"no (rollout|thread|session) found|thread .*not found|rollout .*not found";
	regex_t re;
	if (!message || regcomp(&re, pattern, REG_EXTENDED | REG_ICASE | REG_NOSUB) != 0)
		return false;
	bool hit = regexec(&re, message, 0, NULL, 0) == 0;
	regfree(&re);
	return hit;
}

static void start_thread(struct codex_client *c)
{
	const struct codex_turn *t = &c->turn;
	json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "model", t->model, "cwd", t->cwd,
			      "approvalPolicy", "never", "sandbox", t->sandbox, "baseInstructions",
			      t->system_prompt, "developerInstructions", "");
	if (c->resuming) {
		json_object_set_new(p, "threadId", json_string(t->resume_thread));
		c->id_thread = request(c, "thread/resume", p);
	} else {
		json_object_set_new(p, "experimentalRawEvents", json_false());
		c->id_thread = request(c, "thread/start", p);
	}
}

static void start_turn(struct codex_client *c)
{
	const struct codex_turn *t = &c->turn;
	c->turn_sent = true;
	c->id_turn = request(c, "turn/start",
			     json_pack("{s:s, s:[{s:s, s:s, s:[]}], s:s, s:s, s:s, s:s, s:s}",
				       "threadId", c->thread_id, "input", "type", "text", "text",
				       t->prompt, "text_elements", "cwd", t->cwd, "approvalPolicy",
				       "never", "model", t->model, "effort", t->effort, "summary",
				       "auto"));
}

static void on_response(struct codex_client *c, json_int_t id, const json_t *msg)
{
	json_t *error = json_object_get(msg, "error"), *result = json_object_get(msg, "result");
	const char *em = jsonx_str(error, "message");
	em = em ? em : "unknown error";
	if (id <= 0)
		return;
	if (id == c->id_init) {
		c->id_init = 0;
		if (error) {
			fail(c, "Codex app-server initialize failed: %s", em);
			return;
		}
		send_json(c, json_pack("{s:s}", "method", "initialized"));
		if (c->turn.api_key)
			c->id_login = request(c, "account/login/start",
					      json_pack("{s:s, s:s}", "type", "apiKey", "apiKey",
							c->turn.api_key));
		else
			start_thread(c);
	} else if (id == c->id_login) {
		c->id_login = 0;
		if (error)
			fail(c, "Codex app-server API key login failed: %s", em);
		else
			start_thread(c);
	} else if (id == c->id_thread) {
		c->id_thread = 0;
		if (error && c->resuming && codex_is_missing_thread(em)) {
			c->resuming = false;
			start_thread(c);
			return;
		}
		if (error) {
			fail(c, "Codex %s failed: %s",
			     c->resuming ? "thread/resume" : "thread/start", em);
			return;
		}
		const char *tid = jsonx_str(json_object_get(result, "thread"), "id");
		if (!tid || !*tid || strlen(tid) >= sizeof(c->thread_id)) {
			fail(c, "Codex app-server did not return a thread id");
			return;
		}
		announce_thread(c, tid);
		start_turn(c);
	} else if (id == c->id_turn) {
		c->id_turn = 0;
		json_t *turn = json_object_get(result, "turn");
		const char *tid = jsonx_str(turn, "id");
		if (error) {
			fail(c, "Codex turn/start failed: %s", em);
			return;
		}
		if (!tid) {
			fail(c, "Codex app-server did not return a turn id");
			return;
		}
		if (!c->turn_id)
			c->turn_id = xstrdup(tid);
		size_t i;
		json_t *item;
		json_array_foreach (json_object_get(turn, "items"), i, item)
			item_started(c, item);
	}
}

static const char *const servers[] = {"second", "app_tools", "app_data", NULL};

/* The tool an elicitation is about: _meta's name, `tool "X"` in the message, else the MCP call
 * in progress on that server. Written into buf; false when none is found. */
static bool elicited_tool(const json_t *params, const json_t *pending, char *buf, size_t bufsz)
{
	json_t *meta = json_object_get(params, "_meta");
	const char *server = jsonx_str(params, "serverName");
	const char *name = jsonx_str(meta, "tool_name");
	if (!name)
		name = jsonx_str(meta, "toolName");
	if (!name)
		name = jsonx_str(json_object_get(meta, "tool"), "name");
	if (name && *name) {
		snprintf(buf, bufsz, "%s", name);
		return true;
	}
	const char *m = jsonx_str(params, "message");
	const char *q = m ? strstr(m, "tool \"") : NULL;
	if (q) {
		q += 6;
		const char *end = strchr(q, '"');
		if (end && end > q && (size_t)(end - q) < bufsz) {
			memcpy(buf, q, (size_t)(end - q));
			buf[end - q] = '\0';
			return true;
		}
	}
	name = server ? jsonx_str(pending, server) : NULL;
	if (name && *name) {
		snprintf(buf, bufsz, "%s", name);
		return true;
	}
	return false;
}

json_t *codex_elicitation_reply(const json_t *params, const json_t *pending,
				const json_t *allowed_tools)
{
	const char *kind = jsonx_str(json_object_get(params, "_meta"), "codex_approval_kind");
	const char *server = jsonx_str(params, "serverName");
	char tool[WORKERD_TOOL_NAME_MAX + 1], canon[2 * WORKERD_TOOL_NAME_MAX + 16];
	bool known = false;
	for (size_t i = 0; server && servers[i]; i++)
		known = known || strcmp(server, servers[i]) == 0;
	if (kind && strcmp(kind, "mcp_tool_call") == 0 && known &&
	    elicited_tool(params, pending, tool, sizeof(tool))) {
		/* A name already in mcp__ form is taken as it is. */
		if (strncmp(tool, "mcp__", 5) == 0)
			snprintf(canon, sizeof(canon), "%s", tool);
		else
			snprintf(canon, sizeof(canon), "mcp__%s__%s", server, tool);
		if (runtime_tool_allowed(allowed_tools, canon))
			return json_pack("{s:s, s:{}, s:n}", "action", "accept", "content",
					 "_meta");
	}
	return json_pack("{s:s, s:n, s:n}", "action", "decline", "content", "_meta");
}

/* the answer to one request of the server (result or error message). */
static json_t *server_reply(struct codex_client *c, const char *method, const json_t *params,
			    char *errbuf, size_t errsz)
{
	if (!c->turn_sent || c->state != CODEX_RUNNING) {
		snprintf(errbuf, errsz, "No active Codex turn is available.");
		return NULL;
	}
	if (strcmp(method, "item/commandExecution/requestApproval") == 0 ||
	    strcmp(method, "item/fileChange/requestApproval") == 0)
		return json_pack("{s:s}", "decision", "decline");
	if (strcmp(method, "execCommandApproval") == 0 || strcmp(method, "applyPatchApproval") == 0)
		return json_pack("{s:s}", "decision", "denied"); /* the v1 protocol's word */
	if (strcmp(method, "item/permissions/requestApproval") == 0)
		return json_pack("{s:{}, s:s}", "permissions", "scope", "turn");
	if (strcmp(method, "mcpServer/elicitation/request") == 0)
		return codex_elicitation_reply(params, c->pending_mcp, c->turn.allowed_tools);
	if (strcmp(method, "item/tool/requestUserInput") == 0)
		return json_pack("{s:{}}", "answers");
	if (strcmp(method, "item/tool/call") == 0)
		return json_pack("{s:[{s:s, s:s}], s:b}", "contentItems", "type", "inputText",
				 "text", "Second does not execute client-side dynamic Codex tools.",
				 "success", 0);
	if (strcmp(method, "account/chatgptAuthTokens/refresh") == 0) {
		snprintf(errbuf, errsz, "ChatGPT token refresh is not available in Second.");
		return NULL;
	}
	snprintf(errbuf, errsz, "Unsupported Codex app-server request: %.200s", method);
	return NULL;
}

static void on_server_request(struct codex_client *c, json_t *id, const char *method,
			      const json_t *params)
{
	char err[512];
	json_t *result = server_reply(c, method, params, err, sizeof(err));
	if (result)
		send_json(c, json_pack("{s:O, s:o}", "id", id, "result", result));
	else
		send_json(c, json_pack("{s:O, s:{s:i, s:s}}", "id", id, "error", "code", -32603,
				       "message", err));
}

struct codex_client *codex_client_new(const struct codex_turn *turn, const struct codex_io *io)
{
	struct codex_client *c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	c->turn = *turn;
	c->io = *io;
	c->next_id = 1;
	c->state = CODEX_RUNNING;
	c->resuming = turn->resume_thread && *turn->resume_thread;
	c->tools = json_object();
	c->outputs = json_object();
	c->pending_mcp = json_object();
	return c;
}

void codex_client_free(struct codex_client *c)
{
	if (!c)
		return;
	json_decref(c->tools);
	json_decref(c->outputs);
	json_decref(c->pending_mcp);
	json_decref(c->usage);
	free(c->turn_id);
	free(c->block_item);
	free(c->last_text);
	free(c);
}

enum codex_state codex_client_start(struct codex_client *c)
{
	c->id_init = request(c, "initialize",
			     json_pack("{s:{s:s, s:s, s:s}, s:n}", "clientInfo", "name",
				       "second-worker", "title", "Second Worker", "version",
				       "0.1.0", "capabilities"));
	return c->state;
}

enum codex_state codex_client_feed(struct codex_client *c, const char *line, size_t len)
{
	if (c->state != CODEX_RUNNING)
		return c->state;
	struct err e = {0};
	json_t *msg = jsonx_loadb(line, len, PROC_LINE_MAX, CODEX_JSON_DEPTH_MAX, &e);
	if (!json_is_object(msg)) {
		json_decref(msg);
		return c->state;
	}
	json_t *id = json_object_get(msg, "id");
	const char *method = jsonx_str(msg, "method");
	json_t *params = json_object_get(msg, "params");
	if (id && !json_is_null(id) && !method) {
		if (json_is_integer(id))
			on_response(c, json_integer_value(id), msg);
	} else if (id && !json_is_null(id) && method) {
		on_server_request(c, id, method, params);
	} else if (method) {
		on_notification(c, method, params);
	}
	json_decref(msg);
	return c->state;
}

enum codex_state codex_client_state(const struct codex_client *c)
{
	return c->state;
}

const char *codex_client_error(const struct codex_client *c)
{
	return c->error;
}
