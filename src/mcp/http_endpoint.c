/* http_endpoint.c: MCP over Streamable HTTP, 2025 era (protocol 2025-03-26 .. 2025-11-25, the
 * Mcp-Session-Id sessions), the deprecated HTTP+SSE transport of 2024-11-05, and the era
 * classification that sends 2026-07-28 requests to the modern hook
 * (research/mcp_spec_checklist.md §4-5, research/spec_2026.md §1.2).
 *
 * Model. An HTTP session (hsess_t) is one engine session (fa__session_t) plus the HTTP exchanges
 * that carry its messages. Every POST that carries at least one request becomes a stream record
 * (hstream_t) and its request ids are entered in the session's `rels` map (id text -> stream).
 * The engine writes each outgoing message through the session ops, saying what it is and which
 * request it belongs to (fa__out_info_t); sess_commit routes it:
 *   - the response to a request goes to that request's stream and ends it: as the JSON body of
 *     the held POST when nothing else was sent, or as the last SSE event, then the end;
 *   - a notification or server->client request about a request goes to that request's stream;
 *     the first one turns a held POST into an SSE response (200 text/event-stream, a priming
 *     event with an id and `retry` first, SEP-1699), so progress and logs reach the client in
 *     order and before the result;
 *   - anything unrelated goes to the standalone GET stream (kept in its replay ring while no GET
 *     is connected, and sent at the next GET).
 * Every SSE stream has a number; its events have ids "<stream>-<n>" (unique in the session and
 * naming their stream, spec 2025-11-25 transports) and are kept in a bounded replay ring
 * (transport/sse.h), so a GET with Last-Event-ID resumes exactly the stream it names.
 *
 * The request is held (transport/http_internal.h (4)) rather than deferred: a held request can
 * still become a stream, and it hears the connection close. A client that disconnects from a
 * held POST (JSON mode) gets its calls cancelled; one that disconnects from an SSE stream can
 * resume it (disconnection is not cancellation, spec transports "Streamable HTTP"), and the
 * stream's events wait in its ring.
 *
 * Threads (--io-threads N). The engine (sessions, calls, the modern exchange, this file's
 * session table, streams, rings and links) lives on ONE loop: the MCP server's, which must be
 * the HTTP server's loop 0. Connections are accepted on any of the N loops (SO_REUSEPORT) and
 * stay on their loop for life. A request is handled in two halves:
 *   - the front half (front(), the connection's loop): the checks that need no engine state:
 *     Host/Origin 403, method 405, Accept 406, Content-Type 415, body size 413, JSON syntax and
 *     the era classification 400, a missing Mcp-Session-Id on GET/DELETE 400. It produces an
 *     hin_t: the request as the engine needs it (the headers it reads, the raw body, the parsed
 *     body);
 *   - the engine half (engine(), loop 0): running/stopping 503, sessions, 404, the dispatch.
 * On loop 0 the engine half is called directly with the request itself (zero hops: with N == 1
 * nothing changes). On loop k > 0 the front half holds the request (transport (4)), copies the
 * hin_t's strings and the body into ONE xreq_t message (the parsed body's ownership moves with
 * it) and posts it to loop 0 (transport (3)). Both ends of such an exchange share an xlink_t;
 * the engine writes to it through the same calls as to a local request (hconn_t: a local held
 * request/stream, or a link), and each write becomes an xmsg_t posted back to the connection's
 * loop, which replays it there on the held request: RESPOND (a complete response; final),
 * STREAM (turn the held request into a streaming response), DATA (one chunk: an SSE event),
 * END (end the stream; final), ABORT (close the connection: a message the engine could not
 * allocate). Messages from one thread to one loop arrive in the order posted, so a stream's
 * head, events and end arrive in order. The payload is copied once, into the message.
 *
 * Lifetime of a link. It is reference counted (atomic): one reference for each end, one for
 * each message in flight. Fields are split by owner: `h` (the held request) belongs to the
 * connection's loop, `on_close`/`ctx`/`zdone` to the engine's. The connection's end lets go when
 * a final message is replayed or the connection dies first: then its close callback
 * (proxy_closed) posts CLOSED (embedded in the link, no allocation) to loop 0, where the engine
 * runs the exchange owner's close callback exactly as for a local request (a held POST in JSON
 * mode cancels its calls, an SSE stream detaches and keeps its ring, a modern exchange is
 * aborted) unless it already sent a final message (zdone). The engine's end lets go when it
 * sends a final message or handles CLOSED. Messages for a connection that is gone are dropped
 * on arrival (h is NULL); a post to a loop that has closed its inbox (shutdown) is dropped by
 * the sender. At shutdown (fa_server_close, then fa_http_server_close) the engine answers or
 * ends every exchange (messages drained by each loop before it stops), then each loop ends what
 * is still held (CLOSED to loop 0, which closes its inbox last, after joining the others).
 *
 * Session expiry is swept lazily at each request (no timer handle to close), at most every
 * FA__SWEEP_MS.
 */
#include <ctype.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/map.h"
#include "fasterapi/error.h"
#include "mcp/http_endpoint.h"
#include "mcp/jsonrpc.h"
#include "mcp/modern.h"
#include "mcp/server_internal.h"
#include "transport/http_internal.h"
#include "transport/sse.h"

/* How often (at most) idle sessions are looked for: a second, or half the idle limit when that
 * is shorter (tests use short limits). */
#define FA__SWEEP_MS 1000u
/* Session ids: 128 bits from getrandom, as 32 hex digits (visible ASCII, spec 4.25), after the
 * node id and a '.' when the endpoint has one (options.node_id: a proxy routes a session to the
 * instance that minted it by this prefix; README "Running several instances"). */
#define FA__SID_BYTES 16
#define FA__SID_LEN (2 * FA__SID_BYTES)
#define FA__SID_MAX (FA_MCP_HTTP_NODE_ID_MAX + 1 + FA__SID_LEN)
/* Allowed Host/Origin values, defaults included. */
#define FA__MAX_ALLOW 64

typedef struct hsess_s hsess_t;
typedef struct hstream_s hstream_t;
typedef struct xlink_s xlink_t;

/* Where an exchange's bytes go (engine thread): a request on the engine's own loop (h), or a
 * link to a request held on another loop (x). Both NULL: detached (the client left). */
typedef struct {
    fa__http_stream_t *h;
    xlink_t *x;
} hconn_t;

enum { ST_POST = 0, ST_GET, ST_LEGACY };
enum { M_HOLD = 0, M_SSE, M_DONE };

struct hstream_s {
    hsess_t *hs;
    hstream_t *next; /* in hs->streams */
    uint32_t num;    /* event ids "<num>-<n>" */
    int type;        /* ST_* */
    int mode;        /* M_* */
    hconn_t http;    /* the connection carrying it now; detached when none */
    int primed;      /* ring initialised and the priming event kept */
    fa__sse_replay_t ring;
    uint64_t next_event;
    uint64_t sent_seq; /* ring sequence number of the last event written to a connection */
    char **ids;        /* request id texts registered in hs->rels (owned) */
    size_t *id_lens;
    size_t nids, open; /* registered / still unanswered */
    int batch;         /* the POST body was a batch */
    int any_request;   /* it carried at least one request */
    int initialize;    /* it carried initialize (the answer carries the session id) */
    uint64_t done_seq; /* order in which streams finished (eviction of old ones) */
};

struct hsess_s {
    fa__mcp_http_t *ep;
    hsess_t *next; /* in ep->sessions */
    fa__session_t *s;
    char id[FA__SID_MAX + 1];
    uint64_t last_used;
    hstream_t *streams;
    hstream_t *get; /* the standalone GET stream record, or NULL */
    hstream_t *legacy;
    hstream_t *current; /* the POST being fed to the engine right now */
    fa__map_t rels;     /* request id text -> hstream_t */
    uint32_t next_num;
    uint64_t done_count;
    int paused;
    int dropping; /* output during a cancellation is dropped */
    int doomed;   /* to be ended at the next sweep (its legacy stream closed inside an op) */
    int ending;   /* hsess_end is running: close callbacks only detach */
    int in_op;
    /* The message being written (sess_out .. sess_commit). */
    fa__buf_t msg;
    fa__out_kind_t kind;
    char *rel;
    size_t rel_len, rel_cap;
};

struct fa__mcp_http_s {
    fa_server_t *mcp;
    fa_http_server_t *http;
    char *path, *sse_path, *messages_path;
    int legacy_sse;
    char **hosts, **origins; /* extra allowed values (owned), NULL-terminated */
    int any_host, any_origin;
    uint64_t idle_ms;
    size_t max_body;
    long retry_ms;
    uint32_t keepalive_ms; /* SSE comment after this much silence on a stream */
    size_t replay_bytes, replay_events;
    hsess_t *sessions;
    fa__map_t by_id;                        /* session id -> hsess_t */
    char node[FA_MCP_HTTP_NODE_ID_MAX + 2]; /* "<node id>." or "" */
    size_t sid_len;                         /* every session id of this endpoint is this long */
    uint64_t last_sweep;
    size_t ndoomed; /* sessions marked doomed, ended at the next sweep */
    fa__buf_t scratch;
};

fa_server_t *fa__mcp_http_server(const fa__mcp_http_t *ep) {
    return ep->mcp;
}

/* ---- exchanges across loops (see the top of this file) ---- */

/* Mcp-Param-* headers kept per request; more are ignored (a tool has a handful of parameters). */
#define MODERN_MAX_PARAM_HDRS 32

enum { OP_POST = 0, OP_GET, OP_DELETE, OP_SSE, OP_MESSAGES };
enum { X_RESPOND = 0, X_STREAM, X_DATA, X_END, X_ABORT };

/* One write of the engine to a request held on another loop (engine -> connection). */
typedef struct {
    fa__http_msg_t m; /* first: the inbox hands this back */
    xlink_t *x;
    int op, status;
    const char *ctype, *hdrs; /* NUL-terminated, in the same allocation; NULL when absent */
    const char *body;
    size_t len;
} xmsg_t;

struct xlink_s {
    _Atomic int refs; /* each end, and each message in flight */
    fa__mcp_http_t *ep;
    fa__http_conn_ref_t to; /* the connection's loop */
    /* The connection's loop only. */
    fa__http_stream_t *h; /* the held request (or the stream it became); NULL once let go */
    /* The engine's loop only. */
    fa__http_stream_close_cb on_close; /* the exchange owner's close callback (h is NULL) */
    void *ctx;
    int zdone;    /* a final message went out, or CLOSED was handled */
    int fin_used; /* `fin` was posted (END, or ABORT after a failed allocation) */
    /* Messages that need no allocation, each posted at most once. */
    xmsg_t fin;            /* END or ABORT */
    fa__http_msg_t closed; /* connection -> engine: the client left */
};

