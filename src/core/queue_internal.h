/* core/queue_internal.h: shared pieces of the three lock-free queues (queue_spsc.c, queue_mpsc.c,
 * queue_mpmc.c): the cache-line size, a spin-wait hint, capacity rounding, the aligned allocation,
 * and the producer half of Dmitry Vyukov's bounded queue, which fa_mpsc_t and fa_mpmc_t share.
 *
 * fa_mpsc_t and fa_mpmc_t also share their whole layout and everything but the consumer side
 * (the "cell queue" at the end of this file). A file that implements one of them defines
 * FA__CELLQ_TAG to its public struct tag before including this header; the struct is then
 * completed here under that tag, and fa__cellq_t is the file's public type, so its thin public
 * wrappers pass their handle through with no cast and no extra indirection.
 *
 * The helpers hold no state of their own; the cell functions are called by producer threads of
 * an fa_mpsc_t / fa_mpmc_t, any number of them at once.
 */
#ifndef FA_CORE_QUEUE_INTERNAL_H
#define FA_CORE_QUEUE_INTERNAL_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fasterapi/error.h"

/* The coherence granule we keep hot indices apart by. 64 B is the line size on every x86 and
 * most arm64 parts we target (and rigtorp's default). Intel's adjacent-line prefetcher pulls lines
 * in pairs, which is why folly pads to 128 B (research/perf_anchors.md §E.2 #1); that is a one-line
 * change here if a benchmark ever shows it matters. Every queue's layout follows this macro. */
#define FA_CACHELINE 64
_Static_assert((FA_CACHELINE & (FA_CACHELINE - 1)) == 0, "cache line must be a power of two");

/* Largest accepted capacity: 2^30 slots is 8 GiB of pointers (16 GiB of MPMC cells), far beyond
 * any sane bound for a message queue; refusing more keeps size arithmetic far from overflow. */
#define FA_QUEUE_MAX_CAPACITY ((size_t)1 << 30)
_Static_assert((FA_QUEUE_MAX_CAPACITY & (FA_QUEUE_MAX_CAPACITY - 1)) == 0,
               "max capacity must be a power of two");

/* Rounding goes up to the next power of two, but never below 2: with one slot the "full" and
 * "empty" sequence values of Vyukov's cells would coincide (seq == pos + 1 == pos + capacity). */
#define FA_QUEUE_MIN_CAPACITY ((size_t)2)

/* Tell the CPU we are in a spin-wait: on x86 PAUSE stops the pipeline from speculating a memory
 * order violation when the awaited line changes, and yields the core to an SMT sibling. */
static inline void fa__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

/* Rounds a requested capacity up to a power of two (>= FA_QUEUE_MIN_CAPACITY). Returns 0 and
 * sets *out, or FA_EINVAL for 0 or more than FA_QUEUE_MAX_CAPACITY. */
static inline int fa__queue_round_capacity(size_t requested, size_t *out) {
    if (requested == 0 || requested > FA_QUEUE_MAX_CAPACITY)
        return FA_EINVAL;
    size_t cap = FA_QUEUE_MIN_CAPACITY;
    while (cap < requested)
        cap <<= 1;
    *out = cap;
    return 0;
}

/* Allocates a ring: a `header`-byte struct followed by at least `capacity` slots of `slot`
 * bytes (the count rounded by fa__queue_round_capacity and stored in *cap), aligned to a cache
 * line, the size rounded up to whole lines plus one so that no other allocation shares our
 * first or last line (no false sharing with a neighbour's data). Returns 0 with *mem set
 * (release with free()), or FA_EINVAL / FA_ENOMEM. */
static inline int fa__queue_ring_alloc(void **mem, size_t *cap, size_t capacity, size_t header,
                                       size_t slot) {
    int rc = fa__queue_round_capacity(capacity, cap);
    if (rc < 0)
        return rc;
    size_t size = header + *cap * slot + FA_CACHELINE;
    size = (size + FA_CACHELINE - 1) & ~(size_t)(FA_CACHELINE - 1);
    *mem = aligned_alloc(FA_CACHELINE, size);
    return *mem ? 0 : FA_ENOMEM;
}

/* Length of the prefix of items[0..n) that has no NULL: pushing stops at the first NULL, which
 * is an invalid item (a NULL pop result means "empty"). */
static inline size_t fa__queue_valid_prefix(void *const *items, size_t n) {
    if (!items)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!items[i])
            return i;
    return n;
}

