/* Tests for src/core/queue_mpmc.c: Vyukov's bounded MPMC queue (1P1C, 2P2C, 4P4C stress).
 *
 * The single-thread cases and the stress harness are shared with the other queue shapes
 * (queue_test_body.h, which describes what they check); this file adds the MPMC thread shapes,
 * where several consumers race on head and each must still see every producer's items in order.
 */
#include "fasterapi/queue.h"

#define Q_T fa_mpmc_t
#define Q(fn) fa_mpmc_##fn
#define Q_MAX_PRODUCERS 4
#define Q_MAX_CONSUMERS 4
#include "queue_test_body.h"

START_TEST(test_stress_1p1c) {
    run_stress(1, 1);
}
END_TEST

START_TEST(test_stress_2p2c) {
    run_stress(2, 2);
}
END_TEST

START_TEST(test_stress_4p4c) {
    run_stress(4, 4);
}
END_TEST

int main(void) {
    TCase *stress;
    Suite *s = queue_suite("core/queue_mpmc", NULL, &stress);
    tcase_add_test(stress, test_stress_1p1c);
    tcase_add_test(stress, test_stress_2p2c);
    tcase_add_test(stress, test_stress_4p4c);
    return fa_test_run(s);
}
