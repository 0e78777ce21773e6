/* mcp/modern.h (internal): the 2026-07-28 ("modern") era of MCP beside the 2025 ("legacy") era,
 * in one engine (research/spec_2026.md §1).
 *
 * Legacy traffic is a session opened by `initialize`. Modern traffic is stateless: every request
 * carries its own `_meta` envelope (the claim `io.modelcontextprotocol/protocolVersion`, the
 * client's capabilities, optional clientInfo and logLevel). On stdio the first message pins the
 * era of the process (engine.c, spec_2026.md §1.3). On Streamable HTTP each POST is classified
 * on its own (fa__mcp_http_era, §1.2) and a modern one is served by fa__mcp_modern_handle as a
 * one-message exchange on an ephemeral session (modern.c).
 *
 * ======================== THE CONTRACT WITH THE STREAMABLE HTTP ENDPOINT ========================
 *
 *   int fa__mcp_http_era(const char *body, size_t len, const char *protocol_version_header,
 *                        int max_depth, json_t **parsed);
 *     Pure, any thread. For a POST body: FA__ERA_LEGACY or FA__ERA_MODERN, by the body-first
 *     rule of spec_2026.md §1.2 (array -> legacy; response -> legacy; initialize without a claim
 *     -> legacy; claim present -> modern, even with an Mcp-Session-Id header, which a modern
 *     request ignores; no claim but a header naming >= 2026-07-28 -> modern (it will get
 *     400/-32602); otherwise legacy). *parsed receives the parsed message (new reference) when
 *     the function had to parse it, else NULL: pass it on to fa__mcp_modern_handle to save a
 *     parse. A body that does not parse is legacy unless the header names a modern version.
 *     GET and DELETE never come here: they are legacy (§1.2 step 1).
 *
 *   int fa__mcp_modern_handle(fa_server_t *srv, const char *body, size_t len, json_t *msg,
 *                             const fa__mcp_headers_t *hdrs, const fa__mcp_modern_ops_t *ops,
 *                             void *ctx, fa__mcp_exchange_t **out);
 *     Loop thread of a running server. Serves one modern POST:
 *       body/len  the raw body (used only when msg is NULL);
 *       msg       the parsed message from fa__mcp_http_era, or NULL; stolen;
 *       hdrs      MCP-Protocol-Version, Mcp-Method, Mcp-Name (NUL-terminated, NULL when the
 *                 header is absent; surrounding SP/HTAB may be left in, they are trimmed here)
 *                 and every Mcp-Param-* header (name without the "Mcp-Param-" prefix);
 *                 borrowed, read during the call only;
 *       ops/ctx   where the answer goes (below); ops borrowed, must outlive the exchange.
 *     It runs the header ladder (fa__mcp_ladder, §1.4), then the method. The answer comes
 *     through ops->emit, exactly one final emit per exchange:
 *       FA__EMIT_JSON     (final) status + one JSON-RPC message: answer with Content-Type
 *                         application/json. Status: 200; 400 for -32600/-32700/-32020/-32021/
 *                         -32022 and an envelope -32602; 404 for -32601.
 *       FA__EMIT_ACCEPTED (final) a notification was accepted: 202, no body.
 *       FA__EMIT_EVENT    a message that precedes the response (progress, log, a listen
 *                         stream's notifications): the first one turns the answer into
 *                         200 text/event-stream; send each as one SSE event.
 *       FA__EMIT_END      (final) the last message of an open stream (the response, or the
 *                         result that ends a subscriptions/listen stream): send it, end the
 *                         stream.
 *     Emits may happen inside fa__mcp_modern_handle (then *out is set to NULL and the exchange
 *     is over when it returns) or later on the loop thread (*out is the exchange; it stays
 *     valid until the final emit returns). A message's bytes are valid during the emit only.
 *     Returns 0, or FA_ESTATE (server not running or shutting down), FA_ELIMIT (session table
 *     full: answer 503), FA_ENOMEM: then nothing was emitted and *out is NULL.
 *
 *   void fa__mcp_modern_abort(fa__mcp_exchange_t *x);
 *     The client went away (connection or stream closed) before the final emit: the request is
 *     cancelled (the tool sees fa_call_is_cancelled), a listen stream is dropped, nothing is
 *     emitted any more, and x is freed at the next safe point. Loop thread. Not from inside an
 *     emit (there the exchange is ending anyway).
 *
 * State: all three are implemented in modern.c and tested (tests/mcp/test_modern.c); the
 * engine parts they drive (discover, _meta, resultType, cache hints, MRTR, listen) are shared
 * with stdio.
 * ================================================================================================
 *
 * Thread affinity: the pure functions (era, envelope, ladder, base64) run on any thread; the
 * rest on the server's loop thread.
 */
#ifndef FA_MCP_MODERN_H
#define FA_MCP_MODERN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "fasterapi/mcp.h"

/* The modern revision, and the versions a modern claim may name. server/discover lists exactly
 * these in supportedVersions and every -32022 lists them in data.supported (the suite checks
 * that one is a subset of the other; spec_2026.md §3, §13.2). */
#define FA_MCP_MODERN_VERSION "2026-07-28"
extern const char *const fa__mcp_modern_versions[];
extern const size_t fa__mcp_nmodern_versions;

/* The reserved _meta keys of the envelope (basic/index.mdx §_meta). */
#define FA_META_PROTOCOL_VERSION "io.modelcontextprotocol/protocolVersion"
#define FA_META_CLIENT_CAPS "io.modelcontextprotocol/clientCapabilities"
#define FA_META_CLIENT_INFO "io.modelcontextprotocol/clientInfo"
#define FA_META_LOG_LEVEL "io.modelcontextprotocol/logLevel"
#define FA_META_SERVER_INFO "io.modelcontextprotocol/serverInfo"
#define FA_META_SUBSCRIPTION_ID "io.modelcontextprotocol/subscriptionId"

