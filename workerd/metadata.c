/* W-12: a name and a description for a new app, written by a throwaway agent turn.
 *
 * The turn runs in its own disposable directory (<root>/<appId>__metadata__<base36 ms>, always
 * removed afterwards) with one tool, set_app_metadata, and two model turns at most. The answer
 * is what the tool captured; failing that, the tool call's input; failing that, JSON or
 * "name:"/"description:" lines in the agent's text. */
#include <config.h>

#include <ctype.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/jsonx.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/timeutil.h"
#include "workerd/files.h"
#include "workerd/metadata.h"
#include "workerd/runtimes/runtime.h"
#include "workerd/turn.h"
#include "workerd/workerd.h"

static const char instructions[] =
	"You name internal apps. Read the request below and call the tool set_app_metadata "
	"exactly once with a short, specific app name (2 to 80 characters, no quotes) and a "
	"one-sentence description (2 to 300 characters) of what the app does for its users. Do "
	"not build anything and do not ask questions.";

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

/* Whitespace collapsed, cut to max characters (UTF-8 aware), new string or NULL if short. */
static char *clean(const char *s, size_t min, size_t max)
{
	if (!s)
		return NULL;
	size_t len = strlen(s), o = 0, chars = 0;
	char *out = malloc(len + 1);
	if (!out)
		abort();
	bool space = false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isspace(*p)) {
			space = o > 0;
			continue;
		}
		if ((*p & 0xC0) != 0x80) {
			if (chars + (space ? 1 : 0) >= max)
				break;
			if (space) {
				out[o++] = ' ';
				chars++;
			}
			chars++;
			space = false;
		}
		out[o++] = (char)*p;
	}
	out[o] = '\0';
	if (chars < min) {
		free(out);
		return NULL;
	}
	return out;
}

static json_t *answer(const char *name, const char *desc)
{
	char *n = clean(name, 2, 80), *d = clean(desc, 2, 300);
	json_t *r = n && d ? json_pack("{s:s, s:s}", "name", n, "description", d) : NULL;
	free(n);
	free(d);
	return r;
}

/* "name: X" and "description: Y" lines, or a JSON object, in the agent's text. */
static json_t *from_text(const char *text)
{
	const char *brace = strchr(text, '{');
	if (brace) {
		json_error_t je;
		json_t *v = json_loads(brace, JSON_DISABLE_EOF_CHECK, &je);
		json_t *r = v ? answer(jsonx_str(v, "name"), jsonx_str(v, "description")) : NULL;
		json_decref(v);
		if (r)
			return r;
	}
	char name[512] = "", desc[1024] = "";
	for (const char *line = text; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);
		if (n > 5 && strncasecmp(line, "name:", 5) == 0)
			snprintf(name, sizeof(name), "%.*s", (int)(n - 5), line + 5);
		else if (n > 12 && strncasecmp(line, "description:", 12) == 0)
			snprintf(desc, sizeof(desc), "%.*s", (int)(n - 12), line + 12);
		line = end ? end + 1 : NULL;
	}
	return answer(name, desc);
}

/* Reads the turn's frames to the end, remembering the tool call's input and the text. */
static json_t *drain(struct turn *t, char **text)
{
	json_t *input = NULL;
	size_t cap = 1024, len = 0;
	*text = calloc(1, cap);
	if (!*text)
		abort();
	for (;;) {
		char *frame = NULL;
		size_t flen = 0;
		int r = turn_next(t, 1000, &frame, &flen);
		if (r < 0)
			break;
		if (r == 0)
			continue;
		json_error_t je;
		json_t *msg = flen > 8 ? json_loadb(frame + 6, flen - 8, 0, &je) : NULL;
		free(frame);
		json_t *content = json_object_get(json_object_get(msg, "message"), "content");
		size_t i;
		json_t *part;
		json_array_foreach (content, i, part) {
			const char *type = jsonx_str(part, "type"), *name = jsonx_str(part, "name");
			const char *pt = jsonx_str(part, "text");
			if (type && strcmp(type, "tool_use") == 0 && name &&
			    strstr(name, "set_app_metadata") && !input)
				input = json_incref(json_object_get(part, "input"));
			if (type && strcmp(type, "text") == 0 && pt &&
			    strcmp(jsonx_str(msg, "type"), "assistant") == 0) {
				size_t n = strlen(pt);
				if (len + n + 2 > cap && len + n + 2 < 65536) {
					cap = len + n + 2;
					*text = realloc(*text, cap);
					if (!*text)
						abort();
				}
				if (len + n + 2 <= cap) {
					memcpy(*text + len, pt, n);
					len += n;
					(*text)[len++] = '\n';
					(*text)[len] = '\0';
				}
			}
		}
		json_decref(msg);
	}
	return input;
}

