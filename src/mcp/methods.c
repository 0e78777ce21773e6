/* methods.c: the method families that list and run things: tools (list, call), resources (list,
 * templates, read), prompts (list, get) and completion. Lists are answered in C from text
 * serialised once; requests are validated here, in C, and only the ones that run user code
 * become calls (DESIGN.md §2). Loop thread only.
 *
 * Unknown tool: JSON-RPC -32602 "Unknown tool: <name>" (the spec's own example); arguments that
 * fail the input schema: an isError result the model can read (SEP-1303).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "fasterapi/error.h"
#include "mcp/schema.h"
#include "mcp/server_internal.h"

void fa__do_tools_list(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params) {
    json_t *cursor = json_object_get(params, "cursor");
    if (cursor && !json_is_string(cursor)) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                        "Invalid params: cursor must be a string");
        return;
    }
    const char *raw;
    size_t len;
    if (fa__tools_build_pages(s->srv) != 0) {
        fa__reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        return;
    }
    if (fa__tools_page(s->srv, json_string_value(cursor), &raw, &len) != 0) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS, "Invalid params: unknown cursor");
        return;
    }
    fa__reply_raw(s, to, id, raw, len);
}

/* The _meta.progressToken of a request, or NULL; replies -32602 and sets *bad if malformed. */
static json_t *progress_token(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params,
                              int *bad) {
    json_t *meta = json_object_get(params, "_meta");
    json_t *token = json_is_object(meta) ? json_object_get(meta, "progressToken") : NULL;
    *bad = token && !json_is_string(token) && !json_is_integer(token);
    if (*bad)
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                        "Invalid params: _meta.progressToken must be a string or an integer");
    return *bad ? NULL : token;
}

void fa__do_tools_call(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params) {
    fa_server_t *srv = s->srv;
    json_t *name = json_object_get(params, "name");
    if (!json_is_string(name)) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                        "Invalid params: tools/call needs name (a string)");
        return;
    }
    fa__tool_t *tool = fa__tools_find(srv, json_string_value(name));
    if (!tool) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS, "Unknown tool: %s",
                        json_string_value(name));
        return;
    }
    json_t *args = json_object_get(params, "arguments");
    if (args && !json_is_object(args)) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
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
            fa__reply_result(s, to, id, r);
        else
            fa__reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        json_decref(r);
        json_decref(empty);
        return;
    }
    int as_task = 0;
    if (s->req && tool->task_support != FA__TASKS_FORBIDDEN) {
        /* Tasks extension: only for a request that declares it in its own capabilities
         * (tasks.md §Capability Negotiation); a task-only tool refuses the others. */
        int declared = fa__tasks_declared(s->req->caps);
        if (!declared && tool->task_support == FA__TASKS_REQUIRED) {
            fa__tasks_reply_required(s, to, id, tool->name);
            json_decref(empty);
            return;
        }
        /* A tool that asks before its task starts runs its first round synchronously: its
         * questions go out as input_required, and the retry carrying the answers becomes the
         * task (tasks.md §Task Creation: MRTR exchanges resolve before CreateTaskResult). */
        as_task = declared && (!tool->task_input_first || json_object_get(params, "requestState"));
    }
    if (s->req && fa__mrtr_prepare(s, to, id, params, "tools/call", tool->name, args) != 0) {
        json_decref(empty);
        return;
    }
    if (as_task) {
        tool->calls++;
        fa__task_start(s, to, id, tool, empty ? empty : json_incref(args));
        return;
    }
    tool->calls++; /* the registry is the loop's while running */
    fa__session_start_call(s, to, id, FA__OP_TOOL, tool, empty ? empty : json_incref(args), token);
}

static void do_list(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params,
                    const fa__pages_t *pages) {
    json_t *cursor = json_object_get(params, "cursor");
    if (cursor && !json_is_string(cursor)) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                        "Invalid params: cursor must be a string");
        return;
    }
    const char *raw;
    size_t len;
    if (fa__pages_get(pages, json_string_value(cursor), &raw, &len) != 0) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS, "Invalid params: unknown cursor");
        return;
    }
    fa__reply_raw(s, to, id, raw, len);
}

/* Runs a non-tool method's handler as a call; params are kept (incref) for the handler. */
static void start_op(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params,
                     fa__op_t op) {
    int bad;
    json_t *token = progress_token(s, to, id, params, &bad);
    if (bad)
        return;
    json_t *p = params ? json_incref(params) : json_object();
    if (!p) {
        fa__reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        return;
    }
    fa__session_start_call(s, to, id, op, NULL, p, token);
}

void fa__do_resources_read(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params) {
    if (!json_is_string(json_object_get(params, "uri"))) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                        "Invalid params: resources/read needs uri (a string)");
        return;
    }
    if (s->req && fa__mrtr_prepare(s, to, id, params, "resources/read",
                                   json_string_value(json_object_get(params, "uri")), NULL) != 0)
        return;
    start_op(s, to, id, params, FA__OP_READ_RESOURCE);
}

