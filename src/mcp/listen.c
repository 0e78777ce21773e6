/* listen.c: subscriptions/listen (protocol 2026-07-28, basic/patterns/subscriptions.mdx;
 * research/spec_2026.md §8), the modern replacement of the GET stream and resources/subscribe.
 *
 * A listen request is not answered while the stream lasts. Its first message is
 * notifications/subscriptions/acknowledged with the subset of the requested notifications this
 * server honours; then every list_changed notification the application raises
 * (fa_server_notify_changed, any thread: an atomic mask and a wake-up, broadcast on the loop)
 * goes to the streams that asked for it, each tagged with _meta subscriptionId = the listen
 * request's id. The stream ends when the client cancels it (notifications/cancelled on stdio,
 * closing the SSE stream on HTTP: then nothing more is sent) or when the server shuts down (then
 * the final result {resultType:"complete", _meta:{subscriptionId}} goes out, the spec's graceful
 * end). resourceSubscriptions (URIs) are honoured when the server has resources: a change
 * announced with fa_server_notify_resource_updated reaches the streams that named its uri as
 * notifications/resources/updated {uri}. Loop thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/log.h"
#include "fasterapi/error.h"
#include "mcp/jsonrpc.h"
#include "mcp/server_internal.h"

/* Listen streams per session: a client needs one (maybe one per filter); this bounds memory. */
#define FA_MCP_MAX_LISTENS 16

struct fa__listen_s {
    char *id_text; /* the listen request's id as JSON text */
    size_t id_len;
    unsigned what; /* FA_MCP_CHANGED_* honoured */
    json_t *uris;  /* {uri: true} of resourceSubscriptions honoured, or NULL */
};

static const struct {
    const char *param;
    unsigned bit;
    const char *method;
} kinds[] = {
    {"toolsListChanged", FA_MCP_CHANGED_TOOLS, "notifications/tools/list_changed"},
    {"promptsListChanged", FA_MCP_CHANGED_PROMPTS, "notifications/prompts/list_changed"},
    {"resourcesListChanged", FA_MCP_CHANGED_RESOURCES, "notifications/resources/list_changed"},
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

/* Writes {"jsonrpc":"2.0","method":m,"params":{[key:value,]"_meta":{subscriptionId:id}}}. */
static void send_tagged(fa__session_t *s, const struct fa__listen_s *l, const char *method,
                        const char *key, const json_t *value) {
    const fa__out_info_t info = {FA__OUT_NOTIFY, l->id_text, l->id_len};
    fa__buf_t *out = s->ops->out(s, &info);
    size_t mark = out->len;
    int rc = fa__buf_append_str(out, "{\"jsonrpc\":\"2.0\",\"method\":");
    if (rc == 0)
        rc = fa__json_write_string(out, method, strlen(method));
    if (rc == 0)
        rc = fa__buf_append_str(out, ",\"params\":{");
    if (rc == 0 && key)
        rc = fa__json_write_string(out, key, strlen(key)) || fa__buf_putc(out, ':') ||
                     fa__json_write(out, value) || fa__buf_putc(out, ',')
                 ? FA_ENOMEM
                 : 0;
    if (rc == 0)
        rc = fa__buf_append_str(out, "\"_meta\":{\"" FA_META_SUBSCRIPTION_ID "\":");
    if (rc == 0)
        rc = fa__buf_append(out, l->id_text, l->id_len);
    if (rc == 0)
        rc = fa__buf_append_str(out, "}}}");
    if (rc) {
        out->len = mark;
        FA_ERROR("out of memory writing %s", method);
        return;
    }
    s->ops->commit(s);
}

void fa__do_listen(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params) {
    json_t *want = json_object_get(params, "notifications");
    if (!json_is_object(want)) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                        "Invalid params: subscriptions/listen needs notifications (an object)");
        return;
    }
    if (s->nlistens >= FA_MCP_MAX_LISTENS) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_REQUEST,
                        "Invalid Request: %d listen streams are open on this connection already",
                        FA_MCP_MAX_LISTENS);
        return;
    }
    fa__buf_t idb = FA__BUF_INIT;
    if (fa__rpc_write_id(&idb, id) != 0) {
        fa__buf_free(&idb);
        fa__reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        return;
    }
    for (size_t i = 0; i < s->nlistens; i++) {
        if (s->listens[i].id_len == idb.len &&
            memcmp(s->listens[i].id_text, idb.data, idb.len) == 0) {
            fa__buf_free(&idb);
            fa__reply_error(s, to, id, FA_RPC_INVALID_REQUEST,
                            "Invalid Request: a listen stream with this id is open already");
            return;
        }
    }
    /* Honoured: list changes of the families this server offers. */
    unsigned what = 0;
    json_t *ack = json_object();
    for (size_t i = 0; ack && i < NKINDS; i++) {
        if (!json_is_true(json_object_get(want, kinds[i].param)))
            continue;
        if (kinds[i].bit != FA_MCP_CHANGED_TOOLS && !s->srv->catalog.installed)
            continue;
        what |= kinds[i].bit;
        json_object_set_new(ack, kinds[i].param, json_true());
    }
    json_t *uris = NULL;
    const json_t *asked = json_object_get(want, "resourceSubscriptions");
    if (asked && !json_is_array(asked)) {
        json_decref(ack);
        fa__buf_free(&idb);
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                        "Invalid params: resourceSubscriptions must be an array of URIs");
        return;
    }
    if (ack && json_array_size(asked) && fa__catalog_has_resources(s->srv)) {
        json_t *honoured = json_array();
        uris = json_object();
        size_t i;
        json_t *u;
        json_array_foreach ((json_t *)(uintptr_t)asked, i, u) {
            if (!json_is_string(u) || json_object_size(uris) >= FA_MCP_MAX_SUBSCRIPTIONS)
                continue; /* not a URI, or past the per-stream cap: left out of the ack */
            if (honoured && uris && !json_object_get(uris, json_string_value(u)) &&
                json_object_set_new(uris, json_string_value(u), json_true()) == 0)
                json_array_append(honoured, u);
        }
        json_object_set_new(ack, "resourceSubscriptions", honoured);
    }
    struct fa__listen_s *grown =
        ack ? realloc(s->listens, (s->nlistens + 1) * sizeof *grown) : NULL;
    if (!grown) {
        json_decref(ack);
        json_decref(uris);
        fa__buf_free(&idb);
        fa__reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        return;
    }
    s->listens = grown;
    struct fa__listen_s *l = &s->listens[s->nlistens++];
    l->id_len = idb.len;
    l->id_text = fa__buf_detach(&idb, NULL);
    l->what = what;
    l->uris = uris;
    if (!l->id_text) {
        s->nlistens--;
        json_decref(uris);
        json_decref(ack);
        fa__reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        return;
    }
    send_tagged(s, l, "notifications/subscriptions/acknowledged", "notifications", ack);
    json_decref(ack);
    fa__reply_none(s, to);
}

