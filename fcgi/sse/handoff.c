/* B-6 transcript handoff. The runtime's native session covers the first `covered` messages;
 * everything after that, and everything since the message before the newest approval card
 * (present_plan, present_agents, present_suggestions), is replayed as a bounded transcript in
 * front of the latest user message. */
#include <config.h>

#include "fcgi/sse/handoff.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/jsonx.h"
#include "lib/limits.h"

struct buf {
	char *p;
	size_t len, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* Up to max bytes of s, not cutting a UTF-8 sequence, with "..." when cut. */
static void put_cut(struct buf *b, const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n <= max) {
		put(b, s, n);
		return;
	}
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	put(b, s, max);
	puts_(b, "...");
}

static const char *tool_name(const json_t *part)
{
	const char *type = jsonx_str(part, "type");
	if (!type)
		return NULL;
	if (strcmp(type, "dynamic-tool") == 0)
		return jsonx_str(part, "toolName");
	if (strncmp(type, "tool-", 5) == 0)
		return type + 5;
	return NULL;
}

static const char *approval_kind(const json_t *msg)
{
	size_t i;
	json_t *part;
	json_array_foreach (json_object_get(msg, "parts"), i, part) {
		const char *name = tool_name(part);
		if (!name)
			continue;
		if (strstr(name, "present_plan"))
			return "the latest build plan";
		if (strstr(name, "present_agents"))
			return "the latest agent configuration";
		if (strstr(name, "present_suggestions"))
			return "a build suggestion";
	}
	return NULL;
}

static char *latest_text(const json_t *msg)
{
	struct buf b = {0};
	size_t i;
	json_t *part;
	puts_(&b, "");
	json_array_foreach (json_object_get(msg, "parts"), i, part) {
		const char *type = jsonx_str(part, "type"), *text = jsonx_str(part, "text");
		if (type && strcmp(type, "text") == 0 && text) {
			if (b.len)
				puts_(&b, "\n");
			puts_(&b, text);
		}
	}
	return b.p;
}

static void transcript_entry(struct buf *t, const json_t *msg)
{
	const char *role = jsonx_str(msg, "role");
	puts_(t, role && strcmp(role, "user") == 0 ? "User:" : "Assistant:");
	size_t i;
	json_t *part;
	json_array_foreach (json_object_get(msg, "parts"), i, part) {
		const char *type = jsonx_str(part, "type"), *text = jsonx_str(part, "text");
		const char *name = tool_name(part);
		if (type && strcmp(type, "text") == 0 && text) {
			puts_(t, " ");
			put_cut(t, text, HANDOFF_PART_MAX);
		} else if (name) {
			char line[256];
			snprintf(line, sizeof(line), "\n[tool %.80s: %.40s", name,
				 jsonx_str(part, "state") ? jsonx_str(part, "state") : "called");
			puts_(t, line);
			json_t *out = json_object_get(part, "output");
			if (out) {
				char *o = json_is_string(out) ? strdup(json_string_value(out))
							      : json_dumps(out, JSON_COMPACT);
				puts_(t, " -> ");
				put_cut(t, o ? o : "", HANDOFF_TOOL_OUTPUT_MAX);
				free(o);
			}
			puts_(t, "]");
		}
	}
	puts_(t, "\n");
}

char *handoff_prompt(const json_t *messages, size_t covered, const char *runtime_id,
		     const char *model)
{
	size_t n = json_array_size(messages);
	if (n == 0)
		return strdup("");
	size_t latest = n - 1;
	char *text = latest_text(json_array_get(messages, latest));
	size_t native = covered > latest ? latest : covered;
	size_t approval = latest, start = native;
	const char *kind = NULL;
	for (size_t i = latest; i > 0; i--) {
		kind = approval_kind(json_array_get(messages, i - 1));
		if (kind) {
			approval = i - 1 > 0 ? i - 2 : 0;
			break;
		}
	}
	if (approval < start)
		start = approval;
	if (start >= latest)
		return text;
	struct buf t = {0};
	puts_(&t, "");
	for (size_t i = start; i < latest; i++)
		transcript_entry(&t, json_array_get(messages, i));
	const char *body = t.p;
	bool cut = t.len > HANDOFF_TRANSCRIPT_MAX;
	if (cut) {
		body = t.p + t.len - HANDOFF_TRANSCRIPT_MAX;
		while (((unsigned char)*body & 0xC0) == 0x80)
			body++;
	}
	struct buf p = {0};
	puts_(&p, "You are continuing a Second builder conversation ");
	if (kind) {
		puts_(&p, "after the user approved ");
		puts_(&p, kind);
	} else {
		puts_(&p, "with restored Second conversation context");
	}
	puts_(&p, ".\nTarget runtime: ");
	puts_(&p, runtime_id);
	puts_(&p, "\nTarget model: ");
	puts_(&p, model);
	puts_(&p, "\nThe files in the workspace are the truth for the code; the conversation below "
		  "is context. Continue from where it left off without redoing finished work.\n"
		  "<recent_second_conversation>\n");
	if (cut)
		puts_(&p, "[Earlier handoff transcript omitted]\n");
	puts_(&p, body);
	puts_(&p, "</recent_second_conversation>\nNow respond to the user's latest message:\n");
	puts_(&p, text);
	free(t.p);
	free(text);
	return p.p;
}
