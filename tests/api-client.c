/* The API test environment: redis-server, second-api and lighttpd in a temp dir, and a
 * libcurl client that talks to them only through lighttpd.
 *
 * A `struct tc_env` names one environment: its directory (api.sock, second.db, api.log,
 * lighttpd's run files, a www/ docroot), the redis-server started by the harness, the pids of
 * second-api and lighttpd, and the store opened on the same SQLite file for assertions. The
 * two processes started here are also kept in a small pid registry tagged with the creating
 * process, like the harness's own, so an exit without tc_env_stop() still stops them (atexit)
 * and a test killed outright still takes them down (PR_SET_PDEATHSIG). Children get an
 * environment built from scratch: only what each program needs. */
#include <config.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <curl/curl.h>

#include "lib/jsonx.h"
#include "lib/session.h"
#include "tests/api-client.h"

#define TC_READY_MS 10000 /* second-api and lighttpd must be up within this */
#define TC_STOP_MS 5000   /* grace after SIGTERM before SIGKILL */
#define TC_POLL_MS 20     /* sleep between readiness or exit checks */
#define TC_PORT_TRIES 5   /* free ports tried when lighttpd loses a port race */
#define TC_TIMEOUT_S 120L /* per HTTP request: a chat turn that builds an app takes a while */
#define TC_MAX_BODY (64 * 1024 * 1024) /* a response body the client keeps */
#define TC_MAX_HEADERS (64 * 1024)     /* a response header block the client keeps */
#define TC_MAX_PROCS 32                /* processes one test process runs at once */
#define TC_ENV_MAX 16                  /* variables of a child's environment */

struct tc_proc {
	pid_t owner;
	pid_t pid;
};

static struct tc_proc procs[TC_MAX_PROCS];
static bool atexit_installed;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	/* An early wake-up by a signal only shortens one polling step. */
	(void)nanosleep(&ts, NULL);
}

/* Reaps pid if it is our child: SIGTERM, SIGKILL after TC_STOP_MS. Returns the wait status,
 * or -1 when pid is not (or no longer) our child. */
static int stop_pid(pid_t pid)
{
	long long deadline = now_ms() + TC_STOP_MS;
	int status = 0;
	pid_t w;

	if (pid <= 0)
		return -1;
	w = waitpid(pid, &status, WNOHANG);
	if (w != 0)
		return w == pid ? status : -1;
	kill(pid, SIGTERM);
	while ((w = waitpid(pid, &status, WNOHANG)) == 0 && now_ms() < deadline)
		sleep_ms(TC_POLL_MS);
	if (w == 0) {
		fprintf(stderr, "api-client: pid %d ignored SIGTERM, killing it\n", (int)pid);
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	return status;
}

static void procs_stop_all(void)
{
	for (int i = 0; i < TC_MAX_PROCS; i++) {
		if (procs[i].owner != getpid() || procs[i].pid <= 0)
			continue;
		stop_pid(procs[i].pid);
		procs[i].pid = 0;
	}
}

static void procs_add(pid_t pid)
{
	for (int i = 0; i < TC_MAX_PROCS; i++) {
		if (procs[i].pid > 0 && procs[i].owner == getpid())
			continue;
		procs[i].owner = getpid();
		procs[i].pid = pid;
		return;
	}
	fprintf(stderr, "api-client: more than %d processes at once\n", TC_MAX_PROCS);
	abort();
}

static void procs_remove(pid_t pid)
{
	for (int i = 0; i < TC_MAX_PROCS; i++)
		if (procs[i].pid == pid && procs[i].owner == getpid())
			procs[i].pid = 0;
}

static bool executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : fallback;
}

/* After fork, in the child: only async-signal-safe calls until exec. */
static void exec_child(char *const argv[], char *const envp[], int logfd, pid_t parent)
{
	sigset_t none;
	int devnull = open("/dev/null", O_RDONLY);

	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent || devnull < 0)
		_exit(127);
	if (dup2(devnull, STDIN_FILENO) < 0 || dup2(logfd, STDOUT_FILENO) < 0 ||
	    dup2(logfd, STDERR_FILENO) < 0)
		_exit(127);
	/* Test-runner pipes must not stay open in the server; failure only leaks fds. */
	(void)close_range(3, ~0U, 0);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(argv[0], argv, envp);
	_exit(127);
}

