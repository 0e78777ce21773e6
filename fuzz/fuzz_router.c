/* fuzz/fuzz_router.c: the router against a brute-force reference, over a fixed route table.
 *
 * Input layout: byte 0 chooses the request method (mod FA_HTTP_METHOD_COUNT), the rest is the
 * raw request path. The trie's answer is compared with a reference that tries every route on
 * its own:
 *
 *   - a path with a malformed escape, %00 or a raw NUL is BAD_REQUEST; one not starting with '/'
 *     is NOT_FOUND;
 *   - a route matches when its segments and the path's raw-'/'-split segments agree: a static
 *     segment equals the decoded request segment, `{x}` takes one non-empty segment, `{x:path}`
 *     takes the rest;
 *   - routes matching the path are ranked by their segment kinds, lexicographically (static <
 *     param < path), then by registration; the first rank with a route for the method (exact,
 *     then GET for HEAD, then "any") wins;
 *   - otherwise, if some route matched, METHOD_NOT_ALLOWED with the union of their methods
 *     (HEAD added to GET), else NOT_FOUND.
 *
 * Invariants: parameter values lie inside the scratch buffer (exactly path_len bytes, so an
 * overrun is an ASan error), are NUL-terminated, equal the decoded segments, and a second lookup
 * gives the same answer (determinism).
 */
#include <string.h>

#include "fasterapi/error.h"
#include "fuzz_common.h"
#include "transport/router.h"

static const struct {
    int method;
    const char *pattern;
} table[] = {
    {FA_HTTP_GET, "/"},
    {FA_HTTP_GET, "/items"},
    {FA_HTTP_POST, "/items"},
    {FA_HTTP_GET, "/items/"},
    {FA_HTTP_GET, "/items/{id}"},
    {FA_HTTP_DELETE, "/items/{item_id}"},
    {FA_HTTP_GET, "/items/special"},
    {FA_HTTP_PUT, "/items/{id}/tags/{tag}"},
    {FA_HTTP_GET, "/items/{id}/tags/all"},
    {FA_HTTP_GET, "/files/{p:path}"},
    {FA_HTTP_HEAD, "/files/{p:path}"},
    {FA_HTTP_GET, "/files/readme"},
    {FA_HTTP_GET, "/u/{rest:path}"},
    {FA_HTTP_GET, "/u/{id}"},
    {FA_HTTP_GET, "/u/me"},
    {FA_HTTP_GET, "/u/me/x"},
    {FA_HTTP_PATCH, "/u/{id}/y"},
    {FA_ROUTER_ANY, "/any/{x}"},
    {FA_HTTP_OPTIONS, "/any/{x}"},
    {FA_HTTP_GET, "/a b/{x}/{y}/{z}"},
    {FA_HTTP_GET, "/{a}/{b}/{c}"},
    {FA_HTTP_TRACE, "/{a}"},
    {FA_HTTP_GET, "//x"},
    {FA_HTTP_GET, "/api/v1/resource1/{id}/sub1"},
    {FA_HTTP_GET, "/api/v1/resource2/{id}/sub1"},
    {FA_HTTP_POST, "/api/{v}/resource1/{id}/sub2"},
};
#define NROUTES (sizeof table / sizeof *table)

static fa__router_t *router;

static int hexv(unsigned char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes a segment; the path was checked first. */
static size_t ref_decode(char *dst, const char *s, size_t n) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            dst[o++] = (char)(hexv((unsigned char)s[i + 1]) * 16 + hexv((unsigned char)s[i + 2]));
            i += 2;
        } else {
            dst[o++] = s[i];
        }
    }
    return o;
}

static int ref_valid(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\0')
            return 0;
        if (p[i] == '%') {
            if (i + 2 >= n)
                return 0;
            int hi = hexv((unsigned char)p[i + 1]), lo = hexv((unsigned char)p[i + 2]);
            if (hi < 0 || lo < 0 || hi * 16 + lo == 0)
                return 0;
            i += 2;
        }
    }
    return 1;
}

typedef struct {
    int matched;
    int kinds[FA_ROUTER_MAX_SEGMENTS]; /* 0 static, 1 param, 2 path */
    size_t nkinds;
    char values[FA_ROUTER_MAX_PARAMS][4000];
    size_t vlen[FA_ROUTER_MAX_PARAMS];
    size_t nvalues;
} ref_t;

/* Matches one pattern against the path (starting with '/'). */
static void ref_match(const char *pat, const char *path, size_t n, ref_t *out) {
    memset(out, 0, sizeof *out);
    size_t pos = 1;           /* start of the current request segment */
    const char *pp = pat + 1; /* start of the current pattern segment */
    for (;;) {
        const char *pslash = strchr(pp, '/');
        size_t plen = pslash ? (size_t)(pslash - pp) : strlen(pp);
        const char *slash = memchr(path + pos, '/', n - pos);
        size_t end = slash ? (size_t)(slash - path) : n;
        if (plen > 0 && pp[0] == '{') {
            int is_path = memmem(pp, plen, ":path}", 6) != NULL;
            out->kinds[out->nkinds++] = is_path ? 2 : 1;
            size_t take = is_path ? n - pos : end - pos;
            if (!is_path && take == 0)
                return;
            out->vlen[out->nvalues] = ref_decode(out->values[out->nvalues], path + pos, take);
            out->nvalues++;
            if (is_path) {
                out->matched = 1;
                return;
            }
        } else {
            out->kinds[out->nkinds++] = 0;
            char dec[4096];
            if (end - pos > sizeof dec)
                return;
            size_t dl = ref_decode(dec, path + pos, end - pos);
            if (dl != plen || memcmp(dec, pp, plen) != 0)
                return;
        }
        int path_done = end == n, pat_done = pslash == NULL;
        if (path_done || pat_done) {
            out->matched = path_done && pat_done;
            return;
        }
        pos = end + 1;
        pp = pslash + 1;
    }
}

