/* workerd: the daemon that owns the agent runtimes and the MCP tool broker.
 *
 * One process holds the builder sessions (in memory, keyed by the URL's app id), runs one
 * runtime CLI per turn, and serves two HTTP listeners on libmicrohttpd: the internal API on a
 * unix socket for the responders (INTERNAL bearer token), and the MCP broker on loopback TCP for
 * the runtimes (one bearer token per turn). Nothing here opens the document store: what must
 * last is written back through the API. `struct workerd` is the daemon's shared state; every
 * module gets it and reads its settings from it. */
#ifndef SECOND_WORKERD_H
#define SECOND_WORKERD_H

#include <stdbool.h>

struct config;
struct broker;
struct sessions;

enum workerd_sandbox {
	WORKERD_SANDBOX_AUTO, /* bwrap when it is installed and works, else none */
	WORKERD_SANDBOX_BWRAP,
	WORKERD_SANDBOX_OFF,
};

struct workerd {
	const struct config *cfg;
	const char *internal_token; /* api.internal_token; "" = unset */
	const char *workspaces_dir; /* an app's workspace is <dir>/<appId> */
	const char *runtime_dir;    /* private per-runtime homes and config files (0700) */
	const char *mcp_url;        /* base URL runtimes use for the broker: http://127.0.0.1:P */
	const char *template_dir;   /* the starter of new app workspaces; "" = none */
	const char *runtime_path;   /* PATH given to runtimes (and searched for their CLIs) */
	const char *claude_path;    /* explicit binaries; "" = search runtime_path */
	const char *codex_path;
	const char *opencode_path;
	const char *bwrap_path; /* resolved bwrap, or NULL when the sandbox is off */
	enum workerd_sandbox sandbox;
	int session_ttl_s;
	int heartbeat_s;
	bool production; /* workerd.production: stricter defaults of, W-2 */
	struct broker *broker;
	struct sessions *sessions;
};

#endif
