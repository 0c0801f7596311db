/* workerd's HTTP layer: libmicrohttpd daemons with a thread per connection.
 *
 * The access handler is called several times per request: first to set up a per-request
 * context (and refuse a Content-Length over the route's limit), then with body chunks, then
 * once with no data, when the request is complete and the route runs. */
#include <config.h>

#include "workerd/http.h"

#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/jsonx.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "workerd/broker.h"
#include "workerd/turn.h"
#include "workerd/workerd.h"

static struct MHD_Daemon *internal_d, *mcp_d;

/* The closure of each listener: which one a request came in on decides its routes. */
struct listener {
	struct workerd *w;
	bool mcp;
};
static struct listener internal_l, mcp_l;

struct ctx {
	struct wd_req req;
	size_t limit;
	bool too_large;
};

struct sse {
	struct turn *t;
	char *frame;
	size_t len, off;
	int heartbeat_ms;
	bool done;
};

static int queue(struct wd_req *r, unsigned status, const char *type, char *body, size_t len)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, body,
								    MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	int ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

int wd_reply_json(struct wd_req *r, unsigned status, json_t *body)
{
	size_t len = 0;
	char *text = jsonx_dumps_compact(body, &len);
	json_decref(body);
	if (!text)
		abort();
	return queue(r, status, "application/json", text, len);
}

int wd_reply_error(struct wd_req *r, unsigned status, const char *code, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_notice("%s %s -> %u %s: %s", r->method, r->path, status, code, msg);
	return wd_reply_json(r, status, json_pack("{s:s, s:s}", "error", code, "message", msg));
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	struct sse *s = cls;
	while (!s->frame) {
		if (s->done)
			return MHD_CONTENT_READER_END_OF_STREAM;
		int r = turn_next(s->t, s->heartbeat_ms, &s->frame, &s->len);
		if (r < 0) {
			s->done = true;
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
		if (r == 0) {
			static const char ka[] = ": keep-alive\n\n";
			size_t n = sizeof(ka) - 1 < max ? sizeof(ka) - 1 : max;
			memcpy(buf, ka, n);
			return (ssize_t)n;
		}
		s->off = 0;
	}
	size_t n = s->len - s->off < max ? s->len - s->off : max;
	memcpy(buf, s->frame + s->off, n);
	s->off += n;
	if (s->off == s->len) {
		free(s->frame);
		s->frame = NULL;
	}
	return (ssize_t)n;
}

static void sse_free(void *cls)
{
	struct sse *s = cls;
	if (!s->done)
		turn_cancel(s->t, "stream_closed");
	free(s->frame);
	turn_release(s->t);
	free(s);
}

static void sse_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	MHD_add_response_header(resp, "X-Accel-Buffering", "no");
}

int wd_reply_sse_turn(struct wd_req *r, struct turn *t)
{
	struct sse *s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	s->t = t;
	s->heartbeat_ms = r->w->heartbeat_s * 1000;
	struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024,
								      sse_read, s, sse_free);
	sse_headers(resp);
	int ret = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

