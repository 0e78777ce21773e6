/* call.c: finishing a tools/call from any thread, and the content helpers.
 *
 * The finishing thread does the expensive part of the reply: it validates the CallToolResult,
 * serialises the whole JSON-RPC response and releases the arguments, so the loop thread only
 * copies finished bytes into its output (DESIGN.md §2: keep the I/O thread lean).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/log.h"
#include "core/utf8.h"
#include "fasterapi/error.h"
#include "mcp/jsonrpc.h"
#include "mcp/server_internal.h"

/* Loop thread: releases what the loop allocated (and a reply that outgrew its inline room). */
void fa__call_free(fa_call_t *c) {
    json_decref(c->args);
    json_decref(c->params);
    json_decref(c->progress_token);
    json_decref(c->client_caps);
    fa__mrtr_free(c->mrtr);
    free(c->id_text);
    if (c->reply_heap)
        free(c->reply);
    free(c);
}

void fa__call_run(void *job, void *ctx) {
    (void)ctx;
    fa_call_t *c = job;
    /* Acquire pairs with the loop's release store: a call cancelled while queued never runs. */
    if (atomic_load_explicit(&c->cancelled, memory_order_acquire)) {
        fa_call_complete(c, NULL);
        return;
    }
    const fa__ops_t *ops = &c->srv->catalog.ops;
    fa__op_cb cb = c->op == FA__OP_READ_RESOURCE ? ops->read_resource
                   : c->op == FA__OP_GET_PROMPT  ? ops->get_prompt
                   : c->op == FA__OP_COMPLETE    ? ops->complete
                                                 : NULL;
    if (c->op == FA__OP_TOOL)
        c->tool->cb(c, c->args, c->tool->data);
    else if (cb)
        cb(c, c->params, ops->data);
    else
        fa_call_error(c, FA_RPC_METHOD_NOT_FOUND, "Method not found: no handler installed", NULL);
}

/* {"content":[{"type":"text","text":...}],"isError":true}; invalid UTF-8 in the text (a C
 * tool's message) is replaced with U+FFFD rather than losing the whole result. */
static json_t *text_error_result(const char *text, size_t len) {
    json_t *t = json_stringn(text, len);
    if (!t) {
        size_t n;
        char *clean = fa__utf8_sanitize(text, len, &n);
        t = clean ? json_stringn(clean, n) : NULL;
        free(clean);
    }
    return t ? json_pack("{s:[{s:s, s:o}], s:b}", "content", "type", "text", "text", t, "isError",
                         1)
             : NULL;
}

