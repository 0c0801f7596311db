/* agents.json validation for present_agents (T-5): pure functions from JSON to issue lists.
 *
 * agents.json is `{"agents"?: Agent[], "appTools"?: CustomTool[]}`; an agent's `tools` mixes
 * builtins (`{type:"builtin", name:"WebSearch"|"WebFetch"}`) and custom HTTP tools
 * (`{type:"custom", name, integration{name, domain, auth?}, endpoint{method, url, headers?,
 * queryParams?, body?}}`). Top-level appTools are checked as the pseudo-agent "Backend
 * functions". Every issue is a string "agents.json: <agent> / <tool>: <what to fix>" (or
 * "agents.json: <agent>: ..." for an agent-wide rule), ready to hand back to the model. */
#ifndef SECOND_WORKERD_AGENTS_JSON_H
#define SECOND_WORKERD_AGENTS_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define AGENTS_JSON_APP_TOOLS_AGENT "Backend functions"
#define AGENTS_JSON_RESERVED_TOOL "report_tool_call_failed"

enum agents_json_status {
	AGENTS_JSON_VALID,            /* agents or appTools present and no issues: present it */
	AGENTS_JSON_INVALID,          /* not JSON, too large or deep, or nothing to present */
	AGENTS_JSON_CHANGES_REQUIRED, /* well-formed, with validation issues */
};

/* Parses agents.json text (at most AGENTS_JSON_MAX_BYTES, nesting AGENTS_JSON_MAX_DEPTH) and
 * validates it. *doc gets the parsed value (new reference) or NULL when it did not parse;
 * *issues gets a new array of strings, empty only for AGENTS_JSON_VALID. */
enum agents_json_status agents_json_check_text(const char *text, size_t len, json_t **doc,
					       json_t **issues);

/* Validates a parsed agents.json. *issues gets a new array of strings (empty when valid, at
 * most AGENTS_JSON_MAX_ISSUES). */
enum agents_json_status agents_json_validate(const json_t *doc, json_t **issues);

/* Appends the issues of one `type:"custom"` tool, prefixed with the agent's label, to
 * `issues` (an array). */
void agents_json_check_tool(const char *agent, const json_t *tool, json_t *issues);

/* Appends to `names` (an array) each distinct placeholder name written `{{ name }}` in the
 * strings and keys of v, recursively; at most AGENTS_JSON_MAX_PLACEHOLDERS. */
void agents_json_placeholders(const json_t *v, json_t *names);

/* A placeholder name with an api_key, key, secret, token, password, bearer or auth segment
 * (segments split on _ . -), case-insensitive. */
bool agents_json_secret_like(const char *name);
/* Token-like names OAuth tools must not use: oauth, access_token, refresh_token, bearer,
 * token or secret segments. */
bool agents_json_token_like(const char *name);

#endif
