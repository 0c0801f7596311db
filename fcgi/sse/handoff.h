/* B-6: the prompt a runtime gets for a chat message, with a transcript of the conversation
 * when the runtime's own session does not cover it (a retry, another runtime, a restore). */
#ifndef SECOND_SSE_HANDOFF_H
#define SECOND_SSE_HANDOFF_H

#include <stddef.h>

#include <jansson.h>

/* messages: the request's UIMessages; covered: how many of them the runtime's session already
 * holds (0 when it has none). Returns the prompt (malloc'd), "" when there is no user text. */
char *handoff_prompt(const json_t *messages, size_t covered, const char *runtime_id,
		     const char *model);

#endif
