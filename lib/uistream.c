/* Hop 2 of the builder chat: worker messages to AI SDK UI chunks (B-8) and their fold (B-9).
 *
 * The translator keeps at most one open text block, one open reasoning block and one tool
 * input being streamed (Claude and Codex stream one content block at a time), plus a record
 * per tool call of the turn: pending (input available, no output yet), resolved, flushed.
 * The fold mirrors the AI SDK's processUIMessageStream for the chunks the translator emits:
 * parts are JSON objects in the message's `parts` array, and the maps of open text, reasoning
 * and partial tool inputs hold indexes into it (parts are never removed). */
#include <config.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ids.h"
#include "lib/jsonx.h"
#include "lib/limits.h"
#include "lib/uistream.h"

#define PLACEHOLDER "Thinking...\n\n"
#define TRUNCATED_PREFIX "[output truncated]\n"
#define INTERRUPTED "The agent stream ended before this tool finished."

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);
	if (!q)
		abort();
	return q;
}

static char *xstrndup(const char *s, size_t n)
{
	char *d = strndup(s, n);
	if (!d)
		abort();
	return d;
}

/* jansson returns NULL only when out of memory or for invalid UTF-8, and every string given
 * here comes from a parsed document or is cut at a character boundary. */
static json_t *jstr(const char *s, size_t n)
{
	json_t *v = json_stringn(s, n);
	if (!v)
		abort();
	return v;
}

static void set_str(json_t *obj, const char *key, const char *s)
{
	json_object_set_new(obj, key, jstr(s, strlen(s)));
}

/* The largest n <= max such that s[0..n) ends on a UTF-8 character boundary. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	size_t n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

/* JavaScript string length (UTF-16 code units) of one UTF-8 character starting with byte c. */
static size_t utf16_units(unsigned char c)
{
	return c >= 0xF0 ? 2 : 1;
}

static bool utf8_lead(unsigned char c)
{
	return (c & 0xC0) != 0x80;
}

/* Byte length of the first `units` UTF-16 code units of s, never splitting a character. */
static size_t utf16_prefix(const char *s, size_t len, size_t units)
{
	size_t i = 0, u = 0;
	while (i < len) {
		size_t cu = utf16_units((unsigned char)s[i]);
		if (u + cu > units)
			break;
		u += cu;
		i++;
		while (i < len && !utf8_lead((unsigned char)s[i]))
			i++;
	}
	return i;
}

/* Byte offset where the last `units` UTF-16 code units of s start, or 0 when s is shorter. */
static size_t utf16_suffix(const char *s, size_t len, size_t units)
{
	size_t i = len, u = 0;
	while (i > 0) {
		size_t j = i - 1;
		while (j > 0 && !utf8_lead((unsigned char)s[j]))
			j--;
		size_t cu = utf16_units((unsigned char)s[j]);
		if (u + cu > units)
			return i;
		u += cu;
		i = j;
	}
	return 0;
}

/* Second tools are named bare or `mcp__second__<name>`. */
static const char *second_tool(const char *name)
{
	static const char prefix[] = "mcp__second__";
	if (strncmp(name, prefix, sizeof(prefix) - 1) == 0)
		return name + sizeof(prefix) - 1;
	return name;
}

struct tool {
	char *id;
	char *name;
	bool input_available;
	bool pending;
	bool output_available; /* a real output (tool_result) arrived */
	bool flushed;          /* resolved as "Completed" without an output */
	bool approval_stop;
	const char *output_kind;
};

enum block { BLOCK_NONE, BLOCK_TEXT, BLOCK_THINKING, BLOCK_TOOL };

struct uis {
	bool over; /* failed or done: later messages are ignored */
	bool text_open;
	char text_id[ID_HEX_LEN + 1];
	size_t text_bytes;
	bool reasoning_open;
	char reasoning_id[ID_HEX_LEN + 1];
	size_t reasoning_bytes;
	bool reasoning_placeholder; /* the open reasoning block got its "Thinking..." */
	enum block block;           /* the content block started last */
	bool input_open;            /* a tool_use block is streaming its input */
	size_t input_tool;          /* index into tools */
	char *input_buf;
	size_t input_len, input_cap;
	bool stream_events; /* a stream_event arrived since the last assistant message */
	struct tool *tools;
	size_t ntools, tools_cap;
	size_t parts; /* parts the chunks so far create */
	json_t *result;
	bool wrote_files, done_attempted, done_ok, approval_stop;
	const char *limit_error; /* set by a handler that hit a limit */
};

struct uis *uis_new(void)
{
	struct uis *u = calloc(1, sizeof(*u));
	if (!u)
		abort();
	return u;
}

void uis_free(struct uis *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->ntools; i++) {
		free(u->tools[i].id);
		free(u->tools[i].name);
	}
	free(u->tools);
	free(u->input_buf);
	json_decref(u->result);
	free(u);
}

static void emit(json_t *out, json_t *chunk)
{
	json_array_append_new(out, chunk);
}

static json_t *chunk_new(const char *type)
{
	json_t *c = json_object();
	if (!c)
		abort();
	set_str(c, "type", type);
	return c;
}

static void emit_id(json_t *out, const char *type, const char *id)
{
	json_t *c = chunk_new(type);
	set_str(c, "id", id);
	emit(out, c);
}

static void emit_delta(json_t *out, const char *type, const char *id, const char *s, size_t n)
{
	json_t *c = chunk_new(type);
	set_str(c, "id", id);
	json_object_set_new(c, "delta", jstr(s, n));
	emit(out, c);
}

static json_t *tool_chunk(const char *type, const struct tool *t)
{
	json_t *c = chunk_new(type);
	set_str(c, "toolCallId", t->id);
	return c;
}

static int new_part(struct uis *u)
{
	if (u->parts >= UIS_PARTS_MAX) {
		u->limit_error = "The agent's reply has more parts than the builder chat keeps.";
		return -1;
	}
	u->parts++;
	return 0;
}

static void close_text(struct uis *u, json_t *out)
{
	if (u->text_open)
		emit_id(out, "text-end", u->text_id);
	u->text_open = false;
}

static void close_reasoning(struct uis *u, json_t *out)
{
	if (u->reasoning_open)
		emit_id(out, "reasoning-end", u->reasoning_id);
	u->reasoning_open = false;
}

static int open_text(struct uis *u, json_t *out)
{
	if (u->text_open)
		return 0;
	if (new_part(u) < 0)
		return -1;
	id_new(u->text_id);
	u->text_open = true;
	u->text_bytes = 0;
	emit_id(out, "text-start", u->text_id);
	return 0;
}

static int open_reasoning(struct uis *u, json_t *out)
{
	if (u->reasoning_open)
		return 0;
	if (new_part(u) < 0)
		return -1;
	id_new(u->reasoning_id);
	u->reasoning_open = true;
	u->reasoning_bytes = 0;
	u->reasoning_placeholder = false;
	emit_id(out, "reasoning-start", u->reasoning_id);
	return 0;
}

/* A delta, cut so the part stays within UIS_PART_TEXT_MAX. */
static void part_delta(json_t *out, const char *type, const char *id, size_t *used, const char *s,
		       size_t n)
{
	n = utf8_cut(s, n, UIS_PART_TEXT_MAX - *used);
	if (n == 0)
		return;
	*used += n;
	emit_delta(out, type, id, s, n);
}

static int text_delta(struct uis *u, json_t *out, const char *s, size_t n)
{
	if (n == 0)
		return 0;
	if (open_text(u, out) < 0)
		return -1;
	part_delta(out, "text-delta", u->text_id, &u->text_bytes, s, n);
	return 0;
}

