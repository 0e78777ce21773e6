/* task_table.c: the task table of the tasks extension (the contract is in mcp/tasks.h). Pure
 * bookkeeping: no I/O, no clock (callers pass the time), one thread. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/utf8.h"
#include "fasterapi/error.h"
#include "mcp/tasks.h"

typedef struct {
    char *key; /* owned: the map's key bytes */
    void *req;
} pending_t;

const char *fa__task_status_name(fa__task_status_t st) {
    static const char *const names[] = {"working", "input_required", "completed", "failed",
                                        "cancelled"};
    return (unsigned)st < sizeof names / sizeof names[0] ? names[st] : "failed";
}

void fa__iso8601_ms(uint64_t unix_ms, char out[32]) {
    time_t secs = (time_t)(unix_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    /* RFC 3339 §5.6 profile of ISO 8601, UTC ("Z"), millisecond precision. The year is
     * clamped to four digits so the text always fits. */
    int year = tm.tm_year + 1900;
    snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", year < 0 ? 0 : year % 10000,
             (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
             tm.tm_sec % 100, (unsigned)(unix_ms % 1000));
}

void fa__tasks_init(fa__tasks_t *t, size_t max, uint64_t ttl_ms, fa__task_input_cb cb, void *arg) {
    memset(t, 0, sizeof *t);
    t->max = max;
    t->ttl_ms = ttl_ms;
    t->input_cb = cb;
    t->input_arg = arg;
}

int fa__task_terminal(const fa__task_t *task) {
    return task->status == FA__TASK_COMPLETED || task->status == FA__TASK_FAILED ||
           task->status == FA__TASK_CANCELLED;
}

/* Every pending request is abandoned (the callback gets a NULL answer). */
static void abandon_inputs(fa__tasks_t *t, fa__task_t *task) {
    for (size_t i = 0; i < task->reqs.cap; i++) {
        pending_t *p = task->reqs.slots[i].key ? task->reqs.slots[i].value : NULL;
        if (!p)
            continue;
        if (t->input_cb)
            t->input_cb(p->req, NULL, t->input_arg);
        free(p->key);
        free(p);
    }
    fa__map_free(&task->reqs);
    json_object_clear(task->inputs);
}

static void task_free(fa__tasks_t *t, fa__task_t *task) {
    abandon_inputs(t, task);
    json_decref(task->result);
    json_decref(task->error);
    json_decref(task->inputs);
    json_decref(task->used);
    free(task);
}

static void unlink_task(fa__tasks_t *t, fa__task_t *task) {
    fa__map_del(&t->index, task->id, strlen(task->id));
    if (task->prev)
        task->prev->next = task->next;
    else
        t->head = task->next;
    if (task->next)
        task->next->prev = task->prev;
    else
        t->tail = task->prev;
    t->n--;
}

void fa__tasks_remove(fa__tasks_t *t, fa__task_t *task) {
    unlink_task(t, task);
    task_free(t, task);
}

void fa__tasks_free(fa__tasks_t *t) {
    while (t->head)
        fa__tasks_remove(t, t->head);
    fa__map_free(&t->index);
}

static int random_id(char out[33]) {
    unsigned char raw[16];
    size_t got = 0;
    while (got < sizeof raw) {
        ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        got += (size_t)n;
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof raw; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[32] = '\0';
    return 0;
}

int fa__tasks_create(fa__tasks_t *t, uint64_t now_ms, fa__task_t **out, void **evicted) {
    *out = NULL;
    if (evicted)
        *evicted = NULL;
    if (t->n >= t->max) {
        /* Room: the oldest task that ended long enough ago (creation order is close enough to
         * end order for a bound; a younger one that ended earlier waits its turn). */
        fa__task_t *victim = NULL;
        for (fa__task_t *k = t->head; k && !victim; k = k->next)
            if (fa__task_terminal(k) && now_ms >= k->terminal_ms + FA_MCP_TASK_MIN_KEEP_MS)
                victim = k;
        if (!victim)
            return FA_ELIMIT;
        if (evicted)
            *evicted = victim->owner;
        fa__tasks_remove(t, victim);
    }
    fa__task_t *task = calloc(1, sizeof *task);
    if (!task)
        return FA_ENOMEM;
    int rc = random_id(task->id);
    if (rc == 0 && (!(task->inputs = json_object()) || !(task->used = json_object())))
        rc = FA_ENOMEM;
    if (rc == 0 && fa__map_get(&t->index, task->id, 32))
        rc = FA_EEXIST; /* 2^-128: never, but never silently */
    if (rc == 0)
        rc = fa__map_put(&t->index, task->id, 32, task);
    if (rc) {
        task_free(t, task);
        return rc;
    }
    task->status = FA__TASK_WORKING;
    task->created_ms = task->updated_ms = now_ms;
    task->expires_ms = now_ms + t->ttl_ms;
    task->prev = t->tail;
    if (t->tail)
        t->tail->next = task;
    else
        t->head = task;
    t->tail = task;
    t->n++;
    *out = task;
    return 0;
}

fa__task_t *fa__tasks_find(const fa__tasks_t *t, const char *id) {
    return id ? fa__map_get(&t->index, id, strlen(id)) : NULL;
}

fa__task_t *fa__tasks_expired(const fa__tasks_t *t, uint64_t now_ms) {
    /* Every task lives the same ttl from creation, so the list head expires first. */
    return t->head && t->head->expires_ms <= now_ms ? t->head : NULL;
}

int fa__task_finish(fa__tasks_t *t, fa__task_t *task, fa__task_status_t st, const json_t *payload,
                    uint64_t now_ms) {
    if (fa__task_terminal(task))
        return 1; /* first outcome wins: a result that races a cancel is dropped */
    abandon_inputs(t, task);
    task->status = st;
    task->updated_ms = task->terminal_ms = now_ms;
    if (st == FA__TASK_COMPLETED)
        task->result = payload ? json_deep_copy(payload) : json_object();
    else if (st == FA__TASK_FAILED)
        task->error = payload ? json_deep_copy(payload)
                              : json_pack("{s:i, s:s}", "code", -32603, "message", "Task failed");
    if ((st == FA__TASK_COMPLETED && !task->result) || (st == FA__TASK_FAILED && !task->error)) {
        /* Out of memory keeping the outcome: the task still ends, as a failure that says so. */
        json_decref(task->result);
        task->result = NULL;
        task->status = FA__TASK_FAILED;
        task->error = json_pack("{s:i, s:s}", "code", -32603, "message",
                                "Internal error: the task's result could not be kept");
    }
    return 0;
}

int fa__task_ask(fa__tasks_t *t, fa__task_t *task, const char *key, const char *method,
                 const json_t *params, void *req, uint64_t now_ms, char *key_out) {
    (void)t;
    if (fa__task_terminal(task))
        return FA_ESTATE;
    char k[FA_MCP_TASK_KEY_MAX + 24];
    size_t n = key ? strlen(key) : 0;
    if (n > FA_MCP_TASK_KEY_MAX || !fa__utf8_valid(key, n))
        n = 0; /* not a name a client can send back (JSON object keys are UTF-8): renamed */
    task->nasked++;
    /* Keys are unique over the task's whole life (tasks.md §Task Update Requests): a key the
     * tool reuses gets the request's ordinal appended. */
    if (n > 0 && !json_object_get(task->used, key))
        snprintf(k, sizeof k, "%s", key);
    else if (n > 0)
        snprintf(k, sizeof k, "%s_%llu", key, (unsigned long long)task->nasked);
    else
        snprintf(k, sizeof k, "r%llu", (unsigned long long)task->nasked);
    /* "a_2" may itself have been a tool's key: then r<N>_<i> until one is free (the set of
     * used keys is finite, so this ends). */
    for (unsigned i = 1; json_object_get(task->used, k); i++)
        snprintf(k, sizeof k, "r%llu_%u", (unsigned long long)task->nasked, i);
    pending_t *p = calloc(1, sizeof *p);
    json_t *pj = params ? json_deep_copy(params) : json_object();
    json_t *entry = pj ? json_pack("{s:s, s:o}", "method", method, "params", pj) : NULL;
    if (!p || !entry || !(p->key = strdup(k)) || json_object_set(task->inputs, k, entry) ||
        json_object_set_new(task->used, k, json_true()) ||
        fa__map_put(&task->reqs, p->key, strlen(p->key), p)) {
        json_object_del(task->inputs, k);
        json_object_del(task->used, k);
        json_decref(entry);
        if (p)
            free(p->key);
        free(p);
        return FA_ENOMEM;
    }
    json_decref(entry);
    p->req = req;
    task->status = FA__TASK_INPUT_REQUIRED;
    task->updated_ms = now_ms;
    if (key_out)
        memcpy(key_out, k, strlen(k) + 1);
    return 0;
}

size_t fa__task_update(fa__tasks_t *t, fa__task_t *task, const json_t *responses, uint64_t now_ms) {
    size_t answered = 0;
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)(uintptr_t)responses, k, v) {
        pending_t *p = fa__map_del(&task->reqs, k, strlen(k));
        if (!p)
            continue; /* unknown, already answered or never issued: ignored (SHOULD) */
        /* Removed before the answer goes out: a tasks/get right after the ack must not show it
         * (the suite's partial-fulfilment check reads at once). */
        json_object_del(task->inputs, k);
        void *req = p->req;
        free(p->key);
        free(p);
        answered++;
        if (t->input_cb)
            t->input_cb(req, v, t->input_arg);
    }
    if (answered) {
        task->updated_ms = now_ms;
        if (task->status == FA__TASK_INPUT_REQUIRED && task->reqs.count == 0)
            task->status = FA__TASK_WORKING;
    }
    return answered;
}

json_t *fa__task_json(const fa__tasks_t *t, const fa__task_t *task, int detailed) {
    char created[32], updated[32];
    fa__iso8601_ms(task->created_ms, created);
    fa__iso8601_ms(task->updated_ms, updated);
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:I, s:i}", "taskId", task->id, "status",
                  fa__task_status_name(task->status), "createdAt", created, "lastUpdatedAt",
                  updated, "ttlMs", (json_int_t)t->ttl_ms, "pollIntervalMs", FA_MCP_TASK_POLL_MS);
    if (!o || !detailed)
        return o;
    int rc = 0;
    if (task->status == FA__TASK_INPUT_REQUIRED)
        rc = json_object_set_new(o, "inputRequests", json_deep_copy(task->inputs));
    else if (task->status == FA__TASK_COMPLETED)
        rc = json_object_set(o, "result", task->result);
    else if (task->status == FA__TASK_FAILED)
        rc = json_object_set(o, "error", task->error);
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}
