/* The scoped MCP broker (T-14): per-turn sessions and the JSON-RPC 2.0 dispatcher.
 *
 * Sessions are a linked list under one mutex, at most BROKER_MAX_SESSIONS, each holding its
 * "Bearer <token>" header value (compared in constant time), a copy of the turn's allow-list
 * and tool context, and what set_app_metadata captured. A request is authenticated under the
 * lock, which copies the allow-list and context out; tools then run without the lock (later
 * tools call the web over HTTP), and captured values are stored back by session id. The
 * dispatcher takes bytes and returns bytes, so tests drive it from memory. */
#include <config.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/codec.h"
#include "lib/crypto.h"
#include "lib/jsonx.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/timeutil.h"
#include "workerd/broker.h"
#include "workerd/tools.h"

#define BEARER "Bearer "
#define RPC_INVALID_REQUEST -32600
#define RPC_METHOD_NOT_FOUND -32601
#define RPC_INVALID_PARAMS -32602
#define RPC_SERVER_ERROR -32000
#define DEFAULT_PROTOCOL "2024-11-05"

static const char *const protocol_versions[] = {"2024-11-05", "2025-03-26", "2025-06-18"};

struct bsession {
	struct bsession *next;
	char id[BROKER_ID_LEN + 1];
	char auth[sizeof(BEARER) + BROKER_TOKEN_LEN]; /* the exact header value expected */
	char *runtime_id;
	json_t *allowed;  /* array of canonical names, or NULL for every tool */
	json_t *context;  /* object */
	json_t *captured; /* object or NULL */
	int64_t expires_ms;
};

struct broker {
	struct workerd *w;
	pthread_mutex_t lock;
	struct bsession *sessions;
	size_t count;
	int64_t (*now_ms)(void);
};

enum auth_result {
	AUTH_OK,
	AUTH_UNKNOWN_SESSION,
	AUTH_BAD_TOKEN,
};

/* One HTTP request's view of its session, copied out of the lock. */
struct call {
	struct broker *b;
	const char *id;
	const char *server;
	enum auth_result auth;
	json_t *allowed; /* copy or NULL */
	json_t *context; /* copy; {} when unauthenticated */
};

static void lock(struct broker *b)
{
	if (pthread_mutex_lock(&b->lock) != 0)
		abort();
}

static void unlock(struct broker *b)
{
	if (pthread_mutex_unlock(&b->lock) != 0)
		abort();
}

static json_t *xcopy(const json_t *v)
{
	json_t *c = json_deep_copy(v);

	if (c == NULL)
		abort();
	return c;
}

static void set(json_t *obj, const char *key, json_t *value)
{
	if (value == NULL || json_object_set_new(obj, key, value) != 0)
		abort();
}

static json_t *xobject(void)
{
	json_t *o = json_object();

	if (o == NULL)
		abort();
	return o;
}

static void session_free(struct bsession *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s->auth, sizeof(s->auth));
	free(s->runtime_id);
	json_decref(s->allowed);
	json_decref(s->context);
	json_decref(s->captured);
	free(s);
}

/* Drops expired sessions; the lock is held. */
static void prune(struct broker *b)
{
	int64_t now = b->now_ms();
	struct bsession **pp = &b->sessions;

	while (*pp != NULL) {
		struct bsession *s = *pp;

		if (s->expires_ms <= now) {
			*pp = s->next;
			b->count--;
			session_free(s);
		} else {
			pp = &s->next;
		}
	}
}

/* The live session `id`, or NULL; the lock is held. */
static struct bsession *find(struct broker *b, const char *id)
{
	if (id == NULL || strlen(id) != BROKER_ID_LEN)
		return NULL;
	for (struct bsession *s = b->sessions; s != NULL; s = s->next)
		if (strcmp(s->id, id) == 0)
			return s;
	return NULL;
}

struct broker *broker_new(struct workerd *w)
{
	struct broker *b = calloc(1, sizeof(*b));

