/* transport/http_internal.h: the HTTP/1.1 server's internals, and the hooks other transport layers
 * (WebSocket, SSE, the MCP Streamable HTTP endpoint) build on.
 *
 * Structure. A server has io_threads loops (fa__http_loop_t). Loop 0 runs on the caller's libuv
 * loop (fa_http_server_start) or on one the server made (fa_http_server_run); loops 1..N-1 run on
 * their own threads. Each loop owns its listener (SO_REUSEPORT), its connections, its pools of
 * connection and request objects, its Date cache, and an inbox: an MPSC queue of messages plus a
 * coalescing eventfd wake-up (core/wakeup.h). Nothing owned by a loop is touched by another thread;
 * other threads talk to a loop only through fa__http_post.
 *
 * Connection: a read buffer holding unparsed bytes, the request being received, an ordered list of
 * unfinished responses (deferred or streaming requests), and the output. Every complete request in
 * the buffer is parsed and handled in order (pipelining); responses are appended to the output in
 * request order: a response that is not ready yet (deferred to another thread, or a stream that is
 * still open) holds back the ones behind it, which wait in that entry's `after` buffer. At the end
 * of a read batch (and after each inbox drain) everything ready goes out with one uv_try_write, the
 * rest with one uv_write.
 *
 * ---- Hooks for the layers above (all on the connection's loop thread unless said otherwise) ----
 *
 * (1) Protocol takeover after 101 (WebSocket): a handler that answers "101 Switching Protocols"
 *     calls fa__http_takeover(req, proto, ctx) before returning. Once that response has been
 *     queued, the connection stops speaking HTTP: every byte after the request head (including
 *     bytes that arrived in the same read as the head) and every later read goes to
 *     proto->on_read, which returns how many bytes it consumed (the rest stays buffered and is
 *     offered again, with more, after the next read; the buffer grows up to max_head + max_body).
 *     The protocol writes with fa__http_conn_out + fa__http_conn_flush, pauses input with
 *     fa__http_conn_pause_reading, closes with fa__http_conn_close, and gets proto->on_close once
 *     when the connection is gone (either side); on_drain when queued output falls below half of
 *     max_output after having been above it. `data` in on_read is valid only during the call.
 *
 * (2) Streaming responses (SSE, chunked downloads): fa__http_stream_start(req, ...) in a handler
 *     sends the head with Transfer-Encoding: chunked (HTTP/1.1) or no length and a close at the end
 *     (HTTP/1.0), and returns a stream that stays open after the handler returns. Each
 *     fa__http_stream_write is one chunk, flushed at once (coalesced with others of the same loop
 *     iteration); fa__http_stream_end writes the last chunk. The request view (path, headers,
 *     params) is valid only while the handler runs: the read buffer it points into serves the
 *     next requests; copy what the stream needs (e.g. Last-Event-ID) before returning. Responses to
 * requests pipelined behind a stream wait until it ends. on_close fires once if the connection dies
 * first (after it the stream must not be used); it does not fire after fa__http_stream_end. At a
 * graceful server shutdown every open stream is ended by the server (its last chunk is sent):
 * on_close fires first, so its owner forgets it.
 *
 * (3) Cross-thread delivery: a connection is named by fa__http_conn_ref_t {loop, slot, generation}.
 *     fa__http_post(srv, msg) from ANY thread queues msg (an intrusive header embedded in the
 *     caller's struct, which the caller allocated) on the loop msg->to.loop and wakes it; the loop
 *     calls msg->cb(loop, conn, msg) with conn = the live connection, or NULL when the slot's
 *     generation moved on (the client left: the message is stale and cb should just free it), or
 *     when the loop is shutting down. Messages from one thread to one loop are delivered in the
 *     order posted. cb owns msg. fa__http_post returns FA_ESTATE (msg not taken) once that loop has
 *     closed its inbox.
 */
