/* second-api's route table: every handler file's rows, joined in one array at start.
 *
 * Order matters only between patterns that could match the same path; literal segments are
 * listed before parameters inside each file (for example "/apps/status" before
 * "/apps/:appId"), and http_route_match() takes the first row that matches. */
#include <config.h>

#include "fcgi/api/api.h"

static const struct http_route *const tables[] = {
	api_routes_health, api_routes_onboarding,  api_routes_workspaces, api_routes_members,
	api_routes_teams,  api_routes_invitations, api_routes_apps,       api_routes_audit,
	api_routes_runs,   api_routes_files,       api_routes_preview,    api_routes_setup,
	api_routes_agents,
};

const struct http_route *api_routes(size_t *n)
{
	static struct http_route *all;
	static size_t nall;

	if (all == NULL)
		all = http_routes_join(tables, sizeof(tables) / sizeof(tables[0]), &nall);
	*n = nall;
	return all;
}