/* resources/subscribe and resources/unsubscribe (2025 era, server/resources "Subscriptions"):
 * the session records the URIs its client watches, and a call's notifications/resources/updated
 * (fa_call_notify, ctx.session.send_resource_updated) reaches the client only for a URI in that
 * set. Any URI is accepted: a template's resources are not listed, and a resource may appear
 * later. Unsubscribing from a URI not watched is a no-op (idempotent, like the TS SDK). Both
 * answer exactly {} (the result schema is empty). Not yet: one call's update reaching the other
 * sessions that watch the same URI. */
static const char *subscription_uri(fa__session_t *s, fa__reply_to_t to, const json_t *id,
                                    const json_t *params, const char *method) {
    const char *uri = json_string_value(json_object_get(params, "uri"));
    if (!uri)
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS, "Invalid params: %s needs uri (a string)",
                        method);
    return uri;
}

void fa__do_resources_subscribe(fa__session_t *s, fa__reply_to_t to, const json_t *id,
                                json_t *params) {
    const char *uri = subscription_uri(s, to, id, params, "resources/subscribe");
    if (!uri)
        return;
    if (!s->subscriptions && !(s->subscriptions = json_object())) {
        fa__reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        return;
    }
    if (!json_object_get(s->subscriptions, uri) &&
        json_object_size(s->subscriptions) >= FA_MCP_MAX_SUBSCRIPTIONS) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                        "Invalid params: this session already watches %d resources (the limit)",
                        FA_MCP_MAX_SUBSCRIPTIONS);
        return;
    }
    if (json_object_set_new(s->subscriptions, uri, json_true())) {
        fa__reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        return;
    }
    fa__reply_raw(s, to, id, "{}", 2);
}

void fa__do_resources_unsubscribe(fa__session_t *s, fa__reply_to_t to, const json_t *id,
                                  json_t *params) {
    const char *uri = subscription_uri(s, to, id, params, "resources/unsubscribe");
    if (!uri)
        return;
    json_object_del(s->subscriptions, uri);
    fa__reply_raw(s, to, id, "{}", 2);
}

void fa__do_prompts_get(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params) {
    json_t *name = json_object_get(params, "name");
    if (!json_is_string(name)) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                        "Invalid params: prompts/get needs name (a string)");
        return;
    }
    const json_t *prompt = fa__catalog_prompt(s->srv, json_string_value(name));
    if (!prompt) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS, "Unknown prompt: %s",
                        json_string_value(name));
        return;
    }
    /* PromptArgument values are strings (schema: GetPromptRequest.params.arguments). */
    json_t *args = json_object_get(params, "arguments");
    if (args && !json_is_object(args)) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                        "Invalid params: arguments must be an object of strings");
        return;
    }
    const char *key;
    json_t *val;
    json_object_foreach (args, key, val) {
        if (!json_is_string(val)) {
            fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                            "Invalid params: argument '%s' must be a string", key);
            return;
        }
    }
    size_t i;
    json_t *arg;
    json_array_foreach (json_object_get(prompt, "arguments"), i, arg) {
        const char *an = json_string_value(json_object_get(arg, "name"));
        if (an && json_is_true(json_object_get(arg, "required")) && !json_object_get(args, an)) {
            fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                            "Invalid params: prompt %s needs argument '%s'",
                            json_string_value(name), an);
            return;
        }
    }
    if (s->req &&
        fa__mrtr_prepare(s, to, id, params, "prompts/get", json_string_value(name), args) != 0)
        return;
    start_op(s, to, id, params, FA__OP_GET_PROMPT);
}

void fa__do_complete(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params) {
    json_t *ref = json_object_get(params, "ref");
    json_t *arg = json_object_get(params, "argument");
    const char *type = json_string_value(json_object_get(ref, "type"));
    int ok = type &&
             ((strcmp(type, "ref/prompt") == 0 && json_is_string(json_object_get(ref, "name"))) ||
              (strcmp(type, "ref/resource") == 0 && json_is_string(json_object_get(ref, "uri"))));
    if (!ok) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                        "Invalid params: ref must be {\"type\":\"ref/prompt\",\"name\":...} or "
                        "{\"type\":\"ref/resource\",\"uri\":...}");
        return;
    }
    if (!json_is_string(json_object_get(arg, "name")) ||
        !json_is_string(json_object_get(arg, "value"))) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                        "Invalid params: argument must be {\"name\": string, \"value\": string}");
        return;
    }
    start_op(s, to, id, params, FA__OP_COMPLETE);
}

void fa__do_resources_list(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params) {
    do_list(s, to, id, params, &s->srv->catalog.resource_pages);
}

void fa__do_templates_list(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params) {
    do_list(s, to, id, params, &s->srv->catalog.template_pages);
}

void fa__do_prompts_list(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params) {
    do_list(s, to, id, params, &s->srv->catalog.prompt_pages);
}
