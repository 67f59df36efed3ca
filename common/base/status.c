#include "base/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct { const char *name; int http; } code_table[] = {
    [CG_OK] = {"OK", 200},
    [CG_CANCELLED] = {"CANCELLED", 499},
    [CG_UNKNOWN] = {"UNKNOWN", 500},
    [CG_INVALID_ARGUMENT] = {"INVALID_ARGUMENT", 400},
    [CG_DEADLINE_EXCEEDED] = {"DEADLINE_EXCEEDED", 504},
    [CG_NOT_FOUND] = {"NOT_FOUND", 404},
    [CG_ALREADY_EXISTS] = {"ALREADY_EXISTS", 409},
    [CG_PERMISSION_DENIED] = {"PERMISSION_DENIED", 403},
    [CG_RESOURCE_EXHAUSTED] = {"RESOURCE_EXHAUSTED", 429},
    [CG_FAILED_PRECONDITION] = {"FAILED_PRECONDITION", 400},
    [CG_ABORTED] = {"ABORTED", 409},
    [CG_OUT_OF_RANGE] = {"OUT_OF_RANGE", 400},
    [CG_UNIMPLEMENTED] = {"UNIMPLEMENTED", 501},
    [CG_INTERNAL] = {"INTERNAL", 500},
    [CG_UNAVAILABLE] = {"UNAVAILABLE", 503},
    [CG_DATA_LOSS] = {"DATA_LOSS", 500},
    [CG_UNAUTHENTICATED] = {"UNAUTHENTICATED", 401},
};
#define N_CODES ((int)(sizeof code_table / sizeof code_table[0]))

static int vfail(struct cg_status *st, int code, int http, const char *fmt,
                 va_list ap)
{
    st->code = code;
    st->http = http;
    st->msg_internal = 0;
    vsnprintf(st->msg, sizeof st->msg, fmt, ap);
    return -1;
}

int cg_fail(struct cg_status *st, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(st, code, 0, fmt, ap);
    va_end(ap);
    return -1;
}

int cg_fail_http(struct cg_status *st, int code, int http, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(st, code, http, fmt, ap);
    va_end(ap);
    return -1;
}

void cg_status_clear(struct cg_status *st)
{
    st->code = CG_OK;
    st->http = 0;
    st->msg_internal = 0;
    st->msg[0] = '\0';
}

int cg_http_status(int code)
{
    if (code < 0 || code >= N_CODES)
        return 500;
    return code_table[code].http;
}

int cg_status_http(const struct cg_status *st)
{
    return st->http ? st->http : cg_http_status(st->code);
}

const char *cg_code_name(int code)
{
    if (code < 0 || code >= N_CODES)
        return "UNKNOWN";
    return code_table[code].name;
}
