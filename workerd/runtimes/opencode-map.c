/* OpenCode's `run --format json` events normalized into R-1 messages, and its configuration.
 *
 * OpenCode prints one event per line, each with `type`, `timestamp`, `sessionID` and a `part`:
 * step_start, text (a whole text part: OpenCode never streams deltas), reasoning (only with
 * --thinking), tool_use (once, when the tool has finished), step_finish (the step's tokens and
 * cost) and error. The map turns text into a one-delta stream_event block plus the whole
 * assistant message, a tool part into an assistant tool_use and a user tool_result, and sums
 * every step_finish into the one `result` emitted at the end of the turn. */
#include <config.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/jsonx.h"
#include "lib/limits.h"
#include "workerd/runtimes/opencode-map.h"
#include "workerd/runtimes/runtime.h"

const char *const opencode_namespaces[3] = {"second", "app_tools", "app_data"};

struct opencode_map {
	char *model;
	opencode_emit_fn emit;
	void *arg;
	enum opencode_state state;
	bool refused; /* emit said the turn takes no more */
	char error[OPENCODE_ERROR_MAX + 64];
	char *session;    /* the last session id announced, malloc'd */
	json_t *tool_ids; /* call ids whose tool_use was emitted */
	char *last_text;  /* for result.result */
	int block;        /* the next stream_event index */
	/* Summed over every finished step (U-4). */
	int steps;
	long long input, output, cache_read, cache_write;
	double cost;
	long long first_ts, last_ts;
};

struct opencode_map *opencode_map_new(const char *model, opencode_emit_fn emit, void *arg)
{
	struct opencode_map *m = calloc(1, sizeof(*m));
	if (!m || !(m->model = strdup(model)))
		abort();
	m->emit = emit;
	m->arg = arg;
	m->tool_ids = json_object();
	return m;
}

void opencode_map_free(struct opencode_map *m)
{
	if (!m)
		return;
	free(m->model);
	free(m->session);
	free(m->last_text);
	json_decref(m->tool_ids);
	free(m);
}

enum opencode_state opencode_map_state(const struct opencode_map *m)
{
	return m->state;
}

const char *opencode_map_error(const struct opencode_map *m)
{
	return m->error;
}

const char *opencode_map_session(const struct opencode_map *m)
{
	return m->session;
}

static void put(struct opencode_map *m, json_t *msg)
{
	if (!msg)
		return; /* json_pack refused a value (not UTF-8): nothing to say */
	if (m->refused) {
		json_decref(msg);
		return;
	}
	if (m->emit(m->arg, msg) < 0) {
		m->refused = true;
		if (m->state != OPENCODE_FAILED)
			snprintf(m->error, sizeof(m->error), "Agent run cancelled");
		m->state = OPENCODE_FAILED;
	}
}

/* A JSON string of at most `max` bytes of s, cut on a UTF-8 boundary; bytes that are not
 * UTF-8 become '?'. New reference. */
static json_t *safe_string(const char *s, size_t len, size_t max)
{
	if (len > max) {
		len = max;
		while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
			len--;
	}
	json_t *v = json_stringn(s, len);
	if (v)
		return v;
	char *copy = malloc(len + 1);
	if (!copy)
		abort();
	for (size_t i = 0; i < len; i++)
		copy[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
	v = json_stringn(copy, len);
	free(copy);
	return v;
}

static long long num(const json_t *v)
{
	double d = json_number_value(v);
	return isfinite(d) && d > 0 && d < 9e15 ? (long long)d : 0;
}

static void announce_session(struct opencode_map *m, const char *sid)
{
	json_t *msg = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s}}", "type", "system", "subtype",
				"init", "session_id", sid, "providerSessionState", "runtimeId",
				"opencode", "sessionId", sid, "format", "opencode-session");
	put(m, msg);
}

