/* workerd's HTTP layer on libmicrohttpd: two listeners, one request shape, replies.
 *
 * The internal listener (unix socket, responders) routes to api_dispatch (api.c); the broker
 * listener (loopback TCP, runtime CLIs) serves only POST /mcp/<id>. Each connection has its own
 * thread, so an SSE reply may block while it waits for the next frame of its turn. Bodies are
 * collected up to a per-route limit; over it the reply is 413 before the handler runs. */
#ifndef SECOND_WORKERD_HTTP_H
#define SECOND_WORKERD_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "lib/err.h"

struct workerd;
struct turn;
struct MHD_Connection;

struct wd_req {
	struct workerd *w;
	struct MHD_Connection *conn;
	const char *method;
	const char *path; /* decoded by libmicrohttpd, no query */
	char *body;       /* NUL-terminated, may be NULL when empty */
	size_t len;
};

/* Each returns the libmicrohttpd result to hand back from the access handler. */
int wd_reply_json(struct wd_req *r, unsigned status, json_t *body); /* steals body */
int wd_reply_error(struct wd_req *r, unsigned status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* An SSE reply (W-3) fed by the turn's frames until its end; steals one reference. When the
 * client goes away first, the turn is cancelled with reason "stream_closed". */
int wd_reply_sse_turn(struct wd_req *r, struct turn *t);
/* An SSE reply of one error event and no [DONE] (the busy case of W-4). */
int wd_reply_sse_error(struct wd_req *r, const char *message);
const char *wd_header(struct wd_req *r, const char *name);
const char *wd_query(struct wd_req *r, const char *name);
/* The request's JSON body (object), or NULL after replying 400 itself (*replied set). */
json_t *wd_body_object(struct wd_req *r, int *replied);

/* Starts both listeners on already-listening sockets. */
int workerd_http_start(struct workerd *w, int internal_fd, int mcp_fd, struct err *e)
	__attribute__((warn_unused_result));
void workerd_http_stop(void);

/* The internal API's router, in api.c. */
int api_dispatch(struct wd_req *r);
/* Largest body the internal API accepts for this method and path. */
size_t api_body_limit(const char *method, const char *path);

#endif
