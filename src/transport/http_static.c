/* http_static.c: static files under a directory (fa_http_route_static).
 *
 * Route: "<prefix>/{path:path}" for GET and HEAD. The decoded path (the router decodes %xx and
 * refuses %00 with 400) is split on '/'; a "." or ".." segment, an empty path or a directory is
 * 404. The file is opened with openat2(RESOLVE_BENEATH) relative to the directory, so neither ".."
 * nor a symlink can leave it (on kernels before 5.6, without openat2, the resolved path must start
 * with the directory's). Opening and fstat run on the I/O thread: they are page-cache lookups for
 * the small sets of files this serves; a slow disk would stall the loop (as nginx without aio).
 *
 * Caching: ETag from size and mtime (strong: a file rewritten within the same nanosecond with the
 * same size is the only miss), If-None-Match -> 304 (If-Modified-Since only as an exact match of
 * our Last-Modified, which is what browsers send back). Ranges (RFC 9110 §14): one range
 * "bytes=a-b", "bytes=a-" or "bytes=-n" -> 206 with Content-Range; a range starting past the end
 * -> 416 with "Content-Range: bytes * /size"; several ranges -> the whole file with 200 (a
 * multipart/byteranges answer is allowed to be replaced by the full representation, and no
 * browser needs it); an unparsable Range is ignored (§14.2). If-Range is not supported: a Range
 * with If-Range gets the whole file.
 *
 * Body: files up to FA_HTTP_STATIC_INLINE are read into the response (one write for head and
 * body). Larger ones go out with sendfile(2) once the head is written, and whenever the socket is
 * full a chunk goes through uv_write instead, whose completion tells us it drained (libuv has no
 * "writable" event for a stream it owns).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "fasterapi/error.h"
#include "transport/http_internal.h"

/* Files up to this size are copied into the response: a sendfile round trip costs more than a
 * 64 KiB memcpy. */
#define FA_HTTP_STATIC_INLINE (64u * 1024u)

struct fa__http_static_s {
    struct fa__http_static_s *next;
    int dirfd;
    char *dir; /* realpath */
    size_t dir_len;
};

