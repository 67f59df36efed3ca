#include "unit.h"

#include <stdio.h>

int unit_passed, unit_failed;

void unit_fail(const char *file, int line, const char *what, const char *detail)
{
    unit_failed++;
    fprintf(stderr, "FAIL %s:%d: %s%s%s\n", file, line, what,
            detail ? "\n     " : "", detail ? detail : "");
}

void unit_check_text(const char *file, int line, const char *got, size_t n,
                     const char *want)
{
    if (n == strlen(want) && memcmp(got, want, n) == 0) {
        unit_passed++;
        return;
    }
    char detail[2048];
    snprintf(detail, sizeof detail, "got  %.*s\n     want %s", (int)(n > 900 ? 900 : n), got, want);
    unit_fail(file, line, "text differs", detail);
}

int unit_report(const char *suite)
{
    printf("%s: %d passed, %d failed\n", suite, unit_passed, unit_failed);
    return unit_failed ? 1 : 0;
}
