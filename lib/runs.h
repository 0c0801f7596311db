/* Builder runs (agent_runs, B-18): creation, the atomic claim of B-3, the stream lease,
 * terminal updates, stop, and usage accumulation (U-4).
 *
 * Every query names the run by {_id, workspaceId, appId} (TEN-8). A claimed run carries a
 * streamLease {id, startedAt, heartbeatAt}; whoever holds the lease id is the only writer of
 * the run's terminal state, so a stop (which fails the run under the stored lease) makes the
 * sender's later updates miss and it skips persistence. Runs also keep `messageCount`, the
 * length of `messages`, so the claim's "the request has more messages than are stored" is one
 * compare-and-set filter on both backends. */
#ifndef SECOND_RUNS_H
#define SECOND_RUNS_H

#include <stdbool.h>

#include <jansson.h>

#include "lib/err.h"
#include "lib/limits.h"

struct store;

struct runs_key {
	const char *workspace_id, *app_id, *run_id;
};

enum runs_claim {
	RUNS_CLAIMED,
	RUNS_ALREADY_STREAMING,
	RUNS_STALE_RECOVERED, /* a dead stream was failed; the caller may retry */
	RUNS_STALE_INPUT,
	RUNS_NOT_FOUND,
};

/* A new pending run of the app. *run is the new document (new ref). */
int runs_create(struct store *s, const char *workspace_id, const char *app_id, const char *mode,
		json_t **run, struct err *e) __attribute__((warn_unused_result));
/* The run, or *run NULL when it is not there (in that workspace and app). */
int runs_get(struct store *s, const struct runs_key *k, json_t **run, struct err *e)
	__attribute__((warn_unused_result));

/* B-3. `messages` are the request's UIMessages; retry_id is retryLastMessageId or NULL. On
 * RUNS_CLAIMED, lease gets the new lease id and *run the claimed document. On
 * RUNS_STALE_RECOVERED *run holds the failure written. */
int runs_claim(struct store *s, const struct runs_key *k, const json_t *messages,
	       const char *retry_id, enum runs_claim *result, char lease[ID_HEX_LEN + 1],
	       json_t **run, struct err *e) __attribute__((warn_unused_result));
const char *runs_claim_name(enum runs_claim r); /* "already_streaming", ... */

/* Lease-guarded: sets activeStreamId (when not NULL) and bumps the heartbeat. *owned is false
 * when the lease is gone (stopped, or taken over). */
int runs_heartbeat(struct store *s, const struct runs_key *k, const char *lease,
		   const char *active_stream_id, bool *owned, struct err *e)
	__attribute__((warn_unused_result));
/* Whether the run is still streaming under this lease; *run (may be NULL) the document. */
int runs_owned(struct store *s, const struct runs_key *k, const char *lease, bool *owned,
	       json_t **run, struct err *e) __attribute__((warn_unused_result));

/* B-11 step 6, lease-guarded: saves the session state (under runtimeSessionStates.<runtime>
 * too) when given, then completes (failure NULL) or fails the run with `messages`. *applied is
 * false when the lease was lost. */
int runs_finish(struct store *s, const struct runs_key *k, const char *lease,
		const json_t *messages, const json_t *failure, const json_t *session_state,
		const char *runtime_id, bool *applied, struct err *e)
	__attribute__((warn_unused_result));

/* B-16: fails a streaming run under its stored lease with `failure`. *applied false when it
 * was not streaming (then *run is the run as it is). */
int runs_stop(struct store *s, const struct runs_key *k, const json_t *failure, bool *applied,
	      json_t **run, struct err *e) __attribute__((warn_unused_result));

/* U-4: adds one turn's usage ({totalCostUsd, modelUsage:{model:{inputTokens, outputTokens,
 * cacheReadInputTokens, cacheCreationInputTokens, costUSD}}}) to the run's totals. */
int runs_add_usage(struct store *s, const struct runs_key *k, const json_t *usage, struct err *e)
	__attribute__((warn_unused_result));

/* A failure object {code, phase, message (<= RUNS_FAILURE_MESSAGE_MAX), retryable,
 * occurredAt}. New ref. */
json_t *runs_failure(const char *code, const char *phase, const char *message, bool retryable);

/* The usage model key: encodeURIComponent(model) with '.' as %2E. */
void runs_usage_key(const char *model, char *buf, size_t bufsz);

#endif
