/* reply.c: writing JSON-RPC replies for a session, straight to its transport or into a slot of a
 * batch (protocol 2025-03-26), which goes out as one array once every element is answered. Loop
 * thread only.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/log.h"
#include "core/utf8.h"
#include "fasterapi/error.h"
#include "mcp/jsonrpc.h"
#include "mcp/server_internal.h"

fa__batch_t *fa__batch_new(size_t n) {
    fa__batch_t *b = calloc(1, sizeof *b);
    if (b && !(b->slots = calloc(n, sizeof *b->slots))) {
        free(b);
        return NULL;
    }
    if (b) {
        b->n = n;
        b->pending = n + 1; /* +1 holds the batch open while its elements are dispatched */
    }
    return b;
}

static void batch_free(fa__batch_t *b) {
    for (size_t i = 0; i < b->n; i++)
        fa__buf_free(&b->slots[i]);
    free(b->slots);
    free(b);
}

static void batch_finish(fa__session_t *s, fa__batch_t *b) {
    const fa__out_info_t info = {FA__OUT_BATCH, NULL, 0};
    fa__buf_t *out = s->ops->out(s, &info);
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
    batch_free(b);
}

void fa__batch_done(fa__session_t *s, fa__batch_t *b) {
    if (--b->pending == 0)
        batch_finish(s, b);
}

void fa__batch_release(fa__batch_t *b) {
    if (--b->pending == 0)
        batch_free(b);
}

fa__buf_t *fa__reply_buf(fa__session_t *s, fa__reply_to_t to, const char *rel, size_t rel_len) {
    if (to.batch)
        return &to.batch->slots[to.slot];
    const fa__out_info_t info = {FA__OUT_RESPONSE, rel, rel_len};
    return s->ops->out(s, &info);
}

void fa__reply_commit(fa__session_t *s, fa__reply_to_t to) {
    if (to.batch)
        fa__batch_done(s, to.batch);
    else
        s->ops->commit(s);
}

void fa__reply_none(fa__session_t *s, fa__reply_to_t to) {
    if (to.batch)
        fa__batch_done(s, to.batch);
}

static void reply_error_v(fa__session_t *s, fa__reply_to_t to, const json_t *id, int code,
                          const json_t *data, const char *fmt, va_list ap) {
    char msg[1024];
    fa__utf8_vformat(msg, sizeof msg, fmt, ap); /* cuts a long quoted name at a character */
    fa__buf_t idb = FA__BUF_INIT;
    if (fa__rpc_write_id(&idb, id) != 0 ||
        fa__rpc_write_error(fa__reply_buf(s, to, id ? idb.data : NULL, id ? idb.len : 0), idb.data,
                            idb.len, code, msg, data) != 0) {
        FA_ERROR("out of memory writing an error reply (%d %s)", code, msg);
        fa__buf_free(&idb);
        fa__reply_none(s, to);
        return;
    }
    fa__buf_free(&idb);
    fa__reply_commit(s, to);
}

void fa__reply_error(fa__session_t *s, fa__reply_to_t to, const json_t *id, int code,
                     const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    reply_error_v(s, to, id, code, NULL, fmt, ap);
    va_end(ap);
}

void fa__reply_error_data(fa__session_t *s, fa__reply_to_t to, const json_t *id, int code,
                          const json_t *data, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    reply_error_v(s, to, id, code, data, fmt, ap);
    va_end(ap);
}

void fa__reply_call_error(fa__session_t *s, fa__reply_to_t to, const fa_call_t *c, int code,
                          const char *message) {
    if (fa__rpc_write_error(fa__reply_buf(s, to, c->id_text, c->id_len), c->id_text, c->id_len,
                            code, message, NULL) == 0)
        fa__reply_commit(s, to);
    else
        fa__reply_none(s, to);
}

void fa__reply_result(fa__session_t *s, fa__reply_to_t to, const json_t *id, const json_t *result) {
    json_t *copy = NULL;
    if (s->req) {
        /* Protocol 2026-07-28: every result says its resultType (spec_2026.md §4). */
        copy = json_copy((json_t *)(uintptr_t)result);
        if (!copy || fa__modern_decorate(s->srv, copy) != 0) {
            json_decref(copy);
            fa__reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
            return;
        }
        result = copy;
    }
    fa__buf_t idb = FA__BUF_INIT;
    int rc = fa__rpc_write_id(&idb, id);
    if (rc == 0)
        rc = fa__rpc_write_result(fa__reply_buf(s, to, idb.data, idb.len), idb.data, idb.len,
                                  result);
    fa__buf_free(&idb);
    json_decref(copy);
    if (rc) {
        fa__reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: %s", fa_strerror(rc));
        return;
    }
    fa__reply_commit(s, to);
}

/* A cached list page (a JSON object's text) with the 2026-07-28 fields spliced in before its
 * closing brace: resultType, the cache hints every list carries (spec_2026.md §4) and
 * serverInfo. */
static int modern_page(const fa_server_t *srv, const char *raw, size_t len, fa__buf_t *b) {
    while (len && raw[len - 1] != '}')
        len--;
    if (len < 2)
        return FA_EINVAL;
    int empty = 1;
    for (size_t i = 1; i + 1 < len && empty; i++)
        empty = raw[i] == ' ' || raw[i] == '\n' || raw[i] == '\t' || raw[i] == '\r';
    int rc = fa__buf_append(b, raw, len - 1);
    if (rc == 0)
        rc = fa__buf_appendf(b,
                             "%s\"resultType\":\"complete\",\"ttlMs\":%d,\"cacheScope\":"
                             "\"public\",\"_meta\":{\"" FA_META_SERVER_INFO "\":{\"name\":",
                             empty ? "" : ",", FA_MCP_LIST_TTL_MS);
    if (rc == 0)
        rc = fa__json_write_string(b, srv->name, strlen(srv->name));
    if (rc == 0)
        rc = fa__buf_append_str(b, ",\"version\":");
    if (rc == 0)
        rc = fa__json_write_string(b, srv->version, strlen(srv->version));
    if (rc == 0)
        rc = fa__buf_append_str(b, "}}}");
    return rc;
}

void fa__reply_raw(fa__session_t *s, fa__reply_to_t to, const json_t *id, const char *raw,
                   size_t len) {
    fa__buf_t page = FA__BUF_INIT;
    if (s->req) {
        if (modern_page(s->srv, raw, len, &page) != 0) {
            fa__buf_free(&page);
            fa__reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
            return;
        }
        raw = page.data;
        len = page.len;
    }
    fa__buf_t idb = FA__BUF_INIT;
    int rc = fa__rpc_write_id(&idb, id);
    if (rc == 0)
        rc = fa__rpc_write_result_raw(fa__reply_buf(s, to, idb.data, idb.len), idb.data, idb.len,
                                      raw, len);
    fa__buf_free(&idb);
    fa__buf_free(&page);
    if (rc) {
        fa__reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: %s", fa_strerror(rc));
        return;
    }
    fa__reply_commit(s, to);
}
