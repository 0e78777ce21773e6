/* http_server.c: the HTTP server's lifecycle: options, routes, listeners (one SO_REUSEPORT socket
 * per loop), loop threads, the per-loop inbox, graceful shutdown, and fa_http_server_run.
 *
 * Shutdown order. fa_http_server_close (loop 0) or fa_http_server_stop (any thread) sets
 * stop_requested and wakes every loop. Each loop then closes its listener, closes its idle
 * connections, lets busy ones finish (they close after their last response), and after
 * shutdown_timeout_ms closes whatever is left. A loop with no connections closes its inbox (the
 * gate first, so no poster is inside; then the messages still queued are delivered as stale) and
 * its handles; the thread of loop k > 0 then returns from uv_run, closes its uv loop and wakes loop
 * 0. Loop 0 finishes last: it joins the other threads (so none is still inside a wake-up send to
 * it), closes its own inbox and calls the close callback.
 *
 * Lifetime. The server struct is reference counted: the owner holds one reference (dropped by
 * fa_http_server_free) and each deferred request not yet answered holds one, so a late
 * fa_http_respond after the server stopped finds the gate closed and frees its request instead of
 * touching freed memory.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"
#include "fasterapi/error.h"
#include "transport/http_internal.h"

static void loop_begin_stop(fa__http_loop_t *loop);
static void loop_check_done(fa__http_loop_t *loop);

/* ---- options ---- */

void fa_http_options_init(fa_http_options_t *o) {
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = 8000;
    o->io_threads = 1;
    o->backlog = FA_HTTP_BACKLOG;
    o->max_request_line = FA_HTTP_MAX_REQUEST_LINE;
    o->max_head = FA_HTTP_MAX_HEAD;
    o->max_headers = FA_HTTP_MAX_HEADERS;
    o->max_body = FA_HTTP_MAX_BODY;
    o->max_connections = FA_HTTP_MAX_CONNECTIONS;
    o->max_output = FA_HTTP_MAX_OUTPUT;
    o->keepalive_timeout_ms = FA_HTTP_KEEPALIVE_TIMEOUT_MS;
    o->header_timeout_ms = FA_HTTP_HEADER_TIMEOUT_MS;
    o->body_timeout_ms = FA_HTTP_BODY_TIMEOUT_MS;
    o->handler_timeout_ms = FA_HTTP_HANDLER_TIMEOUT_MS;
    o->shutdown_timeout_ms = FA_HTTP_SHUTDOWN_TIMEOUT_MS;
    o->server_name = "fasterapi";
}

static char *dup_opt(const char *s) {
    return s ? strdup(s) : NULL;
}

#define DEFAULT_IF_ZERO(field, value)                                                              \
    do {                                                                                           \
        if (!(field))                                                                              \
            (field) = (value);                                                                     \
    } while (0)

