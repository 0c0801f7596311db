/* second-api's app files (P-8, API-43), and the snapshot reads the preview shares.
 *
 * An app's source lives in `app_source_snapshots`: at most one document per (workspaceId,
 * appId, kind), kind draft or published (GOV-3), holding its files as [{path, content}] (paths
 * hold dots, which document keys may not; an object {path: content} is read too) with their
 * hash. The app records which kinds exist (draftSnapshotId, publishedSnapshotId) and their
 * hashes. Collaborators see the draft: the persisted snapshot with workerd's live workspace
 * files laid over it, so sources edited since the last build show while the persisted dist/
 * stays; everyone else who can see the app sees the published version. A workerd that cannot
 * be reached leaves the persisted files, and says so in the log.
 *
 * Parsed snapshots are kept per process (SNAPSHOT_KEPT_*), since the preview serves one file
 * of a snapshot per request and a snapshot can hold 12 MiB. An entry is reused only while the
 * app still records the same snapshot id and content hash for that version (the app's own
 * record of its snapshots, GOV-3), so a new build or a publish is seen by the next request;
 * least recently used entries go first. */
#include <config.h>

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/api/api.h"
#include "lib/appaccess.h"
#include "lib/crypto.h"
#include "lib/ids.h"
#include "lib/jsonx.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/workerc.h"

static bool nonempty(const char *s)
{
	return s != NULL && *s != '\0';
}

static bool str_eq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

bool api_version_parse(const char *s, enum api_version *v)
{
	if (str_eq(s, "draft"))
		*v = API_DRAFT;
	else if (str_eq(s, "published"))
		*v = API_PUBLISHED;
	else
		return false;
	return true;
}

const char *api_version_name(enum api_version v)
{
	return v == API_DRAFT ? "draft" : "published";
}

bool api_app_id_normalize(const char *raw, char out[ID_HEX_LEN + 1])
{
	if (raw == NULL || strnlen(raw, ID_HEX_LEN + 1) != ID_HEX_LEN)
		return false;
	for (size_t i = 0; i < ID_HEX_LEN; i++)
		out[i] = (char)tolower((unsigned char)raw[i]);
	out[ID_HEX_LEN] = '\0';
	return id_valid(out);
}

int api_app_find(struct store *s, const char *ws, const char *id, json_t **app, struct err *e)
{
	json_t *filter = json_pack("{s:s, s:s}", "_id", id, "workspaceId", ws);
	int rc = store_find_one(s, "apps", filter, NULL, 0, app, e);

	json_decref(filter);
	return rc;
}

/* {path: content} of a snapshot's files, in either stored form; only string contents. New.
 * *bytes gets the size of paths and contents. */
static json_t *files_of(const json_t *stored, size_t *bytes)
{
	json_t *out = json_object(), *item, *content;
	const char *path;
	size_t i;

	*bytes = 0;
	if (json_is_object(stored)) {
		json_object_foreach ((json_t *)stored, path, content) {
			if (json_is_string(content) && json_object_set(out, path, content) == 0)
				*bytes += strlen(path) + json_string_length(content);
		}
		return out;
	}
	json_array_foreach (stored, i, item) {
		path = jsonx_str(item, "path");
		content = json_object_get(item, "content");
		if (path != NULL && json_is_string(content) &&
		    json_object_set(out, path, content) == 0)
			*bytes += strlen(path) + json_string_length(content);
	}
	return out;
}

/* GOV-3: which stored kind holds version v, or NULL for none. *legacy: the published files are
 * the app's own publishedSourceFiles. */
static const char *snapshot_kind(const json_t *app, enum api_version v, bool *legacy)
{
	const json_t *old = json_object_get(app, "publishedSourceFiles");

	*legacy = false;
	if (v == API_DRAFT)
		return "draft";
	if (nonempty(jsonx_str(app, "publishedSnapshotId")))
		return "published";
	if (json_is_object(old) && json_object_size(old) > 0) {
		*legacy = true;
		return NULL;
	}
	/* An app published before publishing kept its own snapshot shows its draft. */
	if (app_has_published_version(app))
		return "draft";
	return NULL;
}

