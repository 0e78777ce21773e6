/* ws.c: Python WebSocket routes (fasterapi.web `@app.websocket`) on the C WebSocket core.
 *
 * The C core owns the connection (transport/ws_conn.c: handshake, frames, pings, close). A row
 * ["WS", pattern, flags, {"subprotocols": [...], "max_message": n}] of the App's route table is
 * registered with fa_ws_route; the handshake (101, subprotocol choice) is done on the I/O loop
 * before Python hears of the connection, so `await ws.accept()` only confirms it.
 *
 * Binding. A connection is served by ONE worker for its life, chosen round robin when it opens
 * (the early worker while the isolated ones are still starting, DESIGN.md §4): its handler is a
 * task on that worker's asyncio loop and its messages must reach that task in order. The loop
 * thread turns each callback into an event (open with a copy of the upgrade request, message
 * with a copy of its bytes, close with the code) on the worker's own queue and writes the
 * worker's eventfd when the queue was empty; the worker (its GIL held, pool.c on_wake) hands them
 * to Python, a connection's messages of one burst in one `_on_messages` call. Nothing Python
 * crosses threads or interpreters: a connection is named by its fa_ws_handle_t, and the frames a
 * worker's handlers send in one turn of its loop are gathered per connection and posted once
 * (fa__ws_send_frames_to, thread-safe by handle; see "sends" below).
 *
 * Push-back (DESIGN.md §2). `inbound` counts the messages handed to the worker that the handler
 * has not received yet. At FA_PYWS_MAX_INBOUND the loop stops reading the socket; when the
 * handler has drained to half of that, the worker asks the loop to read again. The rest of the
 * read batch that hit the limit is still delivered, so the queue may overshoot by one read buffer
 * (at most its size in bytes), which keeps memory bounded.
 *
 * Lifetime. A conn_t is reference counted: the loop holds one until on_close, every queued event
 * one, and the Python `_fasterapi.WebSocketConn` one until it is deallocated.
 *
 * Groups (fasterapi.web.broadcast.Group): named fa_ws_set_t's in a process-wide registry, so a
 * broadcast reaches connections served by every worker and every interpreter.
 */
#include <Python.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/log.h"
#include "core/utf8.h"
#include "fasterapi/error.h"
#include "fasterapi/ws.h"
#include "pyhost/pyhost_internal.h"
#include "pyhost/web.h"
#include "transport/http_internal.h"
#include "transport/ws.h"
#include "transport/ws_flow.h"

/* Messages queued for a handler (handed to its worker, not received yet) before the loop stops
 * reading the client: a chat or ticker handler keeps up easily; a client that floods a slow
 * handler is slowed down by TCP instead of growing the worker's queue. 256 small messages are a
 * few tens of KiB; large ones are bounded by max_message each. */
#define FA_PYWS_MAX_INBOUND 256u
/* Subprotocols one route may offer: more is a mistake in the app (browsers send a handful). */
#define FA_PYWS_MAX_PROTOCOLS 16
/* Bytes of frames one connection gathers in a turn of its worker's loop before they are posted
 * at once: bounds the memory of a handler that sends much without yielding to the loop (an
 * `await ws.send_text()` does not yield), and a message this large gains nothing from company. */
#define FA_PYWS_OUT_GATHER (64u * 1024u)
/* Messages up to this size are appended to their connection's last queued event when there is
 * room (the copy is made under the worker's queue lock, so it stays short); an event made for one
 * has room for FA_PYWS_EV_ROOM bytes of them. Larger messages get an event of their own. */
#define FA_PYWS_EV_SHARE 512u
#define FA_PYWS_EV_ROOM 4096u

enum { EV_OPEN, EV_MSG, EV_CLOSE };

typedef struct {
    const char *s;
    size_t n;
} wstr_t;

typedef struct pyws_route_s pyws_route_t;

typedef struct fa__pyws_conn_s {
    _Atomic int refs;
    fa_ws_handle_t h;
    int worker;
    uint32_t row;
    _Atomic uint32_t inbound; /* messages handed to the worker, not yet received by Python */
    /* The upgrade request, copied (the request view dies with on_open): */
    wstr_t path, query, subprotocol; /* subprotocol.s NULL: none */
    size_t nparams, nheaders;
    wstr_t *params;  /* name, value, name, value... */
    wstr_t *headers; /* idem */
    int client_port; /* -1: unknown */
    char client_host[INET6_ADDRSTRLEN];
    char *blob;
    /* Frames its handler sent this turn, not yet posted to the loop (the worker's thread, GIL
     * held): */
    fa__pyworker_t *w;
    char *out;
    size_t out_len, out_cap;
    struct fa__pyws_conn_s *out_next; /* in the worker's list of connections with frames */
    int out_listed;
} conn_t;

/* The worker side of ws.c, made at the worker's first connection. */
struct fa__pyws_worker_s {
    PyObject *on_messages, *on_close; /* interned method names */
    PyObject *flush;                  /* ws_flush_cb, as a Python callable */
    PyObject *call_soon;              /* the loop's call_soon */
    conn_t *out_head;                 /* connections with unsent frames (a reference each) */
    int flush_scheduled;
};

struct fa__pyws_ev_s {
    struct fa__pyws_ev_s *next;
    conn_t *conn;
    int kind;
    int arg;     /* EV_CLOSE: the close code */
    size_t len;  /* bytes used in data */
    size_t cap;  /* EV_MSG: bytes data holds */
    char data[]; /* EV_MSG: records (rec_t, then the message); EV_CLOSE: the reason */
};

/* One message in an EV_MSG event: consecutive small messages of a connection share one event
 * (one allocation and one list append for a burst of them). */
typedef struct {
    uint32_t len;
    uint32_t type;
} rec_t;

struct pyws_route_s {
    fa_ws_options_t o;
    fa__pypool_t *pool;
    uint32_t row;
    char *protos[FA_PYWS_MAX_PROTOCOLS + 1];
};

