/* Tests for src/transport/stdio.c on a real libuv loop with pipes and files. Every test ends
 * with uv_loop_close() == 0 (STYLE.md §13). */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fa_test.h"
#include "transport/stdio.h"

typedef struct {
    fa__stdio_t io;
    char lines[64][128];
    int nlines;
    int toobig;
    int eof;
    int errors;
    int writable;
    int closed;
    int pause_after; /* pause when this many lines have arrived (0 = never) */
    int echo;        /* write each line back */
} ctx_t;

static void on_line(void *c, const char *data, size_t len) {
    ctx_t *t = c;
    ck_assert_int_lt(t->nlines, 64);
    snprintf(t->lines[t->nlines++], 128, "%.*s", (int)len, data);
    if (t->echo) {
        fa__buf_append(fa__stdio_out(&t->io), data, len);
        fa__stdio_commit(&t->io);
    }
    if (t->pause_after && t->nlines == t->pause_after)
        fa__stdio_pause(&t->io);
}
static void on_toobig(void *c, size_t len) {
    (void)len;
    ((ctx_t *)c)->toobig++;
}
static void on_eof(void *c) {
    ctx_t *t = c;
    t->eof++;
    fa__stdio_close(&t->io);
}
static void on_error(void *c, int err) {
    (void)err;
    ctx_t *t = c;
    t->errors++;
    fa__stdio_close(&t->io);
}
static void on_writable(void *c) {
    ctx_t *t = c;
    t->writable++;
    fa__stdio_close(&t->io); /* flushes the rest first */
}
static void on_closed(void *c) {
    ((ctx_t *)c)->closed++;
}
static const fa__stdio_cbs_t cbs = {on_line, on_toobig, on_eof, on_error, on_writable, on_closed};

static void write_all(int fd, const char *s) {
    size_t n = strlen(s);
    while (n) {
        ssize_t w = write(fd, s, n);
        ck_assert_int_gt(w, 0);
        s += w;
        n -= (size_t)w;
    }
}

