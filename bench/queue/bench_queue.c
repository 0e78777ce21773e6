/* bench/queue/bench_queue.c: the lock-free queues against a mutex + condvar ring.
 *
 * What it measures (research/perf_anchors.md §E.4 explains why each number matters):
 *
 *   - the cache-line ping-pong round trip between cpu0 and cpu1: two threads bounce one atomic.
 *     It is the physical floor of any cross-thread handoff on this machine. On the shared 2-vCPU
 *     VM it moves 3-5x between quiet and noisy periods, so read every other number relative to it.
 *   - single-thread push+pop (ns per message = one push plus one pop), for SPSC, MPSC, MPMC and
 *     the mutex queue: the pure instruction and atomic cost, no coherence traffic.
 *   - cross-thread 1P1C streaming, single calls and batches of BENCH_BATCH, for all four queues.
 *   - 2P2C for MPMC and the mutex queue (the only two that allow several consumers).
 *
 * The baseline is the queue people write first: a bounded ring under one pthread mutex, with two
 * condition variables so a full push and an empty pop sleep instead of spinning. Same capacity
 * (BENCH_CAPACITY), same 8-byte payloads (a non-NULL pointer-sized integer). The lock-free queues
 * spin on full/empty (a pause instruction, then sched_yield), as their users would.
 *
 * Every cross-thread run checks that the consumers received exactly the message count and the
 * sum 1 + 2 + ... + n (no loss, no duplicate) and exits non-zero otherwise. Producers are pinned
 * to cpu0 and consumers to cpu1 when there are two CPUs (in 2P2C each CPU gets one producer and one
 * consumer); pinning failures are ignored and reported. Each case runs R times (-r) and the median
 * is reported. The mutex queue moves a tenth of the messages (-n / 10): it is 10-100x slower and
 * the whole bench should stay near a minute; ns/msg is a per-message figure either way.
 *
 * Only the public API is used (STYLE.md §15). The queue calls are written through always-inline
 * helpers that switch on a constant kind, so each thread function compiles to direct calls.
 */
#include <fasterapi.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BENCH_CAPACITY 1024
#define BENCH_BATCH 32
#define BENCH_CACHELINE 64
#define BENCH_DEFAULT_MESSAGES 20000000u
#define BENCH_DEFAULT_REPEATS 5
#define BENCH_MUTEX_DIVISOR 10
#define BENCH_RTT_ROUNDS 200000u
#define BENCH_MAX_THREADS 2 /* per role */
/* Spins on full/empty before sched_yield: long enough to ride out a cache miss on the peer, short
 * enough that an oversubscribed CPU (2P2C on two vCPUs) hands over quickly. */
#define BENCH_SPINS 256

_Static_assert((BENCH_CAPACITY & (BENCH_CAPACITY - 1)) == 0, "capacity must be a power of two");
_Static_assert(BENCH_BATCH <= BENCH_CAPACITY, "a batch must fit in the ring");

/* Targets from the issue, printed next to the results. */
#define TARGET_SPSC_NS 5.0
#define TARGET_MPMC_NS 15.0
#define TARGET_SPEEDUP 10.0

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

static void backoff(unsigned *spins) {
    if (++*spins < BENCH_SPINS) {
        cpu_relax();
    } else {
        *spins = 0;
        sched_yield();
    }
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int g_ncpu;
static atomic_int g_pin_failed;

static void pin_to(int cpu) {
    if (g_ncpu < 2 || cpu < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0)
        atomic_store_explicit(&g_pin_failed, 1, memory_order_relaxed); /* reported, not fatal */
}

/* ---- the baseline: bounded ring under a mutex, condvars for full/empty ---------------------- */

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t not_empty;
    pthread_cond_t not_full;
    size_t head, tail, mask;
    int closed;
    void **slots;
} mutexq_t;

