/* fuzz/fuzz_task_table.c: the task table of the tasks extension (src/mcp/task_table.c) driven by
 * a script of operations, with the inputRequests keys a tool chooses and the inputResponses a
 * client sends both taken from the input (both are outside our control in a real server).
 *
 * Input: lines, each one operation (the first byte) and its argument (the rest of the line):
 *   c        create a task (fails with FA_ELIMIT only when full of tasks not evictable)
 *   s<n>     select the task at position n (mod count) in creation order
 *   a<key>   the selected task asks something under <key> ("a" alone: no key)
 *   u<json>  tasks/update on the selected task with <json> when it is an object
 *   f<d>     finish the selected task: d % 3 = completed, failed, cancelled; the rest of the
 *            line, when it is JSON, is the result or error
 *   t<n>     the clock moves n * 997 ms forward
 *   x        every expired task is removed
 * What is checked after every operation, for every task: a terminal task has no pending input;
 * a live one is input_required exactly when it has pending inputs; inputRequests (as tasks/get
 * shows it) has exactly the pending keys; no key is issued twice over a task's life; the wire
 * JSON has the fields its status needs and no others; the table never holds more than its cap;
 * and every pending request handed to the table comes back exactly once (answered or
 * abandoned), at the latest when the table is freed.
 */
#include <string.h>

#include <jansson.h>

#include "fasterapi/error.h"
#include "fuzz_common.h"
#include "mcp/tasks.h"

#define MAX_TASKS 4
#define MAX_REQS 4096

/* Every request handed to the table is a slot here; it must come back exactly once. */
static unsigned char outstanding[MAX_REQS];
static size_t nreqs;

static void on_input(void *req, const json_t *answer, void *arg) {
    (void)answer;
    (void)arg;
    size_t i = (size_t)((unsigned char *)req - outstanding);
    FUZZ_CHECK(i < nreqs && outstanding[i] == 1);
    outstanding[i] = 0;
}

static void check_task(const fa__tasks_t *t, const fa__task_t *k) {
    json_t *j = fa__task_json(t, k, 1);
    FUZZ_CHECK(j != NULL);
    const char *st = json_string_value(json_object_get(j, "status"));
    FUZZ_CHECK(st && strcmp(st, fa__task_status_name(k->status)) == 0);
    FUZZ_CHECK(strlen(json_string_value(json_object_get(j, "createdAt"))) == 24);
    FUZZ_CHECK(strcmp(json_string_value(json_object_get(j, "taskId")), k->id) == 0);
    json_t *in = json_object_get(j, "inputRequests");
    FUZZ_CHECK(json_object_size(k->inputs) == k->reqs.count);
    if (fa__task_terminal(k)) {
        FUZZ_CHECK(k->reqs.count == 0);
        FUZZ_CHECK(!in);
    } else {
        FUZZ_CHECK((k->status == FA__TASK_INPUT_REQUIRED) == (k->reqs.count > 0));
        FUZZ_CHECK(!json_object_get(j, "result") && !json_object_get(j, "error"));
    }
    FUZZ_CHECK(!!json_object_get(j, "result") == (k->status == FA__TASK_COMPLETED));
    FUZZ_CHECK(!!json_object_get(j, "error") == (k->status == FA__TASK_FAILED));
    const char *key;
    json_t *v;
    json_object_foreach (in, key, v) {
        FUZZ_CHECK(json_is_true(json_object_get(k->used, key)));
        FUZZ_CHECK(json_is_string(json_object_get(v, "method")));
    }
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *p = (const char *)data, *end = p + size;
    memset(outstanding, 0, sizeof outstanding);
    nreqs = 0;
    fa__tasks_t t;
    fa__tasks_init(&t, MAX_TASKS, 60000, on_input, NULL);
    uint64_t now = 1785234600000ull;
    fa__task_t *sel = NULL;
    char arg[512];
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char op = n ? p[0] : '\0';
        size_t alen = n > 1 ? n - 1 : 0;
        if (alen >= sizeof arg)
            alen = sizeof arg - 1;
        memcpy(arg, p + 1 < end ? p + 1 : p, alen);
        arg[alen] = '\0';
        p = nl ? nl + 1 : end;
        switch (op) {
        case 'c': {
            size_t before = t.n;
            fa__task_t *k;
            int rc = fa__tasks_create(&t, now, &k, NULL);
            FUZZ_CHECK(rc == 0 || rc == FA_ELIMIT);
            if (rc == FA_ELIMIT) {
                FUZZ_CHECK(before == MAX_TASKS && k == NULL);
            } else {
                sel = k;
                FUZZ_CHECK(fa__tasks_find(&t, k->id) == k);
            }
            break;
        }
        case 's': {
            size_t i = t.n ? (size_t)strtoul(arg, NULL, 10) % t.n : 0;
            sel = t.head;
            while (sel && i--)
                sel = sel->next;
            break;
        }
        case 'a':
            if (sel && nreqs < MAX_REQS) {
                char used[FA_MCP_TASK_KEY_MAX + 24];
                int was_terminal = fa__task_terminal(sel);
                int had = json_object_get(sel->used, arg) != NULL;
                outstanding[nreqs] = 1;
                int rc = fa__task_ask(&t, sel, alen && !memchr(arg, '\0', alen) ? arg : NULL,
                                      "elicitation/create", NULL, &outstanding[nreqs], now, used);
                if (rc == 0) {
                    nreqs++;
                    FUZZ_CHECK(!was_terminal && json_object_get(sel->inputs, used));
                    FUZZ_CHECK(!had || strcmp(used, arg) != 0);
                } else {
                    FUZZ_CHECK(rc == FA_ESTATE && was_terminal);
                    outstanding[nreqs] = 0;
                }
            }
            break;
        case 'u':
            if (sel) {
                json_t *r = json_loads(arg, 0, NULL);
                if (json_is_object(r)) {
                    size_t pending = sel->reqs.count;
                    size_t got = fa__task_update(&t, sel, r, now);
                    FUZZ_CHECK(got <= json_object_size(r) && sel->reqs.count == pending - got);
                }
                json_decref(r);
            }
            break;
        case 'f':
            if (sel) {
                json_t *payload = json_loads(alen ? arg + 1 : "", 0, NULL);
                int was = fa__task_terminal(sel);
                fa__task_status_t st =
                    FA__TASK_COMPLETED +
                    (fa__task_status_t)((alen ? (unsigned char)arg[0] : 0u) % 3u);
                FUZZ_CHECK(fa__task_finish(&t, sel, st, payload, now) == was);
                FUZZ_CHECK(fa__task_terminal(sel));
                json_decref(payload);
            }
            break;
        case 't':
            now += (uint64_t)strtoul(arg, NULL, 10) % 100000 * 997u;
            break;
        case 'x': {
            fa__task_t *k;
            while ((k = fa__tasks_expired(&t, now))) {
                if (k == sel)
                    sel = NULL;
                fa__tasks_remove(&t, k);
            }
            break;
        }
        default:
            break;
        }
        FUZZ_CHECK(t.n <= MAX_TASKS);
        size_t count = 0;
        for (fa__task_t *k = t.head; k; k = k->next, count++)
            check_task(&t, k);
        FUZZ_CHECK(count == t.n);
    }
    fa__tasks_free(&t);
    for (size_t i = 0; i < nreqs; i++)
        FUZZ_CHECK(outstanding[i] == 0);
    return 0;
}
