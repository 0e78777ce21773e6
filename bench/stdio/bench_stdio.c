/* bench_stdio.c: a load generator for MCP servers on stdio (newline-delimited JSON-RPC 2.0).
 *
 *   bench_stdio [options] -- <server command and args>
 *
 * It spawns the server with pipes on its stdin and stdout, does the MCP handshake (initialize,
 * then notifications/initialized), warms up, and measures two phases of `tools/call echo`:
 *
 *   pipelined   N calls with up to W requests outstanding. One thread: write as many requests
 *               as the window allows in one write(), then one blocking read() that usually
 *               returns several replies; repeat. Replies may come back in any order and are
 *               matched by id. A request's latency is the time from the write() that carried it
 *               to the read() that returned its reply, so one clock read per syscall, not per
 *               call. One thread is enough: it costs ~0.2 us of CPU per pipelined call, a few
 *               percent of what the servers spend, and on a 2-vCPU box shared with the server a
 *               separate writer thread would only add wake-ups.
 *   sequential  M calls, one in flight; each round trip is timed (CLOCK_MONOTONIC).
 *
 * The client must cost much less than the server it measures, so requests are rendered by
 * memcpy of a fixed prefix and suffix around a hand-formatted id, and replies are parsed just
 * enough to trust the numbers: the id, "result" present, no "error", no "isError":true. Every
 * bad reply (warm-up included), reply to an unknown or already answered id, or call left
 * unanswered is counted and makes the whole run invalid ("valid":false in the JSON); the text
 * output says so and the exit status is 1. Lines carrying "method" (notifications,
 * server-to-client requests) are ignored.
 *
 * Server CPU per call is the sum over the server's threads of /proc/<pid>/task/<tid>/schedstat
 * (on-CPU nanoseconds) across the phase; /proc/<pid>/stat utime+stime is the fallback, with its
 * 10 ms tick granularity (so phases should last a second or more). Threads that exit during a
 * phase drop out of the schedstat sum; the servers measured here keep theirs. Peak RSS is VmHWM
 * from /proc/<pid>/status, read before stdin is closed. At the end stdin is closed and the
 * server must exit with status 0 (anything else is reported as an error). The command may be
 * wrapped by a program that execs it (taskset, env, nice); under one that forks (perf, strace)
 * the CPU and RSS figures are the wrapper's.
 *
 * A watchdog thread kills the server when no reply arrives for BENCH_STALL_S seconds, so a hung
 * server turns into an error report instead of a hung benchmark.
 *
 * Linux only (/proc, pipe2). Uses libc and pthreads only; no FasterAPI headers.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Read buffer: a pipe holds 64 KiB by default, so 1 MiB is many reads' worth; it must hold the
 * longest line the server sends (the initialize reply is well under 4 KiB). */
#define BENCH_READ_BUF (1u << 20)
/* Longest request line we render (the prefix + suffix are ~100 bytes, the id at most 20). */
#define BENCH_MAX_REQ 256
/* Largest window accepted: beyond this the pipes, not the server, set the pace. */
#define BENCH_MAX_WINDOW 65536
/* No reply for this long means the server is hung: kill it and report. */
#define BENCH_STALL_S 10
/* How long to wait for the server to exit once its stdin is closed. */
#define BENCH_EXIT_WAIT_MS 10000

static const char REQ_PREFIX[] = "{\"jsonrpc\":\"2.0\",\"id\":";
static const char REQ_SUFFIX[] = ",\"method\":\"tools/call\",\"params\":{\"name\":\"echo\","
                                 "\"arguments\":{\"text\":\"hello\"}}}\n";
static const char INIT_REQ[] =
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
    "\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"bench\",\"version\":\"1\"}}}\n";
static const char INITIALIZED_NOTE[] =
    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n";
#define BENCH_XSTR(x) #x
#define BENCH_STRINGIFY(x) BENCH_XSTR(x)
#define INIT_ID 1u
#define FIRST_CALL_ID 2u