static int reasoning_placeholder(struct uis *u, json_t *out)
{
	if (open_reasoning(u, out) < 0)
		return -1;
	if (!u->reasoning_placeholder)
		part_delta(out, "reasoning-delta", u->reasoning_id, &u->reasoning_bytes,
			   PLACEHOLDER, strlen(PLACEHOLDER));
	u->reasoning_placeholder = true;
	return 0;
}

static int reasoning_delta(struct uis *u, json_t *out, const char *s, size_t n)
{
	if (n == 0)
		return reasoning_placeholder(u, out);
	if (open_reasoning(u, out) < 0)
		return -1;
	part_delta(out, "reasoning-delta", u->reasoning_id, &u->reasoning_bytes, s, n);
	return 0;
}

static struct tool *tool_find(struct uis *u, const char *id)
{
	for (size_t i = u->ntools; i-- > 0;)
		if (strcmp(u->tools[i].id, id) == 0)
			return &u->tools[i];
	return NULL;
}

/* The record of a tool call whose input starts, new or restarted. NULL at a limit. */
static struct tool *tool_start(struct uis *u, const char *id, const char *name)
{
	struct tool *t = tool_find(u, id);
	if (!t) {
		if (u->ntools >= UIS_TOOLS_MAX) {
			u->limit_error = "The agent made more tool calls than one turn allows.";
			return NULL;
		}
		if (new_part(u) < 0)
			return NULL;
		if (u->ntools == u->tools_cap) {
			u->tools_cap = u->tools_cap ? u->tools_cap * 2 : 16;
			u->tools = xrealloc(u->tools, u->tools_cap * sizeof(*u->tools));
		}
		t = &u->tools[u->ntools++];
		memset(t, 0, sizeof(*t));
		t->id = xstrndup(id, strlen(id));
		t->output_kind = "none";
	} else {
		free(t->name);
	}
	t->name = xstrndup(name, strlen(name));
	t->input_available = t->pending = false;
	return t;
}

static void emit_input_start(json_t *out, const struct tool *t)
{
	json_t *c = tool_chunk("tool-input-start", t);
	set_str(c, "toolName", t->name);
	json_object_set_new(c, "dynamic", json_true());
	emit(out, c);
}

/* tool-input-available; `input` is stolen. Records what B-11 counts. */
static void input_available(struct uis *u, json_t *out, struct tool *t, json_t *input)
{
	json_t *c = tool_chunk("tool-input-available", t);
	set_str(c, "toolName", t->name);
	json_object_set_new(c, "input", input);
	json_object_set_new(c, "dynamic", json_true());
	emit(out, c);
	t->input_available = true;
	t->pending = true;
	static const char *const writers[] = {"Write", "Edit", "MultiEdit", "NotebookEdit"};
	for (size_t i = 0; i < sizeof(writers) / sizeof(writers[0]); i++)
		if (strcmp(t->name, writers[i]) == 0)
			u->wrote_files = true;
	if (strcmp(second_tool(t->name), "done_building") == 0)
		u->done_attempted = true;
}

