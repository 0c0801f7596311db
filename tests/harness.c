/* The test harness: temp dirs and redis-server processes that disappear with the test.
 *
 * Two fixed registries hold what this harness created: temp dirs and server pids, each tagged
 * with the pid of the process that created it. Criterion runs every test in a child process, and
 * a test may fork helpers; cleanup (atexit, SIGINT/SIGTERM) only touches entries whose owner is
 * the current process, so a child never removes its parent's directory. The registries are
 * fixed arrays and the removal code uses only async-signal-safe calls (openat, getdents64,
 * unlinkat, kill, waitpid), so the same cleanup runs from a signal handler. Servers are also
 * started with PR_SET_PDEATHSIG, so a test killed with SIGKILL never leaks a redis-server; the
 * signal follows the forking *thread*, so start servers from the test's main thread. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include <jansson.h>

#include "tests/harness.h"

#define HARNESS_MAX_DIRS 256        /* temp dirs one process may create */
#define HARNESS_MAX_SERVERS 64      /* servers one process may run at once */
#define HARNESS_RM_MAX_DEPTH 16     /* nesting removed below a temp dir */
#define HARNESS_RM_MAX_PASSES 64    /* rescans of one directory while emptying it */
#define HARNESS_READY_MS 5000       /* a server must answer PING within this */
#define HARNESS_STOP_MS 5000        /* grace after SIGTERM before SIGKILL */
#define HARNESS_PING_TIMEOUT_MS 200 /* per attempt while waiting for readiness */
#define HARNESS_POLL_MS 20          /* sleep between readiness or exit checks */

struct harness_dir {
	pid_t owner;
	char path[HARNESS_PATH_MAX];
};

struct harness_server {
	pid_t owner;
	pid_t pid;
};

static struct harness_dir dirs[HARNESS_MAX_DIRS];
static volatile sig_atomic_t ndirs;
static struct harness_server servers[HARNESS_MAX_SERVERS];
static bool keep_dirs;
static bool cleanup_installed;

static void die(const char *what)
{
	fprintf(stderr, "harness: %s: %s\n", what, strerror(errno));
	abort();
}

static long long now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		die("clock_gettime");
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	/* An early wake-up by a signal only shortens one polling step. */
	(void)nanosleep(&ts, NULL);
}

static bool is_dot(const char *name)
{
	return strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

/* Empties the open directory fd; returns how many entries one scan found. */
static int rm_scan(int fd, int depth);

static void rm_at(int dirfd, const char *name, int depth)
{
	int fd = -1;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return;
	if ((errno != EISDIR && errno != EPERM) || depth >= HARNESS_RM_MAX_DEPTH)
		return;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	/* Deleting while reading may hide entries from one scan, so rescan until empty. */
	for (int pass = 0; pass < HARNESS_RM_MAX_PASSES; pass++) {
		if (rm_scan(fd, depth) == 0)
			break;
		if (lseek(fd, 0, SEEK_SET) != 0)
			break;
	}
	close(fd);
	/* What could not be removed stays behind; cleanup is best effort by nature. */
	(void)unlinkat(dirfd, name, AT_REMOVEDIR);
}

static int rm_scan(int fd, int depth)
{
	char buf[4096] __attribute__((aligned(8)));
	int found = 0;
	ssize_t n;

	while ((n = getdents64(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);

			off += d->d_reclen;
			if (is_dot(d->d_name))
				continue;
			found++;
			rm_at(fd, d->d_name, depth + 1);
		}
	}
	return found;
}

static void kill_and_reap(pid_t pid)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* Async-signal-safe: used from the signal handler, where waiting out SIGTERM is not an option. */
static void kill_owned_servers(void)
{
	pid_t self = getpid();

	for (int i = 0; i < HARNESS_MAX_SERVERS; i++) {
		if (servers[i].owner != self || servers[i].pid <= 0)
			continue;
		kill_and_reap(servers[i].pid);
		servers[i].pid = 0;
	}
}

/* Async-signal-safe; called after the servers are gone so none writes into a dir being removed. */
static void remove_owned_dirs(void)
{
	pid_t self = getpid();

	if (keep_dirs)
		return;
	for (int i = 0; i < ndirs; i++)
		if (dirs[i].owner == self)
			rm_at(AT_FDCWD, dirs[i].path, 0);
}

static void cleanup_atexit(void)
{
	harness_stop_all();
	remove_owned_dirs();
	if (!keep_dirs)
		return;
	for (int i = 0; i < ndirs; i++)
		if (dirs[i].owner == getpid())
			fprintf(stderr, "harness: kept %s\n", dirs[i].path);
}

static void cleanup_signal(int sig)
{
	int saved = errno;

	kill_owned_servers();
	remove_owned_dirs();
	signal(sig, SIG_DFL);
	errno = saved;
	raise(sig);
}

/* Our handler only replaces the default action, never a handler someone else installed. */
static void install_signal(int sig)
{
	struct sigaction old, sa;

	if (sigaction(sig, NULL, &old) != 0 || old.sa_handler != SIG_DFL)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cleanup_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) != 0)
		die("sigaction");
}

