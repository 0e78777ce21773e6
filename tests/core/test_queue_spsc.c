/* Tests for src/core/queue_spsc.c: the Lamport ring with cached peer indices.
 *
 * The single-thread cases and the stress harness are shared with the other queue shapes
 * (queue_test_body.h, which describes what they check). This file adds what is particular to the
 * SPSC ring: the cached-index refresh (a side whose cached copy says full/empty must re-read the
 * peer's index before giving up) and the one thread shape it allows, one producer and one
 * consumer, which must see every item exactly once and in order.
 */
#include "fasterapi/queue.h"

#define Q_T fa_spsc_t
#define Q(fn) fa_spsc_##fn
#define Q_MAX_PRODUCERS 1 /* exactly one thread may push and one may pop (queue.h) */
#define Q_MAX_CONSUMERS 1
#include "queue_test_body.h"

START_TEST(test_cached_index_is_refreshed) {
    /* The producer's cached head says "full" after it fills the ring; once the consumer drains,
     * the producer must re-read head instead of trusting its stale copy, for single and batch
     * pushes alike. The same for the consumer's cached tail after it empties the ring. */
    fa_spsc_t *q;
    void *in[4] = {ITEM(10), ITEM(11), ITEM(12), ITEM(13)}, *out[4];
    ck_assert_int_eq(fa_spsc_new(&q, 4), 0);
    ck_assert_uint_eq(fa_spsc_push_batch(q, in, 4), 4);
    ck_assert_int_eq(fa_spsc_push(q, ITEM(0)), FA_EFULL);
    ck_assert_uint_eq(fa_spsc_pop_batch(q, out, 4), 4);
    ck_assert_ptr_null(fa_spsc_pop(q));
    ck_assert_uint_eq(fa_spsc_push_batch(q, in, 4), 4);
    ck_assert_uint_eq(fa_spsc_pop_batch(q, out, 4), 4);
    ck_assert_uint_eq(VALUE(out[3]), 13);
    ck_assert_int_eq(fa_spsc_push(q, ITEM(1)), 0);
    ck_assert_uint_eq(VALUE(fa_spsc_pop(q)), 1);
    fa_spsc_free(q);
}
END_TEST

START_TEST(test_stress_1p1c) {
    run_stress(1, 1);
}
END_TEST

int main(void) {
    TCase *single, *stress;
    Suite *s = queue_suite("core/queue_spsc", &single, &stress);
    tcase_add_test(single, test_cached_index_is_refreshed);
    tcase_add_test(stress, test_stress_1p1c);
    return fa_test_run(s);
}
