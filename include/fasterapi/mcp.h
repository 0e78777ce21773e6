/* fasterapi/mcp.h: an MCP server with tools written in C, served over stdio (and, through the
 * transports built on the same engine, over HTTP).
 *
 *   fa_server_options_t opts;
 *   fa_server_options_init(&opts);
 *   opts.name = "demo";
 *   fa_server_t *srv;
 *   fa_server_new(&srv, &opts);
 *   fa_tool_def_t echo = {.name = "echo", .description = "Echo the text back",
 *                         .input_schema = "{\"type\":\"object\",\"properties\":"
 *                                         "{\"text\":{\"type\":\"string\"}},\"required\":[\"text\"]}",
 *                         .cb = echo_cb};
 *   fa_server_add_tool(srv, &echo);
 *   int rc = fa_server_run_stdio(srv);   // returns at EOF on stdin or SIGINT/SIGTERM
 *   fa_server_free(srv);
 *
 * Or on a libuv loop you own, in libuv's style:
 *
 *   fa_server_start(srv, loop);          // then attach transports; uv_run(loop, ...)
 *   fa_server_close(srv, on_closed);     // graceful: on_closed fires once everything is closed
 *
 * Threads. fa_server_new/add_tool/start/close/run/free are called from one thread, the "owner"
 * (run blocks it: it becomes the I/O loop; with start, the owner is the loop's thread). Tool
 * callbacks run on the server's worker threads (opts.workers of them), one call at a time per
 * worker. A call is finished exactly once, by fa_call_complete, fa_call_fail or fa_call_error, from
 * any thread, either inside the callback or later; after that the fa_call_t must not be touched.
 * fa_call_log/progress/is_cancelled may be called from any thread until the call is finished.
 * fa_server_stop may be called from any thread or a signal handler-free context at any time.
 *
 * Ownership words follow jansson: "steals" means the function takes the caller's reference, even
 * when it fails; "borrowed" means the caller must not decref it and it is valid only as documented.
 */
#ifndef FASTERAPI_MCP_H
#define FASTERAPI_MCP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "fasterapi/common.h"

/* libuv's loop (uv_loop_t), declared here so that this header does not pull <uv.h>, which needs
 * POSIX feature macros, into every embedder's -std=c11 build. */
struct uv_loop_s;

/* JSON-RPC 2.0 and MCP error codes (JSON-RPC 2.0 §5.1; MCP schema 2025-11-25). */
#define FA_RPC_PARSE_ERROR (-32700)
#define FA_RPC_INVALID_REQUEST (-32600)
#define FA_RPC_METHOD_NOT_FOUND (-32601)
#define FA_RPC_INVALID_PARAMS (-32602)
#define FA_RPC_INTERNAL_ERROR (-32603)
/* Implementation-defined range -32000..-32099: */
#define FA_RPC_SERVER_OVERLOADED (-32000) /* a queue or in-flight limit is full; retry later */
#define FA_RPC_SHUTTING_DOWN (-32001)     /* the server stopped before the call finished */
#define FA_RPC_REQUEST_TIMEOUT (-32003)   /* a non-tool request (resources/read, ...) timed out */
#define FA_MCP_RESOURCE_NOT_FOUND (-32002)
#define FA_MCP_URL_ELICITATION_REQUIRED (-32042)
/* Protocol 2026-07-28 (research/spec_2026.md §6): headers disagree with the body or are missing;
 * the request needs a client capability the client did not declare (data.requiredCapabilities,
 * a ClientCapabilities object such as {"sampling":{}}); the claimed version is not supported
 * (data {supported, requested}). */
#define FA_RPC_HEADER_MISMATCH (-32020)
#define FA_RPC_MISSING_CAPABILITY (-32021)
#define FA_RPC_UNSUPPORTED_VERSION (-32022)

typedef struct fa_server_s fa_server_t;
typedef struct fa_call_s fa_call_t;