/* The request as the engine half needs it (front() fills it; valid during engine() only). */
typedef struct {
    int op; /* OP_* */
    const char *sid, *version, *last_event, *mcp_method, *mcp_name, *query_sid;
    fa__mcp_param_hdr_t params[MODERN_MAX_PARAM_HDRS];
    size_t nparams;
    const char *raw; /* POST body */
    size_t len;
    json_t *body;       /* parsed POST body (owned: engine() releases it) */
    int era;            /* fa__http_era_t of a POST */
    fa_http_req_t *req; /* on the engine's loop: the request itself */
    xlink_t *x;         /* from another loop */
    int answered;       /* x: the engine half answered, held or streamed it */
} hin_t;

/* A request forwarded to the engine (connection -> engine); its strings follow it. */
typedef struct {
    fa__http_msg_t m;
    hin_t in;
} xreq_t;

static void link_unref(xlink_t *x) {
    if (atomic_fetch_sub_explicit(&x->refs, 1, memory_order_acq_rel) == 1)
        free(x);
}

/* Every stream of the endpoint is SSE: a comment line keeps an idle one open through proxies
 * (nginx's proxy_read_timeout, 60 s by default) and clients with read timeouts. */
#define SSE_KEEPALIVE ": keep-alive\n\n"

/* ---- the connection's end (its loop's thread) ---- */

/* The held request's connection died (or the server ends it at shutdown): tell the engine. */
static void proxy_closed(fa__http_stream_t *h, void *ctx) {
    (void)h;
    xlink_t *x = ctx;
    x->h = NULL;
    atomic_fetch_add_explicit(&x->refs, 1, memory_order_relaxed);
    if (fa__http_post(x->ep->http, &x->closed) != 0)
        link_unref(x); /* loop 0 is gone: the engine's end is released by whoever ends it */
    link_unref(x);     /* this end's */
}

/* Replays one engine write on the held request (dropped when the connection is gone). */
static void proxy_msg(fa__http_loop_t *loop, fa__http_conn_t *conn, fa__http_msg_t *m) {
    (void)loop;
    (void)conn; /* x->h says whether the request is still there */
    xmsg_t *msg = (xmsg_t *)m;
    xlink_t *x = msg->x;
    fa__http_stream_t *h = x->h;
    if (h) {
        switch (msg->op) {
        case X_RESPOND:
            x->h = NULL;
            fa__http_held_respond(h, msg->status, msg->ctype, msg->hdrs, msg->body, msg->len);
            link_unref(x);
            break;
        case X_STREAM:
            /* On failure the connection is closed and proxy_closed has run. */
            if (fa__http_held_stream(h, msg->status, msg->ctype, msg->hdrs) == 0)
                fa__http_stream_keepalive(h, x->ep->keepalive_ms, SSE_KEEPALIVE);
            break;
        case X_DATA:
            fa__http_stream_write(h, msg->body, msg->len);
            break;
        case X_END:
            x->h = NULL;
            fa__http_stream_end(h);
            link_unref(x);
            break;
        default: /* X_ABORT: proxy_closed runs, the engine hears it as a client that left */
            fa__http_conn_abort(fa__http_stream_conn(h));
            break;
        }
    }
    if (msg != &x->fin)
        free(msg);
    link_unref(x);
}

/* ---- the engine's end (loop 0) ---- */

/* CLOSED: the owner hears it exactly as a local close callback. */
static void link_closed(fa__http_loop_t *loop, fa__http_conn_t *conn, fa__http_msg_t *m) {
    (void)loop;
    (void)conn;
    xlink_t *x = (xlink_t *)(void *)((char *)m - offsetof(xlink_t, closed));
    if (!x->zdone) {
        x->zdone = 1;
        if (x->on_close)
            x->on_close(NULL, x->ctx);
        link_unref(x); /* the engine's end */
    }
    link_unref(x); /* the message's */
}

static void link_post(xlink_t *x, xmsg_t *msg) {
    msg->m.cb = proxy_msg;
    msg->m.to = x->to;
    msg->x = x;
    atomic_fetch_add_explicit(&x->refs, 1, memory_order_relaxed);
    if (fa__http_post(x->ep->http, &msg->m) != 0) {
        /* That loop has stopped: its connections are gone, and so is this request. */
        if (msg != &x->fin)
            free(msg);
        link_unref(x);
    }
}

/* One engine write to a link (c->x). A final one (X_RESPOND, X_END) detaches c. Never fails
 * for the caller: without memory the connection is aborted and the close comes back. */
static void link_send(hconn_t *c, int op, int status, const char *ctype, const char *hdrs,
                      const void *body, size_t len) {
    xlink_t *x = c->x;
    int final = op == X_RESPOND || op == X_END;
    xmsg_t *msg = NULL;
    if (!x->fin_used) {
        if (op == X_END) {
            msg = &x->fin;
        } else {
            size_t cl = ctype ? strlen(ctype) + 1 : 0, hl = hdrs ? strlen(hdrs) + 1 : 0;
            msg = malloc(sizeof *msg + cl + hl + len);
            if (msg) {
                char *p = (char *)(msg + 1);
                msg->ctype = ctype ? memcpy(p, ctype, cl) : NULL;
                msg->hdrs = hdrs ? memcpy(p + cl, hdrs, hl) : NULL;
                msg->body = len ? memcpy(p + cl + hl, body, len) : NULL;
                msg->len = len;
                msg->status = status;
                msg->op = op;
            } else {
                FA_WARN("MCP HTTP: out of memory for a message to loop %u: closing that "
                        "connection",
                        x->to.loop);
                msg = &x->fin;
                op = X_ABORT;
            }
        }
        if (msg == &x->fin) {
            x->fin_used = 1;
            msg->op = op;
            msg->ctype = msg->hdrs = msg->body = NULL;
            msg->len = 0;
        }
    }
    if (final) {
        c->x = NULL;
        x->zdone = 1;
    }
    if (msg)
        link_post(x, msg);
    if (final)
        link_unref(x); /* the engine's end; x may be gone from here on */
}

/* ---- writing to an exchange, wherever its connection is (engine thread) ---- */

static int hc_live(const hconn_t *c) {
    return c->h || c->x;
}

/* A complete response to a held request (fa__http_held_respond); c is detached after. */
static void hc_respond(hconn_t *c, int status, const char *ctype, const char *hdrs,
                       const void *body, size_t len) {
    fa__http_stream_t *h = c->h;
    c->h = NULL;
    if (h)
        fa__http_held_respond(h, status, ctype, hdrs, body, len);
    else if (c->x)
        link_send(c, X_RESPOND, status, ctype, hdrs, body, len);
}

/* The held request becomes a streaming response. 0, or an error (c is then detached: the
 * connection is gone or closing and its close callback ran or will not come). */
static int hc_stream(hconn_t *c, const fa__mcp_http_t *ep, int status, const char *ctype,
                     const char *hdrs) {
    if (c->h) {
        int rc = fa__http_held_stream(c->h, status, ctype, hdrs);
        if (rc)
            c->h = NULL;
        else
            fa__http_stream_keepalive(c->h, ep->keepalive_ms, SSE_KEEPALIVE);
        return rc;
    }
    if (c->x) {
        link_send(c, X_STREAM, status, ctype, hdrs, NULL, 0);
        return 0;
    }
    return FA_EPIPE;
}

/* One chunk of a streaming response. */
static int hc_write(hconn_t *c, const void *data, size_t len) {
    if (c->h)
        return fa__http_stream_write(c->h, data, len);
    if (c->x)
        link_send(c, X_DATA, 0, NULL, NULL, data, len);
    return c->x ? 0 : FA_EPIPE;
}

/* Ends a streaming response; c is detached after. */
static void hc_end(hconn_t *c) {
    fa__http_stream_t *h = c->h;
    c->h = NULL;
    if (h)
        fa__http_stream_end(h); /* clears its close callback first */
    else if (c->x)
        link_send(c, X_END, 0, NULL, NULL, NULL, 0);
}

/* ---- answering the request being dispatched (engine thread, inside engine()) ---- */

/* A complete response; `retry_after` (or NULL) becomes a Retry-After header. */
static void in_send(hin_t *in, int status, const char *ctype, const char *retry_after,
                    const void *body, size_t len) {
    if (in->req) {
        if (retry_after)
            fa_http_res_header(in->req, "Retry-After", retry_after);
        fa_http_res_send(in->req, status, ctype, body, len);
        return;
    }
    char hdrs[48];
    if (retry_after)
        snprintf(hdrs, sizeof hdrs, "Retry-After: %s\r\n", retry_after);
    in->answered = 1;
    hconn_t c = {NULL, in->x};
    link_send(&c, X_RESPOND, status, ctype, retry_after ? hdrs : NULL, body, len);
}

/* A JSON-RPC error body with id null (fa__mcp_http_error for the dispatched request). */
static void in_error_retry(hin_t *in, int status, int code, const char *message,
                           const char *retry_after) {
    fa__buf_t b = FA__BUF_INIT;
    if (fa__rpc_write_error(&b, "null", 4, code, message, NULL) == 0)
        in_send(in, status, "application/json", retry_after, b.data, b.len);
    else
        in_send(in, 500, NULL, NULL, NULL, 0);
    fa__buf_free(&b);
}

static void in_error(hin_t *in, int status, int code, const char *message) {
    in_error_retry(in, status, code, message, NULL);
}

/* Holds the request (transport (4)): the connection is already held when it came from another
 * loop. Detached on failure (then answer 500). */
static hconn_t in_hold(hin_t *in, fa__http_stream_close_cb on_close, void *ctx) {
    hconn_t c = {NULL, NULL};
    if (in->req) {
        c.h = fa__http_hold(in->req, on_close, ctx);
    } else {
        in->x->on_close = on_close;
        in->x->ctx = ctx;
        in->answered = 1;
        c.x = in->x;
    }
    return c;
}

/* Starts an SSE response whose client's EOF means it left. Detached on failure. */
static hconn_t in_stream(hin_t *in, const fa__mcp_http_t *ep, int status, const char *ctype,
                         const char *hdrs, fa__http_stream_close_cb on_close, void *ctx) {
    hconn_t c = {NULL, NULL};
    if (in->req) {
        c.h = fa__http_stream_start(in->req, status, ctype, hdrs, on_close, ctx);
        if (c.h) {
            fa__http_stream_close_on_eof(c.h);
            fa__http_stream_keepalive(c.h, ep->keepalive_ms, SSE_KEEPALIVE);
        }
        return c;
    }
    c = in_hold(in, on_close, ctx);
    hc_stream(&c, ep, status, ctype, hdrs);
    return c;
}

/* ---- era classification (spec_2026.md §1.2) ---- */