struct fa__pyws_s {
    pyws_route_t **routes;
    size_t n, cap;
};

static void conn_unref(conn_t *c) {
    if (c && atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1) {
        free(c->out);
        free(c->blob);
        free(c);
    }
}

/* ---- the I/O side ---- */

static void peer(fa_http_req_t *req, conn_t *c) {
    fa__http_conn_t *hc = fa__http_req_conn(req);
    struct sockaddr_storage ss;
    int len = (int)sizeof ss;
    if (!hc || hc->h.handle.type != UV_TCP ||
        uv_tcp_getpeername(&hc->h.tcp, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, c->client_host, sizeof c->client_host);
        c->client_port = ntohs(a->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a->sin6_addr, c->client_host, sizeof c->client_host);
        c->client_port = ntohs(a->sin6_port);
    }
}

/* Copies s into the blob at *at and points d at the copy. */
static void put(wstr_t *d, char **at, const char *s, size_t n) {
    d->s = *at;
    d->n = n;
    if (n)
        memcpy(*at, s, n);
    (*at)[n] = '\0';
    *at += n + 1;
}

/* A conn_t holding a copy of what Python may ask about the upgrade request. */
static conn_t *conn_new(fa_http_req_t *req, const char *proto) {
    size_t np = req->match.nparams, nh = req->h.nheaders;
    size_t total = req->h.path_len + 1 + req->h.query_len + 1 + (proto ? strlen(proto) : 0) + 1;
    for (size_t i = 0; i < np; i++)
        total += req->match.params[i].name_len + req->match.params[i].value_len + 2;
    for (size_t i = 0; i < nh; i++)
        total += req->h.headers[i].name_len + req->h.headers[i].value_len + 2;
    conn_t *c = calloc(1, sizeof *c);
    /* One allocation: the index of the pairs, then the strings. */
    char *blob = c ? malloc(2 * (np + nh + 1) * sizeof(wstr_t) + total) : NULL;
    if (!blob) {
        free(c);
        return NULL;
    }
    wstr_t *index = (wstr_t *)(void *)blob;
    char *at = blob + 2 * (np + nh + 1) * sizeof(wstr_t);
    c->blob = blob;
    put(&c->path, &at, req->h.path_len ? req->h.path : "/", req->h.path_len ? req->h.path_len : 1);
    put(&c->query, &at, req->h.query ? req->h.query : "", req->h.query ? req->h.query_len : 0);
    put(&c->subprotocol, &at, proto ? proto : "", proto ? strlen(proto) : 0);
    if (!proto)
        c->subprotocol.s = NULL;
    for (size_t i = 0; i < np; i++) {
        const fa__route_param_t *p = &req->match.params[i];
        put(&index[2 * i], &at, p->name, p->name_len);
        put(&index[2 * i + 1], &at, p->value, p->value_len);
    }
    for (size_t i = 0; i < nh; i++) {
        const fa__http_header_t *f = &req->h.headers[i];
        put(&index[2 * (np + i)], &at, f->name, f->name_len);
        put(&index[2 * (np + i) + 1], &at, f->value ? f->value : "", f->value ? f->value_len : 0);
    }
    c->params = index;
    c->headers = index + 2 * np;
    c->nparams = np;
    c->nheaders = nh;
    c->client_port = -1;
    atomic_init(&c->refs, 1);
    return c;
}

static void worker_signal(int fd) {
    uint64_t one = 1;
    ssize_t n;
    do {
        n = write(fd, &one, sizeof one);
    } while (n < 0 && errno == EINTR);
    /* EAGAIN: the counter is saturated with unread wake-ups; the worker runs anyway. */
}

/* Appends ev to the worker's queue; the first event of a burst wakes the worker: until
 * fa__pyws_deliver takes the queue (under the lock, after reading its eventfd) the wake-up
 * already sent covers the rest. */
static void enqueue(fa__pyworker_t *w, fa__pyws_ev_t *ev) {
    pthread_mutex_lock(&w->ws_lock);
    int was_empty = w->ws_head == NULL;
    if (w->ws_tail)
        w->ws_tail->next = ev;
    else
        w->ws_head = ev;
    w->ws_tail = ev;
    pthread_mutex_unlock(&w->ws_lock);
    if (was_empty)
        worker_signal(w->efd);
}

static fa__pyws_ev_t *ev_new(conn_t *c, int kind, size_t cap) {
    fa__pyws_ev_t *ev = malloc(sizeof *ev + cap + 1);
    if (!ev)
        return NULL;
    ev->next = NULL;
    ev->conn = c;
    ev->kind = kind;
    ev->arg = 0;
    ev->len = 0;
    ev->cap = cap;
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    return ev;
}

static void put_rec(fa__pyws_ev_t *ev, int type, const void *data, size_t len) {
    rec_t r = {(uint32_t)len, (uint32_t)type};
    memcpy(ev->data + ev->len, &r, sizeof r);
    if (len)
        memcpy(ev->data + ev->len + sizeof r, data, len);
    ev->len += sizeof r + len;
}

/* Queues an open or close event for the conn's worker (with a conn reference). */
static int post(fa__pypool_t *pool, conn_t *c, int kind, int arg, const void *data, size_t len) {
    fa__pyws_ev_t *ev = ev_new(c, kind, len);
    if (!ev)
        return FA_ENOMEM;
    ev->arg = arg;
    ev->len = len;
    if (len)
        memcpy(ev->data, data, len);
    ev->data[len] = '\0';
    enqueue(&pool->workers[c->worker], ev);
    return 0;
}

/* Queues a message: into the conn's last queued event when it is small and fits, else in a new
 * event. */
