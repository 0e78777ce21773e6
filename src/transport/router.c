/* router.c: see router.h.
 *
 * The trie has one node per distinct pattern prefix. A node's children are its static segments
 * (a sorted array searched by (length, bytes), so a lookup among hundreds of siblings is a
 * binary search of length-first comparisons), at most one `{name}` child and at most one
 * `{name:path}` child. Parameter names are not part of the trie: "/u/{id}" and "/u/{uid}/x" share
 * the node after "u", and each route keeps its own names, attached to the values once a route is
 * chosen. A node ends routes through a table indexed by method.
 */
#include "transport/router.h"

#include <stdlib.h>
#include <string.h>

#include "fasterapi/error.h"

typedef struct node_s node_t;
struct node_s {
    char *text; /* static segment (literal text); NULL for the root and parameter nodes */
    size_t len;
    node_t **statics; /* sorted by (len, memcmp) */
    size_t nstatics, cap;
    node_t *param; /* `{name}` child */
    node_t *path;  /* `{name:path}` child (a leaf) */
    /* Route index per method (FA_ROUTER_ANY included), -1 when none. */
    int32_t routes[FA_HTTP_METHOD_COUNT + 1];
    unsigned mask; /* bit m set when routes[m] >= 0 */
};

struct fa__router_s {
    node_t root;
    fa__route_t **routes; /* pointers, so that a route's address survives growth */
    size_t n, cap;
    int frozen;
};

/* Until the HTTP parser's helpers are merged in (transport/http_parser.h declares them). */
static const char *const method_names[FA_HTTP_METHOD_COUNT] = {
    "OTHER", "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"};

static int hexval(unsigned char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes src[0..len) into dst. The path was validated first (valid escapes, no %00),
 * so this cannot fail. */
static size_t decode(char *dst, const char *src, size_t len) {
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '%') {
            dst[o++] =
                (char)(hexval((unsigned char)src[i + 1]) << 4 | hexval((unsigned char)src[i + 2]));
            i += 2;
        } else {
            dst[o++] = src[i];
        }
    }
    return o;
}

/* 0 when every '%' starts a valid escape that does not decode to NUL and no raw NUL is there. */
static int validate_path(const char *p, size_t len) {
    if (memchr(p, '\0', len))
        return -1;
    const char *pct = memchr(p, '%', len);
    while (pct) {
        size_t i = (size_t)(pct - p);
        if (len - i < 3)
            return -1;
        int hi = hexval((unsigned char)p[i + 1]), lo = hexval((unsigned char)p[i + 2]);
        if (hi < 0 || lo < 0 || (hi | lo) == 0)
            return -1;
        pct = memchr(p + i + 3, '%', len - i - 3);
    }
    return 0;
}

/* ---- building ---- */

static node_t *node_new(const char *text, size_t len) {
    node_t *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    for (size_t i = 0; i <= FA_HTTP_METHOD_COUNT; i++)
        n->routes[i] = -1;
    if (text) {
        n->text = malloc(len + 1);
        if (!n->text) {
            free(n);
            return NULL;
        }
        memcpy(n->text, text, len);
        n->text[len] = '\0';
        n->len = len;
    }
    return n;
}

static void node_free(node_t *n, int self) {
    if (!n)
        return;
    for (size_t i = 0; i < n->nstatics; i++)
        node_free(n->statics[i], 1);
    free(n->statics);
    node_free(n->param, 1);
    node_free(n->path, 1);
    free(n->text);
    if (self)
        free(n);
}

static int seg_cmp(const char *a, size_t alen, const char *b, size_t blen) {
    if (alen != blen)
        return alen < blen ? -1 : 1;
    return memcmp(a, b, alen);
}

/* Index of the static child `s` in n, or -(insertion point) - 1. */
static long find_static(const node_t *n, const char *s, size_t len) {
    size_t lo = 0, hi = n->nstatics;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = seg_cmp(n->statics[mid]->text, n->statics[mid]->len, s, len);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(long)lo - 1;
}

static node_t *static_child(node_t *n, const char *s, size_t len) {
    long at = find_static(n, s, len);
    if (at >= 0)
        return n->statics[at];
    size_t pos = (size_t)(-at - 1);
    if (n->nstatics == n->cap) {
        size_t cap = n->cap ? n->cap * 2 : 4;
        node_t **a = realloc(n->statics, cap * sizeof *a);
        if (!a)
            return NULL;
        n->statics = a;
        n->cap = cap;
    }
    node_t *c = node_new(s, len);
    if (!c)
        return NULL;
    memmove(n->statics + pos + 1, n->statics + pos, (n->nstatics - pos) * sizeof *n->statics);
    n->statics[pos] = c;
    n->nstatics++;
    return c;
}