int fa__mcp_body_has_claim(const json_t *msg) {
    const json_t *params = json_object_get(msg, "params");
    const json_t *meta = json_is_object(params) ? json_object_get(params, "_meta") : NULL;
    return json_is_object(meta) && json_object_get(meta, FA_MCP_CLAIM_KEY) != NULL;
}

static int modern_version(const char *v) {
    return v && strcmp(v, FA_MCP_MODERN_VERSION) >= 0;
}

static fa__http_era_t era_error(fa__http_era_error_t *err, int status, int code, const char *why) {
    if (err) {
        err->status = status;
        err->code = code;
        err->why = why;
    }
    return FA__HTTP_ERA_ERROR;
}

fa__http_era_t fa__mcp_classify(const char *method, const json_t *body, const char *version_header,
                                fa__http_era_error_t *err) {
    /* 1. GET/DELETE are 2025 session operations. */
    if (!method || strcmp(method, "POST") != 0)
        return FA__HTTP_ERA_LEGACY;
    /* 2. A batch is legacy (2025-03-26); one carrying a claim is refused. */
    if (json_is_array(body)) {
        size_t i;
        const json_t *el;
        json_array_foreach (body, i, el) {
            if (!json_is_object(el) || fa__mcp_body_has_claim(el))
                return era_error(err, 400, FA_RPC_INVALID_REQUEST,
                                 "Invalid Request: a batch element carries the 2026-07-28 "
                                 "protocol claim or is not a JSON-RPC message");
        }
        return FA__HTTP_ERA_LEGACY;
    }
    if (!json_is_object(body))
        return era_error(err, 400, FA_RPC_INVALID_REQUEST,
                         "Invalid Request: the body is not a JSON-RPC message");
    const json_t *m = json_object_get(body, "method");
    /* 3. A response (the client answering one of our requests). */
    if (!m && (json_object_get(body, "result") || json_object_get(body, "error")))
        return FA__HTTP_ERA_LEGACY;
    int claim = fa__mcp_body_has_claim(body);
    /* 4. initialize without a claim: the legacy handshake, unless the header is modern. */
    if (json_is_string(m) && strcmp(json_string_value(m), "initialize") == 0 && !claim) {
        if (modern_version(version_header))
            return era_error(err, 400, FA_MCP_HEADER_MISMATCH,
                             "initialize (a 2025 handshake) sent with a modern "
                             "MCP-Protocol-Version header");
        return FA__HTTP_ERA_LEGACY;
    }
    /* 5. The claim decides, whatever the headers say. */
    if (claim)
        return FA__HTTP_ERA_MODERN;
    /* 6. A modern header without the claim: modern, rejected there (missing _meta). */
    if (modern_version(version_header))
        return FA__HTTP_ERA_MODERN;
    /* 7. Everything else: the 2025 session machinery. */
    return FA__HTTP_ERA_LEGACY;
}

/* ---- small helpers ---- */

void fa__mcp_http_error(fa_http_req_t *req, int status, int code, const char *message) {
    fa__buf_t b = FA__BUF_INIT;
    if (fa__rpc_write_error(&b, "null", 4, code, message, NULL) == 0)
        fa_http_res_send(req, status, "application/json", b.data, b.len);
    else
        fa_http_res_send(req, 500, NULL, NULL, 0);
    fa__buf_free(&b);
}

static uint64_t now_ms(const fa__mcp_http_t *ep) {
    return ep->mcp->loop ? uv_now(ep->mcp->loop) : 0;
}

/* Does the Accept header (RFC 9110 §12.5.1) admit `type` ("text/event-stream")? Media ranges
 * "*" + "/" + "*" and "text/" + "*" count; parameters (q=...) are ignored, except q=0. */
int fa__mcp_http_accepts(const char *accept, const char *type) {
    if (!accept)
        return 0;
    size_t tlen = strlen(type);
    const char *slash = strchr(type, '/');
    size_t major = slash ? (size_t)(slash - type) : tlen;
    const char *p = accept;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',' && *p != ';' && *p != ' ' && *p != '\t')
            p++;
        size_t n = (size_t)(p - start);
        const char *params = p;
        while (*p && *p != ',')
            p++;
        int q0 = 0;
        for (const char *q = params; q < p; q++)
            if ((q[0] == 'q' || q[0] == 'Q') && q[1] == '=' && q[2] == '0' &&
                (q + 3 >= p || q[3] != '.' || strspn(q + 4, "0") >= (size_t)(p - q - 4)))
                q0 = 1;
        if (q0 || !n)
            continue;
        if ((n == tlen && strncasecmp(start, type, n) == 0) ||
            (n == 3 && !strncmp(start, "*/*", 3)) ||
            (n == major + 2 && strncasecmp(start, type, major) == 0 && start[major] == '/' &&
             start[major + 1] == '*'))
            return 1;
    }
    return 0;
}

static int is_json_content_type(const char *ct) {
    if (!ct)
        return 0;
    while (*ct == ' ')
        ct++;
    size_t n = strlen("application/json");
    return strncasecmp(ct, "application/json", n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static char *dupstr(const char *s) {
    return s ? strdup(s) : NULL;
}

static char **dup_list(const char *const *list, int *any) {
    size_t n = 0;
    while (list && list[n])
        n++;
    char **out = calloc(n + 1, sizeof *out);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i], "*") == 0)
            *any = 1;
        if (!(out[i] = strdup(list[i]))) {
            for (size_t j = 0; j < i; j++)
                free(out[j]);
            free(out);
            return NULL;
        }
    }
    return out;
}

static void free_list(char **l) {
    for (size_t i = 0; l && l[i]; i++)
        free(l[i]);
    free(l);
}

/* ---- DNS-rebinding protection ---- */

/* The Host values a loopback server answers to: 127.0.0.1, localhost and [::1] with its port
 * (and without it when the port is 80, as browsers omit it), plus the bound host. */
static int host_allowed(const fa__mcp_http_t *ep, const char *host) {
    if (ep->any_host)
        return 1;
    for (size_t i = 0; ep->hosts && ep->hosts[i]; i++)
        if (strcasecmp(ep->hosts[i], host) == 0)
            return 1;
    int port = fa_http_server_port(ep->http);
    const char *names[4] = {"127.0.0.1", "localhost", "[::1]", ep->http->host};
    char buf[300];
    for (int i = 0; i < 4; i++) {
        if (!names[i] || !names[i][0])
            continue;
        const char *name = names[i];
        char v6[260];
        if (i == 3 && strchr(name, ':') && name[0] != '[') {
            snprintf(v6, sizeof v6, "[%s]", name);
            name = v6;
        }
        snprintf(buf, sizeof buf, "%s:%d", name, port);
        if (strcasecmp(buf, host) == 0)
            return 1;
        if (port == 80 && strcasecmp(name, host) == 0)
            return 1;
    }
    return 0;
}

static int origin_allowed(const fa__mcp_http_t *ep, const char *origin) {
    if (ep->any_origin)
        return 1;
    for (size_t i = 0; ep->origins && ep->origins[i]; i++)
        if (strcasecmp(ep->origins[i], origin) == 0)
            return 1;
    /* An Origin of our own loopback names: scheme http(s), then an allowed Host value. */
    const char *rest = NULL;
    if (strncasecmp(origin, "http://", 7) == 0)
        rest = origin + 7;
    else if (strncasecmp(origin, "https://", 8) == 0)
        rest = origin + 8;
    return rest && !ep->any_host ? host_allowed(ep, rest) : rest != NULL && ep->any_host;
}

/* 403 before anything is parsed (spec 2025-11-25 transports: invalid Origin -> 403). */
static int check_rebinding(fa__mcp_http_t *ep, fa_http_req_t *req) {
    const char *host = fa_http_req_header(req, "Host");
    const char *origin = fa_http_req_header(req, "Origin");
    if (host && !host_allowed(ep, host)) {
        FA_WARN("MCP HTTP: refused Host '%s' (DNS rebinding protection; see --allow-host)", host);
        fa__mcp_http_error(req, 403, FA_MCP_HTTP_BAD_REQUEST,
                           "Forbidden: Host header not allowed (DNS rebinding protection)");
        return -1;
    }
    if (origin && !origin_allowed(ep, origin)) {
        FA_WARN("MCP HTTP: refused Origin '%s' (see --allow-origin)", origin);
        fa__mcp_http_error(req, 403, FA_MCP_HTTP_BAD_REQUEST,
                           "Forbidden: Origin not allowed (DNS rebinding protection)");
        return -1;
    }
    return 0;
}

/* ---- streams ---- */

static const char sse_headers_fmt[] = "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\n"
                                      "Mcp-Session-Id: %s\r\n";

static hstream_t *stream_new(hsess_t *hs, int type) {
    hstream_t *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->hs = hs;
    st->type = type;
    st->num = ++hs->next_num;
    st->next = hs->streams;
    hs->streams = st;
    return st;
}

static void stream_unregister(hstream_t *st) {
    hsess_t *hs = st->hs;
    for (size_t i = 0; i < st->nids; i++) {
        if (st->ids[i] && fa__map_get(&hs->rels, st->ids[i], st->id_lens[i]) == st)
            fa__map_del(&hs->rels, st->ids[i], st->id_lens[i]);
        free(st->ids[i]);
    }
    free(st->ids);
    free(st->id_lens);
    st->ids = NULL;
    st->id_lens = NULL;
    st->nids = st->open = 0;
}

static void stream_free(hstream_t *st) {
    hsess_t *hs = st->hs;
    for (hstream_t **pp = &hs->streams; *pp; pp = &(*pp)->next)
        if (*pp == st) {
            *pp = st->next;
            break;
        }
    if (hs->get == st)
        hs->get = NULL;
    if (hs->legacy == st)
        hs->legacy = NULL;
    if (hs->current == st)
        hs->current = NULL;
    stream_unregister(st);
    if (st->primed)
        fa__sse_replay_free(&st->ring);
    free(st);
}

static void on_stream_close(fa__http_stream_t *h, void *ctx);

/* Writes bytes to the stream's connection, if it has one. */
static void stream_write(hstream_t *st, const char *data, size_t len) {
    if (hc_live(&st->http) && hc_write(&st->http, data, len) != 0) {
        /* The connection is going: detach now, its close callback will find nothing. */
        FA_DEBUG("MCP HTTP: stream %u lost its connection", st->num);
    }
}

/* Numbers, keeps and sends one event of an SSE stream (data may be "" for the priming event). */
static int stream_event(hstream_t *st, const char *data, size_t len, long retry) {
    fa__mcp_http_t *ep = st->hs->ep;
    if (!st->primed) {
        if (fa__sse_replay_init(&st->ring, ep->replay_bytes, ep->replay_events) != 0)
            return FA_ENOMEM;
        st->primed = 1;
    }
    char id[48];
    snprintf(id, sizeof id, "%u-%llu", st->num, (unsigned long long)st->next_event++);
    ep->scratch.len = 0;
    int rc = fa__sse_replay_event(&st->ring, &ep->scratch, len || retry < 0 ? "message" : NULL, id,
                                  retry, data, len, NULL);
    if (rc)
        return rc;
    if (hc_live(&st->http)) {
        stream_write(st, ep->scratch.data, ep->scratch.len);
        st->sent_seq = st->ring.appended;
    }
    return 0;
}

