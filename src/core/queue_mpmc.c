/* core/queue_mpmc.c: bounded multi-producer multi-consumer queue (fa_mpmc_t).
 *
 * Dmitry Vyukov's bounded MPMC queue (1024cores.net, "Bounded MPMC queue"; the same scheme as
 * rigtorp/MPMCQueue's "turns"): an array of cells, each with a sequence number, and two 64-bit
 * positions that only grow, tail for producers and head for consumers, on separate cache lines.
 * One CAS per operation, no locks, and no ABA because a sequence value names one lap of one cell.
 *
 *   push: claim position pos = tail when cells[pos & mask].seq == pos (CAS tail -> pos + 1),
 *         write the item, publish with seq = pos + 1 (release).
 *   pop:  claim position pos = head when cells[pos & mask].seq == pos + 1 (CAS head -> pos + 1),
 *         read the item, free the cell with seq = pos + capacity (release).
 *
 * The layout, allocation and producer half are shared with fa_mpsc_t (core/queue_internal.h,
 * "the cell queue"); this file adds the consumer half. Batches reserve k consecutive cells with
 * a single CAS when all k are ready (free for push, published for pop), then fill or drain them
 * and publish each cell's sequence; a batch moves fewer than asked when fewer consecutive cells
 * are ready.
 *
 * Vyukov's queue can say "empty" while an item is in flight (its producer claimed the position
 * but has not published yet) and "full" while a consumer is still reading the oldest cell. Both
 * are transient and the callers retry, so neither loses anything. Per-producer FIFO holds for
 * every consumer: one producer's items take increasing positions, and each consumer claims
 * increasing positions.
 *
 * Cells are 16 B, four per line, as in Vyukov's original. rigtorp pads every slot to a line to
 * stop neighbouring consumers from false sharing; that costs 4x the memory and loses the
 * streaming win of four items per transfer in the common 1P1C case, so we do not.
 *
 * Layout (shared with fa_mpsc_t): line 0 read-only (mask, capacity), line 1 tail, line 2 head,
 * then the cells and a spare line.
 *
 * Thread affinity: every operation from any thread.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* Completes struct fa_mpmc_s as the shared cell queue: fa__cellq_t is fa_mpmc_t here. */
#define FA__CELLQ_TAG fa_mpmc_s
#include "core/queue_internal.h"
#include "fasterapi/error.h"
#include "fasterapi/queue.h"

int fa_mpmc_new(fa_mpmc_t **out, size_t capacity) {
    return fa__cellq_new(out, capacity);
}

void fa_mpmc_free(fa_mpmc_t *q) {
    free(q);
}

int fa_mpmc_push(fa_mpmc_t *q, void *item) {
    return fa__cellq_push(q, item);
}

size_t fa_mpmc_push_batch(fa_mpmc_t *q, void *const *items, size_t n) {
    return fa__cellq_push_batch(q, items, n);
}

void *fa_mpmc_pop(fa_mpmc_t *q) {
    if (!q)
        return NULL;
    /* Relaxed: a guess at the position, validated by the CAS; no data flows through head. */
    size_t pos = atomic_load_explicit(&q->head, memory_order_relaxed);
    fa__qcell_t *cell;
    for (;;) {
        cell = &q->cells[pos & q->mask];
        /* Acquire pairs with the producer's release store of seq = pos + 1: its write of data
         * happens before our read below. */
        size_t seq = atomic_load_explicit(&cell->seq, memory_order_acquire);
        intptr_t dif = (intptr_t)(seq - (pos + 1));
        if (dif == 0) {
            /* Relaxed CAS: it only decides which consumer owns position pos; the data ordering
             * comes from the cell's seq. Weak: a spurious failure loops. */
            if (atomic_compare_exchange_weak_explicit(&q->head, &pos, pos + 1, memory_order_relaxed,
                                                      memory_order_relaxed))
                break;
        } else if (dif < 0) {
            return NULL; /* not published yet: empty, or its producer is mid-push */
        } else {
            /* Another consumer took pos. Relaxed, as above. */
            pos = atomic_load_explicit(&q->head, memory_order_relaxed);
        }
    }
    void *item = cell->data;
    /* Release frees the cell for the producer of position pos + capacity: our read of data
     * happens before its acquire load of seq and its overwrite. */
    atomic_store_explicit(&cell->seq, pos + q->capacity, memory_order_release);
    return item;
}

size_t fa_mpmc_pop_batch(fa_mpmc_t *q, void **out, size_t max) {
    if (!q || !out || max == 0)
        return 0;
    /* Relaxed: a guess validated by the CAS, as in fa_mpmc_pop. */
    size_t pos = atomic_load_explicit(&q->head, memory_order_relaxed);
    size_t k;
    for (;;) {
        size_t seq = 0;
        for (k = 0; k < max; k++) {
            /* Acquire, per cell, pairs with its producer's release (see fa_mpmc_pop). The k
             * published cells stay ours to take until some consumer moves head past pos, which
             * makes our CAS fail, so a successful CAS owns exactly them. */
            seq = atomic_load_explicit(&q->cells[(pos + k) & q->mask].seq, memory_order_acquire);
            if (seq != pos + k + 1)
                break;
        }
        if (k > 0) {
            /* Relaxed CAS claims positions [pos, pos + k); on failure pos is reloaded. */
            if (atomic_compare_exchange_weak_explicit(&q->head, &pos, pos + k, memory_order_relaxed,
                                                      memory_order_relaxed))
                break;
            continue;
        }
        if ((intptr_t)(seq - (pos + 1)) < 0)
            return 0; /* empty */
        /* Relaxed: another consumer took pos, retry from the new head. */
        pos = atomic_load_explicit(&q->head, memory_order_relaxed);
    }
    for (size_t i = 0; i < k; i++) {
        fa__qcell_t *cell = &q->cells[(pos + i) & q->mask];
        out[i] = cell->data;
        /* Release: as in fa_mpmc_pop, hands the cell to the next lap's producer. */
        atomic_store_explicit(&cell->seq, pos + i + q->capacity, memory_order_release);
    }
    return k;
}

size_t fa_mpmc_capacity(const fa_mpmc_t *q) {
    return fa__cellq_capacity(q);
}

size_t fa_mpmc_size_approx(const fa_mpmc_t *q) {
    return fa__cellq_size_approx(q);
}
