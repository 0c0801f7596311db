/* Helpers shared by the tenancy handler files: workspaces.c, members.c, teams.c, invitations.c.
 *
 * Request-side helpers (the body validation table, object ids, slugs, the workspace cookie,
 * and audit for routes whose guard context names no workspace yet) are defined in
 * workspaces.c; data-side helpers (paged reads, documents by id, the member list with team
 * ids, the default team, joining a workspace) in members.c. Documents follow DM-2..DM-6:
 * a workspace's _id is its slug; memberships, teams, team memberships and invitations have
 * 24-hex ids and always carry workspaceId, which every query here includes (TEN-8). */
#ifndef SECOND_API_TENANCY_H
#define SECOND_API_TENANCY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "lib/err.h"
#include "lib/http.h"
#include "lib/limits.h"
#include "lib/store.h"

/* One row of a route's body table; a row whose name is NULL ends the table. */
struct tenancy_field {
	const char *name;                  /* the JSON member */
	json_t *(*check)(const json_t *v); /* new normalised value, or NULL when invalid */
	bool required;
	const char *code; /* the 400 code when missing or invalid */
	const char *message;
};

/* Validates the request's JSON body against `fields`. On success *out is a new object that
 * holds the normalised value of each field the client sent, and nothing else. Otherwise the
 * reply is sent here and -1 returned: the body's own error (415, 413, 400), 400 invalid_body
 * for a body that is not an object or has a member the table does not name, or 400 with the
 * row's code for a missing required or invalid field (rows are checked in table order). */
int tenancy_body(struct http_req *req, const struct tenancy_field *fields, json_t **out);

/* A string of min..max characters (code points) after trimming ASCII white space, without
 * control characters, as a new JSON string; NULL otherwise. */
json_t *tenancy_text(const json_t *v, size_t min, size_t max);

/* TEN-1 slug rules: lowercase, each run of characters outside [a-z0-9] becomes one '-',
 * no '-' at either end, at most `max` bytes. out needs max + 1 bytes. Returns the length,
 * 0 when nothing is left. */
size_t tenancy_slugify(const char *name, char *out, size_t max);

/* C-0.2 normalizeObjectId: trimmed, 24 hex digits of either case; out gets it lowercased. */
bool tenancy_object_id(const char *raw, char out[ID_HEX_LEN + 1]);

/* Selects a workspace for the next requests (AUTH-4 cookie, TEN-2). */
void tenancy_set_workspace_cookie(struct http_req *req, const char *workspace_id);

/* Every match of a query, page after page, up to `max` documents (more is ERR_TOO_LARGE).
 * *docs is a new array. */
int tenancy_find_all(struct store *s, const char *coll, const json_t *filter,
		     const struct store_sort *sort, size_t nsort, size_t max, json_t **docs,
		     struct err *e) __attribute__((warn_unused_result));

/* The documents of `coll` whose _id is a string of `ids` (an array), extra_filter ANDed in
 * (may be NULL: pass {"workspaceId": ws} for workspace-scoped collections). *by_id is a new
 * object mapping each found id to its document. */
int tenancy_by_id(struct store *s, const char *coll, const json_t *ids, const json_t *extra_filter,
		  json_t **by_id, struct err *e) __attribute__((warn_unused_result));

/* API-22 members of a workspace, oldest membership first: a new array of
 * {id, userId, displayName, email, role, teamIds, createdAt, updatedAt}. */
int tenancy_members(struct store *s, const char *workspace_id, json_t **members, struct err *e)
	__attribute__((warn_unused_result));

/* The workspace's default (General) team: *team is a new reference, or NULL if it has none. */
int tenancy_default_team(struct store *s, const char *workspace_id, json_t **team, struct err *e)
	__attribute__((warn_unused_result));
/* {id, name, slug} of a team document, or JSON null for NULL: a new reference. */
json_t *tenancy_team_ref(const json_t *team);

/* Makes user_id a member of the workspace with `role` and adds them to every team of
 * team_ids (an array of ids the caller checked; TEN-15 wants the General team in it).
 * All or nothing: on failure what was written is removed again. ERR_DUPLICATE when the
 * user already is a member. *membership (may be NULL) gets the new membership document. */
int tenancy_join(struct store *s, const char *workspace_id, const char *user_id, const char *role,
		 const char *invited_by, const json_t *team_ids, json_t **membership, struct err *e)
	__attribute__((warn_unused_result));

#endif
