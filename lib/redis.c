/* Redis over hiredis 0.14: URLs, deadlines, reconnection, reply caps and the typed commands.
 *
 * A `struct rds` holds the parsed URL (host and port or socket path, password, db), the two
 * timeouts, and at most one live hiredis context; NULL means "connect before the next
 * command". hiredis only formats commands and parses replies here: we write with
 * send(MSG_NOSIGNAL) and wait with poll() against one deadline per command, so a dead peer
 * never raises SIGPIPE, a timeout is a clean ERR_TIMEOUT, and the subscriber can wait without
 * putting the context into an error state. The reply reader builds ordinary redisReply trees
 * (freed with freeReplyObject) through our own constructors, which count payload bytes and
 * array elements and refuse a reply over RDS_MAX_REPLY_BYTES / RDS_MAX_REPLY_ELEMENTS before
 * allocating it; unparsed bytes are capped by RDS_MAX_REPLY_WIRE_BYTES. After a timeout, an
 * over-cap reply or an I/O error the context is dropped, since a late or partial reply would
 * desynchronise it. Passwords live only in `struct rds` and in the AUTH command; errors name
 * host:port or the socket path. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/codec.h"
#include "lib/redis.h"
#include "lib/timeutil.h"

#define RDS_DEFAULT_PORT 6379
#define RDS_DEFAULT_CONNECT_TIMEOUT_MS 2000 /* as the redis.connect_timeout_ms default */
#define RDS_DEFAULT_COMMAND_TIMEOUT_MS 5000 /* as the redis.command_timeout_ms default */
#define RDS_SUB_BACKOFF_MIN_MS 50           /* first pause between subscriber reconnects */
#define RDS_SUB_BACKOFF_MAX_MS 1000
#define RDS_ID_MAX 48  /* sizeof(struct rds_entry.id) */
#define RDS_NUM_MAX 24 /* decimal text of a 64-bit integer */
#define RDS_HOST_MAX 256
#define RDS_SUN_PATH_MAX sizeof(((struct sockaddr_un *)NULL)->sun_path)

/* Payload of the reply being read, counted by the reader's constructors. */
struct rds_cap {
	size_t bytes;
	size_t elements;
	bool over;
};

struct rds {
	redisContext *ctx;
	bool is_unix;
	char host[RDS_HOST_MAX];
	int port;
	char path[RDS_SUN_PATH_MAX];
	char password[RDS_MAX_URL_BYTES];
	int db;
	char where[RDS_HOST_MAX + 16]; /* host:port or the socket path, for errors */
	int connect_timeout_ms;
	int command_timeout_ms;
	struct rds_cap cap;
};

struct rds_sub {
	struct rds *conn;
	char **channels;
	size_t nchannels;
};

enum io_result {
	IO_OK,
	IO_UNSENT, /* the connection failed before any byte of the command left */
	IO_CONN,   /* it failed after: the command may or may not have run */
	IO_TIMEOUT,
	IO_TOO_LARGE,
};

static const char lock_release_lua[] =
	"if redis.call('get',KEYS[1])==ARGV[1] then return redis.call('del',KEYS[1]) else "
	"return 0 end";

/* A key without a TTL (left by an older writer) would never reset, so that case is fixed too. */
static const char counter_incr_lua[] =
	"local v=redis.call('incr',KEYS[1]) if v==1 or redis.call('ttl',KEYS[1])==-1 then "
	"redis.call('expire',KEYS[1],ARGV[1]) end return v";

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);

	if (p == NULL)
		abort();
	return p;
}

static char *xmemdup(const char *s, size_t len)
{
	char *p = xcalloc(len + 1, 1);

	memcpy(p, s, len);
	return p;
}

/* Reply constructors: hiredis calls these while parsing, with privdata = &rds->cap. */

static bool cap_take(const redisReadTask *t, size_t bytes, size_t elements)
{
	struct rds_cap *cap = t->privdata;

	cap->bytes += bytes;
	cap->elements += elements;
	if (cap->bytes > RDS_MAX_REPLY_BYTES || cap->elements > RDS_MAX_REPLY_ELEMENTS)
		cap->over = true;
	return !cap->over;
}

static redisReply *reply_new(const redisReadTask *t, int type)
{
	redisReply *rep = xcalloc(1, sizeof(*rep));

	rep->type = type;
	if (t->parent != NULL) {
		redisReply *parent = t->parent->obj;

		parent->element[t->idx] = rep;
	}
	return rep;
}

static void *reply_string(const redisReadTask *t, char *str, size_t len)
{
	redisReply *rep;

	/* NULL makes hiredis fail the read; cap.over tells us it was the cap. */
	if (!cap_take(t, len, 0))
		return NULL;
	rep = reply_new(t, t->type);
	rep->str = xmemdup(str, len);
	rep->len = len;
	return rep;
}

static void *reply_array(const redisReadTask *t, int elements)
{
	redisReply *rep;

	if (elements < 0 || !cap_take(t, 0, (size_t)elements))
		return NULL;
	rep = reply_new(t, REDIS_REPLY_ARRAY);
	if (elements > 0)
		rep->element = xcalloc((size_t)elements, sizeof(*rep->element));
	rep->elements = (size_t)elements;
	return rep;
}

static void *reply_integer(const redisReadTask *t, long long value)
{
	redisReply *rep = reply_new(t, REDIS_REPLY_INTEGER);

	rep->integer = value;
	return rep;
}

static void *reply_nil(const redisReadTask *t)
{
	return reply_new(t, REDIS_REPLY_NIL);
}