/* JSON.parse(text) semantics, NULL when it would throw. */
static json_t *parse_js(const char *s, size_t n)
{
	return json_loadb(s, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
}

static void finish_input(struct uis *u, json_t *out)
{
	if (!u->input_open)
		return;
	u->input_open = false;
	json_t *input = parse_js(u->input_buf ? u->input_buf : "", u->input_len);
	if (!input)
		input = json_object();
	input_available(u, out, &u->tools[u->input_tool], input);
}

static void flush_pending(struct uis *u, json_t *out)
{
	for (size_t i = 0; i < u->ntools; i++) {
		struct tool *t = &u->tools[i];
		if (!t->pending)
			continue;
		json_t *c = tool_chunk("tool-output-available", t);
		set_str(c, "output", "Completed");
		json_object_set_new(c, "dynamic", json_true());
		emit(out, c);
		t->pending = false;
		if (!t->output_available)
			t->flushed = true;
	}
}

/* Closes everything open with `text` as each tool's error: the error row's closing chunks,
 * and B-8's interrupt. */
static void interrupt(struct uis *u, json_t *out, const char *text)
{
	close_text(u, out);
	close_reasoning(u, out);
	if (u->input_open) {
		struct tool *t = &u->tools[u->input_tool];
		json_t *input = parse_js(u->input_buf ? u->input_buf : "", u->input_len);
		json_t *c = tool_chunk("tool-input-error", t);
		set_str(c, "toolName", t->name);
		json_object_set_new(c, "input", input ? input : json_object());
		set_str(c, "errorText", text);
		json_object_set_new(c, "dynamic", json_true());
		emit(out, c);
		u->input_open = false;
	}
	for (size_t i = 0; i < u->ntools; i++) {
		struct tool *t = &u->tools[i];
		if (!t->pending)
			continue;
		json_t *c = tool_chunk("tool-output-error", t);
		set_str(c, "errorText", text);
		json_object_set_new(c, "dynamic", json_true());
		emit(out, c);
		t->pending = false;
	}
}

static int fail_turn(struct uis *u, json_t *out, const char *chunk_text, const char *fail_text,
		     char **fail)
{
	interrupt(u, out, chunk_text);
	u->over = true;
	*fail = xstrndup(fail_text, strlen(fail_text));
	return -1;
}

static int on_block_start(struct uis *u, const json_t *ev, json_t *out)
{
	const json_t *cb = json_object_get(ev, "content_block");
	const char *type = jsonx_str(cb, "type");
	u->block = BLOCK_NONE;
	if (!type)
		return 0;
	if (strcmp(type, "thinking") == 0 || strcmp(type, "redacted_thinking") == 0) {
		close_text(u, out);
		u->block = BLOCK_THINKING;
	} else if (strcmp(type, "text") == 0) {
		close_reasoning(u, out);
		u->block = BLOCK_TEXT;
	} else if (strcmp(type, "tool_use") == 0) {
		close_text(u, out);
		close_reasoning(u, out);
		finish_input(u, out);
		const char *id = jsonx_str(cb, "id");
		const char *name = jsonx_str(cb, "name");
		char fresh[ID_HEX_LEN + 1];
		if (!id) {
			id_new(fresh);
			id = fresh;
		}
		struct tool *t = tool_start(u, id, name ? name : "unknown");
		if (!t)
			return -1;
		emit_input_start(out, t);
		u->input_open = true;
		u->input_tool = (size_t)(t - u->tools);
		u->input_len = 0;
		u->block = BLOCK_TOOL;
	}
	return 0;
}

static int input_append(struct uis *u, const char *s, size_t n)
{
	if (n > UIS_TOOL_INPUT_MAX - u->input_len) {
		u->limit_error = "A tool call's input is larger than the builder chat accepts.";
		return -1;
	}
	if (u->input_len + n + 1 > u->input_cap) {
		size_t cap = u->input_cap ? u->input_cap : 1024;
		while (cap < u->input_len + n + 1)
			cap *= 2;
		u->input_buf = xrealloc(u->input_buf, cap);
		u->input_cap = cap;
	}
	memcpy(u->input_buf + u->input_len, s, n);
	u->input_len += n;
	u->input_buf[u->input_len] = '\0';
	return 0;
}

static int on_block_delta(struct uis *u, const json_t *ev, json_t *out)
{
	const json_t *d = json_object_get(ev, "delta");
	const char *type = jsonx_str(d, "type");
	if (!type)
		return 0;
	if (strcmp(type, "text_delta") == 0) {
		const json_t *s = json_object_get(d, "text");
		if (json_is_string(s))
			return text_delta(u, out, json_string_value(s), json_string_length(s));
	} else if (strcmp(type, "thinking_delta") == 0) {
		const json_t *s = json_object_get(d, "thinking");
		if (json_is_string(s))
			return reasoning_delta(u, out, json_string_value(s), json_string_length(s));
		return reasoning_placeholder(u, out);
	} else if (strcmp(type, "input_json_delta") == 0 && u->input_open) {
		const json_t *s = json_object_get(d, "partial_json");
		if (!json_is_string(s) || json_string_length(s) == 0)
			return 0;
		if (input_append(u, json_string_value(s), json_string_length(s)) < 0)
			return -1;
		json_t *c = tool_chunk("tool-input-delta", &u->tools[u->input_tool]);
		json_object_set_new(c, "inputTextDelta",
				    jstr(json_string_value(s), json_string_length(s)));
		emit(out, c);
	}
	return 0;
}

static int on_stream_event(struct uis *u, const json_t *ev, json_t *out)
{
	const char *type = jsonx_str(ev, "type");
	if (!type)
		return 0;
	if (strcmp(type, "message_start") == 0) {
		flush_pending(u, out);
	} else if (strcmp(type, "content_block_start") == 0) {
		return on_block_start(u, ev, out);
	} else if (strcmp(type, "content_block_delta") == 0) {
		return on_block_delta(u, ev, out);
	} else if (strcmp(type, "content_block_stop") == 0) {
		if (u->block == BLOCK_TOOL)
			finish_input(u, out);
		else if (u->block == BLOCK_THINKING)
			close_reasoning(u, out);
		else if (u->block == BLOCK_TEXT)
			close_text(u, out);
		u->block = BLOCK_NONE;
	}
	return 0;
}

/* An assistant message that was not streamed: each block becomes a whole part. */
static int on_assistant_block(struct uis *u, const json_t *b, json_t *out)
{
	const char *type = jsonx_str(b, "type");
	if (!type)
		return 0;
	if (strcmp(type, "thinking") == 0 || strcmp(type, "redacted_thinking") == 0) {
		const json_t *s = json_object_get(b, "thinking");
		int rc = json_is_string(s) && strcmp(type, "thinking") == 0
				 ? reasoning_delta(u, out, json_string_value(s),
						   json_string_length(s))
				 : reasoning_placeholder(u, out);
		close_reasoning(u, out);
		return rc;
	}
	if (strcmp(type, "text") == 0) {
		const json_t *s = json_object_get(b, "text");
		int rc = open_text(u, out);
		if (rc == 0 && json_is_string(s))
			rc = text_delta(u, out, json_string_value(s), json_string_length(s));
		close_text(u, out);
		return rc;
	}
	if (strcmp(type, "tool_use") == 0) {
		const char *id = jsonx_str(b, "id");
		const char *name = jsonx_str(b, "name");
		if (!id)
			return 0;
		struct tool *t = tool_start(u, id, name ? name : "unknown");
		if (!t)
			return -1;
		emit_input_start(out, t);
		const json_t *input = json_object_get(b, "input");
		input_available(u, out, t, input ? json_deep_copy(input) : json_object());
	}
	return 0;
}

static int on_assistant(struct uis *u, const json_t *msg, json_t *out)
{
	bool streamed = u->stream_events;
	u->stream_events = false;
	if (streamed)
		return 0;
	/* Whatever a thinking_tokens placeholder opened ends before the message's own blocks. */
	close_text(u, out);
	close_reasoning(u, out);
	const json_t *content = jsonx_path_get(msg, "message.content");
	size_t i;
	const json_t *b;
	json_array_foreach (content, i, b) {
		if (on_assistant_block(u, b, out) < 0)
			return -1;
	}
	return 0;
}

/* The text a tool output carries: a string, the text parts of an array, or `.content`. */
static char *output_text(const json_t *v)
{
	if (json_is_string(v))
		return xstrndup(json_string_value(v), json_string_length(v));
	if (json_is_object(v))
		v = json_object_get(v, "content");
	if (!json_is_array(v))
		return NULL;
	size_t i;
	const json_t *p;
	json_array_foreach (v, i, p) {
		const char *text = jsonx_str(p, "text");
		if (text && (!jsonx_str(p, "type") || strcmp(jsonx_str(p, "type"), "text") == 0))
			return xstrndup(text, strlen(text));
	}
	return NULL;
}

static json_t *parse_bounded(const char *s, size_t n)
{
	return jsonx_loadb(s, n, UIS_OUTPUT_PARSE_MAX, UIS_OUTPUT_JSON_DEPTH, NULL);
}

/* present_agents stops the turn only when its output says ok and presented (T-13). */
static bool agents_presented(const json_t *output)
{
	char *text = output_text(output);
	if (!text)
		return false;
	json_t *v = parse_bounded(text, strlen(text));
	free(text);
	bool ok = json_is_true(json_object_get(v, "ok")) && jsonx_str(v, "status") &&
		  strcmp(jsonx_str(v, "status"), "presented") == 0;
	json_decref(v);
	return ok;
}

/* P-5: the output parses, through strings, arrays, `.text` and `.content`, to an object whose
 * status is "complete". */
static bool build_complete(const json_t *v, int depth)
{
	if (depth > UIS_OUTPUT_PARSE_DEPTH || !v)
		return false;
	if (json_is_string(v)) {
		json_t *p = parse_bounded(json_string_value(v), json_string_length(v));
		bool ok = build_complete(p, depth + 1);
		json_decref(p);
		return ok;
	}
	if (json_is_array(v)) {
		size_t i;
		const json_t *e;
		json_array_foreach (v, i, e) {
			if (build_complete(e, depth + 1))
				return true;
		}
		return false;
	}
	if (!json_is_object(v))
		return false;
	const char *status = jsonx_str(v, "status");
	if (status)
		return strcmp(status, "complete") == 0;
	return build_complete(json_object_get(v, "text"), depth + 1) ||
	       build_complete(json_object_get(v, "content"), depth + 1);
}

static const char *kind_of(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return "string";
	case JSON_ARRAY:
		return "array";
	case JSON_OBJECT:
		return "object";
	case JSON_NULL:
		return "null";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	default:
		return "number";
	}
}

static void on_tool_result(struct uis *u, const json_t *r, json_t *out)
{
	const char *id = jsonx_str(r, "tool_use_id");
	struct tool *t = id ? tool_find(u, id) : NULL;
	if (!t)
		return;
	const json_t *content = json_object_get(r, "content");
	json_t *output = content && !json_is_null(content) ? json_deep_copy(content) : jstr("", 0);
	const char *bare = second_tool(t->name);
	if (strcmp(bare, "present_plan") == 0 || strcmp(bare, "present_suggestions") == 0 ||
	    (strcmp(bare, "present_agents") == 0 && agents_presented(output)))
		t->approval_stop = u->approval_stop = true;
	if (strcmp(bare, "done_building") == 0 && build_complete(output, 0))
		u->done_ok = true;
	t->output_available = true;
	t->flushed = false;
	t->pending = false;
	t->output_kind = kind_of(output);
	json_t *c = tool_chunk("tool-output-available", t);
	json_object_set_new(c, "output", output);
	json_object_set_new(c, "dynamic", json_true());
	emit(out, c);
}

static void on_user(struct uis *u, const json_t *msg, json_t *out)
{
	const json_t *content = jsonx_path_get(msg, "message.content");
	size_t i;
	const json_t *b;
	json_array_foreach (content, i, b) {
		const char *type = jsonx_str(b, "type");
		if (type && strcmp(type, "tool_result") == 0)
			on_tool_result(u, b, out);
	}
}

