/* server.c: fa_server_t lifecycle on a libuv loop: start, completions, timers, shutdown, close.
 *
 * fa_server_start(srv, loop) sets the server up on a loop its caller owns: the executor (the C
 * worker pool unless the Python host installed its own), the MPSC completion queue and its
 * coalescing eventfd wake-up (core/wakeup.h: only the first of a burst of sends writes the
 * eventfd, and the callback drains the whole queue, DESIGN.md §2), the per-call timeout timer and
 * the job wake-up. Transports then open sessions on it (session.c). fa_server_run_fds
 * (stdio_server.c) is the convenience that does all of that for stdio on a loop of its own.
 *
 * Shutdown (fa_server_close, fa_server_stop, SIGINT/SIGTERM when opts.handle_signals asks for
 * them, or a transport such as stdio reaching the end of its input): every session stops reading,
 * running calls get up to shutdown_timeout_ms to finish, the ones still running are answered with
 * a -32001 error, every session is told to close (a transport flushes its output first), the
 * handles are closed, the executor is joined, and the close callback fires. A second signal
 * skips the wait.
 *
 * The gate: threads that finish calls touch the loop only through fa__server_post, which enters
 * the gate (gate_users) and checks gate_closed. The loop closes the gate and waits for the users
 * to leave before closing the wake-up, so no thread can write to a closed eventfd. Calls still
 * inside tools at that point are "abandoned": their threads are left running and their memory
 * (the server's, its call slots' and the pool's) is never freed, since those threads still
 * reference it; it is marked for LeakSanitizer as kept on purpose (core/lsan.h). The completion
 * queue is freed all the same: past the closed gate no thread touches it.
 *
 * Output backpressure: a session whose transport says its output is blocked (ops->blocked) has
 * its finished calls and notifications held in order and delivered when the transport calls
 * fa__session_writable. Past FA__HELD_STALL held items, draining stops for everyone, so tool
 * threads wait on the bounded completion queue instead of memory growing (the stdio behaviour:
 * a client that does not read stops the server's output, not its memory).
 */
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/lsan.h"
#include "fasterapi/error.h"
#include "fasterapi/version.h"
#include "mcp/jsonrpc.h"
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
    o->max_sessions = FA_MCP_MAX_SESSIONS;
    o->max_pending_output = FA_STDIO_MAX_PENDING_OUTPUT;
    o->page_size = FA_MCP_PAGE_SIZE;
    o->shutdown_timeout_ms = FA_SHUTDOWN_TIMEOUT_MS;
    o->max_tasks = FA_MCP_MAX_TASKS;
    o->task_ttl_ms = FA_MCP_TASK_TTL_MS;
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
        o.workers < 0 || o.max_sessions == 0)
        return FA_EINVAL;
    /* 0 = the default: callers that filled the struct before these options existed. */
    if (o.max_tasks == 0)
        o.max_tasks = FA_MCP_MAX_TASKS;
    if (o.task_ttl_ms == 0)
        o.task_ttl_ms = FA_MCP_TASK_TTL_MS;
    o.max_inflight = pow2_at_least(o.max_inflight);
    if (o.max_session_inflight == 0 || o.max_session_inflight > o.max_inflight)
        o.max_session_inflight = o.max_inflight;
    fa_server_t *srv = calloc(1, sizeof *srv);
    if (!srv)
        return FA_ENOMEM;
    int failed = 0;
    srv->name = dup_opt(o.name ? o.name : "fasterapi", &failed);
    srv->version = dup_opt(o.version ? o.version : FA_VERSION_STRING, &failed);
    srv->title = dup_opt(o.title, &failed);
    srv->instructions = dup_opt(o.instructions, &failed);
    srv->state_key_file = dup_opt(o.state_key_file, &failed);
    srv->opts = o;
    srv->opts.name = srv->name;
    srv->opts.version = srv->version;
    srv->opts.title = srv->title;
    srv->opts.instructions = srv->instructions;
    srv->opts.state_key_file = srv->state_key_file;
    atomic_init(&srv->gate_closed, 1); /* not running */
    srv->free_slot = UINT32_MAX;
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
        /* Kept on purpose, with everything it points to (call slots, tools): not a leak. */
        FA_LSAN_KEEP(srv);
        return;
    }
    if (srv->endpoint_free)
        srv->endpoint_free(srv->endpoint);
    fa__tasks_engine_free(srv);
    fa__tools_free(srv);
    fa__catalog_free(srv);
    fa__skills_free(srv);
    free(srv->slots);
    free(srv->name);
    free(srv->version);
    free(srv->title);
    free(srv->instructions);
    free(srv->state_key_file);
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