static mutexq_t *mutexq_new(size_t capacity) {
    mutexq_t *q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    q->slots = calloc(capacity, sizeof(void *));
    if (!q->slots) {
        free(q);
        return NULL;
    }
    q->mask = capacity - 1;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->not_empty, NULL);
    pthread_cond_init(&q->not_full, NULL);
    return q;
}

static void mutexq_free(mutexq_t *q) {
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
    free(q->slots);
    free(q);
}

/* Wakes every sleeper; pops return NULL once the queue is closed and empty. */
static void mutexq_close(mutexq_t *q) {
    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->lock);
}

/* Blocks while full. */
static size_t mutexq_push_batch(mutexq_t *q, void *const *items, size_t n) {
    pthread_mutex_lock(&q->lock);
    while (q->tail - q->head > q->mask && !q->closed)
        pthread_cond_wait(&q->not_full, &q->lock);
    size_t room = q->mask + 1 - (q->tail - q->head);
    if (n > room)
        n = room;
    for (size_t i = 0; i < n; i++)
        q->slots[(q->tail + i) & q->mask] = items[i];
    q->tail += n;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->lock);
    return n;
}

/* Blocks while empty; NULL only when closed and empty. */
static size_t mutexq_pop_batch(mutexq_t *q, void **out, size_t max) {
    pthread_mutex_lock(&q->lock);
    while (q->tail == q->head && !q->closed)
        pthread_cond_wait(&q->not_empty, &q->lock);
    size_t n = q->tail - q->head;
    if (n > max)
        n = max;
    for (size_t i = 0; i < n; i++)
        out[i] = q->slots[(q->head + i) & q->mask];
    q->head += n;
    if (n)
        pthread_cond_signal(&q->not_full);
    pthread_mutex_unlock(&q->lock);
    return n;
}

static int mutexq_push(mutexq_t *q, void *item) {
    return mutexq_push_batch(q, &item, 1) == 1 ? 0 : FA_EFULL;
}

static void *mutexq_pop(mutexq_t *q) {
    void *item = NULL;
    return mutexq_pop_batch(q, &item, 1) ? item : NULL;
}

/* ---- one set of calls over the four queues -------------------------------------------------- */

typedef enum { Q_SPSC, Q_MPSC, Q_MPMC, Q_MUTEX, Q_COUNT } qkind_t;

static const char *const qnames[Q_COUNT] = {"spsc", "mpsc", "mpmc", "mutex"};

#define BENCH_INLINE static inline __attribute__((always_inline))

BENCH_INLINE int q_push(qkind_t k, void *q, void *item) {
    switch (k) {
    case Q_SPSC:
        return fa_spsc_push(q, item);
    case Q_MPSC:
        return fa_mpsc_push(q, item);
    case Q_MPMC:
        return fa_mpmc_push(q, item);
    default:
        return mutexq_push(q, item);
    }
}

BENCH_INLINE void *q_pop(qkind_t k, void *q) {
    switch (k) {
    case Q_SPSC:
        return fa_spsc_pop(q);
    case Q_MPSC:
        return fa_mpsc_pop(q);
    case Q_MPMC:
        return fa_mpmc_pop(q);
    default:
        return mutexq_pop(q);
    }
}

BENCH_INLINE size_t q_push_batch(qkind_t k, void *q, void *const *items, size_t n) {
    switch (k) {
    case Q_SPSC:
        return fa_spsc_push_batch(q, items, n);
    case Q_MPSC:
        return fa_mpsc_push_batch(q, items, n);
    case Q_MPMC:
        return fa_mpmc_push_batch(q, items, n);
    default:
        return mutexq_push_batch(q, items, n);
    }
}

BENCH_INLINE size_t q_pop_batch(qkind_t k, void *q, void **out, size_t max) {
    switch (k) {
    case Q_SPSC:
        return fa_spsc_pop_batch(q, out, max);
    case Q_MPSC:
        return fa_mpsc_pop_batch(q, out, max);
    case Q_MPMC:
        return fa_mpmc_pop_batch(q, out, max);
    default:
        return mutexq_pop_batch(q, out, max);
    }
}

