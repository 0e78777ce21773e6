/* onemrc_load.c: the 1MRC load generator for bench/http/onemrc.py (examples/1mrc).
 *
 *   onemrc_load -p PORT [-H 127.0.0.1] [-n 1000000] [-c 64] [-W 1] [-u 10000] [-P SERVER_PID]
 *
 * Sends exactly N `POST /event` requests over CONNS keep-alive HTTP/1.1 connections, each with
 * up to WINDOW requests in flight (pipelined, RFC 9112 §9.3.2; 1 = one at a time, as a browser
 * or wrk sends), and waits for every answer. Event i carries userId "user-(i mod USERS)" and
 * value ((7 i) mod 1000) / 2, the same events as examples/1mrc/load.py, so the driver can check
 * /stats against load.py's expected_totals(). Prints one JSON object: answers by status, wall
 * time, requests/s, latency percentiles (per request, from its send to its answer; the clock is
 * read once per epoll wake-up), the client's own CPU and, with -P, the server's CPU time per
 * request (utime + stime of /proc/PID/stat, 10 ms ticks). Exit status 0 when all N were answered
 * 200, 1 otherwise (a connection dropped, a malformed answer, no progress for ONEMRC_STALL_S).
 *
 * Answers are framed by Content-Length only (the 1MRC app answers small JSON bodies; chunked
 * answers are an error here). Plain POSIX sockets + epoll, one thread, libc only: the client
 * shares no code with the servers it measures. Traffic goes only to the host given.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Connections: far more than a closed-loop load on a 2-vCPU box needs. */
#define ONEMRC_MAX_CONNS 4096
/* Pipelined requests per connection: past a few dozen only socket buffers grow. */
#define ONEMRC_MAX_WINDOW 256
/* No answer on any connection for this long: the server is stuck or dropped us. */
#define ONEMRC_STALL_S 20
/* One request: the head (~110 bytes) and a body of at most ~45 bytes. */
#define ONEMRC_MAX_REQ 256
/* An answer's head must fit in this much buffered input. */
#define ONEMRC_MAX_HEAD 16384
/* Latency histogram: 10 us buckets up to 1 s; slower answers count in the last one. */
#define ONEMRC_HIST_BUCKETS 100000u
#define ONEMRC_HIST_US 10u

typedef struct {
    int fd;
    char *rbuf;
    size_t rlen, rcap;
    char *wbuf;
    size_t woff, wlen, wcap;
    bool want_out;
    unsigned inflight;
    uint64_t *sent_ns; /* ring: send time of the requests in flight, oldest at head */
    unsigned head;
} conn_t;

static const char *g_host = "127.0.0.1";
static int g_port;
static uint64_t g_n = 1000000, g_users = 10000;
static unsigned g_conns = 64, g_window = 1;
static int g_pid;
static uint64_t g_next, g_answered, g_status[6]; /* 1xx..5xx; [0]: other */
static uint64_t g_ok;
static uint32_t *g_hist;
static char g_error[256];

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

/* The server's utime + stime in clock ticks, or -1. */
static long long server_ticks(void) {
    if (g_pid <= 0)
        return -1;
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", g_pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields 14 and 15, counted after the ")" that ends the command name (which may hold
     * spaces). */
    char *p = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (long long)(ut + st);
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...) {
    if (g_error[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_error, sizeof g_error, fmt, ap);
    va_end(ap);
}

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n);
    if (!q) {
        fprintf(stderr, "onemrc_load: out of memory\n");
        exit(2);
    }
    return q;
}

/* Appends request i to c's output. */
static void put_request(conn_t *c, uint64_t i, uint64_t now) {
    char body[96], req[ONEMRC_MAX_REQ];
    unsigned halves = (unsigned)((7 * i) % 1000);
    int bl = snprintf(body, sizeof body, "{\"userId\":\"user-%llu\",\"value\":%u%s}",
                      (unsigned long long)(i % g_users), halves / 2, halves % 2 ? ".5" : "");
    int rl = snprintf(req, sizeof req,
                      "POST /event HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                      "Content-Length: %d\r\n\r\n%s",
                      g_host, g_port, bl, body);
    if (c->wlen + (size_t)rl > c->wcap) {
        c->wcap = (c->wlen + (size_t)rl) * 2;
        c->wbuf = xrealloc(c->wbuf, c->wcap);
    }
    memcpy(c->wbuf + c->wlen, req, (size_t)rl);
    c->wlen += (size_t)rl;
    c->sent_ns[(c->head + c->inflight) % g_window] = now;
    c->inflight++;
}

static void fill(conn_t *c, uint64_t now) {
    while (c->inflight < g_window && g_next < g_n)
        put_request(c, g_next++, now);
}

static void set_out(int ep, conn_t *c, bool want) {
    if (want == c->want_out)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0u), .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = want;
}

