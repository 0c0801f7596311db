/* The platform tools of the `second` MCP server: present_plan, present_suggestions,
 * present_agents and set_app_metadata.
 *
 * The registry is one static table; the broker lists it, filters it by the session's
 * allow-list and dispatches tools/call through it. Handlers normalize what the model sent
 * instead of refusing it where the spec says so (T-2, T-3), and answer with JSON text the web
 * side and the runtime adapters parse (T-13 looks at ok and status). The app_tools and
 * app_data servers have no tools yet. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/jsonx.h"
#include "lib/limits.h"
#include "workerd/agents-json.h"
#include "workerd/tools.h"

#include "workerd/build.h"

#define PLAN_MESSAGE \
	"Plan presented to the user. Stop here and wait for their approval or requested changes."
#define DEFAULT_EMOJI "\xE2\x9C\xA8" /* U+2728 sparkles */

static json_t *xobject(void)
{
	json_t *o = json_object();

	if (o == NULL)
		abort();
	return o;
}

static json_t *xarray(void)
{
	json_t *a = json_array();

	if (a == NULL)
		abort();
	return a;
}

static void set(json_t *obj, const char *key, json_t *value)
{
	if (value == NULL || json_object_set_new(obj, key, value) != 0)
		abort();
}

static void append(json_t *arr, json_t *value)
{
	if (value == NULL || json_array_append_new(arr, value) != 0)
		abort();
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		abort();
	return d;
}

/* Hands obj (stolen) to the result as compact JSON text. */
static void result_json(struct tool_result *out, json_t *obj)
{
	out->text = jsonx_dumps_compact(obj, NULL);
	if (out->text == NULL)
		abort();
	json_decref(obj);
}

static void result_error(struct tool_result *out, const char *text)
{
	out->text = xstrdup(text);
	out->is_error = true;
}

size_t tools_utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

char *tools_collapse_ws(const char *s)
{
	char *out = malloc(strlen(s) + 1), *p = out;

	if (out == NULL)
		abort();
	while (*s != '\0') {
		if (is_ws(*s)) {
			while (is_ws(*s))
				s++;
			if (p != out && *s != '\0')
				*p++ = ' ';
		} else {
			*p++ = *s++;
		}
	}
	*p = '\0';
	return out;
}

/* s trimmed and cut to at most max characters (then trimmed again): a new JSON string. */
static json_t *trimmed(const char *s, size_t max)
{
	size_t len, i = 0, chars = 0;

	while (is_ws(*s))
		s++;
	len = strlen(s);
	while (len > 0 && is_ws(s[len - 1]))
		len--;
	while (i < len) {
		if (((unsigned char)s[i] & 0xC0) != 0x80 && chars++ == max)
			break;
		i++;
	}
	while (i > 0 && is_ws(s[i - 1]))
		i--;
	return json_stringn(s, i);
}

static const char *str_or_empty(const json_t *obj, const char *key)
{
	const char *s = jsonx_str(obj, key);

	return s != NULL ? s : "";
}

static json_t *string_or_null(const json_t *obj, const char *key)
{
	const char *s = jsonx_str(obj, key);

	return s != NULL ? json_string(s) : json_null();
}

static json_t *plan_features(const json_t *features)
{
	json_t *out = xarray(), *f;
	size_t i;

	json_array_foreach (features, i, f) {
		json_t *item;

		if (!json_is_object(f))
			continue;
		if (json_array_size(out) >= TOOL_PLAN_FEATURES_MAX)
			break;
		item = xobject();
		set(item, "name", json_string(str_or_empty(f, "name")));
		set(item, "description", json_string(str_or_empty(f, "description")));
		if (jsonx_str(f, "emoji") != NULL)
			set(item, "emoji", json_string(jsonx_str(f, "emoji")));
		append(out, item);
	}
	return out;
}

/* T-2: normalizes rather than refuses, so the plan card always renders. */
static void present_plan(const struct tool_ctx *ctx, const json_t *args, struct tool_result *out)
{
	json_t *r = xobject();

	(void)ctx; /* the plan depends on its arguments only */
	set(r, "ok", json_true());
	set(r, "status", json_string("presented"));
	set(r, "title", json_string(str_or_empty(args, "title")));
	set(r, "overview", json_string(str_or_empty(args, "overview")));
	set(r, "features", plan_features(json_object_get(args, "features")));
	set(r, "dataFlow", json_string(str_or_empty(args, "dataFlow")));
	set(r, "agents", string_or_null(args, "agents"));
	set(r, "backend", string_or_null(args, "backend"));
	set(r, "message", json_string(PLAN_MESSAGE));
	result_json(out, r);
}

