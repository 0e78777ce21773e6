/* session.c: the session table and the accounting of calls, per session and per server.
 *
 * The invariants (server_internal.h has the whole picture):
 *  - srv->outstanding <= max_inflight, the executor queue's capacity: a submit never fails for
 *    lack of room (should it, the call is still answered, never lost);
 *  - s->outstanding <= max_session_inflight for every session;
 *  - a session with a backlog is in srv->waiting exactly when its own limit has room (it waits
 *    for a server slot only), so handing out a freed slot costs O(1) however many sessions exist;
 *  - every call that still owes a response is in its session's `ids` map and `pending` list and
 *    in the server's `timeline`; detach() takes it out of all three at once.
 * Loop thread only.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "fasterapi/error.h"
#include "mcp/jsonrpc.h"
#include "mcp/server_internal.h"

/* ---- intrusive lists ---- */

/* The call-list helpers take the offset of the link the list uses inside fa_call_t. */
#define PENDING offsetof(fa_call_t, pending)
#define BACKLOG offsetof(fa_call_t, backlog)
#define TIMELINE offsetof(fa_call_t, timeline)

static fa__calllink_t *link_of(fa_call_t *c, size_t link) {
    return (fa__calllink_t *)(void *)((char *)c + link);
}

static void list_append(fa__calllist_t *l, fa_call_t *c, size_t link) {
    fa__calllink_t *k = link_of(c, link);
    k->prev = l->tail;
    k->next = NULL;
    if (l->tail)
        link_of(l->tail, link)->next = c;
    else
        l->head = c;
    l->tail = c;
}

static void list_remove(fa__calllist_t *l, fa_call_t *c, size_t link) {
    fa__calllink_t *k = link_of(c, link);
    if (k->prev)
        link_of(k->prev, link)->next = k->next;
    else
        l->head = k->next;
    if (k->next)
        link_of(k->next, link)->prev = k->prev;
    else
        l->tail = k->prev;
    k->prev = k->next = NULL;
}

static void waiting_push(fa_server_t *srv, fa__session_t *s) {
    if (s->in_waiting)
        return;
    s->in_waiting = 1;
    s->waiting.prev = srv->waiting.tail;
    s->waiting.next = NULL;
    if (srv->waiting.tail)
        srv->waiting.tail->waiting.next = s;
    else
        srv->waiting.head = s;
    srv->waiting.tail = s;
}

static void waiting_remove(fa_server_t *srv, fa__session_t *s) {
    if (!s->in_waiting)
        return;
    if (s->waiting.prev)
        s->waiting.prev->waiting.next = s->waiting.next;
    else
        srv->waiting.head = s->waiting.next;
    if (s->waiting.next)
        s->waiting.next->waiting.prev = s->waiting.prev;
    else
        srv->waiting.tail = s->waiting.prev;
    s->waiting.prev = s->waiting.next = NULL;
    s->in_waiting = 0;
}

/* ---- the table ---- */

static size_t session_limit(const fa_server_t *srv) {
    return srv->opts.max_session_inflight ? srv->opts.max_session_inflight : srv->opts.max_inflight;
}

fa__session_t *fa__session_get(const fa_server_t *srv, fa__sref_t ref) {
    uint32_t idx = (uint32_t)ref, gen = (uint32_t)(ref >> 32);
    if (idx >= srv->nslots || srv->slots[idx].gen != gen)
        return NULL;
    return srv->slots[idx].s;
}

