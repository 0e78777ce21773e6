/* schema.c: a JSON Schema 2020-12 subset validator (see schema.h for the keyword list).
 *
 * The validator walks schema and instance together, keeping a JSON Pointer to the instance
 * location for error messages. The first failure is reported (enough for a model to correct its
 * call); anyOf/oneOf failures report the composite failure, not each branch.
 */
#include "mcp/schema.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/utf8.h"
#include "fasterapi/error.h"

typedef struct {
    const json_t *root;
    fa__buf_t *err;
    char path[512]; /* JSON Pointer of the instance being checked */
    size_t path_len;
    int depth;
    int quiet;     /* inside anyOf/oneOf/not branches: failures are not reported */
    long steps;    /* remaining work budget (FA_SCHEMA_MAX_STEPS) */
    int exhausted; /* the budget ran out: the result is an error whatever the branches say */
    /* Where the value being checked lives (set by child()), so an integral real that the schema
     * types "integer" can be recorded and turned into an integer after a successful check. */
    const json_t *parent;
    const char *key; /* object member name, or NULL for an array element */
    size_t index;
    fa__buf_t coerce; /* coerce_t records; kept only along branches that matched */
    int want_coerce;
} vctx_t;

typedef struct {
    json_t *parent;
    const char *key;
    size_t index;
} coerce_t;

static const char *type_name(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        return "null";
    }
    return "unknown";
}

