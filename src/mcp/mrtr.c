/* mrtr.c: Multi Round-Trip Requests (protocol 2026-07-28, basic/patterns/mrtr.mdx; research/
 * spec_2026.md §7) for tools and handlers written against fa_call_request.
 *
 * The modern era forbids server-to-client requests. A tool that asks the client something
 * (elicitation/create, sampling/createMessage, roots/list) in a modern request therefore runs in
 * rounds:
 *  1. The tool's first question is not sent. It is collected; after a short gather window
 *     (FA_MCP_MRTR_GATHER_MS, for tools that ask several things at once) or as soon as the tool
 *     returns, the request is answered with {resultType:"input_required", inputRequests:{key:
 *     {method, params}}, requestState}. The tool's callbacks get an error and its own result is
 *     discarded (the call is cancelled).
 *  2. The client retries the same request with inputResponses {key: answer} and the
 *     requestState. The state is verified (mrtr_state.h: HMAC, expiry, method, name, argument
 *     digest) and the tool runs again from the start. Its questions are now answered at once, in
 *     the order asked, from the answers of every earlier round (carried in the state) followed
 *     by this retry's; a question beyond them starts the next round, and so on.
 * No server-side state is kept between rounds: any instance sharing the key can serve a retry.
 * A question whose capability the client did not declare in that request ends the call with
 * -32021 {requiredCapabilities:{<cap>:{}}} (spec_2026.md §2). Loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "fasterapi/error.h"
#include "mcp/jsonrpc.h"
#include "mcp/server_internal.h"

struct fa__mrtr_s {
    fa_server_t *srv;
    fa_call_t *call; /* set when the call starts */
    const char *method;
    char *name;
    const json_t *args; /* a reference: the digest is computed from it when first needed */
    char digest[65];    /* "" until computed (need_digest) */
    int round;
    json_t *answers;     /* [{k, m, r}] in the order the tool asks */
    size_t next;         /* answers handed out in this run */
    json_t *asked;       /* {key: {method, params}}: this round's questions */
    json_t *pending;     /* [{k, m}]: the same, in order */
    json_t *offered;     /* this retry's inputResponses, for questions not yet asked (below) */
    fa__outreq_t **held; /* the tool's unanswered questions */
    size_t nheld, held_cap;
    uint64_t gather_at;
    int gathering;
    fa__mrtr_t *g_prev, *g_next; /* srv->gathering */
};

static uint64_t unix_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec;
}

static void gather_remove(fa__mrtr_t *m) {
    if (!m->gathering)
        return;
    fa_server_t *srv = m->srv;
    if (m->g_prev)
        m->g_prev->g_next = m->g_next;
    else
        srv->gathering = m->g_next;
    if (m->g_next)
        m->g_next->g_prev = m->g_prev;
    else
        srv->gathering_tail = m->g_prev;
    m->g_prev = m->g_next = NULL;
    m->gathering = 0;
}

/* The tool's held questions get an error: this run ends here. */
static void fail_held(fa__mrtr_t *m, int code, const char *message) {
    size_t n = m->nheld;
    fa__outreq_t **held = m->held;
    m->held = NULL;
    m->nheld = m->held_cap = 0;
    for (size_t i = 0; i < n; i++)
        fa__outreq_answer(held[i], code, message);
    free(held);
}

void fa__mrtr_free(fa__mrtr_t *m) {
    if (!m)
        return;
    gather_remove(m);
    fail_held(m, FA_RPC_INTERNAL_ERROR, "The request ended before the client answered");
    json_decref(m->answers);
    json_decref(m->asked);
    json_decref(m->pending);
    json_decref(m->offered);
    json_decref((json_t *)(uintptr_t)m->args);
    free(m->name);
    free(m);
}

/* The argument digest binds a requestState to the arguments it was issued for. Most calls never
 * ask the client anything, so it is computed only when a state is opened (a retry) or sealed
 * (input_required goes out): a SHA-256 over the canonical arguments was ~8 % of the I/O
 * thread's time per modern tools/call (docs/bench/mcp_http.md). The tool gets its arguments as
 * const json_t *, so the digest computed late is the one of the request. */
