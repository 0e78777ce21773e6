/* transport/http_parser.h: the HTTP/1.1 request parser (RFC 9112), zero-copy and pure.
 *
 * Two parts, both pure functions of their input with no I/O and no allocation:
 *
 *  - fa__http_parse_head parses a request head (request line + header fields + the empty line)
 *    that starts at buf[0]. Every string in the result points into buf, so buf must stay put while
 *    the request view is used. It is incremental in the picohttpparser sense: call it again with
 *    more bytes and the previous length (`prev_len`), and it resumes its search for the end of the
 *    head instead of rescanning, so a head that arrives one byte at a time costs O(n), not O(n^2).
 *  - fa__http_chunked_t decodes a chunked body (RFC 9112 §7.1) in place: a state machine with
 *    _init/_feed, fed any split of the bytes, that moves the data bytes down to the front of what
 *    it was given and reports how many input bytes it consumed.
 *
 * Strict framing, so that request smuggling is impossible behind any proxy (RFC 9112 §6.3, §11.2):
 * Content-Length together with Transfer-Encoding, two Content-Length fields (even equal ones),
 * a Content-Length that is not all digits or overflows, a Transfer-Encoding other than exactly
 * "chunked" as the final (and only) coding, bare CR, obs-fold, whitespace before the colon,
 * control characters or invalid token characters in names and methods, a malformed chunk size or
 * chunk extension, and any limit overflow are errors. An error carries the HTTP status to answer
 * with (400, 413, 414, 431, 501, 505) and a short reason for the log; the connection is then
 * closed after the answer.
 *
 * Thread affinity: none (pure); the structs are owned by whoever holds them.
 */
#ifndef FA_TRANSPORT_HTTP_PARSER_H
#define FA_TRANSPORT_HTTP_PARSER_H

#include <stddef.h>
#include <stdint.h>

/* Limits (each is an option of the HTTP server; these are the defaults).
 * Request line: 8 KiB, like nginx's large_client_header_buffers and h2o; longer -> 414. */
#define FA_HTTP_MAX_REQUEST_LINE (8u * 1024u)
/* Whole head (request line + headers): 32 KiB; nginx allows 4 x 8 KiB, uvicorn/h11 16 KiB.
 * Longer -> 431. */
#define FA_HTTP_MAX_HEAD (32u * 1024u)
/* Header fields per request: 100 (Go's and h2o's order of magnitude); more -> 431. */
#define FA_HTTP_MAX_HEADERS 100
/* Request body: 16 MiB, the same as an MCP message on stdio (FA_MCP_MAX_MESSAGE); more -> 413. */
#define FA_HTTP_MAX_BODY (16u * 1024u * 1024u)
/* Trailer section of a chunked body: counted against max_head as well. */
/* One chunk-size line with its extensions (RFC 9112 §7.1.1): 4 KiB. Extensions are not used by
 * any client we know of; the bound only stops a peer from streaming an endless line. Longer ->
 * 400. */
#define FA_HTTP_MAX_CHUNK_LINE 4096u

typedef enum {
    FA_HTTP_OTHER = 0, /* a valid token we do not know: routed by name, usually 405/501 */
    FA_HTTP_GET,
    FA_HTTP_HEAD,
    FA_HTTP_POST,
    FA_HTTP_PUT,
    FA_HTTP_DELETE,
    FA_HTTP_PATCH,
    FA_HTTP_OPTIONS,
    FA_HTTP_CONNECT,
    FA_HTTP_TRACE,
    FA_HTTP_METHOD_COUNT
} fa_http_method_t;

typedef struct {
    const char *name; /* as sent (case preserved); compare case-insensitively */
    size_t name_len;
    const char *value; /* leading and trailing whitespace removed */
    size_t value_len;
} fa__http_header_t;

typedef struct {
    size_t max_request_line, max_head, max_headers;
    uint64_t max_body;
} fa__http_limits_t;

/* The default limits above. */
void fa__http_limits_default(fa__http_limits_t *lim);

