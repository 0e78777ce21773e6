/* mcp_load.c: an MCP Streamable HTTP load generator (tools/call of an echo tool) for
 * bench/mcp_http/run.sh.
 *
 *   mcp_load -p PORT [-H 127.0.0.1] [-u /mcp] [-c CONNS] [-m modern|legacy] [-T TOOL]
 *            [-w WARMUP_S] [-d DURATION_S] [-P SERVER_PID]... [-l LABEL] [--json]
 *
 * It opens CONNS HTTP/1.1 keep-alive connections and keeps exactly one tools/call in flight on
 * each (no pipelining: what real MCP clients -- fetch/undici, httpx -- do), so the load is
 * closed-loop: a connection sends its next call when the previous answer is complete.
 *
 * Two modes, one per protocol era of the MCP spec:
 *   modern  2026-07-28, stateless: every POST carries the per-request headers
 *           MCP-Protocol-Version, Mcp-Method and Mcp-Name (SEP-2243) and the body carries
 *           _meta["io.modelcontextprotocol/protocolVersion"] and ["…/clientCapabilities"]
 *           (spec_2026.md §1.2: the claim that makes a request modern). No handshake.
 *   legacy  2025-11-25 sessions: each connection first POSTs initialize (a session of its own,
 *           Mcp-Session-Id taken from the answer when the server sends one: a stateless
 *           server may not) and notifications/initialized (202), then calls with
 *           Mcp-Session-Id and MCP-Protocol-Version: 2025-11-25 (2025-11-25 basic/transports
 *           §"Protocol Version Header", §"Session Management").
 *
 * Every answer is checked: status 200 (202 for the notification), a complete body (by
 * Content-Length or chunked transfer coding, RFC 9112 §6.3, §7.1), a JSON (or SSE-framed
 * JSON: "data: {...}") answer holding the echoed text of THIS call -- every call echoes a text
 * unique to its connection and sequence number, so a misrouted or stale answer is seen -- and
 * no "isError":true. A bad answer is counted ("errors") with the first one's reason, and the
 * connection goes on with its next call; a dropped connection, an unparsable response or no
 * answer at all for MCP_LOAD_STALL_S ends the run (exit 1).
 *
 * After WARMUP_S seconds it measures for DURATION_S: calls/s, the latency of each call (p50 and
 * p99, 1 us buckets), the server's CPU time per call (utime + stime of every -P process from
 * /proc/PID/stat) and its own CPU per call (to show the client is not what sets the pace).
 *
 * Plain POSIX sockets + epoll, one thread, libc only: the client shares no code with the servers
 * it measures (bench/http/ws_load.c is built the same way). Linux only. Traffic goes only to the
 * IPv4 host given (127.0.0.1 by default).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Connections: far more than a one-call-per-connection load needs on a 2-vCPU box. */
#define MCP_LOAD_MAX_CONNS 4096
/* Server pids whose CPU is summed (a server and its helper processes, if any). */
#define MCP_LOAD_MAX_PIDS 16
/* No answer on any connection for this long: the server is hung or dropped us. */
#define MCP_LOAD_STALL_S 10
/* Every connection must finish connect (and the legacy handshake) within this. */
#define MCP_LOAD_CONNECT_S 15
/* Latency histogram: 1 us buckets up to 1 s (a TS SDK server at 32 connections answers in
 * tens of ms); slower calls count in the last bucket. */
#define MCP_LOAD_HIST_US 1000000u
/* The answers in flight are waited for this long at the end, then the sockets are closed. */
#define MCP_LOAD_END_S 3
/* One response (headers + body) must fit here: an echo answer is < 1 KiB; a server that sends
 * more is broken, and the run must not grow without bound. */
#define MCP_LOAD_MAX_RESPONSE (1u << 20)
/* Mcp-Session-Id: visible ASCII (2025-11-25 transports §Session Management); longer than any
 * SDK mints (32-36 characters). */
#define MCP_LOAD_MAX_SID 128