static void stream_end_http(hstream_t *st) {
    hc_end(&st->http);
}

/* Evicts old finished POST streams nobody is reading. */
static void prune_done(hsess_t *hs) {
    size_t done = 0;
    for (hstream_t *st = hs->streams; st; st = st->next)
        done += st->mode == M_DONE && !hc_live(&st->http);
    while (done > FA_MCP_HTTP_DONE_STREAMS) {
        hstream_t *old = NULL;
        for (hstream_t *st = hs->streams; st; st = st->next)
            if (st->mode == M_DONE && !hc_live(&st->http) && (!old || st->done_seq < old->done_seq))
                old = st;
        if (!old)
            break;
        stream_free(old);
        done--;
    }
}

/* The priming event (an id and empty data, SEP-1699) is new in 2025-11-25; older clients may
 * choke on an event with empty data, so, like the TypeScript SDK, only sessions that negotiated
 * 2025-11-25 or later get it (decided by the session, not by the request's header: the
 * conformance suite sends 2025-03-26 headers on a 2025-11-25 session and expects it). */
static int primes(const hsess_t *hs) {
    return hs->s && strcmp(hs->s->version, "2025-11-25") >= 0;
}

/* A held POST becomes an SSE response: head, then the priming event (id + retry, empty data). */
static int stream_to_sse(hstream_t *st) {
    hsess_t *hs = st->hs;
    char hdrs[200];
    snprintf(hdrs, sizeof hdrs, sse_headers_fmt, hs->id);
    st->mode = M_SSE; /* first: a close callback during the head must only detach */
    if (hc_live(&st->http))
        hc_stream(&st->http, st->hs->ep, 200, "text/event-stream", hdrs);
    return primes(hs) ? stream_event(st, "", 0, hs->ep->retry_ms) : 0;
}

/* The last message of a POST stream: the JSON body of a held POST, or the final event. */
static void stream_final(hstream_t *st, const char *text, size_t len, int status) {
    hsess_t *hs = st->hs;
    if (st->mode == M_HOLD) {
        if (hc_live(&st->http)) {
            char hdrs[100] = "";
            /* The session id goes with the initialize answer (and harmlessly with others). */
            if (hs->s && hs->s->state != FA__SESS_NEW)
                snprintf(hdrs, sizeof hdrs, "Mcp-Session-Id: %s\r\n", hs->id);
            hc_respond(&st->http, status, "application/json", hdrs, text, len);
        }
        stream_free(st);
        return;
    }
    stream_event(st, text, len, -1);
    stream_unregister(st);
    st->mode = M_DONE;
    st->done_seq = ++hs->done_count;
    stream_end_http(st);
    prune_done(hs);
}

/* ---- sessions ---- */

static const fa__session_ops_t http_session_ops;

static void hsess_free(hsess_t *hs) {
    fa__mcp_http_t *ep = hs->ep;
    for (hsess_t **pp = &ep->sessions; *pp; pp = &(*pp)->next)
        if (*pp == hs) {
            *pp = hs->next;
            break;
        }
    fa__map_del(&ep->by_id, hs->id, ep->sid_len);
    while (hs->streams)
        stream_free(hs->streams);
    fa__map_free(&hs->rels);
    fa__buf_free(&hs->msg);
    free(hs->rel);
    free(hs);
}

/* Ends a session: its open exchanges are answered (held POSTs with 404, streams end), the
 * engine session is closed (its calls cancelled) and everything is freed. Not from inside a
 * session op other than close. */
static void hsess_end(hsess_t *hs, const char *why) {
    FA_INFO("MCP HTTP session %.8s... ended: %s", hs->id, why);
    hs->dropping = 1;
    /* Answering one exchange can close a connection that carries another of this session's
     * (pipelined): its close callback must not free a stream this loop is walking. */
    hs->ending = 1;
    for (hstream_t *st = hs->streams; st; st = st->next) {
        if (!hc_live(&st->http))
            continue;
        if (st->mode == M_HOLD) {
            fa__buf_t b = FA__BUF_INIT;
            if (fa__rpc_write_error(&b, "null", 4, FA_MCP_HTTP_NO_SESSION, "Session ended", NULL) ==
                0)
                hc_respond(&st->http, 404, "application/json", NULL, b.data, b.len);
            else
                hc_respond(&st->http, 404, NULL, NULL, NULL, 0);
            fa__buf_free(&b);
        } else {
            hc_end(&st->http);
        }
    }
    fa__session_t *s = hs->s;
    hs->s = NULL;
    if (s)
        fa__session_close(s);
    hsess_free(hs);
}

static void sweep(fa__mcp_http_t *ep) {
    uint64_t now = now_ms(ep);
    uint64_t every = ep->idle_ms / 2 < FA__SWEEP_MS ? ep->idle_ms / 2 : FA__SWEEP_MS;
    if (now - ep->last_sweep < every && !ep->ndoomed)
        return;
    ep->last_sweep = now;
    ep->ndoomed = 0;
    for (hsess_t *hs = ep->sessions, *next; hs; hs = next) {
        next = hs->next;
        int live = 0;
        for (hstream_t *st = hs->streams; st; st = st->next)
            live |= hc_live(&st->http);
        if (hs->doomed)
            hsess_end(hs, "its stream closed");
        else if (!live && now - hs->last_used >= ep->idle_ms)
            hsess_end(hs, "idle for too long");
    }
}

/* "<node>." (possibly empty) and 32 random hex digits into out (ep->sid_len + 1 bytes). */
static int mint_id(const fa__mcp_http_t *ep, char out[FA__SID_MAX + 1]) {
    unsigned char raw[FA__SID_BYTES];
    size_t got = 0;
    while (got < sizeof raw) {
        ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        got += (size_t)n;
    }
    static const char hex[] = "0123456789abcdef";
    size_t pre = strlen(ep->node);
    memcpy(out, ep->node, pre);
    for (size_t i = 0; i < sizeof raw; i++) {
        out[pre + 2 * i] = hex[raw[i] >> 4];
        out[pre + 2 * i + 1] = hex[raw[i] & 15];
    }
    out[pre + FA__SID_LEN] = '\0';
    return 0;
}

/* A new session: 0, FA_ELIMIT (max_sessions), FA_ESTATE (not running), FA_ENOMEM. */
static int hsess_new(fa__mcp_http_t *ep, hsess_t **out) {
    hsess_t *hs = calloc(1, sizeof *hs);
    if (!hs)
        return FA_ENOMEM;
    hs->ep = ep;
    int rc = mint_id(ep, hs->id);
    if (rc == 0)
        rc = fa__session_open(ep->mcp, &http_session_ops, hs, &hs->s);
    if (rc == 0 && (rc = fa__map_put(&ep->by_id, hs->id, ep->sid_len, hs)) != 0) {
        fa__session_close(hs->s);
        hs->s = NULL;
    }
    if (rc) {
        free(hs);
        return rc;
    }
    hs->next = ep->sessions;
    ep->sessions = hs;
    hs->last_used = now_ms(ep);
    *out = hs;
    return 0;
}

/* ---- session ops (the engine writes through these) ---- */

static fa__buf_t *sess_out(fa__session_t *s, const fa__out_info_t *info) {
    hsess_t *hs = s->transport;
    hs->msg.len = 0;
    hs->kind = info->kind;
    hs->rel_len = 0;
    if (info->rel && info->rel_len) {
        if (info->rel_len > hs->rel_cap) {
            char *r = realloc(hs->rel, info->rel_len);
            if (r) {
                hs->rel = r;
                hs->rel_cap = info->rel_len;
            }
        }
        if (info->rel_len <= hs->rel_cap) {
            memcpy(hs->rel, info->rel, info->rel_len);
            hs->rel_len = info->rel_len;
        }
    }
    return &hs->msg;
}

static hstream_t *oldest_open_batch(hsess_t *hs) {
    hstream_t *found = NULL;
    for (hstream_t *st = hs->streams; st; st = st->next)
        if (st->batch && st->mode != M_DONE && st->nids)
            found = st; /* the list is newest first: the last match is the oldest */
    return found;
}

/* The standalone stream record (created on demand so that unrelated messages are kept for the
 * next GET). */
static hstream_t *get_stream(hsess_t *hs) {
    if (!hs->get && (hs->get = stream_new(hs, ST_GET)) != NULL)
        hs->get->mode = M_SSE;
    return hs->get;
}

static void legacy_send(hstream_t *st, const char *text, size_t len) {
    fa__mcp_http_t *ep = st->hs->ep;
    ep->scratch.len = 0;
    if (fa__sse_format_event(&ep->scratch, "message", NULL, -1, text, len) == 0)
        stream_write(st, ep->scratch.data, ep->scratch.len);
}

static void sess_commit(fa__session_t *s) {
    hsess_t *hs = s->transport;
    const char *text = hs->msg.data;
    size_t len = hs->msg.len;
    if (hs->dropping || !len)
        return;
    hs->in_op++;
    if (hs->legacy) {
        legacy_send(hs->legacy, text, len);
        hs->in_op--;
        return;
    }
    hstream_t *st = NULL;
    if (hs->kind == FA__OUT_BATCH)
        st = hs->current ? hs->current : oldest_open_batch(hs);
    else if (hs->rel_len)
        st = fa__map_get(&hs->rels, hs->rel, hs->rel_len);
    /* An error about a message that carried no usable id, or with id null about the body as a
     * whole (a batch refused in this protocol version, or too long): it ends the POST even
     * when the body held requests, as none of them will be answered. */
    if (!st && hs->kind == FA__OUT_RESPONSE && hs->current && (!hs->current->open || !hs->rel_len))
        st = hs->current;
    if (hs->kind == FA__OUT_RESPONSE || hs->kind == FA__OUT_BATCH) {
        if (!st) {
            FA_DEBUG("MCP HTTP: dropping a response nobody waits for");
        } else {
            int final = 1;
            if (hs->kind == FA__OUT_RESPONSE && hs->rel_len && st->open) {
                if (fa__map_get(&hs->rels, hs->rel, hs->rel_len) == st) {
                    fa__map_del(&hs->rels, hs->rel, hs->rel_len);
                    st->open--;
                }
                final = st->open == 0;
            }
            if (final)
                stream_final(st, text, len,
                             st->any_request && (hs->rel_len || hs->kind == FA__OUT_BATCH) ? 200
                                                                                           : 400);
            else
                stream_event(st, text, len, -1);
        }
    } else if (st) {
        if (st->mode == M_HOLD)
            stream_to_sse(st);
        stream_event(st, text, len, -1);
    } else {
        /* Not tied to a request in flight: the standalone GET stream (or its ring until a GET
         * comes). Spec: never a response there. */
        hstream_t *g = get_stream(hs);
        if (g)
            stream_event(g, text, len, -1);
    }
    if (st || hs->get)
        hs->last_used = now_ms(hs->ep);
    hs->in_op--;
}