static void *q_new(qkind_t k) {
    fa_spsc_t *spsc = NULL;
    fa_mpsc_t *mpsc = NULL;
    fa_mpmc_t *mpmc = NULL;
    void *q = NULL;
    int rc;
    switch (k) {
    case Q_SPSC:
        rc = fa_spsc_new(&spsc, BENCH_CAPACITY);
        q = spsc;
        break;
    case Q_MPSC:
        rc = fa_mpsc_new(&mpsc, BENCH_CAPACITY);
        q = mpsc;
        break;
    case Q_MPMC:
        rc = fa_mpmc_new(&mpmc, BENCH_CAPACITY);
        q = mpmc;
        break;
    default:
        q = mutexq_new(BENCH_CAPACITY);
        rc = q ? 0 : FA_ENOMEM;
        break;
    }
    if (rc != 0) {
        fprintf(stderr, "bench_queue: cannot create %s queue: %s\n", qnames[k], fa_strerror(rc));
        exit(1);
    }
    return q;
}

static void q_free(qkind_t k, void *q) {
    switch (k) {
    case Q_SPSC:
        fa_spsc_free(q);
        break;
    case Q_MPSC:
        fa_mpsc_free(q);
        break;
    case Q_MPMC:
        fa_mpmc_free(q);
        break;
    default:
        mutexq_free(q);
        break;
    }
}

/* ---- workers -------------------------------------------------------------------------------- */

/* Start line and end-of-stream flag, each on its own line so polling one does not disturb the
 * queue's lines or the other flag. */
typedef struct {
    alignas(BENCH_CACHELINE) atomic_int ready;
    atomic_int go;
    alignas(BENCH_CACHELINE) atomic_int done;
} bench_sync_t;

typedef struct {
    alignas(BENCH_CACHELINE) void *q; /* each worker on its own lines */
    bench_sync_t *sync;
    int cpu;
    size_t batch; /* 1: single calls */
    size_t first; /* producer: pushes first + 1 .. first + count */
    size_t count;
    uint64_t sum; /* consumer: what it received */
    size_t got;
} worker_t;

static void worker_start(worker_t *w) {
    pin_to(w->cpu);
    /* Release/acquire: only a start line; main reads the clock after everyone is ready. */
    atomic_fetch_add_explicit(&w->sync->ready, 1, memory_order_release);
    while (!atomic_load_explicit(&w->sync->go, memory_order_acquire))
        sched_yield();
}

BENCH_INLINE void produce(qkind_t k, worker_t *w) {
    void *buf[BENCH_BATCH];
    unsigned spins = 0;
    size_t i = 0;
    worker_start(w);
    if (w->batch <= 1) {
        while (i < w->count) {
            if (q_push(k, w->q, (void *)(uintptr_t)(w->first + i + 1)) == 0) {
                i++;
                spins = 0;
            } else {
                backoff(&spins);
            }
        }
        return;
    }
    while (i < w->count) {
        size_t m = w->count - i < w->batch ? w->count - i : w->batch;
        for (size_t j = 0; j < m; j++)
            buf[j] = (void *)(uintptr_t)(w->first + i + j + 1);
        size_t pushed = q_push_batch(k, w->q, buf, m);
        i += pushed;
        if (pushed) {
            spins = 0;
        } else {
            backoff(&spins);
        }
    }
}

