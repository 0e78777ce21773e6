/* engine.c: the MCP protocol engine for one client session, 2025 era (initialize handshake).
 *
 * Everything that needs no user code is answered here, in C, on the loop thread: initialize,
 * ping, tools/list, resources/list, resources/templates/list, prompts/list (from cached text),
 * logging/setLevel, cancellation and every validation error. Only requests that run user code
 * (tools/call, resources/read, prompts/get, completion/complete) become jobs (DESIGN.md §2).
 *
 * One message flows: bytes -> nesting scan -> jansson parse -> envelope classification ->
 * method dispatch -> a reply written as text into the transport's output (or into a batch slot,
 * for protocol 2025-03-26 batches) -> one write per loop iteration.
 *
 * Choices where the spec is silent (README "Protocol notes"):
 *  - Requests other than initialize and ping before initialize get -32600 ("not initialized").
 *    Requests after the initialize response but before notifications/initialized are served
 *    (clients race these; the TypeScript SDK serves them too).
 *  - A request id that is still in flight cannot be reused: -32600.
 *  - Unknown tool: JSON-RPC -32602 "Unknown tool: <name>" (the spec's own example); arguments
 *    that fail the input schema: an isError result the model can read (SEP-1303).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/log.h"
#include "core/utf8.h"
#include "fasterapi/error.h"
#include "fasterapi/version.h"
#include "mcp/jsonrpc.h"
#include "mcp/schema.h"
#include "mcp/server_internal.h"

const char *const fa__mcp_versions[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};
const size_t fa__mcp_nversions = sizeof fa__mcp_versions / sizeof fa__mcp_versions[0];

const char *const fa__mcp_log_levels[FA_MCP_NLOG_LEVELS] = {
    "debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"};

int fa__mcp_log_level(const char *name) {
    for (int i = 0; name && i < FA_MCP_NLOG_LEVELS; i++)
        if (strcmp(name, fa__mcp_log_levels[i]) == 0)
            return i;
    return -1;
}

/* Where a reply goes: straight to the transport, or into slot `slot` of a batch. */
typedef struct {
    fa__batch_t *batch;
    size_t slot;
} reply_to_t;

static const reply_to_t DIRECT = {NULL, 0};

void fa__session_init(fa__session_t *s, fa_server_t *srv, const fa__session_ops_t *ops,
                      void *transport) {
    memset(s, 0, sizeof *s);
    s->srv = srv;
    s->ops = ops;
    s->transport = transport;
    atomic_init(&s->log_level, FA_MCP_DEFAULT_LOG_LEVEL);
}

void fa__session_free(fa__session_t *s) {
    fa__session_fail_requests(s, FA_RPC_SHUTTING_DOWN, "Server shutting down");
    fa__map_free(&s->ids);
    fa__buf_free(&s->scratch);
    json_decref(s->client_caps);
    s->client_caps = NULL;
}

/* ---- replies ---- */

static void batch_finish(fa__session_t *s, fa__batch_t *b) {
    fa__buf_t *out = s->ops->out(s);
    size_t mark = out->len;
    int any = 0, rc = 0;
    for (size_t i = 0; i < b->n && rc == 0; i++) {
        if (!b->slots[i].len)
            continue;
        rc = fa__buf_putc(out, any ? ',' : '[');
        if (rc == 0)
            rc = fa__buf_append(out, b->slots[i].data, b->slots[i].len);
        any = 1;
    }
    if (any && rc == 0)
        rc = fa__buf_putc(out, ']');
    if (rc) {
        out->len = mark;
        FA_ERROR("out of memory assembling a batch response; answering with an error");
        rc = fa__rpc_write_error(out, "null", 4, FA_RPC_INTERNAL_ERROR,
                                 "Internal error: out of memory assembling the batch response",
                                 NULL);
        any = rc == 0;
    }
    if (any)
        s->ops->commit(s);
    for (size_t i = 0; i < b->n; i++)
        fa__buf_free(&b->slots[i]);
    free(b->slots);
    free(b);
}

/* One element of a batch has its answer (or needs none). */
static void batch_done(fa__session_t *s, fa__batch_t *b) {
    if (--b->pending == 0)
        batch_finish(s, b);
}

static fa__buf_t *reply_buf(fa__session_t *s, reply_to_t to) {
    return to.batch ? &to.batch->slots[to.slot] : s->ops->out(s);
}

static void reply_commit(fa__session_t *s, reply_to_t to) {
    if (to.batch)
        batch_done(s, to.batch);
    else
        s->ops->commit(s);
}

static void reply_none(fa__session_t *s, reply_to_t to) {
    if (to.batch)
        batch_done(s, to.batch);
}

