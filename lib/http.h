/* The FastCGI framework: requests, responses, a route table, and a threaded server.
 *
 * A responder declares `struct http_route` rows {method, pattern, handler, access, perm,
 * denied_code} and calls http_serve(). Each worker thread accepts with FCGX_Accept_r, builds
 * a `struct http_req`, matches the path (no path -> 404, path but not method -> 405 with an
 * Allow header), then calls the server's dispatch hook (the guard, which checks the route's
 * access and permission columns) and the handler. Everything a client sends is bounded by the
 * HTTP_* limits in lib/limits.h; errors always go out as {"error": code, "message": text}.
 * Each request gets an id (a valid X-Request-Id, else a new one) that is echoed back, set in
 * the logger, and written in the one access-log line per request. SIGTERM and SIGINT stop
 * accepting; requests in flight finish first. */
#ifndef SECOND_HTTP_H
#define SECOND_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "lib/err.h"

struct http_req;

/* A handler replies (http_reply_*) and returns 0; returning -1 without a reply sends 500. */
typedef int (*http_handler_fn)(struct http_req *req);

struct http_route {
	const char *method;  /* "GET", "POST", "PATCH", "PUT", "DELETE" */
	const char *pattern; /* "/api/workspaces/:ws/teams/:teamId"; a final "*" takes the rest */
	http_handler_fn handler;
	int access;              /* responder-defined (enum guard_access) */
	int perm;                /* responder-defined (enum guard_perm) */
	const char *denied_code; /* error code of this route's 403; NULL: "forbidden" */
	unsigned flags;          /* responder-defined (GUARD_* flags) */
};

/* Runs before the handler of a matched route. Returns 0 to run the handler, or -1 after it has
 * replied itself (401/403/404...). */
typedef int (*http_dispatch_fn)(struct http_req *req, const struct http_route *route);

struct http_server {
	const struct http_route *routes;
	size_t nroutes;
	http_dispatch_fn dispatch; /* may be NULL */
	int threads; /* worker threads, 1..HTTP_MAX_THREADS (STREAM_ with stack_kib) */
	/* Stack of each worker thread in KiB, 0 for the default. A streaming responder holds a
	 * thread per open stream and sets it small, which also allows up to
	 * HTTP_MAX_STREAM_THREADS threads. */
	size_t stack_kib;
	/* "unix:/path/to.sock" or "tcp:127.0.0.1:9000"; NULL or "" uses the inherited socket:
	 * systemd socket activation (sd_listen_fds, checked with sd_is_socket) or fd 0 as given
	 * by a web server or spawn-fcgi. */
	const char *listen;
	void *app;        /* the responder's state: http_app() */
	const char *name; /* for logs: "second-api" */
};

/* The rows of several route tables (each ending in a row whose method is NULL), in order, as
 * one new array (malloc'd, kept for the process's life); *n gets the row count. */
struct http_route *http_routes_join(const struct http_route *const *tables, size_t ntables,
				    size_t *n);

/* Serves until SIGTERM/SIGINT or http_stop(); returns 0 after a clean stop. */
int http_serve(const struct http_server *srv, struct err *e) __attribute__((warn_unused_result));
void http_stop(void);

/* Request. Strings are borrowed and live as long as the request. */
void *http_app(const struct http_req *r);
const char *http_method(const struct http_req *r);
const char *http_path(const struct http_req *r);                     /* without the query string */
const char *http_param(const struct http_req *r, const char *name);  /* ":name" in the pattern */
const char *http_query(const struct http_req *r, const char *name);  /* decoded; NULL if absent */
const char *http_header(const struct http_req *r, const char *name); /* "X-Request-Id" */
const char *http_cookie(const struct http_req *r, const char *name);
const char *http_request_id(const struct http_req *r);
/* True when the request body is JSON, or the client asked for JSON (Accept). Form posts from
 * pages get redirects instead. */
bool http_is_json(const struct http_req *r);
/* The raw body, read once against CONTENT_LENGTH and HTTP_MAX_BODY_BYTES. */
int http_body(struct http_req *r, const char **data, size_t *len, struct err *e)
	__attribute__((warn_unused_result));
/* The body as a JSON object (borrowed, parsed once): needs Content-Type application/json
 * (else ERR_UNSUPPORTED -> 415), at most HTTP_MAX_BODY_BYTES (ERR_TOO_LARGE -> 413) and
 * JSON_MAX_DEPTH (ERR_TOO_DEEP -> 400). */
json_t *http_json(struct http_req *r, struct err *e);
/* A field of an application/x-www-form-urlencoded body; NULL if absent. */
const char *http_form(struct http_req *r, const char *name);
/* A field from either body kind: JSON string member or form field. */
const char *http_field(struct http_req *r, const char *name);

/* The responder's per-request context (the guard's result), freed with free_fn at the end. */
void http_set_ctx(struct http_req *r, void *ctx, void (*free_fn)(void *));
void *http_ctx(const struct http_req *r);

/* Response. */
int http_set_header(struct http_req *r, const char *name, const char *value); /* no CR/LF */
/* HttpOnly; Path=/; SameSite=Lax; Secure when X-Forwarded-Proto (or HTTPS) says https.
 * max_age 0 clears the cookie. */
void http_set_cookie(struct http_req *r, const char *name, const char *value, long max_age);
/* Sends status and body (stolen; NULL sends no body). */
int http_reply_json(struct http_req *r, int status, json_t *body);
/* Sends status and len bytes of JSON text (borrowed), e.g. a reply body a handler kept from
 * an earlier request. */
int http_reply_json_text(struct http_req *r, int status, const char *text, size_t len);
/* Sends status and len bytes of body (borrowed) as content_type: files, not API replies. */
int http_reply_body(struct http_req *r, int status, const char *content_type, const void *body,
		    size_t len);
/* Streamed replies (SSE): status, the headers set so far and Content-Type go out at once,
 * with no Content-Length; each write is flushed to the web server as it is made. A write
 * returns -1 once the client is gone (the web server closed the connection); the request
 * then counts as replied and the handler may go on with its own work. */
int http_stream_begin(struct http_req *r, int status, const char *content_type);
int http_stream_write(struct http_req *r, const char *buf, size_t len);
bool http_stream_gone(const struct http_req *r);
/* True once the server is stopping: handlers of endless streams (observers) end them. */
bool http_stopping(void);
/* {"error": code, "message": text} and a log line naming the code. */
int http_reply_error(struct http_req *r, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Maps a struct err to a status: invalid/too_deep 400, not_found 404, duplicate/conflict 409,
 * too_large 413, unsupported 415, unavailable/timeout 503, else 500 (message not leaked). */
int http_reply_err(struct http_req *r, const struct err *e);
int http_reply_redirect(struct http_req *r, const char *location); /* 303 See Other */
int http_reply_status(struct http_req *r, int status);             /* no body, e.g. 204 */
bool http_replied(const struct http_req *r);

#endif