static int post_msg(fa__pypool_t *pool, conn_t *c, int type, const void *data, size_t len) {
    fa__pyworker_t *w = &pool->workers[c->worker];
    if (len > UINT32_MAX)
        return FA_ENOMEM; /* (max_message is far below) */
    if (len <= FA_PYWS_EV_SHARE) {
        pthread_mutex_lock(&w->ws_lock);
        fa__pyws_ev_t *t = w->ws_tail;
        int fits = t && t->kind == EV_MSG && t->conn == c && t->cap - t->len >= sizeof(rec_t) + len;
        if (fits)
            put_rec(t, type, data, len);
        pthread_mutex_unlock(&w->ws_lock);
        if (fits)
            return 0; /* the queue was not empty: the worker is woken already */
    }
    size_t need = sizeof(rec_t) + len;
    fa__pyws_ev_t *ev = ev_new(
        c, EV_MSG, len <= FA_PYWS_EV_SHARE && need < FA_PYWS_EV_ROOM ? FA_PYWS_EV_ROOM : need);
    if (!ev)
        return FA_ENOMEM;
    put_rec(ev, type, data, len);
    enqueue(w, ev);
    return 0;
}

/* The worker for a new connection: round robin over the serving workers. While isolated workers
 * are still starting only the early worker is sure to serve; it keeps its connections after it
 * retires (it leaves the rotation of shared jobs, not its loop). */
static int pick_worker(fa__pypool_t *p) {
    if (p->early >= 0 && !atomic_load_explicit(&p->retired, memory_order_acquire))
        return p->early;
    int n = p->early >= 0 ? p->n - 1 : p->n; /* the early worker is the last index */
    return (int)(atomic_fetch_add_explicit(&p->ws_next, 1u, memory_order_relaxed) % (unsigned)n);
}

static void on_open(fa_ws_t *ws, fa_http_req_t *req, void *data) {
    pyws_route_t *r = data;
    conn_t *c = conn_new(req, fa_ws_subprotocol(ws));
    if (!c) {
        fa_ws_close(ws, FA_WS_CLOSE_INTERNAL, "out of memory");
        return;
    }
    c->h = fa_ws_handle(ws);
    c->row = r->row;
    c->worker = pick_worker(r->pool);
    c->w = &r->pool->workers[c->worker];
    peer(req, c);
    if (post(r->pool, c, EV_OPEN, 0, NULL, 0) != 0) {
        conn_unref(c);
        fa_ws_close(ws, FA_WS_CLOSE_INTERNAL, "out of memory");
        return;
    }
    fa_ws_set_user(ws, c);
}

static void on_message(fa_ws_t *ws, int type, const char *msg, size_t len, void *data) {
    pyws_route_t *r = data;
    conn_t *c = fa_ws_user(ws);
    if (!c)
        return;
    /* Counted before it is posted, so the worker's decrement never runs ahead of it. */
    uint32_t n = atomic_fetch_add_explicit(&c->inbound, 1u, memory_order_acq_rel) + 1;
    if (post_msg(r->pool, c, type, msg, len) != 0) {
        atomic_fetch_sub_explicit(&c->inbound, 1u, memory_order_acq_rel);
        fa_ws_close(ws, FA_WS_CLOSE_INTERNAL, "out of memory");
        return;
    }
    if (n >= FA_PYWS_MAX_INBOUND)
        fa__ws_pause_reading(ws);
}

static void on_close(fa_ws_t *ws, int code, const char *reason, size_t len, void *data) {
    pyws_route_t *r = data;
    conn_t *c = fa_ws_user(ws);
    if (!c)
        return;
    fa_ws_set_user(ws, NULL);
    if (post(r->pool, c, EV_CLOSE, code, reason, len) != 0)
        FA_ERROR("ws: out of memory: a Python handler misses its disconnect");
    conn_unref(c); /* the loop's reference */
}

int fa__pyws_add(fa__pyws_t **wsp, fa__pypool_t *pool, fa_http_server_t *http, const json_t *row,
                 uint32_t index) {
    const char *pattern = json_string_value(json_array_get(row, 1));
    const json_t *opts = json_array_get(row, 3);
    const json_t *protos = json_object_get(opts, "subprotocols");
    if (!pattern || json_array_size(protos) > FA_PYWS_MAX_PROTOCOLS)
        return FA_EINVAL;
    fa__pyws_t *ws = *wsp;
    if (!ws && !(ws = *wsp = calloc(1, sizeof *ws)))
        return FA_ENOMEM;
    if (ws->n == ws->cap) {
        size_t cap = ws->cap ? ws->cap * 2 : 8;
        pyws_route_t **n = realloc(ws->routes, cap * sizeof *n);
        if (!n)
            return FA_ENOMEM;
        ws->routes = n;
        ws->cap = cap;
    }
    pyws_route_t *r = calloc(1, sizeof *r);
    if (!r)
        return FA_ENOMEM;
    ws->routes[ws->n++] = r;
    r->pool = pool;
    r->row = index;
    fa_ws_options_init(&r->o);
    r->o.on_open = on_open;
    r->o.on_message = on_message;
    r->o.on_close = on_close;
    r->o.data = r;
    json_int_t max = json_integer_value(json_object_get(opts, "max_message"));
    if (max > 0)
        r->o.max_message = (uint64_t)max;
    for (size_t i = 0; i < json_array_size(protos); i++) {
        const char *p = json_string_value(json_array_get(protos, i));
        if (!p || !(r->protos[i] = strdup(p)))
            return p ? FA_ENOMEM : FA_EINVAL;
    }
    if (json_array_size(protos))
        r->o.subprotocols = (const char *const *)r->protos;
    return fa_ws_route(http, pattern, &r->o);
}

/* ---- groups: named connection sets, process-wide ---- */

typedef struct group_s {
    struct group_s *next;
    fa_ws_set_t *set;
    char name[];
} group_t;

static pthread_mutex_t groups_mu = PTHREAD_MUTEX_INITIALIZER;
static group_t *groups;