/* Cache hints on list results (server/utilities/caching): lists are the same for every caller
 * of this process (no per-user tools), so "public" for five minutes, as both reference servers
 * do; resources/read is "private" (a read may be per user) and immediately stale; discover is
 * "private" with 0 (the reference values, conformance_2026.md §3.4). */
#define FA_MCP_LIST_TTL_MS 300000
#define FA_MCP_READ_TTL_MS 0

enum { FA__ERA_UNKNOWN = 0, FA__ERA_PROBE, FA__ERA_LEGACY, FA__ERA_MODERN };

/* ---- the envelope ---- */

typedef enum {
    FA__ENV_NONE = 0,    /* no claim: not a modern request */
    FA__ENV_OK,          /* a well-formed claim of a supported version */
    FA__ENV_MALFORMED,   /* claim present but the envelope is invalid: -32602 */
    FA__ENV_UNSUPPORTED, /* well-formed, version not supported: -32022 */
} fa__env_status_t;

typedef struct {
    fa__env_status_t status;
    const char *version;       /* borrowed: the claimed version (status OK/UNSUPPORTED) */
    const json_t *client_caps; /* borrowed: an object (status OK) */
    const json_t *client_info; /* borrowed, may be NULL */
    int log_level;             /* index into fa__mcp_log_levels, or -1 when absent */
    char why[160];             /* for MALFORMED */
} fa__env_t;

/* Reads params._meta (params borrowed, may be NULL). Pure. */
void fa__mcp_envelope(const json_t *params, fa__env_t *e);
/* Whether params carry the claim key at all (the era signal, spec_2026.md §1.1). */
int fa__mcp_has_claim(const json_t *params);
/* The -32022 data {supported:[...], requested}; new reference or NULL. */
json_t *fa__mcp_unsupported_data(const char *requested);

/* ---- SEP-2243 headers and the validation ladder (spec_2026.md §1.4, §5.1) ---- */

typedef struct {
    const char *name; /* after "Mcp-Param-", matched case-insensitively */
    const char *value;
} fa__mcp_param_hdr_t;

typedef struct {
    const char *protocol_version; /* MCP-Protocol-Version, or NULL */
    const char *method;           /* Mcp-Method, or NULL */
    const char *name;             /* Mcp-Name, or NULL */
    const fa__mcp_param_hdr_t *params;
    size_t nparams;
} fa__mcp_headers_t;

typedef struct {
    int code;     /* 0: passed; else the JSON-RPC error code */
    int status;   /* HTTP status for the error */
    json_t *data; /* new reference or NULL: error.data */
    char message[200];
} fa__ladder_t;

/* The tool's inputSchema for x-mcp-header checks (rung 9), or NULL when there is no such tool
 * (then the method's own validation answers later). */
typedef const json_t *(*fa__tool_schema_fn)(void *arg, const char *name);

/* Runs rungs 2, 4, 3, 3', 7 and 9 of the ladder on one parsed message (borrowed) and the
 * request's headers, in the order spec_2026.md §1.4 gives. Rung 5 (method registry: 404) and 6
 * (params) belong to dispatch; rung 8 (client capabilities) is raised where a capability is
 * needed (MRTR, -32021). Pure. Returns 0 (passed: v->code == 0) or the error code (v filled;
 * the caller owns v->data). */
int fa__mcp_ladder(const json_t *msg, const fa__mcp_headers_t *h, fa__tool_schema_fn schema,
                   void *schema_arg, fa__ladder_t *v);

/* Decodes a header value per SEP-2243: OWS trimmed (RFC 9110 §5.5); `=?base64?<b64>?=` (both
 * markers, case-sensitive) is strict base64 (canonical padding, RFC 4648 §4) of valid UTF-8;
 * anything else is literal. Appends the decoded bytes to out. Returns 0, FA_EINVAL (bad base64
 * or not UTF-8) or FA_ENOMEM. Pure. */
int fa__mcp_header_decode(const char *value, fa__buf_t *out);

/* HTTP status for a JSON-RPC error code produced while serving a modern request
 * (spec_2026.md §6): 404 for -32601, 400 for -32600/-32700/-32020/-32021/-32022, else 200
 * (handler errors stay in-band). The envelope's -32602 is 400 and is decided by the ladder. */
int fa__mcp_status_for_code(int code);

/* ---- HTTP era and the one-message exchange (the contract above) ---- */

int fa__mcp_http_era(const char *body, size_t len, const char *protocol_version_header,
                     int max_depth, json_t **parsed);

typedef enum {
    FA__EMIT_JSON = 0, /* final */
    FA__EMIT_ACCEPTED, /* final */
    FA__EMIT_EVENT,
    FA__EMIT_END /* final */
} fa__emit_t;

typedef struct {
    void (*emit)(void *ctx, fa__emit_t kind, int status, const char *json, size_t len);
} fa__mcp_modern_ops_t;

typedef struct fa__mcp_exchange_s fa__mcp_exchange_t;

int fa__mcp_modern_handle(fa_server_t *srv, const char *body, size_t len, json_t *msg,
                          const fa__mcp_headers_t *hdrs, const fa__mcp_modern_ops_t *ops, void *ctx,
                          fa__mcp_exchange_t **out);
void fa__mcp_modern_abort(fa__mcp_exchange_t *x);

#endif