#define KEPT_HASH_MAX (CRYPTO_SHA256_BYTES * 2)

static struct kept {
	char ws[WORKSPACE_SLUG_MAX + 1], app[ID_HEX_LEN + 1], id[STORE_MAX_ID_BYTES + 1];
	char hash[KEPT_HASH_MAX + 1];
	json_t *files; /* NULL: a free slot */
	size_t bytes;
	unsigned long long used;
} kept[SNAPSHOT_KEPT_ENTRIES];
static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long long kept_clock;
static size_t kept_bytes;

/* Whether every key fits an entry: anything longer is simply not kept. */
static bool kept_keys_fit(const char *ws, const char *app, const char *id, const char *hash)
{
	return ws != NULL && app != NULL && nonempty(id) && nonempty(hash) &&
	       strlen(ws) <= WORKSPACE_SLUG_MAX && strlen(app) <= ID_HEX_LEN &&
	       strlen(id) <= STORE_MAX_ID_BYTES && strlen(hash) <= KEPT_HASH_MAX;
}

static struct kept *kept_find(const char *ws, const char *app, const char *id)
{
	for (size_t i = 0; i < SNAPSHOT_KEPT_ENTRIES; i++)
		if (kept[i].files != NULL && strcmp(kept[i].ws, ws) == 0 &&
		    strcmp(kept[i].app, app) == 0 && strcmp(kept[i].id, id) == 0)
			return &kept[i];
	return NULL;
}

static void kept_drop(struct kept *k)
{
	kept_bytes -= k->bytes;
	json_decref(k->files);
	memset(k, 0, sizeof(*k));
}

/* The kept files of snapshot id while it still has this hash (new reference), or NULL. */
static json_t *kept_get(const char *ws, const char *app, const char *id, const char *hash)
{
	json_t *files = NULL;
	struct kept *k;

	if (!kept_keys_fit(ws, app, id, hash))
		return NULL;
	pthread_mutex_lock(&kept_lock);
	k = kept_find(ws, app, id);
	if (k != NULL && strcmp(k->hash, hash) == 0) {
		k->used = ++kept_clock;
		files = json_incref(k->files);
	}
	pthread_mutex_unlock(&kept_lock);
	return files;
}

/* Keeps files (borrowed) as snapshot id with this hash, in place of an older version of it,
 * making room by dropping the least recently used. */
static void kept_put(const char *ws, const char *app, const char *id, const char *hash,
		     json_t *files, size_t bytes)
{
	struct kept *k, *lru;

	if (!kept_keys_fit(ws, app, id, hash) || bytes > SNAPSHOT_KEPT_BYTES / 2)
		return;
	pthread_mutex_lock(&kept_lock);
	if ((k = kept_find(ws, app, id)) != NULL)
		kept_drop(k);
	for (;;) {
		k = lru = NULL;
		for (size_t i = 0; i < SNAPSHOT_KEPT_ENTRIES; i++) {
			if (kept[i].files == NULL)
				k = &kept[i];
			else if (lru == NULL || kept[i].used < lru->used)
				lru = &kept[i];
		}
		if (k != NULL && kept_bytes + bytes <= SNAPSHOT_KEPT_BYTES)
			break;
		if (lru == NULL) /* cannot happen: bytes fit an empty cache */
			goto out;
		kept_drop(lru);
	}
	snprintf(k->ws, sizeof(k->ws), "%s", ws);
	snprintf(k->app, sizeof(k->app), "%s", app);
	snprintf(k->id, sizeof(k->id), "%s", id);
	snprintf(k->hash, sizeof(k->hash), "%s", hash);
	k->files = json_incref(files);
	k->bytes = bytes;
	k->used = ++kept_clock;
	kept_bytes += bytes;
out:
	pthread_mutex_unlock(&kept_lock);
}

