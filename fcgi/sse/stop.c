/* POST .../runs/:runId/chat/stop: the user stops a turn (B-16).
 *
 * workerd is asked to cancel the app's turn (its CLI gets SIGTERM, then SIGKILL), and the run
 * is failed with user_stopped under its stored lease, so the sender, which then finds its
 * lease gone, writes nothing more into the run. The replay stream gets its terminal entry so
 * observers end too. */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "fcgi/sse/sse.h"
#include "lib/jsonx.h"
#include "lib/log.h"
#include "lib/replay.h"

static int stop(struct http_req *req)
{
	struct sse *s = sse_of(req);
	json_t *app = NULL, *run = NULL;
	struct runs_key k;
	struct err e = {0};
	if (sse_open_run(req, false, &app, &run, &k) < 0)
		return 0;
	json_decref(app);
	const char *status = jsonx_str(run, "status");
	if (!status || strcmp(status, "streaming") != 0) {
		bool terminal = status &&
				(strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0);
		json_t *reply = json_pack("{s:b, s:s?, s:b, s:b, s:O?}", "ok", 1, "status", status,
					  "alreadyTerminal", terminal, "workerCancelled", 0,
					  "failure", json_object_get(run, "failure"));
		json_decref(run);
		return http_reply_json(req, 200, reply);
	}
	json_decref(run);
	char path[WORKERC_MAX_PATH];
	long st = 0;
	json_t *wreply = NULL;
	snprintf(path, sizeof(path), "/sessions/%s/cancel", k.app_id);
	json_t *wbody = json_pack("{s:s, s:s}", "reason", "user_stopped", "runId", k.run_id);
	bool cancelled = wkc_call(&s->worker, "POST", path, wbody, &st, &wreply, &e) == 0 &&
			 st == 200;
	json_decref(wbody);
	json_decref(wreply);
	if (!cancelled)
		log_warning("run %s: workerd cancel failed: %s", k.run_id, e.msg);
	json_t *failure =
		cancelled
			? runs_failure("user_stopped", "client_stop", "Run stopped by the user.",
				       true)
			: runs_failure("worker_cancel_failed", "client_stop",
				       "Run stopped locally, but the worker cancel request failed.",
				       true);
	bool applied = false;
	json_t *after = NULL;
	if (runs_stop(s->store, &k, failure, &applied, &after, &e) < 0) {
		json_decref(failure);
		return http_reply_err(req, &e);
	}
	sse_audit(req, "builder_run.stopped", cancelled ? "notice" : "warning", k.run_id, NULL,
		  "Builder run stopped",
		  json_pack("{s:s, s:b, s:b}", "appId", k.app_id, "stopped", applied,
			    "workerCancelled", cancelled));
	if (applied) {
		struct rds *r = sse_redis(&e);
		if (!r || replay_terminal(r, k.run_id, "failed", &e) < 0)
			log_warning("run %s: replay terminal not written: %s", k.run_id, e.msg);
		sse_run_event(k.run_id, "failed", NULL);
	}
	json_t *reply = json_pack("{s:b, s:s, s:b, s:b, s:O?}", "ok", 1, "status", "failed",
				  "stopped", applied, "workerCancelled", cancelled, "failure",
				  applied ? failure : json_object_get(after, "failure"));
	json_decref(failure);
	json_decref(after);
	return http_reply_json(req, 200, reply);
}

const struct http_route sse_routes_stop[] = {
	{"POST", "/api/workspaces/:ws/apps/:appId/runs/:runId/chat/stop", stop, ACCESS_WORKSPACE, 0,
	 NULL, 0},
	{NULL, NULL, NULL, 0, 0, NULL, 0},
};