static char *read_all(int fd) {
    static char buf[1 << 20];
    size_t n = 0;
    ssize_t r;
    while ((r = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    return buf;
}

START_TEST(test_lines_echo_and_eof) {
    int in[2], out[2];
    ck_assert_int_eq(pipe(in), 0);
    ck_assert_int_eq(pipe(out), 0);
    write_all(in[1], "one\r\n\ntwo\nthree"); /* last line has no newline: delivered at EOF */
    close(in[1]);
    uv_loop_t loop;
    uv_loop_init(&loop);
    ctx_t *t = calloc(1, sizeof *t);
    t->echo = 1;
    ck_assert_int_eq(fa__stdio_init(&t->io, &loop, in[0], out[1], 100, 1 << 20, &cbs, t), 0);
    close(in[0]);
    close(out[1]); /* the transport works on its own duplicates */
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(t->nlines, 3);
    ck_assert_str_eq(t->lines[0], "one");
    ck_assert_str_eq(t->lines[1], "two");
    ck_assert_str_eq(t->lines[2], "three");
    ck_assert_int_eq(t->eof, 1);
    ck_assert_int_eq(t->closed, 1);
    ck_assert_str_eq(read_all(out[0]), "one\ntwo\nthree\n");
    /* All three echoes were committed in one loop iteration: one write. */
    ck_assert_uint_eq(t->io.writes, 1);
    close(out[0]);
    free(t);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

static void resume_cb(uv_timer_t *timer) {
    ctx_t *t = timer->data;
    ck_assert_int_eq(t->nlines, 2); /* nothing arrived while paused */
    t->pause_after = 0;
    fa__stdio_resume(&t->io);
    uv_close((uv_handle_t *)timer, NULL);
}

START_TEST(test_pause_mid_chunk_and_resume) {
    int in[2], out[2];
    ck_assert_int_eq(pipe(in), 0);
    ck_assert_int_eq(pipe(out), 0);
    write_all(in[1], "a\nb\nc\nd\n"); /* one read chunk */
    close(in[1]);
    uv_loop_t loop;
    uv_loop_init(&loop);
    ctx_t *t = calloc(1, sizeof *t);
    t->pause_after = 2;
    ck_assert_int_eq(fa__stdio_init(&t->io, &loop, in[0], out[1], 100, 1 << 20, &cbs, t), 0);
    uv_timer_t timer;
    uv_timer_init(&loop, &timer);
    timer.data = t;
    uv_timer_start(&timer, resume_cb, 50, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(t->nlines, 4);
    ck_assert_str_eq(t->lines[2], "c");
    ck_assert_str_eq(t->lines[3], "d");
    ck_assert_int_eq(t->eof, 1);
    close(in[0]);
    close(out[0]);
    close(out[1]);
    free(t);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

START_TEST(test_oversized_line_and_file_input) {
    char path[] = "/tmp/fa_stdio_XXXXXX";
    int fd = mkstemp(path);
    write_all(fd, "short\nthis line is far too long\nok\n");
    close(fd);
    int rd = open(path, O_RDONLY);
    int out[2];
    ck_assert_int_eq(pipe(out), 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    ctx_t *t = calloc(1, sizeof *t);
    ck_assert_int_eq(fa__stdio_init(&t->io, &loop, rd, out[1], 10, 1 << 20, &cbs, t), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(t->nlines, 2);
    ck_assert_str_eq(t->lines[0], "short");
    ck_assert_str_eq(t->lines[1], "ok");
    ck_assert_int_eq(t->toobig, 1);
    ck_assert_int_eq(t->eof, 1);
    close(rd);
    unlink(path);
    close(out[0]);
    close(out[1]);
    free(t);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

/* A reader that starts late and reads slowly, so output backs up. */
static void *slow_reader(void *arg) {
    int fd = *(int *)arg;
    usleep(100 * 1000);
    static char buf[4096];
    size_t total = 0;
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0)
        total += (size_t)r;
    return (void *)(uintptr_t)total;
}

static void flood_cb(uv_timer_t *timer) {
    ctx_t *t = timer->data;
    char line[1024];
    memset(line, 'x', sizeof line);
    for (int i = 0; i < 512; i++) { /* 512 KiB, far above the 64 KiB limit below */
        fa__buf_append(fa__stdio_out(&t->io), line, sizeof line - 1);
        fa__stdio_commit(&t->io);
    }
    ck_assert(fa__stdio_output_blocked(&t->io));
    ck_assert_uint_gt(fa__stdio_pending(&t->io), 64 * 1024);
    uv_close((uv_handle_t *)timer, NULL);
}

START_TEST(test_output_backpressure) {
    int in[2], out[2];
    ck_assert_int_eq(pipe(in), 0);
    ck_assert_int_eq(pipe(out), 0);
    pthread_t reader;
    pthread_create(&reader, NULL, slow_reader, &out[0]);
    uv_loop_t loop;
    uv_loop_init(&loop);
    ctx_t *t = calloc(1, sizeof *t);
    ck_assert_int_eq(fa__stdio_init(&t->io, &loop, in[0], out[1], 100, 64 * 1024, &cbs, t), 0);
    close(out[1]);
    uv_timer_t timer;
    uv_timer_init(&loop, &timer);
    timer.data = t;
    uv_timer_start(&timer, flood_cb, 1, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    void *got;
    pthread_join(reader, &got);
    ck_assert_uint_eq((uintptr_t)got, 512u * 1024u); /* nothing lost */
    ck_assert_int_eq(t->writable, 1);                /* blocked, then drained below half */
    ck_assert_int_eq(t->closed, 1);
    close(in[0]);
    close(in[1]);
    close(out[0]);
    free(t);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

START_TEST(test_reader_gone_is_an_error_not_a_crash) {
    int in[2], out[2];
    ck_assert_int_eq(pipe(in), 0);
    ck_assert_int_eq(pipe(out), 0);
    signal(SIGPIPE, SIG_IGN);
    close(out[0]); /* nobody will ever read */
    write_all(in[1], "x\n");
    uv_loop_t loop;
    uv_loop_init(&loop);
    ctx_t *t = calloc(1, sizeof *t);
    t->echo = 1;
    ck_assert_int_eq(fa__stdio_init(&t->io, &loop, in[0], out[1], 100, 1 << 20, &cbs, t), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(t->errors, 1);
    ck_assert_int_eq(t->closed, 1);
    close(in[0]);
    close(in[1]);
    close(out[1]);
    free(t);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

int main(void) {
    Suite *s = suite_create("transport/stdio");
    TCase *tc = tcase_create("stdio");
    tcase_add_test(tc, test_lines_echo_and_eof);
    tcase_add_test(tc, test_pause_mid_chunk_and_resume);
    tcase_add_test(tc, test_oversized_line_and_file_input);
    tcase_add_test(tc, test_output_backpressure);
    tcase_add_test(tc, test_reader_gone_is_an_error_not_a_crash);
    suite_add_tcase(s, tc);
    return fa_test_run(s);
}
