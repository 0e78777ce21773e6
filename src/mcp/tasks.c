/* tasks.c: the tasks extension in the engine (mcp/tasks.h has the model; the table is in
 * task_table.c).
 *
 * A task's tool call runs on the server's task session, an internal session with no transport:
 * its session ops receive what the engine writes for the call. The call's JSON-RPC id is the
 * task id (a JSON string), so the response the engine commits names its task: a result makes
 * the task completed (a tool error, isError, included: tasks.md §Task Status), a JSON-RPC error
 * makes it failed. Notifications of a task (progress, log) are dropped: the extension does not
 * carry them (tasks.md §Task Status Notifications). A question the tool asks the client
 * (elicitation, sampling, roots) becomes a pending inputRequest (outreq.c hands it here); the
 * client answers it with tasks/update, which feeds the answer to the tool as the response to
 * its request. tasks/cancel cancels the call like notifications/cancelled does (the tool sees
 * fa_call_is_cancelled, a Python tool a CancelledError) and the task is cancelled at once.
 *
 * One session for every task: the calls are told apart by their ids, and the session's limits
 * (max_session_inflight, max_queued) then bound the tasks' calls like any client's. It opens
 * with the first task and closes with the server. Loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "fasterapi/error.h"
#include "mcp/jsonrpc.h"
#include "mcp/server_internal.h"
#include "mcp/tasks.h"

struct fa__taskeng_s {
    fa__tasks_t table;
    fa__session_t *s; /* the task session, or NULL */
    fa__buf_t buf;    /* the message the engine is writing */
    fa__out_kind_t kind;
};

static uint64_t unix_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A pending input request was answered (answer) or abandoned (NULL). */
static void on_input(void *req, const json_t *answer, void *arg) {
    (void)arg;
    fa__outreq_t *r = req;
    if (!answer) {
        fa__outreq_answer(r, FA_RPC_INTERNAL_ERROR,
                          "The task ended before the client answered this request");
        return;
    }
    r->cb(r->arg, answer, NULL);
    fa__outreq_free(r);
}

/* The task a call id text ("\"<task id>\"") names. */
static fa__task_t *task_of(struct fa__taskeng_s *e, const char *id_text, size_t len) {
    char id[40];
    if (len != 34 || id_text[0] != '"' || id_text[33] != '"')
        return NULL;
    memcpy(id, id_text + 1, 32);
    id[32] = '\0';
    return fa__tasks_find(&e->table, id);
}

/* ---- the task session's ops ---- */

static fa__buf_t *t_out(fa__session_t *s, const fa__out_info_t *info) {
    struct fa__taskeng_s *e = s->transport;
    e->buf.len = 0;
    e->kind = info->kind;
    return &e->buf;
}

static void t_commit(fa__session_t *s) {
    struct fa__taskeng_s *e = s->transport;
    if (e->kind != FA__OUT_RESPONSE)
        return; /* notifications of a task are not delivered (see the top) */
    json_error_t jerr;
    json_t *msg = json_loadb(e->buf.data, e->buf.len, 0, &jerr);
    const char *id = json_string_value(json_object_get(msg, "id"));
    fa__task_t *task = id ? fa__tasks_find(&e->table, id) : NULL;
    json_t *result = json_object_get(msg, "result");
    json_t *error = json_object_get(msg, "error");
    if (task && json_is_object(result)) {
        /* The inlined result is the tool's CallToolResult; its resultType belonged to the
         * envelope of a direct answer. */
        json_object_del(result, "resultType");
        fa__task_finish(&e->table, task, FA__TASK_COMPLETED, result, unix_ms());
    } else if (task) {
        fa__task_finish(&e->table, task, FA__TASK_FAILED, json_is_object(error) ? error : NULL,
                        unix_ms());
    } else if (!msg) {
        FA_WARN("task session: unreadable response dropped: %s", jerr.text);
    }
    json_decref(msg);
    e->buf.len = 0;
}

static void t_nop(fa__session_t *s) {
    (void)s;
}

/* Live tasks end: their calls are cancelled (nobody will poll a server that is stopping). */
static void cancel_live(fa_server_t *srv, struct fa__taskeng_s *e) {
    uint64_t now = unix_ms();
    for (fa__task_t *k = e->table.head; k; k = k->next) {
        if (fa__task_terminal(k))
            continue;
        char id_text[40];
        snprintf(id_text, sizeof id_text, "\"%s\"", k->id);
        if (e->s)
            fa__session_cancel(e->s, id_text, strlen(id_text), "server shutting down");
        fa__task_finish(&e->table, k, FA__TASK_CANCELLED, NULL, now);
    }
    (void)srv;
}

static void t_stop(fa__session_t *s) {
    cancel_live(s->srv, s->transport);
}

static void t_close(fa__session_t *s) {
    struct fa__taskeng_s *e = s->transport;
    cancel_live(s->srv, e);
    e->s = NULL;
    fa__session_close(s);
}

