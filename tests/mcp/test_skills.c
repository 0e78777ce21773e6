/* Tests for the skills extension (mcp/skills.c): installing skill entries, skills/list,
 * skills/get and resources/directory/read in both eras, pagination and bad params. The server
 * runs over files with fa_server_run_fds, as a stdio client would drive it. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fa_test.h"
#include "fasterapi.h"
#include "mcp/server_internal.h"

#define META                                                                                       \
    "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","                       \
    "\"io.modelcontextprotocol/clientCapabilities\":{}}"
#define INIT                                                                                       \
    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"     \
    "\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}\n"     \
    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n"

static const char *const DIGEST =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/* A skill entry: uri skill://<name>/SKILL.md and the given files (relative paths). */
static json_t *entry(const char *name, const char *const *files, size_t n) {
    char uri[256];
    snprintf(uri, sizeof uri, "skill://%s/SKILL.md", name);
    json_t *res = json_array();
    json_array_append_new(res,
                          json_pack("{s:s, s:s, s:i}", "uri", uri, "digest", DIGEST, "size", 10));
    for (size_t i = 0; i < n; i++) {
        char f[256];
        snprintf(f, sizeof f, "skill://%s/%s", name, files[i]);
        json_array_append_new(
            res, json_pack("{s:s, s:s, s:i}", "uri", f, "digest", DIGEST, "size", (int)i));
    }
    return json_pack("{s:s, s:{s:s, s:s}, s:o}", "uri", uri, "frontmatter", "name", name,
                     "description", "A test skill", "resources", res);
}

static void no_op(fa_call_t *call, const json_t *params, void *data) {
    (void)params, (void)data;
    fa_call_error(call, -32603, "not used", NULL);
}
static const fa__ops_t ops = {no_op, no_op, no_op, NULL};

/* A server with two skills: alpha (SKILL.md, references/GUIDE.md, references/deep/x.txt,
 * scripts/run.sh) and beta (SKILL.md only). */
static fa_server_t *make_server(size_t page_size, int with_skills) {
    fa_server_options_t o;
    fa_server_options_init(&o);
    o.name = "skills";
    o.version = "1";
    o.workers = 1;
    if (page_size)
        o.page_size = page_size;
    fa_server_t *srv;
    ck_assert_int_eq(fa_server_new(&srv, &o), 0);
    json_t *res =
        json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}]", "uri", "skill://alpha/SKILL.md", "name",
                  "alpha", "mimeType", "text/markdown", "uri", "skill://alpha/references/GUIDE.md",
                  "name", "guide", "mimeType", "text/markdown");
    ck_assert_int_eq(fa__server_set_catalog(srv, res, NULL, NULL, 0, &ops), 0);
    if (with_skills) {
        const char *alpha[] = {"references/GUIDE.md", "references/deep/x.txt", "scripts/run.sh"};
        json_t *skills = json_pack("[o, o]", entry("alpha", alpha, 3), entry("beta", NULL, 0));
        ck_assert_int_eq(fa__server_set_skills(srv, skills), 0);
    }
    return srv;
}

/* Runs the server over `input` (JSON-RPC lines); returns {"<id>": response} for every reply. */
static json_t *exchange(fa_server_t *srv, const char *input) {
    char in_path[] = "/tmp/fa_skills_in_XXXXXX", out_path[] = "/tmp/fa_skills_out_XXXXXX";
    int in_fd = mkstemp(in_path), out_fd = mkstemp(out_path);
    ck_assert(in_fd >= 0 && out_fd >= 0);
    ck_assert_int_eq(write(in_fd, input, strlen(input)), (ssize_t)strlen(input));
    close(in_fd);
    int rd = open(in_path, O_RDONLY);
    ck_assert_int_eq(fa_server_run_fds(srv, rd, out_fd), 0);
    close(rd);
    close(out_fd);
    size_t len;
    char *out = fa_test_read_file(out_path, &len);
    unlink(in_path);
    unlink(out_path);
    json_t *by_id = json_object();
    for (char *p = out, *nl; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        ck_assert(nl != NULL);
        json_error_t err;
        json_t *v = json_loadb(p, (size_t)(nl - p), 0, &err);
        ck_assert_msg(v != NULL, "not JSON: %.*s", (int)(nl - p), p);
        char key[32];
        snprintf(key, sizeof key, "%lld", (long long)json_integer_value(json_object_get(v, "id")));
        json_object_set_new(by_id, key, v);
    }
    free(out);
    return by_id;
}

