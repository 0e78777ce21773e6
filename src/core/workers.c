/* workers.c: worker pool over fa_mpmc_t with spin-then-park idling.
 *
 * Parking uses an event count (Vyukov / folly EventCount): a worker announces itself as a waiter,
 * re-checks the queue, then sleeps on a futex word unless the epoch moved. A producer pushes,
 * issues a seq_cst fence and wakes one sleeper if the waiter count is non-zero. The two fences
 * (waiter increment before the re-check; push before the waiter load) form a Dekker pair: either
 * the producer sees the waiter or the waiter sees the job, so no wake-up is lost.
 */
#include "core/workers.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <uv.h>

#include "core/log.h"
#include "fasterapi/error.h"
#include "fasterapi/queue.h"

/* Pops tried before parking. At ~10-40 ns per empty pop plus a pause this is a few microseconds:
 * less than a futex sleep+wake round trip, short enough not to starve the I/O thread on 2 cores.
 * With a single usable CPU spinning only delays the thread we wait for, so it is off. */
#define FA_WORKER_SPIN 200

/* After running a job a worker keeps polling the queue this long (microseconds) before it parks:
 * a client working one call at a time sends the next one tens of microseconds after our reply,
 * and a parked worker's futex wake-up costs more than a short tool (unpinned C echo without
 * FA_TOOL_NONBLOCKING: sequential p50 ~25 us with the count-based spin alone). Producers skip
 * waking parked workers while enough others poll. FASTERAPI_WORKER_SPIN_US overrides it. */
#define FA_WORKER_POLL_US 50

