/* reply.c: writing JSON-RPC replies for a session, straight to its transport or into a slot of a
 * batch (protocol 2025-03-26), which goes out as one array once every element is answered. Loop
 * thread only.
 */
#include <stdarg.h>
#include <stdlib.h>

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

void fa__reply_error(fa__session_t *s, fa__reply_to_t to, const json_t *id, int code,
                     const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    fa__utf8_vformat(msg, sizeof msg, fmt, ap); /* cuts a long quoted name at a character */
    va_end(ap);
    fa__buf_t idb = FA__BUF_INIT;
    if (fa__rpc_write_id(&idb, id) != 0 ||
        fa__rpc_write_error(fa__reply_buf(s, to, id ? idb.data : NULL, id ? idb.len : 0), idb.data,
                            idb.len, code, msg, NULL) != 0) {
        FA_ERROR("out of memory writing an error reply (%d %s)", code, msg);
        fa__buf_free(&idb);
        fa__reply_none(s, to);
        return;
    }
    fa__buf_free(&idb);
    fa__reply_commit(s, to);
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
    fa__buf_t idb = FA__BUF_INIT;
    int rc = fa__rpc_write_id(&idb, id);
    if (rc == 0)
        rc = fa__rpc_write_result(fa__reply_buf(s, to, idb.data, idb.len), idb.data, idb.len,
                                  result);
    fa__buf_free(&idb);
    if (rc) {
        fa__reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: %s", fa_strerror(rc));
        return;
    }
    fa__reply_commit(s, to);
}

void fa__reply_raw(fa__session_t *s, fa__reply_to_t to, const json_t *id, const char *raw,
                   size_t len) {
    fa__buf_t idb = FA__BUF_INIT;
    int rc = fa__rpc_write_id(&idb, id);
    if (rc == 0)
        rc = fa__rpc_write_result_raw(fa__reply_buf(s, to, idb.data, idb.len), idb.data, idb.len,
                                      raw, len);
    fa__buf_free(&idb);
    if (rc) {
        fa__reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: %s", fa_strerror(rc));
        return;
    }
    fa__reply_commit(s, to);
}
