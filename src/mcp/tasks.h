/* mcp/tasks.h (internal): the tasks extension `io.modelcontextprotocol/tasks` (SEP-2663,
 * ext-tasks specification/draft/tasks.md; research/conformance_2026.md §3.8).
 *
 * A tools/call of the 2026-07-28 era whose request declares the extension in its per-request
 * client capabilities may be answered with a CreateTaskResult ({resultType:"task", taskId,
 * status, createdAt, lastUpdatedAt, ttlMs, pollIntervalMs}) instead of the tool's result. The
 * tool then runs on, and the client polls tasks/get, answers the tool's questions with
 * tasks/update and may stop it with tasks/cancel.
 *
 * Two layers:
 *  - the task table (this header's first half): tasks by id, their status, timestamps, the
 *    final result or error and the pending input requests by key. Pure bookkeeping, no I/O;
 *    every function takes the time explicitly (unix milliseconds), so it is unit-tested on its
 *    own (tests/mcp/test_tasks.c). A pending input request is an opaque pointer the table hands
 *    back to a callback when it is answered or abandoned.
 *  - the engine glue (tasks.c, second half): a task's tool call runs on the server's internal
 *    task session, whose session ops turn the call's response into the task's result, and
 *    whose server-to-client requests become inputRequests (outreq.c routes them here).
 *
 * Bounds: at most max_tasks tasks exist at once (fa_server_options_t); each lives ttl_ms from
 * its creation (the ttlMs it announces), then it is cancelled if still running and forgotten.
 * When the table is full, the oldest task that has been terminal for at least
 * FA_MCP_TASK_MIN_KEEP_MS makes room; if there is none, creating a task fails (FA_ELIMIT) and
 * the client gets a clear error. Loop thread only.
 */
#ifndef FA_MCP_TASKS_H
#define FA_MCP_TASKS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/map.h"

#define FA_TASKS_EXTENSION "io.modelcontextprotocol/tasks"

/* A terminal task stays readable at least this long even when the table is full: a client
 * polls tasks/get after the task ended (the suite re-reads it 500 ms later; real clients poll
 * every few seconds), so evicting it sooner would lose a result the client has not seen. */
#define FA_MCP_TASK_MIN_KEEP_MS 30000
/* The pollIntervalMs we suggest: tool work is human-scale, and 250 ms keeps a poller's latency
 * low without a request storm. */
#define FA_MCP_TASK_POLL_MS 250
/* Longest inputRequests key we keep as the tool chose it (longer ones are renamed r<N>). */
#define FA_MCP_TASK_KEY_MAX 100

typedef enum {
    FA__TASK_WORKING = 0,
    FA__TASK_INPUT_REQUIRED,
    FA__TASK_COMPLETED,
    FA__TASK_FAILED,
    FA__TASK_CANCELLED
} fa__task_status_t;

/* The wire name of a status. */
const char *fa__task_status_name(fa__task_status_t st);

typedef struct fa__task_s fa__task_t;

/* Called with a pending input request's opaque pointer when the client answered it (answer is
 * the response object, borrowed) or when it is abandoned (answer NULL: cancelled, expired,
 * freed). */
typedef void (*fa__task_input_cb)(void *req, const json_t *answer, void *arg);

struct fa__task_s {
    char id[33]; /* 128 random bits as hex */
    fa__task_status_t status;
    uint64_t created_ms, updated_ms, expires_ms, terminal_ms; /* unix ms */
    json_t *result;                                           /* COMPLETED: the CallToolResult */
    json_t *error;   /* FAILED: the JSON-RPC error object {code, message[, data]} */
    json_t *inputs;  /* {key: {method, params}}: the pending input requests, in order asked */
    fa__map_t reqs;  /* key -> opaque request (the same keys; keys owned by `inputs`) */
    json_t *used;    /* {key: true}: every key ever issued (unique over the task's life) */
    uint64_t nasked; /* input requests asked so far (names keys r<N>) */
    void *owner;     /* the glue's per-task data (the call's id text), or NULL */
    fa__task_t *prev, *next; /* the table's list, in creation (= expiry) order */
};

typedef struct {
    fa__map_t index; /* id -> task */
    fa__task_t *head, *tail;
    size_t n, max;
    uint64_t ttl_ms;
    fa__task_input_cb input_cb; /* abandoned/answered input requests go here */
    void *input_arg;
} fa__tasks_t;

/* An empty table of at most max tasks living ttl_ms each. */
void fa__tasks_init(fa__tasks_t *t, size_t max, uint64_t ttl_ms, fa__task_input_cb cb, void *arg);
/* Frees every task (pending input requests are abandoned through the callback). */
void fa__tasks_free(fa__tasks_t *t);

/* Creates a WORKING task with a fresh random id. 0, FA_ELIMIT (full of live or recently ended
 * tasks), FA_ENOMEM or a getrandom error. `evicted` (may be NULL) receives the owner pointer of
 * a terminal task removed to make room (the caller frees its per-task data), or NULL. */
int fa__tasks_create(fa__tasks_t *t, uint64_t now_ms, fa__task_t **out, void **evicted);
fa__task_t *fa__tasks_find(const fa__tasks_t *t, const char *id);
/* Removes and frees one task (pending input requests abandoned). */
void fa__tasks_remove(fa__tasks_t *t, fa__task_t *task);
/* The next task to expire at now_ms, or NULL: the caller cancels its work and removes it. */
fa__task_t *fa__tasks_expired(const fa__tasks_t *t, uint64_t now_ms);

/* Whether a status is terminal (completed, failed, cancelled). */
int fa__task_terminal(const fa__task_t *task);
/* Ends a live task: COMPLETED with result, FAILED with error (borrowed, copied), or CANCELLED.
 * Pending input requests are abandoned. No effect on a task already terminal (returns 1). */
int fa__task_finish(fa__tasks_t *t, fa__task_t *task, fa__task_status_t st, const json_t *payload,
                    uint64_t now_ms);
/* The task's work asks the client something: a new pending input request under `key` (the
 * tool's choice, or NULL; renamed when empty, too long, not UTF-8 or already used), and the status
 * turns input_required. `req` is the opaque request. 0, FA_ESTATE (terminal) or FA_ENOMEM. The key
 * used is written to key_out (FA_MCP_TASK_KEY_MAX + 24 bytes) when not NULL. */
int fa__task_ask(fa__tasks_t *t, fa__task_t *task, const char *key, const char *method,
                 const json_t *params, void *req, uint64_t now_ms, char *key_out);
/* tasks/update: answers every pending request named in responses (an object; other keys are
 * ignored: unknown, already answered or never issued), removing each at once; when none is left
 * the task is working again. Returns how many were answered. */
size_t fa__task_update(fa__tasks_t *t, fa__task_t *task, const json_t *responses, uint64_t now_ms);

/* The task as the wire shows it (new reference, or NULL out of memory): the Task fields, plus
 * inputRequests / result / error for its status when `detailed` (tasks/get), or only the Task
 * fields (CreateTaskResult). resultType is the caller's to add. */
json_t *fa__task_json(const fa__tasks_t *t, const fa__task_t *task, int detailed);

/* ISO 8601 UTC with milliseconds ("2026-07-28T10:30:00.123Z") of a unix-ms time. */
void fa__iso8601_ms(uint64_t unix_ms, char out[32]);

#endif