static const fa__session_ops_t task_ops = {t_out, t_commit, t_nop,   t_nop,
                                           NULL,  t_stop,   t_close, NULL};

static struct fa__taskeng_s *engine(fa_server_t *srv) {
    if (!srv->taskeng) {
        struct fa__taskeng_s *e = calloc(1, sizeof *e);
        if (!e)
            return NULL;
        fa__tasks_init(&e->table, srv->opts.max_tasks, srv->opts.task_ttl_ms, on_input, NULL);
        srv->taskeng = e;
    }
    struct fa__taskeng_s *e = srv->taskeng;
    /* In the stateless exchanges' budget, not the 2025 sessions': a server limited to one
     * client session keeps it. */
    if (!e->s && fa__session_open_exchange(srv, &task_ops, e, &e->s) == 0)
        e->s->era = FA__ERA_MODERN;
    return e->s ? e : NULL;
}

void fa__tasks_engine_free(fa_server_t *srv) {
    struct fa__taskeng_s *e = srv->taskeng;
    if (!e)
        return;
    fa__tasks_free(&e->table);
    fa__buf_free(&e->buf);
    free(e);
    srv->taskeng = NULL;
}

static void arm(fa_server_t *srv) {
    struct fa__taskeng_s *e = srv->taskeng;
    if (!e || !e->table.head || !srv->running)
        return;
    uint64_t now = unix_ms(), at = e->table.head->expires_ms;
    fa__modern_arm(srv, at > now ? at - now : 0);
}

void fa__tasks_on_timer(fa_server_t *srv) {
    struct fa__taskeng_s *e = srv->taskeng;
    if (!e)
        return;
    uint64_t now = unix_ms();
    fa__task_t *k;
    while ((k = fa__tasks_expired(&e->table, now))) {
        if (!fa__task_terminal(k) && e->s) {
            /* Past its ttlMs the task may be discarded (tasks.md §Task Polling): its work stops
             * too, or it would run on for nobody. */
            char id_text[40];
            snprintf(id_text, sizeof id_text, "\"%s\"", k->id);
            fa__session_cancel(e->s, id_text, strlen(id_text), "task expired");
        }
        fa__tasks_remove(&e->table, k);
    }
    arm(srv);
}

/* ---- capability gate ---- */

int fa__tasks_declared(const json_t *caps) {
    return json_is_object(json_object_get(json_object_get(caps, "extensions"), FA_TASKS_EXTENSION));
}

void fa__tasks_reply_required(fa__session_t *s, fa__reply_to_t to, const json_t *id,
                              const char *what) {
    json_t *data =
        json_pack("{s:{s:{s:{}}}}", "requiredCapabilities", "extensions", FA_TASKS_EXTENSION);
    fa__reply_error_data(s, to, id, FA_RPC_MISSING_CAPABILITY, data,
                         "Missing required client capability: extension " FA_TASKS_EXTENSION
                         " (%s runs only as a task)",
                         what);
    json_decref(data);
}

/* ---- tools/call as a task ---- */

void fa__task_start(fa__session_t *s, fa__reply_to_t to, const json_t *id, fa__tool_t *tool,
                    json_t *args) {
    fa_server_t *srv = s->srv;
    fa__mrtr_t *mrtr = s->req->mrtr;
    s->req->mrtr = NULL;
    struct fa__taskeng_s *e = engine(srv);
    fa__task_t *task = NULL;
    int rc = e               ? fa__tasks_create(&e->table, unix_ms(), &task, NULL)
             : srv->stopping ? FA_ESTATE
                             : FA_ENOMEM;
    if (rc) {
        json_decref(args);
        fa__mrtr_free(mrtr);
        if (rc == FA_ELIMIT)
            fa__reply_error(s, to, id, FA_RPC_SERVER_OVERLOADED,
                            "Server overloaded: %zu tasks exist (the limit); retry once some "
                            "have ended",
                            e->table.n);
        else if (rc == FA_ESTATE)
            fa__reply_error(s, to, id, FA_RPC_SHUTTING_DOWN,
                            "Server shutting down: no new tasks are started");
        else
            fa__reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: %s",
                            fa_strerror(rc));
        return;
    }
    /* The call runs under the request's own capabilities and log level, and takes the MRTR
     * answers the request carried (a tool that asked before its task started). */
    json_t *task_id = json_string(task->id);
    fa__mreq_t req = {s->req->caps, s->req->log_level, mrtr};
    fa__session_t *ts = e->s;
    ts->req = &req;
    if (task_id)
        fa__session_start_call(ts, FA__DIRECT, task_id, FA__OP_TOOL, tool, args, NULL);
    else
        json_decref(args);
    ts->req = NULL;
    fa__mrtr_free(req.mrtr); /* not taken: the call was refused (the task holds the error) */
    json_decref(task_id);
    if (!task_id)
        fa__task_finish(&e->table, task, FA__TASK_FAILED, NULL, unix_ms());
    /* The task is in the table now, so a tasks/get for it resolves: the CreateTaskResult may go
     * out (tasks.md §Task Creation: durably created first). */
    json_t *result = fa__task_json(&e->table, task, 0);
    if (result && json_object_set_new(result, "resultType", json_string("task")) == 0)
        fa__reply_result(s, to, id, result);
    else
        fa__reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
    json_decref(result);
    arm(srv);
}