static const struct {
    const char *ext;
    const char *type;
} mime[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"xml", "application/xml"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/x-icon"},
    {"wasm", "application/wasm"},
    {"pdf", "application/pdf"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"mp3", "audio/mpeg"},
    {"wav", "audio/wav"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
};

static const char *content_type(const char *path) {
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    if (dot && dot[1])
        for (size_t i = 0; i < sizeof mime / sizeof mime[0]; i++)
            if (strcasecmp(dot + 1, mime[i].ext) == 0)
                return mime[i].type;
    return "application/octet-stream";
}

/* "." and ".." segments, empty paths and backslashes never name a file under the directory. */
static int safe_relpath(const char *p) {
    if (!*p || *p == '/')
        return 0;
    const char *s = p;
    for (;;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return 0;
        /* An empty segment ("a//b") is tolerated as in most servers, but not at the end. */
        if (!e)
            return n > 0;
        s = e + 1;
    }
}

static int open_beneath(const struct fa__http_static_s *st, const char *rel) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
#if defined(__SANITIZE_THREAD__)
    /* ThreadSanitizer does not see descriptors made by a raw syscall(), so a reused fd number
     * looks like a race on close(); its builds take the openat path below (same result). */
    long fd = -1;
    errno = ENOSYS;
    (void)how;
#else
    long fd = syscall(SYS_openat2, st->dirfd, rel, &how, sizeof how);
#endif
    if (fd >= 0 || errno != ENOSYS)
        return (int)fd;
    /* No openat2: open, then check where the path really leads. */
    int f = openat(st->dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (f < 0)
        return -1;
    char proc[64], real[4096];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", f);
    ssize_t n = readlink(proc, real, sizeof real - 1);
    if (n <= (ssize_t)st->dir_len || memcmp(real, st->dir, st->dir_len) != 0 ||
        real[st->dir_len] != '/') {
        close(f);
        errno = EACCES;
        return -1;
    }
    return f;
}

static void http_date(char *out, size_t cap, time_t t) {
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* If-None-Match: "*" or a list containing our tag (weak comparison, RFC 9110 §13.1.2). */
static int etag_matches(const char *inm, const char *etag) {
    if (strcmp(inm, "*") == 0)
        return 1;
    size_t el = strlen(etag);
    for (const char *p = inm; (p = strstr(p, etag)) != NULL; p += el) {
        char after = p[el];
        if (after == '\0' || after == ',' || after == ' ' || after == '\t')
            return 1;
    }
    return 0;
}

/* Parses a single byte range. Returns 1 (range set), 0 (ignore: absent, invalid or several), -1
 * (unsatisfiable). */
static int parse_range(const char *v, uint64_t size, uint64_t *from, uint64_t *to) {
    if (!v || strncmp(v, "bytes=", 6) != 0)
        return 0;
    v += 6;
    if (strchr(v, ','))
        return 0;
    while (*v == ' ')
        v++;
    char *end;
    if (*v == '-') {
        if (v[1] < '0' || v[1] > '9')
            return 0;
        errno = 0;
        unsigned long long n = strtoull(v + 1, &end, 10);
        if (errno || *end)
            return 0;
        if (n == 0 || size == 0)
            return -1;
        *from = n >= size ? 0 : size - n;
        *to = size - 1;
        return 1;
    }
    if (*v < '0' || *v > '9')
        return 0;
    errno = 0;
    unsigned long long a = strtoull(v, &end, 10);
    if (errno || *end != '-')
        return 0;
    const char *b = end + 1;
    unsigned long long z = size ? size - 1 : 0;
    if (*b) {
        if (*b < '0' || *b > '9')
            return 0;
        errno = 0;
        z = strtoull(b, &end, 10);
        if (errno || *end || z < a)
            return 0;
    }
    if (a >= size)
        return -1;
    if (z >= size)
        z = size - 1;
    *from = a;
    *to = z;
    return 1;
}

void fa__http_static_cb(fa_http_req_t *req, void *data) {
    const struct fa__http_static_s *st = data;
    const char *rel = fa_http_req_param(req, "path");
    if (!rel || !safe_relpath(rel)) {
        fa_http_res_send(req, 404, "text/plain; charset=utf-8", "404 Not Found\n", 14);
        return;
    }
    int fd = open_beneath(st, rel);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0)
            close(fd);
        fa_http_res_send(req, 404, "text/plain; charset=utf-8", "404 Not Found\n", 14);
        return;
    }
    uint64_t size = (uint64_t)sb.st_size;
    char etag[80], lm[40], hdr[64];
    snprintf(etag, sizeof etag, "\"%llx-%llx-%lx\"", (unsigned long long)size,
             (unsigned long long)sb.st_mtim.tv_sec, (unsigned long)sb.st_mtim.tv_nsec);
    http_date(lm, sizeof lm, sb.st_mtim.tv_sec);
    fa_http_res_header(req, "ETag", etag);
    fa_http_res_header(req, "Last-Modified", lm);
    const char *inm = fa_http_req_header(req, "If-None-Match");
    const char *ims = fa_http_req_header(req, "If-Modified-Since");
    if ((inm && etag_matches(inm, etag)) || (!inm && ims && strcmp(ims, lm) == 0)) {
        close(fd);
        fa_http_res_send(req, 304, NULL, NULL, 0);
        return;
    }
    fa_http_res_header(req, "Accept-Ranges", "bytes");
    uint64_t from = 0, to = size ? size - 1 : 0;
    int status = 200;
    int r = fa_http_req_header(req, "If-Range")
                ? 0
                : parse_range(fa_http_req_header(req, "Range"), size, &from, &to);
    if (r < 0) {
        close(fd);
        snprintf(hdr, sizeof hdr, "bytes */%llu", (unsigned long long)size);
        fa_http_res_header(req, "Content-Range", hdr);
        fa_http_res_send(req, 416, "text/plain; charset=utf-8", "416 Range Not Satisfiable\n", 26);
        return;
    }
    if (r > 0) {
        status = 206;
        snprintf(hdr, sizeof hdr, "bytes %llu-%llu/%llu", (unsigned long long)from,
                 (unsigned long long)to, (unsigned long long)size);
        fa_http_res_header(req, "Content-Range", hdr);
    }
    uint64_t len = size ? to - from + 1 : 0;
    const char *ctype = content_type(rel);
    if (fa_http_req_method(req)[0] == 'H' || len == 0) {
        close(fd);
        fa_http_res_send(req, status, ctype, NULL, len); /* head only */
        return;
    }
    if (len <= FA_HTTP_STATIC_INLINE) {
        char *buf = malloc(len);
        ssize_t n = buf ? pread(fd, buf, len, (off_t)from) : -1;
        close(fd);
        if (n != (ssize_t)len) {
            free(buf);
            fa_http_res_send(req, 500, "text/plain; charset=utf-8", "500 read failed\n", 16);
            return;
        }
        fa_http_res_send(req, status, ctype, buf, len);
        free(buf);
        return;
    }
    if (fa__http_res_send_file(req, status, ctype, fd, from, len) != 0) {
        close(fd);
        fa_http_res_send(req, 500, "text/plain; charset=utf-8", "500 out of memory\n", 18);
    }
}

int fa_http_route_static(fa_http_server_t *srv, const char *prefix, const char *dir) {
    if (!prefix || prefix[0] != '/' || !dir)
        return FA_EINVAL;
    struct fa__http_static_s *st = calloc(1, sizeof *st);
    if (!st)
        return FA_ENOMEM;
    st->dir = realpath(dir, NULL);
    if (!st->dir) {
        int err = -errno;
        free(st);
        return err;
    }
    st->dir_len = strlen(st->dir);
    st->dirfd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (st->dirfd < 0) {
        int err = -errno;
        free(st->dir);
        free(st);
        return err;
    }
    size_t pl = strlen(prefix);
    while (pl > 1 && prefix[pl - 1] == '/')
        pl--;
    char *pattern = malloc(pl + 16);
    int rc = pattern ? 0 : FA_ENOMEM;
    if (pattern)
        snprintf(pattern, pl + 16, "%.*s/{path:path}", pl == 1 ? 0 : (int)pl, prefix);
    if (rc == 0)
        rc = fa__http_route_add(srv, FA_HTTP_GET, pattern, fa__http_static_cb, st);
    free(pattern);
    if (rc) {
        close(st->dirfd);
        free(st->dir);
        free(st);
        return rc;
    }
    st->next = srv->statics;
    srv->statics = st;
    return 0;
}

void fa__http_statics_free(fa_http_server_t *srv) {
    while (srv->statics) {
        struct fa__http_static_s *st = srv->statics;
        srv->statics = st->next;
        close(st->dirfd);
        free(st->dir);
        free(st);
    }
}
