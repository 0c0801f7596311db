/* GOV-4, the draft-edit rule, and GOV-9, superseding a pending review: what runs before a
 * route saves a new draft of an app.
 *
 * A published app (publishStatus published, or missing on older documents) or one sent for
 * review goes back to draft, and its review request and change request fields are cleared.
 * The update matches on the status it read, so two edits cannot both claim the transition. An
 * app whose published version still lives in its draft snapshot or in the legacy embedded
 * publishedSourceFiles first gets that version saved as its published snapshot, so the edit
 * never changes what viewers see. A changes_requested app stays changes_requested. */
#include <config.h>

#include <string.h>

#include <jansson.h>

#include "fcgi/api/api.h"
#include "lib/jsonx.h"
#include "lib/log.h"
#include "lib/snapshot.h"
#include "lib/timeutil.h"

#define REVIEW_SUPERSEDED_MESSAGE                                                              \
	"This app changed after it was sent for review. The review was closed automatically; " \
	"send it for review again when it is ready."

static const char *const review_fields[] = {
	"reviewRequestedByUserId", "reviewRequestedByUserName", "reviewRequestedAt",
	"changeRequestMessage",    "changeRequestByUserId",     "changeRequestAt",
};

/* Saves the version viewers see as the app's published snapshot, into `set`. */
static int preserve_published(struct http_req *req, const json_t *app, json_t *set, struct err *e)
{
	struct api_snapshot snap = {0};
	struct snapshot_saved saved;
	int rc;

	if (api_snapshot_load(api_of(req)->store, app, API_PUBLISHED, &snap, e) != 0)
		return -1;
	if (snap.files == NULL) {
		api_snapshot_free(&snap);
		return 0;
	}
	rc = snapshot_save(api_of(req)->store, jsonx_str(app, "workspaceId"), jsonx_str(app, "_id"),
			   "published", snap.files, &saved, e);
	api_snapshot_free(&snap);
	if (rc == 0)
		snapshot_app_fields(set, "published", &saved);
	return rc;
}

/* GOV-9: closes the app's pending review; the number closed. */
static size_t supersede_reviews(struct http_req *req, const json_t *app, const char *now)
{
	json_t *filter = json_pack("{s:s, s:s, s:s, s:s}", "workspaceId",
				   jsonx_str(app, "workspaceId"), "resourceType", "app",
				   "resourceId", jsonx_str(app, "_id"), "status", "pending");
	json_t *update = json_pack("{s:{s:s, s:n, s:n, s:s, s:s, s:s}}", "$set", "status",
				   "superseded", "reviewerUserId", "reviewerUserName", "reviewedAt",
				   now, "reviewMessage", REVIEW_SUPERSEDED_MESSAGE, "updatedAt",
				   now);
	struct err e = {0};
	size_t n = 0;

	if (store_update_many(api_of(req)->store, "review_requests", filter, update, &n, &e) != 0)
		log_error("app %s: pending review not superseded: %s", jsonx_str(app, "_id"),
			  e.msg);
	json_decref(filter);
	json_decref(update);
	return n;
}

int api_mark_draft_edited(struct http_req *req, const json_t *app, struct api_draft_edit *out,
			  struct err *e)
{
	const json_t *stored = json_object_get(app, "publishStatus");
	const char *status = json_is_string(stored) ? json_string_value(stored) : "published";
	bool published = strcmp(status, "published") == 0;
	bool in_review = strcmp(status, "review_requested") == 0;
	char now[TIME_ISO_LEN + 1];
	json_t *set, *filter, *update;
	size_t matched = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!published && !in_review)
		return 0;
	time_now_iso8601(now);
	set = json_pack("{s:s, s:s}", "publishStatus", "draft", "updatedAt", now);
	for (size_t i = 0; i < sizeof(review_fields) / sizeof(review_fields[0]); i++)
		json_object_set_new(set, review_fields[i], json_null());
	if (jsonx_str(app, "publishedSnapshotId") == NULL &&
	    preserve_published(req, app, set, e) != 0) {
		json_decref(set);
		return -1;
	}
	filter = json_pack("{s:O, s:O}", "_id", json_object_get(app, "_id"), "workspaceId",
			   json_object_get(app, "workspaceId"));
	json_object_set_new(filter, "publishStatus",
			    stored != NULL ? json_incref((json_t *)stored)
					   : json_pack("{s:b}", "$exists", 0));
	update = json_pack("{s:o, s:{s:s}}", "$set", set, "$unset", "publishedSourceFiles", "");
	rc = store_update_one(api_of(req)->store, "apps", filter, update, &matched, e);
	json_decref(filter);
	json_decref(update);
	if (rc != 0)
		return -1;
	if (matched == 0)
		return err_set(e, ERR_CONFLICT, "the app changed while it was being edited");
	out->review_invalidated = in_review;
	out->draft_created_from_published = published;
	if (in_review && supersede_reviews(req, app, now) > 0)
		api_audit(req, "review.superseded", "reviews", "notice", "app",
			  jsonx_str(app, "_id"), jsonx_str(app, "name"),
			  "The app changed after it was sent for review; the review was closed",
			  json_pack("{s:s}", "reason", "draft_edited"));
	return 0;
}
