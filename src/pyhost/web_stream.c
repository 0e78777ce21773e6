/* web_stream.c: streaming answers of Python web routes (StreamingResponse, SSE) and the named SSE
 * channels Python publishes to (fasterapi.web.sse).
 *
 * A web request reaches a worker deferred (web.c). A handler that streams gives the deferred
 * request to a `_fasterapi.HttpStream` (creq.stream(...)): from then on the worker produces chunks
 * and the connection's loop writes them. The two threads share one refcounted `xs_t`:
 *
 *   worker (GIL held)                          loop thread (messages, fa__http_post)
 *   stream(status, ...) --- OP_START -------->  fa__http_deferred_hold + fa__http_held_stream
 *   write(bytes)        --- OP_DATA --------->  fa__http_stream_write (one chunk)
 *   end()               --- OP_END ---------->  fa__http_stream_end (the last chunk)
 *                       <-- eventfd ---------  on_drain (bytes went to the kernel), on_close
 *
 * Backpressure. `inflight` counts bytes posted and not yet appended to the connection's output;
 * `queued` is the connection's output not yet taken by the kernel (set by the loop after each
 * chunk and each flush). The producer may write while inflight + queued < limit (a named limit,
 * well under the server's max_output so that a slow reader is waited for, not dropped); when
 * write() says "full" the producer arms `want_wake` and awaits the eventfd, which the loop writes
 * once the sum falls under half the limit (or the stream ends). So a stream holds at most
 * limit + one chunk of unsent bytes however slowly its client reads. Dekker-style handshake:
 * both sides store (their counter / the flag) then load (the flag / the counters), seq_cst, so
 * a drain that races with the producer arming the flag is seen by one side or the other.
 *
 * Disconnects. When the client leaves (or the server shuts down) the loop's on_close marks the
 * stream closed and writes the eventfd; Python, which watches it for the stream's life, cancels
 * the generator's task (CancelledError / GeneratorExit in the generator) and ends the stream.
 *
 * Lifetime. The producer holds one reference, each posted message one more (OP_END takes the
 * producer's). Loop callbacks (on_drain, on_close) only run between OP_START and OP_END's
 * processing, when the END message or the producer still holds x, so they never see it freed.
 *
 * Channels (fasterapi.web.sse.Channel("name")) are the C SSE channels (fasterapi/sse.h): a
 * process-wide table of name -> channel, made on first use. Every worker interpreter names the
 * same C channel, so an event published by any worker reaches the subscribers on every loop,
 * and reconnecting clients get the Last-Event-ID replay and the keep-alive comments from the C
 * core. Only names and bytes cross interpreters (DESIGN.md: nothing Python does).
 */
#include <Python.h>
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/log.h"
#include "fasterapi/error.h"
#include "fasterapi/sse.h"
#include "pyhost/web.h"
#include "transport/http_internal.h"
#include "transport/sse.h"

/* Unsent bytes a streaming response may have (posted + queued on its connection) before its
 * producer waits: 256 KiB keeps a fast client's socket busy (a few loopback windows) while a slow
 * one costs a bounded amount; it stays under half the server's max_output (4 MiB by default), past
 * which the core drops a client that does not read. */
#define FA_PYWEB_STREAM_QUEUE (256u * 1024u)
/* Named SSE channels in the process: an app has a handful (one per feed); a bigger number is a
 * name built from request data by mistake, and each channel keeps its replay ring forever. */
#define FA_PYWEB_MAX_CHANNELS 256
/* Longest channel name (it is a Python identifier-ish label, never user data). */
#define FA_PYWEB_CHANNEL_NAME 128

enum { OP_START, OP_DATA, OP_END };

typedef struct {
    fa_http_server_t *srv;
    uint32_t loop;
    int efd;
    size_t limit;
    _Atomic int refs;
    _Atomic size_t inflight;
    _Atomic size_t queued;
    _Atomic int closed;    /* the loop: the stream is over (client left, shutdown, failure) */
    _Atomic int want_wake; /* the producer waits for the eventfd */
    /* loop thread only */
    fa_http_deferred_t *d; /* until OP_START */
    fa__http_stream_t *hs; /* between OP_START and the end or close */
    uint32_t keepalive_ms;
} xs_t;