int fa_http_server_new(fa_http_server_t **out, const fa_http_options_t *opts) {
    *out = NULL;
    fa_http_options_t o;
    if (opts)
        o = *opts;
    else
        fa_http_options_init(&o);
    if (o.io_threads < 0 || o.io_threads > 256 || o.port < 0 || o.port > 65535)
        return FA_EINVAL;
    DEFAULT_IF_ZERO(o.io_threads, 1);
    DEFAULT_IF_ZERO(o.backlog, FA_HTTP_BACKLOG);
    DEFAULT_IF_ZERO(o.max_request_line, FA_HTTP_MAX_REQUEST_LINE);
    DEFAULT_IF_ZERO(o.max_head, FA_HTTP_MAX_HEAD);
    DEFAULT_IF_ZERO(o.max_headers, FA_HTTP_MAX_HEADERS);
    DEFAULT_IF_ZERO(o.max_body, FA_HTTP_MAX_BODY);
    DEFAULT_IF_ZERO(o.max_connections, FA_HTTP_MAX_CONNECTIONS);
    DEFAULT_IF_ZERO(o.max_output, FA_HTTP_MAX_OUTPUT);
    DEFAULT_IF_ZERO(o.keepalive_timeout_ms, FA_HTTP_KEEPALIVE_TIMEOUT_MS);
    DEFAULT_IF_ZERO(o.header_timeout_ms, FA_HTTP_HEADER_TIMEOUT_MS);
    DEFAULT_IF_ZERO(o.body_timeout_ms, FA_HTTP_BODY_TIMEOUT_MS);
    DEFAULT_IF_ZERO(o.handler_timeout_ms, FA_HTTP_HANDLER_TIMEOUT_MS);
    DEFAULT_IF_ZERO(o.shutdown_timeout_ms, FA_HTTP_SHUTDOWN_TIMEOUT_MS);
    if (!o.host || !*o.host)
        o.host = "127.0.0.1";
    if (!o.server_name)
        o.server_name = "fasterapi";
    /* The parser returns head lengths as int. */
    if (o.max_head > (1u << 30) || o.max_request_line > o.max_head || o.max_headers > 100000 ||
        o.max_body > (1ull << 40) || strlen(o.server_name) > 64 ||
        strpbrk(o.server_name, "\r\n") != NULL)
        return FA_EINVAL;
    fa_http_server_t *srv = calloc(1, sizeof *srv);
    if (!srv)
        return FA_ENOMEM;
    srv->host = dup_opt(o.host);
    srv->unix_path = dup_opt(o.unix_path);
    srv->server_name = dup_opt(o.server_name);
    srv->metrics_path = dup_opt(o.metrics_path);
    srv->router = fa__router_new();
    if (!srv->host || !srv->server_name || (o.unix_path && !srv->unix_path) ||
        (o.metrics_path && !srv->metrics_path) || !srv->router) {
        atomic_init(&srv->refs, 1);
        fa_http_server_free(srv);
        return FA_ENOMEM;
    }
    o.host = srv->host;
    o.unix_path = srv->unix_path;
    o.server_name = srv->server_name;
    o.metrics_path = srv->metrics_path;
    srv->opts = o;
    srv->lim.max_request_line = o.max_request_line;
    srv->lim.max_head = o.max_head;
    srv->lim.max_headers = o.max_headers;
    srv->lim.max_body = o.max_body;
    srv->server_line_len = (size_t)snprintf(srv->server_line, sizeof srv->server_line,
                                            "Server: %s\r\n", srv->server_name);
    atomic_init(&srv->refs, 1);
    atomic_init(&srv->started, 0);
    atomic_init(&srv->stop_requested, 0);
    atomic_init(&srv->loops_running, 0);
    atomic_init(&srv->nconns, 0);
    *out = srv;
    return 0;
}

static void server_destroy(fa_http_server_t *srv) {
    for (uint32_t i = 0; i < srv->nloops; i++) {
        fa__http_loop_t *loop = &srv->loops[i];
        while (loop->req_pool) {
            fa_http_req_t *r = loop->req_pool;
            loop->req_pool = r->next_pending;
            fa__http_req_release(loop, r); /* stopping: frees */
        }
        while (loop->conn_pool) {
            fa__http_conn_t *c = loop->conn_pool;
            loop->conn_pool = c->next_free;
            free(c->rbuf);
            fa__buf_free(&c->out);
            fa__buf_free(&c->inflight);
            free(c);
        }
        while (loop->rbuf_pool) {
            char *b = loop->rbuf_pool;
            loop->rbuf_pool = *(char **)(void *)b;
            free(b);
        }
        free(loop->slots);
        free(loop->gens);
        free(loop->free_slots);
        fa__buf_free(&loop->scratch);
        free(loop->route_status);
        if (loop->inbox)
            fa_mpsc_free(loop->inbox);
        if (loop->own_uv)
            free(loop->uv);
    }
    free(srv->loops);
    for (size_t i = 0; i < srv->nhandlers; i++)
        free(srv->handlers[i]);
    free(srv->handlers);
    if (srv->router)
        fa__router_free(srv->router);
    fa__http_statics_free(srv);
    free(srv->host);
    free(srv->unix_path);
    free(srv->server_name);
    free(srv->metrics_path);
    free(srv);
}

void fa__http_server_unref(fa_http_server_t *srv) {
    /* acq_rel: the last owner sees every other owner's writes before destroying. */
    if (atomic_fetch_sub_explicit(&srv->refs, 1, memory_order_acq_rel) == 1)
        server_destroy(srv);
}

void fa_http_server_free(fa_http_server_t *srv) {
    if (!srv)
        return;
    fa__http_server_unref(srv);
}

/* ---- routes ---- */

