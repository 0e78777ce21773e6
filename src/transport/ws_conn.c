/* ws_conn.c: WebSocket connections on the HTTP/1.1 server (fasterapi/ws.h).
 *
 * A WebSocket route is an HTTP GET route whose handler checks the opening handshake
 * (transport/ws.h), answers 101 and takes the connection over (http_internal.h hook 1): from then
 * on every byte read goes to ws_on_read, which runs the frame parser over the read buffer in
 * place and hands whole messages to the application. A message that fits in one frame is handed
 * out zero-copy from the read buffer; fragments are assembled in the connection's own buffer,
 * bounded by max_message (the parser refuses more on the frame header, 1009).
 *
 * Handles. Other threads name a connection by {id, gen} in a process-wide registry: each slot
 * holds the server and the HTTP connection reference (loop, slot, generation) of an open
 * connection and a generation that is odd while it is open. A sender reads the slot as a seqlock
 * (generation, fields, generation again), so a closed or reused slot is seen as such and refused
 * with FA_ESTATE; what it read is only an address for fa__http_post, whose loop checks the HTTP
 * connection's own generation again before touching anything (hook 3). A message that raced with
 * the close is then dropped on the loop. Registry slots are allocated in chunks that are never
 * freed (a reused id gets a new generation), so a reader never touches freed memory.
 *
 * Closing (RFC 6455 §7): a close from the peer is echoed, then TCP is closed (the server closes
 * first, §7.1.1); our own close (fa_ws_close, idle timeout) waits close_timeout_ms for the echo; a
 * protocol error sends its close frame and closes TCP at once (§7.1.7 "fail the connection").
 * fa_ws_t lives until the HTTP connection reports it gone (on_close hook) and its timer handle has
 * closed, so callbacks never see a dangling fa_ws_t.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/utf8.h"
#include "fasterapi/error.h"
#include "fasterapi/ws.h"
#include "transport/http_internal.h"
#include "transport/ws.h"
#include "transport/ws_flow.h"

/* Assembly buffer kept between messages up to this size; a larger one is freed after its message,
 * so one big message does not pin memory for the life of the connection. */
#define WS_KEEP_BUF (64u * 1024u)

enum { WS_OPEN, WS_CLOSING, WS_DONE };

struct fa_ws_s {
    fa__http_conn_t *c; /* NULL once the HTTP connection is gone */
    fa__http_loop_t *loop;
    const fa_ws_options_t *o;
    fa__ws_parser_t parser;
    fa__buf_t msg; /* fragments of the message being assembled */
    int msg_type;  /* 0 when no fragmented message is in progress */
    int state;
    int notified; /* on_close was called */
    int opening;  /* inside the upgrade handler (before the takeover applies) */
    int in_read;  /* inside ws_on_read: the server flushes after the read batch */
    uv_timer_t timer;
    uint64_t last_rx;    /* uv_now of the last bytes read */
    int ping_sent;       /* idle ping sent, no bytes since */
    uint64_t close_due;  /* CLOSING: when TCP is closed without the peer's answer */
    unsigned close_code; /* our close frame's code (reported by on_close) */
    char close_reason[FA_WS_MAX_CONTROL];
    size_t close_reason_len;
    size_t max_output;
    uint32_t id, gen;
    const char *subprotocol;
    void *user;
};

/* The loop whose callback is running on this thread (NULL elsewhere): a send from there to a
 * connection of the same loop is done directly. Posting would be slower, and a loop posting to
 * its own full inbox would wait for itself forever. */
static _Thread_local fa__http_loop_t *tls_loop;

/* ---- registry ---- */

#define REG_CHUNK 1024u
#define REG_CHUNKS 4096u /* 4 M connections open at once in the process */

typedef struct {
    _Atomic uint32_t gen; /* odd while a connection holds the slot */
    _Atomic(fa_http_server_t *) srv;
    _Atomic uint32_t loop, slot, cgen;
} reg_slot_t;

static _Atomic(reg_slot_t *) reg_chunks[REG_CHUNKS];
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static uint32_t *reg_free; /* stack of free ids */
static size_t reg_nfree, reg_free_cap;
static uint32_t reg_next = 1; /* id 0 is never used: a zeroed handle names nothing */

static reg_slot_t *reg_at(uint32_t id) {
    if (id / REG_CHUNK >= REG_CHUNKS)
        return NULL;
    /* Acquire: the chunk's zeroed contents are visible before its pointer. */
    reg_slot_t *chunk = atomic_load_explicit(&reg_chunks[id / REG_CHUNK], memory_order_acquire);
    return chunk ? &chunk[id % REG_CHUNK] : NULL;
}

