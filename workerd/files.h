/* App workspaces on disk: their status (W-5), the text files in them (W-9), attachments
 * (W-10, W-11), and restoring a snapshot into one.
 *
 * Every relative path a client sends goes through files_safe_path: no absolute paths, no "..",
 * no NUL or control bytes, and the result must stay inside the workspace even through
 * symlinks already on disk. */
#ifndef SECOND_WORKERD_FILES_H
#define SECOND_WORKERD_FILES_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "lib/err.h"

/* Creates dir and its parents (mode 0700); 0 or -1. */
int files_mkdirs(const char *dir, struct err *e);
/* {"workspaceExists","workspaceHasFiles","restoreNeeded"} of W-5. New ref. */
json_t *files_workspace_status(const char *dir);
/* Joins a client's relative path to the workspace into out, checking it (see above). */
int files_safe_path(const char *workspace, const char *rel, char *out, size_t outsz, struct err *e);
/* W-9: {relPath: text} of the workspace's text files (P-6 rules). -1 with ERR_TOO_LARGE or
 * ERR_INVALID (a binary file) for the 413 of W-9. */
int files_collect(const char *workspace, json_t **out, struct err *e);
/* Copies the directory tree src into dst (created), skipping node_modules and dist; regular
 * files and directories only. */
int files_copy_tree(const char *src, const char *dst, struct err *e);
/* Writes {relPath: text} into the workspace (a snapshot restore). */
int files_restore(const char *workspace, const json_t *files, struct err *e);
/* W-10 and W-11: replies built by the caller from these. `code` gets the error code. */
int files_attachments_save(const char *workspace, const json_t *body, json_t **out,
			   const char **code, struct err *e);
int files_attachments_check(const char *workspace, const json_t *body, json_t **out,
			    const char **code, struct err *e);

#endif