/* Starts argv[0] with envp, stdout and stderr appended to log; registers the pid. */
static pid_t spawn(char *const argv[], char *const envp[], const char *log)
{
	int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	pid_t parent = getpid(), pid;

	if (logfd < 0) {
		fprintf(stderr, "api-client: open %s: %s\n", log, strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid == 0)
		exec_child(argv, envp, logfd, parent);
	close(logfd);
	if (pid < 0) {
		fprintf(stderr, "api-client: fork: %s\n", strerror(errno));
		return -1;
	}
	procs_add(pid);
	return pid;
}

/* Adds "NAME=value" (malloc'd) to a NULL-terminated environment of TC_ENV_MAX entries. */
static void env_add(char **envp, const char *name, const char *value)
{
	size_t n = 0;

	while (envp[n] != NULL)
		n++;
	cr_assert_lt(n + 1, TC_ENV_MAX, "child environment full");
	cr_assert_geq(asprintf(&envp[n], "%s=%s", name, value), 0);
	envp[n + 1] = NULL;
}

/* Adds "KEY=value" strings (NULL-terminated, may be NULL); malformed ones are skipped. */
static void env_add_list(char **envp, const char *const *list)
{
	for (size_t i = 0; list && list[i]; i++) {
		char key[128];
		const char *eq = strchr(list[i], '=');
		if (!eq || (size_t)(eq - list[i]) >= sizeof(key))
			continue;
		memcpy(key, list[i], (size_t)(eq - list[i]));
		key[eq - list[i]] = '\0';
		env_add(envp, key, eq + 1);
	}
}

static void env_free(char **envp)
{
	for (size_t i = 0; envp[i] != NULL; i++)
		free(envp[i]);
}

/* The sanitizer settings of `make check` reach the servers too, so their reports count. */
static void env_pass(char **envp)
{
	static const char *const names[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
					    "TMPDIR"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (getenv(names[i]) != NULL)
			env_add(envp, names[i], getenv(names[i]));
}

static bool unix_connectable(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* Whether lighttpd on env->port is ours: it serves www/tc-env.txt, which holds our directory.
 * Another environment's lighttpd may hold the port when ours lost the race for it. */
static bool serves_our_docroot(const struct tc_env *env)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)env->port)};
	struct timeval tv = {.tv_sec = 2};
	static const char req[] = "GET /tc-env.txt HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
	char reply[2048];
	size_t got = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return false;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1)) {
		close(fd);
		return false;
	}
	while (got < sizeof(reply) - 1 && (n = read(fd, reply + got, sizeof(reply) - 1 - got)) > 0)
		got += (size_t)n;
	reply[got] = '\0';
	close(fd);
	return strncmp(reply, "HTTP/1.0 200", 12) == 0 && strstr(reply, env->dir) != NULL;
}

/* A port the kernel just gave us on 127.0.0.1. Another process may take it before lighttpd
 * binds it; the caller retries then. */
static int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* Prints a log file to stderr: the test's output then shows why a server failed, and
 * run-test.sh sees any sanitizer report in it. */
static void dump_log(const char *path, const char *why)
{
	FILE *f = fopen(path, "r");
	char line[1024];

	fprintf(stderr, "api-client: %s; %s follows\n", why, path);
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		fputs(line, stderr);
	fclose(f);
}

static bool log_has_sanitizer_report(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	bool found = false;

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, "Sanitizer") != NULL || strstr(line, "runtime error:") != NULL;
	fclose(f);
	return found;
}

/* Waits until ready(); on exit or timeout the process is gone (stopped and reaped) and its
 * log shown: -1. */
static int wait_ready(pid_t pid, bool (*ready)(const struct tc_env *), const struct tc_env *env,
		      const char *log, const char *what)
{
	long long deadline = now_ms() + TC_READY_MS;

	while (now_ms() < deadline) {
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			procs_remove(pid);
			dump_log(log, what);
			return -1;
		}
		if (ready(env))
			return 0;
		sleep_ms(TC_POLL_MS);
	}
	stop_pid(pid);
	procs_remove(pid);
	dump_log(log, "timed out waiting for it to listen");
	return -1;
}

static bool api_ready(const struct tc_env *env)
{
	return unix_connectable(env->api_sock);
}

static bool lighttpd_ready(const struct tc_env *env)
{
	return serves_our_docroot(env);
}

