/* utf8.c: see utf8.h. */
#include "core/utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Byte classes: which byte may follow which depends only on these 12 groups (Unicode 15 Table
 * 3-7, "Well-Formed UTF-8 Byte Sequences"). */
enum {
    C_ASCII, /* 00..7F */
    C_C80,   /* 80..8F continuation */
    C_C90,   /* 90..9F continuation */
    C_CA0,   /* A0..BF continuation */
    C_BAD,   /* C0, C1 (always overlong), F5..FF (above U+10FFFF) */
    C_L2,    /* C2..DF: lead of 2 */
    C_E0,    /* E0: lead of 3, second byte A0..BF (else overlong) */
    C_L3,    /* E1..EC, EE, EF: lead of 3 */
    C_ED,    /* ED: lead of 3, second byte 80..9F (else a surrogate D800..DFFF) */
    C_F0,    /* F0: lead of 4, second byte 90..BF (else overlong) */
    C_L4,    /* F1..F3: lead of 4 */
    C_F4,    /* F4: lead of 4, second byte 80..8F (else above U+10FFFF) */
    C_COUNT
};

/* Two-letter names for the table only. */
#define A_ C_ASCII
#define K8 C_C80
#define K9 C_C90
#define KA C_CA0
#define XX C_BAD
#define L2 C_L2
#define E0 C_E0
#define L3 C_L3
#define ED C_ED
#define F0 C_F0
#define L4 C_L4
#define F4 C_F4
/* clang-format off */
static const uint8_t byte_class[256] = {
    /* 00 */ A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_,
    /* 10 */ A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_,
    /* 20 */ A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_,
    /* 30 */ A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_,
    /* 40 */ A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_,
    /* 50 */ A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_,
    /* 60 */ A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_,
    /* 70 */ A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_, A_,
    /* 80 */ K8, K8, K8, K8, K8, K8, K8, K8, K8, K8, K8, K8, K8, K8, K8, K8,
    /* 90 */ K9, K9, K9, K9, K9, K9, K9, K9, K9, K9, K9, K9, K9, K9, K9, K9,
    /* A0 */ KA, KA, KA, KA, KA, KA, KA, KA, KA, KA, KA, KA, KA, KA, KA, KA,
    /* B0 */ KA, KA, KA, KA, KA, KA, KA, KA, KA, KA, KA, KA, KA, KA, KA, KA,
    /* C0 */ XX, XX, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2,
    /* D0 */ L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2,
    /* E0 */ E0, L3, L3, L3, L3, L3, L3, L3, L3, L3, L3, L3, L3, ED, L3, L3,
    /* F0 */ F0, L4, L4, L4, F4, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
};
/* clang-format on */
#undef A_
#undef K8
#undef K9
#undef KA
#undef XX
#undef L2
#undef E0
#undef L3
#undef ED
#undef F0
#undef L4
#undef F4

/* States: ACCEPT and REJECT (utf8.h), then "n continuation bytes still due" and the three-way
 * restricted second bytes after E0, ED, F0, F4. */
enum {
    S_ACC = FA_UTF8_ACCEPT,
    S_REJ = FA_UTF8_REJECT,
    S_1,
    S_2,
    S_3,
    S_E0,
    S_ED,
    S_F0,
    S_F4,
    S_COUNT
};

#define X S_REJ
/* clang-format off */
static const uint8_t transition[S_COUNT][C_COUNT] = {
    /*          ASCII  C80    C90    CA0    BAD L2   E0    L3   ED    F0    L4   F4 */
    [S_ACC] = {S_ACC, X,     X,     X,     X,  S_1, S_E0, S_2, S_ED, S_F0, S_3, S_F4},
    [S_REJ] = {X,     X,     X,     X,     X,  X,   X,    X,   X,    X,    X,   X},
    [S_1]   = {X,     S_ACC, S_ACC, S_ACC, X,  X,   X,    X,   X,    X,    X,   X},
    [S_2]   = {X,     S_1,   S_1,   S_1,   X,  X,   X,    X,   X,    X,    X,   X},
    [S_3]   = {X,     S_2,   S_2,   S_2,   X,  X,   X,    X,   X,    X,    X,   X},
    [S_E0]  = {X,     X,     X,     S_1,   X,  X,   X,    X,   X,    X,    X,   X},
    [S_ED]  = {X,     S_1,   S_1,   X,     X,  X,   X,    X,   X,    X,    X,   X},
    [S_F0]  = {X,     X,     S_2,   S_2,   X,  X,   X,    X,   X,    X,    X,   X},
    [S_F4]  = {X,     S_2,   X,     X,     X,  X,   X,    X,   X,    X,    X,   X},
};
/* clang-format on */
#undef X

#define ASCII_MASK 0x8080808080808080ull

size_t fa__utf8_feed(uint8_t *state, const char *s, size_t len) {
    const unsigned char *u = (const unsigned char *)s;
    uint8_t st = *state;
    size_t i = 0;
    if (st == S_REJ)
        return 0;
    while (i < len) {
        if (st == S_ACC) {
            /* Between characters, skip ASCII 8 bytes at a time (memcpy: any alignment). */
            while (i + 8 <= len) {
                uint64_t w;
                memcpy(&w, u + i, 8);
                if (w & ASCII_MASK)
                    break;
                i += 8;
            }
            if (i == len)
                break;
        }
        st = transition[st][byte_class[u[i]]];
        if (st == S_REJ) {
            *state = S_REJ;
            return i;
        }
        i++;
    }
    *state = st;
    return len;
}

size_t fa__utf8_seq_len(const unsigned char *s, size_t avail) {
    uint8_t st = S_ACC;
    for (size_t i = 0; i < avail && i < 4; i++) {
        st = transition[st][byte_class[s[i]]];
        if (st == S_ACC)
            return i + 1;
        if (st == S_REJ)
            return 0;
    }
    return 0; /* truncated */
}

size_t fa__utf8_clip(const char *s, size_t len) {
    const unsigned char *u = (const unsigned char *)s;
    /* Walk back over at most 3 continuation bytes to the last lead byte. */
    size_t i = len;
    while (i > 0 && len - i < 4 && (u[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0 || u[i - 1] < 0x80)
        return len; /* ends on ASCII (or is all continuation bytes: not ours to fix) */
    size_t lead = i - 1;
    size_t n = fa__utf8_seq_len(u + lead, len - lead);
    return n == len - lead ? len : lead;
}

int fa__utf8_valid(const char *s, size_t len) {
    uint8_t st = FA_UTF8_ACCEPT;
    return fa__utf8_feed(&st, s, len) == len && st == FA_UTF8_ACCEPT;
}

char *fa__utf8_sanitize(const char *s, size_t len, size_t *out_len) {
    const unsigned char *u = (const unsigned char *)s;
    /* Worst case: every byte becomes the 3-byte U+FFFD. */
    char *out = malloc(len * 3 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t n = fa__utf8_seq_len(u + i, len - i);
        if (n) {
            memcpy(out + o, s + i, n);
            o += n;
            i += n;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    out[o] = '\0';
    if (out_len)
        *out_len = o;
    return out;
}

size_t fa__utf8_vformat(char *buf, size_t size, const char *fmt, va_list ap) {
    int n = vsnprintf(buf, size, fmt, ap);
    if (n < 0) {
        buf[0] = '\0';
        return 0;
    }
    if ((size_t)n < size)
        return (size_t)n;
    size_t len = fa__utf8_clip(buf, size - 1);
    buf[len] = '\0';
    return len;
}
