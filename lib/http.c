/* The FastCGI framework's I/O: the listen socket, the worker pool, one request from accept to
 * its access-log line, and the response writer. The parsing lives in lib/http-parse.c.
 *
 * http_serve() owns one listening socket and srv->threads workers. Each worker loops on
 * FCGX_Accept_r (accepts serialised by a mutex, as libfcgi's threaded example requires) and
 * builds a `struct http_req` per request: CGI variables borrowed from libfcgi, the decoded
 * path parameters, query and cookies, and the body read eagerly against CONTENT_LENGTH and
 * parsed once (a JSON object or a form). The reply is assembled in the request (status, at
 * most HTTP_MAX_RESPONSE_HEADERS validated header lines) and written once. Stopping is a byte
 * in a self-pipe, written by the SIGTERM/SIGINT handler or http_stop(): the serving thread
 * wakes, shuts the listening socket down so blocked accepts fail, and joins the workers after
 * their requests in flight have finished. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <fastcgi.h>
#include <fcgiapp.h>
#include <systemd/sd-daemon.h>

#include "lib/http-parse.h"
#include "lib/http.h"
#include "lib/ids.h"
#include "lib/jsonx.h"
#include "lib/limits.h"
#include "lib/log.h"

#define LISTEN_BACKLOG 128
#define ACCEPT_RETRY_MS 100 /* pause after an accept error that is not a stop */
#define ALLOW_MAX 64        /* "GET, POST, PATCH, PUT, DELETE" */
#define ERROR_CODE_MAX 48   /* the error code kept for the access log */
#define JSON_TYPE "application/json; charset=utf-8"
#define INTERNAL_BODY "{\"error\":\"internal_error\",\"message\":\"internal error\"}"

struct http_req {
	const struct http_server *srv;
	FCGX_Request *fcgi;
	const char *method;
	char path[HTTP_MAX_PATH_BYTES + 2]; /* one byte more than a route can match */
	char request_id[LOG_REQUEST_ID_MAX];
	struct http_params params;
	struct http_kvs query, cookies, form;
	char *body; /* NUL-terminated copy, or NULL */
	size_t body_len;
	json_t *json; /* the body when it is a JSON object */
	bool secure;  /* cookies get Secure */
	void *ctx;
	void (*ctx_free)(void *);
	struct http_headers headers;
	int status; /* 0 until replied */
	size_t bytes_out;
	bool streaming, gone; /* http_stream_begin was called; a stream write failed */
	char error_code[ERROR_CODE_MAX];
};

struct server_state {
	const struct http_server *srv;
	int fd;
	char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* to unlink, or "" */
	ino_t unix_ino;
	pthread_mutex_t accept_lock;
	pthread_t threads[HTTP_MAX_STREAM_THREADS];
};

static atomic_bool stopping;
static volatile sig_atomic_t stop_wfd = -1;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A CGI variable of the request, or NULL. */
static const char *param(const struct http_req *r, const char *name)
{
	return FCGX_GetParam(name, r->fcgi->envp);
}

void *http_app(const struct http_req *r)
{
	return r->srv->app;
}

const char *http_method(const struct http_req *r)
{
	return r->method;
}

const char *http_path(const struct http_req *r)
{
	return r->path;
}

const char *http_param(const struct http_req *r, const char *name)
{
	return http_params_get(&r->params, name);
}

const char *http_query(const struct http_req *r, const char *name)
{
	return http_kvs_get(&r->query, name);
}

/* Headers over HTTP_MAX_HEADER_BYTES read as absent, so no caller sees an unbounded value.
 * Content-Type and Content-Length are the CGI variables of the same names. */
const char *http_header(const struct http_req *r, const char *name)
{
	char var[128];
	const char *v;

	if (!http_header_var(name, var, sizeof(var)))
		return NULL;
	v = param(r, var);
	if (v == NULL || strnlen(v, HTTP_MAX_HEADER_BYTES + 1) > HTTP_MAX_HEADER_BYTES)
		return NULL;
	return v;
}

const char *http_cookie(const struct http_req *r, const char *name)
{
	return http_kvs_get(&r->cookies, name);
}

const char *http_request_id(const struct http_req *r)
{
	return r->request_id;
}

