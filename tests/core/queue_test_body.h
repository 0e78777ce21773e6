/* queue_test_body.h: the tests every queue shape must pass, written once for test_queue_spsc.c,
 * test_queue_mpsc.c and test_queue_mpmc.c (not a test_*.c itself, so CMake does not build it as
 * an executable).
 *
 * The including file names its queue and the thread counts its stress shapes may use, then
 * includes this header:
 *
 *   #define Q_T fa_mpsc_t              the handle type
 *   #define Q(fn) fa_mpsc_##fn         its functions: Q(push)(q, item) is fa_mpsc_push(q, item)
 *   #define Q_MAX_PRODUCERS 4          most producer threads of one stress case
 *   #define Q_MAX_CONSUMERS 1          most consumer threads (1 where the queue allows only one)
 *
 * Its main() builds the suite with queue_suite(), which holds the shared single-thread cases, and
 * adds its own: its stress shapes (START_TEST calling run_stress(P, C)) and anything specific to
 * its algorithm.
 *
 * Single-thread cases pin down the contract in queue.h (rounding, full/empty edges, FIFO across
 * many wrap-arounds, partial batches, invalid arguments). The stress cases run P producers and C
 * consumers, the producers sharing STRESS_TOTAL items that encode (producer id, sequence) while
 * mixing single and batch calls, each consumer mixing single and batch pops. After the join we
 * check that every item arrived exactly once, that each consumer saw each producer's sequence
 * strictly increasing (per-producer FIFO), and a count and checksum. Under ThreadSanitizer the
 * item count is scaled down so the whole TSan run stays short.
 */
#ifndef FA_TESTS_CORE_QUEUE_TEST_BODY_H
#define FA_TESTS_CORE_QUEUE_TEST_BODY_H

#if !defined(Q_T) || !defined(Q) || !defined(Q_MAX_PRODUCERS) || !defined(Q_MAX_CONSUMERS)
#error "define Q_T, Q(fn), Q_MAX_PRODUCERS and Q_MAX_CONSUMERS before including queue_test_body.h"
#endif

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "fa_test.h"
#include "fasterapi/error.h"
#include "fasterapi/queue.h"

#if defined(__SANITIZE_THREAD__)
#define FA_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FA_TEST_TSAN 1
#endif
#endif
#if defined(FA_TEST_TSAN) || defined(__SANITIZE_ADDRESS__)
#define FA_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FA_TEST_SANITIZED 1
#endif
#endif

/* Items per stress case, split among the producers. TSan runs 20-100x slower, so it gets a
 * quarter (a few seconds per case on 2 cores). */
#ifdef FA_TEST_TSAN
#define STRESS_SCALE 4
#else
#define STRESS_SCALE 1
#endif
#define STRESS_TOTAL ((size_t)4000000 / STRESS_SCALE)
#define STRESS_BATCH 16
/* Stop and fail a stress case that makes no progress for this long (see stress_backoff); far
 * above a normal run, below Check's timeout. */
#define STRESS_DEADLINE_S 60
/* A small ring so that full and empty are both hit often. */
#define STRESS_CAPACITY 64
_Static_assert((STRESS_CAPACITY & (STRESS_CAPACITY - 1)) == 0, "capacity must be a power of two");

#define ITEM(i) ((void *)(uintptr_t)((i) + 1))
#define VALUE(p) ((size_t)(uintptr_t)(p)-1)

START_TEST(test_new_rejects_bad_capacity) {
    Q_T *q = NULL;
    ck_assert_int_eq(Q(new)(&q, 0), FA_EINVAL);
    ck_assert_int_eq(Q(new)(&q, ((size_t)1 << 30) + 1), FA_EINVAL);
    ck_assert_int_eq(Q(new)(&q, SIZE_MAX), FA_EINVAL);
    ck_assert_int_eq(Q(new)(NULL, 8), FA_EINVAL);
    ck_assert_ptr_null(q);
}
END_TEST

#ifndef FA_TEST_SANITIZED
START_TEST(test_new_reports_enomem) {
    /* Cap the address space at 1 GiB (Check runs each test in a forked child, and we restore it
     * anyway) and ask for the largest legal ring: the allocation fails and _new says so without
     * touching *out. Plain builds only: sanitizer allocators abort instead of returning NULL. */
    struct rlimit old, lim;
    ck_assert_int_eq(getrlimit(RLIMIT_AS, &old), 0);
    lim = old;
    if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur > ((rlim_t)1 << 30))
        lim.rlim_cur = (rlim_t)1 << 30;
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &lim), 0);
    Q_T *q = NULL;
    int rc = Q(new)(&q, (size_t)1 << 30);
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &old), 0);
    ck_assert_int_eq(rc, FA_ENOMEM);
    ck_assert_ptr_null(q);
}
END_TEST
#endif

