/* The error status every fallible cuegw function fills in: a gRPC code and a
 * short message in a fixed buffer, so reporting an error never allocates.
 * What a code or kind answers over HTTP is errors.def's, and nowhere else. */
#ifndef CUEGW_STATUS_H
#define CUEGW_STATUS_H

#include "base/cg_limits.h"
#include "base/errors.h"

/* gRPC status codes (grpc/status.h has the same numbers; this header keeps
 * the transcoder free of the gRPC dependency): the CODE rows of errors.def. */
enum cg_code {
#define CG_ERROR(cls, kind, code, http, phrase, label, message) CG_CODE_ROW_##cls(kind, code)
#define CG_CODE_ROW_CODE(kind, code) CG_##kind = code,
#define CG_CODE_ROW_AUTH(kind, code)
#define CG_CODE_ROW_DENY(kind, code)
#define CG_CODE_ROW_GATEWAY(kind, code)
#include "base/errors.def"
#undef CG_ERROR
#undef CG_CODE_ROW_CODE
#undef CG_CODE_ROW_AUTH
#undef CG_CODE_ROW_DENY
#undef CG_CODE_ROW_GATEWAY
};

struct cg_status {
    int code;                         /* enum cg_code */
    /* enum cg_error. 0: the code's own kind. Set for the few gateway errors
     * whose status is not the code's (405, 413) or that the gateway words
     * itself (cg_fail_kind). */
    int kind;
    /* 1: msg is for the log only: gRPC wrote it about its own channel (the
     * addresses it tried, the socket errors), so a client is told only
     * that Cuebot is unavailable. Cleared by cg_fail and cg_status_clear. */
    int msg_internal;
    char msg[CG_STATUS_MSG_MAX];
};

/* Records an error (printf-style message, cut to fit) and returns -1, so a
 * caller can write `return cg_fail(st, CG_INVALID_ARGUMENT, "...")`. */
int cg_fail(struct cg_status *st, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records an error of a kind: its code, and its message with a and b for
 * the %s in it (NULL reads as ""). Returns -1. */
int cg_fail_kind(struct cg_status *st, enum cg_error kind, const char *a, const char *b);

void cg_status_clear(struct cg_status *st);

/* HTTP status for a gRPC code, as grpc-gateway maps it; 500 for codes it
 * does not know. */
int cg_http_status(int code);

/* The kind of a filled status: its own, else its code's. */
enum cg_error cg_status_kind(const struct cg_status *st);

/* HTTP status of a filled status: its kind's. */
int cg_status_http(const struct cg_status *st);

/* The canonical upper-case name of a code ("NOT_FOUND"), for logs. */
const char *cg_code_name(int code);

#endif