static int reg_open(fa_http_server_t *srv, fa__http_conn_ref_t ref, uint32_t *id, uint32_t *gen) {
    pthread_mutex_lock(&reg_mu);
    uint32_t i;
    if (reg_nfree) {
        i = reg_free[--reg_nfree];
    } else {
        if (reg_next / REG_CHUNK >= REG_CHUNKS) {
            pthread_mutex_unlock(&reg_mu);
            return FA_ENOMEM;
        }
        if (!atomic_load_explicit(&reg_chunks[reg_next / REG_CHUNK], memory_order_relaxed)) {
            reg_slot_t *chunk = calloc(REG_CHUNK, sizeof *chunk);
            if (!chunk) {
                pthread_mutex_unlock(&reg_mu);
                return FA_ENOMEM;
            }
            atomic_store_explicit(&reg_chunks[reg_next / REG_CHUNK], chunk, memory_order_release);
        }
        i = reg_next++;
    }
    pthread_mutex_unlock(&reg_mu);
    reg_slot_t *s = reg_at(i);
    /* The slot is free (even generation): no reader accepts what it reads now. */
    atomic_store_explicit(&s->srv, srv, memory_order_relaxed);
    atomic_store_explicit(&s->loop, ref.loop, memory_order_relaxed);
    atomic_store_explicit(&s->slot, ref.slot, memory_order_relaxed);
    atomic_store_explicit(&s->cgen, ref.gen, memory_order_relaxed);
    uint32_t g = atomic_load_explicit(&s->gen, memory_order_relaxed) + 1;
    /* Release: a reader that sees this odd generation sees the fields above. */
    atomic_store_explicit(&s->gen, g, memory_order_release);
    *id = i;
    *gen = g;
    return 0;
}

static void reg_close(uint32_t id) {
    reg_slot_t *s = reg_at(id);
    if (!s)
        return;
    uint32_t g = atomic_load_explicit(&s->gen, memory_order_relaxed);
    atomic_store_explicit(&s->gen, g + 1, memory_order_relaxed);
    /* Seqlock writer: the generation change is ordered before any later rewrite of the fields
     * (when the id is reused), so a reader that saw a rewritten field sees a new generation. */
    atomic_thread_fence(memory_order_release);
    pthread_mutex_lock(&reg_mu);
    if (reg_nfree == reg_free_cap) {
        size_t cap = reg_free_cap ? reg_free_cap * 2 : 256;
        uint32_t *n = realloc(reg_free, cap * sizeof *n);
        if (!n) {
            /* The id is lost (never reused): harmless, and only under memory exhaustion. */
            pthread_mutex_unlock(&reg_mu);
            return;
        }
        reg_free = n;
        reg_free_cap = cap;
    }
    reg_free[reg_nfree++] = id;
    pthread_mutex_unlock(&reg_mu);
}

/* Any thread: where h's connection lives, or FA_ESTATE. */
static int reg_lookup(fa_ws_handle_t h, fa_http_server_t **srv, fa__http_conn_ref_t *ref) {
    reg_slot_t *s = h.id ? reg_at(h.id) : NULL;
    if (!s || !(h.gen & 1))
        return FA_ESTATE;
    /* Seqlock reader: acquire pairs with reg_open's release store. */
    if (atomic_load_explicit(&s->gen, memory_order_acquire) != h.gen)
        return FA_ESTATE;
    *srv = atomic_load_explicit(&s->srv, memory_order_relaxed);
    ref->loop = atomic_load_explicit(&s->loop, memory_order_relaxed);
    ref->slot = atomic_load_explicit(&s->slot, memory_order_relaxed);
    ref->gen = atomic_load_explicit(&s->cgen, memory_order_relaxed);
    /* Pairs with reg_close's release fence: the fields were not rewritten under us. */
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&s->gen, memory_order_relaxed) != h.gen)
        return FA_ESTATE;
    return 0;
}

int fa_ws_alive(fa_ws_handle_t h) {
    fa_http_server_t *srv;
    fa__http_conn_ref_t ref;
    return reg_lookup(h, &srv, &ref) == 0;
}

/* ---- output ---- */

static void ws_drop(fa_ws_t *ws);

