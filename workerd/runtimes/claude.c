/* The Claude Code adapter: `claude -p` speaking stream-json on stdin and stdout.
 *
 * Claude already prints the R-1 message shapes, so lines pass through nearly unchanged: the
 * adapter attaches providerSessionState to system/init, remembers the tool_use ids of blocking
 * tools, and after the user message carrying such a tool's result it ends the turn (the
 * approval stop of T-13). The broker is given to Claude as three HTTP MCP servers in a private
 * --mcp-config file; the system prompt goes in a private file too, since it can be longer than
 * one argument may be. Claude gets workerd's environment minus the forbidden keys,
 * including HOME, so a `claude login` of the service user is used. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/jsonx.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "workerd/broker.h"
#include "workerd/env.h"
#include "workerd/files.h"
#include "workerd/proc.h"
#include "workerd/runtimes/runtime.h"
#include "workerd/turn.h"
#include "workerd/workerd.h"

extern char **environ;

static bool is_opus48(const char *model)
{
	if (strncmp(model, "anthropic/", 10) == 0)
		model += 10;
	return strcmp(model, "claude-opus-4-8") == 0 || strncmp(model, "claude-opus-4-8-", 16) == 0;
}

static int normalize(char **model, json_t *params, struct err *e)
{
	(void)e;
	if (!*model || !**model) {
		free(*model);
		*model = strdup("claude-opus-4-8");
	}
	const char *effort = jsonx_str(params, "effort");
	const char *def = is_opus48(*model) ? "xhigh" : "high";
	if (!effort || !*effort || (strcmp(effort, "xhigh") == 0 && !is_opus48(*model)))
		json_object_set_new(params, "effort",
				    json_string(effort && *effort ? "high" : def));
	const char *thinking = jsonx_str(params, "thinking");
	if (!thinking || !*thinking)
		json_object_set_new(params, "thinking", json_string("adaptive"));
	return 0;
}

struct claude_run {
	struct turn *t;
	json_t *blocking; /* tool_use id -> canonical name of blocking tools seen */
	json_t *state_in; /* the incoming provider state, for its `data` */
	bool stopped;     /* approval stop */
	bool saw_result;
};

static void note_tool_uses(struct claude_run *cr, json_t *msg)
{
	json_t *content = json_object_get(json_object_get(msg, "message"), "content");
	size_t i;
	json_t *part;
	json_array_foreach (content, i, part) {
		const char *type = jsonx_str(part, "type"), *id = jsonx_str(part, "id");
		const char *name = jsonx_str(part, "name");
		if (!type || strcmp(type, "tool_use") != 0 || !id || !name)
			continue;
		char canon[WORKERD_TOOL_NAME_MAX + 1];
		runtime_canonical_tool(name, canon, sizeof(canon));
		if (runtime_is_approval_stop(canon, NULL) ||
		    strcmp(canon, "mcp__second__present_agents") == 0)
			json_object_set_new(cr->blocking, id, json_string(canon));
	}
}

/* Whether this user message answers a blocking tool in a way that stops the turn. */
static bool answers_blocking(struct claude_run *cr, json_t *msg)
{
	json_t *content = json_object_get(json_object_get(msg, "message"), "content");
	size_t i;
	json_t *part;
	json_array_foreach (content, i, part) {
		const char *type = jsonx_str(part, "type"), *id = jsonx_str(part, "tool_use_id");
		if (!type || strcmp(type, "tool_result") != 0 || !id)
			continue;
		const char *name = jsonx_str(cr->blocking, id);
		if (name && !json_is_true(json_object_get(part, "is_error")) &&
		    runtime_is_approval_stop(name, json_object_get(part, "content")))
			return true;
	}
	return false;
}

