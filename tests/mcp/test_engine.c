/* Tests for src/mcp/engine.c, driven by the JSON fixtures in tests/fixtures/jsonrpc/.
 *
 * Each fixture is one conversation: {"description", "options"?, "init"?, "input": [lines],
 * "expect": [replies]}. The real server runs on a temporary input file and writes to a temporary
 * output file (fa_server_run_fds serves regular files too), then every output line must be valid
 * JSON and the replies must equal "expect" as a multiset (tool results may overtake synchronous
 * replies). In "expect", the string "<any>" matches any value. With "init": "<version>", an
 * initialize with that version and notifications/initialized are sent first and the initialize
 * reply (id "init") is checked separately. An input line may be {"hex": "..."} for raw bytes.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fa_test.h"
#include "fasterapi.h"
#include "mcp/server_internal.h"

static void echo_cb(fa_call_t *call, const json_t *args, void *data) {
    (void)data;
    fa_call_complete(call, fa_result_text(json_string_value(json_object_get(args, "text"))));
}

static void fail_cb(fa_call_t *call, const json_t *args, void *data) {
    (void)args;
    (void)data;
    fa_call_fail(call, "something broke");
}

static void error_cb(fa_call_t *call, const json_t *args, void *data) {
    (void)args;
    (void)data;
    fa_call_error(call, FA_RPC_INTERNAL_ERROR, "tool refused", json_pack("{s:i}", "why", 42));
}

static void bad_cb(fa_call_t *call, const json_t *args, void *data) {
    (void)args;
    (void)data;
    fa_call_complete(call, json_string("not an object"));
}

static void log_cb(fa_call_t *call, const json_t *args, void *data) {
    (void)data;
    fa_call_log(call, json_string_value(json_object_get(args, "level")), "test",
                json_string(json_string_value(json_object_get(args, "message"))));
    fa_call_complete(call, fa_result_text("logged"));
}

static void progress_cb(fa_call_t *call, const json_t *args, void *data) {
    (void)args;
    (void)data;
    fa_call_progress(call, 1, 2, "half");
    fa_call_progress(call, 2, 2, NULL);
    fa_call_complete(call, fa_result_text("done"));
}

/* Announces an update of resource args.uri (options "touch_tool": true), as
 * ctx.session.send_resource_updated does. */
static void touch_cb(fa_call_t *call, const json_t *args, void *data) {
    (void)data;
    fa_call_notify(call, "notifications/resources/updated",
                   json_pack("{s:O}", "uri", json_object_get(args, "uri")));
    fa_call_complete(call, fa_result_text("touched"));
}

static void trigger_cb(fa_call_t *call, const json_t *args, void *data) {
    (void)args;
    fa_server_notify_changed(data, FA_MCP_CHANGED_TOOLS | FA_MCP_CHANGED_PROMPTS);
    fa_call_complete(call, fa_result_text("changed"));
}

/* Runs until cancelled (or 5 s). */
static void wait_cb(fa_call_t *call, const json_t *args, void *data) {
    (void)args;
    (void)data;
    for (int i = 0; i < 5000 && !fa_call_is_cancelled(call); i++)
        usleep(1000);
    fa_call_complete(call, fa_result_text(fa_call_is_cancelled(call) ? "cancelled" : "waited"));
}

/* Asks the client twice (elicitation, then sampling) and reports both answers. */
typedef struct {
    fa_call_t *call;
    json_t *first;
} ask_t;

static void ask_second(void *arg, const json_t *result, const json_t *error) {
    ask_t *a = arg;
    char text[256];
    if (error) {
        fa_call_fail(a->call, "second question failed");
    } else {
        snprintf(text, sizeof text, "name=%s model=%s",
                 json_string_value(json_object_get(json_object_get(a->first, "content"), "name")),
                 json_string_value(json_object_get(result, "model")));
        fa_call_complete(a->call, fa_result_text(text));
    }
    json_decref(a->first);
    free(a);
}

static void ask_first(void *arg, const json_t *result, const json_t *error) {
    ask_t *a = arg;
    if (error) {
        fa_call_fail(a->call, json_string_value(json_object_get(error, "message")));
        free(a);
        return;
    }
    a->first = json_deep_copy(result);
    if (fa_call_request_keyed(a->call, "model_pick", "sampling/createMessage",
                              json_pack("{s:[], s:i}", "messages", "maxTokens", 10), ask_second,
                              a) != 0) {
        json_decref(a->first);
        free(a);
    }
}

static void ask_cb(fa_call_t *call, const json_t *args, void *data) {
    (void)args;
    (void)data;
    ask_t *a = calloc(1, sizeof *a);
    a->call = call;
    if (fa_call_request_keyed(
            call, "user_name", "elicitation/create",
            json_pack("{s:s, s:{s:s}}", "message", "Name?", "requestedSchema", "type", "object"),
            ask_first, a) != 0)
        free(a);
}