static redisReplyObjectFunctions capped_reply_functions = {
	.createString = reply_string,
	.createArray = reply_array,
	.createInteger = reply_integer,
	.createNil = reply_nil,
	.freeObject = freeReplyObject,
};

/* URL parsing. Messages never quote the URL: it may hold the password. */

static int parse_uint(const char *s, size_t len, long long max, long long *out)
{
	long long v = 0;

	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
		if (v > max)
			return -1;
	}
	*out = v;
	return 0;
}

/* Percent-decodes s[0..len) into out (NUL-terminated); refuses %00 and bad escapes. */
static int percent_decode(const char *s, size_t len, char *out, size_t outsz)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			int hi = i + 2 < len ? codec_hex_digit(s[i + 1]) : -1;
			int lo = hi >= 0 ? codec_hex_digit(s[i + 2]) : -1;

			if (hi < 0 || lo < 0 || (hi | lo) == 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		}
		if (o + 1 >= outsz)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

static bool host_char_ok(char c, bool bracketed)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	if (c == '.' || c == '-')
		return true;
	return bracketed ? c == ':' || c == '%' : c == '_';
}

/* host[:port] or [v6]:port, already cut from the authority. */
static int parse_hostport(struct rds *r, const char *s, size_t len, struct err *e)
{
	const char *host = s, *port = NULL;
	size_t hlen = len, plen = 0;
	bool br = len > 0 && s[0] == '[';
	long long v = RDS_DEFAULT_PORT;

	if (br) {
		const char *end = memchr(s, ']', len);

		if (end == NULL)
			return err_set(e, ERR_INVALID, "redis url: unterminated [ in host");
		host = s + 1;
		hlen = (size_t)(end - host);
		if (end + 1 < s + len && end[1] != ':')
			return err_set(e, ERR_INVALID, "redis url: junk after ]");
		port = end + 1 < s + len ? end + 2 : NULL;
	} else {
		const char *colon = memchr(s, ':', len);

		hlen = colon != NULL ? (size_t)(colon - s) : len;
		port = colon != NULL ? colon + 1 : NULL;
	}
	if (port != NULL)
		plen = (size_t)(s + len - port);
	if (hlen == 0 || hlen >= sizeof(r->host))
		return err_set(e, ERR_INVALID, "redis url: missing or overlong host");
	for (size_t i = 0; i < hlen; i++)
		if (!host_char_ok(host[i], br))
			return err_set(e, ERR_INVALID, "redis url: bad character in host");
	if (port != NULL && (parse_uint(port, plen, 65535, &v) != 0 || v == 0))
		return err_set(e, ERR_INVALID, "redis url: port must be 1-65535");
	memcpy(r->host, host, hlen);
	r->host[hlen] = '\0';
	r->port = (int)v;
	snprintf(r->where, sizeof(r->where), br ? "[%s]:%d" : "%s:%d", r->host, r->port);
	return 0;
}

/* After "redis://": [:password@]host[:port][/db] */
static int parse_tcp(struct rds *r, const char *s, struct err *e)
{
	size_t alen = strcspn(s, "/");
	const char *at = memrchr(s, '@', alen);
	const char *hp = s;
	long long db = 0;

	if (at != NULL) {
		if (s[0] != ':')
			return err_set(e, ERR_INVALID,
				       "redis url: userinfo must be :password (no user name)");
		if (at == s + 1 || percent_decode(s + 1, (size_t)(at - s - 1), r->password,
						  sizeof(r->password)) != 0)
			return err_set(e, ERR_INVALID, "redis url: bad password encoding");
		hp = at + 1;
	}
	if (strpbrk(s, "?#") != NULL)
		return err_set(e, ERR_INVALID, "redis url: query and fragment are not supported");
	if (parse_hostport(r, hp, (size_t)(s + alen - hp), e) != 0)
		return -1;
	if (s[alen] == '/' && s[alen + 1] != '\0' &&
	    parse_uint(s + alen + 1, strlen(s + alen + 1), INT_MAX, &db) != 0)
		return err_set(e, ERR_INVALID, "redis url: db must be a number");
	r->db = (int)db;
	return 0;
}

/* After "unix://": /abs/path[?db=N] */
static int parse_unix(struct rds *r, const char *s, struct err *e)
{
	size_t plen = strcspn(s, "?");
	long long db = 0;

	if (s[0] != '/' || plen < 2)
		return err_set(e, ERR_INVALID, "redis url: unix socket path must be absolute");
	if (plen >= sizeof(r->path))
		return err_set(e, ERR_TOO_LARGE, "redis url: socket path over %zu bytes",
			       sizeof(r->path) - 1);
	if (s[plen] == '?' && (strncmp(s + plen + 1, "db=", 3) != 0 ||
			       parse_uint(s + plen + 4, strlen(s + plen + 4), INT_MAX, &db) != 0))
		return err_set(e, ERR_INVALID, "redis url: the only query is ?db=N");
	memcpy(r->path, s, plen);
	r->path[plen] = '\0';
	r->db = (int)db;
	r->is_unix = true;
	snprintf(r->where, sizeof(r->where), "%s", r->path);
	return 0;
}

static int parse_url(struct rds *r, const char *url, struct err *e)
{
	static const char tcp[] = "redis://", unx[] = "unix://";

	if (url == NULL || url[0] == '\0')
		return err_set(e, ERR_INVALID, "redis url: empty");
	if (strnlen(url, RDS_MAX_URL_BYTES + 1) > RDS_MAX_URL_BYTES)
		return err_set(e, ERR_TOO_LARGE, "redis url: over %d bytes", RDS_MAX_URL_BYTES);
	if (strncasecmp(url, tcp, sizeof(tcp) - 1) == 0)
		return parse_tcp(r, url + sizeof(tcp) - 1, e);
	if (strncasecmp(url, unx, sizeof(unx) - 1) == 0)
		return parse_unix(r, url + sizeof(unx) - 1, e);
	return err_set(e, ERR_INVALID, "redis url: scheme must be redis:// or unix://");
}