/* Writes the error reply; `id` may be NULL (unknown id -> null). */
static void reply_error(fa__session_t *s, reply_to_t to, const json_t *id, int code,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void reply_error(fa__session_t *s, reply_to_t to, const json_t *id, int code,
                        const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    fa__utf8_vformat(msg, sizeof msg, fmt, ap); /* cuts a long quoted name at a character */
    va_end(ap);
    fa__buf_t idb = FA__BUF_INIT;
    fa__buf_t *out = reply_buf(s, to);
    if (fa__rpc_write_id(&idb, id) != 0 ||
        fa__rpc_write_error(out, idb.data, idb.len, code, msg, NULL) != 0) {
        FA_ERROR("out of memory writing an error reply (%d %s)", code, msg);
        fa__buf_free(&idb);
        reply_none(s, to);
        return;
    }
    fa__buf_free(&idb);
    reply_commit(s, to);
}

static void reply_result(fa__session_t *s, reply_to_t to, const json_t *id, const json_t *result) {
    fa__buf_t idb = FA__BUF_INIT;
    fa__buf_t *out = reply_buf(s, to);
    int rc = fa__rpc_write_id(&idb, id);
    if (rc == 0)
        rc = fa__rpc_write_result(out, idb.data, idb.len, result);
    fa__buf_free(&idb);
    if (rc) {
        reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: %s", fa_strerror(rc));
        return;
    }
    reply_commit(s, to);
}

static void reply_raw(fa__session_t *s, reply_to_t to, const json_t *id, const char *raw,
                      size_t len) {
    fa__buf_t idb = FA__BUF_INIT;
    fa__buf_t *out = reply_buf(s, to);
    int rc = fa__rpc_write_id(&idb, id);
    if (rc == 0)
        rc = fa__rpc_write_result_raw(out, idb.data, idb.len, raw, len);
    fa__buf_free(&idb);
    if (rc) {
        reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: %s", fa_strerror(rc));
        return;
    }
    reply_commit(s, to);
}

static void reply_empty(fa__session_t *s, reply_to_t to, const json_t *id) {
    reply_raw(s, to, id, "{}", 2);
}

/* ---- initialize ---- */

static void do_initialize(fa__session_t *s, reply_to_t to, const json_t *id, json_t *params) {
    fa_server_t *srv = s->srv;
    if (to.batch) {
        reply_error(s, to, id, FA_RPC_INVALID_REQUEST,
                    "Invalid Request: initialize must not be part of a batch");
        return;
    }
    if (s->state != FA__SESS_NEW) {
        reply_error(s, to, id, FA_RPC_INVALID_REQUEST,
                    "Invalid Request: the session is already initialized");
        return;
    }
    json_t *pv = json_object_get(params, "protocolVersion");
    if (!json_is_string(pv)) {
        reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                    "Invalid params: initialize needs protocolVersion (a string)");
        return;
    }
    json_t *caps = json_object_get(params, "capabilities");
    if (caps && !json_is_object(caps)) {
        reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                    "Invalid params: capabilities must be an object");
        return;
    }
    json_t *info = json_object_get(params, "clientInfo");
    if (info && !json_is_object(info)) {
        reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                    "Invalid params: clientInfo must be an object");
        return;
    }
    /* Version negotiation (basic/lifecycle): the same version if we support it, otherwise our
     * latest; the client decides whether it can continue. */
    const char *version = FA_MCP_LATEST_VERSION;
    for (size_t i = 0; i < fa__mcp_nversions; i++)
        if (strcmp(json_string_value(pv), fa__mcp_versions[i]) == 0)
            version = fa__mcp_versions[i];

    json_t *server_info = json_pack("{s:s, s:s}", "name", srv->name, "version", srv->version);
    json_t *result =
        json_pack("{s:s, s:{s:{}, s:{s:b}}, s:o}", "protocolVersion", version, "capabilities",
                  "logging", "tools", "listChanged", 0, "serverInfo", server_info);
    json_t *caps_out = json_object_get(result, "capabilities");
    if (result && fa__catalog_has_prompts(srv))
        json_object_set_new(caps_out, "prompts", json_pack("{s:b}", "listChanged", 0));
    if (result && fa__catalog_has_resources(srv))
        json_object_set_new(caps_out, "resources",
                            json_pack("{s:b, s:b}", "subscribe", 0, "listChanged", 0));
    if (result && srv->catalog.completions)
        json_object_set_new(caps_out, "completions", json_object());
    if (result && srv->title)
        json_object_set_new(server_info, "title", json_string(srv->title));
    if (result && srv->instructions)
        json_object_set_new(result, "instructions", json_string(srv->instructions));
    if (!result) {
        reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        return;
    }
    snprintf(s->version, sizeof s->version, "%s", version);
    json_decref(s->client_caps);
    s->client_caps = caps ? json_incref(caps) : json_object();
    s->state = FA__SESS_INITIALIZED;
    reply_result(s, to, id, result);
    json_decref(result);
    const char *cname = json_string_value(json_object_get(info, "name"));
    FA_INFO("session initialized: protocol %s (client asked %s), client %s", version,
            json_string_value(pv), cname ? cname : "(unnamed)");
}

