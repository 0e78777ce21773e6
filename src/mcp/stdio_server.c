/* stdio_server.c: fa_server_run_fds / fa_server_run_stdio, the convenience that serves one MCP
 * client over a pair of file descriptors: a loop of its own, the server started on it, the stdio
 * transport (transport/stdio.c) attached to one session through the session ops, and the run
 * ends when the server has closed. The end of input shuts the whole server down, since stdio has
 * exactly one client.
 */
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/workers.h"
#include "fasterapi/error.h"
#include "mcp/server_internal.h"
#include "transport/stdio.h"

typedef struct {
    fa_server_t *srv;
    fa__stdio_t io;
    fa__session_t *session; /* NULL once closed */
    int io_open;
} stdio_client_t;

/* ---- stdio transport callbacks ---- */

static void io_line(void *ctx, const char *data, size_t len) {
    stdio_client_t *c = ctx;
    if (c->srv->activity == 0)
        fa__trace_start("first message read");
    c->srv->activity++;
    if (c->session && !c->srv->stopping)
        fa__session_on_line(c->session, data, len);
}

static void io_toobig(void *ctx, size_t len) {
    stdio_client_t *c = ctx;
    if (c->session && !c->srv->stopping)
        fa__session_on_toobig(c->session, len);
}

static void io_eof(void *ctx) {
    stdio_client_t *c = ctx;
    fa__server_shutdown(c->srv, "end of input");
}

static void io_error(void *ctx, int err) {
    stdio_client_t *c = ctx;
    FA_DEBUG("stdio error %s", uv_err_name(err));
    fa__server_shutdown(c->srv, "stdio closed");
}

static void io_writable(void *ctx) {
    stdio_client_t *c = ctx;
    if (c->session)
        fa__session_writable(c->session);
}

static void io_closed(void *ctx) {
    stdio_client_t *c = ctx;
    c->io_open = 0;
    if (c->session) {
        fa__session_t *s = c->session;
        c->session = NULL;
        fa__session_close(s);
    }
}

static const fa__stdio_cbs_t stdio_cbs = {io_line,  io_toobig,   io_eof,
                                          io_error, io_writable, io_closed};

/* ---- session ops over the stdio transport ---- */

static stdio_client_t *client_of(fa__session_t *s) {
    return s->transport;
}
static fa__buf_t *sess_out(fa__session_t *s, const fa__out_info_t *info) {
    (void)info; /* one stream: every message goes the same way */
    return fa__stdio_out(&client_of(s)->io);
}
static void sess_commit(fa__session_t *s) {
    fa__stdio_commit(&client_of(s)->io);
}
static void sess_pause(fa__session_t *s) {
    fa__stdio_pause(&client_of(s)->io);
}
static void sess_resume(fa__session_t *s) {
    if (!s->srv->stopping)
        fa__stdio_resume(&client_of(s)->io);
}
static int sess_blocked(fa__session_t *s) {
    return fa__stdio_output_blocked(&client_of(s)->io);
}
static void sess_stop(fa__session_t *s) {
    fa__stdio_stop_reading(&client_of(s)->io);
}
static void sess_close(fa__session_t *s) {
    stdio_client_t *c = client_of(s);
    if (c->io_open)
        fa__stdio_close(&c->io); /* flushes; io_closed closes the session */
    else
        io_closed(c);
}

static const fa__session_ops_t stdio_session_ops = {
    sess_out, sess_commit, sess_pause, sess_resume, sess_blocked, sess_stop, sess_close, NULL};

/* How long the loop keeps polling after its last request or completion before it blocks in
 * epoll, in microseconds. An AI client works one call at a time: its next request follows a
 * reply within tens of microseconds. A loop that has gone to sleep pays a context switch and a
 * wake-up for it, which on the 2-vCPU KVM reference box costs more than the whole call
 * (bench/stdio, unpinned: ~60% of the server CPU of a sequential C echo was the sleep/wake path,
 * and the sequential p50 fell from ~58 to ~20 us with this window). Polling for a short window
 * after activity catches that next request awake; once the client goes quiet the loop blocks as
 * before, so an idle server uses no CPU. FASTERAPI_SPIN_US overrides it (0 disables it). */
#define FA_STDIO_SPIN_US 50

/* uv_run(UV_RUN_DEFAULT), except that after any request or completion the loop polls without
 * blocking (UV_RUN_NOWAIT: one epoll_wait with a zero timeout per round) until `window` has
 * passed with nothing new, and only then blocks (UV_RUN_ONCE). */
static void run_loop(fa_server_t *srv, uint64_t window) {
    uv_loop_t *loop = &srv->own_loop;
    if (window == 0) {
        uv_run(loop, UV_RUN_DEFAULT);
        return;
    }
    for (;;) {
        unsigned seen = srv->activity;
        if (!uv_run(loop, UV_RUN_ONCE))
            return;
        uint64_t quiet_since = uv_hrtime();
        while (srv->activity != seen || uv_hrtime() - quiet_since < window) {
            if (srv->activity != seen) {
                seen = srv->activity;
                quiet_since = uv_hrtime();
            }
            if (!uv_run(loop, UV_RUN_NOWAIT))
                return;
            /* Polling must never take the CPU from a thread with work: on 2 vCPUs the Python
             * workers and the client share them with this loop. */
            fa__spin_pause();
        }
    }
}

int fa_server_run_fds(fa_server_t *srv, int in_fd, int out_fd) {
    if (!srv || srv->running || srv->closing || srv->abandoned)
        return FA_ESTATE;
    /* A client that closes its end of stdout must not kill us with SIGPIPE: writes then fail
     * with EPIPE and we shut down cleanly. Only change the default disposition; this installs no
     * handler. */
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);

    int rc = uv_loop_init(&srv->own_loop);
    if (rc)
        return rc;
    if ((rc = fa_server_start(srv, &srv->own_loop)) != 0) {
        uv_loop_close(&srv->own_loop);
        return rc;
    }
    stdio_client_t client;
    memset(&client, 0, sizeof client);
    client.srv = srv;
    if ((rc = fa__session_open(srv, &stdio_session_ops, &client, &client.session)) == 0) {
        rc = fa__stdio_init(&client.io, &srv->own_loop, in_fd, out_fd, srv->opts.max_message,
                            srv->opts.max_pending_output, &stdio_cbs, &client);
        if (rc) {
            FA_ERROR("cannot serve stdio: %s", uv_strerror(rc));
            fa__session_close(client.session);
            client.session = NULL;
        } else {
            client.io_open = 1;
            FA_INFO("serving MCP on stdio with %d worker thread(s), %zu tool(s)",
                    srv->opts.workers ? srv->opts.workers : fa__cpu_count(), srv->ntools);
        }
    }
    if (rc)
        fa_server_close(srv, NULL);
    /* Runs until the server has closed: end of input, fa_server_stop or a handled signal. */
    run_loop(srv, fa__spin_window_ns("FASTERAPI_SPIN_US", FA_STDIO_SPIN_US));
    int lrc = uv_loop_close(&srv->own_loop);
    if (lrc)
        FA_ERROR("event loop did not close cleanly: %s", uv_strerror(lrc));
    return rc;
}

int fa_server_run_stdio(fa_server_t *srv) {
    return fa_server_run_fds(srv, STDIN_FILENO, STDOUT_FILENO);
}
