/* GET .../runs/:runId/chat/stream: an observer attaches to a run's chat (B-14).
 *
 * This project's design is replay-only: everything the sender wrote is in the run's replay
 * stream (lib/replay), so an observer reads it from its cursor (?cursor= or Last-Event-ID, an
 * entry id; from the start by default) and then follows new entries until the terminal one.
 * Every frame carries its entry id, so a reconnect resumes exactly where it stopped. While the
 * run is streaming but not yet attachable, the route waits up to CHAT_ATTACH_WAIT_MS; with
 * nothing to replay it answers 204, which clients treat as "not yet" while the run streams. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcgi/sse/sse.h"
#include "lib/jsonx.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/replay.h"
#include "lib/sse.h"
#include "lib/timeutil.h"

static bool streaming_unattached(const json_t *run)
{
	const char *st = jsonx_str(run, "status");
	return st && strcmp(st, "streaming") == 0 && !jsonx_str(run, "activeStreamId");
}

static int attach(struct http_req *req)
{
	struct sse *s = sse_of(req);
	json_t *app = NULL, *run = NULL;
	struct runs_key k;
	struct err e = {0};
	if (sse_open_run(req, true, &app, &run, &k) < 0)
		return 0;
	json_decref(app);
	const char *cursor = http_query(req, "cursor");
	if (!cursor || !*cursor)
		cursor = http_header(req, "Last-Event-ID");
	if (cursor && *cursor && strcmp(cursor, "0") != 0 && !replay_valid_id(cursor)) {
		json_decref(run);
		return http_reply_error(req, 400, "invalid_cursor",
					"the cursor is not an entry id");
	}
	char after[REPLAY_ID_MAX];
	snprintf(after, sizeof(after), "%s", cursor && *cursor ? cursor : "0");
	/* Streaming but not attachable yet: give the sender a moment (B-14 step 3). */
	for (int64_t until = time_mono_ms() + CHAT_ATTACH_WAIT_MS;
	     streaming_unattached(run) && time_mono_ms() < until;) {
		usleep(50000);
		json_decref(run);
		run = NULL;
		if (runs_get(s->store, &k, &run, &e) < 0 || !run)
			break;
	}
	json_decref(run);
	struct rds *r = sse_redis(&e);
	bool exists = false, complete = false, terminal = false;
	if (!r || replay_state(r, k.run_id, &exists, &complete, &terminal, &e) < 0) {
		log_warning("run %s: replay unavailable: %s", k.run_id, e.msg);
		return http_reply_status(req, 204);
	}
	if (!exists || (strcmp(after, "0") == 0 && !complete))
		return http_reply_status(req, 204);
	http_set_header(req, "Cache-Control", "no-cache");
	http_set_header(req, "X-Vercel-Ai-Ui-Message-Stream", "v1");
	http_set_header(req, "X-Second-Stream-Replay", "1");
	http_set_header(req, "X-Accel-Buffering", "no");
	if (http_stream_begin(req, 200, "text/event-stream") < 0)
		return 0;
	int64_t quiet_since = time_mono_ms();
	for (;;) {
		struct replay_event *ev = NULL;
		size_t n = 0;
		if (replay_read(r, k.run_id, after, CHAT_ATTACH_BLOCK_MS, 0, &ev, &n, &e) < 0) {
			log_warning("run %s: replay read: %s", k.run_id, e.msg);
			break;
		}
		bool end = false;
		for (size_t i = 0; i < n && !end; i++) {
			snprintf(after, sizeof(after), "%s", ev[i].id);
			if (ev[i].terminal[0]) {
				end = true;
				break;
			}
			size_t flen = 0;
			char *frame = sse_frame(ev[i].chunk, ev[i].len, ev[i].id, &flen);
			int w = http_stream_write(req, frame, flen);
			free(frame);
			if (w < 0)
				end = true;
		}
		replay_events_free(ev, n);
		if (end || http_stream_gone(req) || http_stopping())
			break;
		if (n == 0 && time_mono_ms() - quiet_since >= s->keepalive_s * 1000L) {
			if (http_stream_write(req, ": keep-alive\n\n", 14) < 0)
				break;
			quiet_since = time_mono_ms();
		} else if (n > 0) {
			quiet_since = time_mono_ms();
		}
	}
	return 0;
}

/* GET .../runs/:runId/events (B-17): the run's event channel relayed as SSE, for tabs that
 * follow a run's state (stream_started, completed, failed). Ends when the client goes. */
static int events(struct http_req *req)
{
	struct sse *s = sse_of(req);
	json_t *app = NULL, *run = NULL;
	struct runs_key k;
	struct err e = {0};
	if (sse_open_run(req, true, &app, &run, &k) < 0)
		return 0;
	json_decref(app);
	char channel[128];
	snprintf(channel, sizeof(channel), "run:%s:events", k.run_id);
	const char *channels[] = {channel};
	struct rds_sub *sub = NULL;
	if (rds_subscribe(&s->redis, channels, 1, &sub, &e) != 0) {
		json_decref(run);
		return http_reply_error(req, 503, "events_unavailable", "%s", e.msg);
	}
	http_set_header(req, "Cache-Control", "no-cache");
	http_set_header(req, "X-Accel-Buffering", "no");
	bool ok = http_stream_begin(req, 200, "text/event-stream") == 0 &&
		  http_stream_write(req, ": ok\n\n", 6) == 0;
	const char *st = jsonx_str(run, "status");
	static const char sync[] = "data: {\"type\":\"status_sync\",\"status\":\"streaming\"}\n\n";
	if (ok && st && strcmp(st, "streaming") == 0 && jsonx_str(run, "activeStreamId"))
		ok = http_stream_write(req, sync, sizeof(sync) - 1) == 0;
	json_decref(run);
	int64_t quiet_since = time_mono_ms();
	while (ok && !http_stopping()) {
		char *ch = NULL, *msg = NULL;
		size_t len = 0;
		int r = rds_sub_next(sub, 1000, &ch, &msg, &len, &e);
		if (r < 0)
			break;
		if (r > 0) {
			size_t flen = 0;
			char *frame = sse_frame(msg, len, NULL, &flen);
			ok = http_stream_write(req, frame, flen) == 0;
			free(frame);
			quiet_since = time_mono_ms();
		} else if (time_mono_ms() - quiet_since >= s->keepalive_s * 1000L) {
			ok = http_stream_write(req, ": keep-alive\n\n", 14) == 0;
			quiet_since = time_mono_ms();
		}
		free(ch);
		free(msg);
	}
	rds_sub_close(sub);
	return 0;
}

const struct http_route sse_routes_attach[] = {
	{"GET", "/api/workspaces/:ws/apps/:appId/runs/:runId/events", events, ACCESS_WORKSPACE, 0,
	 NULL, 0},
	{"GET", "/api/workspaces/:ws/apps/:appId/runs/:runId/chat/stream", attach, ACCESS_WORKSPACE,
	 0, NULL, 0},
	{NULL, NULL, NULL, 0, 0, NULL, 0},
};
