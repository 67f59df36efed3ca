/* A main() for the fuzz targets outside libFuzzer: runs the target once on
 * each file named (a directory stands for the files in it), each in a
 * child process, so that one crashing input is counted and the rest still
 * run. Built with the normal compiler (and its sanitizers, when the build
 * has them) for `make check`, which replays the committed seeds and
 * regressions.
 *
 * Usage: fuzz-replay-<target> NAME FILE|DIR...
 * Prints one line per failure and finally "NAME: N passed, M failed". */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz_check.h"

static int passed, failed;

static void run_one(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("FAIL %s: cannot open\n", path);
        failed++;
        return;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    size_t k;
    while (buf && (k = fread(buf + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    fclose(f);
    if (!buf) {
        printf("FAIL %s: out of memory\n", path);
        failed++;
        return;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        /* Exactly n bytes, in a block of exactly that size, so that
         * AddressSanitizer sees a read past the input as libFuzzer would. */
        uint8_t *exact = malloc(n ? n : 1);
        if (!exact)
            _exit(3);
        memcpy(exact, buf, n);
        free(buf);
        LLVMFuzzerTestOneInput(exact, n);
        free(exact);
        exit(0);                 /* not _exit: LeakSanitizer checks at exit */
    }
    free(buf);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) {
        printf("FAIL %s: cannot run\n", path);
        failed++;
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        passed++;
    } else {
        printf("FAIL %s: %s %d\n", path, WIFSIGNALED(status) ? "signal" : "exit status",
               WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        failed++;
    }
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void run_path(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        run_one(path);
        return;
    }
    struct dirent **list;
    int n = scandir(path, &list, NULL, by_name);
    if (n < 0) {
        printf("FAIL %s: cannot list\n", path);
        failed++;
        return;
    }
    for (int i = 0; i < n; i++) {
        if (list[i]->d_name[0] != '.') {
            char child[4096];
            snprintf(child, sizeof child, "%s/%s", path, list[i]->d_name);
            run_path(child);
        }
        free(list[i]);
    }
    free(list);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s NAME FILE|DIR...\n", argv[0]);
        return 2;
    }
    LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 2; i < argc; i++)
        run_path(argv[i]);
    printf("%s: %d passed, %d failed\n", argv[1], passed, failed);
    return failed ? 1 : 0;
}