#ifndef FA_TRANSPORT_HTTP_INTERNAL_H
#define FA_TRANSPORT_HTTP_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "core/buf.h"
#include "core/wakeup.h"
#include "fasterapi/http.h"
#include "fasterapi/queue.h"
#include "transport/http_parser.h"
#include "transport/router.h"

/* Initial read buffer: a typical request head (300-800 bytes) and wrk's 16 pipelined requests fit
 * in one 4 KiB page; grown geometrically when a head or a body needs more. */
#define FA_HTTP_READ_BUF 4096u
/* Read buffers an I/O loop keeps for idle connections to take back (trim_idle in http_conn.c). */
#define FA_HTTP_RBUF_POOL 256u
/* Messages waiting in one loop's inbox; a producer that finds it full waits (backpressure). */
#define FA_HTTP_INBOX 65536u
/* Connections whose write an inbox drain defers (fa__http_conn_flush_soon): a burst to more
 * connections than this flushes the rest at once, as before (2 KiB per loop). */
#define FA_HTTP_FLUSH_SOON 256u
/* ...and a connection with this much output waiting is written at once: deferring more gains
 * nothing, and output held back would count against max_output as if the client did not read. */
#define FA_HTTP_FLUSH_SOON_BYTES (64u * 1024u)
/* Lingering close: after the last response of a connection we close, keep reading (and dropping)
 * for up to 2 s so unread request bytes do not turn the close into a RST that destroys the response
 * in the client's receive buffer (nginx's lingering_close does the same). */
#define FA_HTTP_LINGER_MS 2000u
/* Inline per-request arena (decoded query parameters, NUL-terminated copies); more spills to heap.
 */
#define FA_HTTP_REQ_ARENA 512u

typedef struct fa__http_loop_s fa__http_loop_t;
typedef struct fa__http_conn_s fa__http_conn_t;

/* ---- (3) connection handles and messages ---- */

#define FA__HTTP_NO_SLOT UINT32_MAX

typedef struct {
    uint32_t loop;
    uint32_t slot; /* FA__HTTP_NO_SLOT: a message for the loop itself (cb gets conn = NULL) */
    uint32_t gen;
} fa__http_conn_ref_t;

typedef struct fa__http_msg_s fa__http_msg_t;
typedef void (*fa__http_msg_cb)(fa__http_loop_t *loop, fa__http_conn_t *conn, fa__http_msg_t *msg);
struct fa__http_msg_s {
    fa__http_msg_cb cb;
    fa__http_conn_ref_t to;
};

/* The handle of a live connection (loop thread). */
fa__http_conn_ref_t fa__http_conn_ref(const fa__http_conn_t *c);
/* Any thread. 0, FA_ESTATE (that loop closed its inbox, or no such loop): msg was not taken. */
int fa__http_post(fa_http_server_t *srv, fa__http_msg_t *msg);

/* ---- (1) protocol takeover ---- */

typedef struct {
    /* Bytes after the 101 response; returns how many were consumed (<= len). */
    size_t (*on_read)(fa__http_conn_t *c, void *ctx, char *data, size_t len);
    void (*on_drain)(fa__http_conn_t *c, void *ctx); /* optional */
    void (*on_close)(fa__http_conn_t *c, void *ctx); /* once; c is gone after it returns */
    /* Optional: the server is shutting down gracefully. The protocol says goodbye (a WebSocket
     * close frame 1001) and calls fa__http_conn_close; without this callback, or if it has not
     * closed by shutdown_timeout_ms, the connection is closed under it (on_close still fires). */
    void (*on_shutdown)(fa__http_conn_t *c, void *ctx);
} fa__http_proto_t;

/* In a handler, after queuing the 101 response. 0 or FA_ESTATE (deferred request, HTTP/1.0, or
 * responses of earlier pipelined requests still pending: the protocol's bytes would overtake
 * them). */
