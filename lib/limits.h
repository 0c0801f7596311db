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
#define STORE_MAX_FIELDS 32         /* fields one find projects */
#define STORE_MAX_FIELD_NAME 64     /* bytes of a projected field name */
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
#define RDS_MAX_SUB_CHANNELS 64                    /* channels of one subscriber connection */
#define WORKERC_MAX_REPLY_BYTES (16 * 1024 * 1024) /* a JSON reply from workerd (files) */
#define WORKERC_MAX_PATH 512                       /* a workerd API path */
#define WORKERC_IDLE_S 120 /* a turn stream silent this long (keep-alives included) is dead */
#define SSE_MAX_EVENT_BYTES (8 * 1024 * 1024)    /* one event an SSE peer sends (workerd) */
#define RUNS_FAILURE_MESSAGE_MAX 240             /* bytes of a run failure message (B-10) */
#define RUNS_STALE_UNATTACHED_MS (2 * 60 * 1000) /* streaming, never attachable (B-3) */
#define RUNS_STALE_HEARTBEAT_MS (20 * 60 * 1000) /* streaming, no heartbeat (B-3) */
#define RUNS_USAGE_MODELS_MAX 16                 /* models one turn's usage names */
#define RUNS_USAGE_KEY_MAX 200                   /* bytes of an encoded usage model key */
#define CHAT_MAX_MESSAGES 2000                   /* UIMessages of one chat request */
#define CHAT_HEARTBEAT_MS 20000                  /* lease heartbeat writes at most this often */
#define CHAT_ATTACH_WAIT_MS 1500    /* an observer waits this long for a run to become attachable */
#define CHAT_ATTACH_BLOCK_MS 1000   /* one blocking replay read of an observer */
#define RUNS_LIST_MAX 200           /* runs one list reply holds, newest first */
#define RUNS_USAGE_SCAN_MAX 50000   /* runs read for one usage total */
#define HANDOFF_PART_MAX 1600       /* bytes of one text part in a handoff transcript (B-6) */
#define HANDOFF_TOOL_OUTPUT_MAX 700 /* bytes of one tool output in a handoff transcript */
#define HANDOFF_TRANSCRIPT_MAX 18000         /* bytes of a handoff transcript; the tail is kept */
#define REPLAY_MAX_CHUNKS 5000               /* entries one run's replay stream keeps (B-13) */
#define REPLAY_TTL_S 3600                    /* a replay stream expires this long after a write */
#define REPLAY_MAX_CHUNK_BYTES (1024 * 1024) /* one UI chunk kept for replay */
#define REPLAY_READ_MAX 500                  /* entries one replay read returns */
/* Unparsed bytes one reply may hold in the read buffer: the payload cap plus protocol
 * framing of every element, so a single huge bulk string is refused before it is all read. */
#define RDS_MAX_REPLY_WIRE_BYTES (RDS_MAX_REPLY_BYTES + RDS_MAX_REPLY_ELEMENTS * 32 + 65536)

/* HTTP (FastCGI responders) */
#define HTTP_MAX_BODY_BYTES (1024 * 1024) /* request body of an API call */
#define HTTP_MAX_PATH_BYTES 1024
#define HTTP_MAX_SEGMENT_BYTES 200 /* one path segment, decoded */
#define HTTP_MAX_PATH_PARAMS 6
#define HTTP_MAX_PATH_SEGMENTS 32 /* segments of a path that can match a route */
#define HTTP_MAX_QUERY_BYTES 4096
#define HTTP_MAX_QUERY_PARAMS 32
#define HTTP_MAX_HEADER_BYTES 8192 /* one header value we read */
#define HTTP_MAX_COOKIES 32
#define HTTP_MAX_RESPONSE_HEADERS 16
#define HTTP_MAX_THREADS 64
#define HTTP_MAX_STREAM_THREADS 4096 /* workers of a streaming responder (second-sse) */
#define SSE_THREAD_STACK_KIB 256     /* stack of a second-sse worker: small, one per stream */

