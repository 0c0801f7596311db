/* agents.json validation (T-5): the custom-tool rules and the WebSearch/WebFetch rule.
 *
 * Each check appends a complete issue string to a jansson array, capped at
 * AGENTS_JSON_MAX_ISSUES so a huge file cannot grow the reply without bound. Labels taken from
 * the file are cut to AGENTS_JSON_MAX_LABEL characters. Nothing here reads files or keeps
 * state; present_agents (tools.c) does the reading. */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/jsonx.h"
#include "lib/limits.h"
#include "workerd/agents-json.h"

#define AGENTS_JSON_MAX_TOOL_NAME 64 /* what the runtimes accept as an MCP tool name */

static const char *const secret_segments[] = {"apikey",   "key",    "secret", "token",
					      "password", "bearer", "auth"};
static const char *const token_segments[] = {"oauth",  "accesstoken", "refreshtoken",
					     "bearer", "token",       "secret"};

static void add_issue(json_t *issues, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_issue(json_t *issues, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	if (json_array_size(issues) >= AGENTS_JSON_MAX_ISSUES)
		return;
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	if (json_array_append_new(issues, json_string(s)) != 0)
		abort();
	free(s);
}

/* s cut to max UTF-8 characters into buf (bufsz >= max * 4 + 1). */
static const char *clip(const char *s, char *buf, size_t bufsz, size_t max)
{
	size_t i = 0, chars = 0;

	while (s[i] != '\0') {
		if (((unsigned char)s[i] & 0xC0) != 0x80 && chars++ == max)
			break;
		i++;
	}
	if (i >= bufsz)
		i = bufsz - 1;
	memcpy(buf, s, i);
	buf[i] = '\0';
	return buf;
}

static const char *nonempty(const json_t *obj, const char *key)
{
	const char *s = jsonx_str(obj, key);

	return s != NULL && s[strspn(s, " \t\r\n")] != '\0' ? s : NULL;
}

/* Whether a segment of name (split on _ . -) equals an entry of the table, case-insensitively:
 * the regex (^|[_.-])(word)([_.-]|$). Multi-word entries such as api_key or access_token end
 * in a word of their own table, so their joined forms (apikey, accesstoken) are all that is
 * left to list. */
static bool has_segment(const char *name, const char *const *table, size_t n)
{
	for (const char *p = name; *p != '\0';) {
		size_t len = strcspn(p, "_.-");

		for (size_t i = 0; i < n; i++)
			if (len == strlen(table[i]) && strncasecmp(p, table[i], len) == 0)
				return true;
		p += len;
		if (*p != '\0')
			p++;
	}
	return false;
}

bool agents_json_secret_like(const char *name)
{
	return has_segment(name, secret_segments,
			   sizeof(secret_segments) / sizeof(secret_segments[0]));
}

bool agents_json_token_like(const char *name)
{
	return has_segment(name, token_segments,
			   sizeof(token_segments) / sizeof(token_segments[0]));
}

static bool placeholder_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

static void add_name(json_t *names, const char *name, size_t len)
{
	size_t i;
	json_t *v;

	if (json_array_size(names) >= AGENTS_JSON_MAX_PLACEHOLDERS)
		return;
	json_array_foreach (names, i, v) {
		if (strlen(json_string_value(v)) == len &&
		    memcmp(json_string_value(v), name, len) == 0)
			return;
	}
	if (json_array_append_new(names, json_stringn(name, len)) != 0)
		abort();
}

/* The placeholders of one string: \{\{\s*([a-zA-Z0-9_.-]+)\s*\}\}, every match. */
static void scan_string(const char *s, json_t *names)
{
	for (const char *p = strstr(s, "{{"); p != NULL; p = strstr(p + 1, "{{")) {
		const char *q = p + 2, *start;
		size_t len;

		q += strspn(q, " \t\r\n\f\v");
		start = q;
		while (placeholder_char(*q))
			q++;
		len = (size_t)(q - start);
		q += strspn(q, " \t\r\n\f\v");
		if (len > 0 && q[0] == '}' && q[1] == '}')
			add_name(names, start, len);
	}
}

static void scan_value(const json_t *v, json_t *names, int depth)
{
	const char *key;
	json_t *item;
	size_t i;

	if (depth > AGENTS_JSON_MAX_DEPTH)
		return;
	switch (json_typeof(v)) {
	case JSON_STRING:
		scan_string(json_string_value(v), names);
		break;
	case JSON_ARRAY:
		json_array_foreach (v, i, item)
			scan_value(item, names, depth + 1);
		break;
	case JSON_OBJECT:
		json_object_foreach ((json_t *)v, key, item) {
			scan_string(key, names);
			scan_value(item, names, depth + 1);
		}
		break;
	default:
		break;
	}
}

void agents_json_placeholders(const json_t *v, json_t *names)
{
	if (v != NULL)
		scan_value(v, names, 0);
}

static bool is_https(const char *url)
{
	return url != NULL && strncasecmp(url, "https://", 8) == 0 && url[8] != '\0' &&
	       url[8] != '/';
}

static bool has_authorization_header(const json_t *endpoint)
{
	const json_t *headers = json_object_get(endpoint, "headers");
	const char *key;
	json_t *v;

	if (!json_is_object(headers))
		return false;
	json_object_foreach ((json_t *)headers, key, v) {
		if (strcasecmp(key, "authorization") == 0)
			return true;
	}
	return false;
}

static bool is_secret_ref(const char *name)
{
	return strncmp(name, "secrets.", 8) == 0;
}

static bool has_scope(const json_t *scopes)
{
	size_t i;
	json_t *v;

	json_array_foreach (scopes, i, v) {
		if (json_is_string(v) && json_string_length(v) > 0)
			return true;
	}
	return false;
}

static void check_oauth(const char *pre, const json_t *auth, const json_t *endpoint,
			const json_t *names, json_t *issues)
{
	const char *identity = jsonx_str(auth, "identity");
	const char *authz = jsonx_str(auth, "authorizationUrl");
	const char *token = jsonx_str(auth, "tokenUrl");
	size_t i;
	json_t *v;

	if (authz == NULL)
		authz = jsonx_str(auth, "authorize_url");
	if (token == NULL)
		token = jsonx_str(auth, "token_url");
	if (nonempty(auth, "providerKey") == NULL)
		add_issue(issues, "%sOAuth tools need integration.auth.providerKey.", pre);
	if (identity == NULL || strcmp(identity, "triggering_user") != 0)
		add_issue(issues, "%sintegration.auth.identity must be \"triggering_user\".", pre);
	if (!is_https(authz))
		add_issue(issues, "%sintegration.auth.authorizationUrl must be an https URL.", pre);
	if (!is_https(token))
		add_issue(issues, "%sintegration.auth.tokenUrl must be an https URL.", pre);
	if (!has_scope(json_object_get(auth, "scopes")))
		add_issue(issues, "%sintegration.auth.scopes must list at least one scope.", pre);
	json_array_foreach (names, i, v) {
		const char *name = json_string_value(v);

		if (is_secret_ref(name) || agents_json_token_like(name))
			add_issue(issues,
				  "%sOAuth tools must not use the placeholder {{%s}}; the platform "
				  "adds the signed-in user's access token itself.",
				  pre, name);
	}
	if (has_authorization_header(endpoint))
		add_issue(issues,
			  "%sOAuth tools must not set an Authorization header; the platform adds "
			  "it.",
			  pre);
}

static void check_static(const char *pre, const json_t *endpoint, const json_t *names,
			 json_t *issues)
{
	bool uses_secret = false;
	size_t i;
	json_t *v;

	json_array_foreach (names, i, v) {
		const char *name = json_string_value(v);

		if (is_secret_ref(name))
			uses_secret = true;
		else if (agents_json_secret_like(name))
			add_issue(issues,
				  "%sthe placeholder {{%s}} looks like a secret; reference stored "
				  "secrets as {{secrets.NAME}} instead of tool input.",
				  pre, name);
	}
	if (has_authorization_header(endpoint) && !uses_secret)
		add_issue(issues,
			  "%san Authorization header needs a {{secrets.NAME}} placeholder; "
			  "never write a credential into agents.json.",
			  pre);
}

static bool valid_tool_name(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > AGENTS_JSON_MAX_TOOL_NAME)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!placeholder_char(name[i]) || name[i] == '.')
			return false;
	return true;
}