/* Appends whole frames (header + payload in up to two pieces) to the connection's output. */
static int out_bytes(fa_ws_t *ws, const void *a, size_t alen, const void *b, size_t blen) {
    if (!ws->c)
        return FA_ESTATE;
    size_t queued = fa__http_conn_queued(ws->c);
    if (!ws->opening && queued > 0 && queued + alen + blen > ws->max_output) {
        /* The client does not read what it is sent: drop it rather than buffer without bound.
         * One message alone may exceed the limit (the application chose to send it); what is
         * bounded is output piling up behind unread output. */
        FA_DEBUG("ws: closing a connection whose client does not read (%zu bytes queued)",
                 fa__http_conn_queued(ws->c));
        ws_drop(ws);
        return FA_EPIPE;
    }
    fa__buf_t *out = fa__http_conn_out(ws->c);
    if (fa__buf_reserve(out, alen + blen))
        return FA_ENOMEM;
    fa__buf_append(out, a, alen);
    if (blen)
        fa__buf_append(out, b, blen);
    /* Inside a read batch or the upgrade handler the server writes once at the end; frames
     * posted from other threads are written once the loop's inbox is drained. */
    if (!ws->in_read && !ws->opening)
        fa__http_conn_flush_soon(ws->c);
    return 0;
}

static int out_frame(fa_ws_t *ws, int opcode, const void *payload, size_t len) {
    unsigned char h[FA_WS_MAX_HEADER];
    size_t hl = fa__ws_frame_header(h, opcode, 1, len);
    return out_bytes(ws, h, hl, payload, len);
}

static int out_close(fa_ws_t *ws, unsigned code, const char *reason, size_t len) {
    unsigned char f[FA_WS_MAX_CONTROL_FRAME];
    size_t n = fa__ws_close_frame(f, code, reason, len);
    return out_bytes(ws, f, n, NULL, 0);
}

/* ---- lifecycle ---- */

static void notify(fa_ws_t *ws, unsigned code, const char *reason, size_t len) {
    if (ws->notified)
        return;
    ws->notified = 1;
    if (ws->o->on_close)
        ws->o->on_close(ws, (int)code, reason ? reason : "", len, ws->o->data);
}

/* The handshake is over (or abandoned): close TCP after what is queued. The HTTP layer calls
 * ws_on_close from inside fa__http_conn_close. */
static void finish(fa_ws_t *ws) {
    ws->state = WS_DONE;
    if (ws->c)
        fa__http_conn_close(ws->c);
}

/* Drop at once, queued output included (a client that does not read). */
static void ws_drop(fa_ws_t *ws) {
    ws->state = WS_DONE;
    if (ws->c)
        fa__http_conn_abort(ws->c);
}

/* Protocol error: send its close frame, then close TCP (§7.1.7). */
static void fail(fa_ws_t *ws, unsigned code, const char *reason) {
    if (ws->state == WS_DONE)
        return;
    FA_DEBUG("ws: failing the connection: %u %s", code, reason);
    if (ws->state == WS_OPEN)
        out_close(ws, code, reason, strlen(reason));
    ws->state = WS_DONE;
    notify(ws, code, reason, strlen(reason));
    finish(ws);
}

static void ws_free_cb(uv_handle_t *h) {
    fa_ws_t *ws = h->data;
    fa__buf_free(&ws->msg);
    free(ws);
}

static void ws_on_close(fa__http_conn_t *c, void *ctx) {
    (void)c;
    fa_ws_t *ws = ctx;
    fa__http_loop_t *prev = tls_loop;
    tls_loop = ws->loop;
    ws->c = NULL;
    reg_close(ws->id);
    if (ws->state == WS_CLOSING)
        notify(ws, ws->close_code, ws->close_reason, ws->close_reason_len);
    else
        notify(ws, FA_WS_CLOSE_ABNORMAL, "", 0); /* §7.1.5: no close frame was received */
    ws->state = WS_DONE;
    uv_timer_stop(&ws->timer);
    uv_close((uv_handle_t *)&ws->timer, ws_free_cb);
    tls_loop = prev;
}

/* ---- timers ---- */

static void timer_cb(uv_timer_t *t);

static uint64_t idle_ms(const fa_ws_t *ws) {
    return ws->o->idle_timeout_ms ? ws->o->idle_timeout_ms : FA_WS_IDLE_TIMEOUT_MS;
}

static void arm(fa_ws_t *ws) {
    uint64_t now = uv_now(ws->loop->uv), due;
    if (ws->state == WS_CLOSING)
        due = ws->close_due;
    else if (ws->state == WS_OPEN && !ws->o->no_idle)
        due = ws->last_rx + idle_ms(ws) * (ws->ping_sent ? 2u : 1u);
    else
        return;
    uv_timer_start(&ws->timer, timer_cb, due > now ? due - now : 0, 0);
}

