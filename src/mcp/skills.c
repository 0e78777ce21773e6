/* skills.c: the skills extension, io.modelcontextprotocol/skills (SEP-2640): skills/list,
 * skills/get and resources/directory/read, answered in C from text serialised once, like the
 * other lists (catalog.c), so every worker and the C API serve them alike.
 *
 * A skill is a directory of files served as resources under skill://<skill-path>/; its root holds
 * SKILL.md. The host (the Python FastMCP, or a C embedder) reads the files, parses SKILL.md's
 * frontmatter and computes digests; it hands this module the skill entries exactly as skills/list
 * serves them ({uri, frontmatter, resources:[{uri, digest, size}]}) and registers the files as
 * catalog resources, so resources/list and resources/read need nothing new. From the entries this
 * module derives the directory tree that resources/directory/read walks: every directory between
 * a skill's root and its files, each listing its direct children (files with the catalog's name
 * and mimeType, subdirectories with mimeType inode/directory).
 *
 * Choices where the extension leaves room:
 *  - skills/get and resources/directory/read answer -32602 for any URI they do not serve (the
 *    extension's MUST for skills/get and for a non-directory URI; an unknown URI is treated the
 *    same way, since it is not a directory this server has).
 *  - Cursors are the catalog's ("c<N>"): opaque to clients and stable for the server's lifetime.
 * Loop thread only once running.
 */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/log.h"
#include "fasterapi/error.h"
#include "mcp/server_internal.h"

#define SKILL_FILE "/SKILL.md"
#define DIR_MIME "inode/directory"

void fa__skills_free(fa_server_t *srv) {
    fa__skills_t *k = &srv->skills;
    for (size_t i = 0; k->get_raw && i < json_array_size(k->skills); i++)
        free(k->get_raw[i]);
    free(k->get_raw);
    free(k->get_len);
    for (size_t i = 0; i < k->ndirs; i++) {
        free(k->dirs[i].uri);
        json_decref(k->dirs[i].children);
        fa__pages_free(&k->dirs[i].pages);
    }
    free(k->dirs);
    fa__map_free(&k->by_uri);
    fa__map_free(&k->dir_index);
    fa__pages_free(&k->pages);
    json_decref(k->skills);
    memset(k, 0, sizeof *k);
}

int fa__skills_offered(const fa_server_t *srv) {
    return json_array_size(srv->skills.skills) > 0;
}

json_t *fa__skills_capability(const fa_server_t *srv) {
    /* directoryRead: every skill's directories are served (the tree is derived from its files). */
    return fa__skills_offered(srv) ? json_pack("{s:b}", "directoryRead", 1) : NULL;
}

/* The directory named by uri[0..len), created (and linked into its parent's children) when new.
 * Returns NULL on FA_ENOMEM. Directories are appended to k->dirs, which is sized up front to
 * the most it can hold, so pointers into it stay valid. */
static fa__skilldir_t *dir_get(fa__skills_t *k, const char *uri, size_t len, size_t root_len) {
    fa__skilldir_t *d = fa__map_get(&k->dir_index, uri, len);
    if (d)
        return d;
    d = &k->dirs[k->ndirs];
    if (!(d->uri = strndup(uri, len)) || !(d->children = json_array())) {
        free(d->uri);
        json_decref(d->children);
        memset(d, 0, sizeof *d);
        return NULL;
    }
    k->ndirs++;
    if (fa__map_put(&k->dir_index, d->uri, len, d) != 0)
        return NULL;
    if (len > root_len) { /* a subdirectory: its parent lists it */
        const char *slash = uri + len;
        while (slash > uri && slash[-1] != '/')
            slash--;
        size_t plen = (size_t)(slash - uri) - 1;
        fa__skilldir_t *parent = dir_get(k, uri, plen, root_len);
        json_t *child = parent ? json_pack("{s:s, s:s%, s:s}", "uri", d->uri, "name", slash,
                                           (size_t)(uri + len - slash), "mimeType", DIR_MIME)
                               : NULL;
        if (!child || json_array_append_new(parent->children, child) != 0)
            return NULL;
    }
    return d;
}

/* Checks one resource of a skill and files it under its directory. Returns 0, FA_EINVAL or
 * FA_ENOMEM. */