static void drop(fa__session_t *s, size_t i) {
    free(s->listens[i].id_text);
    json_decref(s->listens[i].uris);
    s->listens[i] = s->listens[--s->nlistens];
}

int fa__listen_cancel(fa__session_t *s, const char *id_text, size_t id_len) {
    for (size_t i = 0; i < s->nlistens; i++) {
        if (s->listens[i].id_len == id_len && memcmp(s->listens[i].id_text, id_text, id_len) == 0) {
            drop(s, i);
            return 1;
        }
    }
    return 0;
}

void fa__listen_broadcast(fa_server_t *srv, unsigned what) {
    for (uint32_t i = 0; i < srv->nslots; i++) {
        fa__session_t *s = srv->slots[i].s;
        for (size_t j = 0; s && j < s->nlistens; j++)
            for (size_t k = 0; k < NKINDS; k++)
                if (what & s->listens[j].what & kinds[k].bit)
                    send_tagged(s, &s->listens[j], kinds[k].method, NULL, NULL);
    }
}

void fa__listen_resource_updated(fa__session_t *s, const char *uri) {
    json_t *u = NULL;
    for (size_t j = 0; j < s->nlistens; j++) {
        if (!json_object_get(s->listens[j].uris, uri))
            continue;
        if (!u && !(u = json_string(uri)))
            return;
        send_tagged(s, &s->listens[j], "notifications/resources/updated", "uri", u);
    }
    json_decref(u);
}

void fa__listen_end_all(fa__session_t *s) {
    while (s->nlistens) {
        struct fa__listen_s *l = &s->listens[s->nlistens - 1];
        fa__buf_t *out = fa__reply_buf(s, FA__DIRECT, l->id_text, l->id_len);
        size_t mark = out->len;
        if (fa__buf_appendf(
                out,
                "{\"jsonrpc\":\"2.0\",\"id\":%.*s,\"result\":{\"resultType\":\"complete\","
                "\"_meta\":{\"" FA_META_SUBSCRIPTION_ID "\":%.*s}}}",
                (int)l->id_len, l->id_text, (int)l->id_len, l->id_text) == 0)
            fa__reply_commit(s, FA__DIRECT);
        else
            out->len = mark;
        drop(s, s->nlistens - 1);
    }
}

void fa__listen_free(fa__session_t *s) {
    while (s->nlistens)
        drop(s, s->nlistens - 1);
    free(s->listens);
    s->listens = NULL;
}