typedef struct {
    fa__http_msg_t msg; /* first */
    xs_t *x;
    int op;
    int status;
    size_t ctype_len; /* OP_START: bytes[0..ctype_len) is the content type ("" = none), then the
                         raw header lines */
    size_t len;
    char bytes[];
} xmsg_t;

static void xs_unref(xs_t *x) {
    if (atomic_fetch_sub_explicit(&x->refs, 1, memory_order_acq_rel) == 1) {
        close(x->efd);
        free(x);
    }
}

static void wake(xs_t *x) {
    uint64_t one = 1;
    ssize_t n = write(x->efd, &one, sizeof one);
    (void)n; /* EAGAIN: the counter is already non-zero, the reader will wake anyway */
}

static size_t pending_bytes(xs_t *x) {
    return atomic_load(&x->inflight) + atomic_load(&x->queued);
}

/* Loop thread: the connection's output changed; wake a waiting producer below half the limit. */
static void update_queued(xs_t *x) {
    if (x->hs) {
        fa__http_conn_t *c = fa__http_stream_conn(x->hs);
        atomic_store(&x->queued, c ? fa__http_conn_queued(c) : 0);
    }
    if (atomic_load(&x->want_wake) && pending_bytes(x) < x->limit / 2 &&
        atomic_exchange(&x->want_wake, 0))
        wake(x);
}

static void on_drain(fa__http_stream_t *hs, void *ctx) {
    (void)hs;
    update_queued(ctx);
}

static void on_close(fa__http_stream_t *hs, void *ctx) {
    (void)hs;
    xs_t *x = ctx;
    x->hs = NULL;
    atomic_store(&x->closed, 1);
    wake(x);
}

static void xmsg_cb(fa__http_loop_t *loop, fa__http_conn_t *conn, fa__http_msg_t *m) {
    (void)loop;
    (void)conn;
    xmsg_t *xm = (xmsg_t *)m;
    xs_t *x = xm->x;
    switch (xm->op) {
    case OP_START: {
        fa_http_deferred_t *d = x->d;
        x->d = NULL;
        fa__http_stream_t *hs = fa__http_deferred_hold(d, on_close, x);
        if (!hs) {
            on_close(NULL, x);
            break;
        }
        const char *ctype = xm->ctype_len > 1 ? xm->bytes : NULL;
        const char *hdrs = xm->len > xm->ctype_len ? xm->bytes + xm->ctype_len : NULL;
        x->hs = hs;
        int rc = fa__http_held_stream(hs, xm->status, ctype, hdrs);
        if (rc) {
            /* FA_ENOMEM closed the connection (on_close ran); FA_EPIPE: it is closing */
            if (x->hs)
                on_close(NULL, x);
            break;
        }
        fa__http_stream_on_drain(hs, on_drain);
        if (x->keepalive_ms)
            fa__http_stream_keepalive(hs, x->keepalive_ms, ": keep-alive\n\n");
        break;
    }
    case OP_DATA:
        atomic_fetch_sub(&x->inflight, xm->len);
        if (x->hs && fa__http_stream_write(x->hs, xm->bytes, xm->len) != 0 && x->hs) {
            /* Could not queue the chunk (no memory): the stream is broken, end it. */
            fa__http_stream_t *hs = x->hs;
            on_close(NULL, x);
            fa__http_stream_end(hs);
        }
        update_queued(x);
        break;
    case OP_END:
        if (x->hs) {
            fa__http_stream_t *hs = x->hs;
            x->hs = NULL;
            fa__http_stream_end(hs); /* no on_close after this */
        }
        atomic_store(&x->closed, 1);
        break;
    }
    xs_unref(x);
    free(xm);
}

/* Any thread: posts one message (it holds a reference to x). 0, or FA_ESTATE: the loop is gone
 * (x is then marked closed). */
static int xs_post(xs_t *x, xmsg_t *m) {
    m->msg.cb = xmsg_cb;
    m->msg.to.loop = x->loop;
    m->msg.to.slot = FA__HTTP_NO_SLOT;
    m->msg.to.gen = 0;
    m->x = x;
    atomic_fetch_add(&x->refs, 1);
    if (fa__http_post(x->srv, &m->msg) != 0) {
        atomic_fetch_sub(&x->refs, 1);
        atomic_store(&x->closed, 1);
        free(m);
        return FA_ESTATE;
    }
    return 0;
}

