/* second-sse: the builder chat bridge (B-1..B-17) and its shared state.
 *
 * One `struct sse` per process: configuration, store, Redis options, and the workerd client.
 * Each request holds a worker thread for as long as its stream lasts (a turn, or an attached
 * observer), so the pool is sized by sse.threads, with small stacks. Handler files: chat.c
 * (POST .../chat, the sender), attach.c (GET .../chat/stream, observers), stop.c
 * (POST .../chat/stop); their rows are joined in routes.c. */
#ifndef SECOND_SSE_RESPONDER_H
#define SECOND_SSE_RESPONDER_H

#include <stdbool.h>

#include <jansson.h>

#include "lib/config.h"
#include "lib/guard.h"
#include "lib/http.h"
#include "lib/redis.h"
#include "lib/runs.h"
#include "lib/store.h"
#include "lib/workerc.h"

struct sse {
	const struct config *cfg;
	struct store *store;
	struct rds_opts redis;
	struct wkc worker;
	int keepalive_s;
};

struct sse *sse_of(struct http_req *req);
struct guard_ctx *sse_ctx(struct http_req *req);
/* The calling thread's Redis connection, opened on first use; NULL with e set. */
struct rds *sse_redis(struct err *e);

/* The path's app and run: loads the app of :appId in the caller's workspace and requires that
 * the caller can collaborate on it, then the run {_id: :runId, workspaceId, appId}. Replies
 * itself and returns -1 when it cannot go on (404 app_not_found / run_not_found, 403
 * forbidden; `quiet` sends an empty 404 instead, for observers). */
int sse_open_run(struct http_req *req, bool quiet, json_t **app, json_t **run,
		 struct runs_key *key);

/* Records an audit event about a builder run (target type "run") as the caller. */
void sse_audit(struct http_req *req, const char *event_name, const char *severity,
	       const char *run_id, const char *app_name, const char *summary, json_t *meta_stolen);

/* Publishes {"type": type[, "streamId": id]} on run:<runId>:events (best effort). */
void sse_run_event(const char *run_id, const char *type, const char *stream_id);

extern const struct http_route sse_routes_chat[];
extern const struct http_route sse_routes_attach[];
extern const struct http_route sse_routes_stop[];

#endif
