/* The platform tools the MCP broker serves (T-2, T-3, T-5, T-8): one registry table.
 *
 * Each row is {server, name, description, input_schema, handler}: `server` is the MCP server
 * the tool lives on (second, app_tools, app_data), `name` the bare tool name (the canonical
 * name is mcp__<server>__<name>, R-7), `input_schema` JSON Schema text. A handler gets the
 * broker session's tool context read-only and the call's arguments, and always fills a
 * result: the text for the model, whether it is a tool-level error, and optionally values to
 * keep in the session (set_app_metadata's name and description). */
#ifndef SECOND_WORKERD_TOOLS_H
#define SECOND_WORKERD_TOOLS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define TOOLS_SERVER_SECOND "second"
#define TOOLS_SERVER_APP_TOOLS "app_tools"
#define TOOLS_SERVER_APP_DATA "app_data"

struct workerd;

struct tool_ctx {
	/* The session's context object (cwd, appId, workspaceId, runId, appName,
	 * requestedByUserId, requestedByUserName, agentConfig). Borrowed, never NULL. */
	const json_t *context;
	struct workerd *w; /* may be NULL (unit tests) */
	const char *server;
};

struct tool_result {
	char *text;      /* malloc'd; the result text, or the error text when is_error */
	bool is_error;   /* a tool-level failure, sent with isError:true */
	json_t *capture; /* NULL or a new object whose members the broker keeps in the session */
};

typedef void (*tool_handler_fn)(const struct tool_ctx *ctx, const json_t *args,
				struct tool_result *out);

struct tool_def {
	const char *server;
	const char *name;
	const char *description;
	const char *input_schema; /* JSON text */
	tool_handler_fn handler;
};

/* Whether `server` is one of second, app_tools, app_data. */
bool tools_server_known(const char *server);
/* The registered tools in a stable order; *n gets their count. */
const struct tool_def *tools_all(size_t *n);
/* The tool `name` (bare) on `server`, or NULL. */
const struct tool_def *tools_find(const char *server, const char *name);
/* Writes mcp__<server>__<name> into buf; -1 when it does not fit. */
int tools_canonical_name(const struct tool_def *t, char *buf, size_t bufsz);
/* The tool's input schema parsed: a new reference (aborts on a malformed built-in schema). */
json_t *tools_input_schema(const struct tool_def *t);
/* Runs the tool. *out is filled in every case; release it with tool_result_clear. */
void tools_call(const struct tool_def *t, const struct tool_ctx *ctx, const json_t *args,
		struct tool_result *out);
void tool_result_clear(struct tool_result *r);

/* Helpers shared with tests: characters (UTF-8 code points) of s, and s with runs of
 * whitespace collapsed to one space and trimmed (malloc'd). */
size_t tools_utf8_chars(const char *s);
char *tools_collapse_ws(const char *s);

#endif
