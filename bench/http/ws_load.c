/* ws_load.c: a WebSocket echo load generator (RFC 6455) for bench/http/run.sh.
 *
 *   ws_load -p PORT [-H 127.0.0.1] [-u /ws] [-c CONNS] [-W WINDOW] [-s BYTES] [-b]
 *           [-w WARMUP_S] [-d DURATION_S] [-P SERVER_PID]... [-l LABEL] [--json]
 *
 * It opens CONNS connections, upgrades each with the RFC 6455 §4.1 opening handshake (and checks
 * the server's Sec-WebSocket-Accept, §4.2.2), then keeps WINDOW messages in flight on every
 * connection: each echo that comes back is checked and answered by the next message, so the
 * load is closed-loop and the server is never sent more than CONNS x WINDOW messages it has not
 * answered. Messages are BYTES long, text frames (opcode 1, ASCII payload, so valid UTF-8) or
 * binary with -b (opcode 2), unfragmented, masked as §5.3 requires of a client.
 *
 * After WARMUP_S seconds it measures for DURATION_S seconds: echoes received per second, the
 * round-trip latency of each message (p50/p99; the clock is read once per epoll wake-up, not
 * per message), and the SERVER's CPU time per message: utime + stime from /proc/PID/stat of
 * every -P process (all threads, 10 ms ticks, so measure for a few seconds), read when the
 * measurement starts and ends. Its own CPU per message is reported too, to show the client is
 * not what sets the pace.
 *
 * An echo is checked completely: same opcode, same length, same bytes (the first 16 bytes of
 * every payload carry its sequence number in hex, so a lost, duplicated or reordered echo is
 * seen). Any mismatch, a close frame, a fragmented echo, a dropped connection, or no echo at all
 * for WS_LOAD_STALL_S seconds ends the run with an error and exit status 1 ("valid":false in
 * the JSON).
 *
 * At the end it stops sending, waits for the echoes still in flight and closes every connection
 * with a close handshake (status 1000), as a client that is done would (each step bounded by
 * WS_LOAD_END_S); "closed_clean" counts the connections the server then closed.
 *
 * Plain POSIX sockets + epoll, one thread, libc only: the client shares no code with the servers
 * it measures. Linux only (epoll, /proc). Traffic goes only to the host given (127.0.0.1).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Largest message: a few times the sizes the benchmark uses (32 B, 1 KiB); the frame buffers
 * are sized from it. */
#define WS_LOAD_MAX_SIZE (1u << 20)
/* Connections: far more than a window-per-connection load needs on a 2-vCPU box. */
#define WS_LOAD_MAX_CONNS 10000
/* In-flight messages per connection: past a few dozen only the socket buffers grow. */
#define WS_LOAD_MAX_WINDOW 4096
/* Server pids whose CPU is summed (e.g. nginx master + workers). */
#define WS_LOAD_MAX_PIDS 16
/* No echo on any connection for this long: the server is hung or dropped us. */
#define WS_LOAD_STALL_S 5
/* The opening handshake of all connections must finish within this. */
#define WS_LOAD_CONNECT_S 10
/* Latency histogram: 1 us buckets up to 100 ms; slower echoes count in the last bucket. */
#define WS_LOAD_HIST_US 100000u
/* Bounds on the drain of in-flight echoes and on the close handshake at the end, each. */
#define WS_LOAD_END_S 2
/* The handshake response must fit here (a 101 is ~130-250 bytes). */
#define WS_LOAD_MAX_RESPONSE 8192
/* Bytes of the payload that carry the sequence number, in hex. */
#define WS_LOAD_SEQ_HEX 16u

enum { ST_CONNECTING, ST_HANDSHAKE, ST_OPEN, ST_CLOSING, ST_CLOSED };

typedef struct {
    int fd;
    int state;
    uint8_t *rbuf;
    size_t rlen, rcap;
    uint8_t *wbuf;
    size_t woff, wlen, wcap;
    bool want_out; /* EPOLLOUT armed */
    char key[25];  /* base64 Sec-WebSocket-Key, NUL-terminated */
    uint64_t next_seq, expect_seq;
    uint64_t *sent_ns; /* ring of window send times, indexed by seq % window */
} conn_t;

