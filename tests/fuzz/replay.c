/* Replays a fuzz target over corpus files, so every corpus runs under `make check` (and the
 * sanitizer build) without libFuzzer.
 *
 * usage: replay [--valid|--invalid|--any] PATH...  Files under a --valid path must be
 * accepted by the target and files under an --invalid path rejected; --any (the default, for
 * fuzzer-found inputs) only requires that nothing crashes or leaks. */
#include <config.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern int fuzz_accepted;

enum expect { EXPECT_ANY, EXPECT_VALID, EXPECT_INVALID };

#define REPLAY_MAX_INPUT (4 * 1024 * 1024)

static int replay_file(const char *path, enum expect want)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t n;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	buf = malloc(REPLAY_MAX_INPUT);
	if (buf == NULL)
		abort();
	n = fread(buf, 1, REPLAY_MAX_INPUT, f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	if ((want == EXPECT_VALID && !fuzz_accepted) || (want == EXPECT_INVALID && fuzz_accepted)) {
		fprintf(stderr, "%s: expected %s\n", path,
			want == EXPECT_VALID ? "accepted" : "rejected");
		return -1;
	}
	return 0;
}

static int replay(const char *path, enum expect want, int *count)
{
	struct stat st;
	struct dirent *d;
	DIR *dir;
	char sub[4096];
	int rc = 0;

	if (stat(path, &st) != 0) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return replay_file(path, want);
	}
	dir = opendir(path);
	if (dir == NULL)
		return -1;
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, d->d_name);
		if (replay(sub, want, count) != 0)
			rc = -1;
	}
	closedir(dir);
	return rc;
}

int main(int argc, char **argv)
{
	int count = 0, rc = 0;
	enum expect want = EXPECT_ANY;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--valid") == 0)
			want = EXPECT_VALID;
		else if (strcmp(argv[i], "--invalid") == 0)
			want = EXPECT_INVALID;
		else if (strcmp(argv[i], "--any") == 0)
			want = EXPECT_ANY;
		else if (replay(argv[i], want, &count) != 0)
			rc = 1;
	}
	printf("%s: replayed %d inputs\n", argv[0], count);
	return rc;
}