static void flush(int ep, conn_t *c) {
    while (c->woff < c->wlen) {
        ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                fail("send: %s", strerror(errno));
            break;
        }
        c->woff += (size_t)n;
    }
    if (c->woff == c->wlen)
        c->woff = c->wlen = 0;
    set_out(ep, c, c->wlen > 0);
}

/* The value of header `name` (lower case, with the colon) in head[0..len), or NULL. */
static const char *find_header(const char *head, size_t len, const char *name) {
    size_t nl = strlen(name);
    for (const char *p = head; p + nl < head + len; p++) {
        if (p[0] == '\n' && strncasecmp(p + 1, name, nl) == 0) {
            p += 1 + nl;
            while (*p == ' ' || *p == '\t')
                p++;
            return p;
        }
    }
    return NULL;
}

/* Takes every complete answer off c's input. */
static void parse(conn_t *c, uint64_t now) {
    size_t pos = 0;
    while (!g_error[0]) {
        char *start = c->rbuf + pos;
        size_t avail = c->rlen - pos;
        char *end = memmem(start, avail, "\r\n\r\n", 4);
        if (!end) {
            if (avail > ONEMRC_MAX_HEAD)
                fail("an answer's head is longer than %d bytes", ONEMRC_MAX_HEAD);
            break;
        }
        size_t hlen = (size_t)(end - start);
        if (hlen < 12 || memcmp(start, "HTTP/1.1 ", 9) != 0) {
            fail("bad status line: %.40s", start);
            break;
        }
        int status = atoi(start + 9);
        if (find_header(start, hlen, "transfer-encoding:")) {
            fail("a chunked answer (status %d): this client reads Content-Length only", status);
            break;
        }
        const char *cl = find_header(start, hlen, "content-length:");
        if (!cl) {
            fail("an answer without Content-Length (status %d)", status);
            break;
        }
        size_t blen = strtoul(cl, NULL, 10);
        if (avail < hlen + 4 + blen)
            break;
        if (c->inflight == 0) {
            fail("an answer to no request");
            break;
        }
        uint64_t sent = c->sent_ns[c->head];
        c->head = (c->head + 1) % g_window;
        c->inflight--;
        uint64_t us = (now - sent) / 1000u / ONEMRC_HIST_US;
        g_hist[us < ONEMRC_HIST_BUCKETS ? us : ONEMRC_HIST_BUCKETS - 1]++;
        g_answered++;
        g_status[status >= 100 && status < 600 ? status / 100 : 0]++;
        if (status == 200)
            g_ok++;
        else if (g_status[status / 100] == 1 || status / 100 == 0)
            fprintf(stderr, "onemrc_load: first %d answer: %.*s\n", status,
                    (int)(blen > 200 ? 200 : blen), end + 4);
        if (find_header(start, hlen, "connection:") &&
            strncasecmp(find_header(start, hlen, "connection:"), "close", 5) == 0) {
            fail("the server closes a keep-alive connection (status %d)", status);
            break;
        }
        pos += hlen + 4 + blen;
    }
    if (pos) {
        memmove(c->rbuf, c->rbuf + pos, c->rlen - pos);
        c->rlen -= pos;
    }
}

static double percentile(double q) {
    uint64_t want = (uint64_t)(q * (double)g_answered), seen = 0;
    for (unsigned b = 0; b < ONEMRC_HIST_BUCKETS; b++) {
        seen += g_hist[b];
        if (seen > want)
            return (double)(b * ONEMRC_HIST_US) / 1000.0 + ONEMRC_HIST_US / 2000.0;
    }
    return (double)ONEMRC_HIST_BUCKETS * ONEMRC_HIST_US / 1000.0;
}

static void usage(void) {
    fprintf(stderr, "usage: onemrc_load -p PORT [-H HOST] [-n N] [-c CONNS] [-W WINDOW] [-u USERS] "
                    "[-P SERVER_PID]\n");
    exit(2);
}

