/* Unit tests of lib/uistream.c: worker messages to UI chunks (B-8) and the fold (B-9).
 *
 * Each tests/fixtures/uistream/NAME.json is one case: worker messages (inline, or a capture
 * from tests/fixtures/runtime-claude) ending in "[DONE]", "EOF" or "LOST", or chunks fed to the
 * fold alone; and what must come out: the chunks (random ids written "$1", "$2"... in order of
 * appearance), the failure text, the summary, the tool log, the folded parts. The agreement
 * test writes every case's chunks as SSE and asks the AI SDK itself (tests/e2e/
 * check-uistream.mjs) to fold them: its message must equal ours. */
#include <config.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "lib/jsonx.h"
#include "lib/limits.h"
#include "lib/uistream.h"

struct run {
	json_t *chunks;   /* everything the translator emitted */
	json_t *sse;      /* the chunks as sent: plus the responder's error chunk on failure */
	char *fail;       /* the failure text, or NULL */
	json_t *request;  /* {messages, newId, errorTexts} */
	json_t *message;  /* the folded assistant message */
	json_t *messages; /* the folded message list */
	bool broken;
	struct uis_summary sum;
	json_t *usage, *terminal, *tool_log;
};

static const char *top(void)
{
	const char *t = getenv("top_srcdir");
	cr_assert_not_null(t, "top_srcdir is not set");
	return t;
}

static json_t *load_json(const char *path)
{
	json_error_t je;
	json_t *v = json_load_file(path, JSON_DECODE_ANY, &je);
	cr_assert_not_null(v, "%s:%d: %s", path, je.line, je.text);
	return v;
}

static json_t *load_jsonl(const char *rel)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/tests/fixtures/%s", top(), rel);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s", path);
	json_t *lines = json_array();
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (n <= 1)
			continue;
		json_t *v = json_loadb(line, (size_t)n, 0, NULL);
		cr_assert_not_null(v, "%s: a line is not JSON", path);
		json_array_append_new(lines, v);
	}
	free(line);
	fclose(f);
	return lines;
}

/* The worker messages of a case, ending with its end marker. */
static json_t *case_messages(const json_t *c)
{
	const char *source = jsonx_str(c, "source");
	if (!source)
		return json_incref(json_object_get(c, "messages"));
	json_t *msgs = load_jsonl(source);
	const char *end = jsonx_str(c, "end");
	json_array_append_new(msgs, json_string(end ? end : "[DONE]"));
	return msgs;
}

static void fold_all(struct run *r, const json_t *c)
{
	const json_t *history = json_object_get(c, "history");
	struct uis_fold *f = uis_fold_new(history, "new-message-id");
	size_t i;
	json_t *chunk;
	json_array_foreach (r->sse, i, chunk) {
		uis_fold_chunk(f, chunk);
	}
	r->message = uis_fold_message(f);
	r->messages = uis_fold_messages(f);
	r->broken = uis_fold_broken(f);
	uis_fold_free(f);
	json_t *errors = json_array();
	json_array_foreach (r->sse, i, chunk) {
		if (strcmp(jsonx_str(chunk, "type"), "error") == 0)
			json_array_append(errors, json_object_get(chunk, "errorText"));
	}
	json_t *hist = history ? json_incref((json_t *)history) : json_array();
	r->request = json_pack("{s:o,s:s,s:o}", "messages", hist, "newId", "new-message-id",
			       "errorTexts", errors);
}

