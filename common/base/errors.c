#include "base/errors.h"

#define CLASS_CODE CG_CLASS_CODE
#define CLASS_AUTH CG_CLASS_AUTH
#define CLASS_DENY CG_CLASS_DENY
#define CLASS_GATEWAY CG_CLASS_GATEWAY

const struct cg_error_row cg_errors[CG_E_COUNT] = {
#define CG_ERROR(cls, kind, code, http, phrase, label, message) \
    [CG_E_##kind] = {CLASS_##cls, code, http, phrase, label, message},
#include "base/errors.def"
#undef CG_ERROR
};

/* A CODE row out of place would give a code another code's status. */
#define CG_ERROR(cls, kind, code, http, phrase, label, message) CHECK_##cls(kind, code)
#define CHECK_CODE(kind, code) \
    _Static_assert(CG_E_##kind == (code), #kind " is not at its code's place in errors.def");
#define CHECK_AUTH(kind, code)
#define CHECK_DENY(kind, code)
#define CHECK_GATEWAY(kind, code)
#include "base/errors.def"
#undef CG_ERROR

#define CG_ERROR(cls, kind, code, http, phrase, label, message) + IS_CODE_##cls
#define IS_CODE_CODE 1
#define IS_CODE_AUTH 0
#define IS_CODE_DENY 0
#define IS_CODE_GATEWAY 0
enum { N_CODES = 0
#include "base/errors.def"
};
#undef CG_ERROR

const struct cg_error_row *cg_error_row(int kind)
{
    return &cg_errors[kind >= 0 && kind < CG_E_COUNT ? kind : CG_E_UNKNOWN];
}

enum cg_error cg_error_of_code(int code)
{
    return code >= 0 && code < N_CODES ? (enum cg_error)code : CG_E_UNKNOWN;
}
