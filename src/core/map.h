/* core/map.h: a hash map from byte-string keys to pointers (open addressing, linear probing,
 * backward-shift deletion, so there are no tombstones and lookups stay short).
 *
 * Keys are NOT copied: the caller keeps each key's bytes alive while it is in the map (the
 * in-flight call table keys calls by the id text the call itself owns). Not thread-safe: a map
 * belongs to one thread (an I/O loop).
 */
#ifndef FA_CORE_MAP_H
#define FA_CORE_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *key; /* NULL = empty slot */
    size_t key_len;
    uint64_t hash;
    void *value;
} fa__map_entry_t;

typedef struct {
    fa__map_entry_t *slots;
    size_t cap; /* power of two, 0 before the first insert */
    size_t count;
} fa__map_t;

#define FA__MAP_INIT                                                                               \
    { NULL, 0, 0 }

/* Inserts key -> value. Returns 0, FA_EEXIST (key present; map unchanged) or FA_ENOMEM. */
int fa__map_put(fa__map_t *m, const char *key, size_t key_len, void *value);
/* Returns the value or NULL. */
void *fa__map_get(const fa__map_t *m, const char *key, size_t key_len);
/* Removes key and returns its value, or NULL if absent. */
void *fa__map_del(fa__map_t *m, const char *key, size_t key_len);
void fa__map_free(fa__map_t *m);

uint64_t fa__hash(const void *data, size_t len);

#endif
