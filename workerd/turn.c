/* One builder turn: a thread running a runtime adapter, and the bounded queue of SSE frames
 * between it and the HTTP reply.
 *
 * Frames are kept as the bytes that go on the wire, so the reader does no work under the lock.
 * The final frame ([DONE] or one error) is queued by the turn thread after the adapter
 * returns; `ended` then tells readers that nothing more will come. */
#include <config.h>

#include "workerd/turn.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/jsonx.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "workerd/broker.h"
#include "workerd/proc.h"
#include "workerd/runtimes/runtime.h"
#include "workerd/sessions.h"
#include "workerd/workerd.h"

struct frame {
	struct frame *next;
	size_t len;
	char data[];
};

struct turn {
	atomic_int refs;
	struct workerd *w;
	struct turn_config cfg;
	char broker_id[BROKER_ID_LEN + 1];
	char broker_token[BROKER_TOKEN_LEN + 1];
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct frame *head, *tail;
	size_t queued;
	bool running, ended;
	const char *cancel_reason;
	struct proc *proc;
	char *failure;    /* turn_fail's message */
	json_t *captured; /* set_app_metadata's values, kept from the broker session */
	turn_ended_fn on_end;
	void *on_end_arg;
};

void turn_config_free(struct turn_config *c)
{
	free(c->app_id);
	free(c->runtime_id);
	free(c->model);
	json_decref(c->params);
	free(c->mode);
	free(c->prompt);
	free(c->system_prompt);
	free(c->cwd);
	json_decref(c->allowed_tools);
	json_decref(c->session_state);
	json_decref(c->context);
	memset(c, 0, sizeof(*c));
}

struct turn *turn_new(struct workerd *w, struct turn_config *cfg)
{
	struct turn *t = calloc(1, sizeof(*t));
	if (!t)
		abort();
	atomic_init(&t->refs, 1);
	t->w = w;
	t->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	pthread_mutex_init(&t->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cond, &ca);
	pthread_condattr_destroy(&ca);
	return t;
}

void turn_retain(struct turn *t)
{
	atomic_fetch_add(&t->refs, 1);
}

void turn_release(struct turn *t)
{
	if (!t || atomic_fetch_sub(&t->refs, 1) != 1)
		return;
	for (struct frame *f = t->head, *next; f; f = next) {
		next = f->next;
		free(f);
	}
	turn_config_free(&t->cfg);
	free(t->failure);
	json_decref(t->captured);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

const struct turn_config *turn_config(const struct turn *t)
{
	return &t->cfg;
}

struct workerd *turn_workerd(const struct turn *t)
{
	return t->w;
}

const char *turn_broker_id(const struct turn *t)
{
	return t->broker_id;
}

const char *turn_broker_token(const struct turn *t)
{
	return t->broker_token;
}

void turn_mcp_url(const struct turn *t, const char *server, char *buf, size_t bufsz)
{
	snprintf(buf, bufsz, "%s/mcp/%s?server=%s", t->w->mcp_url, t->broker_id, server);
}

static void abs_deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Appends a frame; `force` ignores the size bound (the final frame must always fit). */
static int enqueue(struct turn *t, const char *prefix, const char *body, size_t blen, bool force)
{
	size_t plen = strlen(prefix);
	struct frame *f = malloc(sizeof(*f) + plen + blen + 2);
	if (!f)
		abort();
	memcpy(f->data, prefix, plen);
	memcpy(f->data + plen, body, blen);
	memcpy(f->data + plen + blen, "\n\n", 2);
	f->len = plen + blen + 2;
	f->next = NULL;
	pthread_mutex_lock(&t->mu);
	while (!force && t->queued > TURN_QUEUE_MAX && !t->cancel_reason) {
		struct timespec ts;
		abs_deadline(&ts, 1000);
		pthread_cond_timedwait(&t->cond, &t->mu, &ts);
	}
	if (!force && t->cancel_reason) {
		pthread_mutex_unlock(&t->mu);
		free(f);
		return -1;
	}
	if (t->tail)
		t->tail->next = f;
	else
		t->head = f;
	t->tail = f;
	t->queued += f->len;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->mu);
	return 0;
}

/* S-6: what a message says about the provider session. New ref or NULL. */
static json_t *captured_state(const struct turn *t, const json_t *msg)
{
	json_t *pss = json_object_get(msg, "providerSessionState");
	if (json_is_object(pss))
		return json_deep_copy(pss);
	const char *sid = jsonx_str(msg, "session_id");
	if (sid && *sid && jsonx_str(msg, "type") &&
	    strcmp(jsonx_str(msg, "type"), "system") == 0 && jsonx_str(msg, "subtype") &&
	    strcmp(jsonx_str(msg, "subtype"), "init") == 0) {
		char format[64];
		if (strcmp(t->cfg.runtime_id, "claude-code") == 0)
			snprintf(format, sizeof(format), "claude-jsonl");
		else
			snprintf(format, sizeof(format), "%s-session", t->cfg.runtime_id);
		return json_pack("{s:s, s:s, s:s}", "runtimeId", t->cfg.runtime_id, "sessionId",
				 sid, "format", format);
	}
	return NULL;
}

int turn_emit(struct turn *t, json_t *msg)
{
	if (!msg)
		return -1;
	json_t *state = captured_state(t, msg);
	if (state)
		sessions_capture_state(t->w->sessions, t->cfg.app_id, state);
	size_t len = 0;
	char *text = jsonx_dumps_compact(msg, &len);
	json_decref(msg);
	if (!text)
		return -1;
	int r = enqueue(t, "data: ", text, len, false);
	free(text);
	return r;
}