/* Limits: named, with the reason for each default; every one is an option below. */
/* An incoming stdio line may carry large arguments or a base64 file: 16 MiB. */
#define FA_MCP_MAX_MESSAGE (16u * 1024u * 1024u)
/* Longest line we send. The official TypeScript SDK client (1.32.2) closes the connection when a
 * line reaches 10 MiB (its ReadBuffer limit), so a bigger tool result becomes an isError result
 * naming the size instead of a line the client cannot read. */
#define FA_MCP_MAX_RESULT (10u * 1024u * 1024u - 4096u)
/* JSON nesting deeper than any real tool argument; bounds recursion in validation/conversion. */
#define FA_RPC_MAX_DEPTH 64
/* Elements in one JSON-RPC batch (only protocol 2025-03-26 has batches). */
#define FA_RPC_MAX_BATCH 256
/* Calls handed to the workers at once per server; also the job queue's capacity (power of 2). */
#define FA_MCP_MAX_INFLIGHT 4096
/* Calls accepted beyond max_inflight, waiting for a slot (they can still be cancelled, and pings
 * and cancellations are still read). Beyond this, the transport stops reading (backpressure). */
#define FA_MCP_MAX_QUEUED 4096
/* Output queued to a slow client before the server stops reading new requests (backpressure). */
#define FA_STDIO_MAX_PENDING_OUTPUT (8u * 1024u * 1024u)
/* Sessions open at once (stdio has one; each HTTP client of the 2025 era has its own). */
#define FA_MCP_MAX_SESSIONS 10000
/* Tools per tools/list page. */
#define FA_MCP_PAGE_SIZE 100
/* URIs one session may watch with resources/subscribe: a client watching more is misbehaving, and
 * the set lives as long as the session. */
#define FA_MCP_MAX_SUBSCRIPTIONS 1024
/* How long shutdown waits for running calls before answering them with an error. */
#define FA_SHUTDOWN_TIMEOUT_MS 5000
/* Tasks (extension io.modelcontextprotocol/tasks) kept at once, running or ended: each may hold
 * a running call and, once ended, its result until it expires, so the count bounds both. */
#define FA_MCP_MAX_TASKS 1024
/* A task's life from its creation (its ttlMs): long enough for human-scale jobs and for a
 * client to come back for the result, short enough that results do not pile up. */
#define FA_MCP_TASK_TTL_MS (10u * 60u * 1000u)

typedef struct {
    const char *name;         /* serverInfo.name (default "fasterapi") */
    const char *version;      /* serverInfo.version (default FasterAPI's version) */
    const char *title;        /* serverInfo.title, optional */
    const char *instructions; /* InitializeResult.instructions, optional */
    int workers;              /* worker threads running tool callbacks; 0 = number of CPUs */
    size_t max_message;  /* bytes per incoming message (stdio line); default FA_MCP_MAX_MESSAGE */
    size_t max_result;   /* bytes per outgoing message; default FA_MCP_MAX_RESULT */
    int max_depth;       /* JSON nesting; default FA_RPC_MAX_DEPTH */
    size_t max_batch;    /* elements per batch; default FA_RPC_MAX_BATCH */
    size_t max_inflight; /* per server; default FA_MCP_MAX_INFLIGHT, rounded up to a power of 2 */
    size_t max_session_inflight;  /* per session; default (0) = max_inflight */
    size_t max_queued;            /* per session; default FA_MCP_MAX_QUEUED */
    size_t max_sessions;          /* default FA_MCP_MAX_SESSIONS */
    size_t max_pending_output;    /* default FA_STDIO_MAX_PENDING_OUTPUT */
    size_t page_size;             /* default FA_MCP_PAGE_SIZE */
    unsigned shutdown_timeout_ms; /* default FA_SHUTDOWN_TIMEOUT_MS */
    unsigned tool_timeout_ms;     /* 0 = no per-call timeout (default) */
    int handle_signals; /* 1: SIGINT/SIGTERM shut the server down gracefully (a second one skips
                           the wait). Default 0: the library installs no signal handler. */
    /* Protocol 2026-07-28 multi round-trip requests: the requestState a tool's questions are
     * answered against is signed (HMAC-SHA256) with a random per-process key, or, when this names
     * a file (32 to 4096 bytes of secret), with a key derived from it, so that several instances
     * behind a load balancer accept each other's state. NULL (default): per-process key. */
    const char *state_key_file;
    size_t max_tasks;     /* tasks extension: default (or 0) FA_MCP_MAX_TASKS */
    unsigned task_ttl_ms; /* tasks extension: default (or 0) FA_MCP_TASK_TTL_MS */
} fa_server_options_t;