/* Icon names older prompts used before suggestions carried an emoji. */
static const struct {
	const char *icon;
	const char *emoji;
} legacy_icons[] = {
	{"sparkles", "\xE2\x9C\xA8"},
	{"rocket", "\xF0\x9F\x9A\x80"},
	{"chart", "\xF0\x9F\x93\x8A"},
	{"bar-chart", "\xF0\x9F\x93\x8A"},
	{"users", "\xF0\x9F\x91\xA5"},
	{"user", "\xF0\x9F\x91\xA4"},
	{"calendar", "\xF0\x9F\x93\x85"},
	{"mail", "\xF0\x9F\x93\xA7"},
	{"search", "\xF0\x9F\x94\x8D"},
	{"settings", "\xE2\x9A\x99\xEF\xB8\x8F"},
	{"database", "\xF0\x9F\x97\x84\xEF\xB8\x8F"},
	{"lightbulb", "\xF0\x9F\x92\xA1"},
	{"check", "\xE2\x9C\x85"},
	{"star", "\xE2\xAD\x90"},
	{"bell", "\xF0\x9F\x94\x94"},
	{"file", "\xF0\x9F\x93\x84"},
	{"lock", "\xF0\x9F\x94\x92"},
	{"globe", "\xF0\x9F\x8C\x90"},
	{"bot", "\xF0\x9F\xA4\x96"},
	{"clipboard", "\xF0\x9F\x93\x8B"},
	{"dollar", "\xF0\x9F\x92\xB0"},
	{"cart", "\xF0\x9F\x9B\x92"},
	{"heart", "\xE2\x9D\xA4\xEF\xB8\x8F"},
	{"zap", "\xE2\x9A\xA1"},
	{"target", "\xF0\x9F\x8E\xAF"},
	{"book", "\xF0\x9F\x93\x9A"},
	{"message", "\xF0\x9F\x92\xAC"},
	{"clock", "\xE2\x8F\xB0"},
	{"map", "\xF0\x9F\x97\xBA\xEF\xB8\x8F"},
	{"palette", "\xF0\x9F\x8E\xA8"},
};

static json_t *suggestion_emoji(const json_t *item)
{
	json_t *e = NULL;
	const char *icon;

	if (jsonx_str(item, "emoji") != NULL) {
		e = trimmed(jsonx_str(item, "emoji"), TOOL_SUGGESTION_EMOJI_MAX + 1);
		if (e == NULL)
			abort();
		if (json_string_length(e) > 0 &&
		    tools_utf8_chars(json_string_value(e)) <= TOOL_SUGGESTION_EMOJI_MAX)
			return e;
		json_decref(e);
	}
	icon = jsonx_str(item, "icon");
	for (size_t i = 0; icon != NULL && i < sizeof(legacy_icons) / sizeof(legacy_icons[0]); i++)
		if (strcasecmp(icon, legacy_icons[i].icon) == 0)
			return json_string(legacy_icons[i].emoji);
	return json_string(DEFAULT_EMOJI);
}

/* One cleaned suggestion, or NULL when its title or subtitle is empty. */
static json_t *suggestion(const json_t *item)
{
	json_t *title, *subtitle, *s;

	if (!json_is_object(item))
		return NULL;
	title = trimmed(str_or_empty(item, "title"), TOOL_SUGGESTION_TITLE_MAX);
	subtitle = trimmed(str_or_empty(item, "subtitle"), TOOL_SUGGESTION_SUBTITLE_MAX);
	if (title == NULL || subtitle == NULL)
		abort();
	if (json_string_length(title) == 0 || json_string_length(subtitle) == 0) {
		json_decref(title);
		json_decref(subtitle);
		return NULL;
	}
	s = xobject();
	set(s, "emoji", suggestion_emoji(item));
	set(s, "title", title);
	set(s, "subtitle", subtitle);
	return s;
}

