/* second-sse: the builder chat responder. Loads the configuration, opens the store, and serves
 * the chat routes (sender, observers, stop) with the guard as the dispatch hook until SIGTERM.
 *
 * Streams hold a worker thread each for their whole life, so the pool is sse.threads threads
 * with small stacks; a process keeps nothing between requests, and any number of copies can
 * run behind the web server. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "fcgi/sse/sse.h"
#include "lib/appaccess.h"
#include "lib/audit-http.h"
#include "lib/jsonx.h"
#include "lib/log.h"
#include "lib/service.h"

static struct sse sse;
static struct guard_deps deps;
struct rds *sse_redis(struct err *e)
{
	return service_thread_redis(&sse.redis, e);
}

struct sse *sse_of(struct http_req *req)
{
	return http_app(req);
}

struct guard_ctx *sse_ctx(struct http_req *req)
{
	return http_ctx(req);
}

void sse_run_event(const char *run_id, const char *type, const char *stream_id)
{
	struct err e = {0};
	struct rds *r = sse_redis(&e);
	char channel[128];
	json_t *msg = json_pack("{s:s, s:s?}", "type", type, "streamId", stream_id);
	char *text = jsonx_dumps_compact(msg, NULL);
	json_decref(msg);
	snprintf(channel, sizeof(channel), "run:%s:events", run_id);
	if (!r || rds_publish(r, channel, text, strlen(text), NULL, &e) < 0)
		log_warning("run %s: %s not published: %s", run_id, type, e.msg);
	free(text);
}

void sse_audit(struct http_req *req, const char *event_name, const char *severity,
	       const char *run_id, const char *app_name, const char *summary, json_t *meta_stolen)
{
	struct guard_ctx *ctx = sse_ctx(req);
	audit_http(sse.store, sse_redis, req, ctx, ctx->workspace_id,
		   ctx->role != ROLE_NONE ? guard_role_name(ctx->role) : NULL, event_name, "apps",
		   severity, "run", run_id, app_name, summary, meta_stolen);
}

static bool object_id(const char *raw, char out[ID_HEX_LEN + 1])
{
	if (!raw || strlen(raw) != ID_HEX_LEN)
		return false;
	for (size_t i = 0; i < ID_HEX_LEN; i++) {
		char c = raw[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
		out[i] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
	}
	out[ID_HEX_LEN] = '\0';
	return true;
}

int sse_open_run(struct http_req *req, bool quiet, json_t **app, json_t **run, struct runs_key *key)
{
	static __thread char app_id[ID_HEX_LEN + 1], run_id[ID_HEX_LEN + 1];
	struct guard_ctx *ctx = sse_ctx(req);
	struct err e = {0};
	struct app_access a;
	*app = *run = NULL;
	bool ok_ids = object_id(http_param(req, "appId"), app_id) &&
		      object_id(http_param(req, "runId"), run_id);
	json_t *f = json_pack("{s:s, s:s}", "_id", app_id, "workspaceId", ctx->workspace_id);
	if (ok_ids && store_find_one(sse.store, "apps", f, NULL, 0, app, &e) != 0) {
		json_decref(f);
		http_reply_err(req, &e);
		return -1;
	}
	json_decref(f);
	if (*app)
		app_access_of(ctx, *app, &a);
	if (!*app || !app_can_view(&a) || (quiet && !app_can_collaborate(&a))) {
		json_decref(*app);
		*app = NULL;
		if (quiet)
			return http_reply_status(req, 404), -1;
		return http_reply_error(req, 404, "app_not_found", "no such app"), -1;
	}
	if (!app_can_collaborate(&a)) {
		json_decref(*app);
		*app = NULL;
		return http_reply_error(req, 404, "run_not_found", "no such run"), -1;
	}
	*key = (struct runs_key){ctx->workspace_id, app_id, run_id};
	if (runs_get(sse.store, key, run, &e) != 0) {
		json_decref(*app);
		*app = NULL;
		http_reply_err(req, &e);
		return -1;
	}
	if (!*run) {
		json_decref(*app);
		*app = NULL;
		if (quiet)
			return http_reply_status(req, 404), -1;
		return http_reply_error(req, 404, "run_not_found", "no such run"), -1;
	}
	return 0;
}

static const struct http_route *const tables[] = {sse_routes_chat, sse_routes_attach,
						  sse_routes_stop};

static int dispatch(struct http_req *req, const struct http_route *route)
{
	return guard_check(&deps, req, route);
}

int main(int argc, char **argv)
{
	struct http_server srv = {0};
	struct http_route *routes = NULL;
	struct config *cfg = NULL;
	struct err e = {0};
	int rc = 1;

	log_init("second-sse", LOG_LEVEL_INFO, LOG_TARGET_AUTO);
	int status = service_responder_config(argc, argv, "second-sse", &cfg);
	if (status >= 0)
		return status;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    service_log_init(cfg, "second-sse", &e) != 0 ||
	    service_store_open(cfg, &store_schema_second, &sse.store, &e) != 0) {
		log_error("start: %s", e.msg);
		goto out;
	}
	sse.cfg = cfg;
	service_redis_opts(cfg, &sse.redis);
	const char *wl = config_str(cfg, "workerd.listen");
	sse.worker.socket = strncmp(wl, "unix:", 5) == 0 ? wl + 5 : wl;
	sse.worker.token = config_str(cfg, "api.internal_token");
	sse.worker.connect_timeout_ms = 2000;
	sse.worker.call_timeout_ms = 30000;
	sse.keepalive_s = (int)config_int(cfg, "sse.keepalive_s");
	deps.store = sse.store;
	deps.redis = sse_redis;
	deps.internal_token = config_str(cfg, "api.internal_token");
	routes = http_routes_join(tables, sizeof(tables) / sizeof(tables[0]), &srv.nroutes);
	srv.routes = routes;
	srv.dispatch = dispatch;
	srv.threads = (int)config_int(cfg, "sse.threads");
	srv.stack_kib = SSE_THREAD_STACK_KIB;
	srv.listen = config_str(cfg, "sse.listen");
	srv.app = &sse;
	srv.name = "second-sse";
	log_notice("serving %zu routes on %s with %d threads", srv.nroutes,
		   *srv.listen ? srv.listen : "the inherited socket", srv.threads);
	if (http_serve(&srv, &e) != 0) {
		log_error("serve: %s", e.msg);
		goto out;
	}
	rc = 0;
out:
	free(routes);
	store_close(sse.store);
	config_free(cfg);
	curl_global_cleanup();
	return rc;
}
