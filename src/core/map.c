/* map.c: see map.h. Load factor kept at or below 1/2 so probe chains stay short. */
#include "core/map.h"

#include <stdlib.h>
#include <string.h>

#include "fasterapi/error.h"

/* FNV-1a, 64-bit: keys are short (JSON-RPC ids) and come from clients, but the map only holds
 * one client's in-flight calls (bounded by max_inflight), so worst-case collisions cost at most
 * a linear scan of that bound. */
uint64_t fa__hash(const void *data, size_t len) {
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static int grow(fa__map_t *m) {
    size_t cap = m->cap ? m->cap * 2 : 16;
    fa__map_entry_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return FA_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        fa__map_entry_t *e = &m->slots[i];
        if (!e->key)
            continue;
        size_t j = e->hash & (cap - 1);
        while (slots[j].key)
            j = (j + 1) & (cap - 1);
        slots[j] = *e;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

static fa__map_entry_t *find(const fa__map_t *m, const char *key, size_t len, uint64_t h) {
    if (!m->cap)
        return NULL;
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        fa__map_entry_t *e = &m->slots[i];
        if (!e->key)
            return NULL;
        if (e->hash == h && e->key_len == len && memcmp(e->key, key, len) == 0)
            return e;
    }
}

int fa__map_put(fa__map_t *m, const char *key, size_t key_len, void *value) {
    uint64_t h = fa__hash(key, key_len);
    if (find(m, key, key_len, h))
        return FA_EEXIST;
    if ((m->count + 1) * 2 > m->cap) {
        int rc = grow(m);
        if (rc)
            return rc;
    }
    size_t i = h & (m->cap - 1);
    while (m->slots[i].key)
        i = (i + 1) & (m->cap - 1);
    m->slots[i] = (fa__map_entry_t){key, key_len, h, value};
    m->count++;
    return 0;
}

void *fa__map_get(const fa__map_t *m, const char *key, size_t key_len) {
    fa__map_entry_t *e = find(m, key, key_len, fa__hash(key, key_len));
    return e ? e->value : NULL;
}

void *fa__map_del(fa__map_t *m, const char *key, size_t key_len) {
    fa__map_entry_t *e = find(m, key, key_len, fa__hash(key, key_len));
    if (!e)
        return NULL;
    void *value = e->value;
    size_t mask = m->cap - 1;
    size_t hole = (size_t)(e - m->slots);
    /* Backward shift: move later members of the probe chain into the hole when their home slot
     * does not lie cyclically between the hole and their current slot. */
    for (size_t j = (hole + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
        size_t home = m->slots[j].hash & mask;
        int stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (!stays) {
            m->slots[hole] = m->slots[j];
            hole = j;
        }
    }
    m->slots[hole].key = NULL;
    m->count--;
    return value;
}

void fa__map_free(fa__map_t *m) {
    free(m->slots);
    m->slots = NULL;
    m->cap = m->count = 0;
}
