/* App workspaces on disk: status, the snapshot walker, restores and attachments.
 *
 * The walker follows P-6 with this project's decision on secrets: `.env` and the other files
 * that usually hold credentials are never collected (L-5), and one per-file limit
 * (SNAPSHOT_FILE_MAX) is shared with the API, so what workerd collects the API can store. */
#include <config.h>

#include "workerd/files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/codec.h"
#include "lib/limits.h"
#include "lib/log.h"

int files_mkdirs(const char *dir, struct err *e)
{
	char buf[WORKSPACE_PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
		return err_set(e, ERR_TOO_LARGE, "path too long");
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return err_set(e, ERR_IO, "mkdir %s: %s", buf, strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return err_set(e, ERR_IO, "mkdir %s: %s", buf, strerror(errno));
	return 0;
}

static bool is_content_entry(const char *name)
{
	return name[0] != '.' && strcmp(name, "attachments") != 0;
}

json_t *files_workspace_status(const char *dir)
{
	bool exists = false, has = false;
	DIR *d = opendir(dir);
	if (d) {
		exists = true;
		for (struct dirent *de; (de = readdir(d));)
			if (is_content_entry(de->d_name)) {
				has = true;
				break;
			}
		closedir(d);
	}
	return json_pack("{s:b, s:b, s:b}", "workspaceExists", exists, "workspaceHasFiles", has,
			 "restoreNeeded", !has);
}

int files_safe_path(const char *workspace, const char *rel, char *out, size_t outsz, struct err *e)
{
	size_t n = strlen(rel);
	if (n == 0 || n >= WORKSPACE_PATH_MAX || rel[0] == '/')
		return err_set(e, ERR_INVALID, "invalid path");
	for (const char *p = rel; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == '\\')
			return err_set(e, ERR_INVALID, "invalid path");
	/* Segment by segment: no "", ".", ".." anywhere. */
	for (const char *seg = rel; *seg;) {
		const char *slash = strchr(seg, '/');
		size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
		if (len == 0 || (len == 1 && seg[0] == '.') ||
		    (len == 2 && seg[0] == '.' && seg[1] == '.'))
			return err_set(e, ERR_INVALID, "invalid path");
		seg += len + (slash ? 1 : 0);
	}
	if (snprintf(out, outsz, "%s/%s", workspace, rel) >= (int)outsz)
		return err_set(e, ERR_TOO_LARGE, "path too long");
	/* Symlinks already on disk must not lead out: the deepest existing ancestor, resolved,
	 * must be inside the resolved workspace. */
	char root[PATH_MAX], probe[PATH_MAX], real[PATH_MAX];
	if (!realpath(workspace, root))
		return 0; /* nothing on disk yet, nothing to escape through */
	snprintf(probe, sizeof(probe), "%s", out);
	while (!realpath(probe, real)) {
		char *slash = strrchr(probe, '/');
		if (!slash || slash == probe)
			return err_set(e, ERR_INVALID, "invalid path");
		*slash = '\0';
	}
	size_t rl = strlen(root);
	if (strncmp(real, root, rl) != 0 || (real[rl] != '\0' && real[rl] != '/'))
		return err_set(e, ERR_INVALID, "path escapes the workspace");
	return 0;
}

static bool secret_file(const char *name)
{
	static const char *const pats[] = {".env",    ".env.*",      "*.pem",  "*.key",
					   "id_rsa*", "id_ed25519*", ".npmrc", ".netrc"};
	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++)
		if (fnmatch(pats[i], name, 0) == 0)
			return true;
	return false;
}

static bool skipped_dir(const char *name)
{
	return name[0] == '.' || strcmp(name, "node_modules") == 0 ||
	       strcmp(name, "attachments") == 0;
}

static void fmt_size(size_t n, char *buf, size_t bufsz)
{
	if (n < 1024)
		snprintf(buf, bufsz, "%zuB", n);
	else if (n < 1024 * 1024)
		snprintf(buf, bufsz, "%.1fKB", n / 1024.0);
	else
		snprintf(buf, bufsz, "%.2fMB", n / (1024.0 * 1024.0));
}

struct walk {
	json_t *files;
	size_t total;
	struct err *e;
};

static int read_text(const char *path, const char *rel, size_t size, struct walk *w)
{
	char sz[32], lim[32];
	if (size > SNAPSHOT_FILE_MAX) {
		fmt_size(size, sz, sizeof(sz));
		fmt_size(SNAPSHOT_FILE_MAX, lim, sizeof(lim));
		return err_set(w->e, ERR_TOO_LARGE,
			       "Cannot persist \"%s\" (%s). Per-file limit is %s.", rel, sz, lim);
	}
	if (w->total + size > SNAPSHOT_MAX_BYTES) {
		fmt_size(w->total + size, sz, sizeof(sz));
		fmt_size(SNAPSHOT_MAX_BYTES, lim, sizeof(lim));
		return err_set(w->e, ERR_TOO_LARGE,
			       "Snapshot is too large (%s). Maximum allowed is %s.", sz, lim);
	}
	if (json_object_size(w->files) >= SNAPSHOT_MAX_FILES)
		return err_set(w->e, ERR_TOO_LARGE, "Snapshot has more than %d files.",
			       SNAPSHOT_MAX_FILES);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return err_set(w->e, ERR_IO, "cannot read \"%s\"", rel);
	char *buf = malloc(size + 1);
	if (!buf)
		abort();
	size_t got = 0;
	while (got < size) {
		ssize_t k = read(fd, buf + got, size - got);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fd);
	buf[got] = '\0';
	if (memchr(buf, '\0', got)) {
		free(buf);
		return err_set(w->e, ERR_INVALID, "Cannot persist binary file \"%s\".", rel);
	}
	json_t *s = json_stringn(buf, got);
	free(buf);
	if (!s)
		return err_set(w->e, ERR_INVALID, "Cannot persist binary file \"%s\".", rel);
	json_object_set_new(w->files, rel, s);
	w->total += got;
	return 0;
}

static int walk_dir(const char *root, const char *rel, int depth, struct walk *w)
{
	char dirpath[WORKSPACE_PATH_MAX];
	snprintf(dirpath, sizeof(dirpath), "%s%s%s", root, *rel ? "/" : "", rel);
	if (depth > SNAPSHOT_MAX_DEPTH)
		return 0;
	DIR *d = opendir(dirpath);
	if (!d)
		return 0;
	int rc = 0;
	for (struct dirent *de; rc == 0 && (de = readdir(d));) {
		const char *name = de->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || secret_file(name))
			continue;
		char path[WORKSPACE_PATH_MAX], sub[WORKSPACE_PATH_MAX];
		if (snprintf(path, sizeof(path), "%s/%s", dirpath, name) >= (int)sizeof(path) ||
		    snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", name) >=
			    (int)sizeof(sub))
			continue;
		struct stat st;
		if (lstat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (!skipped_dir(name))
				rc = walk_dir(root, sub, depth + 1, w);
		} else if (S_ISREG(st.st_mode) && name[0] != '.') {
			rc = read_text(path, sub, (size_t)st.st_size, w);
		}
	}
	closedir(d);
	return rc;
}