static int fail(vctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(vctx_t *c, const char *fmt, ...) {
    if (c->quiet)
        return FA_ESCHEMA;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    fa__utf8_vformat(msg, sizeof msg, fmt, ap); /* cuts a long quoted name at a character */
    va_end(ap);
    int rc =
        fa__buf_appendf(c->err, "%s%s%s", c->path_len ? c->path : "", c->path_len ? ": " : "", msg);
    return rc ? rc : FA_ESCHEMA;
}

static int is_number(const json_t *v) {
    return json_is_integer(v) || json_is_real(v);
}

static double num(const json_t *v) {
    return json_number_value(v);
}

static int type_matches(const char *t, const json_t *v) {
    if (strcmp(t, "integer") == 0) {
        if (json_is_integer(v))
            return 1;
        /* 2020-12: any number with a zero fractional part is an integer. */
        return json_is_real(v) && floor(json_real_value(v)) == json_real_value(v);
    }
    if (strcmp(t, "number") == 0)
        return is_number(v);
    if (strcmp(t, "boolean") == 0)
        return json_is_boolean(v);
    return strcmp(t, type_name(v)) == 0;
}

/* Number of Unicode code points in UTF-8 text (jansson has validated the encoding). */
static size_t utf8_len(const char *s, size_t n) {
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            count++;
    return count;
}

/* Equality as JSON Schema defines it: 1 and 1.0 are equal numbers. */
static int json_eq(const json_t *a, const json_t *b) {
    if (is_number(a) && is_number(b))
        return num(a) == num(b);
    return json_equal(a, b);
}

static const json_t *resolve_ref(const json_t *root, const char *ref) {
    if (ref[0] != '#')
        return NULL; /* only local references: never fetch (spec 2026-07-28 forbids auto-deref) */
    const json_t *cur = root;
    const char *p = ref + 1;
    if (*p == '\0')
        return root;
    if (*p != '/')
        return NULL;
    while (*p == '/' && cur) {
        p++;
        char tok[256];
        size_t n = 0;
        while (*p && *p != '/' && n < sizeof tok - 1) {
            if (p[0] == '~' && p[1] == '1') {
                tok[n++] = '/';
                p += 2;
            } else if (p[0] == '~' && p[1] == '0') {
                tok[n++] = '~';
                p += 2;
            } else {
                tok[n++] = *p++;
            }
        }
        tok[n] = '\0';
        cur = json_is_object(cur) ? json_object_get(cur, tok) : NULL;
    }
    return *p ? NULL : cur;
}

static int validate(vctx_t *c, const json_t *s, const json_t *v);

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Pushes a path segment (property name or index) for the duration of a child check, escaped
 * as a JSON Pointer token (RFC 6901: "~" -> "~0", "/" -> "~1"). A path too long for the buffer
 * is cut at a character boundary. */
static size_t path_push(vctx_t *c, const char *seg) {
    size_t mark = c->path_len, room = sizeof c->path - 1;
    size_t at = c->path_len;
    if (at < room)
        c->path[at++] = '/';
    for (const char *p = seg; *p && at < room; p++) {
        if (*p == '~' || *p == '/') {
            if (at + 2 > room)
                break;
            c->path[at++] = '~';
            c->path[at++] = *p == '~' ? '0' : '1';
        } else {
            c->path[at++] = *p;
        }
    }
    at = mark + fa__utf8_clip(c->path + mark, at - mark);
    c->path[at] = '\0';
    c->path_len = at;
    return mark;
}

static void path_pop(vctx_t *c, size_t mark) {
    c->path_len = mark;
    c->path[mark] = '\0';
}

static int child(vctx_t *c, const json_t *s, const json_t *v, const json_t *parent, const char *key,
                 size_t index, const char *seg) {
    size_t mark = path_push(c, seg);
    const json_t *p0 = c->parent;
    const char *k0 = c->key;
    size_t i0 = c->index;
    c->parent = parent;
    c->key = key;
    c->index = index;
    int rc = validate(c, s, v);
    c->parent = p0;
    c->key = k0;
    c->index = i0;
    path_pop(c, mark);
    return rc;
}

/* Remembers that the current value (an integral real typed "integer") should become an integer
 * once the whole instance is known to be valid. */
static void note_integer(vctx_t *c) {
    if (!c->want_coerce || !c->parent)
        return;
    coerce_t r = {(json_t *)(uintptr_t)c->parent, c->key, c->index};
    if (fa__buf_append(&c->coerce, &r, sizeof r) != 0)
        c->want_coerce = 0; /* out of memory: validation still stands, values stay as sent */
}

static int check_object(vctx_t *c, const json_t *s, const json_t *v) {
    int rc;
    const json_t *props = json_object_get(s, "properties");
    const json_t *req = json_object_get(s, "required");
    const json_t *addl = json_object_get(s, "additionalProperties");
    size_t i;
    const json_t *name;
    json_array_foreach (req, i, name) {
        if (json_is_string(name) && !json_object_get(v, json_string_value(name)))
            return fail(c, "missing required property '%s'", json_string_value(name));
    }
    const char *key;
    json_t *val;
    json_t *obj = (json_t *)(uintptr_t)v;
    json_object_foreach (obj, key, val) {
        const json_t *ps = props ? json_object_get(props, key) : NULL;
        if (ps) {
            if ((rc = child(c, ps, val, v, key, 0, key)) != 0)
                return rc;
        } else if (json_is_false(addl)) {
            return fail(c, "unexpected property '%s'", key);
        } else if (json_is_object(addl)) {
            if ((rc = child(c, addl, val, v, key, 0, key)) != 0)
                return rc;
        }
    }
    const json_t *k;
    if ((k = json_object_get(s, "minProperties")) && json_is_integer(k) &&
        (json_int_t)json_object_size(v) < json_integer_value(k))
        return fail(c, "expected at least %lld properties", (long long)json_integer_value(k));
    if ((k = json_object_get(s, "maxProperties")) && json_is_integer(k) &&
        (json_int_t)json_object_size(v) > json_integer_value(k))
        return fail(c, "expected at most %lld properties", (long long)json_integer_value(k));
    return 0;
}

/* Canonical text for equality as JSON Schema defines it: object keys sorted, every number
 * written as a double (so 1 and 1.0 are equal, as json_eq says). */
static int canon(fa__buf_t *b, const json_t *v, long *steps) {
    int rc = 0;
    if (--*steps < 0)
        return FA_ELIMIT;
    if (json_is_object(v)) {
        size_t n = json_object_size(v), i = 0;
        const char **keys = malloc((n ? n : 1) * sizeof *keys);
        if (!keys)
            return FA_ENOMEM;
        const char *k;
        json_t *val;
        json_object_foreach ((json_t *)(uintptr_t)v, k, val)
            keys[i++] = k;
        qsort(keys, n, sizeof *keys, cmp_str);
        rc = fa__buf_putc(b, '{');
        for (i = 0; rc == 0 && i < n; i++) {
            if ((rc = fa__json_write_string(b, keys[i], strlen(keys[i]))) == 0 &&
                (rc = fa__buf_putc(b, ':')) == 0)
                rc = canon(b, json_object_get(v, keys[i]), steps);
            if (rc == 0)
                rc = fa__buf_putc(b, ',');
        }
        free(keys);
        return rc ? rc : fa__buf_putc(b, '}');
    }
    if (json_is_array(v)) {
        rc = fa__buf_putc(b, '[');
        for (size_t i = 0; rc == 0 && i < json_array_size(v); i++)
            if ((rc = canon(b, json_array_get(v, i), steps)) == 0)
                rc = fa__buf_putc(b, ',');
        return rc ? rc : fa__buf_putc(b, ']');
    }
    if (is_number(v))
        return fa__buf_appendf(b, "%.17g", num(v));
    return fa__json_write(b, v);
}

typedef struct {
    const char *text;
    size_t len;
    size_t index;
} item_key_t;

static int cmp_key(const void *a, const void *b) {
    const item_key_t *x = a, *y = b;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    int d = memcmp(x->text, y->text, x->len);
    if (d)
        return d;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* uniqueItems in O(n log n): sort canonical texts and compare neighbours (a pairwise check is
 * O(n^2): 20k items took 3 s). */
static int check_unique(vctx_t *c, const json_t *v, size_t n) {
    fa__buf_t b = FA__BUF_INIT;
    size_t *offs = malloc(n * sizeof *offs);
    item_key_t *keys = malloc(n * sizeof *keys);
    int rc = offs && keys ? 0 : FA_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        offs[i] = b.len;
        rc = canon(&b, json_array_get(v, i), &c->steps);
    }
    if (rc == FA_ELIMIT)
        c->exhausted = 1;
    if (rc == 0) {
        for (size_t i = 0; i < n; i++)
            keys[i] =
                (item_key_t){b.data + offs[i], (i + 1 < n ? offs[i + 1] : b.len) - offs[i], i};
        qsort(keys, n, sizeof *keys, cmp_key);
        for (size_t i = 1; i < n && rc == 0; i++)
            if (keys[i].len == keys[i - 1].len &&
                memcmp(keys[i].text, keys[i - 1].text, keys[i].len) == 0)
                rc = fail(c, "items %zu and %zu are equal but must be unique", keys[i - 1].index,
                          keys[i].index);
    }
    free(offs);
    free(keys);
    fa__buf_free(&b);
    return rc;
}

static int check_array(vctx_t *c, const json_t *s, const json_t *v) {
    int rc;
    size_t n = json_array_size(v), first = 0;
    char idx[24];
    const json_t *prefix = json_object_get(s, "prefixItems");
    if (json_is_array(prefix)) {
        for (; first < json_array_size(prefix) && first < n; first++) {
            snprintf(idx, sizeof idx, "%zu", first);
            if ((rc = child(c, json_array_get(prefix, first), json_array_get(v, first), v, NULL,
                            first, idx)))
                return rc;
        }
    }
    const json_t *items = json_object_get(s, "items");
    if (json_is_false(items) && n > first)
        return fail(c, "expected at most %zu items", first);
    if (json_is_object(items)) {
        for (size_t i = first; i < n; i++) {
            snprintf(idx, sizeof idx, "%zu", i);
            if ((rc = child(c, items, json_array_get(v, i), v, NULL, i, idx)))
                return rc;
        }
    }
    const json_t *k;
    if ((k = json_object_get(s, "minItems")) && json_is_integer(k) &&
        (json_int_t)n < json_integer_value(k))
        return fail(c, "expected at least %lld items, got %zu", (long long)json_integer_value(k),
                    n);
    if ((k = json_object_get(s, "maxItems")) && json_is_integer(k) &&
        (json_int_t)n > json_integer_value(k))
        return fail(c, "expected at most %lld items, got %zu", (long long)json_integer_value(k), n);
    if (json_is_true(json_object_get(s, "uniqueItems")) && n > 1)
        return check_unique(c, v, n);
    return 0;
}

/* Formats a number for a message exactly as it reads in JSON: 12345678901, not 1.23457e+10. */
static const char *numstr(double d, char *buf, size_t size) {
    if (d == floor(d) && fabs(d) < 9007199254740992.0) {
        snprintf(buf, size, "%.0f", d);
        return buf;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    return buf;
}

static int check_number(vctx_t *c, const json_t *s, const json_t *v) {
    double x = num(v);
    char a[40], b[40];
    const json_t *k;
    if ((k = json_object_get(s, "minimum")) && is_number(k) && x < num(k))
        return fail(c, "%s is less than the minimum %s", numstr(x, a, sizeof a),
                    numstr(num(k), b, sizeof b));
    if ((k = json_object_get(s, "maximum")) && is_number(k) && x > num(k))
        return fail(c, "%s is greater than the maximum %s", numstr(x, a, sizeof a),
                    numstr(num(k), b, sizeof b));
    if ((k = json_object_get(s, "exclusiveMinimum")) && is_number(k) && x <= num(k))
        return fail(c, "%s must be greater than %s", numstr(x, a, sizeof a),
                    numstr(num(k), b, sizeof b));
    if ((k = json_object_get(s, "exclusiveMaximum")) && is_number(k) && x >= num(k))
        return fail(c, "%s must be less than %s", numstr(x, a, sizeof a),
                    numstr(num(k), b, sizeof b));
    if ((k = json_object_get(s, "multipleOf")) && is_number(k) && num(k) > 0) {
        double q = x / num(k);
        if (fabs(q - nearbyint(q)) > 1e-9)
            return fail(c, "%s is not a multiple of %s", numstr(x, a, sizeof a),
                        numstr(num(k), b, sizeof b));
    }
    return 0;
}

static int check_string(vctx_t *c, const json_t *s, const json_t *v) {
    size_t n = utf8_len(json_string_value(v), json_string_length(v));
    const json_t *k;
    if ((k = json_object_get(s, "minLength")) && json_is_integer(k) &&
        (json_int_t)n < json_integer_value(k))
        return fail(c, "expected at least %lld characters, got %zu",
                    (long long)json_integer_value(k), n);
    if ((k = json_object_get(s, "maxLength")) && json_is_integer(k) &&
        (json_int_t)n > json_integer_value(k))
        return fail(c, "expected at most %lld characters, got %zu",
                    (long long)json_integer_value(k), n);
    return 0;
}

/* Counts the branches of an anyOf/oneOf that v matches, stopping once `enough` match. Returns
 * the count, or FA_ENOMEM / FA_ELIMIT. */
static int count_matches(vctx_t *c, const json_t *list, const json_t *v, int enough) {
    int quiet = c->quiet, matches = 0;
    c->quiet = 1;
    size_t i;
    const json_t *sub;
    json_array_foreach (list, i, sub) {
        size_t mark = c->coerce.len;
        int rc = validate(c, sub, v);
        if (rc == FA_ENOMEM || rc == FA_ELIMIT) {
            c->quiet = quiet;
            return rc;
        }
        if (rc != 0)
            c->coerce.len = mark; /* a branch that failed decides nothing about types */
        if (rc == 0 && ++matches >= enough)
            break;
    }
    c->quiet = quiet;
    return matches;
}

static int validate(vctx_t *c, const json_t *s, const json_t *v) {
    int rc;
    if (json_is_true(s))
        return 0;
    if (json_is_false(s))
        return fail(c, "no value is allowed here");
    if (!json_is_object(s))
        return 0;
    if (--c->steps < 0) {
        c->exhausted = 1;
        return FA_ELIMIT; /* not a branch failure: propagates through anyOf/oneOf/not */
    }
    if (++c->depth > FA_SCHEMA_MAX_DEPTH) {
        c->depth--;
        return fail(c, "schema nesting is too deep");
    }
    const json_t *k;
    if ((k = json_object_get(s, "$ref")) && json_is_string(k)) {
        const json_t *target = resolve_ref(c->root, json_string_value(k));
        if (!target) {
            rc = fail(c, "unresolvable $ref %s", json_string_value(k));
            goto out;
        }
        if ((rc = validate(c, target, v)))
            goto out;
    }
    if ((k = json_object_get(s, "type"))) {
        int ok = 0, as_number = 0, as_integer = 0;
        size_t i, n = json_is_array(k) ? json_array_size(k) : 1;
        for (i = 0; i < n; i++) {
            const json_t *t = json_is_array(k) ? json_array_get(k, i) : k;
            const char *name = json_string_value(t);
            if (name && type_matches(name, v)) {
                ok = 1;
                as_number |= strcmp(name, "number") == 0;
                as_integer |= strcmp(name, "integer") == 0;
            }
        }
        if (!json_is_string(k) && !json_is_array(k))
            ok = 1;
        if (as_integer && !as_number && json_is_real(v) &&
            fabs(json_real_value(v)) <= 9007199254740992.0)
            note_integer(c);
        if (!ok) {
            char want[128] = "";
            if (json_is_string(k))
                snprintf(want, sizeof want, "%s", json_string_value(k));
            else
                snprintf(want, sizeof want, "one of the listed types");
            rc = fail(c, "expected %s, got %s", want, type_name(v));
            goto out;
        }
    }
    if ((k = json_object_get(s, "const")) && !json_eq(k, v)) {
        rc = fail(c, "value must be the constant given in the schema");
        goto out;
    }
    if ((k = json_object_get(s, "enum")) && json_is_array(k)) {
        int found = 0;
        size_t i;
        const json_t *e;
        json_array_foreach (k, i, e) {
            if (json_eq(e, v))
                found = 1;
        }
        if (!found) {
            fa__buf_t allowed = FA__BUF_INIT;
            json_array_foreach (k, i, e) {
                if (i >= 10)
                    break;
                if (i)
                    fa__buf_append(&allowed, ", ", 2);
                fa__json_write(&allowed, e);
            }
            fa__buf_putc(&allowed, '\0');
            rc = fail(c, "value is not one of the allowed values (%s%s)",
                      allowed.data ? allowed.data : "", json_array_size(k) > 10 ? ", ..." : "");
            fa__buf_free(&allowed);
            goto out;
        }
    }
    if (json_is_object(v))
        rc = check_object(c, s, v);
    else if (json_is_array(v))
        rc = check_array(c, s, v);
    else if (is_number(v))
        rc = check_number(c, s, v);
    else if (json_is_string(v))
        rc = check_string(c, s, v);
    else
        rc = 0;
    if (rc)
        goto out;
    if ((k = json_object_get(s, "allOf")) && json_is_array(k)) {
        size_t i;
        const json_t *sub;
        json_array_foreach (k, i, sub) {
            if ((rc = validate(c, sub, v)))
                goto out;
        }
    }
    if ((k = json_object_get(s, "anyOf")) && json_is_array(k)) {
        int m = count_matches(c, k, v, 1);
        if (m < 0 || m == 0) {
            rc = m < 0 ? m : fail(c, "value matches none of the allowed forms (anyOf)");
            goto out;
        }
    }
    if ((k = json_object_get(s, "oneOf")) && json_is_array(k)) {
        int m = count_matches(c, k, v, 2);
        if (m != 1) {
            rc = m < 0
                     ? m
                     : fail(c, "value must match exactly one allowed form (oneOf), matched %d", m);
            goto out;
        }
    }
    if ((k = json_object_get(s, "not"))) {
        int quiet = c->quiet;
        size_t mark = c->coerce.len;
        c->quiet = 1;
        int r = validate(c, k, v);
        c->quiet = quiet;
        c->coerce.len = mark;
        if (r == FA_ENOMEM || r == FA_ELIMIT) {
            rc = r;
            goto out;
        }
        if (r == 0) {
            rc = fail(c, "value matches a form the schema excludes (not)");
            goto out;
        }
    }
    rc = 0;
out:
    c->depth--;
    return rc;
}

static int run_validation(const json_t *schema, const json_t *instance, fa__buf_t *err,
                          int coerce) {
    vctx_t c;
    memset(&c, 0, sizeof c);
    c.root = schema;
    c.err = err;
    c.steps = FA_SCHEMA_MAX_STEPS;
    c.want_coerce = coerce;
    int rc = validate(&c, schema, instance);
    if (c.exhausted) {
        err->len = 0;
        rc = fa__buf_appendf(err,
                             "the arguments are too complex to check against this schema "
                             "(more than %d validation steps)",
                             FA_SCHEMA_MAX_STEPS);
        rc = rc ? rc : FA_ESCHEMA;
    } else if (rc == 0 && c.want_coerce) {
        coerce_t *r = (coerce_t *)(void *)c.coerce.data;
        for (size_t i = 0; i < c.coerce.len / sizeof *r; i++) {
            json_t *old = r[i].key ? json_object_get(r[i].parent, r[i].key)
                                   : json_array_get(r[i].parent, r[i].index);
            if (!json_is_real(old)) /* already converted (the value was checked twice) */
                continue;
            json_t *as_int = json_integer((json_int_t)json_real_value(old));
            if (r[i].key)
                json_object_set_new(r[i].parent, r[i].key, as_int);
            else
                json_array_set_new(r[i].parent, r[i].index, as_int);
        }
    }
    fa__buf_free(&c.coerce);
    return rc;
}

int fa__schema_validate(const json_t *schema, const json_t *instance, fa__buf_t *err) {
    return run_validation(schema, instance, err, 0);
}

int fa__schema_validate_args(const json_t *schema, json_t *instance, fa__buf_t *err) {
    return run_validation(schema, instance, err, 1);
}

/* ---- registration-time checks ---- */

typedef struct {
    const json_t *root;
    char *why;
    size_t why_size;
    int depth;
} cctx_t;

static int bad(cctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(cctx_t *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, c->why_size, fmt, ap);
    va_end(ap);
    return FA_ESCHEMA;
}

static int check_schema(cctx_t *c, const json_t *s);

static int check_list(cctx_t *c, const json_t *s, const char *kw) {
    const json_t *k = json_object_get(s, kw);
    if (!k)
        return 0;
    if (!json_is_array(k) || json_array_size(k) == 0)
        return bad(c, "%s must be a non-empty array of schemas", kw);
    size_t i;
    const json_t *sub;
    json_array_foreach (k, i, sub) {
        int rc = check_schema(c, sub);
        if (rc)
            return rc;
    }
    return 0;
}

static int check_schema(cctx_t *c, const json_t *s) {
    static const char *const types[] = {"object",  "array",   "string", "number",
                                        "integer", "boolean", "null"};
    if (json_is_boolean(s))
        return 0;
    if (!json_is_object(s))
        return bad(c, "a schema must be an object or a boolean");
    if (++c->depth > FA_SCHEMA_MAX_DEPTH)
        return bad(c, "schema nesting is too deep");
    const json_t *k;
    int rc;
    if ((k = json_object_get(s, "type"))) {
        const json_t *t;
        size_t i, n = json_is_array(k) ? json_array_size(k) : 1;
        for (i = 0; i < n; i++) {
            t = json_is_array(k) ? json_array_get(k, i) : k;
            int known = 0;
            for (size_t j = 0; json_is_string(t) && j < sizeof types / sizeof types[0]; j++)
                known |= strcmp(json_string_value(t), types[j]) == 0;
            if (!known)
                return bad(c, "unknown type in \"type\"");
        }
    }
    if ((k = json_object_get(s, "$ref"))) {
        if (!json_is_string(k) || !resolve_ref(c->root, json_string_value(k)))
            return bad(c, "$ref must be a local reference that resolves (e.g. #/$defs/Name)");
    }
    if ((k = json_object_get(s, "properties"))) {
        if (!json_is_object(k))
            return bad(c, "properties must be an object");
        const char *key;
        json_t *sub;
        json_object_foreach ((json_t *)(uintptr_t)k, key, sub) {
            if ((rc = check_schema(c, sub)))
                return rc;
        }
    }
    if ((k = json_object_get(s, "required"))) {
        size_t i;
        const json_t *e;
        if (!json_is_array(k))
            return bad(c, "required must be an array of strings");
        json_array_foreach (k, i, e) {
            if (!json_is_string(e))
                return bad(c, "required must be an array of strings");
        }
    }
    const char *const sub_schemas[] = {"additionalProperties", "items", "not"};
    for (size_t i = 0; i < 3; i++)
        if ((k = json_object_get(s, sub_schemas[i])) && (rc = check_schema(c, k)))
            return rc;
    if ((rc = check_list(c, s, "allOf")) || (rc = check_list(c, s, "anyOf")) ||
        (rc = check_list(c, s, "oneOf")) || (rc = check_list(c, s, "prefixItems")))
        return rc;
    if ((k = json_object_get(s, "enum")) && !json_is_array(k))
        return bad(c, "enum must be an array");
    const char *const counts[] = {"minLength", "maxLength",     "minItems",
                                  "maxItems",  "minProperties", "maxProperties"};
    for (size_t i = 0; i < 6; i++)
        if ((k = json_object_get(s, counts[i])) &&
            (!json_is_integer(k) || json_integer_value(k) < 0))
            return bad(c, "%s must be a non-negative integer", counts[i]);
    const char *const bounds[] = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                                  "multipleOf"};
    for (size_t i = 0; i < 5; i++)
        if ((k = json_object_get(s, bounds[i])) && !is_number(k))
            return bad(c, "%s must be a number", bounds[i]);
    const char *const defs[] = {"$defs", "definitions"};
    for (size_t i = 0; i < 2; i++) {
        if ((k = json_object_get(s, defs[i]))) {
            if (!json_is_object(k))
                return bad(c, "%s must be an object", defs[i]);
            const char *key;
            json_t *sub;
            json_object_foreach ((json_t *)(uintptr_t)k, key, sub) {
                if ((rc = check_schema(c, sub)))
                    return rc;
            }
        }
    }
    c->depth--;
    return 0;
}

int fa__schema_check(const json_t *schema, char *why, size_t why_size) {
    cctx_t c = {schema, why, why_size, 0};
    if (!json_is_object(schema))
        return bad(&c, "a tool schema must be a JSON object");
    const json_t *type = json_object_get(schema, "type");
    if (!json_is_string(type) || strcmp(json_string_value(type), "object") != 0)
        return bad(&c, "a tool schema needs \"type\": \"object\" at its root");
    const json_t *dialect = json_object_get(schema, "$schema");
    if (dialect) {
        const char *d = json_is_string(dialect) ? json_string_value(dialect) : "";
        if (!strstr(d, "json-schema.org/draft/2020-12/schema") &&
            !strstr(d, "json-schema.org/draft-07/schema"))
            return bad(&c, "unsupported $schema dialect (2020-12 and draft-07 are supported)");
    }
    return check_schema(&c, schema);
}