/* Low-level I/O against a deadline on the monotonic clock. */

static int ms_left(int64_t deadline)
{
	int64_t left = deadline - time_mono_ms();

	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/* 1 when fd is ready (or in error: the next call reports it), 0 at the deadline, -1 on error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		int left = ms_left(deadline);
		int n = poll(&p, 1, left);

		if (n > 0)
			return 1;
		if (n == 0 && left == 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

static enum io_result send_all(struct rds *r, const char *buf, size_t len, int64_t deadline,
			       struct err *e)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(r->ctx->fd, buf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		int w;

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			w = wait_fd(r->ctx->fd, POLLOUT, deadline);
			if (w == 0)
				return IO_TIMEOUT;
			if (w > 0)
				continue;
		}
		err_set(e, ERR_IO, "redis %s: send: %s", r->where, strerror(errno));
		return off == 0 ? IO_UNSENT : IO_CONN;
	}
	return IO_OK;
}

static size_t unparsed_bytes(const redisContext *c)
{
	return c->reader->len - c->reader->pos;
}

/* Reads one whole reply. The cap counters restart only between replies, so a reply split
 * across two subscriber waits is still counted as one. */
static enum io_result read_reply(struct rds *r, int64_t deadline, redisReply **out, struct err *e)
{
	redisContext *c = r->ctx;
	void *rep = NULL;

	if (c->reader->ridx == -1)
		r->cap = (struct rds_cap){0};
	for (;;) {
		if (redisGetReplyFromReader(c, &rep) != REDIS_OK) {
			if (r->cap.over)
				break;
			err_set(e, ERR_IO, "redis %s: %s", r->where, c->errstr);
			return IO_CONN;
		}
		if (rep != NULL) {
			*out = rep;
			return IO_OK;
		}
		if (unparsed_bytes(c) > RDS_MAX_REPLY_WIRE_BYTES)
			break;
		switch (wait_fd(c->fd, POLLIN, deadline)) {
		case 0:
			return IO_TIMEOUT;
		case -1:
			err_set(e, ERR_IO, "redis %s: poll: %s", r->where, strerror(errno));
			return IO_CONN;
		}
		if (redisBufferRead(c) != REDIS_OK) {
			err_set(e, ERR_IO, "redis %s: %s", r->where, c->errstr);
			return IO_CONN;
		}
	}
	err_set(e, ERR_TOO_LARGE, "redis %s: reply over %d bytes or %d elements", r->where,
		RDS_MAX_REPLY_BYTES, RDS_MAX_REPLY_ELEMENTS);
	return IO_TOO_LARGE;
}

static enum io_result roundtrip(struct rds *r, const char *cmd, size_t len, int64_t deadline,
				redisReply **out, struct err *e)
{
	enum io_result rc = send_all(r, cmd, len, deadline, e);

	if (rc != IO_OK)
		return rc;
	return read_reply(r, deadline, out, e);
}

static void drop_conn(struct rds *r)
{
	if (r->ctx != NULL)
		redisFree(r->ctx);
	r->ctx = NULL;
}

/* Between commands nothing should be readable: data, EOF or an error means the server went
 * away (or broke protocol) while we were idle, and the command must go to a new connection. */
static bool idle_conn_broken(struct rds *r)
{
	struct pollfd p = {.fd = r->ctx->fd, .events = POLLIN};

	return r->ctx->err != 0 || poll(&p, 1, 0) != 0;
}

/* Connection set-up. */

static struct timeval ms_to_tv(int ms)
{
	return (struct timeval){.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
}

/* An argv always formats, so hiredis can only fail here for lack of memory. */
static size_t format_argv(char **cmd, int argc, const char **argv, const size_t *argvlen)
{
	int len = redisFormatCommandArgv(cmd, argc, argv, argvlen);

	if (len < 0)
		abort();
	return (size_t)len;
}

static int setup_command(struct rds *r, int argc, const char **argv, const char *what,
			 struct err *e)
{
	int64_t deadline = time_mono_ms() + r->command_timeout_ms;
	redisReply *rep = NULL;
	char *cmd = NULL;
	size_t len = format_argv(&cmd, argc, argv, NULL);
	int rc = -1;

	if (roundtrip(r, cmd, len, deadline, &rep, e) != IO_OK) {
		err_set(e, ERR_UNAVAILABLE, "redis %s: no reply to %s", r->where, what);
		goto out;
	}
	/* The server's text is left out: for AUTH it is not ours to vouch for. */
	if (rep->type == REDIS_REPLY_ERROR) {
		err_set(e, ERR_UNAVAILABLE, "redis %s: %s refused", r->where, what);
		goto out;
	}
	rc = 0;
out:
	if (rep != NULL)
		freeReplyObject(rep);
	redisFreeCommand(cmd);
	return rc;
}

static int open_context(struct rds *r, struct err *e)
{
	struct timeval ctv = ms_to_tv(r->connect_timeout_ms);
	redisContext *c = NULL;
	int flags;

	if (r->is_unix)
		c = redisConnectUnixWithTimeout(r->path, ctv);
	else
		c = redisConnectWithTimeout(r->host, r->port, ctv);
	if (c == NULL)
		return err_set(e, ERR_UNAVAILABLE, "redis %s: cannot allocate a context", r->where);
	if (c->err) {
		err_set(e, ERR_UNAVAILABLE, "redis %s: connect: %s", r->where, c->errstr);
		redisFree(c);
		return -1;
	}
	/* Every wait is a poll() against the command's deadline, so no read or write may block:
	 * without REDIS_BLOCK, hiredis treats EAGAIN as "nothing yet" instead of an error. We
	 * never call the hiredis functions that loop on REDIS_BLOCK. */
	flags = fcntl(c->fd, F_GETFL);
	if (flags < 0 || fcntl(c->fd, F_SETFL, flags | O_NONBLOCK) != 0) {
		err_set(e, ERR_UNAVAILABLE, "redis %s: fcntl: %s", r->where, strerror(errno));
		redisFree(c);
		return -1;
	}
	c->flags &= ~REDIS_BLOCK;
	/* Keepalive only speeds up noticing a dead TCP peer; failing to enable it is harmless. */
	if (!r->is_unix)
		(void)redisEnableKeepAlive(c);
	c->reader->fn = &capped_reply_functions;
	c->reader->privdata = &r->cap;
	r->ctx = c;
	return 0;
}

static int connect_conn(struct rds *r, struct err *e)
{
	char db[RDS_NUM_MAX];

	if (open_context(r, e) != 0)
		return -1;
	if (r->password[0] != '\0' &&
	    setup_command(r, 2, (const char *[]){"AUTH", r->password}, "AUTH", e) != 0)
		goto fail;
	snprintf(db, sizeof(db), "%d", r->db);
	if (r->db != 0 && setup_command(r, 2, (const char *[]){"SELECT", db}, "SELECT", e) != 0)
		goto fail;
	return 0;
fail:
	drop_conn(r);
	return -1;
}

/* Commands: one deadline, at most one reconnect and one resend. */

static redisReply *check_reply(struct rds *r, redisReply *rep, struct err *e)
{
	if (rep->type != REDIS_REPLY_ERROR)
		return rep;
	err_set(e, ERR_IO, "redis %s: %.*s", r->where, (int)rep->len, rep->str);
	freeReplyObject(rep);
	return NULL;
}

/* *resent (may be NULL) tells the caller the command went out twice. */
static redisReply *run(struct rds *r, bool retry, const char *cmd, size_t len, int extra_ms,
		       bool *resent, struct err *e)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		redisReply *rep = NULL;
		int64_t deadline;
		enum io_result rc;

		if (r->ctx != NULL && idle_conn_broken(r))
			drop_conn(r);
		if (r->ctx == NULL && connect_conn(r, e) != 0)
			return NULL;
		deadline = time_mono_ms() + r->command_timeout_ms + (int64_t)extra_ms;
		rc = roundtrip(r, cmd, len, deadline, &rep, e);
		if (rc == IO_OK)
			return check_reply(r, rep, e);
		drop_conn(r);
		if (rc == IO_TIMEOUT) {
			err_set(e, ERR_TIMEOUT, "redis %s: no reply within %lld ms", r->where,
				(long long)r->command_timeout_ms + extra_ms);
			return NULL;
		}
		if (rc == IO_TOO_LARGE || (rc == IO_CONN && !retry))
			return NULL;
		if (attempt == 0 && rc == IO_CONN && resent != NULL)
			*resent = true;
	}
	return NULL;
}