static void translate(struct run *r, const json_t *c)
{
	json_t *msgs = case_messages(c);
	cr_assert(json_is_array(msgs), "a case without messages");
	struct uis *u = uis_new();
	size_t i;
	json_t *m;
	int rc = 0;
	json_array_foreach (msgs, i, m) {
		char *fail = NULL;
		const char *marker = json_string_value(m);
		if (!marker)
			rc = uis_feed(u, m, r->chunks, &fail);
		else if (strcmp(marker, "[DONE]") == 0)
			rc = uis_done(u, r->chunks, &fail);
		else
			rc = uis_eof(u, strcmp(marker, "LOST") == 0, r->chunks, &fail);
		cr_assert((rc == 0) == (fail == NULL), "rc %d with fail %s", rc,
			  fail ? fail : "(null)");
		if (fail) {
			r->fail = fail;
			break;
		}
	}
	uis_summary(u, &r->sum);
	r->usage = uis_usage(u);
	r->terminal = uis_terminal(u);
	r->tool_log = uis_tool_log(u);
	uis_free(u);
	json_decref(msgs);
}

static struct run run_case(const json_t *c)
{
	struct run r = {.chunks = json_array()};
	if (json_object_get(c, "chunksIn")) {
		r.sse = json_deep_copy(json_object_get(c, "chunksIn"));
	} else {
		translate(&r, c);
		r.sse = json_deep_copy(r.chunks);
		if (r.fail) /* B-10: the responder closes a failed turn with an error chunk */
			json_array_append_new(r.sse, json_pack("{s:s,s:s}", "type", "error",
							       "errorText", r.fail));
	}
	fold_all(&r, c);
	return r;
}

static void run_free(struct run *r)
{
	json_decref(r->chunks);
	json_decref(r->sse);
	free(r->fail);
	json_decref(r->request);
	json_decref(r->message);
	json_decref(r->messages);
	json_decref(r->usage);
	json_decref(r->terminal);
	json_decref(r->tool_log);
}

/* Replaces the random ids of text and reasoning chunks and parts by "$1", "$2"... */
static void normalize_ids(json_t *v, json_t *seen)
{
	if (json_is_array(v)) {
		size_t i;
		json_t *e;
		json_array_foreach (v, i, e) {
			normalize_ids(e, seen);
		}
		return;
	}
	const char *type = jsonx_str(v, "type");
	const char *id = jsonx_str(v, "id");
	if (!type || !id || (strncmp(type, "text", 4) != 0 && strncmp(type, "reasoning", 9) != 0))
		return;
	json_t *n = json_object_get(seen, id);
	if (!n) {
		char name[32];
		snprintf(name, sizeof(name), "$%zu", json_object_size(seen) + 1);
		n = json_string(name);
		json_object_set_new(seen, id, n);
	}
	json_object_set(v, "id", n);
}

static void expect_json(const char *name, const char *what, const json_t *got, const json_t *want)
{
	if (json_equal(got, want))
		return;
	char *g = json_dumps(got, JSON_INDENT(1) | JSON_ENCODE_ANY);
	char *w = json_dumps(want, JSON_INDENT(1) | JSON_ENCODE_ANY);
	cr_expect_fail("%s: %s differ\n--- got\n%s\n--- want\n%s", name, what, g, w);
	free(g);
	free(w);
}

/* "type[:toolName]:state" per part, for captures whose outputs are too long to write out. */
static json_t *shape_of(const json_t *parts)
{
	json_t *shape = json_array();
	size_t i;
	json_t *p;
	json_array_foreach (parts, i, p) {
		char buf[256];
		const char *tool = jsonx_str(p, "toolName");
		snprintf(buf, sizeof(buf), "%s%s%s:%s", jsonx_str(p, "type"), tool ? ":" : "",
			 tool ? tool : "", jsonx_str(p, "state"));
		json_array_append_new(shape, json_string(buf));
	}
	return shape;
}

