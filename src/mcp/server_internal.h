/* mcp/server_internal.h: the structures behind fa_server_t, fa_call_t and a client session.
 *
 * Threads and ownership (DESIGN.md §2, §5):
 *  - The loop thread (the libuv loop the server was started on) owns the server's runtime state,
 *    the session table, every session, the in-flight tables and the output buffers. Nothing else
 *    touches them.
 *  - Sessions live in a table and are named by a handle, fa__sref_t (slot index + generation,
 *    STYLE.md §10). A transport (stdio, an HTTP connection or stream) opens a session, feeds it
 *    messages and gives it session ops (out, commit, pause, resume, close) to write back through.
 *    When the transport goes away the session is closed; calls it started may still be running:
 *    they carry the handle, never a session pointer, and whatever they send back later finds a
 *    stale handle and is dropped safely.
 *  - A call (tools/call and the other methods that run user code) becomes an fa_call_t. The loop
 *    creates it, pushes it on the executor's job queue (ownership of the call's job part moves to
 *    the worker), and gets it back on the MPSC completion queue once the tool finished it.
 *    Between those two points the worker (or whichever thread finishes it) may read the call's
 *    immutable fields and write only `reply`; the loop may only set `cancelled` and `log_level`.
 *    The loop frees the call after the completion.
 *  - Notifications a tool sends (log, progress) travel as fa__notify_t on the same MPSC queue,
 *    so they reach the client before the call's result when sent from the finishing thread.
 *
 * Accounting (the guarantees hold with any number of sessions):
 *  - server: at most max_inflight calls are at the executor (its job queue holds exactly that
 *    many, so a submit can never find it full); `outstanding` counts them, including calls of
 *    sessions that have closed, until they come back.
 *  - session: at most max_session_inflight of its calls at the executor; beyond that, or when
 *    the server is full, its calls wait in its own backlog (FIFO), and at max_queued the session
 *    pauses its transport (backpressure: nothing is dropped, nothing grows without bound).
 *    Sessions whose backlog waits only for a server slot queue up in `waiting`, and a freed
 *    slot goes to the session at its head (round robin), so one busy client cannot starve others.
 *  - timeouts: every call of every session is on the server's `timeline` in arrival order; with
 *    one tool_timeout_ms for all, that is deadline order, so one timer serves them all.
 */
#ifndef FA_MCP_SERVER_INTERNAL_H
#define FA_MCP_SERVER_INTERNAL_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

#include "core/buf.h"
#include "core/map.h"
#include "core/wakeup.h"
#include "core/workers.h"
#include "fasterapi/mcp.h"
#include "fasterapi/queue.h"
#include "mcp/modern.h"
#include "mcp/mrtr_state.h"

/* Protocol revisions of the 2025 era (initialize handshake), newest first. */
#define FA_MCP_LATEST_VERSION "2025-11-25"
extern const char *const fa__mcp_versions[];
extern const size_t fa__mcp_nversions;

/* RFC 5424 severities as MCP names them, least severe first (logging/setLevel). */
extern const char *const fa__mcp_log_levels[];
#define FA_MCP_NLOG_LEVELS 8
#define FA_MCP_DEFAULT_LOG_LEVEL 1 /* "info": until the client asks, skip debug chatter */
/* Returns the index of an MCP log level name, or -1. */
int fa__mcp_log_level(const char *name);

typedef struct fa__session_s fa__session_t;
typedef struct fa__batch_s fa__batch_t;
typedef struct fa__mrtr_s fa__mrtr_t;
typedef struct fa__outreq_s fa__outreq_t;

/* A session handle: generation << 32 | slot index. Generations start at 1, so 0 is never live. */
typedef uint64_t fa__sref_t;

/* Cached list pages: {"<key>":[...],"nextCursor":"c<N>"} per page. */
typedef struct {
    char **pages;
    size_t *lens;
    size_t n;
} fa__pages_t;

/* What a call runs: a tool, or one of the other methods that run user code. */
typedef enum {
    FA__OP_TOOL = 0,
    FA__OP_READ_RESOURCE, /* resources/read */
    FA__OP_GET_PROMPT,    /* prompts/get */
    FA__OP_COMPLETE       /* completion/complete */
} fa__op_t;

/* Handlers for the non-tool methods (the Python host provides them). Each runs like a tool
 * callback, on an executor thread, with the request's params (borrowed, valid until finished),
 * and finishes the call with fa_call_complete (the method's result object) or fa_call_error. */
typedef void (*fa__op_cb)(fa_call_t *call, const json_t *params, void *data);
typedef struct {
    fa__op_cb read_resource, get_prompt, complete;
    void *data;
} fa__ops_t;