bool turn_cancelled(const struct turn *t)
{
	pthread_mutex_t *mu = (pthread_mutex_t *)&t->mu; /* const view, locked access */
	pthread_mutex_lock(mu);
	bool c = t->cancel_reason != NULL;
	pthread_mutex_unlock(mu);
	return c;
}

void turn_fail(struct turn *t, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	if ((size_t)n > TURN_ERROR_MAX)
		msg[TURN_ERROR_MAX] = '\0';
	pthread_mutex_lock(&t->mu);
	free(t->failure);
	t->failure = msg;
	pthread_mutex_unlock(&t->mu);
}

void turn_set_proc(struct turn *t, struct proc *p)
{
	pthread_mutex_lock(&t->mu);
	t->proc = p;
	if (p && t->cancel_reason)
		proc_terminate(p);
	pthread_mutex_unlock(&t->mu);
}

bool turn_cancel(struct turn *t, const char *reason)
{
	pthread_mutex_lock(&t->mu);
	bool was = t->running && !t->cancel_reason;
	if (!t->cancel_reason && !t->ended)
		t->cancel_reason = reason ? reason : "cancelled";
	if (t->proc)
		proc_terminate(t->proc);
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->mu);
	return was;
}

const char *turn_cancel_reason(const struct turn *t)
{
	pthread_mutex_t *mu = (pthread_mutex_t *)&t->mu;
	pthread_mutex_lock(mu);
	const char *r = t->cancel_reason;
	pthread_mutex_unlock(mu);
	return r;
}

json_t *turn_captured(struct turn *t)
{
	pthread_mutex_lock(&t->mu);
	json_t *c = t->captured ? json_deep_copy(t->captured) : NULL;
	pthread_mutex_unlock(&t->mu);
	return c;
}

bool turn_running(const struct turn *t)
{
	pthread_mutex_t *mu = (pthread_mutex_t *)&t->mu;
	pthread_mutex_lock(mu);
	bool r = t->running;
	pthread_mutex_unlock(mu);
	return r;
}

int turn_next(struct turn *t, int timeout_ms, char **out, size_t *outlen)
{
	struct timespec ts;
	abs_deadline(&ts, timeout_ms);
	pthread_mutex_lock(&t->mu);
	while (!t->head && !t->ended) {
		if (pthread_cond_timedwait(&t->cond, &t->mu, &ts) != 0 && !t->head && !t->ended) {
			pthread_mutex_unlock(&t->mu);
			return 0;
		}
	}
	struct frame *f = t->head;
	if (!f) {
		pthread_mutex_unlock(&t->mu);
		return -1;
	}
	t->head = f->next;
	if (!t->head)
		t->tail = NULL;
	t->queued -= f->len;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->mu);
	/* The frame struct's header is moved out of the way so the caller frees one pointer. */
	size_t len = f->len;
	memmove(f, f->data, len);
	*out = (char *)f;
	*outlen = len;
	return 1;
}

static void finish(struct turn *t, int rc, const struct err *e)
{
	const char *cancelled = turn_cancel_reason(t);
	if (rc == 0 && !cancelled) {
		enqueue(t, "data: ", "[DONE]", 6, true);
	} else {
		const char *msg = cancelled    ? "Agent run cancelled"
				  : t->failure ? t->failure
					       : e->msg;
		json_t *ev = json_pack("{s:s, s:s}", "type", "error", "error", msg);
		size_t len = 0;
		char *text = jsonx_dumps_compact(ev, &len);
		json_decref(ev);
		enqueue(t, "data: ", text, len, true);
		free(text);
	}
	pthread_mutex_lock(&t->mu);
	t->ended = true;
	t->running = false;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->mu);
}

static json_t *broker_context(const struct turn *t)
{
	json_t *ctx = json_is_object(t->cfg.context) ? json_deep_copy(t->cfg.context)
						     : json_object();
	json_object_set_new(ctx, "cwd", json_string(t->cfg.cwd));
	json_object_set_new(ctx, "appId", json_string(t->cfg.app_id));
	return ctx;
}

static void *turn_main(void *arg)
{
	struct turn *t = arg;
	struct err e = {0};
	int rc = -1;
	const struct runtime *rt = runtime_find(t->cfg.runtime_id);
	json_t *ctx = broker_context(t);
	bool opened = false;
	if (!rt) {
		err_set(&e, ERR_INVALID, "invalid_runtime_settings");
	} else if (broker_open(t->w->broker, t->cfg.runtime_id, t->cfg.allowed_tools, ctx,
			       t->broker_id, t->broker_token, &e) == 0) {
		opened = true;
		log_info("turn started: app %s runtime %s", t->cfg.app_id, t->cfg.runtime_id);
		rc = rt->run(t, &e);
	}
	json_decref(ctx);
	if (opened) {
		json_t *cap = broker_captured(t->w->broker, t->broker_id);
		pthread_mutex_lock(&t->mu);
		t->captured = cap;
		pthread_mutex_unlock(&t->mu);
		broker_close(t->w->broker, t->broker_id);
	}
	const char *cancelled = turn_cancel_reason(t);
	log_info("turn ended: app %s %s%s", t->cfg.app_id,
		 cancelled ? "cancelled: " : (rc == 0 ? "ok" : "failed: "),
		 cancelled ? cancelled : (rc == 0 ? "" : e.msg));
	finish(t, rc, &e);
	if (t->on_end)
		t->on_end(t->on_end_arg, t);
	turn_release(t);
	return NULL;
}

int turn_start(struct turn *t, turn_ended_fn ended, void *arg, struct err *e)
{
	t->on_end = ended;
	t->on_end_arg = arg;
	t->running = true;
	turn_retain(t);
	pthread_t th;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int r = pthread_create(&th, &attr, turn_main, t);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		t->running = false;
		turn_release(t);
		return err_set(e, ERR_INTERNAL, "cannot start a turn thread");
	}
	return 0;
}
