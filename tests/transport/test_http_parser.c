/* Tests for src/transport/http_parser.c: heads fed whole, byte by byte and resumed with prev_len;
 * every rejection with its exact status; the smuggling cases; the chunked decoder across every
 * split of its input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fa_test.h"
#include "fasterapi/error.h"
#include "transport/http_parser.h"

#define MAXH 128

static fa__http_limits_t lim_default(void) {
    fa__http_limits_t lim;
    fa__http_limits_default(&lim);
    return lim;
}

/* Parses buf[0..n) in one piece with the given limits. */
static int parse_n(const char *buf, size_t n, fa__http_request_t *r, fa__http_header_t *hs,
                   const fa__http_limits_t *lim) {
    memset(r, 0xab, sizeof *r); /* the parser must set every field it reports */
    r->headers = hs;
    return fa__http_parse_head(buf, n, 0, r, lim);
}

/* Feeds buf one byte more at a time (resuming with prev_len) into a heap copy of exactly the
 * prefix length, so ASan sees any read past len. Returns the first non-FA_EAGAIN result (or
 * FA_EAGAIN) and the byte count it came at. */
static int parse_bytewise(const char *buf, size_t n, fa__http_request_t *r, fa__http_header_t *hs,
                          const fa__http_limits_t *lim, size_t *at) {
    int rc = FA_EAGAIN;
    char *copy = malloc(n ? n : 1);
    memcpy(copy, buf, n);
    for (size_t k = 1; k <= n; k++) {
        r->headers = hs;
        rc = fa__http_parse_head(copy, k, k - 1, r, lim);
        if (rc != FA_EAGAIN) {
            *at = k;
            break;
        }
    }
    free(copy);
    return rc;
}

/* The whole buffer gives `status`, and byte by byte gives the same status and reason. */
static void expect_status_n(const char *s, size_t n, int status, const fa__http_limits_t *lim) {
    fa__http_header_t hs[MAXH], hs2[MAXH];
    fa__http_request_t r, r2;
    size_t at = 0;
    int rc = parse_n(s, n, &r, hs, lim);
    ck_assert_msg(rc == FA_EINVAL && r.status == status, "'%s': rc %d status %d (%s), want %d", s,
                  rc, r.status, r.reason ? r.reason : "-", status);
    ck_assert_ptr_nonnull(r.reason);
    int rc2 = parse_bytewise(s, n, &r2, hs2, lim, &at);
    ck_assert_msg(rc2 == FA_EINVAL && r2.status == status && strcmp(r2.reason, r.reason) == 0,
                  "'%s' byte by byte: rc %d status %d (%s)", s, rc2, r2.status,
                  r2.reason ? r2.reason : "-");
}

static void expect_status_lim(const char *s, int status, const fa__http_limits_t *lim) {
    expect_status_n(s, strlen(s), status, lim);
}

static void expect_status(const char *s, int status) {
    fa__http_limits_t lim = lim_default();
    expect_status_lim(s, status, &lim);
}

/* A valid head: whole and byte by byte give the same head_len = strlen(s) (or `head_len`). */
static void expect_ok(const char *s, size_t head_len, fa__http_request_t *r,
                      fa__http_header_t *hs) {
    fa__http_limits_t lim = lim_default();
    size_t n = strlen(s), at = 0;
    int rc = parse_n(s, n, r, hs, &lim);
    ck_assert_msg(rc == (int)head_len, "'%s': rc %d (%s)", s, rc, r->reason ? r->reason : "-");
    ck_assert_uint_eq(r->head_len, head_len);
    fa__http_header_t hs2[MAXH];
    fa__http_request_t r2;
    int rc2 = parse_bytewise(s, n, &r2, hs2, &lim, &at);
    ck_assert_int_eq(rc2, (int)head_len);
    ck_assert_uint_eq(at, head_len);
}

/* A valid head that is the whole string. */
#define EXPECT_OK(s) expect_ok((s), strlen(s), &r, hs)

static int str_eq(const char *p, size_t n, const char *want) {
    return p && strlen(want) == n && memcmp(p, want, n) == 0;
}

static const char WRK[] = "GET /plaintext HTTP/1.1\r\n"
                          "Host: localhost:8080\r\n"
                          "User-Agent: wrk/4.2.0\r\n"
                          "Accept: text/plain,*/*;q=0.8\r\n"
                          "Connection: keep-alive\r\n"
                          "\r\n";

START_TEST(test_wrk_request_fields_point_into_buffer) {
    fa__http_header_t hs[MAXH];
    fa__http_request_t r;
    size_t n = strlen(WRK);
    expect_ok(WRK, n, &r, hs);
    ck_assert_int_eq(r.method, FA_HTTP_GET);
    ck_assert(str_eq(r.method_str, r.method_len, "GET"));
    ck_assert(r.method_str == WRK);
    ck_assert(str_eq(r.target, r.target_len, "/plaintext"));
    ck_assert(str_eq(r.path, r.path_len, "/plaintext"));
    ck_assert_ptr_null(r.query);
    ck_assert_int_eq(r.minor_version, 1);
    ck_assert_uint_eq(r.nheaders, 4);
    ck_assert(str_eq(r.headers[0].name, r.headers[0].name_len, "Host"));
    ck_assert(str_eq(r.headers[0].value, r.headers[0].value_len, "localhost:8080"));
    ck_assert(str_eq(r.headers[2].value, r.headers[2].value_len, "text/plain,*/*;q=0.8"));
    for (size_t i = 0; i < r.nheaders; i++) {
        ck_assert(r.headers[i].name >= WRK && r.headers[i].name < WRK + n);
        ck_assert(r.headers[i].value + r.headers[i].value_len <= WRK + n);
    }
    ck_assert_int_eq(r.content_length, -1);
    ck_assert_int_eq(r.chunked, 0);
    ck_assert_int_eq(r.keep_alive, 1);
    ck_assert_int_eq(r.expect_continue, 0);
    ck_assert_int_eq(r.upgrade, 0);
    ck_assert_int_eq(r.status, 0);
}
END_TEST