	if (b == NULL)
		abort();
	if (pthread_mutex_init(&b->lock, NULL) != 0)
		abort();
	b->w = w;
	b->now_ms = time_mono_ms;
	return b;
}

void broker_free(struct broker *b)
{
	if (b == NULL)
		return;
	while (b->sessions != NULL) {
		struct bsession *s = b->sessions;

		b->sessions = s->next;
		session_free(s);
	}
	pthread_mutex_destroy(&b->lock);
	free(b);
}

void broker_set_clock(struct broker *b, int64_t (*now_ms)(void))
{
	lock(b);
	b->now_ms = now_ms != NULL ? now_ms : time_mono_ms;
	unlock(b);
}

static void uuid4(char out[BROKER_ID_LEN + 1])
{
	uint8_t r[16];

	crypto_random(r, sizeof(r));
	r[6] = (uint8_t)((r[6] & 0x0F) | 0x40);
	r[8] = (uint8_t)((r[8] & 0x3F) | 0x80);
	snprintf(out, BROKER_ID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1],
		 r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14],
		 r[15]);
}

static int check_allowed(const json_t *allowed, struct err *e)
{
	size_t i;
	json_t *v;

	if (!json_is_array(allowed))
		return err_set(e, ERR_INVALID, "allowed tools must be an array of names");
	if (json_array_size(allowed) > BROKER_MAX_ALLOWED_TOOLS)
		return err_set(e, ERR_TOO_LARGE, "more than %d allowed tools",
			       BROKER_MAX_ALLOWED_TOOLS);
	json_array_foreach (allowed, i, v) {
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > BROKER_MAX_TOOL_NAME)
			return err_set(e, ERR_INVALID, "allowed tool %zu is not a tool name", i);
	}
	return 0;
}

static int check_context(const json_t *context, struct err *e)
{
	size_t len = 0;
	char *text;

	if (!json_is_object(context))
		return err_set(e, ERR_INVALID, "tool context must be an object");
	text = jsonx_dumps_compact(context, &len);
	if (text == NULL)
		return err_set(e, ERR_INVALID, "tool context cannot be serialised");
	free(text);
	if (len > BROKER_MAX_CONTEXT_BYTES)
		return err_set(e, ERR_TOO_LARGE, "tool context over %d bytes",
			       BROKER_MAX_CONTEXT_BYTES);
	return 0;
}

static struct bsession *session_new(const char *runtime_id, const json_t *allowed,
				    const json_t *context)
{
	struct bsession *s = calloc(1, sizeof(*s));
	uint8_t raw[TOKEN_BYTES];
	char token[BROKER_TOKEN_LEN + 1];

	_Static_assert(TOKEN_BYTES == 32, "BROKER_TOKEN_LEN is base64url of 32 bytes");
	if (s == NULL)
		abort();
	uuid4(s->id);
	crypto_random(raw, sizeof(raw));
	codec_b64url_encode(raw, sizeof(raw), token);
	snprintf(s->auth, sizeof(s->auth), BEARER "%s", token);
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(token, sizeof(token));
	s->runtime_id = strdup(runtime_id != NULL ? runtime_id : "");
	if (s->runtime_id == NULL)
		abort();
	s->allowed = allowed != NULL ? xcopy(allowed) : NULL;
	s->context = context != NULL ? xcopy(context) : xobject();
	return s;
}

int broker_open(struct broker *b, const char *runtime_id, const json_t *allowed_tools,
		const json_t *context, char id[BROKER_ID_LEN + 1], char token[BROKER_TOKEN_LEN + 1],
		struct err *e)
{
	struct bsession *s;

