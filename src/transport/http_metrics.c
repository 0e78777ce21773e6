/* http_metrics.c: Prometheus text exposition (format 0.0.4) of the HTTP server's counters, served
 * at opts.metrics_path when it is set.
 *
 * Each loop counts into its own counters (a relaxed load + store by the one writing thread: no
 * locked instruction on the request path); a scrape sums every loop's counters with relaxed loads,
 * so a scrape is a consistent-enough snapshot, never a blocking one. Latency is measured with the
 * loop's cached clock (uv_now, 1 ms resolution): a synchronous handler counts as < 1 ms, a
 * deferred one as the time until its answer reached the loop. Other layers add their own lines
 * through fa__http_add_metrics (queue depths, worker busy time, MCP calls by tool).
 */
#include <stdio.h>
#include <string.h>

#include "fasterapi/error.h"
#include "transport/http_internal.h"

/* Upper bounds of the latency buckets, in ms (the last, +Inf, is the count). */
static const uint64_t bucket_ms[] = {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};
#define NBUCKETS (sizeof bucket_ms / sizeof bucket_ms[0])
_Static_assert(NBUCKETS <= 16, "latency_buckets has 16 slots");

/* Rows of loop->route_status: one per route, then one for "no route" (404, 405, 400 and errors
 * before routing). Columns: status class 1..5 (0: anything else). */
static size_t row_of(const fa_http_server_t *srv, const fa_http_req_t *req) {
    return req && req->handler ? req->handler->route_index : srv->nhandlers;
}

void fa__http_metrics_count(fa__http_loop_t *loop, const fa_http_req_t *req, int status) {
    const fa_http_server_t *srv = loop->srv;
    size_t cls = status >= 100 && status < 600 ? (size_t)(status / 100) : 0;
    fa__http_count(&loop->route_status[row_of(srv, req) * 6 + cls], 1);
    uint64_t ms = req ? uv_now(loop->uv) - req->started_ms : 0;
    size_t b = 0;
    while (b < NBUCKETS && ms >= bucket_ms[b])
        b++;
    /* Bucket b counts requests with ms < bucket_ms[b]; the cumulative sums come at scrape. */
    if (b < NBUCKETS)
        fa__http_count(&loop->latency_buckets[b], 1);
    fa__http_count(&loop->latency_sum_us, ms * 1000);
}

static uint64_t load(const _Atomic uint64_t *c) {
    return atomic_load_explicit(c, memory_order_relaxed);
}

/* A label value with '\\', '"' and newlines escaped (exposition format). */
static void put_label(fa__buf_t *out, const char *s) {
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            fa__buf_putc(out, '\\');
        if (*s == '\n') {
            fa__buf_append(out, "\\n", 2);
            continue;
        }
        fa__buf_putc(out, *s);
    }
}

void fa__http_metrics_handler(fa_http_req_t *req, void *data) {
    fa_http_server_t *srv = data;
    fa__buf_t out = FA__BUF_INIT;
    uint64_t total[6] = {0};
    (void)total;
    fa__buf_append_str(&out, "# HELP fasterapi_http_requests_total HTTP responses sent, by route "
                             "and status class.\n"
                             "# TYPE fasterapi_http_requests_total counter\n");
    static const char *cls_name[6] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
    for (size_t r = 0; r <= srv->nhandlers; r++) {
        const char *pattern = "(none)";
        const char *method = "any";
        if (r < srv->nhandlers) {
            const fa__route_t *rt = fa__router_route(srv->router, r);
            pattern = rt->pattern;
            if (rt->method != FA_ROUTER_ANY)
                method = fa__http_method_name((fa_http_method_t)rt->method);
        }
        for (size_t c = 0; c < 6; c++) {
            uint64_t n = 0;
            for (uint32_t l = 0; l < srv->nloops; l++)
                n += load(&srv->loops[l].route_status[r * 6 + c]);
            if (!n)
                continue;
            fa__buf_append_str(&out, "fasterapi_http_requests_total{route=\"");
            put_label(&out, pattern);
            fa__buf_appendf(&out, "\",method=\"%s\",status=\"%s\"} %llu\n", method, cls_name[c],
                            (unsigned long long)n);
        }
    }
    uint64_t buckets[NBUCKETS] = {0}, sum_us = 0, count = 0, open = 0, acc = 0, rej = 0, in = 0,
             outb = 0;
    for (uint32_t l = 0; l < srv->nloops; l++) {
        fa__http_loop_t *loop = &srv->loops[l];
        for (size_t b = 0; b < NBUCKETS; b++)
            buckets[b] += load(&loop->latency_buckets[b]);
        sum_us += load(&loop->latency_sum_us);
        for (size_t i = 0; i < (srv->nhandlers + 1) * 6; i++)
            count += load(&loop->route_status[i]);
        acc += load(&loop->accepted);
        rej += load(&loop->rejected);
        in += load(&loop->bytes_in);
        outb += load(&loop->bytes_out);
    }
    open = atomic_load_explicit(&srv->nconns, memory_order_relaxed);
    fa__buf_append_str(&out, "# HELP fasterapi_http_request_duration_seconds Time from a "
                             "request's dispatch to its answer (1 ms resolution).\n"
                             "# TYPE fasterapi_http_request_duration_seconds histogram\n");
    uint64_t cum = 0;
    for (size_t b = 0; b < NBUCKETS; b++) {
        cum += buckets[b];
        fa__buf_appendf(&out, "fasterapi_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                        (double)bucket_ms[b] / 1000.0, (unsigned long long)cum);
    }
    fa__buf_appendf(&out,
                    "fasterapi_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
                    "fasterapi_http_request_duration_seconds_sum %.6f\n"
                    "fasterapi_http_request_duration_seconds_count %llu\n",
                    (unsigned long long)count, (double)sum_us / 1e6, (unsigned long long)count);
    fa__buf_appendf(&out,
                    "# HELP fasterapi_http_connections_open Connections open now.\n"
                    "# TYPE fasterapi_http_connections_open gauge\n"
                    "fasterapi_http_connections_open %llu\n"
                    "# HELP fasterapi_http_connections_accepted_total Connections accepted.\n"
                    "# TYPE fasterapi_http_connections_accepted_total counter\n"
                    "fasterapi_http_connections_accepted_total %llu\n"
                    "# HELP fasterapi_http_connections_rejected_total Connections refused with 503 "
                    "(max_connections).\n"
                    "# TYPE fasterapi_http_connections_rejected_total counter\n"
                    "fasterapi_http_connections_rejected_total %llu\n"
                    "# HELP fasterapi_http_received_bytes_total Bytes read from clients.\n"
                    "# TYPE fasterapi_http_received_bytes_total counter\n"
                    "fasterapi_http_received_bytes_total %llu\n"
                    "# HELP fasterapi_http_sent_bytes_total Bytes written to clients.\n"
                    "# TYPE fasterapi_http_sent_bytes_total counter\n"
                    "fasterapi_http_sent_bytes_total %llu\n",
                    (unsigned long long)open, (unsigned long long)acc, (unsigned long long)rej,
                    (unsigned long long)in, (unsigned long long)outb);
    for (size_t i = 0; i < srv->nmetrics_hooks; i++)
        srv->metrics_hooks[i].cb(&out, req->loop->index, srv->metrics_hooks[i].data);
    if (out.data)
        fa_http_res_send(req, 200, "text/plain; version=0.0.4; charset=utf-8", out.data, out.len);
    else
        fa_http_res_send(req, 500, "text/plain", "out of memory\n", 14);
    fa__buf_free(&out);
}