/* Fills every field with its default. */
FA_EXTERN void fa_server_options_init(fa_server_options_t *opts);

/* Creates a server; opts may be NULL for defaults (strings are copied). Returns 0 or FA_ENOMEM /
 * FA_EINVAL. Owner thread. */
FA_EXTERN int fa_server_new(fa_server_t **out, const fa_server_options_t *opts);

/* Frees a server that is not running. Owner thread. */
FA_EXTERN void fa_server_free(fa_server_t *srv);

/* ---- tools ---- */

/* A tool callback. Runs on a worker thread. `args` is borrowed and valid until the call is
 * finished; it is the request's `arguments` object ({} when absent), already validated against
 * the tool's input schema. The callback finishes the call (now or later, any thread). */
typedef void (*fa_tool_cb)(fa_call_t *call, const json_t *args, void *data);

typedef struct {
    const char *name;          /* required: 1-128 chars of [A-Za-z0-9_.-] (SEP-986) */
    const char *title;         /* optional */
    const char *description;   /* optional but recommended (clients show it to the model) */
    const char *input_schema;  /* JSON text of a JSON Schema with root "type":"object";
                                  NULL = {"type":"object"} (any arguments) */
    const char *output_schema; /* JSON text, optional: the tool returns structuredContent */
    const char *annotations;   /* JSON text of ToolAnnotations, optional */
    fa_tool_cb cb;             /* required */
    void *data;                /* passed to cb */
    unsigned flags;            /* FA_TOOL_* */
    /* Tasks extension (io.modelcontextprotocol/tasks): NULL or "forbidden" (never a task),
     * "optional" (a task when the request declares the extension), "required" (only as a task;
     * other requests get -32021). Served as the Tool's execution.taskSupport. */
    const char *task_support;
} fa_tool_def_t;

/* The callback never blocks and finishes its call before it returns (a lookup, a computation of
 * microseconds): it runs on the I/O thread, which saves the hand-off to a worker thread and back
 * (the larger part of a sequential round trip). A callback with this flag that returns without
 * finishing still works: whoever finishes the call later delivers it as usual. */
#define FA_TOOL_NONBLOCKING 1u

/* Registers a tool (strings and schemas are copied). Returns 0, FA_EEXIST (name taken),
 * FA_EINVAL (bad name, missing cb), FA_ESCHEMA (schema text is not a JSON object with
 * "type":"object", or uses a keyword form the validator rejects) or FA_ENOMEM. Owner thread,
 * before fa_server_run_stdio. */
FA_EXTERN int fa_server_add_tool(fa_server_t *srv, const fa_tool_def_t *def);

/* ---- running ---- */

/* Starts the server on a loop the caller owns (and runs): the executor's threads, the completion
 * wake-up and timers are created on it; transports attach sessions afterwards. Returns 0,
 * FA_ESTATE (already running) or a negative FA_E* code. Owner thread = the loop's thread. */
FA_EXTERN int fa_server_start(fa_server_t *srv, struct uv_loop_s *loop);

typedef void (*fa_server_close_cb)(fa_server_t *srv);

/* Graceful shutdown, like fa_server_stop, and `cb` (may be NULL) fires on the loop thread once
 * every call has finished or been answered (shutdown_timeout_ms), every session and handle is
 * closed and the executor is joined; then the server may be started again or freed. Loop
 * thread. */
FA_EXTERN void fa_server_close(fa_server_t *srv, fa_server_close_cb cb);