/* Sessions and identity */
#define SESSION_MAX_TTL_S (30L * 24 * 3600)
#define NAME_MIN_CHARS 2  /* display names, profile roles, workspace names */
#define NAME_MAX_CHARS 80 /* display names, workspace, team and app names */
#define EMAIL_MIN_CHARS 3
#define EMAIL_MAX_CHARS 254
#define ONBOARDING_CONTEXT_MAX_CHARS 3000 /* companyContext, userContext (API-9) */
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
#define AUDIT_CHAIN_DEADLINE_MS 10000 /* retrying lost races on a busy workspace chain */
#define AUDIT_EVENT_NAME_MAX 120      /* bytes of an eventName */
#define AUDIT_PARENT_TYPE_MAX 80      /* target.parentType */
#define AUDIT_HASH_MAX 96             /* changes.beforeHash / afterHash */
#define AUDIT_REQUEST_ID_MAX 120      /* source.requestId taken from a request (AUD-5) */
#define AUDIT_TEAM_IDS_MAX 100        /* actor.teamIds kept */
#define AUDIT_VERIFY_PAGE 500         /* events read per page while verifying a chain */
#define AUDIT_LIST_SCAN_PAGE 200      /* events read per page while filtering on q */
#define AUDIT_LIST_SCAN_MAX 2000      /* events one list request examines for q */
#define AUDIT_METADATA_ITEMS_MAX 24   /* metadata rows of a list item (AUD-10) */
#define AUDIT_VIEWED_WINDOW_S 60      /* audit.viewed at most once per window (AUD-13) */

/* Apps (DM-7, API-35..API-47) */
#define APP_DESCRIPTION_MAX 300       /* characters of an app description */
#define APP_PROMPT_MAX_CHARS 20000    /* characters of the prompt an app is created with */
#define APP_RUNTIME_MODEL_MAX 200     /* characters of runtimeModel */
#define APP_RUNTIME_PARAMS_DEPTH 2    /* nesting of runtimeParams as sent (values are strings) */
#define APP_RUNTIME_PARAMS_KEYS 32    /* members of runtimeParams */
#define APP_RUNTIME_PARAMS_BYTES 4096 /* compact JSON of runtimeParams */
#define APP_MAX_COLLABORATORS 100     /* collaboratorUserIds of one app */
#define APP_NAME_SUFFIX_MAX 1000      /* "Name (n)" is tried up to this n */
#define APPS_LIST_MAX 1000            /* apps one list or status reply holds */
#define APPS_PAGE 200                 /* documents per store page while scanning apps */
#define APP_MEMBERS_MAX 2000          /* members one collaborators reply lists */

/* What one process keeps between requests while the store is unchanged (lib/guard.c,
 * fcgi/api/apps.c) */
#define GUARD_CACHE_ENTRIES 256                /* users and (workspace, user) pairs */
#define GUARD_CACHE_MAX_ITEMS 50               /* more memberships or teams are not kept */
#define APPS_LIST_CACHE_ENTRIES 16             /* app list replies */
#define APPS_LIST_CACHE_MAX_BYTES (256 * 1024) /* a longer reply is not kept */

/* Workspaces, members, teams, invitations (TEN-1, API-20..API-34) */
#define NAME_MAX_BYTES (NAME_MAX_CHARS * 4) /* a name of NAME_MAX_CHARS in UTF-8 */
#define EMAIL_MAX_BYTES (EMAIL_MAX_CHARS * 4)
#define WORKSPACE_SLUG_SEQUENTIAL 50         /* "-2" .. "-50" tried before random suffixes */
#define WORKSPACE_SLUG_RANDOM 4              /* random suffixes tried after those */
#define WORKSPACE_MEMBERS_MAX 5000           /* members one members or teams reply lists */
#define WORKSPACE_TEAMS_MAX 500              /* teams of one workspace */
#define WORKSPACE_TEAM_MEMBERSHIPS_MAX 50000 /* team memberships read for one members reply */
#define INVITATIONS_LIST_MAX 100             /* invitations one list reply holds (API-25) */
#define INVITATIONS_PENDING_MAX 1000         /* pending invitations of one workspace */
#define INVITATION_TTL_S (7L * 24 * 3600)    /* a local invitation is open this long */

/* workerd: processes, turns, sessions, HTTP (W-*, S-*, R-*) */
#define PROC_LINE_MAX (8 * 1024 * 1024) /* one NDJSON line a runtime CLI prints */
#define PROC_STDERR_TAIL 4096           /* bytes of a runtime's stderr kept for error messages */
#define PROC_KILL_GRACE_MS 2000         /* SIGTERM, then SIGKILL after this */
#define PROC_MAX_ARGS 96                /* argv entries of one runtime command, bwrap included */
#define TURN_ERROR_MAX 8192             /* bytes of a turn's error message (stderr tail included) */
#define TURN_QUEUE_MAX (16 * 1024 * 1024) /* bytes of SSE frames waiting for a slow reader */
#define WORKERD_BODY_MAX \
	(8 * 1024 * 1024) /* a /messages request (prompt, system prompt, sources) */