static int parse_method(const char *m) {
    if (!m)
        return FA_ROUTER_ANY;
    for (int i = 1; i < (int)FA_HTTP_METHOD_COUNT; i++)
        if (strcmp(m, fa__http_method_name((fa_http_method_t)i)) == 0)
            return i;
    return -1;
}

int fa__http_route_add(fa_http_server_t *srv, int method, const char *pattern,
                       fa_http_handler_cb cb, void *data) {
    if (atomic_load_explicit(&srv->started, memory_order_relaxed))
        return FA_ESTATE;
    if (!cb || !pattern)
        return FA_EINVAL;
    fa__http_handler_t *h = calloc(1, sizeof *h);
    if (!h)
        return FA_ENOMEM;
    h->cb = cb;
    h->data = data;
    h->route_index = (unsigned)srv->nhandlers;
    fa__http_handler_t **hs = realloc(srv->handlers, (srv->nhandlers + 1) * sizeof *hs);
    if (!hs) {
        free(h);
        return FA_ENOMEM;
    }
    srv->handlers = hs;
    int rc = fa__router_add(srv->router, method, pattern, h, h);
    if (rc < 0) {
        free(h);
        return rc;
    }
    srv->handlers[srv->nhandlers++] = h;
    return 0;
}

int fa_http_route(fa_http_server_t *srv, const char *method, const char *pattern,
                  fa_http_handler_cb cb, void *data) {
    int m = parse_method(method);
    if (m < 0)
        return FA_EINVAL;
    return fa__http_route_add(srv, m, pattern, cb, data);
}

int fa__http_add_metrics(fa_http_server_t *srv, fa__http_metrics_cb cb, void *data) {
    if (atomic_load_explicit(&srv->started, memory_order_relaxed))
        return FA_ESTATE;
    if (srv->nmetrics_hooks == sizeof srv->metrics_hooks / sizeof srv->metrics_hooks[0])
        return FA_ELIMIT;
    srv->metrics_hooks[srv->nmetrics_hooks].cb = cb;
    srv->metrics_hooks[srv->nmetrics_hooks].data = data;
    srv->nmetrics_hooks++;
    return 0;
}

/* ---- cross-thread ---- */

int fa__http_post(fa_http_server_t *srv, fa__http_msg_t *msg) {
    if (msg->to.loop >= srv->nloops)
        return FA_ESTATE;
    fa__http_loop_t *loop = &srv->loops[msg->to.loop];
    /* seq_cst on both gate words: a Dekker pair with close_inbox (close, then wait for users ==
     * 0). Either we see the gate closed, or the loop sees us inside it. */
    atomic_fetch_add_explicit(&loop->gate_users, 1, memory_order_seq_cst);
    int rc = 0;
    if (atomic_load_explicit(&loop->gate_closed, memory_order_seq_cst)) {
        rc = FA_ESTATE;
    } else {
        /* Full only when producers outrun the loop by FA_HTTP_INBOX messages: wait for it
         * (backpressure on the producing thread). */
        while (fa_mpsc_push(loop->inbox, msg) != 0) {
            fa__wakeup_send(&loop->wake);
            sched_yield();
        }
        fa__wakeup_send(&loop->wake);
    }
    /* Release: our push and wake-up happen before the loop sees us leave. */
    atomic_fetch_sub_explicit(&loop->gate_users, 1, memory_order_release);
    return rc;
}

static void wake_loop(fa__http_loop_t *loop) {
    atomic_fetch_add_explicit(&loop->gate_users, 1, memory_order_seq_cst);
    if (!atomic_load_explicit(&loop->gate_closed, memory_order_seq_cst))
        fa__wakeup_send(&loop->wake);
    atomic_fetch_sub_explicit(&loop->gate_users, 1, memory_order_release);
}

static void deliver(fa__http_loop_t *loop, fa__http_msg_t *m) {
    fa__http_conn_t *c = NULL;
    if (m->to.slot != FA__HTTP_NO_SLOT && m->to.slot < loop->nslots &&
        loop->gens[m->to.slot] == m->to.gen)
        c = loop->slots[m->to.slot];
    if (c && c->closing)
        c = NULL;
    m->cb(loop, c, m);
}

