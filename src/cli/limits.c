/* cli/limits.c: the table behind `--limit NAME=VALUE` (limits.h). Each entry names a field of
 * one of the three option structures, its type and the accepted range; the defaults and the
 * reasons for them live with the structures (fasterapi/mcp.h, http.h, mcp_http.h). */
#include "cli/limits.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { ON_SERVER, ON_HTTP, ON_MCP_HTTP };
enum { T_SIZE, T_U64, T_U32, T_UNSIGNED, T_INT, T_LONG };

typedef struct {
    const char *name;
    int on, type;
    size_t offset;
    unsigned long long min, max;
    const char *help;
} limit_t;

#define GiB (1024ull * 1024ull * 1024ull)
#define DAY_MS (86400ull * 1000ull)

static const limit_t limits[] = {
    {"max-message", ON_SERVER, T_SIZE, offsetof(fa_server_options_t, max_message), 64, 4 * GiB,
     "bytes per incoming message (stdio line, HTTP POST body)"},
    {"max-result", ON_SERVER, T_SIZE, offsetof(fa_server_options_t, max_result), 1024, 4 * GiB,
     "bytes per outgoing message"},
    {"max-depth", ON_SERVER, T_INT, offsetof(fa_server_options_t, max_depth), 2, 10000,
     "JSON nesting levels"},
    {"max-batch", ON_SERVER, T_SIZE, offsetof(fa_server_options_t, max_batch), 1, 1000000,
     "elements per JSON-RPC batch (protocol 2025-03-26)"},
    {"max-inflight", ON_SERVER, T_SIZE, offsetof(fa_server_options_t, max_inflight), 1, 1 << 20,
     "calls at the workers at once, per server"},
    {"max-session-inflight", ON_SERVER, T_SIZE, offsetof(fa_server_options_t, max_session_inflight),
     1, 1 << 20, "calls at the workers at once, per session"},
    {"max-queued", ON_SERVER, T_SIZE, offsetof(fa_server_options_t, max_queued), 1, 1 << 24,
     "calls waiting per session before its transport stops reading"},
    {"max-sessions", ON_SERVER, T_SIZE, offsetof(fa_server_options_t, max_sessions), 1, 1 << 24,
     "sessions open at once (more: 503)"},
    {"max-pending-output", ON_SERVER, T_SIZE, offsetof(fa_server_options_t, max_pending_output),
     4096, 4 * GiB, "stdio output bytes queued before reading stops"},
    {"page-size", ON_SERVER, T_SIZE, offsetof(fa_server_options_t, page_size), 1, 100000,
     "items per list page"},
    {"shutdown-timeout-ms", ON_SERVER, T_UNSIGNED,
     offsetof(fa_server_options_t, shutdown_timeout_ms), 1, DAY_MS,
     "how long shutdown waits for running calls"},
    {"max-connections", ON_HTTP, T_SIZE, offsetof(fa_http_options_t, max_connections), 1, 1 << 24,
     "HTTP connections at once (more: 503)"},
    {"max-request-line", ON_HTTP, T_SIZE, offsetof(fa_http_options_t, max_request_line), 64,
     1 << 20, "bytes of the request line (more: 414)"},
    {"max-head", ON_HTTP, T_SIZE, offsetof(fa_http_options_t, max_head), 256, 1 << 24,
     "bytes of the request head (more: 431)"},
    {"max-headers", ON_HTTP, T_SIZE, offsetof(fa_http_options_t, max_headers), 1, 10000,
     "header fields per request (more: 431)"},
    {"max-output", ON_HTTP, T_SIZE, offsetof(fa_http_options_t, max_output), 4096, 4 * GiB,
     "bytes queued to one slow HTTP client"},
    {"keepalive-timeout-ms", ON_HTTP, T_U64, offsetof(fa_http_options_t, keepalive_timeout_ms), 1,
     DAY_MS, "idle keep-alive connection lifetime"},
    {"header-timeout-ms", ON_HTTP, T_U64, offsetof(fa_http_options_t, header_timeout_ms), 1, DAY_MS,
     "time to receive a request head (then 408)"},
    {"body-timeout-ms", ON_HTTP, T_U64, offsetof(fa_http_options_t, body_timeout_ms), 1, DAY_MS,
     "time between body bytes (then 408)"},
    {"replay-bytes", ON_MCP_HTTP, T_SIZE, offsetof(fa_mcp_http_options_t, replay_bytes), 1024,
     4 * GiB, "bytes of SSE events kept per stream for Last-Event-ID"},
    {"replay-events", ON_MCP_HTTP, T_SIZE, offsetof(fa_mcp_http_options_t, replay_events), 1,
     1 << 20, "SSE events kept per stream for Last-Event-ID"},
    {"sse-retry-ms", ON_MCP_HTTP, T_LONG, offsetof(fa_mcp_http_options_t, retry_ms), 1, DAY_MS,
     "the SSE retry delay sent to clients"},
    {"sse-keepalive-ms", ON_MCP_HTTP, T_U32, offsetof(fa_mcp_http_options_t, keepalive_ms), 10,
     DAY_MS, "silence on an MCP SSE stream before a keep-alive comment"},
};
#define NLIMITS (sizeof limits / sizeof limits[0])

