/* The builder chat's hop 2: worker messages to AI SDK UI chunks (B-8), and their fold (B-9).
 *
 * A `struct uis` translates one turn: each normalized worker message becomes zero or more
 * UI message stream chunks, JSON objects the AI SDK's `uiMessageChunkSchema` accepts. It keeps
 * the open text and reasoning blocks, the tool input being streamed and the tool calls seen,
 * and records what B-11 needs to classify the turn. A `struct uis_fold` applies the same chunks
 * to the assistant UIMessage the way the SDK's `readUIMessageStream` does, so the message the
 * server persists equals the one a browser assembled. Neither does I/O. */
#ifndef SECOND_UISTREAM_H
#define SECOND_UISTREAM_H

#include <stdbool.h>

#include <jansson.h>

struct uis; /* translator state for one turn */

struct uis *uis_new(void);
void uis_free(struct uis *u); /* accepts NULL */

/* One worker message. Appends 0..n UI chunks (new references) to the array `out`.
 * Returns 0, or -1 when the turn fails: for an `error` message, or when the worker exceeds a
 * UIS_* limit. The closing chunks of B-8's error row are appended first and *fail gets the
 * error text (malloc'd, the caller frees it). Messages after a failure are ignored. */
int uis_feed(struct uis *u, const json_t *msg, json_t *out, char **fail)
	__attribute__((nonnull(1, 2, 3, 4), warn_unused_result));
/* The worker's [DONE] (B-8's [DONE] row). -1 with *fail when a tool input was still open. */
int uis_done(struct uis *u, json_t *out, char **fail) __attribute__((nonnull, warn_unused_result));
/* The stream ended without [DONE]; `lost` = a read error. B-8's last two rows; always -1. */
int uis_eof(struct uis *u, bool lost, json_t *out, char **fail) __attribute__((nonnull));

/* What B-11 needs to classify the turn and U-4 to account it. */
struct uis_summary {
	bool saw_result; /* a `result` message arrived */
	char result_subtype[64];
	bool approval_stop;           /* a blocking tool (T-13) got a real output */
	bool wrote_files;             /* Write/Edit/MultiEdit/NotebookEdit ran */
	bool done_building_attempted; /* done_building was called */
	bool done_building_ok;        /* its output parses (deeply) to status "complete" (P-5) */
};
void uis_summary(const struct uis *u, struct uis_summary *s) __attribute__((nonnull));
/* The last `result` message's usage, shaped for U-4: {totalCostUsd, modelUsage:{...}}, or NULL
 * when none arrived. New reference. */
json_t *uis_usage(const struct uis *u) __attribute__((nonnull));
/* The runtime terminal of the last `result`: {subtype,result(<=240),numTurns,durationMs,
 * durationApiMs,totalCostUsd}, or NULL. New reference. */
json_t *uis_terminal(const struct uis *u) __attribute__((nonnull));
/* One entry per tool call for the log (B-8): {toolCallId,toolName,inputAvailable,
 * outputAvailable,flushedWithoutOutput,approvalStop,outputKind}. New reference. */
json_t *uis_tool_log(const struct uis *u) __attribute__((nonnull));

struct uis_fold; /* the assistant message being built */

/* `messages` are the request's UIMessages (borrowed, copied; NULL means none); when the last
 * one is an assistant message it is continued under its id, else `new_id` is used. */
struct uis_fold *uis_fold_new(const json_t *messages, const char *new_id)
	__attribute__((nonnull(2)));
/* Applies one chunk (borrowed). A chunk the SDK would reject (a delta for a part never
 * started, an output for an unknown tool call) ends the fold, as it ends the SDK's stream.
 * Chunk types the translator never emits (static tool parts, files, sources, data, metadata)
 * are ignored. */
void uis_fold_chunk(struct uis_fold *f, const json_t *chunk) __attribute__((nonnull));
/* True once a chunk was rejected; later chunks were ignored. */
bool uis_fold_broken(const struct uis_fold *f) __attribute__((nonnull));
json_t *uis_fold_message(const struct uis_fold *f) __attribute__((nonnull)); /* new reference */
/* The original messages followed by the assistant message (replacing a continued one). New
 * reference. */
json_t *uis_fold_messages(const struct uis_fold *f) __attribute__((nonnull));
void uis_fold_free(struct uis_fold *f); /* accepts NULL */

/* The AI SDK's partial JSON parse (parsePartialJson): `text` as JSON, else repaired by closing
 * what is open, else NULL. New reference. Exposed for tests. */
json_t *uis_parse_partial_json(const char *text, size_t len) __attribute__((nonnull));

#endif
