/* modern_ladder.c: the pure parts of the 2026-07-28 era: reading the per-request `_meta`
 * envelope, classifying an HTTP POST body into an era, and the header validation ladder of
 * SEP-2243 (research/spec_2026.md §1.2, §1.4, §2, §5.1). No I/O, no server state: every
 * function here is unit-tested on its own (tests/mcp/test_modern_ladder.c) and runs on any
 * thread.
 */
#include <ctype.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "fasterapi/error.h"
#include "mcp/jsonrpc.h"
#include "mcp/modern.h"
#include "mcp/server_internal.h"

const char *const fa__mcp_modern_versions[] = {FA_MCP_MODERN_VERSION};
const size_t fa__mcp_nmodern_versions =
    sizeof fa__mcp_modern_versions / sizeof fa__mcp_modern_versions[0];

static int modern_supported(const char *v) {
    for (size_t i = 0; i < fa__mcp_nmodern_versions; i++)
        if (strcmp(v, fa__mcp_modern_versions[i]) == 0)
            return 1;
    return 0;
}

json_t *fa__mcp_unsupported_data(const char *requested) {
    json_t *sup = json_array();
    for (size_t i = 0; sup && i < fa__mcp_nmodern_versions; i++)
        json_array_append_new(sup, json_string(fa__mcp_modern_versions[i]));
    json_t *req = json_string(requested ? requested : "");
    if (!req) /* not UTF-8 (it came from a header): still answer, without echoing it */
        req = json_string("");
    return sup && req ? json_pack("{s:o, s:o}", "supported", sup, "requested", req)
                      : (json_decref(sup), json_decref(req), NULL);
}

int fa__mcp_has_claim(const json_t *params) {
    const json_t *meta = json_object_get(params, "_meta");
    return json_is_object(meta) && json_object_get(meta, FA_META_PROTOCOL_VERSION) != NULL;
}

void fa__mcp_envelope(const json_t *params, fa__env_t *e) {
    memset(e, 0, sizeof *e);
    e->log_level = -1;
    const json_t *meta = json_object_get(params, "_meta");
    const json_t *pv =
        json_is_object(meta) ? json_object_get(meta, FA_META_PROTOCOL_VERSION) : NULL;
    if (!pv) {
        e->status = FA__ENV_NONE;
        return;
    }
    /* Once the claim is present a malformed envelope is an error, never a silent fall back to
     * the legacy era (spec_2026.md §1.1). */
    e->status = FA__ENV_MALFORMED;
    if (!json_is_string(pv)) {
        snprintf(e->why, sizeof e->why,
                 "Invalid params: _meta[\"" FA_META_PROTOCOL_VERSION "\"] must be a string");
        return;
    }
    const json_t *caps = json_object_get(meta, FA_META_CLIENT_CAPS);
    if (!json_is_object(caps)) {
        snprintf(e->why, sizeof e->why,
                 "Invalid params: _meta[\"" FA_META_CLIENT_CAPS "\"] (an object) is required");
        return;
    }
    const json_t *info = json_object_get(meta, FA_META_CLIENT_INFO);
    if (info && !json_is_object(info)) {
        snprintf(e->why, sizeof e->why,
                 "Invalid params: _meta[\"" FA_META_CLIENT_INFO "\"] must be an object");
        return;
    }
    const json_t *lvl = json_object_get(meta, FA_META_LOG_LEVEL);
    if (lvl) {
        e->log_level = json_is_string(lvl) ? fa__mcp_log_level(json_string_value(lvl)) : -1;
        if (e->log_level < 0) {
            snprintf(e->why, sizeof e->why,
                     "Invalid params: _meta[\"" FA_META_LOG_LEVEL "\"] must be one of debug, "
                     "info, notice, warning, error, critical, alert, emergency");
            return;
        }
    }
    e->version = json_string_value(pv);
    e->client_caps = caps;
    e->client_info = info;
    e->status = modern_supported(e->version) ? FA__ENV_OK : FA__ENV_UNSUPPORTED;
}

/* ---- header values ---- */

static const char *trim(const char *s, size_t *len) {
    size_t n = strlen(s);
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    *len = n;
    return s;
}

static int b64_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Strict standard base64 (RFC 4648 §4): a multiple of 4 characters, '=' only as the last one or
 * two, and the pad bits zero (canonical), so exactly one spelling decodes to given bytes. */
