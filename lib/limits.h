/* Every quantity a client or a peer controls has its ceiling here, and only here.
 *
 * Included as "lib/limits.h" (never with -Ilib) so it cannot shadow the system <limits.h>.
 * Later modules add their limits to this file rather than defining them locally. */
#ifndef SECOND_LIMITS_H
#define SECOND_LIMITS_H

/* Errors and logs */
#define ERR_MSG_MAX 256       /* bytes of an error message, NUL included */
#define LOG_LINE_MAX 2048     /* bytes of one formatted log message before escaping */
#define LOG_REQUEST_ID_MAX 64 /* bytes of a request id carried in logs */
#define LOG_PREFIX_MAX 512    /* bytes of time, level, call site, request id */

/* Configuration */
#define CONFIG_FILE_MAX_BYTES (64 * 1024)
#define CONFIG_LINE_MAX 1024
#define CONFIG_VALUE_MAX 1024

/* Identifiers and tokens */
#define ID_BYTES 12 /* 96-bit random ids */
#define ID_HEX_LEN (ID_BYTES * 2)
#define TOKEN_BYTES 32 /* 256-bit session ids, bearer tokens */
#define TOKEN_MAX_BYTES 64

/* JSON */
#define JSON_MAX_DEPTH 32 /* nesting of any JSON a client sends */
#define JSON_MAX_BYTES (1024 * 1024)

/* Crypto */
#define CRYPTO_KEY_BYTES 32 /* AES-256 */
#define CRYPTO_MAX_PLAINTEXT (1024 * 1024)

/* Document store */
#define STORE_MAX_DOC_BYTES (8 * 1024 * 1024) /* compact JSON of one document */
#define STORE_MAX_DEPTH 32                    /* nesting of one stored document */
#define STORE_MAX_FILTER_DEPTH 8              /* $and/$or nesting in a filter */
#define STORE_MAX_FILTER_TERMS 64             /* leaf conditions in one filter */
#define STORE_MAX_IN_VALUES 256               /* values of one $in / $nin */
#define STORE_MAX_PATH_LEN 200                /* bytes of a dotted field path */
#define STORE_MAX_PATH_SEGMENTS 8
#define STORE_MAX_SORT_KEYS 4
#define STORE_MAX_PAGE 1000         /* documents one find returns */
#define STORE_MAX_CURSOR_BYTES 2048 /* an opaque pagination cursor, encoded */
#define STORE_MAX_UPDATE_FIELDS 64  /* paths touched by one update */
#define STORE_MAX_INDEX_KEYS 6
#define STORE_MAX_COLLECTION_NAME 64
#define STORE_MAX_ID_BYTES 160          /* a document's string "_id" */
#define STORE_MAX_INDEX_NAME 128        /* an index name in a store schema */
#define STORE_SQLITE_STMT_CACHE 32      /* prepared statements kept per SQLite connection */
#define STORE_SQLITE_MAX_POOL 64        /* connections of one SQLite store ("pool=") */
#define STORE_SQLITE_MAX_BUSY_MS 600000 /* "busy_timeout_ms=" of a SQLite store URI */

/* Redis */
#define RDS_MAX_REPLY_BYTES (16 * 1024 * 1024)
#define RDS_MAX_REPLY_ELEMENTS 100000
#define RDS_MAX_KEY_BYTES 512
#define RDS_MAX_STREAM_FIELDS 32 /* field/value pairs of one XADD */
#define RDS_MAX_URL_BYTES 1024
#define RDS_MAX_SUB_CHANNELS 64 /* channels of one subscriber connection */
/* Unparsed bytes one reply may hold in the read buffer: the payload cap plus protocol
 * framing of every element, so a single huge bulk string is refused before it is all read. */
#define RDS_MAX_REPLY_WIRE_BYTES (RDS_MAX_REPLY_BYTES + RDS_MAX_REPLY_ELEMENTS * 32 + 65536)

#endif