static int on_line(void *arg, char *line, size_t len, bool truncated)
{
	struct claude_run *cr = arg;
	if (truncated) {
		log_warning("claude printed a line over %d bytes; dropped", PROC_LINE_MAX);
		return 0;
	}
	struct err e = {0};
	json_t *msg = jsonx_loadb(line, len, PROC_LINE_MAX, 256, &e);
	if (!json_is_object(msg)) {
		json_decref(msg);
		if (len > 0)
			turn_emit(cr->t,
				  json_pack("{s:s, s:s#}", "type", "tool_use_summary", "summary",
					    line, (int)(len > 2000 ? 2000 : len)));
		return 0;
	}
	const char *type = jsonx_str(msg, "type"), *sub = jsonx_str(msg, "subtype");
	type = type ? type : "";
	if (strcmp(type, "system") == 0 && sub && strcmp(sub, "init") == 0 &&
	    jsonx_str(msg, "session_id")) {
		json_t *data = json_object_get(cr->state_in, "data");
		json_object_set_new(msg, "providerSessionState",
				    json_pack("{s:s, s:s, s:O?, s:s}", "runtimeId", "claude-code",
					      "sessionId", jsonx_str(msg, "session_id"), "data",
					      json_is_string(data) ? data : NULL, "format",
					      "claude-jsonl"));
	}
	bool stop = false;
	if (strcmp(type, "assistant") == 0)
		note_tool_uses(cr, msg);
	else if (strcmp(type, "user") == 0)
		stop = answers_blocking(cr, msg);
	else if (strcmp(type, "result") == 0)
		cr->saw_result = true;
	if (turn_emit(cr->t, msg) < 0)
		return 1;
	if (stop) {
		cr->stopped = true;
		return 1;
	}
	return 0;
}

int claude_session_file(const char *cwd, const char *sid, char *dir, size_t dirsz, char *path,
			size_t pathsz)
{
	const char *home = getenv("HOME");
	if (!home || !sid || !*sid || strchr(sid, '/') || strstr(sid, ".."))
		return -1;
	char key[256];
	size_t n = 0;
	for (const char *p = cwd; *p && n < 200; p++)
		key[n++] = ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9'))
				   ? *p
				   : '-';
	key[n] = '\0';
	if (strlen(cwd) > 200) {
		/* Longer keys are cut and made unique with the Java-style hash of the path. */
		int32_t h = 0;
		for (const char *p = cwd; *p; p++)
			h = (int32_t)((uint32_t)h * 31u + (unsigned char)*p);
		uint32_t u = (uint32_t)(h < 0 ? -(int64_t)h : h);
		char b36[16];
		int k = 15;
		b36[k] = '\0';
		do {
			b36[--k] = "0123456789abcdefghijklmnopqrstuvwxyz"[u % 36];
			u /= 36;
		} while (u && k > 0);
		snprintf(key + n, sizeof(key) - n, "-%s", b36 + k);
	}
	if (snprintf(dir, dirsz, "%s/.claude/projects/%s", home, key) >= (int)dirsz ||
	    snprintf(path, pathsz, "%s/%s.jsonl", dir, sid) >= (int)pathsz)
		return -1;
	return 0;
}

/* S-7: a Claude session carried over from another host: write its JSONL where Claude looks. */
static void restore_jsonl(const struct turn_config *c)
{
	const json_t *st = c->session_state;
	const char *rid = jsonx_str(st, "runtimeId"), *sid = jsonx_str(st, "sessionId");
	const char *data = jsonx_str(st, "data");
	char dir[WORKSPACE_PATH_MAX], path[WORKSPACE_PATH_MAX];
	struct stat st_buf;
	if (!rid || strcmp(rid, "claude-code") != 0 || !data ||
	    claude_session_file(c->cwd, sid, dir, sizeof(dir), path, sizeof(path)) < 0 ||
	    stat(path, &st_buf) == 0)
		return;
	struct err e = {0};
	if (files_mkdirs(dir, &e) < 0 || runtime_write_private(path, data, strlen(data), &e) < 0)
		log_warning("cannot restore a Claude session file: %s", e.msg);
}

static char *join_tools(const json_t *allowed, bool builtins_only)
{
	static const char *const builtins[] = {"Skill", "Read", "Write",     "Edit",     "Bash",
					       "Glob",  "Grep", "WebSearch", "WebFetch", NULL};
	size_t cap = 64, len = 0;
	char *out = malloc(cap);
	if (!out)
		abort();
	out[0] = '\0';
	size_t i;
	json_t *v;
	json_array_foreach ((json_t *)allowed, i, v) {
		const char *name = json_string_value(v);
		bool builtin = false;
		for (size_t k = 0; builtins[k]; k++)
			builtin = builtin || strcmp(name, builtins[k]) == 0;
		if (builtins_only && !builtin)
			continue;
		size_t n = strlen(name);
		while (len + n + 2 > cap) {
			cap *= 2;
			out = realloc(out, cap);
			if (!out)
				abort();
		}
		if (len)
			out[len++] = ',';
		memcpy(out + len, name, n + 1);
		len += n;
	}
	return out;
}

/* Claude's own subprocess sandbox mounts over files it protects, creating empty placeholders
 * (package.json, .env, lock files, node_modules/.bin) in a workspace that lacks them. Those
 * that did not exist before the turn and are still empty after it are removed. */