static void check_name(const char *pre, const char *name, json_t *issues)
{
	if (name == NULL || *name == '\0')
		add_issue(issues, "%sname is required.", pre);
	else if (strcmp(name, AGENTS_JSON_RESERVED_TOOL) == 0)
		add_issue(issues,
			  "%sthe tool name \"" AGENTS_JSON_RESERVED_TOOL "\" is reserved for the "
			  "platform; choose another name.",
			  pre);
	else if (!valid_tool_name(name))
		add_issue(issues, "%sname must be 1 to %d letters, digits, _ or -.", pre,
			  AGENTS_JSON_MAX_TOOL_NAME);
}

static void check_endpoint(const char *pre, const json_t *endpoint, json_t *issues)
{
	if (!json_is_object(endpoint)) {
		add_issue(issues, "%sendpoint is required (an object with method and url).", pre);
		return;
	}
	if (nonempty(endpoint, "method") == NULL)
		add_issue(issues, "%sendpoint.method is required.", pre);
	if (nonempty(endpoint, "url") == NULL)
		add_issue(issues, "%sendpoint.url is required.", pre);
}

void agents_json_check_tool(const char *agent, const json_t *tool, json_t *issues)
{
	char albuf[AGENTS_JSON_MAX_LABEL * 4 + 1], tlbuf[AGENTS_JSON_MAX_LABEL * 4 + 1];
	const json_t *integration = json_object_get(tool, "integration");
	const json_t *endpoint = json_object_get(tool, "endpoint");
	const json_t *auth = json_object_get(integration, "auth");
	const char *name = jsonx_str(tool, "name"), *label = nonempty(tool, "displayName");
	const char *auth_type = jsonx_str(auth, "type");
	json_t *names = json_array();
	char *pre = NULL;

	if (names == NULL)
		abort();
	if (label == NULL)
		label = name != NULL && *name != '\0' ? name : "(unnamed tool)";
	if (asprintf(&pre, "agents.json: %s / %s: ",
		     clip(agent, albuf, sizeof(albuf), AGENTS_JSON_MAX_LABEL),
		     clip(label, tlbuf, sizeof(tlbuf), AGENTS_JSON_MAX_LABEL)) < 0)
		abort();
	check_name(pre, name, issues);
	if (nonempty(integration, "name") == NULL)
		add_issue(issues, "%sintegration.name is required.", pre);
	if (nonempty(integration, "domain") == NULL)
		add_issue(issues, "%sintegration.domain is required.", pre);
	check_endpoint(pre, endpoint, issues);
	if (json_is_object(endpoint))
		agents_json_placeholders(endpoint, names);
	if (auth_type != NULL && strcmp(auth_type, "oauth2") == 0)
		check_oauth(pre, auth, endpoint, names, issues);
	else
		check_static(pre, endpoint, names, issues);
	json_decref(names);
	free(pre);
}

