/* The guard: who is calling, in which workspace, with which role, and may they use a route.
 *
 * Every route row carries an access level and a permission (TEN-5). The guard resolves the
 * session (lib/session.h) into a user, computes the onboarding state (AUTH-8), and for
 * workspace routes proves membership of the path's workspace on every request (AUTH-9).
 * Status policy (TEN-7): no or stale identity 401, no workspace yet 403 workspace_required,
 * a workspace that does not exist or is not the caller's (or a malformed slug) 404, a missing
 * permission 403 with the route's denied_code. */
#ifndef SECOND_GUARD_H
#define SECOND_GUARD_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "lib/http.h"
#include "lib/limits.h"
#include "lib/redis.h"
#include "lib/store.h"

enum guard_access {
	ACCESS_PUBLIC,    /* no identity needed */
	ACCESS_IDENTITY,  /* identity onboarding: an actor is optional */
	ACCESS_PROFILE,   /* identity + profile; no workspace needed yet */
	ACCESS_READY,     /* onboarded user with at least one membership */
	ACCESS_WORKSPACE, /* READY and a member of the path's :ws */
	ACCESS_INTERNAL,  /* Authorization: Bearer <internal token> */
};

enum guard_perm {
	PERM_NONE,
	PERM_WORKSPACE_VIEW,
	PERM_WORKSPACE_MANAGE,
	PERM_MEMBERS_VIEW,
	PERM_MEMBERS_INVITE,
	PERM_MEMBERS_MANAGE,
	PERM_MEMBERS_MANAGE_OWNER,
	PERM_INTEGRATIONS_VIEW,
	PERM_INTEGRATIONS_MANAGE,
	PERM_AUDIT_READ,
	PERM_APPS_CREATE,
	PERM_APPS_UPDATE,
	PERM_APPS_DELETE,
	PERM_AGENTS_RUN,
};

enum guard_role {
	ROLE_NONE,
	ROLE_MEMBER,
	ROLE_ADMIN,
	ROLE_OWNER,
};

enum guard_onboarding {
	ONBOARDING_MISSING_IDENTITY,
	ONBOARDING_NEEDS_PROFILE,
	ONBOARDING_NEEDS_WORKSPACE,
	ONBOARDING_READY,
};

bool guard_role_has(enum guard_role role, enum guard_perm perm);
/* "workspace:manage" and so on; "" for PERM_NONE. */
const char *guard_perm_name(enum guard_perm perm);
int guard_role_parse(const char *s, enum guard_role *out);
const char *guard_role_name(enum guard_role role);
/* The permission names a role holds, as a new JSON array (members API's currentUser). */
json_t *guard_role_permissions(enum guard_role role);
/* TEN-1: "^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$". */
bool guard_workspace_id_valid(const char *id);

/* Route flags (struct http_route.flags). */
enum {
	/* A 403 for a missing permission on this route is audited as access.denied (AUD-7). */
	GUARD_AUDIT_DENIED = 1 << 0,
};

/* The result of a passed guard; the request's context (http_ctx). */
struct guard_ctx {
	enum guard_onboarding state;
	json_t *user;                              /* users document, or NULL */
	const char *user_id;                       /* borrowed from user */
	char session_hash[65];                     /* hex SHA-256 of the session id, or "" */
	json_t *memberships;                       /* the caller's memberships, oldest first */
	char workspace_id[WORKSPACE_SLUG_MAX + 1]; /* ACCESS_WORKSPACE: the path's :ws */
	json_t *membership;                        /* borrowed from memberships, or NULL */
	enum guard_role role;
	json_t *team_ids; /* caller's team ids in workspace_id (new array) */
	/* store_revision() taken before this request's first store read, or 0 when the store
	 * has none: a handler may reuse what it computed from reads made after the same
	 * revision. */
	uint64_t store_rev;
};

struct guard_deps {
	struct store *store;
	struct rds *(*redis)(struct err *e); /* the calling thread's connection */
	const char *internal_token;          /* NULL or "" when unset */
	/* Called before a GUARD_AUDIT_DENIED route answers 403 for a missing permission; ctx
	 * holds the caller and workspace. May be NULL. */
	void (*on_denied)(struct http_req *req, const struct guard_ctx *ctx,
			  const struct http_route *route);
};

/* The dispatch hook's body: checks route->access and route->perm for req, replies itself on
 * refusal (returns -1), or sets a `struct guard_ctx` as the request context (returns 0). */
int guard_check(const struct guard_deps *deps, struct http_req *req,
		const struct http_route *route);
void guard_ctx_free(void *ctx);

#endif
