/* done_building (T-7, P-5): install, type-check and build the app in its workspace. */
#ifndef SECOND_WORKERD_BUILD_H
#define SECOND_WORKERD_BUILD_H

#include "workerd/tools.h"

/* The tool's handler: the result text is the success JSON of P-5, or the failure text the
 * agent can act on (missing files, install output, compiler and bundler errors). */
void build_done_building(const struct tool_ctx *ctx, const json_t *args, struct tool_result *out);

#endif