/* The set of that name, created on first use (never freed before the process ends: a Group
 * object of any interpreter may name it at any time). */
static fa_ws_set_t *group_set(const char *name) {
    pthread_mutex_lock(&groups_mu);
    group_t *g = groups;
    while (g && strcmp(g->name, name) != 0)
        g = g->next;
    if (!g) {
        size_t n = strlen(name);
        g = malloc(sizeof *g + n + 1);
        if (g && fa_ws_set_new(&g->set) == 0) {
            memcpy(g->name, name, n + 1);
            g->next = groups;
            groups = g;
        } else {
            free(g);
            g = NULL;
        }
    }
    pthread_mutex_unlock(&groups_mu);
    return g ? g->set : NULL;
}

void fa__pyws_free(fa__pyws_t *ws) {
    if (ws) {
        for (size_t i = 0; i < ws->n; i++) {
            for (int k = 0; ws->routes[i]->protos[k]; k++)
                free(ws->routes[i]->protos[k]);
            free(ws->routes[i]);
        }
        free(ws->routes);
        free(ws);
    }
    pthread_mutex_lock(&groups_mu);
    while (groups) {
        group_t *g = groups;
        groups = g->next;
        fa_ws_set_free(g->set);
        free(g);
    }
    pthread_mutex_unlock(&groups_mu);
}

/* ---- `_fasterapi.WebSocketConn`: a worker's view of one connection ---- */

typedef struct {
    PyObject_HEAD conn_t *c;
} wsobj_t;

static PyObject *wstr(const wstr_t *s) {
    return PyUnicode_DecodeLatin1(s->s, (Py_ssize_t)s->n, NULL);
}

static PyObject *ws_path(PyObject *self, void *unused) {
    (void)unused;
    return wstr(&((wsobj_t *)self)->c->path);
}

static PyObject *ws_query(PyObject *self, void *unused) {
    (void)unused;
    return wstr(&((wsobj_t *)self)->c->query);
}

static PyObject *ws_subprotocol(PyObject *self, void *unused) {
    (void)unused;
    const conn_t *c = ((wsobj_t *)self)->c;
    if (!c->subprotocol.s)
        Py_RETURN_NONE;
    return PyUnicode_FromStringAndSize(c->subprotocol.s, (Py_ssize_t)c->subprotocol.n);
}

static PyObject *ws_client(PyObject *self, void *unused) {
    (void)unused;
    const conn_t *c = ((wsobj_t *)self)->c;
    if (c->client_port < 0)
        Py_RETURN_NONE;
    return Py_BuildValue("(si)", c->client_host, c->client_port);
}

static PyObject *ws_id(PyObject *self, void *unused) {
    (void)unused;
    const conn_t *c = ((wsobj_t *)self)->c;
    return Py_BuildValue("(II)", c->h.id, c->h.gen);
}

/* Path parameters: percent-decoded bytes as UTF-8, undecodable bytes replaced (as web.c). */
static PyObject *ws_param(PyObject *self, PyObject *name) {
    const conn_t *c = ((wsobj_t *)self)->c;
    Py_ssize_t n;
    const char *want = PyUnicode_AsUTF8AndSize(name, &n);
    if (!want)
        return NULL;
    for (size_t i = 0; i < c->nparams; i++)
        if (c->params[2 * i].n == (size_t)n && memcmp(c->params[2 * i].s, want, (size_t)n) == 0)
            return PyUnicode_DecodeUTF8(c->params[2 * i + 1].s, (Py_ssize_t)c->params[2 * i + 1].n,
                                        "replace");
    Py_RETURN_NONE;
}

static PyObject *pairs(const wstr_t *f, size_t n, int utf8_values) {
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *t =
            Py_BuildValue("(NN)", wstr(&f[2 * i]),
                          utf8_values ? PyUnicode_DecodeUTF8(f[2 * i + 1].s,
                                                             (Py_ssize_t)f[2 * i + 1].n, "replace")
                                      : wstr(&f[2 * i + 1]));
        if (!t) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    return list;
}

static PyObject *ws_params(PyObject *self, PyObject *unused) {
    (void)unused;
    const conn_t *c = ((wsobj_t *)self)->c;
    return pairs(c->params, c->nparams, 1);
}

static PyObject *ws_headers(PyObject *self, PyObject *unused) {
    (void)unused;
    const conn_t *c = ((wsobj_t *)self)->c;
    return pairs(c->headers, c->nheaders, 0);
}

static PyObject *ws_header(PyObject *self, PyObject *name) {
    const conn_t *c = ((wsobj_t *)self)->c;
    Py_ssize_t n;
    const char *want = PyUnicode_AsUTF8AndSize(name, &n);
    if (!want)
        return NULL;
    for (size_t i = 0; i < c->nheaders; i++)
        if (c->headers[2 * i].n == (size_t)n &&
            strncasecmp(c->headers[2 * i].s, want, (size_t)n) == 0)
            return wstr(&c->headers[2 * i + 1]);
    Py_RETURN_NONE;
}

static PyObject *body_none(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    return PyBytes_FromStringAndSize("", 0);
}

/* ---- sends: gathered per connection, posted once per turn of the worker's loop ----
 *
 * A handler's send appends the frame to its connection's buffer; the first one of a turn
 * schedules ws_flush_cb with the loop's call_soon, which runs after every handler that was ready
 * in this turn has run and posts each connection's frames as one message (fa__ws_send_frames_to):
 * one hand-off to the loop and one write per connection per turn instead of one each. Order is
 * kept: a connection's close and a group broadcast post the gathered frames first. Sends from
 * another thread than the worker's (a thread the app started) post directly, as before. */

/* Posts c's gathered frames (the worker's thread, GIL held: fa__http_post waits only while the
 * loop's inbox is full, and the loop never needs this GIL). */