/* T-3: keeps the usable items (at most TOOL_SUGGESTIONS_MAX); ok when one survived. */
static void present_suggestions(const struct tool_ctx *ctx, const json_t *args,
				struct tool_result *out)
{
	json_t *list = xarray(), *r = xobject(), *item;
	size_t i, n;

	(void)ctx; /* suggestions depend on their arguments only */
	json_array_foreach (json_object_get(args, "suggestions"), i, item) {
		json_t *s = suggestion(item);

		if (s != NULL)
			append(list, s);
		if (json_array_size(list) >= TOOL_SUGGESTIONS_MAX)
			break;
	}
	n = json_array_size(list);
	set(r, "ok", json_boolean(n > 0));
	set(r, "status", json_string(n > 0 ? "presented" : "invalid"));
	set(r, "suggestions", list);
	set(r, "message",
	    json_string(n > 0 ? "Suggestions presented to the user. Stop here and wait for them "
				"to choose one."
			      : "No valid suggestions: each needs a title and a subtitle. Call "
				"present_suggestions again with 2 to 6 suggestions."));
	result_json(out, r);
}

/* Reads <cwd>/agents.json into *buf (malloc'd, NUL-terminated). On failure returns -1 with
 * *issue set to the problem (static text), or NULL when the file does not exist. */
static int read_agents_file(const char *cwd, char **buf, size_t *len, const char **issue)
{
	char root[PATH_MAX], *path = NULL, *resolved = NULL, *data = NULL;
	size_t rootlen, used = 0;
	struct stat st;
	int fd = -1, rc = -1;

	*issue = "agents.json: the run's working directory is not readable.";
	if (realpath(cwd, root) == NULL)
		goto out;
	if (asprintf(&path, "%s/agents.json", root) < 0)
		abort();
	resolved = realpath(path, NULL);
	*issue = NULL; /* a missing file, or a symlink to nothing */
	if (resolved == NULL)
		goto out;
	rootlen = strlen(root);
	*issue = "agents.json: the file resolves outside the app workspace.";
	if (strncmp(resolved, root, rootlen) != 0 || (resolved[rootlen] != '/' && rootlen > 1))
		goto out;
	*issue = "agents.json: the file cannot be read.";
	fd = open(resolved, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) != 0)
		goto out;
	*issue = "agents.json: not a regular file.";
	if (!S_ISREG(st.st_mode))
		goto out;
	*issue = "agents.json: the file is larger than 512 KiB; keep it smaller.";
	if (st.st_size > AGENTS_JSON_MAX_BYTES)
		goto out;
	data = malloc(AGENTS_JSON_MAX_BYTES + 2);
	if (data == NULL)
		abort();
	for (;;) {
		ssize_t n = read(fd, data + used, AGENTS_JSON_MAX_BYTES + 1 - used);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*issue = "agents.json: the file cannot be read.";
			goto out;
		}
		if (n == 0)
			break;
		used += (size_t)n;
		if (used > AGENTS_JSON_MAX_BYTES)
			goto out; /* grew while we read it */
	}
	data[used] = '\0';
	*buf = data;
	*len = used;
	data = NULL;
	*issue = NULL;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(data);
	free(resolved);
	free(path);
	return rc;
}

static json_t *array_member(const json_t *doc, const char *key)
{
	json_t *a = json_object_get(doc, key);

	return json_is_array(a) ? json_incref(a) : xarray();
}

static const char *agents_message(enum agents_json_status st, const json_t *doc, char *buf,
				  size_t bufsz)
{
	if (st == AGENTS_JSON_INVALID)
		return "agents.json cannot be presented yet. Fix the issues in validationIssues, "
		       "then call present_agents again.";
	if (st == AGENTS_JSON_CHANGES_REQUIRED)
		return "Agent configuration needs changes before approval. Fix the validation "
		       "issues in agents.json, then call present_agents again.";
	snprintf(buf, bufsz,
		 "%zu agent(s) and %zu backend function(s) presented to the user. Stop here and "
		 "wait for their approval or requested changes.",
		 json_array_size(json_object_get(doc, "agents")),
		 json_array_size(json_object_get(doc, "appTools")));
	return buf;
}