static int snapshot_read(struct store *s, const json_t *app, const char *kind,
			 struct api_snapshot *out, struct err *e)
{
	const char *ws = jsonx_str(app, "workspaceId"), *id = jsonx_str(app, "_id");
	json_t *filter = json_pack("{s:s?, s:s?, s:s}", "workspaceId", ws, "appId", id, "kind",
				   kind);
	size_t bytes;
	int rc;

	if (filter == NULL)
		return err_set(e, ERR_INTERNAL, "an app without workspace or id");
	rc = store_find_one(s, "app_source_snapshots", filter, NULL, 0, &out->owner, e);
	json_decref(filter);
	if (rc != 0 || out->owner == NULL)
		return rc;
	out->files = files_of(json_object_get(out->owner, "files"), &bytes);
	out->hash = jsonx_str(out->owner, "hash");
	kept_put(ws, id, jsonx_str(out->owner, "_id"), out->hash, out->files, bytes);
	return 0;
}

int api_snapshot_load(struct store *s, const json_t *app, enum api_version v,
		      struct api_snapshot *out, struct err *e)
{
	bool legacy, draft;
	const char *kind = snapshot_kind(app, v, &legacy);
	size_t bytes;

	memset(out, 0, sizeof(*out));
	if (legacy) {
		out->owner = json_incref((json_t *)app);
		out->files = files_of(json_object_get(app, "publishedSourceFiles"), &bytes);
		out->hash = jsonx_str(app, "publishedSourceHash");
		return 0;
	}
	if (kind == NULL)
		return 0;
	draft = strcmp(kind, "draft") == 0;
	out->files = kept_get(jsonx_str(app, "workspaceId"), jsonx_str(app, "_id"),
			      jsonx_str(app, draft ? "draftSnapshotId" : "publishedSnapshotId"),
			      jsonx_str(app, draft ? "draftSourceHash" : "publishedSourceHash"));
	if (out->files == NULL)
		return snapshot_read(s, app, kind, out, e);
	out->owner = json_incref(
		json_object_get(app, draft ? "draftSourceHash" : "publishedSourceHash"));
	out->hash = json_string_value(out->owner);
	return 0;
}

void api_snapshot_free(struct api_snapshot *snap)
{
	if (snap == NULL)
		return;
	json_decref(snap->files);
	json_decref(snap->owner);
	memset(snap, 0, sizeof(*snap));
}

/* The hash of what viewers see as published (GOV-3), or NULL. */
static const char *published_hash(const json_t *app)
{
	bool legacy;
	const char *kind = snapshot_kind(app, API_PUBLISHED, &legacy);

	if (legacy || str_eq(kind, "published"))
		return jsonx_str(app, "publishedSourceHash");
	if (kind != NULL)
		return jsonx_str(app, "draftSourceHash");
	return NULL;
}

/* GOV-3 "has unpublished changes": a draft whose hash is not the published one. */
static bool has_draft_changes(const json_t *app)
{
	if (!nonempty(jsonx_str(app, "draftSnapshotId")))
		return false;
	return !str_eq(jsonx_str(app, "draftSourceHash"), published_hash(app));
}

/* Lays workerd's live files of the app over `files`. A failure leaves files as they are: the
 * persisted draft is still a draft. */
void api_workerd_client(struct http_req *req, struct wkc *w)
{
	const struct config *cfg = api_of(req)->cfg;
	const char *listen = config_str(cfg, "workerd.listen");
	*w = (struct wkc){
		.socket = strncmp(listen, "unix:", 5) == 0 ? listen + 5 : listen,
		.token = config_str(cfg, "api.internal_token"),
		.connect_timeout_ms = FILES_WORKER_CONNECT_TIMEOUT_MS,
		.call_timeout_ms = FILES_WORKER_CALL_TIMEOUT_MS,
	};
}