static int post_out(conn_t *c) {
    if (!c->out_len)
        return 0;
    int rc = fa__ws_send_frames_to(c->h, c->out, c->out_len);
    if (rc == FA_ENOMEM) {
        /* Frames the handler was told were sent cannot leave: never a silent gap in the
         * stream. The peer gets 1011 (its close is small; if even that cannot be allocated,
         * the log says what was lost). */
        if (fa_ws_close_to(c->h, FA_WS_CLOSE_INTERNAL, "out of memory") == FA_ENOMEM)
            FA_ERROR("ws: out of memory: %zu bytes of WebSocket frames lost", c->out_len);
    }
    c->out_len = 0;
    if (c->out_cap > FA_PYWS_OUT_GATHER) {
        /* A big message passed: do not keep its buffer for the life of the connection. */
        free(c->out);
        c->out = NULL;
        c->out_cap = 0;
    }
    return rc;
}

/* Posts every gathered frame of the worker's connections. */
static void flush_all(struct fa__pyws_worker_s *ws) {
    ws->flush_scheduled = 0;
    while (ws->out_head) {
        conn_t *c = ws->out_head;
        ws->out_head = c->out_next;
        c->out_next = NULL;
        c->out_listed = 0;
        (void)post_out(c); /* FA_ESTATE: closed meanwhile, as a late direct send; FA_ENOMEM
                            * closed it with 1011 */
        conn_unref(c);     /* the list's reference */
    }
}

static PyObject *ws_flush_cb(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    fa__pyworker_t *w = fa__pyworker_current();
    if (w && w->ws_state)
        flush_all(w->ws_state);
    Py_RETURN_NONE;
}

static PyMethodDef flush_def = {"_ws_flush", ws_flush_cb, METH_NOARGS,
                                "posts the WebSocket frames gathered in this turn"};

/* The gathering state of the worker running this thread, or NULL (another thread). */
static struct fa__pyws_worker_s *gathering(const conn_t *c) {
    fa__pyworker_t *w = c->w;
    return w && w->ws_state && w->ws_state->call_soon && fa__pyworker_current() == w ? w->ws_state
                                                                                     : NULL;
}

/* Appends one frame to c's buffer and lists c for the flush. */
static int gather_out(struct fa__pyws_worker_s *ws, conn_t *c, int type, const char *data,
                      size_t len) {
    if (len > SIZE_MAX / 2 - FA_WS_MAX_HEADER - c->out_len)
        return FA_ENOMEM;
    size_t need = c->out_len + FA_WS_MAX_HEADER + len;
    if (need > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 512;
        while (cap < need)
            cap *= 2;
        char *n = realloc(c->out, cap);
        if (!n)
            return FA_ENOMEM;
        c->out = n;
        c->out_cap = cap;
    }
    size_t hl = fa__ws_frame_header((unsigned char *)c->out + c->out_len, type, 1, len);
    if (len)
        memcpy(c->out + c->out_len + hl, data, len);
    c->out_len += hl + len;
    if (!c->out_listed) {
        if (!ws->flush_scheduled) {
            PyObject *r = PyObject_CallOneArg(ws->call_soon, ws->flush);
            if (!r) {
                c->out_len -= hl + len;
                return FA_EPYTHON; /* the loop is closed: its exception is set */
            }
            Py_DECREF(r);
            ws->flush_scheduled = 1;
        }
        atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
        c->out_listed = 1;
        c->out_next = ws->out_head;
        ws->out_head = c;
    }
    return c->out_len >= FA_PYWS_OUT_GATHER ? post_out(c) : 0;
}

/* send(type, data: str | bytes) -> 0, or a negative FA_E* code (FA_ESTATE: the connection has
 * closed; FA_EINVAL: not a message type, or text that is not UTF-8). */
static PyObject *ws_send(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    conn_t *c = ((wsobj_t *)self)->c;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "send(type, data)");
        return NULL;
    }
    long type = PyLong_AsLong(args[0]);
    if (type == -1 && PyErr_Occurred())
        return NULL;
    const char *data;
    Py_ssize_t len;
    int utf8 = 0; /* a str's UTF-8 is valid by construction */
    if (PyBytes_Check(args[1])) {
        data = PyBytes_AS_STRING(args[1]);
        len = PyBytes_GET_SIZE(args[1]);
    } else if (PyUnicode_Check(args[1])) {
        if (!(data = PyUnicode_AsUTF8AndSize(args[1], &len)))
            return NULL;
        utf8 = 1;
    } else {
        PyErr_SetString(PyExc_TypeError, "a message is str or bytes");
        return NULL;
    }
    struct fa__pyws_worker_s *ws = gathering(c);
    int rc;
    if (!ws || (size_t)len >= FA_PYWS_OUT_GATHER) {
        /* Another thread, or a message too big to gain from company (and not worth a second
         * copy): what was gathered goes first, then this one directly. */
        if (ws)
            (void)post_out(c);
        Py_BEGIN_ALLOW_THREADS rc = fa_ws_send_to(c->h, (int)type, data, (size_t)len);
        Py_END_ALLOW_THREADS
    } else if (type != FA_WS_TEXT && type != FA_WS_BINARY) {
        rc = FA_EINVAL;
    } else if (type == FA_WS_TEXT && !utf8 && !fa__utf8_valid(data, (size_t)len)) {
        rc = FA_EINVAL; /* RFC 6455 §5.6: text is UTF-8 */
    } else if (!fa_ws_alive(c->h)) {
        rc = FA_ESTATE;
    } else if ((rc = gather_out(ws, c, (int)type, data, (size_t)len)) == FA_EPYTHON) {
        return NULL;
    }
    if (rc == FA_ENOMEM)
        return PyErr_NoMemory();
    return PyLong_FromLong(rc);
}