#define WORKERD_UPLOAD_MAX (72 * 1024 * 1024)        /* an attachments request: 50 MiB as base64 */
#define WORKERD_PROMPT_MAX (1024 * 1024)             /* bytes of a turn's prompt */
#define WORKERD_SYSTEM_PROMPT_MAX (512 * 1024)       /* bytes of a turn's system prompt */
#define WORKERD_APP_ID_MAX 160                       /* bytes of the URL's :appId (session key) */
#define WORKERD_ALLOWED_TOOLS_MAX 200                /* names in allowedTools */
#define WORKERD_TOOL_NAME_MAX 160                    /* bytes of one tool name */
#define WORKERD_MAX_TURNS 1000                       /* maxTurns a request may ask for */
#define WORKERD_SESSIONS_MAX 1000                    /* live sessions of one workerd */
#define WORKERD_CONNECTIONS_MAX 512                  /* concurrent HTTP connections per listener */
#define WORKERD_SESSION_STATE_MAX (64 * 1024 * 1024) /* a restored Claude JSONL */
#define ATTACHMENTS_MAX_FILES 10
#define ATTACHMENT_MAX_BYTES (25 * 1024 * 1024)
#define ATTACHMENTS_MAX_TOTAL (50 * 1024 * 1024)
#define WORKSPACE_PATH_MAX 1024      /* a path inside an app workspace */
#define BUILD_OUTPUT_MAX (32 * 1024) /* bytes of one npm command's output given back (P-5) */
#define BUILD_PACKAGE_JSON_MAX (1024 * 1024) /* an app's package.json read by done_building */
#define BUILD_TIMEOUT_MS (10 * 60 * 1000)    /* one npm command of done_building */
/* How long a runtime CLI waits for one brokered tool call: done_building may wait for a
 * warm-up, install and build (each bounded above), so the CLIs' own defaults are too short. */
#define RUNTIME_TOOL_TIMEOUT_S (30 * 60)
#define METADATA_PROMPT_MAX 10000      /* bytes of the request a metadata agent reads (W-12) */
#define SNAPSHOT_FILE_MAX (512 * 1024) /* one file of a source snapshot (P-6, P-7) */
#define SNAPSHOT_WARN_BYTES (8 * 1024 * 1024) /* a snapshot this large is logged */
#define SNAPSHOT_MAX_BYTES (12 * 1024 * 1024) /* a snapshot larger fails */
#define SNAPSHOT_MAX_FILES 5000               /* files of one snapshot */
#define SNAPSHOT_MAX_DEPTH 24                 /* directory depth the walker descends */
#define CODEX_JSON_DEPTH_MAX 128      /* nesting of one JSON-RPC line codex app-server prints */
#define CODEX_OUTPUT_MAX (256 * 1024) /* cumulative command output kept per tool call */
#define CODEX_ID_MAX 256              /* bytes of a Codex thread id */
#define CODEX_CONFIG_MAX (64 * 1024)  /* bytes of the config.toml written per turn */
#define OPENCODE_JSON_DEPTH_MAX 128   /* nesting of one event line or user config of OpenCode */
#define OPENCODE_USER_CONFIG_MAX (1024 * 1024) /* a user opencode.json mirrored for `provider` */
#define OPENCODE_ERROR_MAX 800                 /* bytes of an OpenCode error shown */
#define OPENCODE_SUMMARY_MAX 2000              /* bytes of a non-JSON stdout line passed on */
#define OPENCODE_SESSION_ID_MAX 256            /* bytes of an OpenCode session id */