int files_collect(const char *workspace, json_t **out, struct err *e)
{
	struct walk w = {.files = json_object(), .e = e};
	if (walk_dir(workspace, "", 0, &w) < 0) {
		json_decref(w.files);
		return -1;
	}
	if (w.total >= SNAPSHOT_WARN_BYTES)
		log_warning("snapshot of %s is %zu bytes", workspace, w.total);
	*out = w.files;
	return 0;
}

static int write_file(const char *path, const void *data, size_t len, struct err *e)
{
	char dir[WORKSPACE_PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		if (files_mkdirs(dir, e) < 0)
			return -1;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return err_set(e, ERR_IO, "cannot write a file: %s", strerror(errno));
	const char *p = data;
	while (len > 0) {
		ssize_t k = write(fd, p, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			close(fd);
			return err_set(e, ERR_IO, "cannot write a file: %s", strerror(errno));
		}
		p += k;
		len -= (size_t)k;
	}
	if (close(fd) < 0)
		return err_set(e, ERR_IO, "cannot write a file: %s", strerror(errno));
	return 0;
}

static int copy_file(const char *src, const char *dst, mode_t mode, struct err *e)
{
	int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0)
		return err_set(e, ERR_IO, "cannot read the template: %s", strerror(errno));
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode & 0755);
	if (out < 0) {
		close(in);
		return err_set(e, ERR_IO, "cannot write a file: %s", strerror(errno));
	}
	char buf[65536];
	ssize_t k;
	int rc = 0;
	while ((k = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)k) != k) {
			rc = err_set(e, ERR_IO, "cannot write a file: %s", strerror(errno));
			break;
		}
	close(in);
	if (close(out) < 0 && rc == 0)
		rc = err_set(e, ERR_IO, "cannot write a file: %s", strerror(errno));
	return rc;
}