static void check_summary(const char *name, const struct uis_summary *s, const json_t *want)
{
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)want, key, v) {
		bool got;
		if (strcmp(key, "resultSubtype") == 0) {
			cr_expect_str_eq(s->result_subtype, json_string_value(v), "%s: %s", name,
					 key);
			continue;
		} else if (strcmp(key, "sawResult") == 0) {
			got = s->saw_result;
		} else if (strcmp(key, "approvalStop") == 0) {
			got = s->approval_stop;
		} else if (strcmp(key, "wroteFiles") == 0) {
			got = s->wrote_files;
		} else if (strcmp(key, "doneBuildingAttempted") == 0) {
			got = s->done_building_attempted;
		} else if (strcmp(key, "doneBuildingOk") == 0) {
			got = s->done_building_ok;
		} else {
			cr_assert_fail("%s: unknown summary key %s", name, key);
		}
		cr_expect_eq(got, json_is_true(v), "%s: summary %s is %d", name, key, got);
	}
}

static void check_case(const char *name, const json_t *c)
{
	struct run r = run_case(c);
	json_t *seen = json_object();
	normalize_ids(r.chunks, seen);
	json_t *parts = json_deep_copy(json_object_get(r.message, "parts"));
	normalize_ids(parts, seen);
	const json_t *want;
	if ((want = json_object_get(c, "chunks")))
		expect_json(name, "chunks", r.chunks, want);
	if (!json_object_get(c, "chunksIn")) {
		const char *fail = jsonx_str(c, "fail");
		if (fail)
			cr_expect(r.fail && strcmp(r.fail, fail) == 0, "%s: fail is %s", name,
				  r.fail ? r.fail : "(none)");
		else
			cr_expect_null(r.fail, "%s: unexpected failure %s", name, r.fail);
	}
	if ((want = json_object_get(c, "parts")))
		expect_json(name, "parts", parts, want);
	if ((want = json_object_get(c, "shape"))) {
		json_t *shape = shape_of(parts);
		expect_json(name, "part shape", shape, want);
		json_decref(shape);
	}
	if ((want = json_object_get(c, "messageId")))
		cr_expect_str_eq(jsonx_str(r.message, "id"), json_string_value(want), "%s", name);
	if ((want = json_object_get(c, "messageCount")))
		cr_expect_eq(json_array_size(r.messages), (size_t)json_integer_value(want), "%s",
			     name);
	cr_expect_eq(r.broken, json_is_true(json_object_get(c, "broken")), "%s: broken %d", name,
		     r.broken);
	if ((want = json_object_get(c, "summary")))
		check_summary(name, &r.sum, want);
	if ((want = json_object_get(c, "usage")))
		expect_json(name, "usage", r.usage ? r.usage : json_null(), want);
	if ((want = json_object_get(c, "terminal")))
		expect_json(name, "terminal", r.terminal ? r.terminal : json_null(), want);
	if ((want = json_object_get(c, "toolLog")))
		expect_json(name, "tool log", r.tool_log, want);
	json_decref(parts);
	json_decref(seen);
	run_free(&r);
}

/* The case files, sorted. */
static json_t *case_names(void)
{
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s/tests/fixtures/uistream", top());
	DIR *d = opendir(dir);
	cr_assert_not_null(d, "cannot open %s", dir);
	json_t *names = json_array();
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n > 5 && strcmp(de->d_name + n - 5, ".json") == 0)
			json_array_append_new(names, json_stringn(de->d_name, n - 5));
	}
	closedir(d);
	/* Insertion sort: a few dozen names. */
	for (size_t i = 1; i < json_array_size(names); i++)
		for (size_t j = i; j > 0; j--) {
			json_t *a = json_array_get(names, j - 1), *b = json_array_get(names, j);
			if (strcmp(json_string_value(a), json_string_value(b)) <= 0)
				break;
			json_incref(a);
			json_array_set(names, j - 1, b);
			json_array_set_new(names, j, a);
		}
	cr_assert(json_array_size(names) > 0, "no cases in %s", dir);
	return names;
}

static json_t *load_case(const char *name)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/tests/fixtures/uistream/%s.json", top(), name);
	return load_json(path);
}

Test(uistream, fixtures)
{
	json_t *names = case_names();
	size_t i;
	json_t *n;
	json_array_foreach (names, i, n) {
		json_t *c = load_case(json_string_value(n));
		check_case(json_string_value(n), c);
		json_decref(c);
	}
	json_decref(names);
}

