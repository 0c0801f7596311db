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

/* HTTP (FastCGI responders) */
#define HTTP_MAX_BODY_BYTES (1024 * 1024)   /* request body of an API call */
#define HTTP_MAX_PATH_BYTES 1024
#define HTTP_MAX_SEGMENT_BYTES 200          /* one path segment, decoded */
#define HTTP_MAX_PATH_PARAMS 6
#define HTTP_MAX_QUERY_BYTES 4096
#define HTTP_MAX_QUERY_PARAMS 32
#define HTTP_MAX_HEADER_BYTES 8192          /* one header value we read */
#define HTTP_MAX_COOKIES 32
#define HTTP_MAX_RESPONSE_HEADERS 16
#define HTTP_MAX_THREADS 64

/* Sessions and identity */
#define SESSION_MAX_TTL_S (30L * 24 * 3600)
#define NAME_MAX_CHARS 80                   /* display names, workspace, team and app names */
#define EMAIL_MAX_CHARS 254
#define WORKSPACE_SLUG_MAX 80

/* Audit (AUD-2, AUD-4) */
#define AUDIT_TEXT_MAX 160
#define AUDIT_NAME_MAX 200
#define AUDIT_ACTION_MAX 120
#define AUDIT_SUMMARY_MAX 500
#define AUDIT_META_DEPTH 5
#define AUDIT_META_STRING_MAX 512
#define AUDIT_META_ARRAY_MAX 25
#define AUDIT_META_KEYS_MAX 50
#define AUDIT_META_KEY_MAX 120
#define AUDIT_META_BYTES_MAX (8 * 1024)
#define AUDIT_CHANGED_FIELDS_MAX 50
#define AUDIT_REDACTED_FIELDS_MAX 100
#define AUDIT_LIST_MAX 200
#define AUDIT_LIST_DEFAULT 100
#define AUDIT_QUERY_MAX 120
#define AUDIT_CHAIN_RETRIES 16              /* attempts to append to a busy workspace chain */

#endif