BENCH_INLINE void consume(qkind_t k, worker_t *w) {
    void *buf[BENCH_BATCH];
    unsigned spins = 0;
    int done = 0;
    uint64_t sum = 0;
    size_t got = 0;
    worker_start(w);
    for (;;) {
        size_t n;
        if (w->batch <= 1) {
            void *item = q_pop(k, w->q);
            n = item != NULL;
            sum += (uintptr_t)item;
        } else {
            n = q_pop_batch(k, w->q, buf, w->batch);
            for (size_t j = 0; j < n; j++)
                sum += (uintptr_t)buf[j];
        }
        got += n;
        if (n) {
            spins = 0;
            continue;
        }
        /* Empty after we had seen every producer finish: drained for good. */
        if (done)
            break;
        /* Acquire pairs with main's release after joining the producers: every push is visible,
         * so one more empty pop after this means the queue is drained. */
        if (atomic_load_explicit(&w->sync->done, memory_order_acquire))
            done = 1;
        else
            backoff(&spins);
    }
    w->sum = sum;
    w->got = got;
}

#define BENCH_WORKERS(NAME, KIND)                                                                  \
    static void *NAME##_producer(void *arg) {                                                      \
        produce(KIND, arg);                                                                        \
        return NULL;                                                                               \
    }                                                                                              \
    static void *NAME##_consumer(void *arg) {                                                      \
        consume(KIND, arg);                                                                        \
        return NULL;                                                                               \
    }                                                                                              \
    static double NAME##_single(void *q, size_t n, uint64_t *sum) {                                \
        uint64_t s = 0;                                                                            \
        double t0 = now_ns();                                                                      \
        for (size_t i = 0; i < n; i++) {                                                           \
            if (q_push(KIND, q, (void *)(uintptr_t)(i + 1)) != 0)                                  \
                return -1;                                                                         \
            s += (uintptr_t)q_pop(KIND, q);                                                        \
        }                                                                                          \
        double t1 = now_ns();                                                                      \
        *sum = s;                                                                                  \
        return (t1 - t0) / (double)n;                                                              \
    }

BENCH_WORKERS(spsc, Q_SPSC)
BENCH_WORKERS(mpsc, Q_MPSC)
BENCH_WORKERS(mpmc, Q_MPMC)
BENCH_WORKERS(mutexq, Q_MUTEX)

typedef struct {
    void *(*producer)(void *);
    void *(*consumer)(void *);
    double (*single)(void *q, size_t n, uint64_t *sum);
} qfuncs_t;

static const qfuncs_t qfuncs[Q_COUNT] = {
    {spsc_producer, spsc_consumer, spsc_single},
    {mpsc_producer, mpsc_consumer, mpsc_single},
    {mpmc_producer, mpmc_consumer, mpmc_single},
    {mutexq_producer, mutexq_consumer, mutexq_single},
};

static uint64_t triangle(size_t n) {
    return (uint64_t)n * ((uint64_t)n + 1) / 2;
}

static void check_or_die(const char *what, qkind_t k, size_t got, size_t n, uint64_t sum) {
    if (got != n || sum != triangle(n)) {
        fprintf(stderr,
                "bench_queue: %s %s: CHECKSUM FAILED: got %zu of %zu messages, sum %llu != %llu\n",
                what, qnames[k], got, n, (unsigned long long)sum, (unsigned long long)triangle(n));
        exit(1);
    }
}

/* One single-thread run: n push+pop pairs; returns ns per message. */
static double run_single(qkind_t k, size_t n) {
    void *q = q_new(k);
    uint64_t sum = 0;
    double ns = qfuncs[k].single(q, n, &sum);
    q_free(k, q);
    if (ns < 0) {
        fprintf(stderr, "bench_queue: single-thread %s: push failed\n", qnames[k]);
        exit(1);
    }
    check_or_die("single-thread", k, n, n, sum);
    return ns;
}

/* One cross-thread run: `producers` threads push n messages in total, `consumers` threads pop
 * them; returns ns per message (wall time from the start line to the last join, over n). */