int fa__http_takeover(fa_http_req_t *req, const fa__http_proto_t *proto, void *ctx);
/* The connection of a request (loop thread, while the handler runs). */
fa__http_conn_t *fa__http_req_conn(fa_http_req_t *req);

fa__buf_t *fa__http_conn_out(fa__http_conn_t *c);
/* Writes what is queued (uv_try_write, then uv_write for the rest); closes the connection when the
 * output limit is exceeded. */
void fa__http_conn_flush(fa__http_conn_t *c);
/* As fa__http_conn_flush, except inside the callback of a cross-thread message (fa__http_post):
 * there the write waits until the loop has handled every message its inbox holds, so a burst of
 * frames posted for one connection leaves in one write instead of one write each. */
void fa__http_conn_flush_soon(fa__http_conn_t *c);
void fa__http_conn_pause_reading(fa__http_conn_t *c);
void fa__http_conn_resume_reading(fa__http_conn_t *c);
/* Bytes queued (not yet accepted by the kernel). */
size_t fa__http_conn_queued(const fa__http_conn_t *c);
/* Flushes what is queued (best effort, bounded by the linger time) then closes. */
void fa__http_conn_close(fa__http_conn_t *c);
fa__http_loop_t *fa__http_conn_loop(fa__http_conn_t *c);

/* ---- (2) streaming responses ---- */

typedef struct fa__http_stream_s fa__http_stream_t;
typedef void (*fa__http_stream_close_cb)(fa__http_stream_t *s, void *ctx);

/* In a handler: sends status + headers (content_type may be NULL; `headers` is raw
 * "Name: value\r\n" lines or NULL). Returns the stream, or NULL (already answered, or no memory:
 * the request is then answered with 500). */
fa__http_stream_t *fa__http_stream_start(fa_http_req_t *req, int status, const char *content_type,
                                         const char *headers, fa__http_stream_close_cb on_close,
                                         void *ctx);
/* One chunk (len 0 is ignored). 0, FA_ESTATE (ended), or FA_EPIPE (connection closing). */
int fa__http_stream_write(fa__http_stream_t *s, const void *data, size_t len);
/* Ends the body; the stream object is released. */
void fa__http_stream_end(fa__http_stream_t *s);
fa__http_conn_t *fa__http_stream_conn(fa__http_stream_t *s);
/* Writes `text` (static, e.g. ": keep-alive\n\n" for SSE) whenever the stream has been silent
 * for every_ms, so proxies and clients with read timeouts keep an idle stream open. The
 * connection's loop thread, after the stream's head (stream_start or held_stream). */
void fa__http_stream_keepalive(fa__http_stream_t *s, uint32_t every_ms, const char *text);

/* A NUL-terminated copy of s[0..n) in the request's arena, valid as long as the request view;
 * NULL on out of memory. Handler thread. */
char *fa__http_req_strdup(fa_http_req_t *r, const char *s, size_t n);

/* ---- (4) held responses (the MCP Streamable HTTP endpoint) ----
 * A handler that cannot answer yet, and does not know yet whether the answer will be one body or
 * a stream, holds the request: nothing is written, the request stays first in line for its
 * connection (later pipelined responses wait behind it), no handler timeout applies, and
 * on_close fires (loop thread) if the connection dies first, including when the client closes
 * its end (an HTTP client that half-closes while waiting for an answer does not exist in
 * practice, and a held request must learn that its client left). Later, on the loop thread, the
 * holder either answers with one complete response (fa__http_held_respond; the handle is then
 * gone) or turns it into a streaming response (fa__http_held_stream; from then on the handle is
 * an ordinary stream: fa__http_stream_write / _end). At a graceful shutdown a held request gets
 * on_close and then a 503. The request view is valid only while the handler runs (as for
 * streams). */