static int b64_decode_strict(const char *s, size_t n, fa__buf_t *out) {
    if (n % 4)
        return FA_EINVAL;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int j = 0; j < 4; j++) {
            unsigned char c = (unsigned char)s[i + (size_t)j];
            if (c == '=' && i + 4 == n && j >= 2) {
                v[j] = 0;
                pad++;
                continue;
            }
            if (pad || (v[j] = b64_value(c)) < 0)
                return FA_EINVAL; /* '=' in the middle, or data after padding */
        }
        unsigned triple =
            (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | (unsigned)v[3];
        if ((pad == 1 && (triple & 0xff)) || (pad == 2 && (triple & 0xffff)))
            return FA_EINVAL; /* non-zero pad bits: not the canonical spelling */
        char bytes[3] = {(char)(triple >> 16), (char)(triple >> 8), (char)triple};
        if (fa__buf_append(out, bytes, (size_t)(3 - pad)))
            return FA_ENOMEM;
    }
    return 0;
}

int fa__mcp_header_decode(const char *value, fa__buf_t *out) {
    size_t n;
    const char *v = trim(value, &n);
    static const char pre[] = "=?base64?", suf[] = "?=";
    size_t lp = sizeof pre - 1, ls = sizeof suf - 1;
    if (n >= lp + ls && memcmp(v, pre, lp) == 0 && memcmp(v + n - ls, suf, ls) == 0) {
        size_t mark = out->len;
        int rc = b64_decode_strict(v + lp, n - lp - ls, out);
        if (rc == 0 && out->len > mark && !fa__utf8_valid(out->data + mark, out->len - mark))
            rc = FA_EINVAL;
        if (rc)
            out->len = mark;
        return rc;
    }
    return fa__buf_append(out, v, n) ? FA_ENOMEM : 0; /* a value lacking a marker is literal */
}

int fa__mcp_status_for_code(int code) {
    switch (code) {
    case FA_RPC_METHOD_NOT_FOUND:
        return 404;
    case FA_RPC_PARSE_ERROR:
    case FA_RPC_INVALID_REQUEST:
    case FA_RPC_HEADER_MISMATCH:
    case FA_RPC_MISSING_CAPABILITY:
    case FA_RPC_UNSUPPORTED_VERSION:
        return 400;
    default:
        return 200;
    }
}

/* ---- the ladder ---- */