/* ---- tools ---- */

static void do_tools_list(fa__session_t *s, reply_to_t to, const json_t *id, json_t *params) {
    json_t *cursor = json_object_get(params, "cursor");
    if (cursor && !json_is_string(cursor)) {
        reply_error(s, to, id, FA_RPC_INVALID_PARAMS, "Invalid params: cursor must be a string");
        return;
    }
    const char *raw;
    size_t len;
    if (fa__tools_build_pages(s->srv) != 0) {
        reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        return;
    }
    if (fa__tools_page(s->srv, json_string_value(cursor), &raw, &len) != 0) {
        reply_error(s, to, id, FA_RPC_INVALID_PARAMS, "Invalid params: unknown cursor");
        return;
    }
    reply_raw(s, to, id, raw, len);
}

/* The list helpers take the offset of the link the list uses inside fa_call_t. */
#define PENDING offsetof(fa_call_t, pending)
#define BACKLOG offsetof(fa_call_t, backlog)

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

/* The call's response is no longer owed (answered early, cancelled or timed out). */
static void detach(fa__session_t *s, fa_call_t *c) {
    if (c->detached)
        return;
    c->detached = 1;
    fa__map_del(&s->ids, c->id_text, c->id_len);
    list_remove(&s->pending, c, PENDING);
}

static void backlog_push(fa__session_t *s, fa_call_t *c) {
    c->queued = 1;
    list_append(&s->backlog, c, BACKLOG);
    s->queued++;
}

static void backlog_remove(fa__session_t *s, fa_call_t *c) {
    list_remove(&s->backlog, c, BACKLOG);
    c->queued = 0;
    s->queued--;
}

/* Hands a call to the workers. The job queue holds max_inflight calls, so it cannot be full
 * while outstanding < max_inflight; should it be, the call is answered, never lost. */
static void dispatch(fa__session_t *s, fa_call_t *c) {
    if (fa__server_submit(s->srv, c) != 0) {
        reply_to_t to = {c->batch, c->slot};
        detach(s, c);
        fa__buf_t *out = reply_buf(s, to);
        if (fa__rpc_write_error(out, c->id_text, c->id_len, FA_RPC_SERVER_OVERLOADED,
                                "Server overloaded: the job queue is full; retry later", NULL) == 0)
            reply_commit(s, to);
        else
            reply_none(s, to);
        fa__call_free(c);
        return;
    }
    s->outstanding++;
}

/* A call that never reached the workers and no longer needs to: free it now. */
static void drop_queued(fa__session_t *s, fa_call_t *c) {
    backlog_remove(s, c);
    fa__call_free(c);
}

/* Creates the call for a request that runs user code and hands it to the executor (or the
 * backlog). `payload` is the tool's arguments (FA__OP_TOOL) or the request's params (other ops);
 * it is stolen, also on failure. Returns the call, or NULL after replying with an error. */
static fa_call_t *start_call(fa__session_t *s, reply_to_t to, const json_t *id, fa__op_t op,
                             const fa__tool_t *tool, json_t *payload, json_t *token) {
    fa_server_t *srv = s->srv;
    /* The id keys the in-flight table (cancellation); a live id cannot be reused. */
    fa__buf_t idb = FA__BUF_INIT;
    if (fa__rpc_write_id(&idb, id) != 0 || fa__buf_putc(&idb, '\0') != 0) {
        fa__buf_free(&idb);
        json_decref(payload);
        reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        return NULL;
    }
    if (fa__map_get(&s->ids, idb.data, idb.len - 1)) {
        reply_error(s, to, id, FA_RPC_INVALID_REQUEST,
                    "Invalid Request: id %s is already used by a request in progress", idb.data);
        fa__buf_free(&idb);
        json_decref(payload);
        return NULL;
    }
    if (s->outstanding >= srv->opts.max_inflight && s->queued >= srv->opts.max_queued) {
        reply_error(s, to, id, FA_RPC_SERVER_OVERLOADED,
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
        reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        return NULL;
    }
    *c = (fa_call_t){0}; /* the header only: inline_reply needs no zeroing */
    c->kind = FA__ITEM_CALL;
    c->srv = srv;
    c->session = s;
    c->op = op;
    c->tool = tool;
    if (op == FA__OP_TOOL)
        c->args = payload;
    else
        c->params = payload;
    atomic_init(&c->exec_slot, -1);
    c->progress_token = token ? json_incref(token) : NULL;
    c->id_len = idb.len - 1;
    c->id_text = fa__buf_detach(&idb, NULL);
    c->seq = ++srv->next_seq;
    c->batch = to.batch;
    c->slot = to.slot;
    if (!c->id_text || fa__map_put(&s->ids, c->id_text, c->id_len, c) != 0) {
        fa__call_free(c);
        reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        return NULL;
    }
    list_append(&s->pending, c, PENDING);
    if (srv->opts.tool_timeout_ms) {
        c->deadline_ms = uv_now(&srv->loop) + srv->opts.tool_timeout_ms;
        if (c == s->pending.head)
            fa__server_arm_call_timer(srv, c->deadline_ms);
    }
    if (s->outstanding < srv->opts.max_inflight) {
        dispatch(s, c);
    } else {
        backlog_push(s, c);
        if (s->queued >= srv->opts.max_queued && !s->paused) {
            /* Backpressure: stop reading until calls come back (DESIGN.md §2). */
            s->paused = 1;
            s->ops->pause(s);
        }
    }
    return c;
}

/* The _meta.progressToken of a request, or NULL; replies -32602 and sets *bad if malformed. */
static json_t *progress_token(fa__session_t *s, reply_to_t to, const json_t *id, json_t *params,
                              int *bad) {
    json_t *meta = json_object_get(params, "_meta");
    json_t *token = json_is_object(meta) ? json_object_get(meta, "progressToken") : NULL;
    *bad = token && !json_is_string(token) && !json_is_integer(token);
    if (*bad)
        reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                    "Invalid params: _meta.progressToken must be a string or an integer");
    return *bad ? NULL : token;
}