static bool is_custom(const json_t *tool)
{
	const char *type = jsonx_str(tool, "type");

	return type != NULL && strcmp(type, "custom") == 0;
}

/* A builtin web tool named in an agent's tools, as an object or a bare string. */
static bool is_web_tool(const json_t *tool)
{
	static const char *const web[] = {"WebSearch", "web_search", "WebFetch", "web_fetch"};
	const char *name = json_is_string(tool) ? json_string_value(tool) : NULL;

	if (name == NULL && !is_custom(tool))
		name = jsonx_str(tool, "name");
	if (name == NULL)
		return false;
	for (size_t i = 0; i < sizeof(web) / sizeof(web[0]); i++)
		if (strcasecmp(name, web[i]) == 0)
			return true;
	return false;
}

static void check_agent(const json_t *agent, size_t index, json_t *issues)
{
	char fallback[32], buf[AGENTS_JSON_MAX_LABEL * 4 + 1];
	const char *label = nonempty(agent, "name");
	const json_t *tools = json_object_get(agent, "tools");
	bool custom = false, web = false;
	json_t *tool;
	size_t i;

	if (label == NULL)
		label = nonempty(agent, "id");
	if (label == NULL) {
		snprintf(fallback, sizeof(fallback), "agent %zu", index + 1);
		label = fallback;
	}
	label = clip(label, buf, sizeof(buf), AGENTS_JSON_MAX_LABEL);
	if (tools != NULL && !json_is_array(tools)) {
		add_issue(issues, "agents.json: %s: tools must be an array.", label);
		return;
	}
	json_array_foreach (tools, i, tool) {
		if (is_custom(tool)) {
			custom = true;
			agents_json_check_tool(label, tool, issues);
		} else if (is_web_tool(tool)) {
			web = true;
		}
	}
	if (custom && web)
		add_issue(issues,
			  "agents.json: %s: WebSearch and WebFetch cannot be combined with custom "
			  "tools",
			  label);
}