fa__router_t *fa__router_new(void) {
    fa__router_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    for (size_t i = 0; i <= FA_HTTP_METHOD_COUNT; i++)
        r->root.routes[i] = -1;
    return r;
}

static void route_free(fa__route_t *rt) {
    if (!rt)
        return;
    for (unsigned i = 0; i < rt->nparams; i++)
        free(rt->param_names[i]);
    free(rt->pattern);
    free(rt);
}

void fa__router_free(fa__router_t *r) {
    if (!r)
        return;
    node_free(&r->root, 0);
    for (size_t i = 0; i < r->n; i++)
        route_free(r->routes[i]);
    free(r->routes);
    free(r);
}

void fa__router_freeze(fa__router_t *r) {
    r->frozen = 1;
}

size_t fa__router_count(const fa__router_t *r) {
    return r->n;
}

const fa__route_t *fa__router_route(const fa__router_t *r, size_t i) {
    return i < r->n ? r->routes[i] : NULL;
}

static int name_ok(const char *s, size_t len) {
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
            return 0;
    }
    return 1;
}

/* Kinds of parsed pattern segments. */
enum { SEG_STATIC, SEG_PARAM, SEG_PATH };

typedef struct {
    int kind;
    const char *text; /* static text or parameter name */
    size_t len;
} pseg_t;

/* Splits and checks a pattern; fills segs (at most FA_ROUTER_MAX_SEGMENTS). */
static int parse_pattern(const char *pat, pseg_t *segs, size_t *nsegs, unsigned *nparams) {
    if (pat[0] != '/')
        return FA_EINVAL;
    size_t n = 0;
    unsigned np = 0;
    const char *p = pat + 1;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (n == FA_ROUTER_MAX_SEGMENTS)
            return FA_EINVAL;
        pseg_t *s = &segs[n++];
        if (len > 0 && p[0] == '{') {
            if (p[len - 1] != '}')
                return FA_EINVAL;
            const char *in = p + 1;
            size_t inlen = len - 2;
            if (memchr(in, '{', inlen) || memchr(in, '}', inlen))
                return FA_EINVAL;
            const char *colon = memchr(in, ':', inlen);
            size_t nlen = colon ? (size_t)(colon - in) : inlen;
            s->kind = SEG_PARAM;
            if (colon) {
                const char *conv = colon + 1;
                size_t clen = inlen - nlen - 1;
                if (clen == 4 && memcmp(conv, "path", 4) == 0)
                    s->kind = SEG_PATH;
                else if (!(clen == 3 && memcmp(conv, "str", 3) == 0))
                    return FA_EINVAL; /* int/float/uuid converters are the handler's job */
            }
            if (!name_ok(in, nlen))
                return FA_EINVAL;
            for (size_t i = 0; i + 1 < n; i++)
                if (segs[i].kind != SEG_STATIC && segs[i].len == nlen &&
                    memcmp(segs[i].text, in, nlen) == 0)
                    return FA_EINVAL;
            if (np == FA_ROUTER_MAX_PARAMS)
                return FA_EINVAL;
            np++;
            s->text = in;
            s->len = nlen;
            if (s->kind == SEG_PATH && slash)
                return FA_EINVAL; /* `{x:path}` takes the rest: it must be last */
        } else {
            /* '%' would be ambiguous (literal or escape?); '?' and '#' cannot reach a path. */
            for (size_t i = 0; i < len; i++)
                if (strchr("{}%?#", p[i]))
                    return FA_EINVAL;
            s->kind = SEG_STATIC;
            s->text = p;
            s->len = len;
        }
        if (!slash)
            break;
        p = slash + 1;
    }
    *nsegs = n;
    *nparams = np;
    return 0;
}