typedef struct {
    const char *host, *path, *label;
    int port;
    unsigned conns, window;
    size_t size;
    bool binary, json;
    double warmup_s, duration_s;
    int pids[WS_LOAD_MAX_PIDS];
    unsigned npids;
} opts_t;

static opts_t g_o;
static uint8_t *g_pattern; /* the payload bytes after the sequence number */
static uint32_t *g_hist;
static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static const char *g_error;
static char g_errbuf[256];

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

/* xorshift64: mask keys and handshake keys need not be cryptographic for a load generator on
 * loopback; RFC 6455 §10.3 asks for unpredictable keys to protect intermediaries, and there are
 * none here. */
static uint64_t rng(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

/* Records the first error; the loop stops at the next check. */
static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...) {
    if (g_error)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_errbuf, sizeof g_errbuf, fmt, ap);
    va_end(ap);
    g_error = g_errbuf;
}

static void die(const char *msg) {
    fprintf(stderr, "ws_load: %s\n", msg);
    exit(2);
}

static void *xmalloc(size_t n) {
    void *p = malloc(n);
    if (!p)
        die("out of memory");
    return p;
}

/* ---- SHA-1 (FIPS 180-4) and base64 (RFC 4648), for the handshake only ---- */

static uint32_t rol32(uint32_t x, unsigned n) {
    return (x << n) | (x >> (32u - n));
}

static void sha1_block(uint32_t h[5], const uint8_t *p) {
    uint32_t w[80];
    for (unsigned i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    for (unsigned i = 16; i < 80; i++)
        w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (unsigned i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5a827999u;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ed9eba1u;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8f1bbcdcu;
        } else {
            f = b ^ c ^ d;
            k = 0xca62c1d6u;
        }
        uint32_t t = rol32(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rol32(b, 30);
        b = a;
        a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

/* SHA-1 of a message shorter than 119 bytes (the key + GUID is 60): at most two blocks. */
static void sha1_short(const uint8_t *msg, size_t len, uint8_t out[20]) {
    uint32_t h[5] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u, 0xc3d2e1f0u};
    uint8_t buf[128] = {0};
    memcpy(buf, msg, len);
    buf[len] = 0x80;
    size_t total = len + 9 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8u;
    for (unsigned i = 0; i < 8; i++)
        buf[total - 1 - i] = (uint8_t)(bits >> (8 * i));
    for (size_t off = 0; off < total; off += 64)
        sha1_block(h, buf + off);
    for (unsigned i = 0; i < 5; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8);
        out[4 * i + 3] = (uint8_t)h[i];
    }
}

static void base64(const uint8_t *in, size_t n, char *out) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = '\0';
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
    /* state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime(14)
     * stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (long long)(ut + st);
}

static long long servers_cpu_ticks(void) {
    if (g_o.npids == 0)
        return -1; /* no -P: server CPU not measured */
    long long sum = 0;
    for (unsigned i = 0; i < g_o.npids; i++) {
        long long t = proc_cpu_ticks(g_o.pids[i]);
        if (t < 0)
            return -1;
        sum += t;
    }
    return sum;
}

/* ---- frames ---- */

static void wbuf_reserve(conn_t *c, size_t more) {
    if (c->woff > 0 && c->woff == c->wlen)
        c->woff = c->wlen = 0;
    if (c->wlen + more <= c->wcap)
        return;
    if (c->woff > 0) {
        memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
        c->wlen -= c->woff;
        c->woff = 0;
    }
    if (c->wlen + more <= c->wcap)
        return;
    size_t cap = c->wcap ? c->wcap : 4096;
    while (cap < c->wlen + more)
        cap *= 2;
    uint8_t *p = realloc(c->wbuf, cap);
    if (!p)
        die("out of memory");
    c->wbuf = p;
    c->wcap = cap;
}

