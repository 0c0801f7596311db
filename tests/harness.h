/* The test harness: temporary directories and real services started for a test and stopped
 * at its end, even when the test fails.
 *
 * Services listen on unix sockets (or free loopback ports) inside a temp dir created under
 * $TMPDIR. A test that cannot run because a service binary is missing exits 77 (SKIP) and says
 * why; it never passes. Set SECOND_TEST_KEEP=1 to keep temp dirs for inspection. */
#ifndef SECOND_TESTS_HARNESS_H
#define SECOND_TESTS_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

#define HARNESS_PATH_MAX 512

/* Creates a fresh temp dir, removed at exit (atexit, and on SIGINT/SIGTERM). Returns a static
 * or malloc'd path owned by the harness. Aborts on failure. */
const char *harness_tmpdir(void);

struct harness_redis {
	pid_t pid;
	char dir[HARNESS_PATH_MAX];
	char sock[HARNESS_PATH_MAX];
	char url[HARNESS_PATH_MAX + 16]; /* unix://<sock> */
	bool persistent;                 /* appendonly yes, fsync always */
};

/* Starts redis-server ($REDIS_SERVER or PATH) on a unix socket in a new temp dir and waits
 * until it answers PING. Exits the process with 77 when redis-server is missing. */
int harness_redis_start(struct harness_redis *r, bool persistent);
/* Stops it (SIGTERM, SIGKILL after 5 s) and reaps it; safe to call twice. */
void harness_redis_stop(struct harness_redis *r);
/* Stops and starts it again on the same socket and directory. */
int harness_redis_restart(struct harness_redis *r);

/* JSON from text written with single quotes ("{'a':1}"), for readable test tables. Aborts
 * the test program on a typo. New reference. */
struct json_t;
struct json_t *harness_json(const char *text);

/* Whether a process whose command line starts with `cmd_prefix` (arguments joined by spaces)
 * runs with its working directory inside `dir`: a command an agent started in one of this
 * test's workspaces, never one of a test running beside it. */
bool harness_proc_running_in(const char *cmd_prefix, const char *dir);

/* Starts a service: `bin` with argv and envp (NULL: this process's environment), cwd "/" kept,
 * stdout and stderr appended to log_path (or, when out_fd is given, stdout to a pipe whose read
 * end is returned there). The child dies with the test (PR_SET_PDEATHSIG) and is stopped by
 * harness_stop_all. Returns the pid; aborts when fork fails. */
pid_t harness_spawn(const char *bin, char *const argv[], char *const envp[], const char *log_path,
		    int *out_fd);
/* SIGTERM, then SIGKILL after the grace period; reaps and forgets the pid. Returns the wait
 * status (or -1 if it was not ours). */
int harness_stop(pid_t pid);

/* Stops every service this process started: registered with atexit by the start functions. */
void harness_stop_all(void);

#endif
