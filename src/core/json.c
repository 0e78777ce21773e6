/* json.c: compact JSON writer and nesting scan (see core/json.h for why). */
#include "core/json.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fasterapi/error.h"

/* 1 for bytes that need an escape inside a JSON string: control characters, '"' and '\\'
 * (RFC 8259 §7). Everything else, including UTF-8 sequences, is copied as is. */
static const unsigned char needs_escape[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
};

int fa__json_write_string(fa__buf_t *b, const char *s, size_t len) {
    /* Worst case every byte becomes \u00XX (6 bytes) plus the quotes. */
    if (len > (SIZE_MAX - 2) / 6)
        return FA_ENOMEM;
    int rc = fa__buf_reserve(b, len + 2);
    if (rc)
        return rc;
    b->data[b->len++] = '"';
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!needs_escape[c])
            continue;
        if ((rc = fa__buf_append(b, s + run, i - run)) != 0)
            return rc;
        run = i + 1;
        char esc[7];
        size_t n = 2;
        esc[0] = '\\';
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        default:
            snprintf(esc, sizeof esc, "\\u%04x", c);
            n = 6;
        }
        if ((rc = fa__buf_append(b, esc, n)) != 0)
            return rc;
    }
    if ((rc = fa__buf_append(b, s + run, len - run)) != 0)
        return rc;
    return fa__buf_putc(b, '"');
}

int fa__json_write_real(fa__buf_t *b, double d) {
    if (!isfinite(d))
        return fa__buf_append(b, "null", 4);
    char tmp[40];
    int n = 0;
    /* The shortest of %.15g/%.16g/%.17g that parses back to the same double: 17 digits always
     * round-trip (IEEE 754 binary64), fewer usually do and read better. */
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    /* Keep it a real on the wire ("1.0", not "1") so a round trip preserves the type. */
    if (!strpbrk(tmp, ".eEn") && n + 2 < (int)sizeof tmp) {
        tmp[n++] = '.';
        tmp[n++] = '0';
    }
    return fa__buf_append(b, tmp, (size_t)n);
}

static int write_value(fa__buf_t *b, const json_t *v, int depth) {
    int rc;
    char tmp[32];
    if (depth > FA_JSON_WRITE_MAX_DEPTH)
        return FA_ELIMIT;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *val;
        int first = 1;
        if ((rc = fa__buf_putc(b, '{')) != 0)
            return rc;
        /* json_object_foreach needs a non-const object; iteration does not modify it. */
        json_t *obj = (json_t *)(uintptr_t)v;
        json_object_foreach (obj, key, val) {
            if (!first && (rc = fa__buf_putc(b, ',')) != 0)
                return rc;
            first = 0;
            if ((rc = fa__json_write_string(b, key, strlen(key))) != 0 ||
                (rc = fa__buf_putc(b, ':')) != 0 || (rc = write_value(b, val, depth + 1)) != 0)
                return rc;
        }
        return fa__buf_putc(b, '}');
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        if ((rc = fa__buf_putc(b, '[')) != 0)
            return rc;
        for (size_t i = 0; i < n; i++) {
            if (i && (rc = fa__buf_putc(b, ',')) != 0)
                return rc;
            if ((rc = write_value(b, json_array_get(v, i), depth + 1)) != 0)
                return rc;
        }
        return fa__buf_putc(b, ']');
    }
    case JSON_STRING:
        return fa__json_write_string(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER: {
        int n = snprintf(tmp, sizeof tmp, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return fa__buf_append(b, tmp, (size_t)n);
    }
    case JSON_REAL:
        return fa__json_write_real(b, json_real_value(v));
    case JSON_TRUE:
        return fa__buf_append(b, "true", 4);
    case JSON_FALSE:
        return fa__buf_append(b, "false", 5);
    case JSON_NULL:
        return fa__buf_append(b, "null", 4);
    }
    return FA_EINVAL;
}

int fa__json_write(fa__buf_t *b, const json_t *v) {
    if (!v)
        return FA_EINVAL;
    return write_value(b, v, 0);
}

char *fa__json_dumps(const json_t *v, size_t *len) {
    fa__buf_t b = FA__BUF_INIT;
    if (fa__json_write(&b, v) != 0) {
        fa__buf_free(&b);
        return NULL;
    }
    return fa__buf_detach(&b, len);
}