static int api_start(struct tc_env *env)
{
	char bin[HARNESS_PATH_MAX + 16], log[HARNESS_PATH_MAX + 16], listen[HARNESS_PATH_MAX + 8];
	char *argv[] = {bin, NULL};
	char *envp[TC_ENV_MAX] = {NULL};
	int rc;

	snprintf(bin, sizeof(bin), "%s/second-api", env_or("top_builddir", "."));
	if (!executable(bin)) {
		fprintf(stderr, "api-client: %s is not built (run make)\n", bin);
		return -1;
	}
	snprintf(log, sizeof(log), "%s/api.log", env->dir);
	snprintf(listen, sizeof(listen), "unix:%s", env->api_sock);
	env_add(envp, "PATH", env_or("PATH", "/usr/bin:/bin"));
	env_add(envp, "SECOND_STORE_URI", env->store_uri);
	env_add(envp, "SECOND_REDIS_URL", env->redis.url);
	env_add(envp, "SECOND_API_LISTEN", listen);
	env_add(envp, "SECOND_LOG_TARGET", "stderr");
	env_add(envp, "SECOND_HTTP_PUBLIC_URL", env->base_url);
	env_pass(envp);
	env_add_list(envp, env->api_extra_env);
	env->api_pid = spawn(argv, envp, log);
	env_free(envp);
	if (env->api_pid < 0)
		return -1;
	rc = wait_ready(env->api_pid, api_ready, env, log, "second-api exited at start");
	if (rc != 0)
		env->api_pid = 0;
	return rc;
}

static bool file_has(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	bool found = false;

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

/* 0 when lighttpd answers on env->port, 1 when it lost the port to another process (the
 * caller picks another), -1 on any other failure. */
static int lighttpd_start(struct tc_env *env, const char *bin)
{
	char conf[HARNESS_PATH_MAX + 64], log[HARNESS_PATH_MAX + 32], elog[HARNESS_PATH_MAX + 32];
	char docroot[HARNESS_PATH_MAX + 8], port[16];
	char *argv[] = {(char *)bin, "-D", "-f", conf, NULL};
	char *envp[TC_ENV_MAX] = {NULL};

	snprintf(conf, sizeof(conf), "%s/contrib/lighttpd/second.conf", env_or("top_srcdir", "."));
	snprintf(log, sizeof(log), "%s/lighttpd.log", env->dir);
	snprintf(elog, sizeof(elog), "%s/lighttpd-error.log", env->dir);
	snprintf(docroot, sizeof(docroot), "%s/www", env->dir);
	snprintf(port, sizeof(port), "%d", env->port);
	env_add(envp, "PATH", env_or("PATH", "/usr/bin:/bin"));
	env_add(envp, "WEB_PORT", port);
	env_add(envp, "WEB_DOCROOT", docroot);
	env_add(envp, "WEB_RUN_DIR", env->dir);
	env_add(envp, "WEB_API_SOCKET", env->api_sock);
	env_add(envp, "WEB_SSE_SOCKET", env->sse_sock);
	env->lighttpd_pid = spawn(argv, envp, log);
	env_free(envp);
	if (env->lighttpd_pid < 0)
		return -1;
	if (wait_ready(env->lighttpd_pid, lighttpd_ready, env, log, "lighttpd exited at start") ==
	    0)
		return 0;
	env->lighttpd_pid = 0;
	if (file_has(log, "Address already in use") || file_has(elog, "Address already in use"))
		return 1;
	dump_log(elog, "lighttpd failed");
	return -1;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) < 0) {
		if (f != NULL)
			fclose(f);
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

/* The built platform UI, $top_srcdir/www/dist, linked entry by entry into the docroot (next to
 * tc-env.txt): lighttpd follows the links, so the tests serve the very files `make` built. */
static int link_ui(const struct tc_env *env)
{
	char rel[HARNESS_PATH_MAX], dist[PATH_MAX], from[2 * PATH_MAX], to[2 * HARNESS_PATH_MAX];
	struct dirent *de;
	DIR *d;
	int rc = 0;

	/* Absolute, since the links live elsewhere. */
	snprintf(rel, sizeof(rel), "%s/www/dist", env_or("top_srcdir", "."));
	if (realpath(rel, dist) == NULL || (d = opendir(dist)) == NULL)
		return -1;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(from, sizeof(from), "%s/%s", dist, de->d_name);
		snprintf(to, sizeof(to), "%s/www/%s", env->dir, de->d_name);
		rc = symlink(from, to);
	}
	closedir(d);
	return rc;
}