fa__http_stream_t *fa__http_hold(fa_http_req_t *req, fa__http_stream_close_cb on_close, void *ctx);
/* A stream whose client never half-closes (SSE: an EventSource or an MCP client): its EOF
 * closes the connection at once (on_close fires) instead of being a half-close that waits for
 * the stream to end. Held requests (and the streams they become) have this already. */
void fa__http_stream_close_on_eof(fa__http_stream_t *s);
/* 0, FA_EPIPE (the connection is gone: nothing sent, handle released), FA_ESTATE (not held). */
int fa__http_held_respond(fa__http_stream_t *s, int status, const char *content_type,
                          const char *headers, const void *body, size_t len);
/* 0 (the head is sent), FA_EPIPE, FA_ESTATE, FA_ENOMEM (the connection is closed). */
int fa__http_held_stream(fa__http_stream_t *s, int status, const char *content_type,
                         const char *headers);

/* ---- (5) deferred requests that stream (a Python worker's StreamingResponse or SSE) ----
 * A deferred request (fa_http_req_defer) whose responding thread decides to stream instead of
 * answering with fa_http_respond posts a message to the request's loop (req->loop->index, slot
 * FA__HTTP_NO_SLOT) whose callback calls fa__http_deferred_hold: the request becomes a held
 * request of its connection (section (4): fa__http_held_stream / _held_respond, then
 * fa__http_stream_write / _end), owned by the loop from then on, with no handler timeout. NULL
 * when it cannot be answered any more: the client left (the request is released) or the handler
 * timeout answered 504 already. Either way the responding thread's hold on the request (and on
 * the server) is over: it must not touch the request again. */
fa__http_stream_t *fa__http_deferred_hold(fa_http_deferred_t *d, fa__http_stream_close_cb on_close,
                                          void *ctx);
/* on_drain (loop thread, with the stream's ctx) runs after each flush of the connection while the
 * stream is first in line and the connection is open: how a producer on another thread learns
 * that the bytes it queued have gone to the kernel (fa__http_conn_queued went down). It must not
 * write, end or close anything. */
void fa__http_stream_on_drain(fa__http_stream_t *s, fa__http_stream_close_cb on_drain);

/* Serves HTTP on an already connected stream socket (TCP or Unix; socket activation, tests,
 * fuzzing), on loop `loop_index`'s thread. The fd belongs to the server from then on if this
 * succeeds. 0, FA_ELIMIT (max_connections), FA_ESTATE (stopping), FA_EINVAL, FA_ENOMEM or a libuv
 * error. */
int fa__http_conn_adopt(fa_http_server_t *srv, uint32_t loop_index, int fd);

/* ---- metrics hook ---- */

/* Appends Prometheus text lines (with their # HELP/# TYPE) to out at scrape time, on the scraping
 * loop's thread; `loop` is that loop's index (a hook whose numbers belong to one loop fetches
 * them from there when it is another). Registered before start. */
typedef void (*fa__http_metrics_cb)(fa__buf_t *out, uint32_t loop, void *data);
int fa__http_add_metrics(fa_http_server_t *srv, fa__http_metrics_cb cb, void *data);

/* Error responses the server makes itself about a request whose head it parsed (404 and 405 from
 * the router, 413 for a body over the limit, 408 for a body that stalls, 400 for broken chunked
 * framing): `fn` may write a body of its own for that path and status into `out` and return its
 * Content-Type, or return NULL to pass. `path` is the request target as sent (query included).
 *
 * Several services shape their errors on one server (the MCP endpoint answers JSON-RPC errors on
 * its path, never text; a Python web App answers FastAPI's {"detail": ...} elsewhere), so the
 * hooks form a chain: those for particular paths (catch_all 0) are asked first, in registration
 * order, then the catch-all ones; the first that writes a body wins, and when none does the body
 * is the default text. Before start; fn runs on loop threads and must not block.
 * 0, or FA_ENOSPC when FA__HTTP_ERROR_BODY_MAX hooks are registered already. */