START_TEST(test_capacity_rounds_up_to_power_of_two) {
    static const size_t cases[][2] = {{1, 2},       {2, 2},       {3, 4},      {5, 8},
                                      {1000, 1024}, {1024, 1024}, {1025, 2048}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        Q_T *q = NULL;
        ck_assert_int_eq(Q(new)(&q, cases[i][0]), 0);
        ck_assert_uint_eq(Q(capacity)(q), cases[i][1]);
        /* The rounded capacity is really usable, and not one slot more. */
        for (size_t k = 0; k < cases[i][1]; k++)
            ck_assert_int_eq(Q(push)(q, ITEM(k)), 0);
        ck_assert_int_eq(Q(push)(q, ITEM(0)), FA_EFULL);
        Q(free)(q);
    }
}
END_TEST

START_TEST(test_fifo_full_and_empty) {
    Q_T *q;
    ck_assert_int_eq(Q(new)(&q, 8), 0);
    ck_assert_ptr_null(Q(pop)(q));
    ck_assert_uint_eq(Q(size_approx)(q), 0);
    for (size_t i = 0; i < 8; i++)
        ck_assert_int_eq(Q(push)(q, ITEM(i)), 0);
    ck_assert_uint_eq(Q(size_approx)(q), 8);
    ck_assert_int_eq(Q(push)(q, ITEM(99)), FA_EFULL);
    /* One pop makes exactly one slot free again. */
    ck_assert_uint_eq(VALUE(Q(pop)(q)), 0);
    ck_assert_int_eq(Q(push)(q, ITEM(8)), 0);
    ck_assert_int_eq(Q(push)(q, ITEM(99)), FA_EFULL);
    for (size_t i = 1; i <= 8; i++)
        ck_assert_uint_eq(VALUE(Q(pop)(q)), i);
    ck_assert_ptr_null(Q(pop)(q));
    ck_assert_uint_eq(Q(size_approx)(q), 0);
    Q(free)(q);
}
END_TEST

START_TEST(test_smallest_queue_edges) {
    Q_T *q;
    ck_assert_int_eq(Q(new)(&q, 1), 0);
    ck_assert_uint_eq(Q(capacity)(q), 2);
    for (size_t lap = 0; lap < 100; lap++) {
        ck_assert_int_eq(Q(push)(q, ITEM(2 * lap)), 0);
        ck_assert_int_eq(Q(push)(q, ITEM(2 * lap + 1)), 0);
        ck_assert_int_eq(Q(push)(q, ITEM(0)), FA_EFULL);
        ck_assert_uint_eq(VALUE(Q(pop)(q)), 2 * lap);
        ck_assert_uint_eq(VALUE(Q(pop)(q)), 2 * lap + 1);
        ck_assert_ptr_null(Q(pop)(q));
    }
    Q(free)(q);
}
END_TEST

START_TEST(test_wraps_around_many_times) {
    Q_T *q;
    ck_assert_int_eq(Q(new)(&q, 8), 0);
    size_t next_in = 0, next_out = 0;
    /* 3 in, 3 out per round with 5 items resident: positions run 10000 laps past the ring. */
    for (size_t i = 0; i < 5; i++)
        ck_assert_int_eq(Q(push)(q, ITEM(next_in++)), 0);
    for (size_t round = 0; round < 8 * 10000 / 3; round++) {
        for (size_t i = 0; i < 3; i++)
            ck_assert_int_eq(Q(push)(q, ITEM(next_in++)), 0);
        for (size_t i = 0; i < 3; i++)
            ck_assert_uint_eq(VALUE(Q(pop)(q)), next_out++);
        ck_assert_uint_eq(Q(size_approx)(q), 5);
    }
    while (next_out < next_in)
        ck_assert_uint_eq(VALUE(Q(pop)(q)), next_out++);
    ck_assert_ptr_null(Q(pop)(q));
    Q(free)(q);
}
END_TEST

