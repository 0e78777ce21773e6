/* server.c: fa_server_t lifecycle, the loop that serves stdio, completions and shutdown.
 *
 * Running a server: the calling thread becomes the I/O loop (libuv). Calls go to the worker pool
 * through its MPMC queue; finished calls and tool notifications come back on one MPSC queue and a
 * coalescing eventfd wake-up (core/wakeup.h): only the first of a burst of sends writes the
 * eventfd, and the callback drains the whole queue (DESIGN.md §2).
 *
 * Shutdown (EOF on stdin, SIGINT/SIGTERM, fa_server_stop, or the client closing stdout): stop
 * reading, let running calls finish for up to shutdown_timeout_ms, answer the ones still running
 * with a -32001 error, flush stdout, close every handle. A second signal skips the wait.
 *
 * The gate: threads that finish calls touch the loop only through fa__server_post, which enters
 * the gate (gate_users) and checks gate_closed. The loop closes the gate and waits for the users
 * to leave before closing the wake-up, so no thread can write to a closed eventfd.
 * Calls still inside tools at that point are "abandoned": their threads are left running and
 * their memory (and the pool's) is never freed, since those threads still reference it.
 */
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "fasterapi/error.h"
#include "fasterapi/version.h"
#include "mcp/server_internal.h"

void fa_server_options_init(fa_server_options_t *o) {
    memset(o, 0, sizeof *o);
    o->name = "fasterapi";
    o->version = FA_VERSION_STRING;
    o->max_message = FA_MCP_MAX_MESSAGE;
    o->max_result = FA_MCP_MAX_RESULT;
    o->max_depth = FA_RPC_MAX_DEPTH;
    o->max_batch = FA_RPC_MAX_BATCH;
    o->max_inflight = FA_MCP_MAX_INFLIGHT;
    o->max_queued = FA_MCP_MAX_QUEUED;
    o->max_pending_output = FA_STDIO_MAX_PENDING_OUTPUT;
    o->page_size = FA_MCP_PAGE_SIZE;
    o->shutdown_timeout_ms = FA_SHUTDOWN_TIMEOUT_MS;
}

static char *dup_opt(const char *s, int *failed) {
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *failed = 1;
    return d;
}

static size_t pow2_at_least(size_t n) {
    size_t p = 1;
    while (p < n && p < ((size_t)1 << 30))
        p <<= 1;
    return p;
}

int fa_server_new(fa_server_t **out, const fa_server_options_t *opts) {
    fa_server_options_t o;
    fa_server_options_init(&o);
    if (opts)
        o = *opts;
    if (o.max_message == 0 || o.max_result < 1024 || o.max_depth < 1 || o.max_batch == 0 ||
        o.max_inflight == 0 || o.max_queued == 0 || o.max_pending_output == 0 || o.page_size == 0 ||
        o.workers < 0)
        return FA_EINVAL;
    o.max_inflight = pow2_at_least(o.max_inflight);
    fa_server_t *srv = calloc(1, sizeof *srv);
    if (!srv)
        return FA_ENOMEM;
    int failed = 0;
    srv->name = dup_opt(o.name ? o.name : "fasterapi", &failed);
    srv->version = dup_opt(o.version ? o.version : FA_VERSION_STRING, &failed);
    srv->title = dup_opt(o.title, &failed);
    srv->instructions = dup_opt(o.instructions, &failed);
    srv->opts = o;
    srv->opts.name = srv->name;
    srv->opts.version = srv->version;
    srv->opts.title = srv->title;
    srv->opts.instructions = srv->instructions;
    atomic_init(&srv->gate_closed, 1); /* not running */
    if (failed) {
        fa_server_free(srv);
        return FA_ENOMEM;
    }
    *out = srv;
    return 0;
}

