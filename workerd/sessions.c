/* Builder sessions: a small list under one mutex, keyed by the URL's app id.
 *
 * A session remembers the provider session state between turns and points at its running
 * turn, if any. Expiry only ever removes idle sessions (S-2, the C version's decision: a busy
 * session never expires). The number of sessions is capped by WORKERD_SESSIONS_MAX; when full,
 * the longest-idle session is dropped to make room, and if all are busy the request fails. */
#include <config.h>

#include "workerd/sessions.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/jsonx.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/timeutil.h"
#include "workerd/turn.h"
#include "workerd/workerd.h"

struct session {
	struct session *next;
	char *app_id;
	char *cwd;
	json_t *state; /* ProviderSessionState or NULL */
	int64_t created_ms, last_active_ms;
	struct turn *turn; /* running turn (one reference), or NULL */
};

struct sessions {
	struct workerd *w;
	pthread_mutex_t mu;
	struct session *head;
	size_t n;
};

struct sessions *sessions_new(struct workerd *w)
{
	struct sessions *s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	s->w = w;
	pthread_mutex_init(&s->mu, NULL);
	return s;
}

static void session_free(struct session *x)
{
	free(x->app_id);
	free(x->cwd);
	json_decref(x->state);
	turn_release(x->turn);
	free(x);
}

static struct session *find(struct sessions *s, const char *app_id, struct session ***link)
{
	struct session **pp = &s->head;
	for (; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->app_id, app_id) == 0) {
			if (link)
				*link = pp;
			return *pp;
		}
	return NULL;
}

static bool busy(const struct session *x)
{
	return x->turn && turn_running(x->turn);
}

static void unlink_session(struct sessions *s, struct session **link)
{
	struct session *x = *link;
	*link = x->next;
	s->n--;
	if (x->turn)
		turn_cancel(x->turn, "session_destroyed");
	session_free(x);
}

