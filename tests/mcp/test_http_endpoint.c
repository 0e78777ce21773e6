/* Tests for src/mcp/http_endpoint.c: the era classification (pure), then MCP over Streamable
 * HTTP end to end: an MCP server and an HTTP server on one loop in a thread, C tools, and raw
 * HTTP/1.1 over blocking sockets, so every byte the client sees is checked (statuses, headers,
 * the SSE framing and event order). Every end-to-end case runs with io_threads 1, 2 and 4 (a
 * loop test: _i picks the count): each request opens a new connection, so with more than one
 * loop they land on different loops and are forwarded to the engine's loop and answered back.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "fa_test.h"
#include "fasterapi.h"
#include "mcp/http_endpoint.h"
#include "mcp/server_internal.h"
#include "transport/http_internal.h"

/* ---- classification ---- */

static json_t *J(const char *text) {
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    ck_assert_msg(v != NULL, "bad test JSON: %s", e.text);
    return v;
}

static fa__http_era_t classify(const char *method, const char *body, const char *header,
                               fa__http_era_error_t *err) {
    json_t *b = body ? J(body) : NULL;
    fa__http_era_t e = fa__mcp_classify(method, b, header, err);
    json_decref(b);
    return e;
}

#define CLAIM "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\"}"

START_TEST(classify_rules) {
    fa__http_era_error_t err;
    /* 1. GET / DELETE: legacy session operations. */
    ck_assert_int_eq(classify("GET", NULL, "2026-07-28", &err), FA__HTTP_ERA_LEGACY);
    ck_assert_int_eq(classify("DELETE", NULL, NULL, &err), FA__HTTP_ERA_LEGACY);
    /* 2. Batches: legacy, unless an element claims the modern era. */
    ck_assert_int_eq(
        classify("POST", "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]", NULL, &err),
        FA__HTTP_ERA_LEGACY);
    ck_assert_int_eq(classify("POST",
                              "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\","
                              "\"params\":{" CLAIM "}}]",
                              NULL, &err),
                     FA__HTTP_ERA_ERROR);
    ck_assert_int_eq(err.status, 400);
    ck_assert_int_eq(err.code, -32600);
    ck_assert_int_eq(classify("POST", "[1]", NULL, &err), FA__HTTP_ERA_ERROR);
    /* 3. A response. */
    ck_assert_int_eq(
        classify("POST", "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}", "2026-07-28", &err),
        FA__HTTP_ERA_LEGACY);
    /* 4. initialize without a claim; with a modern header -> -32020. */
    const char *init = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}";
    ck_assert_int_eq(classify("POST", init, NULL, &err), FA__HTTP_ERA_LEGACY);
    ck_assert_int_eq(classify("POST", init, "2025-11-25", &err), FA__HTTP_ERA_LEGACY);
    ck_assert_int_eq(classify("POST", init, "2026-07-28", &err), FA__HTTP_ERA_ERROR);
    ck_assert_int_eq(err.code, -32020);
    /* 5. The claim decides, even on initialize, and whatever the header says. */
    ck_assert_int_eq(classify("POST",
                              "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
                              "\"params\":{" CLAIM "}}",
                              NULL, &err),
                     FA__HTTP_ERA_MODERN);
    ck_assert_int_eq(classify("POST",
                              "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\","
                              "\"params\":{" CLAIM "}}",
                              "2025-06-18", &err),
                     FA__HTTP_ERA_MODERN);
    /* A malformed claim is still a claim (never silently legacy). */
    ck_assert_int_eq(classify("POST",
                              "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\","
                              "\"params\":{\"_meta\":{\"io.modelcontextprotocol/"
                              "protocolVersion\":7}}}",
                              NULL, &err),
                     FA__HTTP_ERA_MODERN);
    /* Other _meta keys are not a claim. */
    const char *plain = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\","
                        "\"params\":{\"_meta\":{\"progressToken\":1}}}";
    ck_assert_int_eq(classify("POST", plain, NULL, &err), FA__HTTP_ERA_LEGACY);
    /* 6. A modern header without a claim: modern (rejected there); unknown versions too. */
    ck_assert_int_eq(classify("POST", plain, "2026-07-28", &err), FA__HTTP_ERA_MODERN);
    ck_assert_int_eq(classify("POST", plain, "v999", &err), FA__HTTP_ERA_MODERN);
    /* 7. Legacy headers or none. */
    ck_assert_int_eq(classify("POST", plain, "2025-03-26", &err), FA__HTTP_ERA_LEGACY);
    ck_assert_int_eq(classify("POST", "\"x\"", NULL, &err), FA__HTTP_ERA_ERROR);
}
END_TEST

/* ---- a server on a loop thread ---- */

static _Atomic int cancelled_seen, slow_started, release_tools;

static void tool_echo(fa_call_t *call, const json_t *args, void *data) {
    (void)data;
    const char *t = json_string_value(json_object_get(args, "text"));
    fa_call_complete(call, fa_result_text(t ? t : "hi"));
}

/* Three progress steps `ms` apart, a log line, then the result. */
static void tool_progress(fa_call_t *call, const json_t *args, void *data) {
    (void)data;
    long ms = (long)json_integer_value(json_object_get(args, "ms"));
    for (int i = 0; i < 3; i++) {
        fa_call_progress(call, i, 3, NULL);
        if (ms)
            usleep((useconds_t)ms * 1000);
    }
    fa_call_log(call, "info", NULL, json_string("done"));
    fa_call_complete(call, fa_result_text("finished"));
}

static void tool_wait_cancel(fa_call_t *call, const json_t *args, void *data) {
    (void)args;
    (void)data;
    slow_started = 1;
    for (int i = 0; i < 500 && !fa_call_is_cancelled(call) && !release_tools; i++)
        usleep(10000);
    if (fa_call_is_cancelled(call))
        cancelled_seen = 1;
    fa_call_fail(call, "stopped");
}

/* SSE polling (SEP-1699): closes its stream at once, finishes a little later. */
static void tool_poll(fa_call_t *call, const json_t *args, void *data) {
    (void)args;
    (void)data;
    fa_call_close_stream(call);
    usleep(200000);
    fa_call_complete(call, fa_result_text("after the reconnect"));
}

typedef struct {
    uv_loop_t loop;
    uv_async_t stop;
    pthread_t thread;
    fa_server_t *mcp;
    fa_http_server_t *http;
    int port;
} server_t;