static int start_close(fa_ws_t *ws, unsigned code, const char *reason, size_t len) {
    if (ws->state != WS_OPEN)
        return FA_ESTATE;
    if (code && !fa__ws_close_code_valid(code))
        return FA_EINVAL;
    if (len > FA_WS_MAX_CONTROL - 2)
        len = fa__utf8_clip(reason, FA_WS_MAX_CONTROL - 2);
    ws->close_code = code ? code : FA_WS_CLOSE_NO_STATUS;
    if (len)
        memcpy(ws->close_reason, reason, len);
    ws->close_reason_len = len;
    int rc = out_close(ws, code, reason, len);
    if (rc < 0)
        return rc == FA_EPIPE ? 0 : rc; /* dropped: on_close has run */
    ws->state = WS_CLOSING;
    uint64_t ms = ws->o->close_timeout_ms ? ws->o->close_timeout_ms : FA_WS_CLOSE_TIMEOUT_MS;
    ws->close_due = uv_now(ws->loop->uv) + ms;
    arm(ws);
    return 0;
}

static void timer_cb(uv_timer_t *t) {
    fa_ws_t *ws = t->data;
    fa__http_loop_t *prev = tls_loop;
    tls_loop = ws->loop;
    uint64_t now = uv_now(ws->loop->uv);
    if (ws->state == WS_CLOSING) {
        if (now >= ws->close_due) {
            FA_DEBUG("ws: no close frame from the peer in time; closing TCP");
            ws->state = WS_DONE;
            notify(ws, ws->close_code, ws->close_reason, ws->close_reason_len);
            finish(ws);
        } else {
            arm(ws);
        }
    } else if (ws->state == WS_OPEN && !ws->o->no_idle) {
        uint64_t idle = idle_ms(ws);
        if (now < ws->last_rx + idle) {
            arm(ws);
        } else if (!ws->ping_sent && !ws->o->idle_close) {
            ws->ping_sent = 1;
            out_frame(ws, FA_WS_OP_PING, NULL, 0);
            if (ws->state == WS_OPEN)
                arm(ws);
        } else if (now < ws->last_rx + 2 * idle && !ws->o->idle_close) {
            arm(ws);
        } else {
            static const char why[] = "idle timeout";
            start_close(ws, FA_WS_CLOSE_GOING_AWAY, why, sizeof why - 1);
        }
    }
    tls_loop = prev;
}

/* ---- reading ---- */

static void deliver(fa_ws_t *ws, int type, const char *data, size_t len) {
    if (ws->o->on_message)
        ws->o->on_message(ws, type, data, len, ws->o->data);
}

static void on_event(fa_ws_t *ws, const fa__ws_event_t *ev) {
    switch (ev->type) {
    case FA_WS_EV_DATA:
        if (ws->state != WS_OPEN)
            return; /* closing: the rest of the peer's messages is discarded (§7.1.3) */
        if (!ws->msg_type && ev->fin) {
            deliver(ws, ev->opcode, ev->data, ev->len); /* whole in the read buffer: zero copy */
            return;
        }
        if (fa__buf_append(&ws->msg, ev->data, ev->len)) {
            static const char why[] = "out of memory";
            fail(ws, FA_WS_CLOSE_INTERNAL, why);
            return;
        }
        ws->msg_type = ev->opcode;
        if (ev->fin) {
            ws->msg_type = 0;
            deliver(ws, ev->opcode, ws->msg.data ? ws->msg.data : "", ws->msg.len);
            ws->msg.len = 0;
            if (ws->msg.cap > WS_KEEP_BUF)
                fa__buf_free(&ws->msg);
        }
        return;
    case FA_WS_EV_PING:
        if (ws->state == WS_OPEN)
            out_frame(ws, FA_WS_OP_PONG, ev->data, ev->len); /* §5.5.2: same payload */
        return;
    case FA_WS_EV_PONG:
        return; /* any bytes already count as activity */
    case FA_WS_EV_CLOSE:
        if (ws->state == WS_OPEN) {
            /* §5.5.1: answer with a close frame, echoing the code (none if it had none). */
            unsigned echo = ev->code == FA_WS_CLOSE_NO_STATUS ? 0 : ev->code;
            out_close(ws, echo, NULL, 0);
            ws->state = WS_DONE;
            notify(ws, ev->code, ev->data, ev->len);
        } else if (ws->state == WS_CLOSING) {
            ws->state = WS_DONE;
            notify(ws, ws->close_code, ws->close_reason, ws->close_reason_len);
        }
        finish(ws);
        return;
    default:
        return;
    }
}