static void drain_inbox(fa__http_loop_t *loop) {
    void *items[64];
    size_t n;
    loop->draining = 1;
    while ((n = fa_mpsc_pop_batch(loop->inbox, items, 64)) > 0)
        for (size_t i = 0; i < n; i++)
            deliver(loop, items[i]);
    loop->draining = 0;
    /* One write per connection for what the messages queued (fa__http_conn_flush_soon). */
    for (size_t i = 0; i < loop->nsoon; i++) {
        uint32_t slot = loop->soon[i].slot;
        fa__http_conn_t *c =
            slot < loop->nslots && loop->gens[slot] == loop->soon[i].gen ? loop->slots[slot] : NULL;
        if (c && !c->closing)
            fa__http_conn_flush(c);
    }
    loop->nsoon = 0;
}

static void wake_cb(fa__wakeup_t *w) {
    fa__http_loop_t *loop = w->data;
    fa__http_date_refresh(loop);
    drain_inbox(loop);
    if (atomic_load_explicit(&loop->srv->stop_requested, memory_order_acquire)) {
        if (loop->index == 0 && !loop->srv->closing)
            fa_http_server_close(loop->srv, loop->srv->close_cb);
        else
            loop_begin_stop(loop);
    }
    loop_check_done(loop);
}

/* ---- listeners ---- */

static int resolve(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len) {
    memset(ss, 0, sizeof *ss);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0) {
        *len = sizeof(struct sockaddr_in);
        return 0;
    }
    const char *h = host;
    char buf[64];
    size_t hl = strlen(host);
    if (host[0] == '[' && hl > 2 && hl < sizeof buf && host[hl - 1] == ']') {
        memcpy(buf, host + 1, hl - 2);
        buf[hl - 2] = '\0';
        h = buf;
    }
    if (uv_ip6_addr(h, port, (struct sockaddr_in6 *)ss) == 0) {
        *len = sizeof(struct sockaddr_in6);
        return 0;
    }
    /* A name ("localhost"): resolve once at start-up. */
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        return FA_EINVAL;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    freeaddrinfo(res);
    return 0;
}

/* libuv 1.44 has no UV_TCP_REUSEPORT: make and bind the socket ourselves, uv_tcp_open it. */
static int bind_tcp(const struct sockaddr_storage *ss, socklen_t len, int reuseport, int *fd_out) {
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    /* Only with several loops: with one, a second server on the same port must fail, not share. */
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    if (bind(fd, (const struct sockaddr *)ss, len) != 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    *fd_out = fd;
    return 0;
}

static int open_listeners(fa_http_server_t *srv) {
    const fa_http_options_t *o = &srv->opts;
    if (srv->unix_path) {
        /* One Unix socket; loops > 0 share duplicates of its descriptor (the kernel hands each
         * connection to one accept). A stale socket file from a dead server is replaced. */
        struct stat st;
        if (lstat(srv->unix_path, &st) == 0 && S_ISSOCK(st.st_mode))
            unlink(srv->unix_path);
        fa__http_loop_t *l0 = &srv->loops[0];
        int rc = uv_pipe_init(l0->uv, &l0->listener.pipe, 0);
        if (rc)
            return rc;
        l0->listening = 1;
        rc = uv_pipe_bind(&l0->listener.pipe, srv->unix_path);
        if (rc)
            return rc;
        uv_os_fd_t fd0;
        uv_fileno(&l0->listener.handle, &fd0);
        for (uint32_t i = 1; i < srv->nloops; i++) {
            fa__http_loop_t *l = &srv->loops[i];
            int fd = fcntl(fd0, F_DUPFD_CLOEXEC, 0);
            if (fd < 0)
                return -errno;
            rc = uv_pipe_init(l->uv, &l->listener.pipe, 0);
            if (rc) {
                close(fd);
                return rc;
            }
            l->listening = 1;
            rc = uv_pipe_open(&l->listener.pipe, fd);
            if (rc) {
                close(fd);
                return rc;
            }
        }
        return 0;
    }
    struct sockaddr_storage ss;
    socklen_t len;
    int rc = resolve(srv->host, o->port, &ss, &len);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < srv->nloops; i++) {
        fa__http_loop_t *l = &srv->loops[i];
        int fd = -1;
        rc = bind_tcp(&ss, len, srv->nloops > 1, &fd);
        if (rc)
            return rc;
        if (i == 0) {
            /* Port 0: every other loop binds the port the kernel chose for the first. */
            struct sockaddr_storage got;
            socklen_t gl = sizeof got;
            getsockname(fd, (struct sockaddr *)&got, &gl);
            srv->port = ntohs(got.ss_family == AF_INET ? ((struct sockaddr_in *)&got)->sin_port
                                                       : ((struct sockaddr_in6 *)&got)->sin6_port);
            if (ss.ss_family == AF_INET)
                ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)srv->port);
            else
                ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)srv->port);
        }
        rc = uv_tcp_init(l->uv, &l->listener.tcp);
        if (rc) {
            close(fd);
            return rc;
        }
        l->listening = 1;
        rc = uv_tcp_open(&l->listener.tcp, fd);
        if (rc) {
            close(fd);
            return rc;
        }
    }
    return 0;
}

