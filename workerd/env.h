/* The environment a runtime CLI gets, and where its binary is found.
 *
 * An env_list is a growable NULL-terminated "KEY=value" array. The forbidden keys (the
 * internal token, store and Redis URLs, every SECOND_* setting of workerd but SECOND_MCP_TOKEN,
 * cookies, authorization) never survive env_finish, whatever list built it. */
#ifndef SECOND_WORKERD_ENV_H
#define SECOND_WORKERD_ENV_H

#include <stdbool.h>
#include <stddef.h>

struct env_list {
	char **v; /* NULL-terminated */
	size_t n, cap;
};

/* Everything from `from` (environ) except the forbidden keys: Claude's blocklist policy. */
void env_from_blocklist(struct env_list *l, char *const *from);
/* Only the allow-listed keys of R-3.5 (PATH, HOME, USER, LOGNAME, SHELL, TMPDIR, TMP, TEMP,
 * LANG, LC_ALL, LC_CTYPE, TERM) from `from`. */
void env_from_allowlist(struct env_list *l, char *const *from);
/* Sets (replaces) one variable. */
void env_set(struct env_list *l, const char *key, const char *value);
/* Copies one variable from `from` when present there. */
void env_copy(struct env_list *l, char *const *from, const char *key);
const char *env_get(const struct env_list *l, const char *key);
/* Removes every forbidden key; returns the NULL-terminated array (owned by l). */
char *const *env_finish(struct env_list *l);
void env_free(struct env_list *l);
bool env_is_forbidden(const char *key); /* key without "=value" */

/* Resolves a runtime binary: `explicit_path` when non-empty (must be executable, no
 * fallback), else the first executable `name` in `search_path` (colon-separated). Writes the
 * absolute path to buf; returns 0, or -1 when not found. */
int env_find_binary(const char *explicit_path, const char *name, const char *search_path, char *buf,
		    size_t bufsz);

#endif
