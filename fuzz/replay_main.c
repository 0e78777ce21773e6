/* fuzz/replay_main.c: runs a libFuzzer harness over files, without libFuzzer.
 *
 * Usage: replay_<name> PATH...   (each PATH a file or a directory, searched recursively)
 *
 * Every build with tests links each harness against this driver (gcc has no libFuzzer), and ctest
 * feeds it the committed corpus, so a regression input fails the ordinary test run (STYLE.md §14).
 * Each input is copied into a buffer of exactly its size, so ASan reports a harness or parser
 * that reads past the end. Directory entries are replayed in sorted order to keep runs
 * reproducible. Exit status: 0 when at least one input ran, 1 on an unreadable path or an empty
 * corpus (a typo in the corpus path must not look like a pass); a failing input aborts.
 *
 * A failure names its input: a fatal signal, a sanitizer report or a leak prints "replay: failing
 * input: PATH" before the process dies. Under ASan, leaks are checked after every input (as
 * libFuzzer does) rather than once at exit, so they are attributed too. An input that runs longer
 * than FUZZ_REPLAY_TIMEOUT seconds (default 25; 0 disables) is a hang and fails the same way,
 * long before ctest's own timeout.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_common.h"

#if defined(__SANITIZE_ADDRESS__)
#define REPLAY_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REPLAY_ASAN 1
#endif
#endif
#ifdef REPLAY_ASAN
#include <sanitizer/common_interface_defs.h>
#include <sanitizer/lsan_interface.h>
#endif

static unsigned long replayed;
static const char *current; /* the input being run, for failure reports */

/* Async-signal-safe: write(2) only. */
static void say_current(void) {
    static const char head[] = "replay: failing input: ";
    if (!current)
        return;
    ssize_t w = write(STDERR_FILENO, head, sizeof head - 1);
    w = write(STDERR_FILENO, current, strlen(current));
    w = write(STDERR_FILENO, "\n", 1);
    (void)w;
}

static void on_fatal(int sig) {
    if (sig == SIGALRM) {
        static const char msg[] = "replay: input timed out (a hang: see FUZZ_REPLAY_TIMEOUT)\n";
        ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)w;
        sig = SIGABRT;
    }
    say_current();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_handlers(void) {
    static const int sigs[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGALRM};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        signal(sigs[i], on_fatal);
#ifdef REPLAY_ASAN
    __sanitizer_set_death_callback(say_current);
#endif
}

static unsigned timeout_seconds(void) {
    const char *env = getenv("FUZZ_REPLAY_TIMEOUT");
    if (!env || !*env)
        return 25;
    return (unsigned)strtoul(env, NULL, 10);
}

static int run_file(const char *path) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len, fp)) > 0) {
        len += got;
        if (len == cap) {
            uint8_t *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    int err = ferror(fp);
    fclose(fp);
    if (!buf || err) {
        fprintf(stderr, "replay: %s: read failed\n", path);
        free(buf);
        return -1;
    }
    /* An exact-size copy: one byte past the input is then outside the allocation. */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, len);
    free(buf);
    current = path;
    alarm(timeout_seconds());
    LLVMFuzzerTestOneInput(exact, len);
    alarm(0);
    free(exact);
#ifdef REPLAY_ASAN
    if (__lsan_do_recoverable_leak_check())
        abort(); /* on_fatal names the input */
#endif
    current = NULL;
    replayed++;
    return 0;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_path(const char *path);

static int run_dir(const char *path) {
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue; /* ".", ".." and hidden files such as editor swap files */
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **grown = realloc(names, ncap * sizeof *names);
            if (!grown) {
                rc = -1;
                break;
            }
            names = grown;
            cap = ncap;
        }
        size_t len = strlen(path) + strlen(e->d_name) + 2;
        if (!(names[n] = malloc(len))) {
            rc = -1;
            break;
        }
        snprintf(names[n], len, "%s/%s", path, e->d_name);
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && run_path(names[i]) != 0)
            rc = -1;
        free(names[i]);
    }
    free(names);
    return rc;
}

static int run_path(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode))
        return run_dir(path);
    if (S_ISREG(st.st_mode))
        return run_file(path);
    return 0; /* sockets, fifos: not corpus files */
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    install_handlers();
    int failed = 0;
    for (int i = 1; i < argc; i++)
        if (run_path(argv[i]) != 0)
            failed = 1;
    printf("replay: %lu input%s replayed\n", replayed, replayed == 1 ? "" : "s");
    if (replayed == 0) {
        fprintf(stderr, "replay: no inputs found\n");
        return 1;
    }
    return failed;
}