typedef const char *(*fa__http_error_body_fn)(void *data, const char *path, size_t path_len,
                                              int status, const char *text, fa__buf_t *out);
/* One per service that shapes its errors (MCP endpoint, web App), with room to spare. */
#define FA__HTTP_ERROR_BODY_MAX 4
int fa__http_add_error_body(fa_http_server_t *srv, fa__http_error_body_fn fn, void *data,
                            int catch_all);

/* ---- internal structures (http_server.c, http_conn.c, http_static.c) ---- */

typedef struct {
    fa_http_handler_cb cb;
    void *data;
    unsigned route_index; /* for metrics */
} fa__http_handler_t;

typedef struct fa__http_arena_chunk_s {
    struct fa__http_arena_chunk_s *next;
} fa__http_arena_chunk_t;

/* A request and its response state. Pooled per loop; a deferred or streaming request lives on
 * (out of the pool) until answered/ended. */
struct fa_http_req_s {
    fa__http_request_t h;
    const char *body;
    size_t body_len;
    fa__route_match_t match;
    const fa__http_handler_t *handler;
    char *scratch; /* route parameter values (h.path_len bytes) */
    size_t scratch_cap;
    fa__buf_t res_headers; /* "Name: value\r\n" lines from fa_http_res_header */
    /* Arena for strings handed to the handler (decoded query values). */
    char arena[FA_HTTP_REQ_ARENA];
    size_t arena_used;
    fa__http_arena_chunk_t *arena_more;
    /* Ordering and state. */
    fa__http_conn_t *conn; /* NULL once orphaned (connection gone or answered 504 by timeout) */
    fa__http_loop_t *loop;
    struct fa_http_req_s *next_pending; /* in conn's pending list */
    int linked;                         /* in that list now */
    fa__buf_t own;                      /* this entry's output while it is not first in line */
    fa__buf_t after;                    /* responses of later requests waiting behind this one */
    uint64_t started_ms;                /* uv_now when handled (handler timeout, latency) */
    int answered;
    int answered_by_reply; /* deferred: the responding thread's answer arrived (it let go) */
    int deferred;
    int streaming;
    int held;            /* streaming, but no head sent yet (fa__http_hold) */
    int close_on_eof;    /* the client's EOF means it left (held, fa__http_stream_close_on_eof) */
    uint32_t ka_ms;      /* fa__http_stream_keepalive: idle interval, 0 = off */
    uint64_t ka_last;    /* uv_now of the stream's last write */
    const char *ka_text; /* static bytes written when idle */
    int status;          /* the status sent (metrics, logs) */
    int keep_alive;
    int is_head;
    char *copy;         /* deferred: the head/body/params copied out of the read buffer */
    fa__http_msg_t msg; /* deferred: fa_http_respond posts this */
    fa__buf_t reply;    /* deferred: the response rendered by the responding thread */
    int reply_status;   /* deferred: its status and whether it said "Connection: close"; */
    int reply_close;    /* applied to status/keep_alive on the loop when the reply arrives */
    fa__http_stream_close_cb stream_close;
    fa__http_stream_close_cb stream_drain; /* fa__http_stream_on_drain */
    void *stream_ctx;
    /* A file body (static files): sent after the head, see http_conn.c pump_file. */
    int has_file, file_sendfile, file_fd;
    off_t file_off;
    uint64_t file_left;
    fa__http_header_t header_store[]; /* max_headers entries */
};