bool http_is_json(const struct http_req *r)
{
	const char *accept = http_header(r, "Accept");

	return http_media_is(http_header(r, "Content-Type"), "application/json") ||
	       (accept != NULL && strcasestr(accept, "application/json") != NULL);
}

int http_body(struct http_req *r, const char **data, size_t *len, struct err *e)
{
	(void)e; /* the body was read and bounded before dispatch: nothing can fail here */
	*data = r->body != NULL ? r->body : "";
	*len = r->body_len;
	return 0;
}

/* Bad JSON never reaches a handler (400 before dispatch); what is left is the wrong type
 * or no body at all. */
json_t *http_json(struct http_req *r, struct err *e)
{
	if (r->json != NULL)
		return r->json;
	if (!http_media_is(http_header(r, "Content-Type"), "application/json"))
		err_set(e, ERR_UNSUPPORTED, "the body must be application/json");
	else
		err_set(e, ERR_INVALID, "a JSON object body is required");
	return NULL;
}

const char *http_form(struct http_req *r, const char *name)
{
	return http_kvs_get(&r->form, name);
}

const char *http_field(struct http_req *r, const char *name)
{
	if (r->json != NULL)
		return jsonx_str(r->json, name);
	return http_form(r, name);
}

void http_set_ctx(struct http_req *r, void *ctx, void (*free_fn)(void *))
{
	if (r->ctx != NULL && r->ctx_free != NULL)
		r->ctx_free(r->ctx);
	r->ctx = ctx;
	r->ctx_free = free_fn;
}

void *http_ctx(const struct http_req *r)
{
	return r->ctx;
}

bool http_replied(const struct http_req *r)
{
	return r->status != 0;
}

int http_set_header(struct http_req *r, const char *name, const char *value)
{
	if (r->status != 0 || http_headers_set(&r->headers, name, value) != 0) {
		log_error("refused response header %s", name);
		return -1;
	}
	return 0;
}

void http_set_cookie(struct http_req *r, const char *name, const char *value, long max_age)
{
	if (r->status != 0 ||
	    http_headers_cookie(&r->headers, name, value, max_age, r->secure) != 0)
		log_error("refused cookie %s", name);
}

/* Writes status, headers and body once; ctype NULL sends no Content-Type. */
static int send_reply(struct http_req *r, int status, const char *ctype, const char *body,
		      size_t len)
{
	FCGX_Stream *out = r->fcgi->out;
	char *head;

	if (r->status != 0) {
		log_error("a second reply (%d) to one request was dropped", status);
		return -1;
	}
	if (status < 200 || status > 599) {
		log_error("handler replied with status %d; sending 500", status);
		status = 500;
		ctype = JSON_TYPE;
		body = INTERNAL_BODY;
		len = strlen(INTERNAL_BODY);
	}
	r->status = status;
	r->bytes_out = len;
	head = http_response_head(status, r->request_id, ctype, &r->headers, len);
	/* Write errors stick to the stream: one check at the end covers every call. */
	FCGX_PutStr(head, (int)strlen(head), out);
	free(head);
	if (len > 0)
		FCGX_PutStr(body, (int)len, out);
	if (FCGX_GetError(out) != 0) {
		log_info("the web server went away before the reply was written");
		return -1;
	}
	return 0;
}

int http_reply_json(struct http_req *r, int status, json_t *body)
{
	char *text;
	size_t len;
	int rc;

	if (body == NULL)
		return send_reply(r, status, NULL, NULL, 0);
	text = jsonx_dumps_compact(body, &len);
	json_decref(body);
	rc = send_reply(r, status, JSON_TYPE, text, len);
	free(text);
	return rc;
}

int http_reply_json_text(struct http_req *r, int status, const char *text, size_t len)
{
	return send_reply(r, status, JSON_TYPE, text, len);
}

int http_reply_body(struct http_req *r, int status, const char *content_type, const void *body,
		    size_t len)
{
	return send_reply(r, status, content_type, body, len);
}