static const char *const placeholders[] = {
	".env",
	".env.local",
	".env.development",
	".env.development.local",
	".env.production",
	".env.production.local",
	".env.test",
	".env.test.local",
	".gitmodules",
	".npmrc",
	".yarnrc",
	".yarnrc.yml",
	"bunfig.toml",
	"package-lock.json",
	"package.json",
	"pnpm-lock.yaml",
	"yarn.lock",
	"node_modules/.bin",
	"node_modules",
	NULL,
};

static unsigned existing_placeholders(const char *cwd)
{
	unsigned mask = 0;
	for (unsigned i = 0; placeholders[i]; i++) {
		char path[WORKSPACE_PATH_MAX];
		struct stat st;
		if (snprintf(path, sizeof(path), "%s/%s", cwd, placeholders[i]) <
			    (int)sizeof(path) &&
		    lstat(path, &st) == 0)
			mask |= 1u << i;
	}
	return mask;
}

static void remove_placeholders(const char *cwd, unsigned before)
{
	for (unsigned i = 0; placeholders[i]; i++) {
		char path[WORKSPACE_PATH_MAX];
		struct stat st;
		if ((before & (1u << i)) ||
		    snprintf(path, sizeof(path), "%s/%s", cwd, placeholders[i]) >=
			    (int)sizeof(path) ||
		    lstat(path, &st) < 0)
			continue;
		if (S_ISREG(st.st_mode) && st.st_size == 0)
			unlink(path);
		else if (S_ISDIR(st.st_mode))
			rmdir(path); /* only succeeds when empty */
	}
}

static json_t *mcp_config(const struct turn *t)
{
	json_t *servers = json_object();
	static const char *const names[] = {"second", "app_tools", "app_data", NULL};
	char auth[BROKER_TOKEN_LEN + 16];
	snprintf(auth, sizeof(auth), "Bearer %s", turn_broker_token(t));
	for (size_t i = 0; names[i]; i++) {
		char url[WORKSPACE_PATH_MAX];
		turn_mcp_url(t, names[i], url, sizeof(url));
		json_object_set_new(servers, names[i],
				    json_pack("{s:s, s:s, s:{s:s}}", "type", "http", "url", url,
					      "headers", "Authorization", auth));
	}
	return json_pack("{s:o}", "mcpServers", servers);
}