int wd_reply_sse_error(struct wd_req *r, const char *message)
{
	json_t *ev = json_pack("{s:s, s:s}", "type", "error", "error", message);
	char *text = jsonx_dumps_compact(ev, NULL);
	json_decref(ev);
	char *frame = NULL;
	int n = asprintf(&frame, "data: %s\n\n", text);
	free(text);
	if (n < 0)
		abort();
	struct MHD_Response *resp = MHD_create_response_from_buffer((size_t)n, frame,
								    MHD_RESPMEM_MUST_FREE);
	sse_headers(resp);
	int ret = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

const char *wd_header(struct wd_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *wd_query(struct wd_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

json_t *wd_body_object(struct wd_req *r, int *replied)
{
	struct err e = {0};
	*replied = 0;
	json_t *v = r->len ? jsonx_loadb(r->body, r->len, WORKERD_UPLOAD_MAX, JSON_MAX_DEPTH, &e)
			   : json_object();
	if (!v || !json_is_object(v)) {
		json_decref(v);
		*replied = wd_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_json",
					  "the body must be a JSON object%s%s",
					  e.msg[0] ? ": " : "", e.msg);
		return NULL;
	}
	return v;
}

static enum MHD_Result mcp_route(struct wd_req *r)
{
	static const char prefix[] = "/mcp/";
	if (strncmp(r->path, prefix, sizeof(prefix) - 1) != 0)
		return wd_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no such route");
	if (strcmp(r->method, "POST") != 0)
		return wd_reply_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
				      "the broker takes POST only");
	const char *id = r->path + sizeof(prefix) - 1;
	char *reply = NULL;
	int status = broker_handle(r->w->broker, id, wd_query(r, "server"),
				   wd_header(r, MHD_HTTP_HEADER_AUTHORIZATION),
				   r->body ? r->body : "", r->len, &reply);
	if (!reply) {
		struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL,
									    MHD_RESPMEM_PERSISTENT);
		int ret = MHD_queue_response(r->conn, (unsigned)status, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	return queue(r, (unsigned)status, "application/json", reply, strlen(reply));
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version, const char *upload,
				 size_t *upload_size, void **con_cls)
{
	(void)version;
	const struct listener *l = cls;
	struct workerd *w = l->w;
	bool mcp = l->mcp;
	struct ctx *c = *con_cls;
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			abort();
		c->req = (struct wd_req){.w = w, .conn = conn, .method = method, .path = url};
		c->limit = mcp ? (size_t)JSON_MAX_BYTES : api_body_limit(method, url);
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > c->limit)
			c->too_large = true;
		*con_cls = c;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!c->too_large && c->req.len + *upload_size <= c->limit) {
			char *nb = realloc(c->req.body, c->req.len + *upload_size + 1);
			if (!nb)
				abort();
			c->req.body = nb;
			memcpy(nb + c->req.len, upload, *upload_size);
			c->req.len += *upload_size;
			nb[c->req.len] = '\0';
		} else {
			c->too_large = true;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (c->too_large)
		return wd_reply_error(&c->req, MHD_HTTP_CONTENT_TOO_LARGE, "body_too_large",
				      "the request body is over %zu bytes", c->limit);
	return mcp ? mcp_route(&c->req) : (enum MHD_Result)api_dispatch(&c->req);
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls, (void)conn, (void)toe;
	struct ctx *c = *con_cls;
	if (c) {
		free(c->req.body);
		free(c);
	}
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char buf[512];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	log_warning("libmicrohttpd: %s", buf);
}

static struct MHD_Daemon *start(struct listener *l, int fd)
{
	return MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
					MHD_USE_ERROR_LOG | MHD_USE_ITC,
				0, NULL, NULL, access_cb, l, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
				NULL, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED,
				completed_cb, NULL, MHD_OPTION_CONNECTION_LIMIT,
				(unsigned)WORKERD_CONNECTIONS_MAX, MHD_OPTION_END);
}

int workerd_http_start(struct workerd *w, int internal_fd, int mcp_fd, struct err *e)
{
	internal_l = (struct listener){.w = w, .mcp = false};
	mcp_l = (struct listener){.w = w, .mcp = true};
	mcp_d = start(&mcp_l, mcp_fd);
	internal_d = mcp_d ? start(&internal_l, internal_fd) : NULL;
	if (!internal_d) {
		workerd_http_stop();
		return err_set(e, ERR_UNAVAILABLE, "libmicrohttpd could not start its listeners");
	}
	return 0;
}

void workerd_http_stop(void)
{
	if (internal_d)
		MHD_stop_daemon(internal_d);
	if (mcp_d)
		MHD_stop_daemon(mcp_d);
	internal_d = mcp_d = NULL;
}
