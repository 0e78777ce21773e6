/* http_hold.c: opens many idle HTTP/1.1 keep-alive connections and holds them, for the
 * connection-scale part of bench/http/run.sh.
 *
 *   http_hold -p PORT [-H 127.0.0.1] [-n CONNS] [-u /plaintext] [-t MAX_HOLD_S]
 *
 * Each connection sends one `GET <path>` (keep-alive) and reads the whole response (a 200 with a
 * Content-Length body), so the server has served it once and now holds an idle keep-alive
 * connection, the state a browser or a pool leaves behind. At most HOLD_CONNECTING connections are
 * being set up at a time, so the listen backlog never overflows (an overflow turns into
 * 1-3 s SYN retransmits, not an error).
 *
 * When all CONNS are idle it prints "ready <n> <ms>" on stdout and waits, without using CPU,
 * until stdin reaches end of file, or a line arrives on it, or MAX_HOLD_S pass. It then prints
 * one JSON line: how many connections were set up, how many the server closed while they were
 * held (an idle timeout shorter than the hold shows here) and the set-up time; and exits 0 only
 * if every connection was set up. Any error while setting up prints "error <reason>" instead of
 * "ready" and exits 1.
 *
 * RLIMIT_NOFILE is raised to its hard limit; CONNS must fit under it. Plain POSIX sockets + epoll,
 * libc only. Linux only. Traffic goes only to the host given (127.0.0.1).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
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

/* More than the benchmark's 10,000, less than the ephemeral port range (28k on Linux). */
#define HOLD_MAX_CONNS 25000
/* Connections in set-up at once: well under the smallest listen backlog in use (128). */
#define HOLD_CONNECTING 100
/* Every connection must be set up within this. */
#define HOLD_SETUP_S 60
/* A response head larger than this is not the small 200 we asked for. */
#define HOLD_MAX_RESPONSE 4096

enum { ST_IDLE_SLOT, ST_CONNECTING, ST_WAITING, ST_HELD, ST_CLOSED };

typedef struct {
    int fd;
    int state;
    unsigned rlen;
    char rbuf[HOLD_MAX_RESPONSE];
} hconn_t;

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void usage(void) {
    fprintf(stderr, "usage: http_hold -p PORT [-H host] [-n conns] [-u path] [-t max_hold_s]\n");
    exit(2);
}

static long parse_long(const char *s, long lo, long hi) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        usage();
    return v;
}

static int g_ep;
static char g_req[512];
static size_t g_req_len;
static char g_err[256];

/* A complete response in c->rbuf? 1 yes, 0 need more, -1 bad (reason in g_err). */
static int response_done(hconn_t *c) {
    c->rbuf[c->rlen < HOLD_MAX_RESPONSE ? c->rlen : HOLD_MAX_RESPONSE - 1] = '\0';
    char *end = strstr(c->rbuf, "\r\n\r\n");
    if (!end)
        return c->rlen >= HOLD_MAX_RESPONSE - 1 ? -1 : 0;
    if (strncmp(c->rbuf, "HTTP/1.1 200", 12) != 0) {
        char *eol = strstr(c->rbuf, "\r\n");
        *eol = '\0';
        snprintf(g_err, sizeof g_err, "response is not a 200: %.100s", c->rbuf);
        return -1;
    }
    /* Content-Length, case-insensitively (RFC 9112 §6.3: required here to find the end). */
    long clen = -1;
    for (char *p = strstr(c->rbuf, "\r\n"); p && p < end; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, "content-length:", 15) == 0) {
            clen = strtol(p + 17, NULL, 10);
            break;
        }
    }
    if (clen < 0) {
        snprintf(g_err, sizeof g_err, "response has no Content-Length");
        return -1;
    }
    size_t head = (size_t)(end - c->rbuf) + 4;
    if (head + (size_t)clen > HOLD_MAX_RESPONSE - 1) {
        snprintf(g_err, sizeof g_err, "response too large");
        return -1;
    }
    return c->rlen >= head + (size_t)clen ? 1 : 0;
}

