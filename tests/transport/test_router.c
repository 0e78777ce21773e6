/* Tests for src/transport/router.c. */
#include <stdio.h>
#include <string.h>

#include "fa_test.h"
#include "fasterapi/error.h"
#include "transport/router.h"

static char scratch[8192];

/* Looks up (method, path) and returns the status; *m gets the match. */
static fa__route_status_t look(const fa__router_t *r, fa_http_method_t method, const char *path,
                               fa__route_match_t *m) {
    ck_assert_int_eq(fa__router_match(r, method, path, strlen(path), scratch, sizeof scratch, m),
                     0);
    return m->status;
}

/* The index of the route that (method, path) finds, or -1 for anything but FOUND. */
static int found(const fa__router_t *r, fa_http_method_t method, const char *path) {
    fa__route_match_t m;
    if (look(r, method, path, &m) != FA_ROUTE_FOUND)
        return -1;
    return (int)m.route->index;
}

static const char *param(const fa__route_match_t *m, const char *name) {
    const fa__route_param_t *p = fa__route_param(m, name);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(strlen(p->value), p->value_len); /* NUL-terminated, no NUL inside */
    return p->value;
}

START_TEST(test_static_and_params) {
    fa__router_t *r = fa__router_new();
    int h = 42;
    ck_assert_int_eq(fa__router_add(r, FA_HTTP_GET, "/", &h, NULL), 0);
    ck_assert_int_eq(fa__router_add(r, FA_HTTP_GET, "/items", NULL, &h), 1);
    ck_assert_int_eq(fa__router_add(r, FA_HTTP_GET, "/items/{id}", NULL, NULL), 2);
    ck_assert_int_eq(fa__router_add(r, FA_HTTP_GET, "/users/{uid}/posts/{pid}", NULL, NULL), 3);
    fa__router_freeze(r);

    fa__route_match_t m;
    ck_assert_int_eq(look(r, FA_HTTP_GET, "/", &m), FA_ROUTE_FOUND);
    ck_assert_ptr_eq(m.route->handler, &h);
    ck_assert_int_eq(look(r, FA_HTTP_GET, "/items", &m), FA_ROUTE_FOUND);
    ck_assert_ptr_eq(m.route->data, &h);
    ck_assert_uint_eq(m.nparams, 0);
    ck_assert_int_eq(look(r, FA_HTTP_GET, "/items/17", &m), FA_ROUTE_FOUND);
    ck_assert_uint_eq(m.route->index, 2);
    ck_assert_uint_eq(m.nparams, 1);
    ck_assert_str_eq(param(&m, "id"), "17");
    ck_assert_int_eq(look(r, FA_HTTP_GET, "/users/ann/posts/9", &m), FA_ROUTE_FOUND);
    ck_assert_str_eq(m.params[0].name, "uid");
    ck_assert_str_eq(m.params[0].value, "ann");
    ck_assert_str_eq(m.params[1].name, "pid");
    ck_assert_str_eq(m.params[1].value, "9");
    ck_assert_ptr_null(fa__route_param(&m, "nope"));
    /* Parameter values lie inside the scratch buffer. */
    ck_assert(m.params[1].value >= scratch && m.params[1].value < scratch + sizeof scratch);

    /* Case-sensitive statics, no partial segments, no empty parameter. */
    ck_assert_int_eq(look(r, FA_HTTP_GET, "/Items", &m), FA_ROUTE_NOT_FOUND);
    ck_assert_int_eq(look(r, FA_HTTP_GET, "/item", &m), FA_ROUTE_NOT_FOUND);
    ck_assert_int_eq(look(r, FA_HTTP_GET, "/items/", &m), FA_ROUTE_NOT_FOUND);
    ck_assert_int_eq(look(r, FA_HTTP_GET, "/items/1/2", &m), FA_ROUTE_NOT_FOUND);
    ck_assert_int_eq(look(r, FA_HTTP_GET, "/users//posts/9", &m), FA_ROUTE_NOT_FOUND);
    ck_assert_int_eq(look(r, FA_HTTP_GET, "", &m), FA_ROUTE_NOT_FOUND);
    ck_assert_int_eq(look(r, FA_HTTP_GET, "*", &m), FA_ROUTE_NOT_FOUND);
    ck_assert_int_eq(look(r, FA_HTTP_GET, "items", &m), FA_ROUTE_NOT_FOUND);
    fa__router_free(r);
}
END_TEST