static void http_closed(fa_http_server_t *h) {
    (void)h;
}
static server_t *the_server;
static void mcp_closed(fa_server_t *m) {
    (void)m;
    fa_http_server_close(the_server->http, http_closed);
}
static void on_stop(uv_async_t *a) {
    server_t *s = a->data;
    uv_close((uv_handle_t *)a, NULL);
    fa_server_close(s->mcp, mcp_closed);
}
static void *loop_thread(void *arg) {
    server_t *s = arg;
    uv_run(&s->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* The node id the next start() mounts with (NULL: bare session ids). */
static const char *start_node;

static const int io_counts[] = {1, 2, 4};
#define NIO ((int)(sizeof io_counts / sizeof io_counts[0]))
/* In a loop test: the server with io_counts[_i] I/O loops. */
#define start(max_sessions, idle_ms) start_n(max_sessions, idle_ms, io_counts[_i])

static server_t *start_n(size_t max_sessions, uint64_t idle_ms, int io_threads) {
    server_t *s = calloc(1, sizeof *s);
    the_server = s;
    ck_assert_int_eq(uv_loop_init(&s->loop), 0);
    fa_server_options_t so;
    fa_server_options_init(&so);
    so.workers = 2;
    so.max_message = 4096;
    so.shutdown_timeout_ms = 300; /* a running call is answered with an error after 0.3 s */
    if (max_sessions)
        so.max_sessions = max_sessions;
    ck_assert_int_eq(fa_server_new(&s->mcp, &so), 0);
    fa_tool_def_t t = {.name = "echo", .cb = tool_echo};
    ck_assert_int_eq(fa_server_add_tool(s->mcp, &t), 0);
    t = (fa_tool_def_t){.name = "progress", .cb = tool_progress};
    ck_assert_int_eq(fa_server_add_tool(s->mcp, &t), 0);
    t = (fa_tool_def_t){.name = "wait_cancel", .cb = tool_wait_cancel};
    ck_assert_int_eq(fa_server_add_tool(s->mcp, &t), 0);
    t = (fa_tool_def_t){.name = "poll", .cb = tool_poll};
    ck_assert_int_eq(fa_server_add_tool(s->mcp, &t), 0);
    fa_http_options_t ho;
    fa_http_options_init(&ho);
    ho.port = 0;
    ho.io_threads = io_threads;
    ho.metrics_path = "/metrics";
    ck_assert_int_eq(fa_http_server_new(&s->http, &ho), 0);
    fa_mcp_http_options_t mo;
    fa_mcp_http_options_init(&mo);
    static const char *const origins[] = {"https://app.example", NULL};
    mo.allowed_origins = origins;
    mo.retry_ms = 500;
    if (idle_ms)
        mo.session_idle_ms = idle_ms;
    mo.node_id = start_node;
    ck_assert_int_eq(fa_mcp_http_mount(s->mcp, s->http, &mo), 0);
    ck_assert_int_eq(fa_mcp_http_mount(s->mcp, s->http, &mo), FA_EEXIST);
    ck_assert_int_eq(fa_server_start(s->mcp, &s->loop), 0);
    ck_assert_int_eq(fa_http_server_start(s->http, &s->loop), 0);
    s->port = fa_http_server_port(s->http);
    uv_async_init(&s->loop, &s->stop, on_stop);
    s->stop.data = s;
    pthread_create(&s->thread, NULL, loop_thread, s);
    return s;
}

static int io_threads_of(const server_t *s) {
    return (int)s->http->nloops;
}

static void stop(server_t *s) {
    uv_async_send(&s->stop);
    pthread_join(s->thread, NULL);
    ck_assert_int_eq(uv_loop_close(&s->loop), 0);
    fa_http_server_free(s->http);
    fa_server_free(s->mcp);
    free(s);
}

/* ---- a raw HTTP client ---- */

typedef struct {
    int fd;
    char buf[65536];
    size_t len;
} conn_t;

static conn_t *dial(int port) {
    conn_t *c = calloc(1, sizeof *c);
    c->fd = fa_test_connect_loopback(port);
    return c;
}

static void hangup(conn_t *c) {
    close(c->fd);
    free(c);
}

static void send_all(conn_t *c, const char *data, size_t len) {
    while (len) {
        ssize_t n = write(c->fd, data, len);
        ck_assert(n > 0);
        data += n;
        len -= (size_t)n;
    }
}

/* Reads until `needle` is in the buffer (or EOF / timeout): 1 if found. */
static int read_until(conn_t *c, const char *needle, int timeout_ms) {
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        c->buf[c->len] = '\0';
        if (strstr(c->buf, needle))
            return 1;
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        long spent = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (spent >= timeout_ms || c->len + 1 >= sizeof c->buf)
            return 0;
        struct pollfd p = {c->fd, POLLIN, 0};
        if (poll(&p, 1, (int)(timeout_ms - spent)) <= 0)
            return 0;
        ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len);
        if (n <= 0)
            return 0;
        c->len += (size_t)n;
    }
}

/* Reads one complete Content-Length response. Returns the status. */
static int read_response(conn_t *c) {
    ck_assert_msg(read_until(c, "\r\n\r\n", 5000), "no response head: %s", c->buf);
    const char *cl = strcasestr(c->buf, "Content-Length:");
    if (cl) {
        size_t head = (size_t)(strstr(c->buf, "\r\n\r\n") + 4 - c->buf);
        size_t want = head + strtoul(cl + 15, NULL, 10);
        while (c->len < want) {
            struct pollfd p = {c->fd, POLLIN, 0};
            ck_assert(poll(&p, 1, 5000) == 1);
            ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len);
            ck_assert(n > 0);
            c->len += (size_t)n;
        }
        c->buf[c->len] = '\0';
    }
    return atoi(c->buf + 9);
}

static const char *body_of(const conn_t *c) {
    const char *p = strstr(c->buf, "\r\n\r\n");
    return p ? p + 4 : "";
}

/* One request on a fresh connection; the connection stays open for reading more. */
static conn_t *request(int port, const char *method, const char *sid, const char *extra,
                       const char *body) {
    conn_t *c = dial(port);
    char head[2048];
    int n = snprintf(head, sizeof head,
                     "%s /mcp HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s%s%s%s"
                     "Content-Length: %zu\r\n\r\n",
                     method, port, sid ? "Mcp-Session-Id: " : "", sid ? sid : "", sid ? "\r\n" : "",
                     extra ? extra : "", body ? strlen(body) : 0);
    send_all(c, head, (size_t)n);
    if (body)
        send_all(c, body, strlen(body));
    return c;
}

#define POST_HDRS                                                                                  \
    "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
#define INIT_BODY                                                                                  \
    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"     \
    "\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}"

static int post(int port, const char *sid, const char *body, char *out, size_t cap) {
    conn_t *c = request(port, "POST", sid, POST_HDRS, body);
    int st = read_response(c);
    if (out && cap) {
        size_t n = c->len < cap - 1 ? c->len : cap - 1; /* the response, cut to fit */
        memcpy(out, c->buf, n);
        out[n] = '\0';
    }
    hangup(c);
    return st;
}

/* initialize + notifications/initialized; returns the session id (static storage). */
static const char *open_session(int port, const char *version) {
    static char sid[64];
    char body[512], resp[4096];
    snprintf(body, sizeof body,
             "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
             "\"protocolVersion\":\"%s\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\","
             "\"version\":\"1\"}}}",
             version);
    ck_assert_int_eq(post(port, NULL, body, resp, sizeof resp), 200);
    const char *h = strcasestr(resp, "Mcp-Session-Id: ");
    ck_assert_ptr_nonnull(h);
    snprintf(sid, sizeof sid, "%.32s", h + 16);
    for (int i = 0; i < 32; i++)
        ck_assert(strchr("0123456789abcdef", sid[i]) != NULL);
    ck_assert(strstr(resp, "application/json") != NULL);
    ck_assert(strstr(resp, "\"protocolVersion\":\"") != NULL);
    ck_assert_int_eq(post(port, sid,
                          "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", resp,
                          sizeof resp),
                     202);
    ck_assert_ptr_nonnull(strstr(resp, "Content-Length: 0\r\n"));
    return sid;
}