static const json_t *result(const json_t *r, const char *id) {
    const json_t *v = json_object_get(json_object_get(r, id), "result");
    ck_assert_msg(v != NULL, "no result for id %s", id);
    return v;
}

static int error_code(const json_t *r, const char *id) {
    const json_t *e = json_object_get(json_object_get(r, id), "error");
    ck_assert_msg(e != NULL, "no error for id %s", id);
    return (int)json_integer_value(json_object_get(e, "code"));
}

static const char *uri_at(const json_t *arr, size_t i) {
    return json_string_value(json_object_get(json_array_get(arr, i), "uri"));
}

START_TEST(test_legacy_era) {
    fa_server_t *srv = make_server(0, 1);
    json_t *r = exchange(
        srv, INIT "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"skills/list\"}\n"
                  "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"skills/get\",\"params\":{\"uri\":"
                  "\"skill://beta/SKILL.md\"}}\n"
                  "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"skills/get\",\"params\":{\"uri\":"
                  "\"skill://nope/SKILL.md\"}}\n"
                  "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"skills/get\",\"params\":{}}\n"
                  "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"skills/list\",\"params\":{"
                  "\"cursor\":\"c9\"}}\n"
                  "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"skills/list\",\"params\":{"
                  "\"cursor\":7}}\n");
    const json_t *caps = json_object_get(result(r, "0"), "capabilities");
    ck_assert(json_is_true(json_object_get(
        json_object_get(json_object_get(caps, "extensions"), FA_MCP_SKILLS_EXTENSION),
        "directoryRead")));
    const json_t *skills = json_object_get(result(r, "1"), "skills");
    ck_assert_int_eq(json_array_size(skills), 2);
    ck_assert_str_eq(uri_at(skills, 0), "skill://alpha/SKILL.md");
    ck_assert_str_eq(uri_at(skills, 1), "skill://beta/SKILL.md");
    ck_assert_int_eq(json_array_size(json_object_get(json_array_get(skills, 0), "resources")), 4);
    ck_assert_ptr_null(json_object_get(result(r, "1"), "nextCursor"));
    ck_assert_ptr_null(json_object_get(result(r, "1"), "ttlMs")); /* 2025 era: no cache hints */
    const json_t *skill = json_object_get(result(r, "2"), "skill");
    ck_assert_str_eq(json_string_value(json_object_get(skill, "uri")), "skill://beta/SKILL.md");
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(skill, "frontmatter"), "name")), "beta");
    ck_assert_ptr_null(json_object_get(result(r, "2"), "nextCursor"));
    ck_assert_int_eq(error_code(r, "3"), -32602);
    ck_assert_int_eq(error_code(r, "4"), -32602);
    ck_assert_int_eq(error_code(r, "5"), -32602);
    ck_assert_int_eq(error_code(r, "6"), -32602);
    json_decref(r);
    fa_server_free(srv);
}
END_TEST