void fa_server_free(fa_server_t *srv) {
    if (!srv)
        return;
    if (srv->abandoned) {
        /* Worker threads are still inside tools and reference the server: leak it rather than
         * free memory under them (the process is normally about to exit). */
        FA_WARN("server not freed: %zu tool call(s) never returned", srv->abandoned);
        return;
    }
    fa__tools_free(srv);
    fa__catalog_free(srv);
    free(srv->name);
    free(srv->version);
    free(srv->title);
    free(srv->instructions);
    free(srv);
}

/* ---- cross-thread entry points ---- */

int fa__server_post(fa_server_t *srv, void *item) {
    /* seq_cst on both gate words: a Dekker pair with finish_shutdown (close, then wait for
     * users == 0). Either we see the gate closed, or the loop sees us inside it. */
    atomic_fetch_add_explicit(&srv->gate_users, 1, memory_order_seq_cst);
    int rc = 0;
    if (atomic_load_explicit(&srv->gate_closed, memory_order_seq_cst)) {
        rc = FA_ESTATE;
    } else {
        /* The completion queue holds every in-flight call twice over, so it is full only when
         * tools flood notifications faster than the client reads: then the tool thread waits
         * here, which is the backpressure we want. */
        while (fa_mpsc_push(srv->completions, item) != 0) {
            fa__wakeup_send(&srv->wake);
            sched_yield();
        }
        fa__wakeup_send(&srv->wake);
    }
    /* Release: our push and async_send happen before the loop sees us leave. */
    atomic_fetch_sub_explicit(&srv->gate_users, 1, memory_order_release);
    return rc;
}

int fa_server_stop(fa_server_t *srv) {
    atomic_fetch_add_explicit(&srv->gate_users, 1, memory_order_seq_cst);
    int rc = 0;
    if (atomic_load_explicit(&srv->gate_closed, memory_order_seq_cst)) {
        rc = FA_ESTATE;
    } else {
        atomic_store_explicit(&srv->stop_requested, 1, memory_order_release);
        fa__wakeup_send(&srv->wake);
    }
    atomic_fetch_sub_explicit(&srv->gate_users, 1, memory_order_release);
    return rc;
}

/* ---- loop side ---- */

static void close_cb(uv_handle_t *h) {
    fa_server_t *srv = h->data;
    srv->handles_open--;
}

static void wake_closed(uv_handle_t *h) {
    fa__wakeup_t *w = h->data; /* the poll handle inside the wake-up */
    fa_server_t *srv = w->data;
    srv->handles_open--;
}

static void close_handle(fa_server_t *srv, uv_handle_t *h) {
    if (!uv_is_closing(h)) {
        h->data = srv;
        uv_close(h, close_cb);
    }
}

static void drain(fa_server_t *srv, int force);

static void finish_shutdown(fa_server_t *srv) {
    if (!srv->running)
        return;
    srv->running = 0;
    atomic_store_explicit(&srv->gate_closed, 1, memory_order_seq_cst);
    /* Wait for threads inside fa__server_post; keep draining so a post waiting for queue space
     * can finish. Acquire pairs with their release decrement. */
    while (atomic_load_explicit(&srv->gate_users, memory_order_acquire) > 0) {
        drain(srv, 1);
        sched_yield();
    }
    drain(srv, 1);
    fa__session_fail_requests(&srv->session, FA_RPC_SHUTTING_DOWN,
                              "Server shutting down: the request was not answered");
    srv->abandoned = srv->session.outstanding;
    if (srv->abandoned)
        FA_WARN("%zu tool call(s) still running at exit were answered with an error and left "
                "behind",
                srv->abandoned);
    fa__wakeup_close(&srv->wake, wake_closed);
    close_handle(srv, (uv_handle_t *)&srv->sigint);
    close_handle(srv, (uv_handle_t *)&srv->sigterm);
    close_handle(srv, (uv_handle_t *)&srv->shutdown_timer);
    close_handle(srv, (uv_handle_t *)&srv->call_timer);
    close_handle(srv, (uv_handle_t *)&srv->job_wake);
    fa__stdio_close(&srv->stdio);
}

