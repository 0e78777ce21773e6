/* engine.c: the MCP protocol engine: messages in, for one session, in either era: the 2025 era
 * (initialize handshake, a session) and the 2026-07-28 era (stateless requests, each with its
 * own _meta envelope; modern.h). A session's era is pinned by its first message on stdio
 * (fa__session_on_message, research/spec_2026.md §1.3); an HTTP exchange of the modern era is a
 * session pinned to it from the start (modern.c). The method families live in methods.c, call
 * accounting in session.c, replies in reply.c, requests to the client in outreq.c, their
 * 2026-07-28 replacement (input_required rounds) in mrtr.c, subscriptions/listen in listen.c.
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
#include "mcp/tasks.h"

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

static void reply_empty(fa__session_t *s, fa__reply_to_t to, const json_t *id) {
    fa__reply_raw(s, to, id, "{}", 2);
}

/* ---- initialize ---- */

static void do_initialize(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params) {
    fa_server_t *srv = s->srv;
    if (to.batch) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_REQUEST,
                        "Invalid Request: initialize must not be part of a batch");
        return;
    }
    if (s->state != FA__SESS_NEW) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_REQUEST,
                        "Invalid Request: the session is already initialized");
        return;
    }
    json_t *pv = json_object_get(params, "protocolVersion");
    if (!json_is_string(pv)) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                        "Invalid params: initialize needs protocolVersion (a string)");
        return;
    }
    json_t *caps = json_object_get(params, "capabilities");
    if (caps && !json_is_object(caps)) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                        "Invalid params: capabilities must be an object");
        return;
    }
    json_t *info = json_object_get(params, "clientInfo");
    if (info && !json_is_object(info)) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
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
                            json_pack("{s:b, s:b}", "subscribe", 1, "listChanged", 0));
    if (result && srv->catalog.completions)
        json_object_set_new(caps_out, "completions", json_object());
    if (result && fa__skills_offered(srv))
        json_object_set_new(
            caps_out, "extensions",
            json_pack("{s:o}", FA_MCP_SKILLS_EXTENSION, fa__skills_capability(srv)));
    if (result && srv->title)
        json_object_set_new(server_info, "title", json_string(srv->title));
    if (result && srv->instructions)
        json_object_set_new(result, "instructions", json_string(srv->instructions));
    if (!result) {
        fa__reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        return;
    }
    snprintf(s->version, sizeof s->version, "%s", version);
    json_decref(s->client_caps);
    s->client_caps = caps ? json_incref(caps) : json_object();
    s->state = FA__SESS_INITIALIZED;
    fa__reply_result(s, to, id, result);
    json_decref(result);
    const char *cname = json_string_value(json_object_get(info, "name"));
    FA_INFO("session initialized: protocol %s (client asked %s), client %s", version,
            json_string_value(pv), cname ? cname : "(unnamed)");
}

static void do_set_level(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params) {
    json_t *level = json_object_get(params, "level");
    int idx = json_is_string(level) ? fa__mcp_log_level(json_string_value(level)) : -1;
    if (idx < 0) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                        "Invalid params: level must be one of debug, info, notice, warning, error, "
                        "critical, alert, emergency");
        return;
    }
    fa__session_set_log_level(s, idx);
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
    if (s->nlistens && fa__listen_cancel(s, key->data, key->len))
        return; /* a subscriptions/listen stream: closed, nothing more is sent for it */
    fa__session_cancel(s, key->data, key->len,
                       json_string_value(json_object_get(params, "reason")));
}

/* ---- dispatch: the method table ---- */

static void do_ping(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params) {
    (void)params;
    reply_empty(s, to, id); /* exactly {} (utilities/ping), in any state */
}

/* Whether a family is offered: tools always; resources and prompts once the catalog is
 * installed (the Python host always installs it, so FastMCP servers answer empty lists as the
 * official SDK's FastMCP does); completion when a handler exists. */
enum { NEED_NONE = 0, NEED_CATALOG, NEED_COMPLETIONS, NEED_SKILLS, NEVER };

typedef struct {
    const char *name;
    fa__method_fn fn;
    int any_state; /* served before initialize (ping, initialize itself) */
    int need;
} method_t;