int http_stream_begin(struct http_req *r, int status, const char *content_type)
{
	if (r->status != 0) {
		log_error("a stream after a reply (%d) was dropped", r->status);
		return -1;
	}
	r->status = status;
	r->streaming = true;
	char *head = http_response_head(status, r->request_id, content_type, &r->headers,
					HTTP_NO_LENGTH);
	FCGX_PutStr(head, (int)strlen(head), r->fcgi->out);
	free(head);
	if (FCGX_FFlush(r->fcgi->out) != 0 || FCGX_GetError(r->fcgi->out) != 0) {
		r->gone = true;
		return -1;
	}
	return 0;
}

int http_stream_write(struct http_req *r, const char *buf, size_t len)
{
	if (!r->streaming || r->gone)
		return -1;
	if (len > 0 && (FCGX_PutStr(buf, (int)len, r->fcgi->out) != (int)len ||
			FCGX_FFlush(r->fcgi->out) != 0 || FCGX_GetError(r->fcgi->out) != 0)) {
		r->gone = true;
		log_info("the client went away during a stream");
		return -1;
	}
	r->bytes_out += len;
	return 0;
}

bool http_stream_gone(const struct http_req *r)
{
	return r->gone;
}

struct http_route *http_routes_join(const struct http_route *const *tables, size_t ntables,
				    size_t *n)
{
	size_t count = 0;
	for (size_t t = 0; t < ntables; t++)
		for (const struct http_route *r = tables[t]; r->method != NULL; r++)
			count++;
	struct http_route *all = calloc(count ? count : 1, sizeof(*all));
	if (all == NULL)
		abort();
	count = 0;
	for (size_t t = 0; t < ntables; t++)
		for (const struct http_route *r = tables[t]; r->method != NULL; r++)
			all[count++] = *r;
	*n = count;
	return all;
}

bool http_stopping(void)
{
	return atomic_load(&stopping);
}

int http_reply_error(struct http_req *r, int status, const char *code, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	json_t *body;
	va_list ap;

	va_start(ap, fmt);
	/* A message cut at ERR_MSG_MAX is still a message. */
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(r->error_code, sizeof(r->error_code), "%s", code);
	if (status >= 500)
		log_error("%d %s: %s", status, code, msg);
	/* json_pack refuses invalid UTF-8 (a cut message, client bytes): fall back to the code. */
	body = json_pack("{s:s, s:s}", "error", code, "message", msg);
	if (body == NULL)
		body = json_pack("{s:s}", "error", code);
	if (body == NULL)
		return send_reply(r, 500, JSON_TYPE, INTERNAL_BODY, strlen(INTERNAL_BODY));
	return http_reply_json(r, status, body);
}

int http_reply_err(struct http_req *r, const struct err *e)
{
	const char *name;
	int status = http_err_status(e->code, &name);

	if (status < 500)
		return http_reply_error(r, status, name, "%s", e->msg);
	log_error("%s: %s", err_code_name(e->code), e->msg);
	return http_reply_error(r, status, name, "%s",
				status == 503 ? "a service Second depends on is unavailable"
					      : "internal error");
}

int http_reply_redirect(struct http_req *r, const char *location)
{
	if (http_set_header(r, "Location", location) != 0)
		return http_reply_error(r, 500, "internal_error", "internal error");
	return send_reply(r, 303, NULL, NULL, 0);
}

int http_reply_status(struct http_req *r, int status)
{
	return send_reply(r, status, NULL, NULL, 0);
}

/* Replies with an error and returns -1, for the checks that stop a request early. */
static int refuse(struct http_req *r, int status, const char *code, const char *msg)
{
	http_reply_error(r, status, code, "%s", msg);
	return -1;
}

/* Query, then the body: CONTENT_LENGTH is checked before a byte is read, so a body over the
 * limit is refused without reading it; a body is parsed by its type before any handler. */