static int session_open(fa_server_t *srv, const fa__session_ops_t *ops, void *transport,
                        int ephemeral, fa__session_t **out) {
    if (!srv->running || srv->stopping)
        return FA_ESTATE;
    if ((ephemeral ? srv->nexchanges : srv->nsessions - srv->nexchanges) >= srv->opts.max_sessions)
        return FA_ELIMIT;
    uint32_t idx;
    if (srv->free_slot != UINT32_MAX) {
        idx = srv->free_slot;
        srv->free_slot = srv->slots[idx].next_free;
    } else {
        if (srv->nslots == srv->slots_cap) {
            uint32_t cap = srv->slots_cap ? srv->slots_cap * 2 : 16;
            fa__sslot_t *n = realloc(srv->slots, cap * sizeof *n);
            if (!n)
                return FA_ENOMEM;
            srv->slots = n;
            srv->slots_cap = cap;
        }
        idx = srv->nslots++;
        srv->slots[idx] = (fa__sslot_t){NULL, 0, UINT32_MAX};
    }
    fa__session_t *s = calloc(1, sizeof *s);
    if (!s) {
        srv->slots[idx].next_free = srv->free_slot;
        srv->free_slot = idx;
        return FA_ENOMEM;
    }
    fa__sslot_t *slot = &srv->slots[idx];
    if (++slot->gen == 0) /* generation 0 never names a live session */
        slot->gen = 1;
    slot->s = s;
    s->srv = srv;
    s->ref = (fa__sref_t)slot->gen << 32 | idx;
    s->ops = ops;
    s->transport = transport;
    atomic_init(&s->log_level, FA_MCP_DEFAULT_LOG_LEVEL);
    s->ephemeral = ephemeral;
    srv->nsessions++;
    srv->nexchanges += (size_t)ephemeral;
    *out = s;
    return 0;
}

int fa__session_open(fa_server_t *srv, const fa__session_ops_t *ops, void *transport,
                     fa__session_t **out) {
    return session_open(srv, ops, transport, 0, out);
}

int fa__session_open_exchange(fa_server_t *srv, const fa__session_ops_t *ops, void *transport,
                              fa__session_t **out) {
    return session_open(srv, ops, transport, 1, out);
}

/* The call's response is no longer owed (answered early, cancelled, timed out, session gone). */
static void detach(fa__session_t *s, fa_call_t *c) {
    if (c->detached)
        return;
    c->detached = 1;
    fa__map_del(&s->ids, c->id_text, c->id_len);
    list_remove(&s->pending, c, PENDING);
    list_remove(&s->srv->timeline, c, TIMELINE);
}

static void backlog_remove(fa__session_t *s, fa_call_t *c) {
    list_remove(&s->backlog, c, BACKLOG);
    c->queued = 0;
    s->queued--;
    s->srv->queued--;
    if (!s->queued)
        waiting_remove(s->srv, s);
}

/* A call that never reached the executor and no longer needs to: free it now. */
static void drop_queued(fa__session_t *s, fa_call_t *c) {
    backlog_remove(s, c);
    fa__call_free(c);
}

void fa__session_close(fa__session_t *s) {
    fa_server_t *srv = s->srv;
    /* Running calls: tell their tools to stop; their results come back to a stale handle. */
    while (s->pending.head) {
        fa_call_t *c = s->pending.head;
        atomic_store_explicit(&c->cancelled, 1, memory_order_release);
        detach(s, c);
        if (c->batch) {
            fa__batch_release(c->batch);
            c->batch = NULL;
        }
        if (c->queued)
            drop_queued(s, c);
        else if (srv->executor.cancel)
            srv->executor.cancel(srv->executor.self, c);
    }
    fa__session_release_held(s);
    fa__listen_free(s);
    fa__session_fail_requests(s, FA_RPC_SHUTTING_DOWN,
                              "The session ended before the client answered");
    waiting_remove(srv, s);
    fa__map_free(&s->ids);
    fa__buf_free(&s->scratch);
    json_decref(s->client_caps);
    json_decref(s->subscriptions);
    uint32_t idx = (uint32_t)s->ref;
    srv->slots[idx].s = NULL;
    if (++srv->slots[idx].gen == 0) /* stale handles to this slot now miss */
        srv->slots[idx].gen = 1;
    srv->slots[idx].next_free = srv->free_slot;
    srv->free_slot = idx;
    srv->nsessions--;
    srv->nexchanges -= (size_t)s->ephemeral;
    free(s);
    if (srv->closing)
        fa__server_maybe_closed(srv); /* may run the owner's close callback: nothing after it */
}

/* ---- dispatching calls ---- */

/* Hands a call to the executor. The job queue holds max_inflight calls and we never have more
 * outstanding, so it cannot be full; should it be, the call is answered, never lost. */
