/* core/queue_spsc.c: bounded single-producer single-consumer ring (fa_spsc_t).
 *
 * This is Lamport's ring with the two refinements that make it fast on real caches, as in Erik
 * Rigtorp's SPSCQueue (github.com/rigtorp/SPSCQueue) and Agrona's OneToOneConcurrentArrayQueue:
 *
 *  - head (next slot to pop, written only by the consumer) and tail (next slot to push, written
 *    only by the producer) are 64-bit counters that only grow; the slot is index & mask, the item
 *    count is tail - head, so full (count == capacity) and empty (count == 0) never look alike and
 *    no slot is wasted. At one push per nanosecond a 64-bit counter wraps after 584 years.
 *
 *  - each index lives on its own cache line, next to the *cached copy of the other side's index*
 *    that only its owner reads and writes. The producer re-reads head only when its cached copy
 *    says the ring is full, the consumer re-reads tail only when its copy says empty. In steady
 *    streaming the index lines therefore stay put in their owner's cache and only the slot lines
 *    travel, eight pointers per line (research/perf_anchors.md §E.4: 5.8 -> 2.0 ns/msg on our VM).
 *
 *  - the batch calls copy many items and publish the index once, so the consumer sees a whole
 *    batch with one cache-line transfer of the index (DPDK's burst trick, §E.2 #3).
 *
 * Memory layout (one aligned allocation):
 *
 *   line 0      mask, capacity          read-only after _new, shared clean by both cores
 *   line 1      head, tail_cache        consumer's line
 *   line 2      tail, head_cache        producer's line
 *   line 3..    slots[capacity]         then one spare line, so no neighbour shares the last one
 *
 * Ordering: the producer writes a slot, then stores tail with release; the consumer loads tail
 * with acquire before reading the slot. Symmetrically the consumer reads a slot, then stores head
 * with release, and the producer loads head with acquire before overwriting it. Nothing else is
 * needed: each index has exactly one writer.
 *
 * Thread affinity: one producer thread (push, push_batch) and one consumer thread (pop,
 * pop_batch) at a time; _capacity and _size_approx from anywhere.
 */
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

#include "core/queue_internal.h"
#include "fasterapi/error.h"
#include "fasterapi/queue.h"

struct fa_spsc_s {
    /* Read-only after fa_spsc_new. */
    size_t mask;
    size_t capacity;

    /* Consumer's line. tail_cache is the consumer's last view of tail (never ahead of it). */
    alignas(FA_CACHELINE) _Atomic size_t head;
    size_t tail_cache;

    /* Producer's line. head_cache is the producer's last view of head (never ahead of it). */
    alignas(FA_CACHELINE) _Atomic size_t tail;
    size_t head_cache;

    alignas(FA_CACHELINE) void *slots[];
};

_Static_assert(offsetof(struct fa_spsc_s, tail) - offsetof(struct fa_spsc_s, head) >= FA_CACHELINE,
               "head and tail must sit on different cache lines");
_Static_assert(offsetof(struct fa_spsc_s, slots) % FA_CACHELINE == 0,
               "slots must start on their own cache line");

int fa_spsc_new(fa_spsc_t **out, size_t capacity) {
    size_t cap;
    void *mem;
    if (!out)
        return FA_EINVAL;
    int rc = fa__queue_ring_alloc(&mem, &cap, capacity, sizeof(fa_spsc_t), sizeof(void *));
    if (rc)
        return rc;
    fa_spsc_t *q = mem;
    q->mask = cap - 1;
    q->capacity = cap;
    /* Plain initialisation: the queue is not shared yet (see queue.h, thread affinity). */
    atomic_init(&q->head, 0);
    q->tail_cache = 0;
    atomic_init(&q->tail, 0);
    q->head_cache = 0;
    *out = q;
    return 0;
}

void fa_spsc_free(fa_spsc_t *q) {
    free(q);
}

int fa_spsc_push(fa_spsc_t *q, void *item) {
    if (!q || !item)
        return FA_EINVAL;
    /* Relaxed: only this thread writes tail, so we read back our own last store. */
    size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    if (tail - q->head_cache == q->capacity) {
        /* Acquire pairs with the consumer's release store of head: its reads of the slots below
         * the new head happen before our overwrite of them. */
        q->head_cache = atomic_load_explicit(&q->head, memory_order_acquire);
        if (tail - q->head_cache == q->capacity)
            return FA_EFULL;
    }
    q->slots[tail & q->mask] = item;
    /* Release publishes the slot write to the consumer's acquire load of tail. */
    atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
    return 0;
}

void *fa_spsc_pop(fa_spsc_t *q) {
    if (!q)
        return NULL;
    /* Relaxed: only this thread writes head. */
    size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    if (head == q->tail_cache) {
        /* Acquire pairs with the producer's release store of tail: the slots below it are
         * written before we read them. */
        q->tail_cache = atomic_load_explicit(&q->tail, memory_order_acquire);
        if (head == q->tail_cache)
            return NULL;
    }
    void *item = q->slots[head & q->mask];
    /* Release orders our read of the slot before the producer's next overwrite of it (its
     * acquire load of head). */
    atomic_store_explicit(&q->head, head + 1, memory_order_release);
    return item;
}

size_t fa_spsc_push_batch(fa_spsc_t *q, void *const *items, size_t n) {
    n = fa__queue_valid_prefix(items, n);
    if (!q || n == 0)
        return 0;
    /* Relaxed: our own index (see fa_spsc_push). */
    size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    size_t room = q->capacity - (tail - q->head_cache);
    if (room < n) {
        /* Acquire: as in fa_spsc_push, the consumer is done with the slots below head. */
        q->head_cache = atomic_load_explicit(&q->head, memory_order_acquire);
        room = q->capacity - (tail - q->head_cache);
        if (n > room)
            n = room;
        if (n == 0)
            return 0;
    }
    for (size_t i = 0; i < n; i++)
        q->slots[(tail + i) & q->mask] = items[i];
    /* Release, once for the whole batch: every slot write above is visible to the consumer
     * that acquires the new tail. */
    atomic_store_explicit(&q->tail, tail + n, memory_order_release);
    return n;
}

size_t fa_spsc_pop_batch(fa_spsc_t *q, void **out, size_t max) {
    if (!q || !out || max == 0)
        return 0;
    /* Relaxed: our own index (see fa_spsc_pop). */
    size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    size_t avail = q->tail_cache - head;
    if (avail < max) {
        /* Acquire: as in fa_spsc_pop, the producer's slot writes below tail are visible. */
        q->tail_cache = atomic_load_explicit(&q->tail, memory_order_acquire);
        avail = q->tail_cache - head;
        if (max > avail)
            max = avail;
        if (max == 0)
            return 0;
    }
    for (size_t i = 0; i < max; i++)
        out[i] = q->slots[(head + i) & q->mask];
    /* Release, once for the batch: our slot reads happen before the producer reuses them. */
    atomic_store_explicit(&q->head, head + max, memory_order_release);
    return max;
}

size_t fa_spsc_capacity(const fa_spsc_t *q) {
    return q ? q->capacity : 0;
}

size_t fa_spsc_size_approx(const fa_spsc_t *q) {
    if (!q)
        return 0;
    /* Relaxed: a hint only. head is read first so that, both only growing, the difference errs
     * high rather than wrapping; fa__queue_clamp_size bounds it anyway. */
    size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    return fa__queue_clamp_size(head, tail, q->capacity);
}