	if (json_is_null(allowed_tools))
		allowed_tools = NULL;
	if (allowed_tools != NULL && check_allowed(allowed_tools, e) != 0)
		return -1;
	if (context != NULL && !json_is_null(context) && check_context(context, e) != 0)
		return -1;
	s = session_new(runtime_id, allowed_tools, json_is_null(context) ? NULL : context);
	lock(b);
	prune(b);
	if (b->count >= BROKER_MAX_SESSIONS) {
		unlock(b);
		session_free(s);
		return err_set(e, ERR_TOO_LARGE, "more than %d broker sessions",
			       BROKER_MAX_SESSIONS);
	}
	s->expires_ms = b->now_ms() + (int64_t)BROKER_SESSION_TTL_S * 1000;
	s->next = b->sessions;
	b->sessions = s;
	b->count++;
	memcpy(id, s->id, BROKER_ID_LEN + 1);
	memcpy(token, s->auth + strlen(BEARER), BROKER_TOKEN_LEN + 1);
	unlock(b);
	return 0;
}

void broker_close(struct broker *b, const char *id)
{
	struct bsession *gone = NULL;

	lock(b);
	for (struct bsession **pp = &b->sessions; *pp != NULL; pp = &(*pp)->next) {
		if (strcmp((*pp)->id, id) == 0) {
			gone = *pp;
			*pp = gone->next;
			b->count--;
			break;
		}
	}
	unlock(b);
	session_free(gone);
}

json_t *broker_captured(struct broker *b, const char *id)
{
	struct bsession *s;
	json_t *out = NULL;

	lock(b);
	s = find(b, id);
	if (s != NULL && s->captured != NULL)
		out = xcopy(s->captured);
	unlock(b);
	return out;
}

static void store_capture(struct broker *b, const char *id, const json_t *capture)
{
	struct bsession *s;

	lock(b);
	s = find(b, id);
	if (s != NULL) {
		if (s->captured == NULL)
			s->captured = xobject();
		if (json_object_update(s->captured, (json_t *)capture) != 0)
			abort();
	}
	unlock(b);
}

static void authenticate(struct call *c, const char *authorization)
{
	struct bsession *s;

	lock(c->b);
	prune(c->b);
	s = find(c->b, c->id);
	if (s == NULL) {
		c->auth = AUTH_UNKNOWN_SESSION;
	} else if (authorization == NULL || strlen(authorization) > BROKER_MAX_AUTH_BYTES ||
		   !crypto_ct_streq(authorization, s->auth)) {
		c->auth = AUTH_BAD_TOKEN;
	} else {
		c->auth = AUTH_OK;
		c->allowed = s->allowed != NULL ? xcopy(s->allowed) : NULL;
		c->context = xcopy(s->context);
	}
	unlock(c->b);
	if (c->context == NULL)
		c->context = xobject();
}

static json_t *rpc_result(const json_t *id, json_t *result)
{
	json_t *r = xobject();

	set(r, "jsonrpc", json_string("2.0"));
	set(r, "id", id != NULL ? json_incref((json_t *)id) : json_null());
	set(r, "result", result);
	return r;
}

static json_t *rpc_error(const json_t *id, int code, const char *message)
{
	json_t *r = xobject(), *err = xobject();

	set(err, "code", json_integer(code));
	set(err, "message", json_string(message));
	set(r, "jsonrpc", json_string("2.0"));
	set(r, "id", id != NULL ? json_incref((json_t *)id) : json_null());
	set(r, "error", err);
	return r;
}

static json_t *do_initialize(const struct call *c, const json_t *params)
{
	const char *asked = jsonx_str(params, "protocolVersion"), *version = DEFAULT_PROTOCOL;
	json_t *r = xobject(), *caps = xobject(), *info = xobject();

	for (size_t i = 0;
	     asked != NULL && i < sizeof(protocol_versions) / sizeof(*protocol_versions); i++)
		if (strcmp(asked, protocol_versions[i]) == 0)
			version = protocol_versions[i];
	set(caps, "tools", xobject());
	set(info, "name", json_string(c->server));
	set(info, "version", json_string("1.0.0"));
	set(r, "protocolVersion", json_string(version));
	set(r, "capabilities", caps);
	set(r, "serverInfo", info);
	return r;
}