typedef struct {
    fa_http_method_t method;
    const char *method_str;
    size_t method_len;
    const char *target; /* request-target as sent: origin-form "/p?q", absolute-form, "*" */
    size_t target_len;
    /* target up to '?' (still percent-encoded). Always a pointer into buf:
     *  - origin-form "/p?q": "/p";
     *  - absolute-form "http://h/p?q": "/p"; with an empty path ("http://h", "http://h?q")
     *    path_len is 0 (the pointer is where the path would start): route it as "/"
     *    (RFC 9112 §3.3);
     *  - asterisk-form (OPTIONS only): "*";
     *  - authority-form (CONNECT only): the whole target "host:port". */
    const char *path;
    size_t path_len;
    const char *query; /* after '?', without it; NULL when there is no '?' */
    size_t query_len;
    int minor_version;          /* HTTP/1.<minor>: 0 or 1 */
    fa__http_header_t *headers; /* caller's array of max_headers entries */
    size_t nheaders;
    /* Framing and connection facts, decided by the parser (RFC 9112 §6, §9.3): */
    int64_t content_length; /* -1 when absent */
    int chunked;            /* Transfer-Encoding: chunked */
    int keep_alive;         /* 1.1 without "close", or 1.0 with "keep-alive" */
    int expect_continue;    /* Expect: 100-continue */
    int upgrade;            /* Connection has the "upgrade" token and an Upgrade field exists */
    size_t head_len;        /* bytes of the head including the final empty line */
    /* On error: */
    int status;         /* HTTP status to answer with */
    const char *reason; /* static text for the log and the error body */
} fa__http_request_t;

/* Parses the head at buf[0..len). `req->headers` must point to an array of lim->max_headers
 * entries. prev_len is the len of the previous call for this same head (0 the first time).
 * Returns head_len (> 0) when a whole, valid head is there; FA_EAGAIN when more bytes are needed
 * (and no limit is exceeded yet); FA_EINVAL on a malformed or forbidden head, with req->status
 * (400, 413, 414, 431, 501, 505) and req->reason set. Leading empty lines before the request line
 * are skipped (RFC 9112 §2.2) and counted in head_len.
 *
 * Lines end with CRLF only: a bare LF is 400, like a bare CR (see http_parser.c for why).
 * A request line longer than max_request_line, a head longer than max_head and a bare LF are
 * reported as soon as the bytes that prove them have arrived, before the head is complete; the
 * result never depends on how the bytes were split across calls (the first non-FA_EAGAIN answer
 * is the one the whole buffer gives). max_head must be below INT_MAX (it is clamped there). */
int fa__http_parse_head(const char *buf, size_t len, size_t prev_len, fa__http_request_t *req,
                        const fa__http_limits_t *lim);

/* Case-insensitive lookup of the first field named `name`; NULL when absent. */
const fa__http_header_t *fa__http_find_header(const fa__http_request_t *req, const char *name);

/* Whether a comma-separated field value (e.g. Connection) contains `token`, case-insensitively. */
int fa__http_has_token(const char *value, size_t len, const char *token);

/* ---- chunked bodies ---- */

typedef struct {
    int state;
    uint64_t chunk_left; /* data bytes left in the current chunk */
    uint64_t body_len;   /* data bytes decoded so far */
    uint64_t max_body;
    size_t trailer_len; /* bytes of trailer section seen so far */
    size_t max_trailer;
    size_t line_len; /* bytes of the current size/extension line seen so far */
    int status;
    const char *reason;
} fa__http_chunked_t;

void fa__http_chunked_init(fa__http_chunked_t *d, uint64_t max_body, size_t max_trailer);

/* Decodes buf[0..*len) in place. On return *len is the number of data bytes now at buf[0..*len)
 * (a prefix of the input with the framing removed). Returns the number of input bytes consumed
 * (always the whole input unless the body ended inside it: then the bytes after the last CRLF of
 * the trailer section are not consumed and belong to the next request), or FA_EINVAL with
 * d->status (400, 413 or 431) and d->reason set (*len then holds the data decoded before the
 * error; the decoder stays in error and every later call returns FA_EINVAL).
 * fa__http_chunked_done tells whether the final chunk and the trailer section have been read;
 * a call after that consumes nothing. Any split of the input gives the same result.
 * Strict syntax: chunk-size is 1*16HEXDIG (no sign, "0x" or whitespace before it), extensions
 * follow RFC 9112 §7.1.1 (BWS allowed around ';' and '=') within FA_HTTP_MAX_CHUNK_LINE, every
 * line ends with CRLF (a bare LF is 400), trailer fields are checked like header fields and
 * the trailer section is bounded by max_trailer (-> 431). The trailer fields are checked but
 * dropped (RFC 9110 §6.5.1 lets a recipient discard them). */
int64_t fa__http_chunked_feed(fa__http_chunked_t *d, char *buf, size_t *len);
int fa__http_chunked_done(const fa__http_chunked_t *d);

/* ---- helpers for the router and handlers ---- */

/* Percent-decodes src[0..len) into dst (which may equal src); returns the decoded length or -1 on
 * a malformed escape. `plus_as_space` for application/x-www-form-urlencoded and query strings. */
long fa__http_percent_decode(char *dst, const char *src, size_t len, int plus_as_space);

/* Name of a method ("GET"...), "OTHER" for FA_HTTP_OTHER. */
const char *fa__http_method_name(fa_http_method_t m);

/* Standard reason phrase for a status code ("OK", "Not Found"...; "Unknown" otherwise). */
const char *fa__http_status_text(int status);

#endif