START_TEST(test_trailing_slash_is_a_different_path) {
    fa__router_t *r = fa__router_new();
    fa__router_add(r, FA_HTTP_GET, "/items", NULL, NULL);
    fa__router_add(r, FA_HTTP_GET, "/dir/", NULL, NULL);
    ck_assert_int_eq(found(r, FA_HTTP_GET, "/items"), 0);
    ck_assert_int_eq(found(r, FA_HTTP_GET, "/items/"), -1);
    ck_assert_int_eq(found(r, FA_HTTP_GET, "/dir/"), 1);
    ck_assert_int_eq(found(r, FA_HTTP_GET, "/dir"), -1);
    ck_assert_int_eq(found(r, FA_HTTP_GET, "//items"), -1);
    fa__router_free(r);
}
END_TEST

START_TEST(test_path_param) {
    fa__router_t *r = fa__router_new();
    fa__router_add(r, FA_HTTP_GET, "/files/{p:path}", NULL, NULL);
    fa__router_add(r, FA_HTTP_GET, "/s/{name:str}", NULL, NULL);
    fa__route_match_t m;
    ck_assert_int_eq(look(r, FA_HTTP_GET, "/files/a/b/c.txt", &m), FA_ROUTE_FOUND);
    ck_assert_str_eq(param(&m, "p"), "a/b/c.txt");
    ck_assert_int_eq(look(r, FA_HTTP_GET, "/files/", &m), FA_ROUTE_FOUND);
    ck_assert_str_eq(param(&m, "p"), "");
    ck_assert_int_eq(look(r, FA_HTTP_GET, "/files/a%20b/%2F", &m), FA_ROUTE_FOUND);
    ck_assert_str_eq(param(&m, "p"), "a b//");
    ck_assert_int_eq(look(r, FA_HTTP_GET, "/files", &m), FA_ROUTE_NOT_FOUND);
    ck_assert_int_eq(look(r, FA_HTTP_GET, "/s/x", &m), FA_ROUTE_FOUND);
    ck_assert_str_eq(param(&m, "name"), "x");
    ck_assert(m.route->param_is_path[0] == 0);
    fa__router_free(r);
}
END_TEST

START_TEST(test_bad_patterns) {
    fa__router_t *r = fa__router_new();
    const char *bad[] = {"",       "items", "/{}",     "/{",        "/x}",         "/a{id}",
                         "/{id}b", "/{1x}", "/{a-b}",  "/{id:int}", "/{p:path}/x", "/{a}/{a}",
                         "/a%20b", "/a?b",  "/{a{b}}", "/{a:}",     "/{:path}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(fa__router_add(r, FA_HTTP_GET, bad[i], NULL, NULL) == FA_EINVAL, "%s",
                      bad[i]);
    ck_assert_int_eq(fa__router_add(r, FA_HTTP_OTHER, "/x", NULL, NULL), FA_EINVAL);
    ck_assert_int_eq(fa__router_add(r, FA_ROUTER_ANY + 1, "/x", NULL, NULL), FA_EINVAL);
    ck_assert_int_eq(fa__router_add(r, -1, "/x", NULL, NULL), FA_EINVAL);
    ck_assert_int_eq(fa__router_add(r, FA_HTTP_GET, NULL, NULL, NULL), FA_EINVAL);

    /* Limits: 16 parameters are fine, 17 are not; 64 segments are fine, 65 are not. */
    char pat[1024];
    size_t o = 0;
    for (int i = 0; i < FA_ROUTER_MAX_PARAMS; i++)
        o += (size_t)snprintf(pat + o, sizeof pat - o, "/{p%d}", i);
    ck_assert_int_eq(fa__router_add(r, FA_HTTP_GET, pat, NULL, NULL), 0);
    snprintf(pat + o, sizeof pat - o, "/{p99}");
    ck_assert_int_eq(fa__router_add(r, FA_HTTP_GET, pat, NULL, NULL), FA_EINVAL);
    o = 0;
    for (int i = 0; i < FA_ROUTER_MAX_SEGMENTS; i++)
        o += (size_t)snprintf(pat + o, sizeof pat - o, "/s");
    ck_assert_int_eq(fa__router_add(r, FA_HTTP_GET, pat, NULL, NULL), 1);
    snprintf(pat + o, sizeof pat - o, "/s");
    ck_assert_int_eq(fa__router_add(r, FA_HTTP_GET, pat, NULL, NULL), FA_EINVAL);
    ck_assert_uint_eq(fa__router_count(r), 2);

    /* The 16-parameter route works. */
    fa__route_match_t m;
    ck_assert_int_eq(look(r, FA_HTTP_GET, "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p", &m), FA_ROUTE_FOUND);
    ck_assert_uint_eq(m.nparams, 16);
    ck_assert_str_eq(param(&m, "p15"), "p");

    fa__router_freeze(r);
    ck_assert_int_eq(fa__router_add(r, FA_HTTP_GET, "/late", NULL, NULL), FA_ESTATE);
    ck_assert_ptr_null(fa__router_route(r, 2));
    ck_assert_uint_eq(fa__router_route(r, 0)->nparams, 16);
    ck_assert_str_eq(fa__router_route(r, 0)->param_names[3], "p3");
    fa__router_free(r);
}
END_TEST