/* ---- end-to-end tests ---- */

START_TEST(initialize_and_json_call) {
    server_t *s = start(0, 0);
    const char *sid = open_session(s->port, "2025-11-25");
    char resp[4096];
    ck_assert_int_eq(post(s->port, sid,
                          "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
                          "\"name\":\"echo\",\"arguments\":{\"text\":\"bonjour\"}}}",
                          resp, sizeof resp),
                     200);
    ck_assert_ptr_nonnull(strstr(resp, "Content-Type: application/json"));
    ck_assert_ptr_nonnull(strstr(resp, "\"id\":1,\"result\":{\"content\":[{\"type\":\"text\","
                                       "\"text\":\"bonjour\"}]}"));
    /* A synchronous answer (tools/list) and a JSON-RPC error both come back as JSON. */
    ck_assert_int_eq(post(s->port, sid,
                          "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"tools/list\"}", resp,
                          sizeof resp),
                     200);
    ck_assert_ptr_nonnull(strstr(resp, "\"name\":\"wait_cancel\""));
    ck_assert_int_eq(
        post(s->port, sid, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"nope\"}", resp, sizeof resp),
        200);
    ck_assert_ptr_nonnull(strstr(resp, "-32601"));
    /* A response from the client to nothing: accepted, 202. */
    ck_assert_int_eq(
        post(s->port, sid, "{\"jsonrpc\":\"2.0\",\"id\":99,\"result\":{}}", resp, sizeof resp),
        202);
    /* /metrics has the engine's lines: one open session, one echo call done. */
    conn_t *m = dial(s->port);
    char get[128];
    int n =
        snprintf(get, sizeof get, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", s->port);
    send_all(m, get, (size_t)n);
    ck_assert_int_eq(read_response(m), 200);
    ck_assert_ptr_nonnull(strstr(body_of(m), "fasterapi_mcp_sessions 1\n"));
    ck_assert_ptr_nonnull(strstr(body_of(m), "fasterapi_mcp_tool_calls_total{tool=\"echo\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(body_of(m), "fasterapi_mcp_calls_completed_total 1\n"));
    hangup(m);
    stop(s);
}
END_TEST

START_TEST(progress_call_streams_sse) {
    server_t *s = start(0, 0);
    const char *sid = open_session(s->port, "2025-11-25");
    conn_t *c = request(s->port, "POST", sid, POST_HDRS,
                        "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{"
                        "\"name\":\"progress\",\"arguments\":{},\"_meta\":{\"progressToken\":"
                        "\"tok\"}}}");
    ck_assert_msg(read_until(c, "\r\n0\r\n\r\n", 5000), "stream did not end: %s", c->buf);
    ck_assert_ptr_nonnull(strstr(c->buf, "HTTP/1.1 200 OK"));
    ck_assert_ptr_nonnull(strstr(c->buf, "Content-Type: text/event-stream"));
    /* Priming first (id, retry, empty data), then the notifications, then the result. */
    const char *prime = strstr(c->buf, "retry: 500\ndata:\n\n");
    const char *p0 = strstr(c->buf, "\"progress\":0");
    const char *p2 = strstr(c->buf, "\"progress\":2");
    const char *log = strstr(c->buf, "notifications/message");
    const char *res = strstr(c->buf, "\"id\":7,\"result\"");
    ck_assert(prime && p0 && p2 && log && res);
    ck_assert(prime < p0 && p0 < p2 && p2 < log && log < res);
    ck_assert_ptr_nonnull(strstr(c->buf, "\"progressToken\":\"tok\""));
    ck_assert_ptr_nonnull(strstr(c->buf, "event: message\nid: "));
    hangup(c);
    stop(s);
}
END_TEST

static char notify_sid[64];
static void notify_cb(fa__http_loop_t *loop, fa__http_conn_t *conn, fa__http_msg_t *m) {
    (void)loop;
    (void)conn;
    const char *msg = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}";
    fa__mcp_http_notify(fa__mcp_http_of(the_server->mcp), notify_sid, msg, strlen(msg));
    free(m);
}
static void notify(server_t *s, const char *sid) {
    snprintf(notify_sid, sizeof notify_sid, "%s", sid);
    fa__http_msg_t *m = calloc(1, sizeof *m);
    m->cb = notify_cb;
    m->to.loop = 0;
    m->to.slot = FA__HTTP_NO_SLOT;
    ck_assert_int_eq(fa__http_post(s->http, m), 0);
}

START_TEST(get_stream_and_delete) {
    server_t *s = start(0, 0);
    const char *sid = open_session(s->port, "2025-11-25");
    char sidc[64];
    snprintf(sidc, sizeof sidc, "%s", sid);
    /* GET needs text/event-stream in Accept. */
    conn_t *g = request(s->port, "GET", sidc, "Accept: application/json\r\n", NULL);
    ck_assert_int_eq(read_response(g), 406);
    hangup(g);
    g = request(s->port, "GET", sidc, "Accept: text/event-stream\r\n", NULL);
    ck_assert(read_until(g, "data:\n\n", 3000)); /* the priming event */
    ck_assert_ptr_nonnull(strstr(g->buf, "Content-Type: text/event-stream"));
    /* A second standalone stream: 409. */
    conn_t *g2 = request(s->port, "GET", sidc, "Accept: text/event-stream\r\n", NULL);
    ck_assert_int_eq(read_response(g2), 409);
    hangup(g2);
    notify(s, sidc);
    ck_assert_msg(read_until(g, "list_changed", 3000), "got: %s", g->buf);
    /* DELETE ends the session and its stream; then 404. */
    conn_t *d = request(s->port, "DELETE", sidc, NULL, NULL);
    ck_assert_int_eq(read_response(d), 200);
    hangup(d);
    ck_assert(read_until(g, "\r\n0\r\n\r\n", 3000));
    hangup(g);
    char resp[2048];
    ck_assert_int_eq(post(s->port, sidc, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", resp,
                          sizeof resp),
                     404);
    ck_assert_ptr_nonnull(strstr(resp, "-32001"));
    d = request(s->port, "DELETE", sidc, NULL, NULL);
    ck_assert_int_eq(read_response(d), 404);
    hangup(d);
    stop(s);
}
END_TEST

START_TEST(queued_for_next_get) {
    server_t *s = start(0, 0);
    char sid[64];
    snprintf(sid, sizeof sid, "%s", open_session(s->port, "2025-06-18"));
    notify(s, sid); /* no GET open yet: kept for the next one */
    usleep(100000);
    conn_t *g = request(s->port, "GET", sid, "Accept: text/event-stream\r\n", NULL);
    ck_assert_msg(read_until(g, "list_changed", 3000), "got: %s", g->buf);
    /* 2025-06-18 session: no priming event (older clients may choke on empty data). */
    ck_assert_ptr_null(strstr(g->buf, "retry:"));
    hangup(g);
    stop(s);
}
END_TEST

START_TEST(header_checks) {
    server_t *s = start(0, 0);
    char resp[4096];
    /* No session on a non-initialize request: 400. Unknown session: 404. */
    ck_assert_int_eq(post(s->port, NULL, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", resp,
                          sizeof resp),
                     400);
    ck_assert_ptr_nonnull(strstr(resp, "\"jsonrpc\":\"2.0\""));
    ck_assert_int_eq(post(s->port, "0123456789abcdef0123456789abcdef",
                          "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", resp, sizeof resp),
                     404);
    const char *sid = open_session(s->port, "2025-11-25");
    char sidc[64];
    snprintf(sidc, sizeof sidc, "%s", sid);
    /* Accept without text/event-stream: 406; wrong Content-Type: 415. */
    conn_t *c = request(s->port, "POST", sidc,
                        "Content-Type: application/json\r\nAccept: application/json\r\n",
                        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}");
    ck_assert_int_eq(read_response(c), 406);
    ck_assert_ptr_nonnull(strstr(body_of(c), "Not Acceptable"));
    hangup(c);
    c = request(s->port, "POST", sidc,
                "Content-Type: text/plain\r\nAccept: application/json, text/event-stream\r\n",
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}");
    ck_assert_int_eq(read_response(c), 415);
    hangup(c);
    /* Parse error: 400 with -32700 (JSON, never HTML). */
    ck_assert_int_eq(post(s->port, sidc, "{\"jsonrpc\":", resp, sizeof resp), 400);
    ck_assert_ptr_nonnull(strstr(resp, "-32700"));
    /* Over the body limit (max_message 4096 here): 413 with a JSON-RPC body. */
    char big[6000];
    memset(big, ' ', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    big[0] = '{';
    big[sizeof big - 2] = '}';
    ck_assert_int_eq(post(s->port, sidc, big, resp, sizeof resp), 413);
    ck_assert_ptr_nonnull(strstr(resp, "application/json"));
    ck_assert_ptr_nonnull(strstr(resp, "-32600"));
    /* Unsupported MCP-Protocol-Version: 400; an older supported one is fine on this session. */
    c = request(s->port, "POST", sidc, POST_HDRS "MCP-Protocol-Version: 1999-01-01\r\n",
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}");
    ck_assert_int_eq(read_response(c), 400);
    hangup(c);
    c = request(s->port, "POST", sidc, POST_HDRS "MCP-Protocol-Version: 2025-03-26\r\n",
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}");
    ck_assert_int_eq(read_response(c), 200);
    hangup(c);
    /* A modern-era request goes to the engine's stateless exchange (no session needed): with a
     * malformed envelope (no clientCapabilities) it is 400 -32602, whatever session it names... */
    c = request(s->port, "POST", sidc, POST_HDRS "MCP-Protocol-Version: 2026-07-28\r\n",
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{" CLAIM "}}");
    ck_assert_int_eq(read_response(c), 400);
    ck_assert_ptr_nonnull(strstr(body_of(c), "-32602"));
    hangup(c);
    /* ... and a well-formed one with its headers is answered as JSON, statelessly. */
    c = request(s->port, "POST", NULL,
                POST_HDRS "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/list\r\n",
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{\"_meta\":{"
                "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
                "\"io.modelcontextprotocol/clientCapabilities\":{}}}}");
    ck_assert_int_eq(read_response(c), 200);
    ck_assert_ptr_nonnull(strstr(body_of(c), "\"tools\""));
    ck_assert_ptr_nonnull(strstr(body_of(c), "\"resultType\":\"complete\""));
    hangup(c);
    /* PUT: 405. */
    c = request(s->port, "PUT", sidc, NULL, NULL);
    ck_assert_int_eq(read_response(c), 405);
    hangup(c);
    stop(s);
}
END_TEST

START_TEST(dns_rebinding) {
    server_t *s = start(0, 0);
    char head[1024];
    /* A foreign Host: 403 before the body is even looked at. */
    conn_t *c = dial(s->port);
    int n = snprintf(head, sizeof head,
                     "POST /mcp HTTP/1.1\r\nHost: evil.example.com\r\n" POST_HDRS
                     "Content-Length: %zu\r\n\r\n%s",
                     strlen(INIT_BODY), INIT_BODY);
    send_all(c, head, (size_t)n);
    ck_assert_int_eq(read_response(c), 403);
    ck_assert_ptr_nonnull(strstr(body_of(c), "\"jsonrpc\":\"2.0\""));
    hangup(c);
    /* Our Host with a foreign Origin: 403; with our own or a configured one: accepted. */
    char mine1[64], mine2[64];
    snprintf(mine1, sizeof mine1, "http://127.0.0.1:%d", s->port);
    snprintf(mine2, sizeof mine2, "http://localhost:%d", s->port);
    const char *origins[] = {"http://evil.example.com", mine1, mine2, "https://app.example"};
    int want[] = {403, 200, 200, 200};
    for (int i = 0; i < 4; i++) {
        const char *origin = origins[i];
        c = dial(s->port);
        n = snprintf(head, sizeof head,
                     "POST /mcp HTTP/1.1\r\nHost: localhost:%d\r\nOrigin: %s\r\n" POST_HDRS
                     "Content-Length: %zu\r\n\r\n%s",
                     s->port, origin, strlen(INIT_BODY), INIT_BODY);
        send_all(c, head, (size_t)n);
        ck_assert_int_eq(read_response(c), want[i]);
        hangup(c);
    }
    stop(s);
}
END_TEST

START_TEST(resume_with_last_event_id) {
    server_t *s = start(0, 0);
    char sid[64];
    snprintf(sid, sizeof sid, "%s", open_session(s->port, "2025-11-25"));
    conn_t *c = request(s->port, "POST", sid, POST_HDRS,
                        "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{"
                        "\"name\":\"progress\",\"arguments\":{\"ms\":150},\"_meta\":{"
                        "\"progressToken\":1}}}");
    /* Read the priming event and the first progress, then drop the connection. */
    ck_assert(read_until(c, "\"progress\":0", 3000));
    const char *idl = strstr(c->buf, "\"progress\":0");
    while (idl > c->buf && strncmp(idl, "id: ", 4) != 0)
        idl--;
    char last[64];
    sscanf(idl, "id: %63s", last);
    hangup(c);
    /* Resume: the rest of that stream, from after `last`, ending with the result. */
    char hdr[128];
    snprintf(hdr, sizeof hdr, "Accept: text/event-stream\r\nLast-Event-ID: %s\r\n", last);
    conn_t *g = request(s->port, "GET", sid, hdr, NULL);
    ck_assert_msg(read_until(g, "\r\n0\r\n\r\n", 5000), "got: %s", g->buf);
    ck_assert_ptr_null(strstr(g->buf, "\"progress\":0"));
    const char *p1 = strstr(g->buf, "\"progress\":1");
    const char *p2 = strstr(g->buf, "\"progress\":2");
    const char *res = strstr(g->buf, "\"id\":5,\"result\"");
    ck_assert(p1 && p2 && res && p1 < p2 && p2 < res);
    hangup(g);
    /* The call was not cancelled by the disconnect (SSE streams are resumable). */
    stop(s);
}
END_TEST

START_TEST(server_closes_stream_for_polling) {
    server_t *s = start(0, 0);
    char sid[64];
    snprintf(sid, sizeof sid, "%s", open_session(s->port, "2025-11-25"));
    /* The conformance suite's raw POST: 2025-03-26 header on a 2025-11-25 session. */
    conn_t *c = request(s->port, "POST", sid,
                        "Content-Type: application/json\r\nAccept: text/event-stream, "
                        "application/json\r\nMCP-Protocol-Version: 2025-03-26\r\n",
                        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
                        "\"name\":\"poll\",\"arguments\":{}}}");
    ck_assert_msg(read_until(c, "\r\n0\r\n\r\n", 3000), "stream not closed: %s", c->buf);
    ck_assert_ptr_null(strstr(c->buf, "\"result\""));
    const char *idl = strstr(body_of(c), "id: ");
    ck_assert_ptr_nonnull(idl);
    ck_assert_ptr_nonnull(strstr(idl, "retry: 500\ndata:\n\n"));
    char last[64];
    sscanf(idl, "id: %63s", last);
    hangup(c);
    char hdr[160];
    snprintf(hdr, sizeof hdr,
             "Accept: text/event-stream\r\nMCP-Protocol-Version: 2025-03-26\r\n"
             "Last-Event-ID: %s\r\n",
             last);
    conn_t *g = request(s->port, "GET", sid, hdr, NULL);
    ck_assert_msg(read_until(g, "after the reconnect", 3000), "got: %s", g->buf);
    ck_assert_ptr_nonnull(strstr(g->buf, "\"id\":1,\"result\""));
    hangup(g);
    stop(s);
}
END_TEST

START_TEST(disconnect_cancels) {
    server_t *s = start(0, 0);
    char sid[64];
    snprintf(sid, sizeof sid, "%s", open_session(s->port, "2025-11-25"));
    conn_t *c = request(s->port, "POST", sid, POST_HDRS,
                        "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{"
                        "\"name\":\"wait_cancel\",\"arguments\":{}}}");
    for (int i = 0; i < 300 && !slow_started; i++)
        usleep(10000);
    ck_assert(slow_started);
    hangup(c);
    for (int i = 0; i < 300 && !cancelled_seen; i++)
        usleep(10000);
    ck_assert_msg(cancelled_seen, "the tool never saw the cancellation");
    /* The session goes on: the same id can be used again. */
    char resp[2048];
    ck_assert_int_eq(
        post(s->port, sid, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"ping\"}", resp, sizeof resp),
        200);
    ck_assert_ptr_nonnull(strstr(resp, "\"id\":9,\"result\":{}"));
    stop(s);
}
END_TEST

/* Shutdown with a call in flight on a held POST: the call finishes within the grace period and
 * its answer reaches the client; the GET stream is ended cleanly; everything is freed (ASan). */
START_TEST(shutdown_answers_held_post) {
    server_t *s = start(0, 0);
    char sid[64];
    snprintf(sid, sizeof sid, "%s", open_session(s->port, "2025-11-25"));
    conn_t *c = request(s->port, "POST", sid, POST_HDRS,
                        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{"
                        "\"name\":\"wait_cancel\",\"arguments\":{}}}");
    conn_t *g = request(s->port, "GET", sid, "Accept: text/event-stream\r\n", NULL);
    ck_assert(read_until(g, "data:\n\n", 3000));
    for (int i = 0; i < 300 && !slow_started; i++)
        usleep(10000);
    uv_async_send(&s->stop);
    usleep(50000);
    release_tools = 1; /* the call finishes during the graceful shutdown: its answer is sent */
    ck_assert_int_eq(read_response(c), 200);
    ck_assert_ptr_nonnull(strstr(body_of(c), "\"id\":3,\"result\""));
    ck_assert(read_until(g, "\r\n0\r\n\r\n", 6000)); /* the GET stream is ended cleanly */
    hangup(c);
    hangup(g);
    pthread_join(s->thread, NULL);
    ck_assert_int_eq(uv_loop_close(&s->loop), 0);
    fa_http_server_free(s->http);
    fa_server_free(s->mcp);
    free(s);
}
END_TEST

START_TEST(session_cap) {
    server_t *s = start(2, 0);
    open_session(s->port, "2025-11-25");
    open_session(s->port, "2025-11-25");
    char resp[2048];
    ck_assert_int_eq(post(s->port, NULL, INIT_BODY, resp, sizeof resp), 503);
    ck_assert_ptr_nonnull(strstr(resp, "too many MCP sessions"));
    ck_assert_ptr_nonnull(strstr(resp, "Retry-After"));
    stop(s);
}
END_TEST

START_TEST(idle_expiry) {
    server_t *s = start(0, 200);
    char sid[64];
    snprintf(sid, sizeof sid, "%s", open_session(s->port, "2025-11-25"));
    char resp[2048];
    ck_assert_int_eq(
        post(s->port, sid, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", resp, sizeof resp),
        200);
    usleep(450000);
    ck_assert_int_eq(
        post(s->port, sid, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}", resp, sizeof resp),
        404);
    stop(s);
}
END_TEST

START_TEST(batch_2025_03_26) {
    server_t *s = start(0, 0);
    char sid[64];
    snprintf(sid, sizeof sid, "%s", open_session(s->port, "2025-03-26"));
    char resp[4096];
    ck_assert_int_eq(post(s->port, sid,
                          "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},"
                          "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{"
                          "\"name\":\"echo\",\"arguments\":{\"text\":\"b\"}}},"
                          "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\"}]",
                          resp, sizeof resp),
                     200);
    ck_assert_ptr_nonnull(strstr(resp, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}"));
    ck_assert_ptr_nonnull(strstr(resp, "\"text\":\"b\""));
    /* A batch of notifications only: 202. */
    ck_assert_int_eq(post(s->port, sid, "[{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\"}]",
                          resp, sizeof resp),
                     202);
    stop(s);
}
END_TEST

START_TEST(legacy_http_sse) {
    server_t *s = start(0, 0);
    conn_t *g = dial(s->port);
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "GET /sse HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: text/event-stream\r\n\r\n",
                     s->port);
    send_all(g, head, (size_t)n);
    ck_assert(read_until(g, "sessionId=", 3000));
    ck_assert(read_until(g, "\n\n", 3000));
    const char *q = strstr(g->buf, "data: /messages?sessionId=");
    ck_assert_ptr_nonnull(q);
    ck_assert_ptr_nonnull(strstr(g->buf, "event: endpoint"));
    char sid[64];
    snprintf(sid, sizeof sid, "%.32s", q + strlen("data: /messages?sessionId="));
    conn_t *c = dial(s->port);
    n = snprintf(head, sizeof head,
                 "POST /messages?sessionId=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                 sid, s->port, strlen(INIT_BODY), INIT_BODY);
    send_all(c, head, (size_t)n);
    ck_assert_int_eq(read_response(c), 202);
    hangup(c);
    ck_assert_msg(read_until(g, "\"protocolVersion\"", 3000), "got %s", g->buf);
    /* Its id is not a Streamable HTTP session. */
    char resp[1024];
    ck_assert_int_eq(
        post(s->port, sid, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", resp, sizeof resp),
        404);
    ck_assert_ptr_nonnull(strstr(g->buf, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":0"));
    hangup(g);
    /* The SSE connection is the session: gone with it. */
    usleep(100000);
    c = dial(s->port);
    n = snprintf(head, sizeof head,
                 "POST /messages?sessionId=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                 "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
                 sid, s->port);
    send_all(c, head, (size_t)n);
    ck_assert_int_eq(read_response(c), 404);
    hangup(c);
    stop(s);
}
END_TEST

/* Several instances behind a proxy: ids start with "<node>." (deploy/nginx.conf routes on it),
 * and only the whole id names the session. */
START_TEST(node_id_prefix) {
    start_node = "n-7_X";
    server_t *s = start(0, 0);
    start_node = NULL;
    char resp[4096];
    ck_assert_int_eq(post(s->port, NULL, INIT_BODY, resp, sizeof resp), 200);
    const char *h = strcasestr(resp, "Mcp-Session-Id: ");
    ck_assert_ptr_nonnull(h);
    h += 16;
    ck_assert_msg(strncmp(h, "n-7_X.", 6) == 0, "id %.60s", h);
    char sid[64];
    size_t n = strcspn(h, "\r");
    ck_assert_uint_eq(n, 6 + 32);
    snprintf(sid, sizeof sid, "%.*s", (int)n, h);
    for (int i = 6; i < 38; i++)
        ck_assert(strchr("0123456789abcdef", sid[i]) != NULL);
    const char *ping = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}";
    ck_assert_int_eq(post(s->port, sid, ping, resp, sizeof resp), 200);
    /* The random part alone, or under another node's prefix, is no session here. */
    ck_assert_int_eq(post(s->port, sid + 6, ping, resp, sizeof resp), 404);
    char other[64];
    snprintf(other, sizeof other, "n-7_Y.%s", sid + 6);
    ck_assert_int_eq(post(s->port, other, ping, resp, sizeof resp), 404);
    /* The 2024-11-05 transport's ids carry the prefix too (nginx routes ?sessionId= on it). */
    conn_t *g = dial(s->port);
    char head[256];
    int hn = snprintf(
        head, sizeof head,
        "GET /sse HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: text/event-stream\r\n\r\n", s->port);
    send_all(g, head, (size_t)hn);
    ck_assert(read_until(g, "\n\n", 3000));
    ck_assert_ptr_nonnull(strstr(g->buf, "data: /messages?sessionId=n-7_X."));
    hangup(g);
    stop(s);
}
END_TEST

/* ---- requests on a chosen loop ----
 * One end of a socketpair is adopted by loop k (fa__http_conn_adopt, on that loop's thread), so
 * a test decides which loop carries each request instead of leaving it to SO_REUSEPORT. */

typedef struct {
    fa__http_msg_t m;
    int fd;
} adopt_msg_t;

static void adopt_cb(fa__http_loop_t *loop, fa__http_conn_t *conn, fa__http_msg_t *m) {
    (void)conn;
    adopt_msg_t *a = (adopt_msg_t *)m;
    if (fa__http_conn_adopt(loop->srv, loop->index, a->fd) != 0)
        close(a->fd);
    free(a);
}

static conn_t *dial_on(server_t *s, int loop) {
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    adopt_msg_t *a = calloc(1, sizeof *a);
    a->m.cb = adopt_cb;
    a->m.to.loop = (uint32_t)(loop % io_threads_of(s));
    a->m.to.slot = FA__HTTP_NO_SLOT;
    a->fd = sv[1];
    ck_assert_int_eq(fa__http_post(s->http, &a->m), 0);
    conn_t *c = calloc(1, sizeof *c);
    c->fd = sv[0];
    return c;
}

static conn_t *request_on(server_t *s, int loop, const char *method, const char *path,
                          const char *sid, const char *extra, const char *body) {
    conn_t *c = dial_on(s, loop);
    char head[2048];
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s%s%s%s"
                     "Content-Length: %zu\r\n\r\n",
                     method, path, s->port, sid ? "Mcp-Session-Id: " : "", sid ? sid : "",
                     sid ? "\r\n" : "", extra ? extra : "", body ? strlen(body) : 0);
    send_all(c, head, (size_t)n);
    if (body)
        send_all(c, body, strlen(body));
    return c;
}

static int post_on(server_t *s, int loop, const char *sid, const char *body, char *out,
                   size_t cap) {
    conn_t *c = request_on(s, loop, "POST", "/mcp", sid, POST_HDRS, body);
    int st = read_response(c);
    size_t n = c->len < cap - 1 ? c->len : cap - 1;
    memcpy(out, c->buf, n);
    out[n] = '\0';
    hangup(c);
    return st;
}

/* One legacy session whose requests arrive on every loop in turn: the engine's one session
 * table serves them all, and each answer goes back to the loop its connection is on. */
START_TEST(session_across_loops) {
    server_t *s = start(0, 0);
    char resp[4096], sid[64];
    ck_assert_int_eq(post_on(s, 1, NULL, INIT_BODY, resp, sizeof resp), 200);
    const char *h = strcasestr(resp, "Mcp-Session-Id: ");
    ck_assert_ptr_nonnull(h);
    snprintf(sid, sizeof sid, "%.32s", h + 16);
    ck_assert_int_eq(post_on(s, 2, sid,
                             "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", resp,
                             sizeof resp),
                     202);
    for (int i = 0; i < 8; i++) {
        char body[256];
        snprintf(body, sizeof body,
                 "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":{"
                 "\"name\":\"echo\",\"arguments\":{\"text\":\"loop%d\"}}}",
                 100 + i, i);
        ck_assert_int_eq(post_on(s, i, sid, body, resp, sizeof resp), 200);
        char want[64];
        snprintf(want, sizeof want, "\"id\":%d,\"result\"", 100 + i);
        ck_assert_msg(strstr(resp, want) != NULL, "got %s", resp);
        snprintf(want, sizeof want, "\"text\":\"loop%d\"", i);
        ck_assert_ptr_nonnull(strstr(resp, want));
        ck_assert_ptr_nonnull(strstr(resp, "Content-Type: application/json"));
    }
    /* An SSE response stream on loop 3: priming, progress in order, result, end. */
    conn_t *c = request_on(s, 3, "POST", "/mcp", sid, POST_HDRS,
                           "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{"
                           "\"name\":\"progress\",\"arguments\":{},\"_meta\":{\"progressToken\":"
                           "\"tok\"}}}");
    ck_assert_msg(read_until(c, "\r\n0\r\n\r\n", 5000), "stream did not end: %s", c->buf);
    const char *prime = strstr(c->buf, "retry: 500\ndata:\n\n");
    const char *p0 = strstr(c->buf, "\"progress\":0");
    const char *p2 = strstr(c->buf, "\"progress\":2");
    const char *res = strstr(c->buf, "\"id\":7,\"result\"");
    ck_assert(prime && p0 && p2 && res && prime < p0 && p0 < p2 && p2 < res);
    hangup(c);
    /* The standalone GET stream on loop 1, a second one (loop 2) is refused, a notification not
     * tied to any request reaches it. */
    conn_t *g = request_on(s, 1, "GET", "/mcp", sid, "Accept: text/event-stream\r\n", NULL);
    ck_assert(read_until(g, "data:\n\n", 3000));
    conn_t *g2 = request_on(s, 2, "GET", "/mcp", sid, "Accept: text/event-stream\r\n", NULL);
    ck_assert_int_eq(read_response(g2), 409);
    hangup(g2);
    notify(s, sid);
    ck_assert_msg(read_until(g, "list_changed", 3000), "got: %s", g->buf);
    /* Checks answered on the connection's own loop. */
    conn_t *e = request_on(s, 2, "POST", "/mcp", sid,
                           "Content-Type: application/json\r\nAccept: application/json\r\n", "{}");
    ck_assert_int_eq(read_response(e), 406);
    hangup(e);
    e = request_on(s, 3, "POST", "/mcp", sid,
                   "Content-Type: text/plain\r\nAccept: application/json, text/event-stream\r\n",
                   "{}");
    ck_assert_int_eq(read_response(e), 415);
    hangup(e);
    e = request_on(s, 3, "POST", "/mcp", sid, POST_HDRS, "{\"jsonrpc\":");
    ck_assert_int_eq(read_response(e), 400);
    ck_assert_ptr_nonnull(strstr(body_of(e), "-32700"));
    hangup(e);
    e = request_on(s, 1, "PUT", "/mcp", sid, NULL, NULL);
    ck_assert_int_eq(read_response(e), 405);
    hangup(e);
    e = request_on(s, 2, "POST", "/mcp", sid, POST_HDRS "Origin: http://evil.example.com\r\n",
                   "{}");
    ck_assert_int_eq(read_response(e), 403);
    hangup(e);
    /* A modern (stateless) request on loop 3. */
    e = request_on(s, 3, "POST", "/mcp", NULL,
                   POST_HDRS "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/list\r\n",
                   "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{\"_meta\":{"
                   "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
                   "\"io.modelcontextprotocol/clientCapabilities\":{}}}}");
    ck_assert_int_eq(read_response(e), 200);
    ck_assert_ptr_nonnull(strstr(body_of(e), "\"resultType\":\"complete\""));
    hangup(e);
    /* Disconnect mid-call on loop 2 cancels the call (the close crosses to the engine). */
    c = request_on(s, 2, "POST", "/mcp", sid, POST_HDRS,
                   "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{"
                   "\"name\":\"wait_cancel\",\"arguments\":{}}}");
    for (int i = 0; i < 300 && !slow_started; i++)
        usleep(10000);
    ck_assert(slow_started);
    hangup(c);
    for (int i = 0; i < 300 && !cancelled_seen; i++)
        usleep(10000);
    ck_assert_msg(cancelled_seen, "the tool never saw the cancellation");
    /* /metrics on another loop has the engine's lines (fetched from the engine's loop). */
    e = request_on(s, 3, "GET", "/metrics", NULL, NULL, NULL);
    ck_assert_int_eq(read_response(e), 200);
    ck_assert_ptr_nonnull(strstr(body_of(e), "fasterapi_mcp_sessions 1\n"));
    ck_assert_ptr_nonnull(strstr(body_of(e), "fasterapi_mcp_tool_calls_total{tool=\"echo\"} 8\n"));
    hangup(e);
    /* DELETE on loop 1 ends the session and the GET stream (on loop 1) with it. */
    e = request_on(s, 1, "DELETE", "/mcp", sid, NULL, NULL);
    ck_assert_int_eq(read_response(e), 200);
    hangup(e);
    ck_assert(read_until(g, "\r\n0\r\n\r\n", 3000));
    hangup(g);
    ck_assert_int_eq(
        post_on(s, 2, sid, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", resp, sizeof resp),
        404);
    stop(s);
}
END_TEST

START_TEST(node_id_invalid) {
    fa_server_t *mcp;
    fa_http_server_t *http;
    ck_assert_int_eq(fa_server_new(&mcp, NULL), 0);
    ck_assert_int_eq(fa_http_server_new(&http, NULL), 0);
    fa_mcp_http_options_t mo;
    fa_mcp_http_options_init(&mo);
    /* '.' would make the prefix ambiguous; the rest is what a header and a map key tolerate. */
    const char *bad[] = {
        "", "a.b", "sp ace", "caf\xc3\xa9", "x/y", "123456789012345678901234567890123"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mo.node_id = bad[i];
        ck_assert_msg(fa_mcp_http_mount(mcp, http, &mo) == FA_EINVAL, "node id '%s'", bad[i]);
    }
    mo.node_id = "12345678901234567890123456789012"; /* FA_MCP_HTTP_NODE_ID_MAX */
    ck_assert_int_eq(fa_mcp_http_mount(mcp, http, &mo), 0);
    fa_http_server_free(http);
    fa_server_free(mcp);
}
END_TEST

/* The modern (stateless) era across loops: an SSE response stream (progress, then the result)
 * on loop 1, and a client that leaves a call on loop 2 cancels it. */
#define MODERN_HDRS(name)                                                                          \
    POST_HDRS "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: " name "\r" \
              "\n"
#define MODERN_META                                                                                \
    "\"_meta\":{\"progressToken\":\"t\",\"io.modelcontextprotocol/protocolVersion\":"              \
    "\"2026-07-28\",\"io.modelcontextprotocol/clientCapabilities\":{}}"
START_TEST(modern_across_loops) {
    server_t *s = start(0, 0);
    conn_t *c = request_on(s, 1, "POST", "/mcp", NULL, MODERN_HDRS("progress"),
                           "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\",\"params\":{"
                           "\"name\":\"progress\",\"arguments\":{}," MODERN_META "}}");
    ck_assert_msg(read_until(c, "\r\n0\r\n\r\n", 5000), "stream did not end: %s", c->buf);
    ck_assert_ptr_nonnull(strstr(c->buf, "Content-Type: text/event-stream"));
    const char *p0 = strstr(c->buf, "\"progress\":0");
    const char *res = strstr(c->buf, "\"id\":6,\"result\"");
    ck_assert_msg(p0 && res && p0 < res, "got %s", c->buf);
    hangup(c);
    c = request_on(s, 2, "POST", "/mcp", NULL, MODERN_HDRS("wait_cancel"),
                   "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{"
                   "\"name\":\"wait_cancel\",\"arguments\":{}," MODERN_META "}}");
    for (int i = 0; i < 300 && !slow_started; i++)
        usleep(10000);
    ck_assert(slow_started);
    hangup(c);
    for (int i = 0; i < 300 && !cancelled_seen; i++)
        usleep(10000);
    ck_assert_msg(cancelled_seen, "the tool never saw the cancellation");
    stop(s);
}
END_TEST

/* The 2024-11-05 transport: its SSE stream on one loop, its POSTs on the others. */
START_TEST(legacy_sse_across_loops) {
    server_t *s = start(0, 0);
    conn_t *g = request_on(s, 1, "GET", "/sse", NULL, "Accept: text/event-stream\r\n", NULL);
    ck_assert(read_until(g, "sessionId=", 3000));
    ck_assert(read_until(g, "\n\n", 3000));
    const char *q = strstr(g->buf, "data: /messages?sessionId=");
    ck_assert_ptr_nonnull(q);
    char path[128];
    snprintf(path, sizeof path, "/messages?sessionId=%.32s",
             q + strlen("data: /messages?sessionId="));
    conn_t *c =
        request_on(s, 2, "POST", path, NULL, "Content-Type: application/json\r\n", INIT_BODY);
    ck_assert_int_eq(read_response(c), 202);
    hangup(c);
    ck_assert_msg(read_until(g, "\"protocolVersion\"", 3000), "got %s", g->buf);
    c = request_on(s, 3, "POST", path, NULL, "Content-Type: application/json\r\n",
                   "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\"}");
    ck_assert_int_eq(read_response(c), 202);
    hangup(c);
    ck_assert_msg(read_until(g, "\"id\":5,\"result\":{}", 3000), "got %s", g->buf);
    c = request_on(s, 3, "POST", path, NULL, "Content-Type: text/plain\r\n", "{}");
    ck_assert_int_eq(read_response(c), 415);
    hangup(c);
    hangup(g);
    usleep(100000);
    c = request_on(s, 2, "POST", path, NULL, "Content-Type: application/json\r\n", "{}");
    ck_assert_int_eq(read_response(c), 404);
    hangup(c);
    stop(s);
}
END_TEST

/* Shutdown with exchanges open on other loops: a held POST, an SSE response stream, a GET
 * stream and a 2024-11-05 stream. Every client hears the end; nothing leaks (ASan) or races
 * (TSan). */
START_TEST(shutdown_with_streams_across_loops) {
    server_t *s = start(0, 0);
    char resp[4096], sid[64];
    ck_assert_int_eq(post_on(s, 1, NULL, INIT_BODY, resp, sizeof resp), 200);
    snprintf(sid, sizeof sid, "%.32s", strcasestr(resp, "Mcp-Session-Id: ") + 16);
    ck_assert_int_eq(post_on(s, 2, sid,
                             "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", resp,
                             sizeof resp),
                     202);
    conn_t *held = request_on(s, 1, "POST", "/mcp", sid, POST_HDRS,
                              "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{"
                              "\"name\":\"wait_cancel\",\"arguments\":{}}}");
    conn_t *sse = request_on(s, 2, "POST", "/mcp", sid, POST_HDRS,
                             "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{"
                             "\"name\":\"progress\",\"arguments\":{\"ms\":60},\"_meta\":{"
                             "\"progressToken\":1}}}");
    conn_t *g = request_on(s, 3, "GET", "/mcp", sid, "Accept: text/event-stream\r\n", NULL);
    conn_t *l = request_on(s, 3, "GET", "/sse", NULL, "Accept: text/event-stream\r\n", NULL);
    ck_assert(read_until(g, "data:\n\n", 3000));
    ck_assert(read_until(sse, "\"progress\":0", 3000));
    ck_assert(read_until(l, "sessionId=", 3000));
    for (int i = 0; i < 300 && !slow_started; i++)
        usleep(10000);
    uv_async_send(&s->stop);
    usleep(50000);
    release_tools = 1;
    ck_assert_int_eq(read_response(held), 200);
    ck_assert_ptr_nonnull(strstr(body_of(held), "\"id\":3,"));
    /* The streams end (a last chunk) or their connection closes: either way read_until stops. */
    read_until(sse, "\r\n0\r\n\r\n", 6000);
    read_until(g, "\r\n0\r\n\r\n", 6000);
    read_until(l, "\r\n0\r\n\r\n", 6000);
    hangup(held);
    hangup(sse);
    hangup(g);
    hangup(l);
    pthread_join(s->thread, NULL);
    ck_assert_int_eq(uv_loop_close(&s->loop), 0);
    fa_http_server_free(s->http);
    fa_server_free(s->mcp);
    free(s);
}
END_TEST

/* Many clients at once over TCP (SO_REUSEPORT spreads them): each its own session, JSON and SSE
 * answers; then every loop has served requests. */
typedef struct {
    int port, ok;
} client_arg_t;

static void *client_thread(void *arg) {
    client_arg_t *a = arg;
    char resp[4096], sid[64];
    if (post(a->port, NULL, INIT_BODY, resp, sizeof resp) != 200)
        return NULL;
    const char *h = strcasestr(resp, "Mcp-Session-Id: ");
    if (!h)
        return NULL;
    snprintf(sid, sizeof sid, "%.32s", h + 16);
    if (post(a->port, sid, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", resp,
             sizeof resp) != 202)
        return NULL;
    for (int i = 0; i < 12; i++) {
        char body[256];
        snprintf(body, sizeof body,
                 "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":{"
                 "\"name\":\"%s\",\"arguments\":{\"text\":\"x%d\"},\"_meta\":{"
                 "\"progressToken\":%d}}}",
                 i, i % 3 ? "echo" : "progress", i, i);
        conn_t *c = request(a->port, "POST", sid, POST_HDRS, body);
        char want[32];
        snprintf(want, sizeof want, "\"id\":%d,\"result\"", i);
        int got = i % 3 ? read_response(c) == 200 && strstr(c->buf, want) != NULL
                        : read_until(c, "\r\n0\r\n\r\n", 5000) && strstr(c->buf, want) != NULL;
        hangup(c);
        if (!got)
            return NULL;
    }
    a->ok = 1;
    return NULL;
}

START_TEST(concurrent_clients) {
    server_t *s = start(0, 0);
    enum { NCLIENTS = 8 };
    pthread_t t[NCLIENTS];
    client_arg_t a[NCLIENTS];
    for (int i = 0; i < NCLIENTS; i++) {
        a[i] = (client_arg_t){s->port, 0};
        pthread_create(&t[i], NULL, client_thread, &a[i]);
    }
    for (int i = 0; i < NCLIENTS; i++) {
        pthread_join(t[i], NULL);
        ck_assert_msg(a[i].ok, "client %d failed", i);
    }
    int used = 0;
    for (int i = 0; i < io_threads_of(s); i++)
        used += atomic_load(&s->http->loops[i].requests) > 0;
    ck_assert_msg(used >= (io_threads_of(s) > 1 ? 2 : 1), "only %d loop(s) served requests", used);
    stop(s);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("mcp_http_endpoint");
    TCase *tc = tcase_create("classify");
    tcase_add_test(tc, classify_rules);
    suite_add_tcase(s, tc);
    tc = tcase_create("http");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, initialize_and_json_call, 0, NIO);
    tcase_add_loop_test(tc, progress_call_streams_sse, 0, NIO);
    tcase_add_loop_test(tc, get_stream_and_delete, 0, NIO);
    tcase_add_loop_test(tc, queued_for_next_get, 0, NIO);
    tcase_add_loop_test(tc, header_checks, 0, NIO);
    tcase_add_loop_test(tc, dns_rebinding, 0, NIO);
    tcase_add_loop_test(tc, resume_with_last_event_id, 0, NIO);
    tcase_add_loop_test(tc, server_closes_stream_for_polling, 0, NIO);
    tcase_add_loop_test(tc, disconnect_cancels, 0, NIO);
    tcase_add_loop_test(tc, shutdown_answers_held_post, 0, NIO);
    tcase_add_loop_test(tc, session_cap, 0, NIO);
    tcase_add_loop_test(tc, idle_expiry, 0, NIO);
    tcase_add_loop_test(tc, batch_2025_03_26, 0, NIO);
    tcase_add_loop_test(tc, legacy_http_sse, 0, NIO);
    tcase_add_loop_test(tc, session_across_loops, 0, NIO);
    tcase_add_loop_test(tc, legacy_sse_across_loops, 0, NIO);
    tcase_add_loop_test(tc, modern_across_loops, 0, NIO);
    tcase_add_loop_test(tc, shutdown_with_streams_across_loops, 0, NIO);
    tcase_add_loop_test(tc, concurrent_clients, 0, NIO);
    tcase_add_loop_test(tc, node_id_prefix, 0, NIO);
    tcase_add_test(tc, node_id_invalid);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return fa_test_run(suite());
}