/* ---- loops ---- */

static void loop_handle_gone(fa__http_loop_t *loop) {
    if (--loop->handles > 0 || loop->index != 0)
        return;
    /* Loop 0's last handle: the whole server is closed. */
    fa_http_server_t *srv = loop->srv;
    atomic_store_explicit(&srv->started, 0, memory_order_release);
    if (srv->close_cb)
        srv->close_cb(srv);
}

static void timer_closed(uv_handle_t *h) {
    loop_handle_gone(h->data);
}

static void wake_closed(uv_handle_t *h) {
    loop_handle_gone(((fa__wakeup_t *)h->data)->data);
}

static void listener_closed(uv_handle_t *h) {
    fa__http_loop_t *loop = h->data;
    loop->listener_closing = 0;
    loop_check_done(loop);
}

static int loop_init(fa_http_server_t *srv, fa__http_loop_t *loop, uint32_t index, uv_loop_t *uv) {
    loop->srv = srv;
    loop->index = index;
    atomic_init(&loop->gate_users, 0);
    atomic_init(&loop->gate_closed, 0);
    if (uv) {
        loop->uv = uv;
    } else {
        loop->uv = malloc(sizeof *loop->uv);
        if (!loop->uv)
            return FA_ENOMEM;
        int rc = uv_loop_init(loop->uv);
        if (rc) {
            free(loop->uv);
            loop->uv = NULL;
            return rc;
        }
        loop->own_uv = 1;
    }
    loop->listener.handle.data = loop;
    int rc = fa_mpsc_new(&loop->inbox, FA_HTTP_INBOX);
    if (rc)
        return rc;
    rc = fa__buf_reserve(&loop->scratch, 4096);
    if (rc)
        return rc;
    rc = fa__wakeup_init(&loop->wake, loop->uv, wake_cb);
    if (rc)
        return rc;
    loop->wake.data = loop;
    loop->handles++;
    uv_timer_init(loop->uv, &loop->shutdown_timer);
    loop->shutdown_timer.data = loop;
    loop->handles++;
    loop->route_status = calloc((srv->nhandlers + 2) * 6, sizeof(*loop->route_status));
    if (!loop->route_status)
        return FA_ENOMEM;
    fa__http_date_refresh(loop);
    return 0;
}

static void close_inbox(fa__http_loop_t *loop) {
    /* seq_cst: pairs with fa__http_post (see there). After the wait no poster is inside. */
    atomic_store_explicit(&loop->gate_closed, 1, memory_order_seq_cst);
    while (atomic_load_explicit(&loop->gate_users, memory_order_seq_cst) != 0)
        sched_yield();
    /* What was posted before the gate closed is delivered as stale (conn = NULL). */
    void *item;
    while ((item = fa_mpsc_pop(loop->inbox)) != NULL) {
        fa__http_msg_t *m = item;
        m->to.slot = FA__HTTP_NO_SLOT;
        m->cb(loop, NULL, m);
    }
}

static void shutdown_timer_cb(uv_timer_t *t) {
    fa__http_loop_t *loop = t->data;
    /* The deadline passed: close what is left, in-flight or not. */
    for (uint32_t i = 0; i < loop->nslots; i++)
        if (loop->slots[i])
            fa__http_conn_abort(loop->slots[i]);
}