static int read_input(struct http_req *r)
{
	const char *q = param(r, "QUERY_STRING");
	const char *ct = http_header(r, "Content-Type");
	struct err e = {0};
	int got;

	if (q != NULL &&
	    http_parse_urlencoded(q, strnlen(q, HTTP_MAX_QUERY_BYTES + 1), &r->query, &e) != 0)
		return refuse(r, 400, "invalid_request", e.msg);
	if (http_content_length(param(r, "CONTENT_LENGTH"), HTTP_MAX_BODY_BYTES, &r->body_len,
				&e) != 0)
		return refuse(r, e.code == ERR_TOO_LARGE ? 413 : 400,
			      e.code == ERR_TOO_LARGE ? "payload_too_large" : "invalid_request",
			      e.msg);
	if (r->body_len == 0)
		return 0;
	r->body = malloc(r->body_len + 1);
	if (r->body == NULL)
		abort();
	got = FCGX_GetStr(r->body, (int)r->body_len, r->fcgi->in);
	if (got < 0 || (size_t)got != r->body_len)
		return refuse(r, 400, "invalid_request", "the body is shorter than Content-Length");
	r->body[r->body_len] = '\0';
	if (http_parse_body(ct, r->body, r->body_len, &r->json, &r->form, &e) == 0)
		return 0;
	if (e.code == ERR_UNSUPPORTED || e.code == ERR_TOO_LARGE)
		return refuse(r, e.code == ERR_TOO_LARGE ? 413 : 415,
			      e.code == ERR_TOO_LARGE ? "payload_too_large"
						      : "unsupported_media_type",
			      e.msg);
	return refuse(r, 400,
		      http_media_is(ct, "application/json") ? "invalid_json" : "invalid_request",
		      e.msg);
}

static void req_init(struct http_req *r, const struct http_server *srv, FCGX_Request *fr)
{
	const char *rid;
	struct err e = {0};

	r->srv = srv;
	r->fcgi = fr;
	r->method = param(r, "REQUEST_METHOD");
	if (r->method == NULL)
		r->method = "";
	/* REQUEST_URI is undecoded, so an encoded '/' is still visible to the router; a path cut
	 * to fit is one byte longer than any route can match. */
	http_request_path(param(r, "REQUEST_URI"), param(r, "SCRIPT_NAME"), param(r, "PATH_INFO"),
			  r->path, sizeof(r->path));
	rid = http_header(r, "X-Request-Id");
	if (http_request_id_valid(rid))
		snprintf(r->request_id, sizeof(r->request_id), "%s", rid);
	else
		id_new(r->request_id);
	r->secure = http_https(param(r, "HTTPS"), http_header(r, "X-Forwarded-Proto"));
	log_set_request_id(r->request_id);
	/* Cookies we cannot parse are treated as absent: the request goes on without a session. */
	if (http_parse_cookies(http_header(r, "Cookie"), &r->cookies, &e) != 0)
		log_warning("ignored the Cookie header: %s", e.msg);
}

static void req_free(struct http_req *r)
{
	if (r->ctx != NULL && r->ctx_free != NULL)
		r->ctx_free(r->ctx);
	http_kvs_free(&r->query);
	http_kvs_free(&r->cookies);
	http_kvs_free(&r->form);
	json_decref(r->json);
	free(r->body);
	http_headers_free(&r->headers);
	free(r);
}

/* Route, bound the input, then the dispatch hook and the handler. Every refusal replies. */
static void route_and_run(struct http_req *r)
{
	const struct http_server *srv = r->srv;
	const struct http_route *route = NULL;
	/* HEAD is GET without the body, which the web server drops (RFC 9110 9.3.2). */
	const char *method = strcmp(r->method, "HEAD") == 0 ? "GET" : r->method;
	char allow[ALLOW_MAX];
	int rc = http_route_match(srv->routes, srv->nroutes, method, r->path, &route, &r->params,
				  allow, sizeof(allow));

	if (rc == 404) {
		refuse(r, 404, "not_found", "no such API route");
		return;
	}
	if (rc == 405) {
		/* Our own "GET, POST" text: always a valid header value. */
		(void)http_set_header(r, "Allow", allow);
		http_reply_error(r, 405, "method_not_allowed", "allowed: %s", allow);
		return;
	}
	if (read_input(r) != 0)
		return;
	if (srv->dispatch != NULL && srv->dispatch(r, route) != 0) {
		if (!http_replied(r))
			log_error("the dispatch hook refused %s %s without a reply", r->method,
				  route->pattern);
		return;
	}
	rc = route->handler(r);
	if (!http_replied(r))
		log_error("handler of %s %s returned %d without a reply", r->method, route->pattern,
			  rc);
}