static void live_merge(struct http_req *req, const char *app_id, json_t *files)
{
	struct wkc w;
	api_workerd_client(req, &w);
	char path[WORKERC_MAX_PATH];
	json_t *reply = NULL, *live, *content;
	const char *rel;
	struct err e = {0};
	long status = 0;
	int rc;

	snprintf(path, sizeof(path), "/sessions/%s/files", app_id);
	rc = wkc_call(&w, "GET", path, NULL, &status, &reply, &e);
	live = json_object_get(reply, "files");
	if (rc != 0 || status != 200 || !json_is_object(live)) {
		log_warning("app %s: live files not read, persisted draft served (%ld): %s", app_id,
			    status, e.msg[0] != '\0' ? e.msg : "unexpected reply");
		json_decref(reply);
		return;
	}
	json_object_foreach (live, rel, content) {
		if (json_is_string(content))
			json_object_set(files, rel, content);
	}
	json_decref(reply);
}

int api_draft_files(struct http_req *req, const json_t *app, json_t **files, struct err *e)
{
	struct api_snapshot snap = {0};

	*files = NULL;
	if (api_snapshot_load(api_of(req)->store, app, API_DRAFT, &snap, e) != 0)
		return -1;
	/* A copy: the snapshot's object may be shared with other requests. */
	*files = snap.files != NULL ? json_copy(snap.files) : json_object();
	api_snapshot_free(&snap);
	if (*files == NULL)
		abort();
	live_merge(req, jsonx_str(app, "_id"), *files);
	return 0;
}

/* P-8: GET .../apps/:appId/files?version=draft|published */
static int app_files(struct http_req *req)
{
	struct guard_ctx *ctx = api_ctx(req);
	const char *asked = http_query(req, "version");
	struct api_snapshot snap = {0};
	enum api_version v = API_PUBLISHED;
	char id[ID_HEX_LEN + 1];
	struct app_access a;
	json_t *app = NULL, *files;
	struct err e = {0};
	bool collab;
	int rc;

	if (asked != NULL && !api_version_parse(asked, &v))
		return http_reply_error(req, 400, "invalid_version",
					"version must be draft or published");
	if (!api_app_id_normalize(http_param(req, "appId"), id))
		return http_reply_error(req, 404, "app_not_found", "no such app");
	if (api_app_find(api_of(req)->store, ctx->workspace_id, id, &app, &e) != 0)
		return http_reply_err(req, &e);
	if (app != NULL)
		app_access_of(ctx, app, &a);
	if (app == NULL || !app_can_view(&a)) {
		json_decref(app);
		return http_reply_error(req, 404, "app_not_found", "no such app");
	}
	/* TEN-6d: the draft only for collaborators, and for them it is the default. */
	collab = app_can_collaborate(&a);
	v = collab && (asked == NULL || v == API_DRAFT) ? API_DRAFT : API_PUBLISHED;
	if (api_snapshot_load(api_of(req)->store, app, v, &snap, &e) != 0) {
		json_decref(app);
		return http_reply_err(req, &e);
	}
	/* A copy: the snapshot's object may be shared with other requests. */
	files = snap.files != NULL ? json_copy(snap.files) : json_object();
	if (files == NULL)
		abort();
	if (v == API_DRAFT)
		live_merge(req, id, files);
	http_set_header(req, "Cache-Control", "no-store");
	rc = http_reply_json(req, 200,
			     json_pack("{s:o, s:s, s:b, s:b}", "files", files, "version",
				       api_version_name(v), "hasPublishedVersion",
				       app_has_published_version(app), "hasDraftChanges",
				       collab && has_draft_changes(app)));
	api_snapshot_free(&snap);
	json_decref(app);
	return rc;
}

const struct http_route api_routes_files[] = {
	{"GET", "/api/workspaces/:ws/apps/:appId/files", app_files, ACCESS_WORKSPACE, PERM_NONE,
	 NULL, 0},
	{NULL, NULL, NULL, 0, 0, NULL, 0},
};
