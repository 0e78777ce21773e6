/* catalog.c: cached list pages, and the resources/prompts/completion catalog.
 *
 * Everything a client can list (tools, resources, resource templates, prompts) is fixed before
 * the server runs, so each list is serialised once into pages and a list request is answered by
 * splicing the id into cached text. Cursors name a page ("c2"); they are opaque to clients
 * (spec: utilities/pagination), stable for the server's lifetime, and anything else gets -32602.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "fasterapi/error.h"
#include "mcp/server_internal.h"

void fa__pages_free(fa__pages_t *p) {
    for (size_t i = 0; i < p->n; i++)
        free(p->pages[i]);
    free(p->pages);
    free(p->lens);
    memset(p, 0, sizeof *p);
}

int fa__pages_build(fa__pages_t *p, const char *key, json_t *const *items, size_t n, size_t per) {
    fa__pages_free(p);
    if (per == 0)
        per = FA_MCP_PAGE_SIZE;
    size_t npages = n ? (n + per - 1) / per : 1;
    p->pages = calloc(npages, sizeof *p->pages);
    p->lens = calloc(npages, sizeof *p->lens);
    if (!p->pages || !p->lens)
        goto nomem;
    p->n = npages;
    for (size_t pg = 0; pg < npages; pg++) {
        fa__buf_t b = FA__BUF_INIT;
        int rc = fa__buf_appendf(&b, "{\"%s\":[", key);
        for (size_t i = pg * per; rc == 0 && i < n && i < (pg + 1) * per; i++) {
            if (i > pg * per)
                rc = fa__buf_putc(&b, ',');
            if (rc == 0)
                rc = fa__json_write(&b, items[i]);
        }
        if (rc == 0)
            rc = fa__buf_putc(&b, ']');
        if (rc == 0 && pg + 1 < npages)
            rc = fa__buf_appendf(&b, ",\"nextCursor\":\"c%zu\"", pg + 1);
        if (rc == 0)
            rc = fa__buf_putc(&b, '}');
        if (rc || !(p->pages[pg] = fa__buf_detach(&b, &p->lens[pg]))) {
            fa__buf_free(&b);
            goto nomem;
        }
    }
    return 0;
nomem:
    fa__pages_free(p);
    return FA_ENOMEM;
}

int fa__pages_get(const fa__pages_t *p, const char *cursor, const char **raw, size_t *len) {
    size_t page = 0;
    if (cursor) {
        char *end;
        if (cursor[0] != 'c' || cursor[1] < '1' || cursor[1] > '9')
            return FA_EINVAL;
        unsigned long long v = strtoull(cursor + 1, &end, 10);
        if (*end || v >= p->n)
            return FA_EINVAL;
        page = (size_t)v;
    }
    if (page >= p->n)
        return FA_EINVAL;
    *raw = p->pages[page];
    *len = p->lens[page];
    return 0;
}

static int build_list(fa__pages_t *p, const char *key, json_t *arr, size_t per) {
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

int fa__server_set_catalog(fa_server_t *srv, json_t *resources, json_t *templates, json_t *prompts,
                           int completions, const fa__ops_t *ops) {
    fa__catalog_t *c = &srv->catalog;
    int rc = FA_EINVAL;
    if (srv->running || (resources && !json_is_array(resources)) ||
        (templates && !json_is_array(templates)) || (prompts && !json_is_array(prompts)))
        goto fail;
    fa__catalog_free(srv);
    c->resources = resources ? resources : json_array();
    c->templates = templates ? templates : json_array();
    c->prompts = prompts ? prompts : json_array();
    resources = templates = prompts = NULL;
    if (!c->resources || !c->templates || !c->prompts) {
        rc = FA_ENOMEM;
        goto fail;
    }
    size_t i;
    json_t *p;
    json_array_foreach (c->prompts, i, p) {
        const char *name = json_string_value(json_object_get(p, "name"));
        if (!name || (rc = fa__map_put(&c->prompt_index, name, strlen(name), p)) != 0) {
            rc = name ? rc : FA_EINVAL;
            goto fail;
        }
    }
    size_t per = srv->opts.page_size;
    if ((rc = build_list(&c->resource_pages, "resources", c->resources, per)) ||
        (rc = build_list(&c->template_pages, "resourceTemplates", c->templates, per)) ||
        (rc = build_list(&c->prompt_pages, "prompts", c->prompts, per)))
        goto fail;
    c->completions = completions;
    c->installed = 1;
    if (ops)
        c->ops = *ops;
    return 0;
fail:
    json_decref(resources);
    json_decref(templates);
    json_decref(prompts);
    fa__catalog_free(srv);
    return rc;
}

void fa__catalog_free(fa_server_t *srv) {
    fa__catalog_t *c = &srv->catalog;
    json_decref(c->resources);
    json_decref(c->templates);
    json_decref(c->prompts);
    fa__map_free(&c->prompt_index);
    fa__pages_free(&c->resource_pages);
    fa__pages_free(&c->template_pages);
    fa__pages_free(&c->prompt_pages);
    memset(c, 0, sizeof *c);
}

/* Installed means offered, even when empty: the official SDK's FastMCP advertises resources and
 * prompts and answers their lists with [] when a server defines none, and clients call them. */
int fa__catalog_has_resources(const fa_server_t *srv) {
    return srv->catalog.installed;
}

int fa__catalog_has_prompts(const fa_server_t *srv) {
    return srv->catalog.installed;
}

const json_t *fa__catalog_prompt(const fa_server_t *srv, const char *name) {
    return fa__map_get(&srv->catalog.prompt_index, name, strlen(name));
}
