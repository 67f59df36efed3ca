/* A minimal unit-test harness: CHECK records a failure with its line and
 * carries on; unit_report prints "<suite>: N passed, N failed" and gives the
 * exit status. A check counts once per evaluation. */
#ifndef CUEGW_UNIT_H
#define CUEGW_UNIT_H

#include <stddef.h>
#include <string.h>

extern int unit_passed, unit_failed;

void unit_fail(const char *file, int line, const char *what, const char *detail);

#define CHECK(cond)                                                      \
    do {                                                                 \
        if (cond) unit_passed++;                                         \
        else unit_fail(__FILE__, __LINE__, #cond, NULL);                 \
    } while (0)

/* Compares a (pointer, length) text with an expected C string. */
void unit_check_text(const char *file, int line, const char *got, size_t n,
                     const char *want);
#define CHECK_TEXT(got, n, want) unit_check_text(__FILE__, __LINE__, (got), (n), (want))
#define CHECK_STR(got, want) unit_check_text(__FILE__, __LINE__, (got), strlen(got), (want))

int unit_report(const char *suite);

#endif
