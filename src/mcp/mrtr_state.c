/* mrtr_state.c: sealing and opening MRTR requestState (see mrtr_state.h for the format and why).
 * OpenSSL libcrypto for SHA-256, HMAC and the constant-time compare.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "fasterapi/error.h"
#include "mcp/mrtr_state.h"

#define MAC_LEN 32

int fa__state_key_random(fa__state_key_t *k) {
    size_t got = 0;
    while (got < sizeof k->key) {
        ssize_t n = getrandom(k->key + got, sizeof k->key - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        got += (size_t)n;
    }
    k->set = 1;
    return 0;
}

int fa__state_key_file(fa__state_key_t *k, const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    unsigned char buf[FA_MCP_STATE_KEY_MAX + 1];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof buf - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = -errno;
            close(fd);
            return e;
        }
        if (n == 0 || (len += (size_t)n) == sizeof buf)
            break;
    }
    close(fd);
    if (len < FA_MCP_STATE_KEY_MIN || len > FA_MCP_STATE_KEY_MAX) {
        OPENSSL_cleanse(buf, sizeof buf);
        return FA_EINVAL;
    }
    SHA256(buf, len, k->key);
    OPENSSL_cleanse(buf, sizeof buf);
    k->set = 1;
    return 0;
}

static void to_hex(const unsigned char *d, size_t n, char *out) {
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
    out[2 * n] = '\0';
}

int fa__args_digest(const json_t *v, char hex[65]) {
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
    if (v && !text)
        return FA_ENOMEM;
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)(text ? text : "{}"), strlen(text ? text : "{}"), md);
    free(text);
    to_hex(md, sizeof md, hex);
    return 0;
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *b64url_encode(const unsigned char *d, size_t n, size_t *out_len) {
    char *o = malloc((n + 2) / 3 * 4 + 1);
    if (!o)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)d[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)d[i + 1] << 8;
        if (i + 2 < n)
            v |= d[i + 2];
        o[j++] = b64url[v >> 18 & 63];
        o[j++] = b64url[v >> 12 & 63];
        if (i + 1 < n)
            o[j++] = b64url[v >> 6 & 63];
        if (i + 2 < n)
            o[j++] = b64url[v & 63];
    }
    o[j] = '\0';
    *out_len = j;
    return o;
}

static int b64url_value(unsigned char c) {
    const char *p = c ? strchr(b64url, c) : NULL;
    return p ? (int)(p - b64url) : -1;
}

/* Strict: only the URL alphabet, no padding, and unused trailing bits zero (one spelling). */
static unsigned char *b64url_decode(const char *s, size_t n, size_t *out_len) {
    if (n % 4 == 1)
        return NULL;
    unsigned char *o = malloc(n / 4 * 3 + 3);
    if (!o)
        return NULL;
    size_t j = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64url_value((unsigned char)s[i]);
        if (v < 0) {
            free(o);
            return NULL;
        }
        acc = (acc << 6 | (unsigned)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[j++] = (unsigned char)(acc >> bits);
        }
    }
    if (bits && (acc & ((1u << bits) - 1))) {
        free(o);
        return NULL;
    }
    *out_len = j;
    return o;
}

static void mac(const fa__state_key_t *k, const unsigned char *p, size_t n, unsigned char *out) {
    unsigned int len = MAC_LEN;
    HMAC(EVP_sha256(), k->key, (int)sizeof k->key, p, n, out, &len);
}

int fa__state_seal(const fa__state_key_t *k, const json_t *payload, char **out, size_t *len) {
    char *text = json_dumps(payload, JSON_COMPACT);
    if (!text)
        return FA_ENOMEM;
    size_t n = strlen(text);
    unsigned char *raw = malloc(n + MAC_LEN);
    if (!raw) {
        free(text);
        return FA_ENOMEM;
    }
    memcpy(raw, text, n);
    free(text);
    mac(k, raw, n, raw + n);
    *out = b64url_encode(raw, n + MAC_LEN, len);
    free(raw);
    return *out ? 0 : FA_ENOMEM;
}

int fa__state_open(const fa__state_key_t *k, const char *state, size_t len, const char *method,
                   const char *name, const char *digest, uint64_t now, json_t **payload,
                   const char **why) {
    *payload = NULL;
    size_t n;
    unsigned char *raw = b64url_decode(state, len, &n);
    if (!raw || n <= MAC_LEN) {
        free(raw);
        *why = "not a requestState this server issued";
        return FA_EINVAL;
    }
    unsigned char want[MAC_LEN];
    mac(k, raw, n - MAC_LEN, want);
    if (CRYPTO_memcmp(want, raw + n - MAC_LEN, MAC_LEN) != 0) {
        free(raw);
        *why = "the requestState failed verification";
        return FA_EINVAL;
    }
    json_t *p =
        json_loadb((const char *)raw, n - MAC_LEN, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
    free(raw);
    json_t *e = json_object_get(p, "e");
    if (!json_is_object(p) || json_integer_value(json_object_get(p, "v")) != 1 ||
        !json_is_integer(e)) {
        json_decref(p);
        *why = "the requestState has an unknown format";
        return FA_EINVAL;
    }
    if ((uint64_t)json_integer_value(e) < now) {
        json_decref(p);
        *why = "the requestState has expired";
        return FA_EINVAL;
    }
    const char *m = json_string_value(json_object_get(p, "m"));
    const char *nm = json_string_value(json_object_get(p, "n"));
    const char *d = json_string_value(json_object_get(p, "d"));
    if (!m || !nm || !d || strcmp(m, method) != 0 || strcmp(nm, name) != 0 ||
        strcmp(d, digest) != 0) {
        json_decref(p);
        *why = "the requestState belongs to a different request";
        return FA_EINVAL;
    }
    *payload = p;
    return 0;
}
