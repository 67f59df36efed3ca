/* The error status every fallible cuegw function fills in: a gRPC code and a
 * short message in a fixed buffer, so reporting an error never allocates.
 * The code -> HTTP status table lives in status.c and nowhere else. */
#ifndef CUEGW_STATUS_H
#define CUEGW_STATUS_H

#include "base/cg_limits.h"

/* gRPC status codes (grpc/status.h has the same numbers; this header keeps
 * the transcoder free of the gRPC dependency). */
enum cg_code {
    CG_OK = 0, CG_CANCELLED = 1, CG_UNKNOWN = 2, CG_INVALID_ARGUMENT = 3,
    CG_DEADLINE_EXCEEDED = 4, CG_NOT_FOUND = 5, CG_ALREADY_EXISTS = 6,
    CG_PERMISSION_DENIED = 7, CG_RESOURCE_EXHAUSTED = 8,
    CG_FAILED_PRECONDITION = 9, CG_ABORTED = 10, CG_OUT_OF_RANGE = 11,
    CG_UNIMPLEMENTED = 12, CG_INTERNAL = 13, CG_UNAVAILABLE = 14,
    CG_DATA_LOSS = 15, CG_UNAUTHENTICATED = 16
};

struct cg_status {
    int code;                         /* enum cg_code */
    int http;                         /* 0: derive from code */
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

/* Like cg_fail with an explicit HTTP status, for the few gateway errors whose
 * status is not the one grpc-gateway derives from the code (413, 405). */
int cg_fail_http(struct cg_status *st, int code, int http, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

void cg_status_clear(struct cg_status *st);

/* HTTP status for a gRPC code, as grpc-gateway maps it; 500 for codes it
 * does not know. */
int cg_http_status(int code);

/* HTTP status of a filled status: its explicit one, else the mapped one. */
int cg_status_http(const struct cg_status *st);

/* The canonical upper-case name of a code ("NOT_FOUND"), for logs. */
const char *cg_code_name(int code);

#endif