static void note_session(struct opencode_map *m, const json_t *ev)
{
	const char *sid = jsonx_str(ev, "sessionID");
	if (!sid)
		sid = jsonx_str(json_object_get(ev, "part"), "sessionID");
	if (!sid || !*sid || strlen(sid) > OPENCODE_SESSION_ID_MAX ||
	    (m->session && strcmp(m->session, sid) == 0))
		return;
	free(m->session);
	if (!(m->session = strdup(sid)))
		abort();
	announce_session(m, sid);
}

/* A whole text (or thinking) part: one stream_event block carrying it as a single delta, so
 * clients reading deltas see it, then the whole assistant message. */
static void emit_block(struct opencode_map *m, const char *kind, const char *text)
{
	bool thinking = strcmp(kind, "thinking") == 0;
	int idx = m->block++;
	put(m, json_pack("{s:s, s:{s:s, s:i, s:{s:s, s:s}}}", "type", "stream_event", "event",
			 "type", "content_block_start", "index", idx, "content_block", "type", kind,
			 kind, ""));
	put(m, json_pack("{s:s, s:{s:s, s:i, s:{s:s, s:s}}}", "type", "stream_event", "event",
			 "type", "content_block_delta", "index", idx, "delta", "type",
			 thinking ? "thinking_delta" : "text_delta", thinking ? "thinking" : "text",
			 text));
	put(m, json_pack("{s:s, s:{s:s, s:i}}", "type", "stream_event", "event", "type",
			 "content_block_stop", "index", idx));
	put(m, json_pack("{s:s, s:{s:s, s:[{s:s, s:s}]}}", "type", "assistant", "message", "role",
			 "assistant", "content", "type", kind, kind, text));
}

static void on_text(struct opencode_map *m, const json_t *part, const char *kind)
{
	const char *text = jsonx_str(part, "text");
	if (!text || !*text)
		return;
	emit_block(m, kind, text);
	if (strcmp(kind, "text") == 0) {
		free(m->last_text);
		if (!(m->last_text = strdup(text)))
			abort();
	}
}

static void on_tool(struct opencode_map *m, const json_t *part)
{
	const char *tool = jsonx_str(part, "tool");
	const char *id = jsonx_str(part, "callID");
	if (!id)
		id = jsonx_str(part, "id");
	if (!tool || !id)
		return;
	char canon[WORKERD_TOOL_NAME_MAX + 1];
	runtime_canonical_tool(tool, canon, sizeof(canon));
	json_t *state = json_object_get(part, "state");
	const char *status = jsonx_str(state, "status");
	json_t *input = json_object_get(state, "input");
	if (!json_object_get(m->tool_ids, id)) {
		json_object_set_new(m->tool_ids, id, json_true());
		put(m, json_pack("{s:s, s:{s:s, s:[{s:s, s:s, s:s, s:o}]}}", "type", "assistant",
				 "message", "role", "assistant", "content", "type", "tool_use",
				 "id", id, "name", canon, "input",
				 json_is_object(input) ? json_incref(input) : json_object()));
	}
	if (!status)
		return;
	if (strcmp(status, "completed") == 0) {
		json_t *out = json_object_get(state, "output");
		put(m, json_pack("{s:s, s:{s:s, s:[{s:s, s:s, s:o}]}}", "type", "user", "message",
				 "role", "user", "content", "type", "tool_result", "tool_use_id",
				 id, "content", out ? json_incref(out) : json_string("")));
		if (m->state == OPENCODE_RUNNING && runtime_is_approval_stop(canon, out))
			m->state = OPENCODE_STOPPED;
	} else if (strcmp(status, "error") == 0) {
		const char *why = jsonx_str(state, "error");
		put(m,
		    json_pack("{s:s, s:{s:s, s:[{s:s, s:s, s:s, s:b}]}}", "type", "user", "message",
			      "role", "user", "content", "type", "tool_result", "tool_use_id", id,
			      "content", why ? why : "Tool failed.", "is_error", 1));
	}
}