/* Every chunk has the fields uiMessageChunkSchema requires, and every tool chunk is dynamic. */
Test(uistream, chunk_shapes)
{
	static const struct {
		const char *type;
		const char *fields[4];
	} schema[] = {
		{"text-start", {"id"}},
		{"text-delta", {"id", "delta"}},
		{"text-end", {"id"}},
		{"reasoning-start", {"id"}},
		{"reasoning-delta", {"id", "delta"}},
		{"reasoning-end", {"id"}},
		{"tool-input-start", {"toolCallId", "toolName"}},
		{"tool-input-delta", {"toolCallId", "inputTextDelta"}},
		{"tool-input-available", {"toolCallId", "toolName", "input"}},
		{"tool-input-error", {"toolCallId", "toolName", "input", "errorText"}},
		{"tool-output-available", {"toolCallId", "output"}},
		{"tool-output-error", {"toolCallId", "errorText"}},
	};
	json_t *names = case_names();
	size_t i, k;
	json_t *n, *chunk;
	json_array_foreach (names, i, n) {
		json_t *c = load_case(json_string_value(n));
		if (json_object_get(c, "chunksIn")) {
			json_decref(c);
			continue;
		}
		struct run r = run_case(c);
		json_array_foreach (r.chunks, k, chunk) {
			const char *type = jsonx_str(chunk, "type");
			size_t s = 0;
			while (s < sizeof(schema) / sizeof(schema[0]) &&
			       strcmp(schema[s].type, type) != 0)
				s++;
			cr_assert(s < sizeof(schema) / sizeof(schema[0]), "%s: chunk type %s",
				  json_string_value(n), type);
			for (int f = 0; f < 4 && schema[s].fields[f]; f++)
				cr_expect_not_null(json_object_get(chunk, schema[s].fields[f]),
						   "%s: %s without %s", json_string_value(n), type,
						   schema[s].fields[f]);
			if (strncmp(type, "tool-", 5) == 0 && strcmp(type, "tool-input-delta") != 0)
				cr_expect(json_is_true(json_object_get(chunk, "dynamic")),
					  "%s: %s is not dynamic", json_string_value(n), type);
		}
		run_free(&r);
		json_decref(c);
	}
	json_decref(names);
}

static json_t *feed1(struct uis *u, const char *text)
{
	json_t *msg = json_loads(text, 0, NULL);
	cr_assert_not_null(msg, "bad test JSON: %s", text);
	json_t *out = json_array();
	char *fail = NULL;
	cr_assert_eq(uis_feed(u, msg, out, &fail), 0, "%s failed: %s", text, fail);
	json_decref(msg);
	return out;
}

static json_t *output_delta(size_t n, const char *unit)
{
	size_t ul = strlen(unit);
	char *s = malloc(n * ul + 1);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * ul, unit, ul);
	s[n * ul] = '\0';
	json_t *m = json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "tool_output_delta", "tool_use_id",
			      "t1", "toolName", "Bash", "delta", "x", "output", s);
	free(s);
	return m;
}

