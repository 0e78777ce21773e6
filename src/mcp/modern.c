/* modern.c: one 2026-07-28 request over Streamable HTTP as a stateless exchange (the contract is
 * at the top of modern.h).
 *
 * Each modern POST gets an ephemeral session pinned to the modern era: the message goes through
 * the same engine as stdio (engine.c modern_request), and the session ops route what comes out:
 * notifications about the request become SSE events, the response is the final message (plain
 * JSON when nothing was streamed before it). When the final message is out the session is closed
 * at the next safe point (the modern timer at 0 ms): the engine may still be using the session
 * when it commits the response (fa__server_on_complete goes on with it), so it cannot be freed
 * from inside the commit (STYLE.md §10). Loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "fasterapi/error.h"
#include "mcp/jsonrpc.h"
#include "mcp/server_internal.h"

struct fa__mcp_exchange_s {
    fa_server_t *srv;
    fa__session_t *s; /* NULL once closed */
    const fa__mcp_modern_ops_t *ops;
    void *ctx;
    fa__buf_t buf; /* the message being written */
    fa__out_kind_t kind;
    int streaming; /* an EVENT went out: the answer is an SSE stream */
    int done;      /* the final emit happened (or the client went away) */
    int in_handle; /* inside fa__mcp_modern_handle: it closes the session itself */
    int reaping;   /* on srv->reap */
    struct fa__mcp_exchange_s *reap_next;
};

/* The error code of a response we wrote ({"jsonrpc":"2.0","id":<id>,"error":{"code":N,...),
 * or 0 for a result. Our writer (jsonrpc.c) always puts the members in this order. */
static int error_code(const char *msg, size_t len) {
    static const char err[] = ",\"error\":{\"code\":";
    const char *p = memmem(msg, len, err, sizeof err - 1);
    const char *res = memmem(msg, len, ",\"result\":", 10);
    if (!p || (res && res < p))
        return 0;
    return atoi(p + sizeof err - 1);
}

static void reap_later(fa__mcp_exchange_t *x) {
    if (x->reaping || x->in_handle)
        return;
    x->reaping = 1;
    x->reap_next = x->srv->reap;
    x->srv->reap = x;
    fa__modern_arm(x->srv, 0);
}

static void emit_final(fa__mcp_exchange_t *x, const char *msg, size_t len) {
    x->done = 1;
    if (x->streaming) {
        x->ops->emit(x->ctx, FA__EMIT_END, 200, msg, len);
    } else {
        int code = error_code(msg, len);
        x->ops->emit(x->ctx, FA__EMIT_JSON, code ? fa__mcp_status_for_code(code) : 200, msg, len);
    }
    reap_later(x);
}

static fa__buf_t *x_out(fa__session_t *s, const fa__out_info_t *info) {
    fa__mcp_exchange_t *x = s->transport;
    x->buf.len = 0;
    x->kind = info->kind;
    return &x->buf;
}

static void x_commit(fa__session_t *s) {
    fa__mcp_exchange_t *x = s->transport;
    if (x->done)
        return; /* the client went away, or a late message after the response */
    switch (x->kind) {
    case FA__OUT_RESPONSE:
    case FA__OUT_BATCH:
        emit_final(x, x->buf.data, x->buf.len);
        break;
    case FA__OUT_NOTIFY:
        x->streaming = 1;
        x->ops->emit(x->ctx, FA__EMIT_EVENT, 200, x->buf.data, x->buf.len);
        break;
    case FA__OUT_REQUEST:
        /* Never in this era (MRTR answers instead); refuse rather than break the stream. */
        FA_WARN("dropping a server-to-client request in a 2026-07-28 exchange");
        break;
    }
    x->buf.len = 0;
}

static void x_nop(fa__session_t *s) {
    (void)s;
}

static void x_close(fa__session_t *s) {
    /* Server shutdown: whatever was not answered by now will not be. */
    fa__mcp_exchange_t *x = s->transport;
    if (!x->done) {
        static const char msg[] = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32001,"
                                  "\"message\":\"Server shutting down\"}}";
        x->done = 1;
        x->ops->emit(x->ctx, x->streaming ? FA__EMIT_END : FA__EMIT_JSON, 503, msg, sizeof msg - 1);
    }
    x->s = NULL;
    fa__session_close(s);
    if (!x->reaping && !x->in_handle) {
        fa__buf_free(&x->buf);
        free(x);
    }
    /* On the reap list: freed there (x->s is NULL now). */
}

static const fa__session_ops_t exchange_ops = {x_out, x_commit, x_nop,   x_nop,
                                               NULL,  NULL,     x_close, NULL};