/* The path as the access log shows it: a segment that starts with '~' is a capability (the
 * preview's token) and is written as "~" alone. */
static void log_path(const char *path, char *out, size_t outsz)
{
	size_t o = 0, n;

	for (const char *p = path; *p != '\0' && o + 1 < outsz; p += n) {
		n = p[0] == '/' ? 1 : strcspn(p, "/");
		snprintf(out + o, outsz - o, "%.*s", p[0] == '~' ? 1 : (int)n, p);
		o += strlen(out + o);
	}
	out[o] = '\0';
}

static void handle(const struct http_server *srv, FCGX_Request *fr)
{
	struct http_req *r = calloc(1, sizeof(*r));
	char logged[HTTP_MAX_PATH_BYTES + 2];
	long long t0 = now_ms();

	if (r == NULL)
		abort();
	req_init(r, srv, fr);
	route_and_run(r);
	if (!http_replied(r))
		refuse(r, 500, "internal_error", "internal error");
	/* Never the query, cookies, body or a capability in the path: they can hold secrets. */
	log_path(r->path, logged, sizeof(logged));
	log_info("%s %s status=%d%s%s bytes=%zu ms=%lld", r->method, logged, r->status,
		 r->error_code[0] ? " error=" : "", r->error_code, r->bytes_out, now_ms() - t0);
	req_free(r);
	log_set_request_id(NULL);
}

/* Whether all of the request's input has arrived and been read, and nothing more waits on
 * the socket. Only what already arrived is looked at: the socket is non-blocking meanwhile, so
 * a peer that has not sent its end of input yet only makes libfcgi mark the input stream as
 * failed, which closes the connection the careful way below. */
static bool input_done(FCGX_Request *fr)
{
	int flags = fcntl(fr->ipcFd, F_GETFL);
	bool done;
	char probe;

	if (flags < 0 || fcntl(fr->ipcFd, F_SETFL, flags | O_NONBLOCK) != 0)
		return false;
	done = FCGX_GetChar(fr->in) == EOF && FCGX_GetError(fr->in) == 0 &&
	       recv(fr->ipcFd, &probe, 1, MSG_PEEK | MSG_DONTWAIT) < 0 &&
	       (errno == EAGAIN || errno == EWOULDBLOCK);
	/* Restoring what F_GETFL returned cannot fail on the same open socket. */
	(void)fcntl(fr->ipcFd, F_SETFL, flags);
	return done;
}

/* Ends the request and closes its connection. libfcgi closes by shutting its side down and
 * waiting (up to 2 s) for the web server to close first, so that input still unread cannot
 * reset the connection under a reply not yet read. When there is no such input there is
 * nothing to reset, and the connection is closed at once: detached, libfcgi skips the wait
 * on the web server it would otherwise do for every request. */
static void finish(FCGX_Request *fr)
{
	if (input_done(fr))
		/* Fails only without a connection, which then has nothing to close. */
		(void)FCGX_Detach(fr);
	/* A kept connection would hold the accept lock while waiting for its next request,
	 * starving the other workers: close it after every reply. */
	fr->keepConnection = 0;
	FCGX_Finish_r(fr);
}

static void *worker_main(void *arg)
{
	struct server_state *st = arg;
	FCGX_Request fr;

	if (FCGX_InitRequest(&fr, st->fd, 0) != 0) {
		log_error("FCGX_InitRequest failed; this worker does not serve");
		return NULL;
	}
	for (;;) {
		int rc;

		pthread_mutex_lock(&st->accept_lock);
		rc = atomic_load(&stopping) ? -1 : FCGX_Accept_r(&fr);
		pthread_mutex_unlock(&st->accept_lock);
		if (rc < 0 && atomic_load(&stopping))
			break;
		if (rc < 0) {
			log_error("accept: %s", strerror(-rc));
			poll(NULL, 0, ACCEPT_RETRY_MS);
			continue;
		}
		handle(st->srv, &fr);
		finish(&fr);
	}
	FCGX_Free(&fr, 1);
	return NULL;
}

/* Whether something already listens on a unix socket path (a second copy of us). */
static bool unix_socket_live(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return false;
	live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 || errno == EAGAIN;
	close(fd);
	return live;
}