/* B-8: a running tool's cumulative output is shown up to 20,000 characters, then its tail. */
Test(uistream, output_preview_truncated)
{
	struct uis *u = uis_new();
	json_decref(
		feed1(u, "{\"type\":\"assistant\",\"message\":{\"content\":[{\"type\":\"tool_use\","
			 "\"id\":\"t1\",\"name\":\"Bash\",\"input\":{}}]}}"));
	static const struct {
		size_t n;
		const char *unit;
		size_t kept; /* bytes after the prefix; 0 = untruncated */
	} cases[] = {
		{UIS_TOOL_OUTPUT_PREVIEW, "a", 0},
		{UIS_TOOL_OUTPUT_PREVIEW + 1, "a", UIS_TOOL_OUTPUT_PREVIEW},
		/* Characters are counted as JavaScript does, in UTF-16 units, not bytes. */
		{UIS_TOOL_OUTPUT_PREVIEW, "\xc3\xa9", 0},
		{UIS_TOOL_OUTPUT_PREVIEW + 5, "\xe2\x82\xac", 3 * UIS_TOOL_OUTPUT_PREVIEW},
		{UIS_TOOL_OUTPUT_PREVIEW, "\xf0\x9f\x98\x80", 2 * UIS_TOOL_OUTPUT_PREVIEW},
		/* A surrogate pair is never split: the tail is one unit short. */
		{UIS_TOOL_OUTPUT_PREVIEW,
		 "\xf0\x9f\x98\x80"
		 "a",
		 5 * (UIS_TOOL_OUTPUT_PREVIEW / 3) + 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *m = output_delta(cases[i].n, cases[i].unit);
		json_t *out = json_array();
		char *fail = NULL;
		cr_assert_eq(uis_feed(u, m, out, &fail), 0);
		cr_assert_eq(json_array_size(out), 1);
		json_t *c = json_array_get(out, 0);
		cr_expect_str_eq(jsonx_str(c, "type"), "tool-output-available");
		cr_expect(json_is_true(json_object_get(c, "preliminary")));
		const char *o = jsonx_str(c, "output");
		const char *full = jsonx_str(m, "output");
		if (cases[i].kept == 0) {
			cr_expect_str_eq(o, full, "case %zu is untruncated", i);
		} else {
			const char *prefix = "[output truncated]\n";
			cr_assert(strncmp(o, prefix, strlen(prefix)) == 0, "case %zu prefix", i);
			cr_expect_eq(strlen(o) - strlen(prefix), cases[i].kept, "case %zu kept %zu",
				     i, strlen(o) - strlen(prefix));
			cr_expect_str_eq(o + strlen(prefix), full + strlen(full) - cases[i].kept,
					 "case %zu keeps the tail", i);
		}
		json_decref(out);
		json_decref(m);
	}
	uis_free(u);
}

/* Peer-controlled sizes: an oversized tool input fails the turn with the error row. */
Test(uistream, tool_input_limit)
{
	struct uis *u = uis_new();
	json_decref(feed1(u,
			  "{\"type\":\"stream_event\",\"event\":{\"type\":\"content_block_start\","
			  "\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t1\","
			  "\"name\":\"Write\"}}}"));
	size_t piece = 64 * 1024;
	char *s = malloc(piece + 1);
	memset(s, 'a', piece);
	s[piece] = '\0';
	json_t *m = json_pack("{s:s,s:{s:s,s:i,s:{s:s,s:s}}}", "type", "stream_event", "event",
			      "type", "content_block_delta", "index", 0, "delta", "type",
			      "input_json_delta", "partial_json", s);
	free(s);
	int rc = 0;
	char *fail = NULL;
	json_t *out = json_array();
	for (size_t sent = 0; rc == 0 && sent <= UIS_TOOL_INPUT_MAX; sent += piece) {
		json_array_clear(out);
		rc = uis_feed(u, m, out, &fail);
	}
	cr_assert_eq(rc, -1);
	cr_expect_not_null(strstr(fail, "input"), "%s", fail);
	cr_assert_eq(json_array_size(out), 1);
	cr_expect_str_eq(jsonx_str(json_array_get(out, 0), "type"), "tool-input-error");
	free(fail);
	json_array_clear(out);
	cr_expect_eq(uis_feed(u, m, out, &fail), 0, "messages after a failure are ignored");
	cr_expect_eq(json_array_size(out), 0);
	json_decref(out);
	json_decref(m);
	uis_free(u);
}

Test(uistream, parts_limit)
{
	struct uis *u = uis_new();
	json_t *m = json_pack("{s:s,s:s}", "type", "tool_use_summary", "summary", "s");
	json_t *out = json_array();
	char *fail = NULL;
	int rc = 0;
	size_t n = 0;
	while (rc == 0 && n <= UIS_PARTS_MAX) {
		rc = uis_feed(u, m, out, &fail);
		n++;
	}
	cr_expect_eq(rc, -1);
	cr_expect_eq(n, UIS_PARTS_MAX + 1);
	cr_expect_eq(json_array_size(out), 3 * UIS_PARTS_MAX);
	free(fail);
	json_decref(out);
	json_decref(m);
	uis_free(u);
}

/* The SDK's parsePartialJson, on the inputs a streamed tool call passes through. */
Test(uistream, partial_json)
{
	static const struct {
		const char *in, *want; /* want NULL: undefined */
	} cases[] = {
		{"", NULL},
		{"{", "{}"},
		{"{\"a", "{}"},
		{"{\"a\":", "{}"},
		{"{\"a\":1", "{\"a\":1}"},
		{"{\"a\":-", "{}"},
		{"{\"a\":1.", "{\"a\":1}"},
		{"{\"a\":\"he", "{\"a\":\"he\"}"},
		{"{\"a\":\"x\\", "{\"a\":\"x\"}"},
		{"{\"a\":\"x\\u00", "{\"a\":\"x\"}"},
		{"{\"a\":\"x\\u00e9", "{\"a\":\"x\xc3\xa9\"}"},
		{"{\"a\":tr", "{\"a\":true}"},
		{"{\"a\":nul", "{\"a\":null}"},
		{"{\"a\":[1,2,", "{\"a\":[1,2]}"},
		{"{\"a\":[{\"b\":f", "{\"a\":[{\"b\":false}]}"},
		{"[1, 2", "[1,2]"},
		{"{\"a\":1}", "{\"a\":1}"},
		{"{\"a\":1}x", "{\"a\":1}"}, /* the repair keeps the valid prefix */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *got = uis_parse_partial_json(cases[i].in, strlen(cases[i].in));
		json_t *want = cases[i].want ? json_loads(cases[i].want, JSON_DECODE_ANY, NULL)
					     : NULL;
		cr_expect((got == NULL && want == NULL) || json_equal(got, want), "case %zu: %s", i,
			  cases[i].in);
		json_decref(got);
		json_decref(want);
	}
}

static bool have_node_and_ai(char *why, size_t n)
{
	if (system("command -v node >/dev/null 2>&1") != 0) {
		snprintf(why, n, "node is not on PATH");
		return false;
	}
	char path[1024];
	snprintf(path, sizeof(path), "%s/tests/e2e/node_modules/ai/package.json", top());
	if (access(path, R_OK) != 0) {
		snprintf(why, n, "%s is missing (npm install in tests/e2e)", path);
		return false;
	}
	return true;
}

static void write_file(const char *dir, const char *name, const char *ext, const char *data,
		       size_t len)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s%s", dir, name, ext);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "cannot write %s", path);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static void write_json(const char *dir, const char *name, const char *ext, const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	write_file(dir, name, ext, s, strlen(s));
	free(s);
}