static double run_threads(qkind_t k, int producers, int consumers, size_t n, size_t batch) {
    bench_sync_t sync;
    worker_t pw[BENCH_MAX_THREADS], cw[BENCH_MAX_THREADS];
    pthread_t pt[BENCH_MAX_THREADS], ct[BENCH_MAX_THREADS];
    void *q = q_new(k);
    memset(&sync, 0, sizeof(sync));
    memset(pw, 0, sizeof(pw));
    memset(cw, 0, sizeof(cw));
    size_t per = n / (size_t)producers;
    n = per * (size_t)producers;
    for (int i = 0; i < producers; i++) {
        pw[i] = (worker_t){.q = q, .sync = &sync, .batch = batch};
        pw[i].cpu = producers == 1 ? 0 : i % 2;
        pw[i].first = per * (size_t)i;
        pw[i].count = per;
    }
    for (int i = 0; i < consumers; i++) {
        cw[i] = (worker_t){.q = q, .sync = &sync, .batch = batch};
        cw[i].cpu = consumers == 1 ? 1 : (i + 1) % 2;
    }
    for (int i = 0; i < consumers; i++)
        pthread_create(&ct[i], NULL, qfuncs[k].consumer, &cw[i]);
    for (int i = 0; i < producers; i++)
        pthread_create(&pt[i], NULL, qfuncs[k].producer, &pw[i]);
    while (atomic_load_explicit(&sync.ready, memory_order_acquire) < producers + consumers)
        sched_yield();
    double t0 = now_ns();
    atomic_store_explicit(&sync.go, 1, memory_order_release);
    for (int i = 0; i < producers; i++)
        pthread_join(pt[i], NULL);
    /* Release: the joins made every push visible to us; consumers that acquire `done` see them. */
    atomic_store_explicit(&sync.done, 1, memory_order_release);
    if (k == Q_MUTEX)
        mutexq_close(q); /* wake consumers sleeping on an empty queue */
    uint64_t sum = 0;
    size_t got = 0;
    for (int i = 0; i < consumers; i++) {
        pthread_join(ct[i], NULL);
        sum += cw[i].sum;
        got += cw[i].got;
    }
    double t1 = now_ns();
    q_free(k, q);
    check_or_die("cross-thread", k, got, n, sum);
    return (t1 - t0) / (double)n;
}

/* ---- cache-line ping-pong ------------------------------------------------------------------- */

typedef struct {
    alignas(BENCH_CACHELINE) atomic_ulong ball;
    atomic_int ready;
    size_t rounds;
} pingpong_t;

static void *pong(void *arg) {
    pingpong_t *p = arg;
    unsigned spins = 0;
    pin_to(1);
    atomic_fetch_add_explicit(&p->ready, 1, memory_order_relaxed);
    for (size_t i = 0; i < p->rounds; i++) {
        /* Acquire/release: a handoff, as a queue's would be; on x86 both are plain moves. */
        while (atomic_load_explicit(&p->ball, memory_order_acquire) != 2 * i + 1)
            backoff(&spins);
        atomic_store_explicit(&p->ball, 2 * i + 2, memory_order_release);
    }
    return NULL;
}

/* Round trip of one cache line between cpu0 and cpu1, in ns. */
static double run_pingpong(size_t rounds) {
    pingpong_t p;
    pthread_t t;
    unsigned spins = 0;
    memset(&p, 0, sizeof(p));
    p.rounds = rounds;
    pin_to(0);
    pthread_create(&t, NULL, pong, &p);
    while (!atomic_load_explicit(&p.ready, memory_order_relaxed))
        sched_yield();
    double t0 = now_ns();
    for (size_t i = 0; i < rounds; i++) {
        atomic_store_explicit(&p.ball, 2 * i + 1, memory_order_release);
        while (atomic_load_explicit(&p.ball, memory_order_acquire) != 2 * i + 2)
            backoff(&spins);
    }
    double t1 = now_ns();
    pthread_join(t, NULL);
    return (t1 - t0) / (double)rounds;
}