static int start_conn(hconn_t *c, const struct sockaddr_in *sa) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        snprintf(g_err, sizeof g_err, "socket: %s (raise ulimit -n)", strerror(errno));
        return -1;
    }
    if (connect(c->fd, (const struct sockaddr *)sa, sizeof *sa) < 0 && errno != EINPROGRESS) {
        snprintf(g_err, sizeof g_err, "connect: %s", strerror(errno));
        return -1;
    }
    c->state = ST_CONNECTING;
    c->rlen = 0;
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(g_ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        snprintf(g_err, sizeof g_err, "epoll_ctl: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Advances one connection in set-up; returns 1 when it became held, 0 pending, -1 error. */
static int step(hconn_t *c, uint32_t events) {
    if (c->state == ST_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
            snprintf(g_err, sizeof g_err, "connect: %s", strerror(err ? err : errno));
            return -1;
        }
        /* The request is ~100 bytes: one write to a fresh socket takes it all. */
        ssize_t n = write(c->fd, g_req, g_req_len);
        if (n != (ssize_t)g_req_len) {
            snprintf(g_err, sizeof g_err, "write: %s", n < 0 ? strerror(errno) : "short");
            return -1;
        }
        c->state = ST_WAITING;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(g_ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
            snprintf(g_err, sizeof g_err, "epoll_ctl: %s", strerror(errno));
            return -1;
        }
        return 0;
    }
    if (c->state != ST_WAITING || !(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        return 0;
    ssize_t n = read(c->fd, c->rbuf + c->rlen, HOLD_MAX_RESPONSE - 1 - c->rlen);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n <= 0) {
        snprintf(g_err, sizeof g_err, "server closed before answering: %s",
                 n < 0 ? strerror(errno) : "EOF");
        return -1;
    }
    c->rlen += (unsigned)n;
    int r = response_done(c);
    if (r < 0) {
        if (!g_err[0])
            snprintf(g_err, sizeof g_err, "response head too large");
        return -1;
    }
    if (r == 0)
        return 0;
    /* Held: watch only for the server closing it (EOF or reset). */
    c->state = ST_HELD;
    struct epoll_event ev = {.events = EPOLLRDHUP, .data.ptr = c};
    if (epoll_ctl(g_ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
        snprintf(g_err, sizeof g_err, "epoll_ctl: %s", strerror(errno));
        return -1;
    }
    return 1;
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1", *path = "/plaintext";
    long port = 0, conns = 10000, max_hold = 120;
    int ch;
    while ((ch = getopt(argc, argv, "p:H:n:u:t:")) != -1) {
        switch (ch) {
        case 'p':
            port = parse_long(optarg, 1, 65535);
            break;
        case 'H':
            host = optarg;
            break;
        case 'n':
            conns = parse_long(optarg, 1, HOLD_MAX_CONNS);
            break;
        case 'u':
            path = optarg;
            break;
        case 't':
            max_hold = parse_long(optarg, 1, 3600);
            break;
        default:
            usage();
        }
    }
    if (!port || optind != argc || path[0] != '/' || strpbrk(path, " \r\n"))
        usage();
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < (rlim_t)conns + 16) {
            printf("error RLIMIT_NOFILE %llu is below %ld connections (ulimit -n)\n",
                   (unsigned long long)rl.rlim_cur, conns + 16);
            return 1;
        }
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        usage();
    int rn = snprintf(g_req, sizeof g_req,
                      "GET %s HTTP/1.1\r\nHost: %s:%ld\r\nConnection: keep-alive\r\n\r\n", path,
                      host, port);
    if (rn <= 0 || (size_t)rn >= sizeof g_req)
        usage();
    g_req_len = (size_t)rn;
    hconn_t *cs = calloc((size_t)conns, sizeof *cs);
    g_ep = epoll_create1(EPOLL_CLOEXEC);
    if (!cs || g_ep < 0) {
        printf("error out of memory or epoll\n");
        return 1;
    }

    uint64_t t0 = now_ms();
    long started = 0, held = 0, pending = 0;
    struct epoll_event evs[256];
    while (held < conns && !g_err[0]) {
        while (pending < HOLD_CONNECTING && started < conns && !g_err[0]) {
            if (start_conn(&cs[started], &sa) < 0)
                break;
            started++;
            pending++;
        }
        if (g_err[0])
            break;
        int n = epoll_wait(g_ep, evs, 256, 200);
        if (n < 0 && errno != EINTR) {
            snprintf(g_err, sizeof g_err, "epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            int r = step(evs[i].data.ptr, evs[i].events);
            if (r < 0)
                break;
            if (r == 1) {
                held++;
                pending--;
            }
        }
        if (now_ms() - t0 > (uint64_t)HOLD_SETUP_S * 1000u && held < conns)
            snprintf(g_err, sizeof g_err, "only %ld of %ld connections set up in %d s", held, conns,
                     HOLD_SETUP_S);
    }
    uint64_t setup_ms = now_ms() - t0;
    if (g_err[0]) {
        printf("error %s (after %ld connections)\n", g_err, held);
        fflush(stdout);
        return 1;
    }
    printf("ready %ld %llu\n", held, (unsigned long long)setup_ms);
    fflush(stdout);

    /* Hold: wake on stdin (end of the hold) or on the server closing held connections. */
    struct epoll_event sev = {.events = EPOLLIN, .data.ptr = NULL};
    /* Not watchable (a regular file on stdin): the hold then lasts MAX_HOLD_S. */
    (void)epoll_ctl(g_ep, EPOLL_CTL_ADD, 0, &sev);
    long closed = 0;
    uint64_t deadline = now_ms() + (uint64_t)max_hold * 1000u;
    bool done = false;
    while (!done) {
        uint64_t t = now_ms();
        if (t >= deadline)
            break;
        uint64_t left = deadline - t;
        int n = epoll_wait(g_ep, evs, 256, left > 1000 ? 1000 : (int)left);
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            hconn_t *c = evs[i].data.ptr;
            if (!c) {
                done = true; /* a line or EOF on stdin */
                continue;
            }
            if (c->state == ST_HELD) {
                c->state = ST_CLOSED;
                closed++;
                epoll_ctl(g_ep, EPOLL_CTL_DEL, c->fd, NULL);
            }
        }
    }
    printf("{\"conns\":%ld,\"held\":%ld,\"closed_by_server\":%ld,\"setup_ms\":%llu}\n", conns, held,
           closed, (unsigned long long)setup_ms);
    fflush(stdout);
    for (long i = 0; i < started; i++)
        close(cs[i].fd);
    return 0;
}