/* Sorted by name (strcmp) for bsearch. Methods of the 2025 schema that this engine does not
 * serve are listed with NEVER, so the client learns "not offered" rather than "unknown". */
static const method_t methods[] = {
    {"completion/complete", fa__do_complete, 0, NEED_COMPLETIONS},
    {"initialize", do_initialize, 1, NEED_NONE},
    {"logging/setLevel", do_set_level, 0, NEED_NONE},
    {"ping", do_ping, 1, NEED_NONE},
    {"prompts/get", fa__do_prompts_get, 0, NEED_CATALOG},
    {"prompts/list", fa__do_prompts_list, 0, NEED_CATALOG},
    {"resources/directory/read", fa__do_directory_read, 0, NEED_SKILLS},
    {"resources/list", fa__do_resources_list, 0, NEED_CATALOG},
    {"resources/read", fa__do_resources_read, 0, NEED_CATALOG},
    {"resources/subscribe", fa__do_resources_subscribe, 0, NEED_CATALOG},
    {"resources/templates/list", fa__do_templates_list, 0, NEED_CATALOG},
    {"resources/unsubscribe", fa__do_resources_unsubscribe, 0, NEED_CATALOG},
    {"skills/get", fa__do_skills_get, 0, NEED_SKILLS},
    {"skills/list", fa__do_skills_list, 0, NEED_SKILLS},
    {"tasks/cancel", NULL, 0, NEVER},
    {"tasks/get", NULL, 0, NEVER},
    {"tasks/list", NULL, 0, NEVER},
    {"tasks/result", NULL, 0, NEVER},
    {"tools/call", fa__do_tools_call, 0, NEED_NONE},
    {"tools/list", fa__do_tools_list, 0, NEED_NONE},
};

static int method_cmp(const void *key, const void *elem) {
    return strcmp(key, ((const method_t *)elem)->name);
}

static int offered(const fa_server_t *srv, int need) {
    switch (need) {
    case NEED_NONE:
        return 1;
    case NEED_CATALOG:
        return srv->catalog.installed;
    case NEED_COMPLETIONS:
        return srv->catalog.completions;
    case NEED_SKILLS:
        return fa__skills_offered(srv);
    default:
        return 0;
    }
}

static void handle_request(fa__session_t *s, fa__reply_to_t to, const fa__rpc_msg_t *m) {
    json_t *params = m->params;
    if (params && !json_is_object(params)) {
        fa__reply_error(s, to, m->id, FA_RPC_INVALID_PARAMS,
                        "Invalid params: MCP methods take params as an object");
        return;
    }
    const method_t *md = bsearch(m->method, methods, sizeof methods / sizeof methods[0],
                                 sizeof methods[0], method_cmp);
    if ((!md || !md->any_state) && s->state == FA__SESS_NEW) {
        fa__reply_error(s, to, m->id, FA_RPC_INVALID_REQUEST,
                        "Invalid Request: the session is not initialized; send initialize first");
        return;
    }
    if (!md) {
        fa__reply_error(s, to, m->id, FA_RPC_METHOD_NOT_FOUND, "Method not found: %s", m->method);
        return;
    }
    if (!offered(s->srv, md->need)) {
        fa__reply_error(s, to, m->id, FA_RPC_METHOD_NOT_FOUND,
                        "Method not found: %s (this server does not offer that capability)",
                        m->method);
        return;
    }
    md->fn(s, to, m->id, params);
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

static void handle_one(fa__session_t *s, fa__reply_to_t to, json_t *msg) {
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
        fa__session_on_response(s, m.id, m.result, m.error);
        break;
    case FA_RPC_INVALID_RESPONSE:
        FA_WARN("ignoring a malformed response: %s", m.why);
        break;
    case FA_RPC_INVALID:
        if (m.code == FA_RPC_INVALID_PARAMS) /* a number out of range: the member is named */
            fa__reply_error(s, to, m.id, FA_RPC_INVALID_PARAMS, "Invalid params: %s", m.why);
        else
            fa__reply_error(s, to, m.id, FA_RPC_INVALID_REQUEST, "Invalid Request: %s", m.why);
        return;
    }
    fa__reply_none(s, to);
}