static void maybe_closed(fa_server_t *srv);

void fa__server_maybe_closed(fa_server_t *srv) {
    maybe_closed(srv);
}

static void close_cb(uv_handle_t *h) {
    fa_server_t *srv = h->data;
    srv->handles_open--;
    maybe_closed(srv);
}

static void wake_closed(uv_handle_t *h) {
    fa__wakeup_t *w = h->data; /* the poll handle inside the wake-up */
    fa_server_t *srv = w->data;
    srv->handles_open--;
    maybe_closed(srv);
}

static void close_handle(fa_server_t *srv, uv_handle_t *h) {
    if (!uv_is_closing(h)) {
        h->data = srv;
        uv_close(h, close_cb);
    }
}

/* Calls `fn` for every live session. `fn` may close the session it is given. */
static void each_session(fa_server_t *srv, void (*fn)(fa__session_t *s, void *arg), void *arg) {
    for (uint32_t i = 0; i < srv->nslots; i++)
        if (srv->slots[i].s)
            fn(srv->slots[i].s, arg);
}

/* ---- delivering what came back ---- */

static int held_push(fa__session_t *s, void *item) {
    if (s->held_len == s->held_cap) {
        size_t cap = s->held_cap ? s->held_cap * 2 : 16;
        void **n = malloc(cap * sizeof *n);
        if (!n)
            return FA_ENOMEM;
        for (size_t i = 0; i < s->held_len; i++)
            n[i] = s->held[(s->held_head + i) % s->held_cap];
        free(s->held);
        s->held = n;
        s->held_cap = cap;
        s->held_head = 0;
    }
    s->held[(s->held_head + s->held_len) % s->held_cap] = item;
    s->held_len++;
    s->srv->held_total++;
    return 0;
}

static void deliver(fa_server_t *srv, void *item);
static void fan_out(fa_server_t *srv, fa__notify_t *n);

static int session_blocked(fa__session_t *s) {
    return s->ops->blocked && s->ops->blocked(s);
}

/* One item for a live session, or held when its output is blocked (in order: once anything is
 * held, everything after it is held too). */
static void deliver_to(fa__session_t *s, void *item) {
    if ((s->held_len || session_blocked(s)) && !s->srv->flushing_all) {
        if (held_push(s, item) == 0)
            return;
        FA_ERROR("out of memory holding output for a blocked client; delivering it now");
    }
    deliver(s->srv, item);
}

static void deliver(fa_server_t *srv, void *item) {
    int kind = *(int *)item;
    if (kind == FA__ITEM_CALL) {
        fa__server_on_complete(srv, item);
    } else if (kind == FA__ITEM_REQUEST) {
        fa__server_on_request(srv, item);
    } else {
        /* Progress and log messages for a call the client cancelled (or that timed out) are
         * dropped: the spec forbids progress for requests that are no longer active. */
        fa__notify_t *n = item;
        if (n->fan_out) {
            fan_out(srv, n);
            return;
        }
        fa__session_t *s = fa__session_get(srv, n->sref);
        int unwatched = n->sub_uri && (!s || !json_object_get(s->subscriptions, n->sub_uri));
        int live = n->call ? !n->call->detached : 1;
        if (n->flush) {
            if (s && live)
                fa__mrtr_flush(s, n->call);
        } else if (s && live && !n->text) {
            if (s->ops->close_stream)
                s->ops->close_stream(s, n->call->id_text, n->call->id_len);
        } else if (s && live && !unwatched) {
            const fa__out_info_t info = {FA__OUT_NOTIFY, n->call ? n->call->id_text : NULL,
                                         n->call ? n->call->id_len : 0};
            fa__buf_t *out = s->ops->out(s, &info);
            if (fa__buf_append(out, n->text, n->len) == 0)
                s->ops->commit(s);
        }
        free(n->text);
        free(n->sub_uri);
        free(n);
    }
}

