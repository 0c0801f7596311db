/* The project's one configuration key table: every key, its type, default and help.
 *
 * Each row is the whole truth about a key: config_load validates defaults, file lines and
 * SECOND_* variables against it, and config_print_markdown renders it as README's
 * configuration table, so a key added here is documented by construction. Rows are grouped by
 * subsystem; help texts are one short sentence. */
#include <config.h>

#include "lib/config.h"

const struct config_key config_keys[] = {
	{
		.key = "store.uri",
		.type = CONFIG_STRING,
		.def = "sqlite:/var/lib/second/second.db",
		.help = "Document store: sqlite:PATH or mongodb://HOST/DB.",
	},
	{
		.key = "store.sqlite.busy_timeout_ms",
		.type = CONFIG_INT,
		.def = "5000",
		.help = "How long SQLite waits for a lock held by another process, in "
			"milliseconds.",
		.min = 1,
		.max = 600000,
	},
	{
		.key = "store.sqlite.synchronous",
		.type = CONFIG_ENUM,
		.def = "full",
		.help = "SQLite durability: full syncs every commit, normal may lose the last ones "
			"on power loss.",
		.choices = "full|normal",
	},
	{
		.key = "store.sqlite.pool_size",
		.type = CONFIG_INT,
		.def = "8",
		.help = "SQLite connections kept open per process.",
		.min = 1,
		.max = 64,
	},
	{
		.key = "store.mongodb.pool_max",
		.type = CONFIG_INT,
		.def = "32",
		.help = "Largest MongoDB client pool per process.",
		.min = 1,
		.max = 1000,
	},
	{
		/* Not secret so operators can see where Redis is, but config_print masks a
		 * password in the URL's userinfo. */
		.key = "redis.url",
		.type = CONFIG_STRING,
		.def = "redis://127.0.0.1:6379",
		.help = "Redis server: redis://[:password@]host[:port][/db] or "
			"unix:///path[?db=N].",
	},
	{
		.key = "redis.connect_timeout_ms",
		.type = CONFIG_INT,
		.def = "2000",
		.help = "Timeout for connecting to Redis, in milliseconds.",
		.min = 1,
		.max = 60000,
	},
	{
		.key = "redis.command_timeout_ms",
		.type = CONFIG_INT,
		.def = "5000",
		.help = "Timeout for one Redis command, in milliseconds.",
		.min = 1,
		.max = 600000,
	},
	{
		.key = "log.level",
		.type = CONFIG_ENUM,
		.def = "info",
		.help = "Least severe level that is logged.",
		.choices = "debug|info|notice|warning|error",
	},
	{
		.key = "log.target",
		.type = CONFIG_ENUM,
		.def = "auto",
		.help = "Where logs go: auto picks journald under systemd and stderr otherwise.",
		.choices = "auto|stderr|journald",
	},
	{
		.key = "api.listen",
		.type = CONFIG_STRING,
		.def = "",
		.help = "Where second-api takes FastCGI connections: unix:/PATH or tcp:HOST:PORT; "
			"empty uses the socket the web server or systemd passes.",
	},
	{
		.key = "api.threads",
		.type = CONFIG_INT,
		.def = "8",
		.help = "Worker threads of one second-api process.",
		.min = 1,
		.max = 64,
	},
	{
		.key = "api.internal_token",
		.type = CONFIG_STRING,
		.def = "",
		.help = "Shared bearer token between the responders and workerd: workerd presents "
			"it on /api/internal/ routes and requires it on its own API; both refuse "
			"internal calls while it is empty in production.",
		.secret = true,
	},
	{
		.key = "sse.listen",
		.type = CONFIG_STRING,
		.def = "",
		.help = "Where second-sse takes FastCGI connections: unix:/PATH or tcp:HOST:PORT; "
			"empty uses the socket the web server or systemd passes.",
	},
	{
		.key = "sse.threads",
		.type = CONFIG_INT,
		.def = "256",
		.help = "Worker threads of one second-sse process: each open chat stream (a sender "
			"or an observer) holds one.",
		.min = 1,
		.max = 4096,
	},
	{
		.key = "sse.keepalive_s",
		.type = CONFIG_INT,
		.def = "15",
		.help = "Seconds between keep-alive comments on a quiet chat stream (sender or "
			"observer).",
		.min = 1,
		.max = 300,
	},
	{
		.key = "auth.mode",
		.type = CONFIG_ENUM,
		.def = "none",
		.help = "How people sign in: none is the local identity form for one machine, "
			"never to be exposed publicly.",
		.choices = "none",
	},
	{
		.key = "auth.session_ttl_s",
		.type = CONFIG_INT,
		.def = "2592000",
		.help = "Lifetime of a sign-in session in seconds; logout ends it at once.",
		.min = 60,
		.max = 2592000,
	},
	{
		.key = "http.public_url",
		.type = CONFIG_STRING,
		.def = "http://127.0.0.1:8080",
		.help = "The URL people use to reach Second; redirects are built on it.",
	},
	{
		.key = "http.port",
		.type = CONFIG_INT,
		.def = "8080",
		.help = "Port contrib/second-dev gives the web server on 127.0.0.1.",
		.min = 1,
		.max = 65535,
	},
	{
		.key = "workerd.listen",
		.type = CONFIG_STRING,
		.def = "unix:/run/second/workerd.sock",
		.help = "workerd's internal API for the responders (unix:/PATH), when systemd "
			"does not pass the socket; the responders connect here too.",
	},
	{
		.key = "workerd.mcp_listen",
		.type = CONFIG_STRING,
		.def = "127.0.0.1:3002",
		.help = "Loopback HOST:PORT of workerd's MCP broker for the runtime CLIs, when "
			"systemd does not pass the socket; port 0 picks a free one.",
	},
	{
		.key = "workerd.mcp_url",
		.type = CONFIG_STRING,
		.def = "",
		.help = "Base URL the runtime CLIs use to reach the broker; empty derives "
			"http://127.0.0.1:PORT from the broker socket.",
	},
	{
		.key = "workerd.workspaces_dir",
		.type = CONFIG_STRING,
		.def = "/var/lib/second/workspaces",
		.help = "Directory holding one working copy per app.",
	},
	{
		.key = "workerd.runtime_dir",
		.type = CONFIG_STRING,
		.def = "/var/lib/second/runtime",
		.help = "Private directory for the runtimes' homes and configuration files (mode "
			"0700; holds per-turn broker tokens).",
	},
	{
		.key = "workerd.template_dir",
		.type = CONFIG_STRING,
		.def = "",
		.help = "Directory new app workspaces are created from; empty uses the template "
			"shipped with workerd (workerd/template of the build).",
	},
	{
		.key = "workerd.runtime_path",
		.type = CONFIG_STRING,
		.def = "",
		.help = "PATH given to the runtime CLIs and searched for them; empty uses "
			"workerd's PATH plus the usual install directories.",
	},
	{
		.key = "workerd.claude_path",
		.type = CONFIG_STRING,
		.def = "",
		.help = "Absolute path of the claude CLI; empty searches the runtime PATH.",
	},
	{
		.key = "workerd.codex_path",
		.type = CONFIG_STRING,
		.def = "",
		.help = "Absolute path of the codex CLI; empty searches the runtime PATH.",
	},
	{
		.key = "workerd.opencode_path",
		.type = CONFIG_STRING,
		.def = "",
		.help = "Absolute path of the opencode CLI; empty searches the runtime PATH.",
	},
	{
		.key = "workerd.opencode_config_file",
		.type = CONFIG_STRING,
		.def = "",
		.help = "A user opencode.json (comments allowed) whose `provider` object is "
			"mirrored into each OpenCode turn's private configuration, over the one "
			"in ~/.config/opencode; empty uses $OPENCODE_CONFIG, if set.",
	},
	{
		.key = "workerd.opencode_local_auth",
		.type = CONFIG_ENUM,
		.def = "auto",
		.help = "Copy the service user's OpenCode login "
			"(~/.local/share/opencode/auth.json) "
			"into each OpenCode home when the model's provider has no API key set: "
			"auto "
			"outside production only, on always, off never.",
		.choices = "auto|on|off",
	},
	{
		.key = "workerd.codex_base_url",
		.type = CONFIG_STRING,
		.def = "",
		.help = "Responses API base URL Codex uses instead of OpenAI's (e.g. "
			"http://127.0.0.1:PORT/v1); empty keeps Codex's default endpoint.",
	},
	{
		.key = "workerd.codex_local_auth",
		.type = CONFIG_ENUM,
		.def = "auto",
		.help = "Copy the service user's Codex login (auth.json) into each Codex home when "
			"no API key is set: auto outside production only, on always, off never.",
		.choices = "auto|on|off",
	},
	{
		.key = "workerd.sandbox",
		.type = CONFIG_ENUM,
		.def = "auto",
		.help = "Run each runtime under bubblewrap seeing only its workspace read-write: "
			"auto uses it when installed and working, bwrap requires it, off never.",
		.choices = "auto|bwrap|off",
	},
	{
		.key = "workerd.session_ttl_s",
		.type = CONFIG_INT,
		.def = "900",
		.help = "Seconds an idle builder session is kept; a busy one never expires.",
		.min = 10,
		.max = 86400,
	},
	{
		.key = "workerd.heartbeat_s",
		.type = CONFIG_INT,
		.def = "30",
		.help = "Seconds between keep-alive comments on a quiet turn stream.",
		.min = 1,
		.max = 300,
	},
	{
		.key = "workerd.production",
		.type = CONFIG_BOOL,
		.def = "false",
		.help = "Production rules: an empty api.internal_token refuses every internal "
			"call instead of allowing it.",
	},
};

const size_t config_nkeys = sizeof(config_keys) / sizeof(config_keys[0]);