static size_t ws_on_read(fa__http_conn_t *c, void *ctx, char *data, size_t len) {
    (void)c;
    fa_ws_t *ws = ctx;
    fa__http_loop_t *prev = tls_loop;
    tls_loop = ws->loop;
    ws->last_rx = uv_now(ws->loop->uv);
    ws->ping_sent = 0;
    ws->in_read = 1;
    size_t off = 0;
    while (off < len && ws->c && ws->state != WS_DONE) {
        fa__ws_event_t ev;
        int64_t r = fa__ws_parser_feed(&ws->parser, data + off, len - off, &ev);
        if (r == FA_EAGAIN)
            break;
        if (r < 0) {
            fail(ws, ws->parser.close_code, ws->parser.reason);
            break;
        }
        off += (size_t)r;
        on_event(ws, &ev);
    }
    ws->in_read = 0;
    tls_loop = prev;
    /* Everything is consumed: the parser keeps what it needs of a partial frame. */
    return len;
}

/* Graceful server shutdown: say goodbye with 1001 (§7.4.1 "going away") and wait for the echo
 * as for any close of ours; the server closes what is still open after shutdown_timeout_ms. */
static void ws_on_shutdown(fa__http_conn_t *c, void *ctx) {
    (void)c;
    fa_ws_t *ws = ctx;
    fa__http_loop_t *prev = tls_loop;
    tls_loop = ws->loop;
    static const char why[] = "server shutting down";
    if (ws->state == WS_OPEN)
        start_close(ws, FA_WS_CLOSE_GOING_AWAY, why, sizeof why - 1);
    else if (ws->state == WS_DONE)
        finish(ws);
    tls_loop = prev;
}

static const fa__http_proto_t ws_proto = {ws_on_read, NULL, ws_on_close, ws_on_shutdown};

/* ---- the upgrade handler ---- */

static const char *header(fa_http_req_t *req, const char *name, size_t *len) {
    const char *v = fa_http_req_header(req, name);
    *len = v ? strlen(v) : 0;
    return v;
}

static void refuse(fa_http_req_t *req, int status, const char *why) {
    if (status == 426)
        fa_http_res_header(req, "Sec-WebSocket-Version", "13"); /* §4.4 */
    fa_http_res_send(req, status, "text/plain; charset=utf-8", why, strlen(why));
}

static void ws_upgrade_cb(fa_http_req_t *req, void *data) {
    const fa_ws_options_t *o = data;
    fa__ws_request_t wr;
    memset(&wr, 0, sizeof wr);
    wr.is_get = strcmp(fa_http_req_method(req), "GET") == 0;
    wr.minor_version = req->h.minor_version;
    wr.upgrade = header(req, "Upgrade", &wr.upgrade_len);
    wr.connection = header(req, "Connection", &wr.connection_len);
    wr.version = header(req, "Sec-WebSocket-Version", &wr.version_len);
    wr.key = header(req, "Sec-WebSocket-Key", &wr.key_len);
    wr.protocols = header(req, "Sec-WebSocket-Protocol", &wr.protocols_len);
    const char *why = NULL;
    int status = fa__ws_check_request(&wr, &why);
    if (status) {
        refuse(req, status, why);
        return;
    }
    fa__http_conn_t *c = fa__http_req_conn(req);
    if (!c || c->pend_head) {
        /* A pipelined request before this one is still unanswered: its answer would have to come
         * after the 101, in the middle of WebSocket frames (fa__http_takeover refuses it too). */
        refuse(req, 400, "upgrade behind an unanswered request");
        return;
    }
    char accept[FA_WS_ACCEPT_LEN + 1];
    if (fa__ws_accept_key(wr.key, wr.key_len, accept) != 0) {
        refuse(req, 500, "handshake failed");
        return;
    }
    size_t nproto = 0;
    while (o->subprotocols && o->subprotocols[nproto])
        nproto++;
    const char *proto =
        fa__ws_pick_protocol(wr.protocols, wr.protocols_len, o->subprotocols, nproto);

    fa_ws_t *ws = calloc(1, sizeof *ws);
    if (!ws) {
        refuse(req, 503, "out of memory");
        return;
    }
    fa__http_loop_t *loop = fa__http_conn_loop(c);
    ws->loop = loop;
    ws->o = o;
    ws->subprotocol = proto;
    ws->max_output = o->max_output ? o->max_output : loop->srv->opts.max_output;
    fa__ws_limits_t lim;
    fa__ws_limits_default(&lim);
    lim.max_message = o->max_message ? o->max_message : FA_WS_DEFAULT_MAX_MESSAGE;
    fa__ws_parser_init(&ws->parser, &lim);
    if (reg_open(loop->srv, fa__http_conn_ref(c), &ws->id, &ws->gen) != 0) {
        free(ws);
        refuse(req, 503, "out of memory");
        return;
    }
    if (fa__http_takeover(req, &ws_proto, ws) != 0) {
        reg_close(ws->id);
        free(ws);
        refuse(req, 400, "WebSocket needs HTTP/1.1");
        return;
    }
    uv_timer_init(loop->uv, &ws->timer);
    ws->timer.data = ws;
    /* §4.2.2 item 5. After fa__http_takeover, which keeps the connection open. */
    fa_http_res_header(req, "Upgrade", "websocket");
    fa_http_res_header(req, "Connection", "Upgrade");
    fa_http_res_header(req, "Sec-WebSocket-Accept", accept);
    if (proto)
        fa_http_res_header(req, "Sec-WebSocket-Protocol", proto);
    fa_http_res_send(req, 101, NULL, NULL, 0);
    ws->c = c;
    ws->state = WS_OPEN;
    ws->last_rx = uv_now(loop->uv);
    arm(ws);
    if (o->on_open) {
        fa__http_loop_t *prev = tls_loop;
        tls_loop = loop;
        ws->opening = 1;
        o->on_open(ws, req, o->data);
        ws->opening = 0;
        tls_loop = prev;
    }
}

