/* second-api: the REST responder. Loads the configuration, opens the store, and serves the
 * route table with the guard as the dispatch hook until SIGTERM.
 *
 * The process holds no state between requests beyond its connections: any number of copies
 * can run behind the web server. */
#include <config.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/api/api.h"
#include "lib/log.h"
#include "lib/service.h"

/* Requests allocate and free the same sizes over and over. Above these, glibc would hand
 * freed memory back to the kernel and fault it in again on the next request; and without
 * fastbins (small sizes still go through the per-thread cache), the large buffers every
 * request takes do not make glibc consolidate all the small chunks freed since. */
#define API_MALLOC_TRIM_BYTES (32 * 1024 * 1024)
#define API_MALLOC_MMAP_BYTES (4 * 1024 * 1024)

static struct api api;
static struct guard_deps deps;
struct rds *api_redis(struct err *e)
{
	return service_thread_redis(&api.redis, e);
}

struct api *api_of(struct http_req *req)
{
	return http_app(req);
}

struct guard_ctx *api_ctx(struct http_req *req)
{
	return http_ctx(req);
}

static int dispatch(struct http_req *req, const struct http_route *route)
{
	return guard_check(&deps, req, route);
}

int main(int argc, char **argv)
{
	struct http_server srv = {0};
	struct config *cfg = NULL;
	struct err e = {0};
	int rc = 1;

	log_init("second-api", LOG_LEVEL_INFO, LOG_TARGET_AUTO);
	/* Tuning only: when refused, the defaults still work. */
	(void)mallopt(M_TRIM_THRESHOLD, API_MALLOC_TRIM_BYTES);
	(void)mallopt(M_MMAP_THRESHOLD, API_MALLOC_MMAP_BYTES);
	(void)mallopt(M_MXFAST, 0);
	int status = service_responder_config(argc, argv, "second-api", &cfg);
	if (status >= 0)
		return status;
	if (service_log_init(cfg, "second-api", &e) != 0 ||
	    service_store_open(cfg, &store_schema_second, &api.store, &e) != 0) {
		log_error("start: %s", e.msg);
		goto out;
	}
	api.cfg = cfg;
	service_redis_opts(cfg, &api.redis);
	api.session_ttl_s = config_int(cfg, "auth.session_ttl_s");
	api.public_url = config_str(cfg, "http.public_url");
	deps.store = api.store;
	deps.redis = api_redis;
	deps.internal_token = config_str(cfg, "api.internal_token");
	deps.on_denied = api_audit_denied;
	srv.routes = api_routes(&srv.nroutes);
	srv.dispatch = dispatch;
	srv.threads = (int)config_int(cfg, "api.threads");
	srv.listen = config_str(cfg, "api.listen");
	srv.app = &api;
	srv.name = "second-api";
	log_notice("serving %zu routes on %s with %d threads", srv.nroutes,
		   *srv.listen ? srv.listen : "the inherited socket", srv.threads);
	if (http_serve(&srv, &e) != 0) {
		log_error("serve: %s", e.msg);
		goto out;
	}
	rc = 0;
out:
	store_close(api.store);
	config_free(cfg);
	return rc;
}
