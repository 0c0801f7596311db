/* The OpenCode adapter's pure parts: `opencode run --format json` lines in, R-1 messages out,
 * and the private opencode.json it runs with.
 *
 * An opencode_map holds one turn's normalization: every stdout line goes to
 * opencode_map_feed, every normalized message leaves through the `emit` callback, and
 * opencode_map_finish emits the turn's one `result` (the tokens and cost of every finished
 * step, summed: U-4) and the final system/init. It never touches a process, so the unit test
 * drives it from the captured fixtures. The other helpers build the configuration and
 * the lists the environment needs from plain JSON values. */
#ifndef SECOND_WORKERD_OPENCODE_MAP_H
#define SECOND_WORKERD_OPENCODE_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "lib/err.h"

enum opencode_state {
	OPENCODE_RUNNING,
	OPENCODE_STOPPED, /* an approval stop (T-13): end the process, the turn ends normally */
	OPENCODE_FAILED,  /* an error event, or emit refused: opencode_map_error() says why */
};

/* Steals msg. Returns -1 when the turn takes no more (cancelled). */
typedef int (*opencode_emit_fn)(void *arg, json_t *msg);

struct opencode_map;

/* A new map for a turn on `model` (the modelUsage key, copied). Owned by the caller. */
struct opencode_map *opencode_map_new(const char *model, opencode_emit_fn emit, void *arg);
void opencode_map_free(struct opencode_map *m); /* accepts NULL */
/* One stdout line (without the newline). Lines after a stop or failure are ignored. */
enum opencode_state opencode_map_feed(struct opencode_map *m, const char *line, size_t len);
/* The end of the turn, however it ended: the summed `result` when at least one step
 * finished (subtype "success", or "error_during_execution" when `failed`), then a final
 * system/init when a session id is known. */
void opencode_map_finish(struct opencode_map *m, bool failed);
enum opencode_state opencode_map_state(const struct opencode_map *m);
const char *opencode_map_error(const struct opencode_map *m);   /* "" unless failed */
const char *opencode_map_session(const struct opencode_map *m); /* NULL until seen */

/* a message safe for the client from an OpenCode error value (object or string):
 * secret-like keys skipped, sk-… and AKIA… redacted, at most OPENCODE_ERROR_MAX bytes,
 * prefixed with the error's name and status code. */
void opencode_safe_error(const json_t *error, char *buf, size_t bufsz);

/* What the private opencode.json is built from. Borrowed. */
struct opencode_config_in {
	const char *model;
	const char *system_prompt;
	const json_t *allowed_tools; /* canonical names, or NULL: every tool */
	const json_t *provider;      /* the mirrored user `provider` object, or NULL */
	/* The broker URL of each namespace, in the order of opencode_namespaces. */
	const char *mcp_url[3];
	const char *token; /* the broker's bearer token */
};
extern const char *const opencode_namespaces[3]; /* second, app_tools, app_data */

/* the whole configuration (new reference). */
json_t *opencode_config_new(const struct opencode_config_in *in);
/* Whether the allow-list uses the MCP namespace (or there is no list). */
bool opencode_namespace_used(const json_t *allowed_tools, const char *ns);

/* Deep-merges the `provider` object of one user configuration file (JSON with comments and
 * trailing commas allowed) into *provider (created when NULL). A file without `provider` adds
 * nothing. -1 with e set when the text does not parse. */
int opencode_provider_merge(json_t **provider, const char *text, size_t len, struct err *e);
/* Appends to `names` (an array) every NAME of an `{env:NAME}` reference found in the strings
 * of `v`, once each. */
void opencode_env_refs(const json_t *v, json_t *names);
/* the environment keys holding credentials of `provider` (the model's prefix), a
 * NULL-terminated list (empty for an unknown provider). */
const char *const *opencode_auth_keys(const char *provider);
/* Whether a stored session id is safe to pass to --session. */
bool opencode_session_id_valid(const char *id);

#endif
