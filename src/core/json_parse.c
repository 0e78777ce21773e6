/* json_parse.c: a recursive-descent JSON parser producing jansson values (see json_parse.h).
 *
 * Recursion depth is bounded by max_depth (checked before descending), so the C stack is safe
 * for any input. Strings without escapes are handed to jansson straight from the input buffer;
 * strings with escapes are decoded into one scratch buffer reused for the whole parse.
 */
#include "core/json_parse.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "fasterapi/error.h"

typedef struct {
    const char *start, *p, *end;
    int depth, max_depth, deepest;
    int range_as_null; /* FA_JSON_RANGE_AS_NULL */
    fa__json_error_t *err;
    char *scratch; /* decoded text of an escaped string */
    size_t scratch_cap;
} parser_t;

static json_t *parse_value(parser_t *ps);

static void *fail(parser_t *ps, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void *fail(parser_t *ps, int code, const char *fmt, ...) {
    fa__json_error_t *e = ps->err;
    if (e->code)
        return NULL; /* keep the first (innermost) error */
    e->code = code;
    e->position = (size_t)(ps->p - ps->start);
    e->line = 1;
    const char *line_start = ps->start;
    for (const char *q = ps->start; q < ps->p; q++)
        if (*q == '\n') {
            e->line++;
            line_start = q + 1;
        }
    e->column = (int)(ps->p - line_start) + 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->text, sizeof e->text, fmt, ap);
    va_end(ap);
    return NULL;
}

static void *unexpected(parser_t *ps, const char *what) {
    if (ps->p >= ps->end)
        return fail(ps, FA_EJSON, "%s, found the end of the input", what);
    unsigned char c = (unsigned char)*ps->p;
    if (c >= 0x20 && c < 0x7f)
        return fail(ps, FA_EJSON, "%s, found '%c'", what, c);
    return fail(ps, FA_EJSON, "%s, found byte 0x%02x", what, c);
}

static inline void skip_ws(parser_t *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t'))
        ps->p++;
}

static int scratch_reserve(parser_t *ps, size_t need) {
    if (need <= ps->scratch_cap)
        return 0;
    size_t cap = ps->scratch_cap ? ps->scratch_cap : 256;
    while (cap < need)
        cap *= 2;
    char *s = realloc(ps->scratch, cap);
    if (!s)
        return FA_ENOMEM;
    ps->scratch = s;
    ps->scratch_cap = cap;
    return 0;
}

static int hex4(const char *p, uint32_t *out) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, uint32_t cp) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes the string at ps->p (on its opening quote). Sets *text and *len to the bytes, which point
 * into the input (no escapes) or into the scratch buffer (valid until the next string).
 * Returns 0, or -1 with the error recorded. */
