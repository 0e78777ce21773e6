/* c_echo_http.c: the C echo tool over MCP Streamable HTTP, for bench/mcp_http/run.sh: the floor
 * of the runtime under the Python echo (bench/mcp_http/echo_server.py), on the public C API only.
 *
 *   mcp_c_echo_http [PORT]     (0 or none: a free port; prints "listening on URL" on stderr)
 *
 * The same echo tool as examples/embed_c/echo_server.c (FA_TOOL_NONBLOCKING: microseconds of
 * work, run on the I/O thread), mounted with fa_mcp_http_mount as fasterapi/mcp_http.h shows.
 * SIGINT/SIGTERM close the MCP server, then the HTTP server, and it exits 0.
 */
#define _POSIX_C_SOURCE 200809L
#include <fasterapi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

static fa_http_server_t *g_http;
static uv_signal_t g_sigint, g_sigterm;

static void echo_cb(fa_call_t *call, const json_t *args, void *data) {
    (void)data;
    /* The input schema guarantees "text" is a string. */
    fa_call_complete(call, fa_result_text(json_string_value(json_object_get(args, "text"))));
}

static void http_closed(fa_http_server_t *http) {
    (void)http; /* the loop runs out of handles and main returns */
}

static void mcp_closed(fa_server_t *mcp) {
    (void)mcp;
    fa_http_server_close(g_http, http_closed);
    uv_close((uv_handle_t *)&g_sigint, NULL);
    uv_close((uv_handle_t *)&g_sigterm, NULL);
}

static void on_signal(uv_signal_t *h, int signum) {
    (void)signum;
    uv_signal_stop(&g_sigint);
    uv_signal_stop(&g_sigterm);
    fa_server_close(h->data, mcp_closed);
}

int main(int argc, char **argv) {
    uv_loop_t loop;
    if (uv_loop_init(&loop) != 0)
        return 1;
    fa_server_options_t opts;
    fa_server_options_init(&opts);
    opts.name = "c-echo-http-bench";
    fa_server_t *mcp;
    if (fa_server_new(&mcp, &opts) != 0)
        return 1;
    fa_tool_def_t echo = {
        .name = "echo",
        .title = "Echo",
        .description = "Return the given text unchanged.",
        .input_schema = "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\","
                        "\"description\":\"Text to echo\"}},\"required\":[\"text\"],"
                        "\"additionalProperties\":false}",
        .annotations = "{\"readOnlyHint\":true,\"idempotentHint\":true,\"openWorldHint\":false}",
        .cb = echo_cb,
        .flags = FA_TOOL_NONBLOCKING};
    fa_http_options_t ho;
    fa_http_options_init(&ho);
    ho.host = "127.0.0.1";
    ho.port = argc > 1 ? atoi(argv[1]) : 0;
    int rc;
    if ((rc = fa_server_add_tool(mcp, &echo)) != 0 ||
        (rc = fa_http_server_new(&g_http, &ho)) != 0 ||
        (rc = fa_mcp_http_mount(mcp, g_http, NULL)) != 0 ||
        (rc = fa_server_start(mcp, &loop)) != 0 ||
        (rc = fa_http_server_start(g_http, &loop)) != 0) {
        fprintf(stderr, "mcp_c_echo_http: %s\n", fa_strerror(rc));
        return 1;
    }
    uv_signal_init(&loop, &g_sigint);
    uv_signal_init(&loop, &g_sigterm);
    g_sigint.data = g_sigterm.data = mcp;
    uv_signal_start(&g_sigint, on_signal, SIGINT);
    uv_signal_start(&g_sigterm, on_signal, SIGTERM);
    char url[300];
    if (fa_http_server_url(g_http, url, sizeof url) < 0)
        url[0] = '\0';
    fprintf(stderr, "listening on %s/mcp\n", url);
    fflush(stderr);
    uv_run(&loop, UV_RUN_DEFAULT);
    fa_http_server_free(g_http);
    fa_server_free(mcp);
    uv_loop_close(&loop);
    return 0;
}
