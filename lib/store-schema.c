/* The data model of governance-auth-api.md §6 (DM-1..DM-21) as one store schema table.
 *
 * Each entry is a collection: its name, the paths holding arrays that queries match element by
 * element (teamIds and friends), and its indexes, in the key order and direction the spec gives.
 * Index names are the spec's where it names them, otherwise "<collection>_<keys in snake_case>"
 * with "_unique" appended for unique ones, so every name is unique in the database. Both backends
 * build their tables and indexes from this table alone, so a new query path starts here. */
#include <config.h>

#include <stdbool.h>
#include <stddef.h>

#include "lib/store.h"

/* clang-format off */
#define ARRAYS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define INDEXES(...) ((const struct store_index[]){__VA_ARGS__, {.name = NULL}})
#define INDEX(n, ...) {.name = (n), .keys = {__VA_ARGS__}}
#define UNIQUE(n, ...) {.name = (n), .keys = {__VA_ARGS__}, .unique = true}
/* clang-format on */

static const struct store_collection collections[] = {
	/* DM-1: one account per normalised email. */
	{"users", NULL, INDEXES(UNIQUE("users_email_normalized_unique", "emailNormalized"))},
	/* DM-2: _id is the slug; only workspaces linked to an external organisation are in the
	 * second index, hence sparse. */
	{"workspaces", NULL,
	 INDEXES(UNIQUE("workspaces_slug_unique", "slug"),
		 {.name = "workspaces_external_organization",
		  .keys = {"externalOrganizationProvider", "externalOrganizationId"},
		  .unique = true,
		  .sparse = true})},
	/* DM-3 */
	{"workspace_memberships", NULL,
	 INDEXES(UNIQUE("workspace_memberships_workspace_id_user_id_unique", "workspaceId",
			"userId"),
		 INDEX("workspace_memberships_user_id_workspace_id", "userId", "workspaceId"),
		 INDEX("workspace_memberships_workspace_id_created_at", "workspaceId",
		       "createdAt"))},
	/* DM-4 */
	{"workspace_teams", NULL,
	 INDEXES(UNIQUE("workspace_teams_workspace_id_slug_unique", "workspaceId", "slug"),
		 INDEX("workspace_teams_workspace_id_is_default", "workspaceId", "isDefault"),
		 INDEX("workspace_teams_workspace_id_is_default_name", "workspaceId", "-isDefault",
		       "name"))},
	/* DM-5 */
	{"workspace_team_memberships", NULL,
	 INDEXES(UNIQUE("workspace_team_memberships_workspace_id_team_id_user_id_unique",
			"workspaceId", "teamId", "userId"),
		 INDEX("workspace_team_memberships_workspace_id_user_id", "workspaceId",
		       "userId"))},
	/* DM-6: externalInvitationId is only set for provider-managed invitations. The
	 * email-first index serves "my pending invitations" across workspaces (accepting). */
	{"workspace_invitations", ARRAYS("teamIds"),
	 INDEXES(INDEX("workspace_invitations_workspace_id_email_normalized_status", "workspaceId",
		       "emailNormalized", "status"),
		 INDEX("workspace_invitations_email_normalized_status_expires_at",
		       "emailNormalized", "status", "expiresAt"),
		 {.name = "workspace_invitations_external_invitation_id",
		  .keys = {"externalInvitationId"},
		  .sparse = true})},
	/* DM-7, with the embedded sourceControl of DM-21a. */
	{"apps", ARRAYS("teamIds", "collaboratorUserIds"),
	 INDEXES(INDEX("apps_workspace_id_created_at", "workspaceId", "-createdAt"),
		 INDEX("apps_workspace_id_publish_status_created_at", "workspaceId",
		       "publishStatus", "-createdAt"),
		 INDEX("apps_workspace_id_team_ids_publish_status", "workspaceId", "teamIds",
		       "publishStatus"),
		 INDEX("apps_workspace_id_collaborator_user_ids", "workspaceId",
		       "collaboratorUserIds"),
		 INDEX("apps_workspace_id_source_control_provider_owner_repo", "workspaceId",
		       "sourceControl.provider", "sourceControl.owner", "sourceControl.repo"),
		 INDEX("apps_workspace_id_source_control_installed_from_provider_owner_repo",
		       "workspaceId", "sourceControl.installedFrom.provider",
		       "sourceControl.installedFrom.owner", "sourceControl.installedFrom.repo"))},
	/* DM-8: one draft and one published snapshot per app. */
	{"app_source_snapshots", NULL,
	 INDEXES(UNIQUE("app_source_snapshots_workspace_id_app_id_kind_unique", "workspaceId",
			"appId", "kind"),
		 INDEX("app_source_snapshots_workspace_id_app_id_updated_at", "workspaceId",
		       "appId", "-updatedAt"))},
	/* DM-9 */
	{"review_requests", ARRAYS("targetTeamIds"),
	 INDEXES(INDEX("review_requests_workspace_id_status_updated_at", "workspaceId", "status",
		       "-updatedAt"),
		 INDEX("review_requests_workspace_id_resource_type_resource_id_status",
		       "workspaceId", "resourceType", "resourceId", "status"))},
	/* DM-10: builder and workspace-agent runs. */
	{"agent_runs", NULL,
	 INDEXES(INDEX("agent_runs_workspace_id_app_id_created_at", "workspaceId", "appId",
		       "-createdAt"),
		 INDEX("agent_runs_workspace_id_mode_created_at", "workspaceId", "mode",
		       "-createdAt"))},
	/* DM-11 */
	{"app_agent_runs", NULL,
	 INDEXES(INDEX("app_agent_runs_app_id_created_at", "appId", "-createdAt"),
		 INDEX("app_agent_runs_workspace_id_status", "workspaceId", "status"))},
	/* DM-12: appId is "<appId>__draft" for the draft data scope. */
	{"app_data", NULL,
	 INDEXES(INDEX("app_data_workspace_id_app_id_collection_updated_at", "workspaceId", "appId",
		       "collection", "-updatedAt"),
		 INDEX("app_data_workspace_id_app_id_collection_id", "workspaceId", "appId",
		       "collection", "_id"))},
	/* DM-13: app-scoped integration grants. */
	{"integrations", ARRAYS("teamIds"),
	 INDEXES(UNIQUE("integrations_workspace_id_app_id_domain_key_slug_unique", "workspaceId",
			"appId", "domain", "keySlug"),
		 INDEX("integrations_workspace_id_app_id_updated_at", "workspaceId", "appId",
		       "-updatedAt"),
		 INDEX("integrations_workspace_id_domain", "workspaceId", "domain"),
		 INDEX("integrations_workspace_id_updated_at", "workspaceId", "-updatedAt"))},
	/* DM-14 */
	{"integration_credentials", ARRAYS("linkedGrantIds"),
	 INDEXES(INDEX("integration_credentials_workspace_id_domain_capability_fingerprint",
		       "workspaceId", "domain", "capabilityFingerprint"),
		 INDEX("integration_credentials_workspace_id_linked_grant_ids", "workspaceId",
		       "linkedGrantIds"))},
	/* DM-15 */
	{"oauth_provider_configs", NULL,
	 INDEXES(UNIQUE("oauth_provider_configs_workspace_id_provider_key_unique", "workspaceId",
			"providerKey"),
		 INDEX("oauth_provider_configs_workspace_id_updated_at", "workspaceId",
		       "-updatedAt"))},
	/* DM-16 */
	{"connected_accounts", ARRAYS("grantedScopes"),
	 INDEXES(UNIQUE("connected_accounts_workspace_id_user_id_provider_config_id_unique",
			"workspaceId", "userId", "providerConfigId"),
		 INDEX("connected_accounts_workspace_id_provider_key_user_id", "workspaceId",
		       "providerKey", "userId"),
		 INDEX("connected_accounts_workspace_id_user_id_updated_at", "workspaceId",
		       "userId", "-updatedAt"))},
	/* DM-17: one connection per provider per workspace. */
	{"source_control_connections", NULL,
	 INDEXES(UNIQUE("source_control_connections_workspace_id_provider_unique", "workspaceId",
			"provider"),
		 INDEX("source_control_connections_workspace_id_updated_at", "workspaceId",
		       "-updatedAt"))},
	/* DM-18 and AUD-2. The seq index is ours: each workspace's events are numbered and
	 * hash-chained, and the unique index makes two writers racing for one seq fail. */
	{"audit_events", ARRAYS("actor.teamIds"),
	 INDEXES(INDEX("audit_events_workspace_id_occurred_at_id", "workspaceId", "-occurredAt",
		       "-_id"),
		 INDEX("audit_events_workspace_id_category_occurred_at", "workspaceId", "category",
		       "-occurredAt"),
		 INDEX("audit_events_workspace_id_event_name_occurred_at", "workspaceId",
		       "eventName", "-occurredAt"),
		 INDEX("audit_events_workspace_id_actor_user_id_occurred_at", "workspaceId",
		       "actor.userId", "-occurredAt"),
		 INDEX("audit_events_workspace_id_target_type_target_id_occurred_at", "workspaceId",
		       "target.type", "target.id", "-occurredAt"),
		 INDEX("audit_events_workspace_id_source_app_id_occurred_at", "workspaceId",
		       "source.appId", "-occurredAt"),
		 INDEX("audit_events_workspace_id_correlation_id_occurred_at", "workspaceId",
		       "correlationId", "-occurredAt"),
		 UNIQUE("audit_events_workspace_seq_unique", "workspaceId", "seq"))},
	/* DM-19: skills, and their immutable revisions below. */
	{"workspace_skills", ARRAYS("teamIds", "tags"),
	 INDEXES(UNIQUE("workspace_skills_workspace_id_slug_unique", "workspaceId", "slug"),
		 INDEX("workspace_skills_workspace_id_status_updated_at", "workspaceId", "status",
		       "-updatedAt"),
		 INDEX("workspace_skills_workspace_id_team_ids_status", "workspaceId", "teamIds",
		       "status"))},
	{"workspace_skill_revisions", NULL,
	 INDEXES(INDEX("workspace_skill_revisions_workspace_id_skill_id_revision_number",
		       "workspaceId", "skillId", "-revisionNumber"),
		 INDEX("workspace_skill_revisions_workspace_id_id_skill_id", "workspaceId", "_id",
		       "skillId"))},
	/* DM-20 */
	{"workspace_agents",
	 ARRAYS("teamIds", "selectedSkillIds", "selectedToolIds", "builtinTools"),
	 INDEXES(UNIQUE("workspace_agents_workspace_id_slug_unique", "workspaceId", "slug"),
		 INDEX("workspace_agents_workspace_id_status_updated_at", "workspaceId", "status",
		       "-updatedAt"),
		 INDEX("workspace_agents_workspace_id_team_ids_status", "workspaceId", "teamIds",
		       "status"),
		 INDEX("workspace_agents_workspace_id_selected_skill_ids", "workspaceId",
		       "selectedSkillIds"))},
	/* DM-21: the GridFS bucket becomes one collection whose documents hold the file's
	 * metadata and its base64 chunks, so both backends store attachments alike. */
	{"builder_attachments", NULL,
	 INDEXES(INDEX("builder_attachments_metadata_workspace_id_app_id_attachment_id_upload_date",
		       "metadata.workspaceId", "metadata.appId", "metadata.attachmentId",
		       "-uploadDate"))},
};

const struct store_schema store_schema_second = {
	.collections = collections,
	.ncollections = sizeof(collections) / sizeof(collections[0]),
};