static void maybe_done(fa_server_t *srv) {
    if (srv->stopping && srv->running && srv->session.outstanding == 0 && srv->session.queued == 0)
        finish_shutdown(srv);
}

static void on_shutdown_deadline(uv_timer_t *t) {
    fa_server_t *srv = t->data;
    if (!srv->running)
        return;
    char msg[160];
    snprintf(msg, sizeof msg,
             "Server shutting down: the call did not finish within %u ms of the shutdown",
             srv->opts.shutdown_timeout_ms);
    fa__session_abandon(&srv->session, FA_RPC_SHUTTING_DOWN, msg);
    srv->deadline_hit = 1;
    finish_shutdown(srv);
}

static void begin_shutdown(fa_server_t *srv, const char *why) {
    if (!srv->running)
        return;
    if (srv->stopping) {
        if (srv->signals > 1) { /* a second signal: stop waiting */
            FA_INFO("second signal: not waiting for running calls");
            on_shutdown_deadline(&srv->shutdown_timer);
        }
        return;
    }
    srv->stopping = 1;
    fa__stdio_stop_reading(&srv->stdio);
    /* No answer can arrive once input stops: fail the requests tools are waiting on (elicit,
     * sample) now, so those calls finish instead of waiting for the deadline. */
    fa__session_fail_requests(&srv->session, FA_RPC_SHUTTING_DOWN,
                              "Server shutting down: the client can no longer answer");
    if (srv->session.outstanding || srv->session.queued) {
        FA_INFO("shutting down (%s): waiting up to %u ms for %zu running and %zu queued call(s)",
                why, srv->opts.shutdown_timeout_ms, srv->session.outstanding, srv->session.queued);
        uv_timer_start(&srv->shutdown_timer, on_shutdown_deadline, srv->opts.shutdown_timeout_ms,
                       0);
    } else {
        FA_DEBUG("shutting down (%s)", why);
    }
    maybe_done(srv);
}

/* Delivers finished calls and notifications. Stops while the client is not reading (output
 * above max_pending_output) unless `force` (shutdown: the queue is bounded, and a tool thread may
 * be waiting for room in it). */
static void drain(fa_server_t *srv, int force) {
    /* Small steps: the blocked check runs every 32 results, so a stalled client holds at most
     * max_pending_output plus 32 results in our output buffer. */
    void *items[32];
    while (force || !fa__stdio_output_blocked(&srv->stdio)) {
        size_t n = fa_mpsc_pop_batch(srv->completions, items, 32);
        if (n == 0)
            break;
        for (size_t i = 0; i < n; i++) {
            int kind = *(int *)items[i];
            if (kind == FA__ITEM_CALL)
                fa__session_on_complete(&srv->session, items[i]);
            else if (kind == FA__ITEM_REQUEST)
                fa__session_on_request(&srv->session, items[i]);
            else
                fa__session_on_notify(&srv->session, items[i]);
        }
    }
}

static void on_wake(fa__wakeup_t *w) {
    fa_server_t *srv = w->data;
    /* Acquire pairs with the release store in fa_server_stop. */
    if (atomic_load_explicit(&srv->stop_requested, memory_order_acquire))
        begin_shutdown(srv, "stop requested");
    drain(srv, 0);
    maybe_done(srv);
}

