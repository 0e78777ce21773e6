/* core/workers.h: a fixed pool of worker threads sharing one bounded MPMC job queue.
 *
 * Work sharing (DESIGN.md §2): producers (I/O loops) push jobs; every idle worker pops from the
 * same queue. An idle worker spins briefly (a job usually follows soon under load and a futex
 * sleep/wake costs microseconds on this VM), then parks on an event count, so an idle pool uses
 * no CPU. Producers pay one relaxed load when nobody sleeps.
 *
 * Threads: _new/_free on the owner thread; _submit from any thread.
 */
#ifndef FA_CORE_WORKERS_H
#define FA_CORE_WORKERS_H

#include <stddef.h>
#include <stdint.h>

/* Runs one job on a worker thread. */
typedef void (*fa__job_fn)(void *job, void *ctx);

typedef struct fa__workers_s fa__workers_t;

/* Starts n threads (n >= 1) with a job queue of `capacity` slots. 0, FA_EINVAL, FA_ENOMEM, or the
 * pthread error as FA_E*. */
int fa__workers_new(fa__workers_t **out, int n, size_t capacity, fa__job_fn fn, void *ctx);

/* Queues a job and wakes a parked worker. Returns 0 or FA_EFULL (the caller keeps the job). */
int fa__workers_submit(fa__workers_t *w, void *job);

/* Queues a job without waking anyone: a producer that submits a burst (an I/O loop handling a
 * read chunk of hundreds of requests) calls fa__workers_wake once afterwards instead of paying a
 * futex syscall per job. Returns 0 or FA_EFULL. */
int fa__workers_submit_lazy(fa__workers_t *w, void *job);

/* Wakes up to n parked workers if any are parked (a no-op costing one fence and a load when all
 * are busy or spinning). */
void fa__workers_wake(fa__workers_t *w, int n);

/* Runs every job still queued, stops and joins the threads, frees the pool. Blocks while a job is
 * running. */
void fa__workers_free(fa__workers_t *w);

int fa__workers_count(const fa__workers_t *w);

/* Number of CPUs this process may run on (sched_getaffinity), at least 1. */
int fa__cpu_count(void);

/* Most microseconds a polling window may be set to (fa__spin_window_ns). */
#define FA_SPIN_US_MAX 10000

/* A bounded polling window in nanoseconds: `default_us`, or the environment variable `env`
 * (0..FA_SPIN_US_MAX, for measurements; a bad value is reported and ignored); 0 on a single
 * CPU, where polling would only hold off the thread being waited for. */
uint64_t fa__spin_window_ns(const char *env, unsigned default_us);

/* One round of a polling wait: sched_yield(), so polling never holds off a runnable thread
 * (ours or not); or, with FASTERAPI_SPIN_YIELD=0 (for measurements), a pause instruction. */
void fa__spin_pause(void);

/* Worker scheduling class: SCHED_BATCH by default, or the environment's FASTERAPI_WORKER_SCHED
 * ("batch" or "normal"; anything else is reported and ignored). Read once when a pool starts;
 * each worker thread then applies it to itself with fa__worker_sched_apply. Returns the policy
 * (SCHED_BATCH or SCHED_OTHER). */
int fa__worker_sched_policy(void);

/* Puts the calling thread in `policy` (from fa__worker_sched_policy). Best effort: a refusal
 * (seccomp, an unusual kernel) is logged at debug level and the thread stays as it was. */
void fa__worker_sched_apply(int policy);

#endif