enum { ST_CONNECTING, ST_INIT, ST_NOTIFIED, ST_CALL, ST_IDLE, ST_CLOSED };
enum { MODE_MODERN, MODE_LEGACY };

typedef struct {
    int fd;
    unsigned idx;
    int state;
    char *rbuf;
    size_t rlen, rcap;
    char *wbuf;
    size_t woff, wlen, wcap;
    bool want_out;
    bool reconnecting; /* reopened after the server's Connection: close: calls resume at once */
    char sid[MCP_LOAD_MAX_SID + 1];
    uint64_t seq;     /* calls sent on this connection */
    uint64_t sent_ns; /* when the call in flight was sent */
    char token[48];   /* the text the call in flight must echo, with its quotes */
} conn_t;

typedef struct {
    const char *host, *path, *label, *tool;
    int port, mode;
    unsigned conns;
    bool json;
    double warmup_s, duration_s;
    int pids[MCP_LOAD_MAX_PIDS];
    unsigned npids;
} opts_t;

static opts_t g_o;
static uint32_t *g_hist;
static const char *g_error;
static char g_errbuf[256];
static char g_first_bad[256]; /* the first answer that failed its check */
static uint64_t g_bad;        /* answers that failed their check, all phases */
static uint64_t g_bad_measured;
static int g_ep;
static conn_t *g_conns;
static uint64_t g_done;     /* calls answered correctly since the start */
static uint64_t g_inflight; /* calls sent and not answered */
static unsigned g_ready;    /* connections past connect (and handshake) */
static bool g_measuring;    /* latencies go into the histogram */
static bool g_stopping;     /* no new calls */
static uint64_t g_last_answer;
static uint64_t g_reconnects; /* connections reopened after the server's Connection: close */
static struct sockaddr_in g_sa;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t self_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A reason quotes server bytes and must stay one JSON string: no quotes, backslashes or control
 * bytes. */
static void sanitize(char *s) {
    for (; *s; s++)
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
            *s = '\'';
}

/* Records the first fatal error; the loop stops at the next check. */
static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...) {
    if (g_error)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_errbuf, sizeof g_errbuf, fmt, ap);
    va_end(ap);
    sanitize(g_errbuf);
    g_error = g_errbuf;
}