static void install_cleanup(void)
{
	const char *keep = getenv("SECOND_TEST_KEEP");

	if (cleanup_installed)
		return;
	cleanup_installed = true;
	keep_dirs = keep != NULL && strcmp(keep, "1") == 0;
	if (atexit(cleanup_atexit) != 0)
		die("atexit");
	install_signal(SIGINT);
	install_signal(SIGTERM);
}

const char *harness_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	struct harness_dir *d;
	int len;

	install_cleanup();
	if (base == NULL || base[0] != '/')
		base = "/tmp";
	if (ndirs >= HARNESS_MAX_DIRS) {
		errno = EMFILE;
		die("too many temp dirs");
	}
	d = &dirs[ndirs];
	len = snprintf(d->path, sizeof(d->path), "%s/second-test-XXXXXX", base);
	if (len < 0 || (size_t)len >= sizeof(d->path)) {
		errno = ENAMETOOLONG;
		die("temp dir path");
	}
	if (mkdtemp(d->path) == NULL)
		die("mkdtemp");
	d->owner = getpid();
	/* Published only once complete, so a signal handler never sees half an entry. */
	ndirs = ndirs + 1;
	return d->path;
}

static bool executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* $REDIS_SERVER when set and non-empty, else the first redis-server on PATH. */
static bool find_redis(char *out, size_t outsz)
{
	const char *env = getenv("REDIS_SERVER");
	const char *path = getenv("PATH");

	if (env != NULL && env[0] != '\0') {
		if (snprintf(out, outsz, "%s", env) < (int)outsz && executable(out))
			return true;
		fprintf(stderr, "harness: REDIS_SERVER=%s is not an executable file\n", env);
		return false;
	}
	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path != '\0') {
		size_t n = strcspn(path, ":");
		int len = snprintf(out, outsz, "%.*s/redis-server", (int)n, path);

		if (n > 0 && len > 0 && (size_t)len < outsz && executable(out))
			return true;
		path += n + (path[n] == ':');
	}
	return false;
}

/* A slot is free when empty or inherited from the process we were forked from: that entry is
 * only a copy here, and its owner still holds the original. */
static void register_server(pid_t pid)
{
	for (int i = 0; i < HARNESS_MAX_SERVERS; i++) {
		if (servers[i].pid > 0 && servers[i].owner == getpid())
			continue;
		servers[i].owner = getpid();
		servers[i].pid = pid;
		return;
	}
	fprintf(stderr, "harness: more than %d servers at once\n", HARNESS_MAX_SERVERS);
	abort();
}

static void unregister_server(pid_t pid)
{
	for (int i = 0; i < HARNESS_MAX_SERVERS; i++)
		if (servers[i].pid == pid && servers[i].owner == getpid())
			servers[i].pid = 0;
}