static void do_tools_call(fa__session_t *s, reply_to_t to, const json_t *id, json_t *params) {
    fa_server_t *srv = s->srv;
    json_t *name = json_object_get(params, "name");
    if (!json_is_string(name)) {
        reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                    "Invalid params: tools/call needs name (a string)");
        return;
    }
    const fa__tool_t *tool = fa__tools_find(srv, json_string_value(name));
    if (!tool) {
        reply_error(s, to, id, FA_RPC_INVALID_PARAMS, "Unknown tool: %s", json_string_value(name));
        return;
    }
    json_t *args = json_object_get(params, "arguments");
    if (args && !json_is_object(args)) {
        reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                    "Invalid params: arguments must be an object");
        return;
    }
    int bad;
    json_t *token = progress_token(s, to, id, params, &bad);
    if (bad)
        return;
    /* Input validation errors are tool execution errors (SEP-1303): the model reads them. */
    json_t *empty = NULL;
    if (!args)
        args = empty = json_object();
    fa__buf_t *why = &s->scratch;
    why->len = 0;
    int vrc = args ? fa__schema_validate_args(tool->input_schema, args, why) : FA_ENOMEM;
    if (vrc != 0) {
        json_t *r = NULL;
        if (vrc == FA_ESCHEMA && fa__buf_putc(why, '\0') == 0) {
            char *msg = NULL;
            if (asprintf(&msg, "Invalid arguments for tool %s: %s", tool->name, why->data) >= 0) {
                r = fa_result_text(msg);
                if (r)
                    json_object_set_new(r, "isError", json_true());
            }
            free(msg);
        }
        if (r)
            reply_result(s, to, id, r);
        else
            reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        json_decref(r);
        json_decref(empty);
        return;
    }
    start_call(s, to, id, FA__OP_TOOL, tool, empty ? empty : json_incref(args), token);
}

/* ---- resources, prompts, completion ---- */

static void do_list(fa__session_t *s, reply_to_t to, const json_t *id, json_t *params,
                    const fa__pages_t *pages) {
    json_t *cursor = json_object_get(params, "cursor");
    if (cursor && !json_is_string(cursor)) {
        reply_error(s, to, id, FA_RPC_INVALID_PARAMS, "Invalid params: cursor must be a string");
        return;
    }
    const char *raw;
    size_t len;
    if (fa__pages_get(pages, json_string_value(cursor), &raw, &len) != 0) {
        reply_error(s, to, id, FA_RPC_INVALID_PARAMS, "Invalid params: unknown cursor");
        return;
    }
    reply_raw(s, to, id, raw, len);
}

/* Runs a non-tool method's handler as a call; params are kept (incref) for the handler. */
static void start_op(fa__session_t *s, reply_to_t to, const json_t *id, json_t *params,
                     fa__op_t op) {
    int bad;
    json_t *token = progress_token(s, to, id, params, &bad);
    if (bad)
        return;
    json_t *p = params ? json_incref(params) : json_object();
    if (!p) {
        reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        return;
    }
    start_call(s, to, id, op, NULL, p, token);
}

static void do_read_resource(fa__session_t *s, reply_to_t to, const json_t *id, json_t *params) {
    if (!json_is_string(json_object_get(params, "uri"))) {
        reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                    "Invalid params: resources/read needs uri (a string)");
        return;
    }
    start_op(s, to, id, params, FA__OP_READ_RESOURCE);
}