/* ---- `_fasterapi.HttpStream`: the producer's end ---- */

typedef struct {
    PyObject_HEAD xs_t *x; /* NULL once ended */
} streamobj_t;

static xs_t *live(streamobj_t *o) {
    if (!o->x)
        PyErr_SetString(PyExc_RuntimeError, "this stream has ended");
    return o->x;
}

/* write(data: bytes | str) -> bool: queues one chunk; False when the producer should wait
 * (arm() then the eventfd) or the stream is closed (see `closed`). */
static PyObject *stream_write(PyObject *self, PyObject *arg) {
    xs_t *x = live((streamobj_t *)self);
    if (!x)
        return NULL;
    const char *data;
    Py_ssize_t len;
    Py_buffer view = {0};
    int have_view = 0;
    if (PyUnicode_Check(arg)) {
        if (!(data = PyUnicode_AsUTF8AndSize(arg, &len)))
            return NULL;
    } else {
        if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) != 0)
            return NULL;
        have_view = 1;
        data = view.buf;
        len = view.len;
    }
    if (atomic_load(&x->closed)) {
        if (have_view)
            PyBuffer_Release(&view);
        Py_RETURN_FALSE;
    }
    if (len > 0) {
        xmsg_t *m = malloc(sizeof *m + (size_t)len);
        if (!m) {
            if (have_view)
                PyBuffer_Release(&view);
            return PyErr_NoMemory();
        }
        m->op = OP_DATA;
        m->len = (size_t)len;
        memcpy(m->bytes, data, (size_t)len);
        atomic_fetch_add(&x->inflight, (size_t)len);
        if (xs_post(x, m) != 0)
            atomic_fetch_sub(&x->inflight, (size_t)len);
    }
    if (have_view)
        PyBuffer_Release(&view);
    return PyBool_FromLong(!atomic_load(&x->closed) && pending_bytes(x) < x->limit);
}

/* arm() -> bool: asks for the eventfd once the queue is down to half; True when the producer
 * should wait now, False when it may write at once (it drained meanwhile, or closed). */
static PyObject *stream_arm(PyObject *self, PyObject *unused) {
    (void)unused;
    xs_t *x = live((streamobj_t *)self);
    if (!x)
        return NULL;
    atomic_store(&x->want_wake, 1);
    if (atomic_load(&x->closed) || pending_bytes(x) < x->limit / 2) {
        atomic_store(&x->want_wake, 0);
        Py_RETURN_FALSE;
    }
    Py_RETURN_TRUE;
}

/* ack(): consumes the eventfd's readiness (asyncio's reader callback calls it). */
static PyObject *stream_ack(PyObject *self, PyObject *unused) {
    (void)unused;
    xs_t *x = live((streamobj_t *)self);
    if (!x)
        return NULL;
    uint64_t v;
    ssize_t n = read(x->efd, &v, sizeof v);
    (void)n; /* EAGAIN: nothing was pending */
    Py_RETURN_NONE;
}

/* wait(timeout_s) -> bool: blocks (GIL released) until writable or closed; False on timeout.
 * For producers on plain threads. */
static PyObject *stream_wait(PyObject *self, PyObject *arg) {
    xs_t *x = live((streamobj_t *)self);
    if (!x)
        return NULL;
    double t = PyFloat_AsDouble(arg);
    if (t == -1.0 && PyErr_Occurred())
        return NULL;
    int ms = t < 0 ? -1 : t > 86400.0 ? 86400000 : (int)(t * 1000.0);
    for (;;) {
        atomic_store(&x->want_wake, 1);
        if (atomic_load(&x->closed) || pending_bytes(x) < x->limit / 2) {
            atomic_store(&x->want_wake, 0);
            Py_RETURN_TRUE;
        }
        struct pollfd p = {.fd = x->efd, .events = POLLIN};
        int rc;
        Py_BEGIN_ALLOW_THREADS rc = poll(&p, 1, ms);
        Py_END_ALLOW_THREADS if (rc == 0) Py_RETURN_FALSE;
        if (rc < 0 && errno != EINTR)
            return PyErr_SetFromErrno(PyExc_OSError);
        uint64_t v;
        ssize_t n = read(x->efd, &v, sizeof v);
        (void)n;
        if (PyErr_CheckSignals() < 0)
            return NULL;
    }
}