static unsigned long long values[NLIMITS];
static unsigned char set[NLIMITS];

int fa__cli_limit_set(const char *spec) {
    const char *eq = strchr(spec, '=');
    size_t n = eq ? (size_t)(eq - spec) : strlen(spec);
    for (size_t i = 0; i < NLIMITS; i++) {
        if (strlen(limits[i].name) != n || memcmp(limits[i].name, spec, n) != 0)
            continue;
        char *end;
        errno = 0;
        unsigned long long v = eq && eq[1] != '-' ? strtoull(eq + 1, &end, 10) : 0;
        if (!eq || eq[1] == '\0' || eq[1] == '-' || *end || errno || v < limits[i].min ||
            v > limits[i].max) {
            fprintf(stderr, "fasterapi: --limit %s takes an integer from %llu to %llu (%s)\n",
                    limits[i].name, limits[i].min, limits[i].max, limits[i].help);
            return -1;
        }
        values[i] = v;
        set[i] = 1;
        return 0;
    }
    fprintf(stderr, "fasterapi: unknown limit '%.*s' (fasterapi --help lists them)\n", (int)n,
            spec);
    return -1;
}

static void apply(int on, void *base) {
    for (size_t i = 0; i < NLIMITS; i++) {
        if (!set[i] || limits[i].on != on)
            continue;
        char *p = (char *)base + limits[i].offset;
        unsigned long long v = values[i]; /* within the entry's range, which fits its type */
        switch (limits[i].type) {
        case T_SIZE:
            *(size_t *)(void *)p = (size_t)v;
            break;
        case T_U64:
            *(uint64_t *)(void *)p = (uint64_t)v;
            break;
        case T_U32:
            *(uint32_t *)(void *)p = (uint32_t)v;
            break;
        case T_UNSIGNED:
            *(unsigned *)(void *)p = (unsigned)v;
            break;
        case T_INT:
            *(int *)(void *)p = (int)v;
            break;
        default:
            *(long *)(void *)p = (long)v;
            break;
        }
    }
}

void fa__cli_limits_apply_server(fa_server_options_t *o) {
    apply(ON_SERVER, o);
}
void fa__cli_limits_apply_http(fa_http_options_t *o) {
    apply(ON_HTTP, o);
}
void fa__cli_limits_apply_mcp_http(fa_mcp_http_options_t *o) {
    apply(ON_MCP_HTTP, o);
}

void fa__cli_limits_usage(FILE *out) {
    fputs("limits (--limit NAME=VALUE, repeatable; defaults in the README):\n", out);
    for (size_t i = 0; i < NLIMITS; i++)
        fprintf(out, "  %-22s %s\n", limits[i].name, limits[i].help);
}