static void do_get_prompt(fa__session_t *s, reply_to_t to, const json_t *id, json_t *params) {
    json_t *name = json_object_get(params, "name");
    if (!json_is_string(name)) {
        reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                    "Invalid params: prompts/get needs name (a string)");
        return;
    }
    const json_t *prompt = fa__catalog_prompt(s->srv, json_string_value(name));
    if (!prompt) {
        reply_error(s, to, id, FA_RPC_INVALID_PARAMS, "Unknown prompt: %s",
                    json_string_value(name));
        return;
    }
    /* PromptArgument values are strings (schema: GetPromptRequest.params.arguments). */
    json_t *args = json_object_get(params, "arguments");
    if (args && !json_is_object(args)) {
        reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                    "Invalid params: arguments must be an object of strings");
        return;
    }
    const char *key;
    json_t *val;
    json_object_foreach (args, key, val) {
        if (!json_is_string(val)) {
            reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                        "Invalid params: argument '%s' must be a string", key);
            return;
        }
    }
    size_t i;
    json_t *arg;
    json_array_foreach (json_object_get(prompt, "arguments"), i, arg) {
        const char *an = json_string_value(json_object_get(arg, "name"));
        if (an && json_is_true(json_object_get(arg, "required")) && !json_object_get(args, an)) {
            reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                        "Invalid params: prompt %s needs argument '%s'", json_string_value(name),
                        an);
            return;
        }
    }
    start_op(s, to, id, params, FA__OP_GET_PROMPT);
}

static void do_complete(fa__session_t *s, reply_to_t to, const json_t *id, json_t *params) {
    json_t *ref = json_object_get(params, "ref");
    json_t *arg = json_object_get(params, "argument");
    const char *type = json_string_value(json_object_get(ref, "type"));
    int ok = type &&
             ((strcmp(type, "ref/prompt") == 0 && json_is_string(json_object_get(ref, "name"))) ||
              (strcmp(type, "ref/resource") == 0 && json_is_string(json_object_get(ref, "uri"))));
    if (!ok) {
        reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                    "Invalid params: ref must be {\"type\":\"ref/prompt\",\"name\":...} or "
                    "{\"type\":\"ref/resource\",\"uri\":...}");
        return;
    }
    if (!json_is_string(json_object_get(arg, "name")) ||
        !json_is_string(json_object_get(arg, "value"))) {
        reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                    "Invalid params: argument must be {\"name\": string, \"value\": string}");
        return;
    }
    start_op(s, to, id, params, FA__OP_COMPLETE);
}

/* ---- logging, cancellation ---- */

static void do_set_level(fa__session_t *s, reply_to_t to, const json_t *id, json_t *params) {
    json_t *level = json_object_get(params, "level");
    int idx = json_is_string(level) ? fa__mcp_log_level(json_string_value(level)) : -1;
    if (idx < 0) {
        reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                    "Invalid params: level must be one of debug, info, notice, warning, error, "
                    "critical, alert, emergency");
        return;
    }
    /* Relaxed: tool threads read it as a filter hint; a late view only changes one message. */
    atomic_store_explicit(&s->log_level, idx, memory_order_relaxed);
    reply_empty(s, to, id);
}

static void do_cancelled(fa__session_t *s, json_t *params) {
    json_t *rid = json_object_get(params, "requestId");
    if (!json_is_string(rid) && !json_is_integer(rid))
        return; /* invalid cancellations SHOULD be ignored (utilities/cancellation) */
    fa__buf_t *key = &s->scratch;
    key->len = 0;
    if (fa__rpc_write_id(key, rid) != 0)
        return;
    fa_call_t *c = fa__map_get(&s->ids, key->data, key->len);
    if (!c)
        return; /* unknown or already finished: the race the spec tells us to tolerate */
    /* Release: a tool that sees the flag also sees nothing else it needs; relaxed would do, but
     * release keeps the flag ordered after our bookkeeping for anyone inspecting the call. */
    atomic_store_explicit(&c->cancelled, 1, memory_order_release);
    detach(s, c);
    if (!c->queued && s->srv->executor.cancel)
        s->srv->executor.cancel(s->srv->executor.self, c);
    const char *reason = json_string_value(json_object_get(params, "reason"));
    FA_DEBUG("call %s cancelled by the client%s%s", c->id_text, reason ? ": " : "",
             reason ? reason : "");
    if (c->batch) {
        /* No response for a cancelled request, also inside a batch: its slot stays empty. */
        fa__batch_t *b = c->batch;
        c->batch = NULL;
        batch_done(s, b);
    }
    if (c->queued)
        drop_queued(s, c);
}

/* ---- dispatch ---- */

static int known_but_unsupported(const char *m) {
    static const char *const methods[] = {"resources/list",
                                          "resources/read",
                                          "resources/templates/list",
                                          "resources/subscribe",
                                          "resources/unsubscribe",
                                          "prompts/list",
                                          "prompts/get",
                                          "completion/complete",
                                          "tasks/get",
                                          "tasks/result",
                                          "tasks/list",
                                          "tasks/cancel"};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(m, methods[i]) == 0)
            return 1;
    return 0;
}

