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
    FA__HTTP_ERA_ERROR = -1, /* reject: *status / *code / *why say how */
    FA__HTTP_ERA_LEGACY = 0, /* 2025 era: the session machinery */
    FA__HTTP_ERA_MODERN = 1  /* 2026-07-28: fa__mcp_modern_handle */
} fa__http_era_t;

typedef struct {
    int status;      /* HTTP status for FA__HTTP_ERA_ERROR */
    int code;        /* JSON-RPC error code for FA__HTTP_ERA_ERROR */
    const char *why; /* static text for FA__HTTP_ERA_ERROR */
} fa__http_era_error_t;

/* Classifies one HTTP request (spec_2026.md §1.2, first match wins): `method` is the HTTP method,
 * `body` the parsed POST body (NULL for GET/DELETE), `version_header` the MCP-Protocol-Version
 * header (NULL when absent). Pure; any thread. */
fa__http_era_t fa__mcp_classify(const char *method, const json_t *body, const char *version_header,
                                fa__http_era_error_t *err);

/* True when params._meta carries the modern claim key (any value: a malformed claim is still a
 * claim, answered by the modern validator, never silently legacy). */
int fa__mcp_body_has_claim(const json_t *msg);

/* Does an Accept header value (RFC 9110 §12.5.1) admit the media type `type` (e.g.
 * "text/event-stream")? Exact types, "type/" + "*" and "*" + "/" + "*" ranges count; q=0 refuses;
 * NULL admits nothing. Pure. */
int fa__mcp_http_accepts(const char *accept, const char *type);

typedef struct fa__mcp_http_s fa__mcp_http_t;

/* The MCP server an endpoint serves. */
fa_server_t *fa__mcp_http_server(const fa__mcp_http_t *ep);

/* Answers req with `status` and a JSON-RPC error body {"jsonrpc":"2.0","id":null,"error":{code,
 * message}} (application/json). The connection's loop thread, inside the handler. */
void fa__mcp_http_error(fa_http_req_t *req, int status, int code, const char *message);

/* Is `id` a valid node id (options.node_id): 1..FA_MCP_HTTP_NODE_ID_MAX of [A-Za-z0-9_-]? Pure. */
int fa__mcp_http_node_id_ok(const char *id);

/* The endpoint mounted on an MCP server, or NULL. */
fa__mcp_http_t *fa__mcp_http_of(const fa_server_t *mcp);

/* The engine's loop thread (HTTP loop 0): sends a message not tied to any request (a
 * server-initiated notification or request, e.g. list_changed) to one session: on its standalone
 * GET stream, or kept in that stream's ring for the next GET (the 2024-11-05 transport: on its SSE
 * stream). 0, FA_ENOENT (no such session), FA_ENOMEM. */
int fa__mcp_http_notify(fa__mcp_http_t *ep, const char *sid, const char *json, size_t len);

/* ---- the modern era ----
 * A POST classified FA__HTTP_ERA_MODERN is served by the engine's one-message exchange
 * (fa__mcp_modern_handle, mcp/modern.h): http_endpoint.c holds the request, passes the
 * MCP-Protocol-Version, Mcp-Method, Mcp-Name and Mcp-Param-* headers, and turns the exchange's
 * emits into one JSON response, a 202, or an SSE stream; a client that leaves aborts it. Host,
 * Origin, Accept, Content-Type, size and JSON syntax were checked before, as for legacy POSTs. */

#endif