/* Clamps a racy (tail - head) difference into [0, capacity]: both indices are read at different
 * moments, so the difference may be briefly negative (wrapped) or above capacity. */
static inline size_t fa__queue_clamp_size(size_t head, size_t tail, size_t capacity) {
    if (tail <= head)
        return 0;
    size_t n = tail - head;
    return n > capacity ? capacity : n;
}

/* ---- Vyukov cells (1024cores.net, "Bounded MPMC queue") ------------------------------------
 *
 * Each cell carries a sequence number that says whose turn it is at position `pos` (the
 * ever-growing ticket; the cell is cells[pos & mask]):
 *
 *   seq == pos          free for the producer that claims position pos
 *   seq == pos + 1      holds the item of position pos, ready for its consumer
 *   seq == pos + cap    freed again, now for the producer of the next lap (pos + cap)
 *
 * A producer claims a position with one CAS on the shared tail, writes the item, then publishes it
 * by a release store of seq; the consumer side is in queue_mpsc.c (no CAS, one consumer) and
 * queue_mpmc.c (CAS on head). Because indices are 64-bit and only grow, a sequence value names
 * one lap of one cell: there is no ABA. Two 8-byte words per cell, four cells per line. */
typedef struct {
    _Atomic size_t seq;
    void *data;
} fa__qcell_t;

_Static_assert(FA_CACHELINE % sizeof(fa__qcell_t) == 0, "a cell must never straddle two lines");

/* Pushes one item (non-NULL, checked by the caller). Returns 0 or FA_EFULL. */
static inline int fa__cells_push(fa__qcell_t *cells, size_t mask, _Atomic size_t *tail,
                                 void *item) {
    /* Relaxed: the position is only a guess at which cell to try; the CAS below validates it and
     * no data is published through the tail (the cell's seq does that). */
    size_t pos = atomic_load_explicit(tail, memory_order_relaxed);
    fa__qcell_t *cell;
    for (;;) {
        cell = &cells[pos & mask];
        /* Acquire pairs with the consumer's release store that freed this cell (seq = pos): its
         * read of the previous lap's item happens before our overwrite below. */
        size_t seq = atomic_load_explicit(&cell->seq, memory_order_acquire);
        intptr_t dif = (intptr_t)(seq - pos);
        if (dif == 0) {
            /* Relaxed CAS: it only decides which producer owns position pos. Ordering with the
             * consumer comes from the acquire above and the release below, not from the tail.
             * Weak: a spurious failure just goes round the loop again. */
            if (atomic_compare_exchange_weak_explicit(tail, &pos, pos + 1, memory_order_relaxed,
                                                      memory_order_relaxed))
                break;
        } else if (dif < 0) {
            return FA_EFULL; /* the cell still holds (or is being drained of) last lap's item */
        } else {
            /* Another producer already took pos. Relaxed for the same reason as above. */
            pos = atomic_load_explicit(tail, memory_order_relaxed);
        }
    }
    cell->data = item;
    /* Release publishes the item: the consumer's acquire load of seq == pos + 1 sees data. */
    atomic_store_explicit(&cell->seq, pos + 1, memory_order_release);
    return 0;
}

/* Pushes up to n items (all non-NULL, checked by the caller) into consecutive positions claimed
 * with one CAS: count how many cells from the current tail are free for this lap, claim that many
 * at once, then fill and publish each. Returns the count pushed (0 when full). */
static inline size_t fa__cells_push_batch(fa__qcell_t *cells, size_t mask, _Atomic size_t *tail,
                                          void *const *items, size_t n) {
    if (n == 0)
        return 0;
    /* Relaxed: a guess validated by the CAS, as in fa__cells_push. */
    size_t pos = atomic_load_explicit(tail, memory_order_relaxed);
    size_t k;
    for (;;) {
        size_t seq = 0;
        for (k = 0; k < n; k++) {
            /* Acquire, per cell, pairs with the release that freed it (see fa__cells_push). The
             * k cells we saw free stay free until someone claims their positions, and nobody can
             * while the tail still equals pos, so a successful CAS below owns exactly them. */
            seq = atomic_load_explicit(&cells[(pos + k) & mask].seq, memory_order_acquire);
            if (seq != pos + k)
                break;
        }
        if (k > 0) {
            /* Relaxed CAS claims positions [pos, pos + k); on failure pos is reloaded. */
            if (atomic_compare_exchange_weak_explicit(tail, &pos, pos + k, memory_order_relaxed,
                                                      memory_order_relaxed))
                break;
            continue;
        }
        if ((intptr_t)(seq - pos) < 0)
            return 0; /* full */
        /* Relaxed: another producer took pos, try again from the new tail. */
        pos = atomic_load_explicit(tail, memory_order_relaxed);
    }
    for (size_t i = 0; i < k; i++) {
        fa__qcell_t *cell = &cells[(pos + i) & mask];
        cell->data = items[i];
        /* Release publishes this item to its consumer (acquire of seq == pos + i + 1). */
        atomic_store_explicit(&cell->seq, pos + i + 1, memory_order_release);
    }
    return k;
}

