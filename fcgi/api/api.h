/* second-api's shared state and helpers for its handler files.
 *
 * One `struct api` per process: the configuration, the store (thread-safe) and the Redis
 * options; each worker thread opens its own Redis connection on first use. Handler files
 * (health.c, onboarding.c, workspaces.c, members.c, teams.c, invitations.c, apps.c, audit.c,
 * runs.c, files.c, preview.c, setup.c, agents.c) each export one route table, terminated by a row whose method is NULL, which routes.c joins
 * into the table http_serve() matches. */
#ifndef SECOND_API_H
#define SECOND_API_H

#include <jansson.h>

#include "lib/audit.h"
#include "lib/config.h"
#include "lib/guard.h"
#include "lib/http.h"
#include "lib/redis.h"
#include "lib/store.h"

struct api {
	const struct config *cfg;
	struct store *store;
	struct rds_opts redis;
	long session_ttl_s;
	const char *public_url; /* for redirects: "http://127.0.0.1:8080" */
};

struct api *api_of(struct http_req *req);
struct guard_ctx *api_ctx(struct http_req *req);
/* The calling thread's Redis connection, opened on first use; NULL with e set. */
struct rds *api_redis(struct err *e);

/* Audit from a handler: actor from the guard context (user, role, teams), source from the
 * request (web_server, server_trusted, request id, ip and user-agent hashes), workspace from
 * the context. Best effort: a failure is logged, never returned. target_type may be NULL. */
void api_audit(struct http_req *req, const char *event_name, const char *category,
	       const char *severity, const char *target_type, const char *target_id,
	       const char *target_name, const char *summary, json_t *metadata_stolen);

/* api_audit() for a workspace the guard context does not name (routes before a membership
 * exists: a workspace just created, an invitation accepted), with the caller's `role` in it. */
void api_audit_in(struct http_req *req, const char *workspace_id, const char *role,
		  const char *event_name, const char *category, const char *severity,
		  const char *target_type, const char *target_id, const char *target_name,
		  const char *summary, json_t *metadata_stolen);

/* The guard's on_denied hook: records access.denied for GUARD_AUDIT_DENIED routes. */
void api_audit_denied(struct http_req *req, const struct guard_ctx *ctx,
		      const struct http_route *route);

/* Route tables, one per handler file. */
extern const struct http_route api_routes_health[];
extern const struct http_route api_routes_onboarding[];
extern const struct http_route api_routes_workspaces[];
extern const struct http_route api_routes_members[];
extern const struct http_route api_routes_teams[];
extern const struct http_route api_routes_invitations[];
extern const struct http_route api_routes_apps[];
extern const struct http_route api_routes_audit[];
extern const struct http_route api_routes_runs[];
extern const struct http_route api_routes_files[];
extern const struct http_route api_routes_preview[];
extern const struct http_route api_routes_setup[];
extern const struct http_route api_routes_agents[];

struct wkc;
/* workerd's client as configured (workerd.listen, api.internal_token), with the short
 * timeouts of a JSON call made while a browser waits (files.c). */
void api_workerd_client(struct http_req *req, struct wkc *w);

/* App snapshots (files.c), shared with the preview (preview.c). */
enum api_version { API_DRAFT, API_PUBLISHED };

struct api_snapshot {
	/* {path: content}, a new reference to an object other requests may share: read it,
	 * never change it (json_copy first). NULL when there is no snapshot. */
	json_t *files;
	const char *hash; /* GOV-3 hash, borrowed from owner; NULL when unknown */
	json_t *owner;    /* holds hash (new reference) */
};

/* "draft" or "published"; false for anything else. */
bool api_version_parse(const char *s, enum api_version *v);
const char *api_version_name(enum api_version v);
/* A path's app id as 24 lowercase hex characters; false when it is not one. */
bool api_app_id_normalize(const char *raw, char out[ID_HEX_LEN + 1]);
/* The app `id` of workspace ws: *app is a new reference, NULL when there is no such app. */
int api_app_find(struct store *s, const char *ws, const char *id, json_t **app, struct err *e)
	__attribute__((warn_unused_result));
/* The app's snapshot of version v (GOV-3, legacy published files included); out->files is NULL
 * when it has none. Parsed snapshots are kept per process and reused while the app still
 * records the same snapshot id and hash for that version. Free with api_snapshot_free. */
int api_snapshot_load(struct store *s, const json_t *app, enum api_version v,
		      struct api_snapshot *out, struct err *e) __attribute__((warn_unused_result));
void api_snapshot_free(struct api_snapshot *snap);

/* GOV-4: what api_mark_draft_edited() did. */
struct api_draft_edit {
	bool review_invalidated;           /* the app was sent for review; the review is closed */
	bool draft_created_from_published; /* the app was published; it is a draft again */
};

/* GOV-4 and GOV-9, before a route saves a new draft of `app`: a published app or one in
 * review goes back to draft (its published version kept as the published snapshot), and a
 * pending review is superseded and audited. ERR_CONFLICT when the app's status changed under
 * the update. */
int api_mark_draft_edited(struct http_req *req, const json_t *app, struct api_draft_edit *out,
			  struct err *e) __attribute__((warn_unused_result));

/* The C-0.5 prologue of the app routes: loads the path's :appId in the caller's workspace into
 * *app (a new reference) into *a its access, and checks `need`. Replies itself (404
 * app_not_found, 403 forbidden, or a store error) and returns -1 when the handler must not go
 * on. */
struct app_access;
enum api_app_need { NEED_VIEW, NEED_COLLAB, NEED_MANAGE };
int api_app_open(struct http_req *req, enum api_app_need need, json_t **app, struct app_access *a)
	__attribute__((warn_unused_result));
/* The draft's files for a collaborator ({path: content}, a new object): the persisted draft
 * snapshot with workerd's live files of the app laid over it (persisted only when workerd
 * does not answer). */
int api_draft_files(struct http_req *req, const json_t *app, json_t **files, struct err *e)
	__attribute__((warn_unused_result));

/* All rows of every table, joined once at start. */
const struct http_route *api_routes(size_t *n);

#endif
