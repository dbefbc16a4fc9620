/* replay_main.c: runs a libFuzzer target over its checked-in corpus without libFuzzer, so that
 * every normal and sanitizer build replays the corpus as an ordinary test (SQLite fuzzcheck).
 *   fuzz_<name> DIR|FILE...
 * Fails when a corpus directory is missing or empty, so a lost corpus cannot pass silently. When
 * an input crashes the target, the file's name is printed before the process dies. */
#include "fuzz.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Present only in sanitizer builds; lets us name the input when a sanitizer ends the process. */
void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

static char current[4096];

static void name_current(void)
{
    if (!current[0]) return;
    /* Only async-signal-safe calls: this also runs from a signal handler. */
    static const char pre[] = "replay: crashing input: ";
    if (write(2, pre, sizeof pre - 1) < 0) return;
    if (write(2, current, strlen(current)) < 0) return;
    if (write(2, "\n", 1) < 0) return;
}

static void on_fatal_signal(int sig)
{
    name_current();
    signal(sig, SIG_DFL);
    raise(sig);
}

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0) n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "%s: cannot determine size\n", path);
        fclose(f);
        return -1;
    }
    /* Exactly n bytes, so a sanitizer catches a read one past the end. */
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
        fprintf(stderr, "%s: read failed\n", path);
        fclose(f);
        free(buf);
        return -1;
    }
    fclose(f);
    snprintf(current, sizeof current, "%s", path);
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    current[0] = '\0';
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(name_current);
    signal(SIGSEGV, on_fatal_signal);
    signal(SIGBUS, on_fatal_signal);
    signal(SIGABRT, on_fatal_signal);
    signal(SIGFPE, on_fatal_signal);

    int files = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (run_file(argv[i]) != 0) return 1;
            files++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d) {
            perror(argv[i]);
            return 1;
        }
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
            if (run_file(path) != 0) {
                closedir(d);
                return 1;
            }
            files++;
        }
        closedir(d);
    }
    if (files == 0) {
        fprintf(stderr, "replay: no corpus files\n");
        return 1;
    }
    printf("replayed %d inputs\n", files);
    return 0;
}