int fa__router_add(fa__router_t *r, int method, const char *pattern, void *handler, void *data) {
    if (r->frozen)
        return FA_ESTATE;
    if (!pattern || method <= (int)FA_HTTP_OTHER || method > FA_ROUTER_ANY)
        return FA_EINVAL;
    pseg_t segs[FA_ROUTER_MAX_SEGMENTS];
    size_t nsegs;
    unsigned nparams;
    int rc = parse_pattern(pattern, segs, &nsegs, &nparams);
    if (rc)
        return rc;
    if (r->n >= INT32_MAX)
        return FA_ENOSPC;

    fa__route_t *rt = calloc(1, sizeof *rt);
    if (!rt)
        return FA_ENOMEM;
    rt->pattern = strdup(pattern);
    if (!rt->pattern)
        goto nomem;
    for (size_t i = 0; i < nsegs; i++) {
        if (segs[i].kind == SEG_STATIC)
            continue;
        char *name = strndup(segs[i].text, segs[i].len);
        if (!name)
            goto nomem;
        rt->param_is_path[rt->nparams] = segs[i].kind == SEG_PATH;
        rt->param_names[rt->nparams++] = name;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        fa__route_t **a = realloc(r->routes, cap * sizeof *a);
        if (!a)
            goto nomem;
        r->routes = a;
        r->cap = cap;
    }

    /* Nodes created here stay in the trie even if a later allocation fails: an empty node
     * matches nothing, so a failed add leaves the router's behaviour unchanged. */
    node_t *node = &r->root;
    for (size_t i = 0; i < nsegs; i++) {
        node_t **slot = NULL;
        if (segs[i].kind == SEG_STATIC) {
            node = static_child(node, segs[i].text, segs[i].len);
        } else {
            slot = segs[i].kind == SEG_PARAM ? &node->param : &node->path;
            if (!*slot)
                *slot = node_new(NULL, 0);
            node = *slot;
        }
        if (!node)
            goto nomem;
    }
    rt->method = method;
    rt->handler = handler;
    rt->data = data;
    rt->index = (unsigned)r->n;
    if (node->routes[method] < 0) { /* the first registered wins */
        node->routes[method] = (int32_t)r->n;
        node->mask |= 1u << method;
    }
    r->routes[r->n++] = rt;
    return (int)rt->index;
nomem:
    route_free(rt);
    return FA_ENOMEM;
}

/* ---- matching ---- */

typedef struct {
    const fa__router_t *r;
    const char *path;
    size_t len;
    int method;
    int has_pct; /* the path contains a '%': static segments must be decoded before comparing */
    char *scratch;
    size_t used;
    size_t n;
    size_t off[FA_ROUTER_MAX_PARAMS], vlen[FA_ROUTER_MAX_PARAMS];
    int32_t found;
    unsigned allow; /* methods of every route whose pattern matched the path */
} ctx_t;

static int32_t pick(const node_t *node, int method) {
    if (node->routes[method] >= 0)
        return node->routes[method];
    if (method == FA_HTTP_HEAD && node->routes[FA_HTTP_GET] >= 0)
        return node->routes[FA_HTTP_GET];
    return node->routes[FA_ROUTER_ANY];
}

static int terminal(ctx_t *c, const node_t *node) {
    c->allow |= node->mask;
    int32_t idx = node->mask ? pick(node, c->method) : -1;
    if (idx < 0)
        return 0;
    c->found = idx;
    return 1;
}

/* Pushes a decoded parameter value (NUL-terminated) into the scratch buffer. */
static void push_value(ctx_t *c, const char *raw, size_t rawlen) {
    size_t n = c->has_pct ? decode(c->scratch + c->used, raw, rawlen) : rawlen;
    if (!c->has_pct)
        memcpy(c->scratch + c->used, raw, rawlen);
    c->scratch[c->used + n] = '\0';
    c->off[c->n] = c->used;
    c->vlen[c->n] = n;
    c->n++;
    c->used += n + 1;
}

static void pop_value(ctx_t *c) {
    c->n--;
    c->used = c->off[c->n];
}

static int descend(ctx_t *c, const node_t *node, size_t start);

/* `child` consumed the segment that ends at `end`. */
static int visit(ctx_t *c, const node_t *child, size_t end) {
    if (end == c->len)
        return terminal(c, child);
    return descend(c, child, end + 1);
}

/* Matches the segment starting at path[start] (and the rest) below `node`. Depth-first in
 * priority order: static, `{name}`, `{name:path}`. Each node is entered at most once per lookup
 * (a child is only entered from its one parent, which is entered at most once). */