static redisReply *run_argv(struct rds *r, bool retry, int argc, const char **argv,
			    const size_t *argvlen, int extra_ms, bool *resent, struct err *e)
{
	char *cmd = NULL;
	size_t len = format_argv(&cmd, argc, argv, argvlen);
	redisReply *rep = run(r, retry, cmd, len, extra_ms, resent, e);

	redisFreeCommand(cmd);
	return rep;
}

static int expect_type(struct rds *r, const redisReply *rep, int type, const char *what,
		       struct err *e)
{
	if (rep->type == type)
		return 0;
	return err_set(e, ERR_IO, "redis %s: unexpected reply type %d to %s", r->where, rep->type,
		       what);
}

static int check_name(const char *what, const char *s, struct err *e)
{
	if (s == NULL || s[0] == '\0')
		return err_set(e, ERR_INVALID, "redis: empty %s", what);
	if (strnlen(s, RDS_MAX_KEY_BYTES + 1) > RDS_MAX_KEY_BYTES)
		return err_set(e, ERR_TOO_LARGE, "redis: %s over %d bytes", what,
			       RDS_MAX_KEY_BYTES);
	return 0;
}

int rds_open(const struct rds_opts *o, struct rds **out, struct err *e)
{
	struct rds *r = NULL;

	*out = NULL;
	if (o == NULL)
		return err_set(e, ERR_INVALID, "redis: no options");
	r = xcalloc(1, sizeof(*r));
	r->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms
							  : RDS_DEFAULT_CONNECT_TIMEOUT_MS;
	r->command_timeout_ms = o->command_timeout_ms > 0 ? o->command_timeout_ms
							  : RDS_DEFAULT_COMMAND_TIMEOUT_MS;
	if (parse_url(r, o->url, e) != 0 || connect_conn(r, e) != 0)
		goto err;
	*out = r;
	return 0;
err:
	rds_close(r);
	return -1;
}

void rds_close(struct rds *r)
{
	if (r == NULL)
		return;
	drop_conn(r);
	explicit_bzero(r->password, sizeof(r->password));
	free(r);
}

redisReply *rds_commandv(struct rds *r, bool retry, int argc, const char **argv,
			 const size_t *argvlen, struct err *e)
{
	if (argc < 1 || argv == NULL) {
		err_set(e, ERR_INVALID, "redis: empty command");
		return NULL;
	}
	return run_argv(r, retry, argc, argv, argvlen, 0, NULL, e);
}