struct fa__http_loop_s {
    fa_http_server_t *srv;
    uint32_t index;
    uv_loop_t *uv;
    int own_uv; /* the server made this uv loop (closes it) */
    uv_thread_t thread;
    int has_thread;
    union {
        uv_tcp_t tcp;
        uv_pipe_t pipe;
        uv_handle_t handle;
    } listener;
    int listening;
    fa__wakeup_t wake;
    fa_mpsc_t *inbox;
    /* Connections to flush once the inbox is drained (fa__http_conn_flush_soon), by slot and
     * generation: one may close meanwhile. */
    int draining;
    size_t nsoon;
    struct {
        uint32_t slot, gen;
    } soon[FA_HTTP_FLUSH_SOON];
    /* gate: posters count themselves in; the loop closes it before closing the wake-up. */
    _Alignas(64) _Atomic int gate_users;
    _Atomic int gate_closed;
    _Alignas(64) uv_timer_t shutdown_timer;
    int stopping;
    int listener_closing;
    int inbox_closed;
    int handles; /* open loop-level handles besides the listener (wake-up, shutdown timer) */
    /* Connections by slot; a slot's generation moves on each time it is freed. */
    fa__http_conn_t **slots;
    uint32_t *gens;
    uint32_t nslots;
    uint32_t *free_slots; /* a stack of free slot numbers */
    uint32_t nfree;
    size_t nconns;
    /* Pools (loop thread only). */
    fa__http_conn_t *conn_pool;
    fa_http_req_t *req_pool;
    size_t conn_pool_len, req_pool_len;
    char *rbuf_pool; /* free FA_HTTP_READ_BUF read buffers, linked through their first bytes */
    size_t rbuf_pool_len;
    /* "Date: <IMF-fixdate>\r\n", re-rendered when the second changes (RFC 9110 §6.6.1). */
    time_t date_sec;
    char date_line[64];
    size_t date_len;
    fa__buf_t scratch; /* JSON dumps, error bodies */
    /* Statistics: written by this loop only (relaxed load + store, no RMW), read by any scraper. */
    _Atomic uint64_t requests, bytes_in, bytes_out, accepted, rejected;
    _Atomic uint64_t *route_status; /* [route+2][status class 1..5]: see http_metrics.c */
    _Atomic uint64_t latency_buckets[16];
    _Atomic uint64_t latency_sum_us;
};

/* Connection. */
struct fa__http_conn_s {
    union {
        uv_tcp_t tcp;
        uv_pipe_t pipe;
        uv_stream_t stream;
        uv_handle_t handle;
    } h;
    uv_timer_t timer;
    uv_write_t wreq;
    uv_shutdown_t sreq;
    fa__http_loop_t *loop;
    uint32_t slot, gen;
    /* Input: rbuf[rpos, rlen) is not yet handled. */
    char *rbuf;
    size_t rcap, rpos, rlen;
    size_t parse_prev;  /* bytes of the current head already scanned (incremental parse) */
    int state;          /* C_HEAD, C_BODY, C_PROTO */
    fa_http_req_t *cur; /* request whose body is being received */
    size_t body_at;     /* offset of the body start in rbuf (from rpos) */
    uint64_t body_need; /* Content-Length */
    fa__http_chunked_t chunked;
    int chunked_mode;
    size_t chunk_in;   /* chunked: next undecoded input offset (from rpos) */
    int continue_sent; /* 100 Continue sent for cur */
    /* Output. */
    fa__buf_t out;       /* ready to write */
    fa__buf_t inflight;  /* owned by the uv_write in progress */
    size_t inflight_off; /* bytes of inflight that uv_try_write already sent */
    int writing;
    fa_http_req_t *pend_head, *pend_tail;
    /* Flags. */
    int reading;
    int paused;         /* by a protocol or backpressure */
    int out_blocked;    /* output above max_output / 2 */
    int resume_pending; /* output drained below half: resume from the timer */
    int no_more;        /* no further requests: close once the output is flushed */
    int closing;        /* uv_close called */
    int lingering;      /* shutdown sent, draining input */
    int eof;
    int in_callbacks;  /* handlers running: defer closing until they return */
    int close_pending; /* handles still closing (connection + timer) */
    /* Deadlines (uv_now ms). */
    uint64_t timer_due;
    uint64_t activity;      /* last read or write progress (idle keep-alive) */
    uint64_t head_since;    /* first byte of the head being received */
    uint64_t body_progress; /* last body bytes */
    uint64_t linger_since;
    /* Protocol takeover. */
    const fa__http_proto_t *proto;
    void *proto_ctx;
    int proto_pending; /* takeover requested by the current handler */
    const fa__http_proto_t *next_proto;
    void *next_proto_ctx;
    struct fa__http_conn_s *next_free;
};

