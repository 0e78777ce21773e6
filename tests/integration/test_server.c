/* test_server.c: the stdio MCP server the integration tests drive (fa_test_server).
 *
 * It uses only the public embedding API (include/fasterapi.h), exactly as an application would,
 * and offers tools made to exercise the engine from the outside: synchronous and asynchronous
 * completion, tool and protocol errors, logging, progress, cancellation, huge and malformed
 * results, calls that never finish, and a schema rich enough to check validation messages.
 * Every limit of fa_server_options_t is a command-line option so the Python tests can reach the
 * limits with small inputs.
 *
 *   echo        {text}              -> text content (annotations set)
 *   add         {a, b: number}      -> {"sum": a + b} as structuredContent (output schema)
 *   fail        {message?}          -> fa_call_fail(message, default "something broke")
 *   rpc_error   {}                  -> fa_call_error(-32603, ..., data {"tool":"rpc_error"})
 *   sleep       {ms, block?}        -> finished from another thread; polls fa_call_is_cancelled
 *                                      every 2 ms and reports progress every 10 ms. With
 *                                      block:true it sleeps on the worker thread instead and
 *                                      ignores cancellation (a tool stuck in a system call)
 *   log         {level, message,    -> fa_call_log(level, "test", message repeated `repeat`
 *                repeat?}              times), then "logged"
 *   big         {bytes}             -> a text result of exactly that many 'x' bytes
 *   bad_result  {}                  -> completes with a JSON string (not a CallToolResult)
 *   never       {}                  -> never finishes (shutdown deadline tests)
 *   types       {count, color, ...} -> the validated arguments back as compact JSON text
 *   extra_NNN   {}                  -> --extra-tools K of them, for tools/list pagination
 *
 * Exit status: 0 when fa_server_run_stdio returned 0, 1 on a server error, 2 on bad usage.
 */
#include <errno.h>
#include <fasterapi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- tools ---- */

static void echo_cb(fa_call_t *call, const json_t *args, void *data) {
    (void)data;
    fa_call_complete(call, fa_result_text(json_string_value(json_object_get(args, "text"))));
}

static void add_cb(fa_call_t *call, const json_t *args, void *data) {
    (void)data;
    double sum = json_number_value(json_object_get(args, "a")) +
                 json_number_value(json_object_get(args, "b"));
    fa_call_complete(call, fa_result_structured(json_pack("{s:f}", "sum", sum)));
}

static void fail_cb(fa_call_t *call, const json_t *args, void *data) {
    (void)data;
    const char *msg = json_string_value(json_object_get(args, "message"));
    fa_call_fail(call, msg ? msg : "something broke");
}

static void rpc_error_cb(fa_call_t *call, const json_t *args, void *data) {
    (void)args;
    (void)data;
    fa_call_error(call, -32603, "rpc_error: deliberate internal error",
                  json_pack("{s:s}", "tool", "rpc_error"));
}

/* sleep: the callback returns at once and a detached thread finishes the call, as a tool waiting
 * on I/O would. Progress is strictly increasing (elapsed milliseconds), as the spec requires. */
typedef struct {
    fa_call_t *call;
    long ms;
} sleep_job_t;

static void nap_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000L * 1000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void *sleep_thread(void *arg) {
    sleep_job_t *job = arg;
    long elapsed = 0;
    int cancelled = 0;
    while (elapsed < job->ms) {
        if (fa_call_is_cancelled(job->call)) {
            cancelled = 1;
            break;
        }
        long step = job->ms - elapsed < 2 ? job->ms - elapsed : 2;
        nap_ms(step);
        elapsed += step;
        if (elapsed % 10 == 0 || elapsed == job->ms)
            fa_call_progress(job->call, (double)elapsed, (double)job->ms, NULL);
    }
    char text[96];
    snprintf(text, sizeof text, "%s %ld ms", cancelled ? "cancelled after" : "slept", elapsed);
    /* A cancelled call must still be finished; the server discards the result. */
    fa_call_complete(job->call, fa_result_text(text));
    free(job);
    return NULL;
}

static void sleep_cb(fa_call_t *call, const json_t *args, void *data) {
    (void)data;
    if (json_is_true(json_object_get(args, "block"))) {
        long ms = (long)json_integer_value(json_object_get(args, "ms"));
        char text[64];
        nap_ms(ms);
        snprintf(text, sizeof text, "blocked %ld ms", ms);
        fa_call_complete(call, fa_result_text(text));
        return;
    }
    sleep_job_t *job = malloc(sizeof *job);
    pthread_t t;
    if (!job) {
        fa_call_fail(call, "out of memory");
        return;
    }
    job->call = call;
    job->ms = (long)json_integer_value(json_object_get(args, "ms"));
    if (pthread_create(&t, NULL, sleep_thread, job) != 0) {
        free(job);
        fa_call_fail(call, "cannot start a thread");
        return;
    }
    pthread_detach(t);
}