static void handle_batch(fa__session_t *s, json_t *arr) {
    size_t n = json_array_size(arr);
    if (n == 0) {
        fa__reply_error(s, FA__DIRECT, NULL, FA_RPC_INVALID_REQUEST,
                        "Invalid Request: an empty batch is not a valid request");
        return;
    }
    /* Batches exist only in protocol 2025-03-26 (MUST support receiving); 2025-06-18 removed
     * them and 2024-11-05 never had them. Before initialize the version is unknown. */
    if (strcmp(s->version, "2025-03-26") != 0) {
        fa__reply_error(s, FA__DIRECT, NULL, FA_RPC_INVALID_REQUEST,
                        "Invalid Request: JSON-RPC batches are only supported with protocol "
                        "2025-03-26 (this session uses %s)",
                        s->version[0] ? s->version : "no protocol yet");
        return;
    }
    if (n > s->srv->opts.max_batch) {
        fa__reply_error(s, FA__DIRECT, NULL, FA_RPC_INVALID_REQUEST,
                        "Invalid Request: batch of %zu messages exceeds the limit of %zu", n,
                        s->srv->opts.max_batch);
        return;
    }
    fa__batch_t *b = fa__batch_new(n);
    if (!b) {
        fa__reply_error(s, FA__DIRECT, NULL, FA_RPC_INTERNAL_ERROR,
                        "Internal error: out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++)
        handle_one(s, (fa__reply_to_t){b, i}, json_array_get(arr, i));
    fa__batch_done(s, b);
}

/* ---- the 2026-07-28 era (modern.h) ---- */

static void do_discover(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params) {
    (void)params;
    fa_server_t *srv = s->srv;
    json_t *versions = json_array();
    for (size_t i = 0; versions && i < fa__mcp_nmodern_versions; i++)
        json_array_append_new(versions, json_string(fa__mcp_modern_versions[i]));
    /* listChanged: subscriptions/listen delivers fa_server_notify_changed to listeners. */
    json_t *caps = json_pack("{s:{}, s:{s:b}}", "logging", "tools", "listChanged", 1);
    if (caps && fa__catalog_has_prompts(srv))
        json_object_set_new(caps, "prompts", json_pack("{s:b}", "listChanged", 1));
    if (caps && fa__catalog_has_resources(srv)) /* subscribe: listen's resourceSubscriptions */
        json_object_set_new(caps, "resources",
                            json_pack("{s:b, s:b}", "listChanged", 1, "subscribe", 1));
    if (caps && srv->catalog.completions)
        json_object_set_new(caps, "completions", json_object());
    /* Extensions (SEP-2133): tasks when a tool can run as one (tasks.c); skills (SEP-2640)
     * only when skills exist. */
    int tasks = 0;
    for (size_t i = 0; i < srv->ntools; i++)
        tasks |= srv->tools[i]->task_support != FA__TASKS_FORBIDDEN;
    json_t *ext = caps && (tasks || fa__skills_offered(srv)) ? json_object() : NULL;
    if (ext && tasks)
        json_object_set_new(ext, FA_TASKS_EXTENSION, json_object());
    if (ext && fa__skills_offered(srv))
        json_object_set_new(ext, FA_MCP_SKILLS_EXTENSION, fa__skills_capability(srv));
    if (ext)
        json_object_set_new(caps, "extensions", ext);
    json_t *info = json_pack("{s:s, s:s}", "name", srv->name, "version", srv->version);
    if (info && srv->title)
        json_object_set_new(info, "title", json_string(srv->title));
    json_t *result = versions && caps && info
                         ? json_pack("{s:s, s:o, s:o, s:i, s:s, s:{s:o}}", "resultType", "complete",
                                     "supportedVersions", versions, "capabilities", caps, "ttlMs",
                                     0, "cacheScope", "private", "_meta", FA_META_SERVER_INFO, info)
                         : (json_decref(versions), json_decref(caps), json_decref(info), NULL);
    if (result && srv->instructions)
        json_object_set_new(result, "instructions", json_string(srv->instructions));
    if (!result) {
        fa__reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        return;
    }
    fa__reply_result(s, to, id, result);
    json_decref(result);
}

/* The modern method table, sorted by name. Removed methods (initialize, ping, logging/setLevel,
 * resources/subscribe, resources/unsubscribe, tasks/list, tasks/result) are simply absent:
 * -32601 (404 on HTTP), as the suite wants. */
static const method_t modern_methods[] = {
    {"completion/complete", fa__do_complete, 0, NEED_COMPLETIONS},
    {"prompts/get", fa__do_prompts_get, 0, NEED_CATALOG},
    {"prompts/list", fa__do_prompts_list, 0, NEED_CATALOG},
    {"resources/directory/read", fa__do_directory_read, 0, NEED_SKILLS},
    {"resources/list", fa__do_resources_list, 0, NEED_CATALOG},
    {"resources/read", fa__do_resources_read, 0, NEED_CATALOG},
    {"resources/templates/list", fa__do_templates_list, 0, NEED_CATALOG},
    {"server/discover", do_discover, 1, NEED_NONE},
    {"skills/get", fa__do_skills_get, 0, NEED_SKILLS},
    {"skills/list", fa__do_skills_list, 0, NEED_SKILLS},
    {"subscriptions/listen", fa__do_listen, 0, NEED_NONE},
    {"tasks/cancel", fa__do_tasks_cancel, 0, NEED_NONE}, /* extension: tasks.c gates them */
    {"tasks/get", fa__do_tasks_get, 0, NEED_NONE},
    {"tasks/update", fa__do_tasks_update, 0, NEED_NONE},
    {"tools/call", fa__do_tools_call, 0, NEED_NONE},
    {"tools/list", fa__do_tools_list, 0, NEED_NONE},
};

static void modern_request(fa__session_t *s, const fa__rpc_msg_t *m) {
    json_t *params = m->params;
    if (params && !json_is_object(params)) {
        fa__reply_error(s, FA__DIRECT, m->id, FA_RPC_INVALID_PARAMS,
                        "Invalid params: MCP methods take params as an object");
        return;
    }
    fa__env_t env;
    fa__mcp_envelope(params, &env);
    if (env.status == FA__ENV_NONE && strcmp(m->method, "initialize") == 0) {
        /* A legacy client reaching a process pinned to 2026-07-28: name what we speak so it can
         * tell (spec_2026.md §1.3, §1: a modern server SHOULD list its versions). */
        const char *asked = json_string_value(json_object_get(params, "protocolVersion"));
        json_t *data = fa__mcp_unsupported_data(asked ? asked : "");
        fa__reply_error_data(s, FA__DIRECT, m->id, FA_RPC_UNSUPPORTED_VERSION, data,
                             "Unsupported protocol version: this server speaks %s on this "
                             "connection (initialize belongs to 2025-11-25 and earlier)",
                             FA_MCP_MODERN_VERSION);
        json_decref(data);
        return;
    }
    if (env.status == FA__ENV_NONE) {
        fa__reply_error(s, FA__DIRECT, m->id, FA_RPC_INVALID_PARAMS,
                        "Invalid params: a %s request needs params._meta with "
                        "\"" FA_META_PROTOCOL_VERSION "\" and \"" FA_META_CLIENT_CAPS "\"",
                        FA_MCP_MODERN_VERSION);
        return;
    }
    if (env.status == FA__ENV_MALFORMED) {
        fa__reply_error(s, FA__DIRECT, m->id, FA_RPC_INVALID_PARAMS, "%s", env.why);
        return;
    }
    if (env.status == FA__ENV_UNSUPPORTED) {
        json_t *data = fa__mcp_unsupported_data(env.version);
        fa__reply_error_data(s, FA__DIRECT, m->id, FA_RPC_UNSUPPORTED_VERSION, data,
                             "Unsupported protocol version: %s", env.version);
        json_decref(data);
        return;
    }
    const method_t *md =
        bsearch(m->method, modern_methods, sizeof modern_methods / sizeof modern_methods[0],
                sizeof modern_methods[0], method_cmp);
    if (!md || !offered(s->srv, md->need)) {
        fa__reply_error(s, FA__DIRECT, m->id, FA_RPC_METHOD_NOT_FOUND, "Method not found: %s%s",
                        m->method, md ? " (this server does not offer that capability)" : "");
        return;
    }
    fa__mreq_t req = {env.client_caps, env.log_level >= 0 ? env.log_level : FA_MCP_NLOG_LEVELS,
                      NULL};
    s->req = &req;
    md->fn(s, FA__DIRECT, m->id, params);
    s->req = NULL;
    fa__mrtr_free(req.mrtr); /* not taken by a call (the method answered by itself) */
}

static void modern_one(fa__session_t *s, json_t *msg) {
    fa__rpc_msg_t m;
    fa__rpc_classify(msg, &m);
    switch (m.kind) {
    case FA_RPC_REQUEST:
        modern_request(s, &m);
        return;
    case FA_RPC_NOTIFICATION:
        /* Cancellation carries no claim and follows the pinned era (spec_2026.md §1.3). */
        if (strcmp(m.method, "notifications/cancelled") == 0)
            do_cancelled(s, json_is_object(m.params) ? m.params : NULL);
        return;
    case FA_RPC_RESPONSE:
    case FA_RPC_INVALID_RESPONSE:
        /* The modern era sends no requests, so no response can be ours. */
        FA_DEBUG("ignoring a response in the 2026-07-28 era");
        return;
    case FA_RPC_INVALID:
        fa__reply_error(s, FA__DIRECT, m.id, FA_RPC_INVALID_REQUEST, "Invalid Request: %s", m.why);
        return;
    }
}

void fa__session_on_message(fa__session_t *s, json_t *msg) {
    if (s->era == FA__ERA_LEGACY) {
        if (json_is_array(msg))
            handle_batch(s, msg);
        else
            handle_one(s, FA__DIRECT, msg);
        return;
    }
    if (json_is_array(msg)) {
        if (s->era == FA__ERA_MODERN)
            fa__reply_error(s, FA__DIRECT, NULL, FA_RPC_INVALID_REQUEST,
                            "Invalid Request: JSON-RPC batches are not part of protocol %s",
                            FA_MCP_MODERN_VERSION);
        else
            handle_batch(s, msg);
        return;
    }
    if (s->era == FA__ERA_MODERN) {
        modern_one(s, msg);
        return;
    }
    /* Not pinned yet (stdio, spec_2026.md §1.3): the first message decides. */
    json_t *params = json_object_get(msg, "params");
    json_t *method = json_object_get(msg, "method");
    int request = json_is_string(method) && json_object_get(msg, "id");
    if (request && fa__mcp_has_claim(params)) {
        fa__env_t env;
        fa__mcp_envelope(params, &env);
        if (env.status == FA__ENV_OK) /* a bad envelope or version is answered, not pinned */
            s->era = strcmp(json_string_value(method), "server/discover") == 0 ? FA__ERA_PROBE
                                                                               : FA__ERA_MODERN;
        modern_one(s, msg);
        return;
    }
    if (request && strcmp(json_string_value(method), "initialize") == 0)
        s->era = FA__ERA_LEGACY; /* also after a server/discover probe: the client fell back */
    handle_one(s, FA__DIRECT, msg);
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
        fa__reply_error(s, FA__DIRECT, id, FA_RPC_INVALID_REQUEST,
                        "Invalid Request: JSON nested deeper than the limit of %d levels",
                        max_depth);
        json_decref(full);
        return;
    }
    if (!msg) {
        if (code == FA_ENOMEM)
            fa__reply_error(s, FA__DIRECT, NULL, FA_RPC_INTERNAL_ERROR,
                            "Internal error: out of memory");
        else
            fa__reply_error(s, FA__DIRECT, NULL, FA_RPC_PARSE_ERROR, "Parse error: %s", why);
        return;
    }
    fa__session_on_message(s, msg);
    json_decref(msg);
}

void fa__session_on_toobig(fa__session_t *s, size_t len) {
    FA_WARN("message of at least %zu bytes exceeds the %zu-byte limit; skipped to the next line",
            len, s->srv->opts.max_message);
    fa__reply_error(s, FA__DIRECT, NULL, FA_RPC_INVALID_REQUEST,
                    "Invalid Request: message exceeds the size limit of %zu bytes",
                    s->srv->opts.max_message);
}