/* A server-wide resources/updated (fa_server_notify_resource_updated): one copy for every
 * session that subscribed to the uri, each delivered (or held behind that session's blocked
 * output) like a call's own notification but tied to no request, so Streamable HTTP puts it on
 * the session's standalone GET stream. Sessions that did not subscribe get nothing
 * (server/resources "Subscriptions"). */
static void fan_out(fa_server_t *srv, fa__notify_t *n) {
    for (uint32_t i = 0; i < srv->nslots; i++) {
        fa__session_t *s = srv->slots[i].s;
        if (s && s->nlistens) /* 2026-07-28: listen streams with resourceSubscriptions */
            fa__listen_resource_updated(s, n->sub_uri);
        if (!s || !json_object_get(s->subscriptions, n->sub_uri))
            continue;
        fa__notify_t *c = calloc(1, sizeof *c);
        if (!c || !(c->text = malloc(n->len)) || !(c->sub_uri = strdup(n->sub_uri))) {
            if (c)
                free(c->text);
            free(c);
            FA_ERROR("out of memory sending notifications/resources/updated to a subscriber");
            continue;
        }
        memcpy(c->text, n->text, n->len);
        c->len = n->len;
        c->kind = FA__ITEM_NOTIFY;
        c->sref = s->ref;
        deliver_to(s, c);
    }
    free(n->text);
    free(n->sub_uri);
    free(n);
}

int fa_server_notify_resource_updated(fa_server_t *srv, const char *uri) {
    if (!uri)
        return FA_EINVAL;
    json_t *params = json_pack("{s:s}", "uri", uri);
    fa__notify_t *n = calloc(1, sizeof *n);
    fa__buf_t b = FA__BUF_INIT;
    int rc = params && n ? fa__rpc_write_notification(&b, "notifications/resources/updated", params)
                         : FA_ENOMEM;
    json_decref(params);
    if (rc == 0 && (!(n->sub_uri = strdup(uri)) || !(n->text = fa__buf_detach(&b, &n->len))))
        rc = FA_ENOMEM;
    if (rc == 0) {
        n->kind = FA__ITEM_NOTIFY;
        n->fan_out = 1; /* no session: item_sref() names none, so deliver() gets it */
        rc = fa__server_post(srv, n);
    }
    if (rc) {
        fa__buf_free(&b);
        if (n) {
            free(n->text);
            free(n->sub_uri);
        }
        free(n);
    }
    return rc;
}

static fa__sref_t item_sref(void *item) {
    int kind = *(int *)item;
    return kind == FA__ITEM_CALL             ? ((fa_call_t *)item)->sref
           : kind == FA__ITEM_REQUEST        ? ((fa__outreq_t *)item)->sref
           : ((fa__notify_t *)item)->fan_out ? UINT64_MAX /* no session */
                                             : ((fa__notify_t *)item)->sref;
}

/* Delivers finished calls, notifications and requests from the completion queue. Stops while
 * too much is held for blocked clients, unless `force` (shutdown: the queue is bounded, and a
 * tool thread may be waiting for room in it). */
static void drain(fa_server_t *srv, int force) {
    void *items[32];
    while (force || srv->held_total < FA__HELD_STALL) {
        size_t n = fa_mpsc_pop_batch(srv->completions, items, 32);
        if (n == 0)
            break;
        for (size_t i = 0; i < n; i++) {
            fa__session_t *s = fa__session_get(srv, item_sref(items[i]));
            if (s)
                deliver_to(s, items[i]);
            else
                deliver(srv, items[i]); /* its session is gone: dropped or answered inside */
        }
    }
}

static void maybe_done(fa_server_t *srv);

void fa__server_drain(fa_server_t *srv) {
    drain(srv, 0);
}

void fa__session_writable(fa__session_t *s) {
    fa_server_t *srv = s->srv;
    while (s->held_len && !session_blocked(s)) {
        void *item = s->held[s->held_head];
        s->held_head = (s->held_head + 1) % s->held_cap;
        s->held_len--;
        srv->held_total--;
        deliver(srv, item);
    }
    drain(srv, 0);
    maybe_done(srv);
}

/* Delivers everything held for a session regardless of its output (closing, shutdown). */
static void flush_held(fa__session_t *s, void *arg) {
    (void)arg;
    fa_server_t *srv = s->srv;
    srv->flushing_all++;
    fa__sref_t ref = s->ref;
    while (fa__session_get(srv, ref) && s->held_len) {
        void *item = s->held[s->held_head];
        s->held_head = (s->held_head + 1) % s->held_cap;
        s->held_len--;
        srv->held_total--;
        deliver(srv, item);
    }
    srv->flushing_all--;
}