redisReply *rds_command(struct rds *r, struct err *e, const char *fmt, ...)
{
	redisReply *rep = NULL;
	char *cmd = NULL;
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = redisvFormatCommand(&cmd, fmt, ap);
	va_end(ap);
	if (len < 0) {
		err_set(e, ERR_INVALID, "redis: cannot format the command");
		return NULL;
	}
	rep = run(r, true, cmd, (size_t)len, 0, NULL, e);
	redisFreeCommand(cmd);
	return rep;
}

int rds_ping(struct rds *r, struct err *e)
{
	redisReply *rep = run_argv(r, true, 1, (const char *[]){"PING"}, NULL, 0, NULL, e);
	int rc = -1;

	if (rep == NULL)
		return -1;
	if (expect_type(r, rep, REDIS_REPLY_STATUS, "PING", e) == 0)
		rc = 0;
	freeReplyObject(rep);
	return rc;
}

/* Streams. */

/* "<ms>-<seq>" or "<ms>"; `dollar` also allows "$" (XREAD's "only new entries"). */
static int check_id(const char *id, bool dollar, struct err *e)
{
	size_t ms, len;

	if (id == NULL)
		return err_set(e, ERR_INVALID, "redis: missing stream id");
	if (dollar && strcmp(id, "$") == 0)
		return 0;
	len = strnlen(id, RDS_ID_MAX);
	ms = strspn(id, "0123456789");
	if (len >= RDS_ID_MAX || ms == 0 ||
	    (id[ms] != '\0' && (id[ms] != '-' || id[ms + 1] == '\0' ||
				strspn(id + ms + 1, "0123456789") != len - ms - 1)))
		return err_set(e, ERR_INVALID, "redis: malformed stream id");
	return 0;
}

static size_t fields_bytes(const struct rds_field *fields, size_t nfields)
{
	size_t total = 0;

	for (size_t i = 0; i < nfields; i++)
		total += strlen(fields[i].name) + fields[i].value_len;
	return total;
}

static int check_fields(const struct rds_field *fields, size_t nfields, struct err *e)
{
	if (nfields == 0 || fields == NULL)
		return err_set(e, ERR_INVALID, "redis: XADD needs at least one field");
	if (nfields > RDS_MAX_STREAM_FIELDS)
		return err_set(e, ERR_TOO_LARGE, "redis: XADD over %d fields",
			       RDS_MAX_STREAM_FIELDS);
	for (size_t i = 0; i < nfields; i++)
		if (fields[i].name == NULL || fields[i].name[0] == '\0' ||
		    (fields[i].value == NULL && fields[i].value_len != 0))
			return err_set(e, ERR_INVALID, "redis: XADD field %zu is incomplete", i);
	/* An entry no reader could fetch must not be written. */
	if (fields_bytes(fields, nfields) > RDS_MAX_REPLY_BYTES)
		return err_set(e, ERR_TOO_LARGE, "redis: XADD entry over %d bytes",
			       RDS_MAX_REPLY_BYTES);
	return 0;
}

int rds_xadd(struct rds *r, const char *key, size_t maxlen, const struct rds_field *fields,
	     size_t nfields, char *id_out, size_t id_outsz, struct err *e)
{
	const char *argv[6 + 2 * RDS_MAX_STREAM_FIELDS];
	size_t lens[6 + 2 * RDS_MAX_STREAM_FIELDS];
	char maxbuf[RDS_NUM_MAX];
	redisReply *rep = NULL;
	int argc = 0, rc = -1;

	if (check_name("stream key", key, e) != 0 || check_fields(fields, nfields, e) != 0)
		return -1;
	snprintf(maxbuf, sizeof(maxbuf), "%zu", maxlen);
	argv[argc++] = "XADD";
	argv[argc++] = key;
	if (maxlen > 0) {
		argv[argc++] = "MAXLEN";
		argv[argc++] = "~";
		argv[argc++] = maxbuf;
	}
	argv[argc++] = "*";
	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	for (size_t i = 0; i < nfields; i++) {
		argv[argc] = fields[i].name;
		lens[argc++] = strlen(fields[i].name);
		argv[argc] = fields[i].value != NULL ? fields[i].value : "";
		lens[argc++] = fields[i].value_len;
	}
	/* Not resent: after an unknown outcome a second XADD could duplicate the entry. */
	rep = run_argv(r, false, argc, argv, lens, 0, NULL, e);
	if (rep == NULL || expect_type(r, rep, REDIS_REPLY_STRING, "XADD", e) != 0)
		goto out;
	if (id_out != NULL && rep->len >= id_outsz) {
		err_set(e, ERR_INVALID, "redis: entry id buffer too small");
		goto out;
	}
	if (id_out != NULL)
		memcpy(id_out, rep->str, rep->len + 1);
	rc = 0;
out:
	if (rep != NULL)
		freeReplyObject(rep);
	return rc;
}