/* Payload of message seq: 16 hex digits of seq, then the fixed pattern (ASCII). */
static void payload_head(uint64_t seq, uint8_t *out, size_t n) {
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)hex[(seq >> (4u * (WS_LOAD_SEQ_HEX - 1u - (unsigned)i))) & 15u];
}

/* Appends one masked client frame (RFC 6455 §5.2) carrying opcode and payload; payload NULL
 * means message c->next_seq. */
static void put_frame(conn_t *c, unsigned opcode, const uint8_t *payload, size_t len) {
    wbuf_reserve(c, len + 14);
    uint8_t *h = c->wbuf + c->wlen;
    size_t hl = 2;
    h[0] = (uint8_t)(0x80u | opcode); /* FIN: never fragmented */
    if (len < 126) {
        h[1] = (uint8_t)(0x80u | len);
    } else if (len <= 0xffff) {
        h[1] = 0x80u | 126u;
        h[2] = (uint8_t)(len >> 8);
        h[3] = (uint8_t)len;
        hl = 4;
    } else {
        h[1] = 0x80u | 127u;
        for (unsigned i = 0; i < 8; i++)
            h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
        hl = 10;
    }
    uint32_t key = (uint32_t)rng();
    uint8_t mk[4];
    memcpy(mk, &key, 4);
    memcpy(h + hl, mk, 4);
    hl += 4;
    uint8_t *p = h + hl;
    if (payload) {
        memcpy(p, payload, len);
    } else {
        size_t head = len < WS_LOAD_SEQ_HEX ? len : WS_LOAD_SEQ_HEX;
        payload_head(c->next_seq, p, head);
        memcpy(p + head, g_pattern, len - head);
    }
    /* Mask 8 bytes at a time: the key repeats every 4 bytes, so a doubled key covers 8. */
    uint64_t k8;
    uint8_t kb[8] = {mk[0], mk[1], mk[2], mk[3], mk[0], mk[1], mk[2], mk[3]};
    memcpy(&k8, kb, 8);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        v ^= k8;
        memcpy(p + i, &v, 8);
    }
    for (; i < len; i++)
        p[i] ^= mk[i & 3u];
    c->wlen += hl + len;
}

static uint64_t g_inflight; /* messages sent and not echoed yet, all connections */
static unsigned g_closed;   /* connections the server closed after our close frame */

static void send_message(conn_t *c, uint64_t t) {
    c->sent_ns[c->next_seq % g_o.window] = t;
    put_frame(c, g_o.binary ? 2u : 1u, NULL, g_o.size);
    c->next_seq++;
    g_inflight++;
}

/* ---- the event loop ---- */

static int g_ep;
static conn_t *g_conns;
static uint64_t g_received;   /* echoes since the start */
static bool g_measuring;      /* echoes go into the histogram */
static bool g_stopping;       /* no new messages */
static uint64_t g_last_echo;  /* ns */
static unsigned g_open_conns; /* handshakes done */

static void arm(conn_t *c, bool out) {
    if (c->want_out == out)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (out ? (uint32_t)EPOLLOUT : 0u), .data.ptr = c};
    if (epoll_ctl(g_ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        die("epoll_ctl MOD");
    c->want_out = out;
}

static void flush(conn_t *c) {
    while (c->woff < c->wlen) {
        ssize_t n = write(c->fd, c->wbuf + c->woff, c->wlen - c->woff);
        if (n > 0) {
            c->woff += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            arm(c, true);
            return;
        } else {
            fail("write: %s", strerror(errno));
            return;
        }
    }
    c->woff = c->wlen = 0;
    arm(c, false);
}

static void start_handshake(conn_t *c) {
    uint8_t raw[16];
    for (unsigned i = 0; i < 16; i += 8) {
        uint64_t r = rng();
        memcpy(raw + i, &r, 8);
    }
    base64(raw, 16, c->key);
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     g_o.path, g_o.host, g_o.port, c->key);
    if (n <= 0 || (size_t)n >= sizeof req)
        die("path too long");
    wbuf_reserve(c, (size_t)n);
    memcpy(c->wbuf + c->wlen, req, (size_t)n);
    c->wlen += (size_t)n;
    c->state = ST_HANDSHAKE;
    flush(c);
}

