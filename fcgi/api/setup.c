/* GET /api/setup/detect-provider (API-13): which agent runtimes this installation can run.
 *
 * A proxy of workerd's GET /detect-provider, which answers per runtime (claude-code, codex-cli,
 * opencode) with availability, version and authentication flags, never a secret. Only the
 * local sign-in mode (auth.mode none) offers it; other modes get 404 not_found. A workerd that
 * cannot be reached still answers 200, with workerReachable false and no runtime available,
 * so the UI can say what to install or start. */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "fcgi/api/api.h"
#include "lib/log.h"
#include "lib/workerc.h"

static const char *const runtime_ids[] = {"claude-code", "codex-cli", "opencode"};

/* The reply when workerd did not answer: every runtime unavailable with the reason. */
static json_t *unreachable(const char *why)
{
	json_t *rts = json_object();
	for (size_t i = 0; i < sizeof(runtime_ids) / sizeof(runtime_ids[0]); i++)
		json_object_set_new(rts, runtime_ids[i],
				    json_pack("{s:b, s:s}", "available", 0, "error", why));
	return json_pack("{s:o, s:b, s:b}", "runtimes", rts, "apiKeyConfigured", 0,
			 "workerReachable", 0);
}

static int detect_provider(struct http_req *req)
{
	if (strcmp(config_str(api_of(req)->cfg, "auth.mode"), "none") != 0)
		return http_reply_error(req, 404, "not_found", "Not found.");
	struct wkc w;
	api_workerd_client(req, &w);
	json_t *reply = NULL;
	long status = 0;
	struct err e = {0};
	if (wkc_call(&w, "GET", "/detect-provider", NULL, &status, &reply, &e) != 0 ||
	    status != 200 || !json_is_object(json_object_get(reply, "runtimes"))) {
		log_warning("detect-provider: workerd did not answer (%ld): %s", status,
			    e.msg[0] ? e.msg : "unexpected reply");
		json_decref(reply);
		return http_reply_json(req, 200, unreachable("The agent worker is not running."));
	}
	json_object_set_new(reply, "workerReachable", json_true());
	return http_reply_json(req, 200, reply);
}

const struct http_route api_routes_setup[] = {
	{"GET", "/api/setup/detect-provider", detect_provider, ACCESS_READY, PERM_NONE, NULL, 0},
	{NULL, NULL, NULL, 0, 0, NULL, 0},
};