/* [id, [name, value, ...]]; a nil field list (an entry deleted under a reader) is empty. */
static int parse_entry(const redisReply *rep, struct rds_entry *out, struct err *e)
{
	const redisReply *id, *kv;

	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2)
		return err_set(e, ERR_IO, "redis: malformed stream entry");
	id = rep->element[0];
	kv = rep->element[1];
	if (id->type != REDIS_REPLY_STRING || id->len >= sizeof(out->id))
		return err_set(e, ERR_IO, "redis: malformed stream entry id");
	memcpy(out->id, id->str, id->len + 1);
	if (kv->type == REDIS_REPLY_NIL)
		return 0;
	if (kv->type != REDIS_REPLY_ARRAY || kv->elements % 2 != 0)
		return err_set(e, ERR_IO, "redis: malformed stream entry fields");
	if (kv->elements / 2 > RDS_MAX_STREAM_FIELDS)
		return err_set(e, ERR_TOO_LARGE, "redis: stream entry over %d fields",
			       RDS_MAX_STREAM_FIELDS);
	out->fields = xcalloc(kv->elements / 2, sizeof(*out->fields));
	out->nfields = kv->elements / 2;
	for (size_t i = 0; i < out->nfields; i++) {
		const redisReply *n = kv->element[2 * i], *v = kv->element[2 * i + 1];

		if (n->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			return err_set(e, ERR_IO, "redis: malformed stream entry field");
		out->fields[i].name = xmemdup(n->str, n->len);
		out->fields[i].value = xmemdup(v->str, v->len);
		out->fields[i].value_len = v->len;
	}
	return 0;
}

static int parse_entries(const redisReply *arr, struct rds_entry **entries, size_t *n,
			 struct err *e)
{
	struct rds_entry *list = NULL;

	if (arr->type != REDIS_REPLY_ARRAY)
		return err_set(e, ERR_IO, "redis: stream entries are not an array");
	if (arr->elements == 0)
		return 0;
	list = xcalloc(arr->elements, sizeof(*list));
	for (size_t i = 0; i < arr->elements; i++) {
		if (parse_entry(arr->element[i], &list[i], e) != 0) {
			rds_entries_free(list, arr->elements);
			return -1;
		}
	}
	*entries = list;
	*n = arr->elements;
	return 0;
}

/* XREAD answers nil on timeout, else [[key, entries]] for our one key. */
static int parse_xread(const redisReply *rep, struct rds_entry **entries, size_t *n, struct err *e)
{
	const redisReply *stream;

	if (rep->type == REDIS_REPLY_NIL)
		return 0;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 1)
		return err_set(e, ERR_IO, "redis: malformed XREAD reply");
	stream = rep->element[0];
	if (stream->type != REDIS_REPLY_ARRAY || stream->elements != 2)
		return err_set(e, ERR_IO, "redis: malformed XREAD stream");
	return parse_entries(stream->element[1], entries, n, e);
}

int rds_xread(struct rds *r, const char *key, const char *after_id, int block_ms, size_t count,
	      struct rds_entry **entries, size_t *n, struct err *e)
{
	const char *argv[8];
	char blockbuf[RDS_NUM_MAX], countbuf[RDS_NUM_MAX];
	redisReply *rep = NULL;
	int argc = 0, rc;

	*entries = NULL;
	*n = 0;
	if (check_name("stream key", key, e) != 0 || check_id(after_id, true, e) != 0)
		return -1;
	argv[argc++] = "XREAD";
	/* BLOCK 0 would wait forever in Redis; here 0 means "do not wait". */
	if (block_ms > 0) {
		snprintf(blockbuf, sizeof(blockbuf), "%d", block_ms);
		argv[argc++] = "BLOCK";
		argv[argc++] = blockbuf;
	}
	if (count > 0) {
		snprintf(countbuf, sizeof(countbuf), "%zu", count);
		argv[argc++] = "COUNT";
		argv[argc++] = countbuf;
	}
	argv[argc++] = "STREAMS";
	argv[argc++] = key;
	argv[argc++] = after_id;
	rep = run_argv(r, true, argc, argv, NULL, block_ms > 0 ? block_ms : 0, NULL, e);
	if (rep == NULL)
		return -1;
	rc = parse_xread(rep, entries, n, e);
	freeReplyObject(rep);
	return rc;
}

int rds_xrange_after(struct rds *r, const char *key, const char *after_id, size_t count,
		     struct rds_entry **entries, size_t *n, struct err *e)
{
	const char *argv[6] = {"XRANGE", key, NULL, "+"};
	char start[RDS_ID_MAX + 1], countbuf[RDS_NUM_MAX];
	redisReply *rep = NULL;
	int argc = 4, rc;

	*entries = NULL;
	*n = 0;
	if (check_name("stream key", key, e) != 0 || check_id(after_id, false, e) != 0)
		return -1;
	/* "(" makes the start exclusive (Redis >= 6.2); "0" is "from the beginning". */
	if (strcmp(after_id, "0") == 0)
		snprintf(start, sizeof(start), "-");
	else
		snprintf(start, sizeof(start), "(%s", after_id);
	argv[2] = start;
	if (count > 0) {
		snprintf(countbuf, sizeof(countbuf), "%zu", count);
		argv[argc++] = "COUNT";
		argv[argc++] = countbuf;
	}
	rep = run_argv(r, true, argc, argv, NULL, 0, NULL, e);
	if (rep == NULL)
		return -1;
	rc = parse_entries(rep, entries, n, e);
	freeReplyObject(rep);
	return rc;
}

void rds_entries_free(struct rds_entry *entries, size_t n)
{
	if (entries == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < entries[i].nfields; j++) {
			free(entries[i].fields[j].name);
			free(entries[i].fields[j].value);
		}
		free(entries[i].fields);
	}
	free(entries);
}

/* Runs a command whose reply must be an integer; stores it in *value when not NULL. */
static int run_integer(struct rds *r, bool retry, int argc, const char **argv,
		       const size_t *argvlen, long long *value, struct err *e)
{
	redisReply *rep = run_argv(r, retry, argc, argv, argvlen, 0, NULL, e);
	int rc = -1;

	if (rep == NULL)
		return -1;
	if (expect_type(r, rep, REDIS_REPLY_INTEGER, argv[0], e) == 0) {
		if (value != NULL)
			*value = rep->integer;
		rc = 0;
	}
	freeReplyObject(rep);
	return rc;
}