int fa__task_on_request(fa__session_t *s, fa_call_t *c, fa__outreq_t *r) {
    struct fa__taskeng_s *e = s->srv->taskeng;
    if (!e || s != e->s)
        return 0;
    fa__task_t *task = c && !c->detached ? task_of(e, c->id_text, c->id_len) : NULL;
    if (!task || fa__task_terminal(task)) {
        fa__outreq_answer(r, FA_RPC_INTERNAL_ERROR, "The task has ended");
        return 1;
    }
    if (c->mrtr && fa__mrtr_take_answer(c->mrtr, r))
        return 1; /* answered in the input_required rounds before the task started */
    const char *cap = fa__needed_capability(r->method);
    if (cap && !json_object_get(c->client_caps, cap)) {
        char msg[200];
        snprintf(msg, sizeof msg, "Missing required client capability: %s (needed for %s)", cap,
                 r->method);
        fa__outreq_answer(r, FA_RPC_MISSING_CAPABILITY, msg);
        return 1;
    }
    int rc = fa__task_ask(&e->table, task, r->key, r->method, r->params, r, unix_ms(), NULL);
    if (rc)
        fa__outreq_answer(r, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
    return 1;
}

/* ---- tasks/get, tasks/update, tasks/cancel ---- */

/* The gate and the lookup every tasks/ method starts with: NULL after replying. The capability
 * comes first, so an undeclared client hears -32021 even for an unknown task (conformance_2026.md
 * §6.5), then a taskId that names no task is -32602. */
static fa__task_t *lookup(fa__session_t *s, fa__reply_to_t to, const json_t *id,
                          const json_t *params, const char *method) {
    if (!s->req || !fa__tasks_declared(s->req->caps)) {
        fa__tasks_reply_required(s, to, id, method);
        return NULL;
    }
    const char *task_id = json_string_value(json_object_get(params, "taskId"));
    if (!task_id) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                        "Invalid params: %s needs taskId (a string)", method);
        return NULL;
    }
    struct fa__taskeng_s *e = s->srv->taskeng;
    fa__task_t *task = e ? fa__tasks_find(&e->table, task_id) : NULL;
    if (!task)
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                        "Invalid params: no task %.64s (unknown or expired)", task_id);
    return task;
}

static void reply_ack(fa__session_t *s, fa__reply_to_t to, const json_t *id) {
    json_t *ack = json_object(); /* resultType "complete" is added for the era */
    if (ack)
        fa__reply_result(s, to, id, ack);
    else
        fa__reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
    json_decref(ack);
}

void fa__do_tasks_get(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params) {
    fa__task_t *task = lookup(s, to, id, params, "tasks/get");
    if (!task)
        return;
    json_t *result = fa__task_json(&s->srv->taskeng->table, task, 1);
    if (result)
        fa__reply_result(s, to, id, result);
    else
        fa__reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
    json_decref(result);
}

void fa__do_tasks_update(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params) {
    fa__task_t *task = lookup(s, to, id, params, "tasks/update");
    if (!task)
        return;
    const json_t *responses = json_object_get(params, "inputResponses");
    if (!json_is_object(responses)) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                        "Invalid params: tasks/update needs inputResponses (an object of answers "
                        "by inputRequests key)");
        return;
    }
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)(uintptr_t)responses, k, v) {
        if (!json_is_object(v)) {
            /* Checked before any answer is delivered: all or nothing. */
            fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                            "Invalid params: inputResponses.%.100s must be an object (an "
                            "ElicitResult, CreateMessageResult or ListRootsResult)",
                            k);
            return;
        }
    }
    /* The answers reach the tool's pending requests now; the ack follows at once (the spec
     * lets it precede the status change; here the answered keys are already gone). */
    fa__task_update(&s->srv->taskeng->table, task, responses, unix_ms());
    reply_ack(s, to, id);
}

void fa__do_tasks_cancel(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params) {
    fa__task_t *task = lookup(s, to, id, params, "tasks/cancel");
    if (!task)
        return;
    struct fa__taskeng_s *e = s->srv->taskeng;
    if (!fa__task_terminal(task)) {
        /* The call first, so the tool sees the cancellation when its pending questions fail. */
        char id_text[40];
        snprintf(id_text, sizeof id_text, "\"%s\"", task->id);
        if (e->s)
            fa__session_cancel(e->s, id_text, strlen(id_text), "tasks/cancel");
        fa__task_finish(&e->table, task, FA__TASK_CANCELLED, NULL, unix_ms());
    }
    /* A terminal task gets the same empty ack: cancelling is idempotent (the suite's
     * tasks-cancel-terminal-idempotent-ack). */
    reply_ack(s, to, id);
}
