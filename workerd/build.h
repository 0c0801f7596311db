/* done_building (T-7, P-5): install, type-check and build the app in its workspace; and the
 * dependency warm-up (P-4) that installs a new workspace's packages ahead of it. */
#ifndef SECOND_WORKERD_BUILD_H
#define SECOND_WORKERD_BUILD_H

#include <stdint.h>

#include "workerd/tools.h"

/* The tool's handler: the result text is the success JSON of P-5, or the failure text the
 * agent can act on (missing files, install output, compiler and bundler errors). Before it
 * decides whether to install, it waits for a warm-up of the same directory. */
void build_done_building(const struct tool_ctx *ctx, const json_t *args, struct tool_result *out);

enum build_warmup_start {
	BUILD_WARMUP_STARTED,
	BUILD_WARMUP_RUNNING,    /* one is already running for this directory */
	BUILD_WARMUP_RECENT,     /* one settled less than BUILD_WARMUP_KEEP_MS ago */
	BUILD_WARMUP_NOT_NEEDED, /* node_modules exists, or package.json does not */
	BUILD_WARMUP_REFUSED,    /* too many at once, or workerd is stopping */
};

/* P-4: starts `npm install` for the app in `dir` in the background (a detached thread that
 * spawns and reaps it), run exactly as done_building runs npm, with BUILD_WARMUP_TIMEOUT_MS. A
 * failed or killed install leaves no node_modules behind. `dir` is the table's key as given
 * and is copied; `w` (NULL: no sandbox, PATH and /tmp/npm-cache) must outlive the warm-up,
 * which workerd's own does. The first start also arranges for exit to terminate what still
 * runs. */
enum build_warmup_start build_warmup_start(struct workerd *w, const char *dir);

enum build_warmup_state {
	BUILD_WARMUP_NONE,      /* no warm-up of this directory is remembered */
	BUILD_WARMUP_PENDING,   /* still running when the wait gave up */
	BUILD_WARMUP_SUCCEEDED, /* settled; node_modules is installed */
	BUILD_WARMUP_FAILED,    /* settled; node_modules was removed */
};

/* Waits until the warm-up of `dir`, if one is running, has settled (bounded by its timeout
 * and the kill grace period), and returns its state. */
enum build_warmup_state build_warmup_wait(const char *dir);

/* Terminates every running warm-up (SIGTERM, then SIGKILL) and waits at most
 * BUILD_WARMUP_STOP_WAIT_MS for them to settle; later starts are refused, and a done_building
 * that was waiting for one fails instead of installing. Runs at exit; calling it before the
 * HTTP listeners stop also frees a done_building waiting on a warm-up sooner. Idempotent. */
void build_warmup_shutdown(void);

/* Replaces the monotonic clock (milliseconds) settled entries age by, so a test can see one
 * forgotten without waiting five minutes. NULL restores time_mono_ms. */
void build_warmup_set_clock(int64_t (*now_ms)(void));

#endif