/* Handlers for resources/read, prompts/get, completion/complete (options "catalog": true). */
static void read_resource(fa_call_t *call, const json_t *params, void *data) {
    (void)data;
    const char *uri = json_string_value(json_object_get(params, "uri"));
    if (strcmp(uri, "test://hello") == 0 || strncmp(uri, "users://", 8) == 0)
        fa_call_complete(call, json_pack("{s:[{s:s, s:s, s:s}]}", "contents", "uri", uri,
                                         "mimeType", "text/plain", "text", "hello"));
    else
        fa_call_error(call, FA_MCP_RESOURCE_NOT_FOUND, "Resource not found",
                      json_pack("{s:s}", "uri", uri));
}

static void get_prompt(fa_call_t *call, const json_t *params, void *data) {
    (void)data;
    const char *who =
        json_string_value(json_object_get(json_object_get(params, "arguments"), "name"));
    char text[128];
    snprintf(text, sizeof text, "Hello %s", who ? who : "you");
    fa_call_complete(call, json_pack("{s:[{s:s, s:{s:s, s:s}}]}", "messages", "role", "user",
                                     "content", "type", "text", "text", text));
}

static void complete(fa_call_t *call, const json_t *params, void *data) {
    (void)data;
    const char *v =
        json_string_value(json_object_get(json_object_get(params, "argument"), "value"));
    fa_call_complete(call, json_pack("{s:{s:[s], s:i, s:b}}", "completion", "values", v, "total", 1,
                                     "hasMore", 0));
}

static const fa__ops_t catalog_ops = {read_resource, get_prompt, complete, NULL};

static fa_server_t *make_server(const json_t *options) {
    fa_server_options_t o;
    fa_server_options_init(&o);
    o.name = "fixture";
    o.version = "9.9.9";
    o.workers = 2;
    json_t *v;
    if ((v = json_object_get(options, "max_message")))
        o.max_message = (size_t)json_integer_value(v);
    if ((v = json_object_get(options, "max_depth")))
        o.max_depth = (int)json_integer_value(v);
    if ((v = json_object_get(options, "max_batch")))
        o.max_batch = (size_t)json_integer_value(v);
    if ((v = json_object_get(options, "page_size")))
        o.page_size = (size_t)json_integer_value(v);
    if ((v = json_object_get(options, "instructions")))
        o.instructions = json_string_value(v);
    fa_server_t *srv;
    ck_assert_int_eq(fa_server_new(&srv, &o), 0);
    const char *text_schema =
        "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":"
        "\"string\"}},\"required\":[\"text\"],\"additionalProperties\":false}";
    fa_tool_def_t defs[] = {
        {.name = "echo", .description = "Echo", .input_schema = text_schema, .cb = echo_cb},
        {.name = "fail", .description = "Fails", .cb = fail_cb},
        {.name = "rpc_error", .description = "JSON-RPC error", .cb = error_cb},
        {.name = "bad_result", .description = "Returns a string", .cb = bad_cb},
        {.name = "log", .description = "Logs", .cb = log_cb},
        {.name = "progress", .description = "Reports progress", .cb = progress_cb},
    };
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++)
        ck_assert_int_eq(fa_server_add_tool(srv, &defs[i]), 0);
    if (json_is_true(json_object_get(options, "touch_tool"))) {
        fa_tool_def_t touch = {
            .name = "touch", .description = "Announces a resource update", .cb = touch_cb};
        ck_assert_int_eq(fa_server_add_tool(srv, &touch), 0);
    }

    if (json_is_true(json_object_get(options, "modern_tools"))) {
        fa_tool_def_t more[] = {
            {.name = "trigger", .description = "Changes the lists", .cb = trigger_cb, .data = srv},
            {.name = "ask", .description = "Asks twice", .cb = ask_cb},
            {.name = "wait", .description = "Waits for cancellation", .cb = wait_cb},
        };
        for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
            ck_assert_int_eq(fa_server_add_tool(srv, &more[i]), 0);
    }
    if (json_is_true(json_object_get(options, "catalog"))) {
        json_t *res = json_pack("[{s:s, s:s, s:s}]", "uri", "test://hello", "name", "hello",
                                "mimeType", "text/plain");
        json_t *tpl = json_pack("[{s:s, s:s}]", "uriTemplate", "users://{id}", "name", "user");
        json_t *prompts = json_pack("[{s:s, s:s, s:[{s:s, s:b}]}]", "name", "greet", "description",
                                    "Greets", "arguments", "name", "name", "required", 1);
        ck_assert_int_eq(fa__server_set_catalog(srv, res, tpl, prompts, 1, &catalog_ops), 0);
    }
    return srv;
}

/* Pattern match: "<any>" matches anything; objects need the same key set. */
static int match(const json_t *want, const json_t *got) {
    if (json_is_string(want) && strcmp(json_string_value(want), "<any>") == 0)
        return got != NULL;
    if (!got || json_typeof(want) != json_typeof(got))
        return 0;
    if (json_is_object(want)) {
        if (json_object_size(want) != json_object_size(got))
            return 0;
        const char *k;
        json_t *w;
        json_object_foreach ((json_t *)(uintptr_t)want, k, w) {
            if (!match(w, json_object_get(got, k)))
                return 0;
        }
        return 1;
    }
    if (json_is_array(want)) {
        if (json_array_size(want) != json_array_size(got))
            return 0;
        for (size_t i = 0; i < json_array_size(want); i++)
            if (!match(json_array_get(want, i), json_array_get(got, i)))
                return 0;
        return 1;
    }
    return json_equal(want, got);
}