static void stream_finish(streamobj_t *o) {
    xs_t *x = o->x;
    if (!x)
        return;
    o->x = NULL;
    xmsg_t *m = malloc(sizeof *m);
    if (m) {
        m->op = OP_END;
        m->len = 0;
        if (xs_post(x, m) == 0) {
            xs_unref(x); /* the message holds x until the loop has ended the stream */
            return;
        }
    }
    /* No memory, or the loop is gone: the connection will be closed by the server anyway. A
     * started stream is then left for the server's shutdown to end (its on_close never runs
     * after the loop has stopped), so x stays referenced rather than freed under it. */
    if (!m)
        FA_ERROR("no memory to end a streaming response; its connection stays open");
    else
        xs_unref(x);
}

/* end(): the last chunk; the stream object is spent. Idempotent. */
static PyObject *stream_end(PyObject *self, PyObject *unused) {
    (void)unused;
    stream_finish((streamobj_t *)self);
    Py_RETURN_NONE;
}

static PyObject *stream_fileno(PyObject *self, PyObject *unused) {
    (void)unused;
    xs_t *x = live((streamobj_t *)self);
    return x ? PyLong_FromLong(x->efd) : NULL;
}

static PyObject *stream_closed(PyObject *self, void *unused) {
    (void)unused;
    xs_t *x = ((streamobj_t *)self)->x;
    return PyBool_FromLong(!x || atomic_load(&x->closed));
}

static PyObject *stream_pending(PyObject *self, void *unused) {
    (void)unused;
    xs_t *x = ((streamobj_t *)self)->x;
    return PyLong_FromSize_t(x ? pending_bytes(x) : 0);
}

static PyObject *stream_limit(PyObject *self, void *unused) {
    (void)unused;
    xs_t *x = ((streamobj_t *)self)->x;
    return PyLong_FromSize_t(x ? x->limit : 0);
}

static void stream_dealloc(PyObject *self) {
    PyTypeObject *tp = Py_TYPE(self);
    stream_finish((streamobj_t *)self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyMethodDef stream_methods[] = {
    {"write", stream_write, METH_O,
     "write(data) -> bool: queue one chunk; False: wait (arm + fileno) or closed"},
    {"arm", stream_arm, METH_NOARGS, "arm() -> bool: True if the producer must wait for fileno()"},
    {"ack", stream_ack, METH_NOARGS, "ack(): clear the fileno() readiness"},
    {"wait", stream_wait, METH_O, "wait(timeout_s) -> bool: block until writable or closed"},
    {"end", stream_end, METH_NOARGS, "end(): send the last chunk (idempotent)"},
    {"fileno", stream_fileno, METH_NOARGS, "an eventfd readable when writable again or closed"},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef stream_getset[] = {
    {"closed", stream_closed, NULL, "True once the client left, the server stopped or end()", NULL},
    {"pending", stream_pending, NULL, "unsent bytes (posted + queued on the connection)", NULL},
    {"limit", stream_limit, NULL, "unsent bytes past which write() says wait", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyType_Slot stream_slots[] = {
    {Py_tp_dealloc, stream_dealloc},
    {Py_tp_methods, stream_methods},
    {Py_tp_getset, stream_getset},
    {Py_tp_doc, "The producer's end of a streaming web response (fasterapi.web)."},
    {0, NULL}};

static PyType_Spec stream_spec = {"_fasterapi.HttpStream", sizeof(streamobj_t), 0,
                                  Py_TPFLAGS_DEFAULT, stream_slots};

/* Header lines for the stream's head from [(name, value)]: the framing headers are the server's
 * (RFC 9112 §6.3), CR/LF in a name or value would split the head (refused). */
static int header_lines(PyObject *headers, fa__buf_t *out, const char **ctype) {
    if (headers == Py_None)
        return 0;
    PyObject *seq = PySequence_Fast(headers, "headers must be a sequence of (name, value) pairs");
    if (!seq)
        return -1;
    int rc = 0;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq) && rc == 0; i++) {
        PyObject *pair = PySequence_Fast_GET_ITEM(seq, i);
        const char *k, *v;
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2 ||
            !(k = PyUnicode_AsUTF8(PyTuple_GET_ITEM(pair, 0))) ||
            !(v = PyUnicode_AsUTF8(PyTuple_GET_ITEM(pair, 1)))) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "a header is a (str, str) pair");
            rc = -1;
        } else if (strpbrk(k, "\r\n:") || strpbrk(v, "\r\n") || !*k) {
            PyErr_Format(PyExc_ValueError, "invalid response header %R", pair);
            rc = -1;
        } else if (strcasecmp(k, "content-type") == 0) {
            *ctype = v; /* kept alive by the tuple, which `headers` holds during the call */
        } else if (strcasecmp(k, "content-length") != 0 &&
                   strcasecmp(k, "transfer-encoding") != 0 && strcasecmp(k, "connection") != 0) {
            if (fa__buf_appendf(out, "%s: %s\r\n", k, v) != 0) {
                PyErr_NoMemory();
                rc = -1;
            }
        }
    }
    Py_DECREF(seq);
    return rc;
}