static int kinds_cmp(const ref_t *a, const ref_t *b) {
    for (size_t i = 0; i < a->nkinds && i < b->nkinds; i++)
        if (a->kinds[i] != b->kinds[i])
            return a->kinds[i] < b->kinds[i] ? -1 : 1;
    return a->nkinds == b->nkinds ? 0 : (a->nkinds < b->nkinds ? -1 : 1);
}

static ref_t refs[NROUTES];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!router) {
        router = fa__router_new();
        FUZZ_CHECK(router != NULL);
        for (size_t i = 0; i < NROUTES; i++)
            FUZZ_CHECK(fa__router_add(router, table[i].method, table[i].pattern, NULL, NULL) ==
                       (int)i);
        fa__router_freeze(router);
    }
    if (size < 1 || size > 4000)
        return 0;
    fa_http_method_t method = (fa_http_method_t)(data[0] % FA_HTTP_METHOD_COUNT);
    const char *path = (const char *)data + 1;
    size_t n = size - 1;

    /* Exactly n bytes of scratch on the heap, so ASan catches one byte too many. */
    char *scratch = malloc(n ? n : 1);
    FUZZ_CHECK(scratch != NULL);
    fa__route_match_t m, m2;
    FUZZ_CHECK(fa__router_match(router, method, path, n, scratch, n, &m) == 0);
    if (n > 0)
        FUZZ_CHECK(fa__router_match(router, method, path, n, scratch, n - 1, &m2) == FA_ERANGE);

    /* The reference. */
    fa__route_status_t want = FA_ROUTE_NOT_FOUND;
    int best = -1;
    unsigned allow = 0;
    if (n == 0 || path[0] != '/') {
        want = FA_ROUTE_NOT_FOUND;
    } else if (!ref_valid(path, n)) {
        want = FA_ROUTE_BAD_REQUEST;
    } else {
        int any_match = 0;
        for (size_t i = 0; i < NROUTES; i++) {
            ref_match(table[i].pattern, path, n, &refs[i]);
            if (!refs[i].matched)
                continue;
            any_match = 1;
            if (table[i].method != FA_ROUTER_ANY)
                allow |= 1u << table[i].method;
        }
        /* Ranks in order: for each candidate rank (the smallest kinds not yet tried), pick by
         * method within it. */
        int tried[NROUTES] = {0};
        while (best < 0) {
            int lead = -1;
            for (size_t i = 0; i < NROUTES; i++)
                if (refs[i].matched && !tried[i] &&
                    (lead < 0 || kinds_cmp(&refs[i], &refs[lead]) < 0))
                    lead = (int)i;
            if (lead < 0)
                break;
            int exact = -1, get = -1, any = -1;
            for (size_t i = 0; i < NROUTES; i++) {
                if (!refs[i].matched || kinds_cmp(&refs[i], &refs[lead]) != 0)
                    continue;
                tried[i] = 1;
                int rm = table[i].method;
                if (method != FA_HTTP_OTHER && rm == (int)method && exact < 0)
                    exact = (int)i;
                if (rm == FA_HTTP_GET && get < 0)
                    get = (int)i;
                if (rm == FA_ROUTER_ANY && any < 0)
                    any = (int)i;
            }
            best = exact >= 0 ? exact : (method == FA_HTTP_HEAD && get >= 0 ? get : any);
        }
        want = best >= 0 ? FA_ROUTE_FOUND
                         : (any_match ? FA_ROUTE_METHOD_NOT_ALLOWED : FA_ROUTE_NOT_FOUND);
    }

    FUZZ_CHECK(m.status == want);
    if (want == FA_ROUTE_FOUND) {
        FUZZ_CHECK(m.route != NULL && m.route->index == (unsigned)best);
        FUZZ_CHECK(m.nparams == m.route->nparams && m.nparams == refs[best].nvalues);
        for (size_t i = 0; i < m.nparams; i++) {
            const fa__route_param_t *p = &m.params[i];
            FUZZ_CHECK(p->value >= scratch && p->value + p->value_len < scratch + n);
            FUZZ_CHECK(p->value[p->value_len] == '\0');
            FUZZ_CHECK(memchr(p->value, '\0', p->value_len) == NULL);
            FUZZ_CHECK(p->value_len == refs[best].vlen[i]);
            FUZZ_CHECK(memcmp(p->value, refs[best].values[i], p->value_len) == 0);
            FUZZ_CHECK(strcmp(p->name, m.route->param_names[i]) == 0);
        }
    } else {
        FUZZ_CHECK(m.route == NULL && m.nparams == 0);
    }
    if (want == FA_ROUTE_METHOD_NOT_ALLOWED) {
        if (allow & (1u << FA_HTTP_GET))
            allow |= 1u << FA_HTTP_HEAD;
        FUZZ_CHECK(m.allow_mask == allow);
        FUZZ_CHECK(m.allow_len > 0 && strlen(m.allow) == m.allow_len);
    } else {
        FUZZ_CHECK(m.allow_len == 0 && m.allow[0] == '\0');
    }

    /* Deterministic: the same lookup again gives the same answer. */
    FUZZ_CHECK(fa__router_match(router, method, path, n, scratch, n, &m2) == 0);
    FUZZ_CHECK(m2.status == m.status && m2.route == m.route && m2.nparams == m.nparams);
    FUZZ_CHECK(m2.allow_mask == m.allow_mask);
    free(scratch);
    return 0;
}
