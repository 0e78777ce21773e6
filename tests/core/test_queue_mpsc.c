/* Tests for src/core/queue_mpsc.c: Vyukov producers, a CAS-free single consumer.
 *
 * The single-thread cases and the stress harness are shared with the other queue shapes
 * (queue_test_body.h, which describes what they check); this file adds the MPSC thread shapes:
 * one producer, and four producers racing on tail while the one consumer drains without a CAS.
 */
#include "fasterapi/queue.h"

#define Q_T fa_mpsc_t
#define Q(fn) fa_mpsc_##fn
#define Q_MAX_PRODUCERS 4
#define Q_MAX_CONSUMERS 1 /* exactly one thread may pop (queue.h) */
#include "queue_test_body.h"

START_TEST(test_stress_1p1c) {
    run_stress(1, 1);
}
END_TEST

START_TEST(test_stress_4p1c) {
    run_stress(4, 1);
}
END_TEST

int main(void) {
    TCase *stress;
    Suite *s = queue_suite("core/queue_mpsc", NULL, &stress);
    tcase_add_test(stress, test_stress_1p1c);
    tcase_add_test(stress, test_stress_4p1c);
    return fa_test_run(s);
}