static void on_output_delta(struct uis *u, const json_t *msg, json_t *out)
{
	const char *id = jsonx_str(msg, "tool_use_id");
	const json_t *o = json_object_get(msg, "output");
	struct tool *t = id ? tool_find(u, id) : NULL;
	if (!t || !json_is_string(o))
		return;
	const char *s = json_string_value(o);
	size_t n = json_string_length(o);
	size_t from = utf16_suffix(s, n, UIS_TOOL_OUTPUT_PREVIEW);
	json_t *c = tool_chunk("tool-output-available", t);
	if (from == 0) {
		json_object_set_new(c, "output", jstr(s, n));
	} else {
		size_t p = strlen(TRUNCATED_PREFIX);
		char *buf = xrealloc(NULL, p + n - from);
		memcpy(buf, TRUNCATED_PREFIX, p);
		memcpy(buf + p, s + from, n - from);
		json_object_set_new(c, "output", jstr(buf, p + n - from));
		free(buf);
	}
	json_object_set_new(c, "dynamic", json_true());
	json_object_set_new(c, "preliminary", json_true());
	emit(out, c);
}

static int on_summary(struct uis *u, const json_t *msg, json_t *out)
{
	const json_t *s = json_object_get(msg, "summary");
	if (!json_is_string(s) || json_string_length(s) == 0)
		return 0;
	char id[ID_HEX_LEN + 1];
	size_t used = 0;
	if (new_part(u) < 0)
		return -1;
	id_new(id);
	emit_id(out, "text-start", id);
	part_delta(out, "text-delta", id, &used, json_string_value(s), json_string_length(s));
	emit_id(out, "text-end", id);
	return 0;
}

/* The error text of an `error` message, bounded. malloc'd. */
static char *error_text(const json_t *msg)
{
	const json_t *e = json_object_get(msg, "error");
	if (json_is_object(e))
		e = json_object_get(e, "message");
	if (!json_is_string(e) || json_string_length(e) == 0) {
		static const char generic[] = "The agent worker reported an error.";
		return xstrndup(generic, sizeof(generic) - 1);
	}
	const char *s = json_string_value(e);
	return xstrndup(s, utf8_cut(s, json_string_length(e), UIS_ERROR_TEXT_MAX));
}

int uis_feed(struct uis *u, const json_t *msg, json_t *out, char **fail)
{
	*fail = NULL;
	const char *type = jsonx_str(msg, "type");
	if (u->over || !type)
		return 0;
	int rc = 0;
	if (strcmp(type, "stream_event") == 0) {
		u->stream_events = true;
		rc = on_stream_event(u, json_object_get(msg, "event"), out);
	} else if (strcmp(type, "system") == 0) {
		const char *sub = jsonx_str(msg, "subtype");
		if (sub && strcmp(sub, "thinking_tokens") == 0)
			rc = reasoning_placeholder(u, out);
	} else if (strcmp(type, "assistant") == 0) {
		rc = on_assistant(u, msg, out);
	} else if (strcmp(type, "user") == 0) {
		on_user(u, msg, out);
	} else if (strcmp(type, "tool_output_delta") == 0) {
		on_output_delta(u, msg, out);
	} else if (strcmp(type, "tool_use_summary") == 0) {
		rc = on_summary(u, msg, out);
	} else if (strcmp(type, "result") == 0) {
		json_decref(u->result);
		u->result = json_incref((json_t *)msg);
	} else if (strcmp(type, "error") == 0) {
		char *text = error_text(msg);
		rc = fail_turn(u, out, text, text, fail);
		free(text);
		return rc;
	}
	if (rc < 0)
		return fail_turn(u, out, u->limit_error, u->limit_error, fail);
	return 0;
}

int uis_done(struct uis *u, json_t *out, char **fail)
{
	*fail = NULL;
	if (u->over)
		return 0;
	if (u->input_open)
		return fail_turn(u, out, INTERRUPTED,
				 "Agent worker stream ended during a tool call.", fail);
	close_text(u, out);
	close_reasoning(u, out);
	flush_pending(u, out);
	u->over = true;
	return 0;
}

int uis_eof(struct uis *u, bool lost, json_t *out, char **fail)
{
	*fail = NULL;
	const char *text = lost ? "Lost connection to the agent worker stream."
				: "Agent worker stream ended before completion.";
	if (u->over) {
		*fail = xstrndup(text, strlen(text));
		return -1;
	}
	return fail_turn(u, out, INTERRUPTED, text, fail);
}

void uis_summary(const struct uis *u, struct uis_summary *s)
{
	memset(s, 0, sizeof(*s));
	s->saw_result = u->result != NULL;
	const char *sub = u->result ? jsonx_str(u->result, "subtype") : NULL;
	if (sub)
		memcpy(s->result_subtype, sub,
		       utf8_cut(sub, strlen(sub), sizeof(s->result_subtype) - 1));
	s->approval_stop = u->approval_stop;
	s->wrote_files = u->wrote_files;
	s->done_building_attempted = u->done_attempted;
	s->done_building_ok = u->done_ok;
}

static json_t *number_or_zero(const json_t *v)
{
	return json_is_number(v) ? json_deep_copy(v) : json_integer(0);
}

json_t *uis_usage(const struct uis *u)
{
	if (!u->result)
		return NULL;
	const json_t *mu = json_object_get(u->result, "modelUsage");
	return json_pack("{s:o,s:o}", "totalCostUsd",
			 number_or_zero(json_object_get(u->result, "total_cost_usd")), "modelUsage",
			 json_is_object(mu) ? json_deep_copy(mu) : json_object());
}

json_t *uis_terminal(const struct uis *u)
{
	if (!u->result)
		return NULL;
	const json_t *r = u->result;
	json_t *t = json_object();
	const char *sub = jsonx_str(r, "subtype");
	json_object_set_new(t, "subtype", sub ? jstr(sub, strlen(sub)) : json_null());
	const json_t *res = json_object_get(r, "result");
	if (json_is_string(res)) {
		const char *s = json_string_value(res);
		json_object_set_new(
			t, "result",
			jstr(s, utf16_prefix(s, json_string_length(res), UIS_RESULT_TEXT_MAX)));
	} else {
		json_object_set_new(t, "result", json_null());
	}
	json_object_set_new(t, "numTurns", number_or_zero(json_object_get(r, "num_turns")));
	json_object_set_new(t, "durationMs", number_or_zero(json_object_get(r, "duration_ms")));
	json_object_set_new(t, "durationApiMs",
			    number_or_zero(json_object_get(r, "duration_api_ms")));
	json_object_set_new(t, "totalCostUsd",
			    number_or_zero(json_object_get(r, "total_cost_usd")));
	return t;
}

json_t *uis_tool_log(const struct uis *u)
{
	json_t *log = json_array();
	for (size_t i = 0; i < u->ntools; i++) {
		const struct tool *t = &u->tools[i];
		json_array_append_new(log, json_pack("{s:s,s:s,s:b,s:b,s:b,s:b,s:s}", "toolCallId",
						     t->id, "toolName", t->name, "inputAvailable",
						     t->input_available, "outputAvailable",
						     t->output_available, "flushedWithoutOutput",
						     t->flushed, "approvalStop", t->approval_stop,
						     "outputKind", t->output_kind));
	}
	return log;
}

/* The AI SDK's fixJson (ai/src/util/fix-json.ts), state for state: it closes whatever a
 * truncated JSON text left open, after dropping a trailing partial token. It works on bytes;
 * every transition is on an ASCII character, so UTF-8 passes through as in the original. */
enum fj {
	FJ_ROOT,
	FJ_FINISH,
	FJ_OBJECT_START,
	FJ_OBJECT_AFTER_COMMA,
	FJ_OBJECT_KEY,
	FJ_OBJECT_AFTER_KEY,
	FJ_OBJECT_BEFORE_VALUE,
	FJ_OBJECT_AFTER_VALUE,
	FJ_STRING,
	FJ_STRING_ESCAPE,
	FJ_STRING_UNICODE,
	FJ_ARRAY_START,
	FJ_ARRAY_AFTER_VALUE,
	FJ_ARRAY_AFTER_COMMA,
	FJ_NUMBER,
	FJ_LITERAL,
};