static json_t *error_result(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *error_result(const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    fa__utf8_vformat(msg, sizeof msg, fmt, ap); /* cuts a long quoted name at a character */
    va_end(ap);
    return text_error_result(msg, strlen(msg));
}

/* Builds c->reply from a result (steals) or an error. Runs on the finishing thread. */
static void build_reply(fa_call_t *c, json_t *result, int code, const char *message, json_t *data) {
    fa__buf_t b = fa__buf_on(c->inline_reply, FA_CALL_INLINE_REPLY);
    size_t max = c->srv->opts.max_result;
    int rc;
    if (c->modern) {
        /* Protocol 2026-07-28: resource-not-found is -32602 (SEP-2164; -32002 is retired), every
         * result says its resultType, and a read carries cache hints (spec_2026.md §4, §6). */
        if (message && code == FA_MCP_RESOURCE_NOT_FOUND)
            code = FA_RPC_INVALID_PARAMS;
        if (!message && json_is_object(result)) {
            fa__modern_decorate(c->srv, result);
            const char *rt = json_string_value(json_object_get(result, "resultType"));
            if (c->op == FA__OP_READ_RESOURCE && rt && strcmp(rt, "complete") == 0) {
                if (!json_object_get(result, "ttlMs"))
                    json_object_set_new(result, "ttlMs", json_integer(FA_MCP_READ_TTL_MS));
                if (!json_object_get(result, "cacheScope"))
                    json_object_set_new(result, "cacheScope", json_string("private"));
            }
        }
    }
    if (message) {
        rc = fa__rpc_write_error(&b, c->id_text, c->id_len, code, message, data);
    } else if (!json_is_object(result)) {
        rc = fa__rpc_write_error(&b, c->id_text, c->id_len, FA_RPC_INTERNAL_ERROR,
                                 c->op == FA__OP_TOOL
                                     ? "Internal error: the tool returned no result object"
                                     : "Internal error: the handler returned no result object",
                                 NULL);
    } else if (c->op != FA__OP_TOOL) {
        /* resources/read, prompts/get, completion/complete: the result as given. */
        rc = fa__rpc_write_result(&b, c->id_text, c->id_len, result);
        if (rc == 0 && b.len > max) {
            size_t n = b.len;
            b.len = 0;
            char msg[160];
            snprintf(msg, sizeof msg,
                     "Internal error: the result is %zu bytes, over the %zu-byte message limit", n,
                     max);
            rc = fa__rpc_write_error(&b, c->id_text, c->id_len, FA_RPC_INTERNAL_ERROR, msg, NULL);
        } else if (rc == FA_ELIMIT) {
            rc = fa__rpc_write_error(&b, c->id_text, c->id_len, FA_RPC_INTERNAL_ERROR,
                                     "Internal error: the result is nested too deeply to send",
                                     NULL);
        }
    } else {
        json_t *content = json_object_get(result, "content");
        if (!content) /* content is required in CallToolResult; structured-only tools omit it */
            json_object_set_new(result, "content", json_array());
        if (content && !json_is_array(content)) {
            rc = fa__rpc_write_error(&b, c->id_text, c->id_len, FA_RPC_INTERNAL_ERROR,
                                     "Internal error: the tool result's content is not an array",
                                     NULL);
        } else {
            rc = fa__rpc_write_result(&b, c->id_text, c->id_len, result);
            if (rc == 0 && b.len > max) {
                /* The client could not read a line this long: tell the model instead. */
                size_t n = b.len;
                b.len = 0;
                json_t *r = error_result("Tool %s returned %zu bytes, over the %zu-byte message "
                                         "limit",
                                         c->tool->name, n, max);
                if (r && c->modern)
                    fa__modern_decorate(c->srv, r);
                rc = r ? fa__rpc_write_result(&b, c->id_text, c->id_len, r) : FA_ENOMEM;
                json_decref(r);
            } else if (rc == FA_ELIMIT) {
                json_t *r = error_result("Tool %s returned a result nested too deeply to send",
                                         c->tool->name);
                if (r && c->modern)
                    fa__modern_decorate(c->srv, r);
                rc = r ? fa__rpc_write_result(&b, c->id_text, c->id_len, r) : FA_ENOMEM;
                json_decref(r);
            }
        }
    }
    json_decref(result);
    json_decref(data);
    if (rc) {
        /* Out of memory: leave reply NULL; the loop answers with an internal error. */
        fa__buf_free(&b);
        return;
    }
    c->reply = b.data;
    c->reply_len = b.len;
    c->reply_heap = !b.borrowed;
}

static int finish(fa_call_t *c, json_t *result, int code, const char *message, json_t *data) {
    int expected = 0;
    /* acq_rel: exactly one thread wins; it sees everything the tool wrote before finishing. */
    if (!atomic_compare_exchange_strong_explicit(&c->finished, &expected, 1, memory_order_acq_rel,
                                                 memory_order_relaxed)) {
        json_decref(result);
        json_decref(data);
        return FA_EALREADY;
    }
    if (atomic_load_explicit(&c->cancelled, memory_order_acquire)) {
        json_decref(result); /* the spec asks for no response to a cancelled request */
        json_decref(data);
    } else {
        build_reply(c, result, code, message, data);
    }
    /* A non-blocking tool finishing inside its callback on the loop thread: the loop delivers
     * the call itself as soon as the callback returns (acq_rel: the loop sees the reply). */
    int running = FA__INLINE_RUNNING;
    if (atomic_compare_exchange_strong_explicit(&c->inline_state, &running, FA__INLINE_DONE,
                                                memory_order_acq_rel, memory_order_acquire))
        return 0;
    /* args and progress_token stay: the loop allocated them and frees them (fa__call_free). */
    if (fa__server_post(c->srv, c) != 0) {
        /* The server shut down without this call: it was answered with an error already and
         * the loop is gone. Nothing else references the call now. */
        if (c->reply_heap)
            free(c->reply);
        c->reply = NULL;
        c->reply_heap = 0;
        FA_WARN("call %s finished after the server stopped; result dropped", c->id_text);
    }
    return 0;
}

int fa_call_complete(fa_call_t *call, json_t *result) {
    return finish(call, result, 0, NULL, NULL);
}

int fa_call_fail(fa_call_t *call, const char *message) {
    if (!message)
        message = "tool failed";
    return finish(call, text_error_result(message, strlen(message)), 0, NULL, NULL);
}

int fa_call_error(fa_call_t *call, int code, const char *message, json_t *data) {
    if (!message)
        message = "error";
    if (fa__utf8_valid(message, strlen(message)))
        return finish(call, NULL, code, message, data);
    char *clean = fa__utf8_sanitize(message, strlen(message), NULL);
    int rc = finish(call, NULL, code, clean ? clean : "error (invalid UTF-8 message)", data);
    free(clean);
    return rc;
}

int fa_call_is_cancelled(const fa_call_t *call) {
    return atomic_load_explicit(&call->cancelled, memory_order_acquire);
}

const char *fa_call_tool_name(const fa_call_t *call) {
    return call->tool ? call->tool->name : NULL;
}

static int post_notification(fa_call_t *c, const char *method, json_t *params) {
    fa__notify_t *n = calloc(1, sizeof *n);
    fa__buf_t b = FA__BUF_INIT;
    int rc = n ? fa__rpc_write_notification(&b, method, params) : FA_ENOMEM;
    /* resources/updated goes only to a client that subscribed to that uri (deliver()). */
    if (rc == 0 && strcmp(method, "notifications/resources/updated") == 0) {
        const char *uri = json_string_value(json_object_get(params, "uri"));
        if (!uri)
            rc = FA_EINVAL;
        else if (!(n->sub_uri = strdup(uri)))
            rc = FA_ENOMEM;
    }
    json_decref(params);
    if (rc == 0 && b.len > c->srv->opts.max_result)
        rc = FA_EMSGSIZE;
    if (rc == 0 && !(n->text = fa__buf_detach(&b, &n->len)))
        rc = FA_ENOMEM;
    if (rc) {
        fa__buf_free(&b);
        if (n)
            free(n->sub_uri);
        free(n);
        return rc;
    }
    n->kind = FA__ITEM_NOTIFY;
    n->sref = c->sref;
    n->call = c;
    if ((rc = fa__server_post(c->srv, n)) != 0) {
        free(n->text);
        free(n->sub_uri);
        free(n);
    }
    return rc;
}

int fa_call_close_stream(fa_call_t *call) {
    fa_call_t *c = call;
    if (!c)
        return FA_EINVAL;
    if (atomic_load_explicit(&c->finished, memory_order_acquire))
        return FA_EALREADY;
    fa__notify_t *n = calloc(1, sizeof *n);
    if (!n)
        return FA_ENOMEM;
    n->kind = FA__ITEM_NOTIFY; /* text NULL: "close my stream", ordered with the notifications */
    n->sref = c->sref;
    n->call = c;
    int rc = fa__server_post(c->srv, n);
    if (rc)
        free(n);
    return rc;
}

int fa_call_flush_requests(fa_call_t *call) {
    fa_call_t *c = call;
    if (!c)
        return FA_EINVAL;
    if (atomic_load_explicit(&c->finished, memory_order_acquire))
        return FA_EALREADY;
    fa__notify_t *n = calloc(1, sizeof *n);
    if (!n)
        return FA_ENOMEM;
    n->kind = FA__ITEM_NOTIFY; /* after the call's requests on the same queue */
    n->flush = 1;
    n->sref = c->sref;
    n->call = c;
    int rc = fa__server_post(c->srv, n);
    if (rc)
        free(n);
    return rc;
}

int fa_call_log(fa_call_t *call, const char *level, const char *logger, json_t *data) {
    int idx = fa__mcp_log_level(level);
    if (idx < 0) {
        json_decref(data);
        return FA_EINVAL;
    }
    if (atomic_load_explicit(&call->finished, memory_order_acquire)) {
        json_decref(data);
        return FA_EALREADY;
    }
    /* Relaxed: the level is a filter; a message racing a logging/setLevel may go either way. */
    if (idx < atomic_load_explicit(&call->log_level, memory_order_relaxed)) {
        json_decref(data);
        return 0;
    }
    json_t *params = json_object();
    if (!params || json_object_set_new(params, "level", json_string(level)) ||
        (logger && json_object_set_new(params, "logger", json_string(logger))) ||
        json_object_set_new(params, "data", data ? data : json_null())) {
        json_decref(params);
        return FA_ENOMEM;
    }
    return post_notification(call, "notifications/message", params);
}

int fa_call_notify(fa_call_t *call, const char *method, json_t *params) {
    if (!method || strncmp(method, "notifications/", 14) != 0 ||
        (params && !json_is_object(params))) {
        json_decref(params);
        return FA_EINVAL;
    }
    if (atomic_load_explicit(&call->finished, memory_order_acquire)) {
        json_decref(params);
        return FA_EALREADY;
    }
    return post_notification(call, method, params);
}

/* Integral values go out as JSON integers ("progress":3, not 3.0), as clients print them. */
static json_t *number(double d) {
    if (d > -9007199254740992.0 && d < 9007199254740992.0 && d == floor(d))
        return json_integer((json_int_t)d);
    return json_real(d);
}

int fa_call_progress(fa_call_t *call, double progress, double total, const char *message) {
    if (atomic_load_explicit(&call->finished, memory_order_acquire))
        return FA_EALREADY;
    if (!isfinite(progress) || isnan(total))
        return FA_EINVAL;
    if (!call->progress_token)
        return 0;
    json_t *params = json_object();
    if (!params || json_object_set(params, "progressToken", call->progress_token) ||
        json_object_set_new(params, "progress", number(progress)) ||
        (total >= 0 && json_object_set_new(params, "total", number(total))) ||
        (message && json_object_set_new(params, "message", json_string(message)))) {
        json_decref(params);
        return FA_ENOMEM;
    }
    return post_notification(call, "notifications/progress", params);
}

/* ---- content helpers ---- */

json_t *fa_content_text(const char *text) {
    json_t *t = json_string(text ? text : "");
    return t ? json_pack("{s:s, s:o}", "type", "text", "text", t) : NULL;
}

json_t *fa_result_text(const char *text) {
    json_t *block = fa_content_text(text);
    return block ? json_pack("{s:[o]}", "content", block) : NULL;
}

json_t *fa_result_structured(json_t *structured) {
    if (!structured)
        return NULL;
    char *text = fa__json_dumps(structured, NULL);
    json_t *block = text ? fa_content_text(text) : NULL;
    free(text);
    if (!block) {
        json_decref(structured);
        return NULL;
    }
    return json_pack("{s:[o], s:o}", "content", block, "structuredContent", structured);
}

void fa__outreq_free(fa__outreq_t *r) {
    free(r->key);
    free(r->rel_id);
    free(r->method);
    json_decref(r->params);
    free(r->id_text);
    free(r);
}

int fa_call_request(fa_call_t *call, const char *method, json_t *params, fa_response_cb cb,
                    void *arg) {
    return fa_call_request_keyed(call, NULL, method, params, cb, arg);
}

const json_t *fa_call_client_capabilities(const fa_call_t *call) {
    return call->client_caps;
}

int fa_call_request_keyed(fa_call_t *call, const char *key, const char *method, json_t *params,
                          fa_response_cb cb, void *arg) {
    if (atomic_load_explicit(&call->finished, memory_order_acquire)) {
        json_decref(params);
        return FA_EALREADY;
    }
    fa__outreq_t *r = calloc(1, sizeof *r);
    if (!r || !method || !(r->method = strdup(method)) || !cb ||
        !(r->rel_id = strndup(call->id_text, call->id_len)) || (key && !(r->key = strdup(key)))) {
        if (r) {
            free(r->method);
            free(r->rel_id);
            free(r->key);
        }
        free(r);
        json_decref(params);
        return cb && method ? FA_ENOMEM : FA_EINVAL;
    }
    r->kind = FA__ITEM_REQUEST;
    r->sref = call->sref;
    r->rel_len = call->id_len;
    r->params = params;
    r->cb = cb;
    r->arg = arg;
    if (fa__server_post(call->srv, r) != 0) {
        fa__outreq_free(r);
        return FA_EALREADY; /* the server has stopped */
    }
    return 0;
}