/* ---- the cell queue of fa_mpsc_t and fa_mpmc_t ---------------------------------------------
 *
 * Compiled only where FA__CELLQ_TAG names the public struct (queue_mpsc.c: fa_mpsc_s,
 * queue_mpmc.c: fa_mpmc_s), so each file gets its own complete type with this one layout:
 * line 0 read-only (mask, capacity), line 1 tail (the producers' CAS), line 2 head (the consumer
 * side's), then the cells (16 B, four per line) and a spare line.
 *
 * Thread affinity: that of the public type; fa__cellq_push/_push_batch from any number of
 * producer threads, _capacity and _size_approx from anywhere. */
#ifdef FA__CELLQ_TAG
typedef struct FA__CELLQ_TAG fa__cellq_t;

struct FA__CELLQ_TAG {
    /* Read-only after fa__cellq_new. */
    size_t mask;
    size_t capacity;

    /* Next position to push; producers CAS it. */
    alignas(FA_CACHELINE) _Atomic size_t tail;

    /* Next position to pop: written only by the one consumer of an fa_mpsc_t, CASed by the
     * consumers of an fa_mpmc_t. */
    alignas(FA_CACHELINE) _Atomic size_t head;

    alignas(FA_CACHELINE) fa__qcell_t cells[];
};

_Static_assert(offsetof(fa__cellq_t, head) - offsetof(fa__cellq_t, tail) >= FA_CACHELINE,
               "head and tail must sit on different cache lines");
_Static_assert(offsetof(fa__cellq_t, cells) % FA_CACHELINE == 0,
               "cells must start on their own cache line");

/* Allocates a queue of at least `capacity` cells (rounded up by fa__queue_round_capacity).
 * Returns 0 and sets *out to a new queue (release with free()), or FA_EINVAL / FA_ENOMEM with
 * *out untouched. */
static inline int fa__cellq_new(fa__cellq_t **out, size_t capacity) {
    size_t cap;
    void *mem;
    if (!out)
        return FA_EINVAL;
    int rc = fa__queue_ring_alloc(&mem, &cap, capacity, sizeof(fa__cellq_t), sizeof(fa__qcell_t));
    if (rc)
        return rc;
    fa__cellq_t *q = mem;
    q->mask = cap - 1;
    q->capacity = cap;
    /* Initial state: every cell free for the first lap (seq == its index). The queue is not
     * shared yet, so plain initialisation suffices: whatever hands the queue pointer to other
     * threads (thread creation, a release store) orders it before their first access. */
    atomic_init(&q->tail, 0);
    atomic_init(&q->head, 0);
    for (size_t i = 0; i < cap; i++) {
        atomic_init(&q->cells[i].seq, i);
        q->cells[i].data = NULL;
    }
    *out = q;
    return 0;
}

/* The public push: 0, FA_EFULL, or FA_EINVAL for a NULL queue or item. */
static inline int fa__cellq_push(fa__cellq_t *q, void *item) {
    if (!q || !item)
        return FA_EINVAL;
    return fa__cells_push(q->cells, q->mask, &q->tail, item);
}

/* The public push_batch: pushes the prefix of items[0..n) before any NULL; returns the count. */
static inline size_t fa__cellq_push_batch(fa__cellq_t *q, void *const *items, size_t n) {
    n = fa__queue_valid_prefix(items, n);
    if (!q || n == 0)
        return 0;
    return fa__cells_push_batch(q->cells, q->mask, &q->tail, items, n);
}

static inline size_t fa__cellq_capacity(const fa__cellq_t *q) {
    return q ? q->capacity : 0;
}

static inline size_t fa__cellq_size_approx(const fa__cellq_t *q) {
    if (!q)
        return 0;
    /* Relaxed: a hint only; head first so the racy difference errs high, then clamped. */
    size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    return fa__queue_clamp_size(head, tail, q->capacity);
}
#endif /* FA__CELLQ_TAG */

#endif
