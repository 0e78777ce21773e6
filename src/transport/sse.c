/* sse.c: see sse.h. */
#include "transport/sse.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fasterapi/error.h"

struct fa__sse_entry_s {
    size_t id_len; /* id at mem[0..id_len), NUL-terminated */
    size_t len;    /* formatted event at mem[id_len + 1 ..] */
    char mem[];
};

static int has_crlf(const char *s, size_t n) {
    return memchr(s, '\n', n) != NULL || memchr(s, '\r', n) != NULL;
}

/* Appends "name: value\n", or "name:\n" for an empty value. */
static int field(fa__buf_t *out, const char *name, size_t name_len, const char *v, size_t n) {
    int rc = fa__buf_append(out, name, name_len);
    if (!rc && n)
        rc = fa__buf_putc(out, ' ');
    if (!rc)
        rc = fa__buf_append(out, v, n);
    if (!rc)
        rc = fa__buf_putc(out, '\n');
    return rc;
}

/* Offset of the first CR or LF in s[0..n), or n. */
static size_t line_end(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n' || s[i] == '\r')
            return i;
    return n;
}

static int format_event(fa__buf_t *out, const char *event, const char *id, long retry_ms,
                        const char *data, size_t data_len) {
    int rc = fa__buf_reserve(out, data_len + 16);
    if (!rc && event && *event)
        rc = field(out, "event:", 6, event, strlen(event));
    if (!rc && id)
        rc = field(out, "id:", 3, id, strlen(id));
    if (!rc && retry_ms >= 0)
        rc = fa__buf_appendf(out, "retry: %ld\n", retry_ms);
    /* One data line per line; CRLF counts as one line break (§9.2.5 "end-of-line"). */
    size_t pos = 0;
    while (!rc) {
        size_t n = line_end(data + pos, data_len - pos);
        rc = field(out, "data:", 5, data + pos, n);
        pos += n;
        if (pos == data_len)
            break;
        /* data[pos] is CR or LF; a CR followed by LF is one line break. */
        pos += data[pos] == '\r' && pos + 1 < data_len && data[pos + 1] == '\n' ? 2 : 1;
    }
    if (!rc)
        rc = fa__buf_putc(out, '\n');
    return rc;
}

int fa__sse_format_event(fa__buf_t *out, const char *event, const char *id, long retry_ms,
                         const char *data, size_t data_len) {
    if (event && has_crlf(event, strlen(event)))
        return FA_EINVAL;
    if (id && (strlen(id) > FA_SSE_MAX_ID || has_crlf(id, strlen(id))))
        return FA_EINVAL;
    if (!data)
        data_len = 0;
    size_t mark = out->len;
    int rc = format_event(out, event, id, retry_ms, data ? data : "", data_len);
    if (rc)
        out->len = mark; /* all or nothing */
    return rc;
}

int fa__sse_format_comment(fa__buf_t *out, const char *text) {
    size_t n = text ? strlen(text) : 0;
    if (n && has_crlf(text, n))
        return FA_EINVAL;
    size_t mark = out->len;
    int rc = fa__buf_append(out, ": ", 2);
    if (!rc)
        rc = fa__buf_append(out, text, n);
    if (!rc)
        rc = fa__buf_append(out, "\n\n", 2);
    if (rc)
        out->len = mark;
    return rc;
}

/* ---- replay ring ---- */

int fa__sse_replay_init(fa__sse_replay_t *r, size_t max_bytes, size_t max_events) {
    memset(r, 0, sizeof *r);
    r->max_bytes = max_bytes ? max_bytes : FA_SSE_REPLAY_BYTES;
    r->max_events = max_events ? max_events : FA_SSE_REPLAY_EVENTS;
    r->next_auto_id = 1;
    r->slots = calloc(r->max_events, sizeof *r->slots);
    return r->slots ? 0 : FA_ENOMEM;
}

static size_t entry_size(const fa__sse_entry_t *e) {
    return e->id_len + e->len;
}