static void handle_request(fa__session_t *s, reply_to_t to, const fa__rpc_msg_t *m) {
    const char *method = m->method;
    json_t *params = m->params;
    if (params && !json_is_object(params)) {
        reply_error(s, to, m->id, FA_RPC_INVALID_PARAMS,
                    "Invalid params: MCP methods take params as an object");
        return;
    }
    if (strcmp(method, "initialize") == 0) {
        do_initialize(s, to, m->id, params);
        return;
    }
    if (strcmp(method, "ping") == 0) {
        reply_empty(s, to, m->id); /* exactly {} (utilities/ping), in any state */
        return;
    }
    if (s->state == FA__SESS_NEW) {
        reply_error(s, to, m->id, FA_RPC_INVALID_REQUEST,
                    "Invalid Request: the session is not initialized; send initialize first");
        return;
    }
    if (strcmp(method, "tools/call") == 0)
        do_tools_call(s, to, m->id, params);
    else if (strcmp(method, "tools/list") == 0)
        do_tools_list(s, to, m->id, params);
    else if (strcmp(method, "logging/setLevel") == 0)
        do_set_level(s, to, m->id, params);
    else if (fa__catalog_has_resources(s->srv) && strcmp(method, "resources/list") == 0)
        do_list(s, to, m->id, params, &s->srv->catalog.resource_pages);
    else if (fa__catalog_has_resources(s->srv) && strcmp(method, "resources/templates/list") == 0)
        do_list(s, to, m->id, params, &s->srv->catalog.template_pages);
    else if (fa__catalog_has_resources(s->srv) && strcmp(method, "resources/read") == 0)
        do_read_resource(s, to, m->id, params);
    else if (fa__catalog_has_prompts(s->srv) && strcmp(method, "prompts/list") == 0)
        do_list(s, to, m->id, params, &s->srv->catalog.prompt_pages);
    else if (fa__catalog_has_prompts(s->srv) && strcmp(method, "prompts/get") == 0)
        do_get_prompt(s, to, m->id, params);
    else if (s->srv->catalog.completions && strcmp(method, "completion/complete") == 0)
        do_complete(s, to, m->id, params);
    else if (known_but_unsupported(method))
        reply_error(s, to, m->id, FA_RPC_METHOD_NOT_FOUND,
                    "Method not found: %s (this server does not offer that capability)", method);
    else
        reply_error(s, to, m->id, FA_RPC_METHOD_NOT_FOUND, "Method not found: %s", method);
}

static void handle_notification(fa__session_t *s, const fa__rpc_msg_t *m) {
    const char *method = m->method;
    json_t *params = json_is_object(m->params) ? m->params : NULL;
    if (strcmp(method, "notifications/initialized") == 0) {
        if (s->state == FA__SESS_INITIALIZED)
            s->state = FA__SESS_READY;
    } else if (strcmp(method, "notifications/cancelled") == 0) {
        do_cancelled(s, params);
    } else {
        /* progress, roots/list_changed and unknown notifications need nothing from us; a
         * notification is never answered (JSON-RPC §4.1). */
        FA_DEBUG("notification %s ignored", method);
    }
}

/* ---- requests we send to the client (elicitation, sampling, ...) ---- */

/* The client capability a server-to-client method needs (lifecycle: only use what was
 * negotiated), or NULL when none is needed. */
static const char *needed_capability(const char *method) {
    if (strcmp(method, "elicitation/create") == 0)
        return "elicitation";
    if (strcmp(method, "sampling/createMessage") == 0)
        return "sampling";
    if (strcmp(method, "roots/list") == 0)
        return "roots";
    return NULL;
}

static void answer_request(fa__outreq_t *r, int code, const char *message) {
    json_t *e = json_pack("{s:i, s:s}", "code", code, "message", message);
    r->cb(r->arg, NULL, e);
    json_decref(e);
    fa__outreq_free(r);
}