static void log_cb(fa_call_t *call, const json_t *args, void *data) {
    (void)data;
    const char *level = json_string_value(json_object_get(args, "level"));
    const char *message = json_string_value(json_object_get(args, "message"));
    json_t *repeat = json_object_get(args, "repeat");
    size_t times = repeat ? (size_t)json_integer_value(repeat) : 1;
    size_t len = strlen(message);
    char *text = malloc(len * times + 1);
    if (!text) {
        fa_call_fail(call, "out of memory");
        return;
    }
    for (size_t i = 0; i < times; i++)
        memcpy(text + i * len, message, len);
    text[len * times] = '\0';
    int rc = fa_call_log(call, level, "test", json_string(text));
    free(text);
    if (rc != 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "fa_call_log failed: %s", fa_strerror(rc));
        fa_call_fail(call, msg);
        return;
    }
    fa_call_complete(call, fa_result_text("logged"));
}

static void big_cb(fa_call_t *call, const json_t *args, void *data) {
    (void)data;
    size_t n = (size_t)json_integer_value(json_object_get(args, "bytes"));
    char *text = malloc(n + 1);
    if (!text) {
        fa_call_fail(call, "out of memory");
        return;
    }
    memset(text, 'x', n);
    text[n] = '\0';
    json_t *r = fa_result_text(text);
    free(text);
    if (!r) {
        fa_call_fail(call, "out of memory");
        return;
    }
    fa_call_complete(call, r);
}

static void bad_result_cb(fa_call_t *call, const json_t *args, void *data) {
    (void)args;
    (void)data;
    fa_call_complete(call, json_string("this is not a CallToolResult"));
}

static void never_cb(fa_call_t *call, const json_t *args, void *data) {
    (void)call;
    (void)args;
    (void)data;
    /* Deliberately never finished: the shutdown deadline must answer it. */
}

static void types_cb(fa_call_t *call, const json_t *args, void *data) {
    (void)data;
    char *text = json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text) {
        fa_call_fail(call, "out of memory");
        return;
    }
    fa_call_complete(call, fa_result_text(text));
    free(text);
}

static void extra_cb(fa_call_t *call, const json_t *args, void *data) {
    (void)args;
    char text[64];
    snprintf(text, sizeof text, "extra %d", (int)(intptr_t)data);
    fa_call_complete(call, fa_result_text(text));
}

/* ---- tool table ---- */

#define NO_ARGS "{\"type\":\"object\",\"additionalProperties\":false}"

static const fa_tool_def_t tools[] = {
    {.name = "echo",
     .title = "Echo",
     .description = "Return the given text unchanged.",
     .input_schema = "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\","
                     "\"description\":\"Text to echo\"}},\"required\":[\"text\"],"
                     "\"additionalProperties\":false}",
     .annotations = "{\"readOnlyHint\":true,\"idempotentHint\":true,\"openWorldHint\":false}",
     .cb = echo_cb},
    {.name = "add",
     .title = "Add",
     .description = "Add two numbers.",
     .input_schema = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"number\"},"
                     "\"b\":{\"type\":\"number\"}},\"required\":[\"a\",\"b\"],"
                     "\"additionalProperties\":false}",
     .output_schema = "{\"type\":\"object\",\"properties\":{\"sum\":{\"type\":\"number\"}},"
                      "\"required\":[\"sum\"]}",
     .annotations = "{\"readOnlyHint\":true}",
     .cb = add_cb},
    {.name = "fail",
     .description = "Always fails with a tool execution error.",
     .input_schema = "{\"type\":\"object\",\"properties\":{\"message\":{\"type\":\"string\"}},"
                     "\"additionalProperties\":false}",
     .cb = fail_cb},
    {.name = "rpc_error",
     .description = "Always fails with a JSON-RPC internal error.",
     .input_schema = NO_ARGS,
     .cb = rpc_error_cb},
    {.name = "sleep",
     .description = "Wait ms milliseconds on another thread, reporting progress.",
     .input_schema = "{\"type\":\"object\",\"properties\":{\"ms\":{\"type\":\"integer\","
                     "\"minimum\":0,\"maximum\":60000},\"block\":{\"type\":\"boolean\"}},"
                     "\"required\":[\"ms\"],"
                     "\"additionalProperties\":false}",
     .cb = sleep_cb},
    {.name = "log",
     .description = "Send one log message to the client, then finish.",
     .input_schema = "{\"type\":\"object\",\"properties\":{\"level\":{\"type\":\"string\"},"
                     "\"message\":{\"type\":\"string\"},\"repeat\":{\"type\":\"integer\","
                     "\"minimum\":0,\"maximum\":1000000}},\"required\":[\"level\",\"message\"],"
                     "\"additionalProperties\":false}",
     .cb = log_cb},
    {.name = "big",
     .description = "Return a text result of the given size.",
     .input_schema = "{\"type\":\"object\",\"properties\":{\"bytes\":{\"type\":\"integer\","
                     "\"minimum\":0,\"maximum\":268435456}},\"required\":[\"bytes\"],"
                     "\"additionalProperties\":false}",
     .cb = big_cb},
    {.name = "bad_result",
     .description = "Completes with something that is not a CallToolResult.",
     .input_schema = NO_ARGS,
     .cb = bad_result_cb},
    {.name = "never",
     .description = "Never finishes.",
     .input_schema = NO_ARGS,
     .annotations = "{\"destructiveHint\":false,\"openWorldHint\":false}",
     .cb = never_cb},
    {.name = "types",
     .title = "Types",
     .description = "Validation showcase: returns its arguments.",
     .input_schema = "{\"type\":\"object\",\"properties\":{"
                     "\"count\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10},"
                     "\"color\":{\"enum\":[\"red\",\"green\",\"blue\"]},"
                     "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"minItems\":1},"
                     "\"point\":{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"number\"},"
                     "\"y\":{\"type\":\"number\"}},\"required\":[\"x\",\"y\"],"
                     "\"additionalProperties\":false},"
                     "\"note\":{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]},"
                     "\"a/b~c\":{\"type\":\"string\"}},"
                     "\"required\":[\"count\"],\"additionalProperties\":false}",
     .cb = types_cb},
};