START_TEST(test_directory_read) {
    fa_server_t *srv = make_server(0, 1);
#define DIRREAD(id, uri)                                                                           \
    "{\"jsonrpc\":\"2.0\",\"id\":" #id ",\"method\":\"resources/directory/read\",\"params\":{"     \
    "\"uri\":\"" uri "\"}}\n"
    json_t *r = exchange(
        srv,
        INIT DIRREAD(1, "skill://alpha") DIRREAD(2, "skill://alpha/references") DIRREAD(
            3, "skill://alpha/references/deep") DIRREAD(4, "skill://alpha/SKILL.md")
            DIRREAD(5, "skill://gamma") DIRREAD(6, "skill://alpha/") DIRREAD(7, "skill://beta")
                DIRREAD(
                    8,
                    "skill://alpha/references/GUIDE.md") "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":"
                                                         "\"resources/directory/"
                                                         "read\",\"params\":{}}\n");
    /* The root: SKILL.md, then the subdirectories in the order their files came. */
    const json_t *root = json_object_get(result(r, "1"), "resources");
    ck_assert_int_eq(json_array_size(root), 3);
    ck_assert_str_eq(uri_at(root, 0), "skill://alpha/SKILL.md");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(root, 0), "mimeType")),
                     "text/markdown"); /* borrowed from the catalog's resource */
    ck_assert_str_eq(uri_at(root, 1), "skill://alpha/references");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(root, 1), "mimeType")),
                     "inode/directory");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(root, 1), "name")),
                     "references");
    ck_assert_str_eq(uri_at(root, 2), "skill://alpha/scripts");
    const json_t *refs = json_object_get(result(r, "2"), "resources");
    ck_assert_int_eq(json_array_size(refs), 2);
    ck_assert_str_eq(uri_at(refs, 0), "skill://alpha/references/GUIDE.md");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(refs, 0), "name")),
                     "GUIDE.md");
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(refs, 0), "size")), 0);
    ck_assert_str_eq(uri_at(refs, 1), "skill://alpha/references/deep");
    const json_t *deep = json_object_get(result(r, "3"), "resources");
    ck_assert_int_eq(json_array_size(deep), 1);
    ck_assert_str_eq(uri_at(deep, 0), "skill://alpha/references/deep/x.txt");
    ck_assert_ptr_null(json_object_get(json_array_get(deep, 0), "mimeType")); /* not in catalog */
    ck_assert_int_eq(error_code(r, "4"), -32602); /* a file is not a directory */
    ck_assert_int_eq(error_code(r, "5"), -32602); /* unknown */
    ck_assert(json_equal(json_object_get(result(r, "6"), "resources"),
                         json_object_get(result(r, "1"), "resources")));
    ck_assert_int_eq(json_array_size(json_object_get(result(r, "7"), "resources")), 1);
    ck_assert_int_eq(error_code(r, "8"), -32602);
    ck_assert_int_eq(error_code(r, "9"), -32602);
    json_decref(r);
    fa_server_free(srv);
}
END_TEST

START_TEST(test_pagination) {
    fa_server_t *srv = make_server(1, 1); /* one item per page */
    json_t *r =
        exchange(srv, INIT "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"skills/list\"}\n"
                           "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"skills/list\",\"params\":{"
                           "\"cursor\":\"c1\"}}\n"
                           "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/directory/read\","
                           "\"params\":{\"uri\":\"skill://alpha\"}}\n"
                           "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"resources/directory/read\","
                           "\"params\":{\"uri\":\"skill://alpha\",\"cursor\":\"c2\"}}\n"
                           "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"resources/directory/read\","
                           "\"params\":{\"uri\":\"skill://alpha\",\"cursor\":\"c3\"}}\n");
    const json_t *p1 = result(r, "1"), *p2 = result(r, "2");
    ck_assert_str_eq(uri_at(json_object_get(p1, "skills"), 0), "skill://alpha/SKILL.md");
    ck_assert_str_eq(json_string_value(json_object_get(p1, "nextCursor")), "c1");
    ck_assert_str_eq(uri_at(json_object_get(p2, "skills"), 0), "skill://beta/SKILL.md");
    ck_assert_ptr_null(json_object_get(p2, "nextCursor"));
    ck_assert_str_eq(json_string_value(json_object_get(result(r, "3"), "nextCursor")), "c1");
    const json_t *last = result(r, "4");
    ck_assert_str_eq(uri_at(json_object_get(last, "resources"), 0), "skill://alpha/scripts");
    ck_assert_ptr_null(json_object_get(last, "nextCursor"));
    ck_assert_int_eq(error_code(r, "5"), -32602);
    json_decref(r);
    fa_server_free(srv);
}
END_TEST