int rds_expire(struct rds *r, const char *key, long long seconds, struct err *e)
{
	char secbuf[RDS_NUM_MAX];

	if (check_name("key", key, e) != 0)
		return -1;
	/* EXPIRE with 0 or less deletes the key, which is rds_del's job. */
	if (seconds <= 0)
		return err_set(e, ERR_INVALID, "redis: expiry must be positive");
	snprintf(secbuf, sizeof(secbuf), "%lld", seconds);
	return run_integer(r, true, 3, (const char *[]){"EXPIRE", key, secbuf}, NULL, NULL, e);
}

int rds_del(struct rds *r, const char *key, struct err *e)
{
	if (check_name("key", key, e) != 0)
		return -1;
	return run_integer(r, true, 2, (const char *[]){"DEL", key}, NULL, NULL, e);
}

int rds_publish(struct rds *r, const char *channel, const char *msg, size_t len,
		long long *receivers, struct err *e)
{
	const char *argv[] = {"PUBLISH", channel, msg != NULL ? msg : ""};
	size_t lens[3];

	if (check_name("channel", channel, e) != 0)
		return -1;
	if (msg == NULL && len != 0)
		return err_set(e, ERR_INVALID, "redis: PUBLISH without a message");
	/* Our own subscribers would refuse it. */
	if (len > RDS_MAX_REPLY_BYTES)
		return err_set(e, ERR_TOO_LARGE, "redis: message over %d bytes",
			       RDS_MAX_REPLY_BYTES);
	lens[0] = strlen(argv[0]);
	lens[1] = strlen(channel);
	lens[2] = len;
	/* Not resent: subscribers would see the message twice. */
	return run_integer(r, false, 3, argv, lens, receivers, e);
}

/* Locks and counters. */

static int check_lock(const char *key, const char *token, struct err *e)
{
	if (check_name("lock key", key, e) != 0 || check_name("lock token", token, e) != 0)
		return -1;
	return 0;
}

/* After a resend whose first copy may have taken the lock, the lock is ours iff it holds our
 * token. */
static int lock_holds_token(struct rds *r, const char *key, const char *token, bool *held,
			    struct err *e)
{
	redisReply *rep = run_argv(r, true, 2, (const char *[]){"GET", key}, NULL, 0, NULL, e);

	if (rep == NULL)
		return -1;
	*held = rep->type == REDIS_REPLY_STRING && rep->len == strlen(token) &&
		memcmp(rep->str, token, rep->len) == 0;
	freeReplyObject(rep);
	return 0;
}

int rds_lock_acquire(struct rds *r, const char *key, const char *token, long long ttl_ms,
		     bool *acquired, struct err *e)
{
	char ttlbuf[RDS_NUM_MAX];
	redisReply *rep = NULL;
	bool resent = false;
	int rc = -1;

	*acquired = false;
	if (check_lock(key, token, e) != 0)
		return -1;
	if (ttl_ms <= 0)
		return err_set(e, ERR_INVALID, "redis: lock ttl must be positive");
	snprintf(ttlbuf, sizeof(ttlbuf), "%lld", ttl_ms);
	rep = run_argv(r, true, 6, (const char *[]){"SET", key, token, "NX", "PX", ttlbuf}, NULL, 0,
		       &resent, e);
	if (rep == NULL)
		return -1;
	if (rep->type == REDIS_REPLY_STATUS) {
		*acquired = true;
		rc = 0;
	} else if (rep->type == REDIS_REPLY_NIL) {
		rc = resent ? lock_holds_token(r, key, token, acquired, e) : 0;
	} else {
		rc = expect_type(r, rep, REDIS_REPLY_STATUS, "SET NX", e);
	}
	freeReplyObject(rep);
	return rc;
}

int rds_lock_release(struct rds *r, const char *key, const char *token, bool *released,
		     struct err *e)
{
	long long n = 0;

	*released = false;
	if (check_lock(key, token, e) != 0)
		return -1;
	/* Safe to resend: the script only deletes our own token. */
	if (run_integer(r, true, 5, (const char *[]){"EVAL", lock_release_lua, "1", key, token},
			NULL, &n, e) != 0)
		return -1;
	*released = n == 1;
	return 0;
}

int rds_counter_incr(struct rds *r, const char *key, long long window_s, long long *value,
		     struct err *e)
{
	char winbuf[RDS_NUM_MAX];

	if (check_name("counter key", key, e) != 0)
		return -1;
	if (window_s <= 0)
		return err_set(e, ERR_INVALID, "redis: counter window must be positive");
	snprintf(winbuf, sizeof(winbuf), "%lld", window_s);
	/* Not resent: a second INCR after an unknown outcome would count one event twice. */
	return run_integer(r, false, 5,
			   (const char *[]){"EVAL", counter_incr_lua, "1", key, winbuf}, NULL,
			   value, e);
}

/* Pub/sub. */

static int sub_io_failed(struct rds *r, enum io_result io, struct err *e)
{
	/* The I/O helpers leave the message to the caller only for a timeout. */
	if (io == IO_TIMEOUT)
		err_set(e, ERR_TIMEOUT, "redis %s: no reply to SUBSCRIBE within %d ms", r->where,
			r->command_timeout_ms);
	return -1;
}