static void evict_oldest(fa__sse_replay_t *r) {
    fa__sse_entry_t *e = r->slots[r->head];
    r->bytes -= entry_size(e);
    free(e);
    r->slots[r->head] = NULL;
    r->head = (r->head + 1) % r->max_events;
    r->count--;
    r->evicted++;
}

void fa__sse_replay_free(fa__sse_replay_t *r) {
    if (!r->slots)
        return;
    while (r->count)
        evict_oldest(r);
    free(r->slots);
    r->slots = NULL;
}

int fa__sse_replay_event(fa__sse_replay_t *r, fa__buf_t *out, const char *event, const char *id,
                         long retry_ms, const char *data, size_t data_len, char *id_out) {
    char auto_id[24];
    if (!id) {
        snprintf(auto_id, sizeof auto_id, "%" PRIu64, r->next_auto_id);
        id = auto_id;
    }
    size_t mark = out->len;
    int rc = fa__sse_format_event(out, event, id, retry_ms, data, data_len);
    if (rc)
        return rc;
    size_t id_len = strlen(id), len = out->len - mark;
    if (id_len + len <= r->max_bytes) {
        fa__sse_entry_t *e = malloc(sizeof *e + id_len + 1 + len);
        if (!e) {
            out->len = mark;
            return FA_ENOMEM;
        }
        e->id_len = id_len;
        e->len = len;
        memcpy(e->mem, id, id_len + 1);
        memcpy(e->mem + id_len + 1, out->data + mark, len);
        while (r->count == r->max_events || r->bytes + id_len + len > r->max_bytes)
            evict_oldest(r);
        r->slots[(r->head + r->count) % r->max_events] = e;
        r->count++;
        r->bytes += id_len + len;
    } else if (r->refuse_oversize) {
        out->len = mark;
        return FA_EMSGSIZE;
    } else {
        /* Too big to keep: drop everything older as well, so that no later replay jumps over
         * this event (a client whose id is older gets "unknown", not a gap). */
        while (r->count)
            evict_oldest(r);
        r->evicted++;
    }
    if (id == auto_id)
        r->next_auto_id++;
    memcpy(r->last_id, id, id_len + 1);
    r->has_last = 1;
    r->appended++;
    if (id_out)
        memcpy(id_out, id, id_len + 1);
    return 0;
}

int fa__sse_replay_find(const fa__sse_replay_t *r, const char *id, size_t id_len, uint64_t *seq) {
    /* Newest first: with duplicate ids the newest one is the client's position. */
    for (size_t k = r->count; k > 0; k--) {
        const fa__sse_entry_t *e = r->slots[(r->head + k - 1) % r->max_events];
        if (e->id_len == id_len && memcmp(e->mem, id, id_len) == 0) {
            *seq = r->appended - r->count + k;
            return 0;
        }
    }
    return FA_ENOENT;
}

int fa__sse_replay_after(const fa__sse_replay_t *r, uint64_t seq, fa__sse_replay_cb cb, void *ud) {
    if (seq >= r->appended)
        return 0;
    uint64_t oldest = r->appended - r->count + 1; /* > appended when nothing is kept */
    if (seq + 1 < oldest)
        return FA_ENOENT;
    int n = 0;
    for (size_t i = (size_t)(seq + 1 - oldest); i < r->count; i++) {
        const fa__sse_entry_t *e = r->slots[(r->head + i) % r->max_events];
        int rc = cb(ud, e->mem, e->mem + e->id_len + 1, e->len);
        if (rc < 0)
            return rc;
        n++;
    }
    return n;
}

int fa__sse_replay_since(const fa__sse_replay_t *r, const char *last_id, size_t last_id_len,
                         fa__sse_replay_cb cb, void *ud) {
    uint64_t seq;
    if (fa__sse_replay_find(r, last_id, last_id_len, &seq) == 0)
        return fa__sse_replay_after(r, seq, cb, ud);
    /* Not kept: up to date if it is the last event sent (kept or too big), else unknown. */
    if (r->has_last && strlen(r->last_id) == last_id_len &&
        memcmp(r->last_id, last_id, last_id_len) == 0)
        return 0;
    return FA_ENOENT;
}