/* Serves MCP over stdin/stdout (newline-delimited JSON-RPC) on the calling thread, on a loop of
 * its own, until EOF on stdin, fa_server_stop, or SIGINT/SIGTERM when opts.handle_signals is set;
 * then finishes running calls (up to shutdown_timeout_ms), flushes stdout and returns 0. Returns
 * a negative FA_E* code if stdio cannot be set up. Nothing but protocol bytes is written to
 * stdout; logs go to stderr. SIGPIPE, when it still has its default action, is set to ignored
 * (a client closing its end must give EPIPE, not kill the process); no handler is installed. */
FA_EXTERN int fa_server_run_stdio(fa_server_t *srv);

/* Same, on the given file descriptors (tests, embedding behind another transport). */
FA_EXTERN int fa_server_run_fds(fa_server_t *srv, int in_fd, int out_fd);

/* Asks a running server to shut down as on SIGTERM. Any thread. Returns 0 or FA_ESTATE. */
FA_EXTERN int fa_server_stop(fa_server_t *srv);

/* ---- finishing a call (any thread, exactly once) ---- */

/* Finishes with a CallToolResult object ({"content":[...], "structuredContent":..., "isError":
 * ...}); steals `result`. A NULL or non-object result becomes a JSON-RPC internal error.
 * Returns 0, or FA_EALREADY if the call was already finished (result is released). */
FA_EXTERN int fa_call_complete(fa_call_t *call, json_t *result);

/* Finishes with a tool execution error: {"content":[{"type":"text","text":message}],
 * "isError":true}, which the model can read and react to. */
FA_EXTERN int fa_call_fail(fa_call_t *call, const char *message);

/* Finishes with a JSON-RPC error (a protocol error, not a tool failure); steals `data` (may be
 * NULL). */
FA_EXTERN int fa_call_error(fa_call_t *call, int code, const char *message, json_t *data);

/* Sends notifications/message {level, logger, data} to the client if `level` is at or above the
 * level it set with logging/setLevel (default "info"). level is an RFC 5424 name ("debug",
 * "info", "notice", "warning", "error", "critical", "alert", "emergency"); steals `data`.
 * Returns 0, FA_EINVAL (bad level), FA_EALREADY (call finished) or FA_ENOMEM. */
FA_EXTERN int fa_call_log(fa_call_t *call, const char *level, const char *logger, json_t *data);

/* Sends any other notification on behalf of a running call, in the call's place in the stream
 * (notifications/resources/updated, notifications/tools/list_changed, ...; the Python host's
 * ctx.session uses it). method must start with "notifications/"; params is an object or NULL
 * and is stolen. Dropped, like log messages, once the call is cancelled.
 * notifications/resources/updated needs params.uri (else FA_EINVAL) and reaches the client only
 * if its session subscribed to that uri (resources/subscribe). Returns 0, FA_EINVAL,
 * FA_EALREADY (call finished), FA_EMSGSIZE (over max_result) or FA_ENOMEM. */
FA_EXTERN int fa_call_notify(fa_call_t *call, const char *method, json_t *params);

/* Sends notifications/progress for this call if the request carried _meta.progressToken
 * (otherwise does nothing and returns 0). total < 0 and message NULL are omitted. */
FA_EXTERN int fa_call_progress(fa_call_t *call, double progress, double total, const char *message);

/* A client's answer to a request the server sent (fa_call_request): exactly one of result and
 * error is non-NULL (borrowed, valid during the callback). Runs on the server's loop thread and
 * must not block; hand the answer to your own thread if needed. */
typedef void (*fa_response_cb)(void *arg, const json_t *result, const json_t *error);

/* Sends a request to the client on behalf of a running call (elicitation/create,
 * sampling/createMessage, roots/list, ...); steals `params` (may be NULL). `cb` fires exactly
 * once: with the client's answer, or with an error object when the client did not declare the
 * capability the method needs (-32601), when the session ends first (-32001), or when the
 * request cannot be sent. Any thread, until the call is finished. Returns 0, FA_EALREADY (call
 * finished; cb not called) or FA_ENOMEM (cb not called). */
FA_EXTERN int fa_call_request(fa_call_t *call, const char *method, json_t *params,
                              fa_response_cb cb, void *arg);