PyObject *fa__pyweb_stream_open(PyObject *module, fa_http_deferred_t **dp, PyObject *const *args,
                                Py_ssize_t nargs) {
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError,
                        "stream(status, content_type, headers, keepalive_ms) -> HttpStream");
        return NULL;
    }
    long status = PyLong_AsLong(args[0]);
    if (status == -1 && PyErr_Occurred())
        return NULL;
    if (status < 200 || status > 599 || status == 204 || status == 304) {
        PyErr_Format(PyExc_ValueError, "a streamed answer needs a status with a body, not %ld",
                     status);
        return NULL;
    }
    const char *ctype = NULL;
    if (args[1] != Py_None && !(ctype = PyUnicode_AsUTF8(args[1])))
        return NULL;
    long ka = PyLong_AsLong(args[3]);
    if (ka == -1 && PyErr_Occurred())
        return NULL;
    if (ka < 0 || ka > 86400000) {
        PyErr_SetString(PyExc_ValueError, "keepalive_ms is 0 (none) .. 86400000");
        return NULL;
    }
    fa__buf_t hdrs = FA__BUF_INIT;
    if (header_lines(args[2], &hdrs, &ctype) != 0) {
        fa__buf_free(&hdrs);
        return NULL;
    }
    if (ctype && strpbrk(ctype, "\r\n")) {
        fa__buf_free(&hdrs);
        PyErr_SetString(PyExc_ValueError, "invalid content type");
        return NULL;
    }
    PyObject *tp = PyObject_GetAttrString(module, "HttpStream");
    streamobj_t *o =
        tp ? (streamobj_t *)((PyTypeObject *)tp)->tp_alloc((PyTypeObject *)tp, 0) : NULL;
    Py_XDECREF(tp);
    size_t clen = ctype ? strlen(ctype) + 1 : 1;
    xs_t *x = o ? calloc(1, sizeof *x) : NULL;
    xmsg_t *m = x ? malloc(sizeof *m + clen + hdrs.len + 1) : NULL;
    int efd = m ? eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) : -1;
    if (efd < 0) {
        free(m);
        free(x);
        Py_XDECREF(o);
        fa__buf_free(&hdrs);
        if (!PyErr_Occurred())
            PyErr_SetFromErrno(PyExc_OSError);
        return NULL;
    }
    fa_http_deferred_t *d = *dp;
    *dp = NULL; /* the stream answers the request from now on */
    fa_http_req_t *req = fa_http_deferred_req(d);
    x->srv = req->loop->srv;
    x->loop = req->loop->index;
    x->efd = efd;
    x->d = d;
    x->refs = 1;
    x->keepalive_ms = (uint32_t)ka;
    size_t max_out = x->srv->opts.max_output;
    x->limit = max_out / 2 < FA_PYWEB_STREAM_QUEUE ? max_out / 2 : FA_PYWEB_STREAM_QUEUE;
    if (x->limit < 1024)
        x->limit = 1024;
    m->op = OP_START;
    m->status = (int)status;
    m->ctype_len = clen;
    m->bytes[0] = '\0';
    if (ctype)
        memcpy(m->bytes, ctype, clen);
    if (hdrs.len)
        memcpy(m->bytes + clen, hdrs.data, hdrs.len);
    m->bytes[clen + hdrs.len] = '\0';
    m->len = clen + hdrs.len;
    fa__buf_free(&hdrs);
    o->x = x;
    if (xs_post(x, m) != 0) {
        /* The loop is gone (shutting down): fa_http_respond releases the request (it fails the
         * same way); the stream object reports closed. */
        fa_http_respond(d, 503, NULL, NULL, 0, NULL, 0);
        x->d = NULL;
    }
    return (PyObject *)o;
}