/* close(code, reason) -> 0 or a negative FA_E* code. */
static PyObject *ws_close(PyObject *self, PyObject *args) {
    conn_t *c = ((wsobj_t *)self)->c;
    unsigned code;
    const char *reason;
    if (!PyArg_ParseTuple(args, "Is", &code, &reason))
        return NULL;
    if (code && (code < 1000 || code > 4999)) {
        PyErr_Format(PyExc_ValueError, "invalid WebSocket close code %u (RFC 6455 §7.4)", code);
        return NULL;
    }
    /* The frames sent before the close go first. */
    (void)post_out(c);
    /* Read again first (messages from one thread reach the loop in order): a paused connection
     * would never see the peer's answer to our close frame and wait out the close timeout. */
    (void)fa__ws_resume_reading_to(c->h);
    int rc = fa_ws_close_to(c->h, code, reason);
    if (rc == FA_EINVAL) {
        PyErr_Format(PyExc_ValueError, "invalid WebSocket close code %u (RFC 6455 §7.4)", code);
        return NULL;
    }
    return PyLong_FromLong(rc);
}

/* consumed(): the handler took a message; below half the bound, the loop reads again. */
static PyObject *ws_consumed(PyObject *self, PyObject *unused) {
    (void)unused;
    conn_t *c = ((wsobj_t *)self)->c;
    uint32_t before = atomic_fetch_sub_explicit(&c->inbound, 1u, memory_order_acq_rel);
    /* Exactly one decrement crosses the half mark on the way down from a pause. */
    if (before == FA_PYWS_MAX_INBOUND / 2 + 1)
        (void)fa__ws_resume_reading_to(c->h); /* FA_ESTATE: closed meanwhile */
    Py_RETURN_NONE;
}