static int sub_confirmed(struct rds *r, int64_t deadline, struct err *e)
{
	redisReply *rep = NULL;
	enum io_result io = read_reply(r, deadline, &rep, e);
	bool ok;

	if (io != IO_OK)
		return sub_io_failed(r, io, e);
	ok = rep->type == REDIS_REPLY_ARRAY && rep->elements == 3 &&
	     rep->element[0]->type == REDIS_REPLY_STRING &&
	     strcmp(rep->element[0]->str, "subscribe") == 0;
	freeReplyObject(rep);
	if (!ok)
		return err_set(e, ERR_IO, "redis %s: SUBSCRIBE refused", r->where);
	return 0;
}

/* SUBSCRIBE answers one confirmation per channel, all written before any message, so once
 * they are read every later publish reaches us. */
static int sub_send(struct rds_sub *s, struct err *e)
{
	struct rds *r = s->conn;
	const char *argv[1 + RDS_MAX_SUB_CHANNELS] = {"SUBSCRIBE"};
	int64_t deadline = time_mono_ms() + r->command_timeout_ms;
	enum io_result io;
	char *cmd = NULL;
	size_t len;
	int rc = -1;

	for (size_t i = 0; i < s->nchannels; i++)
		argv[i + 1] = s->channels[i];
	len = format_argv(&cmd, (int)s->nchannels + 1, argv, NULL);
	io = send_all(r, cmd, len, deadline, e);
	if (io != IO_OK) {
		sub_io_failed(r, io, e);
		goto out;
	}
	for (size_t i = 0; i < s->nchannels; i++)
		if (sub_confirmed(r, deadline, e) != 0)
			goto out;
	rc = 0;
out:
	redisFreeCommand(cmd);
	if (rc != 0)
		drop_conn(r);
	return rc;
}

static int sub_connect(struct rds_sub *s, struct err *e)
{
	if (connect_conn(s->conn, e) != 0)
		return -1;
	return sub_send(s, e);
}

/* Retries until the deadline: a restarting server should cost a subscriber a pause, not an
 * error. */
static int sub_reconnect(struct rds_sub *s, int64_t deadline, struct err *e)
{
	int backoff = RDS_SUB_BACKOFF_MIN_MS;

	for (;;) {
		int left;

		if (sub_connect(s, e) == 0)
			return 0;
		left = ms_left(deadline);
		if (left == 0)
			return -1;
		/* poll() with no fds is a sleep that cannot fail for lack of resources. */
		(void)poll(NULL, 0, left < backoff ? left : backoff);
		backoff = backoff * 2 > RDS_SUB_BACKOFF_MAX_MS ? RDS_SUB_BACKOFF_MAX_MS
							       : backoff * 2;
	}
}

int rds_subscribe(const struct rds_opts *o, const char *const *channels, size_t nchannels,
		  struct rds_sub **out, struct err *e)
{
	struct rds_sub *s = NULL;

	*out = NULL;
	if (nchannels == 0 || channels == NULL)
		return err_set(e, ERR_INVALID, "redis: SUBSCRIBE needs a channel");
	if (nchannels > RDS_MAX_SUB_CHANNELS)
		return err_set(e, ERR_TOO_LARGE, "redis: over %d channels", RDS_MAX_SUB_CHANNELS);
	for (size_t i = 0; i < nchannels; i++)
		if (check_name("channel", channels[i], e) != 0)
			return -1;
	s = xcalloc(1, sizeof(*s));
	if (rds_open(o, &s->conn, e) != 0)
		goto err;
	s->channels = xcalloc(nchannels, sizeof(*s->channels));
	s->nchannels = nchannels;
	for (size_t i = 0; i < nchannels; i++)
		s->channels[i] = xmemdup(channels[i], strlen(channels[i]));
	if (sub_send(s, e) != 0)
		goto err;
	*out = s;
	return 0;
err:
	rds_sub_close(s);
	return -1;
}

/* 1 and the outputs for a "message" push, 0 for anything else (confirmations, pongs). */
static int sub_message(const redisReply *rep, char **channel, char **msg, size_t *len)
{
	const redisReply *kind, *ch, *payload;

	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3)
		return 0;
	kind = rep->element[0];
	ch = rep->element[1];
	payload = rep->element[2];
	if (kind->type != REDIS_REPLY_STRING || strcmp(kind->str, "message") != 0 ||
	    ch->type != REDIS_REPLY_STRING || payload->type != REDIS_REPLY_STRING)
		return 0;
	*channel = xmemdup(ch->str, ch->len);
	*msg = xmemdup(payload->str, payload->len);
	*len = payload->len;
	return 1;
}

int rds_sub_next(struct rds_sub *s, int timeout_ms, char **channel, char **msg, size_t *len,
		 struct err *e)
{
	int64_t deadline = time_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);

	*channel = NULL;
	*msg = NULL;
	*len = 0;
	for (;;) {
		redisReply *rep = NULL;
		enum io_result rc;
		int got;

		if (s->conn->ctx == NULL && sub_reconnect(s, deadline, e) != 0)
			return -1;
		rc = read_reply(s->conn, deadline, &rep, e);
		if (rc == IO_TIMEOUT)
			return 0;
		if (rc != IO_OK) {
			drop_conn(s->conn);
			/* A server that accepts and hangs up must not spin us past the deadline. */
			if (rc == IO_TOO_LARGE || ms_left(deadline) == 0)
				return -1;
			continue;
		}
		got = sub_message(rep, channel, msg, len);
		freeReplyObject(rep);
		if (got)
			return 1;
	}
}

void rds_sub_close(struct rds_sub *s)
{
	if (s == NULL)
		return;
	rds_close(s->conn);
	for (size_t i = 0; i < s->nchannels; i++)
		free(s->channels[i]);
	free(s->channels);
	free(s);
}