/* ---- driver --------------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

typedef enum { SHAPE_SINGLE, SHAPE_1P1C, SHAPE_1P1C_BATCH, SHAPE_2P2C, SHAPE_COUNT } shape_t;

static const char *const shape_names[SHAPE_COUNT] = {"single-thread push+pop", "1P1C",
                                                     "1P1C batch 32", "2P2C"};
_Static_assert(BENCH_BATCH == 32, "shape_names says 32");

typedef struct {
    shape_t shape;
    qkind_t kind;
    size_t msgs;
    double ns; /* median */
    double min, max;
} result_t;

#define MAX_RESULTS 16
static result_t results[MAX_RESULTS];
static int nresults;
static int repeats = BENCH_DEFAULT_REPEATS;

static void run_case(shape_t shape, qkind_t k, size_t n) {
    double v[64];
    if (k == Q_MUTEX)
        n = n / BENCH_MUTEX_DIVISOR ? n / BENCH_MUTEX_DIVISOR : 1;
    if (shape == SHAPE_2P2C)
        n -= n % 2;
    for (int r = 0; r < repeats; r++) {
        switch (shape) {
        case SHAPE_SINGLE:
            v[r] = run_single(k, n);
            break;
        case SHAPE_1P1C:
            v[r] = run_threads(k, 1, 1, n, 1);
            break;
        case SHAPE_1P1C_BATCH:
            v[r] = run_threads(k, 1, 1, n, BENCH_BATCH);
            break;
        default:
            v[r] = run_threads(k, 2, 2, n, 1);
            break;
        }
    }
    double med = median(v, repeats); /* sorts v */
    results[nresults++] = (result_t){shape, k, n, med, v[0], v[repeats - 1]};
    fprintf(stderr, ".");
}

static const result_t *find(shape_t shape, qkind_t k) {
    for (int i = 0; i < nresults; i++)
        if (results[i].shape == shape && results[i].kind == k)
            return &results[i];
    return NULL;
}

static double speedup(const result_t *r) {
    const result_t *m = find(r->shape, Q_MUTEX);
    return m && r->kind != Q_MUTEX ? m->ns / r->ns : 0;
}

/* The target for a row, or NULL; *ok says whether it was met. */
static const char *target_of(const result_t *r, int *ok) {
    static char buf[64];
    double s = speedup(r);
    if (r->kind == Q_MUTEX || r->shape == SHAPE_SINGLE)
        return NULL;
    if (r->shape == SHAPE_1P1C && r->kind == Q_SPSC) {
        *ok = r->ns <= TARGET_SPSC_NS && s >= TARGET_SPEEDUP;
        snprintf(buf, sizeof(buf), "<=%.0f ns, >=%.0fx", TARGET_SPSC_NS, TARGET_SPEEDUP);
    } else if (r->shape == SHAPE_1P1C && r->kind == Q_MPMC) {
        *ok = r->ns <= TARGET_MPMC_NS && s >= TARGET_SPEEDUP;
        snprintf(buf, sizeof(buf), "<=%.0f ns, >=%.0fx", TARGET_MPMC_NS, TARGET_SPEEDUP);
    } else {
        *ok = s >= TARGET_SPEEDUP;
        snprintf(buf, sizeof(buf), ">=%.0fx", TARGET_SPEEDUP);
    }
    return buf;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: bench_queue [-n messages] [-r repeats]\n"
            "  -n  messages per cross-thread and single-thread case (default %u; the mutex\n"
            "      queue moves n/%d)\n"
            "  -r  runs per case, the median is reported (default %d, max 63)\n",
            BENCH_DEFAULT_MESSAGES, BENCH_MUTEX_DIVISOR, BENCH_DEFAULT_REPEATS);
}