START_TEST(test_every_prefix_is_eagain_then_head_len) {
    static const char *const reqs[] = {
        WRK,
        "GET / HTTP/1.0\r\n\r\n",
        "POST /a?b=c HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n",
        "PUT /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
        "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: h\r\nX-Empty:\r\nX-Tab:\t v \t\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
        fa__http_header_t hs[MAXH], hs2[MAXH];
        fa__http_request_t r, r2;
        fa__http_limits_t lim = lim_default();
        size_t n = strlen(reqs[i]);
        /* Each prefix, both fresh (prev_len 0) and resumed, is FA_EAGAIN. */
        for (size_t k = 0; k < n; k++) {
            ck_assert_int_eq(parse_n(reqs[i], k, &r, hs, &lim), FA_EAGAIN);
            r.headers = hs;
            ck_assert_int_eq(fa__http_parse_head(reqs[i], k, k ? k - 1 : 0, &r, &lim), FA_EAGAIN);
        }
        expect_ok(reqs[i], n, &r, hs);
        /* Resumed from the last prefix: the same fields as one piece. */
        r2.headers = hs2;
        ck_assert_int_eq(fa__http_parse_head(reqs[i], n, n - 1, &r2, &lim), (int)n);
        ck_assert(r2.target == r.target && r2.target_len == r.target_len);
        ck_assert_uint_eq(r2.nheaders, r.nheaders);
        ck_assert_int_eq(r2.content_length, r.content_length);
        ck_assert_int_eq(r2.chunked, r.chunked);
    }
}
END_TEST