void fa_ws_options_init(fa_ws_options_t *opts) {
    memset(opts, 0, sizeof *opts);
}

int fa_ws_route(fa_http_server_t *srv, const char *pattern, const fa_ws_options_t *opts) {
    if (!srv || !pattern || !opts)
        return FA_EINVAL;
    /* The handler's data is the caller's options, borrowed for the server's life (ws.h). */
    return fa_http_route(srv, "GET", pattern, ws_upgrade_cb, (void *)(uintptr_t)opts);
}

/* ---- loop-thread API ---- */

static int check_type(int type, const void *data, size_t len) {
    if (type == FA_WS_TEXT)
        return fa__utf8_valid(data, len) ? 0 : FA_EINVAL; /* §5.6: text is UTF-8 */
    return type == FA_WS_BINARY ? 0 : FA_EINVAL;
}

int fa_ws_send(fa_ws_t *ws, int type, const void *data, size_t len) {
    int rc = check_type(type, data, len);
    if (rc)
        return rc;
    if (ws->state != WS_OPEN || !ws->c)
        return FA_ESTATE;
    return out_frame(ws, type, data, len);
}

int fa_ws_close(fa_ws_t *ws, unsigned code, const char *reason) {
    return start_close(ws, code, reason, reason ? strlen(reason) : 0);
}

fa_ws_handle_t fa_ws_handle(const fa_ws_t *ws) {
    fa_ws_handle_t h = {ws->id, ws->gen};
    return h;
}

const char *fa_ws_subprotocol(const fa_ws_t *ws) {
    return ws->subprotocol;
}

void fa_ws_set_user(fa_ws_t *ws, void *user) {
    ws->user = user;
}

void *fa_ws_user(const fa_ws_t *ws) {
    return ws->user;
}

/* ---- any thread ---- */

/* A frame shared by the messages of one broadcast. */
typedef struct {
    _Atomic size_t refs;
    size_t len;
    char bytes[];
} shared_t;

enum { M_FRAME, M_SHARED, M_CLOSE, M_RESUME };

typedef struct {
    fa__http_msg_t msg; /* first: the loop hands this pointer back */
    uint32_t id, gen;
    int kind;
    unsigned code;
    shared_t *shared;
    size_t len;
    char bytes[]; /* M_FRAME: the frame; M_CLOSE: the reason */
} ws_msg_t;

static void shared_unref(shared_t *s) {
    /* acq_rel: the last owner sees every other owner's use finished before it frees. */
    if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        free(s);
}

/* The open connection h names, when it lives on the loop whose callback is running here. */
static fa_ws_t *local_ws(fa_ws_handle_t h, fa_http_server_t *srv, fa__http_conn_ref_t ref) {
    fa__http_loop_t *loop = tls_loop;
    if (!loop || loop->srv != srv || loop->index != ref.loop)
        return NULL;
    if (ref.slot >= loop->nslots || loop->gens[ref.slot] != ref.gen)
        return NULL;
    fa__http_conn_t *c = loop->slots[ref.slot];
    if (!c || c->closing || c->proto != &ws_proto)
        return NULL;
    fa_ws_t *ws = c->proto_ctx;
    return ws->id == h.id && ws->gen == h.gen ? ws : NULL;
}