typedef struct {
    json_t *resources, *templates, *prompts; /* arrays of definitions, owned */
    fa__map_t prompt_index;                  /* name -> prompt definition (borrowed) */
    fa__pages_t resource_pages, template_pages, prompt_pages;
    int completions;
    int installed; /* fa__server_set_catalog was called: the families are offered */
    fa__ops_t ops;
} fa__catalog_t;

/* A directory of a skill (skills.c): its direct children as Resource objects, paged. */
typedef struct {
    char *uri; /* owned; "skill://<skill-path>" or a subdirectory below it */
    json_t *children;
    fa__pages_t pages;
} fa__skilldir_t;

/* The skills extension (io.modelcontextprotocol/skills, SEP-2640; skills.c). */
typedef struct {
    json_t *skills;    /* array of skill entries {uri, frontmatter, resources}, owned */
    fa__pages_t pages; /* skills/list */
    char **get_raw;    /* per entry: the skills/get result text {"skill":<entry>} */
    size_t *get_len;
    fa__map_t by_uri; /* SKILL.md uri -> entry index + 1 (keys: the entries' uri strings) */
    fa__skilldir_t *dirs;
    size_t ndirs;
    fa__map_t dir_index; /* directory uri -> fa__skilldir_t (keys: dirs[i].uri) */
} fa__skills_t;

/* Where calls run. The default is the C worker pool (core/workers.c); the Python host installs
 * its interpreter pool. submit queues without waking (the loop calls wake once per iteration);
 * cancel (may be NULL) tells a running call's executor to stop it (loop thread). */
typedef struct {
    void *self;
    int (*submit)(void *self, fa_call_t *call);
    void (*wake)(void *self, int n);
    void (*cancel)(void *self, fa_call_t *call);
} fa__executor_t;

typedef struct {
    char *name;
    json_t *def;                /* the Tool object served by tools/list */
    const json_t *input_schema; /* borrowed from def */
    fa_tool_cb cb;
    void *data;
    unsigned flags; /* FA_TOOL_* */
    uint64_t calls; /* tools/call requests started (loop thread; /metrics) */
    /* Tasks extension (tasks.h): def.execution.taskSupport, and whether the tool's questions
     * before the task starts go through input_required rounds (def "x-fasterapi".taskInputFirst,
     * an engine option stripped from the served definition). */
    int task_support; /* FA__TASKS_FORBIDDEN / _OPTIONAL / _REQUIRED */
    int task_input_first;
} fa__tool_t;

enum { FA__TASKS_FORBIDDEN = 0, FA__TASKS_OPTIONAL, FA__TASKS_REQUIRED };

enum { FA__ITEM_CALL = 1, FA__ITEM_NOTIFY = 2, FA__ITEM_REQUEST = 3 };

/* A non-blocking tool's call, run on the loop thread: RUNNING while its callback runs; the
 * finishing thread turns RUNNING into DONE and leaves the delivery to the loop; the loop turns
 * RUNNING into LEFT when the callback returned unfinished, and then the call is delivered like
 * any other (through the completion queue). */
enum { FA__INLINE_NO = 0, FA__INLINE_RUNNING, FA__INLINE_DONE, FA__INLINE_LEFT };

/* Intrusive doubly-linked FIFO lists of calls (engine.c): a call carries one link per list. */
typedef struct {
    fa_call_t *prev, *next;
} fa__calllink_t;
typedef struct {
    fa_call_t *head, *tail;
} fa__calllist_t;