static int parse_string(parser_t *ps, const char **text, size_t *len) {
    const unsigned char *p = (const unsigned char *)ps->p + 1;
    const unsigned char *end = (const unsigned char *)ps->end;
    const unsigned char *s = p;
    /* Fast path: no escapes, so the value is a slice of the input. */
    while (p < end) {
        unsigned char c = *p;
        if (c == '"') {
            *text = (const char *)s;
            *len = (size_t)(p - s);
            ps->p = (const char *)p + 1;
            return 0;
        }
        if (c == '\\')
            break;
        if (c < 0x20) {
            ps->p = (const char *)p;
            fail(ps, FA_EJSON, "control character 0x%02x in a string (it must be escaped)", c);
            return -1;
        }
        if (c < 0x80) {
            p++;
            continue;
        }
        size_t n = fa__utf8_seq_len(p, (size_t)(end - p));
        if (!n) {
            ps->p = (const char *)p;
            fail(ps, FA_EJSON, "invalid UTF-8 byte 0x%02x in a string", c);
            return -1;
        }
        p += n;
    }
    if (p >= end) {
        ps->p = (const char *)p;
        fail(ps, FA_EJSON, "unterminated string");
        return -1;
    }
    /* Slow path: decode escapes into the scratch buffer. The output is never longer than the
     * input (an escape shrinks or keeps its length), so one reservation suffices. */
    if (scratch_reserve(ps, (size_t)(end - s))) {
        fail(ps, FA_ENOMEM, "out of memory");
        return -1;
    }
    size_t o = (size_t)(p - s);
    memcpy(ps->scratch, s, o);
    while (p < end) {
        unsigned char c = *p;
        if (c == '"') {
            *text = ps->scratch;
            *len = o;
            ps->p = (const char *)p + 1;
            return 0;
        }
        if (c == '\\') {
            if (p + 1 >= end)
                break;
            unsigned char e = p[1];
            const char *simple = strchr("\"\\/bfnrt", e);
            if (e && simple) {
                static const char decoded[] = "\"\\/\b\f\n\r\t";
                ps->scratch[o++] = decoded[simple - "\"\\/bfnrt"];
                p += 2;
                continue;
            }
            uint32_t cp, lo;
            if (e != 'u' || end - p < 6 || hex4((const char *)p + 2, &cp)) {
                ps->p = (const char *)p;
                fail(ps, FA_EJSON, "invalid escape in a string");
                return -1;
            }
            p += 6;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                /* A high surrogate must be followed by an escaped low surrogate. */
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4((const char *)p + 2, &lo) ||
                    lo < 0xDC00 || lo > 0xDFFF) {
                    ps->p = (const char *)p - 6;
                    fail(ps, FA_EJSON, "invalid Unicode escape (lone surrogate \\u%04X)",
                         (unsigned)cp);
                    return -1;
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                ps->p = (const char *)p - 6;
                fail(ps, FA_EJSON, "invalid Unicode escape (lone surrogate \\u%04X)", (unsigned)cp);
                return -1;
            }
            o += put_utf8(ps->scratch + o, cp);
            continue;
        }
        if (c < 0x20) {
            ps->p = (const char *)p;
            fail(ps, FA_EJSON, "control character 0x%02x in a string (it must be escaped)", c);
            return -1;
        }
        size_t n = c < 0x80 ? 1 : fa__utf8_seq_len(p, (size_t)(end - p));
        if (!n) {
            ps->p = (const char *)p;
            fail(ps, FA_EJSON, "invalid UTF-8 byte 0x%02x in a string", c);
            return -1;
        }
        memcpy(ps->scratch + o, p, n);
        o += n;
        p += n;
    }
    ps->p = (const char *)p;
    fail(ps, FA_EJSON, "unterminated string");
    return -1;
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void) {
    c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

/* A number JSON allows but json_int_t or a double cannot hold: FA_ERANGE, whose path the
 * containers fill in on the way out (prepend_path); or null when the caller asked for it. */
static json_t *out_of_range(parser_t *ps, const char *start, const char *what) {
    if (ps->range_as_null)
        return json_null();
    ps->p = start;
    return fail(ps, FA_ERANGE, "%s", what);
}

/* Puts one step in front of the error's path: ".key" ("key" first) or "[i]". Keys are cut at
 * 40 bytes on a UTF-8 boundary (the path goes into a JSON-RPC error message); a path that
 * outgrows the buffer keeps its innermost part after "...". */
static void prepend_path(fa__json_error_t *e, const char *key, size_t key_len, size_t index) {
    char step[64];
    int n;
    if (key) {
        size_t k = key_len;
        if (k > 40) {
            k = 40;
            while (k > 0 && ((unsigned char)key[k] & 0xC0) == 0x80)
                k--;
        }
        n = snprintf(step, sizeof step, "%.*s%s%s", (int)k, key, k < key_len ? "..." : "",
                     e->path[0] && e->path[0] != '[' ? "." : "");
    } else {
        n = snprintf(step, sizeof step, "[%zu]%s", index,
                     e->path[0] && e->path[0] != '[' ? "." : "");
    }
    size_t have = strlen(e->path);
    if (n < 0 || have + (size_t)n >= sizeof e->path) {
        if (strncmp(e->path, "...", 3) != 0 && have + 3 < sizeof e->path) {
            memmove(e->path + 3, e->path, have + 1);
            memcpy(e->path, "...", 3);
        }
        return;
    }
    memmove(e->path + n, e->path, have + 1);
    memcpy(e->path, step, (size_t)n);
}

static json_t *parse_number(parser_t *ps) {
    const char *p = ps->p, *end = ps->end, *start = p;
    int is_real = 0;
    if (*p == '-')
        p++;
    if (p >= end || *p < '0' || *p > '9') {
        ps->p = p;
        return unexpected(ps, "expected a digit");
    }
    if (*p == '0') {
        p++;
        if (p < end && *p >= '0' && *p <= '9') {
            ps->p = p;
            return fail(ps, FA_EJSON, "leading zeros are not allowed in numbers");
        }
    } else {
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9') {
            ps->p = p;
            return unexpected(ps, "expected a digit after the decimal point");
        }
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        is_real = 1;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9') {
            ps->p = p;
            return unexpected(ps, "expected a digit in the exponent");
        }
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        is_real = 1;
    }
    ps->p = p;
    if (!is_real) {
        /* Accumulate negatively so the most negative json_int_t fits. */
        const char *q = start;
        int neg = *q == '-';
        if (neg)
            q++;
        json_int_t v = 0;
        for (; q < p; q++) {
            int d = *q - '0';
            if (v < (INT64_MIN + d) / 10)
                return out_of_range(ps, start, "integer too big for a 64-bit value");
            v = v * 10 - d;
        }
        if (!neg) {
            if (v == INT64_MIN)
                return out_of_range(ps, start, "integer too big for a 64-bit value");
            v = -v;
        }
        json_t *j = json_integer(v);
        return j ? j : fail(ps, FA_ENOMEM, "out of memory");
    }
    char small[64];
    size_t n = (size_t)(p - start);
    char *buf = n < sizeof small ? small : malloc(n + 1);
    if (!buf)
        return fail(ps, FA_ENOMEM, "out of memory");
    memcpy(buf, start, n);
    buf[n] = '\0';
    pthread_once(&c_locale_once, make_c_locale);
    errno = 0;
    double d = c_locale ? strtod_l(buf, NULL, c_locale) : strtod(buf, NULL);
    int overflow = errno == ERANGE && isinf(d);
    if (buf != small)
        free(buf);
    if (overflow)
        return out_of_range(ps, start, "real number overflow");
    json_t *j = json_real(d);
    return j ? j : fail(ps, FA_ENOMEM, "out of memory");
}