/* SIGTERM, then SIGKILL after the grace period; always reaps. */
static void stop_pid(pid_t pid)
{
	long long deadline = now_ms() + HARNESS_STOP_MS;
	pid_t w;

	if (kill(pid, SIGTERM) != 0 && errno == ESRCH) {
		/* Already gone but maybe not reaped: collect it without blocking. */
		(void)waitpid(pid, NULL, WNOHANG);
		return;
	}
	while ((w = waitpid(pid, NULL, WNOHANG)) == 0 && now_ms() < deadline)
		sleep_ms(HARNESS_POLL_MS);
	if (w == 0) {
		fprintf(stderr, "harness: pid %d ignored SIGTERM, killing it\n", (int)pid);
		kill_and_reap(pid);
	}
}

/* After fork in the child: only async-signal-safe calls until exec. */
static void exec_child(const char *bin, char *const argv[], int devnull, pid_t parent)
{
	sigset_t none;

	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
		_exit(127);
	if (dup2(devnull, STDIN_FILENO) < 0)
		_exit(127);
	/* Test-runner pipes must not stay open in the server; failure only leaks fds. */
	(void)close_range(3, ~0U, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execv(bin, argv);
	_exit(127);
}

static void spawn_redis(struct harness_redis *r, const char *bin)
{
	char log[HARNESS_PATH_MAX + 16];
	char *argv[] = {
		(char *)bin,
		"--port",
		"0",
		"--unixsocket",
		r->sock,
		"--unixsocketperm",
		"700",
		"--dir",
		r->dir,
		"--save",
		"",
		"--appendonly",
		r->persistent ? "yes" : "no",
		"--appendfsync",
		"always",
		"--daemonize",
		"no",
		"--logfile",
		log,
		NULL,
	};
	pid_t parent = getpid();
	int devnull = -1;
	pid_t pid;

	snprintf(log, sizeof(log), "%s/redis.log", r->dir);
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0)
		die("open /dev/null");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		exec_child(bin, argv, devnull, parent);
	close(devnull);
	r->pid = pid;
	register_server(pid);
}

static bool answers_ping(const char *sock)
{
	struct timeval tv = {.tv_sec = 0, .tv_usec = HARNESS_PING_TIMEOUT_MS * 1000};
	redisContext *c = redisConnectUnixWithTimeout(sock, tv);
	redisReply *rep = NULL;
	bool ok = false;

	if (c == NULL || c->err)
		goto out;
	if (redisSetTimeout(c, tv) != REDIS_OK)
		goto out;
	rep = redisCommand(c, "PING");
	ok = rep != NULL && rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, "PONG") == 0;
out:
	if (rep != NULL)
		freeReplyObject(rep);
	if (c != NULL)
		redisFree(c);
	return ok;
}

/* Polls until PING answers; fails early when the server exits (bad args, port in use). */
static int wait_ready(struct harness_redis *r)
{
	long long deadline = now_ms() + HARNESS_READY_MS;

	while (now_ms() < deadline) {
		if (waitpid(r->pid, NULL, WNOHANG) == r->pid) {
			fprintf(stderr, "harness: redis-server exited at start, see %s/redis.log\n",
				r->dir);
			unregister_server(r->pid);
			r->pid = 0;
			return -1;
		}
		if (answers_ping(r->sock))
			return 0;
		sleep_ms(HARNESS_POLL_MS);
	}
	fprintf(stderr,
		"harness: redis-server did not answer PING within %d ms, see %s/redis.log\n",
		HARNESS_READY_MS, r->dir);
	harness_redis_stop(r);
	return -1;
}

static int start_in_dir(struct harness_redis *r)
{
	char bin[HARNESS_PATH_MAX];

	if (!find_redis(bin, sizeof(bin))) {
		fprintf(stderr, "SKIP: redis-server not found (install the Debian package "
				"redis-server)\n");
		exit(77);
	}
	spawn_redis(r, bin);
	return wait_ready(r);
}