struct fa_call_s {
    int kind; /* FA__ITEM_CALL; first member so completion items can be told apart */
    fa_server_t *srv;
    fa__sref_t sref; /* the session that asked; it may be gone when the call comes back */
    fa__op_t op;
    const fa__tool_t *tool;     /* FA__OP_TOOL */
    json_t *args;               /* owned by the loop; read-only for the tool until finished */
    json_t *params;             /* other ops: the request's params, owned by the loop */
    _Atomic intptr_t exec_slot; /* for the executor (e.g. which worker runs it); starts -1 */
    json_t *progress_token;     /* owned by the loop, or NULL */
    char *id_text;              /* owned: the request id as JSON text (map key) */
    size_t id_len;
    uint64_t seq;
    fa__batch_t *batch; /* NULL, or the batch this call answers into (slot) */
    size_t slot;
    _Atomic int finished;     /* 0 -> 1 once, by the finishing thread */
    _Atomic int cancelled;    /* set by the loop (cancel, timeout, shutdown); read by tools */
    _Atomic int log_level;    /* the session's logging/setLevel, kept current by the loop */
    _Atomic int inline_state; /* FA__INLINE_*: a FA_TOOL_NONBLOCKING call run by the loop */
    uint64_t dispatched_ns;   /* loop thread: when it went to the executor (/metrics) */
    /* Protocol 2026-07-28 (modern.h): the request carried its own _meta. Set by the loop before
     * the call is handed out, read-only afterwards. client_caps: owned by the loop (a reference
     * the loop took; the tool only reads it, fa_call_client_capabilities). mrtr: loop only. */
    int modern;
    json_t *client_caps;
    fa__mrtr_t *mrtr;
    /* Set by an executor before the tool runs (then read by the loop after the tool's first
     * request, ordered by the completion queue): its tools end each burst of client requests
     * with fa_call_flush_requests, so a 2026 input_required round waits for that instead of a
     * gather window that a descheduled worker thread can overrun. */
    int explicit_flush;
    char *reply; /* written by the finishing thread: the whole response, or NULL */
    size_t reply_len;
    int reply_heap; /* reply outgrew inline_reply and was malloc'd by the finisher */
    /* Loop thread only: */
    int detached;            /* answered or cancelled already; the result will be discarded */
    uint64_t deadline_ms;    /* per-call timeout, in uv_now() time */
    fa__calllink_t pending;  /* in the session's pending list, in arrival order */
    fa__calllink_t backlog;  /* in the session's backlog (accepted, not yet given to workers) */
    fa__calllink_t timeline; /* in the server's timeline, in arrival (= deadline) order */
    int queued;              /* in the backlog */
    /* The finishing thread writes the reply here when it fits. Allocated by the loop with the
     * call and freed by the loop: each thread frees only what it allocated, which keeps glibc
     * malloc from locking one thread's arena for another thread's frees (measured: that
     * contention cost more than the rest of a call on the 2-vCPU bench machine). */
    char inline_reply[];
};

/* Inline reply room: a typical text result reply is under 200 bytes. */
#define FA_CALL_INLINE_REPLY 448

typedef struct {
    int kind; /* FA__ITEM_NOTIFY */
    fa__sref_t sref;
    fa_call_t *call; /* alive: a call cannot send after it finished */
    char *text;      /* a complete JSON-RPC notification; NULL: close the call's stream */
    size_t len;
    char *sub_uri; /* notifications/resources/updated: its uri (sent only to a subscriber) */
    int flush;     /* fa_call_flush_requests: the call asked all it asks for now */
    int fan_out;   /* server-wide (no call, no session): a copy to every subscriber of sub_uri */
} fa__notify_t;

/* A server-to-client request a running call asked for (fa_call_request). */
struct fa__outreq_s {
    int kind; /* FA__ITEM_REQUEST */
    fa__sref_t sref;
    char *rel_id; /* the asking call's id text (owned copy), for routing */
    size_t rel_len;
    char *method;
    json_t *params; /* owned */
    fa_response_cb cb;
    void *arg;
    char *id_text; /* assigned by the loop when sent: the pending-map key */
    size_t id_len;
    char *key; /* fa_call_request_keyed: the inputRequests key the tool chose (MRTR), or NULL */
};

struct fa__batch_s {
    size_t n;
    size_t pending;   /* slots not answered yet, +1 while the batch is being dispatched */
    fa__buf_t *slots; /* slot i holds element i's response, empty for none */
};

/* What a transport provides to its session (loop thread). The engine calls them while handling
 * the transport's input or a completion; a transport must not close the session from inside
 * one of them (STYLE.md §10: it marks itself and closes at a safe point). */
/* What an outgoing message is, for transports that route messages to streams (Streamable HTTP
 * sends a response, and the notifications and requests of the call it answers, on the POST
 * that carried the request; stdio has one stream and ignores this). */
typedef enum {
    FA__OUT_RESPONSE = 0, /* the response to request `rel` (its final message) */
    FA__OUT_NOTIFY,       /* a notification about request `rel` (progress, log), or unrelated */
    FA__OUT_REQUEST,      /* a server-to-client request made while serving `rel` */
    FA__OUT_BATCH         /* the array answering the batch being handled now */
} fa__out_kind_t;

typedef struct {
    fa__out_kind_t kind;
    const char *rel; /* JSON text of the related request's id; NULL when unknown or none */
    size_t rel_len;
} fa__out_info_t;