static void loop_begin_stop(fa__http_loop_t *loop) {
    if (loop->stopping)
        return;
    loop->stopping = 1;
    if (loop->listening) {
        loop->listening = 0;
        loop->listener_closing = 1;
        uv_close(&loop->listener.handle, listener_closed);
    }
    for (uint32_t i = 0; i < loop->nslots; i++)
        if (loop->slots[i])
            fa__http_conn_shutdown(loop->slots[i]);
    if (loop->nconns)
        uv_timer_start(&loop->shutdown_timer, shutdown_timer_cb,
                       loop->srv->opts.shutdown_timeout_ms, 0);
}

void fa__http_loop_conn_closed(fa__http_loop_t *loop) {
    if (loop->stopping)
        loop_check_done(loop);
}

static void loop_check_done(fa__http_loop_t *loop) {
    fa_http_server_t *srv = loop->srv;
    if (!loop->stopping || loop->nconns || loop->listener_closing || loop->inbox_closed)
        return;
    if (loop->index == 0 && atomic_load_explicit(&srv->loops_running, memory_order_acquire) > 1)
        return; /* other loops still closing; each wakes us when done */
    if (loop->index == 0) {
        for (uint32_t i = 1; i < srv->nloops; i++) {
            fa__http_loop_t *l = &srv->loops[i];
            if (l->has_thread) {
                uv_thread_join(&l->thread);
                l->has_thread = 0;
            }
        }
    }
    loop->inbox_closed = 1;
    close_inbox(loop);
    uv_close((uv_handle_t *)&loop->shutdown_timer, timer_closed);
    fa__wakeup_close(&loop->wake, wake_closed);
}

static void loop_thread(void *arg) {
    fa__http_loop_t *loop = arg;
    fa_http_server_t *srv = loop->srv;
    uv_run(loop->uv, UV_RUN_DEFAULT);
    int rc = uv_loop_close(loop->uv);
    if (rc)
        FA_WARN("http: loop %u closed with handles left (%s)", loop->index, uv_strerror(rc));
    atomic_fetch_sub_explicit(&srv->loops_running, 1, memory_order_acq_rel);
    /* Loop 0 joins this thread before closing its wake-up, so this send is safe. */
    fa__wakeup_send(&srv->loops[0].wake);
}

/* ---- start / close / run / stop ---- */

static void metrics_route(fa_http_server_t *srv) {
    if (srv->metrics_path)
        fa__http_route_add(srv, FA_HTTP_GET, srv->metrics_path, fa__http_metrics_handler, srv);
}

int fa_http_server_start(fa_http_server_t *srv, uv_loop_t *uv) {
    if (atomic_load_explicit(&srv->started, memory_order_relaxed) || srv->loops || !uv)
        return FA_ESTATE;
    /* A client that closes its socket while we write to it (an SSE client going away, a
     * browser cancelling a download) must not kill the process with SIGPIPE: the write fails
     * with EPIPE and that connection closes. Only the default disposition is changed, as in
     * mcp/server.c. */
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
    metrics_route(srv);
    fa__router_freeze(srv->router);
    uint32_t n = (uint32_t)srv->opts.io_threads;
    srv->loops = calloc(n, sizeof *srv->loops);
    if (!srv->loops)
        return FA_ENOMEM;
    srv->nloops = n;
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++)
        rc = loop_init(srv, &srv->loops[i], i, i == 0 ? uv : NULL);
    if (rc == 0)
        rc = open_listeners(srv);
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        fa__http_loop_t *l = &srv->loops[i];
        if (!l->listening)
            continue;
        rc = uv_listen((uv_stream_t *)&l->listener.handle, srv->opts.backlog,
                       fa__http_on_connection);
    }
    if (rc) {
        /* Undo: close every handle made so far and run the private loops until they are gone. */
        for (uint32_t i = 0; i < n; i++) {
            fa__http_loop_t *l = &srv->loops[i];
            if (!l->uv)
                continue;
            if (l->listening)
                uv_close(&l->listener.handle, NULL);
            l->listening = 0;
            if (l->inbox && l->handles) {
                atomic_store_explicit(&l->gate_closed, 1, memory_order_seq_cst);
                uv_close((uv_handle_t *)&l->shutdown_timer, NULL);
                fa__wakeup_close(&l->wake, NULL);
            }
            l->handles = 0;
            if (l->own_uv) {
                uv_run(l->uv, UV_RUN_DEFAULT);
                uv_loop_close(l->uv);
            }
        }
        if (uv)
            uv_run(uv, UV_RUN_NOWAIT); /* finish the closes on the caller's loop */
        if (srv->unix_path)
            unlink(srv->unix_path);
        return rc;
    }
    atomic_store_explicit(&srv->loops_running, (int)n, memory_order_relaxed);
    atomic_store_explicit(&srv->started, 1, memory_order_release);
    for (uint32_t i = 1; i < n; i++) {
        fa__http_loop_t *l = &srv->loops[i];
        if (uv_thread_create(&l->thread, loop_thread, l) == 0) {
            l->has_thread = 1;
        } else {
            /* Without its thread this loop never runs: stop the whole server. */
            FA_ERROR("http: cannot start I/O thread %u", i);
            atomic_fetch_sub_explicit(&srv->loops_running, 1, memory_order_relaxed);
            fa_http_server_stop(srv);
        }
    }
    FA_DEBUG("http: listening on %s:%d with %u loop(s)",
             srv->unix_path ? srv->unix_path : srv->host, srv->port, n);
    if (srv->opts.on_listen)
        srv->opts.on_listen(srv, srv->opts.on_listen_data);
    return 0;
}