static int descend(ctx_t *c, const node_t *node, size_t start) {
    const char *seg = c->path + start;
    const char *slash = memchr(seg, '/', c->len - start);
    size_t end = slash ? (size_t)(slash - c->path) : c->len;
    size_t seglen = end - start;

    if (node->nstatics) {
        const char *key = seg;
        size_t keylen = seglen;
        if (c->has_pct && memchr(seg, '%', seglen)) {
            /* Decoded at the free end of the scratch buffer, which it does not claim. */
            keylen = decode(c->scratch + c->used, seg, seglen);
            key = c->scratch + c->used;
        }
        long at = find_static(node, key, keylen);
        if (at >= 0 && visit(c, node->statics[at], end))
            return 1;
    }
    if (node->param && seglen > 0 && c->n < FA_ROUTER_MAX_PARAMS) {
        push_value(c, seg, seglen);
        if (visit(c, node->param, end))
            return 1;
        pop_value(c);
    }
    if (node->path && c->n < FA_ROUTER_MAX_PARAMS) {
        push_value(c, seg, c->len - start);
        if (terminal(c, node->path))
            return 1;
        pop_value(c);
    }
    return 0;
}

static void build_allow(fa__route_match_t *m, unsigned mask) {
    if (mask & (1u << FA_HTTP_GET))
        mask |= 1u << FA_HTTP_HEAD;
    m->allow_mask = mask;
    size_t o = 0;
    for (int i = FA_HTTP_GET; i < (int)FA_HTTP_METHOD_COUNT; i++) {
        if (!(mask & (1u << i)))
            continue;
        size_t l = strlen(method_names[i]);
        if (o) {
            memcpy(m->allow + o, ", ", 2);
            o += 2;
        }
        memcpy(m->allow + o, method_names[i], l);
        o += l;
    }
    m->allow[o] = '\0';
    m->allow_len = o;
}

int fa__router_match(const fa__router_t *r, fa_http_method_t method, const char *path,
                     size_t path_len, char *scratch, size_t scratch_cap, fa__route_match_t *m) {
    m->status = FA_ROUTE_NOT_FOUND;
    m->route = NULL;
    m->nparams = 0;
    m->allow[0] = '\0';
    m->allow_len = 0;
    m->allow_mask = 0;
    if (scratch_cap < path_len)
        return FA_ERANGE;
    if (path_len == 0 || path[0] != '/')
        return 0; /* "*" (OPTIONS *) and anything else that is not a path: 404 */
    if (validate_path(path, path_len) != 0) {
        m->status = FA_ROUTE_BAD_REQUEST;
        return 0;
    }
    ctx_t c;
    c.r = r;
    c.path = path;
    c.len = path_len;
    c.method = (int)method;
    c.has_pct = memchr(path, '%', path_len) != NULL;
    c.scratch = scratch;
    c.used = 0;
    c.n = 0;
    c.found = -1;
    c.allow = 0;
    if (method == FA_HTTP_OTHER)
        c.method = FA_ROUTER_ANY; /* only "any" routes take methods we do not know */

    if (descend(&c, &r->root, 1)) {
        const fa__route_t *rt = r->routes[c.found];
        m->status = FA_ROUTE_FOUND;
        m->route = rt;
        m->nparams = c.n; /* == rt->nparams: one value per parameter segment on the way */
        for (size_t i = 0; i < c.n; i++) {
            m->params[i].name = rt->param_names[i];
            m->params[i].name_len = strlen(rt->param_names[i]);
            m->params[i].value = scratch + c.off[i];
            m->params[i].value_len = c.vlen[i];
        }
        return 0;
    }
    if (c.allow) {
        m->status = FA_ROUTE_METHOD_NOT_ALLOWED;
        build_allow(m, c.allow & ~(1u << FA_ROUTER_ANY));
    }
    return 0;
}

const fa__route_param_t *fa__route_param(const fa__route_match_t *m, const char *name) {
    size_t len = strlen(name);
    for (size_t i = 0; i < m->nparams; i++)
        if (m->params[i].name_len == len && memcmp(m->params[i].name, name, len) == 0)
            return &m->params[i];
    return NULL;
}

/* ---- query strings ---- */

void fa__query_init(fa__query_iter_t *it, const char *query, size_t len) {
    it->p = query;
    it->end = query ? query + len : NULL;
}

int fa__query_next(fa__query_iter_t *it, fa__span_t *name, fa__span_t *value) {
    while (it->p && it->p < it->end) {
        const char *start = it->p;
        const char *amp = memchr(start, '&', (size_t)(it->end - start));
        const char *stop = amp ? amp : it->end;
        it->p = amp ? amp + 1 : it->end;
        if (stop == start)
            continue; /* empty pair */
        const char *eq = memchr(start, '=', (size_t)(stop - start));
        name->ptr = start;
        name->len = (size_t)((eq ? eq : stop) - start);
        value->ptr = eq ? eq + 1 : stop;
        value->len = eq ? (size_t)(stop - eq - 1) : 0;
        return 1;
    }
    return 0;
}