static void on_step_finish(struct opencode_map *m, const json_t *part)
{
	const json_t *tokens = json_object_get(part, "tokens");
	const json_t *cache = json_object_get(tokens, "cache");
	m->steps++;
	m->input += num(json_object_get(tokens, "input"));
	/* OpenCode counts reasoning apart from output; both are billed as output. */
	m->output += num(json_object_get(tokens, "output")) +
		     num(json_object_get(tokens, "reasoning"));
	m->cache_read += num(json_object_get(cache, "read"));
	m->cache_write += num(json_object_get(cache, "write"));
	double cost = json_number_value(json_object_get(part, "cost"));
	if (isfinite(cost) && cost > 0)
		m->cost += cost;
}

static void on_error(struct opencode_map *m, const json_t *error)
{
	char msg[OPENCODE_ERROR_MAX + 64];
	opencode_safe_error(error, msg, sizeof(msg));
	snprintf(m->error, sizeof(m->error), "%s", msg);
	m->state = OPENCODE_FAILED;
}

enum opencode_state opencode_map_feed(struct opencode_map *m, const char *line, size_t len)
{
	if (m->state != OPENCODE_RUNNING)
		return m->state;
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	struct err e = {0};
	json_t *ev = len ? jsonx_loadb(line, len, PROC_LINE_MAX, OPENCODE_JSON_DEPTH_MAX, &e)
			 : NULL;
	if (!json_is_object(ev)) {
		json_decref(ev);
		if (len > 0)
			put(m, json_pack("{s:s, s:o}", "type", "tool_use_summary", "summary",
					 safe_string(line, len, OPENCODE_SUMMARY_MAX)));
		return m->state;
	}
	const char *type = jsonx_str(ev, "type");
	const json_t *part = json_object_get(ev, "part");
	long long ts = num(json_object_get(ev, "timestamp"));
	if (ts) {
		if (!m->first_ts)
			m->first_ts = ts;
		m->last_ts = ts;
	}
	note_session(m, ev);
	if (!type)
		type = "";
	if (strcmp(type, "error") == 0 || json_is_object(json_object_get(ev, "error")))
		on_error(m, json_object_get(ev, "error"));
	else if (strcmp(type, "text") == 0)
		on_text(m, part, "text");
	else if (strcmp(type, "reasoning") == 0)
		on_text(m, part, "thinking");
	else if (strcmp(type, "tool_use") == 0)
		on_tool(m, part);
	else if (strcmp(type, "step_finish") == 0)
		on_step_finish(m, part);
	json_decref(ev);
	return m->state;
}

void opencode_map_finish(struct opencode_map *m, bool failed)
{
	if (m->steps > 0) {
		json_t *usage = json_pack("{s:I, s:I, s:I, s:I, s:f}", "inputTokens", m->input,
					  "outputTokens", m->output, "cacheReadInputTokens",
					  m->cache_read, "cacheCreationInputTokens", m->cache_write,
					  "costUSD", m->cost);
		json_t *msg = json_pack(
			"{s:s, s:s, s:b, s:f, s:I, s:i, s:i, s:{s:I, s:I, s:I, s:I}, s:{s:o}}",
			"type", "result", "subtype", failed ? "error_during_execution" : "success",
			"is_error", failed, "total_cost_usd", m->cost, "duration_ms",
			m->last_ts - m->first_ts, "duration_api_ms", 0, "num_turns", m->steps,
			"usage", "input_tokens", m->input, "output_tokens", m->output,
			"cache_read_input_tokens", m->cache_read, "cache_creation_input_tokens",
			m->cache_write, "modelUsage", m->model, usage);
		if (msg && m->last_text)
			json_object_set_new(msg, "result", json_string(m->last_text));
		if (msg && m->session)
			json_object_set_new(msg, "session_id", json_string(m->session));
		put(m, msg);
	}
	if (m->session)
		announce_session(m, m->session);
}

