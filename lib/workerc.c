/* The responders' client of workerd's internal API (see workerc.h). */
#include <config.h>

#include "lib/workerc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "lib/jsonx.h"
#include "lib/limits.h"
#include "lib/sse.h"

struct body {
	char *p;
	size_t len;
	bool too_large;
};

static size_t collect(char *ptr, size_t size, size_t n, void *ud)
{
	struct body *b = ud;
	size_t k = size * n;
	if (b->len + k > WORKERC_MAX_REPLY_BYTES) {
		b->too_large = true;
		return 0;
	}
	char *np = realloc(b->p, b->len + k + 1);
	if (!np)
		abort();
	b->p = np;
	memcpy(b->p + b->len, ptr, k);
	b->len += k;
	b->p[b->len] = '\0';
	return k;
}

static CURL *easy(const struct wkc *w, const char *method, const char *path,
		  struct curl_slist **hdrs)
{
	char url[WORKERC_MAX_PATH + 32], auth[TOKEN_MAX_BYTES * 2 + 32];
	CURL *c = curl_easy_init();
	if (!c)
		return NULL;
	snprintf(url, sizeof(url), "http://workerd%s", path);
	*hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	if (w->token && *w->token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", w->token);
		*hdrs = curl_slist_append(*hdrs, auth);
	}
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, w->socket);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(w->connect_timeout_ms > 0 ? w->connect_timeout_ms : 2000));
	return c;
}

static bool valid_path(const char *path)
{
	return path && path[0] == '/' && strlen(path) < WORKERC_MAX_PATH && !strchr(path, ' ') &&
	       !strchr(path, '\r') && !strchr(path, '\n');
}

int wkc_call(const struct wkc *w, const char *method, const char *path, const json_t *body,
	     long *status, json_t **reply, struct err *e)
{
	struct curl_slist *h = NULL;
	struct body b = {0};
	char *text = NULL;
	*status = 0;
	*reply = NULL;
	if (!valid_path(path))
		return err_set(e, ERR_INVALID, "bad workerd path");
	CURL *c = easy(w, method, path, &h);
	if (!c)
		return err_set(e, ERR_INTERNAL, "curl_easy_init failed");
	if (body) {
		text = jsonx_dumps_compact(body, NULL);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
	}
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
			 (long)(w->call_timeout_ms > 0 ? w->call_timeout_ms : 30000));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	free(text);
	if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT || *status == 0) {
		free(b.p);
		return err_set(e, ERR_UNAVAILABLE, "Could not connect to the agent worker.");
	}
	if (rc != CURLE_OK) {
		free(b.p);
		return err_set(e, ERR_IO, "Lost connection to the agent worker.");
	}
	if (b.p) {
		json_error_t je;
		*reply = json_loadb(b.p, b.len, 0, &je);
	}
	free(b.p);
	return 0;
}

struct turn_read {
	struct sse_reader sse;
	wkc_data_fn fn;
	wkc_tick_fn tick;
	void *arg;
	long status;
	bool stopped, bad;
	CURL *c;
	struct err *e;
};

static int on_event(void *arg, const char *data, size_t len, const char *id)
{
	(void)id;
	struct turn_read *t = arg;
	if (t->fn(t->arg, data, len)) {
		t->stopped = true;
		return 1;
	}
	return 0;
}

static size_t on_bytes(char *ptr, size_t size, size_t n, void *ud)
{
	struct turn_read *t = ud;
	if (t->status == 0)
		curl_easy_getinfo(t->c, CURLINFO_RESPONSE_CODE, &t->status);
	if (t->status < 200 || t->status > 299)
		return size * n; /* the error body is not a stream: ignore it */
	int rc = sse_feed(&t->sse, ptr, size * n, t->e);
	if (rc < 0)
		t->bad = true;
	return rc == 0 ? size * n : 0;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt, (void)dn, (void)ut, (void)un;
	struct turn_read *t = ud;
	if (t->tick)
		t->tick(t->arg);
	return 0;
}

int wkc_turn(const struct wkc *w, const char *app_id, const json_t *body, wkc_data_fn fn,
	     wkc_tick_fn tick, void *arg, bool *lost, struct err *e)
{
	char path[WORKERC_MAX_PATH];
	struct curl_slist *h = NULL;
	*lost = false;
	if (snprintf(path, sizeof(path), "/sessions/%s/messages", app_id) >= (int)sizeof(path) ||
	    !valid_path(path))
		return err_set(e, ERR_INVALID, "bad app id");
	CURL *c = easy(w, "POST", path, &h);
	if (!c)
		return err_set(e, ERR_INTERNAL, "curl_easy_init failed");
	char *text = jsonx_dumps_compact(body, NULL);
	struct turn_read t = {.fn = fn, .tick = tick, .arg = arg, .c = c, .e = e};
	sse_reader_init(&t.sse, on_event, &t);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_bytes);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	/* No overall timeout (a turn can run for long), but a dead peer is noticed: workerd
	 * sends keep-alives, so no bytes for this long means it is gone. */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)WORKERC_IDLE_S);
	CURLcode rc = curl_easy_perform(c);
	if (t.status == 0)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t.status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	sse_reader_free(&t.sse);
	free(text);
	if (t.stopped)
		return 0;
	if (t.bad)
		return -1;
	if (t.status == 0)
		return err_set(e, ERR_UNAVAILABLE, "Could not connect to the agent worker.");
	if (t.status < 200 || t.status > 299)
		return err_set(e, ERR_UNAVAILABLE, "Agent worker returned %ld", t.status);
	if (rc != CURLE_OK) {
		*lost = true;
		return err_set(e, ERR_IO, "Lost connection to the agent worker stream.");
	}
	return 0;
}