static void dispatch(fa__session_t *s, fa_call_t *c) {
    fa_server_t *srv = s->srv;
    c->dispatched_ns = uv_hrtime();
    if (c->tool && (c->tool->flags & FA_TOOL_NONBLOCKING)) {
        s->outstanding++;
        srv->outstanding++;
        atomic_store_explicit(&c->inline_state, FA__INLINE_RUNNING, memory_order_relaxed);
        fa__call_run(c, NULL);
        int running = FA__INLINE_RUNNING;
        if (!atomic_compare_exchange_strong_explicit(&c->inline_state, &running, FA__INLINE_LEFT,
                                                     memory_order_acq_rel, memory_order_acquire)) {
            /* Finished inside the callback: its notifications (already queued) go out first,
             * then the result, as for any call. */
            fa__server_drain(srv);
            fa__server_on_complete(srv, c);
        }
        return;
    }
    if (fa__server_submit(srv, c) != 0) {
        fa__reply_to_t to = {c->batch, c->slot};
        detach(s, c);
        fa__reply_call_error(s, to, c, FA_RPC_SERVER_OVERLOADED,
                             "Server overloaded: the job queue is full; retry later");
        fa__call_free(c);
        return;
    }
    s->outstanding++;
    srv->outstanding++;
}

/* Hands freed server slots to the sessions waiting for one, round robin: one call each. */
static void pump(fa_server_t *srv) {
    if (srv->pumping) /* an inline call finishing inside dispatch: the outer loop goes on */
        return;
    srv->pumping = 1;
    while (srv->outstanding < srv->opts.max_inflight && srv->waiting.head) {
        fa__session_t *s = srv->waiting.head;
        waiting_remove(srv, s);
        fa_call_t *c = s->backlog.head;
        backlog_remove(s, c);
        dispatch(s, c);
        if (s->queued && s->outstanding < session_limit(srv))
            waiting_push(srv, s);
        if (s->paused && s->queued < srv->opts.max_queued) {
            s->paused = 0;
            s->ops->resume(s);
        }
    }
    srv->pumping = 0;
}

fa_call_t *fa__session_start_call(fa__session_t *s, fa__reply_to_t to, const json_t *id,
                                  fa__op_t op, const fa__tool_t *tool, json_t *payload,
                                  json_t *token) {
    fa_server_t *srv = s->srv;
    /* The id keys the in-flight table (cancellation); a live id cannot be reused. */
    fa__buf_t idb = FA__BUF_INIT;
    if (fa__rpc_write_id(&idb, id) != 0 || fa__buf_putc(&idb, '\0') != 0) {
        fa__buf_free(&idb);
        json_decref(payload);
        fa__reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        return NULL;
    }
    if (fa__map_get(&s->ids, idb.data, idb.len - 1)) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_REQUEST,
                        "Invalid Request: id %s is already used by a request in progress",
                        idb.data);
        fa__buf_free(&idb);
        json_decref(payload);
        return NULL;
    }
    size_t limit = session_limit(srv);
    int can_run = srv->outstanding < srv->opts.max_inflight && s->outstanding < limit &&
                  !s->queued && !srv->waiting.head;
    if (!can_run && s->queued >= srv->opts.max_queued) {
        fa__reply_error(s, to, id, FA_RPC_SERVER_OVERLOADED,
                        "Server overloaded: %zu calls are running and %zu waiting; retry later",
                        s->outstanding, s->queued);
        fa__buf_free(&idb);
        json_decref(payload);
        return NULL;
    }
    fa_call_t *c = malloc(sizeof *c + FA_CALL_INLINE_REPLY);
    if (!c) {
        fa__buf_free(&idb);
        json_decref(payload);
        fa__reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        return NULL;
    }
    *c = (fa_call_t){0}; /* the header only: inline_reply needs no zeroing */
    c->kind = FA__ITEM_CALL;
    c->srv = srv;
    c->sref = s->ref;
    c->op = op;
    c->tool = tool;
    if (op == FA__OP_TOOL)
        c->args = payload;
    else
        c->params = payload;
    atomic_init(&c->exec_slot, -1);
    atomic_init(&c->log_level, atomic_load_explicit(&s->log_level, memory_order_relaxed));
    if (s->req) {
        /* Modern: capabilities and log level come with each request (spec_2026.md §2). */
        c->modern = 1;
        c->client_caps = json_incref((json_t *)(uintptr_t)s->req->caps);
        atomic_init(&c->log_level, s->req->log_level);
        c->mrtr = s->req->mrtr;
        s->req->mrtr = NULL;
    } else {
        c->client_caps = s->client_caps ? json_incref(s->client_caps) : json_object();
    }
    c->progress_token = token ? json_incref(token) : NULL;
    c->id_len = idb.len - 1;
    c->id_text = fa__buf_detach(&idb, NULL);
    c->seq = ++srv->next_seq;
    c->batch = to.batch;
    c->slot = to.slot;
    if (!c->id_text || fa__map_put(&s->ids, c->id_text, c->id_len, c) != 0) {
        fa__call_free(c);
        fa__reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        return NULL;
    }
    list_append(&s->pending, c, PENDING);
    list_append(&srv->timeline, c, TIMELINE);
    if (srv->opts.tool_timeout_ms) {
        c->deadline_ms = uv_now(srv->loop) + srv->opts.tool_timeout_ms;
        if (c == srv->timeline.head)
            fa__server_arm_call_timer(srv, c->deadline_ms);
    }
    if (can_run) {
        dispatch(s, c);
        return c;
    }
    c->queued = 1;
    list_append(&s->backlog, c, BACKLOG);
    s->queued++;
    srv->queued++;
    if (s->outstanding < limit)
        waiting_push(srv, s);
    if (s->queued >= srv->opts.max_queued && !s->paused) {
        /* Backpressure: stop reading until calls come back (DESIGN.md §2). */
        s->paused = 1;
        s->ops->pause(s);
    }
    pump(srv); /* no-op unless a server slot is free (then the head of `waiting` takes it) */
    return c;
}