static void on_signal(uv_signal_t *h, int signum) {
    fa_server_t *srv = h->data;
    srv->signals++;
    begin_shutdown(srv, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

static void on_call_timer(uv_timer_t *t) {
    fa_server_t *srv = t->data;
    uint64_t next = fa__session_expire(&srv->session, uv_now(&srv->loop));
    if (next)
        fa__server_arm_call_timer(srv, next);
}

static void on_job_wake(uv_check_t *h) {
    fa_server_t *srv = h->data;
    srv->executor.wake(srv->executor.self, srv->jobs_unwoken);
    srv->jobs_unwoken = 0;
    uv_check_stop(h);
}

void fa__server_set_executor(fa_server_t *srv, const fa__executor_t *ex) {
    srv->executor = *ex;
}

/* The default executor: the C worker pool. */
static int workers_submit(void *self, fa_call_t *call) {
    return fa__workers_submit_lazy(self, call);
}

static void workers_wake(void *self, int n) {
    fa__workers_wake(self, n);
}

int fa__server_submit(fa_server_t *srv, fa_call_t *call) {
    int rc = srv->executor.submit(srv->executor.self, call);
    if (rc == 0 && srv->jobs_unwoken++ == 0)
        uv_check_start(&srv->job_wake, on_job_wake);
    return rc;
}

void fa__server_arm_call_timer(fa_server_t *srv, uint64_t deadline_ms) {
    uint64_t now = uv_now(&srv->loop);
    uv_timer_start(&srv->call_timer, on_call_timer, deadline_ms > now ? deadline_ms - now : 0, 0);
}

/* stdio callbacks */
static void io_line(void *ctx, const char *data, size_t len) {
    fa_server_t *srv = ctx;
    if (!srv->stopping)
        fa__session_on_line(&srv->session, data, len);
}

static void io_toobig(void *ctx, size_t len) {
    fa_server_t *srv = ctx;
    if (!srv->stopping)
        fa__session_on_toobig(&srv->session, len);
}

static void io_eof(void *ctx) {
    begin_shutdown(ctx, "end of input");
}

static void io_error(void *ctx, int err) {
    fa_server_t *srv = ctx;
    FA_DEBUG("stdio error %s", uv_err_name(err));
    begin_shutdown(srv, "stdio closed");
}

static void io_writable(void *ctx) {
    fa_server_t *srv = ctx;
    drain(srv, 0);
    maybe_done(srv);
}

static void io_closed(void *ctx) {
    fa_server_t *srv = ctx;
    srv->handles_open--;
}

static const fa__stdio_cbs_t stdio_cbs = {io_line,  io_toobig,   io_eof,
                                          io_error, io_writable, io_closed};

/* session ops over the stdio transport */
static fa__buf_t *sess_out(fa__session_t *s) {
    return fa__stdio_out(&s->srv->stdio);
}
static void sess_commit(fa__session_t *s) {
    fa__stdio_commit(&s->srv->stdio);
}
static void sess_pause(fa__session_t *s) {
    fa__stdio_pause(&s->srv->stdio);
}
static void sess_resume(fa__session_t *s) {
    if (!s->srv->stopping)
        fa__stdio_resume(&s->srv->stdio);
}

static const fa__session_ops_t stdio_session_ops = {sess_out, sess_commit, sess_pause, sess_resume};

int fa_server_run_fds(fa_server_t *srv, int in_fd, int out_fd) {
    if (!srv || srv->running || srv->abandoned)
        return FA_ESTATE;
    int rc = fa__tools_build_pages(srv);
    if (rc)
        return rc;
    /* A client that closes its end of stdout must not kill us with SIGPIPE: writes then fail
     * with EPIPE and we shut down cleanly. Only change the default disposition. */
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);

    if ((rc = uv_loop_init(&srv->loop)) != 0)
        return rc;
    size_t inflight = srv->opts.max_inflight;
    if ((rc = fa_mpsc_new(&srv->completions, inflight * 2 > 1024 ? inflight * 2 : 1024)) != 0)
        goto fail_loop;
    int nworkers = srv->opts.workers ? srv->opts.workers : fa__cpu_count();
    int own_executor = srv->executor.submit == NULL;
    if (own_executor) {
        if ((rc = fa__workers_new(&srv->workers, nworkers, inflight, fa__call_run, srv)) != 0)
            goto fail_queue;
        srv->executor = (fa__executor_t){srv->workers, workers_submit, workers_wake, NULL};
    }

    if ((rc = fa__wakeup_init(&srv->wake, &srv->loop, on_wake)) != 0)
        goto fail_workers;
    uv_signal_init(&srv->loop, &srv->sigint);
    uv_signal_init(&srv->loop, &srv->sigterm);
    uv_timer_init(&srv->loop, &srv->shutdown_timer);
    uv_timer_init(&srv->loop, &srv->call_timer);
    uv_check_init(&srv->loop, &srv->job_wake);
    srv->jobs_unwoken = 0;
    srv->wake.data = srv->sigint.data = srv->sigterm.data = srv;
    srv->shutdown_timer.data = srv->call_timer.data = srv->job_wake.data = srv;
    srv->handles_open = 7; /* 6 above + the stdio transport */
    uv_signal_start(&srv->sigint, on_signal, SIGINT);
    uv_signal_start(&srv->sigterm, on_signal, SIGTERM);

    fa__session_init(&srv->session, srv, &stdio_session_ops, &srv->stdio);
    srv->running = 1;
    srv->stopping = srv->deadline_hit = srv->signals = 0;
    atomic_store_explicit(&srv->stop_requested, 0, memory_order_relaxed);
    /* seq_cst: opens the gate for fa__server_post / fa_server_stop. */
    atomic_store_explicit(&srv->gate_closed, 0, memory_order_seq_cst);
    rc = fa__stdio_init(&srv->stdio, &srv->loop, in_fd, out_fd, srv->opts.max_message,
                        srv->opts.max_pending_output, &stdio_cbs, srv);
    if (rc) {
        FA_ERROR("cannot serve stdio: %s", uv_strerror(rc));
        srv->handles_open--; /* the transport never opened */
        srv->stdio.closing = 2;
        srv->stopping = 1;
        finish_shutdown(srv);
        uv_run(&srv->loop, UV_RUN_DEFAULT);
    } else {
        FA_INFO("serving MCP on stdio with %d worker thread(s), %zu tool(s)", nworkers,
                srv->ntools);
        uv_run(&srv->loop, UV_RUN_DEFAULT);
    }
    fa__session_free(&srv->session);
    if (own_executor)
        memset(&srv->executor, 0, sizeof srv->executor);
    if (srv->abandoned) {
        /* Leave the pool and queue behind: worker threads inside tools still use them. */
        srv->workers = NULL;
        srv->completions = NULL;
    } else {
        /* The default pool is joined here; an installed executor is stopped by its owner, who
         * must have drained it before (nothing is outstanding, or we would be abandoning). */
        if (own_executor)
            fa__workers_free(srv->workers);
        srv->workers = NULL;
        /* Items finished between the last drain and the join carry nothing to deliver. */
        void *item;
        while ((item = fa_mpsc_pop(srv->completions)) != NULL) {
            if (*(int *)item == FA__ITEM_CALL) {
                fa__call_free(item);
            } else if (*(int *)item == FA__ITEM_REQUEST) {
                fa__outreq_t *r = item;
                json_t *e = json_pack("{s:i, s:s}", "code", FA_RPC_SHUTTING_DOWN, "message",
                                      "Server shutting down");
                r->cb(r->arg, NULL, e);
                json_decref(e);
                fa__outreq_free(r);
            } else {
                free(((fa__notify_t *)item)->text);
                free(item);
            }
        }
        fa_mpsc_free(srv->completions);
        srv->completions = NULL;
    }
    int lrc = uv_loop_close(&srv->loop);
    if (lrc)
        FA_ERROR("event loop did not close cleanly: %s", uv_strerror(lrc));
    return rc;

fail_workers:
    if (own_executor) {
        fa__workers_free(srv->workers);
        memset(&srv->executor, 0, sizeof srv->executor);
    }
    srv->workers = NULL;
fail_queue:
    fa_mpsc_free(srv->completions);
    srv->completions = NULL;
fail_loop:
    uv_loop_close(&srv->loop);
    return rc;
}

int fa_server_run_stdio(fa_server_t *srv) {
    return fa_server_run_fds(srv, STDIN_FILENO, STDOUT_FILENO);
}