START_TEST(test_priority_static_param_path) {
    fa__router_t *r = fa__router_new();
    /* Registered in the "wrong" order on purpose: priority does not depend on it. */
    ck_assert_int_eq(fa__router_add(r, FA_HTTP_GET, "/u/{rest:path}", NULL, NULL), 0);
    ck_assert_int_eq(fa__router_add(r, FA_HTTP_GET, "/u/{id}", NULL, NULL), 1);
    ck_assert_int_eq(fa__router_add(r, FA_HTTP_GET, "/u/me", NULL, NULL), 2);
    ck_assert_int_eq(fa__router_add(r, FA_HTTP_GET, "/u/me/x", NULL, NULL), 3);
    ck_assert_int_eq(fa__router_add(r, FA_HTTP_GET, "/u/{id}/y", NULL, NULL), 4);
    ck_assert_int_eq(fa__router_add(r, FA_HTTP_GET, "/u/{other}", NULL, NULL), 5); /* shadowed */
    ck_assert_int_eq(found(r, FA_HTTP_GET, "/u/me"), 2);
    ck_assert_int_eq(found(r, FA_HTTP_GET, "/u/you"), 1);
    ck_assert_int_eq(found(r, FA_HTTP_GET, "/u/you/z"), 0);
    ck_assert_int_eq(found(r, FA_HTTP_GET, "/u/me/x"), 3);
    /* Backtracking: the static "me" branch has no "y", the parameter branch has. */
    ck_assert_int_eq(found(r, FA_HTTP_GET, "/u/me/y"), 4);
    fa__route_match_t m;
    ck_assert_int_eq(look(r, FA_HTTP_GET, "/u/me/y", &m), FA_ROUTE_FOUND);
    ck_assert_str_eq(param(&m, "id"), "me");
    ck_assert_uint_eq(m.nparams, 1);
    /* ... and "/u/me/z" falls through to the path parameter with the whole rest. */
    ck_assert_int_eq(look(r, FA_HTTP_GET, "/u/me/z", &m), FA_ROUTE_FOUND);
    ck_assert_uint_eq(m.route->index, 0);
    ck_assert_uint_eq(m.nparams, 1);
    ck_assert_str_eq(param(&m, "rest"), "me/z");
    fa__router_free(r);
}
END_TEST

START_TEST(test_first_registered_wins) {
    fa__router_t *r = fa__router_new();
    ck_assert_int_eq(fa__router_add(r, FA_HTTP_GET, "/a/{x}", NULL, NULL), 0);
    ck_assert_int_eq(fa__router_add(r, FA_HTTP_GET, "/a/{y}", NULL, NULL), 1);
    ck_assert_int_eq(fa__router_add(r, FA_HTTP_GET, "/b", NULL, NULL), 2);
    ck_assert_int_eq(fa__router_add(r, FA_HTTP_GET, "/b", NULL, NULL), 3);
    fa__route_match_t m;
    ck_assert_int_eq(look(r, FA_HTTP_GET, "/a/1", &m), FA_ROUTE_FOUND);
    ck_assert_uint_eq(m.route->index, 0);
    ck_assert_str_eq(m.params[0].name, "x");
    ck_assert_int_eq(found(r, FA_HTTP_GET, "/b"), 2);
    fa__router_free(r);
}
END_TEST

