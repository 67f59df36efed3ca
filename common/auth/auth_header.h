/* The verdicts every credential check answers with (SPEC §2), and the first
 * check: finding the bearer token in an Authorization header value.
 *
 * Nothing here logs or copies the credential: the token handed back points
 * into the header, and a verdict's name never contains any of it. */
#ifndef CUEGW_AUTH_HEADER_H
#define CUEGW_AUTH_HEADER_H

#include <stddef.h>

#include "base/errors.h"

/* The verdicts: AUTH_OK, then the AUTH rows of base/errors.def in their
 * order, each named as its kind there (AUTH_MISSING is CG_E_AUTH_MISSING),
 * which also says when each is given. Dense, so it indexes arrays; the
 * kind of a verdict is auth_result_error's. */
enum auth_result {
    AUTH_OK = 0,
#define CG_ERROR(cls, kind, code, http, phrase, label, message) CG_AUTH_ROW_##cls(kind)
#define CG_AUTH_ROW_CODE(kind)
#define CG_AUTH_ROW_AUTH(kind) kind,
#define CG_AUTH_ROW_DENY(kind)
#define CG_AUTH_ROW_GATEWAY(kind)
#include "base/errors.def"
#undef CG_ERROR
#undef CG_AUTH_ROW_CODE
#undef CG_AUTH_ROW_AUTH
#undef CG_AUTH_ROW_DENY
#undef CG_AUTH_ROW_GATEWAY
    AUTH_RESULT_COUNT
};

/* The error kind of a verdict (CG_E_OK for AUTH_OK); CG_E_UNKNOWN for a
 * value outside the enum. */
enum cg_error auth_result_error(enum auth_result r);

/* A short, stable, lower-case label for metrics and logs ("missing",
 * "expired", ...): the kind's label, "ok" for AUTH_OK; "unknown" for a value
 * outside the enum. */
const char *auth_result_name(enum auth_result r);

/* Finds the token in an Authorization header value: the scheme "Bearer" in
 * any case, one or more spaces, then the token, which is printable ASCII
 * without spaces. Spaces and tabs around the whole value are ignored, as
 * HTTP says they are not part of it. On AUTH_OK *tok points into header
 * and *tok_len is at most CG_MAX_TOKEN. NULL, empty or blank -> AUTH_MISSING;
 * anything else that does not fit, including a value longer than
 * CG_MAX_AUTH_HEADER -> AUTH_BAD_HEADER. A C string cannot carry a NUL, so
 * the value ends at the first one. */
enum auth_result auth_bearer_token(const char *header, const char **tok, size_t *tok_len);

#endif
