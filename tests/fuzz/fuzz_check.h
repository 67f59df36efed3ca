/* What every fuzz target shares: the libFuzzer entry points (declared here
 * so -Wmissing-prototypes holds) and FUZZ_CHECK, which turns a broken
 * invariant into a crash the fuzzer records, exactly like a memory error.
 *
 * Each target is built twice: with clang and libFuzzer (make fuzz), and
 * with the normal compiler around replay_main.c, which feeds it the
 * committed seeds and regressions (make check). */
#ifndef CUEGW_FUZZ_CHECK_H
#define CUEGW_FUZZ_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* `detail` is a C string shown with the failure (may be NULL). abort()
 * rather than a return: libFuzzer saves the input that got here. */
#define FUZZ_CHECK(cond, detail)                                              \
    do {                                                                      \
        if (!(cond)) {                                                        \
            const char *d_ = (detail);                                        \
            fprintf(stderr, "fuzz invariant failed at %s:%d: %s%s%s\n",       \
                    __FILE__, __LINE__, #cond, d_ ? ": " : "", d_ ? d_ : ""); \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* Start-up failures (schema, settings) are not findings: stop loudly. */
#define FUZZ_SETUP(cond, what)                                                \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "fuzz set-up failed: %s\n", (what));              \
            exit(2);                                                          \
        }                                                                     \
    } while (0)

#endif
