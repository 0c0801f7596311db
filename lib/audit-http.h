/* Audit events recorded by request handlers, shared by the responders.
 *
 * The actor is the caller in the guard's context (with `role` in `workspace_id`), the source
 * the request (request id, hashes of the client address and user agent), and outcome and
 * retention follow from the event name. Best effort (AUD-6): a failure is logged, never
 * returned, and the business change stands. */
#ifndef SECOND_AUDIT_HTTP_H
#define SECOND_AUDIT_HTTP_H

#include <jansson.h>

#include "lib/err.h"

struct store;
struct rds;
struct http_req;
struct guard_ctx;

/* Records one event; metadata_stolen may be NULL. `redis` gives the calling thread's Redis
 * connection for the workspace hint. */
void audit_http(struct store *store, struct rds *(*redis)(struct err *e), struct http_req *req,
		const struct guard_ctx *ctx, const char *workspace_id, const char *role,
		const char *event_name, const char *category, const char *severity,
		const char *target_type, const char *target_id, const char *target_name,
		const char *summary, json_t *metadata_stolen);

#endif
