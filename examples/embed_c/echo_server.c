/* echo_server.c: a small MCP server in C on the FasterAPI embedding API, served over stdio.
 *
 * Tools:
 *   echo  {"text": string}              -> the same text as text content
 *   add   {"a": number, "b": number}    -> the sum, as text and as structuredContent
 *   sleep {"ms": integer 0..60000}      -> finishes later from another thread, reporting
 *                                          progress when the client asked for it
 *
 * Try it:
 *   printf '%s\n'
 * '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"sh","version":"1"}}}'
 * \
 *      '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}'
 * \ | ./fasterapi-example-c
 */
#define _POSIX_C_SOURCE 200809L
#include <fasterapi.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void echo_cb(fa_call_t *call, const json_t *args, void *data) {
    (void)data;
    /* The input schema guarantees "text" is a string. */
    fa_call_complete(call, fa_result_text(json_string_value(json_object_get(args, "text"))));
}

static void add_cb(fa_call_t *call, const json_t *args, void *data) {
    (void)data;
    double sum = json_number_value(json_object_get(args, "a")) +
                 json_number_value(json_object_get(args, "b"));
    /* 1e308 + 1e308 is inf, which JSON cannot carry: tell the model (a tool error it can read
     * and correct), rather than failing the request with an internal error. */
    if (!isfinite(sum)) {
        fa_call_fail(call, "the sum of a and b is too large for a double");
        return;
    }
    fa_call_complete(call, fa_result_structured(json_pack("{s:f}", "sum", sum)));
}

/* sleep: the callback returns at once and a helper thread finishes the call later, as a tool
 * waiting on I/O would. It stops early when the client cancels. */
typedef struct {
    fa_call_t *call;
    long ms;
} sleep_job_t;

static void *sleep_thread(void *arg) {
    sleep_job_t *job = arg;
    long steps = job->ms / 10 + 1;
    for (long i = 0; i < steps && !fa_call_is_cancelled(job->call); i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        long left = job->ms - i * 10;
        if (left < 10)
            ts.tv_nsec = left * 1000 * 1000;
        nanosleep(&ts, NULL);
        fa_call_progress(job->call, (double)(i + 1), (double)steps, NULL);
    }
    char text[64];
    snprintf(text, sizeof text, "slept %ld ms", job->ms);
    fa_call_complete(job->call, fa_result_text(text));
    free(job);
    return NULL;
}

static void sleep_cb(fa_call_t *call, const json_t *args, void *data) {
    (void)data;
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

int main(int argc, char **argv) {
    fa_server_options_t opts;
    fa_server_options_init(&opts);
    opts.name = "fasterapi-example-c";
    opts.title = "FasterAPI C example";
    opts.instructions = "Tools: echo (returns its text), add (sums two numbers), sleep (waits).";
    opts.handle_signals = 1; /* SIGINT/SIGTERM: finish running calls, then exit 0 */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc)
            opts.workers = atoi(argv[++i]);
        else if (strcmp(argv[i], "--quiet") == 0)
            fa_log_set_level(FA_LOG_WARN);
    }
    if (isatty(STDIN_FILENO))
        fprintf(stderr,
                "FasterAPI C example: an MCP server on stdio. Paste JSON-RPC messages, one per "
                "line\n(start with initialize; see README.md). Ctrl-D or Ctrl-C to quit.\n");
    fa_server_t *srv;
    if (fa_server_new(&srv, &opts) != 0)
        return 1;
    fa_tool_def_t tools[] = {
        {.name = "echo",
         .title = "Echo",
         .description = "Return the given text unchanged.",
         .input_schema = "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\","
                         "\"description\":\"Text to echo\"}},\"required\":[\"text\"],"
                         "\"additionalProperties\":false}",
         .annotations = "{\"readOnlyHint\":true,\"idempotentHint\":true,\"openWorldHint\":false}",
         .cb = echo_cb,
         .flags = FA_TOOL_NONBLOCKING}, /* microseconds of work: run it on the I/O thread */
        {.name = "add",
         .title = "Add",
         .description = "Add two numbers.",
         .input_schema = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"number\"},"
                         "\"b\":{\"type\":\"number\"}},\"required\":[\"a\",\"b\"],"
                         "\"additionalProperties\":false}",
         .output_schema = "{\"type\":\"object\",\"properties\":{\"sum\":{\"type\":\"number\"}},"
                          "\"required\":[\"sum\"]}",
         .annotations = "{\"readOnlyHint\":true,\"idempotentHint\":true,\"openWorldHint\":false}",
         .cb = add_cb},
        {.name = "sleep",
         .title = "Sleep",
         .description = "Wait for the given number of milliseconds, reporting progress.",
         .input_schema = "{\"type\":\"object\",\"properties\":{\"ms\":{\"type\":\"integer\","
                         "\"minimum\":0,\"maximum\":60000}},\"required\":[\"ms\"]}",
         .cb = sleep_cb},
    };
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++) {
        int rc = fa_server_add_tool(srv, &tools[i]);
        if (rc) {
            fprintf(stderr, "cannot add tool %s: %s\n", tools[i].name, fa_strerror(rc));
            return 1;
        }
    }
    int rc = fa_server_run_stdio(srv);
    fa_server_free(srv);
    return rc == 0 ? 0 : 1;
}
