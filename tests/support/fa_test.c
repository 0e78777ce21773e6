#include "fa_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <stdio.h>

int fa_test_run(Suite *s) {
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

char *fa_test_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        abort();
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
        abort();
    buf[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

uint64_t fa_test_rand(uint64_t *state) {
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

json_t *fa_test_random_json(uint64_t *st, int depth) {
    switch (fa_test_rand(st) % (depth > 4 ? 5 : 7)) {
    case 0:
        return json_null();
    case 1:
        return json_boolean(fa_test_rand(st) & 1);
    case 2:
        return json_integer((json_int_t)fa_test_rand(st));
    case 3:
        return json_real((double)(int64_t)fa_test_rand(st) /
                         (double)(1ull << (fa_test_rand(st) % 64)));
    case 4: {
        char s[24];
        size_t n = fa_test_rand(st) % sizeof s;
        for (size_t i = 0; i < n; i++)
            s[i] = (char)(1 + fa_test_rand(st) % 127); /* ASCII incl. controls and quotes */
        return json_stringn(s, n);
    }
    case 5: {
        json_t *a = json_array();
        for (size_t i = fa_test_rand(st) % 5; i > 0; i--)
            json_array_append_new(a, fa_test_random_json(st, depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (size_t i = fa_test_rand(st) % 5; i > 0; i--) {
            char k[8];
            snprintf(k, sizeof k, "k%u", (unsigned)(fa_test_rand(st) % 100));
            json_object_set_new(o, k, fa_test_random_json(st, depth + 1));
        }
        return o;
    }
    }
}

int fa_test_connect_loopback(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}