/* The SSE the responder sends (B-9): one `data:` line per chunk, then [DONE]. */
static void write_sse(const char *dir, const char *name, const json_t *chunks)
{
	size_t len = 0, cap = 4096, i;
	char *buf = malloc(cap);
	json_t *c;
	json_array_foreach (chunks, i, c) {
		char *s = json_dumps(c, JSON_COMPACT);
		size_t need = len + strlen(s) + 16;
		if (need > cap) {
			while (cap < need)
				cap *= 2;
			buf = realloc(buf, cap);
		}
		len += (size_t)sprintf(buf + len, "data: %s\n\n", s);
		free(s);
	}
	if (len + 32 > cap)
		buf = realloc(buf, len + 32);
	len += (size_t)sprintf(buf + len, "data: [DONE]\n\n");
	write_file(dir, name, ".sse", buf, len);
	free(buf);
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	char path[1024];
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
	closedir(d);
	rmdir(dir);
}

/* The AI SDK's own readUIMessageStream folds every case's SSE into the message we persist. */
Test(uistream, agrees_with_ai_sdk, .timeout = 120)
{
	char why[1200];
	if (!have_node_and_ai(why, sizeof(why)))
		cr_skip_test("SKIP agreement with the ai package: %s", why);
	char dir[] = "/tmp/second-uistream-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	json_t *names = case_names();
	size_t i;
	json_t *n;
	json_array_foreach (names, i, n) {
		const char *name = json_string_value(n);
		json_t *c = load_case(name);
		struct run r = run_case(c);
		write_sse(dir, name, r.sse);
		write_json(dir, name, ".request.json", r.request);
		json_t *fold = json_pack("{s:O,s:b}", "message", r.message, "broken", r.broken);
		write_json(dir, name, ".fold.json", fold);
		json_decref(fold);
		run_free(&r);
		json_decref(c);
	}
	json_decref(names);
	char cmd[3000];
	snprintf(cmd, sizeof(cmd), "node '%s/tests/e2e/check-uistream.mjs' '%s' 2>&1", top(), dir);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	char line[8192];
	while (fgets(line, sizeof(line), p))
		fputs(line, stderr);
	int status = pclose(p);
	cr_assert_eq(status, 0, "the AI SDK folds differ (files kept in %s)", dir);
	remove_dir(dir);
}

