/* http_conn.c: one HTTP/1.1 connection: reading, pipelining, ordered responses, batched writes,
 * timeouts and closing (see http_internal.h for the design).
 *
 * Hot path (keep-alive GET, no body): read_cb -> parse every complete head in the buffer ->
 * route -> handler -> fa__http_render appends the response to c->out -> after the batch one
 * uv_try_write. Nothing is allocated: the request object, the read buffer and the output buffer
 * belong to the connection and keep their capacity; connections and requests come from per-loop
 * pools.
 *
 * Views: a parsed request points into rbuf. Those pointers are moved (rebase) when rbuf is
 * compacted or grown while a body is still arriving, and copied out of rbuf entirely when a handler
 * defers the request, so rbuf can be reused for the requests behind it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/sendfile.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "fasterapi/error.h"
#include "transport/http_internal.h"

enum { C_HEAD = 0, C_BODY, C_PROTO };

/* Pools keep at most this many spare objects per loop: enough to absorb connection churn (wrk
 * reconnecting 1000 clients) without holding memory after a burst. */
#define POOL_MAX 1024
/* A read buffer grown beyond this for one big request is replaced by a small one after it. */
#define READ_KEEP_CAP (64u * 1024u)
/* Read buffer room below which we compact or grow before the next read. */
#define READ_MIN_ROOM 1024u
/* An output buffer above this is released when it empties (a big response should not pin memory
 * on an idle keep-alive connection). */
#define OUT_KEEP_CAP (64u * 1024u)

static void process(fa__http_conn_t *c);
static void maybe_close(fa__http_conn_t *c);
static void close_now(fa__http_conn_t *c);
static void arm_timer(fa__http_conn_t *c, uint64_t deadline);
static void start_reading(fa__http_conn_t *c);
static void stop_reading(fa__http_conn_t *c);

static const fa_http_server_t *srv_of(const fa__http_conn_t *c) {
    return c->loop->srv;
}

/* ---- Date cache ---- */

