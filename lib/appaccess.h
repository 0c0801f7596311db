/* Who may do what with an app (TEN-6, GOV-1, GOV-3), shared by every responder.
 *
 * Owners and admins of the workspace, the app's creator and its collaborators can view, work
 * on and (owners, admins, the creator) manage it; anyone else in the workspace can view it
 * only when it has a published version and its visibility includes them (the whole workspace,
 * or one of their teams). */
#ifndef SECOND_APPACCESS_H
#define SECOND_APPACCESS_H

#include <stdbool.h>

#include <jansson.h>

struct guard_ctx;

struct app_access {
	const json_t *app; /* borrowed */
	bool admin, creator, collaborator, published_viewer;
};

void app_access_of(const struct guard_ctx *ctx, const json_t *app, struct app_access *a);
bool app_can_view(const struct app_access *a);
bool app_can_collaborate(const struct app_access *a);
bool app_can_manage(const struct app_access *a);
/* GOV-1: the app's publish status ("published" when the field is missing: legacy apps). */
const char *app_publish_status(const json_t *app);
/* GOV-3: whether a published version exists. */
bool app_has_published_version(const json_t *app);

#endif