static int enter(parser_t *ps) {
    if (++ps->depth > ps->deepest)
        ps->deepest = ps->depth;
    if (ps->depth > ps->max_depth) {
        fail(ps, FA_ELIMIT, "nesting deeper than %d levels", ps->max_depth);
        return -1;
    }
    return 0;
}

/* The container's closing byte, when it is next: consumes it and leaves the nesting level. */
static int closes(parser_t *ps, char close) {
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        ps->depth--;
        return 1;
    }
    return 0;
}

/* After a member: 1 after a ',' (another member follows), 0 after the closing byte, -1 (with
 * the error set) on anything else. */
static int after_member(parser_t *ps, char close, const char *expected) {
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ',') {
        ps->p++;
        return 1;
    }
    if (closes(ps, close))
        return 0;
    unexpected(ps, expected);
    return -1;
}

static json_t *parse_object(parser_t *ps) {
    if (enter(ps))
        return NULL;
    json_t *obj = json_object();
    if (!obj)
        return fail(ps, FA_ENOMEM, "out of memory");
    ps->p++;
    skip_ws(ps);
    if (closes(ps, '}'))
        return obj;
    for (;;) {
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != '"') {
            unexpected(ps, "expected a string key");
            goto error;
        }
        const char *key_at = ps->p, *text;
        size_t len;
        if (parse_string(ps, &text, &len))
            goto error;
        if (memchr(text, '\0', len)) {
            ps->p = key_at;
            fail(ps, FA_EJSON, "NUL byte in an object key is not supported");
            goto error;
        }
        if (json_object_getn(obj, text, len)) {
            ps->p = key_at;
            fail(ps, FA_EJSON, "duplicate object key '%.*s'", (int)(len < 40 ? len : 40), text);
            goto error;
        }
        /* A key decoded into the scratch buffer must be copied before the value is parsed (the
         * value may reuse the buffer); a key without escapes points into the input. */
        char key_small[128];
        char *key = (char *)(uintptr_t)text;
        if (text == ps->scratch) {
            key = len < sizeof key_small ? key_small : malloc(len ? len : 1);
            if (!key) {
                fail(ps, FA_ENOMEM, "out of memory");
                goto error;
            }
            memcpy(key, text, len);
        }
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':') {
            if (text == ps->scratch && key != key_small)
                free(key);
            unexpected(ps, "expected ':' after an object key");
            goto error;
        }
        ps->p++;
        json_t *value = parse_value(ps);
        if (!value && ps->err->code == FA_ERANGE)
            prepend_path(ps->err, key, len, 0);
        int rc = value ? json_object_setn_new_nocheck(obj, key, len, value) : -1;
        if (text == ps->scratch && key != key_small)
            free(key);
        if (rc) {
            if (value)
                fail(ps, FA_ENOMEM, "out of memory");
            goto error;
        }
        int more = after_member(ps, '}', "expected ',' or '}' in an object");
        if (more == 0)
            return obj;
        if (more < 0)
            goto error;
    }