static bool secret_key(const char *k)
{
	static const char *const words[] = {"key",           "token",  "secret",    "password",
					    "authorization", "cookie", "credential"};
	char low[128];
	size_t n = 0;
	for (; k[n] && n < sizeof(low) - 1; n++)
		low[n] = (char)tolower((unsigned char)k[n]);
	low[n] = '\0';
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(low, words[i]))
			return true;
	return false;
}

/* A copy of v without secret-like keys, at most `depth` levels. New reference. */
static json_t *without_secrets(const json_t *v, int depth)
{
	if (!json_is_object(v) && !json_is_array(v))
		return json_deep_copy(v);
	if (depth <= 0)
		return json_string("…");
	json_t *out = json_is_object(v) ? json_object() : json_array();
	const char *k;
	json_t *x;
	size_t i;
	if (json_is_object(v)) {
		json_object_foreach ((json_t *)v, k, x)
			if (!secret_key(k))
				json_object_set_new(out, k, without_secrets(x, depth - 1));
	} else {
		json_array_foreach (v, i, x)
			json_array_append_new(out, without_secrets(x, depth - 1));
	}
	return out;
}

/* Replaces credentials that look like OpenAI (sk-…) or AWS (AKIA…) keys, in place. */
static void redact(char *s)
{
	static const struct {
		const char *prefix;
		size_t min;
	} pats[] = {{"sk-", 8}, {"AKIA", 12}, {"ASIA", 12}};
	for (char *p = s; *p; p++)
		for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
			size_t pl = strlen(pats[i].prefix), n = 0;
			if (strncmp(p, pats[i].prefix, pl) != 0 ||
			    (p > s && isalnum((unsigned char)p[-1])))
				continue;
			while (isalnum((unsigned char)p[pl + n]) || p[pl + n] == '-' ||
			       p[pl + n] == '_')
				n++;
			if (n < pats[i].min)
				continue;
			static const char mark[] = "[redacted]";
			size_t rest = strlen(p + pl + n);
			memmove(p + sizeof(mark) - 1, p + pl + n, rest + 1);
			memcpy(p, mark, sizeof(mark) - 1);
			p += sizeof(mark) - 2;
			break;
		}
}

void opencode_safe_error(const json_t *error, char *buf, size_t bufsz)
{
	const json_t *data = json_object_get(error, "data");
	const char *name = jsonx_str(error, "name");
	if (!name)
		name = jsonx_str(error, "code");
	const char *message = jsonx_str(data, "message");
	if (!message)
		message = jsonx_str(error, "message");
	if (!message)
		message = json_string_value(error);
	long long status = num(json_object_get(data, "statusCode"));
	if (!status)
		status = num(json_object_get(error, "status"));
	char *dumped = NULL;
	if (!message) {
		json_t *clean = without_secrets(data ? data : error, 4);
		dumped = clean ? jsonx_dumps_compact(clean, NULL) : NULL;
		json_decref(clean);
		message = dumped ? dumped : "OpenCode reported an error.";
	}
	/* Redaction can only shorten a credential-sized run, so redact the whole text first. */
	size_t cap = strlen(message) + 200;
	char *text = malloc(cap);
	if (!text)
		abort();
	if (name && status)
		snprintf(text, cap, "%s (%lld): %s", name, status, message);
	else if (name)
		snprintf(text, cap, "%s: %s", name, message);
	else
		snprintf(text, cap, "%s", message);
	redact(text);
	size_t len = strlen(text),
	       max = bufsz - 1 < OPENCODE_ERROR_MAX ? bufsz - 1 : OPENCODE_ERROR_MAX;
	if (len > max) {
		len = max;
		while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
			len--;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	free(text);
	free(dumped);
}

bool opencode_namespace_used(const json_t *allowed, const char *ns)
{
	if (!allowed)
		return true;
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "mcp__%s__", ns);
	size_t i;
	json_t *v;
	json_array_foreach ((json_t *)allowed, i, v) {
		const char *s = json_string_value(v);
		if (s && strncmp(s, prefix, strlen(prefix)) == 0)
			return true;
	}
	return false;
}