typedef struct {
    pid_t pid;
    int to_fd;   /* server stdin, non-blocking */
    int from_fd; /* server stdout, blocking */
    char *rbuf;
    size_t rstart, rend; /* unparsed bytes are rbuf[rstart, rend) */
    bool eof;
    uint64_t next_id;
    uint64_t reads, writes; /* syscalls, for replies-per-read in the report */
    uint64_t stray;         /* lines that were neither a reply nor a message with "method" */
} conn_t;

/* How many latency percentiles a phase reports (PCTS below). */
#define FA_BENCH_NPCT 13

typedef struct {
    const char *name;
    uint64_t calls, window;
    double elapsed_s;
    double p50_us, p99_us, max_us;
    double pcts_us[FA_BENCH_NPCT]; /* the latency at each of PCTS, for distribution plots */
    double server_cpu_us_per_call, client_cpu_us_per_call;
    const char *cpu_source;
    uint64_t errors, reads, writes;
    bool ran;
} phase_t;

/* Shared with the watchdog thread. progress is bumped (relaxed: only "did it change" matters)
 * after every read; the watchdog only reads it. */
static atomic_uint_fast64_t g_progress;
static atomic_bool g_stalled;
static pthread_mutex_t g_wd_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_wd_cv = PTHREAD_COND_INITIALIZER;
static bool g_wd_stop;

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

static void die(const char *what) {
    fprintf(stderr, "bench_stdio: %s\n", what);
    exit(2);
}

/* ---- server CPU and memory from /proc ---- */

/* On-CPU ns of all live threads of pid, from schedstat; -1 if schedstat is unavailable. */
static int64_t server_cpu_schedstat(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int64_t sum = 0;
    bool any = false;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[sizeof e->d_name + 48];
        snprintf(p, sizeof p, "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
        FILE *f = fopen(p, "r");
        if (!f)
            continue; /* the thread exited meanwhile */
        unsigned long long run = 0;
        if (fscanf(f, "%llu", &run) == 1) {
            sum += (int64_t)run;
            any = true;
        }
        fclose(f);
    }
    closedir(d);
    return any ? sum : -1;
}