/* MCP broker and tools (T-*) */
#define BROKER_SESSION_TTL_S (30 * 60)         /* a broker session lives this long (T-14) */
#define BROKER_MAX_SESSIONS 1024               /* broker sessions open at once */
#define BROKER_MAX_BODY_BYTES (1024 * 1024)    /* one POST /mcp/<id> body */
#define BROKER_MAX_JSON_DEPTH 32               /* nesting of a JSON-RPC body */
#define BROKER_MAX_BATCH 32                    /* messages of one JSON-RPC batch */
#define BROKER_MAX_AUTH_BYTES 128              /* an Authorization header value we compare */
#define BROKER_MAX_ALLOWED_TOOLS 256           /* names in one session's allow-list */
#define BROKER_MAX_TOOL_NAME 128               /* bytes of a tool name, canonical or bare */
#define BROKER_MAX_CONTEXT_BYTES (1024 * 1024) /* compact JSON of a session's tool context */
#define TOOL_PLAN_FEATURES_MAX 50              /* features present_plan keeps */
#define TOOL_SUGGESTIONS_MIN 2                 /* suggestions present_suggestions asks for */
#define TOOL_SUGGESTIONS_MAX 6                 /* suggestions it keeps */
#define TOOL_SUGGESTION_TITLE_MAX 80           /* characters of a suggestion title */
#define TOOL_SUGGESTION_SUBTITLE_MAX 220       /* characters of a suggestion subtitle */
#define TOOL_SUGGESTION_EMOJI_MAX 16           /* characters of a suggestion emoji */
#define TOOL_APP_NAME_MIN 2                    /* set_app_metadata name, characters (T-8) */
#define TOOL_APP_NAME_MAX 80
#define TOOL_APP_DESCRIPTION_MIN 2 /* set_app_metadata description, characters (T-8) */
#define TOOL_APP_DESCRIPTION_MAX 300
#define AGENTS_JSON_MAX_BYTES (512 * 1024) /* agents.json present_agents reads */
#define AGENTS_JSON_MAX_DEPTH 32           /* nesting of agents.json */
#define AGENTS_JSON_MAX_ISSUES 200         /* validation issues reported at most */
#define AGENTS_JSON_MAX_PLACEHOLDERS 256   /* placeholders collected from one endpoint */
#define AGENTS_JSON_MAX_LABEL 120          /* characters of an agent or tool name in an issue */

/* Builder chat stream (B-8, B-9) */
#define UIS_PARTS_MAX 5000                   /* parts of one turn's assistant message */
#define UIS_TOOLS_MAX 2000                   /* tool calls one turn may make */
#define UIS_TOOL_INPUT_MAX (4 * 1024 * 1024) /* bytes of one tool call's streamed input JSON */
#define UIS_PART_TEXT_MAX (1024 * 1024)      /* bytes of one text or reasoning part */
#define UIS_TOOL_OUTPUT_PREVIEW 20000        /* characters of a running tool's output shown */
#define UIS_RESULT_TEXT_MAX 240              /* characters of a result message kept (B-8) */
#define UIS_ERROR_TEXT_MAX 4000              /* bytes of a worker error text passed on */
#define UIS_OUTPUT_PARSE_MAX (1024 * 1024)   /* bytes of a tool output parsed for its status */
#define UIS_OUTPUT_PARSE_DEPTH 8             /* levels of a tool output unwrapped (P-5) */
#define UIS_OUTPUT_JSON_DEPTH 64             /* nesting of a tool output parsed for it */

/* Dependency warm-up (P-4) */
#define BUILD_WARMUP_TIMEOUT_MS (120 * 1000) /* npm install started when a workspace is made */
#define BUILD_WARMUP_KEEP_MS (5 * 60 * 1000) /* a settled warm-up is remembered this long */
#define BUILD_WARMUP_MAX_RUNNING 8           /* warm-ups at once; more are not started */
#define BUILD_WARMUP_MAX_ENTRIES 1024        /* directories remembered at once */
#define BUILD_WARMUP_STOP_WAIT_MS (PROC_KILL_GRACE_MS + 3000) /* exit waits for killed ones */

/* App preview and files (P-8) */
#define PREVIEW_TOKEN_TTL_S 3600       /* a preview capability token is good this long */
#define PREVIEW_TOKEN_SKEW_S 300       /* and its expiry may lie this far beyond (host clocks) */
#define PREVIEW_TOKEN_MAC_BYTES 16     /* bytes of HMAC-SHA256 a token keeps */
#define PREVIEW_TOKEN_CHARS 32         /* base64url of expiry (8 bytes) and MAC (16 bytes) */
#define PREVIEW_KEY_BYTES 32           /* the HMAC key all second-api processes share */
#define PREVIEW_KEY_REFRESH_S 300      /* a process re-reads the shared key this often */
#define PREVIEW_KEY_REREAD_MIN_MS 1000 /* a failed MAC re-reads it at most this often */
#define PREVIEW_PATH_MAX 512           /* bytes of a file path under dist/, decoded */
#define SNAPSHOT_KEPT_ENTRIES 16       /* parsed snapshots one second-api process keeps */
#define SNAPSHOT_KEPT_BYTES (64 * 1024 * 1024) /* and their file bytes, all together */
#define FILES_WORKER_CONNECT_TIMEOUT_MS 2000   /* P-8 live files: connecting to workerd */
#define FILES_WORKER_CALL_TIMEOUT_MS 15000     /* P-8 live files: the whole call */

#endif