/* ---- channels ---- */

static uv_mutex_t ch_lock;
static uv_once_t ch_once = UV_ONCE_INIT;
static _Atomic(fa_http_server_t *) ch_srv;
static struct {
    char name[FA_PYWEB_CHANNEL_NAME + 1];
    fa_sse_channel_t *ch;
} channels[FA_PYWEB_MAX_CHANNELS];
static size_t nchannels;

static void ch_init(void) {
    if (uv_mutex_init(&ch_lock) != 0)
        abort(); /* no mutex, no server */
}

void fa__pyweb_channels_bind(fa_http_server_t *srv) {
    uv_once(&ch_once, ch_init);
    atomic_store(&ch_srv, srv);
}

void fa__pyweb_channels_free(void) {
    uv_once(&ch_once, ch_init);
    uv_mutex_lock(&ch_lock);
    for (size_t i = 0; i < nchannels; i++)
        fa_sse_channel_free(channels[i].ch);
    nchannels = 0;
    atomic_store(&ch_srv, NULL);
    uv_mutex_unlock(&ch_lock);
}

/* The channel of that name, made on first use. NULL with a Python error. A channel is made
 * while the server runs (not before start, as fa_sse_channel_new's owner rule says for the
 * public API): it touches no loop state, only the server's options, and is published to other
 * threads through ch_lock. */
static fa_sse_channel_t *channel_named(PyObject *name) {
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(name, &n);
    if (!s)
        return NULL;
    if (n == 0 || n > FA_PYWEB_CHANNEL_NAME) {
        PyErr_Format(PyExc_ValueError, "a channel name has 1..%d bytes", FA_PYWEB_CHANNEL_NAME);
        return NULL;
    }
    uv_once(&ch_once, ch_init);
    fa_http_server_t *srv = atomic_load(&ch_srv);
    if (!srv) {
        PyErr_SetString(PyExc_RuntimeError, "SSE channels need the server (fasterapi run --http)");
        return NULL;
    }
    fa_sse_channel_t *ch = NULL;
    int rc = 0;
    uv_mutex_lock(&ch_lock);
    for (size_t i = 0; i < nchannels && !ch; i++)
        if (strcmp(channels[i].name, s) == 0)
            ch = channels[i].ch;
    if (!ch && nchannels == FA_PYWEB_MAX_CHANNELS)
        rc = FA_ELIMIT;
    else if (!ch && (rc = fa_sse_channel_new(&ch, srv, 0, 0)) == 0) {
        memcpy(channels[nchannels].name, s, (size_t)n + 1);
        channels[nchannels++].ch = ch;
    }
    uv_mutex_unlock(&ch_lock);
    if (rc == FA_ELIMIT)
        PyErr_Format(PyExc_RuntimeError, "at most %d SSE channels", FA_PYWEB_MAX_CHANNELS);
    else if (rc)
        PyErr_NoMemory();
    return ch;
}

/* sse_publish(channel, data: str | bytes, event: str | None, id: str | None) -> str (the id) */
static PyObject *mod_sse_publish(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "sse_publish(channel, data, event, id)");
        return NULL;
    }
    fa_sse_channel_t *ch = channel_named(args[0]);
    if (!ch)
        return NULL;
    const char *data, *event = NULL, *id = NULL;
    Py_ssize_t len;
    if (PyBytes_Check(args[1])) {
        data = PyBytes_AS_STRING(args[1]);
        len = PyBytes_GET_SIZE(args[1]);
    } else if (!(data = PyUnicode_AsUTF8AndSize(args[1], &len))) {
        return NULL;
    }
    if (args[2] != Py_None && !(event = PyUnicode_AsUTF8(args[2])))
        return NULL;
    if (args[3] != Py_None && !(id = PyUnicode_AsUTF8(args[3])))
        return NULL;
    char used[FA_SSE_MAX_ID + 1];
    used[0] = '\0';
    int rc = fa_sse_channel_publish(ch, event, id, data, (size_t)len, used);
    if (rc == FA_EINVAL) {
        PyErr_SetString(PyExc_ValueError, "an event name or id with CR/LF, or an id too long");
        return NULL;
    }
    if (rc == FA_EMSGSIZE) {
        PyErr_SetString(PyExc_ValueError, "the event is bigger than the channel's replay ring");
        return NULL;
    }
    if (rc)
        return PyErr_NoMemory();
    return PyUnicode_FromString(used);
}