error:
    json_decref(obj);
    return NULL;
}

static json_t *parse_array(parser_t *ps) {
    if (enter(ps))
        return NULL;
    json_t *arr = json_array();
    if (!arr)
        return fail(ps, FA_ENOMEM, "out of memory");
    ps->p++;
    skip_ws(ps);
    if (closes(ps, ']'))
        return arr;
    for (size_t index = 0;; index++) {
        json_t *value = parse_value(ps);
        if (!value) {
            if (ps->err->code == FA_ERANGE)
                prepend_path(ps->err, NULL, 0, index);
            goto error;
        }
        if (json_array_append_new(arr, value)) {
            fail(ps, FA_ENOMEM, "out of memory");
            goto error;
        }
        int more = after_member(ps, ']', "expected ',' or ']' in an array");
        if (more == 0)
            return arr;
        if (more < 0)
            goto error;
    }
error:
    json_decref(arr);
    return NULL;
}

static json_t *literal(parser_t *ps, const char *word, size_t n, json_t *value) {
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return unexpected(ps, "expected a JSON value");
    ps->p += n;
    return value;
}

static json_t *parse_value(parser_t *ps) {
    skip_ws(ps);
    if (ps->p >= ps->end)
        return unexpected(ps, "expected a JSON value");
    switch (*ps->p) {
    case '{':
        return parse_object(ps);
    case '[':
        return parse_array(ps);
    case '"': {
        const char *text;
        size_t len;
        if (parse_string(ps, &text, &len))
            return NULL;
        json_t *s = json_stringn_nocheck(text, len);
        return s ? s : fail(ps, FA_ENOMEM, "out of memory");
    }
    case 't':
        return literal(ps, "true", 4, json_true());
    case 'f':
        return literal(ps, "false", 5, json_false());
    case 'n':
        return literal(ps, "null", 4, json_null());
    default:
        if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
            return parse_number(ps);
        return unexpected(ps, "expected a JSON value");
    }
}

json_t *fa__json_parse(const char *text, size_t len, int max_depth, int *depth,
                       fa__json_error_t *err) {
    return fa__json_parse_ex(text, len, max_depth, 0, depth, err);
}

json_t *fa__json_parse_ex(const char *text, size_t len, int max_depth, int flags, int *depth,
                          fa__json_error_t *err) {
    parser_t ps = {text, text, text + len, 0, max_depth, 0, flags & FA_JSON_RANGE_AS_NULL,
                   err,  NULL, 0};
    memset(err, 0, sizeof *err);
    json_t *v = parse_value(&ps);
    if (v) {
        skip_ws(&ps);
        if (ps.p != ps.end) {
            unexpected(&ps, "expected the end of the input after the JSON value");
            json_decref(v);
            v = NULL;
        }
    }
    free(ps.scratch);
    if (depth)
        *depth = ps.deepest;
    return v;
}