START_TEST(test_methods_404_405_allow) {
    fa__router_t *r = fa__router_new();
    fa__router_add(r, FA_HTTP_GET, "/items", NULL, NULL);
    fa__router_add(r, FA_HTTP_POST, "/items", NULL, NULL);
    fa__router_add(r, FA_HTTP_DELETE, "/items/{id}", NULL, NULL);
    fa__router_add(r, FA_HTTP_GET, "/items/special", NULL, NULL);
    fa__router_add(r, FA_HTTP_PUT, "/only-put", NULL, NULL);
    fa__router_add(r, FA_HTTP_HEAD, "/h", NULL, NULL);
    fa__router_add(r, FA_HTTP_GET, "/h", NULL, NULL);
    fa__router_add(r, FA_ROUTER_ANY, "/any", NULL, NULL);
    fa__router_add(r, FA_HTTP_GET, "/any", NULL, NULL);
    fa__router_add(r, FA_HTTP_OPTIONS, "/opt", NULL, NULL);
    fa__router_freeze(r);

    fa__route_match_t m;
    ck_assert_int_eq(found(r, FA_HTTP_GET, "/items"), 0);
    ck_assert_int_eq(found(r, FA_HTTP_POST, "/items"), 1);
    ck_assert_int_eq(look(r, FA_HTTP_PUT, "/items", &m), FA_ROUTE_METHOD_NOT_ALLOWED);
    ck_assert_str_eq(m.allow, "GET, HEAD, POST");
    ck_assert_uint_eq(m.allow_len, strlen("GET, HEAD, POST"));
    ck_assert_uint_eq(m.allow_mask, 1u << FA_HTTP_GET | 1u << FA_HTTP_HEAD | 1u << FA_HTTP_POST);
    /* OPTIONS is not answered automatically. */
    ck_assert_int_eq(look(r, FA_HTTP_OPTIONS, "/items", &m), FA_ROUTE_METHOD_NOT_ALLOWED);
    ck_assert_str_eq(m.allow, "GET, HEAD, POST");
    ck_assert_int_eq(found(r, FA_HTTP_OPTIONS, "/opt"), 9);
    /* HEAD falls back to GET. */
    ck_assert_int_eq(found(r, FA_HTTP_HEAD, "/items"), 0);
    /* ... unless HEAD has its own route. */
    ck_assert_int_eq(found(r, FA_HTTP_HEAD, "/h"), 5);
    ck_assert_int_eq(look(r, FA_HTTP_HEAD, "/only-put", &m), FA_ROUTE_METHOD_NOT_ALLOWED);
    ck_assert_str_eq(m.allow, "PUT");
    /* A method routed by a lower-priority pattern is found there (Starlette does the same):
     * DELETE /items/special goes to /items/{id}. */
    ck_assert_int_eq(found(r, FA_HTTP_DELETE, "/items/special"), 2);
    /* The 405 Allow is the union over every pattern that matches the path. */
    ck_assert_int_eq(look(r, FA_HTTP_POST, "/items/special", &m), FA_ROUTE_METHOD_NOT_ALLOWED);
    ck_assert_str_eq(m.allow, "GET, HEAD, DELETE");
    ck_assert_int_eq(look(r, FA_HTTP_POST, "/items/7", &m), FA_ROUTE_METHOD_NOT_ALLOWED);
    ck_assert_str_eq(m.allow, "DELETE");
    ck_assert_int_eq(look(r, FA_HTTP_POST, "/nothing", &m), FA_ROUTE_NOT_FOUND);
    ck_assert_str_eq(m.allow, "");
    /* "any": an exact method route first, then the any route; unknown methods reach it. */
    ck_assert_int_eq(found(r, FA_HTTP_GET, "/any"), 8);
    ck_assert_int_eq(found(r, FA_HTTP_PATCH, "/any"), 7);
    ck_assert_int_eq(found(r, FA_HTTP_OTHER, "/any"), 7);
    ck_assert_int_eq(look(r, FA_HTTP_OTHER, "/items", &m), FA_ROUTE_METHOD_NOT_ALLOWED);
    ck_assert_str_eq(m.allow, "GET, HEAD, POST");
    fa__router_free(r);
}
END_TEST