/* fa_call_close_stream: end the connection of the call's SSE stream (turning a held POST into
 * one first: the priming event gives the client an id to resume from). */
static void sess_close_stream(fa__session_t *s, const char *rel, size_t rel_len) {
    hsess_t *hs = s->transport;
    hstream_t *st = hs->legacy ? NULL : fa__map_get(&hs->rels, rel, rel_len);
    if (!st || !primes(hs))
        return;
    if (st->mode == M_HOLD)
        stream_to_sse(st);
    stream_end_http(st);
}

static void sess_pause(fa__session_t *s) {
    ((hsess_t *)s->transport)->paused = 1;
}
static void sess_resume(fa__session_t *s) {
    ((hsess_t *)s->transport)->paused = 0;
}
/* Output is never held back: a client that stops reading is closed by the HTTP server's
 * max_output bound, which keeps memory bounded; its streams then wait in their rings. */
static int sess_blocked(fa__session_t *s) {
    (void)s;
    return 0;
}
static void sess_stop(fa__session_t *s) {
    (void)s; /* the server refuses new sessions; POSTs of this one get 503 (fa__session_open) */
}
static void sess_close(fa__session_t *s) {
    hsess_t *hs = s->transport;
    hs->s = NULL;
    hsess_end(hs, "server shutting down");
    fa__session_close(s);
}

static const fa__session_ops_t http_session_ops = {sess_out,    sess_commit,      sess_pause,
                                                   sess_resume, sess_blocked,     sess_stop,
                                                   sess_close,  sess_close_stream};

/* ---- connection events ---- */

static void on_stream_close(fa__http_stream_t *h, void *ctx) {
    hstream_t *st = ctx;
    (void)h;
    hsess_t *hs = st->hs;
    st->http.h = NULL;
    st->http.x = NULL;
    if (hs->ending)
        return; /* hsess_end frees everything */
    if (st->type == ST_LEGACY) {
        /* 2024-11-05: the SSE connection is the session. It is ended at the next request (never
         * from here: this callback can run while another session's exchange is being answered,
         * or while a sweep walks the session list); until then it is unreachable. */
        if (!hs->doomed) {
            hs->doomed = 1;
            hs->ep->ndoomed++;
        }
        return;
    }
    if (st->mode != M_HOLD)
        return; /* an SSE stream: resumable with Last-Event-ID, its events wait in the ring */
    /* The client left a POST it was waiting on in JSON mode: cancel what it asked for. */
    size_t n = st->nids;
    char **ids = st->ids;
    size_t *lens = st->id_lens;
    st->ids = NULL;
    st->id_lens = NULL;
    st->nids = 0;
    for (size_t i = 0; i < n; i++)
        if (fa__map_get(&hs->rels, ids[i], lens[i]) == st)
            fa__map_del(&hs->rels, ids[i], lens[i]);
    stream_free(st);
    if (hs->s && !hs->in_op) {
        hs->dropping = 1;
        for (size_t i = 0; i < n; i++)
            fa__session_cancel(hs->s, ids[i], lens[i], "the HTTP client disconnected");
        hs->dropping = 0;
    }
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    free(lens);
}

/* ---- handlers ---- */

/* A Streamable HTTP session by id (2024-11-05 HTTP+SSE sessions are not reachable here: their
 * answers go to their own stream, and a POST to the endpoint would wait forever). */
static hsess_t *find_session(fa__mcp_http_t *ep, const char *sid) {
    if (!sid || strlen(sid) != ep->sid_len)
        return NULL;
    hsess_t *hs = fa__map_get(&ep->by_id, sid, ep->sid_len);
    return hs && !hs->legacy && !hs->doomed ? hs : NULL;
}

static hsess_t *find_legacy_session(fa__mcp_http_t *ep, const char *sid) {
    if (!sid || strlen(sid) != ep->sid_len)
        return NULL;
    hsess_t *hs = fa__map_get(&ep->by_id, sid, ep->sid_len);
    return hs && hs->legacy && !hs->doomed ? hs : NULL;
}

static int version_supported(const char *v) {
    for (size_t i = 0; i < fa__mcp_nversions; i++)
        if (strcmp(v, fa__mcp_versions[i]) == 0)
            return 1;
    return 0;
}

/* Registers the request ids of a POST body with its stream. Returns 0, or FA_EEXIST when one of
 * them is still in flight in this session (the engine would refuse it too, and routing by id
 * must stay unambiguous), FA_ENOMEM. */
static int register_ids(hstream_t *st, json_t *body) {
    hsess_t *hs = st->hs;
    size_t n = json_is_array(body) ? json_array_size(body) : 1;
    st->ids = calloc(n, sizeof *st->ids);
    st->id_lens = calloc(n, sizeof *st->id_lens);
    if (!st->ids || !st->id_lens)
        return FA_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_is_array(body) ? json_array_get(body, i) : body;
        fa__rpc_msg_t msg;
        fa__rpc_classify(m, &msg);
        if (msg.kind != FA_RPC_REQUEST)
            continue;
        st->any_request = 1;
        if (strcmp(msg.method, "initialize") == 0)
            st->initialize = 1;
        fa__buf_t b = FA__BUF_INIT;
        if (fa__rpc_write_id(&b, msg.id) != 0) {
            fa__buf_free(&b);
            return FA_ENOMEM;
        }
        size_t len = b.len;
        char *key = fa__buf_detach(&b, &len);
        if (!key)
            return FA_ENOMEM;
        int rc = fa__map_put(&hs->rels, key, len, st);
        if (rc) {
            free(key);
            return rc;
        }
        st->ids[st->nids] = key;
        st->id_lens[st->nids++] = len;
        st->open++;
    }
    return 0;
}

/* The client cancelled requests (notifications/cancelled): no response will ever come for them
 * (spec: the receiver does not answer a cancelled request), so their exchanges end here: a held
 * POST gets 204, an SSE stream its end. */
static void forget_cancelled(hsess_t *hs, json_t *body) {
    size_t n = json_is_array(body) ? json_array_size(body) : 1;
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_is_array(body) ? json_array_get(body, i) : body;
        fa__rpc_msg_t msg;
        fa__rpc_classify(m, &msg);
        if (msg.kind != FA_RPC_NOTIFICATION || strcmp(msg.method, "notifications/cancelled") != 0)
            continue;
        json_t *rid = json_object_get(msg.params, "requestId");
        if (!json_is_string(rid) && !json_is_integer(rid))
            continue;
        fa__buf_t b = FA__BUF_INIT;
        if (fa__rpc_write_id(&b, rid) != 0) {
            fa__buf_free(&b);
            continue;
        }
        hstream_t *st = fa__map_get(&hs->rels, b.data, b.len);
        if (st && st != hs->current)
            fa__map_del(&hs->rels, b.data, b.len);
        fa__buf_free(&b);
        if (!st || st == hs->current || !st->open || --st->open)
            continue;
        if (st->mode == M_HOLD) {
            hc_respond(&st->http, 204, NULL, NULL, NULL, 0);
            stream_free(st);
        } else {
            stream_unregister(st);
            st->mode = M_DONE;
            st->done_seq = ++hs->done_count;
            stream_end_http(st);
            prune_done(hs);
        }
    }
}