struct fa__workers_s {
    fa_mpmc_t *queue;
    fa__job_fn fn;
    void *ctx;
    int n;
    pthread_t *threads;
    _Alignas(64) _Atomic uint32_t epoch; /* futex word: bumped on every wake */
    _Alignas(64) _Atomic uint32_t waiters;
    _Atomic uint32_t spinning; /* workers polling after a job (poll_after_job) */
    _Atomic int stopping;
    int spin;         /* FA_WORKER_SPIN, or 0 on a single CPU */
    uint64_t poll_ns; /* FA_WORKER_POLL_US after a job, or 0 on a single CPU */
    int sched;        /* fa__worker_sched_policy, applied by each worker to itself */
};

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static void futex_wait(_Atomic uint32_t *addr, uint32_t expected) {
#ifdef __linux__
    syscall(SYS_futex, (uint32_t *)(uintptr_t)addr, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
#else
    (void)addr;
    (void)expected;
    sched_yield();
#endif
}

static void futex_wake(_Atomic uint32_t *addr, int count) {
#ifdef __linux__
    syscall(SYS_futex, (uint32_t *)(uintptr_t)addr, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
#else
    (void)addr;
    (void)count;
#endif
}

static void wake(fa__workers_t *w, int count) {
    /* Pairs with the seq_cst increment of `waiters` in worker_main: after our push (or the
     * stopping store) this fence orders the load below after it. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&w->waiters, memory_order_relaxed) == 0)
        return;
    /* Workers polling after a job take it without a wake-up: either one sees our push, or it
     * stops polling after it and then re-checks the queue before it parks (the same Dekker
     * pair as `waiters`). Not while stopping: every parked worker must wake then. */
    if (!atomic_load_explicit(&w->stopping, memory_order_relaxed) &&
        atomic_load_explicit(&w->spinning, memory_order_seq_cst) >= (uint32_t)count)
        return;
    /* Release: a woken worker that reads the new epoch also sees our push. */
    atomic_fetch_add_explicit(&w->epoch, 1, memory_order_release);
    futex_wake(&w->epoch, count);
}

/* Polls the queue for up to w->poll_ns after a job (see FA_WORKER_POLL_US). */
static void *poll_after_job(fa__workers_t *w) {
    if (w->poll_ns == 0)
        return NULL;
    atomic_fetch_add_explicit(&w->spinning, 1, memory_order_seq_cst);
    uint64_t t0 = uv_hrtime();
    void *job = NULL;
    while (!atomic_load_explicit(&w->stopping, memory_order_relaxed) &&
           uv_hrtime() - t0 < w->poll_ns) {
        fa__spin_pause();
        if ((job = fa_mpmc_pop(w->queue)) != NULL)
            break;
    }
    atomic_fetch_sub_explicit(&w->spinning, 1, memory_order_seq_cst);
    return job;
}

/* Why SCHED_BATCH (sched(7)): the loop thread hands every call to a worker and wakes it; a
 * woken SCHED_OTHER thread usually preempts the waker on a busy CPU, so on a small box the loop
 * thread (the bottleneck: it reads, parses, answers and writes every request) lost its CPU once
 * per batch of calls. The perf profile of bench/mcp_http showed ~27 % of the loop thread's
 * samples in the context switch that follows the worker's eventfd write. A SCHED_BATCH thread
 * does not preempt on wake-up: it runs on an idle CPU at once, or when the loop thread next
 * blocks or its slice ends. Its share of the CPU (nice 0 weight) is unchanged. No privilege is
 * needed to move between SCHED_OTHER and SCHED_BATCH. */
int fa__worker_sched_policy(void) {
#ifdef SCHED_BATCH
    const char *v = getenv("FASTERAPI_WORKER_SCHED");
    if (!v || !*v || strcmp(v, "batch") == 0)
        return SCHED_BATCH;
    if (strcmp(v, "normal") == 0)
        return SCHED_OTHER;
    FA_WARN("FASTERAPI_WORKER_SCHED=%s is not batch or normal; using batch", v);
    return SCHED_BATCH;
#else
    return SCHED_OTHER;
#endif
}

void fa__worker_sched_apply(int policy) {
    if (policy == SCHED_OTHER)
        return;
    struct sched_param sp = {.sched_priority = 0};
    int e = pthread_setschedparam(pthread_self(), policy, &sp);
    if (e)
        FA_DEBUG("worker scheduling policy %d refused: %s", policy, strerror(e));
}

static void *worker_main(void *arg) {
    fa__workers_t *w = arg;
    fa__worker_sched_apply(w->sched);
    int ran = 0;
    for (;;) {
        void *job = fa_mpmc_pop(w->queue);
        if (!job && ran)
            job = poll_after_job(w);
        for (int i = 0; !job && i < w->spin; i++) {
            cpu_relax();
            job = fa_mpmc_pop(w->queue);
        }
        ran = job != NULL;
        if (job) {
            w->fn(job, w->ctx);
            continue;
        }
        /* The Dekker half that pairs with the fence in wake(): announce, then fence, then
         * re-check the queue and `stopping`. */
        atomic_fetch_add_explicit(&w->waiters, 1, memory_order_relaxed);
        atomic_thread_fence(memory_order_seq_cst);
        uint32_t key = atomic_load_explicit(&w->epoch, memory_order_acquire);
        job = fa_mpmc_pop(w->queue);
        if (!job && !atomic_load_explicit(&w->stopping, memory_order_acquire))
            futex_wait(&w->epoch, key);
        atomic_fetch_sub_explicit(&w->waiters, 1, memory_order_relaxed);
        if (job) {
            w->fn(job, w->ctx);
            ran = 1;
            continue;
        }
        /* Acquire pairs with the release store in fa__workers_free: the queue is final then. */
        if (atomic_load_explicit(&w->stopping, memory_order_acquire)) {
            while ((job = fa_mpmc_pop(w->queue)) != NULL)
                w->fn(job, w->ctx);
            return NULL;
        }
    }
}

int fa__cpu_count(void) {
#ifdef __linux__
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        return n > 0 ? n : 1;
    }
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

uint64_t fa__spin_window_ns(const char *env, unsigned default_us) {
    if (fa__cpu_count() < 2)
        return 0;
    unsigned long us = default_us;
    const char *v = env ? getenv(env) : NULL;
    if (v && *v) {
        char *end;
        unsigned long x = strtoul(v, &end, 10);
        if (*end == '\0' && *v != '-' && x <= FA_SPIN_US_MAX)
            us = x;
        else
            FA_WARN("%s=%s is not 0..%d; using %lu", env, v, FA_SPIN_US_MAX, us);
    }
    return (uint64_t)us * 1000u;
}

void fa__spin_pause(void) {
    /* -1 unknown, 0 pause, 1 yield; a benign race: every reader computes the same value. */
    static _Atomic int mode = -1;
    int m = atomic_load_explicit(&mode, memory_order_relaxed);
    if (m < 0) {
        const char *v = getenv("FASTERAPI_SPIN_YIELD");
        m = !(v && strcmp(v, "0") == 0);
        atomic_store_explicit(&mode, m, memory_order_relaxed);
    }
    if (m)
        sched_yield();
    else
        cpu_relax();
}

int fa__workers_new(fa__workers_t **out, int n, size_t capacity, fa__job_fn fn, void *ctx) {
    if (n < 1 || !fn)
        return FA_EINVAL;
    fa__workers_t *w = aligned_alloc(64, (sizeof *w + 63) & ~(size_t)63);
    if (!w)
        return FA_ENOMEM;
    memset(w, 0, sizeof *w);
    w->fn = fn;
    w->ctx = ctx;
    w->spin = fa__cpu_count() > 1 ? FA_WORKER_SPIN : 0;
    w->poll_ns = fa__spin_window_ns("FASTERAPI_WORKER_SPIN_US", FA_WORKER_POLL_US);
    w->sched = fa__worker_sched_policy();
    int rc = fa_mpmc_new(&w->queue, capacity);
    if (rc) {
        free(w);
        return rc;
    }
    w->threads = calloc((size_t)n, sizeof *w->threads);
    if (!w->threads) {
        fa_mpmc_free(w->queue);
        free(w);
        return FA_ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        int err = pthread_create(&w->threads[i], NULL, worker_main, w);
        if (err) {
            w->n = i;
            fa__workers_free(w);
            return -err;
        }
#ifdef __linux__
        char name[16];
        snprintf(name, sizeof name, "fa-worker-%u", (unsigned)i % 1000u);
        pthread_setname_np(w->threads[i], name);
#endif
        w->n = i + 1;
    }
    *out = w;
    return 0;
}

int fa__workers_submit(fa__workers_t *w, void *job) {
    int rc = fa_mpmc_push(w->queue, job);
    if (rc == 0)
        wake(w, 1);
    return rc;
}

int fa__workers_submit_lazy(fa__workers_t *w, void *job) {
    return fa_mpmc_push(w->queue, job);
}

void fa__workers_wake(fa__workers_t *w, int n) {
    wake(w, n < w->n ? n : w->n);
}

void fa__workers_free(fa__workers_t *w) {
    if (!w)
        return;
    /* Release: workers that observe `stopping` also observe every job pushed before it. The
     * event-count protocol guarantees a worker either sees `stopping` before sleeping or is
     * woken by this broadcast. */
    atomic_store_explicit(&w->stopping, 1, memory_order_release);
    wake(w, w->n > 0 ? w->n : 1);
    for (int i = 0; i < w->n; i++)
        pthread_join(w->threads[i], NULL);
    fa_mpmc_free(w->queue);
    free(w->threads);
    free(w);
}

int fa__workers_count(const fa__workers_t *w) {
    return w->n;
}
