/* workerd: the daemon that runs the agent runtimes and the MCP broker.
 *
 * Start-up order: configuration, logging, the two listening sockets (from systemd socket
 * activation, checked with sd_is_socket_*, or created from workerd.listen and
 * workerd.mcp_listen), the sandbox probe, then the HTTP listeners. SIGTERM and SIGINT stop the
 * listeners, cancel running turns (their CLIs get SIGTERM, then SIGKILL) and exit. */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "lib/config.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/service.h"
#include "workerd/broker.h"
#include "workerd/env.h"
#include "workerd/files.h"
#include "workerd/build.h"
#include "workerd/http.h"
#include "workerd/sessions.h"
#include "workerd/workerd.h"

extern char **environ;

static int listen_unix(const char *path, struct err *e)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(a.sun_path))
		return err_set(e, ERR_INVALID, "socket path too long: %s", path);
	memcpy(a.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(e, ERR_IO, "socket: %s", strerror(errno));
	unlink(path);
	mode_t old = umask(0117); /* owner and group: the responders' group */
	int r = bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (r < 0 || listen(fd, 128) < 0) {
		err_set(e, ERR_IO, "listen on %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int listen_tcp(const char *hostport, struct err *e)
{
	char host[64];
	const char *colon = strrchr(hostport, ':');
	if (!colon || (size_t)(colon - hostport) >= sizeof(host))
		return err_set(e, ERR_INVALID, "workerd.mcp_listen must be HOST:PORT");
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	char *end = NULL;
	long port = strtol(colon + 1, &end, 10);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (*end || port < 0 || port > 65535 || inet_pton(AF_INET, host, &a.sin_addr) != 1)
		return err_set(e, ERR_INVALID, "workerd.mcp_listen must be IPv4 HOST:PORT");
	if ((ntohl(a.sin_addr.s_addr) >> 24) != 127)
		return err_set(e, ERR_INVALID, "the broker listens on loopback only");
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0)
		return err_set(e, ERR_IO, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 128) < 0) {
		err_set(e, ERR_IO, "listen on %s: %s", hostport, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Socket activation: exactly one listening unix stream socket (internal API) and one
 * listening TCP socket on loopback (broker). Returns 1 when systemd passed them, 0 when it
 * passed none, -1 when what it passed is not that. */
static int inherited(int *internal_fd, int *mcp_fd, struct err *e)
{
	int n = sd_listen_fds(1);
	if (n < 0)
		return err_set(e, ERR_INVALID, "sd_listen_fds: %s", strerror(-n));
	if (n == 0)
		return 0;
	*internal_fd = *mcp_fd = -1;
	for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n; fd++) {
		if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) > 0 && *internal_fd < 0)
			*internal_fd = fd;
		else if (sd_is_socket_inet(fd, AF_INET, SOCK_STREAM, 1, 0) > 0 && *mcp_fd < 0)
			*mcp_fd = fd;
		else
			return err_set(e, ERR_INVALID,
				       "socket %d from systemd is neither the internal unix socket "
				       "nor the broker's TCP socket",
				       fd);
	}
	if (*internal_fd < 0 || *mcp_fd < 0)
		return err_set(e, ERR_INVALID,
			       "systemd must pass a listening unix socket and a TCP socket");
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	if (getsockname(*mcp_fd, (struct sockaddr *)&a, &al) < 0 ||
	    (ntohl(a.sin_addr.s_addr) >> 24) != 127)
		return err_set(e, ERR_INVALID, "the broker socket must be bound to loopback");
	return 1;
}

static char *default_runtime_path(void)
{
	const char *path = getenv("PATH"), *home = getenv("HOME");
	char *out = NULL;
	if (asprintf(&out, "%s%s%s/.local/bin:%s/.npm-global/bin:/usr/local/bin:/usr/bin:/bin",
		     path ? path : "", path ? ":" : "", home ? home : "/nonexistent",
		     home ? home : "/nonexistent") < 0)
		abort();
	return out;
}

static const char *probe_bwrap(const struct workerd *w, enum workerd_sandbox mode)
{
	static char bin[WORKSPACE_PATH_MAX];
	if (mode == WORKERD_SANDBOX_OFF ||
	    env_find_binary(NULL, "bwrap", w->runtime_path, bin, sizeof(bin)) < 0)
		return NULL;
	/* User namespaces may be disabled: try it once. */
	char cmd[WORKSPACE_PATH_MAX + 96];
	snprintf(cmd, sizeof(cmd), "'%s' --ro-bind / / --dev /dev --proc /proc true 2>/dev/null",
		 bin);
	return system(cmd) == 0 ? bin : NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: workerd [--config FILE] [--listen unix:PATH] "
			"[--mcp-listen HOST:PORT] [--check-config]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"listen", required_argument, NULL, 'l'},
		{"mcp-listen", required_argument, NULL, 'm'},
		{"check-config", no_argument, NULL, 'C'},
		{NULL, 0, NULL, 0},
	};
	const char *file = NULL, *listen_arg = NULL, *mcp_arg = NULL;
	int c, check = 0, rc = 1, internal_fd = -1, mcp_fd = -1;
	struct config *cfg = NULL;
	struct err e = {0};
	static struct workerd w;
	char *runtime_path = NULL, *mcp_url = NULL;

	log_init("workerd", LOG_LEVEL_INFO, LOG_TARGET_AUTO);
	while ((c = getopt_long(argc, argv, "c:l:m:", opts, NULL)) != -1) {
		if (c == 'c')
			file = optarg;
		else if (c == 'l')
			listen_arg = optarg;
		else if (c == 'm')
			mcp_arg = optarg;
		else if (c == 'C')
			check = 1;
		else
			return usage(), 2;
	}
	if (config_load(file, environ, &cfg, &e) != 0) {
		fprintf(stderr, "workerd: configuration: %s\n", e.msg);
		return 2;
	}
	if (check) {
		config_print(cfg, stdout);
		config_free(cfg);
		return 0;
	}
	if (service_log_init(cfg, "workerd", &e) != 0) {
		fprintf(stderr, "workerd: %s\n", e.msg);
		goto out;
	}
	if (getuid() == 0 && getenv("INVOCATION_ID")) {
		log_error("refusing to run as root under systemd: give the unit a User=");
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	sigdelset(&stop, SIGCHLD);

	w.cfg = cfg;
	w.internal_token = config_str(cfg, "api.internal_token");
	w.workspaces_dir = config_str(cfg, "workerd.workspaces_dir");
	w.runtime_dir = config_str(cfg, "workerd.runtime_dir");
	w.template_dir = *config_str(cfg, "workerd.template_dir")
				 ? config_str(cfg, "workerd.template_dir")
				 : SECOND_TEMPLATE_DIR;
	runtime_path = *config_str(cfg, "workerd.runtime_path")
			       ? strdup(config_str(cfg, "workerd.runtime_path"))
			       : default_runtime_path();
	w.runtime_path = runtime_path;
	w.claude_path = config_str(cfg, "workerd.claude_path");
	w.codex_path = config_str(cfg, "workerd.codex_path");
	w.opencode_path = config_str(cfg, "workerd.opencode_path");
	w.session_ttl_s = (int)config_int(cfg, "workerd.session_ttl_s");
	w.heartbeat_s = (int)config_int(cfg, "workerd.heartbeat_s");
	w.production = config_bool(cfg, "workerd.production");
	const char *sb = config_str(cfg, "workerd.sandbox");
	w.sandbox = strcmp(sb, "off") == 0     ? WORKERD_SANDBOX_OFF
		    : strcmp(sb, "bwrap") == 0 ? WORKERD_SANDBOX_BWRAP
					       : WORKERD_SANDBOX_AUTO;
	if (w.workspaces_dir[0] != '/' || w.runtime_dir[0] != '/') {
		log_error("workerd.workspaces_dir and workerd.runtime_dir must be absolute");
		goto out;
	}
	if (files_mkdirs(w.workspaces_dir, &e) < 0 || files_mkdirs(w.runtime_dir, &e) < 0) {
		log_error("start: %s", e.msg);
		goto out;
	}
	chmod(w.runtime_dir, 0700);
	w.bwrap_path = probe_bwrap(&w, w.sandbox);
	if (w.sandbox == WORKERD_SANDBOX_BWRAP && !w.bwrap_path) {
		log_error("workerd.sandbox is bwrap but bubblewrap is missing or cannot run here");
		goto out;
	}

	int got = inherited(&internal_fd, &mcp_fd, &e);
	if (got < 0) {
		log_error("socket activation: %s", e.msg);
		goto out;
	}
	if (got == 0) {
		const char *l = listen_arg ? listen_arg : config_str(cfg, "workerd.listen");
		const char *m = mcp_arg ? mcp_arg : config_str(cfg, "workerd.mcp_listen");
		if (strncmp(l, "unix:", 5) != 0) {
			log_error("workerd.listen must be unix:/PATH");
			goto out;
		}
		internal_fd = listen_unix(l + 5, &e);
		if (internal_fd >= 0)
			mcp_fd = listen_tcp(m, &e);
		if (mcp_fd < 0) {
			log_error("listen: %s", e.msg);
			goto out;
		}
	}
	struct sockaddr_in ma;
	socklen_t mal = sizeof(ma);
	getsockname(mcp_fd, (struct sockaddr *)&ma, &mal);
	if (*config_str(cfg, "workerd.mcp_url"))
		mcp_url = strdup(config_str(cfg, "workerd.mcp_url"));
	else if (asprintf(&mcp_url, "http://127.0.0.1:%u", ntohs(ma.sin_port)) < 0)
		abort();
	w.mcp_url = mcp_url;
	w.broker = broker_new(&w);
	w.sessions = sessions_new(&w);
	if (workerd_http_start(&w, internal_fd, mcp_fd, &e) < 0) {
		log_error("start: %s", e.msg);
		goto out;
	}
	log_notice("serving: internal API %s, broker %s, sandbox %s",
		   got ? "on the socket from systemd"
		       : (listen_arg ? listen_arg : config_str(cfg, "workerd.listen")),
		   w.mcp_url, w.bwrap_path ? "bwrap" : "off");
	sd_notify(0, "READY=1");
	for (;;) {
		struct timespec ts = {.tv_sec = 5};
		int sig = sigtimedwait(&stop, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		sessions_expire(w.sessions);
	}
	log_notice("stopping");
	sd_notify(0, "STOPPING=1");
	rc = 0;
out:
	/* Running warm-ups go first: a done_building waiting on one would hold the HTTP stop. */
	build_warmup_shutdown();
	workerd_http_stop();
	sessions_free(w.sessions);
	broker_free(w.broker);
	if (internal_fd >= 0)
		close(internal_fd);
	if (mcp_fd >= 0)
		close(mcp_fd);
	free(runtime_path);
	free(mcp_url);
	config_free(cfg);
	return rc;
}