START_TEST(test_batch_partial_when_nearly_full_or_empty) {
    Q_T *q;
    void *in[20], *out[20];
    for (size_t i = 0; i < 20; i++)
        in[i] = ITEM(i);
    ck_assert_int_eq(Q(new)(&q, 8), 0);
    ck_assert_uint_eq(Q(pop_batch)(q, out, 20), 0);
    ck_assert_uint_eq(Q(push_batch)(q, in, 5), 5);
    /* Only 3 free: a prefix of 3 goes in. */
    ck_assert_uint_eq(Q(push_batch)(q, in + 5, 5), 3);
    ck_assert_uint_eq(Q(push_batch)(q, in + 8, 5), 0);
    ck_assert_int_eq(Q(push)(q, ITEM(99)), FA_EFULL);
    ck_assert_uint_eq(Q(pop_batch)(q, out, 4), 4);
    for (size_t i = 0; i < 4; i++)
        ck_assert_uint_eq(VALUE(out[i]), i);
    /* Only 4 left: a partial pop. */
    ck_assert_uint_eq(Q(pop_batch)(q, out, 10), 4);
    for (size_t i = 0; i < 4; i++)
        ck_assert_uint_eq(VALUE(out[i]), 4 + i);
    ck_assert_uint_eq(Q(pop_batch)(q, out, 10), 0);
    /* A batch larger than the ring fills it exactly, across the wrap point. */
    ck_assert_uint_eq(Q(push_batch)(q, in, 20), 8);
    ck_assert_uint_eq(Q(pop_batch)(q, out, 20), 8);
    for (size_t i = 0; i < 8; i++)
        ck_assert_uint_eq(VALUE(out[i]), i);
    /* Single and batch calls interleave in one FIFO. */
    ck_assert_int_eq(Q(push)(q, ITEM(100)), 0);
    ck_assert_uint_eq(Q(push_batch)(q, in, 2), 2);
    ck_assert_uint_eq(VALUE(Q(pop)(q)), 100);
    ck_assert_uint_eq(Q(pop_batch)(q, out, 1), 1);
    ck_assert_uint_eq(VALUE(out[0]), 0);
    ck_assert_uint_eq(VALUE(Q(pop)(q)), 1);
    ck_assert_ptr_null(Q(pop)(q));
    Q(free)(q);
}
END_TEST

START_TEST(test_null_and_invalid_arguments) {
    Q_T *q;
    void *out[4];
    void *with_null[3] = {ITEM(1), NULL, ITEM(3)};
    ck_assert_int_eq(Q(new)(&q, 4), 0);
    ck_assert_int_eq(Q(push)(q, NULL), FA_EINVAL);
    ck_assert_int_eq(Q(push)(NULL, ITEM(1)), FA_EINVAL);
    ck_assert_ptr_null(Q(pop)(NULL));
    ck_assert_uint_eq(Q(push_batch)(q, NULL, 3), 0);
    ck_assert_uint_eq(Q(push_batch)(NULL, with_null, 1), 0);
    ck_assert_uint_eq(Q(push_batch)(q, with_null, 0), 0);
    /* A NULL item ends the batch: only the prefix before it is pushed. */
    ck_assert_uint_eq(Q(push_batch)(q, with_null, 3), 1);
    ck_assert_uint_eq(Q(pop_batch)(q, NULL, 3), 0);
    ck_assert_uint_eq(Q(pop_batch)(q, out, 0), 0);
    ck_assert_uint_eq(Q(pop_batch)(NULL, out, 4), 0);
    ck_assert_uint_eq(Q(pop_batch)(q, out, 4), 1);
    ck_assert_uint_eq(VALUE(out[0]), 1);
    ck_assert_uint_eq(Q(capacity)(NULL), 0);
    ck_assert_uint_eq(Q(size_approx)(NULL), 0);
    Q(free)(NULL);
    Q(free)(q);
}
END_TEST

/* ---- multi-thread stress -------------------------------------------------------------------- */

/* Item = ((producer << 40) | sequence) + 1, never NULL. */
#define STRESS_SEQ_BITS 40
#define STRESS_ENCODE(pid, seq)                                                                    \
    ((void *)(uintptr_t)((((uint64_t)(pid) << STRESS_SEQ_BITS) | (seq)) + 1))

typedef struct {
    Q_T *q;
    int producers;
    size_t per_producer;
    atomic_int producers_done;
    atomic_int stalled; /* set when a thread made no progress until the deadline */
    double deadline;
    atomic_uchar *seen; /* producers * per_producer delivery counters */
} stress_t;

typedef struct {
    stress_t *st;
    int id;
    /* Consumer results, read by the main thread after the join. */
    size_t count;
    uint64_t sum;
    size_t order_errors;
    size_t bad_items;
    size_t duplicates;
} stress_thread_t;