void fa__http_date_refresh(fa__http_loop_t *loop) {
    time_t now = time(NULL);
    if (now == loop->date_sec)
        return;
    loop->date_sec = now;
    struct tm tm;
    gmtime_r(&now, &tm);
    /* IMF-fixdate, RFC 9110 §5.6.7. */
    loop->date_len = strftime(loop->date_line, sizeof loop->date_line,
                              "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
}

/* ---- response rendering ---- */

static char *put(char *p, const void *s, size_t n) {
    memcpy(p, s, n);
    return p + n;
}

static char *put_u64(char *p, uint64_t v) {
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static int status_has_body(int status) {
    /* RFC 9110 §6.4.1: 1xx, 204 and 304 responses never have content. */
    return !(status < 200 || status == 204 || status == 304);
}

/* fa__http_render with the keep-alive decision given (keep_alive < 0: the request's own). */
static int render_keep(fa__buf_t *out, const fa_http_server_t *srv, const char *date_line,
                       size_t date_len, const fa_http_req_t *req, int keep_alive, int status,
                       const char *ctype, const char *hdrs, size_t hdrs_len, const void *body,
                       size_t len);

int fa__http_render(fa__buf_t *out, const fa_http_server_t *srv, const char *date_line,
                    size_t date_len, const fa_http_req_t *req, int status, const char *ctype,
                    const char *hdrs, size_t hdrs_len, const void *body, size_t len) {
    return render_keep(out, srv, date_line, date_len, req, -1, status, ctype, hdrs, hdrs_len, body,
                       len);
}

static int render_keep(fa__buf_t *out, const fa_http_server_t *srv, const char *date_line,
                       size_t date_len, const fa_http_req_t *req, int keep_alive, int status,
                       const char *ctype, const char *hdrs, size_t hdrs_len, const void *body,
                       size_t len) {
    if (status < 100 || status > 999)
        status = 500;
    const char *reason = fa__http_status_text(status);
    size_t rlen = strlen(reason);
    size_t clen = ctype ? strlen(ctype) : 0;
    int with_body = status_has_body(status);
    int send_body = with_body && !(req && req->is_head) && body;
    int keep = keep_alive >= 0 ? keep_alive : req ? req->keep_alive : 0;
    int minor = req ? req->h.minor_version : 1;
    size_t need = 13 + rlen + 2 + srv->server_line_len + date_len + (clen ? clen + 16 : 0) +
                  hdrs_len + 40 + 24 + 2 + (send_body ? len : 0);
    int rc = fa__buf_reserve(out, need);
    if (rc)
        return rc;
    char *p = out->data + out->len;
    p = put(p, "HTTP/1.1 ", 9);
    *p++ = (char)('0' + status / 100);
    *p++ = (char)('0' + status / 10 % 10);
    *p++ = (char)('0' + status % 10);
    *p++ = ' ';
    p = put(p, reason, rlen);
    p = put(p, "\r\n", 2);
    p = put(p, srv->server_line, srv->server_line_len);
    p = put(p, date_line, date_len);
    if (clen) {
        p = put(p, "Content-Type: ", 14);
        p = put(p, ctype, clen);
        p = put(p, "\r\n", 2);
    }
    if (hdrs_len)
        p = put(p, hdrs, hdrs_len);
    if (with_body) {
        /* HEAD: the Content-Length the GET would have (RFC 9110 §9.3.2). */
        p = put(p, "Content-Length: ", 16);
        p = put_u64(p, len);
        p = put(p, "\r\n", 2);
    }
    if (!keep)
        p = put(p, "Connection: close\r\n", 19);
    else if (minor == 0)
        p = put(p, "Connection: keep-alive\r\n", 24);
    p = put(p, "\r\n", 2);
    if (send_body && len && body) /* body NULL: the caller sends it separately (files) */
        p = put(p, body, len);
    out->len = (size_t)(p - out->data);
    return 0;
}

/* ---- output ordering ---- */

size_t fa__http_conn_queued(const fa__http_conn_t *c);

static int over_half(const fa__http_conn_t *c) {
    return fa__http_conn_queued(c) > srv_of(c)->opts.max_output / 2;
}

/* Where a response for `req` goes now (see http_internal.h). */
static fa__buf_t *out_for(fa__http_conn_t *c, fa_http_req_t *req) {
    if (req && (req->deferred || req->streaming))
        return req == c->pend_head ? &c->out : &req->own;
    return c->pend_tail ? &c->pend_tail->after : &c->out;
}

size_t fa__http_conn_queued(const fa__http_conn_t *c) {
    size_t n = c->out.len + c->inflight.len;
    for (const fa_http_req_t *p = c->pend_head; p; p = p->next_pending)
        n += p->own.len + p->after.len;
    return n;
}

static int append_buf(fa__buf_t *dst, fa__buf_t *src) {
    if (!src->len)
        return 0;
    int rc = 0;
    if (!dst->len && !dst->borrowed && src->cap >= dst->cap) {
        /* Swap instead of copy (the usual case: the first entry becomes ready). */
        fa__buf_t t = *dst;
        *dst = *src;
        *src = t;
    } else {
        rc = fa__buf_append(dst, src->data, src->len);
    }
    src->len = 0;
    return rc;
}

/* Pops finished entries from the head of the pending list, moving what waited behind them. */
static void advance_pending(fa__http_conn_t *c) {
    fa_http_req_t *p;
    while ((p = c->pend_head) && p->answered) {
        c->pend_head = p->next_pending;
        if (!c->pend_head)
            c->pend_tail = NULL;
        p->next_pending = NULL;
        p->linked = 0;
        if (append_buf(&c->out, &p->after) != 0)
            c->no_more = 1;
        if (c->pend_head && append_buf(&c->out, &c->pend_head->own) != 0)
            c->no_more = 1;
        if (p == c->cur) {
            /* A stream ended inside its own handler: finish_request still holds it and reuses it
             * for the next request (found by the fuzzer: releasing it here pooled it twice). */
        } else if (p->deferred && !p->answered_by_reply) {
            /* Answered by the handler timeout: the responding thread still owns it. */
            p->conn = NULL;
        } else {
            fa__http_req_release(c->loop, p);
        }
    }
}

static void link_pending(fa__http_conn_t *c, fa_http_req_t *req) {
    req->next_pending = NULL;
    req->linked = 1;
    if (c->pend_tail)
        c->pend_tail->next_pending = req;
    else
        c->pend_head = req;
    c->pend_tail = req;
}

/* ---- requests: pool, arena, views ---- */

static fa_http_req_t *req_get(fa__http_loop_t *loop) {
    fa_http_req_t *r = loop->req_pool;
    if (r) {
        loop->req_pool = r->next_pending;
        loop->req_pool_len--;
        r->next_pending = NULL;
        return r;
    }
    size_t nh = loop->srv->lim.max_headers;
    r = calloc(1, sizeof *r + nh * sizeof(fa__http_header_t));
    if (!r)
        return NULL;
    r->loop = loop;
    return r;
}

static void arena_reset(fa_http_req_t *r) {
    r->arena_used = 0;
    while (r->arena_more) {
        fa__http_arena_chunk_t *n = r->arena_more->next;
        free(r->arena_more);
        r->arena_more = n;
    }
}

static void *arena_alloc(fa_http_req_t *r, size_t n) {
    if (n <= sizeof r->arena - r->arena_used) {
        void *p = r->arena + r->arena_used;
        r->arena_used += n;
        return p;
    }
    fa__http_arena_chunk_t *ch = malloc(sizeof *ch + n);
    if (!ch)
        return NULL;
    ch->next = r->arena_more;
    r->arena_more = ch;
    return ch + 1;
}

char *fa__http_req_strdup(fa_http_req_t *r, const char *s, size_t n) {
    char *d = arena_alloc(r, n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* Frees everything a request owns beyond its pooled capacity. */
static void req_free(fa_http_req_t *r) {
    arena_reset(r);
    fa__buf_free(&r->res_headers);
    fa__buf_free(&r->own);
    fa__buf_free(&r->after);
    fa__buf_free(&r->reply);
    free(r->scratch);
    free(r->copy);
    free(r);
}

void fa__http_req_release(fa__http_loop_t *loop, fa_http_req_t *r) {
    if (r->has_file) {
        close(r->file_fd);
        r->has_file = 0;
    }
    arena_reset(r);
    free(r->copy);
    r->copy = NULL;
    fa__buf_free(&r->reply);
    r->own.len = r->after.len = 0;
    r->res_headers.len = 0;
    r->conn = NULL;
    r->deferred = r->streaming = r->answered = r->answered_by_reply = r->held = 0;
    r->close_on_eof = 0;
    r->ka_ms = 0;
    r->stream_close = NULL;
    r->stream_drain = NULL;
    if (loop->req_pool_len >= 64 || loop->stopping) {
        req_free(r);
        return;
    }
    r->loop = loop;
    r->next_pending = loop->req_pool;
    loop->req_pool = r;
    loop->req_pool_len++;
}

/* Pointers are compared as integers: after a realloc the old block is gone, and only its address
 * range is used to recognise which views pointed into it. */
static void rebase_ptr(const char **p, uintptr_t old, size_t n, const char *new_base) {
    uintptr_t v = (uintptr_t)*p;
    if (*p && v >= old && v <= old + n)
        *p = new_base + (v - old);
}

/* Moves every view of r that points into [old, old+n] to new_base. */
static void rebase(fa_http_req_t *r, uintptr_t old, size_t n, const char *new_base) {
    fa__http_request_t *h = &r->h;
    rebase_ptr(&h->method_str, old, n, new_base);
    rebase_ptr(&h->target, old, n, new_base);
    rebase_ptr(&h->path, old, n, new_base);
    rebase_ptr(&h->query, old, n, new_base);
    for (size_t i = 0; i < h->nheaders; i++) {
        rebase_ptr(&h->headers[i].name, old, n, new_base);
        rebase_ptr(&h->headers[i].value, old, n, new_base);
    }
    rebase_ptr(&r->body, old, n, new_base);
}

/* NUL-terminates the strings a handler gets, in place: each is followed in the head by a byte we
 * no longer need (' ', '?', ':', CR or trimmed whitespace). */
static void nul_at(char *buf, const char *p) {
    buf[p - buf] = '\0'; /* p points into buf: write through the non-const base */
}

static void terminate_views(fa__http_conn_t *c, fa_http_req_t *r) {
    fa__http_request_t *h = &r->h;
    char *b = c->rbuf;
    nul_at(b, h->method_str + h->method_len);
    if (h->path_len == 0) {
        /* absolute-form without a path ("http://h?q"): route it as "/" (RFC 9112 §3.3). */
        h->path = "/";
        h->path_len = 1;
    } else {
        nul_at(b, h->path + h->path_len);
    }
    if (h->query)
        nul_at(b, h->query + h->query_len);
    for (size_t i = 0; i < h->nheaders; i++) {
        nul_at(b, h->headers[i].name + h->headers[i].name_len);
        if (h->headers[i].value)
            nul_at(b, h->headers[i].value + h->headers[i].value_len);
    }
}

/* ---- public request view ---- */

const char *fa_http_req_method(const fa_http_req_t *req) {
    return req->h.method_str;
}

const char *fa_http_req_path(const fa_http_req_t *req) {
    return req->h.path;
}

const char *fa_http_req_query(const fa_http_req_t *req) {
    return req->h.query ? req->h.query : "";
}

const char *fa_http_req_header(fa_http_req_t *req, const char *name) {
    const fa__http_header_t *f = fa__http_find_header(&req->h, name);
    if (!f)
        return NULL;
    return f->value ? f->value : "";
}

const char *fa_http_req_param(const fa_http_req_t *req, const char *name) {
    if (req->match.status != FA_ROUTE_FOUND)
        return NULL;
    const fa__route_param_t *p = fa__route_param(&req->match, name);
    return p ? p->value : NULL;
}

const char *fa_http_req_query_param(fa_http_req_t *req, const char *name) {
    if (!req->h.query)
        return NULL;
    size_t nlen = strlen(name);
    fa__query_iter_t it;
    fa__query_init(&it, req->h.query, req->h.query_len);
    fa__span_t k, v;
    while (fa__query_next(&it, &k, &v)) {
        /* Names are compared decoded; most names have no escapes, so try the raw form first. */
        int match = k.len == nlen && memcmp(k.ptr, name, nlen) == 0;
        if (!match && memchr(k.ptr, '%', k.len) == NULL && memchr(k.ptr, '+', k.len) == NULL)
            continue;
        if (!match) {
            char *kd = arena_alloc(req, k.len + 1);
            if (!kd)
                return NULL;
            long kl = fa__http_percent_decode(kd, k.ptr, k.len, 1);
            if (kl < 0 || (size_t)kl != nlen || memcmp(kd, name, nlen) != 0)
                continue;
        }
        char *out = arena_alloc(req, v.len + 1);
        if (!out)
            return NULL;
        long n = fa__http_percent_decode(out, v.ptr, v.len, 1);
        if (n < 0)
            return NULL;
        out[n] = '\0';
        return out;
    }
    return NULL;
}

const char *fa_http_req_body(const fa_http_req_t *req, size_t *len) {
    if (len)
        *len = req->body_len;
    return req->body ? req->body : "";
}

/* ---- responses ---- */

static int bad_header_text(const char *s) {
    for (; *s; s++)
        if (*s == '\r' || *s == '\n')
            return 1;
    return 0;
}

int fa_http_res_header(fa_http_req_t *req, const char *name, const char *value) {
    if (!name || !value || !*name || bad_header_text(name) || bad_header_text(value) ||
        strchr(name, ':'))
        return FA_EINVAL;
    if (req->answered)
        return FA_ESTATE;
    fa__buf_t *b = &req->res_headers;
    size_t nl = strlen(name), vl = strlen(value);
    int rc = fa__buf_reserve(b, nl + vl + 4);
    if (rc)
        return rc;
    memcpy(b->data + b->len, name, nl);
    b->len += nl;
    memcpy(b->data + b->len, ": ", 2);
    b->len += 2;
    memcpy(b->data + b->len, value, vl);
    b->len += vl;
    memcpy(b->data + b->len, "\r\n", 2);
    b->len += 2;
    return 0;
}

static void count_response(fa__http_loop_t *loop, fa_http_req_t *req, int status) {
    req->status = status;
    fa__http_metrics_count(loop, req, status);
}

int fa_http_res_send(fa_http_req_t *req, int status, const char *content_type, const void *body,
                     size_t len) {
    fa__http_conn_t *c = req->conn;
    /* A deferred request is answered with fa_http_respond only (its thread owns it now). */
    if (!c || req->answered || req->streaming || req->deferred)
        return FA_ESTATE;
    if (!body && len && !req->is_head) /* only a HEAD answer may announce a body it omits */
        return FA_EINVAL;
    fa__http_loop_t *loop = c->loop;
    if (loop->stopping)
        req->keep_alive = 0; /* shutting down (perhaps since this handler began): say so */
    int rc =
        fa__http_render(out_for(c, req), loop->srv, loop->date_line, loop->date_len, req, status,
                        content_type, req->res_headers.data, req->res_headers.len, body, len);
    if (rc)
        return rc;
    req->answered = 1;
    count_response(loop, req, status);
    return 0;
}

int fa_http_res_send_json(fa_http_req_t *req, int status, const json_t *json) {
    fa__http_conn_t *c = req->conn;
    if (!c)
        return FA_ESTATE;
    fa__buf_t *s = &c->loop->scratch;
    s->len = 0;
    size_t n = json_dumpb(json, s->data, s->cap, JSON_COMPACT);
    if (n == 0)
        return FA_EINVAL;
    if (n > s->cap) {
        int rc = fa__buf_reserve(s, n);
        if (rc)
            return rc;
        n = json_dumpb(json, s->data, s->cap, JSON_COMPACT);
    }
    return fa_http_res_send(req, status, "application/json", s->data, n);
}

int fa__http_add_error_body(fa_http_server_t *srv, fa__http_error_body_fn fn, void *data,
                            int catch_all) {
    if (srv->nerror_body == FA__HTTP_ERROR_BODY_MAX)
        return FA_ENOSPC;
    /* Path-specific hooks go before the first catch-all one, whatever the mount order. */
    size_t at = srv->nerror_body;
    if (!catch_all)
        while (at > 0 && srv->error_body[at - 1].catch_all)
            at--;
    memmove(&srv->error_body[at + 1], &srv->error_body[at],
            (srv->nerror_body - at) * sizeof srv->error_body[0]);
    srv->error_body[at].fn = fn;
    srv->error_body[at].data = data;
    srv->error_body[at].catch_all = catch_all != 0;
    srv->nerror_body++;
    return 0;
}

/* A short error response from the server itself (parser errors, 404, 413, 408, ...). `about`:
 * the request whose parsed head it concerns when it has no fa_http_req_t answer slot of its own
 * (its path picks the body format, fa__http_add_error_body), or NULL. */
static void send_error_about(fa__http_conn_t *c, fa_http_req_t *req, int status, const char *text,
                             const char *extra_hdrs, const fa_http_req_t *about) {
    fa__http_loop_t *loop = c->loop;
    char text_body[160];
    const char *body = text_body;
    const char *ctype = "text/plain; charset=utf-8";
    int n = snprintf(text_body, sizeof text_body, "%d %s%s%s\n", status,
                     fa__http_status_text(status), text ? ": " : "", text ? text : "");
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof text_body)
        n = sizeof text_body - 1;
    const fa_http_req_t *of = about ? about : req;
    fa_http_server_t *srv = loop->srv;
    for (size_t i = 0; of && of->h.path && i < srv->nerror_body; i++) {
        fa__buf_t *scratch = &loop->scratch;
        scratch->len = 0;
        const char *t =
            srv->error_body[i].fn(srv->error_body[i].data, of->h.path, of->h.path_len, status,
                                  text ? text : fa__http_status_text(status), scratch);
        if (t && scratch->len <= INT_MAX) {
            ctype = t;
            body = scratch->data;
            n = (int)scratch->len;
            break;
        }
    }
    fa_http_req_t tmp;
    if (!req) {
        memset(&tmp.h, 0, sizeof tmp.h);
        tmp.h.minor_version = 1;
        tmp.is_head = 0;
        req = &tmp;
    }
    if (req == &tmp) {
        /* Errors before a request exists (framing, limits, timeouts) end the connection. */
        req->keep_alive = 0;
        c->no_more = 1;
    } else if (!req->keep_alive) {
        c->no_more = 1;
    }
    if (fa__http_render(out_for(c, req == &tmp ? NULL : req), loop->srv, loop->date_line,
                        loop->date_len, req, status, ctype, extra_hdrs,
                        extra_hdrs ? strlen(extra_hdrs) : 0, body, (size_t)n) == 0)
        req->answered = 1;
    req->status = status;
    fa__http_metrics_count(loop, req == &tmp ? NULL : req, status);
}

static void send_error(fa__http_conn_t *c, fa_http_req_t *req, int status, const char *text,
                       const char *extra_hdrs) {
    send_error_about(c, req, status, text, extra_hdrs, NULL);
}

/* ---- deferred requests ---- */

fa_http_deferred_t *fa_http_req_defer(fa_http_req_t *req) {
    fa__http_conn_t *c = req->conn;
    if (!c || req->answered || req->deferred || req->streaming)
        return NULL;
    /* Copy head + body (contiguous in rbuf) and the decoded parameters out of the connection's
     * buffers: the connection goes on with the requests behind this one. */
    const char *base = c->rbuf + c->rpos;
    size_t span = (size_t)((req->body ? req->body + req->body_len : base + req->h.head_len) - base);
    size_t scr = req->match.status == FA_ROUTE_FOUND ? req->h.path_len + 1 : 0;
    char *copy = malloc(span + scr + 1);
    if (!copy)
        return NULL;
    memcpy(copy, base, span);
    copy[span + scr] = '\0';
    rebase(req, (uintptr_t)base, span, copy);
    if (scr) {
        memcpy(copy + span, req->scratch, scr);
        for (size_t i = 0; i < req->match.nparams; i++)
            rebase_ptr(&req->match.params[i].value, (uintptr_t)req->scratch, scr, copy + span);
    }
    req->copy = copy;
    req->deferred = 1;
    link_pending(c, req);
    arm_timer(c, req->started_ms + c->loop->srv->opts.handler_timeout_ms);
    atomic_fetch_add_explicit(&c->loop->srv->refs, 1, memory_order_relaxed);
    return (fa_http_deferred_t *)req;
}

fa_http_req_t *fa_http_deferred_req(fa_http_deferred_t *d) {
    return (fa_http_req_t *)d;
}

int fa_http_respond(fa_http_deferred_t *d, int status, const char *content_type,
                    const fa_http_header_t *headers, size_t nheaders, const void *body,
                    size_t len) {
    fa_http_req_t *req = (fa_http_req_t *)d;
    fa__http_loop_t *loop = req->loop;
    fa_http_server_t *srv = loop->srv;
    /* Render on this thread (with its own Date) so the loop only copies bytes. */
    fa__buf_t hdrs = FA__BUF_INIT;
    int rc = 0;
    for (size_t i = 0; i < nheaders && rc == 0; i++) {
        if (bad_header_text(headers[i].name) || bad_header_text(headers[i].value))
            continue;
        rc = fa__buf_appendf(&hdrs, "%s: %s\r\n", headers[i].name, headers[i].value);
    }
    /* The responding thread's own Date line, rendered once a second: gmtime_r + strftime for
     * every answer cost as much as the rest of the rendering (a worker answers tens of thousands
     * a second). Thread-local, so no thread waits for another. */
    static _Thread_local time_t date_sec = -1;
    static _Thread_local char date[64];
    static _Thread_local size_t dlen;
    time_t now = time(NULL);
    if (now != date_sec) {
        struct tm tm;
        gmtime_r(&now, &tm);
        dlen = strftime(date, sizeof date, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
        date_sec = now;
    }
    fa__buf_t reply = FA__BUF_INIT;
    /* This thread writes no field the loop may read before the answer arrives (its handler
     * timer renders a 504 from status and keep_alive): both travel in reply_status/reply_close
     * and are applied on the loop (fa__http_deferred_arrived). Acquire: pairs with the release
     * store in fa_http_server_close/stop. A shutdown that starts just after this check still
     * closes the connection after this answer. */
    int keep = req->keep_alive;
    if (atomic_load_explicit(&srv->stop_requested, memory_order_acquire))
        keep = 0;
    if (rc == 0)
        rc = render_keep(&reply, srv, date, dlen, req, keep, status, content_type, hdrs.data,
                         hdrs.len, body, len);
    fa__buf_free(&hdrs);
    if (rc) {
        /* Still hand the request back so it is released; the loop answers 500 for it. */
        fa__buf_free(&reply);
    }
    req->reply = reply;
    req->reply_status = status;
    req->reply_close = !keep;
    req->msg.cb = fa__http_deferred_arrived;
    req->msg.to.loop = loop->index;
    req->msg.to.slot = FA__HTTP_NO_SLOT;
    req->msg.to.gen = 0;
    int prc = fa__http_post(srv, &req->msg);
    if (prc) {
        /* The loop is gone: nobody else references the request any more. */
        req_free(req);
        fa__http_server_unref(srv);
        return prc;
    }
    return rc;
}

void fa__http_deferred_arrived(fa__http_loop_t *loop, fa__http_conn_t *unused, fa__http_msg_t *m) {
    (void)unused;
    fa_http_req_t *req = (fa_http_req_t *)((char *)m - offsetof(fa_http_req_t, msg));
    fa__http_conn_t *c = req->conn;
    fa_http_server_t *srv = loop->srv;
    req->answered_by_reply = 1;
    req->status = req->reply_status;
    if (req->reply_close)
        req->keep_alive = 0;
    if (c && !req->answered && !c->closing) {
        fa__buf_t *dst = out_for(c, req);
        int rc = req->reply.data ? fa__buf_append(dst, req->reply.data, req->reply.len) : FA_ENOMEM;
        if (rc == 0) {
            req->answered = 1;
            count_response(loop, req, req->status);
        } else {
            send_error(c, req, 500, "no memory for the response", NULL);
        }
        if (!req->keep_alive)
            c->no_more = 1;
        advance_pending(c); /* releases req */
        fa__http_conn_flush(c);
        maybe_close(c);
    } else if (!c) {
        fa__http_req_release(loop, req);
    }
    /* else: still linked (answered by timeout but not yet popped): advance_pending frees it. */
    fa__http_server_unref(srv);
}

/* ---- dispatch ---- */

static void dispatch(fa__http_conn_t *c, fa_http_req_t *req) {
    fa__http_loop_t *loop = c->loop;
    const fa_http_server_t *srv = loop->srv;
    req->conn = c;
    req->loop = loop;
    req->answered = req->deferred = req->streaming = req->answered_by_reply = req->held = 0;
    req->close_on_eof = 0;
    req->stream_drain = NULL;
    req->res_headers.len = 0;
    req->is_head = req->h.method == FA_HTTP_HEAD;
    req->keep_alive = req->h.keep_alive && !loop->stopping;
    req->started_ms = uv_now(loop->uv);
    req->status = 0;
    req->handler = NULL;
    terminate_views(c, req);
    if (req->scratch_cap < req->h.path_len + 1) {
        size_t cap = req->h.path_len + 64;
        char *s = realloc(req->scratch, cap);
        if (!s) {
            send_error(c, req, 500, "out of memory", NULL);
            return;
        }
        req->scratch = s;
        req->scratch_cap = cap;
    }
    int rc = fa__router_match(srv->router, req->h.method, req->h.path, req->h.path_len,
                              req->scratch, req->scratch_cap, &req->match);
    if (rc != 0) {
        send_error(c, req, 500, "routing failed", NULL);
    } else if (req->match.status == FA_ROUTE_NOT_FOUND) {
        send_error(c, req, 404, NULL, NULL); /* an ordinary answer: the connection stays */
        return;
    } else if (req->match.status == FA_ROUTE_METHOD_NOT_ALLOWED) {
        char allow[FA_ROUTER_ALLOW_MAX + 16];
        snprintf(allow, sizeof allow, "Allow: %s\r\n", req->match.allow);
        send_error(c, req, 405, NULL, allow);
        return;
    } else if (req->match.status == FA_ROUTE_BAD_REQUEST) {
        send_error(c, req, 400, "malformed path", NULL);
        return;
    } else {
        const fa__http_handler_t *h = req->match.route->handler;
        req->handler = h;
        c->in_callbacks++;
        h->cb(req, h->data);
        c->in_callbacks--;
        if (c->closing)
            return; /* the handler's stream or protocol closed the connection */
        if (!req->answered && !req->deferred && !req->streaming) {
            /* A failing handler is the application's problem, not the connection's: it stays. */
            send_error(c, req, 500, "the handler did not answer", NULL);
            return;
        }
    }
    if (!req->keep_alive)
        c->no_more = 1;
}

/* ---- reading ---- */

static size_t read_limit(const fa__http_conn_t *c) {
    const fa_http_server_t *srv = srv_of(c);
    return srv->lim.max_head + (size_t)srv->lim.max_body + 64;
}

/* Makes room for the next read (compacting, then growing). */
static int ensure_room(fa__http_conn_t *c, size_t want) {
    if (c->rpos == c->rlen && c->state != C_BODY)
        c->rpos = c->rlen = 0;
    if (c->rcap - c->rlen >= want)
        return 0;
    if (c->rpos) {
        char *old = c->rbuf + c->rpos;
        size_t n = c->rlen - c->rpos;
        memmove(c->rbuf, old, n);
        if (c->state == C_BODY && c->cur)
            rebase(c->cur, (uintptr_t)old, n, c->rbuf);
        c->rlen = n;
        c->rpos = 0;
        if (c->rcap - c->rlen >= want)
            return 0;
    }
    size_t limit = read_limit(c);
    size_t cap = c->rcap ? c->rcap : FA_HTTP_READ_BUF;
    while (cap - c->rlen < want && cap < limit)
        cap *= 2;
    if (cap > limit)
        cap = limit;
    if (cap <= c->rcap)
        return c->rcap > c->rlen ? 0 : FA_ENOMEM;
    /* malloc + copy rather than realloc: the views are moved while the old block still exists. */
    char *nb = malloc(cap);
    if (!nb)
        return FA_ENOMEM;
    if (c->rlen)
        memcpy(nb, c->rbuf, c->rlen);
    if (c->state == C_BODY && c->cur)
        rebase(c->cur, (uintptr_t)(c->rbuf + c->rpos), c->rlen - c->rpos, nb + c->rpos);
    free(c->rbuf);
    c->rbuf = nb;
    c->rcap = cap;
    return 0;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    fa__http_conn_t *c = h->data;
    if (!c->rbuf && c->loop->rbuf_pool) {
        c->rbuf = c->loop->rbuf_pool;
        c->loop->rbuf_pool = *(char **)(void *)c->rbuf;
        c->loop->rbuf_pool_len--;
        c->rcap = FA_HTTP_READ_BUF;
    }
    size_t want = READ_MIN_ROOM;
    if (c->state == C_BODY && !c->chunked_mode) {
        uint64_t total = c->body_at + c->body_need;
        size_t have = c->rlen - c->rpos;
        if (total > have && total - have > want)
            want = (size_t)(total - have);
    }
    if (ensure_room(c, want) != 0 && c->rcap == c->rlen) {
        *buf = uv_buf_init(NULL, 0); /* read_cb gets UV_ENOBUFS */
        return;
    }
    *buf = uv_buf_init(c->rbuf + c->rlen, (unsigned)(c->rcap - c->rlen));
}

/* An idle keep-alive connection (nothing buffered, no request in progress or waiting) gives its
 * read buffer and its request object back to the loop's pools until its next bytes arrive: that
 * is 8 of the ~10 KiB an idle connection otherwise pins (10,000 idle connections: 80 MB). The
 * pools make taking them back cheap. */
static void trim_idle(fa__http_conn_t *c) {
    fa__http_loop_t *loop = c->loop;
    if (c->closing || c->state != C_HEAD || c->rlen != c->rpos || c->pend_head || !c->cur ||
        c->rcap != FA_HTTP_READ_BUF)
        return;
    fa__http_req_release(loop, c->cur);
    c->cur = NULL;
    if (loop->rbuf_pool_len < FA_HTTP_RBUF_POOL) {
        *(char **)(void *)c->rbuf = loop->rbuf_pool; /* the free buffer holds the link */
        loop->rbuf_pool = c->rbuf;
        loop->rbuf_pool_len++;
    } else {
        free(c->rbuf);
    }
    c->rbuf = NULL;
    c->rcap = 0;
    c->rpos = c->rlen = 0;
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
    (void)buf;
    fa__http_conn_t *c = s->data;
    if (nread > 0) {
        fa__http_count(&c->loop->bytes_in, (uint64_t)nread);
        if (c->lingering) /* drained and dropped */
            return;
        c->rlen += (size_t)nread;
        c->activity = uv_now(c->loop->uv);
        fa__http_date_refresh(c->loop);
        process(c);
        fa__http_conn_flush(c);
        maybe_close(c);
        trim_idle(c);
    } else if (nread < 0) {
        int held = 0;
        for (const fa_http_req_t *p = c->pend_head; p; p = p->next_pending)
            held |= p->close_on_eof;
        if (nread == UV_EOF && !held && !c->lingering &&
            (c->pend_head || c->writing || c->out.len)) {
            /* Half-close after the requests: answer them, then close. */
            c->eof = 1;
            c->no_more = 1;
            stop_reading(c);
            maybe_close(c);
            return;
        }
        if (nread == UV_ENOBUFS) {
            send_error(c, NULL, 413, "request too large", NULL);
            fa__http_conn_flush(c);
            maybe_close(c);
            return;
        }
        close_now(c);
    }
}

/* Completes the current request: dispatches it and moves past it. `consumed` counts from rpos. */
static void finish_request(fa__http_conn_t *c, size_t consumed) {
    fa_http_req_t *req = c->cur;
    dispatch(c, req);
    if (c->closing)
        return; /* closed from inside the handler: req may be gone */
    if (req->linked) {
        /* That object now lives in the pending list; the connection takes a fresh one. */
        c->cur = req_get(c->loop);
        if (!c->cur) {
            c->no_more = 1;
            close_now(c);
            return;
        }
        c->cur->h.headers = c->cur->header_store;
    } else {
        arena_reset(req);
    }
    c->rpos += consumed;
    if (c->rpos == c->rlen) {
        c->rpos = c->rlen = 0;
        if (c->rcap > READ_KEEP_CAP) {
            /* A big body grew the buffer: give it back rather than pin it on a keep-alive
             * connection (10k idle connections x 16 MiB). */
            char *small = malloc(FA_HTTP_READ_BUF);
            if (small) {
                free(c->rbuf);
                c->rbuf = small;
                c->rcap = FA_HTTP_READ_BUF;
            }
        }
    }
    c->state = c->proto_pending ? C_PROTO : C_HEAD;
    c->parse_prev = 0;
    c->head_since = 0;
    c->continue_sent = 0;
    if (c->proto_pending) {
        c->proto_pending = 0;
        c->proto = c->next_proto;
        c->proto_ctx = c->next_proto_ctx;
    }
    fa__http_count(&c->loop->requests, 1);
}

static void process(fa__http_conn_t *c) {
    const fa_http_server_t *srv = srv_of(c);
    fa__http_loop_t *loop = c->loop;
    if (!c->cur && c->state == C_HEAD) { /* released while idle (trim_idle) */
        if (c->rpos == c->rlen)
            return;
        if (!(c->cur = req_get(loop))) {
            close_now(c);
            return;
        }
        c->cur->h.headers = c->cur->header_store;
    }
    while (!c->closing && !c->no_more) {
        size_t avail = c->rlen - c->rpos;
        if (c->state == C_PROTO) {
            if (!avail || c->paused)
                break;
            size_t used = c->proto->on_read(c, c->proto_ctx, c->rbuf + c->rpos, avail);
            if (c->closing)
                return;
            c->rpos += used > avail ? avail : used;
            if (c->rpos == c->rlen)
                c->rpos = c->rlen = 0;
            break;
        }
        if (c->out_blocked || c->paused)
            break;
        if (over_half(c)) {
            c->out_blocked = 1;
            stop_reading(c);
            break;
        }
        if (c->state == C_HEAD) {
            if (!avail)
                break;
            fa_http_req_t *req = c->cur;
            if (!c->head_since)
                c->head_since = uv_now(loop->uv);
            req->h.headers = req->header_store;
            int rc =
                fa__http_parse_head(c->rbuf + c->rpos, avail, c->parse_prev, &req->h, &srv->lim);
            if (rc == FA_EAGAIN) {
                c->parse_prev = avail;
                arm_timer(c, c->head_since + srv->opts.header_timeout_ms);
                break;
            }
            if (rc < 0) {
                req->h.minor_version = 1;
                /* The target may have been parsed before the error (h.path is reset per parse
                 * and set only for a valid target): its path picks the body format. */
                send_error_about(c, NULL, req->h.status ? req->h.status : 400, req->h.reason, NULL,
                                 req);
                break;
            }
            size_t head_len = (size_t)rc;
            req->body = NULL;
            req->body_len = 0;
            c->body_at = head_len;
            if (req->h.chunked) {
                fa__http_chunked_init(&c->chunked, srv->lim.max_body, srv->lim.max_head);
                c->chunked_mode = 1;
                c->chunk_in = head_len;
                c->body_need = 0;
            } else if (req->h.content_length > 0) {
                if ((uint64_t)req->h.content_length > srv->lim.max_body) {
                    send_error_about(c, NULL, 413, "body larger than the limit", NULL, req);
                    break;
                }
                c->chunked_mode = 0;
                c->body_need = (uint64_t)req->h.content_length;
            } else {
                finish_request(c, head_len);
                continue;
            }
            c->state = C_BODY;
            c->body_progress = uv_now(loop->uv);
            avail = c->rlen - c->rpos;
        }
        /* C_BODY */
        fa_http_req_t *req = c->cur;
        if (c->chunked_mode) {
            size_t in_len = avail - c->chunk_in;
            char *in = c->rbuf + c->rpos + c->chunk_in;
            size_t out_len = in_len;
            int64_t used = in_len ? fa__http_chunked_feed(&c->chunked, in, &out_len) : 0;
            if (used < 0) {
                send_error_about(c, NULL, c->chunked.status ? c->chunked.status : 400,
                                 c->chunked.reason, NULL, req);
                break;
            }
            /* Move the decoded bytes down next to the body decoded so far. */
            char *dst = c->rbuf + c->rpos + c->body_at + req->body_len;
            if (out_len && dst != in)
                memmove(dst, in, out_len);
            req->body_len += out_len;
            c->chunk_in += (size_t)used;
            if (!fa__http_chunked_done(&c->chunked)) {
                /* The decoded body shrank the data: keep undecoded input contiguous after it. */
                size_t rest = avail - c->chunk_in;
                size_t gap_at = c->body_at + req->body_len;
                if (gap_at < c->chunk_in) {
                    memmove(c->rbuf + c->rpos + gap_at, c->rbuf + c->rpos + c->chunk_in, rest);
                    c->rlen -= c->chunk_in - gap_at;
                    c->chunk_in = gap_at;
                }
                goto need_more;
            }
            req->body = c->rbuf + c->rpos + c->body_at;
            finish_request(c, c->chunk_in);
            continue;
        }
        if (avail < c->body_at + c->body_need)
            goto need_more;
        req->body = c->rbuf + c->rpos + c->body_at;
        req->body_len = (size_t)c->body_need;
        finish_request(c, c->body_at + (size_t)c->body_need);
        continue;
    need_more:
        if (req->h.expect_continue && req->h.minor_version >= 1 && !c->continue_sent) {
            /* RFC 9110 §10.1.1: the client waits for this before sending the body. */
            c->continue_sent = 1;
            fa__buf_append(out_for(c, NULL), "HTTP/1.1 100 Continue\r\n\r\n", 25);
        }
        c->body_progress = uv_now(loop->uv);
        arm_timer(c, c->body_progress + srv->opts.body_timeout_ms);
        break;
    }
    if (c->no_more && !c->closing) {
        /* Nothing more is read as requests; what is buffered is dropped. */
        c->rpos = c->rlen = 0;
    }
}

/* ---- writing ---- */

static void write_cb(uv_write_t *w, int status) {
    fa__http_conn_t *c = w->data;
    c->writing = 0;
    fa__http_count(&c->loop->bytes_out, c->inflight.len - c->inflight_off);
    c->inflight.len = 0;
    c->inflight_off = 0;
    if (c->inflight.cap > OUT_KEEP_CAP)
        fa__buf_free(&c->inflight);
    if (c->closing)
        return;
    if (status < 0) {
        close_now(c);
        return;
    }
    c->activity = uv_now(c->loop->uv);
    fa__http_conn_flush(c);
    maybe_close(c);
}

static void flush_out(fa__http_conn_t *c) {
    if (c->closing || c->writing || !c->out.len)
        return;
    uv_buf_t b = uv_buf_init(c->out.data, (unsigned)c->out.len);
    int n = uv_try_write(&c->h.stream, &b, 1);
    if (n == (int)c->out.len) {
        fa__http_count(&c->loop->bytes_out, (uint64_t)n);
        c->out.len = 0;
        if (c->out.cap > OUT_KEEP_CAP)
            fa__buf_free(&c->out);
        return;
    }
    if (n < 0 && n != UV_EAGAIN) {
        close_now(c);
        return;
    }
    size_t off = n > 0 ? (size_t)n : 0;
    fa__http_count(&c->loop->bytes_out, off);
    fa__buf_t t = c->inflight;
    c->inflight = c->out;
    c->out = t;
    c->out.len = 0;
    c->inflight_off = off;
    if (off == 0 && fa__http_conn_queued(c) > srv_of(c)->opts.max_output) {
        /* The client is not reading (its socket took nothing) and more than the limit waits:
         * drop it rather than buffer without bound. A client that reads may receive a single
         * response larger than the limit (a 16 MiB body echoed back): that is the application's
         * answer, not output piling up. */
        FA_DEBUG("http: closing a connection with %zu bytes unread by the client",
                 fa__http_conn_queued(c));
        close_now(c);
        return;
    }
    b = uv_buf_init(c->inflight.data + off, (unsigned)(c->inflight.len - off));
    c->wreq.data = c;
    int rc = uv_write(&c->wreq, &c->h.stream, &b, 1, write_cb);
    if (rc) {
        close_now(c);
        return;
    }
    c->writing = 1;
    if (!c->out_blocked && over_half(c)) {
        c->out_blocked = 1;
        stop_reading(c);
    }
}

/* A file body (fa__http_res_send_file) at the head of the line, once everything before it is
 * written: sendfile(2) while the socket takes it; when it is full, one chunk goes through uv_write
 * so that its completion tells us the socket drained. Returns 1 when the caller should flush
 * again, 0 when it should stop. */
static int pump_file(fa__http_conn_t *c, fa_http_req_t *p) {
    uv_os_fd_t sock;
    if (uv_fileno(&c->h.handle, &sock) != 0) {
        close_now(c);
        return 0;
    }
    while (p->file_left) {
        size_t want = p->file_left > (1u << 20) ? (1u << 20) : (size_t)p->file_left;
        ssize_t n = p->file_sendfile ? sendfile(sock, p->file_fd, &p->file_off, want) : -1;
        if (n > 0) {
            p->file_left -= (uint64_t)n;
            fa__http_count(&c->loop->bytes_out, (uint64_t)n);
            continue;
        }
        if (n == 0) { /* the file shrank under us: the promised length cannot be sent */
            close_now(c);
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            p->file_sendfile = 0; /* not supported here: copy for the rest */
        size_t chunk = want > 65536 ? 65536 : want;
        if (fa__buf_reserve(&c->out, chunk) != 0) {
            close_now(c);
            return 0;
        }
        ssize_t r = pread(p->file_fd, c->out.data + c->out.len, chunk, p->file_off);
        if (r <= 0) {
            close_now(c);
            return 0;
        }
        c->out.len += (size_t)r;
        p->file_off += r;
        p->file_left -= (uint64_t)r;
        return 1;
    }
    close(p->file_fd);
    p->has_file = 0;
    p->answered = 1;
    count_response(c->loop, p, p->status);
    if (!p->keep_alive)
        c->no_more = 1;
    advance_pending(c);
    return 1;
}

void fa__http_conn_flush_soon(fa__http_conn_t *c) {
    fa__http_loop_t *loop = c->loop;
    if (!loop->draining || loop->nsoon == FA_HTTP_FLUSH_SOON ||
        c->out.len >= FA_HTTP_FLUSH_SOON_BYTES) {
        fa__http_conn_flush(c);
        return;
    }
    /* Consecutive messages are mostly for the same connection; a duplicate further back costs
     * one empty flush. */
    if (loop->nsoon && loop->soon[loop->nsoon - 1].slot == c->slot &&
        loop->soon[loop->nsoon - 1].gen == c->gen)
        return;
    loop->soon[loop->nsoon].slot = c->slot;
    loop->soon[loop->nsoon].gen = c->gen;
    loop->nsoon++;
}

void fa__http_conn_flush(fa__http_conn_t *c) {
    for (;;) {
        flush_out(c);
        if (c->closing || c->writing || c->out.len)
            break;
        fa_http_req_t *p = c->pend_head;
        if (!p || !p->has_file || !pump_file(c, p))
            break;
    }
    if (c->out_blocked && !c->closing && !over_half(c)) {
        /* Below half the limit again: read and handle requests again, from the connection's
         * timer on the next loop iteration rather than here, because flush is called from inside
         * handlers and protocol callbacks, which must not be re-entered. */
        c->out_blocked = 0;
        c->resume_pending = 1;
        arm_timer(c, uv_now(c->loop->uv));
    }
    fa_http_req_t *p = c->pend_head;
    if (p && p->streaming && p->stream_drain && !c->closing)
        p->stream_drain((fa__http_stream_t *)p, p->stream_ctx);
}

int fa__http_res_send_file(fa_http_req_t *req, int status, const char *content_type, int fd,
                           uint64_t offset, uint64_t len) {
    fa__http_conn_t *c = req->conn;
    if (!c || req->answered || req->deferred || req->streaming)
        return FA_ESTATE;
    fa__http_loop_t *loop = c->loop;
    req->streaming = 1;
    link_pending(c, req);
    /* The head only (Content-Length: len); the body follows from the file. */
    int rc =
        fa__http_render(out_for(c, req), loop->srv, loop->date_line, loop->date_len, req, status,
                        content_type, req->res_headers.data, req->res_headers.len, NULL, len);
    if (rc) {
        /* Unlink again: the caller answers with an error instead. */
        c->pend_tail = NULL;
        fa_http_req_t **pp = &c->pend_head;
        while (*pp != req) {
            c->pend_tail = *pp;
            pp = &(*pp)->next_pending;
        }
        *pp = NULL;
        req->linked = 0;
        req->streaming = 0;
        return rc;
    }
    req->has_file = 1;
    req->file_sendfile = 1;
    req->file_fd = fd;
    req->file_off = (off_t)offset;
    req->file_left = len;
    req->status = status;
    return 0;
}

/* ---- timers ---- */

static void timer_cb(uv_timer_t *t);

static void arm_timer(fa__http_conn_t *c, uint64_t deadline) {
    if (c->closing)
        return;
    if (uv_is_active((uv_handle_t *)&c->timer) && deadline >= c->timer_due)
        return;
    uint64_t now = uv_now(c->loop->uv);
    c->timer_due = deadline;
    uv_timer_start(&c->timer, timer_cb, deadline > now ? deadline - now : 0, 0);
}

static void timer_cb(uv_timer_t *t) {
    fa__http_conn_t *c = t->data;
    const fa_http_options_t *o = &srv_of(c)->opts;
    uint64_t now = uv_now(c->loop->uv);
    c->timer_due = 0;
    fa__http_date_refresh(c->loop);
    if (c->resume_pending && !c->lingering) {
        c->resume_pending = 0;
        if (c->proto && c->proto->on_drain)
            c->proto->on_drain(c, c->proto_ctx);
        if (!c->closing) {
            process(c);
            fa__http_conn_flush(c);
            start_reading(c);
            maybe_close(c);
        }
        if (c->closing)
            return;
    }
    if (c->lingering) {
        if (now >= c->linger_since + FA_HTTP_LINGER_MS)
            close_now(c);
        else
            arm_timer(c, c->linger_since + FA_HTTP_LINGER_MS);
        return;
    }
    fa_http_req_t *p = c->pend_head;
    if (p && p->deferred && !p->answered) {
        uint64_t d = p->started_ms + o->handler_timeout_ms;
        if (now >= d) {
            /* 504 in its place; the responding thread's answer is dropped when it comes. */
            fa__http_render(&c->out, c->loop->srv, c->loop->date_line, c->loop->date_len, p, 504,
                            "text/plain; charset=utf-8", NULL, 0, "504 Gateway Timeout\n", 20);
            p->answered = 1;
            count_response(c->loop, p, 504);
            if (!p->keep_alive)
                c->no_more = 1;
            advance_pending(c);
            fa__http_conn_flush(c);
            maybe_close(c);
            if (!c->closing)
                arm_timer(c, now + 1);
            return;
        }
        arm_timer(c, d);
        return;
    }
    if (p) {
        /* A stream (or a deferred request already answered): no deadline of ours, only the
         * stream's keep-alive bytes when it has been silent (fa__http_stream_keepalive). */
        uint64_t next = now + o->keepalive_timeout_ms;
        if (p->streaming && !p->answered && !p->held && p->ka_ms) {
            if (now >= p->ka_last + p->ka_ms &&
                fa__http_stream_write((fa__http_stream_t *)p, p->ka_text, strlen(p->ka_text)))
                p->ka_ms = 0; /* cannot write: the connection is going away */
            if (p->ka_ms && p->ka_last + p->ka_ms < next)
                next = p->ka_last + p->ka_ms;
        }
        if (!c->closing)
            arm_timer(c, next);
        return;
    }
    if (c->state == C_PROTO) {
        return; /* the protocol above keeps its own timers */
    }
    if (c->state == C_BODY) {
        uint64_t d = c->body_progress + o->body_timeout_ms;
        if (now >= d) {
            send_error_about(c, NULL, 408, "the request body did not arrive in time", NULL, c->cur);
            fa__http_conn_flush(c);
            maybe_close(c);
        } else {
            arm_timer(c, d);
        }
        return;
    }
    if (c->rlen > c->rpos && c->head_since) {
        uint64_t d = c->head_since + o->header_timeout_ms;
        if (now >= d) {
            send_error(c, NULL, 408, "the request head did not arrive in time", NULL);
            fa__http_conn_flush(c);
            maybe_close(c);
        } else {
            arm_timer(c, d);
        }
        return;
    }
    uint64_t d = c->activity + o->keepalive_timeout_ms;
    if (now >= d || (c->loop->stopping && !c->writing && !c->out.len)) {
        close_now(c);
        return;
    }
    arm_timer(c, d);
}

/* ---- lifecycle ---- */

static void start_reading(fa__http_conn_t *c) {
    if (c->reading || c->closing || c->eof || c->paused || c->out_blocked)
        return;
    if (uv_read_start(&c->h.stream, alloc_cb, read_cb) == 0)
        c->reading = 1;
}

static void stop_reading(fa__http_conn_t *c) {
    if (!c->reading)
        return;
    uv_read_stop(&c->h.stream);
    c->reading = 0;
}

void fa__http_conn_pause_reading(fa__http_conn_t *c) {
    c->paused = 1;
    stop_reading(c);
}

void fa__http_conn_resume_reading(fa__http_conn_t *c) {
    if (!c->paused)
        return;
    c->paused = 0;
    process(c);
    fa__http_conn_flush(c);
    start_reading(c);
}

static void conn_closed(uv_handle_t *h) {
    fa__http_conn_t *c = h->data;
    if (--c->close_pending)
        return;
    fa__http_loop_t *loop = c->loop;
    fa_http_server_t *srv = loop->srv;
    loop->slots[c->slot] = NULL;
    loop->gens[c->slot]++;
    loop->free_slots[loop->nfree++] = c->slot;
    loop->nconns--;
    atomic_fetch_sub_explicit(&srv->nconns, 1, memory_order_relaxed);
    if (c->cur) {
        fa__http_req_release(loop, c->cur);
        c->cur = NULL;
    }
    c->out.len = c->inflight.len = 0;
    if (loop->conn_pool_len < POOL_MAX && !loop->stopping && c->rcap == FA_HTTP_READ_BUF &&
        c->out.cap <= OUT_KEEP_CAP) {
        c->next_free = loop->conn_pool;
        loop->conn_pool = c;
        loop->conn_pool_len++;
    } else {
        free(c->rbuf);
        fa__buf_free(&c->out);
        fa__buf_free(&c->inflight);
        free(c);
    }
    fa__http_loop_conn_closed(loop);
}

static void close_now(fa__http_conn_t *c) {
    if (c->closing)
        return;
    c->closing = 1;
    c->no_more = 1;
    stop_reading(c);
    /* Orphan what is still pending: deferred requests stay with their responding thread. */
    fa_http_req_t *p = c->pend_head;
    c->pend_head = c->pend_tail = NULL;
    while (p) {
        fa_http_req_t *next = p->next_pending;
        p->next_pending = NULL;
        p->linked = 0;
        p->conn = NULL;
        if (p == c->cur)
            c->cur = NULL; /* closed inside its own handler: released here, not in conn_closed */
        if (p->streaming && p->stream_close) {
            fa__http_stream_close_cb cb = p->stream_close;
            p->stream_close = NULL;
            cb((fa__http_stream_t *)p, p->stream_ctx);
        }
        if (!(p->deferred && !p->answered_by_reply))
            fa__http_req_release(c->loop, p);
        p = next;
    }
    if (c->proto) {
        const fa__http_proto_t *pr = c->proto;
        c->proto = NULL;
        pr->on_close(c, c->proto_ctx);
    }
    c->close_pending = 2;
    uv_close(&c->h.handle, conn_closed);
    uv_close((uv_handle_t *)&c->timer, conn_closed);
}

void fa__http_conn_abort(fa__http_conn_t *c) {
    close_now(c);
}

static void shutdown_cb(uv_shutdown_t *r, int status) {
    fa__http_conn_t *c = r->data;
    if (c->closing)
        return;
    if (status < 0 || c->eof)
        close_now(c);
}

/* Closes once everything owed has been written: half-close our side, then linger (reading and
 * dropping) until the client closes or FA_HTTP_LINGER_MS passes. */
static void maybe_close(fa__http_conn_t *c) {
    if (c->closing || c->lingering || !c->no_more)
        return;
    if (c->writing || c->out.len || c->pend_head || c->in_callbacks)
        return;
    if (c->eof) {
        close_now(c);
        return;
    }
    c->lingering = 1;
    c->linger_since = uv_now(c->loop->uv);
    c->sreq.data = c;
    if (uv_shutdown(&c->sreq, &c->h.stream, shutdown_cb) != 0) {
        close_now(c);
        return;
    }
    c->paused = 0;
    c->out_blocked = 0;
    start_reading(c);
    uv_timer_stop(&c->timer);
    arm_timer(c, c->linger_since + FA_HTTP_LINGER_MS);
}

/* Graceful shutdown of the loop: close idle connections now, the others when their work is done. */
void fa__http_conn_shutdown(fa__http_conn_t *c) {
    if (c->closing)
        return;
    if (c->state == C_PROTO) {
        if (c->proto && c->proto->on_shutdown)
            c->proto->on_shutdown(c, c->proto_ctx);
        else
            close_now(c);
        return;
    }
    /* Open streams end now (SSE clients reconnect elsewhere); their owners hear it first. */
    for (fa_http_req_t *p = c->pend_head; p && !c->closing;) {
        fa_http_req_t *next = p->next_pending;
        if (p->streaming && !p->has_file && !p->answered) {
            fa__http_stream_close_cb cb = p->stream_close;
            p->stream_close = NULL;
            if (cb)
                cb((fa__http_stream_t *)p, p->stream_ctx);
            p->keep_alive = 0;
            fa__http_stream_end((fa__http_stream_t *)p);
        }
        p = next;
    }
    if (c->closing)
        return;
    int idle =
        c->rlen == c->rpos && c->state == C_HEAD && !c->pend_head && !c->writing && !c->out.len;
    if (idle) {
        close_now(c);
        return;
    }
    /* A request whose head is still arriving will be answered (with Connection: close); nothing
     * after it is read. */
    if (c->state == C_HEAD && c->rlen == c->rpos)
        c->no_more = 1;
    maybe_close(c);
}

static fa__http_conn_t *conn_get(fa__http_loop_t *loop) {
    fa__http_conn_t *c = loop->conn_pool;
    if (c) {
        loop->conn_pool = c->next_free;
        loop->conn_pool_len--;
        char *rbuf = c->rbuf;
        size_t rcap = c->rcap;
        fa__buf_t out = c->out, inflight = c->inflight;
        memset(c, 0, sizeof *c);
        c->rbuf = rbuf;
        c->rcap = rcap;
        c->out = out;
        c->inflight = inflight;
        return c;
    }
    c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->rbuf = malloc(FA_HTTP_READ_BUF);
    if (!c->rbuf) {
        free(c);
        return NULL;
    }
    c->rcap = FA_HTTP_READ_BUF;
    return c;
}

static void conn_put(fa__http_loop_t *loop, fa__http_conn_t *c) {
    (void)loop;
    free(c->rbuf);
    fa__buf_free(&c->out);
    fa__buf_free(&c->inflight);
    free(c);
}

static int slot_get(fa__http_loop_t *loop, uint32_t *out) {
    if (!loop->nfree) {
        uint32_t n = loop->nslots ? loop->nslots * 2 : 64;
        fa__http_conn_t **s = realloc(loop->slots, n * sizeof *s);
        if (!s)
            return FA_ENOMEM;
        loop->slots = s;
        uint32_t *g = realloc(loop->gens, n * sizeof *g);
        if (!g)
            return FA_ENOMEM;
        loop->gens = g;
        uint32_t *f = realloc(loop->free_slots, n * sizeof *f);
        if (!f)
            return FA_ENOMEM;
        loop->free_slots = f;
        for (uint32_t i = n; i > loop->nslots; i--) {
            loop->slots[i - 1] = NULL;
            loop->gens[i - 1] = 1;
            loop->free_slots[loop->nfree++] = i - 1;
        }
        loop->nslots = n;
    }
    *out = loop->free_slots[--loop->nfree];
    return 0;
}

static void reject_closed(uv_handle_t *h) {
    free(h);
}

/* Over max_connections: accept (so the listener does not stay readable and spin), tell the client
 * why, close. */
static void reject(uv_stream_t *listener, fa__http_loop_t *loop) {
    uv_handle_t *h;
    if (listener->type == UV_TCP) {
        uv_tcp_t *t = malloc(sizeof *t);
        if (!t || uv_tcp_init(loop->uv, t) != 0) {
            free(t);
            return;
        }
        h = (uv_handle_t *)t;
    } else {
        uv_pipe_t *p = malloc(sizeof *p);
        if (!p || uv_pipe_init(loop->uv, p, 0) != 0) {
            free(p);
            return;
        }
        h = (uv_handle_t *)p;
    }
    if (uv_accept(listener, (uv_stream_t *)h) == 0) {
        static char resp[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                             "Retry-After: 1\r\nConnection: close\r\n\r\n";
        uv_buf_t b = uv_buf_init(resp, sizeof resp - 1);
        uv_try_write((uv_stream_t *)h, &b, 1);
    }
    fa__http_count(&loop->rejected, 1);
    uv_close(h, reject_closed);
}

/* Makes a connection on `loop` from either the listener's next connection (listener != NULL) or
 * an open descriptor (fd, of a TCP or Unix stream socket). NULL when refused (cap, memory). */
static fa__http_conn_t *conn_open(fa__http_loop_t *loop, uv_stream_t *listener, int fd, int *err) {
    fa_http_server_t *srv = loop->srv;
    *err = FA_ELIMIT;
    if (atomic_fetch_add_explicit(&srv->nconns, 1, memory_order_relaxed) >=
        srv->opts.max_connections) {
        atomic_fetch_sub_explicit(&srv->nconns, 1, memory_order_relaxed);
        return NULL;
    }
    *err = FA_ENOMEM;
    fa__http_conn_t *c = conn_get(loop);
    uint32_t slot;
    if (!c || slot_get(loop, &slot) != 0) {
        if (c)
            conn_put(loop, c);
        atomic_fetch_sub_explicit(&srv->nconns, 1, memory_order_relaxed);
        return NULL;
    }
    int tcp = listener ? listener->type == UV_TCP : uv_guess_handle(fd) == UV_TCP;
    c->loop = loop;
    c->cur = req_get(loop);
    int rc = c->cur ? 0 : FA_ENOMEM;
    if (rc == 0)
        rc = tcp ? uv_tcp_init(loop->uv, &c->h.tcp) : uv_pipe_init(loop->uv, &c->h.pipe, 0);
    if (rc) {
        if (c->cur)
            fa__http_req_release(loop, c->cur);
        loop->free_slots[loop->nfree++] = slot;
        conn_put(loop, c);
        atomic_fetch_sub_explicit(&srv->nconns, 1, memory_order_relaxed);
        *err = rc;
        return NULL;
    }
    c->cur->h.headers = c->cur->header_store;
    c->h.handle.data = c;
    uv_timer_init(loop->uv, &c->timer);
    c->timer.data = c;
    c->slot = slot;
    c->gen = loop->gens[slot];
    loop->slots[slot] = c;
    loop->nconns++;
    fa__http_count(&loop->accepted, 1);
    rc = listener ? uv_accept(listener, &c->h.stream)
                  : (tcp ? uv_tcp_open(&c->h.tcp, fd) : uv_pipe_open(&c->h.pipe, fd));
    if (rc != 0) {
        close_now(c);
        /* Positive: the accept itself was tried, so there is nothing left to reject. */
        *err = 1;
        return NULL;
    }
    if (tcp)
        uv_tcp_nodelay(&c->h.tcp, 1);
    c->activity = uv_now(loop->uv);
    arm_timer(c, c->activity + srv->opts.keepalive_timeout_ms);
    start_reading(c);
    *err = 0;
    return c;
}

void fa__http_on_connection(uv_stream_t *listener, int status) {
    fa__http_loop_t *loop = listener->data;
    if (status < 0) {
        FA_WARN("http: accept failed: %s", uv_strerror(status));
        return;
    }
    if (loop->stopping)
        return;
    int err;
    if (!conn_open(loop, listener, -1, &err) && err < 0)
        reject(listener, loop); /* accept it anyway (503), or the listener stays readable */
}

int fa__http_conn_adopt(fa_http_server_t *srv, uint32_t loop_index, int fd) {
    if (loop_index >= srv->nloops)
        return FA_EINVAL;
    fa__http_loop_t *loop = &srv->loops[loop_index];
    if (loop->stopping)
        return FA_ESTATE;
    int err;
    conn_open(loop, NULL, fd, &err);
    return err > 0 ? FA_EINVAL : err;
}

/* ---- hooks for the layers above ---- */

fa__http_conn_ref_t fa__http_conn_ref(const fa__http_conn_t *c) {
    fa__http_conn_ref_t r = {c->loop->index, c->slot, c->gen};
    return r;
}

fa__http_loop_t *fa__http_conn_loop(fa__http_conn_t *c) {
    return c->loop;
}

fa__http_conn_t *fa__http_req_conn(fa_http_req_t *req) {
    return req->conn;
}

fa__buf_t *fa__http_conn_out(fa__http_conn_t *c) {
    return &c->out;
}

void fa__http_conn_close(fa__http_conn_t *c) {
    if (c->closing)
        return;
    c->no_more = 1;
    if (c->state == C_PROTO) {
        /* The protocol is done: flush what it queued, then close. */
        c->state = C_HEAD;
        const fa__http_proto_t *pr = c->proto;
        c->proto = NULL;
        if (pr)
            pr->on_close(c, c->proto_ctx);
    }
    fa__http_conn_flush(c);
    maybe_close(c);
}

int fa__http_takeover(fa_http_req_t *req, const fa__http_proto_t *proto, void *ctx) {
    fa__http_conn_t *c = req->conn;
    if (!c || req->deferred || req->streaming || req->h.minor_version < 1 || c->pend_head ||
        !proto || !proto->on_read || !proto->on_close)
        return FA_ESTATE;
    c->proto_pending = 1;
    c->next_proto = proto;
    c->next_proto_ctx = ctx;
    /* The 101 response keeps the connection open whatever the request said. */
    req->keep_alive = 1;
    return 0;
}

fa__http_stream_t *fa__http_stream_start(fa_http_req_t *req, int status, const char *content_type,
                                         const char *headers, fa__http_stream_close_cb on_close,
                                         void *ctx) {
    fa__http_conn_t *c = req->conn;
    if (!c || req->answered || req->deferred || req->streaming)
        return NULL;
    fa__http_loop_t *loop = c->loop;
    const fa_http_server_t *srv = loop->srv;
    req->streaming = 1;
    link_pending(c, req);
    fa__buf_t *out = out_for(c, req);
    int chunked = req->h.minor_version >= 1;
    if (!chunked)
        req->keep_alive = 0; /* HTTP/1.0: the end of the body is the close */
    const char *reason = fa__http_status_text(status);
    int rc = fa__buf_appendf(out, "HTTP/1.1 %d %s\r\n", status, reason);
    if (rc == 0)
        rc = fa__buf_append(out, srv->server_line, srv->server_line_len);
    if (rc == 0)
        rc = fa__buf_append(out, loop->date_line, loop->date_len);
    if (rc == 0 && content_type)
        rc = fa__buf_appendf(out, "Content-Type: %s\r\n", content_type);
    if (rc == 0 && req->res_headers.len)
        rc = fa__buf_append(out, req->res_headers.data, req->res_headers.len);
    if (rc == 0 && headers)
        rc = fa__buf_append_str(out, headers);
    if (rc == 0)
        rc = fa__buf_append_str(out, chunked ? "Transfer-Encoding: chunked\r\n\r\n"
                                             : "Connection: close\r\n\r\n");
    if (rc) {
        c->no_more = 1;
        close_now(c);
        return NULL;
    }
    req->stream_close = on_close;
    req->stream_ctx = ctx;
    req->status = status;
    c->in_callbacks ? (void)0 : fa__http_conn_flush(c);
    return (fa__http_stream_t *)req;
}

int fa__http_stream_write(fa__http_stream_t *s, const void *data, size_t len) {
    fa_http_req_t *req = (fa_http_req_t *)s;
    fa__http_conn_t *c = req->conn;
    if (!req->streaming || req->answered || req->held)
        return FA_ESTATE;
    if (!c || c->closing)
        return FA_EPIPE;
    if (!len)
        return 0;
    fa__buf_t *out = out_for(c, req);
    int rc = 0;
    if (req->h.minor_version >= 1) {
        char sz[24];
        int n = snprintf(sz, sizeof sz, "%zx\r\n", len);
        rc = fa__buf_append(out, sz, (size_t)n);
        if (rc == 0)
            rc = fa__buf_append(out, data, len);
        if (rc == 0)
            rc = fa__buf_append(out, "\r\n", 2);
    } else {
        rc = fa__buf_append(out, data, len);
    }
    if (rc)
        return rc;
    req->ka_last = uv_now(c->loop->uv);
    if (!c->in_callbacks)
        fa__http_conn_flush(c);
    return 0;
}

void fa__http_stream_keepalive(fa__http_stream_t *s, uint32_t every_ms, const char *text) {
    fa_http_req_t *req = (fa_http_req_t *)s;
    fa__http_conn_t *c = req->conn;
    if (!c || c->closing || !req->streaming || req->answered || !every_ms || !text)
        return;
    req->ka_ms = every_ms;
    req->ka_text = text;
    req->ka_last = uv_now(c->loop->uv);
    arm_timer(c, req->ka_last + every_ms);
}

void fa__http_stream_end(fa__http_stream_t *s) {
    fa_http_req_t *req = (fa_http_req_t *)s;
    fa__http_conn_t *c = req->conn;
    if (!req->streaming || req->answered)
        return;
    req->stream_close = NULL;
    if (!c || c->closing) {
        /* The connection died first; its close already released nothing for streams that were
         * orphaned with a close callback, so release here. */
        req->answered = 1;
        return;
    }
    if (req->held) {
        /* Held and never answered (server shutdown): a complete 503 instead of a last chunk. */
        req->held = 0;
        req->keep_alive = 0;
        fa__http_render(out_for(c, req), c->loop->srv, c->loop->date_line, c->loop->date_len, req,
                        503, "text/plain; charset=utf-8", NULL, 0, "503 Service Unavailable\n", 24);
        req->status = 503;
    } else if (req->h.minor_version >= 1) {
        fa__buf_append(out_for(c, req), "0\r\n\r\n", 5);
    }
    req->answered = 1;
    count_response(c->loop, req, req->status);
    if (!req->keep_alive)
        c->no_more = 1;
    advance_pending(c);
    if (!c->in_callbacks) {
        fa__http_conn_flush(c);
        maybe_close(c);
    }
}

fa__http_conn_t *fa__http_stream_conn(fa__http_stream_t *s) {
    return ((fa_http_req_t *)s)->conn;
}

/* ---- held responses (http_internal.h (4)) ---- */

fa__http_stream_t *fa__http_hold(fa_http_req_t *req, fa__http_stream_close_cb on_close, void *ctx) {
    fa__http_conn_t *c = req->conn;
    if (!c || req->answered || req->deferred || req->streaming)
        return NULL;
    req->streaming = 1;
    req->held = 1;
    req->close_on_eof = 1;
    link_pending(c, req);
    req->stream_close = on_close;
    req->stream_ctx = ctx;
    return (fa__http_stream_t *)req;
}

void fa__http_stream_close_on_eof(fa__http_stream_t *s) {
    ((fa_http_req_t *)s)->close_on_eof = 1;
}

int fa__http_held_respond(fa__http_stream_t *s, int status, const char *content_type,
                          const char *headers, const void *body, size_t len) {
    fa_http_req_t *req = (fa_http_req_t *)s;
    fa__http_conn_t *c = req->conn;
    if (!req->streaming || req->answered || !req->held)
        return FA_ESTATE;
    req->stream_close = NULL;
    req->held = 0;
    if (!c || c->closing) {
        req->answered = 1;
        return FA_EPIPE;
    }
    fa__http_loop_t *loop = c->loop;
    fa__http_date_refresh(loop);
    int rc =
        fa__http_render(out_for(c, req), loop->srv, loop->date_line, loop->date_len, req, status,
                        content_type, headers, headers ? strlen(headers) : 0, body, len);
    if (rc) {
        req->keep_alive = 0;
        fa__http_render(out_for(c, req), loop->srv, loop->date_line, loop->date_len, req, 500, NULL,
                        NULL, 0, NULL, 0);
        status = 500;
    }
    req->answered = 1;
    req->status = status;
    count_response(loop, req, status);
    if (!req->keep_alive)
        c->no_more = 1;
    advance_pending(c);
    if (!c->in_callbacks) {
        fa__http_conn_flush(c);
        maybe_close(c);
    }
    return 0;
}

int fa__http_held_stream(fa__http_stream_t *s, int status, const char *content_type,
                         const char *headers) {
    fa_http_req_t *req = (fa_http_req_t *)s;
    fa__http_conn_t *c = req->conn;
    if (!req->streaming || req->answered || !req->held)
        return FA_ESTATE;
    if (!c || c->closing)
        return FA_EPIPE;
    const fa_http_server_t *srv = c->loop->srv;
    fa__http_date_refresh(c->loop);
    fa__buf_t *out = out_for(c, req);
    int chunked = req->h.minor_version >= 1;
    if (!chunked)
        req->keep_alive = 0;
    int rc = fa__buf_appendf(out, "HTTP/1.1 %d %s\r\n", status, fa__http_status_text(status));
    if (rc == 0)
        rc = fa__buf_append(out, srv->server_line, srv->server_line_len);
    if (rc == 0)
        rc = fa__buf_append(out, c->loop->date_line, c->loop->date_len);
    if (rc == 0 && content_type)
        rc = fa__buf_appendf(out, "Content-Type: %s\r\n", content_type);
    if (rc == 0 && headers)
        rc = fa__buf_append_str(out, headers);
    if (rc == 0)
        rc = fa__buf_append_str(out, chunked ? "Transfer-Encoding: chunked\r\n\r\n"
                                             : "Connection: close\r\n\r\n");
    if (rc) {
        c->no_more = 1;
        close_now(c); /* on_close fires */
        return FA_ENOMEM;
    }
    req->held = 0;
    req->status = status;
    if (!c->in_callbacks)
        fa__http_conn_flush(c);
    return 0;
}

/* ---- deferred requests that stream (http_internal.h (5)) ---- */

fa__http_stream_t *fa__http_deferred_hold(fa_http_deferred_t *d, fa__http_stream_close_cb on_close,
                                          void *ctx) {
    fa_http_req_t *req = (fa_http_req_t *)d;
    fa__http_loop_t *loop = req->loop;
    fa__http_conn_t *c = req->conn;
    fa_http_server_t *srv = loop->srv;
    /* The responding thread lets go of the request here, as fa__http_deferred_arrived does. */
    req->answered_by_reply = 1;
    if (!c || req->answered || c->closing) {
        if (!c)
            fa__http_req_release(loop, req);
        /* else answered 504 by the handler timeout and still linked: advance_pending frees it */
        fa__http_server_unref(srv);
        return NULL;
    }
    req->deferred = 0;
    req->answered_by_reply = 0;
    req->streaming = 1;
    req->held = 1;
    req->close_on_eof = 1;
    req->stream_close = on_close;
    req->stream_ctx = ctx;
    fa__http_server_unref(srv); /* the connection's loop owns it now, as any stream */
    return (fa__http_stream_t *)req;
}

void fa__http_stream_on_drain(fa__http_stream_t *s, fa__http_stream_close_cb on_drain) {
    ((fa_http_req_t *)s)->stream_drain = on_drain;
}