START_TEST(test_pipelined_head_len_stops_at_first_head) {
    const char two[] = "GET /one HTTP/1.1\r\nHost: a\r\n\r\nGET /two HTTP/1.1\r\nHost: b\r\n\r\n";
    size_t first = strlen("GET /one HTTP/1.1\r\nHost: a\r\n\r\n");
    fa__http_header_t hs[MAXH];
    fa__http_request_t r;
    fa__http_limits_t lim = lim_default();
    ck_assert_int_eq(parse_n(two, strlen(two), &r, hs, &lim), (int)first);
    ck_assert(str_eq(r.path, r.path_len, "/one"));
    ck_assert_uint_eq(r.nheaders, 1);
    ck_assert_int_eq(parse_n(two + first, strlen(two) - first, &r, hs, &lim),
                     (int)(strlen(two) - first));
    ck_assert(str_eq(r.path, r.path_len, "/two"));
    ck_assert(str_eq(r.headers[0].value, r.headers[0].value_len, "b"));
    /* A second head with garbage does not affect the first. */
    const char bad[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n\x01\x02garbage\n";
    ck_assert_int_eq(parse_n(bad, strlen(bad), &r, hs, &lim), 27);
}
END_TEST

START_TEST(test_target_forms) {
    fa__http_header_t hs[MAXH];
    fa__http_request_t r;
    expect_ok("GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost: h\r\n\r\n",
              strlen("GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost: h\r\n\r\n"), &r, hs);
    ck_assert(str_eq(r.path, r.path_len, "/a/b"));
    ck_assert(str_eq(r.query, r.query_len, "x=1&y=%20"));
    expect_ok("GET /a? HTTP/1.1\r\nHost: h\r\n\r\n", strlen("GET /a? HTTP/1.1\r\nHost: h\r\n\r\n"),
              &r, hs);
    ck_assert(str_eq(r.path, r.path_len, "/a"));
    ck_assert_ptr_nonnull(r.query);
    ck_assert_uint_eq(r.query_len, 0);
    expect_ok("GET /a?b?c HTTP/1.1\r\nHost: h\r\n\r\n",
              strlen("GET /a?b?c HTTP/1.1\r\nHost: h\r\n\r\n"), &r, hs);
    ck_assert(str_eq(r.query, r.query_len, "b?c"));
    /* absolute-form: the path part; an empty path has path_len 0 inside the buffer. */
    expect_ok("GET http://ex.com:80/p/q?z HTTP/1.1\r\nHost: ex.com\r\n\r\n",
              strlen("GET http://ex.com:80/p/q?z HTTP/1.1\r\nHost: ex.com\r\n\r\n"), &r, hs);
    ck_assert(str_eq(r.path, r.path_len, "/p/q"));
    ck_assert(str_eq(r.query, r.query_len, "z"));
    const char *abs = "GET http://ex.com?z HTTP/1.1\r\nHost: ex.com\r\n\r\n";
    expect_ok(abs, strlen(abs), &r, hs);
    ck_assert_uint_eq(r.path_len, 0);
    ck_assert(r.path == abs + 17);
    ck_assert(str_eq(r.query, r.query_len, "z"));
    expect_ok("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
              strlen("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"), &r, hs);
    ck_assert(str_eq(r.path, r.path_len, "*"));
    ck_assert_ptr_null(r.query);
    expect_ok("CONNECT ex.com:443 HTTP/1.1\r\nHost: ex.com:443\r\n\r\n",
              strlen("CONNECT ex.com:443 HTTP/1.1\r\nHost: ex.com:443\r\n\r\n"), &r, hs);
    ck_assert_int_eq(r.method, FA_HTTP_CONNECT);
    ck_assert(str_eq(r.path, r.path_len, "ex.com:443"));
    expect_ok("CONNECT [::1]:8080 HTTP/1.1\r\nHost: x\r\n\r\n",
              strlen("CONNECT [::1]:8080 HTTP/1.1\r\nHost: x\r\n\r\n"), &r, hs);

    expect_status("GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    expect_status("CONNECT /x HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    expect_status("CONNECT ex.com HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    expect_status("CONNECT ex.com: HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    expect_status("CONNECT u@ex.com:1 HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    expect_status("GET ex.com:443 HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    expect_status("GET http:/x HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    expect_status("GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    expect_status("GET 1http://x/ HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    expect_status("GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    expect_status("GET /\x7f HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    expect_status("GET /\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", 400);
}
END_TEST

START_TEST(test_leading_empty_lines_are_skipped_and_counted) {
    fa__http_header_t hs[MAXH];
    fa__http_request_t r;
    const char *s = "\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
    expect_ok(s, strlen(s), &r, hs);
    ck_assert(r.method_str == s + 6);
    expect_status("\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    expect_status("\r\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
}
END_TEST

START_TEST(test_methods_are_case_sensitive) {
    static const struct {
        const char *m;
        fa_http_method_t want;
    } cases[] = {
        {"GET", FA_HTTP_GET},         {"HEAD", FA_HTTP_HEAD},
        {"POST", FA_HTTP_POST},       {"PUT", FA_HTTP_PUT},
        {"DELETE", FA_HTTP_DELETE},   {"PATCH", FA_HTTP_PATCH},
        {"OPTIONS", FA_HTTP_OPTIONS}, {"TRACE", FA_HTTP_TRACE},
        {"get", FA_HTTP_OTHER},       {"Get", FA_HTTP_OTHER},
        {"PURGE", FA_HTTP_OTHER},     {"GETX", FA_HTTP_OTHER},
        {"M-SEARCH", FA_HTTP_OTHER},  {"X!#$%&'*+.^_`|~", FA_HTTP_OTHER},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s /p HTTP/1.1\r\nHost: h\r\n\r\n", cases[i].m);
        fa__http_header_t hs[MAXH];
        fa__http_request_t r;
        expect_ok(buf, strlen(buf), &r, hs);
        ck_assert_int_eq(r.method, cases[i].want);
        ck_assert(str_eq(r.method_str, r.method_len, cases[i].m));
    }
    ck_assert_str_eq(fa__http_method_name(FA_HTTP_DELETE), "DELETE");
    ck_assert_str_eq(fa__http_method_name(FA_HTTP_OTHER), "OTHER");
    ck_assert_str_eq(fa__http_method_name(FA_HTTP_METHOD_COUNT), "OTHER");
    expect_status("G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    expect_status(" GET / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    expect_status("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    expect_status("GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400);
    expect_status("GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    expect_status("GET /\r\nHost: h\r\n\r\n", 400);
    expect_status("GET / \r\nHost: h\r\n\r\n", 400);
}
END_TEST

START_TEST(test_non_http_bytes_fail_at_once) {
    /* A TLS ClientHello on the plain port: 400 at its first byte, no waiting for a limit. */
    fa__http_header_t hs[MAXH];
    fa__http_request_t r;
    fa__http_limits_t lim = lim_default();
    static const char tls[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
    ck_assert_int_eq(parse_n(tls, 1, &r, hs, &lim), FA_EINVAL);
    ck_assert_int_eq(r.status, 400);
    ck_assert_int_eq(parse_n("GET /", 5, &r, hs, &lim), FA_EAGAIN);
    ck_assert_int_eq(parse_n("GET\x01", 4, &r, hs, &lim), FA_EINVAL);
    ck_assert_int_eq(parse_n(" ", 1, &r, hs, &lim), FA_EINVAL);
    /* A lone CR may still be the start of an empty line. */
    ck_assert_int_eq(parse_n("\r", 1, &r, hs, &lim), FA_EAGAIN);
    ck_assert_int_eq(parse_n("\r\n\r", 3, &r, hs, &lim), FA_EAGAIN);
    ck_assert_int_eq(parse_n("\r\n\rX", 4, &r, hs, &lim), FA_EINVAL);
    ck_assert_int_eq(r.status, 400);
}
END_TEST

START_TEST(test_versions) {
    fa__http_header_t hs[MAXH];
    fa__http_request_t r;
    EXPECT_OK("GET / HTTP/1.0\r\n\r\n");
    ck_assert_int_eq(r.minor_version, 0);
    expect_status("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505);
    expect_status("GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505);
    expect_status("GET / HTTP/0.9\r\nHost: h\r\n\r\n", 505);
    expect_status("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505);
    expect_status("GET / HTTP/1.10\r\nHost: h\r\n\r\n", 400);
    expect_status("GET / http/1.1\r\nHost: h\r\n\r\n", 400);
    expect_status("GET / HTTP/11\r\nHost: h\r\n\r\n", 400);
    expect_status("GET / HTTP/1.x\r\nHost: h\r\n\r\n", 400);
    expect_status("GET / HTTP/1\r\n\r\n", 400);
    expect_status("GET / FOO\r\n\r\n", 400);
}
END_TEST

START_TEST(test_header_field_syntax) {
    fa__http_header_t hs[MAXH];
    fa__http_request_t r;
    expect_ok("GET / HTTP/1.1\r\nHost:h\r\nA:  \t x y \t \r\nB:\r\n\r\n",
              strlen("GET / HTTP/1.1\r\nHost:h\r\nA:  \t x y \t \r\nB:\r\n\r\n"), &r, hs);
    ck_assert(str_eq(r.headers[0].value, r.headers[0].value_len, "h"));
    ck_assert(str_eq(r.headers[1].value, r.headers[1].value_len, "x y"));
    ck_assert_uint_eq(r.headers[2].value_len, 0);
    /* obs-text is allowed in values; HTAB inside too. */
    expect_ok("GET / HTTP/1.1\r\nHost: h\r\nA: caf\xc3\xa9\tx\r\n\r\n",
              strlen("GET / HTTP/1.1\r\nHost: h\r\nA: caf\xc3\xa9\tx\r\n\r\n"), &r, hs);
    ck_assert(str_eq(r.headers[1].value, r.headers[1].value_len, "caf\xc3\xa9\tx"));

    expect_status("GET / HTTP/1.1\r\nHost: h\r\nA : b\r\n\r\n", 400);
    expect_status("GET / HTTP/1.1\r\nHost: h\r\nA\t: b\r\n\r\n", 400);
    expect_status("GET / HTTP/1.1\r\nHost: h\r\nA: b\r\n c\r\n\r\n", 400);  /* obs-fold */
    expect_status("GET / HTTP/1.1\r\nHost: h\r\nA: b\r\n\tc\r\n\r\n", 400); /* obs-fold */
    expect_status("GET / HTTP/1.1\r\n Host: h\r\n\r\n", 400);
    expect_status("GET / HTTP/1.1\r\nHost: h\r\nA: b\rc\r\n\r\n", 400);
    expect_status("GET / HTTP/1.1\r\nHost: h\r\n\rA: b\r\n\r\n", 400);
    expect_status("GET / HTTP/1.1\r\nHost: h\r\nA: b\r\r\n\r\n", 400);
    expect_status("GET /\r HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    fa__http_limits_t lim = lim_default();
    static const char nul[] = "GET / HTTP/1.1\r\nHost: h\r\nA: b\0c\r\n\r\n";
    expect_status_n(nul, sizeof nul - 1, 400, &lim);
    static const char nul_name[] = "GET / HTTP/1.1\r\nHost: h\r\nA\0: c\r\n\r\n";
    expect_status_n(nul_name, sizeof nul_name - 1, 400, &lim);
    static const char nul_target[] = "GET /\0 HTTP/1.1\r\nHost: h\r\n\r\n";
    expect_status_n(nul_target, sizeof nul_target - 1, 400, &lim);
    expect_status("GET / HTTP/1.1\r\nHost: h\r\nA: \x01\r\n\r\n", 400);
    expect_status("GET / HTTP/1.1\r\nHost: h\r\nA: \x7f\r\n\r\n", 400);
    expect_status("GET / HTTP/1.1\r\nHost: h\r\nA(b: c\r\n\r\n", 400);
    expect_status("GET / HTTP/1.1\r\nHost: h\r\nA\"b: c\r\n\r\n", 400);
    expect_status("GET / HTTP/1.1\r\nHost: h\r\n: c\r\n\r\n", 400);
    expect_status("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", 400);
    expect_status("GET / HTTP/1.1\r\nHost: h\r\n\xc3\xa9: c\r\n\r\n", 400);
}
END_TEST

START_TEST(test_bare_lf_is_rejected_as_soon_as_seen) {
    /* CRLF only (see http_parser.c): an LF-only head is 400, not a wait for CRLFCRLF. */
    expect_status("GET / HTTP/1.1\nHost: h\n\n", 400);
    expect_status("GET / HTTP/1.1\r\nHost: h\n\r\n", 400);
    expect_status("GET / HTTP/1.1\r\nHost: h\r\n\n", 400);
    fa__http_header_t hs[MAXH];
    fa__http_request_t r;
    fa__http_limits_t lim = lim_default();
    const char *s = "GET / HTTP/1.1\nHo";
    ck_assert_int_eq(parse_n(s, strlen(s), &r, hs, &lim), FA_EINVAL);
    ck_assert_int_eq(r.status, 400);
}
END_TEST

START_TEST(test_host_rules) {
    fa__http_header_t hs[MAXH];
    fa__http_request_t r;
    expect_ok("GET / HTTP/1.0\r\n\r\n", strlen("GET / HTTP/1.0\r\n\r\n"), &r,
              hs); /* 1.0 needs no Host */
    expect_ok("GET / HTTP/1.1\r\nHOST: \r\n\r\n", strlen("GET / HTTP/1.1\r\nHOST: \r\n\r\n"), &r,
              hs);
    expect_status("GET / HTTP/1.1\r\n\r\n", 400);
    expect_status("GET / HTTP/1.1\r\nX: y\r\n\r\n", 400);
    expect_status("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400);
    expect_status("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400);
    expect_status("GET http://a/ HTTP/1.1\r\n\r\n", 400);
    /* The value must be uri-host [":" port] (RFC 9112 §3.2: an invalid Host is 400). */
    static const char *const good[] = {
        "a",           "a:80", "a:", "[::1]", "[::1]:8080", "ex%41mple.com", "a-b_c~d.e!$&'()*+,;=",
        "10.0.0.1:443"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char buf[128];
        snprintf(buf, sizeof buf, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", good[i]);
        EXPECT_OK(buf);
        ck_assert(str_eq(r.headers[0].value, r.headers[0].value_len, good[i]));
    }
    static const char *const bad[] = {"a b",   "a:b",    "a:80:90", "a/b", "u@a",
                                      "a%zz",  "a%4",    "[::1",    "[]",  "[::1]x",
                                      "[::g]", "[v1.x]", "a\"b",    "a?b", "a#b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char buf[128];
        snprintf(buf, sizeof buf, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", bad[i]);
        expect_status(buf, 400);
    }
}
END_TEST

START_TEST(test_content_length) {
    fa__http_header_t hs[MAXH];
    fa__http_request_t r;
    expect_ok("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
              strlen("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"), &r, hs);
    ck_assert_int_eq(r.content_length, 0);
    expect_ok("POST / HTTP/1.1\r\nHost: h\r\ncontent-LENGTH:  0042 \r\n\r\n",
              strlen("POST / HTTP/1.1\r\nHost: h\r\ncontent-LENGTH:  0042 \r\n\r\n"), &r, hs);
    ck_assert_int_eq(r.content_length, 42);
    expect_ok("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 16777216\r\n\r\n",
              strlen("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 16777216\r\n\r\n"), &r, hs);
    ck_assert_int_eq(r.content_length, 16777216);

    expect_status("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 16777217\r\n\r\n", 413);
    expect_status("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9223372036854775807\r\n\r\n", 413);
    expect_status("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9223372036854775808\r\n\r\n", 400);
    expect_status("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n",
                  400);
    expect_status("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
                  400);
    expect_status("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n", 400);
    expect_status("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n", 400);
    expect_status("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400);
    expect_status("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n", 400);
    expect_status("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1 0\r\n\r\n", 400);
    expect_status("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n", 400);
    expect_status("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5a\r\n\r\n", 400);
    fa__http_limits_t lim = lim_default();
    lim.max_body = 4;
    expect_status_lim("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n", 413, &lim);
}
END_TEST

START_TEST(test_transfer_encoding_and_smuggling) {
    fa__http_header_t hs[MAXH];
    fa__http_request_t r;
    expect_ok("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
              strlen("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"), &r, hs);
    ck_assert_int_eq(r.chunked, 1);
    ck_assert_int_eq(r.content_length, -1);
    expect_ok("POST / HTTP/1.1\r\nHost: h\r\ntransfer-encoding: CHUNKED \r\n\r\n",
              strlen("POST / HTTP/1.1\r\nHost: h\r\ntransfer-encoding: CHUNKED \r\n\r\n"), &r, hs);
    ck_assert_int_eq(r.chunked, 1);

    static const char *const cl_te[] = {
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof cl_te / sizeof cl_te[0]; i++)
        expect_status(cl_te[i], 400);
    expect_status("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n", 400);
    expect_status("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n", 501);
    expect_status("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 501);
    expect_status("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n", 501);
    expect_status("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501);
    expect_status("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400);
    expect_status("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400);
    expect_status("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n",
                  400);
    expect_status("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n",
                  501);
    expect_status("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked,\r\n\r\n", 400);
    expect_status("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ,chunked\r\n\r\n", 400);
    expect_status("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked;x=1\r\n\r\n", 400);
    expect_status("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \r\n\r\n", 400);
    expect_status("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", 400);
    expect_status("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
}
END_TEST

START_TEST(test_connection_expect_upgrade) {
    static const struct {
        const char *head;
        int keep_alive, expect, upgrade;
    } cases[] = {
        {"GET / HTTP/1.1\r\nHost: h\r\n\r\n", 1, 0, 0},
        {"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", 0, 0, 0},
        {"GET / HTTP/1.1\r\nHost: h\r\nConnection: Keep-Alive, CLOSE\r\n\r\n", 0, 0, 0},
        {"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", 0, 0,
         0},
        {"GET / HTTP/1.1\r\nHost: h\r\nConnection: closed\r\n\r\n", 1, 0, 0},
        {"GET / HTTP/1.0\r\n\r\n", 0, 0, 0},
        {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1, 0, 0},
        {"GET / HTTP/1.0\r\nConnection: x ,  KEEP-ALIVE \r\n\r\n", 1, 0, 0},
        {"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\n\r\n", 1, 1, 0},
        {"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continuex\r\n\r\n", 1, 0, 0},
        {"POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", 0, 0, 0},
        {"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", 1, 0, 1},
        {"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n", 1, 0, 0},
        {"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, upgrade\r\n\r\n", 1, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fa__http_header_t hs[MAXH];
        fa__http_request_t r;
        expect_ok(cases[i].head, strlen(cases[i].head), &r, hs);
        ck_assert_msg(r.keep_alive == cases[i].keep_alive, "case %zu keep_alive", i);
        ck_assert_msg(r.expect_continue == cases[i].expect, "case %zu expect", i);
        ck_assert_msg(r.upgrade == cases[i].upgrade, "case %zu upgrade", i);
    }
}
END_TEST

START_TEST(test_request_line_limit_is_exact_and_early) {
    fa__http_limits_t lim = lim_default();
    lim.max_request_line = 20;
    fa__http_header_t hs[MAXH];
    fa__http_request_t r;
    /* "GET /123456 HTTP/1.1" is exactly 20 bytes: accepted. */
    const char *ok = "GET /123456 HTTP/1.1\r\nHost: h\r\n\r\n";
    ck_assert_int_eq(parse_n(ok, strlen(ok), &r, hs, &lim), (int)strlen(ok));
    size_t at = 0;
    ck_assert_int_eq(parse_bytewise(ok, strlen(ok), &r, hs, &lim, &at), (int)strlen(ok));
    expect_status_lim("GET /1234567 HTTP/1.1\r\nHost: h\r\n\r\n", 414, &lim);
    /* Without any CRLF: 414 as soon as byte 21 is not a CR. */
    const char *lng = "GET /1234567890123456789";
    ck_assert_int_eq(parse_n(lng, 20, &r, hs, &lim), FA_EAGAIN);
    ck_assert_int_eq(parse_n(lng, 21, &r, hs, &lim), FA_EINVAL);
    ck_assert_int_eq(r.status, 414);
    /* Byte 21 a CR: wait for byte 22, which must be LF. */
    const char *cr = "GET /123456 HTTP/1.1\rX";
    ck_assert_int_eq(parse_n(cr, 21, &r, hs, &lim), FA_EAGAIN);
    ck_assert_int_eq(parse_n(cr, 22, &r, hs, &lim), FA_EINVAL);
    ck_assert_int_eq(r.status, 414);
    /* Limits at their extremes do not overflow: an unlimited request line is bounded by the
     * head limit (431), and a prev_len beyond len is a rescan, not a missed end. */
    lim.max_request_line = SIZE_MAX;
    lim.max_head = 16;
    ck_assert_int_eq(parse_n(lng, 16, &r, hs, &lim), FA_EINVAL);
    ck_assert_int_eq(r.status, 431);
    fa__http_limits_t def0 = lim_default();
    r.headers = hs;
    ck_assert_int_eq(fa__http_parse_head(ok, strlen(ok), 1000, &r, &def0), (int)strlen(ok));
    /* The default 8 KiB: a 9000-byte target is refused long before any CRLF. */
    fa__http_limits_t def = lim_default();
    size_t n = 9000;
    char *big = malloc(n);
    memcpy(big, "GET /", 5);
    memset(big + 5, 'a', n - 5);
    ck_assert_int_eq(parse_n(big, FA_HTTP_MAX_REQUEST_LINE, &r, hs, &def), FA_EAGAIN);
    ck_assert_int_eq(parse_n(big, n, &r, hs, &def), FA_EINVAL);
    ck_assert_int_eq(r.status, 414);
    free(big);
}
END_TEST

START_TEST(test_header_flood_and_head_size) {
    fa__http_header_t hs[MAXH];
    fa__http_request_t r;
    fa__http_limits_t lim = lim_default();
    char buf[4096];
    for (int nf = 99; nf <= 101; nf++) {
        size_t o = (size_t)snprintf(buf, sizeof buf, "GET / HTTP/1.1\r\nHost: h\r\n");
        for (int i = 1; i < nf; i++)
            o += (size_t)snprintf(buf + o, sizeof buf - o, "X%d: %d\r\n", i, i);
        o += (size_t)snprintf(buf + o, sizeof buf - o, "\r\n");
        int rc = parse_n(buf, o, &r, hs, &lim);
        if (nf <= 100) {
            ck_assert_int_eq(rc, (int)o);
            ck_assert_uint_eq(r.nheaders, (size_t)nf);
        } else {
            ck_assert_int_eq(rc, FA_EINVAL);
            ck_assert_int_eq(r.status, 431);
        }
    }
    /* Head over max_head: 431 as soon as max_head bytes are there without CRLFCRLF. */
    lim.max_head = 64;
    const char *s =
        "GET / HTTP/1.1\r\nHost: h\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    ck_assert_int_eq(parse_n(s, 63, &r, hs, &lim), FA_EAGAIN);
    ck_assert_int_eq(parse_n(s, 64, &r, hs, &lim), FA_EINVAL);
    ck_assert_int_eq(r.status, 431);
    expect_status_lim(s, 431, &lim);
    /* Exactly max_head bytes, complete: accepted. */
    const char *exact = "GET / HTTP/1.1\r\nHost: h\r\n\r\n"; /* 27 bytes */
    lim.max_head = 27;
    ck_assert_int_eq(parse_n(exact, 27, &r, hs, &lim), 27);
    lim.max_head = 26;
    expect_status_lim(exact, 431, &lim);
    /* Endless empty lines are bounded too. */
    lim.max_head = 32;
    expect_status_lim("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n", 431,
                      &lim);
}
END_TEST

START_TEST(test_find_header_and_has_token) {
    fa__http_header_t hs[MAXH];
    fa__http_request_t r;
    expect_ok(WRK, strlen(WRK), &r, hs);
    const fa__http_header_t *h = fa__http_find_header(&r, "user-AGENT");
    ck_assert_ptr_nonnull(h);
    ck_assert(str_eq(h->value, h->value_len, "wrk/4.2.0"));
    ck_assert_ptr_null(fa__http_find_header(&r, "User-Agen"));
    ck_assert_ptr_null(fa__http_find_header(&r, "X"));
    const char *v = " a , Keep-Alive,,upgrade\t,";
    ck_assert(fa__http_has_token(v, strlen(v), "keep-alive"));
    ck_assert(fa__http_has_token(v, strlen(v), "UPGRADE"));
    ck_assert(fa__http_has_token(v, strlen(v), "a"));
    ck_assert(!fa__http_has_token(v, strlen(v), "keep"));
    ck_assert(!fa__http_has_token(v, strlen(v), "close"));
    ck_assert(!fa__http_has_token("", 0, "a"));
}
END_TEST

START_TEST(test_percent_decode) {
    char out[64];
    ck_assert_int_eq(fa__http_percent_decode(out, "a%20b%2Fc+d", 11, 0), 7);
    ck_assert(memcmp(out, "a b/c+d", 7) == 0);
    ck_assert_int_eq(fa__http_percent_decode(out, "a+b%2b", 6, 1), 4);
    ck_assert(memcmp(out, "a b+", 4) == 0);
    ck_assert_int_eq(fa__http_percent_decode(out, "%00x", 4, 0), 2);
    ck_assert(out[0] == '\0' && out[1] == 'x');
    ck_assert_int_eq(fa__http_percent_decode(out, "%4", 2, 0), -1);
    ck_assert_int_eq(fa__http_percent_decode(out, "%", 1, 0), -1);
    ck_assert_int_eq(fa__http_percent_decode(out, "%zz", 3, 0), -1);
    ck_assert_int_eq(fa__http_percent_decode(out, "%g0", 3, 0), -1);
    ck_assert_int_eq(fa__http_percent_decode(out, "ab%", 3, 0), -1);
    char inplace[] = "%41%42c";
    ck_assert_int_eq(fa__http_percent_decode(inplace, inplace, 7, 0), 3);
    ck_assert(memcmp(inplace, "ABc", 3) == 0);
    ck_assert_int_eq(fa__http_percent_decode(out, "", 0, 0), 0);
}
END_TEST

START_TEST(test_status_text) {
    static const int codes[] = {100, 101, 200, 201, 202, 204, 206, 301, 302, 303, 304,
                                307, 308, 400, 401, 403, 404, 405, 406, 408, 409, 410,
                                411, 412, 413, 414, 415, 416, 417, 422, 425, 426, 428,
                                429, 431, 500, 501, 502, 503, 504, 505};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        ck_assert_str_ne(fa__http_status_text(codes[i]), "Unknown");
    ck_assert_str_eq(fa__http_status_text(200), "OK");
    ck_assert_str_eq(fa__http_status_text(404), "Not Found");
    ck_assert_str_eq(fa__http_status_text(431), "Request Header Fields Too Large");
    ck_assert_str_eq(fa__http_status_text(299), "Unknown");
    ck_assert_str_eq(fa__http_status_text(-1), "Unknown");
}
END_TEST

/* ---- chunked ---- */

typedef struct {
    int rc;          /* 0 ok, or FA_EINVAL */
    int status;      /* on error */
    int done;        /* fa__http_chunked_done at the end */
    size_t consumed; /* input bytes consumed in total */
    size_t out_len;
    char out[4096];
} chunk_result_t;

/* Decodes in[0..n) cut at the offsets cuts[0..ncuts) (ascending), each piece in a heap buffer of
 * exactly its size. Stops at the end of the body or at an error. */
static void chunk_run(const char *in, size_t n, const size_t *cuts, size_t ncuts, uint64_t max_body,
                      size_t max_trailer, chunk_result_t *res) {
    fa__http_chunked_t d;
    fa__http_chunked_init(&d, max_body, max_trailer);
    memset(res, 0, sizeof *res);
    size_t pos = 0;
    for (size_t c = 0; c <= ncuts && !res->done; c++) {
        size_t end = c < ncuts ? cuts[c] : n;
        size_t len = end - pos;
        char *piece = malloc(len ? len : 1);
        memcpy(piece, in + pos, len);
        size_t dlen = len;
        int64_t used = fa__http_chunked_feed(&d, piece, &dlen);
        ck_assert(dlen <= len);
        ck_assert(res->out_len + dlen <= sizeof res->out);
        memcpy(res->out + res->out_len, piece, dlen);
        res->out_len += dlen;
        free(piece);
        if (used < 0) {
            ck_assert_int_eq(used, FA_EINVAL);
            ck_assert_ptr_nonnull(d.reason);
            res->rc = FA_EINVAL;
            res->status = d.status;
            /* Sticky: the next call fails too. */
            char x = '0';
            size_t one = 1;
            ck_assert_int_eq(fa__http_chunked_feed(&d, &x, &one), FA_EINVAL);
            return;
        }
        ck_assert((size_t)used <= len);
        res->consumed += (size_t)used;
        res->done = fa__http_chunked_done(&d);
        if (!res->done)
            ck_assert_uint_eq((size_t)used, len); /* all consumed unless the body ended */
        pos = end;
    }
}

static void chunk_expect_same(const chunk_result_t *a, const chunk_result_t *b, const char *what) {
    ck_assert_msg(a->rc == b->rc && a->status == b->status && a->done == b->done,
                  "%s: rc %d/%d status %d/%d done %d/%d", what, a->rc, b->rc, a->status, b->status,
                  a->done, b->done);
    if (a->rc == 0)
        ck_assert_msg(a->consumed == b->consumed, "%s: consumed %zu/%zu", what, a->consumed,
                      b->consumed);
    ck_assert_msg(a->out_len == b->out_len && memcmp(a->out, b->out, a->out_len) == 0,
                  "%s: out %zu/%zu", what, a->out_len, b->out_len);
}

/* Whole, byte by byte and every 2-way split give the same result; returns the whole result. */
static void chunk_all_splits(const char *in, size_t n, uint64_t max_body, size_t max_trailer,
                             chunk_result_t *whole) {
    static chunk_result_t other;
    chunk_run(in, n, NULL, 0, max_body, max_trailer, whole);
    size_t *cuts = malloc((n + 1) * sizeof *cuts);
    for (size_t i = 0; i + 1 < n; i++)
        cuts[i] = i + 1;
    chunk_run(in, n, cuts, n ? n - 1 : 0, max_body, max_trailer, &other);
    chunk_expect_same(whole, &other, "byte by byte");
    for (size_t k = 0; k <= n; k++) {
        cuts[0] = k;
        chunk_run(in, n, cuts, 1, max_body, max_trailer, &other);
        chunk_expect_same(whole, &other, "2-way split");
    }
    free(cuts);
}

static void chunk_ok(const char *in, const char *body, size_t consumed) {
    chunk_result_t r;
    chunk_all_splits(in, strlen(in), FA_HTTP_MAX_BODY, FA_HTTP_MAX_HEAD, &r);
    ck_assert_msg(r.rc == 0 && r.done, "'%s': rc %d status %d done %d", in, r.rc, r.status, r.done);
    ck_assert_uint_eq(r.out_len, strlen(body));
    ck_assert(memcmp(r.out, body, r.out_len) == 0);
    ck_assert_uint_eq(r.consumed, consumed);
}

static void chunk_bad_lim(const char *in, int status, uint64_t max_body, size_t max_trailer) {
    chunk_result_t r;
    chunk_all_splits(in, strlen(in), max_body, max_trailer, &r);
    ck_assert_msg(r.rc == FA_EINVAL && r.status == status, "'%s': rc %d status %d, want %d", in,
                  r.rc, r.status, status);
}

static void chunk_bad(const char *in, int status) {
    chunk_bad_lim(in, status, FA_HTTP_MAX_BODY, FA_HTTP_MAX_HEAD);
}

START_TEST(test_chunked_valid_bodies) {
    chunk_ok("0\r\n\r\n", "", 5);
    chunk_ok("5\r\nhello\r\n0\r\n\r\n", "hello", 15);
    chunk_ok("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world", 26);
    chunk_ok("A\r\n0123456789\r\n00\r\n\r\n", "0123456789", 21);
    chunk_ok("a\r\n0123456789\r\n0\r\n\r\n", "0123456789", 20);
    chunk_ok("0000000000000003\r\nabc\r\n0\r\n\r\n", "abc", 28); /* 16 digits */
    /* Chunk extensions, with BWS, tokens and quoted strings. */
    chunk_ok("3;a\r\nabc\r\n0\r\n\r\n", "abc", 15);
    chunk_ok("3 ; a = b ;c=\"x\\\"y; z\"\r\nabc\r\n0;last\r\n\r\n", "abc", 39);
    chunk_ok("3;a=b \t;c\r\nabc\r\n0\r\n\r\n", "abc", 21);
    /* Trailers, validated then dropped. */
    chunk_ok("3\r\nabc\r\n0\r\nX-Sum: 1\r\nY:\r\n\r\n", "abc", 27);
    chunk_ok("0\r\nA: caf\xc3\xa9\t ok\r\n\r\n", "", 19);
    /* The bytes after the body are not consumed: they are the next request. */
    chunk_ok("3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n", "abc", 13);
    chunk_ok("0\r\n\r\n0\r\n\r\n", "", 5);
}
END_TEST

START_TEST(test_chunked_rejections) {
    chunk_bad("-1\r\n", 400);
    chunk_bad("+1\r\nx\r\n0\r\n\r\n", 400);
    chunk_bad("0x10\r\n", 400);
    chunk_bad(" 1\r\nx\r\n0\r\n\r\n", 400);
    chunk_bad("\r\n", 400);
    chunk_bad("g\r\n", 400);
    chunk_bad("1 \r\nx\r\n0\r\n\r\n", 400);   /* BWS must be followed by ';' */
    chunk_bad("ffffffffffffffffff\r\n", 413); /* over max_body long before overflow */
    chunk_bad_lim("ffffffffffffffffff\r\n", 400, UINT64_MAX, 100); /* more than 16 digits */
    chunk_bad_lim("00000000000000001\r\nx\r\n0\r\n\r\n", 400, UINT64_MAX, 100);
    chunk_bad("1000001\r\n", 413); /* 16 MiB + 1 */
    chunk_bad_lim("3\r\nabc\r\n2\r\n", 413, 4, 100);
    chunk_bad("1\nx\r\n0\r\n\r\n", 400); /* bare LF after the size */
    chunk_bad("1\rx\r\n0\r\n\r\n", 400);
    chunk_bad("1\r\nxy\r\n0\r\n\r\n", 400); /* data longer than the size */
    chunk_bad("1\r\nx\n0\r\n\r\n", 400);
    chunk_bad("1\r\nx\r0\r\n\r\n", 400);
    chunk_bad("1;\r\nx\r\n0\r\n\r\n", 400);
    chunk_bad("1;a=\r\nx\r\n0\r\n\r\n", 400);
    chunk_bad("1;a b\r\nx\r\n0\r\n\r\n", 400);
    chunk_bad("1;a=\"x\r\nx\r\n0\r\n\r\n", 400);
    chunk_bad("1;a=\"\x01\"\r\nx\r\n0\r\n\r\n", 400);
    chunk_bad("1;a=b\"c\"\r\nx\r\n0\r\n\r\n", 400);
    chunk_bad("1;a@b\r\nx\r\n0\r\n\r\n", 400);
    chunk_bad("1;a=\"b\"c\r\nx\r\n0\r\n\r\n", 400);
    chunk_bad("1;=b\r\nx\r\n0\r\n\r\n", 400);
    chunk_bad("0\r\nA : b\r\n\r\n", 400);
    chunk_bad("0\r\n A: b\r\n\r\n", 400);
    chunk_bad("0\r\nA: b\rc\r\n\r\n", 400);
    chunk_bad("0\r\nA: \x01\r\n\r\n", 400);
    chunk_bad("0\r\nA\r\n\r\n", 400);
    chunk_bad("0\r\n\rx", 400);
    chunk_bad("0\r\nA: b\n\r\n", 400);
    chunk_bad_lim("0\r\nX-Trailer: 0123456789\r\n\r\n", 431, FA_HTTP_MAX_BODY, 10);
    /* A body without trailers passes with max_trailer 0. */
    chunk_result_t r;
    chunk_all_splits("1\r\nx\r\n0\r\n\r\n", 11, FA_HTTP_MAX_BODY, 0, &r);
    ck_assert(r.rc == 0 && r.done);
    /* The size line is bounded. */
    size_t n = FA_HTTP_MAX_CHUNK_LINE + 10;
    char *lng = malloc(n + 1);
    memcpy(lng, "1;a=", 4);
    memset(lng + 4, 'b', n - 4);
    lng[n] = '\0';
    fa__http_chunked_t d;
    fa__http_chunked_init(&d, FA_HTTP_MAX_BODY, 0);
    size_t len = n;
    ck_assert_int_eq(fa__http_chunked_feed(&d, lng, &len), FA_EINVAL);
    ck_assert_int_eq(d.status, 400);
    free(lng);
}
END_TEST

START_TEST(test_chunked_done_consumes_nothing_more) {
    fa__http_chunked_t d;
    fa__http_chunked_init(&d, 100, 100);
    char buf[] = "2\r\nhi\r\n0\r\n\r\nNEXT";
    size_t len = strlen(buf);
    ck_assert_int_eq(fa__http_chunked_feed(&d, buf, &len), 12);
    ck_assert_uint_eq(len, 2);
    ck_assert(memcmp(buf, "hi", 2) == 0);
    ck_assert(fa__http_chunked_done(&d));
    ck_assert_uint_eq(d.body_len, 2);
    char more[] = "X";
    len = 1;
    ck_assert_int_eq(fa__http_chunked_feed(&d, more, &len), 0);
    ck_assert_uint_eq(len, 0);
}
END_TEST

/* Property: random valid bodies (random sizes, extensions, trailers) decode to the data that was
 * encoded, with the same result whole, byte by byte and in every 2-way split; a random byte
 * flipped in them gives the same result for every split too. */
START_TEST(test_chunked_split_invariance_property) {
    uint64_t st = 0x9e3779b97f4a7c15u;
    static char enc[4096], data[2048];
    for (int iter = 0; iter < 300; iter++) {
        size_t n = 0, dn = 0;
        int chunks = (int)(fa_test_rand(&st) % 5);
        for (int c = 0; c < chunks; c++) {
            size_t sz = 1 + fa_test_rand(&st) % 40;
            n += (size_t)snprintf(enc + n, sizeof enc - n, fa_test_rand(&st) % 2 ? "%zx" : "%zX",
                                  sz);
            if (fa_test_rand(&st) % 3 == 0)
                n += (size_t)snprintf(enc + n, sizeof enc - n, ";e%d=\"v\\\\%d\"", c, c);
            n += (size_t)snprintf(enc + n, sizeof enc - n, "\r\n");
            for (size_t i = 0; i < sz; i++) {
                char b = (char)(fa_test_rand(&st) & 0xff);
                enc[n++] = b;
                data[dn++] = b;
            }
            n += (size_t)snprintf(enc + n, sizeof enc - n, "\r\n");
        }
        n += (size_t)snprintf(enc + n, sizeof enc - n, "0\r\n");
        if (fa_test_rand(&st) % 2)
            n += (size_t)snprintf(enc + n, sizeof enc - n, "T-%d: x y\r\n", iter);
        n += (size_t)snprintf(enc + n, sizeof enc - n, "\r\n");
        size_t body_end = n;
        n += (size_t)snprintf(enc + n, sizeof enc - n, "GET");

        chunk_result_t r;
        chunk_all_splits(enc, n, FA_HTTP_MAX_BODY, 1024, &r);
        ck_assert(r.rc == 0 && r.done);
        ck_assert_uint_eq(r.consumed, body_end);
        ck_assert_uint_eq(r.out_len, dn);
        ck_assert(memcmp(r.out, data, dn) == 0);

        /* Mutated: whatever the outcome, it does not depend on the split. */
        size_t at = fa_test_rand(&st) % n;
        enc[at] = (char)(fa_test_rand(&st) & 0xff);
        chunk_all_splits(enc, n, FA_HTTP_MAX_BODY, 1024, &r);
    }
}
END_TEST

int main(void) {
    Suite *s = suite_create("transport/http_parser");
    TCase *tc = tcase_create("http_parser");
    tcase_add_test(tc, test_wrk_request_fields_point_into_buffer);
    tcase_add_test(tc, test_every_prefix_is_eagain_then_head_len);
    tcase_add_test(tc, test_pipelined_head_len_stops_at_first_head);
    tcase_add_test(tc, test_target_forms);
    tcase_add_test(tc, test_leading_empty_lines_are_skipped_and_counted);
    tcase_add_test(tc, test_methods_are_case_sensitive);
    tcase_add_test(tc, test_non_http_bytes_fail_at_once);
    tcase_add_test(tc, test_versions);
    tcase_add_test(tc, test_header_field_syntax);
    tcase_add_test(tc, test_bare_lf_is_rejected_as_soon_as_seen);
    tcase_add_test(tc, test_host_rules);
    tcase_add_test(tc, test_content_length);
    tcase_add_test(tc, test_transfer_encoding_and_smuggling);
    tcase_add_test(tc, test_connection_expect_upgrade);
    tcase_add_test(tc, test_request_line_limit_is_exact_and_early);
    tcase_add_test(tc, test_header_flood_and_head_size);
    tcase_add_test(tc, test_find_header_and_has_token);
    tcase_add_test(tc, test_percent_decode);
    tcase_add_test(tc, test_status_text);
    tcase_add_test(tc, test_chunked_valid_bodies);
    tcase_add_test(tc, test_chunked_rejections);
    tcase_add_test(tc, test_chunked_done_consumes_nothing_more);
    tcase_add_test(tc, test_chunked_split_invariance_property);
    suite_add_tcase(s, tc);
    return fa_test_run(s);
}