struct fixer {
	unsigned char *stack;
	size_t depth, cap;
	long last_valid;
	size_t literal_start;
	int unicode_digits;
};

static void fj_push(struct fixer *x, enum fj s)
{
	if (x->depth == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 64;
		x->stack = xrealloc(x->stack, x->cap);
	}
	x->stack[x->depth++] = (unsigned char)s;
}

static void fj_pop(struct fixer *x)
{
	if (x->depth > 0)
		x->depth--;
}

static enum fj fj_top(const struct fixer *x)
{
	return x->depth ? (enum fj)x->stack[x->depth - 1] : FJ_ROOT;
}

static void fj_value_start(struct fixer *x, char c, size_t i, enum fj swap)
{
	enum fj inner;
	bool valid = true;
	switch (c) {
	case '"':
		inner = FJ_STRING;
		break;
	case 'f':
	case 't':
	case 'n':
		inner = FJ_LITERAL;
		x->literal_start = i;
		break;
	case '-':
		inner = FJ_NUMBER;
		valid = false;
		break;
	case '{':
		inner = FJ_OBJECT_START;
		break;
	case '[':
		inner = FJ_ARRAY_START;
		break;
	default:
		if (c < '0' || c > '9')
			return;
		inner = FJ_NUMBER;
		break;
	}
	if (valid)
		x->last_valid = (long)i;
	fj_pop(x);
	fj_push(x, swap);
	fj_push(x, inner);
}

static void fj_after_object_value(struct fixer *x, char c, size_t i)
{
	if (c == ',') {
		fj_pop(x);
		fj_push(x, FJ_OBJECT_AFTER_COMMA);
	} else if (c == '}') {
		x->last_valid = (long)i;
		fj_pop(x);
	}
}

static void fj_after_array_value(struct fixer *x, char c, size_t i)
{
	if (c == ',') {
		fj_pop(x);
		fj_push(x, FJ_ARRAY_AFTER_COMMA);
	} else if (c == ']') {
		x->last_valid = (long)i;
		fj_pop(x);
	}
}

static bool literal_prefix(const char *s, size_t n)
{
	static const char *const lits[] = {"true", "false", "null"};
	for (int k = 0; k < 3; k++)
		if (n <= strlen(lits[k]) && strncmp(lits[k], s, n) == 0)
			return true;
	return false;
}

static void fj_number(struct fixer *x, char c, size_t i)
{
	if (c >= '0' && c <= '9') {
		x->last_valid = (long)i;
		return;
	}
	if (c == 'e' || c == 'E' || c == '-' || c == '.')
		return;
	fj_pop(x);
	if (c == ',' || c == ']') {
		if (fj_top(x) == FJ_ARRAY_AFTER_VALUE)
			fj_after_array_value(x, c, i);
	}
	if (c == ',' || c == '}') {
		if (fj_top(x) == FJ_OBJECT_AFTER_VALUE)
			fj_after_object_value(x, c, i);
	}
}

static void fj_step(struct fixer *x, const char *s, size_t i)
{
	char c = s[i];
	switch (fj_top(x)) {
	case FJ_ROOT:
		fj_value_start(x, c, i, FJ_FINISH);
		break;
	case FJ_OBJECT_START:
		if (c == '"') {
			fj_pop(x);
			fj_push(x, FJ_OBJECT_KEY);
		} else if (c == '}') {
			x->last_valid = (long)i;
			fj_pop(x);
		}
		break;
	case FJ_OBJECT_AFTER_COMMA:
		if (c == '"') {
			fj_pop(x);
			fj_push(x, FJ_OBJECT_KEY);
		}
		break;
	case FJ_OBJECT_KEY:
		if (c == '"') {
			fj_pop(x);
			fj_push(x, FJ_OBJECT_AFTER_KEY);
		}
		break;
	case FJ_OBJECT_AFTER_KEY:
		if (c == ':') {
			fj_pop(x);
			fj_push(x, FJ_OBJECT_BEFORE_VALUE);
		}
		break;
	case FJ_OBJECT_BEFORE_VALUE:
		fj_value_start(x, c, i, FJ_OBJECT_AFTER_VALUE);
		break;
	case FJ_OBJECT_AFTER_VALUE:
		fj_after_object_value(x, c, i);
		break;
	case FJ_STRING:
		if (c == '"') {
			fj_pop(x);
			x->last_valid = (long)i;
		} else if (c == '\\') {
			fj_push(x, FJ_STRING_ESCAPE);
		} else {
			x->last_valid = (long)i;
		}
		break;
	case FJ_ARRAY_START:
		if (c == ']') {
			x->last_valid = (long)i;
			fj_pop(x);
		} else {
			x->last_valid = (long)i;
			fj_value_start(x, c, i, FJ_ARRAY_AFTER_VALUE);
		}
		break;
	case FJ_ARRAY_AFTER_VALUE:
		if (c == ',') {
			fj_pop(x);
			fj_push(x, FJ_ARRAY_AFTER_COMMA);
		} else if (c == ']') {
			x->last_valid = (long)i;
			fj_pop(x);
		} else {
			x->last_valid = (long)i;
		}
		break;
	case FJ_ARRAY_AFTER_COMMA:
		fj_value_start(x, c, i, FJ_ARRAY_AFTER_VALUE);
		break;
	case FJ_STRING_ESCAPE:
		fj_pop(x);
		if (c == 'u') {
			x->unicode_digits = 0;
			fj_push(x, FJ_STRING_UNICODE);
		} else {
			x->last_valid = (long)i;
		}
		break;
	case FJ_STRING_UNICODE:
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
			if (++x->unicode_digits == 4) {
				fj_pop(x);
				x->last_valid = (long)i;
			}
		}
		break;
	case FJ_NUMBER:
		fj_number(x, c, i);
		break;
	case FJ_LITERAL:
		if (!literal_prefix(s + x->literal_start, i + 1 - x->literal_start)) {
			fj_pop(x);
			if (fj_top(x) == FJ_OBJECT_AFTER_VALUE)
				fj_after_object_value(x, c, i);
			else if (fj_top(x) == FJ_ARRAY_AFTER_VALUE)
				fj_after_array_value(x, c, i);
		} else {
			x->last_valid = (long)i;
		}
		break;
	case FJ_FINISH:
		break;
	}
}

/* The repaired text, malloc'd, its length in *out_len. */
static char *fix_json(const char *s, size_t len, size_t *out_len)
{
	struct fixer x = {0};
	x.last_valid = -1;
	fj_push(&x, FJ_ROOT);
	for (size_t i = 0; i < len; i++)
		fj_step(&x, s, i);
	size_t keep = (size_t)(x.last_valid + 1);
	/* Each open state adds at most five bytes ("true" completes with at most 4). */
	char *r = xrealloc(NULL, keep + 5 * x.depth + 1);
	memcpy(r, s, keep);
	size_t n = keep;
	for (size_t k = x.depth; k-- > 0;) {
		switch ((enum fj)x.stack[k]) {
		case FJ_STRING:
			r[n++] = '"';
			break;
		case FJ_OBJECT_KEY:
		case FJ_OBJECT_AFTER_KEY:
		case FJ_OBJECT_AFTER_COMMA:
		case FJ_OBJECT_START:
		case FJ_OBJECT_BEFORE_VALUE:
		case FJ_OBJECT_AFTER_VALUE:
			r[n++] = '}';
			break;
		case FJ_ARRAY_START:
		case FJ_ARRAY_AFTER_COMMA:
		case FJ_ARRAY_AFTER_VALUE:
			r[n++] = ']';
			break;
		case FJ_LITERAL: {
			static const char *const lits[] = {"true", "false", "null"};
			size_t pl = len - x.literal_start;
			for (int j = 0; j < 3; j++) {
				size_t ll = strlen(lits[j]);
				if (pl <= ll && strncmp(lits[j], s + x.literal_start, pl) == 0) {
					memcpy(r + n, lits[j] + pl, ll - pl);
					n += ll - pl;
					break;
				}
			}
			break;
		}
		default:
			break;
		}
	}
	free(x.stack);
	*out_len = n;
	return r;
}