typedef struct {
    /* Buffer to append one message to; `info` says what it is (valid during the call). */
    fa__buf_t *(*out)(fa__session_t *s, const fa__out_info_t *info);
    void (*commit)(fa__session_t *s); /* the message appended to out() is complete */
    void (*pause)(fa__session_t *s);  /* stop handing new messages (backlog full) */
    void (*resume)(fa__session_t *s);
    int (*blocked)(fa__session_t *s); /* output is backed up: hold results back (may be NULL) */
    void (*stop)(fa__session_t *s);   /* server shutdown: stop reading input (may be NULL) */
    void (*close)(fa__session_t *s);  /* server shutdown: flush, then fa__session_close */
    /* May be NULL: a running call asked to close the connection carrying its stream now (SSE
     * polling, SEP-1699: the client resumes it; fa_call_close_stream). rel = the call's id. */
    void (*close_stream)(fa__session_t *s, const char *rel, size_t rel_len);
} fa__session_ops_t;

enum { FA__SESS_NEW = 0, FA__SESS_INITIALIZED, FA__SESS_READY };

typedef struct {
    fa__session_t *prev, *next;
} fa__sesslink_t;
typedef struct {
    fa__session_t *head, *tail;
} fa__sesslist_t;

struct fa__session_s {
    fa_server_t *srv;
    fa__sref_t ref;
    const fa__session_ops_t *ops;
    void *transport;
    int state;
    int ephemeral;          /* one modern exchange (fa__session_open_exchange) */
    char version[16];       /* negotiated protocol revision */
    json_t *client_caps;    /* owned; the client's capabilities from initialize */
    json_t *subscriptions;  /* owned or NULL; {uri: true} of resources/subscribe (2025 era) */
    _Atomic int log_level;  /* index into fa__mcp_log_levels; read by tool threads */
    fa__map_t ids;          /* id text -> fa_call_t, calls that still owe a response */
    fa__calllist_t pending; /* the same calls, in dispatch order (timeouts, shutdown) */
    size_t outstanding;     /* calls given to the workers and not back yet (incl. detached) */
    fa__calllist_t backlog; /* calls waiting for an in-flight slot, FIFO */
    size_t queued;
    fa__sesslink_t waiting; /* in srv->waiting: its backlog waits only for a server slot */
    int in_waiting;
    fa__map_t out_pending; /* id text -> fa__outreq_t, requests we sent, awaiting answers */
    uint64_t next_out_id;
    int paused;
    int closing;                  /* the server asked the transport to close */
    int era;                      /* FA__ERA_* (modern.h): pinned by the first message on stdio */
    struct fa__mreq_s *req;       /* the modern request being dispatched now, or NULL (loop) */
    struct fa__listen_s *listens; /* open subscriptions/listen streams (modern) */
    size_t nlistens;
    void **held; /* completion items waiting for the transport's output to unblock (a ring) */
    size_t held_head, held_len, held_cap;
    fa__buf_t scratch;
};

/* A slot of the session table. */
typedef struct {
    fa__session_t *s; /* NULL when free */
    uint32_t gen;
    uint32_t next_free;
} fa__sslot_t;

struct fa_server_s {
    fa_server_options_t opts;
    char *name, *version, *title, *instructions; /* owned copies of the option strings */

    fa__tool_t **tools;
    size_t ntools, tools_cap;
    fa__map_t tool_index;    /* name -> fa__tool_t */
    fa__pages_t tool_pages;  /* cached tools/list results */
    fa__catalog_t catalog;   /* resources, templates, prompts, completion */
    fa__skills_t skills;     /* skills extension: empty unless fa__server_set_skills */
    fa__executor_t executor; /* where calls run (default: the C worker pool) */
    /* A transport endpoint attached to the server (the Streamable HTTP mount), freed with it. */
    void *endpoint;
    void (*endpoint_free)(void *endpoint);