void fa__session_on_request(fa__session_t *s, fa__outreq_t *r) {
    if (s->srv->stopping) {
        answer_request(r, FA_RPC_SHUTTING_DOWN,
                       "Server shutting down: the client can no longer answer");
        return;
    }
    const char *cap = needed_capability(r->method);
    if (cap && !json_object_get(s->client_caps, cap)) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "The client did not declare the %s capability, so %s cannot be "
                 "sent",
                 cap, r->method);
        answer_request(r, FA_RPC_METHOD_NOT_FOUND, msg);
        return;
    }
    fa__buf_t idb = FA__BUF_INIT;
    if (fa__buf_appendf(&idb, "%llu", (unsigned long long)++s->next_out_id) != 0 ||
        !(r->id_text = fa__buf_detach(&idb, &r->id_len)) ||
        fa__map_put(&s->out_pending, r->id_text, r->id_len, r) != 0) {
        fa__buf_free(&idb);
        answer_request(r, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        return;
    }
    fa__buf_t *out = s->ops->out(s);
    size_t mark = out->len;
    int rc = fa__buf_appendf(out, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":", r->id_text);
    if (rc == 0)
        rc = fa__json_write_string(out, r->method, strlen(r->method));
    if (rc == 0 && r->params)
        rc = fa__buf_append(out, ",\"params\":", 10) ? FA_ENOMEM : fa__json_write(out, r->params);
    if (rc == 0)
        rc = fa__buf_putc(out, '}');
    if (rc) {
        out->len = mark;
        fa__map_del(&s->out_pending, r->id_text, r->id_len);
        answer_request(r, FA_RPC_INTERNAL_ERROR, "Internal error: the request cannot be sent");
        return;
    }
    s->ops->commit(s);
}

static void on_response(fa__session_t *s, const fa__rpc_msg_t *m) {
    fa__buf_t *key = &s->scratch;
    key->len = 0;
    fa__outreq_t *r = NULL;
    if (m->id && fa__rpc_write_id(key, m->id) == 0)
        r = fa__map_del(&s->out_pending, key->data, key->len);
    if (!r) {
        FA_WARN("ignoring a response to a request this server did not send (or already answered)");
        return;
    }
    r->cb(r->arg, m->result, m->result ? NULL : m->error);
    fa__outreq_free(r);
}

void fa__session_fail_requests(fa__session_t *s, int code, const char *message) {
    for (size_t i = 0; i < s->out_pending.cap; i++) {
        fa__outreq_t *r = s->out_pending.slots[i].key ? s->out_pending.slots[i].value : NULL;
        if (r)
            answer_request(r, code, message);
    }
    fa__map_free(&s->out_pending);
}

static void handle_one(fa__session_t *s, reply_to_t to, json_t *msg) {
    fa__rpc_msg_t m;
    fa__rpc_classify(msg, &m);
    switch (m.kind) {
    case FA_RPC_REQUEST:
        handle_request(s, to, &m);
        return;
    case FA_RPC_NOTIFICATION:
        handle_notification(s, &m);
        break;
    case FA_RPC_RESPONSE:
        on_response(s, &m);
        break;
    case FA_RPC_INVALID_RESPONSE:
        FA_WARN("ignoring a malformed response: %s", m.why);
        break;
    case FA_RPC_INVALID:
        reply_error(s, to, m.id, FA_RPC_INVALID_REQUEST, "Invalid Request: %s", m.why);
        return;
    }
    reply_none(s, to);
}

