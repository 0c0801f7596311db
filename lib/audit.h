/* The audit log: an append-only, hash-chained event record per workspace (AUD-1..AUD-6).
 *
 * audit_record() builds the AUD-2 document from a caller's description: text fields through
 * clean_text, metadata sanitised (AUD-4: depth, sizes, redaction of secret-looking keys),
 * hashes (AUD-5). Events of one workspace are numbered (`seq`, from 1) and chained: each stores
 * `prevHash` (the previous event's `hash`, "" for the first) and its own `hash` =
 * "sha256:" + hex SHA-256 of the stable serialisation of the event without `hash`. A unique
 * index on (workspaceId, seq) makes concurrent writers take turns, so the chain never forks.
 * audit_verify() walks a workspace's chain and names the first event that does not fit. */
#ifndef SECOND_AUDIT_H
#define SECOND_AUDIT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "lib/err.h"
#include "lib/limits.h"
#include "lib/store.h"

struct audit_event {
	const char *workspace_id; /* required */
	const char *event_name;   /* ^[a-z][a-z0-9]*(?:[._][a-z0-9]+)+$ */
	const char *category;     /* AUD-3 */
	const char *severity;     /* NULL: "info" */
	const char *outcome;      /* NULL: "success" */
	const char *action;       /* required, <= AUDIT_ACTION_MAX */
	const char *summary;      /* required, <= AUDIT_SUMMARY_MAX */
	const json_t *actor;      /* {kind, userId?, displayName?, email?, role?...} */
	const json_t *source;     /* {kind, trust, requestId?, ipHash?...} */
	const json_t *target;     /* {type, id?, name?, parentType?, parentId?} */
	const json_t *metadata;   /* sanitised here; may be NULL */
	const json_t *changes;    /* {changedFields[], beforeHash?, afterHash?} */
	const char *correlation_id;
	const json_t *related_ids;
	const char *retention_policy; /* NULL: "default" */
	const char *occurred_at;      /* ISO-8601; NULL: now */
};

/* Writes one event; id_out (may be NULL) gets its id. Callers treat failure as best effort:
 * log it, keep the business change (AUD-6). */
int audit_record(struct store *s, const struct audit_event *ev, char id_out[ID_HEX_LEN + 1],
		 struct err *e) __attribute__((warn_unused_result));

/* AUD-2 cleanText: strips control bytes, collapses CR/LF/TAB runs to one space, trims, cuts
 * to max characters adding "...". malloc'd. */
char *audit_clean_text(const char *s, size_t max);
/* AUD-4: a new sanitised copy of metadata; redacted dotted paths are appended to `redacted`
 * (an array, may be NULL); *truncated tells whether anything was cut. */
json_t *audit_sanitize(const json_t *metadata, json_t *redacted, bool *truncated);
/* AUD-5: "sha256:" + hex of the stable serialisation; out needs 72 bytes. */
void audit_sha256(const json_t *v, char out[72]);

struct audit_verify_result {
	bool ok;
	size_t count;                /* events checked */
	char bad_id[ID_HEX_LEN + 1]; /* first bad event, "" when ok */
	long long bad_seq;
	char reason[ERR_MSG_MAX];
};

int audit_verify(struct store *s, const char *workspace_id, struct audit_verify_result *res,
		 struct err *e) __attribute__((warn_unused_result));

#endif