static int run(struct turn *t, struct err *e)
{
	const struct turn_config *c = turn_config(t);
	const struct workerd *w = turn_workerd(t);
	char bin[WORKSPACE_PATH_MAX], dir[WORKSPACE_PATH_MAX], prompt_file[WORKSPACE_PATH_MAX],
		mcp_file[WORKSPACE_PATH_MAX], turns[16];
	if (env_find_binary(w->claude_path, "claude", w->runtime_path, bin, sizeof(bin)) < 0)
		return err_set(e, ERR_UNAVAILABLE,
			       "Claude Code CLI was not found. Install Claude Code, run `claude "
			       "login`, or set workerd.claude_path.");
	const char *scrub_env = getenv("CLAUDE_CODE_SUBPROCESS_ENV_SCRUB");
	bool scrub = !(scrub_env && strcmp(scrub_env, "0") == 0);
	char bw[WORKSPACE_PATH_MAX];
	if (scrub && env_find_binary(NULL, "bwrap", w->runtime_path, bw, sizeof(bw)) < 0 &&
	    env_find_binary(NULL, "bubblewrap", w->runtime_path, bw, sizeof(bw)) < 0)
		return err_set(e, ERR_UNAVAILABLE,
			       "Claude Code needs bubblewrap on Linux to scrub its subprocess "
			       "environment: install bubblewrap, or set "
			       "CLAUDE_CODE_SUBPROCESS_ENV_SCRUB=0 only when workerd is isolated "
			       "otherwise.");
	if (runtime_private_dir(t, "claude-code", dir, sizeof(dir), e) < 0)
		return -1;
	if (snprintf(prompt_file, sizeof(prompt_file), "%s/system-prompt.txt", dir) >=
		    (int)sizeof(prompt_file) ||
	    snprintf(mcp_file, sizeof(mcp_file), "%s/mcp.json", dir) >= (int)sizeof(mcp_file))
		return err_set(e, ERR_TOO_LARGE, "runtime directory path too long");
	json_t *mcp = mcp_config(t);
	char *mcp_text = jsonx_dumps_compact(mcp, NULL);
	json_decref(mcp);
	int wrc = runtime_write_private(mcp_file, mcp_text, strlen(mcp_text), e);
	free(mcp_text);
	if (wrc < 0 ||
	    runtime_write_private(prompt_file, c->system_prompt, strlen(c->system_prompt), e) < 0)
		return -1;
	restore_jsonl(c);
	char *allowed = join_tools(c->allowed_tools, false);
	char *builtins = join_tools(c->allowed_tools, true);
	snprintf(turns, sizeof(turns), "%d", c->max_turns);
	const char *argv[40];
	size_t n = 0;
	argv[n++] = bin;
	argv[n++] = "-p";
	argv[n++] = "--output-format";
	argv[n++] = "stream-json";
	argv[n++] = "--input-format";
	argv[n++] = "stream-json";
	argv[n++] = "--verbose";
	argv[n++] = "--include-partial-messages";
	argv[n++] = "--model";
	argv[n++] = c->model;
	argv[n++] = "--max-turns";
	argv[n++] = turns;
	if (*c->system_prompt) {
		argv[n++] = "--system-prompt-file";
		argv[n++] = prompt_file;
	}
	argv[n++] = "--allowedTools";
	argv[n++] = allowed;
	argv[n++] = "--tools";
	argv[n++] = builtins;
	argv[n++] = "--mcp-config";
	argv[n++] = mcp_file;
	argv[n++] = "--strict-mcp-config";
	argv[n++] = "--setting-sources";
	argv[n++] = "project";
	const char *effort = jsonx_str(c->params, "effort");
	if (effort && *effort) {
		argv[n++] = "--effort";
		argv[n++] = effort;
	}
	const char *sid = jsonx_str(c->session_state, "sessionId");
	const char *srt = jsonx_str(c->session_state, "runtimeId");
	char sdir[WORKSPACE_PATH_MAX], sfile[WORKSPACE_PATH_MAX];
	struct stat sst;
	if (sid && *sid && srt && strcmp(srt, "claude-code") == 0) {
		/* Claude does not always keep a session it was interrupted in (an approval stop):
		 * without its file a resume would fail, so the turn starts a new session, and the
		 * caller's transcript carries the conversation. */
		if (claude_session_file(c->cwd, sid, sdir, sizeof(sdir), sfile, sizeof(sfile)) ==
			    0 &&
		    stat(sfile, &sst) == 0) {
			argv[n++] = "--resume";
			argv[n++] = sid;
		} else {
			log_notice("Claude session %s has no file here; starting a new session",
				   sid);
		}
	}
	argv[n] = NULL;

	struct env_list env = {0};
	env_from_blocklist(&env, environ);
	env_set(&env, "PATH", w->runtime_path);
	env_set(&env, "CLAUDE_CODE_SUBPROCESS_ENV_SCRUB", scrub ? "1" : "0");
	env_set(&env, "SECOND_MCP_TOKEN", turn_broker_token(t));
	char tool_timeout[32];
	snprintf(tool_timeout, sizeof(tool_timeout), "%d", RUNTIME_TOOL_TIMEOUT_S * 1000);
	env_set(&env, "MCP_TOOL_TIMEOUT", tool_timeout);
	/* Claude keeps its sessions in ~/.claude and rewrites ~/.claude.json by rename, so the
	 * service user's home (a dedicated one under systemd) stays writable in the sandbox. */
	const char *home = getenv("HOME") ? getenv("HOME") : "/nonexistent";
	const char *rw[] = {home, dir, NULL};
	struct proc *p = NULL;
	unsigned before = existing_placeholders(c->cwd);
	int rc = runtime_spawn(t, argv, env_finish(&env), rw, true, &p, e);
	env_free(&env);
	free(allowed);
	free(builtins);
	if (rc < 0)
		return -1;
	json_t *input = json_pack("{s:s, s:{s:s, s:[{s:s, s:s}]}}", "type", "user", "message",
				  "role", "user", "content", "type", "text", "text", c->prompt);
	char *in = jsonx_dumps_compact(input, NULL);
	json_decref(input);
	size_t inlen = strlen(in);
	in = realloc(in, inlen + 2);
	in[inlen++] = '\n';
	proc_write(p, in, inlen);
	free(in);
	proc_close_stdin(p);
	struct claude_run cr = {.t = t, .blocking = json_object(), .state_in = c->session_state};
	proc_read_lines(p, on_line, &cr);
	json_decref(cr.blocking);
	rc = runtime_finish(t, p, cr.stopped, "claude", "Claude stderr", e);
	remove_placeholders(c->cwd, before);
	return rc;
}

const struct runtime runtime_claude = {
	.id = "claude-code",
	.binary = "claude",
	.normalize = normalize,
	.run = run,
};
