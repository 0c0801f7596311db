/* Child processes of workerd: spawn with a scrubbed environment in a new process group,
 * optionally under bubblewrap; read stdout as lines; keep a tail of stderr; terminate.
 *
 * Everything the child needs (argv with the bwrap prefix, envp) is built before fork, so the
 * child only calls async-signal-safe functions. Termination is a deadline rather than a timer
 * thread: the thread reading or reaping the child sends SIGKILL once the grace period after
 * SIGTERM has passed, so a pid is never signalled after it was reaped. */
#include <config.h>

#include "workerd/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/limits.h"
#include "lib/log.h"
#include "lib/timeutil.h"

struct proc {
	pid_t pid;
	int in, out, errfd; /* -1 when closed */
	pthread_mutex_t mu;
	bool reaped, terminated;
	int status;
	int64_t kill_at; /* monotonic ms; 0 = no deadline */
	int64_t term_at; /* proc_set_timeout's deadline; 0 = none */
	char tail[PROC_STDERR_TAIL];
	size_t tail_len;
	char *line;
	size_t line_len, line_cap;
	bool line_truncated;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Builds "bwrap ... -- argv" into out (borrowed strings). */
static int sandbox_argv(const struct proc_spec *s, const char **out, size_t max)
{
	size_t n = 0;
	const char *fixed[] = {s->bwrap,
			       "--die-with-parent",
			       "--unshare-pid",
			       "--unshare-ipc",
			       "--ro-bind",
			       "/",
			       "/",
			       "--dev",
			       "/dev",
			       "--proc",
			       "/proc",
			       "--tmpfs",
			       "/tmp"};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		out[n++] = fixed[i];
	for (size_t i = 0; s->sandbox_ro && s->sandbox_ro[i]; i++) {
		if (n + 4 >= max)
			return -1;
		out[n++] = "--ro-bind";
		out[n++] = s->sandbox_ro[i];
		out[n++] = s->sandbox_ro[i];
	}
	for (size_t i = 0; s->sandbox_rw && s->sandbox_rw[i]; i++) {
		if (n + 4 >= max)
			return -1;
		out[n++] = "--bind";
		out[n++] = s->sandbox_rw[i];
		out[n++] = s->sandbox_rw[i];
	}
	out[n++] = "--chdir";
	out[n++] = s->cwd ? s->cwd : "/";
	out[n++] = "--";
	for (size_t i = 0; s->argv[i]; i++) {
		if (n + 1 >= max)
			return -1;
		out[n++] = s->argv[i];
	}
	out[n] = NULL;
	return 0;
}

int proc_spawn(const struct proc_spec *s, struct proc **out, struct err *e)
{
	const char *argv[PROC_MAX_ARGS + 24];
	int in[2] = {-1, -1}, o[2] = {-1, -1}, er[2] = {-1, -1};
	size_t n = 0;
	if (s->bwrap) {
		if (sandbox_argv(s, argv, sizeof(argv) / sizeof(argv[0])) < 0)
			return err_set(e, ERR_TOO_LARGE, "too many arguments for the runtime");
	} else {
		for (; s->argv[n]; n++) {
			if (n >= PROC_MAX_ARGS)
				return err_set(e, ERR_TOO_LARGE,
					       "too many arguments for the runtime");
			argv[n] = s->argv[n];
		}
		argv[n] = NULL;
	}
	if ((s->pipe_stdin && pipe2(in, O_CLOEXEC) < 0) || pipe2(o, O_CLOEXEC) < 0 ||
	    pipe2(er, O_CLOEXEC) < 0) {
		err_set(e, ERR_IO, "pipe: %s", strerror(errno));
		goto fail;
	}
	int devnull = s->pipe_stdin ? -1 : open("/dev/null", O_RDONLY | O_CLOEXEC);
	pid_t pid = fork();
	if (pid < 0) {
		err_set(e, ERR_IO, "fork: %s", strerror(errno));
		if (devnull >= 0)
			close(devnull);
		goto fail;
	}
	if (pid == 0) {
		setpgid(0, 0);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* Ignored signals survive exec: the runtime starts with every default back. */
		for (int sig = 1; sig < NSIG; sig++)
			signal(sig, SIG_DFL);
		if (dup2(s->pipe_stdin ? in[0] : devnull, 0) < 0 || dup2(o[1], 1) < 0 ||
		    dup2(er[1], 2) < 0)
			_exit(126);
		if (!s->bwrap && s->cwd && chdir(s->cwd) < 0)
			_exit(126);
		execve(argv[0], (char *const *)argv, (char *const *)s->envp);
		_exit(127);
	}
	if (devnull >= 0)
		close(devnull);
	setpgid(pid, pid); /* also from the parent, so a signal right away reaches the group */
	struct proc *p = calloc(1, sizeof(*p));
	if (!p)
		abort();
	pthread_mutex_init(&p->mu, NULL);
	p->pid = pid;
	p->in = in[1];
	p->out = o[0];
	p->errfd = er[0];
	close_fd(&in[0]);
	close_fd(&o[1]);
	close_fd(&er[1]);
	*out = p;
	return 0;
fail:
	close_fd(&in[0]), close_fd(&in[1]), close_fd(&o[0]), close_fd(&o[1]);
	close_fd(&er[0]), close_fd(&er[1]);
	return -1;
}

static void tail_append(struct proc *p, const char *buf, size_t n)
{
	if (n >= sizeof(p->tail) - 1) {
		buf += n - (sizeof(p->tail) - 1);
		n = sizeof(p->tail) - 1;
	}
	if (p->tail_len + n > sizeof(p->tail) - 1) {
		size_t drop = p->tail_len + n - (sizeof(p->tail) - 1);
		memmove(p->tail, p->tail + drop, p->tail_len - drop);
		p->tail_len -= drop;
	}
	memcpy(p->tail + p->tail_len, buf, n);
	p->tail_len += n;
	p->tail[p->tail_len] = '\0';
}

/* Sends SIGKILL once the deadline after SIGTERM has passed; returns ms until it, or -1. */
static int kill_deadline(struct proc *p)
{
	pthread_mutex_lock(&p->mu);
	int wait = -1;
	if (p->term_at && !p->reaped && !p->terminated) {
		int64_t left = p->term_at - time_mono_ms();
		if (left <= 0) {
			p->terminated = true;
			kill(-p->pid, SIGTERM);
			kill(p->pid, SIGTERM);
			p->kill_at = time_mono_ms() + PROC_KILL_GRACE_MS;
		} else {
			wait = (int)left;
		}
	}
	if (p->kill_at && !p->reaped) {
		int64_t left = p->kill_at - time_mono_ms();
		if (left <= 0) {
			kill(-p->pid, SIGKILL);
			kill(p->pid, SIGKILL);
			p->kill_at = 0;
		} else if (wait < 0 || left < wait) {
			wait = (int)left;
		}
	}
	pthread_mutex_unlock(&p->mu);
	return wait;
}

static int line_add(struct proc *p, const char *buf, size_t n, proc_line_fn fn, void *arg)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			if (p->line_len > 0 && p->line[p->line_len - 1] == '\r')
				p->line_len--;
			if (!p->line) {
				p->line_cap = 256;
				p->line = malloc(p->line_cap);
				if (!p->line)
					abort();
			}
			p->line[p->line_len] = '\0';
			int stop = fn(arg, p->line, p->line_len, p->line_truncated);
			p->line_len = 0;
			p->line_truncated = false;
			if (stop)
				return 1;
			continue;
		}
		if (p->line_len >= PROC_LINE_MAX) {
			p->line_truncated = true;
			continue;
		}
		if (p->line_len + 2 > p->line_cap) {
			p->line_cap = p->line_cap ? p->line_cap * 2 : 256;
			p->line = realloc(p->line, p->line_cap);
			if (!p->line)
				abort();
		}
		p->line[p->line_len++] = buf[i];
	}
	return 0;
}