static size_t array_len(const json_t *doc, const char *key)
{
	const json_t *a = json_object_get(doc, key);

	return json_is_array(a) ? json_array_size(a) : 0;
}

enum agents_json_status agents_json_validate(const json_t *doc, json_t **issues)
{
	const json_t *agents = json_object_get(doc, "agents");
	const json_t *app_tools = json_object_get(doc, "appTools");
	json_t *item;
	size_t i;

	*issues = json_array();
	if (*issues == NULL)
		abort();
	if (!json_is_object(doc) ||
	    (array_len(doc, "agents") == 0 && array_len(doc, "appTools") == 0)) {
		add_issue(*issues, "agents.json: file does not contain any agents or appTools.");
		return AGENTS_JSON_INVALID;
	}
	if (agents != NULL && !json_is_array(agents))
		add_issue(*issues, "agents.json: agents must be an array.");
	if (app_tools != NULL && !json_is_array(app_tools))
		add_issue(*issues, "agents.json: appTools must be an array.");
	json_array_foreach (agents, i, item) {
		if (json_is_object(item))
			check_agent(item, i, *issues);
		else
			add_issue(*issues, "agents.json: agents[%zu] must be an object.", i);
	}
	json_array_foreach (app_tools, i, item) {
		if (is_custom(item))
			agents_json_check_tool(AGENTS_JSON_APP_TOOLS_AGENT, item, *issues);
	}
	return json_array_size(*issues) == 0 ? AGENTS_JSON_VALID : AGENTS_JSON_CHANGES_REQUIRED;
}

enum agents_json_status agents_json_check_text(const char *text, size_t len, json_t **doc,
					       json_t **issues)
{
	struct err e = {0};

	*doc = jsonx_loadb(text, len, AGENTS_JSON_MAX_BYTES, AGENTS_JSON_MAX_DEPTH, &e);
	if (*doc != NULL)
		return agents_json_validate(*doc, issues);
	*issues = json_array();
	if (*issues == NULL)
		abort();
	if (e.code == ERR_TOO_LARGE)
		add_issue(*issues, "agents.json: file is larger than %d bytes.",
			  AGENTS_JSON_MAX_BYTES);
	else if (e.code == ERR_TOO_DEEP)
		add_issue(*issues, "agents.json: invalid JSON: nested deeper than %d levels.",
			  AGENTS_JSON_MAX_DEPTH);
	else
		add_issue(*issues, "agents.json: invalid JSON: %s", e.msg);
	return AGENTS_JSON_INVALID;
}