int main(int argc, char **argv) {
    size_t n = BENCH_DEFAULT_MESSAGES;
    int opt;
    while ((opt = getopt(argc, argv, "n:r:h")) != -1) {
        char *end = NULL;
        switch (opt) {
        case 'n': {
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (errno || !end || *end || v < 100) {
                fprintf(stderr, "bench_queue: -n wants a count >= 100\n");
                return 2;
            }
            n = (size_t)v;
            break;
        }
        case 'r': {
            long v = strtol(optarg, &end, 10);
            if (!end || *end || v < 1 || v > 63) {
                fprintf(stderr, "bench_queue: -r wants 1..63\n");
                return 2;
            }
            repeats = (int)v;
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    g_ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
    double t_start = now_ns();

    double rtt_v[64];
    for (int r = 0; r < repeats; r++)
        rtt_v[r] = run_pingpong(BENCH_RTT_ROUNDS);
    double rtt = median(rtt_v, repeats);

    static const qkind_t all[] = {Q_SPSC, Q_MPSC, Q_MPMC, Q_MUTEX};
    for (shape_t s = SHAPE_SINGLE; s <= SHAPE_1P1C_BATCH; s++)
        for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
            run_case(s, all[i], n);
    run_case(SHAPE_2P2C, Q_MPMC, n);
    run_case(SHAPE_2P2C, Q_MUTEX, n);
    fprintf(stderr, "\n");
    double elapsed = (now_ns() - t_start) / 1e9;

    int pinned = g_ncpu >= 2 && !atomic_load_explicit(&g_pin_failed, memory_order_relaxed);
    printf("bench_queue: capacity %d, 8-byte payloads, median of %d runs, %d CPUs, threads %s\n",
           BENCH_CAPACITY, repeats, g_ncpu,
           pinned ? "pinned (1P1C: producer cpu0, consumer cpu1; 2P2C: one of each per CPU)"
                  : "NOT pinned");
    printf(
        "cache-line ping-pong round trip cpu0<->cpu1: %.1f ns (one way %.1f ns; runs %.1f..%.1f)\n",
        rtt, rtt / 2, rtt_v[0], rtt_v[repeats - 1]);
    printf("ns/msg is the median (fastest..slowest run); msg/RTT = messages moved per round trip;\n"
           "vs mutex = mutex ns/msg / this ns/msg for the same shape\n\n");
    printf("%-23s %-5s %9s %8s %17s %8s %8s %8s  %s\n", "shape", "queue", "messages", "ns/msg",
           "(min..max)", "Mmsg/s", "msg/RTT", "vs mutex", "target");
    int met = 0, targets = 0;
    for (int i = 0; i < nresults; i++) {
        const result_t *r = &results[i];
        char ratio[32] = "-";
        int ok = 0;
        double s = speedup(r);
        if (s > 0)
            snprintf(ratio, sizeof(ratio), "%.1fx", s);
        const char *target = target_of(r, &ok);
        if (target) {
            targets++;
            met += ok;
        }
        char spread[32];
        char per_rtt[32] = "-"; /* meaningless without a second thread */
        snprintf(spread, sizeof(spread), "(%.2f..%.2f)", r->min, r->max);
        if (r->shape != SHAPE_SINGLE)
            snprintf(per_rtt, sizeof(per_rtt), "%.1f", rtt / r->ns);
        printf("%-23s %-5s %9zu %8.2f %17s %8.1f %8s %8s  %s%s\n", shape_names[r->shape],
               qnames[r->kind], r->msgs, r->ns, spread, 1e3 / r->ns, per_rtt, ratio,
               target ? target : "", target ? (ok ? "  ok" : "  MISSED") : "");
    }
    const result_t *spsc = find(SHAPE_1P1C, Q_SPSC), *mpmc = find(SHAPE_1P1C, Q_MPMC);
    printf("\nsummary: rtt %.0f ns; 1P1C spsc %.2f ns/msg (%.1fx mutex), mpmc %.2f ns/msg "
           "(%.1fx mutex); %d/%d targets met; all checksums ok; %.0f s\n",
           rtt, spsc->ns, speedup(spsc), mpmc->ns, speedup(mpmc), met, targets, elapsed);
    return 0;
}
