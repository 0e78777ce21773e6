/* Tests for src/core/workers.c: every job runs exactly once, idle workers park and wake, and
 * freeing the pool runs what is still queued. Runs under TSan too (label unit). */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "core/workers.h"
#include "fa_test.h"
#include "fasterapi/error.h"

#if defined(__SANITIZE_THREAD__)
#define JOBS 20000
#else
#define JOBS 200000
#endif

typedef struct {
    _Atomic int runs[JOBS];
    _Atomic long total;
} counts_t;

static counts_t *counts;

static void count_job(void *job, void *ctx) {
    (void)ctx;
    size_t i = (size_t)(uintptr_t)job - 1;
    atomic_fetch_add_explicit(&counts->runs[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&counts->total, 1, memory_order_relaxed);
}

typedef struct {
    fa__workers_t *w;
    size_t first, n;
} producer_t;

static void *produce(void *arg) {
    producer_t *p = arg;
    for (size_t i = p->first; i < p->first + p->n; i++) {
        while (fa__workers_submit(p->w, (void *)(uintptr_t)(i + 1)) == FA_EFULL)
            sched_yield();
    }
    return NULL;
}

START_TEST(test_every_job_runs_once) {
    counts = calloc(1, sizeof *counts);
    fa__workers_t *w;
    ck_assert_int_eq(fa__workers_new(&w, 3, 256, count_job, NULL), 0);
    ck_assert_int_eq(fa__workers_count(w), 3);
    pthread_t t[2];
    producer_t p[2] = {{w, 0, JOBS / 2}, {w, JOBS / 2, JOBS - JOBS / 2}};
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, produce, &p[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    fa__workers_free(w); /* runs whatever is still queued */
    ck_assert_int_eq(atomic_load(&counts->total), JOBS);
    for (size_t i = 0; i < JOBS; i++)
        ck_assert_int_eq(atomic_load(&counts->runs[i]), 1);
    free(counts);
}
END_TEST

START_TEST(test_idle_workers_park_and_wake) {
    counts = calloc(1, sizeof *counts);
    fa__workers_t *w;
    ck_assert_int_eq(fa__workers_new(&w, 2, 64, count_job, NULL), 0);
    /* Let the workers go idle and park, then trickle jobs one at a time: each must be picked up
     * (a lost wake-up would leave a job waiting until free). */
    for (size_t i = 0; i < 50; i++) {
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
        ck_assert_int_eq(fa__workers_submit(w, (void *)(uintptr_t)(i + 1)), 0);
        for (int spin = 0; atomic_load(&counts->total) < (long)(i + 1); spin++) {
            ck_assert_msg(spin < 5000, "job %zu was not picked up within 5 s", i);
            struct timespec one = {0, 1000 * 1000};
            nanosleep(&one, NULL);
        }
    }
    fa__workers_free(w);
    free(counts);
}
END_TEST

static _Atomic int gate_open;
static _Atomic int blocked_started;

static void gated_job(void *job, void *ctx) {
    (void)ctx;
    if ((uintptr_t)job == 1) {
        atomic_store(&blocked_started, 1);
        while (!atomic_load(&gate_open))
            sched_yield();
    }
    atomic_fetch_add(&counts->total, 1);
}

START_TEST(test_full_queue_refuses) {
    counts = calloc(1, sizeof *counts);
    fa__workers_t *w;
    ck_assert_int_eq(fa__workers_new(&w, 1, 4, gated_job, NULL), 0);
    /* Job 1 holds the only worker; then exactly 4 jobs fit and the 5th is refused. */
    ck_assert_int_eq(fa__workers_submit(w, (void *)(uintptr_t)1), 0);
    while (!atomic_load(&blocked_started))
        sched_yield();
    for (uintptr_t i = 2; i <= 5; i++)
        ck_assert_int_eq(fa__workers_submit(w, (void *)i), 0);
    ck_assert_int_eq(fa__workers_submit(w, (void *)(uintptr_t)6), FA_EFULL);
    atomic_store(&gate_open, 1);
    fa__workers_free(w);
    ck_assert_int_eq(atomic_load(&counts->total), 5); /* the refused job was not taken */
    free(counts);
}
END_TEST

static _Atomic int seen_policy = -1;

static void record_policy(void *job, void *ctx) {
    (void)job;
    (void)ctx;
    atomic_store(&seen_policy, sched_getscheduler(0));
}

/* The policy a worker thread runs under, seen from inside a job. */
static int policy_in_worker(void) {
    atomic_store(&seen_policy, -1);
    fa__workers_t *w;
    ck_assert_int_eq(fa__workers_new(&w, 1, 4, record_policy, NULL), 0);
    ck_assert_int_eq(fa__workers_submit(w, (void *)1), 0);
    fa__workers_free(w); /* runs the job if the worker has not yet */
    return atomic_load(&seen_policy);
}

/* Workers are SCHED_BATCH unless FASTERAPI_WORKER_SCHED=normal: waking one must not preempt the
 * loop thread (workers.c fa__worker_sched_policy). The submitting thread keeps its own policy. */
START_TEST(test_workers_run_sched_batch) {
    unsetenv("FASTERAPI_WORKER_SCHED");
    ck_assert_int_eq(fa__worker_sched_policy(), SCHED_BATCH);
    ck_assert_int_eq(policy_in_worker(), SCHED_BATCH);
    ck_assert_int_eq(sched_getscheduler(0), SCHED_OTHER);
    setenv("FASTERAPI_WORKER_SCHED", "normal", 1);
    ck_assert_int_eq(fa__worker_sched_policy(), SCHED_OTHER);
    ck_assert_int_eq(policy_in_worker(), SCHED_OTHER);
    setenv("FASTERAPI_WORKER_SCHED", "bogus", 1); /* warned about, the default kept */
    ck_assert_int_eq(fa__worker_sched_policy(), SCHED_BATCH);
    unsetenv("FASTERAPI_WORKER_SCHED");
}
END_TEST

START_TEST(test_invalid_arguments) {
    fa__workers_t *w;
    ck_assert_int_eq(fa__workers_new(&w, 0, 4, count_job, NULL), FA_EINVAL);
    ck_assert_int_eq(fa__workers_new(&w, 1, 4, NULL, NULL), FA_EINVAL);
    ck_assert_int_ge(fa__cpu_count(), 1);
}
END_TEST

int main(void) {
    Suite *s = suite_create("core/workers");
    TCase *tc = tcase_create("workers");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_every_job_runs_once);
    tcase_add_test(tc, test_idle_workers_park_and_wake);
    tcase_add_test(tc, test_full_queue_refuses);
    tcase_add_test(tc, test_invalid_arguments);
    tcase_add_test(tc, test_workers_run_sched_batch);
    suite_add_tcase(s, tc);
    return fa_test_run(s);
}