int main(int argc, char **argv) {
    int opt;
    while ((opt = getopt(argc, argv, "p:H:n:c:W:u:P:")) != -1) {
        switch (opt) {
        case 'p':
            g_port = atoi(optarg);
            break;
        case 'H':
            g_host = optarg;
            break;
        case 'n':
            g_n = strtoull(optarg, NULL, 10);
            break;
        case 'c':
            g_conns = (unsigned)atoi(optarg);
            break;
        case 'W':
            g_window = (unsigned)atoi(optarg);
            break;
        case 'u':
            g_users = strtoull(optarg, NULL, 10);
            break;
        case 'P':
            g_pid = atoi(optarg);
            break;
        default:
            usage();
        }
    }
    if (g_port <= 0 || g_port > 65535 || g_n == 0 || g_users == 0 || g_conns == 0 ||
        g_conns > ONEMRC_MAX_CONNS || g_window == 0 || g_window > ONEMRC_MAX_WINDOW)
        usage();
    if (g_conns > g_n)
        g_conns = (unsigned)g_n;
    g_hist = calloc(ONEMRC_HIST_BUCKETS, sizeof *g_hist);
    conn_t *conns = calloc(g_conns, sizeof *conns);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (!g_hist || !conns || ep < 0) {
        fprintf(stderr, "onemrc_load: out of memory or epoll\n");
        return 2;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g_port)};
    if (inet_pton(AF_INET, g_host, &sa.sin_addr) != 1) {
        fprintf(stderr, "onemrc_load: -H takes an IPv4 address\n");
        return 2;
    }
    for (unsigned k = 0; k < g_conns; k++) {
        conn_t *c = &conns[k];
        /* Blocking connect (loopback: immediate), then non-blocking I/O. */
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
            fprintf(stderr, "onemrc_load: connect to %s:%d: %s\n", g_host, g_port, strerror(errno));
            return 1;
        }
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
        c->sent_ns = calloc(g_window, sizeof *c->sent_ns);
        c->rcap = 65536;
        c->rbuf = malloc(c->rcap);
        if (!c->sent_ns || !c->rbuf)
            return 2;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    }
    long long ticks0 = server_ticks();
    uint64_t cpu0 = self_cpu_ns(), t0 = now_ns(), last = t0;
    for (unsigned k = 0; k < g_conns; k++) {
        fill(&conns[k], t0);
        flush(ep, &conns[k]);
    }
    struct epoll_event evs[256];
    while (g_answered < g_n && !g_error[0]) {
        int n = epoll_wait(ep, evs, 256, 1000);
        uint64_t now = now_ns();
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fail("epoll_wait: %s", strerror(errno));
            break;
        }
        if (n == 0 && now - last > (uint64_t)ONEMRC_STALL_S * 1000000000u)
            fail("no answer for %d s (%llu of %llu answered)", ONEMRC_STALL_S,
                 (unsigned long long)g_answered, (unsigned long long)g_n);
        for (int e = 0; e < n && !g_error[0]; e++) {
            conn_t *c = evs[e].data.ptr;
            if (evs[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                if (c->rlen == c->rcap) {
                    c->rcap *= 2;
                    c->rbuf = xrealloc(c->rbuf, c->rcap);
                }
                ssize_t r = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
                if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                    fail("the server dropped a connection (%llu of %llu answered)",
                         (unsigned long long)g_answered, (unsigned long long)g_n);
                    break;
                }
                if (r > 0) {
                    c->rlen += (size_t)r;
                    uint64_t before = g_answered;
                    parse(c, now);
                    if (g_answered != before) {
                        last = now;
                        fill(c, now);
                    }
                }
            }
            flush(ep, c);
        }
    }
    uint64_t t1 = now_ns(), cpu1 = self_cpu_ns();
    long long ticks1 = server_ticks();
    double secs = (double)(t1 - t0) / 1e9;
    long hz = sysconf(_SC_CLK_TCK);
    printf("{\"n\":%llu,\"conns\":%u,\"window\":%u,\"users\":%llu,\"answered\":%llu,\"ok\":%llu,"
           "\"status\":{\"1xx\":%llu,\"2xx\":%llu,\"3xx\":%llu,\"4xx\":%llu,\"5xx\":%llu,\"other\":"
           "%llu},"
           "\"seconds\":%.4f,\"rps\":%.1f,\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f},"
           "\"client_cpu_us_per_req\":%.2f",
           (unsigned long long)g_n, g_conns, g_window, (unsigned long long)g_users,
           (unsigned long long)g_answered, (unsigned long long)g_ok,
           (unsigned long long)g_status[1], (unsigned long long)g_status[2],
           (unsigned long long)g_status[3], (unsigned long long)g_status[4],
           (unsigned long long)g_status[5], (unsigned long long)g_status[0], secs,
           secs > 0 ? (double)g_answered / secs : 0.0, percentile(0.50), percentile(0.90),
           percentile(0.99), g_answered ? (double)(cpu1 - cpu0) / 1e3 / (double)g_answered : 0.0);
    if (ticks0 >= 0 && ticks1 >= 0 && g_answered && hz > 0)
        printf(",\"server_cpu_us_per_req\":%.2f",
               (double)(ticks1 - ticks0) * 1e6 / (double)hz / (double)g_answered);
    printf(",\"error\":");
    if (g_error[0]) {
        putchar('"');
        for (const char *p = g_error; *p; p++)
            if (*p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
                putchar(*p);
        putchar('"');
    } else {
        printf("null");
    }
    printf("}\n");
    for (unsigned k = 0; k < g_conns; k++) {
        close(conns[k].fd);
        free(conns[k].rbuf);
        free(conns[k].wbuf);
        free(conns[k].sent_ns);
    }
    free(conns);
    free(g_hist);
    close(ep);
    return !g_error[0] && g_ok == g_n ? 0 : 1;
}
