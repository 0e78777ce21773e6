/* fasterapi/mcp_http.h: MCP over Streamable HTTP (protocol 2025-03-26 .. 2025-11-25, sessions)
 * and the deprecated HTTP+SSE transport of 2024-11-05, mounted on an fa_http_server_t.
 *
 *   uv_loop_t loop; uv_loop_init(&loop);
 *   fa_server_t *mcp;          fa_server_new(&mcp, NULL);  ... add tools ...
 *   fa_http_server_t *http;    fa_http_server_new(&http, &hopts);   // io_threads: any
 *   fa_mcp_http_mount(mcp, http, NULL);                 // POST/GET/DELETE /mcp, GET /sse, ...
 *   fa_server_start(mcp, &loop);                        // the same loop ...
 *   fa_http_server_start(http, &loop);                  // ... as the HTTP server's loop 0
 *   uv_run(&loop, UV_RUN_DEFAULT);
 *   // shutdown: fa_server_close(mcp, cb), then in cb fa_http_server_close(http, ...)
 *
 * The endpoint lives as long as the MCP server (fa_server_free frees it); the HTTP server must be
 * closed before the MCP server is freed. The MCP engine runs on loop 0's thread, which must be the
 * MCP server's loop. With io_threads > 1, connections are accepted on every loop; the checks that
 * need no engine state (Host/Origin 403, 405, Accept 406, Content-Type 415, size 413, JSON 400)
 * are answered on the connection's loop, everything else is handed to loop 0 and its answers
 * (JSON, 202s, SSE events and ends) come back to the connection's loop in order; a client that
 * leaves still cancels its calls. One session table: a session's requests may arrive on any loop.
 *
 * Behaviour (README "Streamable HTTP"): POST a JSON-RPC message (a batch with 2025-03-26) ->
 * application/json with the reply, or text/event-stream when the call sends notifications or
 * requests before its result (decided when the first such message comes out); 202 for
 * notifications and responses; GET -> the session's standalone SSE stream (409 for a second one),
 * or with Last-Event-ID the rest of the stream that id names; DELETE -> ends the session.
 * Mcp-Session-Id is minted at initialize (128 random bits, hex, after "<node_id>." when the
 * options name a node). Host and Origin are checked
 * against an allow-list (DNS rebinding) before anything else: 403.
 */
#ifndef FASTERAPI_MCP_HTTP_H
#define FASTERAPI_MCP_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "fasterapi/common.h"
#include "fasterapi/http.h"
#include "fasterapi/mcp.h"

/* Where the endpoint is mounted by default (the path every SDK example uses). */
#define FA_MCP_HTTP_PATH "/mcp"
/* A session nobody used for 30 minutes is ended (its calls cancelled, its memory freed); the
 * TypeScript and Python SDKs keep sessions until DELETE, which leaks with clients that never
 * send one (the conformance suite 0.1.16 never does). */
#define FA_MCP_HTTP_SESSION_IDLE_MS (30u * 60u * 1000u)
/* SSE `retry` sent in the priming event: how long a client waits before resuming a stream the
 * server closed (SEP-1699). One second: quick to resume, no reconnect storm. */
#define FA_MCP_HTTP_RETRY_MS 1000
/* An SSE stream silent this long gets a comment line (": keep-alive"), so nginx's default
 * proxy_read_timeout (60 s) and clients with read timeouts do not cut a stream that waits for a
 * slow tool or for the next notification. */
#define FA_MCP_HTTP_KEEPALIVE_MS 15000u
/* Replay buffer of one SSE stream (events kept for Last-Event-ID): bytes and events. A stream
 * answers one request, so this holds its progress and log traffic many times over. */
#define FA_MCP_HTTP_REPLAY_BYTES (1024u * 1024u)
#define FA_MCP_HTTP_REPLAY_EVENTS 256u
/* Finished POST streams kept per session for a late resume (a client that lost the connection
 * just before the result). */
#define FA_MCP_HTTP_DONE_STREAMS 8u
/* Longest node id (options.node_id). Session ids stay short headers and short nginx map keys:
 * a host name's first label (63) is more than any deployment needs to tell its instances apart. */
#define FA_MCP_HTTP_NODE_ID_MAX 32

typedef struct {
    const char *path;          /* Streamable HTTP endpoint (default FA_MCP_HTTP_PATH) */
    int legacy_sse;            /* also serve the 2024-11-05 HTTP+SSE transport (default 1) */
    const char *sse_path;      /* its GET stream (default "/sse") */
    const char *messages_path; /* its POST endpoint (default "/messages") */
    /* DNS-rebinding protection: Host values ("name:port") and Origins ("http://name:port")
     * accepted besides the defaults (127.0.0.1, localhost and [::1] with the bound port, and the
     * bound host itself). NULL-terminated arrays, copied; "*" accepts any. */
    const char *const *allowed_hosts;
    const char *const *allowed_origins;
    uint64_t session_idle_ms; /* default FA_MCP_HTTP_SESSION_IDLE_MS */
    size_t max_body;          /* bytes per POST body; default: the MCP server's max_message */
    long retry_ms;            /* default FA_MCP_HTTP_RETRY_MS */
    uint32_t keepalive_ms;    /* default FA_MCP_HTTP_KEEPALIVE_MS */
    size_t replay_bytes, replay_events; /* per stream; defaults above */
    /* Several instances behind one proxy: every session id this endpoint mints starts with
     * "<node_id>." so the proxy can send a session's later requests to the instance that holds
     * it (deploy/nginx.conf routes on this prefix). 1..FA_MCP_HTTP_NODE_ID_MAX characters of
     * [A-Za-z0-9_-] ('.' never occurs in it, so the prefix is unambiguous); NULL: bare ids. */
    const char *node_id;
} fa_mcp_http_options_t;

FA_EXTERN void fa_mcp_http_options_init(fa_mcp_http_options_t *o);

/* Registers the endpoint's routes on `http` (before it starts) for the MCP server `mcp` (not
 * running yet or running on http's loop 0). o may be NULL for defaults. Once per MCP server.
 * 0, FA_EINVAL (bad option or path), FA_EEXIST (already mounted), FA_ESTATE (http already
 * started), FA_ENOMEM. */
FA_EXTERN int fa_mcp_http_mount(fa_server_t *mcp, fa_http_server_t *http,
                                const fa_mcp_http_options_t *o);

#endif
