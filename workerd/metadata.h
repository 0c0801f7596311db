/* W-12: generate an app's name and description with a throwaway agent turn. */
#ifndef SECOND_WORKERD_METADATA_H
#define SECOND_WORKERD_METADATA_H

#include <jansson.h>

#include "lib/err.h"

struct workerd;

/* body: {prompt, fallbackName?, runtimeId, runtimeModel, runtimeParams}. On success *out is
 * {name, description} (new ref). On failure *code is invalid_metadata_request,
 * invalid_runtime_settings (both 400) or metadata_generation_failed (502). Blocks until the
 * agent is done. */
int metadata_generate(struct workerd *w, const char *app_id, const json_t *body, json_t **out,
		      const char **code, struct err *e);

#endif