void sessions_free(struct sessions *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	for (struct session *x = s->head; x; x = x->next)
		if (x->turn)
			turn_cancel(x->turn, "shutdown");
	pthread_mutex_unlock(&s->mu);
	/* Give cancelled runtimes their grace period to exit before the process does. */
	for (int i = 0; i < 300; i++) {
		bool any = false;
		pthread_mutex_lock(&s->mu);
		for (struct session *x = s->head; x; x = x->next)
			any = any || busy(x);
		pthread_mutex_unlock(&s->mu);
		if (!any)
			break;
		usleep(10000);
	}
	pthread_mutex_lock(&s->mu);
	while (s->head)
		unlink_session(s, &s->head);
	pthread_mutex_unlock(&s->mu);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static bool same_provider_session(const json_t *a, const json_t *b)
{
	const char *ra = jsonx_str(a, "runtimeId"), *rb = jsonx_str(b, "runtimeId");
	const char *sa = jsonx_str(a, "sessionId"), *sb = jsonx_str(b, "sessionId");
	return ra && rb && sa && sb && *sa && strcmp(ra, rb) == 0 && strcmp(sa, sb) == 0;
}

/* Makes room for one more session by dropping the longest-idle one. */
static int make_room(struct sessions *s)
{
	if (s->n < WORKERD_SESSIONS_MAX)
		return 0;
	struct session **oldest = NULL;
	for (struct session **pp = &s->head; *pp; pp = &(*pp)->next)
		if (!busy(*pp) && (!oldest || (*pp)->last_active_ms < (*oldest)->last_active_ms))
			oldest = pp;
	if (!oldest)
		return -1;
	unlink_session(s, oldest);
	return 0;
}

static void turn_ended(void *arg, struct turn *t)
{
	struct sessions *s = arg;
	pthread_mutex_lock(&s->mu);
	for (struct session *x = s->head; x; x = x->next)
		if (x->turn == t) {
			x->turn = NULL;
			x->last_active_ms = time_mono_ms();
			turn_release(t);
			break;
		}
	pthread_mutex_unlock(&s->mu);
}

void sessions_turn_ended(struct sessions *s, const char *app_id, struct turn *t)
{
	(void)app_id; /* the turn pointer identifies the session */
	turn_ended(s, t);
}

int sessions_start_turn(struct sessions *s, struct turn_config *cfg, struct turn **out,
			struct err *e)
{
	pthread_mutex_lock(&s->mu);
	struct session *x = find(s, cfg->app_id, NULL);
	if (x && busy(x)) {
		pthread_mutex_unlock(&s->mu);
		turn_config_free(cfg);
		return err_set(e, ERR_CONFLICT,
			       "Session is already processing another message. Reconnect to the "
			       "active stream instead of starting a second message.");
	}
	if (!x) {
		if (make_room(s) < 0) {
			pthread_mutex_unlock(&s->mu);
			turn_config_free(cfg);
			return err_set(e, ERR_UNAVAILABLE, "too many busy sessions");
		}
		x = calloc(1, sizeof(*x));
		if (!x)
			abort();
		x->app_id = strdup(cfg->app_id);
		x->created_ms = time_now_ms();
		x->state = cfg->session_state ? json_deep_copy(cfg->session_state) : NULL;
		x->next = s->head;
		s->head = x;
		s->n++;
	} else if (!cfg->session_state) {
		json_decref(x->state); /* S-5: a request without state clears it */
		x->state = NULL;
	} else if (!(x->state && same_provider_session(x->state, cfg->session_state))) {
		json_decref(x->state);
		x->state = json_deep_copy(cfg->session_state);
	}
	/* The turn resumes from the effective state, live or incoming. */
	json_decref(cfg->session_state);
	cfg->session_state = x->state ? json_deep_copy(x->state) : NULL;
	free(x->cwd);
	x->cwd = strdup(cfg->cwd);
	x->last_active_ms = time_mono_ms();
	struct turn *t = turn_new(s->w, cfg);
	turn_retain(t); /* the session's reference */
	x->turn = t;
	if (turn_start(t, turn_ended, s, e) < 0) {
		x->turn = NULL;
		turn_release(t);
		turn_release(t);
		pthread_mutex_unlock(&s->mu);
		return -1;
	}
	pthread_mutex_unlock(&s->mu);
	*out = t;
	return 0;
}

static json_t *iso(int64_t ms)
{
	char buf[TIME_ISO_LEN + 1];
	time_iso8601(ms, buf);
	return json_string(buf);
}

json_t *sessions_status(struct sessions *s, const char *app_id)
{
	pthread_mutex_lock(&s->mu);
	struct session *x = find(s, app_id, NULL);
	json_t *r;
	if (!x) {
		r = json_pack("{s:b}", "exists", 0);
	} else {
		int64_t now = time_mono_ms(), wall = time_now_ms();
		int64_t idle = now - x->last_active_ms;
		int64_t ttl = (int64_t)s->w->session_ttl_s * 1000;
		r = json_pack("{s:b, s:s, s:O?, s:I, s:o, s:o}", "exists", 1, "status",
			      busy(x) ? "busy" : "idle", "sessionState", x->state, "ttlRemainingMs",
			      (json_int_t)(busy(x) ? ttl : (idle < ttl ? ttl - idle : 0)),
			      "createdAt", iso(x->created_ms), "lastActiveAt", iso(wall - idle));
		if (json_is_null(json_object_get(r, "sessionState")) || !x->state)
			json_object_set_new(r, "sessionState", json_null());
	}
	pthread_mutex_unlock(&s->mu);
	return r;
}

bool sessions_destroy(struct sessions *s, const char *app_id)
{
	pthread_mutex_lock(&s->mu);
	struct session **link = NULL;
	struct session *x = find(s, app_id, &link);
	if (x)
		unlink_session(s, link);
	pthread_mutex_unlock(&s->mu);
	return x != NULL;
}

json_t *sessions_cancel(struct sessions *s, const char *app_id, const char *reason)
{
	pthread_mutex_lock(&s->mu);
	struct session *x = find(s, app_id, NULL);
	bool cancelled = false;
	const char *status = "idle";
	if (x && x->turn) {
		status = busy(x) ? "busy" : "idle";
		cancelled = turn_cancel(x->turn, reason);
	}
	pthread_mutex_unlock(&s->mu);
	return json_pack("{s:b, s:b, s:s}", "ok", 1, "cancelled", cancelled, "status", status);
}

json_t *sessions_state(struct sessions *s, const char *app_id, char **cwd_out)
{
	pthread_mutex_lock(&s->mu);
	struct session *x = find(s, app_id, NULL);
	json_t *st = x && x->state ? json_deep_copy(x->state) : NULL;
	if (cwd_out)
		*cwd_out = x && x->cwd ? strdup(x->cwd) : NULL;
	pthread_mutex_unlock(&s->mu);
	return st;
}

json_t *sessions_list(struct sessions *s)
{
	json_t *arr = json_array();
	pthread_mutex_lock(&s->mu);
	for (struct session *x = s->head; x; x = x->next)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:O?}", "appId", x->app_id,
						     "status", busy(x) ? "busy" : "idle",
						     "sessionState", x->state));
	pthread_mutex_unlock(&s->mu);
	return arr;
}

void sessions_expire(struct sessions *s)
{
	int64_t now = time_mono_ms(), ttl = (int64_t)s->w->session_ttl_s * 1000;
	pthread_mutex_lock(&s->mu);
	for (struct session **pp = &s->head; *pp;) {
		struct session *x = *pp;
		if (!busy(x) && now - x->last_active_ms > ttl) {
			log_info("session expired: app %s", x->app_id);
			unlink_session(s, pp);
		} else {
			pp = &x->next;
		}
	}
	pthread_mutex_unlock(&s->mu);
}

void sessions_capture_state(struct sessions *s, const char *app_id, json_t *state)
{
	pthread_mutex_lock(&s->mu);
	struct session *x = find(s, app_id, NULL);
	if (x) {
		json_decref(x->state);
		x->state = state;
		x->last_active_ms = time_mono_ms();
		state = NULL;
	}
	pthread_mutex_unlock(&s->mu);
	json_decref(state);
}
