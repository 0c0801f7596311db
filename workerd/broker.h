/* The scoped MCP broker (T-14): JSON-RPC 2.0 over HTTP POST for the runtime CLIs.
 *
 * Each turn opens one broker session: a random UUIDv4 id, a 256-bit bearer token (base64url),
 * the turn's tool allow-list and its tool context. The runtime reaches the broker at
 * POST <workerd.mcp_url>/mcp/<id>?server=<second|app_tools|app_data> with
 * "Authorization: Bearer <token>"; tools/list shows only allowed tools and tools/call refuses
 * the rest. Sessions live in memory, expire after BROKER_SESSION_TTL_S, and are closed when
 * their turn ends. Thread-safe. */
#ifndef SECOND_WORKERD_BROKER_H
#define SECOND_WORKERD_BROKER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lib/err.h"

#define BROKER_ID_LEN 36    /* UUIDv4 text */
#define BROKER_TOKEN_LEN 43 /* 32 bytes, base64url without padding */

struct workerd;
struct broker;

struct broker *broker_new(struct workerd *w);
void broker_free(struct broker *b); /* accepts NULL */

/* Opens a session. `allowed_tools` (canonical names; NULL = every tool) and `context` (an
 * object: cwd, appId, workspaceId, runId, appName, requestedByUserId, requestedByUserName,
 * agentConfig) are copied. Writes the id and token (NUL-terminated). */
int broker_open(struct broker *b, const char *runtime_id, const json_t *allowed_tools,
		const json_t *context, char id[BROKER_ID_LEN + 1], char token[BROKER_TOKEN_LEN + 1],
		struct err *e) __attribute__((warn_unused_result));
void broker_close(struct broker *b, const char *id);
/* What set_app_metadata captured in this session ({name, description}), new ref or NULL. */
json_t *broker_captured(struct broker *b, const char *id);

/* Handles one POST /mcp/<id>: `server` from the query (NULL or unknown = "second"),
 * `authorization` the header value (may be NULL). Returns the HTTP status; *reply is a new
 * malloc'd JSON text, or NULL for 204. Auth failures are JSON-RPC errors inside a 200. */
int broker_handle(struct broker *b, const char *id, const char *server, const char *authorization,
		  const char *body, size_t len, char **reply);

/* Replaces the monotonic clock (milliseconds) sessions expire by; tests use it to expire a
 * session without waiting. NULL restores time_mono_ms. */
void broker_set_clock(struct broker *b, int64_t (*now_ms)(void));

#endif