json_t *opencode_config_new(const struct opencode_config_in *in)
{
	/* OpenCode's tool keys and the canonical names that enable them. */
	static const struct {
		const char *key, *canon;
	} builtins[] = {
		{"write", "Write"},         {"edit", "Edit"},           {"read", "Read"},
		{"grep", "Grep"},           {"glob", "Glob"},           {"bash", "Bash"},
		{"webfetch", "WebFetch"},   {"websearch", "WebSearch"}, {"task", "Task"},
		{"todowrite", "TodoWrite"}, {"skill", "Skill"},         {"apply_patch", "Edit"},
	};
	json_t *tools = json_object(), *mcp = json_object();
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		json_object_set_new(
			tools, builtins[i].key,
			json_boolean(runtime_tool_allowed(in->allowed_tools, builtins[i].canon)));
	char auth[BROKER_MAX_AUTH_BYTES + 16];
	snprintf(auth, sizeof(auth), "Bearer %s", in->token);
	for (size_t i = 0; i < 3; i++) {
		bool used = opencode_namespace_used(in->allowed_tools, opencode_namespaces[i]);
		json_object_set_new(tools, opencode_namespaces[i], json_boolean(used));
		if (used && in->mcp_url[i])
			json_object_set_new(mcp, opencode_namespaces[i],
					    json_pack("{s:s, s:s, s:{s:s}}", "type", "remote",
						      "url", in->mcp_url[i], "headers",
						      "Authorization", auth));
	}
	json_t *cfg = json_pack("{s:s, s:s, s:o, s:{s:{s:s, s:o}}, s:{s:s, s:s}}", "$schema",
				"https://opencode.ai/config.json", "model", in->model, "mcp", mcp,
				"agent", "second-builder", "prompt", in->system_prompt, "tools",
				tools, "permission", "question", "deny", "external_directory",
				"deny");
	if (!cfg)
		abort();
	if (json_is_object(in->provider) && json_object_size(in->provider))
		json_object_set_new(cfg, "provider", json_deep_copy(in->provider));
	return cfg;
}

/* JSON with comments and trailing commas → JSON, in a new buffer of the same size or less. */
static char *strip_jsonc(const char *s, size_t len, size_t *outlen)
{
	char *out = malloc(len + 1);
	if (!out)
		abort();
	size_t n = 0;
	bool str = false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (str) {
			out[n++] = c;
			if (c == '\\' && i + 1 < len)
				out[n++] = s[++i];
			else if (c == '"')
				str = false;
		} else if (c == '/' && i + 1 < len && s[i + 1] == '/') {
			while (i < len && s[i] != '\n')
				i++;
			if (i < len)
				out[n++] = '\n';
		} else if (c == '/' && i + 1 < len && s[i + 1] == '*') {
			for (i += 2; i + 1 < len && !(s[i] == '*' && s[i + 1] == '/'); i++)
				;
			i++;
			out[n++] = ' ';
		} else {
			str = c == '"';
			out[n++] = c;
		}
	}
	/* Trailing commas: a ',' outside strings followed only by blanks and '}' or ']'. */
	size_t m = 0;
	str = false;
	for (size_t i = 0; i < n; i++) {
		char c = out[i];
		if (str) {
			out[m++] = c;
			if (c == '\\' && i + 1 < n)
				out[m++] = out[++i];
			else if (c == '"')
				str = false;
			continue;
		}
		if (c == ',') {
			size_t j = i + 1;
			while (j < n && isspace((unsigned char)out[j]))
				j++;
			if (j < n && (out[j] == '}' || out[j] == ']'))
				continue;
		}
		str = c == '"';
		out[m++] = c;
	}
	out[m] = '\0';
	*outlen = m;
	return out;
}