/* sse_subscribers(channel) -> int */
static PyObject *mod_sse_subscribers(PyObject *self, PyObject *name) {
    (void)self;
    fa_sse_channel_t *ch = channel_named(name);
    return ch ? PyLong_FromSize_t(fa_sse_channel_subscribers(ch)) : NULL;
}

typedef struct {
    fa__http_msg_t msg; /* first */
    fa_http_deferred_t *d;
    fa_sse_channel_t *ch;
    uint32_t keepalive_ms;
    long retry_ms;
} submsg_t;

static void sub_cb(fa__http_loop_t *loop, fa__http_conn_t *conn, fa__http_msg_t *m) {
    (void)loop;
    (void)conn;
    submsg_t *sm = (submsg_t *)m;
    fa__http_stream_t *hs = fa__http_deferred_hold(sm->d, NULL, NULL);
    if (hs) {
        fa_sse_options_t o;
        fa_sse_options_init(&o);
        o.channel = sm->ch;
        o.keepalive_ms = sm->keepalive_ms;
        o.retry_ms = sm->retry_ms;
        int rc = fa__sse_open_held(hs, &o, NULL);
        if (rc && rc != FA_EPIPE)
            FA_WARN("cannot open an SSE stream: %s", fa_strerror(rc));
    }
    free(sm);
}

PyObject *fa__pyweb_sse_subscribe(fa_http_deferred_t **dp, PyObject *const *args,
                                  Py_ssize_t nargs) {
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "sse_subscribe(channel, keepalive_ms, retry_ms)");
        return NULL;
    }
    fa_sse_channel_t *ch = channel_named(args[0]);
    if (!ch)
        return NULL;
    long ka = PyLong_AsLong(args[1]);
    if (ka == -1 && PyErr_Occurred())
        return NULL;
    long retry = PyLong_AsLong(args[2]);
    if (retry == -1 && PyErr_Occurred())
        return NULL;
    if (ka < 0 || ka > 86400000) {
        PyErr_SetString(PyExc_ValueError, "keepalive_ms is 0 (the default) .. 86400000");
        return NULL;
    }
    submsg_t *m = malloc(sizeof *m);
    if (!m)
        return PyErr_NoMemory();
    fa_http_deferred_t *d = *dp;
    *dp = NULL;
    fa_http_req_t *req = fa_http_deferred_req(d);
    m->msg.cb = sub_cb;
    m->msg.to.loop = req->loop->index;
    m->msg.to.slot = FA__HTTP_NO_SLOT;
    m->msg.to.gen = 0;
    m->d = d;
    m->ch = ch;
    m->keepalive_ms = (uint32_t)ka;
    m->retry_ms = retry < 0 ? -1 : retry;
    if (fa__http_post(req->loop->srv, &m->msg) != 0) {
        free(m);
        /* The loop is gone: fa_http_respond releases the request (and fails the same way). */
        fa_http_respond(d, 503, NULL, NULL, 0, NULL, 0);
    }
    Py_RETURN_NONE;
}

static PyMethodDef stream_mod_methods[] = {
    {"sse_publish", (PyCFunction)(void (*)(void))mod_sse_publish, METH_FASTCALL,
     "sse_publish(channel, data, event, id) -> the event's id"},
    {"sse_subscribers", mod_sse_subscribers, METH_O, "streams subscribed to a channel"},
    {NULL, NULL, 0, NULL}};

int fa__pyweb_stream_add_type(PyObject *module) {
    PyObject *tp = PyType_FromModuleAndSpec(module, &stream_spec, NULL);
    if (!tp)
        return -1;
    int rc = PyModule_AddObjectRef(module, "HttpStream", tp);
    Py_DECREF(tp);
    if (rc == 0)
        rc = PyModule_AddFunctions(module, stream_mod_methods);
    return rc;
}