START_TEST(test_modern_era) {
    fa_server_t *srv = make_server(0, 1);
    json_t *r = exchange(
        srv, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"server/discover\",\"params\":{" META "}}\n"
             "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"skills/list\",\"params\":{" META "}}\n"
             "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"skills/get\",\"params\":{\"uri\":"
             "\"skill://alpha/SKILL.md\"," META "}}\n"
             "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"skills/get\",\"params\":{\"uri\":"
             "\"skill://mcp-conformance-nonexistent-skill-9f3a2b/SKILL.md\"," META "}}\n"
             "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"resources/directory/read\",\"params\":{"
             "\"uri\":\"skill://alpha/references\"," META "}}\n");
    const json_t *ext = json_object_get(
        json_object_get(json_object_get(result(r, "1"), "capabilities"), "extensions"),
        FA_MCP_SKILLS_EXTENSION);
    ck_assert(json_is_object(ext));
    for (const char *const *id = (const char *const[]){"2", "3", "5", NULL}; *id; id++) {
        const json_t *v = result(r, *id);
        ck_assert(json_is_integer(json_object_get(v, "ttlMs")));
        ck_assert(json_is_string(json_object_get(v, "cacheScope")));
        ck_assert_str_eq(json_string_value(json_object_get(v, "resultType")), "complete");
    }
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(result(r, "3"), "skill"), "uri")),
        "skill://alpha/SKILL.md");
    ck_assert_int_eq(error_code(r, "4"), -32602);
    json_decref(r);
    fa_server_free(srv);
}
END_TEST

START_TEST(test_not_offered_without_skills) {
    fa_server_t *srv = make_server(0, 0);
    json_t *r =
        exchange(srv, INIT "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"skills/list\"}\n"
                           "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"resources/directory/read\","
                           "\"params\":{\"uri\":\"skill://alpha\"}}\n");
    ck_assert_ptr_null(
        json_object_get(json_object_get(result(r, "0"), "capabilities"), "extensions"));
    ck_assert_int_eq(error_code(r, "1"), -32601);
    ck_assert_int_eq(error_code(r, "2"), -32601);
    json_decref(r);
    fa_server_free(srv);
}
END_TEST

/* Installing refuses entries the methods could not serve consistently. */
static int install_one(json_t *skills) {
    fa_server_t *srv;
    ck_assert_int_eq(fa_server_new(&srv, NULL), 0);
    int rc = fa__server_set_skills(srv, skills);
    ck_assert_int_eq(fa__skills_offered(srv), rc == 0 && json_array_size(skills) > 0);
    fa_server_free(srv);
    return rc;
}

START_TEST(test_install_rejects) {
    const char *out[] = {"../beta/SKILL.md"}, *empty_seg[] = {"a//b"}, *dot[] = {"./a"},
               *ok[] = {"a/b/c.txt"};
    ck_assert_int_eq(install_one(json_pack("[o]", entry("alpha", ok, 1))), 0);
    ck_assert_int_eq(install_one(json_array()), 0);
    ck_assert_int_eq(install_one(json_object()), FA_EINVAL);
    ck_assert_int_eq(install_one(json_pack("[o]", entry("alpha", out, 1))), FA_EINVAL);
    ck_assert_int_eq(install_one(json_pack("[o]", entry("alpha", empty_seg, 1))), FA_EINVAL);
    ck_assert_int_eq(install_one(json_pack("[o]", entry("alpha", dot, 1))), FA_EINVAL);
    ck_assert_int_eq(
        install_one(json_pack("[o, o]", entry("alpha", NULL, 0), entry("alpha", NULL, 0))),
        FA_EINVAL); /* the same uri twice */
    ck_assert_int_eq(install_one(json_pack("[{s:s, s:{}, s:[]}]", "uri", "skill://a/README.md",
                                           "frontmatter", "resources")),
                     FA_EINVAL);
    ck_assert_int_eq(
        install_one(json_pack("[{s:s, s:[]}]", "uri", "skill://a/SKILL.md", "resources")),
        FA_EINVAL); /* no frontmatter */
    ck_assert_int_eq(install_one(json_pack("[{s:s, s:{}, s:s}]", "uri", "skill://a/SKILL.md",
                                           "frontmatter", "resources", "dynamic")),
                     0);
    json_t *neg = entry("alpha", ok, 1);
    json_object_set_new(json_array_get(json_object_get(neg, "resources"), 1), "size",
                        json_integer(-1));
    ck_assert_int_eq(install_one(json_pack("[o]", neg)), FA_EINVAL);
}
END_TEST

int main(void) {
    Suite *s = suite_create("mcp/skills");
    TCase *tc = tcase_create("skills");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_legacy_era);
    tcase_add_test(tc, test_directory_read);
    tcase_add_test(tc, test_pagination);
    tcase_add_test(tc, test_modern_era);
    tcase_add_test(tc, test_not_offered_without_skills);
    tcase_add_test(tc, test_install_rejects);
    suite_add_tcase(s, tc);
    return fa_test_run(s);
}