int metadata_generate(struct workerd *w, const char *app_id, const json_t *body, json_t **out,
		      const char **code, struct err *e)
{
	const char *prompt = jsonx_str(body, "prompt"), *rid = jsonx_str(body, "runtimeId");
	const char *model = jsonx_str(body, "runtimeModel");
	json_t *params = json_object_get(body, "runtimeParams");
	*code = "invalid_metadata_request";
	if (!prompt || !*prompt || !rid || !model || !*model || !json_is_object(params))
		return err_set(e, ERR_INVALID,
			       "prompt, runtimeId, runtimeModel and runtimeParams "
			       "are required");
	const struct runtime *rt = runtime_find(rid);
	struct turn_config c = {0};
	*code = "invalid_runtime_settings";
	c.model = strdup(model);
	c.params = json_deep_copy(params);
	if (!rt || rt->normalize(&c.model, c.params, e) < 0) {
		turn_config_free(&c);
		return rt ? -1 : err_set(e, ERR_INVALID, "unknown runtimeId");
	}
	char dir[WORKSPACE_PATH_MAX], b36[16], key[WORKERD_APP_ID_MAX + 16];
	uint64_t ms = (uint64_t)time_now_ms();
	int k = 15;
	b36[k] = '\0';
	do {
		b36[--k] = "0123456789abcdefghijklmnopqrstuvwxyz"[ms % 36];
		ms /= 36;
	} while (ms && k > 0);
	snprintf(key, sizeof(key), "%s__metadata", app_id);
	if (snprintf(dir, sizeof(dir), "%s/%s__metadata__%s", w->workspaces_dir, app_id, b36 + k) >=
		    (int)sizeof(dir) ||
	    files_mkdirs(dir, e) < 0) {
		turn_config_free(&c);
		*code = "metadata_generation_failed";
		return -1;
	}
	char *full = NULL;
	if (asprintf(&full, "%s\n\nRequest:\n%.*s", instructions, METADATA_PROMPT_MAX, prompt) < 0)
		abort();
	c.app_id = strdup(key);
	c.runtime_id = strdup(rt->id);
	c.mode = strdup("builder");
	c.prompt = full;
	c.system_prompt = strdup(instructions);
	c.cwd = strdup(dir);
	c.allowed_tools = json_pack("[s]", "mcp__second__set_app_metadata");
	c.max_turns = 2;
	c.context = json_object();
	struct turn *t = turn_new(w, &c);
	json_t *r = NULL;
	if (turn_start(t, NULL, NULL, e) == 0) {
		char *text = NULL;
		json_t *input = drain(t, &text);
		json_t *cap = turn_captured(t);
		r = cap ? answer(jsonx_str(cap, "name"), jsonx_str(cap, "description")) : NULL;
		if (!r && input)
			r = answer(jsonx_str(input, "name"), jsonx_str(input, "description"));
		if (!r)
			r = from_text(text);
		json_decref(cap);
		json_decref(input);
		free(text);
	}
	turn_release(t);
	/* Only a directory under the root carrying the marker is ever removed. */
	if (strncmp(dir, w->workspaces_dir, strlen(w->workspaces_dir)) == 0 &&
	    strstr(dir, "__metadata__"))
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (!r) {
		*code = "metadata_generation_failed";
		return err_set(e, ERR_UNAVAILABLE,
			       "the agent did not produce a name and description");
	}
	*out = r;
	return 0;
}