/* Counts an answer that failed its check; the first reason is kept for the report. */
static void bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void bad(const char *fmt, ...) {
    g_bad++;
    if (g_measuring)
        g_bad_measured++;
    if (g_first_bad[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_first_bad, sizeof g_first_bad, fmt, ap);
    va_end(ap);
    sanitize(g_first_bad);
}

static void die(const char *msg) {
    fprintf(stderr, "mcp_load: %s\n", msg);
    exit(2);
}

/* ---- server CPU from /proc/PID/stat ---- */

/* utime + stime of the whole process (all threads, live and exited) in clock ticks. */
static long long proc_cpu_ticks(int pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* comm may hold spaces and parentheses: the fields resume after the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    unsigned long long ut = 0, st = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (long long)(ut + st);
}

static long long servers_cpu_ticks(void) {
    if (g_o.npids == 0)
        return -1;
    long long sum = 0;
    for (unsigned i = 0; i < g_o.npids; i++) {
        long long t = proc_cpu_ticks(g_o.pids[i]);
        if (t < 0)
            return -1;
        sum += t;
    }
    return sum;
}

/* ---- requests ---- */

static void wbuf_put(conn_t *c, const char *data, size_t len) {
    if (c->woff == c->wlen)
        c->woff = c->wlen = 0;
    if (c->wlen + len > c->wcap) {
        size_t cap = c->wcap ? c->wcap : 2048;
        while (cap < c->wlen + len)
            cap *= 2;
        char *p = realloc(c->wbuf, cap);
        if (!p)
            die("out of memory");
        c->wbuf = p;
        c->wcap = cap;
    }
    memcpy(c->wbuf + c->wlen, data, len);
    c->wlen += len;
}

static void arm(conn_t *c, bool out) {
    if (c->want_out == out)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0u), .data.ptr = c};
    if (epoll_ctl(g_ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        die("epoll_ctl MOD");
    c->want_out = out;
}

static void flush(conn_t *c) {
    while (c->woff < c->wlen) {
        ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
        if (n > 0) {
            c->woff += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            arm(c, true);
            return;
        }
        fail("send: %s", n < 0 ? strerror(errno) : "no progress");
        return;
    }
    arm(c, false);
}

/* One POST: the headers every request carries, the per-era ones, then the JSON body. */
static void post(conn_t *c, const char *method, const char *name, const char *body, size_t blen) {
    char head[1024];
    int n;
    if (g_o.mode == MODE_MODERN) {
        n = snprintf(head, sizeof head,
                     "POST %s HTTP/1.1\r\nHost: %s:%d\r\n"
                     "Accept: application/json, text/event-stream\r\n"
                     "Content-Type: application/json\r\nMCP-Protocol-Version: 2026-07-28\r\n"
                     "Mcp-Method: %s\r\n%s%s%sContent-Length: %zu\r\n\r\n",
                     g_o.path, g_o.host, g_o.port, method, name ? "Mcp-Name: " : "",
                     name ? name : "", name ? "\r\n" : "", blen);
    } else {
        bool init = strcmp(method, "initialize") == 0;
        n = snprintf(head, sizeof head,
                     "POST %s HTTP/1.1\r\nHost: %s:%d\r\n"
                     "Accept: application/json, text/event-stream\r\n"
                     "Content-Type: application/json\r\n%s%s%s%sContent-Length: %zu\r\n\r\n",
                     g_o.path, g_o.host, g_o.port,
                     init ? "" : "MCP-Protocol-Version: 2025-11-25\r\n",
                     c->sid[0] ? "Mcp-Session-Id: " : "", c->sid, c->sid[0] ? "\r\n" : "", blen);
    }
    if (n < 0 || (size_t)n >= sizeof head)
        die("request head too long");
    wbuf_put(c, head, (size_t)n);
    wbuf_put(c, body, blen);
    flush(c);
}

static void send_call(conn_t *c, uint64_t t) {
    char body[512];
    c->seq++;
    /* The text is unique per connection and call: the answer must carry exactly it. */
    snprintf(c->token, sizeof c->token, "\"e%u-%llu\"", c->idx, (unsigned long long)c->seq);
    int n;
    if (g_o.mode == MODE_MODERN)
        n = snprintf(body, sizeof body,
                     "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"method\":\"tools/call\",\"params\":"
                     "{\"name\":\"%s\",\"arguments\":{\"text\":%s},\"_meta\":{"
                     "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
                     "\"io.modelcontextprotocol/clientCapabilities\":{}}}}",
                     (unsigned long long)c->seq, g_o.tool, c->token);
    else
        n = snprintf(body, sizeof body,
                     "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"method\":\"tools/call\",\"params\":"
                     "{\"name\":\"%s\",\"arguments\":{\"text\":%s}}}",
                     (unsigned long long)c->seq, g_o.tool, c->token);
    if (n < 0 || (size_t)n >= sizeof body)
        die("request body too long");
    c->state = ST_CALL;
    c->sent_ns = t;
    g_inflight++;
    post(c, "tools/call", g_o.tool, body, (size_t)n);
}

static void send_initialize(conn_t *c) {
    static const char body[] =
        "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
        "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},"
        "\"clientInfo\":{\"name\":\"mcp_load\",\"version\":\"1.0\"}}}";
    c->state = ST_INIT;
    post(c, "initialize", NULL, body, sizeof body - 1);
}

static void send_initialized(conn_t *c) {
    static const char body[] = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";
    c->state = ST_NOTIFIED;
    post(c, "notifications/initialized", NULL, body, sizeof body - 1);
}

/* ---- responses (RFC 9112) ---- */

/* The value of header NAME in HEAD (the status line and headers, NUL-terminated at the blank
 * line), or NULL; *vlen is its length without surrounding blanks. */
static const char *header_value(const char *head, const char *name, size_t *vlen) {
    size_t nl = strlen(name);
    const char *p = strstr(head, "\r\n");
    while (p && p[2]) {
        const char *line = p + 2;
        const char *end = strstr(line, "\r\n");
        if (!end)
            end = line + strlen(line);
        if ((size_t)(end - line) > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0) {
            const char *v = line + nl + 1;
            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            const char *e = end;
            while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            *vlen = (size_t)(e - v);
            return v;
        }
        p = *end ? end : NULL;
    }
    return NULL;
}

/* Decodes a chunked body (RFC 9112 §7.1) from BUF[0..LEN) into OUT: returns
 * the bytes the whole chunked body took (0 = incomplete, -1 = malformed); *olen is the decoded
 * length. Chunk extensions are skipped, trailers too. */
static long dechunk(const char *buf, size_t len, char *out, size_t *olen) {
    size_t off = 0, o = 0;
    for (;;) {
        const char *eol = memmem(buf + off, len - off, "\r\n", 2);
        if (!eol)
            return 0;
        char *end;
        errno = 0;
        unsigned long sz = strtoul(buf + off, &end, 16);
        if (end == buf + off || errno || sz > MCP_LOAD_MAX_RESPONSE)
            return -1;
        size_t data = (size_t)(eol - buf) + 2;
        if (sz == 0) {
            /* trailer section: lines until an empty one */
            size_t t = data;
            for (;;) {
                const char *le = memmem(buf + t, len - t, "\r\n", 2);
                if (!le)
                    return 0;
                if (le == buf + t) {
                    *olen = o;
                    return (long)(t + 2);
                }
                t = (size_t)(le - buf) + 2;
            }
        }
        if (len < data + sz + 2)
            return 0;
        if (buf[data + sz] != '\r' || buf[data + sz + 1] != '\n')
            return -1;
        memcpy(out + o, buf + data, sz);
        o += sz;
        off = data + sz + 2;
    }
}

/* Checks one complete answer for the connection's state and moves it on. */
static void on_answer(conn_t *c, int status, const char *head, const char *body, size_t blen,
                      uint64_t t) {
    (void)blen;
    switch (c->state) {
    case ST_INIT: {
        if (status != 200 || !strstr(body, "\"protocolVersion\"")) {
            fail("initialize answered %d: %.120s", status, body);
            return;
        }
        size_t vl;
        const char *sid = header_value(head, "Mcp-Session-Id", &vl);
        if (sid) {
            if (vl == 0 || vl > MCP_LOAD_MAX_SID) {
                fail("bad Mcp-Session-Id of %zu bytes", vl);
                return;
            }
            memcpy(c->sid, sid, vl);
            c->sid[vl] = '\0';
        }
        send_initialized(c);
        return;
    }
    case ST_NOTIFIED:
        if (status != 202 && status != 200 && status != 204) {
            fail("notifications/initialized answered %d", status);
            return;
        }
        c->state = ST_IDLE;
        /* Every connection starts calling once all are ready, so the warmup starts evenly. */
        if (++g_ready == g_o.conns)
            for (unsigned i = 0; i < g_o.conns; i++)
                send_call(&g_conns[i], t);
        return;
    case ST_CALL: {
        g_inflight--;
        g_last_answer = t;
        if (status != 200)
            bad("tools/call answered HTTP %d: %.100s", status, body);
        else if (!strstr(body, "\"result\"") || !strstr(body, c->token))
            bad("tools/call answer lacks its echo %s: %.100s", c->token, body);
        else if (strstr(body, "\"isError\":true"))
            bad("tools/call answered isError: %.100s", body);
        else {
            g_done++;
            if (g_measuring) {
                uint64_t us = (t - c->sent_ns) / 1000u;
                g_hist[us > MCP_LOAD_HIST_US ? MCP_LOAD_HIST_US : us]++;
            }
        }
        c->state = ST_IDLE;
        break;
    }
    default:
        fail("an answer nobody asked for (state %d)", c->state);
        return;
    }
    /* Closed loop: the connection's next call goes out as soon as its answer is in. */
    if (!g_stopping && !c->reconnecting)
        send_call(c, t);
}

static void reopen(conn_t *c);

/* Parses complete responses out of the read buffer. */
static void parse(conn_t *c, uint64_t t) {
    static char *dec;
    if (!dec && !(dec = malloc(MCP_LOAD_MAX_RESPONSE + 1)))
        die("out of memory");
    for (;;) {
        char *hend = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
        if (!hend) {
            if (c->rlen > MCP_LOAD_MAX_RESPONSE)
                fail("response headers longer than %u bytes", MCP_LOAD_MAX_RESPONSE);
            return;
        }
        size_t hlen = (size_t)(hend - c->rbuf) + 4;
        char save = hend[2];
        hend[2] = '\0'; /* NUL-terminate the head for the header lookups (keeps one CRLF) */
        int status = 0;
        if (sscanf(c->rbuf, "HTTP/1.%*1[01] %3d", &status) != 1) {
            hend[2] = save;
            fail("not an HTTP/1.1 response: %.40s", c->rbuf);
            return;
        }
        size_t vl;
        const char *te = header_value(c->rbuf, "Transfer-Encoding", &vl);
        bool chunked = te && vl >= 7 && strncasecmp(te + vl - 7, "chunked", 7) == 0;
        const char *cl = header_value(c->rbuf, "Content-Length", &vl);
        const char *conn_hdr = header_value(c->rbuf, "Connection", &vl);
        bool closes = conn_hdr && vl == 5 && strncasecmp(conn_hdr, "close", 5) == 0;
        size_t total, blen;
        const char *body;
        if (chunked) {
            long used = dechunk(c->rbuf + hlen, c->rlen - hlen, dec, &blen);
            if (used < 0) {
                hend[2] = save;
                fail("malformed chunked body");
                return;
            }
            if (used == 0) {
                hend[2] = save;
                if (c->rlen > MCP_LOAD_MAX_RESPONSE)
                    fail("response longer than %u bytes", MCP_LOAD_MAX_RESPONSE);
                return;
            }
            total = hlen + (size_t)used;
            body = dec;
        } else if (cl) {
            char *end;
            unsigned long n = strtoul(cl, &end, 10);
            if (end == cl || n > MCP_LOAD_MAX_RESPONSE) {
                hend[2] = save;
                fail("bad Content-Length");
                return;
            }
            if (c->rlen < hlen + n) {
                hend[2] = save;
                return;
            }
            total = hlen + n;
            memcpy(dec, c->rbuf + hlen, n);
            blen = n;
            body = dec;
        } else if (status == 202 || status == 204 || status == 304) {
            total = hlen;
            blen = 0;
            body = dec;
        } else {
            /* A body delimited by the connection's close would end keep-alive: not what an MCP
             * server should send to a keep-alive client. */
            hend[2] = save;
            fail("HTTP %d answer with neither Content-Length nor chunked coding", status);
            return;
        }
        dec[blen] = '\0';
        if (closes && c->state != ST_CALL) {
            hend[2] = save;
            fail("the server closed the connection during the handshake (Connection: close)");
            return;
        }
        c->reconnecting = closes; /* the next call waits for the new connection */
        on_answer(c, status, c->rbuf, body, blen, t);
        hend[2] = save;
        memmove(c->rbuf, c->rbuf + total, c->rlen - total);
        c->rlen -= total;
        if (closes && !g_error) {
            /* A proxy ends a client connection after its request quota (nginx
             * keepalive_requests, 1000 by default); a client opens a new one, as undici and
             * the SDKs do. The session (legacy) is not tied to the connection. */
            reopen(c);
            return;
        }
        if (g_error)
            return;
    }
}

static void on_readable(conn_t *c, uint64_t t) {
    for (;;) {
        if (c->rcap - c->rlen < 4096) {
            if (c->rcap > 2 * MCP_LOAD_MAX_RESPONSE) {
                fail("response longer than %u bytes", MCP_LOAD_MAX_RESPONSE);
                return;
            }
            size_t cap = c->rcap * 2;
            char *p = realloc(c->rbuf, cap + 1);
            if (!p)
                die("out of memory");
            c->rbuf = p;
            c->rcap = cap;
        }
        size_t room = c->rcap - c->rlen;
        ssize_t n = read(c->fd, c->rbuf + c->rlen, room);
        if (n > 0) {
            c->rlen += (size_t)n;
            if ((size_t)n < room)
                break;
            continue;
        }
        if (n == 0) {
            if (!g_stopping)
                fail("the server closed a connection");
            epoll_ctl(g_ep, EPOLL_CTL_DEL, c->fd, NULL);
            close(c->fd);
            c->fd = -1;
            c->state = ST_CLOSED;
            return;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
        fail("read: %s", strerror(errno));
        return;
    }
    parse(c, t);
}

static void on_writable(conn_t *c, uint64_t t) {
    if (c->state == ST_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err != 0) {
            fail("connect: %s", strerror(err ? err : errno));
            return;
        }
        arm(c, false);
        if (c->reconnecting) {
            c->reconnecting = false;
            c->state = ST_IDLE;
            if (!g_stopping)
                send_call(c, t);
            return;
        }
        if (g_o.mode == MODE_LEGACY) {
            send_initialize(c);
        } else {
            c->state = ST_IDLE;
            if (++g_ready == g_o.conns)
                for (unsigned i = 0; i < g_o.conns; i++)
                    send_call(&g_conns[i], t);
        }
        return;
    }
    flush(c);
}

static void open_conn(conn_t *c, unsigned idx, const struct sockaddr_in *sa) {
    c->idx = idx;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        die("socket (raise ulimit -n?)");
    int one = 1;
    /* One small request per round trip: Nagle would hold it for the previous ACK. */
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->state = ST_CONNECTING;
    c->rcap = 16384;
    c->rbuf = malloc(c->rcap + 1);
    if (!c->rbuf)
        die("out of memory");
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    c->want_out = true;
    if (connect(c->fd, (const struct sockaddr *)sa, sizeof *sa) < 0 && errno != EINPROGRESS)
        fail("connect: %s", strerror(errno));
    if (epoll_ctl(g_ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
        die("epoll_ctl ADD");
}

static void reopen(conn_t *c) {
    epoll_ctl(g_ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->rbuf);
    c->rbuf = NULL;
    c->rlen = 0;
    c->woff = c->wlen = 0;
    g_reconnects++;
    if (g_stopping) {
        c->fd = -1;
        c->state = ST_CLOSED;
        return;
    }
    open_conn(c, c->idx, &g_sa);
    c->reconnecting = true;
}

static double hist_pct(uint64_t total, double q) {
    if (total == 0)
        return 0;
    uint64_t want = (uint64_t)((double)total * q), seen = 0;
    for (unsigned i = 0; i <= MCP_LOAD_HIST_US; i++) {
        seen += g_hist[i];
        if (seen > want)
            return (double)i;
    }
    return (double)MCP_LOAD_HIST_US;
}

static void usage(void) {
    fprintf(stderr, "usage: mcp_load -p PORT [-H host] [-u path] [-c conns] [-m modern|legacy]\n"
                    "                [-T tool] [-w warmup_s] [-d duration_s] [-P server_pid]...\n"
                    "                [-l label] [--json]\n");
    exit(2);
}

static double parse_num(const char *s, double lo, double hi) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < lo || v > hi)
        usage();
    return v;
}

int main(int argc, char **argv) {
    g_o = (opts_t){.host = "127.0.0.1",
                   .path = "/mcp",
                   .label = "server",
                   .tool = "echo",
                   .conns = 32,
                   .mode = MODE_MODERN,
                   .warmup_s = 1,
                   .duration_s = 5};
    static const struct option lo[] = {{"json", no_argument, NULL, 'j'}, {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "p:H:u:c:m:T:w:d:P:l:", lo, NULL)) != -1) {
        switch (ch) {
        case 'p':
            g_o.port = (int)parse_num(optarg, 1, 65535);
            break;
        case 'H':
            g_o.host = optarg;
            break;
        case 'u':
            g_o.path = optarg;
            break;
        case 'c':
            g_o.conns = (unsigned)parse_num(optarg, 1, MCP_LOAD_MAX_CONNS);
            break;
        case 'm':
            if (strcmp(optarg, "modern") == 0)
                g_o.mode = MODE_MODERN;
            else if (strcmp(optarg, "legacy") == 0)
                g_o.mode = MODE_LEGACY;
            else
                usage();
            break;
        case 'T':
            g_o.tool = optarg;
            break;
        case 'w':
            g_o.warmup_s = parse_num(optarg, 0, 600);
            break;
        case 'd':
            g_o.duration_s = parse_num(optarg, 0.1, 600);
            break;
        case 'P':
            if (g_o.npids == MCP_LOAD_MAX_PIDS)
                usage();
            g_o.pids[g_o.npids++] = (int)parse_num(optarg, 1, 1e9);
            break;
        case 'l':
            g_o.label = optarg;
            break;
        case 'j':
            g_o.json = true;
            break;
        default:
            usage();
        }
    }
    if (g_o.port == 0 || optind != argc)
        usage();
    if (g_o.path[0] != '/' || strpbrk(g_o.path, " \r\n"))
        die("path must start with / and hold no blanks");
    for (const char *p = g_o.tool; *p; p++)
        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x21)
            die("the tool name must be plain visible ASCII");
    for (const char *p = g_o.label; *p; p++)
        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
            die("the label must hold no quotes, backslashes or control characters");

    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    g_hist = calloc(MCP_LOAD_HIST_US + 1, sizeof *g_hist);
    g_conns = calloc(g_o.conns, sizeof *g_conns);
    if (!g_hist || !g_conns)
        die("out of memory");
    g_sa = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)g_o.port)};
    if (inet_pton(AF_INET, g_o.host, &g_sa.sin_addr) != 1)
        die("host must be an IPv4 address");
    g_ep = epoll_create1(EPOLL_CLOEXEC);
    if (g_ep < 0)
        die("epoll_create1");

    uint64_t t_start = now_ns();
    for (unsigned i = 0; i < g_o.conns; i++)
        open_conn(&g_conns[i], i, &g_sa);

    enum { PH_CONNECT, PH_WARMUP, PH_MEASURE, PH_DRAIN } phase = PH_CONNECT;
    uint64_t t_phase = t_start, t_measure = 0, t_end = 0;
    uint64_t done0 = 0, done1 = 0, ccpu0 = 0, ccpu1 = 0;
    long long scpu0 = -1, scpu1 = -1;
    g_last_answer = t_start;
    struct epoll_event evs[256];
    while (!g_error) {
        int n = epoll_wait(g_ep, evs, 256, 100);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        uint64_t t = now_ns();
        for (int i = 0; i < n && !g_error; i++) {
            conn_t *c = evs[i].data.ptr;
            if (c->state == ST_CLOSED)
                continue;
            if (evs[i].events & (EPOLLOUT | EPOLLERR))
                on_writable(c, t);
            if (!g_error && c->fd >= 0 && (evs[i].events & (EPOLLIN | EPOLLHUP)))
                on_readable(c, t);
        }
        if (g_error)
            break;
        if (phase == PH_CONNECT) {
            if (g_ready == g_o.conns) {
                phase = PH_WARMUP;
                t_phase = t;
                g_last_answer = t;
            } else if (t - t_start > (uint64_t)MCP_LOAD_CONNECT_S * 1000000000u) {
                fail("only %u of %u connections were ready in time", g_ready, g_o.conns);
                break;
            }
        }
        if ((phase == PH_WARMUP || phase == PH_MEASURE) &&
            t - g_last_answer > (uint64_t)MCP_LOAD_STALL_S * 1000000000u) {
            fail("no answer for %d s: the server stalled", MCP_LOAD_STALL_S);
            break;
        }
        if (phase == PH_WARMUP && t - t_phase >= (uint64_t)(g_o.warmup_s * 1e9)) {
            phase = PH_MEASURE;
            t_measure = t;
            done0 = g_done;
            scpu0 = servers_cpu_ticks();
            ccpu0 = self_cpu_ns();
            g_measuring = true;
        }
        if (phase == PH_MEASURE && t - t_measure >= (uint64_t)(g_o.duration_s * 1e9)) {
            t_end = now_ns();
            done1 = g_done;
            scpu1 = servers_cpu_ticks();
            ccpu1 = self_cpu_ns();
            g_measuring = false;
            g_stopping = true;
            phase = PH_DRAIN;
            t_phase = t;
        }
        if (phase == PH_DRAIN &&
            (g_inflight == 0 || t - t_phase > (uint64_t)MCP_LOAD_END_S * 1000000000u))
            break;
    }

    uint64_t calls = done1 - done0;
    double secs = t_end > t_measure ? (double)(t_end - t_measure) / 1e9 : 0;
    double rate = secs > 0 ? (double)calls / secs : 0;
    long tck = sysconf(_SC_CLK_TCK);
    if (tck <= 0)
        tck = 100;
    double scpu_s = (scpu0 >= 0 && scpu1 >= 0) ? (double)(scpu1 - scpu0) / (double)tck : -1;
    double s_us = (scpu_s >= 0 && calls) ? scpu_s * 1e6 / (double)calls : -1;
    double c_us = calls ? (double)(ccpu1 - ccpu0) / 1e3 / (double)calls : -1;
    uint64_t hist_total = 0;
    for (unsigned i = 0; i <= MCP_LOAD_HIST_US; i++)
        hist_total += g_hist[i];
    double p50 = hist_pct(hist_total, 0.50), p99 = hist_pct(hist_total, 0.99);
    bool valid = !g_error && calls > 0;
    const char *mode = g_o.mode == MODE_MODERN ? "modern" : "legacy";
    if (g_o.json) {
        printf("{\"label\":\"%s\",\"mode\":\"%s\",\"conns\":%u,\"duration_s\":%.3f,"
               "\"calls\":%llu,\"calls_per_s\":%.1f,\"lat_p50_us\":%.0f,\"lat_p99_us\":%.0f,"
               "\"errors\":%llu,\"errors_measured\":%llu,\"first_bad\":\"%s\","
               "\"server_cpu_s\":%.3f,\"server_cpu_us_per_call\":%.1f,"
               "\"client_cpu_us_per_call\":%.2f,\"reconnects\":%llu,\"valid\":%s,"
               "\"error\":\"%s\"}\n",
               g_o.label, mode, g_o.conns, secs, (unsigned long long)calls, rate, p50, p99,
               (unsigned long long)g_bad, (unsigned long long)g_bad_measured, g_first_bad, scpu_s,
               s_us, c_us, (unsigned long long)g_reconnects, valid ? "true" : "false",
               g_error ? g_error : "");
    } else {
        printf("%s: %s, %u conns, %.2f s: %.0f calls/s, p50 %.0f us p99 %.0f us, %llu bad "
               "answers, server CPU %.1f us/call, client CPU %.2f us/call\n",
               g_o.label, mode, g_o.conns, secs, rate, p50, p99, (unsigned long long)g_bad, s_us,
               c_us);
        if (g_reconnects)
            printf("  %llu connections reopened after the server's Connection: close\n",
                   (unsigned long long)g_reconnects);
        if (g_first_bad[0])
            printf("  first bad answer: %s\n", g_first_bad);
    }
    if (g_error)
        fprintf(stderr, "mcp_load: %s: %s\n", g_o.label, g_error);
    for (unsigned i = 0; i < g_o.conns; i++)
        if (g_conns[i].fd >= 0)
            close(g_conns[i].fd);
    return valid ? 0 : 1;
}
