#include "base/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cg_fail(struct cg_status *st, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    st->code = code;
    st->kind = 0;
    st->msg_internal = 0;
    vsnprintf(st->msg, sizeof st->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int cg_fail_kind(struct cg_status *st, enum cg_error kind, const char *a, const char *b)
{
    const struct cg_error_row *row = cg_error_row((int)kind);
    st->code = row->code;
    st->kind = (int)kind;
    st->msg_internal = 0;
    /* The format is the table's, not a literal the compiler could check
     * against arguments; the unit test holds every row to %s conversions,
     * at most two, and both strings are always passed. */
    snprintf(st->msg, sizeof st->msg, row->message, a ? a : "", b ? b : "");
    return -1;
}

void cg_status_clear(struct cg_status *st)
{
    st->code = CG_OK;
    st->kind = 0;
    st->msg_internal = 0;
    st->msg[0] = '\0';
}

int cg_http_status(int code)
{
    return cg_errors[cg_error_of_code(code)].http;
}

enum cg_error cg_status_kind(const struct cg_status *st)
{
    if (!st->kind)
        return cg_error_of_code(st->code);
    return st->kind > 0 && st->kind < CG_E_COUNT ? (enum cg_error)st->kind : CG_E_UNKNOWN;
}

int cg_status_http(const struct cg_status *st)
{
    return cg_errors[cg_status_kind(st)].http;
}

const char *cg_code_name(int code)
{
    return cg_errors[cg_error_of_code(code)].label;
}