/* Binds path; a stale socket file left by a crash is replaced, a live one or any other file
 * is an error. The socket is chmod 0660 before listen(), so no one connects in between. */
static int listen_unix(struct server_state *st, const char *path, struct err *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat sb;
	int fd = -1, saved;

	if (path[0] == '\0' || strlen(path) >= sizeof(sa.sun_path))
		return err_set(e, ERR_INVALID, "unix socket path is empty or too long: %s", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode))
			return err_set(e, ERR_INVALID, "%s exists and is not a socket", path);
		if (unix_socket_live(&sa))
			return err_set(e, ERR_UNAVAILABLE, "another process listens on %s", path);
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		if (chmod(path, 0660) == 0 && stat(path, &sb) == 0 &&
		    listen(fd, LISTEN_BACKLOG) == 0) {
			snprintf(st->unix_path, sizeof(st->unix_path), "%s", path);
			st->unix_ino = sb.st_ino;
			return fd;
		}
		saved = errno;
		unlink(path);
		errno = saved;
	}
	err_set(e, ERR_UNAVAILABLE, "listen on unix:%s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* "HOST:PORT": the host is required, so nothing binds every interface by accident
 * ("0.0.0.0" says so explicitly). */
static int listen_tcp(const char *addr, struct err *e)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	const char *colon = strrchr(addr, ':');
	char host[256];
	int fd = -1, one = 1, rc;

	if (colon == NULL || colon == addr || (size_t)(colon - addr) >= sizeof(host) ||
	    colon[1] == '\0')
		return err_set(e, ERR_INVALID, "tcp address %s: use tcp:HOST:PORT", addr);
	snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
	rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc != 0)
		return err_set(e, ERR_INVALID, "tcp address %s: %s", addr, gai_strerror(rc));
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
		err_set(e, ERR_UNAVAILABLE, "listen on tcp:%s: %s", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* systemd socket activation (exactly one listening stream socket), else fd 0 when the web
 * server or spawn-fcgi passed a listening socket there. sd_listen_fds(1) clears LISTEN_*. */
static int listen_inherited(struct err *e)
{
	int n = sd_listen_fds(1);

	if (n < 0)
		return err_set(e, ERR_INVALID, "socket activation: %s", strerror(-n));
	if (n > 1)
		return err_set(e, ERR_INVALID, "socket activation passed %d sockets, not 1", n);
	if (n == 1 && sd_is_socket(SD_LISTEN_FDS_START, AF_UNSPEC, SOCK_STREAM, 1) <= 0)
		return err_set(e, ERR_INVALID, "the activated fd is not a listening stream socket");
	if (n == 1)
		return SD_LISTEN_FDS_START;
	if (sd_is_socket(FCGI_LISTENSOCK_FILENO, AF_UNSPEC, SOCK_STREAM, 1) > 0)
		return FCGI_LISTENSOCK_FILENO;
	return err_set(e, ERR_INVALID,
		       "no listen address set and no listening socket inherited (systemd or fd 0)");
}

static int open_listener(struct server_state *st, const char *listen, struct err *e)
{
	if (listen == NULL || listen[0] == '\0')
		return listen_inherited(e);
	if (strncmp(listen, "unix:", 5) == 0)
		return listen_unix(st, listen + 5, e);
	if (strncmp(listen, "tcp:", 4) == 0)
		return listen_tcp(listen + 4, e);
	return err_set(e, ERR_INVALID, "listen address %s: use unix:/PATH or tcp:HOST:PORT",
		       listen);
}

static void close_listener(struct server_state *st)
{
	struct stat sb;

	close(st->fd);
	/* Only our own socket file: a newer process may have replaced it already. */
	if (st->unix_path[0] != '\0' && stat(st->unix_path, &sb) == 0 && sb.st_ino == st->unix_ino)
		unlink(st->unix_path);
}

static void on_stop_signal(int sig)
{
	int saved = errno;

	(void)sig;
	/* Non-blocking: when the pipe is full a wake-up is already pending, so a failed write
	 * loses nothing. */
	if (stop_wfd >= 0 && write(stop_wfd, "s", 1) < 0)
		errno = saved;
	errno = saved;
}

void http_stop(void)
{
	on_stop_signal(0);
}

struct saved_signals {
	struct sigaction act[3];
	sigset_t mask;
};

/* Installs ours, or restores the saved ones: SIGTERM/SIGINT write to the stop pipe; SIGPIPE
 * is ignored, so a vanished web server is an EPIPE write error, not the end of the process. */
static void signals_swap(struct saved_signals *old, bool install)
{
	static const int sigs[3] = {SIGTERM, SIGINT, SIGPIPE};

	for (size_t i = 0; i < 3; i++) {
		struct sigaction sa = {.sa_handler = sigs[i] == SIGPIPE ? SIG_IGN : on_stop_signal};

		sigemptyset(&sa.sa_mask);
		sigaction(sigs[i], install ? &sa : &old->act[i], install ? &old->act[i] : NULL);
	}
	if (!install)
		pthread_sigmask(SIG_SETMASK, &old->mask, NULL);
}

/* Workers start with SIGTERM/SIGINT blocked, so the handler runs on the serving thread and
 * a worker's reads and writes are never interrupted. Returns how many started. */
static int workers_start(struct server_state *st, struct saved_signals *old, struct err *e)
{
	sigset_t stopset;
	int n = 0;

	pthread_attr_t attr;
	sigemptyset(&stopset);
	sigaddset(&stopset, SIGTERM);
	sigaddset(&stopset, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stopset, &old->mask);
	pthread_attr_init(&attr);
	if (st->srv->stack_kib > 0 &&
	    pthread_attr_setstacksize(&attr, st->srv->stack_kib * 1024) != 0)
		log_warning("stack size %zu KiB refused; using the default", st->srv->stack_kib);
	for (; n < st->srv->threads; n++) {
		int rc = pthread_create(&st->threads[n], &attr, worker_main, st);

		if (rc != 0) {
			err_set(e, ERR_INTERNAL, "pthread_create: %s", strerror(rc));
			break;
		}
	}
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_UNBLOCK, &stopset, NULL);
	return n;
}