/* utime + stime of the whole process in ns (10 ms ticks); -1 on failure. */
static int64_t server_cpu_stat(pid_t pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* comm may contain spaces and parentheses; fields resume after the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    unsigned long long ut = 0, st = 0;
    /* after ") ": state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
     * utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    long tck = sysconf(_SC_CLK_TCK);
    if (tck <= 0)
        tck = 100;
    return (int64_t)((ut + st) * (1000000000ull / (unsigned long long)tck));
}

typedef struct {
    int64_t sched, stat;
} cpu_sample_t;

static cpu_sample_t sample_cpu(pid_t pid) {
    cpu_sample_t s = {server_cpu_schedstat(pid), server_cpu_stat(pid)};
    return s;
}

static double cpu_us_per_call(cpu_sample_t a, cpu_sample_t b, uint64_t calls, const char **src) {
    if (calls == 0)
        return 0;
    if (a.sched >= 0 && b.sched >= 0 && b.sched >= a.sched) {
        *src = "schedstat";
        return (double)(b.sched - a.sched) / 1e3 / (double)calls;
    }
    *src = "stat";
    if (a.stat < 0 || b.stat < 0)
        return -1;
    return (double)(b.stat - a.stat) / 1e3 / (double)calls;
}

/* VmHWM in KiB, or -1. */
static long server_peak_rss_kb(pid_t pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

/* ---- the watchdog ---- */

static void *watchdog_main(void *arg) {
    pid_t pid = *(const pid_t *)arg;
    uint_fast64_t last = atomic_load_explicit(&g_progress, memory_order_relaxed);
    int idle_s = 0;
    pthread_mutex_lock(&g_wd_mu);
    while (!g_wd_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&g_wd_cv, &g_wd_mu, &ts);
        if (g_wd_stop)
            break;
        uint_fast64_t cur = atomic_load_explicit(&g_progress, memory_order_relaxed);
        idle_s = cur == last ? idle_s + 1 : 0;
        last = cur;
        if (idle_s >= BENCH_STALL_S) {
            /* Relaxed is enough: the main thread reads g_stalled after read() reports EOF, and
             * that EOF is caused by this kill. */
            atomic_store_explicit(&g_stalled, true, memory_order_relaxed);
            kill(pid, SIGKILL);
            break;
        }
    }
    pthread_mutex_unlock(&g_wd_mu);
    return NULL;
}

/* ---- I/O ---- */

static size_t fmt_u64(char *out, uint64_t v) {
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

static size_t render_call(char *out, uint64_t id) {
    size_t n = sizeof REQ_PREFIX - 1;
    memcpy(out, REQ_PREFIX, n);
    n += fmt_u64(out + n, id);
    memcpy(out + n, REQ_SUFFIX, sizeof REQ_SUFFIX - 1);
    return n + sizeof REQ_SUFFIX - 1;
}

/* Writes all of buf, waiting in poll() when the pipe is full; 0 or -errno. */
static int write_all(conn_t *c, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t r = write(c->to_fd, buf, len);
        c->writes++;
        if (r > 0) {
            buf += r;
            len -= (size_t)r;
        } else if (r < 0 && errno == EAGAIN) {
            struct pollfd p = {.fd = c->to_fd, .events = POLLOUT};
            poll(&p, 1, 1000);
        } else if (r < 0 && errno != EINTR) {
            return -errno;
        }
    }
    return 0;
}

/* One read() into the buffer; returns bytes read, 0 at EOF, or -errno. */
static ssize_t read_more(conn_t *c) {
    /* Callers parse every complete line first, so what is left is at most one partial line:
     * moving it to the front is cheap and gives every read() the whole buffer. */
    if (c->rstart > 0) {
        memmove(c->rbuf, c->rbuf + c->rstart, c->rend - c->rstart);
        c->rend -= c->rstart;
        c->rstart = 0;
    }
    if (c->rend == BENCH_READ_BUF)
        return -EMSGSIZE; /* one line longer than the whole buffer */
    for (;;) {
        ssize_t r = read(c->from_fd, c->rbuf + c->rend, BENCH_READ_BUF - c->rend);
        c->reads++;
        if (r > 0) {
            c->rend += (size_t)r;
            atomic_fetch_add_explicit(&g_progress, 1, memory_order_relaxed);
            return r;
        }
        if (r == 0) {
            c->eof = true;
            return 0;
        }
        if (errno != EINTR)
            return -errno;
    }
}

/* The next complete line (without '\n') from the buffer, or NULL. */
static const char *next_line(conn_t *c, size_t *len) {
    if (c->rstart == c->rend)
        return NULL;
    char *s = c->rbuf + c->rstart;
    char *nl = memchr(s, '\n', c->rend - c->rstart);
    if (!nl)
        return NULL;
    *len = (size_t)(nl - s);
    c->rstart += *len + 1;
    return s;
}

enum { LINE_OK, LINE_ERROR, LINE_IGNORED, LINE_STRAY };

/* Classifies one line. LINE_OK/LINE_ERROR set *id when the line has a numeric id (*has_id).
 * This is deliberately not a JSON parser: the replies are from a fixed request whose text
 * contains none of the keys searched for. */
static int classify(const char *s, size_t len, uint64_t *id, bool *has_id) {
    *has_id = false;
    if (memmem(s, len, "\"method\"", 8))
        return LINE_IGNORED; /* notification or server-to-client request */
    const char *p = memmem(s, len, "\"id\":", 5);
    if (p) {
        const char *end = s + len;
        p += 5;
        while (p < end && *p == ' ')
            p++;
        uint64_t v = 0;
        const char *d = p;
        while (p < end && *p >= '0' && *p <= '9')
            v = v * 10 + (uint64_t)(*p++ - '0');
        if (p > d) {
            *id = v;
            *has_id = true;
        }
    }
    bool result = memmem(s, len, "\"result\"", 8) != NULL;
    bool error = memmem(s, len, "\"error\"", 7) != NULL;
    if (!result && !error)
        return LINE_STRAY;
    if (error || !result || memmem(s, len, "\"isError\":true", 14))
        return LINE_ERROR;
    return LINE_OK;
}

/* ---- phases ---- */

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The percentiles reported as "lat_pcts_us" (bench/report.py plots the distributions). */
static const double PCTS[FA_BENCH_NPCT] = {0.01, 0.05, 0.10,  0.25,  0.50,   0.75, 0.90,
                                           0.95, 0.99, 0.995, 0.999, 0.9999, 1.0};

/* Nearest-rank percentile of a sorted array, in microseconds. */
static double pct_us(const uint64_t *v, uint64_t n, double p) {
    if (n == 0)
        return 0;
    uint64_t k = (uint64_t)(p * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return (double)v[k - 1] / 1e3;
}

typedef struct {
    uint64_t *t_sent; /* per call: write time, then latency once answered */
    uint8_t *state;   /* per call: 0 not sent, 1 outstanding, 2 answered */
} track_t;

static void report_io_error(conn_t *c, ssize_t r, const char *where) {
    if (r == 0 || c->eof)
        fprintf(stderr, "bench_stdio: server closed its stdout during %s%s\n", where,
                atomic_load_explicit(&g_stalled, memory_order_relaxed)
                    ? " (no reply for " BENCH_STRINGIFY(BENCH_STALL_S) " s: killed)"
                    : "");
    else
        fprintf(stderr, "bench_stdio: %s: %s\n", where, strerror((int)-r));
}

/* Handles the replies in the buffer for calls [base, base + n); returns answered count. */
static uint64_t drain_replies(conn_t *c, track_t *t, uint64_t base, uint64_t n, uint64_t t_read,
                              uint64_t *errors) {
    uint64_t answered = 0;
    size_t len;
    const char *line;
    while ((line = next_line(c, &len)) != NULL) {
        uint64_t id = 0;
        bool has_id;
        int k = classify(line, len, &id, &has_id);
        if (k == LINE_IGNORED)
            continue;
        if (k == LINE_STRAY) {
            c->stray++;
            continue;
        }
        if (!has_id || id < base || id - base >= n || t->state[id - base] != 1) {
            /* An error without our id (e.g. a parse error, id null), an unknown id or a
             * duplicate: counted, and it answers nothing. */
            (*errors)++;
            if (*errors <= 3)
                fprintf(stderr, "bench_stdio: unexpected reply: %.*s\n",
                        (int)(len > 300 ? 300 : len), line);
            continue;
        }
        uint64_t i = id - base;
        if (k == LINE_ERROR) {
            (*errors)++;
            if (*errors <= 3)
                fprintf(stderr, "bench_stdio: error reply: %.*s\n", (int)(len > 300 ? 300 : len),
                        line);
        }
        t->state[i] = 2;
        t->t_sent[i] = t_read - t->t_sent[i];
        answered++;
    }
    return answered;
}

/* Runs n calls with at most window outstanding. seq == window 1 with per-call timing, which is
 * the same loop: one write of one request, one or more reads until its reply. Returns 0, or -1
 * when the server went away (the phase is then unusable). */
static int run_phase(conn_t *c, phase_t *ph, uint64_t n, uint64_t window, bool measure) {
    const char *name = ph->name;
    memset(ph, 0, sizeof *ph);
    ph->name = name;
    ph->calls = n;
    ph->window = window;
    if (n == 0)
        return 0;
    track_t t = {calloc(n, sizeof *t.t_sent), calloc(n, 1)};
    char *wbuf = malloc(window * BENCH_MAX_REQ);
    if (!t.t_sent || !t.state || !wbuf)
        die("out of memory");
    uint64_t base = c->next_id;
    c->next_id += n;
    uint64_t sent = 0, done = 0, errors = 0;
    size_t wpos = 0, wlen = 0; /* wbuf[wpos, wlen) is rendered but not yet written */
    uint64_t reads0 = c->reads, writes0 = c->writes;
    cpu_sample_t cpu0 = sample_cpu(c->pid);
    uint64_t ccpu0 = self_cpu_ns();
    uint64_t t0 = now_ns();
    int rc = 0;
    while (done < n) {
        uint64_t room = window - (sent - done);
        if (wpos == wlen && room > 0 && sent < n) {
            uint64_t k = n - sent < room ? n - sent : room;
            wpos = wlen = 0;
            for (uint64_t j = 0; j < k; j++)
                wlen += render_call(wbuf + wlen, base + sent + j);
            /* One timestamp per write(): every request in it left at the same time. */
            uint64_t tw = now_ns();
            for (uint64_t j = 0; j < k; j++) {
                t.t_sent[sent + j] = tw;
                t.state[sent + j] = 1;
            }
            sent += k;
        }
        if (wpos < wlen) {
            ssize_t w = write(c->to_fd, wbuf + wpos, wlen - wpos);
            c->writes++;
            if (w > 0) {
                wpos += (size_t)w;
            } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
                report_io_error(c, -errno, ph->name);
                rc = -1;
                break;
            }
        }
        if (wpos < wlen) {
            /* The pipe to the server is full. Wait for room or for replies, never for room
             * alone: a server that stops reading until its output drains would deadlock. */
            struct pollfd p[2] = {{.fd = c->to_fd, .events = POLLOUT},
                                  {.fd = c->from_fd, .events = POLLIN}};
            if (poll(p, 2, -1) < 0 && errno != EINTR)
                die("poll failed");
            if (!(p[1].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
        }
        ssize_t r = read_more(c);
        if (r <= 0) {
            report_io_error(c, r, ph->name);
            rc = -1;
            break;
        }
        done += drain_replies(c, &t, base, n, now_ns(), &errors);
    }
    uint64_t t1 = now_ns();
    uint64_t ccpu1 = self_cpu_ns();
    cpu_sample_t cpu1 = sample_cpu(c->pid);
    if (measure) {
        ph->ran = true;
        ph->elapsed_s = (double)(t1 - t0) / 1e9;
        ph->errors = errors + (n - done);
        ph->reads = c->reads - reads0;
        ph->writes = c->writes - writes0;
        ph->server_cpu_us_per_call = cpu_us_per_call(cpu0, cpu1, done, &ph->cpu_source);
        ph->client_cpu_us_per_call = done ? (double)(ccpu1 - ccpu0) / 1e3 / (double)done : 0;
        /* Latencies of answered calls only; unanswered ones are already errors. */
        uint64_t m = 0;
        for (uint64_t i = 0; i < n; i++)
            if (t.state[i] == 2)
                t.t_sent[m++] = t.t_sent[i];
        qsort(t.t_sent, m, sizeof *t.t_sent, cmp_u64);
        ph->p50_us = pct_us(t.t_sent, m, 0.50);
        ph->p99_us = pct_us(t.t_sent, m, 0.99);
        ph->max_us = m ? (double)t.t_sent[m - 1] / 1e3 : 0;
        for (int k = 0; k < FA_BENCH_NPCT; k++)
            ph->pcts_us[k] = pct_us(t.t_sent, m, PCTS[k]);
        ph->calls = done;
    } else {
        /* Warm-up is not reported, but its errors still make the run invalid. */
        ph->errors = errors + (n - done);
    }
    free(t.t_sent);
    free(t.state);
    free(wbuf);
    return rc;
}

/* ---- process ---- */

static pid_t spawn_server(char **argv, bool verbose, int *to_fd, int *from_fd) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
        die("pipe2 failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    /* dup2 onto 0/1 clears FD_CLOEXEC on the copies; the originals close at exec. */
    posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    if (!verbose)
        posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    if (rc != 0) {
        fprintf(stderr, "bench_stdio: cannot start %s: %s\n", argv[0], strerror(rc));
        exit(2);
    }
    /* Non-blocking on our end only (each pipe end is its own open file description), so a full
     * pipe never leaves us blocked in write() while the server is blocked writing to us. */
    fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK);
    *to_fd = in[1];
    *from_fd = out[0];
    return pid;
}

/* Waits for the initialize reply (id 1); 0 or -1. */
static int handshake(conn_t *c) {
    if (write_all(c, INIT_REQ, sizeof INIT_REQ - 1) < 0)
        return -1;
    for (;;) {
        size_t len;
        const char *line;
        while ((line = next_line(c, &len)) != NULL) {
            uint64_t id;
            bool has_id;
            int k = classify(line, len, &id, &has_id);
            if (k == LINE_IGNORED || !has_id || id != INIT_ID)
                continue;
            if (k != LINE_OK) {
                fprintf(stderr, "bench_stdio: initialize failed: %.*s\n", (int)len, line);
                return -1;
            }
            return write_all(c, INITIALIZED_NOTE, sizeof INITIALIZED_NOTE - 1) < 0 ? -1 : 0;
        }
        ssize_t r = read_more(c);
        if (r <= 0) {
            report_io_error(c, r, "initialize");
            return -1;
        }
    }
}

/* Closes the server's stdin, reads its stdout to EOF and reaps it. Returns the exit status
 * (128 + signal when killed, -1 when it did not exit in time and was killed). */
static int finish_server(conn_t *c, double *exit_ms) {
    uint64_t t0 = now_ns();
    close(c->to_fd);
    c->to_fd = -1;
    uint64_t deadline = t0 + (uint64_t)BENCH_EXIT_WAIT_MS * 1000000u;
    while (!c->eof && now_ns() < deadline) {
        struct pollfd p = {.fd = c->from_fd, .events = POLLIN};
        if (poll(&p, 1, 100) > 0) {
            c->rstart = c->rend = 0; /* late output is not part of any phase */
            if (read_more(c) < 0)
                break;
        }
    }
    int status = 0;
    bool timed_out = false;
    for (;;) {
        pid_t w = waitpid(c->pid, &status, WNOHANG);
        if (w == c->pid)
            break;
        if (w < 0 && errno != EINTR)
            return -1;
        if (now_ns() >= deadline && !timed_out) {
            kill(c->pid, SIGKILL);
            timed_out = true;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    *exit_ms = (double)(now_ns() - t0) / 1e6;
    close(c->from_fd);
    if (timed_out)
        return -1;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

/* ---- output ---- */

static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

/* One line per phase. "valid" is for the whole run: any error, in any phase or the warm-up, or
 * a non-zero exit makes every phase of the run invalid. */
static void print_json(const phase_t *ph, const char *label, const char *cmd, double init_ms,
                       long rss_kb, int exit_code, double exit_ms, uint64_t warm_errors,
                       bool invalid) {
    printf("{\"server\":");
    json_str(stdout, label);
    printf(",\"command\":");
    json_str(stdout, cmd);
    printf(",\"phase\":\"%s\",\"calls\":%" PRIu64 ",\"window\":%" PRIu64
           ",\"elapsed_s\":%.6f,\"calls_per_s\":%.1f,\"lat_p50_us\":%.2f,\"lat_p99_us\":%.2f,"
           "\"lat_max_us\":%.2f,\"server_cpu_us_per_call\":%.3f,\"cpu_source\":\"%s\","
           "\"client_cpu_us_per_call\":%.3f,\"replies_per_read\":%.2f,\"client_reads\":%" PRIu64
           ",\"client_writes\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"warmup_errors\":%" PRIu64
           ",\"server_peak_rss_kb\":%ld,"
           "\"init_ms\":%.2f,\"exit_code\":%d,\"exit_ms\":%.2f,\"valid\":%s",
           ph->name, ph->calls, ph->window, ph->elapsed_s,
           ph->elapsed_s > 0 ? (double)ph->calls / ph->elapsed_s : 0, ph->p50_us, ph->p99_us,
           ph->max_us, ph->server_cpu_us_per_call, ph->cpu_source ? ph->cpu_source : "none",
           ph->client_cpu_us_per_call, ph->reads ? (double)ph->calls / (double)ph->reads : 0,
           ph->reads, ph->writes, ph->errors, warm_errors, rss_kb, init_ms, exit_code, exit_ms,
           invalid ? "false" : "true");
    printf(",\"lat_pcts_us\":{");
    for (int k = 0; k < FA_BENCH_NPCT; k++)
        printf("%s\"%g\":%.2f", k ? "," : "", PCTS[k] * 100, ph->pcts_us[k]);
    printf("}}\n");
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: bench_stdio [options] -- <server command and args>\n"
            "  -n N        pipelined calls (default 200000; 0 skips the phase)\n"
            "  -W W        pipelining window, requests outstanding (default 256)\n"
            "  -w N        warm-up calls before each phase (default 2000)\n"
            "  -s M        sequential calls (default 20000; 0 skips the phase)\n"
            "  -c CPU      pin this client to CPU (after spawning, so the server is not pinned)\n"
            "  -l LABEL    server name for the output (default: the command)\n"
            "  -v          pass the server's stderr through (default /dev/null)\n"
            "  --json      one JSON object per phase on stdout instead of the table\n"
            "exit status: 0 valid run, 1 errors or non-zero server exit, 2 usage/setup failure\n");
}

static uint64_t parse_count(const char *s, const char *opt) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-') {
        fprintf(stderr, "bench_stdio: bad value for %s: %s\n", opt, s);
        exit(2);
    }
    return (uint64_t)v;
}

int main(int argc, char **argv) {
    uint64_t n_pipe = 200000, window = 256, warmup = 2000, n_seq = 20000;
    int pin_cpu = -1;
    bool verbose = false, json = false;
    const char *label = NULL;
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int opt;
    /* '+': stop at the first non-option, so the server's own options are left alone. */
    while ((opt = getopt_long(argc, argv, "+n:W:w:s:c:l:vh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'n':
            n_pipe = parse_count(optarg, "-n");
            break;
        case 'W':
            window = parse_count(optarg, "-W");
            break;
        case 'w':
            warmup = parse_count(optarg, "-w");
            break;
        case 's':
            n_seq = parse_count(optarg, "-s");
            break;
        case 'c':
            pin_cpu = (int)parse_count(optarg, "-c");
            break;
        case 'l':
            label = optarg;
            break;
        case 'v':
            verbose = true;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    if (window < 1 || window > BENCH_MAX_WINDOW) {
        fprintf(stderr, "bench_stdio: -W must be 1..%d\n", BENCH_MAX_WINDOW);
        return 2;
    }
    char **cmd = argv + optind;
    char cmdline[1024];
    size_t cl = 0;
    cmdline[0] = '\0';
    for (char **a = cmd; *a && cl < sizeof cmdline; a++)
        cl += (size_t)snprintf(cmdline + cl, sizeof cmdline - cl, "%s%s", a == cmd ? "" : " ", *a);
    if (!label)
        label = cmdline;

    /* A server that dies must show up as EPIPE on write, not kill the client. */
    signal(SIGPIPE, SIG_IGN);

    conn_t c = {0};
    c.rbuf = malloc(BENCH_READ_BUF);
    if (!c.rbuf)
        die("out of memory");
    c.next_id = FIRST_CALL_ID;
    uint64_t t_spawn = now_ns();
    c.pid = spawn_server(cmd, verbose, &c.to_fd, &c.from_fd);
    if (pin_cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(pin_cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set) != 0)
            fprintf(stderr, "bench_stdio: cannot pin to CPU %d: %s\n", pin_cpu, strerror(errno));
    }
    pthread_t wd;
    if (pthread_create(&wd, NULL, watchdog_main, &c.pid) != 0)
        die("cannot start the watchdog thread");

    phase_t pipe_ph = {.name = "pipelined"}, seq_ph = {.name = "sequential"};
    double init_ms = 0;
    uint64_t warm_errors = 0;
    int rc = handshake(&c);
    if (rc == 0) {
        init_ms = (double)(now_ns() - t_spawn) / 1e6;
        phase_t warm = {.name = "warm-up"};
        if (n_pipe > 0) {
            rc = run_phase(&c, &warm, warmup, window, false);
            warm_errors += warm.errors;
            if (rc == 0)
                rc = run_phase(&c, &pipe_ph, n_pipe, window, true);
        }
        if (rc == 0 && n_seq > 0) {
            rc = run_phase(&c, &warm, warmup, 1, false);
            warm_errors += warm.errors;
            if (rc == 0)
                rc = run_phase(&c, &seq_ph, n_seq, 1, true);
        }
    }
    long rss_kb = server_peak_rss_kb(c.pid);

    pthread_mutex_lock(&g_wd_mu);
    g_wd_stop = true;
    pthread_cond_signal(&g_wd_cv);
    pthread_mutex_unlock(&g_wd_mu);
    pthread_join(wd, NULL);

    double exit_ms = 0;
    int exit_code = finish_server(&c, &exit_ms);
    free(c.rbuf);

    const phase_t *phases[2] = {&pipe_ph, &seq_ph};
    uint64_t errors = warm_errors + pipe_ph.errors + seq_ph.errors;
    char why[160] = "";
    if (rc != 0)
        snprintf(why, sizeof why, "the server failed or went away (see stderr)");
    else if (exit_code != 0)
        snprintf(why, sizeof why, "the server exited with status %d", exit_code);
    else if (errors)
        snprintf(why, sizeof why, "%" PRIu64 " error replies (%" PRIu64 " during warm-up)", errors,
                 warm_errors);
    bool invalid = why[0] != '\0';
    if (json) {
        for (int i = 0; i < 2; i++)
            if (phases[i]->ran)
                print_json(phases[i], label, cmdline, init_ms, rss_kb, exit_code, exit_ms,
                           warm_errors, invalid);
    } else {
        printf("server: %s\n", label);
        printf("init %.1f ms, peak RSS %.1f MB, exit code %d (%.1f ms after stdin closed)\n",
               init_ms, rss_kb >= 0 ? (double)rss_kb / 1024.0 : -1.0, exit_code, exit_ms);
        printf("%-11s %8s %6s %11s %9s %9s %10s %10s %9s %7s\n", "phase", "calls", "window",
               "calls/s", "p50 us", "p99 us", "srv us/cl", "cli us/cl", "rep/read", "errors");
        for (int i = 0; i < 2; i++) {
            const phase_t *p = phases[i];
            if (!p->ran)
                continue;
            printf("%-11s %8" PRIu64 " %6" PRIu64
                   " %11.0f %9.1f %9.1f %10.2f %10.2f %9.1f %7" PRIu64 "\n",
                   p->name, p->calls, p->window,
                   p->elapsed_s > 0 ? (double)p->calls / p->elapsed_s : 0, p->p50_us, p->p99_us,
                   p->server_cpu_us_per_call, p->client_cpu_us_per_call,
                   p->reads ? (double)p->calls / (double)p->reads : 0, p->errors);
        }
        if (c.stray)
            printf("note: %" PRIu64 " unrecognised lines from the server were ignored\n", c.stray);
        if (invalid)
            printf("INVALID RUN: %s\n", why);
    }
    if (invalid)
        fprintf(stderr, "bench_stdio: INVALID RUN: %s\n", why);
    return invalid ? 1 : 0;
}