/* ---- options ---- */

static void usage(void) {
    fprintf(stderr, "usage: fa_test_server [--workers N] [--max-message BYTES] [--max-result "
                    "BYTES] [--max-queued N] [--max-inflight N]\n"
                    "  [--max-batch N] [--max-depth N] [--tool-timeout-ms N]\n"
                    "  [--shutdown-timeout-ms N] [--page-size N] [--max-pending-output BYTES]\n"
                    "  [--extra-tools K] [--log-level trace|debug|info|warn|error|off]\n");
}

/* Parses a non-negative decimal number; returns 0 or -1. */
static int parse_num(const char *s, unsigned long long max, unsigned long long *out) {
    char *end;
    errno = 0;
    if (!s || *s < '0' || *s > '9')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv) {
    fa_server_options_t opts;
    fa_server_options_init(&opts);
    opts.name = "fa-test-server";
    opts.version = "1.2.3";
    opts.title = "FasterAPI integration test server";
    opts.instructions = "Tools for the FasterAPI integration tests.";
    opts.handle_signals = 1;
    unsigned long long extra = 0;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long long v = 0;
        if (strcmp(opt, "--log-level") == 0) {
            fa_log_level_t level;
            if (!val || fa_log_parse_level(val, &level) != 0) {
                usage();
                return 2;
            }
            fa_log_set_level(level);
            i++;
            continue;
        }
        if (parse_num(val, 0xFFFFFFFFull, &v) != 0) {
            usage();
            return 2;
        }
        i++;
        if (strcmp(opt, "--workers") == 0)
            opts.workers = (int)v;
        else if (strcmp(opt, "--max-message") == 0)
            opts.max_message = (size_t)v;
        else if (strcmp(opt, "--max-result") == 0)
            opts.max_result = (size_t)v;
        else if (strcmp(opt, "--max-queued") == 0)
            opts.max_queued = (size_t)v;
        else if (strcmp(opt, "--max-inflight") == 0)
            opts.max_inflight = (size_t)v;
        else if (strcmp(opt, "--max-batch") == 0)
            opts.max_batch = (size_t)v;
        else if (strcmp(opt, "--max-depth") == 0)
            opts.max_depth = (int)v;
        else if (strcmp(opt, "--tool-timeout-ms") == 0)
            opts.tool_timeout_ms = (unsigned)v;
        else if (strcmp(opt, "--shutdown-timeout-ms") == 0)
            opts.shutdown_timeout_ms = (unsigned)v;
        else if (strcmp(opt, "--page-size") == 0)
            opts.page_size = (size_t)v;
        else if (strcmp(opt, "--max-pending-output") == 0)
            opts.max_pending_output = (size_t)v;
        else if (strcmp(opt, "--extra-tools") == 0)
            extra = v;
        else {
            usage();
            return 2;
        }
    }

    fa_server_t *srv;
    int rc = fa_server_new(&srv, &opts);
    if (rc != 0) {
        fprintf(stderr, "fa_test_server: fa_server_new: %s\n", fa_strerror(rc));
        return 2;
    }
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++) {
        if ((rc = fa_server_add_tool(srv, &tools[i])) != 0) {
            fprintf(stderr, "fa_test_server: cannot add tool %s: %s\n", tools[i].name,
                    fa_strerror(rc));
            fa_server_free(srv);
            return 1;
        }
    }
    for (unsigned long long k = 0; k < extra; k++) {
        char name[32], desc[64];
        snprintf(name, sizeof name, "extra_%03llu", k);
        snprintf(desc, sizeof desc, "Extra tool number %llu.", k);
        fa_tool_def_t def = {.name = name,
                             .description = desc,
                             .input_schema = NO_ARGS,
                             .cb = extra_cb,
                             .data = (void *)(intptr_t)k};
        if ((rc = fa_server_add_tool(srv, &def)) != 0) {
            fprintf(stderr, "fa_test_server: cannot add tool %s: %s\n", name, fa_strerror(rc));
            fa_server_free(srv);
            return 1;
        }
    }
    rc = fa_server_run_stdio(srv);
    if (rc != 0)
        fprintf(stderr, "fa_test_server: fa_server_run_stdio: %s\n", fa_strerror(rc));
    fa_server_free(srv);
    return rc == 0 ? 0 : 1;
}