static void apply(fa_ws_t *ws, const ws_msg_t *m) {
    if (!ws || ws->state != WS_OPEN)
        return; /* closed or closing meanwhile: dropped */
    if (m->kind == M_CLOSE)
        start_close(ws, m->code, m->bytes, m->len);
    else if (m->kind == M_RESUME)
        fa__http_conn_resume_reading(ws->c);
    else if (m->kind == M_SHARED)
        out_bytes(ws, m->shared->bytes, m->shared->len, NULL, 0);
    else
        out_bytes(ws, m->bytes, m->len, NULL, 0);
}

static void msg_cb(fa__http_loop_t *loop, fa__http_conn_t *c, fa__http_msg_t *msg) {
    ws_msg_t *m = (ws_msg_t *)msg;
    fa_ws_t *ws = NULL;
    if (c && c->proto == &ws_proto) {
        fa_ws_t *w = c->proto_ctx;
        if (w->id == m->id && w->gen == m->gen)
            ws = w;
    }
    fa__http_loop_t *prev = tls_loop;
    tls_loop = loop;
    apply(ws, m);
    tls_loop = prev;
    shared_unref(m->kind == M_SHARED ? m->shared : NULL);
    free(m);
}

/* Delivers m to h's connection: directly when it lives on this thread's running loop, else
 * through its loop's inbox. Takes m in every case. */
static int dispatch(fa_ws_handle_t h, ws_msg_t *m) {
    fa_http_server_t *srv;
    fa__http_conn_ref_t ref;
    int rc = reg_lookup(h, &srv, &ref);
    if (rc == 0) {
        fa_ws_t *ws = local_ws(h, srv, ref);
        if (ws) {
            apply(ws, m);
        } else {
            m->msg.cb = msg_cb;
            m->msg.to = ref;
            m->id = h.id;
            m->gen = h.gen;
            rc = fa__http_post(srv, &m->msg);
            if (rc == 0)
                return 0; /* the loop owns m now */
        }
    }
    shared_unref(m->kind == M_SHARED ? m->shared : NULL);
    free(m);
    return rc;
}

int fa_ws_send_to(fa_ws_handle_t h, int type, const void *data, size_t len) {
    int rc = check_type(type, data, len);
    if (rc)
        return rc;
    if (!fa_ws_alive(h))
        return FA_ESTATE; /* cheap early answer; dispatch checks again */
    if (len > SIZE_MAX - sizeof(ws_msg_t) - FA_WS_MAX_HEADER)
        return FA_ENOMEM;
    ws_msg_t *m = malloc(sizeof *m + FA_WS_MAX_HEADER + len);
    if (!m)
        return FA_ENOMEM;
    memset(m, 0, sizeof *m);
    m->kind = M_FRAME;
    size_t hl = fa__ws_frame_header((unsigned char *)m->bytes, type, 1, len);
    if (len)
        memcpy(m->bytes + hl, data, len);
    m->len = hl + len;
    return dispatch(h, m);
}

int fa__ws_send_frames_to(fa_ws_handle_t h, const void *frames, size_t len) {
    if (len > SIZE_MAX - sizeof(ws_msg_t))
        return FA_ENOMEM;
    ws_msg_t *m = malloc(sizeof *m + len);
    if (!m)
        return FA_ENOMEM;
    memset(m, 0, sizeof *m);
    m->kind = M_FRAME;
    if (len)
        memcpy(m->bytes, frames, len);
    m->len = len;
    return dispatch(h, m);
}

int fa_ws_close_to(fa_ws_handle_t h, unsigned code, const char *reason) {
    if (code && !fa__ws_close_code_valid(code))
        return FA_EINVAL;
    size_t len = reason ? strlen(reason) : 0;
    if (len > FA_WS_MAX_CONTROL - 2)
        len = fa__utf8_clip(reason, FA_WS_MAX_CONTROL - 2);
    ws_msg_t *m = malloc(sizeof *m + len + 1);
    if (!m)
        return FA_ENOMEM;
    memset(m, 0, sizeof *m);
    m->kind = M_CLOSE;
    m->code = code;
    if (len)
        memcpy(m->bytes, reason, len);
    m->len = len;
    return dispatch(h, m);
}

/* ---- flow control for hosts (transport/ws.h) ---- */

void fa__ws_pause_reading(fa_ws_t *ws) {
    /* Not inside the upgrade handler: the takeover applies once it returns. */
    if (ws->c && !ws->opening && ws->state == WS_OPEN)
        fa__http_conn_pause_reading(ws->c);
}