static uint32_t next_rand(uint32_t *s) {
    /* xorshift32: cheap, per-thread, deterministic. */
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Called when a push found the queue full or a pop found it empty. A lost item leaves a bounded
 * queue stuck (producers see "full" forever, or consumers wait for an item that never comes), so
 * instead of hanging until Check's timeout every thread gives up at the deadline and the test
 * fails with a clear message. Returns nonzero when the threads should stop. */
static int stress_backoff(stress_t *st, unsigned *fails) {
    sched_yield();
    if ((++*fails & 1023) == 0 && now_seconds() > st->deadline)
        atomic_store_explicit(&st->stalled, 1, memory_order_relaxed);
    /* Relaxed: a stop request; the results are read after pthread_join. */
    return atomic_load_explicit(&st->stalled, memory_order_relaxed);
}

static void *stress_producer(void *arg) {
    stress_thread_t *t = arg;
    stress_t *st = t->st;
    uint32_t rng = 0x9e3779b9u ^ (uint32_t)t->id;
    void *batch[STRESS_BATCH];
    size_t seq = 0;
    unsigned fails = 0;
    while (seq < st->per_producer) {
        if (next_rand(&rng) % 4 == 0) {
            size_t n = 1 + next_rand(&rng) % STRESS_BATCH;
            if (n > st->per_producer - seq)
                n = st->per_producer - seq;
            for (size_t i = 0; i < n; i++)
                batch[i] = STRESS_ENCODE(t->id, seq + i);
            size_t pushed = Q(push_batch)(st->q, batch, n);
            seq += pushed;
            if (pushed == 0 && stress_backoff(st, &fails))
                break;
        } else {
            int rc = Q(push)(st->q, STRESS_ENCODE(t->id, seq));
            if (rc == 0)
                seq++;
            else if (rc != FA_EFULL)
                t->bad_items++;
            else if (stress_backoff(st, &fails))
                break;
        }
    }
    /* Release: every push above happens before a consumer that acquires the final count. */
    atomic_fetch_add_explicit(&st->producers_done, 1, memory_order_release);
    return NULL;
}

static void stress_take(stress_thread_t *t, size_t *last, void *item) {
    stress_t *st = t->st;
    uint64_t v = (uint64_t)(uintptr_t)item - 1;
    size_t pid = (size_t)(v >> STRESS_SEQ_BITS);
    size_t seq = (size_t)(v & (((uint64_t)1 << STRESS_SEQ_BITS) - 1));
    if (pid >= (size_t)st->producers || seq >= st->per_producer) {
        t->bad_items++;
        return;
    }
    /* last[pid] holds the last sequence seen + 1 (0 = none yet). */
    if (seq + 1 <= last[pid])
        t->order_errors++;
    last[pid] = seq + 1;
    /* Relaxed: the counter is only read after pthread_join, which orders everything. */
    if (atomic_fetch_add_explicit(&st->seen[pid * st->per_producer + seq], 1,
                                  memory_order_relaxed) != 0)
        t->duplicates++;
    t->count++;
    t->sum += v + 1;
}

static void *stress_consumer(void *arg) {
    stress_thread_t *t = arg;
    stress_t *st = t->st;
    uint32_t rng = 0x85ebca6bu ^ (uint32_t)t->id;
    size_t last[Q_MAX_PRODUCERS] = {0};
    void *batch[STRESS_BATCH];
    unsigned fails = 0;
    for (;;) {
        size_t got;
        /* Read the done count before popping: if all producers had finished before this pop
         * and it still finds nothing, the queue is drained for good. */
        int done = atomic_load_explicit(&st->producers_done, memory_order_acquire) == st->producers;
        if (next_rand(&rng) % 3 == 0) {
            got = Q(pop_batch)(st->q, batch, 1 + next_rand(&rng) % STRESS_BATCH);
            for (size_t i = 0; i < got; i++)
                stress_take(t, last, batch[i]);
        } else {
            void *item = Q(pop)(st->q);
            got = item != NULL;
            if (item)
                stress_take(t, last, item);
        }
        if (got == 0) {
            if (done || stress_backoff(st, &fails))
                break;
        }
    }
    return NULL;
}

static void run_stress(int producers, int consumers) {
    stress_t st;
    stress_thread_t pt[Q_MAX_PRODUCERS], ct[Q_MAX_CONSUMERS];
    pthread_t ptid[Q_MAX_PRODUCERS], ctid[Q_MAX_CONSUMERS];
    ck_assert_int_le(producers, Q_MAX_PRODUCERS);
    ck_assert_int_le(consumers, Q_MAX_CONSUMERS);
    memset(&st, 0, sizeof(st));
    ck_assert_int_eq(Q(new)(&st.q, STRESS_CAPACITY), 0);
    st.producers = producers;
    st.per_producer = STRESS_TOTAL / (size_t)producers;
    atomic_init(&st.producers_done, 0);
    atomic_init(&st.stalled, 0);
    st.deadline = now_seconds() + STRESS_DEADLINE_S;
    size_t total = st.per_producer * (size_t)producers;
    st.seen = calloc(total, sizeof(st.seen[0]));
    ck_assert_ptr_nonnull(st.seen);

    memset(pt, 0, sizeof(pt));
    memset(ct, 0, sizeof(ct));
    for (int i = 0; i < consumers; i++) {
        ct[i].st = &st;
        ct[i].id = i;
        ck_assert_int_eq(pthread_create(&ctid[i], NULL, stress_consumer, &ct[i]), 0);
    }
    for (int i = 0; i < producers; i++) {
        pt[i].st = &st;
        pt[i].id = i;
        ck_assert_int_eq(pthread_create(&ptid[i], NULL, stress_producer, &pt[i]), 0);
    }
    for (int i = 0; i < producers; i++)
        ck_assert_int_eq(pthread_join(ptid[i], NULL), 0);
    for (int i = 0; i < consumers; i++)
        ck_assert_int_eq(pthread_join(ctid[i], NULL), 0);

    size_t count = 0, order_errors = 0, bad = 0, dups = 0;
    uint64_t sum = 0, want_sum = 0;
    for (int i = 0; i < producers; i++)
        bad += pt[i].bad_items;
    for (int i = 0; i < consumers; i++) {
        count += ct[i].count;
        sum += ct[i].sum;
        order_errors += ct[i].order_errors;
        bad += ct[i].bad_items;
        dups += ct[i].duplicates;
    }
    size_t missing = 0;
    for (int p = 0; p < producers; p++) {
        for (size_t s = 0; s < st.per_producer; s++) {
            want_sum += (uint64_t)(uintptr_t)STRESS_ENCODE(p, s);
            if (atomic_load_explicit(&st.seen[(size_t)p * st.per_producer + s],
                                     memory_order_relaxed) != 1)
                missing++;
        }
    }
    ck_assert_msg(atomic_load_explicit(&st.stalled, memory_order_relaxed) == 0,
                  "stalled: no progress for %d s (%zu of %zu items delivered)", STRESS_DEADLINE_S,
                  count, total);
    ck_assert_uint_eq(bad, 0);
    ck_assert_uint_eq(dups, 0);
    ck_assert_uint_eq(missing, 0);
    ck_assert_uint_eq(order_errors, 0);
    ck_assert_uint_eq(count, total);
    ck_assert_uint_eq(sum, want_sum);
    ck_assert_ptr_null(Q(pop)(st.q));
    ck_assert_uint_eq(Q(size_approx)(st.q), 0);
    free(st.seen);
    Q(free)(st.q);
}

/* Creates the suite `name` with two cases, returned (where the pointer is not NULL) for the
 * caller to add its own tests to: "single_thread", already holding the shared cases above, and
 * "stress", empty, for the caller's thread shapes. The caller's tests run after the shared ones. */
static Suite *queue_suite(const char *name, TCase **single, TCase **stress) {
    Suite *s = suite_create(name);
    TCase *tc = tcase_create("single_thread");
    tcase_add_test(tc, test_new_rejects_bad_capacity);
#ifndef FA_TEST_SANITIZED
    tcase_add_test(tc, test_new_reports_enomem);
#endif
    tcase_add_test(tc, test_capacity_rounds_up_to_power_of_two);
    tcase_add_test(tc, test_fifo_full_and_empty);
    tcase_add_test(tc, test_smallest_queue_edges);
    tcase_add_test(tc, test_wraps_around_many_times);
    tcase_add_test(tc, test_batch_partial_when_nearly_full_or_empty);
    tcase_add_test(tc, test_null_and_invalid_arguments);
    suite_add_tcase(s, tc);
    TCase *st = tcase_create("stress");
    /* Generous: each case takes a few seconds on 2 cores, far more under sanitizers. */
    tcase_set_timeout(st, 120);
    suite_add_tcase(s, st);
    if (single)
        *single = tc;
    if (stress)
        *stress = st;
    return s;
}

#endif
