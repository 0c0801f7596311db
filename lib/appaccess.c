/* Who may do what with an app (see appaccess.h). */
#include <config.h>

#include "lib/appaccess.h"

#include <string.h>

#include "lib/guard.h"
#include "lib/jsonx.h"

static bool str_eq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static bool array_has(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach (arr, i, v) {
		if (str_eq(json_string_value(v), s))
			return true;
	}
	return false;
}

static bool arrays_meet(const json_t *a, const json_t *b)
{
	size_t i;
	json_t *v;

	json_array_foreach (a, i, v) {
		if (json_is_string(v) && array_has(b, json_string_value(v)))
			return true;
	}
	return false;
}

static bool nonempty_str(const json_t *doc, const char *key)
{
	const char *s = jsonx_str(doc, key);

	return s != NULL && *s != '\0';
}

const char *app_publish_status(const json_t *app)
{
	const char *s = jsonx_str(app, "publishStatus");

	return s != NULL ? s : "published";
}

bool app_has_published_version(const json_t *app)
{
	json_t *legacy = json_object_get(app, "publishedSourceFiles");

	return nonempty_str(app, "publishedSnapshotId") ||
	       (strcmp(app_publish_status(app), "published") == 0 &&
		nonempty_str(app, "draftSnapshotId")) ||
	       (json_is_object(legacy) && json_object_size(legacy) > 0);
}

void app_access_of(const struct guard_ctx *ctx, const json_t *app, struct app_access *a)
{
	const char *visibility = jsonx_str(app, "visibility");

	a->app = app;
	a->admin = ctx->role == ROLE_ADMIN || ctx->role == ROLE_OWNER;
	a->creator = str_eq(jsonx_str(app, "createdByUserId"), ctx->user_id);
	a->collaborator = array_has(json_object_get(app, "collaboratorUserIds"), ctx->user_id);
	a->published_viewer = app_has_published_version(app) &&
			      (visibility == NULL || strcmp(visibility, "workspace") == 0 ||
			       arrays_meet(json_object_get(app, "teamIds"), ctx->team_ids));
}

bool app_can_view(const struct app_access *a)
{
	return a->admin || a->creator || a->collaborator || a->published_viewer;
}

bool app_can_collaborate(const struct app_access *a)
{
	return a->admin || a->creator || a->collaborator;
}

bool app_can_manage(const struct app_access *a)
{
	return a->admin || a->creator;
}