/* T-5: only ok:true with status "presented" makes the turn stop for approval. */
static void present_agents(const struct tool_ctx *ctx, const json_t *args, struct tool_result *out)
{
	static const char *const status_names[] = {"presented", "invalid", "changes_required"};
	const char *cwd = jsonx_str(ctx->context, "cwd"), *issue = NULL;
	enum agents_json_status st = AGENTS_JSON_INVALID;
	json_t *doc = NULL, *issues = NULL, *r;
	char *text = NULL, msg[256];
	size_t len = 0;

	(void)args; /* present_agents takes no input */
	if (cwd == NULL || cwd[0] != '/') {
		result_error(out, "present_agents: this run has no app workspace to read.");
		return;
	}
	if (read_agents_file(cwd, &text, &len, &issue) == 0) {
		st = agents_json_check_text(text, len, &doc, &issues);
	} else {
		issues = xarray();
		append(issues,
		       json_string(issue != NULL ? issue
						 : "agents.json: file does not exist. Write "
						   "agents.json first."));
	}
	r = xobject();
	set(r, "ok", json_boolean(st == AGENTS_JSON_VALID));
	set(r, "status", json_string(status_names[st]));
	set(r, "source", json_string("agents.json"));
	set(r, "agents", array_member(doc, "agents"));
	set(r, "appTools", array_member(doc, "appTools"));
	if (st != AGENTS_JSON_VALID)
		set(r, "validationIssues", issues);
	else
		json_decref(issues);
	set(r, "message", json_string(agents_message(st, doc, msg, sizeof(msg))));
	result_json(out, r);
	json_decref(doc);
	free(text);
}

/* A collapsed string argument of min..max characters, or NULL. malloc'd. */
static char *metadata_field(const json_t *args, const char *key, size_t min, size_t max)
{
	const char *s = jsonx_str(args, key);
	char *v;
	size_t n;

	if (s == NULL)
		return NULL;
	v = tools_collapse_ws(s);
	n = tools_utf8_chars(v);
	if (n < min || n > max) {
		free(v);
		return NULL;
	}
	return v;
}

/* T-8: the values land in the broker session, where the metadata turn's caller reads them. */
static void set_app_metadata(const struct tool_ctx *ctx, const json_t *args,
			     struct tool_result *out)
{
	char *name = metadata_field(args, "name", TOOL_APP_NAME_MIN, TOOL_APP_NAME_MAX);
	char *desc = metadata_field(args, "description", TOOL_APP_DESCRIPTION_MIN,
				    TOOL_APP_DESCRIPTION_MAX);
	json_t *r;

	(void)ctx; /* the values are kept through out->capture, not the context */
	if (name == NULL)
		result_error(out, "set_app_metadata: name must be a string of 2 to 80 characters.");
	else if (desc == NULL)
		result_error(out, "set_app_metadata: description must be a string of 2 to 300 "
				  "characters.");
	if (name == NULL || desc == NULL)
		goto out;
	out->capture = xobject();
	set(out->capture, "name", json_string(name));
	set(out->capture, "description", json_string(desc));
	r = xobject();
	set(r, "ok", json_true());
	set(r, "status", json_string("captured"));
	set(r, "name", json_string(name));
	set(r, "description", json_string(desc));
	result_json(out, r);
out:
	free(name);
	free(desc);
}

/* The schemas and messages below spell these limits out in their text. */
_Static_assert(AGENTS_JSON_MAX_BYTES == 512 * 1024, "present_agents message");
_Static_assert(TOOL_SUGGESTIONS_MIN == 2 && TOOL_SUGGESTIONS_MAX == 6, "suggestions schema");
_Static_assert(TOOL_SUGGESTION_TITLE_MAX == 80 && TOOL_SUGGESTION_SUBTITLE_MAX == 220,
	       "suggestions schema");
_Static_assert(TOOL_APP_NAME_MIN == 2 && TOOL_APP_NAME_MAX == 80, "set_app_metadata schema");
_Static_assert(TOOL_APP_DESCRIPTION_MIN == 2 && TOOL_APP_DESCRIPTION_MAX == 300,
	       "set_app_metadata schema");