static int need_digest(fa__mrtr_t *m) {
    if (m->digest[0])
        return 0;
    return fa__args_digest(m->args, m->digest);
}

/* The answer and question containers, made on first use for the same reason. */
static int need_containers(fa__mrtr_t *m) {
    if (!m->answers && !(m->answers = json_array()))
        return FA_ENOMEM;
    if (!m->asked && !(m->asked = json_object()))
        return FA_ENOMEM;
    if (!m->pending && !(m->pending = json_array()))
        return FA_ENOMEM;
    return 0;
}

void fa__mrtr_abandon(fa__mrtr_t *m) {
    gather_remove(m);
    fail_held(m, FA_RPC_SHUTTING_DOWN, "Server shutting down");
}

int fa__mrtr_prepare(fa__session_t *s, fa__reply_to_t to, const json_t *id, const json_t *params,
                     const char *method, const char *name, const json_t *args) {
    const json_t *ir = json_object_get(params, "inputResponses");
    const json_t *rs = json_object_get(params, "requestState");
    if (ir && !json_is_object(ir)) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                        "Invalid params: inputResponses must be an object of answers");
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)(uintptr_t)ir, k, v) {
        if (!json_is_object(v)) {
            fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                            "Invalid params: inputResponses.%s must be an object (an ElicitResult, "
                            "CreateMessageResult or ListRootsResult)",
                            k);
            return -1;
        }
    }
    if (rs && !json_is_string(rs)) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                        "Invalid params: requestState must be the string the server issued");
        return -1;
    }
    fa__mrtr_t *m = calloc(1, sizeof *m);
    if (m)
        m->args = args ? json_incref((json_t *)(uintptr_t)args) : NULL;
    if (!m || !(m->name = strdup(name)) || ((rs || ir) && need_containers(m) != 0) ||
        (rs && need_digest(m) != 0)) {
        fa__mrtr_free(m);
        fa__reply_error(s, to, id, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        return -1;
    }
    m->srv = s->srv;
    m->method = method;
    /* Answers the client sends for questions the state does not list (or with no state at all:
     * a client that knows the tool's question keys may answer in the first request) are used
     * when the tool asks a question under that key with the same kind of method; keys nobody
     * asks for are ignored, as SEP-2322 says servers SHOULD do with what they do not
     * recognise. They are the client's own answers, so nothing is trusted that the client could
     * not have sent in a later round anyway. */
    m->offered = ir ? json_incref((json_t *)(uintptr_t)ir) : NULL;
    if (rs) {
        json_t *payload;
        const char *why;
        if (fa__state_open(&s->srv->state_key, json_string_value(rs), json_string_length(rs),
                           method, name, m->digest, unix_now(), &payload, &why) != 0) {
            fa__mrtr_free(m);
            json_t *data = json_pack("{s:s}", "reason", "invalid_request_state");
            fa__reply_error_data(s, to, id, FA_RPC_INVALID_PARAMS, data,
                                 "Invalid or expired requestState: %s", why);
            json_decref(data);
            return -1;
        }
        json_array_extend(m->answers, json_object_get(payload, "a"));
        m->round = (int)json_integer_value(json_object_get(payload, "r"));
        size_t i;
        json_t *p;
        json_array_foreach (json_object_get(payload, "p"), i, p) {
            /* This retry's answers, in the order the questions were asked, up to the first one
             * missing: the tool re-asks that one and the next round begins there. */
            json_t *ans = json_object_get(ir, json_string_value(json_object_get(p, "k")));
            if (!ans)
                break;
            json_array_append_new(m->answers,
                                  json_pack("{s:O, s:O, s:O}", "k", json_object_get(p, "k"), "m",
                                            json_object_get(p, "m"), "r", ans));
        }
        json_decref(payload);
    }
    s->req->mrtr = m;
    return 0;
}

static int key_taken(const fa__mrtr_t *m, const char *key) {
    if (json_object_get(m->asked, key))
        return 1;
    size_t i;
    json_t *a;
    json_array_foreach (m->answers, i, a) {
        if (i >= m->next)
            break;
        if (strcmp(json_string_value(json_object_get(a, "k")), key) == 0)
            return 1;
    }
    return 0;
}