pid_t harness_spawn(const char *bin, char *const argv[], char *const envp[], const char *log_path,
		    int *out_fd)
{
	int pfd[2] = {-1, -1};
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	int logfd = log_path ? open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : -1;
	pid_t parent = getpid(), pid;

	install_cleanup();
	if (devnull < 0 || (out_fd && pipe2(pfd, O_CLOEXEC) != 0))
		die("spawn setup");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int out = out_fd ? pfd[1] : (logfd >= 0 ? logfd : devnull);
		int err = logfd >= 0 ? logfd : devnull;
		sigset_t none;

		if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
			_exit(127);
		if (dup2(devnull, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
		    dup2(err, STDERR_FILENO) < 0)
			_exit(127);
		(void)close_range(3, ~0U, 0); /* failure only leaks fds into the service */
		setpgid(0, 0);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (envp)
			execve(bin, argv, envp);
		else
			execv(bin, argv);
		_exit(127);
	}
	close(devnull);
	if (logfd >= 0)
		close(logfd);
	if (out_fd) {
		close(pfd[1]);
		*out_fd = pfd[0];
	}
	register_server(pid);
	return pid;
}

bool harness_proc_running_in(const char *cmd_prefix, const char *dir)
{
	char real[PATH_MAX];
	if (!realpath(dir, real))
		return false;
	size_t rlen = strlen(real), plen = strlen(cmd_prefix);
	DIR *d = opendir("/proc");
	bool found = false;
	for (struct dirent *de; d && !found && (de = readdir(d));) {
		char path[300], cmd[256] = {0}, cwd[PATH_MAX];
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t n = fread(cmd, 1, sizeof(cmd) - 1, f);
		fclose(f);
		for (size_t i = 0; i + 1 < n; i++)
			if (cmd[i] == '\0')
				cmd[i] = ' ';
		if (strncmp(cmd, cmd_prefix, plen) != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cwd", de->d_name);
		ssize_t len = readlink(path, cwd, sizeof(cwd) - 1);
		if (len < 0)
			continue;
		cwd[len] = '\0';
		found = strncmp(cwd, real, rlen) == 0 && (cwd[rlen] == '/' || cwd[rlen] == '\0');
	}
	if (d)
		closedir(d);
	return found;
}

int harness_stop(pid_t pid)
{
	long long deadline = now_ms() + HARNESS_STOP_MS;
	int status = -1;
	pid_t w;

	if (pid <= 0)
		return -1;
	unregister_server(pid);
	kill(pid, SIGTERM);
	while ((w = waitpid(pid, &status, WNOHANG)) == 0 && now_ms() < deadline)
		sleep_ms(HARNESS_POLL_MS);
	if (w == 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	return w < 0 && errno == ECHILD ? -1 : status;
}

int harness_redis_start(struct harness_redis *r, bool persistent)
{
	const char *dir = harness_tmpdir();
	struct sockaddr_un sa;
	int len;

	memset(r, 0, sizeof(*r));
	r->persistent = persistent;
	snprintf(r->dir, sizeof(r->dir), "%s", dir);
	len = snprintf(r->sock, sizeof(r->sock), "%s/redis.sock", dir);
	if (len < 0 || (size_t)len >= sizeof(sa.sun_path)) {
		fprintf(stderr,
			"harness: socket path %s is too long for sun_path; set a shorter "
			"TMPDIR\n",
			r->sock);
		return -1;
	}
	snprintf(r->url, sizeof(r->url), "unix://%s", r->sock);
	return start_in_dir(r);
}

void harness_redis_stop(struct harness_redis *r)
{
	if (r == NULL || r->pid <= 0)
		return;
	stop_pid(r->pid);
	unregister_server(r->pid);
	r->pid = 0;
}

int harness_redis_restart(struct harness_redis *r)
{
	harness_redis_stop(r);
	return start_in_dir(r);
}

void harness_stop_all(void)
{
	pid_t self = getpid();

	for (int i = 0; i < HARNESS_MAX_SERVERS; i++) {
		if (servers[i].owner != self || servers[i].pid <= 0)
			continue;
		stop_pid(servers[i].pid);
		servers[i].pid = 0;
	}
}

struct json_t *harness_json(const char *text)
{
	char *copy = strdup(text);
	json_error_t jerr;
	json_t *v;

	if (copy == NULL)
		abort();
	for (char *p = copy; *p; p++)
		if (*p == '\'')
			*p = '"';
	v = json_loads(copy, JSON_DECODE_ANY, &jerr);
	if (v == NULL) {
		fprintf(stderr, "bad test JSON %s: %s\n", text, jerr.text);
		abort();
	}
	free(copy);
	return v;
}
