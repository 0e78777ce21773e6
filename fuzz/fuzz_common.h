/* fuzz/fuzz_common.h: what every harness in fuzz/ shares.
 *
 * Each fuzz_<parser>.c defines LLVMFuzzerTestOneInput and nothing else with external linkage, so
 * the same file links either with libFuzzer (clang, FASTERAPI_BUILD_FUZZERS) or with
 * replay_main.c (any compiler; ctest replays the committed corpus, STYLE.md §14).
 *
 * FUZZ_CHECK is the harness's assert: it stays on in every build type (the `ci` preset defines
 * NDEBUG, which would silently turn assert() into nothing) and aborts, which both libFuzzer and
 * ctest report as a failure with the input that caused it.
 */
#ifndef FA_FUZZ_COMMON_H
#define FA_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: fuzz invariant violated: %s\n", __FILE__, __LINE__, #cond);    \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define FUZZ_FAIL(why)                                                                             \
    do {                                                                                           \
        fprintf(stderr, "%s:%d: fuzz invariant violated: %s\n", __FILE__, __LINE__, why);          \
        abort();                                                                                   \
    } while (0)

/* How a harness cuts its input into feeds: mode 0 whole, 1 byte by byte, 2 fixed size, 3 xorshift
 * sizes 0..31 (0 exercises the empty feed). Parsers must give the same result for every cut. */
typedef struct {
    unsigned mode, fixed;
    uint32_t state;
} splitter_t;

static inline size_t next_chunk(splitter_t *sp, size_t left) {
    size_t want;
    switch (sp->mode) {
    case 0:
        want = left;
        break;
    case 1:
        want = 1;
        break;
    case 2:
        want = sp->fixed;
        break;
    default:
        sp->state ^= sp->state << 13;
        sp->state ^= sp->state >> 17;
        sp->state ^= sp->state << 5;
        want = sp->state % 32;
    }
    return want < left ? want : left;
}

#endif
