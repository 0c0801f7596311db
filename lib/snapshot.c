/* Source snapshots of an app (GOV-3); see snapshot.h. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "lib/jsonx.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/snapshot.h"

int snapshot_save(struct store *s, const char *workspace_id, const char *app_id, const char *kind,
		  const json_t *files, struct snapshot_saved *out, struct err *e)
{
	json_t *kept = json_object(), *list = json_array(), *text, *f, *upd, *doc = NULL;
	const char *rel;
	char *stable;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (kept == NULL || list == NULL)
		abort();
	json_object_foreach ((json_t *)files, rel, text) {
		if (!json_is_string(text) || json_string_length(text) > SNAPSHOT_FILE_MAX)
			continue;
		out->bytes += json_string_length(text);
		json_object_set(kept, rel, text);
		json_array_append_new(list, json_pack("{s:s, s:O}", "path", rel, "content", text));
	}
	out->count = json_array_size(list);
	if (out->count > SNAPSHOT_MAX_FILES || out->bytes > SNAPSHOT_MAX_BYTES) {
		err_set(e, ERR_TOO_LARGE, "the app's files are over %d files or %d bytes",
			SNAPSHOT_MAX_FILES, SNAPSHOT_MAX_BYTES);
		json_decref(list);
		goto out;
	}
	stable = jsonx_dumps_stable(kept);
	crypto_sha256_hex(stable, strlen(stable), out->hash);
	free(stable);
	out->preview = json_object_get(kept, "dist/index.html") != NULL;
	time_now_iso8601(out->at);
	f = json_pack("{s:s, s:s, s:s}", "workspaceId", workspace_id, "appId", app_id, "kind",
		      kind);
	upd = json_pack("{s:{s:o, s:I, s:I, s:s, s:b, s:s}}", "$set", "files", list, "sizeBytes",
			(json_int_t)out->bytes, "fileCount", (json_int_t)out->count, "hash",
			out->hash, "hasPreviewArtifact", out->preview, "updatedAt", out->at);
	rc = store_find_one_and_update(s, "app_source_snapshots", f, upd, NULL, 0, STORE_UPSERT,
				       &doc, e);
	json_decref(f);
	json_decref(upd);
	if (rc != 0 || doc == NULL) {
		rc = rc != 0 ? rc : err_set(e, ERR_INTERNAL, "the snapshot was not saved");
		goto out;
	}
	snprintf(out->id, sizeof(out->id), "%s", jsonx_str(doc, "_id"));
	if (json_object_get(doc, "createdAt") == NULL) {
		struct err ce = {0};

		f = json_pack("{s:O}", "_id", json_object_get(doc, "_id"));
		upd = json_pack("{s:{s:s}}", "$set", "createdAt", out->at);
		/* Only the creation time is missing then; the snapshot itself is saved. */
		if (store_update_one(s, "app_source_snapshots", f, upd, NULL, &ce) != 0)
			log_warning("snapshot %s: createdAt not set: %s", out->id, ce.msg);
		json_decref(f);
		json_decref(upd);
	}
	json_decref(doc);
out:
	json_decref(kept);
	return rc;
}

void snapshot_app_fields(json_t *set, const char *kind, const struct snapshot_saved *saved)
{
	bool draft = strcmp(kind, "draft") == 0;

	json_object_set_new(set, draft ? "draftSnapshotId" : "publishedSnapshotId",
			    json_string(saved->id));
	json_object_set_new(set, draft ? "draftSourceHash" : "publishedSourceHash",
			    json_string(saved->hash));
	json_object_set_new(set, draft ? "draftSourceSizeBytes" : "publishedSourceSizeBytes",
			    json_integer((json_int_t)saved->bytes));
	json_object_set_new(set, draft ? "draftHasPreviewArtifact" : "publishedHasPreviewArtifact",
			    json_boolean(saved->preview));
	json_object_set_new(set, draft ? "draftSourceUpdatedAt" : "publishedSourceFilesUpdatedAt",
			    json_string(saved->at));
}