int fa__mrtr_take_answer(fa__mrtr_t *m, fa__outreq_t *r) {
    if (m->next >= json_array_size(m->answers))
        return 0;
    json_t *a = json_array_get(m->answers, m->next);
    if (strcmp(json_string_value(json_object_get(a, "m")), r->method) == 0) {
        m->next++;
        r->cb(r->arg, json_object_get(a, "r"), NULL);
        fa__outreq_free(r);
        return 1;
    }
    /* The tool asks something else this time: the later answers no longer apply. */
    while (json_array_size(m->answers) > m->next)
        json_array_remove(m->answers, json_array_size(m->answers) - 1);
    return 0;
}

void fa__mrtr_on_request(fa__session_t *s, fa_call_t *c, fa__outreq_t *r) {
    fa__mrtr_t *m = c->mrtr;
    if (!m) {
        fa__outreq_answer(r, FA_RPC_INTERNAL_ERROR,
                          "Requests to the client are not available here: protocol 2026-07-28 "
                          "allows input requests only in tools/call, prompts/get and "
                          "resources/read");
        return;
    }
    if (c->detached) {
        fa__outreq_answer(r, FA_RPC_INTERNAL_ERROR, "The request was already answered");
        return;
    }
    if (fa__mrtr_take_answer(m, r))
        return;
    const char *cap = fa__needed_capability(r->method);
    if (cap && !json_object_get(c->client_caps, cap)) {
        /* MUST NOT ask what the client did not declare (mrtr.mdx): -32021 for the request. */
        json_t *data = json_pack("{s:{s:{}}}", "requiredCapabilities", cap);
        char msg[200];
        snprintf(msg, sizeof msg, "Missing required client capability: %s (needed for %s)", cap,
                 r->method);
        gather_remove(m);
        fa__session_answer_call(s, c, NULL, FA_RPC_MISSING_CAPABILITY, msg, data, 1);
        json_decref(data);
        fa__outreq_answer(r, FA_RPC_MISSING_CAPABILITY, msg);
        fail_held(m, FA_RPC_MISSING_CAPABILITY, msg);
        return;
    }
    char key[160];
    size_t idx = m->next + json_array_size(m->pending);
    if (r->key && r->key[0] && strlen(r->key) < 100 && !key_taken(m, r->key)) {
        json_t *ans = json_object_get(m->offered, r->key);
        if (ans && json_array_size(m->pending) == 0 &&
            json_array_append_new(m->answers, json_pack("{s:s, s:s, s:O}", "k", r->key, "m",
                                                        r->method, "r", ans)) == 0) {
            /* Answered by this request's inputResponses: recorded in answers (a later round's
             * state carries it) and handed to the tool now. */
            m->next++;
            r->cb(r->arg, ans, NULL);
            fa__outreq_free(r);
            return;
        }
        snprintf(key, sizeof key, "%s", r->key);
    } else if (r->key && r->key[0] && strlen(r->key) < 100)
        snprintf(key, sizeof key, "%s_%zu", r->key, idx);
    else
        snprintf(key, sizeof key, "r%zu", idx);
    json_t *params = r->params ? json_incref(r->params) : json_object();
    if (!params || need_containers(m) != 0) {
        json_decref(params);
        fa__outreq_answer(r, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        return;
    }
    if (m->nheld == m->held_cap) {
        size_t cap2 = m->held_cap ? 2 * m->held_cap : 4;
        fa__outreq_t **h = realloc(m->held, cap2 * sizeof *h);
        if (!h) {
            json_decref(params);
            fa__outreq_answer(r, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
            return;
        }
        m->held = h;
        m->held_cap = cap2;
    }
    if (json_object_set_new(m->asked, key,
                            json_pack("{s:s, s:o}", "method", r->method, "params", params)) ||
        json_array_append_new(m->pending, json_pack("{s:s, s:s}", "k", key, "m", r->method))) {
        fa__outreq_answer(r, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory");
        return;
    }
    m->held[m->nheld++] = r;
    m->call = c;
    if (c->explicit_flush)
        return; /* this round ends at fa_call_flush_requests (fa__mrtr_flush) */
    if (!m->gathering) {
        fa_server_t *srv = s->srv;
        m->gather_at = uv_now(srv->loop) + FA_MCP_MRTR_GATHER_MS;
        m->gathering = 1;
        m->g_prev = srv->gathering_tail;
        m->g_next = NULL;
        if (srv->gathering_tail)
            srv->gathering_tail->g_next = m;
        else
            srv->gathering = m;
        srv->gathering_tail = m;
        if (srv->gathering == m)
            fa__modern_arm(srv, FA_MCP_MRTR_GATHER_MS);
    }
}

void fa__mrtr_finish(fa__session_t *s, fa_call_t *c, int running) {
    fa__mrtr_t *m = c->mrtr;
    if (!m)
        return;
    gather_remove(m);
    if (!s || c->detached || json_array_size(m->pending) == 0) {
        fail_held(m, FA_RPC_INTERNAL_ERROR, "The request ended before the client answered");
        return;
    }
    fa_server_t *srv = s->srv;
    json_t *done = need_digest(m) == 0 ? json_array() : NULL;
    for (size_t i = 0; done && i < m->next; i++)
        json_array_append(done, json_array_get(m->answers, i));
    json_t *payload = done ? json_pack("{s:i, s:s, s:s, s:s, s:I, s:i, s:o, s:O}", "v", 1, "m",
                                       m->method, "n", m->name, "d", m->digest, "e",
                                       (json_int_t)(unix_now() + FA_MCP_STATE_TTL_S), "r",
                                       m->round + 1, "a", done, "p", m->pending)
                           : NULL;
    char *state = NULL;
    size_t len;
    json_t *result = NULL;
    if (payload && fa__state_seal(&srv->state_key, payload, &state, &len) == 0)
        result = json_pack("{s:s, s:O, s:s}", "resultType", "input_required", "inputRequests",
                           m->asked, "requestState", state);
    json_decref(payload);
    free(state);
    if (result && fa__modern_decorate(srv, result) == 0)
        fa__session_answer_call(s, c, result, 0, NULL, NULL, running);
    else
        fa__session_answer_call(s, c, NULL, FA_RPC_INTERNAL_ERROR, "Internal error: out of memory",
                                NULL, running);
    json_decref(result);
    fail_held(m, FA_RPC_INTERNAL_ERROR,
              "Input required: the request was answered with input_required; the tool runs "
              "again with the client's answers when it retries");
}

void fa__mrtr_flush(fa__session_t *s, fa_call_t *c) {
    fa__mrtr_t *m = c->mrtr;
    if (m && json_array_size(m->pending) > 0)
        fa__mrtr_finish(s, c, 1);
}

void fa__modern_on_timer(fa_server_t *srv) {
    uint64_t now = uv_now(srv->loop);
    while (srv->gathering && srv->gathering->gather_at <= now) {
        fa__mrtr_t *m = srv->gathering;
        gather_remove(m);
        fa_call_t *c = m->call;
        fa__mrtr_finish(fa__session_get(srv, c->sref), c, 1);
    }
    fa__modern_reap(srv);
    if (srv->gathering)
        fa__modern_arm(srv, srv->gathering->gather_at - now);
    fa__tasks_on_timer(srv);
}

int fa__modern_decorate(const fa_server_t *srv, json_t *result) {
    if (!json_object_get(result, "resultType") &&
        json_object_set_new(result, "resultType", json_string("complete")))
        return FA_ENOMEM;
    json_t *meta = json_object_get(result, "_meta");
    if (!json_is_object(meta)) {
        meta = json_object();
        if (!meta || json_object_set_new(result, "_meta", meta))
            return FA_ENOMEM;
    }
    if (!json_object_get(meta, FA_META_SERVER_INFO) &&
        json_object_set_new(meta, FA_META_SERVER_INFO,
                            json_pack("{s:s, s:s}", "name", srv->name, "version", srv->version)))
        return FA_ENOMEM;
    return 0;
}