static bool allowed(const struct call *c, const struct tool_def *t)
{
	char canonical[BROKER_MAX_TOOL_NAME + 1];
	size_t i;
	json_t *v;

	if (c->allowed == NULL)
		return true;
	if (tools_canonical_name(t, canonical, sizeof(canonical)) != 0)
		return false;
	json_array_foreach (c->allowed, i, v) {
		if (strcmp(json_string_value(v), canonical) == 0)
			return true;
	}
	return false;
}

static json_t *do_tools_list(const struct call *c)
{
	json_t *tools = json_array(), *r = xobject();
	const struct tool_def *all;
	size_t n;

	if (tools == NULL)
		abort();
	all = tools_all(&n);
	for (size_t i = 0; i < n; i++) {
		json_t *t;

		if (strcmp(all[i].server, c->server) != 0 || !allowed(c, &all[i]))
			continue;
		t = xobject();
		set(t, "name", json_string(all[i].name));
		set(t, "description", json_string(all[i].description));
		set(t, "inputSchema", tools_input_schema(&all[i]));
		if (json_array_append_new(tools, t) != 0)
			abort();
	}
	set(r, "tools", tools);
	return r;
}

/* The bare name of a tools/call name, which may also be given canonically. */
static const char *bare_name(const struct call *c, const char *name)
{
	size_t slen = strlen(c->server);

	if (strncmp(name, "mcp__", 5) == 0 && strncmp(name + 5, c->server, slen) == 0 &&
	    strncmp(name + 5 + slen, "__", 2) == 0)
		return name + 5 + slen + 2;
	return name;
}

static json_t *do_tools_call(const struct call *c, const json_t *id, const json_t *params)
{
	const char *name = jsonx_str(params, "name");
	const json_t *args = json_object_get(params, "arguments");
	const struct tool_def *t;
	struct tool_ctx ctx = {c->context, c->b->w, c->server};
	struct tool_result res;
	json_t *r, *content, *part;

	if (name == NULL || strlen(name) > BROKER_MAX_TOOL_NAME ||
	    (args != NULL && !json_is_object(args) && !json_is_null(args)))
		return rpc_error(id, RPC_INVALID_PARAMS, "invalid_params");
	t = tools_find(c->server, bare_name(c, name));
	if (t == NULL)
		return rpc_error(id, RPC_SERVER_ERROR, "unknown_tool");
	if (!allowed(c, t))
		return rpc_error(id, RPC_SERVER_ERROR, "tool_not_allowed_for_session");
	log_debug("broker session %s: tools/call %s/%s", c->id, c->server, t->name);
	tools_call(t, &ctx, args, &res);
	if (res.capture != NULL)
		store_capture(c->b, c->id, res.capture);
	r = xobject();
	content = json_array();
	part = xobject();
	if (content == NULL)
		abort();
	set(part, "type", json_string("text"));
	set(part, "text", json_string(res.text));
	if (json_array_append_new(content, part) != 0)
		abort();
	set(r, "content", content);
	if (res.is_error)
		set(r, "isError", json_true());
	tool_result_clear(&res);
	return rpc_result(id, r);
}

static bool valid_id(const json_t *id)
{
	return json_is_string(id) || json_is_integer(id) || json_is_real(id) || json_is_null(id);
}