static const struct tool_def registry[] = {
	{
		TOOLS_SERVER_SECOND,
		"present_plan",
		"Present the app plan to the user for approval before building. Call it once the "
		"plan is ready, then stop and wait for the user's answer.",
		"{\"type\":\"object\",\"properties\":{"
		"\"title\":{\"type\":\"string\",\"description\":\"Short name of the app\"},"
		"\"overview\":{\"type\":\"string\",\"description\":\"What the app does, for "
		"whom\"},"
		"\"features\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
		"\"name\":{\"type\":\"string\"},\"description\":{\"type\":\"string\"},"
		"\"emoji\":{\"type\":\"string\"}},\"required\":[\"name\",\"description\"]}},"
		"\"dataFlow\":{\"type\":\"string\",\"description\":\"Where data comes from and "
		"goes\"},"
		"\"agents\":{\"type\":[\"string\",\"null\"]},"
		"\"backend\":{\"type\":[\"string\",\"null\"]}},"
		"\"required\":[\"title\",\"overview\",\"features\",\"dataFlow\"]}",
		present_plan,
	},
	{
		TOOLS_SERVER_SECOND,
		"present_suggestions",
		"Offer the user 2 to 6 clickable next steps, each with an emoji, a short title and "
		"a subtitle, then stop and wait for their choice.",
		"{\"type\":\"object\",\"properties\":{\"suggestions\":{\"type\":\"array\","
		"\"minItems\":2,\"maxItems\":6,\"items\":{\"type\":\"object\",\"properties\":{"
		"\"emoji\":{\"type\":\"string\"},"
		"\"title\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":80},"
		"\"subtitle\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":220}},"
		"\"required\":[\"title\",\"subtitle\"]}}},\"required\":[\"suggestions\"]}",
		present_suggestions,
	},
	{
		TOOLS_SERVER_SECOND,
		"present_agents",
		"Validate agents.json in the app workspace and present its agents and backend "
		"functions to the user for approval. Takes no input. If the result is not ok, fix "
		"agents.json and call it again; if it is presented, stop and wait.",
		"{\"type\":\"object\",\"properties\":{}}",
		present_agents,
	},
	{
		TOOLS_SERVER_SECOND,
		"done_building",
		"Install, type-check and build the app in the workspace. Call it when the code is "
		"written; fix whatever errors it returns and call it again until it reports "
		"status complete.",
		"{\"type\":\"object\",\"properties\":{\"summary\":{\"type\":\"string\","
		"\"description\":\"One or two sentences on what was built or changed\"}},"
		"\"required\":[\"summary\"]}",
		build_done_building,
	},
	{
		TOOLS_SERVER_SECOND,
		"set_app_metadata",
		"Set the app's name and a one-sentence description.",
		"{\"type\":\"object\",\"properties\":{"
		"\"name\":{\"type\":\"string\",\"minLength\":2,\"maxLength\":80},"
		"\"description\":{\"type\":\"string\",\"minLength\":2,\"maxLength\":300}},"
		"\"required\":[\"name\",\"description\"]}",
		set_app_metadata,
	},
};

bool tools_server_known(const char *server)
{
	return server != NULL && (strcmp(server, TOOLS_SERVER_SECOND) == 0 ||
				  strcmp(server, TOOLS_SERVER_APP_TOOLS) == 0 ||
				  strcmp(server, TOOLS_SERVER_APP_DATA) == 0);
}

const struct tool_def *tools_all(size_t *n)
{
	*n = sizeof(registry) / sizeof(registry[0]);
	return registry;
}

const struct tool_def *tools_find(const char *server, const char *name)
{
	for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++)
		if (strcmp(registry[i].server, server) == 0 && strcmp(registry[i].name, name) == 0)
			return &registry[i];
	return NULL;
}

int tools_canonical_name(const struct tool_def *t, char *buf, size_t bufsz)
{
	int n = snprintf(buf, bufsz, "mcp__%s__%s", t->server, t->name);

	return n < 0 || (size_t)n >= bufsz ? -1 : 0;
}

json_t *tools_input_schema(const struct tool_def *t)
{
	json_t *schema = json_loads(t->input_schema, JSON_REJECT_DUPLICATES, NULL);

	if (schema == NULL)
		abort(); /* a built-in schema is wrong: test-broker parses every one */
	return schema;
}

void tools_call(const struct tool_def *t, const struct tool_ctx *ctx, const json_t *args,
		struct tool_result *out)
{
	json_t *empty = NULL;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(args)) {
		empty = xobject();
		args = empty;
	}
	t->handler(ctx, args, out);
	json_decref(empty);
}

void tool_result_clear(struct tool_result *r)
{
	free(r->text);
	json_decref(r->capture);
	memset(r, 0, sizeof(*r));
}