static void handle_batch(fa__session_t *s, json_t *arr) {
    size_t n = json_array_size(arr);
    if (n == 0) {
        reply_error(s, DIRECT, NULL, FA_RPC_INVALID_REQUEST,
                    "Invalid Request: an empty batch is not a valid request");
        return;
    }
    /* Batches exist only in protocol 2025-03-26 (MUST support receiving); 2025-06-18 removed
     * them and 2024-11-05 never had them. Before initialize the version is unknown. */
    if (strcmp(s->version, "2025-03-26") != 0) {
        reply_error(s, DIRECT, NULL, FA_RPC_INVALID_REQUEST,
                    "Invalid Request: JSON-RPC batches are only supported with protocol "
                    "2025-03-26 (this session uses %s)",
                    s->version[0] ? s->version : "no protocol yet");
        return;
    }
    if (n > s->srv->opts.max_batch) {
        reply_error(s, DIRECT, NULL, FA_RPC_INVALID_REQUEST,
                    "Invalid Request: batch of %zu messages exceeds the limit of %zu", n,
                    s->srv->opts.max_batch);
        return;
    }
    fa__batch_t *b = calloc(1, sizeof *b);
    if (b && !(b->slots = calloc(n, sizeof *b->slots))) {
        free(b);
        b = NULL;
    }
    if (!b) {
        reply_error(s, DIRECT, NULL, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        return;
    }
    b->n = n;
    b->pending = n + 1; /* +1 holds the batch open while its elements are dispatched */
    for (size_t i = 0; i < n; i++)
        handle_one(s, (reply_to_t){b, i}, json_array_get(arr, i));
    batch_done(s, b);
}

void fa__session_on_line(fa__session_t *s, const char *text, size_t len) {
    char why[200];
    int code, max_depth = s->srv->opts.max_depth;
    json_t *msg = fa__rpc_parse(text, len, max_depth, &code, why, sizeof why);
    if (!msg && code == FA_ELIMIT) {
        /* Over our nesting limit: parse again up to the hard cap only to answer with its id. */
        json_t *full = fa__rpc_parse(text, len, FA_RPC_PARSE_DEPTH_CAP, &code, why, sizeof why);
        json_t *id = json_is_object(full) ? json_object_get(full, "id") : NULL;
        if (!json_is_string(id) && !json_is_integer(id))
            id = NULL;
        reply_error(s, DIRECT, id, FA_RPC_INVALID_REQUEST,
                    "Invalid Request: JSON nested deeper than the limit of %d levels", max_depth);
        json_decref(full);
        return;
    }
    if (!msg) {
        if (code == FA_ENOMEM)
            reply_error(s, DIRECT, NULL, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        else
            reply_error(s, DIRECT, NULL, FA_RPC_PARSE_ERROR, "Parse error: %s", why);
        return;
    }
    if (json_is_array(msg))
        handle_batch(s, msg);
    else
        handle_one(s, DIRECT, msg);
    json_decref(msg);
}

void fa__session_on_toobig(fa__session_t *s, size_t len) {
    FA_WARN("message of at least %zu bytes exceeds the %zu-byte limit; skipped to the next line",
            len, s->srv->opts.max_message);
    reply_error(s, DIRECT, NULL, FA_RPC_INVALID_REQUEST,
                "Invalid Request: message exceeds the size limit of %zu bytes",
                s->srv->opts.max_message);
}

/* ---- results coming back from the workers ---- */

void fa__session_on_complete(fa__session_t *s, fa_call_t *c) {
    s->outstanding--;
    if (!c->detached) {
        detach(s, c);
        reply_to_t to = {c->batch, c->slot};
        fa__buf_t *out = reply_buf(s, to);
        if (c->reply && fa__buf_append(out, c->reply, c->reply_len) == 0) {
            reply_commit(s, to);
        } else {
            /* The finishing thread could not build the reply (out of memory): still answer. */
            fa__rpc_write_error(out, c->id_text, c->id_len, FA_RPC_INTERNAL_ERROR,
                                "Internal error: the result could not be delivered", NULL);
            reply_commit(s, to);
        }
    }
    fa__call_free(c);
    while (s->backlog.head && s->outstanding < s->srv->opts.max_inflight) {
        fa_call_t *next = s->backlog.head;
        backlog_remove(s, next);
        dispatch(s, next);
    }
    if (s->paused && s->queued < s->srv->opts.max_queued) {
        s->paused = 0;
        s->ops->resume(s);
    }
}

void fa__session_on_notify(fa__session_t *s, fa__notify_t *n) {
    /* Progress and log messages for a call the client cancelled (or that timed out) are dropped:
     * the spec forbids progress for requests that are no longer active. */
    if (!n->call || !n->call->detached) {
        fa__buf_t *out = s->ops->out(s);
        if (fa__buf_append(out, n->text, n->len) == 0)
            s->ops->commit(s);
    }
    free(n->text);
    free(n);
}

uint64_t fa__session_expire(fa__session_t *s, uint64_t now_ms) {
    static const char *const op_names[] = {"tools/call", "resources/read", "prompts/get",
                                           "completion/complete"};
    while (s->pending.head && s->pending.head->deadline_ms &&
           s->pending.head->deadline_ms <= now_ms) {
        fa_call_t *c = s->pending.head;
        reply_to_t to = {c->batch, c->slot};
        unsigned ms = s->srv->opts.tool_timeout_ms;
        atomic_store_explicit(&c->cancelled, 1, memory_order_release);
        detach(s, c);
        c->batch = NULL;
        fa__buf_t *out = reply_buf(s, to);
        int rc;
        if (c->op == FA__OP_TOOL) {
            /* A tool that runs too long is a tool failure the model can read. */
            char msg[256];
            snprintf(msg, sizeof msg, "Tool %s timed out after %u ms", c->tool->name, ms);
            json_t *r = fa_result_text(msg);
            rc = r && json_object_set_new(r, "isError", json_true()) == 0
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
            reply_commit(s, to);
        else
            reply_none(s, to);
        FA_WARN("%s (call %s) timed out after %u ms",
                c->op == FA__OP_TOOL ? c->tool->name : op_names[c->op], c->id_text, ms);
        if (c->queued)
            drop_queued(s, c);
        else if (s->srv->executor.cancel)
            s->srv->executor.cancel(s->srv->executor.self, c);
    }
    return s->pending.head ? s->pending.head->deadline_ms : 0;
}

void fa__session_abandon(fa__session_t *s, int code, const char *message) {
    while (s->pending.head) {
        fa_call_t *c = s->pending.head;
        reply_to_t to = {c->batch, c->slot};
        atomic_store_explicit(&c->cancelled, 1, memory_order_release);
        detach(s, c);
        c->batch = NULL;
        fa__buf_t *out = reply_buf(s, to);
        if (fa__rpc_write_error(out, c->id_text, c->id_len, code, message, NULL) == 0)
            reply_commit(s, to);
        else
            reply_none(s, to);
        if (c->queued)
            drop_queued(s, c);
    }
}
