/* The environment a runtime CLI gets and where its binary is found.
 *
 * A list is built from workerd's own environment by one of two policies (Claude: everything
 * but the forbidden keys; Codex and OpenCode: an allow-list), then per-runtime variables are
 * set on top, and env_finish drops the forbidden keys once more, so no policy and no caller can
 * let the internal token or a store URL through. */
#include <config.h>

#include "workerd/env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* R-5, plus every SECOND_* setting of workerd itself (its configuration holds the internal
 * token and the store and Redis URLs) except the per-turn MCP token. */
static const char *const forbidden[] = {
	"INTERNAL_API_TOKEN",     "MONGODB_URI",      "REDIS_URL",     "WORKOS_API_KEY",
	"WORKOS_COOKIE_PASSWORD", "TOOL_EXECUTE_URL", "WEB_URL",       "WORKER_URL",
	"SECOND_INTERNAL_TOKEN",  "COOKIE",           "AUTHORIZATION", "HTTP_COOKIE",
	"HTTP_AUTHORIZATION",     "LISTEN_FDS",       "LISTEN_PID",    "LISTEN_FDNAMES",
	"NOTIFY_SOCKET",
};

static const char *const allowed[] = {
	"PATH", "HOME", "USER", "LOGNAME", "SHELL",    "TMPDIR",
	"TMP",  "TEMP", "LANG", "LC_ALL",  "LC_CTYPE", "TERM",
};

bool env_is_forbidden(const char *key)
{
	for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++)
		if (strcasecmp(key, forbidden[i]) == 0)
			return true;
	if (strncmp(key, "SECOND_", 7) == 0 && strcmp(key, "SECOND_MCP_TOKEN") != 0)
		return true;
	return false;
}

static size_t key_len(const char *kv)
{
	const char *eq = strchr(kv, '=');
	return eq ? (size_t)(eq - kv) : strlen(kv);
}

static ssize_t find(const struct env_list *l, const char *key, size_t klen)
{
	for (size_t i = 0; i < l->n; i++)
		if (key_len(l->v[i]) == klen && strncmp(l->v[i], key, klen) == 0)
			return (ssize_t)i;
	return -1;
}

static void push(struct env_list *l, char *kv)
{
	if (l->n + 2 > l->cap) {
		l->cap = l->cap ? l->cap * 2 : 32;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v)
			abort();
	}
	l->v[l->n++] = kv;
	l->v[l->n] = NULL;
}

static void put(struct env_list *l, const char *kv)
{
	char *copy = strdup(kv);
	if (!copy)
		abort();
	ssize_t at = find(l, kv, key_len(kv));
	if (at >= 0) {
		free(l->v[at]);
		l->v[at] = copy;
	} else {
		push(l, copy);
	}
}

void env_from_blocklist(struct env_list *l, char *const *from)
{
	char key[256];
	for (; from && *from; from++) {
		size_t k = key_len(*from);
		if (k == 0 || k >= sizeof(key) || !strchr(*from, '='))
			continue;
		memcpy(key, *from, k);
		key[k] = '\0';
		if (!env_is_forbidden(key))
			put(l, *from);
	}
}

void env_from_allowlist(struct env_list *l, char *const *from)
{
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		env_copy(l, from, allowed[i]);
}

void env_set(struct env_list *l, const char *key, const char *value)
{
	char *kv = NULL;
	if (asprintf(&kv, "%s=%s", key, value) < 0)
		abort();
	ssize_t at = find(l, key, strlen(key));
	if (at >= 0) {
		free(l->v[at]);
		l->v[at] = kv;
	} else {
		push(l, kv);
	}
}

void env_copy(struct env_list *l, char *const *from, const char *key)
{
	size_t k = strlen(key);
	for (; from && *from; from++)
		if (strncmp(*from, key, k) == 0 && (*from)[k] == '=') {
			put(l, *from);
			return;
		}
}

const char *env_get(const struct env_list *l, const char *key)
{
	ssize_t at = find(l, key, strlen(key));
	return at >= 0 ? l->v[at] + strlen(key) + 1 : NULL;
}

char *const *env_finish(struct env_list *l)
{
	char key[256];
	size_t out = 0;
	for (size_t i = 0; i < l->n; i++) {
		size_t k = key_len(l->v[i]);
		if (k < sizeof(key)) {
			memcpy(key, l->v[i], k);
			key[k] = '\0';
		}
		if (k >= sizeof(key) || env_is_forbidden(key)) {
			free(l->v[i]);
			continue;
		}
		l->v[out++] = l->v[i];
	}
	l->n = out;
	if (!l->v)
		push(l, NULL), l->n = 0;
	l->v[l->n] = NULL;
	return l->v;
}

void env_free(struct env_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static bool executable(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int env_find_binary(const char *explicit_path, const char *name, const char *search_path, char *buf,
		    size_t bufsz)
{
	if (explicit_path && *explicit_path) {
		if (explicit_path[0] != '/' || !executable(explicit_path))
			return -1;
		return snprintf(buf, bufsz, "%s", explicit_path) < (int)bufsz ? 0 : -1;
	}
	const char *p = search_path ? search_path : "";
	while (*p) {
		const char *colon = strchr(p, ':');
		size_t n = colon ? (size_t)(colon - p) : strlen(p);
		if (n > 0 && p[0] == '/') {
			int w = snprintf(buf, bufsz, "%.*s/%s", (int)n, p, name);
			if (w > 0 && (size_t)w < bufsz && executable(buf))
				return 0;
		}
		p += n;
		if (*p == ':')
			p++;
	}
	return -1;
}