int fa__ws_resume_reading_to(fa_ws_handle_t h) {
    ws_msg_t *m = malloc(sizeof *m);
    if (!m)
        return FA_ENOMEM;
    memset(m, 0, sizeof *m);
    m->kind = M_RESUME;
    return dispatch(h, m);
}

/* ---- sets ---- */

struct fa_ws_set_s {
    pthread_mutex_t mu;
    fa_ws_handle_t *h;
    size_t n, cap;
};

int fa_ws_set_new(fa_ws_set_t **out) {
    fa_ws_set_t *s = calloc(1, sizeof *s);
    if (!s)
        return FA_ENOMEM;
    pthread_mutex_init(&s->mu, NULL);
    *out = s;
    return 0;
}

void fa_ws_set_free(fa_ws_set_t *set) {
    if (!set)
        return;
    pthread_mutex_destroy(&set->mu);
    free(set->h);
    free(set);
}

static size_t find(const fa_ws_set_t *s, fa_ws_handle_t h) {
    for (size_t i = 0; i < s->n; i++)
        if (s->h[i].id == h.id && s->h[i].gen == h.gen)
            return i;
    return SIZE_MAX;
}

int fa_ws_set_add(fa_ws_set_t *set, fa_ws_handle_t h) {
    pthread_mutex_lock(&set->mu);
    int rc = 0;
    if (find(set, h) != SIZE_MAX) {
        rc = FA_EEXIST;
    } else {
        if (set->n == set->cap) {
            size_t cap = set->cap ? set->cap * 2 : 16;
            fa_ws_handle_t *n = realloc(set->h, cap * sizeof *n);
            if (!n) {
                pthread_mutex_unlock(&set->mu);
                return FA_ENOMEM;
            }
            set->h = n;
            set->cap = cap;
        }
        set->h[set->n++] = h;
    }
    pthread_mutex_unlock(&set->mu);
    return rc;
}

int fa_ws_set_remove(fa_ws_set_t *set, fa_ws_handle_t h) {
    pthread_mutex_lock(&set->mu);
    size_t i = find(set, h);
    if (i != SIZE_MAX)
        set->h[i] = set->h[--set->n];
    pthread_mutex_unlock(&set->mu);
    return i == SIZE_MAX ? FA_ENOENT : 0;
}

size_t fa_ws_set_size(fa_ws_set_t *set) {
    pthread_mutex_lock(&set->mu);
    size_t n = set->n;
    pthread_mutex_unlock(&set->mu);
    return n;
}

int fa_ws_broadcast(fa_ws_set_t *set, int type, const void *data, size_t len) {
    int rc = check_type(type, data, len);
    if (rc)
        return rc;
    if (len > SIZE_MAX - sizeof(shared_t) - FA_WS_MAX_HEADER)
        return FA_ENOMEM;
    shared_t *sh = malloc(sizeof *sh + FA_WS_MAX_HEADER + len);
    if (!sh)
        return FA_ENOMEM;
    size_t hl = fa__ws_frame_header((unsigned char *)sh->bytes, type, 1, len);
    if (len)
        memcpy(sh->bytes + hl, data, len);
    sh->len = hl + len;
    /* The broadcast's own reference keeps sh alive while messages are created. */
    atomic_init(&sh->refs, 1);
    /* Take a snapshot and forget closed connections under the lock, send without it: a send can
     * run callbacks on this thread (a local connection that gets dropped calls on_close), and
     * those may use the set. */
    pthread_mutex_lock(&set->mu);
    for (size_t i = 0; i < set->n;) {
        if (fa_ws_alive(set->h[i]))
            i++;
        else
            set->h[i] = set->h[--set->n];
    }
    size_t n = set->n;
    fa_ws_handle_t *hs = n ? malloc(n * sizeof *hs) : NULL;
    if (hs)
        memcpy(hs, set->h, n * sizeof *hs);
    pthread_mutex_unlock(&set->mu);
    if (n && !hs) {
        shared_unref(sh);
        return FA_ENOMEM;
    }
    int sent = 0;
    for (size_t i = 0; i < n; i++) {
        ws_msg_t *m = malloc(sizeof *m);
        if (!m) {
            rc = FA_ENOMEM;
            break;
        }
        memset(m, 0, sizeof *m);
        m->kind = M_SHARED;
        m->shared = sh;
        atomic_fetch_add_explicit(&sh->refs, 1, memory_order_relaxed);
        if (dispatch(hs[i], m) == 0)
            sent++;
    }
    free(hs);
    shared_unref(sh);
    return rc ? rc : sent;
}