static int add_file(fa__skills_t *k, const fa__map_t *catalog, const char *root, size_t root_len,
                    const json_t *res) {
    const char *uri = json_string_value(json_object_get(res, "uri"));
    json_t *size = json_object_get(res, "size");
    if (!uri || strncmp(uri, root, root_len) != 0 || uri[root_len] != '/' ||
        (size && (!json_is_integer(size) || json_integer_value(size) < 0)))
        return FA_EINVAL;
    /* Every segment below the root is a real name: no empty, "." or ".." segments. */
    const char *rel = uri + root_len + 1, *last = rel;
    for (const char *p = rel;; p++) {
        if (*p == '/' || *p == '\0') {
            size_t n = (size_t)(p - last);
            if (n == 0 || (n == 1 && last[0] == '.') ||
                (n == 2 && last[0] == '.' && last[1] == '.'))
                return FA_EINVAL;
            if (*p == '\0')
                break;
            last = p + 1;
        }
    }
    fa__skilldir_t *d = dir_get(k, uri, (size_t)(last - uri) - 1, root_len);
    if (!d)
        return FA_ENOMEM;
    const json_t *def = fa__map_get(catalog, uri, strlen(uri));
    json_t *child = json_pack("{s:s, s:s}", "uri", uri, "name", last);
    const char *mime = json_string_value(json_object_get(def, "mimeType"));
    int rc = child ? 0 : FA_ENOMEM;
    if (rc == 0 && mime)
        rc = json_object_set_new(child, "mimeType", json_string(mime)) ? FA_ENOMEM : 0;
    if (rc == 0 && size)
        rc = json_object_set(child, "size", size) ? FA_ENOMEM : 0;
    if (rc == 0)
        rc = json_array_append(d->children, child) ? FA_ENOMEM : 0;
    json_decref(child);
    return rc;
}

static int build_pages(fa__pages_t *p, const char *key, json_t *arr, size_t per) {
    size_t n = json_array_size(arr);
    json_t **items = malloc((n ? n : 1) * sizeof *items);
    if (!items)
        return FA_ENOMEM;
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(arr, i);
    int rc = fa__pages_build(p, key, items, n, per);
    free(items);
    return rc;
}

static int install(fa_server_t *srv, fa__map_t *catalog) {
    fa__skills_t *k = &srv->skills;
    size_t n = json_array_size(k->skills), nfiles = 0, i;
    json_t *e;
    /* Each file adds at most one directory per segment; bound them up front so dirs never moves. */
    json_array_foreach (k->skills, i, e) {
        size_t j;
        json_t *r;
        nfiles++; /* the root */
        json_array_foreach (json_object_get(e, "resources"), j, r) {
            const char *u = json_string_value(json_object_get(r, "uri"));
            for (; u && *u; u++)
                nfiles += *u == '/';
        }
    }
    k->get_raw = calloc(n ? n : 1, sizeof *k->get_raw);
    k->get_len = calloc(n ? n : 1, sizeof *k->get_len);
    k->dirs = calloc(nfiles ? nfiles : 1, sizeof *k->dirs);
    if (!k->get_raw || !k->get_len || !k->dirs)
        return FA_ENOMEM;
    json_array_foreach (k->skills, i, e) {
        const char *uri = json_string_value(json_object_get(e, "uri"));
        json_t *res = json_object_get(e, "resources");
        size_t len = uri ? strlen(uri) : 0, root_len = len - (sizeof SKILL_FILE - 1);
        if (!json_is_object(e) || !uri || len <= sizeof SKILL_FILE - 1 ||
            strcmp(uri + root_len, SKILL_FILE) != 0 || !strstr(uri, "://") ||
            !json_is_object(json_object_get(e, "frontmatter")) ||
            !(json_is_array(res) ||
              (json_is_string(res) && strcmp(json_string_value(res), "dynamic") == 0)))
            return FA_EINVAL;
        int rc = fa__map_put(&k->by_uri, uri, len, (void *)(uintptr_t)(i + 1));
        if (rc)
            return rc == FA_EEXIST ? FA_EINVAL : rc;
        fa__buf_t b = FA__BUF_INIT;
        rc = fa__buf_append_str(&b, "{\"skill\":");
        if (rc == 0)
            rc = fa__json_write(&b, e);
        if (rc == 0)
            rc = fa__buf_putc(&b, '}');
        if (rc || !(k->get_raw[i] = fa__buf_detach(&b, &k->get_len[i]))) {
            fa__buf_free(&b);
            return FA_ENOMEM;
        }
        if (!dir_get(k, uri, root_len, root_len))
            return FA_ENOMEM;
        size_t j;
        json_t *r;
        json_array_foreach (res, j, r)
            if ((rc = add_file(k, catalog, uri, root_len, r)) != 0)
                return rc;
    }
    int rc = build_pages(&k->pages, "skills", k->skills, srv->opts.page_size);
    for (size_t d = 0; rc == 0 && d < k->ndirs; d++)
        rc = build_pages(&k->dirs[d].pages, "resources", k->dirs[d].children, srv->opts.page_size);
    return rc;
}

