/* fasterapi/queue.h: bounded lock-free queues of pointers.
 *
 * Three shapes, each a power-of-two ring of `void *` items with cache-line padded indices and C11
 * atomics (research/perf_anchors.md §E):
 *
 *   fa_spsc_t  one producer thread, one consumer thread (Lamport ring with cached peer indices).
 *   fa_mpsc_t  any number of producers, one consumer (completions back to an I/O loop).
 *   fa_mpmc_t  any number of producers and consumers (Vyukov bounded queue; the worker job queue).
 *
 * Items are opaque non-NULL pointers; ownership of what they point to moves with the item. The
 * capacity given to _new is rounded up to a power of two (minimum 2); a full queue refuses a push
 * (FA_EFULL) instead of growing, so memory is bounded.
 *
 * Thread affinity: _new/_free from any thread while no other thread uses the queue. For fa_spsc_t
 * exactly one thread may push and exactly one thread may pop at a time; for fa_mpsc_t exactly one
 * thread may pop; fa_mpmc_t has no restriction. _size_approx may be called from any thread and is
 * only a hint.
 *
 * Batch calls move up to n items with one index publication: they return how many items moved
 * (0 when full/empty), never a partial item. Per-producer FIFO order holds for every shape: two
 * items pushed by one thread are popped in the order they were pushed.
 */
#ifndef FASTERAPI_QUEUE_H
#define FASTERAPI_QUEUE_H

#include <stddef.h>

#include "fasterapi/common.h"

typedef struct fa_spsc_s fa_spsc_t;
typedef struct fa_mpsc_s fa_mpsc_t;
typedef struct fa_mpmc_s fa_mpmc_t;

/* Lifecycle. _new returns 0 and sets *out, or FA_EINVAL (capacity 0 or > 2^30) / FA_ENOMEM. */
FA_EXTERN int fa_spsc_new(fa_spsc_t **out, size_t capacity);
FA_EXTERN void fa_spsc_free(fa_spsc_t *q);
FA_EXTERN int fa_mpsc_new(fa_mpsc_t **out, size_t capacity);
FA_EXTERN void fa_mpsc_free(fa_mpsc_t *q);
FA_EXTERN int fa_mpmc_new(fa_mpmc_t **out, size_t capacity);
FA_EXTERN void fa_mpmc_free(fa_mpmc_t *q);

/* Single-item operations. push returns 0 or FA_EFULL (item not taken; FA_EINVAL for NULL).
 * pop returns the oldest item or NULL when empty. */
FA_EXTERN int fa_spsc_push(fa_spsc_t *q, void *item);
FA_EXTERN void *fa_spsc_pop(fa_spsc_t *q);
FA_EXTERN int fa_mpsc_push(fa_mpsc_t *q, void *item);
FA_EXTERN void *fa_mpsc_pop(fa_mpsc_t *q);
FA_EXTERN int fa_mpmc_push(fa_mpmc_t *q, void *item);
FA_EXTERN void *fa_mpmc_pop(fa_mpmc_t *q);

/* Batch operations: push up to n items from items[0..n), pop up to max into out[0..max).
 * Return the count moved; pushed items are a prefix of items[], in order. */
FA_EXTERN size_t fa_spsc_push_batch(fa_spsc_t *q, void *const *items, size_t n);
FA_EXTERN size_t fa_spsc_pop_batch(fa_spsc_t *q, void **out, size_t max);
FA_EXTERN size_t fa_mpsc_push_batch(fa_mpsc_t *q, void *const *items, size_t n);
FA_EXTERN size_t fa_mpsc_pop_batch(fa_mpsc_t *q, void **out, size_t max);
FA_EXTERN size_t fa_mpmc_push_batch(fa_mpmc_t *q, void *const *items, size_t n);
FA_EXTERN size_t fa_mpmc_pop_batch(fa_mpmc_t *q, void **out, size_t max);

/* Capacity (after rounding) and an approximate item count. */
FA_EXTERN size_t fa_spsc_capacity(const fa_spsc_t *q);
FA_EXTERN size_t fa_mpsc_capacity(const fa_mpsc_t *q);
FA_EXTERN size_t fa_mpmc_capacity(const fa_mpmc_t *q);
FA_EXTERN size_t fa_spsc_size_approx(const fa_spsc_t *q);
FA_EXTERN size_t fa_mpsc_size_approx(const fa_mpsc_t *q);
FA_EXTERN size_t fa_mpmc_size_approx(const fa_mpmc_t *q);

#endif
