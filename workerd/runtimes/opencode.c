/* The OpenCode adapter: one `opencode run --format json` per turn.
 *
 * Every turn runs in a private home (the runtime dir: HOME, XDG config/data/state/cache)
 * holding an opencode.json written for the turn: the user's `provider` object
 * mirrored from their own configuration, the model, the broker as remote MCP servers with the
 * turn's bearer token, and the `second-builder` agent carrying the system prompt and the
 * allowed tools; outside production the service user's OpenCode login may be copied in
 * . The environment is the allow-list of plus the provider's credential
 * variables. The prompt goes to the CLI's stdin: given as an argument, OpenCode wraps
 * a prompt containing spaces in literal double quotes, and an argument is limited to 128 KiB.
 * Every stdout line goes through opencode-map.c; the turn stops early on an approval stop or
 * an error event. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/config.h"
#include "lib/jsonx.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "workerd/env.h"
#include "workerd/files.h"
#include "workerd/proc.h"
#include "workerd/runtimes/opencode-map.h"
#include "workerd/runtimes/runtime.h"
#include "workerd/turn.h"
#include "workerd/workerd.h"

extern char **environ;

/* model openai/gpt-5.5 by default; variant trimmed, `auto` by default. */
static int normalize(char **model, json_t *params, struct err *e)
{
	(void)e;
	if (!*model || !**model) {
		free(*model);
		if (!(*model = strdup("openai/gpt-5.5")))
			abort();
	}
	const char *v = jsonx_str(params, "variant");
	v = v ? v : "";
	while (isspace((unsigned char)*v))
		v++;
	size_t n = strlen(v);
	while (n > 0 && isspace((unsigned char)v[n - 1]))
		n--;
	json_object_set_new(params, "variant", n ? json_stringn(v, n) : json_string("auto"));
	return 0;
}

