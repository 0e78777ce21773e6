/* utf8.c: see utf8.h. */
#include "core/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t fa__utf8_seq_len(const unsigned char *s, size_t avail) {
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned min;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2, cp = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
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
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t n = fa__utf8_seq_len(u + i, len - i);
        if (!n)
            return 0;
        i += n;
    }
    return 1;
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