static void post_legacy(fa__mcp_http_t *ep, hin_t *in, hsess_t *hs) {
    json_t *body = in->body;
    hs->last_used = now_ms(ep);
    if (hs->paused) {
        in_error_retry(in, 503, FA_MCP_HTTP_BAD_REQUEST,
                       "Service Unavailable: this session has too many calls queued", "1");
        return;
    }
    hstream_t *st = stream_new(hs, ST_POST);
    if (!st) {
        in_error(in, 500, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        return;
    }
    st->batch = json_is_array(body);
    int rc = register_ids(st, body);
    if (rc) {
        stream_free(st);
        if (rc == FA_EEXIST)
            in_error(in, 400, FA_RPC_INVALID_REQUEST,
                     "Invalid Request: a request with this id is still in flight in this session");
        else
            in_error(in, 500, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        return;
    }
    st->http = in_hold(in, on_stream_close, st);
    if (!hc_live(&st->http)) {
        stream_free(st);
        in_error(in, 500, FA_RPC_INTERNAL_ERROR, "Internal error: cannot hold");
        return;
    }
    hs->current = st;
    fa__session_on_line(hs->s, in->raw, in->len);
    forget_cancelled(hs, body);
    if (hs->current != st)
        return; /* answered and freed already */
    hs->current = NULL;
    if (st->mode == M_HOLD && !st->any_request) {
        /* Notifications and responses only, nothing said back: 202, no body (spec 4.8). */
        hc_respond(&st->http, 202, NULL, NULL, NULL, 0);
        stream_free(st);
    }
}

/* ---- the modern era: one POST, one engine exchange (mcp/modern.h) ----
 * The request is held until the exchange's final emit; the first EVENT turns it into an SSE
 * stream. `in_call` covers emits made inside fa__mcp_modern_handle (the exchange may end before
 * it returns: then `x` is never set and the context is freed when it returns). */

typedef struct {
    hconn_t http;          /* held, then a stream once an event went out; detached once finished */
    fa__mcp_exchange_t *x; /* set once fa__mcp_modern_handle returned with the exchange open */
    int streaming, in_call, done;
    const fa__mcp_http_t *ep;
} modern_ctx_t;

static void modern_sse_event(modern_ctx_t *m, const char *json, size_t len) {
    fa__buf_t ev = FA__BUF_INIT;
    if (fa__sse_format_event(&ev, "message", NULL, -1, json, len) == 0)
        hc_write(&m->http, ev.data, ev.len);
    fa__buf_free(&ev);
}

static void modern_emit(void *ctx, fa__emit_t kind, int status, const char *json, size_t len) {
    modern_ctx_t *m = ctx;
    if (m->done || !hc_live(&m->http))
        return;
    if (kind == FA__EMIT_EVENT || (kind == FA__EMIT_END && m->streaming)) {
        if (!m->streaming) {
            if (hc_stream(&m->http, m->ep, 200, "text/event-stream",
                          "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\n") != 0)
                return; /* the connection is gone; the stream close callback follows */
            m->streaming = 1;
        }
        modern_sse_event(m, json, len);
        if (kind == FA__EMIT_END) {
            hc_end(&m->http);
            m->done = 1;
        }
    } else if (kind == FA__EMIT_END || kind == FA__EMIT_JSON) {
        hc_respond(&m->http, status, "application/json", NULL, json, len);
        m->done = 1;
    } else { /* FA__EMIT_ACCEPTED */
        hc_respond(&m->http, 202, NULL, NULL, NULL, 0);
        m->done = 1;
    }
    if (m->done && !m->in_call)
        free(m);
}

/* The client left before the final emit (held request or stream closed). */
static void modern_closed(fa__http_stream_t *s, void *ctx) {
    (void)s;
    modern_ctx_t *m = ctx;
    m->http.h = NULL;
    m->http.x = NULL;
    if (m->done)
        return;
    m->done = 1;
    if (m->in_call)
        return; /* fa__mcp_modern_handle is still running: it frees m when it returns */
    if (m->x)
        fa__mcp_modern_abort(m->x);
    free(m);
}

static const fa__mcp_modern_ops_t modern_ops = {modern_emit};

static void modern_post(fa__mcp_http_t *ep, hin_t *in) {
    fa__mcp_headers_t hdrs = {in->version, in->mcp_method, in->mcp_name, in->params, in->nparams};
    modern_ctx_t *m = calloc(1, sizeof *m);
    if (m) {
        m->ep = ep;
        m->http = in_hold(in, modern_closed, m);
    }
    if (!m || !hc_live(&m->http)) {
        free(m);
        in_error(in, 500, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        return;
    }
    m->in_call = 1;
    fa__mcp_exchange_t *x = NULL;
    int rc = fa__mcp_modern_handle(ep->mcp, in->raw, in->len, json_incref(in->body), &hdrs,
                                   &modern_ops, m, &x);
    m->in_call = 0;
    if (rc != 0 && !m->done && hc_live(&m->http)) {
        const char *msg = rc == FA_ENOMEM ? "Internal error: out of memory"
                                          : "Server unavailable: shutting down or at its "
                                            "session limit; retry later";
        fa__buf_t b = FA__BUF_INIT;
        int code = rc == FA_ENOMEM ? FA_RPC_INTERNAL_ERROR : FA_RPC_SERVER_OVERLOADED;
        if (fa__rpc_write_error(&b, "null", 4, code, msg, NULL) == 0)
            hc_respond(&m->http, rc == FA_ENOMEM ? 500 : 503, "application/json",
                       "Retry-After: 1\r\n", b.data, b.len);
        else
            hc_respond(&m->http, 500, NULL, NULL, NULL, 0);
        fa__buf_free(&b);
        m->done = 1;
    }
    if (m->done) {
        if (x && rc == 0) /* closed during the call while the exchange stays open */
            fa__mcp_modern_abort(x);
        free(m);
        return;
    }
    m->x = x;
}

/* The engine half of a POST to the endpoint (the body parsed and classified already). */
static void engine_post(fa__mcp_http_t *ep, hin_t *in) {
    if (in->era == FA__HTTP_ERA_MODERN) {
        modern_post(ep, in);
        return;
    }
    const char *sid = in->sid;
    json_t *m = json_is_object(in->body) ? json_object_get(in->body, "method") : NULL;
    int is_init = json_is_string(m) && strcmp(json_string_value(m), "initialize") == 0;
    hsess_t *hs = NULL;
    if (sid) {
        if (!(hs = find_session(ep, sid)))
            in_error(in, 404, FA_MCP_HTTP_NO_SESSION, "Session not found");
    } else if (!is_init) {
        in_error(in, 400, FA_MCP_HTTP_BAD_REQUEST,
                 "Bad Request: Mcp-Session-Id header is required");
    } else {
        int rc = hsess_new(ep, &hs);
        if (rc == FA_ELIMIT)
            in_error_retry(in, 503, FA_MCP_HTTP_BAD_REQUEST,
                           "Service Unavailable: too many MCP sessions are open; try again later",
                           "5");
        else if (rc)
            in_error(in, 503, FA_MCP_HTTP_BAD_REQUEST,
                     "Service Unavailable: the server is shutting down");
    }
    if (hs && !is_init && in->version && !version_supported(in->version)) {
        char msg[160];
        snprintf(msg, sizeof msg, "Bad Request: Unsupported protocol version: %.40s", in->version);
        in_error(in, 400, FA_MCP_HTTP_BAD_REQUEST, msg);
    } else if (hs) {
        post_legacy(ep, in, hs);
        /* A failed initialize leaves no session behind. */
        if (!sid && hs->s && hs->s->state == FA__SESS_NEW)
            hsess_end(hs, "initialize failed");
    }
}

static int replay_write(void *ud, const char *id, const char *bytes, size_t len) {
    (void)id;
    hstream_t *st = ud;
    stream_write(st, bytes, len);
    return 0;
}

/* Opens an SSE response for `st` on this GET and sends what the client missed. */
static void attach_get(fa__mcp_http_t *ep, hin_t *in, hstream_t *st, const char *last) {
    hsess_t *hs = st->hs;
    stream_end_http(st); /* an older connection for the same stream is replaced */
    char hdrs[200];
    snprintf(hdrs, sizeof hdrs, sse_headers_fmt, hs->id);
    st->http = in_stream(in, ep, 200, "text/event-stream", hdrs, on_stream_close, st);
    if (!hc_live(&st->http))
        return;
    if (!st->primed) {
        if (primes(hs))
            stream_event(st, "", 0, ep->retry_ms);
    } else if (last) {
        fa__sse_replay_since(&st->ring, last, strlen(last), replay_write, st);
    } else {
        fa__sse_replay_after(&st->ring, st->sent_seq, replay_write, st);
    }
    st->sent_seq = st->ring.appended;
    if (st->mode == M_DONE)
        stream_end_http(st);
}

static void engine_get(fa__mcp_http_t *ep, hin_t *in) {
    hsess_t *hs = find_session(ep, in->sid);
    if (!hs) {
        in_error(in, 404, FA_MCP_HTTP_NO_SESSION, "Session not found");
        return;
    }
    if (in->version && !version_supported(in->version)) {
        in_error(in, 400, FA_MCP_HTTP_BAD_REQUEST, "Bad Request: Unsupported protocol version");
        return;
    }
    hs->last_used = now_ms(ep);
    const char *last = in->last_event;
    if (last) {
        /* "<stream>-<n>": resume the stream it names (spec 4.23: only that stream). */
        char *end;
        unsigned long num = strtoul(last, &end, 10);
        if (end != last && *end == '-') {
            for (hstream_t *st = hs->streams; st; st = st->next)
                if (st->num == num && st->type != ST_LEGACY && st->primed) {
                    attach_get(ep, in, st, last);
                    return;
                }
        }
        /* Unknown (too old, or another server's): continue with the standalone stream. */
    }
    hstream_t *g = get_stream(hs);
    if (!g) {
        in_error(in, 500, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        return;
    }
    if (hc_live(&g->http)) {
        in_error(in, 409, FA_MCP_HTTP_BAD_REQUEST,
                 "Conflict: Only one SSE stream is allowed per session");
        return;
    }
    attach_get(ep, in, g, NULL);
}

static void engine_delete(fa__mcp_http_t *ep, hin_t *in) {
    hsess_t *hs = find_session(ep, in->sid);
    if (!hs) {
        in_error(in, 404, FA_MCP_HTTP_NO_SESSION, "Session not found");
        return;
    }
    hsess_end(hs, "deleted by the client");
    in_send(in, 200, NULL, NULL, NULL, 0);
}

/* 2024-11-05 HTTP+SSE: GET /sse opens a session whose SSE stream carries every answer. */
static void engine_sse(fa__mcp_http_t *ep, hin_t *in) {
    hsess_t *hs;
    int rc = hsess_new(ep, &hs);
    if (rc) {
        in_error(in, 503, FA_MCP_HTTP_BAD_REQUEST,
                 rc == FA_ELIMIT ? "Service Unavailable: too many MCP sessions are open"
                                 : "Service Unavailable");
        return;
    }
    hstream_t *st = stream_new(hs, ST_LEGACY);
    if (!st) {
        hsess_end(hs, "out of memory");
        in_error(in, 500, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        return;
    }
    hs->legacy = st;
    st->mode = M_SSE;
    st->http =
        in_stream(in, ep, 200, "text/event-stream",
                  "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\n", on_stream_close, st);
    if (!hc_live(&st->http)) {
        hsess_end(hs, "could not open its stream");
        return;
    }
    char where[300];
    snprintf(where, sizeof where, "%s?sessionId=%s", ep->messages_path, hs->id);
    ep->scratch.len = 0;
    if (fa__sse_format_event(&ep->scratch, "endpoint", NULL, -1, where, strlen(where)) == 0)
        stream_write(st, ep->scratch.data, ep->scratch.len);
}

/* 2024-11-05 HTTP+SSE: POST /messages?sessionId=...; every answer goes on the SSE stream, the
 * POST is only acknowledged. */
static void engine_messages(fa__mcp_http_t *ep, hin_t *in) {
    hsess_t *hs = find_legacy_session(ep, in->query_sid);
    if (!hs) {
        in_error(in, 404, FA_MCP_HTTP_NO_SESSION, "Session not found");
        return;
    }
    hs->last_used = now_ms(ep);
    in_send(in, 202, "text/plain; charset=utf-8", NULL, "Accepted", 8);
    fa__session_on_line(hs->s, in->raw ? in->raw : "", in->len);
}

/* The engine half, on the engine's loop (`here`): the request came from this loop (in->req) or
 * from another one (in->x). Releases in->body. */
static void engine(fa__mcp_http_t *ep, hin_t *in, uv_loop_t *here) {
    if (!ep->mcp->running || ep->mcp->stopping || here != ep->mcp->loop) {
        in_error(in, 503, FA_MCP_HTTP_BAD_REQUEST,
                 "Service Unavailable: the MCP server is not running");
    } else {
        sweep(ep);
        switch (in->op) {
        case OP_POST:
            engine_post(ep, in);
            break;
        case OP_GET:
            engine_get(ep, in);
            break;
        case OP_DELETE:
            engine_delete(ep, in);
            break;
        case OP_SSE:
            engine_sse(ep, in);
            break;
        default:
            engine_messages(ep, in);
            break;
        }
    }
    json_decref(in->body);
    in->body = NULL;
    /* A forwarded request must be answered (a local one is answered 500 by the HTTP core). */
    if (in->x && !in->answered)
        in_error(in, 500, FA_RPC_INTERNAL_ERROR, "Internal error: request not answered");
}

/* Loop 0: a request forwarded from another loop. */
static void engine_req(fa__http_loop_t *loop, fa__http_conn_t *conn, fa__http_msg_t *m) {
    (void)conn;
    xreq_t *r = (xreq_t *)m;
    engine(r->in.x->ep, &r->in, loop->uv);
    free(r);
}

/* ---- the front half (the connection's loop) ---- */

static size_t str_size(const char *s) {
    return s ? strlen(s) + 1 : 0;
}

static const char *str_copy(char **p, const char *s) {
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = memcpy(*p, s, n);
    *p += n;
    return d;
}

/* Hands the request to the engine's loop: held here, its view copied into one message. */
static void forward(fa__mcp_http_t *ep, fa_http_req_t *req, hin_t *in) {
    size_t need = str_size(in->sid) + str_size(in->version) + str_size(in->last_event) +
                  str_size(in->mcp_method) + str_size(in->mcp_name) + str_size(in->query_sid) +
                  in->len;
    for (size_t i = 0; i < in->nparams; i++)
        need += str_size(in->params[i].name) + str_size(in->params[i].value);
    xlink_t *x = calloc(1, sizeof *x);
    xreq_t *r = malloc(sizeof *r + need);
    if (!x || !r) {
        free(x);
        free(r);
        json_decref(in->body);
        fa__mcp_http_error(req, 500, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        return;
    }
    r->in = *in;
    char *p = (char *)(r + 1);
    r->in.sid = str_copy(&p, in->sid);
    r->in.version = str_copy(&p, in->version);
    r->in.last_event = str_copy(&p, in->last_event);
    r->in.mcp_method = str_copy(&p, in->mcp_method);
    r->in.mcp_name = str_copy(&p, in->mcp_name);
    r->in.query_sid = str_copy(&p, in->query_sid);
    for (size_t i = 0; i < in->nparams; i++) {
        r->in.params[i].name = str_copy(&p, in->params[i].name);
        r->in.params[i].value = str_copy(&p, in->params[i].value);
    }
    r->in.raw = in->len ? memcpy(p, in->raw, in->len) : "";
    r->in.req = NULL;
    r->in.x = x;
    r->in.answered = 0;
    x->ep = ep;
    atomic_init(&x->refs, 2); /* this end and the engine's */
    x->closed.cb = link_closed;
    x->closed.to = (fa__http_conn_ref_t){0, FA__HTTP_NO_SLOT, 0};
    x->to = fa__http_conn_ref(fa__http_req_conn(req));
    x->h = fa__http_hold(req, proxy_closed, x);
    if (!x->h) {
        json_decref(in->body);
        free(r);
        free(x);
        fa__mcp_http_error(req, 500, FA_RPC_INTERNAL_ERROR, "Internal error: cannot hold");
        return;
    }
    r->m.cb = engine_req;
    r->m.to = (fa__http_conn_ref_t){0, FA__HTTP_NO_SLOT, 0};
    if (fa__http_post(ep->http, &r->m) != 0) {
        /* Loop 0 has stopped: the server is going away. */
        fa__http_stream_t *h = x->h;
        x->h = NULL;
        json_decref(in->body);
        free(r);
        free(x);
        fa__buf_t b = FA__BUF_INIT;
        if (fa__rpc_write_error(&b, "null", 4, FA_MCP_HTTP_BAD_REQUEST,
                                "Service Unavailable: the MCP server is not running", NULL) == 0)
            fa__http_held_respond(h, 503, "application/json", NULL, b.data, b.len);
        else
            fa__http_held_respond(h, 503, NULL, NULL, NULL, 0);
        fa__buf_free(&b);
    }
}

/* The checks of a POST that need no engine state: Accept, Content-Type, size, JSON, era. */
static int front_post(fa__mcp_http_t *ep, fa_http_req_t *req, hin_t *in) {
    const char *accept = fa_http_req_header(req, "Accept");
    if (!fa__mcp_http_accepts(accept, "application/json") ||
        !fa__mcp_http_accepts(accept, "text/event-stream")) {
        fa__mcp_http_error(req, 406, FA_MCP_HTTP_BAD_REQUEST,
                           "Not Acceptable: Client must accept both application/json and "
                           "text/event-stream");
        return -1;
    }
    if (!is_json_content_type(fa_http_req_header(req, "Content-Type"))) {
        fa__mcp_http_error(req, 415, FA_MCP_HTTP_BAD_REQUEST,
                           "Unsupported Media Type: Content-Type must be application/json");
        return -1;
    }
    size_t len;
    const char *raw = fa_http_req_body(req, &len);
    if (len > ep->max_body) {
        char msg[128];
        snprintf(msg, sizeof msg, "Invalid Request: body of %zu bytes exceeds the limit of %zu",
                 len, ep->max_body);
        fa__mcp_http_error(req, 413, FA_RPC_INVALID_REQUEST, msg);
        return -1;
    }
    in->raw = raw ? raw : "";
    in->len = len;
    char why[200];
    int code;
    json_t *body = fa__rpc_parse(in->raw, len, ep->mcp->opts.max_depth, &code, why, sizeof why);
    if (!body) {
        char msg[260];
        snprintf(msg, sizeof msg, "Parse error: %s",
                 code == FA_ELIMIT ? "JSON nested too deeply" : why);
        fa__mcp_http_error(req, 400, FA_RPC_PARSE_ERROR, msg);
        return -1;
    }
    fa__http_era_error_t err;
    fa__http_era_t era = fa__mcp_classify("POST", body, in->version, &err);
    if (era == FA__HTTP_ERA_ERROR) {
        json_decref(body);
        fa__mcp_http_error(req, err.status, err.code, err.why);
        return -1;
    }
    in->body = body;
    in->era = era;
    if (era == FA__HTTP_ERA_MODERN) {
        in->mcp_method = fa_http_req_header(req, "Mcp-Method");
        in->mcp_name = fa_http_req_header(req, "Mcp-Name");
        for (size_t i = 0; i < req->h.nheaders && in->nparams < MODERN_MAX_PARAM_HDRS; i++) {
            const fa__http_header_t *hd = &req->h.headers[i];
            if (hd->name_len > 10 && strncasecmp(hd->name, "Mcp-Param-", 10) == 0) {
                /* NUL-terminated copies from the request's arena, valid during the handler */
                fa__mcp_param_hdr_t *pp = &in->params[in->nparams];
                pp->name = fa__http_req_strdup(req, hd->name + 10, hd->name_len - 10);
                pp->value = fa__http_req_strdup(req, hd->value, hd->value_len);
                if (pp->name && pp->value)
                    in->nparams++;
            }
        }
    }
    return 0;
}

static int front_needs_sse(fa_http_req_t *req) {
    if (fa__mcp_http_accepts(fa_http_req_header(req, "Accept"), "text/event-stream"))
        return 0;
    fa__mcp_http_error(req, 406, FA_MCP_HTTP_BAD_REQUEST,
                       "Not Acceptable: Client must accept text/event-stream");
    return -1;
}

static int front_needs_sid(fa_http_req_t *req, const hin_t *in) {
    if (in->sid)
        return 0;
    fa__mcp_http_error(req, 400, FA_MCP_HTTP_BAD_REQUEST,
                       "Bad Request: Mcp-Session-Id header is required");
    return -1;
}

/* Every handler starts here, on the connection's loop. */
static void front(fa__mcp_http_t *ep, fa_http_req_t *req, int op) {
    if (check_rebinding(ep, req) != 0)
        return;
    hin_t in;
    in.op = op;
    in.sid = fa_http_req_header(req, "Mcp-Session-Id");
    in.version = fa_http_req_header(req, "MCP-Protocol-Version");
    in.last_event = in.mcp_method = in.mcp_name = in.query_sid = NULL;
    in.nparams = 0;
    in.raw = NULL;
    in.len = 0;
    in.body = NULL;
    in.era = FA__HTTP_ERA_LEGACY;
    in.req = req;
    in.x = NULL;
    in.answered = 0;
    int rc = 0;
    switch (op) {
    case OP_POST:
        rc = front_post(ep, req, &in);
        break;
    case OP_GET:
        rc = front_needs_sse(req);
        if (rc == 0)
            rc = front_needs_sid(req, &in);
        in.last_event = fa_http_req_header(req, "Last-Event-ID");
        break;
    case OP_DELETE:
        rc = front_needs_sid(req, &in);
        break;
    case OP_SSE:
        rc = front_needs_sse(req);
        break;
    default: /* OP_MESSAGES */
        if (!is_json_content_type(fa_http_req_header(req, "Content-Type"))) {
            fa__mcp_http_error(req, 415, FA_MCP_HTTP_BAD_REQUEST,
                               "Unsupported Media Type: Content-Type must be application/json");
            return;
        }
        in.raw = fa_http_req_body(req, &in.len);
        if (in.len > ep->max_body) {
            fa__mcp_http_error(req, 413, FA_RPC_INVALID_REQUEST, "Invalid Request: body too large");
            return;
        }
        in.query_sid = fa_http_req_query_param(req, "sessionId");
        break;
    }
    if (rc != 0)
        return;
    fa__http_loop_t *loop = fa__http_conn_loop(fa__http_req_conn(req));
    if (loop->index == 0)
        engine(ep, &in, loop->uv); /* the engine's loop: no hop */
    else
        forward(ep, req, &in);
}

static void mcp_cb(fa_http_req_t *req, void *data) {
    fa__mcp_http_t *ep = data;
    const char *method = fa_http_req_method(req);
    if (strcmp(method, "POST") == 0) {
        front(ep, req, OP_POST);
    } else if (strcmp(method, "GET") == 0) {
        front(ep, req, OP_GET);
    } else if (strcmp(method, "DELETE") == 0) {
        front(ep, req, OP_DELETE);
    } else if (check_rebinding(ep, req) == 0) {
        fa_http_res_header(req, "Allow", "GET, POST, DELETE");
        fa__mcp_http_error(req, 405, FA_MCP_HTTP_BAD_REQUEST, "Method not allowed");
    }
}

/* ---- 2024-11-05 HTTP+SSE ---- */

static void sse_get_cb(fa_http_req_t *req, void *data) {
    front(data, req, OP_SSE);
}

static void messages_cb(fa_http_req_t *req, void *data) {
    front(data, req, OP_MESSAGES);
}

static void ep_free(void *p);

int fa__mcp_http_notify(fa__mcp_http_t *ep, const char *sid, const char *json, size_t len) {
    hsess_t *hs = find_session(ep, sid);
    if (!hs)
        hs = find_legacy_session(ep, sid);
    if (!hs)
        return FA_ENOENT;
    if (hs->legacy) {
        legacy_send(hs->legacy, json, len);
        return 0;
    }
    hstream_t *g = get_stream(hs);
    return g ? stream_event(g, json, len, -1) : FA_ENOMEM;
}

int fa__mcp_http_node_id_ok(const char *id) {
    size_t n = strlen(id);
    if (n == 0 || n > FA_MCP_HTTP_NODE_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

fa__mcp_http_t *fa__mcp_http_of(const fa_server_t *mcp) {
    return mcp->endpoint_free == ep_free ? mcp->endpoint : NULL;
}

/* ---- mount ---- */

void fa_mcp_http_options_init(fa_mcp_http_options_t *o) {
    memset(o, 0, sizeof *o);
    o->path = FA_MCP_HTTP_PATH;
    o->legacy_sse = 1;
    o->sse_path = "/sse";
    o->messages_path = "/messages";
    o->session_idle_ms = FA_MCP_HTTP_SESSION_IDLE_MS;
    o->retry_ms = FA_MCP_HTTP_RETRY_MS;
    o->replay_bytes = FA_MCP_HTTP_REPLAY_BYTES;
    o->replay_events = FA_MCP_HTTP_REPLAY_EVENTS;
}

static void ep_free(void *p) {
    fa__mcp_http_t *ep = p;
    if (!ep)
        return;
    while (ep->sessions)
        hsess_end(ep->sessions, "endpoint freed");
    fa__map_free(&ep->by_id);
    free(ep->path);
    free(ep->sse_path);
    free(ep->messages_path);
    free_list(ep->hosts);
    free_list(ep->origins);
    fa__buf_free(&ep->scratch);
    free(ep);
}

/* /metrics lines of the MCP engine, rendered on the engine's thread (the counters are plain
 * fields the engine writes). */
static void mcp_metrics_render(fa__buf_t *out, const fa_server_t *srv) {
    fa__buf_appendf(out,
                    "# HELP fasterapi_mcp_sessions Open MCP sessions (2025-era sessions, and "
                    "2026-07-28 requests while they run).\n"
                    "# TYPE fasterapi_mcp_sessions gauge\n"
                    "fasterapi_mcp_sessions %zu\n"
                    "# HELP fasterapi_mcp_calls_running Calls at the workers (the job queue's "
                    "depth).\n"
                    "# TYPE fasterapi_mcp_calls_running gauge\n"
                    "fasterapi_mcp_calls_running %zu\n"
                    "# HELP fasterapi_mcp_calls_queued Calls waiting in the sessions' backlogs "
                    "for a slot.\n"
                    "# TYPE fasterapi_mcp_calls_queued gauge\n"
                    "fasterapi_mcp_calls_queued %zu\n"
                    "# HELP fasterapi_mcp_output_held Results and notifications held for clients "
                    "whose output is blocked.\n"
                    "# TYPE fasterapi_mcp_output_held gauge\n"
                    "fasterapi_mcp_output_held %zu\n"
                    "# HELP fasterapi_mcp_worker_busy_seconds_total Time calls spent at the "
                    "workers, dispatch to completion, summed.\n"
                    "# TYPE fasterapi_mcp_worker_busy_seconds_total counter\n"
                    "fasterapi_mcp_worker_busy_seconds_total %.6f\n"
                    "# HELP fasterapi_mcp_calls_completed_total Calls back from the workers.\n"
                    "# TYPE fasterapi_mcp_calls_completed_total counter\n"
                    "fasterapi_mcp_calls_completed_total %llu\n"
                    "# HELP fasterapi_mcp_tool_calls_total tools/call requests by tool.\n"
                    "# TYPE fasterapi_mcp_tool_calls_total counter\n",
                    srv->nsessions, srv->outstanding, srv->queued, srv->held_total,
                    (double)srv->busy_ns / 1e9, (unsigned long long)srv->calls_done);
    for (size_t i = 0; i < srv->ntools; i++) {
        fa__buf_append_str(out, "fasterapi_mcp_tool_calls_total{tool=\"");
        for (const char *p = srv->tools[i]->name; *p; p++) { /* label value escapes */
            if (*p == '\\' || *p == '"')
                fa__buf_putc(out, '\\');
            if (*p == '\n')
                fa__buf_append_str(out, "\\n");
            else
                fa__buf_putc(out, *p);
        }
        fa__buf_appendf(out, "\"} %llu\n", (unsigned long long)srv->tools[i]->calls);
    }
}

static int path_is(const char *path, size_t len, const char *want) {
    const char *q = memchr(path, '?', len);
    size_t n = q ? (size_t)(q - path) : len;
    return strlen(want) == n && memcmp(path, want, n) == 0;
}

/* The HTTP server's own errors about a request to the endpoint (413 over the HTTP body limit,
 * 408 for a stalled body, broken chunked framing) as JSON-RPC errors, like every other answer
 * an MCP client gets here: -32600, id null. Other paths keep the default text. */
static const char *error_body(void *data, const char *path, size_t path_len, int status,
                              const char *text, fa__buf_t *out) {
    fa__mcp_http_t *ep = data;
    if (!path_is(path, path_len, ep->path) &&
        !(ep->legacy_sse && path_is(path, path_len, ep->messages_path)))
        return NULL;
    char msg[200];
    snprintf(msg, sizeof msg, "Invalid Request: %s (HTTP %d)", text, status);
    return fa__rpc_write_error(out, "null", 4, FA_RPC_INVALID_REQUEST, msg, NULL) == 0
               ? "application/json"
               : NULL;
}

/* A scrape on loop k > 0 asks loop 0 for the engine's lines and waits for them, at most
 * METRICS_WAIT_MS (loop 0 never waits for another loop, so this cannot deadlock; a loop 0 that
 * is busy or stopping only costs the scrape its MCP lines). Reference counted: the side that
 * finishes last frees it. */
#define METRICS_WAIT_MS 1000u

typedef struct {
    fa__http_msg_t m;
    _Atomic int refs;
    uv_mutex_t mu;
    uv_cond_t cv;
    int done;
    fa__buf_t out;
    const fa_server_t *srv;
} metrics_req_t;

static void metrics_unref(metrics_req_t *r) {
    if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) != 1)
        return;
    uv_cond_destroy(&r->cv);
    uv_mutex_destroy(&r->mu);
    fa__buf_free(&r->out);
    free(r);
}

static void metrics_on_loop0(fa__http_loop_t *loop, fa__http_conn_t *conn, fa__http_msg_t *m) {
    (void)loop;
    (void)conn;
    metrics_req_t *r = (metrics_req_t *)m;
    fa__buf_t b = FA__BUF_INIT;
    mcp_metrics_render(&b, r->srv);
    uv_mutex_lock(&r->mu);
    r->out = b;
    r->done = 1;
    uv_cond_signal(&r->cv);
    uv_mutex_unlock(&r->mu);
    metrics_unref(r);
}

static void mcp_metrics(fa__buf_t *out, uint32_t loop, void *data) {
    fa__mcp_http_t *ep = data;
    if (loop == 0) {
        mcp_metrics_render(out, ep->mcp);
        return;
    }
    metrics_req_t *r = calloc(1, sizeof *r);
    if (!r)
        return;
    if (uv_mutex_init(&r->mu) != 0) {
        free(r);
        return;
    }
    if (uv_cond_init(&r->cv) != 0) {
        uv_mutex_destroy(&r->mu);
        free(r);
        return;
    }
    atomic_init(&r->refs, 2);
    r->srv = ep->mcp;
    r->m.cb = metrics_on_loop0;
    r->m.to = (fa__http_conn_ref_t){0, FA__HTTP_NO_SLOT, 0};
    if (fa__http_post(ep->http, &r->m) != 0) {
        metrics_unref(r);
        metrics_unref(r);
        return;
    }
    uint64_t until = uv_hrtime() + (uint64_t)METRICS_WAIT_MS * 1000000u;
    uv_mutex_lock(&r->mu);
    while (!r->done) {
        uint64_t now = uv_hrtime();
        if (now >= until || uv_cond_timedwait(&r->cv, &r->mu, until - now) == UV_ETIMEDOUT)
            break;
    }
    if (r->done)
        fa__buf_append(out, r->out.data, r->out.len);
    uv_mutex_unlock(&r->mu);
    metrics_unref(r);
}

int fa_mcp_http_mount(fa_server_t *mcp, fa_http_server_t *http, const fa_mcp_http_options_t *o) {
    fa_mcp_http_options_t d;
    if (!o) {
        fa_mcp_http_options_init(&d);
        o = &d;
    }
    if (!mcp || !http)
        return FA_EINVAL;
    if (mcp->endpoint)
        return FA_EEXIST;
    if (atomic_load(&http->started))
        return FA_ESTATE;
    const char *path = o->path ? o->path : FA_MCP_HTTP_PATH;
    if (path[0] != '/' || (o->node_id && !fa__mcp_http_node_id_ok(o->node_id)))
        return FA_EINVAL;
    fa__mcp_http_t *ep = calloc(1, sizeof *ep);
    if (!ep)
        return FA_ENOMEM;
    ep->mcp = mcp;
    ep->http = http;
    ep->legacy_sse = o->legacy_sse;
    if (o->node_id)
        snprintf(ep->node, sizeof ep->node, "%s.", o->node_id);
    ep->sid_len = strlen(ep->node) + FA__SID_LEN;
    ep->idle_ms = o->session_idle_ms ? o->session_idle_ms : FA_MCP_HTTP_SESSION_IDLE_MS;
    ep->max_body = o->max_body ? o->max_body : mcp->opts.max_message;
    ep->retry_ms = o->retry_ms > 0 ? o->retry_ms : FA_MCP_HTTP_RETRY_MS;
    ep->keepalive_ms = o->keepalive_ms ? o->keepalive_ms : FA_MCP_HTTP_KEEPALIVE_MS;
    ep->replay_bytes = o->replay_bytes ? o->replay_bytes : FA_MCP_HTTP_REPLAY_BYTES;
    ep->replay_events = o->replay_events ? o->replay_events : FA_MCP_HTTP_REPLAY_EVENTS;
    ep->path = dupstr(path);
    ep->sse_path = dupstr(o->sse_path ? o->sse_path : "/sse");
    ep->messages_path = dupstr(o->messages_path ? o->messages_path : "/messages");
    ep->hosts = dup_list(o->allowed_hosts, &ep->any_host);
    ep->origins = dup_list(o->allowed_origins, &ep->any_origin);
    int rc = 0;
    if (!ep->path || !ep->sse_path || !ep->messages_path || !ep->hosts || !ep->origins)
        rc = FA_ENOMEM;
    if (rc == 0)
        rc = fa_http_route(http, NULL, ep->path, mcp_cb, ep);
    if (rc == 0 && ep->legacy_sse) {
        rc = fa_http_route(http, "GET", ep->sse_path, sse_get_cb, ep);
        if (rc == 0)
            rc = fa_http_route(http, "POST", ep->messages_path, messages_cb, ep);
    }
    if (rc == 0)
        rc = fa__http_add_metrics(http, mcp_metrics, ep);
    if (rc == 0)
        rc = fa__http_add_error_body(http, error_body, ep, 0); /* its own paths only */
    if (rc) {
        ep_free(ep);
        return rc;
    }
    mcp->endpoint = ep;
    mcp->endpoint_free = ep_free;
    return 0;
}