int fa_http_server_url(const fa_http_server_t *srv, char *buf, size_t cap) {
    int n;
    if (srv->unix_path)
        n = snprintf(buf, cap, "unix:%s", srv->unix_path);
    else if (strchr(srv->host, ':') && srv->host[0] != '[')
        n = snprintf(buf, cap, "http://[%s]:%d", srv->host, srv->port);
    else
        n = snprintf(buf, cap, "http://%s:%d", srv->host, srv->port);
    if (n < 0 || (size_t)n >= cap)
        return FA_ERANGE;
    return n;
}

static void signals_close(fa_http_server_t *srv) {
    if (!srv->signals)
        return;
    srv->signals = 0;
    uv_close((uv_handle_t *)&srv->sigint, NULL);
    uv_close((uv_handle_t *)&srv->sigterm, NULL);
}

void fa_http_server_close(fa_http_server_t *srv, fa_http_close_cb cb) {
    if (!srv->loops || srv->closing)
        return;
    srv->closing = 1;
    srv->close_cb = cb;
    signals_close(srv);
    atomic_store_explicit(&srv->stop_requested, 1, memory_order_release);
    for (uint32_t i = 1; i < srv->nloops; i++)
        wake_loop(&srv->loops[i]);
    loop_begin_stop(&srv->loops[0]);
    loop_check_done(&srv->loops[0]);
}

int fa_http_server_stop(fa_http_server_t *srv) {
    /* Acquire: pairs with the release in start, so loops[] is visible. */
    if (!atomic_load_explicit(&srv->started, memory_order_acquire))
        return FA_ESTATE;
    atomic_store_explicit(&srv->stop_requested, 1, memory_order_release);
    for (uint32_t i = 0; i < srv->nloops; i++)
        wake_loop(&srv->loops[i]);
    return 0;
}

int fa_http_server_port(const fa_http_server_t *srv) {
    return srv->port;
}

static void on_signal(uv_signal_t *s, int signum) {
    fa_http_server_t *srv = s->data;
    FA_INFO("http: %s received, shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
    fa_http_server_close(srv, srv->close_cb);
}

int fa_http_server_run(fa_http_server_t *srv) {
    int rc = uv_loop_init(&srv->run_loop);
    if (rc)
        return rc;
    rc = fa_http_server_start(srv, &srv->run_loop);
    if (rc == 0 && srv->opts.handle_signals) {
        uv_signal_init(&srv->run_loop, &srv->sigint);
        uv_signal_init(&srv->run_loop, &srv->sigterm);
        srv->sigint.data = srv->sigterm.data = srv;
        uv_signal_start(&srv->sigint, on_signal, SIGINT);
        uv_signal_start(&srv->sigterm, on_signal, SIGTERM);
        srv->signals = 1;
    }
    if (rc == 0)
        uv_run(&srv->run_loop, UV_RUN_DEFAULT);
    int crc = uv_loop_close(&srv->run_loop);
    if (rc == 0 && crc != 0) {
        FA_WARN("http: loop closed with handles left (%s)", uv_strerror(crc));
        rc = crc;
    }
    return rc;
}