START_TEST(test_percent_decoding) {
    fa__router_t *r = fa__router_new();
    fa__router_add(r, FA_HTTP_GET, "/abc", NULL, NULL);
    fa__router_add(r, FA_HTTP_GET, "/v/{x}", NULL, NULL);
    fa__router_add(r, FA_HTTP_GET, "/v/{x}/{y}", NULL, NULL);
    fa__router_add(r, FA_HTTP_GET, "/sp ace", NULL, NULL);
    fa__route_match_t m;
    /* Static segments compare decoded, like Starlette. */
    ck_assert_int_eq(found(r, FA_HTTP_GET, "/a%62c"), 0);
    ck_assert_int_eq(found(r, FA_HTTP_GET, "/%61%62%63"), 0);
    ck_assert_int_eq(found(r, FA_HTTP_GET, "/sp%20ace"), 3);
    ck_assert_int_eq(found(r, FA_HTTP_GET, "/a%42c"), -1);
    /* Values are decoded; '+' is not a space in a path; %2F does not split. */
    ck_assert_int_eq(look(r, FA_HTTP_GET, "/v/caf%C3%A9+x%2fy", &m), FA_ROUTE_FOUND);
    ck_assert_uint_eq(m.route->index, 1);
    ck_assert_str_eq(param(&m, "x"), "caf\xc3\xa9+x/y");
    ck_assert_int_eq(look(r, FA_HTTP_GET, "/v/a%2Fb/c%25", &m), FA_ROUTE_FOUND);
    ck_assert_uint_eq(m.route->index, 2);
    ck_assert_str_eq(param(&m, "x"), "a/b");
    ck_assert_str_eq(param(&m, "y"), "c%");
    /* Malformed escapes and NUL -> 400, wherever they are. */
    const char *bad[] = {"/v/%",   "/v/%4", "/v/%zz",       "/v/%4g",
                         "/v/%00", "/abc%", "/nowhere/%G0", "/v/a%0"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(look(r, FA_HTTP_GET, bad[i], &m) == FA_ROUTE_BAD_REQUEST, "%s", bad[i]);
    char nul[] = "/v/a\0b";
    ck_assert_int_eq(fa__router_match(r, FA_HTTP_GET, nul, 6, scratch, sizeof scratch, &m), 0);
    ck_assert_int_eq(m.status, FA_ROUTE_BAD_REQUEST);
    /* A scratch buffer smaller than the path is refused up front. */
    ck_assert_int_eq(fa__router_match(r, FA_HTTP_GET, "/v/abc", 6, scratch, 5, &m), FA_ERANGE);
    /* Exactly path_len is enough, with a NUL per value. */
    char tight[9];
    ck_assert_int_eq(fa__router_match(r, FA_HTTP_GET, "/v/ab/cd", 8, tight, 8, &m), 0);
    ck_assert_int_eq(m.status, FA_ROUTE_FOUND);
    ck_assert_str_eq(m.params[1].value, "cd");
    fa__router_free(r);
}
END_TEST

/* 500 routes "/api/v1/resource{i}/{id}/sub{j}", every one found with the right parameters,
 * near misses not found, against a table of what should match. */
START_TEST(test_500_routes) {
    fa__router_t *r = fa__router_new();
    char pat[128], path[128];
    for (int i = 0; i < 100; i++)
        for (int j = 0; j < 5; j++) {
            snprintf(pat, sizeof pat, "/api/v1/resource%d/{id}/sub%d", i, j);
            ck_assert_int_eq(
                fa__router_add(r, j == 4 ? FA_HTTP_POST : FA_HTTP_GET, pat, NULL, NULL), i * 5 + j);
        }
    fa__router_freeze(r);
    ck_assert_uint_eq(fa__router_count(r), 500);
    fa__route_match_t m;
    for (int i = 0; i < 100; i++)
        for (int j = 0; j < 5; j++) {
            snprintf(path, sizeof path, "/api/v1/resource%d/%d/sub%d", i, i * 31 + j, j);
            fa_http_method_t meth = j == 4 ? FA_HTTP_POST : FA_HTTP_GET;
            ck_assert_int_eq(look(r, meth, path, &m), FA_ROUTE_FOUND);
            ck_assert_uint_eq(m.route->index, (unsigned)(i * 5 + j));
            char want[32];
            snprintf(want, sizeof want, "%d", i * 31 + j);
            ck_assert_str_eq(param(&m, "id"), want);
            ck_assert_int_eq(look(r, meth == FA_HTTP_GET ? FA_HTTP_POST : FA_HTTP_GET, path, &m),
                             FA_ROUTE_METHOD_NOT_ALLOWED);
            ck_assert_str_eq(m.allow, j == 4 ? "POST" : "GET, HEAD");
            snprintf(path, sizeof path, "/api/v1/resource%d/x/sub%d", i, j + 5);
            ck_assert_int_eq(look(r, FA_HTTP_GET, path, &m), FA_ROUTE_NOT_FOUND);
            snprintf(path, sizeof path, "/api/v1/resource%d/x/sub%d/", i, j);
            ck_assert_int_eq(look(r, FA_HTTP_GET, path, &m), FA_ROUTE_NOT_FOUND);
        }
    ck_assert_int_eq(look(r, FA_HTTP_GET, "/api/v1/resource100/1/sub0", &m), FA_ROUTE_NOT_FOUND);
    fa__router_free(r);
}
END_TEST

/* Query strings: pairs, empty pairs, missing '=', '=' in values, no decoding. */
START_TEST(test_query_iter) {
    const char *q = "a=1&&b=&c&=d&a=3%20x+y&e==f&";
    fa__query_iter_t it;
    fa__query_init(&it, q, strlen(q));
    fa__span_t n, v;
    const char *want[][2] = {{"a", "1"}, {"b", ""},        {"c", ""},
                             {"", "d"},  {"a", "3%20x+y"}, {"e", "=f"}};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        ck_assert_int_eq(fa__query_next(&it, &n, &v), 1);
        ck_assert_uint_eq(n.len, strlen(want[i][0]));
        ck_assert_int_eq(memcmp(n.ptr, want[i][0], n.len), 0);
        ck_assert_uint_eq(v.len, strlen(want[i][1]));
        ck_assert_int_eq(memcmp(v.ptr, want[i][1], v.len), 0);
    }
    ck_assert_int_eq(fa__query_next(&it, &n, &v), 0);
    ck_assert_int_eq(fa__query_next(&it, &n, &v), 0);

    fa__query_init(&it, NULL, 0);
    ck_assert_int_eq(fa__query_next(&it, &n, &v), 0);
    fa__query_init(&it, "&&&", 3);
    ck_assert_int_eq(fa__query_next(&it, &n, &v), 0);
    /* The length bounds the scan: bytes after it are not part of the query. */
    fa__query_init(&it, "x=1&y=2", 3);
    ck_assert_int_eq(fa__query_next(&it, &n, &v), 1);
    ck_assert_uint_eq(v.len, 1);
    ck_assert_int_eq(fa__query_next(&it, &n, &v), 0);
}
END_TEST

int main(void) {
    Suite *s = suite_create("transport/router");
    TCase *tc = tcase_create("router");
    tcase_add_test(tc, test_static_and_params);
    tcase_add_test(tc, test_trailing_slash_is_a_different_path);
    tcase_add_test(tc, test_path_param);
    tcase_add_test(tc, test_bad_patterns);
    tcase_add_test(tc, test_priority_static_param_path);
    tcase_add_test(tc, test_first_registered_wins);
    tcase_add_test(tc, test_methods_404_405_allow);
    tcase_add_test(tc, test_percent_decoding);
    tcase_add_test(tc, test_500_routes);
    tcase_add_test(tc, test_query_iter);
    suite_add_tcase(s, tc);
    return fa_test_run(s);
}