static char *show(const json_t *v) {
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

static void run_fixture(const char *path) {
    json_error_t err;
    json_t *fx = json_load_file(path, 0, &err);
    ck_assert_msg(fx != NULL, "%s: %s", path, err.text);
    const char *init = json_string_value(json_object_get(fx, "init"));
    json_t *input = json_object_get(fx, "input");
    json_t *expect = json_object_get(fx, "expect");
    ck_assert_msg(json_is_array(input) && json_is_array(expect), "%s: input/expect", path);

    char in_path[] = "/tmp/fa_fixture_in_XXXXXX", out_path[] = "/tmp/fa_fixture_out_XXXXXX";
    int in_fd = mkstemp(in_path), out_fd = mkstemp(out_path);
    ck_assert(in_fd >= 0 && out_fd >= 0);
    FILE *in = fdopen(in_fd, "w");
    if (init)
        fprintf(in,
                "{\"jsonrpc\":\"2.0\",\"id\":\"init\",\"method\":\"initialize\",\"params\":{"
                "\"protocolVersion\":\"%s\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\","
                "\"version\":\"1\"}}}\n{\"jsonrpc\":\"2.0\",\"method\":\"notifications/"
                "initialized\"}\n",
                init);
    size_t i;
    json_t *line;
    json_array_foreach (input, i, line) {
        const char *hex = json_string_value(json_object_get(line, "hex"));
        if (hex) { /* raw bytes that JSON text cannot carry, e.g. invalid UTF-8 */
            for (; hex[0] && hex[1]; hex += 2) {
                unsigned byte;
                sscanf(hex, "%2x", &byte);
                fputc((int)byte, in);
            }
        } else {
            fputs(json_string_value(line), in);
        }
        if (!json_is_true(json_object_get(fx, "no_final_newline")) ||
            i + 1 < json_array_size(input))
            fputc('\n', in);
    }
    fclose(in);

    int rd = open(in_path, O_RDONLY);
    fa_server_t *srv = make_server(json_object_get(fx, "options"));
    ck_assert_int_eq(fa_server_run_fds(srv, rd, out_fd), 0);
    fa_server_free(srv);
    close(rd);
    close(out_fd);

    size_t len;
    char *out = fa_test_read_file(out_path, &len);
    unlink(in_path);
    unlink(out_path);
    json_t *got = json_array();
    for (char *p = out, *nl; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        ck_assert_msg(nl != NULL, "%s: output does not end with a newline", path);
        json_t *v = json_loadb(p, (size_t)(nl - p), 0, &err);
        ck_assert_msg(v != NULL, "%s: output line is not JSON: %.*s", path, (int)(nl - p), p);
        json_t *id = json_is_object(v) ? json_object_get(v, "id") : NULL;
        if (init && json_is_string(id) && strcmp(json_string_value(id), "init") == 0) {
            ck_assert_str_eq(
                json_string_value(json_object_get(json_object_get(v, "result"), "protocolVersion")),
                json_string_value(json_object_get(fx, "negotiated"))
                    ? json_string_value(json_object_get(fx, "negotiated"))
                    : init);
            json_decref(v);
            continue;
        }
        json_array_append_new(got, v);
    }
    free(out);
    char *g = show(got), *w = show(expect);
    ck_assert_msg(json_array_size(got) == json_array_size(expect), "%s (%s):\n got  %s\n want %s",
                  path, json_string_value(json_object_get(fx, "description")), g, w);
    char used[256] = {0};
    json_t *e;
    json_array_foreach (expect, i, e) {
        int found = 0;
        for (size_t j = 0; j < json_array_size(got) && !found; j++) {
            if (!used[j] && match(e, json_array_get(got, j)))
                found = 1, used[j] = 1;
        }
        char *es = show(e);
        ck_assert_msg(found, "%s (%s): no reply matches\n want %s\n got  %s", path,
                      json_string_value(json_object_get(fx, "description")), es, g);
        free(es);
    }
    free(g);
    free(w);
    json_decref(got);
    json_decref(fx);
}

START_TEST(test_fixtures) {
    const char *dir = FA_FIXTURES_DIR "/jsonrpc";
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    ck_assert_int_gt(n, 0);
    int ran = 0;
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        size_t len = strlen(name);
        if (len > 5 && strcmp(name + len - 5, ".json") == 0) {
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", dir, name);
            run_fixture(path);
            ran++;
        }
        free(names[i]);
    }
    free(names);
    ck_assert_int_ge(ran, 10);
}
END_TEST

int main(void) {
    fa_log_set_level(FA_LOG_ERROR);
    Suite *s = suite_create("mcp/engine");
    TCase *tc = tcase_create("fixtures");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_fixtures);
    suite_add_tcase(s, tc);
    return fa_test_run(s);
}