void fa__modern_reap(fa_server_t *srv) {
    while (srv->reap) {
        fa__mcp_exchange_t *x = srv->reap;
        srv->reap = x->reap_next;
        if (x->s) {
            fa__session_t *s = x->s;
            x->s = NULL;
            fa__session_close(s);
        }
        fa__buf_free(&x->buf);
        free(x);
    }
}

static const json_t *tool_schema(void *arg, const char *name) {
    const fa__tool_t *t = fa__tools_find(arg, name);
    return t ? t->input_schema : NULL;
}

static void emit_error(const fa__mcp_modern_ops_t *ops, void *ctx, int status, const json_t *id,
                       int code, const char *message, const json_t *data) {
    fa__buf_t idb = FA__BUF_INIT, b = FA__BUF_INIT;
    if (fa__rpc_write_id(&idb, id) == 0 &&
        fa__rpc_write_error(&b, idb.data, idb.len, code, message, data) == 0)
        ops->emit(ctx, FA__EMIT_JSON, status, b.data, b.len);
    else
        ops->emit(ctx, FA__EMIT_JSON, 500,
                  "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32603,\"message\":"
                  "\"Internal error: out of memory\"}}",
                  95);
    fa__buf_free(&idb);
    fa__buf_free(&b);
}

int fa__mcp_modern_handle(fa_server_t *srv, const char *body, size_t len, json_t *msg,
                          const fa__mcp_headers_t *hdrs, const fa__mcp_modern_ops_t *ops, void *ctx,
                          fa__mcp_exchange_t **out) {
    *out = NULL;
    if (!srv->running || srv->stopping) {
        json_decref(msg);
        return FA_ESTATE;
    }
    if (!msg) {
        int code;
        char why[200];
        msg = fa__rpc_parse(body, len, srv->opts.max_depth, &code, why, sizeof why);
        if (!msg) {
            if (code == FA_ENOMEM)
                return FA_ENOMEM;
            char m[240];
            snprintf(m, sizeof m, "%s: %s", code == FA_ELIMIT ? "Invalid Request" : "Parse error",
                     code == FA_ELIMIT ? "JSON nested too deeply" : why);
            emit_error(ops, ctx, 400, NULL,
                       code == FA_ELIMIT ? FA_RPC_INVALID_REQUEST : FA_RPC_PARSE_ERROR, m, NULL);
            return 0;
        }
    }
    const json_t *id = json_object_get(msg, "id");
    if (!json_is_string(id) && !json_is_integer(id))
        id = NULL;
    if (json_is_array(msg)) {
        emit_error(ops, ctx, 400, NULL, FA_RPC_INVALID_REQUEST,
                   "Invalid Request: JSON-RPC batches are not part of protocol 2026-07-28", NULL);
        json_decref(msg);
        return 0;
    }
    fa__ladder_t v;
    if (fa__mcp_ladder(msg, hdrs, tool_schema, srv, &v) != 0) {
        emit_error(ops, ctx, v.status, id, v.code, v.message, v.data);
        json_decref(v.data);
        json_decref(msg);
        return 0;
    }
    if (!json_object_get(msg, "id")) {
        /* A notification: no client notifications exist over HTTP in this era (cancelling is
         * closing the stream); accepted and ignored (streamable-http.mdx: 202). */
        ops->emit(ctx, FA__EMIT_ACCEPTED, 202, NULL, 0);
        json_decref(msg);
        return 0;
    }
    fa__mcp_exchange_t *x = calloc(1, sizeof *x);
    if (!x) {
        json_decref(msg);
        return FA_ENOMEM;
    }
    x->srv = srv;
    x->ops = ops;
    x->ctx = ctx;
    int rc = fa__session_open_exchange(srv, &exchange_ops, x, &x->s);
    if (rc) {
        free(x);
        json_decref(msg);
        return rc;
    }
    x->s->era = FA__ERA_MODERN;
    x->in_handle = 1;
    fa__session_on_message(x->s, msg);
    json_decref(msg);
    x->in_handle = 0;
    if (x->done) {
        /* Answered at once (lists, discover, errors): nothing else refers to the session. */
        fa__session_t *s = x->s;
        x->s = NULL;
        if (s)
            fa__session_close(s);
        fa__buf_free(&x->buf);
        free(x);
        return 0;
    }
    *out = x;
    return 0;
}

void fa__mcp_modern_abort(fa__mcp_exchange_t *x) {
    if (!x || x->done)
        return;
    /* Closing the stream is the client's cancellation (spec_2026.md §5): the session's calls
     * are cancelled when it closes; nothing more is emitted. */
    x->done = 1;
    reap_later(x);
}