static int fail(fa__ladder_t *v, int code, int status, json_t *data, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int fail(fa__ladder_t *v, int code, int status, json_t *data, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fa__utf8_vformat(v->message, sizeof v->message, fmt, ap);
    va_end(ap);
    v->code = code;
    v->status = status;
    v->data = data;
    return code;
}

/* Decoded header equal to `want` (a string)? 1 equal, 0 different, FA_EINVAL bad encoding. */
static int header_equals(const char *hdr, const char *want) {
    fa__buf_t b = FA__BUF_INIT;
    int rc = fa__mcp_header_decode(hdr, &b);
    if (rc == 0)
        rc = b.len == strlen(want) && (b.len == 0 || memcmp(b.data, want, b.len) == 0);
    fa__buf_free(&b);
    return rc;
}

/* Which body value Mcp-Name must carry for a method (SEP-2243), or NULL for none. */
static const char *name_key(const char *method) {
    if (strcmp(method, "tools/call") == 0 || strcmp(method, "prompts/get") == 0)
        return "name";
    if (strcmp(method, "resources/read") == 0)
        return "uri";
    if (strcmp(method, "tasks/get") == 0 || strcmp(method, "tasks/update") == 0 ||
        strcmp(method, "tasks/cancel") == 0)
        return "taskId";
    return NULL;
}

static const char *find_param(const fa__mcp_headers_t *h, const char *name) {
    for (size_t i = 0; i < h->nparams; i++)
        if (h->params[i].name && strcasecmp(h->params[i].name, name) == 0)
            return h->params[i].value;
    return NULL;
}

/* A decoded Mcp-Param value against the body value (spec_2026.md §5.1): strings exactly,
 * integers numerically (42.0 == 42), booleans as "true"/"false". */
static int param_matches(const fa__buf_t *d, const json_t *body) {
    char text[64];
    if (json_is_string(body))
        return d->len == json_string_length(body) &&
               (d->len == 0 || memcmp(d->data, json_string_value(body), d->len) == 0);
    if (d->len == 0 || d->len >= sizeof text)
        return 0;
    memcpy(text, d->data, d->len);
    text[d->len] = '\0';
    if (json_is_boolean(body))
        return strcmp(text, json_is_true(body) ? "true" : "false") == 0;
    if (json_is_integer(body) || json_is_real(body)) {
        char *end;
        double x = strtod(text, &end);
        return *end == '\0' && isfinite(x) && x == json_number_value(body);
    }
    return 0;
}

/* Rung 9: every x-mcp-header property of the tool whose body value is present and non-null
 * needs its Mcp-Param-<Name> header, equal after decoding. */
static int check_params(const json_t *schema, const json_t *args, const fa__mcp_headers_t *h,
                        fa__ladder_t *v) {
    const char *prop;
    json_t *def;
    json_object_foreach ((json_t *)(uintptr_t)json_object_get(schema, "properties"), prop, def) {
        const char *hname = json_string_value(json_object_get(def, "x-mcp-header"));
        const json_t *val = json_object_get(args, prop);
        if (!hname || !val || json_is_null(val))
            continue; /* absent or null in the body: the header is not expected */
        const char *hv = find_param(h, hname);
        if (!hv)
            return fail(v, FA_RPC_HEADER_MISMATCH, 400, NULL,
                        "Header mismatch: Mcp-Param-%s is required (argument '%s' is present)",
                        hname, prop);
        fa__buf_t d = FA__BUF_INIT;
        int rc = fa__mcp_header_decode(hv, &d);
        int ok = rc == 0 && param_matches(&d, val);
        fa__buf_free(&d);
        if (rc == FA_ENOMEM)
            return fail(v, FA_RPC_INTERNAL_ERROR, 500, NULL, "Internal error: out of memory");
        if (rc)
            return fail(v, FA_RPC_HEADER_MISMATCH, 400, NULL,
                        "Header mismatch: Mcp-Param-%s is not valid base64 of UTF-8", hname);
        if (!ok)
            return fail(v, FA_RPC_HEADER_MISMATCH, 400, NULL,
                        "Header mismatch: Mcp-Param-%s does not match argument '%s'", hname, prop);
    }
    return 0;
}

int fa__mcp_ladder(const json_t *msg, const fa__mcp_headers_t *h, fa__tool_schema_fn schema,
                   void *schema_arg, fa__ladder_t *v) {
    memset(v, 0, sizeof *v);
    /* Rung 2: JSON-RPC shape. */
    fa__rpc_msg_t m;
    fa__rpc_classify((json_t *)(uintptr_t)msg, &m);
    if (m.kind != FA_RPC_REQUEST && m.kind != FA_RPC_NOTIFICATION)
        return fail(v, FA_RPC_INVALID_REQUEST, 400, NULL, "Invalid Request: %s",
                    m.kind == FA_RPC_INVALID ? m.why : "not a request");
    if (m.params && !json_is_object(m.params))
        return fail(v, FA_RPC_INVALID_PARAMS, 400, NULL,
                    "Invalid params: MCP methods take params as an object");
    /* Rung 4: the envelope; a modern header without a claim is a request missing its _meta. */
    fa__env_t env;
    fa__mcp_envelope(m.params, &env);
    if (env.status == FA__ENV_NONE) {
        if (strcmp(m.method, "initialize") == 0)
            /* An initialize sent with a modern header (spec_2026.md §1.2 step 4, the TS answer). */
            return fail(v, FA_RPC_HEADER_MISMATCH, 400, NULL,
                        "Header mismatch: initialize was sent with a modern MCP-Protocol-Version "
                        "header; initialize belongs to protocol 2025-11-25 and earlier");
        return fail(
            v, FA_RPC_INVALID_PARAMS, 400, NULL,
            "Invalid params: a %s request needs params._meta with \"" FA_META_PROTOCOL_VERSION
            "\" and \"" FA_META_CLIENT_CAPS "\"",
            FA_MCP_MODERN_VERSION);
    }
    if (env.status == FA__ENV_MALFORMED)
        return fail(v, FA_RPC_INVALID_PARAMS, 400, NULL, "%s", env.why);
    /* Rung 3: header against body (version, method) before the version itself: a body naming
     * an unknown version under a known header is a mismatch (conformance: -32020 beats -32022). */
    if (h->protocol_version && !header_equals(h->protocol_version, env.version))
        return fail(v, FA_RPC_HEADER_MISMATCH, 400, NULL,
                    "Header mismatch: MCP-Protocol-Version does not match the request's "
                    "_meta protocolVersion (%s)",
                    env.version);
    if (h->method && header_equals(h->method, m.method) != 1)
        return fail(v, FA_RPC_HEADER_MISMATCH, 400, NULL,
                    "Header mismatch: Mcp-Method does not match the request's method (%s)",
                    m.method);
    /* Rung 3': the claimed version. */
    if (env.status == FA__ENV_UNSUPPORTED)
        return fail(v, FA_RPC_UNSUPPORTED_VERSION, 400, fa__mcp_unsupported_data(env.version),
                    "Unsupported protocol version: %s", env.version);
    /* Rung 7: the standard headers must be present. */
    if (!h->protocol_version)
        return fail(v, FA_RPC_HEADER_MISMATCH, 400, NULL,
                    "Header mismatch: the MCP-Protocol-Version header is required");
    if (!h->method)
        return fail(v, FA_RPC_HEADER_MISMATCH, 400, NULL,
                    "Header mismatch: the Mcp-Method header is required");
    const char *nk = name_key(m.method);
    const char *nv = nk ? json_string_value(json_object_get(m.params, nk)) : NULL;
    if (nk && nv) {
        if (!h->name)
            return fail(v, FA_RPC_HEADER_MISMATCH, 400, NULL,
                        "Header mismatch: the Mcp-Name header is required for %s", m.method);
        int eq = header_equals(h->name, nv);
        if (eq == FA_EINVAL)
            return fail(v, FA_RPC_HEADER_MISMATCH, 400, NULL,
                        "Header mismatch: Mcp-Name is not valid base64 of UTF-8");
        if (eq != 1)
            return fail(v, FA_RPC_HEADER_MISMATCH, 400, NULL,
                        "Header mismatch: Mcp-Name does not match params.%s", nk);
    }
    /* Rung 9: Mcp-Param-* against the tool's x-mcp-header declarations. */
    if (schema && nv && strcmp(m.method, "tools/call") == 0) {
        const json_t *sch = schema(schema_arg, nv);
        const json_t *args = json_object_get(m.params, "arguments");
        if (sch && json_is_object(args) && check_params(sch, args, h, v))
            return v->code;
    }
    return 0;
}

/* ---- which era an HTTP POST belongs to ---- */

/* A header naming a modern version: versions are dates, compared as strings (TS does the same,
 * so an unknown future version classifies as modern and gets -32022). */
static int header_is_modern(const char *hv) {
    if (!hv)
        return 0;
    size_t n;
    const char *v = trim(hv, &n);
    size_t m = strlen(FA_MCP_MODERN_VERSION);
    int c = strncmp(v, FA_MCP_MODERN_VERSION, n < m ? n : m);
    return c > 0 || (c == 0 && n >= m);
}

int fa__mcp_http_era(const char *body, size_t len, const char *protocol_version_header,
                     int max_depth, json_t **parsed) {
    *parsed = NULL;
    int hdr_modern = header_is_modern(protocol_version_header);
    /* Fast path for legacy traffic: no claim key in the text and no escape that could spell it
     * differently means no claim, without parsing (the legacy session parses it itself). */
    static const char key[] = FA_META_PROTOCOL_VERSION;
    if (!hdr_modern && !memchr(body, '\\', len) && !memmem(body, len, key, sizeof key - 1))
        return FA__ERA_LEGACY;
    int code;
    char why[64];
    json_t *msg = fa__rpc_parse(body, len, max_depth, &code, why, sizeof why);
    if (!msg)
        return hdr_modern ? FA__ERA_MODERN : FA__ERA_LEGACY;
    int era;
    if (json_is_array(msg)) {
        era = FA__ERA_LEGACY; /* batches are 2025-03-26 */
    } else {
        fa__rpc_msg_t m;
        fa__rpc_classify(msg, &m);
        if (m.kind == FA_RPC_RESPONSE || m.kind == FA_RPC_INVALID_RESPONSE)
            era = FA__ERA_LEGACY;
        else if (fa__mcp_has_claim(m.params))
            era = FA__ERA_MODERN; /* even an initialize: it gets 404/-32601 */
        else if (m.method && strcmp(m.method, "initialize") == 0 && !hdr_modern)
            era = FA__ERA_LEGACY;
        else
            era = hdr_modern ? FA__ERA_MODERN : FA__ERA_LEGACY;
    }
    *parsed = msg;
    return era;
}