/* The reply to one message, or NULL when it gets none (a notification). */
static json_t *handle_one(const struct call *c, const json_t *msg)
{
	const json_t *id = json_object_get(msg, "id"), *params;
	const char *method = jsonx_str(msg, "method"), *version = jsonx_str(msg, "jsonrpc");
	json_t *reply;

	if (json_is_object(msg) && method == NULL &&
	    (json_object_get(msg, "result") != NULL || json_object_get(msg, "error") != NULL))
		return NULL; /* a client's response: we never send requests */
	if (!json_is_object(msg) || method == NULL || version == NULL ||
	    strcmp(version, "2.0") != 0 || (id != NULL && !valid_id(id)))
		return rpc_error(NULL, RPC_INVALID_REQUEST, "invalid_request");
	if (c->auth != AUTH_OK)
		return id == NULL ? NULL
				  : rpc_error(id, RPC_SERVER_ERROR,
					      c->auth == AUTH_UNKNOWN_SESSION
						      ? "unknown_or_expired_tool_broker_session"
						      : "invalid_tool_broker_token");
	params = json_object_get(msg, "params");
	if (strcmp(method, "initialize") == 0)
		reply = rpc_result(id, do_initialize(c, params));
	else if (strcmp(method, "notifications/initialized") == 0 || strcmp(method, "ping") == 0)
		reply = rpc_result(id, xobject());
	else if (strcmp(method, "tools/list") == 0)
		reply = rpc_result(id, do_tools_list(c));
	else if (strcmp(method, "tools/call") == 0)
		reply = do_tools_call(c, id, params);
	else
		reply = rpc_error(id, RPC_METHOD_NOT_FOUND, "method_not_found");
	if (id == NULL) {
		json_decref(reply);
		return NULL;
	}
	return reply;
}

/* The reply to the whole body: an object, an array for a batch, or NULL for none. */
static json_t *handle_body(const struct call *c, const json_t *body)
{
	json_t *replies, *msg;
	size_t i;

	if (!json_is_array(body))
		return handle_one(c, body);
	if (json_array_size(body) == 0)
		return rpc_error(NULL, RPC_INVALID_REQUEST, "invalid_request");
	if (json_array_size(body) > BROKER_MAX_BATCH)
		return rpc_error(NULL, RPC_INVALID_REQUEST, "batch_too_large");
	replies = json_array();
	if (replies == NULL)
		abort();
	json_array_foreach (body, i, msg) {
		json_t *r = handle_one(c, msg);

		if (r != NULL && json_array_append_new(replies, r) != 0)
			abort();
	}
	if (json_array_size(replies) == 0) {
		json_decref(replies);
		return NULL;
	}
	return replies;
}

static char *dump(json_t *v)
{
	char *text = jsonx_dumps_compact(v, NULL);

	if (text == NULL)
		abort();
	json_decref(v);
	return text;
}

static int http_error(int status, const char *code, const char *message, char **reply)
{
	json_t *r = xobject();

	set(r, "error", json_string(code));
	set(r, "message", json_string(message));
	*reply = dump(r);
	return status;
}

int broker_handle(struct broker *b, const char *id, const char *server, const char *authorization,
		  const char *body, size_t len, char **reply)
{
	struct call c = {b, id, TOOLS_SERVER_SECOND, AUTH_UNKNOWN_SESSION, NULL, NULL};
	struct err e = {0};
	json_t *msg, *out;
	char why[ERR_MSG_MAX + 64];

	*reply = NULL;
	if (len > BROKER_MAX_BODY_BYTES) {
		snprintf(why, sizeof(why), "The JSON-RPC body is larger than %d bytes.",
			 BROKER_MAX_BODY_BYTES);
		return http_error(413, "request_too_large", why, reply);
	}
	msg = jsonx_loadb(body != NULL ? body : "", body != NULL ? len : 0, BROKER_MAX_BODY_BYTES,
			  BROKER_MAX_JSON_DEPTH, &e);
	if (msg == NULL) {
		snprintf(why, sizeof(why), "The body is not a JSON-RPC message: %s", e.msg);
		return http_error(400, "invalid_json_rpc_body", why, reply);
	}
	if (tools_server_known(server))
		c.server = server;
	authenticate(&c, authorization);
	out = handle_body(&c, msg);
	if (out == NULL && c.auth != AUTH_OK)
		out = rpc_error(NULL, RPC_SERVER_ERROR,
				c.auth == AUTH_UNKNOWN_SESSION
					? "unknown_or_expired_tool_broker_session"
					: "invalid_tool_broker_token");
	json_decref(msg);
	json_decref(c.allowed);
	json_decref(c.context);
	if (out == NULL)
		return 204;
	*reply = dump(out);
	return 200;
}