/* Messages of the right type with fields of the wrong shape are skipped, never trusted. */
Test(uistream, hostile_messages)
{
	static const char *const msgs[] = {
		"{\"type\":1}",
		"{\"type\":\"stream_event\"}",
		"{\"type\":\"stream_event\",\"event\":[]}",
		"{\"type\":\"stream_event\",\"event\":{\"type\":\"content_block_start\"}}",
		"{\"type\":\"stream_event\",\"event\":{\"type\":\"content_block_start\","
		"\"content_block\":{\"type\":\"tool_use\",\"name\":7}}}",
		"{\"type\":\"stream_event\",\"event\":{\"type\":\"content_block_delta\","
		"\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":{}}}}",
		"{\"type\":\"stream_event\",\"event\":{\"type\":\"content_block_delta\","
		"\"delta\":{\"type\":\"text_delta\",\"text\":5}}}",
		"{\"type\":\"stream_event\",\"event\":{\"type\":\"content_block_stop\"}}",
		"{\"type\":\"assistant\",\"message\":\"x\"}",
		"{\"type\":\"assistant\",\"message\":{\"content\":[1,{\"type\":\"tool_use\"},"
		"{\"type\":\"text\",\"text\":[]}]}}",
		"{\"type\":\"user\",\"message\":{\"content\":\"hi\"}}",
		"{\"type\":\"user\",\"message\":{\"content\":[{\"type\":\"tool_result\"}]}}",
		"{\"type\":\"tool_output_delta\",\"tool_use_id\":5}",
		"{\"type\":\"tool_use_summary\",\"summary\":{}}",
		"{\"type\":\"result\",\"subtype\":[],\"modelUsage\":3}",
	};
	struct uis *u = uis_new();
	struct uis_fold *f = uis_fold_new(NULL, "m");
	json_t *out = json_array();
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		json_t *o = feed1(u, msgs[i]);
		json_array_extend(out, o);
		json_decref(o);
	}
	json_t *usage = uis_usage(u);
	cr_expect_eq(json_integer_value(json_object_get(usage, "totalCostUsd")), 0);
	cr_expect_eq(json_object_size(json_object_get(usage, "modelUsage")), 0);
	json_decref(usage);
	char *fail = NULL;
	cr_expect_eq(uis_done(u, out, &fail), 0);
	size_t i;
	json_t *c;
	json_array_foreach (out, i, c) {
		uis_fold_chunk(f, c);
	}
	cr_expect_not(uis_fold_broken(f));
	uis_fold_free(f);
	json_decref(out);
	uis_free(u);
}