void fa__session_release_held(fa__session_t *s) {
    /* Called by fa__session_close: the session is going, its held items are delivered to a
     * closed session (calls freed, requests answered with an error, notifications dropped). */
    fa_server_t *srv = s->srv;
    while (s->held_len) {
        void *item = s->held[s->held_head];
        s->held_head = (s->held_head + 1) % s->held_cap;
        s->held_len--;
        srv->held_total--;
        int kind = *(int *)item;
        if (kind == FA__ITEM_CALL) {
            srv->outstanding--;
            fa__call_free(item); /* detached by the close; nothing to answer */
        } else if (kind == FA__ITEM_REQUEST) {
            fa__outreq_answer(item, FA_RPC_SHUTTING_DOWN,
                              "The session ended: the client can no longer answer");
        } else {
            free(((fa__notify_t *)item)->text);
            free(((fa__notify_t *)item)->sub_uri);
            free(item);
        }
    }
    free(s->held);
    s->held = NULL;
    s->held_cap = 0;
}

/* ---- shutdown ---- */

static void fail_requests(fa__session_t *s, void *arg) {
    fa__session_fail_requests(s, FA_RPC_SHUTTING_DOWN, arg);
}

static void stop_session(fa__session_t *s, void *arg) {
    (void)arg;
    if (s->ops->stop)
        s->ops->stop(s);
}

static void end_listens(fa__session_t *s, void *arg) {
    (void)arg;
    fa__listen_end_all(s); /* the spec's graceful end of a listen stream: its final result */
}

static void close_session(fa__session_t *s, void *arg) {
    (void)arg;
    if (s->closing)
        return;
    s->closing = 1;
    if (s->ops->close)
        s->ops->close(s); /* the transport flushes and calls fa__session_close */
    else
        fa__session_close(s);
}

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
    each_session(srv, flush_held, NULL);
    /* Listen streams end last, after the calls whose changes they may still announce. */
    unsigned changed = atomic_exchange_explicit(&srv->changed, 0, memory_order_acquire);
    if (changed)
        fa__listen_broadcast(srv, changed);
    each_session(srv, end_listens, NULL);
    each_session(srv, fail_requests, "Server shutting down: the request was not answered");
    srv->abandoned = srv->outstanding;
    if (srv->abandoned)
        FA_WARN("%zu tool call(s) still running at exit were answered with an error and left "
                "behind",
                srv->abandoned);
    srv->closing = 1;
    fa__wakeup_close(&srv->wake, wake_closed);
    if (srv->signals_on) {
        close_handle(srv, (uv_handle_t *)&srv->sigint);
        close_handle(srv, (uv_handle_t *)&srv->sigterm);
    }
    close_handle(srv, (uv_handle_t *)&srv->shutdown_timer);
    close_handle(srv, (uv_handle_t *)&srv->call_timer);
    close_handle(srv, (uv_handle_t *)&srv->job_wake);
    /* Questions still gathering (the deadline passed): their tools get an error now. */
    while (srv->gathering)
        fa__mrtr_abandon(srv->gathering);
    close_handle(srv, (uv_handle_t *)&srv->modern_timer);
    each_session(srv, close_session, NULL);
    fa__modern_reap(srv); /* exchanges that ended but were not reaped before the timer closed */
    maybe_closed(srv);
}

static void maybe_done(fa_server_t *srv) {
    if (srv->stopping && srv->running && srv->outstanding == 0 && srv->queued == 0)
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
    fa__server_abandon(srv, FA_RPC_SHUTTING_DOWN, msg);
    srv->deadline_hit = 1;
    finish_shutdown(srv);
}

void fa__server_shutdown(fa_server_t *srv, const char *why) {
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
    each_session(srv, stop_session, NULL);
    /* No answer can arrive once input stops: fail the requests tools are waiting on (elicit,
     * sample) now, so those calls finish instead of waiting for the deadline. */
    each_session(srv, fail_requests, "Server shutting down: the client can no longer answer");
    if (srv->outstanding || srv->queued) {
        FA_INFO("shutting down (%s): waiting up to %u ms for %zu running and %zu queued call(s)",
                why, srv->opts.shutdown_timeout_ms, srv->outstanding, srv->queued);
        uv_timer_start(&srv->shutdown_timer, on_shutdown_deadline, srv->opts.shutdown_timeout_ms,
                       0);
    } else {
        FA_DEBUG("shutting down (%s)", why);
    }
    maybe_done(srv);
}