    /* Runtime (loop thread, while running). */
    uv_loop_t *loop;
    uv_loop_t own_loop; /* fa_server_run_fds */
    fa_server_close_cb close_cb;
    fa__wakeup_t wake; /* workers -> loop: finished calls and notifications are queued */
    uv_signal_t sigint, sigterm;
    int signals_on; /* opts.handle_signals */
    uv_timer_t shutdown_timer, call_timer;
    uv_check_t job_wake; /* wakes parked workers once per loop iteration (see fa__server_submit) */
    uv_timer_t modern_timer;   /* MRTR gather windows and reaping finished HTTP exchanges */
    fa__state_key_t state_key; /* MRTR requestState HMAC key (per process, or a shared file) */
    fa__mrtr_t *gathering;     /* calls collecting input requests, oldest first (mrtr.c) */
    fa__mrtr_t *gathering_tail;
    struct fa__mcp_exchange_s *reap; /* finished HTTP exchanges to close (modern.c) */
    struct fa__taskeng_s *taskeng;   /* the tasks extension (tasks.c), created on first use */
    char *state_key_file;
    int jobs_unwoken;  /* jobs queued this iteration without a wake-up */
    unsigned activity; /* requests read + completion wake-ups: fa_server_run_fds spins on it */
    fa__workers_t *workers;
    fa_mpsc_t *completions;
    fa__sslot_t *slots; /* the session table */
    uint32_t nslots, slots_cap, free_slot;
    size_t nsessions;        /* all open, exchanges included (close waits for 0) */
    size_t nexchanges;       /* of which ephemeral modern exchanges */
    size_t outstanding;      /* calls at the executor, of every session, live or closed */
    size_t queued;           /* calls in the sessions' backlogs */
    uint64_t calls_done;     /* calls back from the executor (/metrics) */
    uint64_t busy_ns;        /* their summed time at the executor: worker busy time (/metrics) */
    size_t held_total;       /* completion items held for blocked sessions */
    int flushing_all;        /* delivering held items regardless of blocked output */
    int pumping;             /* session.c: handing out slots (no re-entry from inline calls) */
    int own_executor;        /* the C worker pool was created by fa_server_start */
    fa__calllist_t timeline; /* every pending call, arrival order */
    fa__sesslist_t waiting;  /* sessions whose backlog waits for a server slot */
    uint64_t next_seq;
    int running;
    int closing;      /* sessions were told to close; waiting for them and the handles */
    int stopping;     /* shutdown begun: no new input */
    int deadline_hit; /* shutdown deadline passed: pending calls were answered with errors */
    int handles_open;
    int signals;      /* signals received */
    size_t abandoned; /* calls still inside tools after shutdown: their memory is leaked */

    /* Cross-thread. */
    _Atomic int stop_requested; /* fa_server_stop */
    _Atomic unsigned changed;   /* fa_server_notify_changed: FA_MCP_CHANGED_* not yet broadcast */
    _Atomic int gate_closed;    /* the loop is gone: finishing threads must not touch it */
    _Atomic int gate_users;     /* finishing threads between gate check and uv_async_send */
};

/* ---- catalog.c ---- */
int fa__pages_build(fa__pages_t *p, const char *key, json_t *const *items, size_t n, size_t per);
/* Page for a cursor (NULL = first): 0 and the raw result JSON, or FA_EINVAL. */
int fa__pages_get(const fa__pages_t *p, const char *cursor, const char **raw, size_t *len);
void fa__pages_free(fa__pages_t *p);
/* Installs the resources/templates/prompts tables (arrays of definitions; stolen) and the
 * handlers that serve them. Before running. 0, FA_EINVAL, FA_ENOMEM. */
int fa__server_set_catalog(fa_server_t *srv, json_t *resources, json_t *templates, json_t *prompts,
                           int completions, const fa__ops_t *ops);
void fa__catalog_free(fa_server_t *srv);
int fa__catalog_has_resources(const fa_server_t *srv);
int fa__catalog_has_prompts(const fa_server_t *srv);
const json_t *fa__catalog_prompt(const fa_server_t *srv, const char *name);

/* ---- skills.c: the skills extension (io.modelcontextprotocol/skills, SEP-2640) ---- */
#define FA_MCP_SKILLS_EXTENSION "io.modelcontextprotocol/skills"
/* Installs the skills (an array of skill entries {uri, frontmatter, resources:[{uri, digest,
 * size}]}; stolen), after fa__server_set_catalog and before running. The files themselves are
 * catalog resources (resources/read serves them); a file's Resource definition in the catalog,
 * when there is one, lends its name and mimeType to the directory listings. 0, FA_EINVAL (a
 * malformed entry, a duplicate uri, a resource outside its skill), FA_ENOMEM. */
int fa__server_set_skills(fa_server_t *srv, json_t *skills);
void fa__skills_free(fa_server_t *srv);
/* Skills are installed: the extension is declared and its methods are offered. */
int fa__skills_offered(const fa_server_t *srv);
/* The capability value: {"directoryRead": true} (new reference), or NULL when not offered. */
json_t *fa__skills_capability(const fa_server_t *srv);

/* ---- server.c ---- */
/* Replaces the default C worker pool; before running. */
void fa__server_set_executor(fa_server_t *srv, const fa__executor_t *ex);

/* ---- tools.c ---- */
/* Registers a tool from a complete Tool definition (name, title, description, inputSchema,
 * outputSchema, annotations, icons, _meta, ...; copied and served as given). Same errors as
 * fa_server_add_tool. */