json_t *uis_parse_partial_json(const char *text, size_t len)
{
	json_t *v = parse_js(text, len);
	if (v)
		return v;
	size_t n;
	char *fixed = fix_json(text, len, &n);
	v = parse_js(fixed, n);
	free(fixed);
	return v;
}

/* An open text or reasoning part. Its text grows here and is written into the part when it
 * ends or the message is read, so a long part costs linear, not quadratic, copying. */
struct active {
	char *id;
	size_t part;
	char *text;
	size_t len, cap;
};

struct partial {
	char *id;
	char *tool_name;
	char *text; /* NULL once dropped after the input completed */
	size_t len, cap;
	bool dropped;
};

/* A dynamic-tool part whose `input` and `rawInput` are the first `len` bytes of a partial's
 * text, computed only when needed: re-parsing the whole input on every delta, as the SDK does,
 * is quadratic in the input size. */
struct lazy {
	bool on;
	size_t partial;
	size_t len;
};

struct uis_fold {
	json_t *messages;
	json_t *message;
	json_t *parts; /* borrowed from message */
	bool continued;
	bool broken;
	size_t step; /* index after the last step-start part, where the current step begins */
	size_t max_parts;
	struct active *texts, *reasonings;
	size_t ntexts, nreasonings, texts_cap, reasonings_cap;
	struct partial *partials;
	size_t npartials, partials_cap;
	struct lazy *lazy;
	size_t lazy_cap;
};

static bool is_tool_part(const json_t *p)
{
	const char *type = jsonx_str(p, "type");
	return type && (strncmp(type, "tool-", 5) == 0 || strcmp(type, "dynamic-tool") == 0);
}

static bool part_is(const json_t *p, const char *type)
{
	const char *t = jsonx_str(p, "type");
	return t && strcmp(t, type) == 0;
}

static bool part_has_call(const json_t *p, const char *call_id)
{
	const char *id = jsonx_str(p, "toolCallId");
	return id && strcmp(id, call_id) == 0;
}

static struct partial *partial_find(struct uis_fold *f, const char *id)
{
	for (size_t i = f->npartials; i-- > 0;)
		if (strcmp(f->partials[i].id, id) == 0)
			return &f->partials[i];
	return NULL;
}

/* createIdMap assignment: a new entry, or the existing one reset. */
static struct partial *partial_set(struct uis_fold *f, const char *id, const char *tool_name,
				   const char *text)
{
	struct partial *p = partial_find(f, id);
	if (!p) {
		if (f->npartials == f->partials_cap) {
			f->partials_cap = f->partials_cap ? f->partials_cap * 2 : 16;
			f->partials = xrealloc(f->partials, f->partials_cap * sizeof(*p));
		}
		p = &f->partials[f->npartials++];
		memset(p, 0, sizeof(*p));
		p->id = xstrndup(id, strlen(id));
	}
	free(p->tool_name);
	free(p->text);
	p->tool_name = xstrndup(tool_name, strlen(tool_name));
	p->len = strlen(text);
	p->cap = p->len + 1;
	p->text = xstrndup(text, p->len);
	p->dropped = false;
	return p;
}

static void lazy_grow(struct uis_fold *f)
{
	size_t need = json_array_size(f->parts);
	if (need <= f->lazy_cap)
		return;
	size_t cap = f->lazy_cap ? f->lazy_cap : 16;
	while (cap < need)
		cap *= 2;
	f->lazy = xrealloc(f->lazy, cap * sizeof(*f->lazy));
	memset(f->lazy + f->lazy_cap, 0, (cap - f->lazy_cap) * sizeof(*f->lazy));
	f->lazy_cap = cap;
}

/* Writes a lazy part's rawInput and input into `part` (the fold's own or a copy). */
static void lazy_apply(const struct uis_fold *f, size_t idx, json_t *part)
{
	const struct lazy *l = &f->lazy[idx];
	const struct partial *p = &f->partials[l->partial];
	json_t *input = uis_parse_partial_json(p->text, l->len);
	if (input)
		json_object_set_new(part, "input", input);
	else
		json_object_del(part, "input");
	json_object_set_new(part, "rawInput", jstr(p->text, l->len));
}

static void lazy_resolve(struct uis_fold *f, size_t idx)
{
	if (idx < f->lazy_cap && f->lazy[idx].on) {
		lazy_apply(f, idx, json_array_get(f->parts, idx));
		f->lazy[idx].on = false;
	}
}

static void lazy_resolve_partial(struct uis_fold *f, size_t partial)
{
	for (size_t i = 0; i < f->lazy_cap; i++)
		if (f->lazy[i].on && f->lazy[i].partial == partial)
			lazy_resolve(f, i);
}

static void find_step(struct uis_fold *f)
{
	f->step = 0;
	for (size_t i = json_array_size(f->parts); i-- > 0;)
		if (part_is(json_array_get(f->parts, i), "step-start")) {
			f->step = i + 1;
			break;
		}
}

struct uis_fold *uis_fold_new(const json_t *messages, const char *new_id)
{
	struct uis_fold *f = calloc(1, sizeof(*f));
	if (!f)
		abort();
	f->messages = json_is_array(messages) ? json_deep_copy(messages) : json_array();
	size_t n = json_array_size(f->messages);
	json_t *last = n ? json_array_get(f->messages, n - 1) : NULL;
	const char *role = jsonx_str(last, "role");
	if (role && strcmp(role, "assistant") == 0 &&
	    json_is_array(json_object_get(last, "parts"))) {
		f->message = json_deep_copy(last);
		f->continued = true;
	} else {
		f->message = json_pack("{s:s,s:s,s:[]}", "id", new_id, "role", "assistant",
				       "parts");
	}
	if (!f->message)
		abort();
	f->parts = json_object_get(f->message, "parts");
	f->max_parts = json_array_size(f->parts) + UIS_PARTS_MAX;
	find_step(f);
	lazy_grow(f);
	/* Tool calls left streaming their input continue from their rawInput, as in
	 * createStreamingUIMessageState. */
	for (size_t i = f->step; i < json_array_size(f->parts); i++) {
		json_t *p = json_array_get(f->parts, i);
		const char *state = jsonx_str(p, "state");
		const char *id = jsonx_str(p, "toolCallId");
		if (!part_is(p, "dynamic-tool") || !id || !state ||
		    strcmp(state, "input-streaming") != 0)
			continue;
		const char *name = jsonx_str(p, "toolName");
		const char *raw = jsonx_str(p, "rawInput");
		partial_set(f, id, name ? name : "", raw ? raw : "");
	}
	return f;
}

void uis_fold_free(struct uis_fold *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->ntexts; i++) {
		free(f->texts[i].id);
		free(f->texts[i].text);
	}
	for (size_t i = 0; i < f->nreasonings; i++) {
		free(f->reasonings[i].id);
		free(f->reasonings[i].text);
	}
	for (size_t i = 0; i < f->npartials; i++) {
		free(f->partials[i].id);
		free(f->partials[i].tool_name);
		free(f->partials[i].text);
	}
	free(f->texts);
	free(f->reasonings);
	free(f->partials);
	free(f->lazy);
	json_decref(f->message);
	json_decref(f->messages);
	free(f);
}