static void ws_dealloc(PyObject *self) {
    wsobj_t *o = (wsobj_t *)self;
    PyTypeObject *tp = Py_TYPE(self);
    conn_unref(o->c);
    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyGetSetDef ws_getset[] = {
    {"path", ws_path, NULL, "the raw (percent-encoded) path", NULL},
    {"query", ws_query, NULL, "the raw query string, without '?'", NULL},
    {"subprotocol", ws_subprotocol, NULL, "the negotiated subprotocol, or None", NULL},
    {"client", ws_client, NULL, "(host, port) of the peer, or None", NULL},
    {"id", ws_id, NULL, "(id, generation): the connection's handle", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyMethodDef ws_methods[] = {
    {"param", ws_param, METH_O, "a decoded path parameter, or None"},
    {"params", ws_params, METH_NOARGS, "[(name, value)] of the path parameters"},
    {"header", ws_header, METH_O, "the first header of that name (any case), or None"},
    {"headers", ws_headers, METH_NOARGS, "[(name, value)] of every header, in order"},
    {"body", body_none, METH_NOARGS, "b'' (an upgrade request has no body)"},
    {"send", (PyCFunction)(void (*)(void))ws_send, METH_FASTCALL,
     "send(type, data): queues a message (1 text, 2 binary); 0 or a negative error code"},
    {"close", ws_close, METH_VARARGS, "close(code, reason): starts the close handshake"},
    {"consumed", ws_consumed, METH_NOARGS, "the handler received one message (flow control)"},
    {NULL, NULL, 0, NULL}};

static PyType_Slot ws_slots[] = {{Py_tp_dealloc, ws_dealloc},
                                 {Py_tp_getset, ws_getset},
                                 {Py_tp_methods, ws_methods},
                                 {Py_tp_doc, "A WebSocket connection of a Python web route."},
                                 {0, NULL}};

static PyType_Spec ws_spec = {"_fasterapi.WebSocketConn", sizeof(wsobj_t), 0, Py_TPFLAGS_DEFAULT,
                              ws_slots};

/* ---- groups, from Python ---- */

static PyObject *group_op(PyObject *args, int add) {
    const char *name;
    unsigned id, gen;
    if (!PyArg_ParseTuple(args, "s(II)", &name, &id, &gen))
        return NULL;
    fa_ws_set_t *set = group_set(name);
    if (!set)
        return PyErr_NoMemory();
    fa_ws_handle_t h = {id, gen};
    int rc = add ? fa_ws_set_add(set, h) : fa_ws_set_remove(set, h);
    if (rc == FA_ENOMEM)
        return PyErr_NoMemory();
    return PyBool_FromLong(rc == 0);
}

static PyObject *mod_group_add(PyObject *self, PyObject *args) {
    (void)self;
    return group_op(args, 1);
}

static PyObject *mod_group_discard(PyObject *self, PyObject *args) {
    (void)self;
    return group_op(args, 0);
}

static PyObject *mod_group_size(PyObject *self, PyObject *args) {
    (void)self;
    const char *name;
    if (!PyArg_ParseTuple(args, "s", &name))
        return NULL;
    fa_ws_set_t *set = group_set(name);
    return set ? PyLong_FromSize_t(fa_ws_set_size(set)) : PyErr_NoMemory();
}

/* _ws_group_send(name, type, data) -> how many connections it was queued for. */
static PyObject *mod_group_send(PyObject *self, PyObject *args) {
    (void)self;
    const char *name;
    int type;
    PyObject *data;
    if (!PyArg_ParseTuple(args, "siO", &name, &type, &data))
        return NULL;
    const char *p;
    Py_ssize_t len;
    if (PyBytes_Check(data)) {
        p = PyBytes_AS_STRING(data);
        len = PyBytes_GET_SIZE(data);
    } else if (!(p = PyUnicode_AsUTF8AndSize(data, &len))) {
        return NULL;
    }
    fa_ws_set_t *set = group_set(name);
    if (!set)
        return PyErr_NoMemory();
    /* What this worker's handlers sent before the broadcast goes first. */
    fa__pyworker_t *w = fa__pyworker_current();
    if (w && w->ws_state)
        flush_all(w->ws_state);
    int rc;
    Py_BEGIN_ALLOW_THREADS rc = fa_ws_broadcast(set, type, p, (size_t)len);
    Py_END_ALLOW_THREADS if (rc == FA_ENOMEM) return PyErr_NoMemory();
    if (rc < 0) {
        PyErr_Format(PyExc_ValueError, "cannot broadcast: %s", fa_strerror(rc));
        return NULL;
    }
    return PyLong_FromLong(rc);
}

static PyMethodDef group_methods[] = {
    {"_ws_group_add", mod_group_add, METH_VARARGS, "add a connection to a named group"},
    {"_ws_group_discard", mod_group_discard, METH_VARARGS, "remove a connection from a group"},
    {"_ws_group_size", mod_group_size, METH_VARARGS, "connections in a group"},
    {"_ws_group_send", mod_group_send, METH_VARARGS, "send a message to every member"},
    {NULL, NULL, 0, NULL}};

int fa__pyws_add_type(PyObject *module) {
    PyObject *tp = PyType_FromModuleAndSpec(module, &ws_spec, NULL);
    if (!tp)
        return -1;
    int rc = PyModule_AddObjectRef(module, "WebSocketConn", tp);
    Py_DECREF(tp);
    if (rc == 0)
        rc = PyModule_AddFunctions(module, group_methods);
    return rc;
}

/* ---- the worker side (its GIL held) ---- */

static void log_python(const char *what) {
    char text[4096];
    fa__py_format_exception(text, sizeof text, 1);
    FA_ERROR("python websocket %s failed: %s", what, text);
}

/* The first connection of this worker: its WebHost.ws_open, the conn type and the table. */
static int setup(fa__pyworker_t *w) {
    if (w->ws_conns)
        return 0;
    PyObject *host = w->dispatcher ? PyObject_GetAttrString(w->dispatcher, "web") : NULL;
    PyObject *open = host && host != Py_None ? PyObject_GetAttrString(host, "ws_open") : NULL;
    Py_XDECREF(host);
    PyObject *mod = open ? PyImport_ImportModule("_fasterapi") : NULL;
    PyObject *tp = mod ? PyObject_GetAttrString(mod, "WebSocketConn") : NULL;
    Py_XDECREF(mod);
    PyObject *conns = tp ? PyDict_New() : NULL;
    if (!conns) {
        Py_XDECREF(open);
        Py_XDECREF(tp);
        if (PyErr_Occurred())
            log_python("setup");
        else
            FA_ERROR("python websocket: no web App in this worker");
        return -1;
    }
    struct fa__pyws_worker_s *ws = calloc(1, sizeof *ws);
    if (ws) {
        ws->on_messages = PyUnicode_InternFromString("_on_messages");
        ws->on_close = PyUnicode_InternFromString("_on_close");
        ws->flush = PyCFunction_New(&flush_def, NULL);
        /* Without a loop (not the host's worker loop) sends are posted one by one. */
        ws->call_soon = w->loop ? PyObject_GetAttrString(w->loop, "call_soon") : NULL;
    }
    if (!ws || !ws->on_messages || !ws->on_close || !ws->flush || (w->loop && !ws->call_soon)) {
        w->ws_state = ws;
        fa__pyws_worker_clear(w);
        Py_DECREF(open);
        Py_DECREF(tp);
        Py_DECREF(conns);
        if (PyErr_Occurred())
            log_python("setup");
        else
            FA_ERROR("python websocket: out of memory");
        return -1;
    }
    w->ws_open = open;
    w->ws_type = tp;
    w->ws_conns = conns;
    w->ws_state = ws;
    return 0;
}

static void run_open(fa__pyworker_t *w, conn_t *c, PyObject *key) {
    if (setup(w) != 0) {
        fa_ws_close_to(c->h, FA_WS_CLOSE_INTERNAL, "no handler");
        return;
    }
    PyTypeObject *tp = (PyTypeObject *)w->ws_type;
    wsobj_t *o = (wsobj_t *)tp->tp_alloc(tp, 0);
    if (!o) {
        PyErr_Clear();
        fa_ws_close_to(c->h, FA_WS_CLOSE_INTERNAL, "out of memory");
        return;
    }
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    o->c = c;
    PyObject *py = PyObject_CallFunction(w->ws_open, "IO", c->row, (PyObject *)o);
    Py_DECREF(o);
    if (!py || PyDict_SetItem(w->ws_conns, key, py) < 0) {
        log_python("open");
        fa_ws_close_to(c->h, FA_WS_CLOSE_INTERNAL, "");
    }
    Py_XDECREF(py);
}

static PyObject *conn_key(const conn_t *c) {
    return PyLong_FromUnsignedLongLong(((uint64_t)c->h.id << 32) | c->h.gen);
}

/* The Python WebSocket of c (borrowed), or NULL: its handler never started or has gone. */
static PyObject *lookup(fa__pyworker_t *w, const conn_t *c, PyObject **key) {
    *key = conn_key(c);
    PyObject *py = *key && w->ws_conns ? PyDict_GetItemWithError(w->ws_conns, *key) : NULL;
    if (!py)
        PyErr_Clear();
    return py;
}

/* The messages of one connection gathered from a burst, handed over in one call. */
typedef struct {
    conn_t *c; /* holds the reference of its first event */
    PyObject *msgs;
} batch_t;

/* Connections whose messages one burst gathers before it hands them over: more in one burst
 * hand over in several rounds (order per connection is kept either way). */
#define FA_PYWS_BATCHES 64

static void run_batch(fa__pyworker_t *w, batch_t *b) {
    PyObject *key;
    PyObject *py = b->msgs ? lookup(w, b->c, &key) : (key = NULL);
    Py_XDECREF(key);
    if (py) {
        PyObject *args[2] = {py, b->msgs};
        Py_INCREF(py);
        PyObject *r = PyObject_VectorcallMethod(w->ws_state->on_messages, args,
                                                2 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
        Py_DECREF(py);
        if (r)
            Py_DECREF(r);
        else
            log_python("message delivery");
    } else if (b->msgs) {
        /* The handler is gone (it failed to start): keep the flow count right. */
        atomic_fetch_sub_explicit(&b->c->inbound, (uint32_t)PyList_GET_SIZE(b->msgs),
                                  memory_order_acq_rel);
    }
    Py_XDECREF(b->msgs);
    conn_unref(b->c);
}

static void run_close(fa__pyworker_t *w, fa__pyws_ev_t *ev) {
    PyObject *key;
    PyObject *py = lookup(w, ev->conn, &key);
    if (py) {
        Py_INCREF(py);
        PyDict_DelItem(w->ws_conns, key);
        PyObject *code = PyLong_FromLong(ev->arg);
        PyObject *reason = PyUnicode_DecodeUTF8(ev->data, (Py_ssize_t)ev->len, "replace");
        PyObject *args[3] = {py, code, reason};
        PyObject *r = code && reason
                          ? PyObject_VectorcallMethod(w->ws_state->on_close, args,
                                                      3 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL)
                          : NULL;
        Py_XDECREF(code);
        Py_XDECREF(reason);
        if (r)
            Py_DECREF(r);
        else
            log_python("close delivery");
        Py_DECREF(py);
    }
    Py_XDECREF(key);
}

/* Adds a message to its connection's batch (which holds a reference to the connection). */
static void gather(fa__pyworker_t *w, batch_t *b, size_t *nb, conn_t *c, uint32_t type,
                   const char *data, size_t len) {
    size_t i = 0;
    while (i < *nb && b[i].c != c)
        i++;
    if (i == *nb) {
        if (*nb == FA_PYWS_BATCHES) {
            for (size_t k = 0; k < *nb; k++)
                run_batch(w, &b[k]);
            *nb = i = 0;
        }
        atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
        b[i].c = c;
        b[i].msgs = PyList_New(0);
        if (!b[i].msgs)
            PyErr_Clear();
        (*nb)++;
    }
    PyObject *msg = type == FA_WS_TEXT ? PyUnicode_DecodeUTF8(data, (Py_ssize_t)len, "replace")
                                       : PyBytes_FromStringAndSize(data, (Py_ssize_t)len);
    if (!msg || !b[i].msgs || PyList_Append(b[i].msgs, msg) < 0) {
        /* Out of memory: the message is lost; its flow count is not. */
        PyErr_Clear();
        atomic_fetch_sub_explicit(&c->inbound, 1u, memory_order_acq_rel);
        FA_ERROR("python websocket: out of memory, a message is dropped");
    }
    Py_XDECREF(msg);
}

/* Each message of an EV_MSG event, to its batch (or, without handlers, only counted). */
static void gather_event(fa__pyworker_t *w, batch_t *b, size_t *nb, fa__pyws_ev_t *ev) {
    for (size_t at = 0; at < ev->len;) {
        rec_t r;
        memcpy(&r, ev->data + at, sizeof r);
        if (w->ws_conns)
            gather(w, b, nb, ev->conn, r.type, ev->data + at + sizeof r, r.len);
        else
            atomic_fetch_sub_explicit(&ev->conn->inbound, 1u, memory_order_acq_rel);
        at += sizeof r + r.len;
    }
}

/* Runs the batch of c, if any, before an open or close event of c (its order). */
static void run_batch_of(fa__pyworker_t *w, batch_t *b, size_t *nb, const conn_t *c) {
    for (size_t i = 0; i < *nb; i++)
        if (b[i].c == c) {
            run_batch(w, &b[i]);
            b[i] = b[--*nb];
            return;
        }
}

/* One burst: the messages of each connection are gathered and handed over together (one call
 * and at most one wake-up of its handler instead of one each). Only the order per connection
 * matters, and it is kept: a connection's open and close run after its earlier messages. The
 * handlers themselves run later, from the loop's ready queue, so nothing can observe the order
 * between connections within a burst. */
void fa__pyws_deliver(fa__pyworker_t *w) {
    pthread_mutex_lock(&w->ws_lock);
    fa__pyws_ev_t *ev = w->ws_head;
    w->ws_head = w->ws_tail = NULL;
    pthread_mutex_unlock(&w->ws_lock);
    if (!ev)
        return;
    batch_t b[FA_PYWS_BATCHES];
    size_t nb = 0;
    while (ev) {
        fa__pyws_ev_t *next = ev->next;
        if (ev->kind == EV_MSG) {
            gather_event(w, b, &nb, ev);
        } else {
            run_batch_of(w, b, &nb, ev->conn);
            if (ev->kind == EV_OPEN) {
                PyObject *key = conn_key(ev->conn);
                if (key)
                    run_open(w, ev->conn, key);
                else
                    PyErr_Clear();
                Py_XDECREF(key);
            } else {
                run_close(w, ev);
            }
        }
        conn_unref(ev->conn);
        free(ev);
        ev = next;
    }
    for (size_t i = 0; i < nb; i++)
        run_batch(w, &b[i]);
}

void fa__pyws_worker_clear(fa__pyworker_t *w) {
    struct fa__pyws_worker_s *ws = w->ws_state;
    if (ws) {
        /* The interpreter (and its loop) is ending before the turn's flush ran: what the
         * handlers sent still leaves (a connection or loop that is gone refuses the post). */
        flush_all(ws);
        Py_XDECREF(ws->on_messages);
        Py_XDECREF(ws->on_close);
        Py_XDECREF(ws->flush);
        Py_XDECREF(ws->call_soon);
        free(ws);
        w->ws_state = NULL;
    }
    Py_CLEAR(w->ws_conns);
    Py_CLEAR(w->ws_open);
    Py_CLEAR(w->ws_type);
}

void fa__pyws_drop_events(fa__pyws_ev_t *ev) {
    while (ev) {
        fa__pyws_ev_t *next = ev->next;
        conn_unref(ev->conn);
        free(ev);
        ev = next;
    }
}