int fa__server_add_tool_json(fa_server_t *srv, const json_t *def, fa_tool_cb cb, void *data);
fa__tool_t *fa__tools_find(const fa_server_t *srv, const char *name);
/* Serialises the tools/list pages once (after registration). 0 or FA_ENOMEM. */
int fa__tools_build_pages(fa_server_t *srv);
/* Page for a cursor (NULL = first). Returns 0 and the raw result JSON, or FA_EINVAL. */
int fa__tools_page(const fa_server_t *srv, const char *cursor, const char **raw, size_t *len);
void fa__tools_free(fa_server_t *srv);
void fa__tools_free_pages(fa_server_t *srv);

/* ---- session.c (loop thread): the session table and call accounting ---- */
/* Opens a session for a transport on a running server. Returns 0, FA_ESTATE (not running or
 * shutting down), FA_ELIMIT (max_sessions reached) or FA_ENOMEM. */
int fa__session_open(fa_server_t *srv, const fa__session_ops_t *ops, void *transport,
                     fa__session_t **out);
/* The same for one stateless 2026-07-28 exchange: these have their own budget of max_sessions,
 * so that a flood of 2025-era sessions cannot deny stateless service (and the reverse). */
int fa__session_open_exchange(fa_server_t *srv, const fa__session_ops_t *ops, void *transport,
                              fa__session_t **out);
/* The transport is gone: cancels the session's running calls (their results will be dropped),
 * frees its queued ones, fails the requests it was waiting on, and frees the session. Not from
 * inside one of its own session ops. */
void fa__session_close(fa__session_t *s);
/* The live session a handle names, or NULL when it has closed. */
fa__session_t *fa__session_get(const fa_server_t *srv, fa__sref_t ref);
/* Creates the call for a request that runs user code and hands it to the executor (or the
 * backlog). `payload` is stolen (also on failure). NULL after replying with an error. */
typedef struct {
    fa__batch_t *batch;
    size_t slot;
} fa__reply_to_t;
fa_call_t *fa__session_start_call(fa__session_t *s, fa__reply_to_t to, const json_t *id,
                                  fa__op_t op, const fa__tool_t *tool, json_t *payload,
                                  json_t *token);
/* notifications/cancelled for the call with this id text, if it is still owed. */
void fa__session_cancel(fa__session_t *s, const char *id_text, size_t id_len, const char *reason);
void fa__session_set_log_level(fa__session_t *s, int level);
/* A finished call came back (any session, live or not). */
void fa__server_on_complete(fa_server_t *srv, fa_call_t *c);
/* Answers calls whose deadline passed (tool_timeout_ms); returns the earliest remaining deadline,
 * or 0 when none. */
uint64_t fa__server_expire(fa_server_t *srv, uint64_t now_ms);
/* Answers every pending call of every session with a JSON-RPC error (shutdown deadline). */
void fa__server_abandon(fa_server_t *srv, int code, const char *message);

/* ---- reply.c (loop thread): writing replies, straight or into a batch slot ---- */
#define FA__DIRECT ((fa__reply_to_t){NULL, 0})
/* The buffer for a response to the request whose id text is rel (the batch slot when `to` is a
 * batch). */