bool uis_fold_broken(const struct uis_fold *f)
{
	return f->broken;
}

static int push_part(struct uis_fold *f, json_t *part)
{
	if (json_array_size(f->parts) >= f->max_parts) {
		json_decref(part);
		f->broken = true;
		return -1;
	}
	json_array_append_new(f->parts, part);
	lazy_grow(f);
	return 0;
}

static struct active *active_find(struct active *a, size_t n, const char *id, size_t *at)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(a[i].id, id) == 0) {
			if (at)
				*at = i;
			return &a[i];
		}
	return NULL;
}

static void active_flush(const struct active *e, json_t *parts)
{
	json_object_set_new(json_array_get(parts, e->part), "text",
			    jstr(e->text ? e->text : "", e->len));
}

/* The id now names the part at `part`; a part it named before keeps its text so far. */
static void active_set(struct uis_fold *f, struct active **a, size_t *n, size_t *cap,
		       const char *id, size_t part)
{
	struct active *e = active_find(*a, *n, id, NULL);
	if (e) {
		active_flush(e, f->parts);
	} else {
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 8;
			*a = xrealloc(*a, *cap * sizeof(**a));
		}
		e = &(*a)[(*n)++];
		e->id = xstrndup(id, strlen(id));
		e->text = NULL;
		e->cap = 0;
	}
	e->part = part;
	e->len = 0;
}

static void active_del(struct active *a, size_t *n, size_t at)
{
	free(a[at].id);
	free(a[at].text);
	memmove(a + at, a + at + 1, (*n - at - 1) * sizeof(*a));
	(*n)--;
}

static void active_clear(struct uis_fold *f, struct active *a, size_t *n)
{
	while (*n > 0) {
		active_flush(&a[*n - 1], f->parts);
		active_del(a, n, *n - 1);
	}
}

/* text-start / reasoning-start. */
static void fold_start(struct uis_fold *f, const json_t *chunk, bool reasoning)
{
	const char *id = jsonx_str(chunk, "id");
	if (!id) {
		f->broken = true;
		return;
	}
	json_t *part = json_object();
	set_str(part, "type", reasoning ? "reasoning" : "text");
	if (reasoning)
		set_str(part, "id", id);
	set_str(part, "text", "");
	set_str(part, "state", "streaming");
	if (push_part(f, part) < 0)
		return;
	size_t idx = json_array_size(f->parts) - 1;
	if (reasoning)
		active_set(f, &f->reasonings, &f->nreasonings, &f->reasonings_cap, id, idx);
	else
		active_set(f, &f->texts, &f->ntexts, &f->texts_cap, id, idx);
}

static struct active *active_of(struct uis_fold *f, const json_t *chunk, bool reasoning, size_t *at)
{
	const char *id = jsonx_str(chunk, "id");
	if (!id)
		return NULL;
	return reasoning ? active_find(f->reasonings, f->nreasonings, id, at)
			 : active_find(f->texts, f->ntexts, id, at);
}

static void fold_delta(struct uis_fold *f, const json_t *chunk, bool reasoning)
{
	const json_t *delta = json_object_get(chunk, "delta");
	struct active *e = json_is_string(delta) ? active_of(f, chunk, reasoning, NULL) : NULL;
	size_t n = json_string_length(delta);
	if (!e || n > UIS_PART_TEXT_MAX - e->len) {
		f->broken = true;
		return;
	}
	if (e->len + n + 1 > e->cap) {
		size_t cap = e->cap ? e->cap : 256;
		while (cap < e->len + n + 1)
			cap *= 2;
		e->text = xrealloc(e->text, cap);
		e->cap = cap;
	}
	memcpy(e->text + e->len, json_string_value(delta), n);
	e->len += n;
}

static void fold_end(struct uis_fold *f, const json_t *chunk, bool reasoning)
{
	size_t at;
	struct active *e = active_of(f, chunk, reasoning, &at);
	if (!e) {
		f->broken = true;
		return;
	}
	active_flush(e, f->parts);
	set_str(json_array_get(f->parts, e->part), "state", "done");
	if (reasoning)
		active_del(f->reasonings, &f->nreasonings, at);
	else
		active_del(f->texts, &f->ntexts, at);
}

/* The first dynamic-tool part of the current step with this call id, or -1. */
static long dyn_find(const struct uis_fold *f, const char *call_id)
{
	for (size_t i = f->step; i < json_array_size(f->parts); i++) {
		const json_t *p = json_array_get(f->parts, i);
		if (part_is(p, "dynamic-tool") && part_has_call(p, call_id))
			return (long)i;
	}
	return -1;
}

/* getToolInvocation: the current step first, then the whole message from the end. */
static long invocation_find(const struct uis_fold *f, const char *call_id)
{
	size_t n = json_array_size(f->parts);
	for (size_t i = f->step; i < n; i++) {
		const json_t *p = json_array_get(f->parts, i);
		if (is_tool_part(p) && part_has_call(p, call_id))
			return (long)i;
	}
	for (size_t i = n; i-- > 0;) {
		const json_t *p = json_array_get(f->parts, i);
		if (is_tool_part(p) && part_has_call(p, call_id))
			return (long)i;
	}
	return -1;
}

/* What updateDynamicToolPart writes; NULL members are undefined in the SDK. Steals the json_t
 * members. */
struct dyn_update {
	const char *call_id;
	const char *tool_name;
	const char *state;
	json_t *input;
	json_t *output;
	json_t *error_text;
	json_t *preliminary;
};

static void set_or_del(json_t *part, const char *key, json_t *v)
{
	if (v)
		json_object_set_new(part, key, v);
	else
		json_object_del(part, key);
}

/* updateDynamicToolPart: `idx` is the existing part, or -1 to look it up in the current step
 * and push a new part when there is none. Returns the part's index, or -1 when broken. */
static long dyn_update(struct uis_fold *f, long idx, struct dyn_update *o)
{
	if (idx < 0)
		idx = dyn_find(f, o->call_id);
	if (idx >= 0) {
		json_t *part = json_array_get(f->parts, (size_t)idx);
		if ((size_t)idx < f->lazy_cap)
			f->lazy[idx].on = false;
		set_str(part, "state", o->state);
		set_str(part, "toolName", o->tool_name);
		set_or_del(part, "input", o->input);
		set_or_del(part, "output", o->output);
		set_or_del(part, "errorText", o->error_text);
		json_object_del(part, "rawInput");
		json_object_del(part, "inputEncoding");
		set_or_del(part, "preliminary", o->preliminary);
		return idx;
	}
	json_t *part = json_object();
	set_str(part, "type", "dynamic-tool");
	set_str(part, "toolName", o->tool_name);
	set_str(part, "toolCallId", o->call_id);
	set_str(part, "state", o->state);
	set_or_del(part, "input", o->input);
	set_or_del(part, "output", o->output);
	set_or_del(part, "errorText", o->error_text);
	set_or_del(part, "preliminary", o->preliminary);
	if (push_part(f, part) < 0)
		return -1;
	return (long)json_array_size(f->parts) - 1;
}

static json_t *copy_of(const json_t *v)
{
	return v ? json_deep_copy(v) : NULL;
}

static void fold_input_start(struct uis_fold *f, const json_t *chunk)
{
	const char *id = jsonx_str(chunk, "toolCallId");
	const char *name = jsonx_str(chunk, "toolName");
	if (!id || !name) {
		f->broken = true;
		return;
	}
	if (!json_is_true(json_object_get(chunk, "dynamic")))
		return; /* static tool parts: never emitted by the translator */
	struct partial *old = partial_find(f, id);
	if (old)
		lazy_resolve_partial(f, (size_t)(old - f->partials));
	partial_set(f, id, name, "");
	struct dyn_update o = {.call_id = id, .tool_name = name, .state = "input-streaming"};
	dyn_update(f, -1, &o);
}