/* Workers finish their requests in flight; a blocked accept fails once the listening socket
 * is shut down. FCGX_ShutdownPending is not called: in some libfcgi builds it makes every
 * later read and write fail, which would cut the requests in flight. */
static void workers_stop(struct server_state *st, int n)
{
	atomic_store(&stopping, true);
	shutdown(st->fd, SHUT_RDWR);
	for (int i = 0; i < n; i++)
		pthread_join(st->threads[i], NULL);
}

int http_serve(const struct http_server *srv, struct err *e)
{
	struct server_state st = {.srv = srv, .fd = -1, .accept_lock = PTHREAD_MUTEX_INITIALIZER};
	struct saved_signals old;
	int pipefd[2] = {-1, -1};
	int started, rc = -1;

	int max_threads = srv->stack_kib > 0 ? HTTP_MAX_STREAM_THREADS : HTTP_MAX_THREADS;
	if (srv->routes == NULL || srv->threads < 1 || srv->threads > max_threads)
		return err_set(e, ERR_INVALID, "threads must be 1..%d", max_threads);
	/* Idempotent; http_serve runs once per process, from its main thread. */
	if (FCGX_Init() != 0)
		return err_set(e, ERR_INTERNAL, "FCGX_Init failed");
	st.fd = open_listener(&st, srv->listen, e);
	if (st.fd < 0)
		return -1;
	if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) != 0) {
		err_set(e, ERR_INTERNAL, "pipe: %s", strerror(errno));
		goto out;
	}
	atomic_store(&stopping, false);
	stop_wfd = pipefd[1];
	signals_swap(&old, true);
	started = workers_start(&st, &old, e);
	if (started == srv->threads) {
		struct pollfd p = {.fd = pipefd[0], .events = POLLIN};

		while (poll(&p, 1, -1) < 0 && errno == EINTR)
			;
		log_notice("%s stopping: finishing requests in flight", srv->name ? srv->name : "");
		rc = 0;
	}
	workers_stop(&st, started);
	stop_wfd = -1;
	signals_swap(&old, false);
	close(pipefd[0]);
	close(pipefd[1]);
out:
	close_listener(&st);
	return rc;
}
