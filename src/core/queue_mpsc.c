/* core/queue_mpsc.c: bounded multi-producer single-consumer queue (fa_mpsc_t).
 *
 * The shape for "many threads hand results back to one event loop" (worker completions to an
 * I/O thread). Producers are exactly those of Dmitry Vyukov's bounded MPMC queue (1024cores.net,
 * "Bounded MPMC queue"; also rigtorp/MPMCQueue): a CAS on the shared tail claims a position, the
 * item goes into the cell, and a release store of the cell's sequence number publishes it. The
 * cell protocol, the layout, allocation and the producer code are shared with fa_mpmc_t
 * (core/queue_internal.h, "the cell queue"); this file adds the consumer side.
 *
 * The consumer side is where having one consumer pays: the head index is owned by the consumer
 * thread, so popping needs no CAS and no read-modify-write at all. The consumer looks at the cell
 * at head; if its sequence says "ready for position head" (seq == head + 1, acquire) the item is
 * ours, we take it and free the cell for the next lap (seq = head + capacity, release). Producers
 * never read head: they learn that a cell is free from its sequence number, so the head line
 * stays in the consumer's cache. head is still an atomic, stored relaxed, only so that
 * _size_approx may read it from another thread without a data race.
 *
 * pop_batch drains consecutive ready cells and publishes head once. Each drained cell still gets
 * its own release store of seq (that store *is* the "slot free" signal in Vyukov's protocol), but
 * those go to lines the consumer has just read, so they cost no extra transfer.
 *
 * Like every Vyukov queue, a pop may report empty while a later position is already published:
 * the producer of position head claimed it but has not written yet. The item shows up on a later
 * pop; per-producer FIFO still holds because one producer's positions increase with its pushes.
 *
 * Layout (shared with fa_mpmc_t): line 0 read-only (mask, capacity), line 1 tail (producers'
 * CAS), line 2 head (the consumer's), then the cells (16 B, four per line) and a spare line.
 *
 * Thread affinity: push/push_batch from any number of threads; pop/pop_batch from one thread at
 * a time; _capacity and _size_approx from anywhere.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

/* Completes struct fa_mpsc_s as the shared cell queue: fa__cellq_t is fa_mpsc_t here. */
#define FA__CELLQ_TAG fa_mpsc_s
#include "core/queue_internal.h"
#include "fasterapi/error.h"
#include "fasterapi/queue.h"

int fa_mpsc_new(fa_mpsc_t **out, size_t capacity) {
    return fa__cellq_new(out, capacity);
}

void fa_mpsc_free(fa_mpsc_t *q) {
    free(q);
}

int fa_mpsc_push(fa_mpsc_t *q, void *item) {
    return fa__cellq_push(q, item);
}

size_t fa_mpsc_push_batch(fa_mpsc_t *q, void *const *items, size_t n) {
    return fa__cellq_push_batch(q, items, n);
}

void *fa_mpsc_pop(fa_mpsc_t *q) {
    if (!q)
        return NULL;
    /* Relaxed: only this (the consumer) thread writes head. */
    size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    fa__qcell_t *cell = &q->cells[head & q->mask];
    /* Acquire pairs with the producer's release store of seq = head + 1: its write of data
     * happens before our read. */
    if (atomic_load_explicit(&cell->seq, memory_order_acquire) != head + 1)
        return NULL;
    void *item = cell->data;
    /* Release frees the cell for the producer of position head + capacity; our read of data
     * happens before its acquire load of seq and its overwrite. */
    atomic_store_explicit(&cell->seq, head + q->capacity, memory_order_release);
    /* Relaxed: nothing is published through head (producers never read it); it is atomic only
     * for _size_approx. */
    atomic_store_explicit(&q->head, head + 1, memory_order_relaxed);
    return item;
}

size_t fa_mpsc_pop_batch(fa_mpsc_t *q, void **out, size_t max) {
    if (!q || !out || max == 0)
        return 0;
    /* Relaxed: our own index (see fa_mpsc_pop). */
    size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    size_t k;
    for (k = 0; k < max; k++) {
        fa__qcell_t *cell = &q->cells[(head + k) & q->mask];
        /* Acquire: as in fa_mpsc_pop, the item of position head + k is visible. */
        if (atomic_load_explicit(&cell->seq, memory_order_acquire) != head + k + 1)
            break;
        out[k] = cell->data;
        /* Release: as in fa_mpsc_pop, hands the cell to the next lap's producer. */
        atomic_store_explicit(&cell->seq, head + k + q->capacity, memory_order_release);
    }
    if (k > 0) {
        /* Relaxed, once for the batch: see fa_mpsc_pop. */
        atomic_store_explicit(&q->head, head + k, memory_order_relaxed);
    }
    return k;
}

size_t fa_mpsc_capacity(const fa_mpsc_t *q) {
    return fa__cellq_capacity(q);
}

size_t fa_mpsc_size_approx(const fa_mpsc_t *q) {
    return fa__cellq_size_approx(q);
}
