/* mcp/http_endpoint.h: the Streamable HTTP endpoint's internals (http_endpoint.c): era
 * classification (research/spec_2026.md §1.2) and the hook through which the modern era
 * (2026-07-28, stateless) is served.
 *
 * Layering: this is the mcp layer using the transport layer (HTTP server hooks); the transport
 * never calls up into it.
 */
#ifndef FA_MCP_HTTP_ENDPOINT_H
#define FA_MCP_HTTP_ENDPOINT_H

#include <jansson.h>

#include "fasterapi/http.h"
#include "fasterapi/mcp.h"
#include "fasterapi/mcp_http.h"

/* The first modern protocol revision: versions compare as strings (TS SDK does the same, so an
 * unknown claimed version such as "v999" classifies as modern and is answered -32022). */
#define FA_MCP_MODERN_VERSION "2026-07-28"
/* The claim that marks a modern request: params._meta[<this key>] is present. */
#define FA_MCP_CLAIM_KEY "io.modelcontextprotocol/protocolVersion"

/* JSON-RPC codes of the HTTP era rules (spec_2026.md §6). */
#define FA_MCP_HEADER_MISMATCH (-32020)
#define FA_MCP_UNSUPPORTED_VERSION (-32022)
/* What the TypeScript SDK answers for transport-level refusals (no session, bad headers). */
#define FA_MCP_HTTP_BAD_REQUEST (-32000)
#define FA_MCP_HTTP_NO_SESSION (-32001)

typedef enum {
    FA__ERA_ERROR = -1, /* reject: *status / *code / *why say how */
    FA__ERA_LEGACY = 0, /* 2025 era: the session machinery */
    FA__ERA_MODERN = 1  /* 2026-07-28: fa__mcp_modern_handle */
} fa__era_t;

typedef struct {
    int status;      /* HTTP status for FA__ERA_ERROR */
    int code;        /* JSON-RPC error code for FA__ERA_ERROR */
    const char *why; /* static text for FA__ERA_ERROR */
} fa__era_error_t;

/* Classifies one HTTP request (spec_2026.md §1.2, first match wins): `method` is the HTTP method,
 * `body` the parsed POST body (NULL for GET/DELETE), `version_header` the MCP-Protocol-Version
 * header (NULL when absent). Pure; any thread. */
fa__era_t fa__mcp_classify(const char *method, const json_t *body, const char *version_header,
                           fa__era_error_t *err);

/* True when params._meta carries the modern claim key (any value: a malformed claim is still a
 * claim, answered by the modern validator, never silently legacy). */
int fa__mcp_has_claim(const json_t *msg);

/* Does an Accept header value (RFC 9110 §12.5.1) admit the media type `type` (e.g.
 * "text/event-stream")? Exact types, "type/" + "*" and "*" + "/" + "*" ranges count; q=0 refuses;
 * NULL admits nothing. Pure. */
int fa__mcp_http_accepts(const char *accept, const char *type);

typedef struct fa__mcp_http_s fa__mcp_http_t;

/* The MCP server an endpoint serves. */
fa_server_t *fa__mcp_http_server(const fa__mcp_http_t *ep);

/* Answers req with `status` and a JSON-RPC error body {"jsonrpc":"2.0","id":null,"error":{code,
 * message}} (application/json). Loop 0's thread, inside the handler. */
void fa__mcp_http_error(fa_http_req_t *req, int status, int code, const char *message);

/* The endpoint mounted on an MCP server, or NULL. */
fa__mcp_http_t *fa__mcp_http_of(const fa_server_t *mcp);

/* Loop thread: sends a message not tied to any request (a server-initiated notification or
 * request, e.g. list_changed) to one session: on its standalone GET stream, or kept in that
 * stream's ring for the next GET (the 2024-11-05 transport: on its SSE stream). 0, FA_ENOENT (no
 * such session), FA_ENOMEM. */
int fa__mcp_http_notify(fa__mcp_http_t *ep, const char *sid, const char *json, size_t len);

/* ---- the modern-era hook ----
 *
 * Contract (for the modern-era engine, which replaces the stub in http_modern_stub.c):
 *  - Called on loop 0's thread (the MCP server's loop), from inside the HTTP handler of a POST to
 *    the endpoint path, for a request classified FA__ERA_MODERN; before it, the endpoint has
 *    already checked Host/Origin (403), Accept (406), Content-Type (415), the body size (413)
 *    and that the body is JSON (400/-32700). Nothing else is checked: no session, no
 *    MCP-Protocol-Version, no Mcp-Method/Mcp-Name validation (those are the modern validator's
 *    rungs, spec_2026.md §1.4). An Mcp-Session-Id header, if any, must be ignored.
 *  - `body` is the parsed body (borrowed, valid during the call; a JSON object: arrays are never
 *    modern), `raw`/`raw_len` its bytes (valid during the call).
 *  - The hook must answer req before returning (fa_http_res_send*, fa__mcp_http_error), or take
 *    it over for later: fa_http_req_defer (a JSON answer from any thread) or, on this thread,
 *    fa__http_hold / fa__http_stream_start (transport/http_internal.h) for an SSE answer.
 *  - The stub answers 400 with -32022 "this server does not speak 2026-07-28 yet".
 */
void fa__mcp_modern_handle(fa__mcp_http_t *ep, fa_http_req_t *req, const json_t *body,
                           const char *raw, size_t raw_len);

#endif
