/* outreq.c: requests the server sends to a client on behalf of a running call (elicitation,
 * sampling, roots), and the client's answers. A request travels from the tool's thread to the
 * loop as an fa__outreq_t carrying the call's session handle; if that session has gone, or the
 * client never declared the capability the method needs, the tool gets an error answer at once.
 * Loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/log.h"
#include "fasterapi/error.h"
#include "mcp/jsonrpc.h"
#include "mcp/server_internal.h"

/* The client capability a server-to-client method needs (lifecycle: only use what was
 * negotiated), or NULL when none is needed. */
const char *fa__needed_capability(const char *method) {
    if (strcmp(method, "elicitation/create") == 0)
        return "elicitation";
    if (strcmp(method, "sampling/createMessage") == 0)
        return "sampling";
    if (strcmp(method, "roots/list") == 0)
        return "roots";
    return NULL;
}

void fa__outreq_answer(fa__outreq_t *r, int code, const char *message) {
    json_t *e = json_pack("{s:i, s:s}", "code", code, "message", message);
    r->cb(r->arg, NULL, e);
    json_decref(e);
    fa__outreq_free(r);
}

void fa__server_on_request(fa_server_t *srv, fa__outreq_t *r) {
    fa__session_t *s = fa__session_get(srv, r->sref);
    fa_call_t *c = s ? fa__map_get(&s->ids, r->rel_id, r->rel_len) : NULL;
    if (s && fa__task_on_request(s, c, r))
        return; /* a task's question: an inputRequest the client answers with tasks/update */
    if (c && c->modern) {
        /* Protocol 2026-07-28: no server-to-client requests; MRTR instead (mrtr.c), which needs
         * nothing from the client now, so it works during a shutdown too. */
        fa__mrtr_on_request(s, c, r);
        return;
    }
    if (srv->stopping) {
        fa__outreq_answer(r, FA_RPC_SHUTTING_DOWN,
                          "Server shutting down: the client can no longer answer");
        return;
    }
    if (!s) {
        fa__outreq_answer(r, FA_RPC_SHUTTING_DOWN,
                          "The session ended: the client can no longer answer");
        return;
    }
    if (s->era == FA__ERA_MODERN) {
        fa__outreq_answer(r, FA_RPC_INTERNAL_ERROR,
                          "The request ended: protocol 2026-07-28 has no server-to-client "
                          "requests outside a running tools/call, prompts/get or resources/read");
        return;
    }
    const char *cap = fa__needed_capability(r->method);
    if (cap && !json_object_get(s->client_caps, cap)) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "The client did not declare the %s capability, so %s cannot be "
                 "sent",
                 cap, r->method);
        fa__outreq_answer(r, FA_RPC_METHOD_NOT_FOUND, msg);
        return;
    }
    fa__buf_t idb = FA__BUF_INIT;
    if (fa__buf_appendf(&idb, "%llu", (unsigned long long)++s->next_out_id) != 0 ||
        !(r->id_text = fa__buf_detach(&idb, &r->id_len)) ||
        fa__map_put(&s->out_pending, r->id_text, r->id_len, r) != 0) {
        fa__buf_free(&idb);
        fa__outreq_answer(r, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        return;
    }
    const fa__out_info_t info = {FA__OUT_REQUEST, r->rel_id, r->rel_len};
    fa__buf_t *out = s->ops->out(s, &info);
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
        fa__outreq_answer(r, FA_RPC_INTERNAL_ERROR, "Internal error: the request cannot be sent");
        return;
    }
    s->ops->commit(s);
}

void fa__session_on_response(fa__session_t *s, const json_t *id, const json_t *result,
                             const json_t *error) {
    fa__buf_t *key = &s->scratch;
    key->len = 0;
    fa__outreq_t *r = NULL;
    if (id && fa__rpc_write_id(key, id) == 0)
        r = fa__map_del(&s->out_pending, key->data, key->len);
    if (!r) {
        FA_WARN("ignoring a response to a request this server did not send (or already answered)");
        return;
    }
    r->cb(r->arg, result, result ? NULL : error);
    fa__outreq_free(r);
}

void fa__session_fail_requests(fa__session_t *s, int code, const char *message) {
    for (size_t i = 0; i < s->out_pending.cap; i++) {
        fa__outreq_t *r = s->out_pending.slots[i].key ? s->out_pending.slots[i].value : NULL;
        if (r)
            fa__outreq_answer(r, code, message);
    }
    fa__map_free(&s->out_pending);
}