int proc_read_lines(struct proc *p, proc_line_fn fn, void *arg)
{
	char buf[65536];
	while (p->out >= 0) {
		struct pollfd fds[2] = {{.fd = p->out, .events = POLLIN},
					{.fd = p->errfd, .events = POLLIN}};
		int deadline = kill_deadline(p);
		int r = poll(fds, p->errfd >= 0 ? 2 : 1, deadline >= 0 ? deadline : 1000);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (p->errfd >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t k = read(p->errfd, buf, sizeof(buf));
			if (k > 0)
				tail_append(p, buf, (size_t)k);
			else if (k == 0 || (errno != EINTR && errno != EAGAIN))
				close_fd(&p->errfd);
		}
		if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t k = read(p->out, buf, sizeof(buf));
			if (k < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (k <= 0) {
				close_fd(&p->out);
				break;
			}
			if (line_add(p, buf, (size_t)k, fn, arg))
				return 0;
		}
	}
	/* Drain what stderr still has without blocking for long: error messages need it. */
	for (int i = 0; p->errfd >= 0 && i < 50; i++) {
		struct pollfd f = {.fd = p->errfd, .events = POLLIN};
		if (poll(&f, 1, 20) <= 0)
			break;
		ssize_t k = read(p->errfd, buf, sizeof(buf));
		if (k <= 0)
			close_fd(&p->errfd);
		else
			tail_append(p, buf, (size_t)k);
	}
	return 0;
}