fa__buf_t *fa__reply_buf(fa__session_t *s, fa__reply_to_t to, const char *rel, size_t rel_len);
void fa__reply_commit(fa__session_t *s, fa__reply_to_t to);
void fa__reply_none(fa__session_t *s, fa__reply_to_t to);
/* Error reply; `id` may be NULL (unknown id -> null). */
void fa__reply_error(fa__session_t *s, fa__reply_to_t to, const json_t *id, int code,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void fa__reply_result(fa__session_t *s, fa__reply_to_t to, const json_t *id, const json_t *result);
void fa__reply_raw(fa__session_t *s, fa__reply_to_t to, const json_t *id, const char *raw,
                   size_t len);
/* Error reply for a call, keyed by its id text. */
void fa__reply_call_error(fa__session_t *s, fa__reply_to_t to, const fa_call_t *c, int code,
                          const char *message);
/* A batch of n elements (protocol 2025-03-26), held open until fa__batch_done for the +1. */
fa__batch_t *fa__batch_new(size_t n);
void fa__batch_done(fa__session_t *s, fa__batch_t *b);
/* Drops a batch's claim without output (its session closed). */
void fa__batch_release(fa__batch_t *b);

/* ---- engine.c (loop thread): messages in ---- */
void fa__session_on_line(fa__session_t *s, const char *text, size_t len);
void fa__session_on_toobig(fa__session_t *s, size_t len);
/* ---- methods.c: the method families (tools, resources, prompts, completion) ---- */
typedef void (*fa__method_fn)(fa__session_t *s, fa__reply_to_t to, const json_t *id,
                              json_t *params);
void fa__do_tools_list(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params);
void fa__do_tools_call(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params);
void fa__do_resources_list(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params);
void fa__do_templates_list(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params);
void fa__do_resources_read(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params);
void fa__do_resources_subscribe(fa__session_t *s, fa__reply_to_t to, const json_t *id,
                                json_t *params);
void fa__do_resources_unsubscribe(fa__session_t *s, fa__reply_to_t to, const json_t *id,
                                  json_t *params);
void fa__do_prompts_list(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params);
void fa__do_prompts_get(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params);
void fa__do_complete(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params);
/* skills.c: skills/list, skills/get, resources/directory/read (SEP-2640) */
void fa__do_skills_list(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params);
void fa__do_skills_get(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params);
void fa__do_directory_read(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params);

/* ---- outreq.c (loop thread): requests we send to the client ---- */
/* Sends a call's request to its session's client (or answers it with an error at once). Takes
 * r. */
void fa__server_on_request(fa_server_t *srv, fa__outreq_t *r);
/* The client answered one of our requests. */
void fa__session_on_response(fa__session_t *s, const json_t *id, const json_t *result,
                             const json_t *error);
/* Answers every request still awaiting the client with an error (shutdown, session closed). */
void fa__session_fail_requests(fa__session_t *s, int code, const char *message);
void fa__outreq_free(fa__outreq_t *r);
/* Answers r with a JSON-RPC error object and frees it. */
void fa__outreq_answer(fa__outreq_t *r, int code, const char *message);

/* ---- modern era (loop thread): mrtr.c, listen.c, modern.c ---- */
/* The modern request being dispatched (session->req): what its _meta said. */
typedef struct fa__mreq_s {
    const json_t *caps; /* borrowed: _meta clientCapabilities */
    int log_level;      /* FA_MCP_NLOG_LEVELS when the request named none: no log messages */
    fa__mrtr_t *mrtr;   /* prepared by an MRTR-capable method, taken by the call it starts */
} fa__mreq_t;

/* How long a call that asked the client something keeps collecting further questions before
 * its input_required result goes out: tools that ask several things at once (asyncio.gather)
 * post them within microseconds of each other; 2 ms gathers them without delaying a single
 * question noticeably. */
#define FA_MCP_MRTR_GATHER_MS 2

/* Reads inputResponses/requestState of an MRTR-capable request (tools/call, prompts/get,
 * resources/read) into s->req->mrtr. `name` is the tool/prompt name or resource uri, `args` the
 * arguments it is bound to (may be NULL). 0, or -1 after replying with -32602. */
int fa__mrtr_prepare(fa__session_t *s, fa__reply_to_t to, const json_t *id, const json_t *params,
                     const char *method, const char *name, const json_t *args);
void fa__mrtr_free(fa__mrtr_t *m);
/* Shutdown: a call still gathering questions gets errors for them and leaves the gather list. */
void fa__mrtr_abandon(fa__mrtr_t *m);
/* A modern call asked the client something (fa_call_request): answer it from the retry's
 * answers, or collect it for the input_required result. Takes r. */
void fa__mrtr_on_request(fa__session_t *s, fa_call_t *c, fa__outreq_t *r);
/* A modern call came back (running = 0) or its gather window ended (1) while it had questions
 * for the client: its input_required result goes out now. s may be NULL (session gone). */
void fa__mrtr_finish(fa__session_t *s, fa_call_t *c, int running);
/* fa_call_flush_requests reached the loop: the questions gathered so far are this round's. */
void fa__mrtr_flush(fa__session_t *s, fa_call_t *c);
/* The modern_timer callback's work: finish gather windows that ended, reap exchanges. */
void fa__modern_on_timer(fa_server_t *srv);
/* Closes the sessions of HTTP exchanges that ended (modern.c). */
void fa__modern_reap(fa_server_t *srv);
/* The client capability a server-to-client method needs, or NULL (outreq.c). */
const char *fa__needed_capability(const char *method);
void fa__modern_arm(fa_server_t *srv, uint64_t delay_ms);
/* Answers a call ahead of its tool (MRTR): writes `result` (borrowed), or when it is NULL the
 * error (code, message, data borrowed), as its response and, when `running`, cancels the tool;
 * the call is freed when it comes back. */
void fa__session_answer_call(fa__session_t *s, fa_call_t *c, const json_t *result, int code,
                             const char *message, const json_t *data, int running);
/* Decorates a modern result (borrowed, modified): resultType, _meta serverInfo. */
int fa__modern_decorate(const fa_server_t *srv, json_t *result);

/* subscriptions/listen (listen.c) */
void fa__do_listen(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params);
/* notifications/cancelled for a listen stream: 1 if it was one (dropped silently). */
int fa__listen_cancel(fa__session_t *s, const char *id_text, size_t id_len);
/* Sends the list_changed notifications in `what` to every matching stream. */
void fa__listen_broadcast(fa_server_t *srv, unsigned what);
/* Ends every listen stream of a session with its final result (server shutdown). */
/* notifications/resources/updated {uri} on the session's listen streams that named uri. */
void fa__listen_resource_updated(fa__session_t *s, const char *uri);
void fa__listen_end_all(fa__session_t *s);
void fa__listen_free(fa__session_t *s);

/* ---- tasks.c (loop thread): the tasks extension (tasks.h) ---- */
/* Whether per-request client capabilities declare the tasks extension. */
int fa__tasks_declared(const json_t *caps);
/* Replies -32021 naming the tasks extension as the missing capability. */
void fa__tasks_reply_required(fa__session_t *s, fa__reply_to_t to, const json_t *id,
                              const char *what);
/* Runs a tools/call of the modern request being dispatched as a task and answers it with the
 * CreateTaskResult (or an error). args stolen; s->req->mrtr (the MRTR answers a retry carried)
 * is taken. */
void fa__task_start(fa__session_t *s, fa__reply_to_t to, const json_t *id, fa__tool_t *tool,
                    json_t *args);
/* A task's call asked the client something (outreq.c): answer it from the MRTR answers the
 * task was created with, or make it a pending inputRequest. Takes r. 1 if s is the task
 * session (r handled), else 0. */
int fa__task_on_request(fa__session_t *s, fa_call_t *c, fa__outreq_t *r);
void fa__do_tasks_get(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params);
void fa__do_tasks_update(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params);
void fa__do_tasks_cancel(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params);
/* The modern timer's work for tasks: forget expired ones, re-arm for the next. */
void fa__tasks_on_timer(fa_server_t *srv);
/* fa_server_free: the task table. */
void fa__tasks_engine_free(fa_server_t *srv);

/* mrtr.c: a retry's answer for this question, if the earlier rounds gave one in the order asked:
 * r is answered and freed, 1; else 0 (r untouched). */
int fa__mrtr_take_answer(fa__mrtr_t *m, fa__outreq_t *r);

/* reply.c: an error with data (borrowed, may be NULL). */
void fa__reply_error_data(fa__session_t *s, fa__reply_to_t to, const json_t *id, int code,
                          const json_t *data, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* engine.c: one parsed message (borrowed) for a session, whatever its era. */
void fa__session_on_message(fa__session_t *s, json_t *msg);

/* ---- call.c (any thread) ---- */
/* Worker job entry: runs the tool for one call. */
void fa__call_run(void *job, void *ctx);
void fa__call_free(fa_call_t *call);

/* ---- server.c ---- */
/* Items held for blocked clients, in all, past which the loop stops draining the completion
 * queue (tool threads then wait for room in it: backpressure instead of memory). */
#define FA__HELD_STALL 4096
/* Delivers what is in the completion queue now (loop thread). */
void fa__server_drain(fa_server_t *srv);
/* Begins a graceful shutdown (as fa_server_close without a callback). Loop thread. */
void fa__server_shutdown(fa_server_t *srv, const char *why);
/* The session's transport can take output again: deliver what was held for it. */
void fa__session_writable(fa__session_t *s);
/* For fa__session_close: a session closed while the server is closing; finishes the close when
 * it was the last. */
void fa__server_maybe_closed(fa_server_t *srv);
/* For fa__session_close: disposes of the items held for the session. */
void fa__session_release_held(fa__session_t *s);
/* Hands a finished call or a notification to the loop (any thread). Returns 0, or FA_ESTATE when
 * the loop is gone (the item was not queued; the caller frees it). */
int fa__server_post(fa_server_t *srv, void *item);
/* Queues a call for the workers (loop thread). Parked workers are woken once, at the end of the
 * loop iteration, however many calls were queued in it. Returns 0 or FA_EFULL. */
int fa__server_submit(fa_server_t *srv, fa_call_t *call);
/* Re-arms the per-call timeout timer (loop thread). */
void fa__server_arm_call_timer(fa_server_t *srv, uint64_t deadline_ms);

#endif