/* The docroot: tc-env.txt, which tells our lighttpd from another on the same port, and either
 * a placeholder page with /assets/app.js or, when `ui`, the built platform UI. */
static int make_docroot(const struct tc_env *env, bool ui)
{
	char path[HARNESS_PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/www", env->dir);
	if (mkdir(path, 0755) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/www/tc-env.txt", env->dir);
	if (write_file(path, env->dir) != 0)
		return -1;
	if (ui)
		return link_ui(env);
	snprintf(path, sizeof(path), "%s/www/assets", env->dir);
	if (mkdir(path, 0755) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/www/assets/app.js", env->dir);
	if (write_file(path, "console.log('second');\n") != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/www/index.html", env->dir);
	return write_file(path, "<!doctype html><title>Second</title>\n");
}

static void stop_atexit(void)
{
	procs_stop_all();
}

/* $LIGHTTPD when set, else the Debian path; the test is skipped when neither exists. */
static const char *lighttpd_bin(void)
{
	const char *bin = env_or("LIGHTTPD", "/usr/sbin/lighttpd");

	if (!executable(bin)) {
		fprintf(stderr,
			"SKIP: lighttpd not found at %s (install the Debian package "
			"lighttpd, or set LIGHTTPD)\n",
			bin);
		exit(77);
	}
	return bin;
}

static int start_servers(struct tc_env *env, const char *lighttpd)
{
	for (int tries = 0; tries < TC_PORT_TRIES; tries++) {
		int rc;

		env->port = free_port();
		if (env->port <= 0)
			return -1;
		snprintf(env->base_url, sizeof(env->base_url), "http://127.0.0.1:%d", env->port);
		if (api_start(env) != 0)
			return -1;
		rc = lighttpd_start(env, lighttpd);
		if (rc <= 0)
			return rc;
		/* The public URL names the port: start second-api again with the next one. */
		stop_pid(env->api_pid);
		procs_remove(env->api_pid);
		env->api_pid = 0;
	}
	fprintf(stderr, "api-client: no free port for lighttpd after %d tries\n", TC_PORT_TRIES);
	return -1;
}

static int env_start(struct tc_env *env, bool ui)
{
	const char *dir = harness_tmpdir();
	const char *lighttpd = lighttpd_bin();
	struct err e = {0};
	struct tc_resp r = {0};

	memset(env, 0, sizeof(*env));
	/* Registered after the harness's own atexit, so it runs first: servers stop before their
	 * directories are removed. */
	if (!atexit_installed && atexit(stop_atexit) == 0)
		atexit_installed = true;
	snprintf(env->dir, sizeof(env->dir), "%s", dir);
	snprintf(env->store_uri, sizeof(env->store_uri), "sqlite:%s/second.db", dir);
	snprintf(env->api_sock, sizeof(env->api_sock), "%s/api.sock", dir);
	snprintf(env->sse_sock, sizeof(env->sse_sock), "%s/sse.sock", dir);
	if (make_docroot(env, ui) != 0 || harness_redis_start(&env->redis, false) != 0 ||
	    start_servers(env, lighttpd) != 0)
		goto fail;
	/* Both listen already; this proves lighttpd reaches second-api (any status will do). */
	if (tc_call(env, NULL, "GET", "/api/health", NULL, NULL, 0, NULL, &r) != 0 ||
	    r.status == 0) {
		tc_resp_free(&r);
		goto fail;
	}
	tc_resp_free(&r);
	if (store_open(env->store_uri, &store_schema_second, &env->store, &e) != 0) {
		fprintf(stderr, "api-client: store_open %s: %s\n", env->store_uri, e.msg);
		goto fail;
	}
	return 0;
fail:
	tc_env_stop(env);
	return -1;
}

int tc_env_start(struct tc_env *env)
{
	return env_start(env, false);
}

void tc_require_ui(void)
{
	char index[HARNESS_PATH_MAX];

	snprintf(index, sizeof(index), "%s/www/dist/index.html", env_or("top_srcdir", "."));
	if (access(index, R_OK) != 0) {
		fprintf(stderr,
			"SKIP: the platform UI is not built (%s is missing): run make with npm "
			"installed\n",
			index);
		exit(77);
	}
}

int tc_env_start_ui(struct tc_env *env)
{
	tc_require_ui();
	return env_start(env, true);
}

/* Stops second-api and reports how it ended: a crash, a non-zero exit or a sanitizer report
 * shows its log on stderr. */
static void api_stop(struct tc_env *env)
{
	char log[HARNESS_PATH_MAX + 16];
	int status;

	if (env->api_pid <= 0)
		return;
	status = stop_pid(env->api_pid);
	procs_remove(env->api_pid);
	env->api_pid = 0;
	snprintf(log, sizeof(log), "%s/api.log", env->dir);
	if (status != -1 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		dump_log(log, "second-api did not exit 0 on SIGTERM");
	else if (log_has_sanitizer_report(log))
		dump_log(log, "second-api reported a sanitizer error");
}

void tc_env_stop(struct tc_env *env)
{
	if (env == NULL)
		return;
	if (env->lighttpd_pid > 0) {
		stop_pid(env->lighttpd_pid);
		procs_remove(env->lighttpd_pid);
		env->lighttpd_pid = 0;
	}
	tc_sse_stop(env);
	api_stop(env);
	harness_redis_stop(&env->redis);
	store_close(env->store);
	env->store = NULL;
}

static bool sse_ready(const struct tc_env *env)
{
	return unix_connectable(env->sse_sock);
}

int tc_sse_start(struct tc_env *env, const char *const *extra_env)
{
	char bin[HARNESS_PATH_MAX + 16], log[HARNESS_PATH_MAX + 16], listen[HARNESS_PATH_MAX + 8];
	char *argv[] = {bin, NULL};
	char *envp[TC_ENV_MAX] = {NULL};
	int rc;

	snprintf(bin, sizeof(bin), "%s/second-sse", env_or("top_builddir", "."));
	snprintf(log, sizeof(log), "%s/sse.log", env->dir);
	snprintf(listen, sizeof(listen), "unix:%s", env->sse_sock);
	env_add(envp, "PATH", env_or("PATH", "/usr/bin:/bin"));
	env_add(envp, "SECOND_STORE_URI", env->store_uri);
	env_add(envp, "SECOND_REDIS_URL", env->redis.url);
	env_add(envp, "SECOND_SSE_LISTEN", listen);
	env_add(envp, "SECOND_LOG_TARGET", "stderr");
	env_add(envp, "SECOND_HTTP_PUBLIC_URL", env->base_url);
	env_add_list(envp, extra_env);
	env_pass(envp);
	env->sse_pid = spawn(argv, envp, log);
	env_free(envp);
	if (env->sse_pid < 0)
		return -1;
	rc = wait_ready(env->sse_pid, sse_ready, env, log, "second-sse exited at start");
	if (rc != 0)
		env->sse_pid = 0;
	return rc;
}

int tc_sse_stop(struct tc_env *env)
{
	char log[HARNESS_PATH_MAX + 16];
	int status;

	if (env->sse_pid <= 0)
		return 0;
	status = stop_pid(env->sse_pid);
	procs_remove(env->sse_pid);
	env->sse_pid = 0;
	snprintf(log, sizeof(log), "%s/sse.log", env->dir);
	if (status != -1 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		dump_log(log, "second-sse did not exit 0 on SIGTERM");
	else if (log_has_sanitizer_report(log))
		dump_log(log, "second-sse reported a sanitizer error");
	return status;
}

int tc_api_restart(struct tc_env *env)
{
	api_stop(env);
	return api_start(env);
}

static void curl_init_once(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		abort();
}

struct growbuf {
	char *data;
	size_t len, max;
};

static bool growbuf_add(struct growbuf *b, const char *p, size_t n)
{
	char *d;

	if (b->len + n > b->max)
		return false;
	d = realloc(b->data, b->len + n + 1);
	if (d == NULL)
		return false;
	memcpy(d + b->len, p, n);
	b->len += n;
	d[b->len] = '\0';
	b->data = d;
	return true;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	return growbuf_add(ud, p, size * n) ? size * n : 0;
}

/* Only the last header block is kept: "HTTP/1.1 100 Continue" starts one, the reply another. */
static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct growbuf *b = ud;

	if (size * n >= 5 && strncmp(p, "HTTP/", 5) == 0)
		b->len = 0;
	return growbuf_add(b, p, size * n) ? size * n : 0;
}

static struct curl_slist *request_headers(const char *cookie, const char *content_type,
					  bool has_body, const char *const *extra)
{
	struct curl_slist *h = curl_slist_append(NULL, "Expect:");
	char line[1024];

	if (content_type != NULL) {
		snprintf(line, sizeof(line), "Content-Type: %s", content_type);
		h = curl_slist_append(h, line);
	} else if (has_body) {
		/* Without this curl would label the body a form. */
		h = curl_slist_append(h, "Content-Type:");
	}
	if (cookie != NULL) {
		snprintf(line, sizeof(line), "Cookie: %s=%s", SESSION_COOKIE, cookie);
		h = curl_slist_append(h, line);
	}
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
		h = curl_slist_append(h, extra[i]);
	return h;
}

int tc_call(struct tc_env *env, const char *cookie, const char *method, const char *path,
	    const char *content_type, const char *body, size_t len,
	    const char *const *extra_headers, struct tc_resp *out)
{
	struct growbuf b = {.max = TC_MAX_BODY}, hb = {.max = TC_MAX_HEADERS};
	bool sends_body = body != NULL || strcmp(method, "POST") == 0 ||
			  strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0;
	struct curl_slist *hdrs = request_headers(cookie, content_type, body != NULL,
						  extra_headers);
	char url[HARNESS_PATH_MAX * 4], ct[256];
	CURLcode rc;
	CURL *c;

	pthread_once(&curl_once, curl_init_once);
	memset(out, 0, sizeof(*out));
	c = curl_easy_init();
	cr_assert_not_null(c);
	snprintf(url, sizeof(url), "%s%s", env->base_url, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, TC_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &hb);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (sends_body) {
		/* An empty POST still says Content-Length: 0, which lighttpd requires. */
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body != NULL ? body : "");
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	else
		fprintf(stderr, "api-client: %s %s: %s\n", method, path, curl_easy_strerror(rc));
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	out->body = b.data != NULL ? b.data : strdup("");
	out->len = b.len;
	out->headers = hb.data != NULL ? hb.data : strdup("");
	cr_assert(out->body != NULL && out->headers != NULL);
	if (tc_header(out, "Content-Type", ct, sizeof(ct)) != NULL &&
	    strcasestr(ct, "application/json") != NULL)
		out->json = json_loadb(out->body, out->len, 0, NULL);
	return rc == CURLE_OK ? 0 : -1;
}

int tc_json(struct tc_env *env, const char *cookie, const char *method, const char *path,
	    const char *json_body, struct tc_resp *out)
{
	static const char *const accept[] = {"Accept: application/json", NULL};

	return tc_call(env, cookie, method, path, json_body != NULL ? "application/json" : NULL,
		       json_body, json_body != NULL ? strlen(json_body) : 0, accept, out);
}

void tc_resp_free(struct tc_resp *r)
{
	if (r == NULL)
		return;
	free(r->body);
	free(r->headers);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

/* The nth (from 0) header line named `name`: its value, trimmed, copied into buf. */
static const char *header_nth(const struct tc_resp *r, const char *name, size_t nth, char *buf,
			      size_t bufsz)
{
	size_t nlen = strlen(name);

	for (const char *p = r->headers; p != NULL && *p != '\0';) {
		const char *eol = strstr(p, "\r\n");
		size_t llen = eol != NULL ? (size_t)(eol - p) : strlen(p);

		if (llen > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == ':' &&
		    nth-- == 0) {
			const char *v = p + nlen + 1;

			v += strspn(v, " \t");
			snprintf(buf, bufsz, "%.*s", (int)(llen - (size_t)(v - p)), v);
			return buf;
		}
		p = eol != NULL ? eol + 2 : NULL;
	}
	return NULL;
}

const char *tc_header(const struct tc_resp *r, const char *name, char *buf, size_t bufsz)
{
	return header_nth(r, name, 0, buf, bufsz);
}

/* The value a Set-Cookie line gives `cookie`, malloc'd, or NULL. */
static char *set_cookie_value(const struct tc_resp *r, const char *cookie)
{
	char line[1024];
	size_t clen = strlen(cookie);

	for (size_t i = 0; header_nth(r, "Set-Cookie", i, line, sizeof(line)) != NULL; i++)
		if (strncmp(line, cookie, clen) == 0 && line[clen] == '=')
			return strndup(line + clen + 1, strcspn(line + clen + 1, ";"));
	return NULL;
}

/* POSTs a JSON body built from `body` (stolen) and asserts the status. */
static void post_json(struct tc_env *env, const char *cookie, const char *path, json_t *body,
		      long want, struct tc_resp *out)
{
	char *text = jsonx_dumps_compact(body, NULL);

	json_decref(body);
	cr_assert_eq(tc_json(env, cookie, "POST", path, text, out), 0, "POST %s failed", path);
	cr_assert_eq(out->status, want, "POST %s: %ld %s", path, out->status, out->body);
	free(text);
}

char *tc_login(struct tc_env *env, const char *display_name, const char *email)
{
	json_t *body = json_pack("{s:s, s:s}", "displayName", display_name, "profileRole",
				 "Engineer");
	struct tc_resp r;
	char *cookie;

	cr_assert_not_null(body);
	if (email != NULL)
		cr_assert_eq(json_object_set_new(body, "email", json_string(email)), 0);
	post_json(env, NULL, "/api/onboarding/identity", body, 200, &r);
	cookie = set_cookie_value(&r, SESSION_COOKIE);
	cr_assert(cookie != NULL && cookie[0] != '\0', "no %s cookie in %s", SESSION_COOKIE,
		  r.headers);
	tc_resp_free(&r);
	return cookie;
}

/* A string member of obj[outer] or of obj itself, malloc'd. */
static char *id_of(const json_t *obj, const char *outer)
{
	const char *id = jsonx_str(json_object_get(obj, outer), "id");

	if (id == NULL)
		id = jsonx_str(obj, "id");
	cr_assert_not_null(id, "no id in the reply");
	return strdup(id);
}

char *tc_workspace_new(struct tc_env *env, const char *cookie, const char *name)
{
	struct tc_resp r;
	char *id;

	post_json(env, cookie, "/api/workspaces", json_pack("{s:s}", "name", name), 201, &r);
	id = id_of(r.json, "workspace");
	tc_resp_free(&r);
	return id;
}

char *tc_member_add(struct tc_env *env, const char *owner_cookie, const char *ws, const char *email,
		    const char *role)
{
	char path[HARNESS_PATH_MAX], *inv, *cookie;
	struct tc_resp r;

	snprintf(path, sizeof(path), "/api/workspaces/%s/invitations", ws);
	post_json(env, owner_cookie, path, json_pack("{s:s, s:s}", "email", email, "role", role),
		  201, &r);
	inv = id_of(r.json, "invitation");
	tc_resp_free(&r);
	cookie = tc_login(env, email, email);
	snprintf(path, sizeof(path), "/api/invitations/%s/accept", inv);
	cr_assert_eq(tc_json(env, cookie, "POST", path, NULL, &r), 0);
	cr_assert_eq(r.status, 200, "accept %s: %ld %s", inv, r.status, r.body);
	tc_resp_free(&r);
	free(inv);
	return cookie;
}

/* Every document of one collection, in _id order, appended to `into`. */
static void dump_collection(struct store *s, const char *coll, json_t *into)
{
	json_t *filter = json_object(), *docs = NULL;
	char *cursor = NULL;
	struct err e = {0};

	do {
		struct store_find_opts opts = {.cursor = cursor};
		char *next = NULL;

		cr_assert_eq(store_find(s, coll, filter, &opts, &docs, &next, &e), 0, "%s: %s",
			     coll, e.msg);
		cr_assert_eq(json_array_extend(into, docs), 0);
		json_decref(docs);
		free(cursor);
		cursor = next;
	} while (cursor != NULL);
	json_decref(filter);
}

char *tc_store_dump(struct tc_env *env)
{
	json_t *all = json_object();
	char *text;

	cr_assert_not_null(env->store);
	for (size_t i = 0; i < store_schema_second.ncollections; i++) {
		const char *name = store_schema_second.collections[i].name;
		json_t *docs = json_array();

		dump_collection(env->store, name, docs);
		cr_assert_eq(json_object_set_new(all, name, docs), 0);
	}
	text = jsonx_dumps_stable(all);
	json_decref(all);
	return text;
}
