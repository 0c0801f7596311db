/* Saving an app's source snapshot (GOV-3): one document per (workspaceId, appId, kind) in
 * `app_source_snapshots`, with the app's files as [{path, content}], their byte size, count,
 * hash and whether they hold a preview. The app document then points at it through the fields
 * snapshot_app_fields() gives. Shared by the build (second-sse) and the routes that edit a
 * draft (second-api). */
#ifndef SECOND_SNAPSHOT_H
#define SECOND_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "lib/crypto.h"
#include "lib/err.h"
#include "lib/store.h"
#include "lib/timeutil.h"

struct snapshot_saved {
	char id[STORE_MAX_ID_BYTES + 1];
	char hash[CRYPTO_SHA256_BYTES * 2 + 1];
	char at[TIME_ISO_LEN + 1];
	size_t bytes, count;
	bool preview;
};

/* Upserts the `kind` ("draft" or "published") snapshot of an app from files {path: content}.
 * Entries that are not strings or are over SNAPSHOT_FILE_MAX are left out; more than
 * SNAPSHOT_MAX_FILES files or SNAPSHOT_MAX_BYTES in all is ERR_TOO_LARGE. */
int snapshot_save(struct store *s, const char *workspace_id, const char *app_id, const char *kind,
		  const json_t *files, struct snapshot_saved *out, struct err *e)
	__attribute__((warn_unused_result));

/* Adds to `set` (an apps $set) the app's pointer at a saved snapshot: draftSnapshotId,
 * draftSourceHash, draftSourceSizeBytes, draftHasPreviewArtifact, draftSourceUpdatedAt (or
 * the published* twins). */
void snapshot_app_fields(json_t *set, const char *kind, const struct snapshot_saved *saved);

#endif
