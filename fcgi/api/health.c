/* GET /api/health: can this responder reach its store and its Redis right now?
 *
 * Public and unauthenticated (API-1), so the reply names each backend's state and the kind
 * of failure (an err code name such as "unavailable") but never the backend's own message,
 * which can hold paths and host names; the full message goes to the log. Both backends are
 * always checked, so one reply shows everything that is down. Shape:
 *   {"status": "ok"|"error",
 *    "store": {"status": "ok"|"error", "backend": "sqlite"|"mongodb", "error"?: code},
 *    "redis": {"status": "ok"|"error", "error"?: code}} */
#include <config.h>

#include <stdlib.h>

#include "fcgi/api/api.h"
#include "lib/log.h"

/* A backend's part of the reply; `failed` is the error, or NULL when it answered. */
static json_t *backend_status(const struct err *failed)
{
	json_t *o = json_pack("{s:s}", "status", failed == NULL ? "ok" : "error");

	if (o == NULL)
		abort();
	if (failed != NULL &&
	    json_object_set_new(o, "error", json_string(err_code_name(failed->code))) != 0)
		abort();
	return o;
}

static bool store_ok(struct api *api, json_t **out)
{
	struct err e = {0};
	bool ok = store_ping(api->store, &e) == 0;

	if (!ok)
		log_warning("health: store: %s", e.msg);
	*out = backend_status(ok ? NULL : &e);
	if (json_object_set_new(*out, "backend", json_string(store_backend_name(api->store))) != 0)
		abort();
	return ok;
}

static bool redis_ok(json_t **out)
{
	struct err e = {0};
	struct rds *r = api_redis(&e);
	bool ok = r != NULL && rds_ping(r, &e) == 0;

	if (!ok)
		log_warning("health: redis: %s", e.msg);
	*out = backend_status(ok ? NULL : &e);
	return ok;
}

static int health_get(struct http_req *req)
{
	json_t *store = NULL, *redis = NULL, *body;
	bool ok = store_ok(api_of(req), &store);

	ok = redis_ok(&redis) && ok;
	body = json_pack("{s:s, s:o, s:o}", "status", ok ? "ok" : "error", "store", store, "redis",
			 redis);
	if (body == NULL)
		abort();
	return http_reply_json(req, ok ? 200 : 503, body);
}

const struct http_route api_routes_health[] = {
	{"GET", "/api/health", health_get, ACCESS_PUBLIC, PERM_NONE, NULL, 0},
	{NULL, NULL, NULL, 0, 0, NULL, 0},
};