/* Streamable HTTP (protocol 2025-11-25+): closes the connection carrying this call's SSE stream
 * now, before the result (SSE polling, SEP-1699); the client reconnects with GET and
 * Last-Event-ID after the `retry` delay and gets what it missed, then the result. Everything sent
 * before this is delivered first. Does nothing on stdio or for older protocol versions (their
 * clients may not resume). Any thread, until the call is finished. 0, FA_EALREADY, FA_ENOMEM. */
FA_EXTERN int fa_call_close_stream(fa_call_t *call);

/* The same with the key under which the question appears in a 2026-07-28 input_required result
 * (`inputRequests.<key>`; NULL: the engine names it "r<n>"). In that era the engine never sends
 * requests: the first time a tool asks, the request is answered with input_required (the
 * callback gets an error and the call's own result is discarded); the client retries with its
 * answers and the tool runs again, and then each request, in the order asked, is answered at
 * once with the client's answer. A request needing a capability the client did not declare
 * in that request ends the call with -32021. Legacy sessions send a real request, as above. */
FA_EXTERN int fa_call_request_keyed(fa_call_t *call, const char *key, const char *method,
                                    json_t *params, fa_response_cb cb, void *arg);

/* The tool has sent every request it sends before it waits for answers (the end of a burst,
 * e.g. after starting elicitation, sampling and roots/list at once). In the 2026-07-28 era the
 * engine then answers input_required with all of them at once, instead of after a short gather
 * window; the Python host calls it at the end of each event-loop iteration that sent requests.
 * Harmless elsewhere. Any thread, until the call is finished. 0, FA_EALREADY, FA_ENOMEM. */
FA_EXTERN int fa_call_flush_requests(fa_call_t *call);

/* The capabilities the client declared (ClientCapabilities: in initialize, or in this request's
 * _meta in protocol 2026-07-28); borrowed, valid until the call is finished; read only. */
FA_EXTERN const json_t *fa_call_client_capabilities(const fa_call_t *call);

/* List-changed notifications to the clients listening (protocol 2026-07-28
 * subscriptions/listen): any thread, any time while running. Returns 0 or FA_ESTATE. */
#define FA_MCP_CHANGED_TOOLS 1u
#define FA_MCP_CHANGED_PROMPTS 2u
#define FA_MCP_CHANGED_RESOURCES 4u
FA_EXTERN int fa_server_notify_changed(fa_server_t *srv, unsigned what);

/* Sends notifications/resources/updated {uri} to every session whose client subscribed to `uri`
 * (resources/subscribe, 2025 era), on its standalone stream (Streamable HTTP: the GET stream,
 * kept in its replay ring until the client opens one), and on every 2026-07-28
 * subscriptions/listen stream that named it in resourceSubscriptions, e.g. when a file or a row
 * behind a resource changed. Clients that did not subscribe get nothing. Any thread, any time while
 * running (fa_call_notify sends to the calling session only). Returns 0, FA_EINVAL (uri NULL),
 * FA_ESTATE (not running) or FA_ENOMEM. */
FA_EXTERN int fa_server_notify_resource_updated(fa_server_t *srv, const char *uri);

/* True once the client cancelled the call (notifications/cancelled) or it timed out. A
 * cancelled call must still be finished; its result is discarded, as the spec asks. */
FA_EXTERN int fa_call_is_cancelled(const fa_call_t *call);

/* The tool name this call is for (borrowed, valid until the call is finished). */
FA_EXTERN const char *fa_call_tool_name(const fa_call_t *call);

/* ---- content helpers (new references; NULL on allocation failure or invalid UTF-8) ---- */

/* {"type":"text","text":text} */
FA_EXTERN json_t *fa_content_text(const char *text);

/* {"content":[{"type":"text","text":text}]} : the usual tool result. */
FA_EXTERN json_t *fa_result_text(const char *text);

/* {"content":[{"type":"text","text":<structured as JSON text>}], "structuredContent":structured}
 * for tools with an output schema (the text block keeps older clients working, as the spec
 * suggests). Steals `structured`. */
FA_EXTERN json_t *fa_result_structured(json_t *structured);

#endif