/* Reads a whole small file; NULL with *missing set when it does not exist. malloc'd. */
static char *read_file(const char *path, size_t max, size_t *len, bool *missing, struct err *e)
{
	*missing = false;
	FILE *f = fopen(path, "rb");
	if (!f) {
		*missing = errno == ENOENT;
		err_set(e, ERR_IO, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	char *buf = malloc(max + 1);
	if (!buf)
		abort();
	*len = fread(buf, 1, max + 1, f);
	bool bad = ferror(f) || *len > max;
	fclose(f);
	if (bad) {
		free(buf);
		err_set(e, ERR_TOO_LARGE, "cannot read %s: unreadable or over %d bytes", path,
			OPENCODE_USER_CONFIG_MAX);
		return NULL;
	}
	buf[*len] = '\0';
	return buf;
}

static int merge_file(json_t **provider, const char *path, bool required, struct err *e)
{
	size_t len = 0;
	bool missing = false;
	char *text = read_file(path, OPENCODE_USER_CONFIG_MAX, &len, &missing, e);
	if (!text)
		return missing && !required ? 0 : -1;
	struct err pe = {0};
	int rc = opencode_provider_merge(provider, text, len, &pe);
	free(text);
	if (rc < 0)
		return err_set(e, ERR_INVALID, "OpenCode configuration %s: %s", path, pe.msg);
	return 0;
}

/* the user's `provider` objects, deep-merged: the global configuration, then
 * workerd.opencode_config_file (or $OPENCODE_CONFIG), then $OPENCODE_CONFIG_CONTENT. */
static int mirrored_provider(const struct workerd *w, json_t **provider, struct err *e)
{
	char path[WORKSPACE_PATH_MAX];
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	if ((xdg && *xdg) || (home && *home)) {
		static const char *const names[] = {"opencode.json", "opencode.jsonc"};
		for (size_t i = 0; i < 2; i++) {
			if (xdg && *xdg)
				snprintf(path, sizeof(path), "%s/opencode/%s", xdg, names[i]);
			else
				snprintf(path, sizeof(path), "%s/.config/opencode/%s", home,
					 names[i]);
			if (merge_file(provider, path, false, e) < 0)
				return -1;
		}
	}
	const char *file = config_str(w->cfg, "workerd.opencode_config_file");
	if (!file || !*file)
		file = getenv("OPENCODE_CONFIG");
	if (file && *file && merge_file(provider, file, true, e) < 0)
		return -1;
	const char *content = getenv("OPENCODE_CONFIG_CONTENT");
	struct err pe = {0};
	if (content && *content &&
	    opencode_provider_merge(provider, content, strlen(content), &pe) < 0)
		return err_set(e, ERR_INVALID, "OPENCODE_CONFIG_CONTENT: %s", pe.msg);
	return 0;
}

/* an `opencode auth login` of the service user, copied into the private data dir when
 * the provider has no key in the environment and local auth is allowed. Failures only mean
 * OpenCode finds no credentials. */
static void seed_local_auth(const struct workerd *w, const char *provider, const char *dir)
{
	const char *mode = config_str(w->cfg, "workerd.opencode_local_auth");
	if (!mode || strcmp(mode, "off") == 0 || (strcmp(mode, "auto") == 0 && w->production))
		return;
	for (const char *const *k = opencode_auth_keys(provider); *k; k++)
		if (getenv(*k) && *getenv(*k))
			return;
	const char *data = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	char src[WORKSPACE_PATH_MAX], dst[WORKSPACE_PATH_MAX];
	if (data && *data)
		snprintf(src, sizeof(src), "%s/opencode/auth.json", data);
	else if (home && *home)
		snprintf(src, sizeof(src), "%s/.local/share/opencode/auth.json", home);
	else
		return;
	if (snprintf(dst, sizeof(dst), "%s/.local/share/opencode", dir) >= (int)sizeof(dst))
		return;
	size_t len = 0;
	bool missing = false;
	struct err e = {0};
	char *text = read_file(src, OPENCODE_USER_CONFIG_MAX, &len, &missing, &e);
	if (!text)
		return;
	if (files_mkdirs(dst, &e) < 0 ||
	    snprintf(dst, sizeof(dst), "%s/.local/share/opencode/auth.json", dir) >=
		    (int)sizeof(dst) ||
	    runtime_write_private(dst, text, len, &e) < 0)
		log_warning("cannot seed OpenCode auth: %s", e.msg);
	free(text);
}

/* Writes <dir>/opencode.json for the turn. */
static int write_config(struct turn *t, const char *path, const json_t *provider, struct err *e)
{
	const struct turn_config *c = turn_config(t);
	char urls[3][WORKSPACE_PATH_MAX];
	struct opencode_config_in in = {
		.model = c->model,
		.system_prompt = c->system_prompt,
		.allowed_tools = c->allowed_tools,
		.provider = provider,
		.token = turn_broker_token(t),
	};
	for (size_t i = 0; i < 3; i++) {
		turn_mcp_url(t, opencode_namespaces[i], urls[i], sizeof(urls[i]));
		in.mcp_url[i] = urls[i];
	}
	json_t *cfg = opencode_config_new(&in);
	char *text = jsonx_dumps_compact(cfg, NULL);
	json_decref(cfg);
	int rc = runtime_write_private(path, text, strlen(text), e);
	free(text);
	return rc;
}

/* the allow-list, the credentials and `{env:NAME}` references of `prov` (the model's
 * provider), and the private home. `provider` is the mirrored object (may be NULL). */
static void build_env(struct env_list *env, const struct workerd *w, const char *prov,
		      const json_t *provider, const char *dir, const char *token)
{
	char buf[WORKSPACE_PATH_MAX + 32];
	env_from_allowlist(env, environ);
	for (const char *const *k = opencode_auth_keys(prov); *k; k++)
		env_copy(env, environ, *k);
	json_t *refs = json_array();
	opencode_env_refs(json_object_get(provider, prov), refs);
	size_t i;
	json_t *v;
	json_array_foreach (refs, i, v) {
		const char *name = json_string_value(v);
		if (!env_is_forbidden(name) && !env_get(env, name))
			env_copy(env, environ, name);
	}
	json_decref(refs);
	env_set(env, "PATH", w->runtime_path);
	env_set(env, "HOME", dir);
	env_set(env, "XDG_CONFIG_HOME", dir);
	static const struct {
		const char *key, *sub;
	} xdg[] = {
		{"XDG_DATA_HOME", ".local/share"},
		{"XDG_STATE_HOME", ".local/state"},
		{"XDG_CACHE_HOME", ".cache"},
		{"OPENCODE_CONFIG", "opencode.json"},
	};
	for (size_t k = 0; k < sizeof(xdg) / sizeof(xdg[0]); k++) {
		snprintf(buf, sizeof(buf), "%s/%s", dir, xdg[k].sub);
		env_set(env, xdg[k].key, buf);
	}
	env_set(env, "OPENCODE_CONFIG_DIR", dir);
	env_set(env, "OPENCODE_DISABLE_AUTOUPDATE", "1");
	env_set(env, "SECOND_MCP_TOKEN", token);
}

static int emit(void *arg, json_t *msg)
{
	return turn_emit(arg, msg);
}

static int on_line(void *arg, char *line, size_t len, bool truncated)
{
	struct opencode_map *map = arg;
	if (truncated) {
		log_warning("opencode printed a line over %d bytes; dropped", PROC_LINE_MAX);
		return 0;
	}
	return opencode_map_feed(map, line, len) != OPENCODE_RUNNING;
}

static int prepare_dirs(const char *dir, char *cfg_path, size_t cfgsz, struct err *e)
{
	static const char *const subs[] = {".local/share", ".local/state", ".cache"};
	char sub[WORKSPACE_PATH_MAX];
	for (size_t i = 0; i < 3; i++) {
		if (snprintf(sub, sizeof(sub), "%s/%s", dir, subs[i]) >= (int)sizeof(sub))
			return err_set(e, ERR_TOO_LARGE, "runtime directory path too long");
		if (files_mkdirs(sub, e) < 0)
			return -1;
	}
	if (snprintf(cfg_path, cfgsz, "%s/opencode.json", dir) >= (int)cfgsz)
		return err_set(e, ERR_TOO_LARGE, "runtime directory path too long");
	return 0;
}

/* argv's strings are borrowed from c and bin. */
static void build_argv(const struct turn_config *c, const char *bin, const char **argv)
{
	size_t n = 0;
	argv[n++] = bin;
	argv[n++] = "run";
	argv[n++] = "--format";
	argv[n++] = "json";
	argv[n++] = "--model";
	argv[n++] = c->model;
	const char *variant = jsonx_str(c->params, "variant");
	if (variant && *variant && strcmp(variant, "auto") != 0) {
		argv[n++] = "--variant";
		argv[n++] = variant;
	}
	argv[n++] = "--agent";
	argv[n++] = "second-builder";
	const char *sid = jsonx_str(c->session_state, "sessionId");
	const char *srt = jsonx_str(c->session_state, "runtimeId");
	if (srt && strcmp(srt, "opencode") == 0 && opencode_session_id_valid(sid)) {
		argv[n++] = "--session";
		argv[n++] = sid;
	} else {
		/* A title of our own spares the model request that would make one up. */
		argv[n++] = "--title";
		argv[n++] = c->app_id;
	}
	argv[n] = NULL;
}

static int run(struct turn *t, struct err *e)
{
	const struct turn_config *c = turn_config(t);
	const struct workerd *w = turn_workerd(t);
	char bin[WORKSPACE_PATH_MAX], dir[WORKSPACE_PATH_MAX], cfg_path[WORKSPACE_PATH_MAX];
	if (env_find_binary(w->opencode_path, "opencode", w->runtime_path, bin, sizeof(bin)) < 0)
		return err_set(e, ERR_UNAVAILABLE,
			       "OpenCode CLI was not found. Install OpenCode (npm install -g "
			       "opencode-ai) or set workerd.opencode_path.");
	if (runtime_private_dir(t, "opencode", dir, sizeof(dir), e) < 0 ||
	    prepare_dirs(dir, cfg_path, sizeof(cfg_path), e) < 0)
		return -1;
	json_t *provider = NULL;
	if (mirrored_provider(w, &provider, e) < 0 || write_config(t, cfg_path, provider, e) < 0) {
		json_decref(provider);
		return -1;
	}
	char prov[128];
	size_t pl = strcspn(c->model, "/");
	snprintf(prov, sizeof(prov), "%.*s", (int)(pl < sizeof(prov) ? pl : sizeof(prov) - 1),
		 c->model);
	seed_local_auth(w, prov, dir);
	const char *argv[24];
	build_argv(c, bin, argv);
	struct env_list env = {0};
	build_env(&env, w, prov, provider, dir, turn_broker_token(t));
	json_decref(provider);
	const char *rw[] = {dir, NULL};
	struct proc *p = NULL;
	int rc = runtime_spawn(t, argv, env_finish(&env), rw, true, &p, e);
	env_free(&env);
	if (rc < 0)
		return -1;
	/* OpenCode reads all of stdin before it starts; -1 means it is already gone, which
	 * runtime_finish reports. */
	if (proc_write(p, c->prompt, strlen(c->prompt)) < 0)
		log_warning("opencode closed its stdin before reading the prompt");
	proc_close_stdin(p);
	struct opencode_map *map = opencode_map_new(c->model, emit, t);
	proc_read_lines(p, on_line, map);
	enum opencode_state st = opencode_map_state(map);
	bool failed = st == OPENCODE_FAILED && !turn_cancelled(t);
	rc = runtime_finish(t, p, st != OPENCODE_RUNNING, "opencode", "OpenCode stderr", e);
	opencode_map_finish(map, failed || rc < 0);
	if (failed) {
		err_set(e, ERR_IO, "%s", opencode_map_error(map));
		turn_fail(t, "%s", opencode_map_error(map));
		rc = -1;
	}
	opencode_map_free(map);
	return rc;
}

const struct runtime runtime_opencode = {
	.id = "opencode",
	.binary = "opencode",
	.normalize = normalize,
	.run = run,
};