static void on_wake(fa__wakeup_t *w) {
    fa_server_t *srv = w->data;
    srv->activity++;
    /* Acquire pairs with the release store in fa_server_stop. */
    if (atomic_load_explicit(&srv->stop_requested, memory_order_acquire))
        fa__server_shutdown(srv, "stop requested");
    drain(srv, 0);
    /* Acquire pairs with the release in fa_server_notify_changed; after the drain, so a tool's
     * result goes out before the change it announced (either order is allowed; this one reads
     * better in logs). */
    unsigned changed = atomic_exchange_explicit(&srv->changed, 0, memory_order_acquire);
    if (changed)
        fa__listen_broadcast(srv, changed);
    maybe_done(srv);
}

static void on_signal(uv_signal_t *h, int signum) {
    fa_server_t *srv = h->data;
    srv->signals++;
    fa__server_shutdown(srv, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

static void on_call_timer(uv_timer_t *t) {
    fa_server_t *srv = t->data;
    uint64_t next = fa__server_expire(srv, uv_now(srv->loop));
    if (next)
        fa__server_arm_call_timer(srv, next);
}

static void on_job_wake(uv_check_t *h) {
    fa_server_t *srv = h->data;
    srv->executor.wake(srv->executor.self, srv->jobs_unwoken);
    srv->jobs_unwoken = 0;
    uv_check_stop(h);
}

int fa_server_notify_changed(fa_server_t *srv, unsigned what) {
    atomic_fetch_add_explicit(&srv->gate_users, 1, memory_order_seq_cst);
    int rc = 0;
    if (atomic_load_explicit(&srv->gate_closed, memory_order_seq_cst)) {
        rc = FA_ESTATE;
    } else {
        /* Release: pairs with the loop's acquire exchange in on_wake. */
        atomic_fetch_or_explicit(&srv->changed, what, memory_order_release);
        fa__wakeup_send(&srv->wake);
    }
    atomic_fetch_sub_explicit(&srv->gate_users, 1, memory_order_release);
    return rc;
}

static void on_modern_timer(uv_timer_t *t) {
    fa__modern_on_timer(t->data);
}

void fa__modern_arm(fa_server_t *srv, uint64_t delay_ms) {
    uv_timer_t *t = &srv->modern_timer;
    if (uv_is_active((uv_handle_t *)t) && uv_timer_get_due_in(t) <= delay_ms)
        return; /* already due sooner: it re-arms itself for the rest */
    uv_timer_start(t, on_modern_timer, delay_ms, 0);
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
    uint64_t now = uv_now(srv->loop);
    uv_timer_start(&srv->call_timer, on_call_timer, deadline_ms > now ? deadline_ms - now : 0, 0);
}

/* ---- start and close ---- */

int fa_server_start(fa_server_t *srv, uv_loop_t *loop) {
    if (!srv || !loop || srv->running || srv->closing || srv->abandoned)
        return FA_ESTATE;
    int rc = fa__tools_build_pages(srv);
    if (rc)
        return rc;
    srv->loop = loop;
    size_t inflight = srv->opts.max_inflight;
    if ((rc = fa_mpsc_new(&srv->completions, inflight * 2 > 1024 ? inflight * 2 : 1024)) != 0)
        return rc;
    int nworkers = srv->opts.workers ? srv->opts.workers : fa__cpu_count();
    srv->own_executor = srv->executor.submit == NULL;
    if (srv->own_executor) {
        if ((rc = fa__workers_new(&srv->workers, nworkers, inflight, fa__call_run, srv)) != 0)
            goto fail_queue;
        srv->executor = (fa__executor_t){srv->workers, workers_submit, workers_wake, NULL};
    }
    /* The MRTR requestState key: a shared file (several instances) or random per process. */
    rc = srv->state_key_file ? fa__state_key_file(&srv->state_key, srv->state_key_file)
                             : fa__state_key_random(&srv->state_key);
    if (rc) {
        FA_ERROR("cannot set up the requestState key%s%s: %s", srv->state_key_file ? " from " : "",
                 srv->state_key_file ? srv->state_key_file : "", fa_strerror(rc));
        goto fail_workers;
    }
    if ((rc = fa__wakeup_init(&srv->wake, loop, on_wake)) != 0)
        goto fail_workers;
    uv_timer_init(loop, &srv->shutdown_timer);
    uv_timer_init(loop, &srv->call_timer);
    uv_check_init(loop, &srv->job_wake);
    uv_timer_init(loop, &srv->modern_timer);
    srv->modern_timer.data = srv;
    srv->gathering = srv->gathering_tail = NULL;
    srv->reap = NULL;
    atomic_store_explicit(&srv->changed, 0, memory_order_relaxed);
    srv->jobs_unwoken = 0;
    srv->wake.data = srv;
    srv->shutdown_timer.data = srv->call_timer.data = srv->job_wake.data = srv;
    srv->handles_open = 5;
    srv->signals_on = srv->opts.handle_signals;
    if (srv->signals_on) {
        uv_signal_init(loop, &srv->sigint);
        uv_signal_init(loop, &srv->sigterm);
        srv->sigint.data = srv->sigterm.data = srv;
        uv_signal_start(&srv->sigint, on_signal, SIGINT);
        uv_signal_start(&srv->sigterm, on_signal, SIGTERM);
        srv->handles_open += 2;
    }
    srv->running = 1;
    srv->stopping = srv->deadline_hit = srv->signals = srv->closing = 0;
    srv->close_cb = NULL;
    atomic_store_explicit(&srv->stop_requested, 0, memory_order_relaxed);
    /* seq_cst: opens the gate for fa__server_post / fa_server_stop. */
    atomic_store_explicit(&srv->gate_closed, 0, memory_order_seq_cst);
    FA_DEBUG("server started: %d worker thread(s), %zu tool(s)", nworkers, srv->ntools);
    return 0;

fail_workers:
    if (srv->own_executor) {
        fa__workers_free(srv->workers);
        memset(&srv->executor, 0, sizeof srv->executor);
    }
    srv->workers = NULL;
fail_queue:
    fa_mpsc_free(srv->completions);
    srv->completions = NULL;
    return rc;
}

void fa_server_close(fa_server_t *srv, fa_server_close_cb cb) {
    srv->close_cb = cb;
    if (srv->running)
        fa__server_shutdown(srv, "closed by its owner");
    else
        maybe_closed(srv);
}

/* Everything closed: join the executor, free the queue, tell the owner. */
static void maybe_closed(fa_server_t *srv) {
    if (!srv->closing || srv->handles_open > 0 || srv->nsessions > 0)
        return;
    srv->closing = 0;
    if (srv->own_executor)
        memset(&srv->executor, 0, sizeof srv->executor);
    if (srv->abandoned) {
        /* Leave the pool behind: worker threads inside tools still use it. Kept on purpose. */
        if (srv->workers)
            FA_LSAN_KEEP(srv->workers);
    } else if (srv->own_executor) {
        /* The default pool is joined here; an installed executor is stopped by its owner, who
         * must have drained it before (nothing is outstanding, or we would be abandoning). */
        fa__workers_free(srv->workers);
    }
    srv->workers = NULL;
    /* Items finished between the last drain and the join (or the gate's closing) carry nothing
     * to deliver. Abandoned calls do not hold the queue: finish_shutdown closed the gate and
     * waited for every thread inside fa__server_post to leave, and a post that finds the gate
     * closed does not touch the queue, so it is freed in both cases. */
    void *item;
    while ((item = fa_mpsc_pop(srv->completions)) != NULL) {
        if (*(int *)item == FA__ITEM_CALL) {
            fa__call_free(item);
        } else if (*(int *)item == FA__ITEM_REQUEST) {
            fa__outreq_answer(item, FA_RPC_SHUTTING_DOWN, "Server shutting down");
        } else {
            free(((fa__notify_t *)item)->text);
            free(((fa__notify_t *)item)->sub_uri);
            free(item);
        }
    }
    fa_mpsc_free(srv->completions);
    srv->completions = NULL;
    srv->outstanding = srv->queued = 0;
    fa_server_close_cb cb = srv->close_cb;
    srv->close_cb = NULL;
    srv->loop = NULL;
    if (cb)
        cb(srv);
}
