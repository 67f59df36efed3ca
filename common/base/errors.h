/* The kinds of error cuegw answers (errors.def has the table and says what
 * each column means). Every part of cuegw that names an error reads it from
 * here: the gateway its status, phrase and message; the metrics their
 * labels; the OpenAPI document its statuses; auth/ its enum auth_result. */
#ifndef CUEGW_ERRORS_H
#define CUEGW_ERRORS_H

/* One number per kind. The CODE rows come first, in code order, so a gRPC
 * code is its own kind (checked in errors.c). */
enum cg_error {
#define CG_ERROR(cls, kind, code, http, phrase, label, message) CG_E_##kind,
#include "base/errors.def"
#undef CG_ERROR
    CG_E_COUNT
};

/* Which view a kind belongs to. Switch over it without a default: a new
 * class must be placed by every reader. */
enum cg_error_class { CG_CLASS_CODE, CG_CLASS_AUTH, CG_CLASS_DENY, CG_CLASS_GATEWAY };

struct cg_error_row {
    enum cg_error_class cls;
    int code;                   /* enum cg_code */
    int http;
    const char *phrase;
    const char *label;
    const char *message;        /* format: %s conversions only, at most two */
};

extern const struct cg_error_row cg_errors[CG_E_COUNT];

/* The row of a kind; UNKNOWN's for a number outside the enum, so a stray
 * value still answers 500. */
const struct cg_error_row *cg_error_row(int kind);

/* The kind a gRPC code answers with when nothing more is known: its own
 * CODE row; UNKNOWN for a number that is not a code. */
enum cg_error cg_error_of_code(int code);

#endif
