/* tools.c: the tool registry. Tools are registered before the server runs and never change
 * while it runs, so tools/list is answered from pages serialised once (catalog.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/log.h"
#include "fasterapi/error.h"
#include "mcp/schema.h"
#include "mcp/server_internal.h"

/* SEP-986 (2025-11-25): 1-128 characters from [A-Za-z0-9_.-]. */
static int valid_tool_name(const char *name) {
    size_t n = name ? strlen(name) : 0;
    if (n < 1 || n > 128)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

/* Parses a schema or annotations text given to fa_server_add_tool. */
static json_t *load_text(const char *text, const char *what, const char *tool) {
    json_error_t err;
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    if (!json_is_object(v)) {
        FA_ERROR("tool %s: %s is not a JSON object%s%s", tool, what, v ? "" : ": ",
                 v ? "" : err.text);
        json_decref(v);
        return NULL;
    }
    return v;
}

/* The C API builds the Tool definition and registers it like any other (one code path for
 * validation and registration). */
int fa_server_add_tool(fa_server_t *srv, const fa_tool_def_t *def) {
    if (!srv || !def || !def->cb || !valid_tool_name(def->name))
        return FA_EINVAL;
    json_t *in = load_text(def->input_schema ? def->input_schema : "{\"type\":\"object\"}",
                           "input_schema", def->name);
    json_t *out =
        def->output_schema ? load_text(def->output_schema, "output_schema", def->name) : NULL;
    json_t *ann = def->annotations ? load_text(def->annotations, "annotations", def->name) : NULL;
    if (!in || (def->output_schema && !out) || (def->annotations && !ann)) {
        json_decref(in);
        json_decref(out);
        json_decref(ann);
        return FA_ESCHEMA;
    }
    json_t *d = json_object();
    int rc = FA_ENOMEM;
    /* Key order follows the spec's Tool definition; optional fields are omitted, never null. */
    if (d && (json_object_set_new(d, "name", json_string(def->name)) ||
              (def->title && json_object_set_new(d, "title", json_string(def->title))) ||
              (def->description &&
               json_object_set_new(d, "description", json_string(def->description))) ||
              json_object_set(d, "inputSchema", in) ||
              (out && json_object_set(d, "outputSchema", out)) ||
              (ann && json_object_set(d, "annotations", ann)) ||
              (def->task_support &&
               json_object_set_new(d, "execution",
                                   json_pack("{s:s}", "taskSupport", def->task_support)))))
        rc = FA_EINVAL; /* json_string refuses text that is not UTF-8 */
    else if (d)
        rc = fa__server_add_tool_json(srv, d, def->cb, def->data);
    if (rc == 0) /* the tool just added is the last one */
        srv->tools[srv->ntools - 1]->flags = def->flags;
    json_decref(d);
    json_decref(in);
    json_decref(out);
    json_decref(ann);
    return rc;
}

/* execution.taskSupport (the 2025-11-25 Tool schema's spelling, kept by the tasks extension):
 * absent = forbidden. Returns FA__TASKS_* or -1 for a value the schema does not allow. */
static int task_support(const json_t *def) {
    const json_t *ts = json_object_get(json_object_get(def, "execution"), "taskSupport");
    const char *v = json_string_value(ts);
    if (!ts)
        return FA__TASKS_FORBIDDEN;
    if (v && strcmp(v, "forbidden") == 0)
        return FA__TASKS_FORBIDDEN;
    if (v && strcmp(v, "optional") == 0)
        return FA__TASKS_OPTIONAL;
    if (v && strcmp(v, "required") == 0)
        return FA__TASKS_REQUIRED;
    return -1;
}

int fa__server_add_tool_json(fa_server_t *srv, const json_t *def, fa_tool_cb cb, void *data) {
    const char *name = json_string_value(json_object_get(def, "name"));
    if (!srv || !cb || !json_is_object(def) || !valid_tool_name(name))
        return FA_EINVAL;
    if (srv->running)
        return FA_ESTATE;
    if (fa__tools_find(srv, name))
        return FA_EEXIST;
    char why[256];
    const json_t *in = json_object_get(def, "inputSchema");
    const json_t *out = json_object_get(def, "outputSchema");
    if (fa__schema_check(in, why, sizeof why) != 0) {
        FA_ERROR("tool %s: inputSchema rejected: %s", name, why);
        return FA_ESCHEMA;
    }
    if (out && fa__schema_check(out, why, sizeof why) != 0) {
        FA_ERROR("tool %s: outputSchema rejected: %s", name, why);
        return FA_ESCHEMA;
    }
    int tasks = task_support(def);
    if (tasks < 0) {
        FA_ERROR("tool %s: execution.taskSupport must be \"forbidden\", \"optional\" or "
                 "\"required\"",
                 name);
        return FA_EINVAL;
    }
    fa__tool_t *t = calloc(1, sizeof *t);
    json_t *d = json_deep_copy(def);
    int rc = FA_ENOMEM;
    if (!t || !d || !(t->name = strdup(name)))
        goto fail;
    t->task_support = tasks;
    /* Engine options ride in "x-fasterapi" and are not part of the served Tool. */
    t->task_input_first =
        json_is_true(json_object_get(json_object_get(d, "x-fasterapi"), "taskInputFirst"));
    json_object_del(d, "x-fasterapi");
    if (srv->ntools == srv->tools_cap) {
        size_t cap = srv->tools_cap ? srv->tools_cap * 2 : 16;
        fa__tool_t **tools = realloc(srv->tools, cap * sizeof *tools);
        if (!tools)
            goto fail;
        srv->tools = tools;
        srv->tools_cap = cap;
    }
    if ((rc = fa__map_put(&srv->tool_index, t->name, strlen(t->name), t)) != 0)
        goto fail;
    t->def = d;
    t->input_schema = json_object_get(d, "inputSchema");
    t->cb = cb;
    t->data = data;
    srv->tools[srv->ntools++] = t;
    fa__tools_free_pages(srv);
    return 0;
fail:
    if (t)
        free(t->name);
    free(t);
    json_decref(d);
    return rc;
}

fa__tool_t *fa__tools_find(const fa_server_t *srv, const char *name) {
    return fa__map_get(&srv->tool_index, name, strlen(name));
}

void fa__tools_free_pages(fa_server_t *srv) {
    fa__pages_free(&srv->tool_pages);
}

int fa__tools_build_pages(fa_server_t *srv) {
    if (srv->tool_pages.n)
        return 0;
    json_t **items = malloc((srv->ntools ? srv->ntools : 1) * sizeof *items);
    if (!items)
        return FA_ENOMEM;
    for (size_t i = 0; i < srv->ntools; i++)
        items[i] = srv->tools[i]->def;
    int rc = fa__pages_build(&srv->tool_pages, "tools", items, srv->ntools, srv->opts.page_size);
    free(items);
    return rc;
}

int fa__tools_page(const fa_server_t *srv, const char *cursor, const char **raw, size_t *len) {
    return fa__pages_get(&srv->tool_pages, cursor, raw, len);
}

void fa__tools_free(fa_server_t *srv) {
    for (size_t i = 0; i < srv->ntools; i++) {
        json_decref(srv->tools[i]->def);
        free(srv->tools[i]->name);
        free(srv->tools[i]);
    }
    free(srv->tools);
    srv->tools = NULL;
    srv->ntools = srv->tools_cap = 0;
    fa__map_free(&srv->tool_index);
    fa__tools_free_pages(srv);
}