int fa__server_set_skills(fa_server_t *srv, json_t *skills) {
    if (srv->running || !json_is_array(skills)) {
        json_decref(skills);
        return FA_EINVAL;
    }
    fa__skills_free(srv);
    srv->skills.skills = skills;
    /* The catalog's resources by uri, for the names and MIME types of the directory listings. */
    fa__map_t catalog = FA__MAP_INIT;
    size_t i;
    json_t *r;
    int rc = 0;
    json_array_foreach (srv->catalog.resources, i, r) {
        const char *u = json_string_value(json_object_get(r, "uri"));
        if (u && (rc = fa__map_put(&catalog, u, strlen(u), r)) == FA_ENOMEM)
            break;
        rc = 0; /* a duplicate uri: the first definition wins, as in resources/list */
    }
    if (rc == 0)
        rc = install(srv, &catalog);
    fa__map_free(&catalog);
    if (rc)
        fa__skills_free(srv);
    return rc;
}

/* ---- the methods ---- */

/* params.cursor: 0 and the cursor (NULL when absent), or -1 after replying with -32602. */
static int get_cursor(fa__session_t *s, fa__reply_to_t to, const json_t *id, const json_t *params,
                      const char **cursor) {
    json_t *c = json_object_get(params, "cursor");
    *cursor = json_string_value(c);
    if (c && !json_is_string(c)) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                        "Invalid params: cursor must be a string");
        return -1;
    }
    return 0;
}

static void reply_page(fa__session_t *s, fa__reply_to_t to, const json_t *id,
                       const fa__pages_t *pages, const char *cursor) {
    const char *raw;
    size_t len;
    if (fa__pages_get(pages, cursor, &raw, &len) != 0) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS, "Invalid params: unknown cursor");
        return;
    }
    fa__reply_raw(s, to, id, raw, len);
}

void fa__do_skills_list(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params) {
    const char *cursor;
    if (get_cursor(s, to, id, params, &cursor) == 0)
        reply_page(s, to, id, &s->srv->skills.pages, cursor);
}

void fa__do_skills_get(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params) {
    const fa__skills_t *k = &s->srv->skills;
    const char *uri = json_string_value(json_object_get(params, "uri"));
    if (!uri) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                        "Invalid params: skills/get needs uri (a string)");
        return;
    }
    uintptr_t at = (uintptr_t)fa__map_get(&k->by_uri, uri, strlen(uri));
    if (!at) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                        "Invalid params: %s is not the SKILL.md of a skill this server serves",
                        uri);
        return;
    }
    /* A raw reply: in the 2026-07-28 era it gets resultType and the cache hints (ttlMs,
     * cacheScope) that GetSkillResult, a CacheableResult, requires. */
    fa__reply_raw(s, to, id, k->get_raw[at - 1], k->get_len[at - 1]);
}

void fa__do_directory_read(fa__session_t *s, fa__reply_to_t to, const json_t *id, json_t *params) {
    const char *uri = json_string_value(json_object_get(params, "uri")), *cursor;
    if (!uri) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                        "Invalid params: resources/directory/read needs uri (a string)");
        return;
    }
    if (get_cursor(s, to, id, params, &cursor) != 0)
        return;
    size_t len = strlen(uri);
    if (len > 1 && uri[len - 1] == '/')
        len--; /* "skill://x/" names the same directory as "skill://x" */
    const fa__skilldir_t *d = fa__map_get(&s->srv->skills.dir_index, uri, len);
    if (!d) {
        fa__reply_error(s, to, id, FA_RPC_INVALID_PARAMS,
                        "Invalid params: %s is not a directory this server serves", uri);
        return;
    }
    reply_page(s, to, id, &d->pages, cursor);
}