static void fold_input_delta(struct uis_fold *f, const json_t *chunk)
{
	const char *id = jsonx_str(chunk, "toolCallId");
	const json_t *d = json_object_get(chunk, "inputTextDelta");
	struct partial *p = id && json_is_string(d) ? partial_find(f, id) : NULL;
	/* A dropped input cannot be continued as the SDK would; the translator never does it. */
	if (!p || p->dropped || json_string_length(d) > UIS_TOOL_INPUT_MAX - p->len) {
		f->broken = true;
		return;
	}
	size_t n = json_string_length(d);
	if (p->len + n + 1 > p->cap) {
		size_t cap = p->cap ? p->cap : 64;
		while (cap < p->len + n + 1)
			cap *= 2;
		p->text = xrealloc(p->text, cap);
		p->cap = cap;
	}
	memcpy(p->text + p->len, json_string_value(d), n);
	p->len += n;
	p->text[p->len] = '\0';
	long idx = dyn_find(f, id);
	if (idx < 0) {
		/* A new part takes the parsed input but no rawInput. */
		struct dyn_update o = {.call_id = id,
				       .tool_name = p->tool_name,
				       .state = "input-streaming",
				       .input = uis_parse_partial_json(p->text, p->len)};
		dyn_update(f, -1, &o);
		return;
	}
	struct dyn_update o = {
		.call_id = id, .tool_name = p->tool_name, .state = "input-streaming"};
	dyn_update(f, idx, &o);
	f->lazy[idx] = (struct lazy){
		.on = true, .partial = (size_t)(p - f->partials), .len = p->len};
}

/* The input is complete: its streamed text is no longer needed. */
static void partial_drop(struct uis_fold *f, const char *id)
{
	struct partial *p = partial_find(f, id);
	if (!p)
		return;
	lazy_resolve_partial(f, (size_t)(p - f->partials));
	free(p->text);
	p->text = NULL;
	p->len = p->cap = 0;
	p->dropped = true;
}

static void fold_input_available(struct uis_fold *f, const json_t *chunk)
{
	const char *id = jsonx_str(chunk, "toolCallId");
	const char *name = jsonx_str(chunk, "toolName");
	if (!id || !name) {
		f->broken = true;
		return;
	}
	if (!json_is_true(json_object_get(chunk, "dynamic")))
		return;
	partial_drop(f, id);
	struct dyn_update o = {.call_id = id,
			       .tool_name = name,
			       .state = "input-available",
			       .input = copy_of(json_object_get(chunk, "input"))};
	dyn_update(f, -1, &o);
}

static void fold_input_error(struct uis_fold *f, const json_t *chunk)
{
	const char *id = jsonx_str(chunk, "toolCallId");
	const char *name = jsonx_str(chunk, "toolName");
	const json_t *et = json_object_get(chunk, "errorText");
	if (!id || !name || !json_is_string(et)) {
		f->broken = true;
		return;
	}
	long existing = -1;
	for (size_t i = f->step; i < json_array_size(f->parts) && existing < 0; i++)
		if (is_tool_part(json_array_get(f->parts, i)) &&
		    part_has_call(json_array_get(f->parts, i), id))
			existing = (long)i;
	bool dynamic = existing >= 0
			       ? part_is(json_array_get(f->parts, (size_t)existing), "dynamic-tool")
			       : json_is_true(json_object_get(chunk, "dynamic"));
	if (!dynamic)
		return;
	partial_drop(f, id);
	struct dyn_update o = {.call_id = id,
			       .tool_name = name,
			       .state = "output-error",
			       .input = copy_of(json_object_get(chunk, "input")),
			       .error_text = json_deep_copy(et)};
	dyn_update(f, -1, &o);
}

/* tool-output-available and tool-output-error. */
static void fold_output(struct uis_fold *f, const json_t *chunk, bool error)
{
	const char *id = jsonx_str(chunk, "toolCallId");
	const json_t *et = json_object_get(chunk, "errorText");
	long idx = id ? invocation_find(f, id) : -1;
	if (idx < 0 || (error && !json_is_string(et))) {
		f->broken = true;
		return;
	}
	json_t *part = json_array_get(f->parts, (size_t)idx);
	if (!part_is(part, "dynamic-tool"))
		return;
	lazy_resolve(f, (size_t)idx);
	const char *name = jsonx_str(part, "toolName");
	char *tool_name = xstrndup(name ? name : "", name ? strlen(name) : 0);
	struct dyn_update o = {.call_id = id,
			       .tool_name = tool_name,
			       .state = error ? "output-error" : "output-available",
			       .input = copy_of(json_object_get(part, "input"))};
	if (error) {
		o.error_text = json_deep_copy(et);
	} else {
		o.output = copy_of(json_object_get(chunk, "output"));
		o.preliminary = copy_of(json_object_get(chunk, "preliminary"));
	}
	dyn_update(f, idx, &o);
	free(tool_name);
}

void uis_fold_chunk(struct uis_fold *f, const json_t *chunk)
{
	const char *type = jsonx_str(chunk, "type");
	if (f->broken)
		return;
	if (!type) {
		f->broken = true;
		return;
	}
	if (strcmp(type, "text-start") == 0 || strcmp(type, "reasoning-start") == 0)
		fold_start(f, chunk, type[0] == 'r');
	else if (strcmp(type, "text-delta") == 0 || strcmp(type, "reasoning-delta") == 0)
		fold_delta(f, chunk, type[0] == 'r');
	else if (strcmp(type, "text-end") == 0 || strcmp(type, "reasoning-end") == 0)
		fold_end(f, chunk, type[0] == 'r');
	else if (strcmp(type, "tool-input-start") == 0)
		fold_input_start(f, chunk);
	else if (strcmp(type, "tool-input-delta") == 0)
		fold_input_delta(f, chunk);
	else if (strcmp(type, "tool-input-available") == 0)
		fold_input_available(f, chunk);
	else if (strcmp(type, "tool-input-error") == 0)
		fold_input_error(f, chunk);
	else if (strcmp(type, "tool-output-available") == 0)
		fold_output(f, chunk, false);
	else if (strcmp(type, "tool-output-error") == 0)
		fold_output(f, chunk, true);
	else if (strcmp(type, "start-step") == 0) {
		if (push_part(f, json_pack("{s:s}", "type", "step-start")) == 0)
			f->step = json_array_size(f->parts);
	} else if (strcmp(type, "finish-step") == 0) {
		active_clear(f, f->texts, &f->ntexts);
		active_clear(f, f->reasonings, &f->nreasonings);
	}
	/* `error` adds no part; the other chunk types are never emitted by the translator. */
}

json_t *uis_fold_message(const struct uis_fold *f)
{
	json_t *m = json_deep_copy(f->message);
	json_t *parts = json_object_get(m, "parts");
	for (size_t i = 0; i < f->lazy_cap && i < json_array_size(parts); i++)
		if (f->lazy[i].on)
			lazy_apply(f, i, json_array_get(parts, i));
	for (size_t i = 0; i < f->ntexts; i++)
		active_flush(&f->texts[i], parts);
	for (size_t i = 0; i < f->nreasonings; i++)
		active_flush(&f->reasonings[i], parts);
	return m;
}

json_t *uis_fold_messages(const struct uis_fold *f)
{
	json_t *all = json_deep_copy(f->messages);
	if (f->continued)
		json_array_remove(all, json_array_size(all) - 1);
	json_array_append_new(all, uis_fold_message(f));
	return all;
}