int proc_write(struct proc *p, const char *buf, size_t len)
{
	while (len > 0 && p->in >= 0) {
		ssize_t k = write(p->in, buf, len);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += k;
		len -= (size_t)k;
	}
	return len == 0 ? 0 : -1;
}

void proc_close_stdin(struct proc *p)
{
	close_fd(&p->in);
}

void proc_terminate(struct proc *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	if (!p->reaped && !p->terminated) {
		p->terminated = true;
		kill(-p->pid, SIGTERM);
		kill(p->pid, SIGTERM);
		p->kill_at = time_mono_ms() + PROC_KILL_GRACE_MS;
	}
	pthread_mutex_unlock(&p->mu);
}

void proc_set_timeout(struct proc *p, int ms)
{
	pthread_mutex_lock(&p->mu);
	p->term_at = time_mono_ms() + ms;
	pthread_mutex_unlock(&p->mu);
}

void proc_interrupt(struct proc *p)
{
	pthread_mutex_lock(&p->mu);
	if (!p->reaped && !p->terminated) {
		p->terminated = true;
		kill(-p->pid, SIGINT);
		kill(p->pid, SIGINT);
		p->kill_at = time_mono_ms() + PROC_KILL_GRACE_MS;
	}
	pthread_mutex_unlock(&p->mu);
}

bool proc_terminated(const struct proc *p)
{
	return p->terminated;
}

int proc_wait(struct proc *p, int *status)
{
	for (;;) {
		pthread_mutex_lock(&p->mu);
		if (p->reaped) {
			if (status)
				*status = p->status;
			pthread_mutex_unlock(&p->mu);
			return 0;
		}
		int st = 0;
		pid_t r = waitpid(p->pid, &st, WNOHANG);
		if (r == p->pid || (r < 0 && errno == ECHILD)) {
			p->reaped = true;
			p->status = r == p->pid ? st : 0;
			/* Whatever the runtime left running in its group goes with it. */
			kill(-p->pid, SIGKILL);
			pthread_mutex_unlock(&p->mu);
			continue;
		}
		pthread_mutex_unlock(&p->mu);
		kill_deadline(p);
		usleep(10000);
	}
}

void proc_describe_status(int status, char *buf, size_t bufsz)
{
	if (WIFEXITED(status))
		snprintf(buf, bufsz, "exited with %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, bufsz, "killed by SIG%s",
			 sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?");
	else
		snprintf(buf, bufsz, "ended with status %d", status);
}

const char *proc_stderr_tail(struct proc *p)
{
	return p->tail;
}

pid_t proc_pid(const struct proc *p)
{
	return p->pid;
}

void proc_free(struct proc *p)
{
	if (!p)
		return;
	close_fd(&p->in);
	close_fd(&p->out);
	close_fd(&p->errfd);
	if (!p->reaped) {
		proc_terminate(p);
		proc_wait(p, NULL);
	}
	pthread_mutex_destroy(&p->mu);
	free(p->line);
	free(p);
}
