/* mcp/mrtr_state.h (internal): the opaque `requestState` of Multi Round-Trip Requests
 * (research/spec_2026.md §7, §7.1; basic/patterns/mrtr.mdx §Server Requirements).
 *
 * The state travels through the client, which the spec tells us to treat as an attacker: it is
 *   base64url(payload || HMAC-SHA256(key, payload))          (RFC 4648 §5, no padding; RFC 2104)
 * where payload is compact JSON binding what the state may be used for:
 *   {"v":1, "m":<method>, "n":<tool or prompt name, or resource uri>, "d":<hex SHA-256 of the
 *    canonical arguments>, "e":<expiry, unix seconds>, "r":<round>, "a":[answers so far],
 *    "p":[the requests asked in the round that minted it]}
 * A state is accepted only if the MAC verifies (constant time), it has not expired and method,
 * name and argument digest equal the retry's. Anything else is -32602 (the suite's
 * tampered-state check wants a JSON-RPC error). The payload is readable by the client; it holds
 * only what the client itself sent (its earlier answers), so no confidentiality is needed.
 *
 * The key is 32 random bytes per process (getrandom), or SHA-256 of a key file shared by the
 * instances behind one load balancer, so that any instance accepts any instance's state
 * (`state_key_file`). Pure functions; any thread.
 */
#ifndef FA_MCP_MRTR_STATE_H
#define FA_MCP_MRTR_STATE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* How long a client may take to answer an input request: long enough for a human to fill an
 * elicitation form, short enough to bound replay (the TS SDK's default is the same 600 s). */
#define FA_MCP_STATE_TTL_S 600
/* A key file holds at least this many bytes (a 256-bit secret), at most FA_MCP_STATE_KEY_MAX. */
#define FA_MCP_STATE_KEY_MIN 32
#define FA_MCP_STATE_KEY_MAX 4096

typedef struct {
    unsigned char key[32];
    int set;
} fa__state_key_t;

/* 32 bytes from getrandom. 0 or a negative FA_E* code. */
int fa__state_key_random(fa__state_key_t *k);
/* Key = SHA-256 of the file's bytes (FA_MCP_STATE_KEY_MIN..MAX of them). 0, FA_EINVAL (too
 * short or too long) or the errno of opening/reading it. */
int fa__state_key_file(fa__state_key_t *k, const char *path);

/* Hex SHA-256 of the canonical text of v (sorted keys, compact); NULL v counts as {}. */
int fa__args_digest(const json_t *v, char hex[65]);

/* Seals a payload (borrowed) into a new NUL-terminated state string (*out, malloc'd). 0 or
 * FA_ENOMEM. */
int fa__state_seal(const fa__state_key_t *k, const json_t *payload, char **out, size_t *len);

/* Verifies a state against the retry: MAC, expiry (`now` in unix seconds), method, name and
 * argument digest. 0 and *payload (new reference), or FA_EINVAL with a reason in why. */
int fa__state_open(const fa__state_key_t *k, const char *state, size_t len, const char *method,
                   const char *name, const char *digest, uint64_t now, json_t **payload,
                   const char **why);

#endif
