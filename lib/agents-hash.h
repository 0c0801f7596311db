/* The approval hash of an app's agents.json (GOV-11, schema v1), shared by every responder.
 *
 * An approval records this hash; the draft counts as approved only while its agents.json still
 * hashes to it. v1 normalises the object (empty `agents` and `appTools` arrays dropped, each
 * agent's empty `tools` and `dataCollections` dropped), serialises it canonically the way a
 * JavaScript engine's JSON.stringify would after sorting every object's keys by UTF-16 code
 * units, and hashes that text: "v1:" + lower-case hex SHA-256. The bytes must never change for
 * v1; new rules get a new version prefix. */
#ifndef SECOND_AGENTS_HASH_H
#define SECOND_AGENTS_HASH_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "lib/err.h"

#define AGENTS_HASH_LEN (3 + 64) /* "v1:" and 64 hex digits */

/* The app's draft approval fields (GOV-12): hash, normalised payload, approver's id and name,
 * time and source, in that order. An approval sets all six; a stale or cleared one nulls them. */
#define AGENTS_APPROVAL_FIELDS 6
extern const char *const agents_approval_fields[AGENTS_APPROVAL_FIELDS];

enum agents_hash_result {
	AGENTS_HASH_OK = 0,
	AGENTS_HASH_ABSENT = 1, /* empty or white space only: no agents.json */
	AGENTS_HASH_INVALID = -1,
};

/* Hashes agents.json text. OK: out gets the hash and *payload (may be NULL) the normalised
 * object as a new reference. INVALID fills e with the message users see ("agents.json is not
 * valid JSON", or the rule it breaks). */
enum agents_hash_result agents_hash(const char *text, size_t len, char out[AGENTS_HASH_LEN + 1],
				    json_t **payload, struct err *e);

/* The canonical v1 text of a value (malloc'd); exposed for tests. */
char *agents_hash_canonical(const json_t *v);

/* GOV-13: true when an approval was recorded (approved_hash not NULL) and the agents.json text
 * (NULL when the draft has none) no longer hashes to it: changed, removed or invalid. */
bool agents_hash_stale(const char *approved_hash, const char *text, size_t len);

#endif