struct fa_http_server_s {
    fa_http_options_t opts; /* strings below are owned copies */
    char *host, *unix_path, *server_name, *metrics_path;
    fa__http_limits_t lim;
    struct {
        fa__http_error_body_fn fn;
        void *data;
        int catch_all;
    } error_body[FA__HTTP_ERROR_BODY_MAX]; /* fa__http_add_error_body, in asking order */
    size_t nerror_body;                    /* 0: text bodies */
    fa__router_t *router;
    fa__http_handler_t **handlers; /* stable pointers: the router keeps them */
    size_t nhandlers;
    struct {
        fa__http_metrics_cb cb;
        void *data;
    } metrics_hooks[8];
    size_t nmetrics_hooks;
    /* "Server: <name>\r\n" */
    char server_line[96];
    size_t server_line_len;
    fa__http_loop_t *loops;
    uint32_t nloops;
    int port; /* bound port */
    _Atomic int started;
    _Atomic int stop_requested;
    _Atomic int loops_running;
    _Atomic size_t nconns; /* over all loops (max_connections) */
    _Atomic int refs;      /* the owner + every deferred request not yet answered */
    int closing;
    fa_http_close_cb close_cb;
    /* fa_http_server_run */
    uv_loop_t run_loop;
    uv_signal_t sigint, sigterm;
    int signals;
    /* Static directory routes: prefix -> dir (http_static.c). */
    struct fa__http_static_s *statics;
};

/* http_conn.c */
void fa__http_on_connection(uv_stream_t *listener, int status);
void fa__http_conn_shutdown(fa__http_conn_t *c); /* graceful: close when idle */
void fa__http_conn_abort(fa__http_conn_t *c);    /* close now */
void fa__http_deferred_arrived(fa__http_loop_t *loop, fa__http_conn_t *c, fa__http_msg_t *m);
void fa__http_req_release(fa__http_loop_t *loop, fa_http_req_t *req);
void fa__http_date_refresh(fa__http_loop_t *loop);
/* Renders a complete response into out (status line, Server, Date, headers, length, body). */
int fa__http_render(fa__buf_t *out, const fa_http_server_t *srv, const char *date_line,
                    size_t date_len, const fa_http_req_t *req, int status, const char *ctype,
                    const char *hdrs, size_t hdrs_len, const void *body, size_t len);

/* Answers with a head carrying Content-Length: len, then len bytes of fd from offset (fd is owned
 * from now on, closed when done). 0, or an error (fd still the caller's). */
int fa__http_res_send_file(fa_http_req_t *req, int status, const char *content_type, int fd,
                           uint64_t offset, uint64_t len);

/* http_server.c */
int fa__http_route_add(fa_http_server_t *srv, int method, const char *pattern,
                       fa_http_handler_cb cb, void *data);
void fa__http_loop_conn_closed(fa__http_loop_t *loop); /* after a connection is freed */
void fa__http_server_unref(fa_http_server_t *srv);

/* http_static.c */
void fa__http_static_cb(fa_http_req_t *req, void *data);
void fa__http_statics_free(fa_http_server_t *srv);

/* http_metrics.c */
void fa__http_metrics_handler(fa_http_req_t *req, void *data);
void fa__http_metrics_count(fa__http_loop_t *loop, const fa_http_req_t *req, int status);

/* Relaxed single-writer counter increment (no RMW: only the owning loop writes). */
static inline void fa__http_count(_Atomic uint64_t *c, uint64_t n) {
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

#endif