/* Case-insensitive search for header `name` in the response head; returns its value (leading
 * blanks skipped) and length, or NULL. */
static const char *header_value(const char *head, const char *name, size_t *vlen) {
    size_t nl = strlen(name);
    const char *p = strstr(head, "\r\n");
    while (p && p[2] != '\r') {
        const char *line = p + 2;
        const char *end = strstr(line, "\r\n");
        if (!end)
            return NULL;
        if ((size_t)(end - line) > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            const char *ve = end;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            *vlen = (size_t)(ve - v);
            return v;
        }
        p = end;
    }
    return NULL;
}

/* Checks the 101 response (RFC 6455 §4.2.2 item 5, §4.1 client requirements). */
static bool handshake_done(conn_t *c) {
    uint8_t *end = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
    if (!end) {
        if (c->rlen >= WS_LOAD_MAX_RESPONSE)
            fail("handshake response too long");
        return false;
    }
    size_t hl = (size_t)(end - c->rbuf) + 4;
    char head[WS_LOAD_MAX_RESPONSE + 1];
    if (hl > WS_LOAD_MAX_RESPONSE) {
        fail("handshake response too long");
        return false;
    }
    memcpy(head, c->rbuf, hl);
    head[hl] = '\0';
    if (strncmp(head, "HTTP/1.1 101", 12) != 0) {
        char *eol = strstr(head, "\r\n");
        if (eol)
            *eol = '\0';
        fail("handshake refused: %.120s", head);
        return false;
    }
    char cat[64];
    snprintf(cat, sizeof cat, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", c->key);
    uint8_t digest[20];
    sha1_short((const uint8_t *)cat, strlen(cat), digest);
    char want[29];
    base64(digest, 20, want);
    size_t vl = 0;
    const char *v = header_value(head, "Sec-WebSocket-Accept", &vl);
    if (!v || vl != strlen(want) || memcmp(v, want, vl) != 0) {
        fail("handshake: missing or wrong Sec-WebSocket-Accept");
        return false;
    }
    memmove(c->rbuf, c->rbuf + hl, c->rlen - hl);
    c->rlen -= hl;
    c->state = ST_OPEN;
    g_open_conns++;
    return true;
}

static void on_echo(conn_t *c, const uint8_t *p, size_t len, uint64_t t) {
    if (len != g_o.size) {
        fail("echo has the wrong length");
        return;
    }
    size_t head = len < WS_LOAD_SEQ_HEX ? len : WS_LOAD_SEQ_HEX;
    uint8_t want[WS_LOAD_SEQ_HEX];
    payload_head(c->expect_seq, want, head);
    if (memcmp(p, want, head) != 0 || memcmp(p + head, g_pattern, len - head) != 0) {
        fail("echo payload differs from the message sent (lost, reordered or corrupted)");
        return;
    }
    if (c->expect_seq >= c->next_seq) {
        fail("echo of a message never sent");
        return;
    }
    if (g_measuring) {
        uint64_t us = (t - c->sent_ns[c->expect_seq % g_o.window]) / 1000u;
        g_hist[us < WS_LOAD_HIST_US ? us : WS_LOAD_HIST_US]++;
    }
    c->expect_seq++;
    g_inflight--;
    g_received++;
    g_last_echo = t;
    if (!g_stopping)
        send_message(c, t);
}

/* Parses every complete server frame in rbuf (RFC 6455 §5.2). */
static void parse_frames(conn_t *c, uint64_t t) {
    size_t off = 0;
    while (!g_error) {
        size_t avail = c->rlen - off;
        if (avail < 2)
            break;
        const uint8_t *h = c->rbuf + off;
        unsigned fin = h[0] >> 7, rsv = (h[0] >> 4) & 7u, opcode = h[0] & 15u;
        if (h[1] & 0x80u) {
            fail("server frame is masked (RFC 6455 5.1 forbids it)");
            break;
        }
        uint64_t len = h[1] & 0x7fu;
        size_t hl = 2;
        if (len == 126) {
            if (avail < 4)
                break;
            len = (uint64_t)h[2] << 8 | h[3];
            hl = 4;
        } else if (len == 127) {
            if (avail < 10)
                break;
            len = 0;
            for (unsigned i = 0; i < 8; i++)
                len = len << 8 | h[2 + i];
            hl = 10;
        }
        if (len > WS_LOAD_MAX_SIZE) {
            fail("server frame larger than any message sent");
            break;
        }
        if (avail < hl + len)
            break;
        const uint8_t *p = h + hl;
        if (rsv) {
            fail("server frame has RSV bits set (no extension was negotiated)");
        } else if (opcode == 9) { /* ping: answer with a pong carrying the same data, §5.5.3 */
            put_frame(c, 10u, p, (size_t)len);
        } else if (opcode == 10) {
            /* unsolicited pong: ignored, §5.5.3 */
        } else if (c->state == ST_CLOSING) {
            /* the server's close reply, or an echo that crossed our close frame: the server
             * ends the TCP connection next (RFC 6455 §7.1.1) */
        } else if (opcode == 8) {
            fail("server sent a close frame");
        } else if (!fin || opcode == 0) {
            fail("fragmented echo (this client sends and expects single-frame messages)");
        } else if (opcode != (g_o.binary ? 2u : 1u)) {
            fail("echo has the wrong opcode");
        } else {
            on_echo(c, p, (size_t)len, t);
        }
        off += hl + (size_t)len;
    }
    if (off > 0) {
        memmove(c->rbuf, c->rbuf + off, c->rlen - off);
        c->rlen -= off;
    }
}

static void on_readable(conn_t *c, uint64_t t) {
    for (;;) {
        if (c->rcap - c->rlen < 65536) {
            size_t cap = c->rcap * 2;
            uint8_t *p = realloc(c->rbuf, cap);
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
                break; /* drained, most likely: epoll (level-triggered) tells us if not */
            continue;
        }
        if (n == 0) {
            if (c->state != ST_CLOSING) {
                fail("server closed a connection");
                return;
            }
            c->state = ST_CLOSED;
            g_closed++;
            epoll_ctl(g_ep, EPOLL_CTL_DEL, c->fd, NULL);
            close(c->fd);
            c->fd = -1;
            return;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
        fail("read: %s", strerror(errno));
        return;
    }
    if (c->state == ST_HANDSHAKE) {
        if (!handshake_done(c))
            return;
        for (unsigned i = 0; i < g_o.window; i++)
            send_message(c, t);
    }
    if (c->state == ST_OPEN || c->state == ST_CLOSING)
        parse_frames(c, t);
    if (c->wlen > c->woff && !c->want_out)
        flush(c);
}

static void on_writable(conn_t *c) {
    if (c->state == ST_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err != 0) {
            fail("connect: %s", strerror(err ? err : errno));
            return;
        }
        start_handshake(c);
        return;
    }
    flush(c);
}

static void open_conn(conn_t *c, const struct sockaddr_in *sa) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        die("socket (raise ulimit -n?)");
    int one = 1;
    /* Echoes are small and latency-bound: do not let Nagle hold the next message back. */
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->state = ST_CONNECTING;
    c->rcap = 2 * 65536;
    c->rbuf = xmalloc(c->rcap);
    c->sent_ns = xmalloc(sizeof(uint64_t) * g_o.window);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    c->want_out = true;
    if (connect(c->fd, (const struct sockaddr *)sa, sizeof *sa) < 0 && errno != EINPROGRESS) {
        fail("connect: %s", strerror(errno));
    }
    if (epoll_ctl(g_ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
        die("epoll_ctl ADD");
}

static double hist_pct(uint64_t total, double q) {
    if (total == 0)
        return 0;
    uint64_t want = (uint64_t)((double)total * q), seen = 0;
    for (unsigned i = 0; i <= WS_LOAD_HIST_US; i++) {
        seen += g_hist[i];
        if (seen > want)
            return (double)i;
    }
    return (double)WS_LOAD_HIST_US;
}

static void usage(void) {
    fprintf(stderr,
            "usage: ws_load -p PORT [-H host] [-u path] [-c conns] [-W window] [-s bytes] [-b]\n"
            "               [-w warmup_s] [-d duration_s] [-P server_pid]... [-l label] "
            "[--json]\n");
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
                   .path = "/ws",
                   .label = "server",
                   .conns = 64,
                   .window = 16,
                   .size = 32,
                   .warmup_s = 1,
                   .duration_s = 5};
    static const struct option lo[] = {{"json", no_argument, NULL, 'j'}, {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "p:H:u:c:W:s:bw:d:P:l:", lo, NULL)) != -1) {
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
            g_o.conns = (unsigned)parse_num(optarg, 1, WS_LOAD_MAX_CONNS);
            break;
        case 'W':
            g_o.window = (unsigned)parse_num(optarg, 1, WS_LOAD_MAX_WINDOW);
            break;
        case 's':
            g_o.size = (size_t)parse_num(optarg, 0, WS_LOAD_MAX_SIZE);
            break;
        case 'b':
            g_o.binary = true;
            break;
        case 'w':
            g_o.warmup_s = parse_num(optarg, 0, 600);
            break;
        case 'd':
            g_o.duration_s = parse_num(optarg, 0.1, 600);
            break;
        case 'P':
            if (g_o.npids == WS_LOAD_MAX_PIDS)
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

    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    g_rng ^= (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);
    g_pattern = xmalloc(g_o.size + 1);
    for (size_t i = 0; i < g_o.size; i++)
        g_pattern[i] = (uint8_t)('a' + i % 26u);
    g_hist = calloc(WS_LOAD_HIST_US + 1, sizeof *g_hist);
    g_conns = calloc(g_o.conns, sizeof *g_conns);
    if (!g_hist || !g_conns)
        die("out of memory");
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g_o.port)};
    if (inet_pton(AF_INET, g_o.host, &sa.sin_addr) != 1)
        die("host must be an IPv4 address");
    g_ep = epoll_create1(EPOLL_CLOEXEC);
    if (g_ep < 0)
        die("epoll_create1");

    uint64_t t_start = now_ns();
    for (unsigned i = 0; i < g_o.conns; i++)
        open_conn(&g_conns[i], &sa);

    /* DRAIN: no new messages, wait for the echoes in flight; CLOSE: close handshake (RFC 6455
     * §7.1.2), so the run ends as a client that is done would end it, not with resets. */
    enum { PH_CONNECT, PH_WARMUP, PH_MEASURE, PH_DRAIN, PH_CLOSE } phase = PH_CONNECT;
    uint64_t t_phase = t_start, t_measure = 0, t_end = 0;
    uint64_t recv0 = 0, recv1 = 0, ccpu0 = 0, ccpu1 = 0;
    long long scpu0 = -1, scpu1 = -1;
    g_last_echo = t_start;
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
                on_writable(c);
            if (!g_error && (evs[i].events & (EPOLLIN | EPOLLHUP)))
                on_readable(c, t);
        }
        if (g_error)
            break;
        if (phase == PH_CONNECT) {
            if (g_open_conns == g_o.conns) {
                phase = PH_WARMUP;
                t_phase = t;
                g_last_echo = t;
            } else if (t - t_start > (uint64_t)WS_LOAD_CONNECT_S * 1000000000u) {
                fail("not every connection finished its handshake in time");
                break;
            }
        }
        if ((phase == PH_WARMUP || phase == PH_MEASURE) &&
            t - g_last_echo > (uint64_t)WS_LOAD_STALL_S * 1000000000u) {
            fail("no echo for %d s: the server stalled", WS_LOAD_STALL_S);
            break;
        }
        if (phase == PH_WARMUP && t - t_phase >= (uint64_t)(g_o.warmup_s * 1e9)) {
            phase = PH_MEASURE;
            t_measure = t;
            recv0 = g_received;
            scpu0 = servers_cpu_ticks();
            ccpu0 = self_cpu_ns();
            g_measuring = true;
        }
        if (phase == PH_MEASURE && t - t_measure >= (uint64_t)(g_o.duration_s * 1e9)) {
            t_end = now_ns();
            recv1 = g_received;
            scpu1 = servers_cpu_ticks();
            ccpu1 = self_cpu_ns();
            g_measuring = false;
            g_stopping = true;
            phase = PH_DRAIN;
            t_phase = t;
        }
        if (phase == PH_DRAIN &&
            (g_inflight == 0 || t - t_phase > (uint64_t)WS_LOAD_END_S * 1000000000u)) {
            static const uint8_t normal[2] = {0x03, 0xe8}; /* 1000, §7.4.1 */
            for (unsigned i = 0; i < g_o.conns && !g_error; i++) {
                conn_t *c = &g_conns[i];
                c->state = ST_CLOSING;
                put_frame(c, 8u, normal, sizeof normal);
                flush(c);
            }
            phase = PH_CLOSE;
            t_phase = t;
        }
        if (phase == PH_CLOSE &&
            (g_closed == g_o.conns || t - t_phase > (uint64_t)WS_LOAD_END_S * 1000000000u))
            break;
    }

    uint64_t msgs = recv1 - recv0;
    double secs = t_end > t_measure ? (double)(t_end - t_measure) / 1e9 : 0;
    double rate = secs > 0 ? (double)msgs / secs : 0;
    long tck = sysconf(_SC_CLK_TCK);
    if (tck <= 0)
        tck = 100;
    double scpu_s = (scpu0 >= 0 && scpu1 >= 0) ? (double)(scpu1 - scpu0) / (double)tck : -1;
    double s_us = (scpu_s >= 0 && msgs) ? scpu_s * 1e6 / (double)msgs : -1;
    double c_us = msgs ? (double)(ccpu1 - ccpu0) / 1e3 / (double)msgs : -1;
    uint64_t hist_total = 0;
    for (unsigned i = 0; i <= WS_LOAD_HIST_US; i++)
        hist_total += g_hist[i];
    double p50 = hist_pct(hist_total, 0.50), p99 = hist_pct(hist_total, 0.99);
    bool valid = !g_error && msgs > 0;
    if (g_o.json) {
        printf("{\"label\":\"%s\",\"conns\":%u,\"window\":%u,\"size\":%zu,\"binary\":%s,"
               "\"duration_s\":%.3f,\"messages\":%llu,\"msgs_per_s\":%.1f,"
               "\"lat_p50_us\":%.0f,\"lat_p99_us\":%.0f,\"server_cpu_s\":%.3f,"
               "\"server_cpu_us_per_msg\":%.3f,\"client_cpu_us_per_msg\":%.3f,"
               "\"closed_clean\":%u,\"valid\":%s,\"error\":\"%s\"}\n",
               g_o.label, g_o.conns, g_o.window, g_o.size, g_o.binary ? "true" : "false", secs,
               (unsigned long long)msgs, rate, p50, p99, scpu_s, s_us, c_us, g_closed,
               valid ? "true" : "false", g_error ? g_error : "");
    } else {
        printf("%s: %u conns x window %u, %zu-byte %s messages, %.2f s: %.0f msgs/s, "
               "p50 %.0f us p99 %.0f us, server CPU %.2f us/msg, client CPU %.2f us/msg\n",
               g_o.label, g_o.conns, g_o.window, g_o.size, g_o.binary ? "binary" : "text", secs,
               rate, p50, p99, s_us, c_us);
    }
    if (g_error)
        fprintf(stderr, "ws_load: %s: %s\n", g_o.label, g_error);
    for (unsigned i = 0; i < g_o.conns; i++)
        if (g_conns[i].fd >= 0)
            close(g_conns[i].fd);
    return valid ? 0 : 1;
}