void fa__server_on_complete(fa_server_t *srv, fa_call_t *c) {
    srv->outstanding--;
    srv->calls_done++;
    srv->busy_ns += uv_hrtime() - c->dispatched_ns;
    fa__session_t *s = fa__session_get(srv, c->sref);
    if (!s) {
        /* The session closed while the tool ran: nobody is left to answer. */
        fa__call_free(c);
        pump(srv);
        return;
    }
    s->outstanding--;
    if (c->mrtr && !c->detached)
        fa__mrtr_finish(s, c, 0); /* it asked the client something: input_required goes out */
    if (!c->detached) {
        detach(s, c);
        fa__reply_to_t to = {c->batch, c->slot};
        fa__buf_t *out = fa__reply_buf(s, to, c->id_text, c->id_len);
        if (c->reply && fa__buf_append(out, c->reply, c->reply_len) == 0)
            fa__reply_commit(s, to);
        else /* the finishing thread could not build the reply (out of memory): still answer */
            fa__reply_call_error(s, to, c, FA_RPC_INTERNAL_ERROR,
                                 "Internal error: the result could not be delivered");
    }
    fa__call_free(c);
    /* This session's own slot freed: its next call queues for a server slot (fairly). */
    if (s->queued && s->outstanding < session_limit(srv))
        waiting_push(srv, s);
    pump(srv);
}

void fa__session_cancel(fa__session_t *s, const char *id_text, size_t id_len, const char *reason) {
    fa_call_t *c = fa__map_get(&s->ids, id_text, id_len);
    if (!c)
        return; /* unknown or already finished: the race the spec tells us to tolerate */
    /* Release: a tool that sees the flag also sees nothing else it needs; relaxed would do, but
     * release keeps the flag ordered after our bookkeeping for anyone inspecting the call. */
    atomic_store_explicit(&c->cancelled, 1, memory_order_release);
    detach(s, c);
    if (!c->queued && s->srv->executor.cancel)
        s->srv->executor.cancel(s->srv->executor.self, c);
    FA_DEBUG("call %s cancelled by the client%s%s", c->id_text, reason ? ": " : "",
             reason ? reason : "");
    if (c->batch) {
        /* No response for a cancelled request, also inside a batch: its slot stays empty. */
        fa__batch_t *b = c->batch;
        c->batch = NULL;
        fa__batch_done(s, b);
    }
    if (c->queued)
        drop_queued(s, c);
}