static void deep_merge(json_t *dst, const json_t *src, int depth)
{
	const char *k;
	json_t *v;
	json_object_foreach ((json_t *)src, k, v) {
		json_t *d = json_object_get(dst, k);
		if (json_is_object(d) && json_is_object(v) && depth > 0)
			deep_merge(d, v, depth - 1);
		else
			json_object_set_new(dst, k, json_deep_copy(v));
	}
}

int opencode_provider_merge(json_t **provider, const char *text, size_t len, struct err *e)
{
	size_t n = 0;
	char *json = strip_jsonc(text, len, &n);
	json_t *doc = jsonx_loadb(json, n, OPENCODE_USER_CONFIG_MAX, OPENCODE_JSON_DEPTH_MAX, e);
	free(json);
	if (!doc)
		return -1;
	json_t *p = json_object_get(doc, "provider");
	if (json_is_object(p)) {
		if (!*provider)
			*provider = json_object();
		deep_merge(*provider, p, OPENCODE_JSON_DEPTH_MAX);
	}
	json_decref(doc);
	return 0;
}

static void env_refs(const json_t *v, json_t *names, int depth)
{
	const char *k;
	json_t *x;
	size_t i;
	if (depth <= 0)
		return;
	if (json_is_object(v)) {
		json_object_foreach ((json_t *)v, k, x)
			env_refs(x, names, depth - 1);
	} else if (json_is_array(v)) {
		json_array_foreach (v, i, x)
			env_refs(x, names, depth - 1);
	} else if (json_is_string(v)) {
		for (const char *p = json_string_value(v); (p = strstr(p, "{env:")); p++) {
			const char *a = p + 5, *b = a;
			while (isalnum((unsigned char)*b) || *b == '_')
				b++;
			if (*b != '}' || b == a || isdigit((unsigned char)*a) || b - a > 128)
				continue;
			bool seen = false;
			json_array_foreach (names, i, x)
				seen = seen ||
				       (strlen(json_string_value(x)) == (size_t)(b - a) &&
					strncmp(json_string_value(x), a, (size_t)(b - a)) == 0);
			if (!seen)
				json_array_append_new(names, json_stringn(a, (size_t)(b - a)));
		}
	}
}

void opencode_env_refs(const json_t *v, json_t *names)
{
	env_refs(v, names, OPENCODE_JSON_DEPTH_MAX);
}

const char *const *opencode_auth_keys(const char *provider)
{
	static const char *const openai[] = {"OPENAI_API_KEY", NULL};
	static const char *const anthropic[] = {"ANTHROPIC_API_KEY", NULL};
	static const char *const bedrock[] = {
		"AWS_BEARER_TOKEN_BEDROCK", "AWS_REGION",
		"AWS_DEFAULT_REGION",       "AWS_PROFILE",
		"AWS_ACCESS_KEY_ID",        "AWS_SECRET_ACCESS_KEY",
		"AWS_SESSION_TOKEN",        NULL,
	};
	static const char *const google[] = {"GOOGLE_API_KEY", "GEMINI_API_KEY", NULL};
	static const char *const none[] = {NULL};
	static const struct {
		const char *provider;
		const char *const *keys;
	} table[] = {
		{"openai", openai},   {"anthropic", anthropic}, {"amazon-bedrock", bedrock},
		{"bedrock", bedrock}, {"aws-bedrock", bedrock}, {"google", google},
		{"gemini", google},
	};
	for (size_t i = 0; provider && i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(provider, table[i].provider) == 0)
			return table[i].keys;
	return none;
}

bool opencode_session_id_valid(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	if (n == 0 || n > OPENCODE_SESSION_ID_MAX || id[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && id[i] != '_' && id[i] != '-')
			return false;
	return true;
}