static int copy_tree(const char *src, const char *dst, int depth, struct err *e)
{
	if (depth > SNAPSHOT_MAX_DEPTH)
		return 0;
	if (files_mkdirs(dst, e) < 0)
		return -1;
	DIR *d = opendir(src);
	if (!d)
		return err_set(e, ERR_IO, "cannot open the template %s", src);
	int rc = 0;
	for (struct dirent *de; rc == 0 && (de = readdir(d));) {
		const char *n = de->d_name;
		char s[WORKSPACE_PATH_MAX], t[WORKSPACE_PATH_MAX];
		struct stat st;
		if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0 || strcmp(n, "node_modules") == 0 ||
		    strcmp(n, "dist") == 0)
			continue;
		if (snprintf(s, sizeof(s), "%s/%s", src, n) >= (int)sizeof(s) ||
		    snprintf(t, sizeof(t), "%s/%s", dst, n) >= (int)sizeof(t) || lstat(s, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			rc = copy_tree(s, t, depth + 1, e);
		else if (S_ISREG(st.st_mode))
			rc = copy_file(s, t, st.st_mode, e);
	}
	closedir(d);
	return rc;
}

int files_copy_tree(const char *src, const char *dst, struct err *e)
{
	return copy_tree(src, dst, 0, e);
}

int files_restore(const char *workspace, const json_t *files, struct err *e)
{
	const char *rel;
	json_t *text;
	if (!json_is_object(files))
		return err_set(e, ERR_INVALID, "sourceFiles must be an object");
	if (json_object_size(files) > SNAPSHOT_MAX_FILES)
		return err_set(e, ERR_TOO_LARGE, "too many source files");
	json_object_foreach ((json_t *)files, rel, text) {
		char path[WORKSPACE_PATH_MAX];
		if (!json_is_string(text) || json_string_length(text) > SNAPSHOT_FILE_MAX)
			return err_set(e, ERR_INVALID, "invalid source file");
		if (files_safe_path(workspace, rel, path, sizeof(path), e) < 0 ||
		    write_file(path, json_string_value(text), json_string_length(text), e) < 0)
			return -1;
	}
	return 0;
}

static int attachment_path(const char *workspace, const char *rel, char *out, size_t outsz,
			   struct err *e)
{
	if (!rel || strncmp(rel, "attachments/", 12) != 0 || !rel[12])
		return err_set(e, ERR_INVALID, "invalid_file_path");
	return files_safe_path(workspace, rel, out, outsz, e);
}

int files_attachments_save(const char *workspace, const json_t *body, json_t **out,
			   const char **code, struct err *e)
{
	json_t *list = json_object_get(body, "files");
	if (!json_is_array(list) || json_array_size(list) == 0)
		return *code = "missing_files",
		       err_set(e, ERR_INVALID, "files must be a non-empty array");
	if (json_array_size(list) > ATTACHMENTS_MAX_FILES)
		return *code = "too_many_files",
		       err_set(e, ERR_TOO_LARGE, "at most %d files", ATTACHMENTS_MAX_FILES);
	json_t *res = json_array();
	size_t total = 0, i;
	json_t *f;
	json_array_foreach (list, i, f) {
		const char *id = json_string_value(json_object_get(f, "id"));
		const char *name = json_string_value(json_object_get(f, "name"));
		const char *rel = json_string_value(json_object_get(f, "path"));
		const char *b64 = json_string_value(json_object_get(f, "dataBase64"));
		json_t *size = json_object_get(f, "size");
		json_t *ctype = json_object_get(f, "contentType");
		char path[WORKSPACE_PATH_MAX];
		if (!json_is_object(f) || !id || !name || !rel || !json_is_integer(size) ||
		    (ctype && !json_is_string(ctype) && !json_is_null(ctype))) {
			*code = "invalid_file";
			goto fail_invalid;
		}
		if (!b64) {
			*code = "invalid_file_data";
			goto fail_invalid;
		}
		json_int_t want = json_integer_value(size);
		if (want < 0 || want > ATTACHMENT_MAX_BYTES) {
			*code = want < 0 ? "invalid_file_size" : "file_too_large";
			err_set(e, want < 0 ? ERR_INVALID : ERR_TOO_LARGE, "%s", *code);
			goto fail;
		}
		if (total + (size_t)want > ATTACHMENTS_MAX_TOTAL) {
			*code = "upload_too_large";
			err_set(e, ERR_TOO_LARGE, "upload_too_large");
			goto fail;
		}
		if (attachment_path(workspace, rel, path, sizeof(path), e) < 0) {
			*code = "invalid_file_path";
			goto fail;
		}
		/* Standard base64 with padding, decoded through the url-safe decoder. */
		size_t blen = strlen(b64);
		char *conv = malloc(blen + 1);
		if (!conv)
			abort();
		size_t cl = 0;
		for (size_t k = 0; k < blen; k++) {
			char c = b64[k] == '+' ? '-' : b64[k] == '/' ? '_' : b64[k];
			if (c != '=')
				conv[cl++] = c;
		}
		uint8_t *data = malloc(blen / 4 * 3 + 4);
		size_t dlen = 0;
		if (!data)
			abort();
		int bad = codec_b64url_decode(conv, cl, data, blen / 4 * 3 + 4, &dlen);
		free(conv);
		if (bad < 0 || dlen != (size_t)want) {
			free(data);
			*code = bad < 0 ? "invalid_file_data" : "invalid_file_size";
			err_set(e, ERR_INVALID, "%s", *code);
			goto fail;
		}
		int w = write_file(path, data, dlen, e);
		free(data);
		if (w < 0) {
			*code = "invalid_file_path";
			goto fail;
		}
		total += dlen;
		json_t *item = json_pack("{s:s, s:s, s:s, s:I}", "id", id, "name", name, "path",
					 rel, "size", (json_int_t)dlen);
		if (json_is_string(ctype))
			json_object_set(item, "contentType", ctype);
		json_array_append_new(res, item);
	}
	*out = json_pack("{s:o}", "attachments", res);
	return 0;
fail_invalid:
	err_set(e, ERR_INVALID, "%s", *code);
fail:
	json_decref(res);
	return -1;
}

int files_attachments_check(const char *workspace, const json_t *body, json_t **out,
			    const char **code, struct err *e)
{
	json_t *paths = json_object_get(body, "paths");
	if (!json_is_array(paths))
		return *code = "missing_paths", err_set(e, ERR_INVALID, "paths must be an array");
	if (json_array_size(paths) > ATTACHMENTS_MAX_FILES)
		return *code = "too_many_files",
		       err_set(e, ERR_TOO_LARGE, "at most %d paths", ATTACHMENTS_MAX_FILES);
	json_t *missing = json_array();
	size_t i;
	json_t *p;
	json_array_foreach (paths, i, p) {
		char path[WORKSPACE_PATH_MAX];
		struct stat st;
		if (attachment_path(workspace, json_string_value(p), path, sizeof(path), e) < 0) {
			json_decref(missing);
			*code = "invalid_file_path";
			return -1;
		}
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			json_array_append(missing, p);
	}
	*out = json_pack("{s:o}", "missing", missing);
	return 0;
}