void fa__session_answer_call(fa__session_t *s, fa_call_t *c, const json_t *result, int code,
                             const char *message, const json_t *data, int running) {
    if (c->detached)
        return;
    fa__reply_to_t to = {c->batch, c->slot};
    atomic_store_explicit(&c->cancelled, 1, memory_order_release); /* its own result is moot */
    detach(s, c);
    c->batch = NULL;
    fa__buf_t *out = fa__reply_buf(s, to, c->id_text, c->id_len);
    if ((result ? fa__rpc_write_result(out, c->id_text, c->id_len, result)
                : fa__rpc_write_error(out, c->id_text, c->id_len, code, message, data)) == 0)
        fa__reply_commit(s, to);
    else
        fa__reply_call_error(s, to, c, FA_RPC_INTERNAL_ERROR,
                             "Internal error: the result could not be written");
    if (c->queued)
        drop_queued(s, c);
    else if (running && s->srv->executor.cancel)
        s->srv->executor.cancel(s->srv->executor.self, c);
}

void fa__session_set_log_level(fa__session_t *s, int level) {
    /* Relaxed: tool threads read it as a filter hint; a late view only changes one message. */
    atomic_store_explicit(&s->log_level, level, memory_order_relaxed);
    for (fa_call_t *c = s->pending.head; c; c = c->pending.next)
        atomic_store_explicit(&c->log_level, level, memory_order_relaxed);
}

/* ---- timeouts and shutdown ---- */

uint64_t fa__server_expire(fa_server_t *srv, uint64_t now_ms) {
    static const char *const op_names[] = {"tools/call", "resources/read", "prompts/get",
                                           "completion/complete"};
    while (srv->timeline.head && srv->timeline.head->deadline_ms &&
           srv->timeline.head->deadline_ms <= now_ms) {
        fa_call_t *c = srv->timeline.head;
        fa__session_t *s = fa__session_get(srv, c->sref); /* live: closing detaches its calls */
        fa__reply_to_t to = {c->batch, c->slot};
        unsigned ms = srv->opts.tool_timeout_ms;
        atomic_store_explicit(&c->cancelled, 1, memory_order_release);
        detach(s, c);
        c->batch = NULL;
        fa__buf_t *out = fa__reply_buf(s, to, c->id_text, c->id_len);
        int rc;
        if (c->op == FA__OP_TOOL) {
            /* A tool that runs too long is a tool failure the model can read. */
            char msg[256];
            snprintf(msg, sizeof msg, "Tool %s timed out after %u ms", c->tool->name, ms);
            json_t *r = fa_result_text(msg);
            rc = r && json_object_set_new(r, "isError", json_true()) == 0 &&
                         (!c->modern || fa__modern_decorate(srv, r) == 0)
                     ? fa__rpc_write_result(out, c->id_text, c->id_len, r)
                     : FA_ENOMEM;
            json_decref(r);
        } else {
            char msg[128];
            snprintf(msg, sizeof msg, "Request timed out: %s took longer than %u ms",
                     op_names[c->op], ms);
            rc = fa__rpc_write_error(out, c->id_text, c->id_len, FA_RPC_REQUEST_TIMEOUT, msg, NULL);
        }
        if (rc == 0)
            fa__reply_commit(s, to);
        else
            fa__reply_none(s, to);
        FA_WARN("%s (call %s) timed out after %u ms",
                c->op == FA__OP_TOOL ? c->tool->name : op_names[c->op], c->id_text, ms);
        if (c->queued)
            drop_queued(s, c);
        else if (srv->executor.cancel)
            srv->executor.cancel(srv->executor.self, c);
    }
    return srv->timeline.head ? srv->timeline.head->deadline_ms : 0;
}

void fa__server_abandon(fa_server_t *srv, int code, const char *message) {
    while (srv->timeline.head) {
        fa_call_t *c = srv->timeline.head;
        fa__session_t *s = fa__session_get(srv, c->sref);
        fa__reply_to_t to = {c->batch, c->slot};
        atomic_store_explicit(&c->cancelled, 1, memory_order_release);
        detach(s, c);
        c->batch = NULL;
        fa__reply_call_error(s, to, c, code, message);
        if (c->queued)
            drop_queued(s, c);
    }
}
