/* The error table (base/errors.def) walked row by row: what the gateway,
 * the metrics and the OpenAPI document read from it must be whole, unique
 * and agree with itself, so a new row cannot half-exist. */
#include <stdio.h>
#include <string.h>

#include "auth/auth_header.h"
#include "base/errors.h"
#include "base/status.h"
#include "unit.h"

/* cg_fail_kind hands every message two strings, so a row may only have
 * %s conversions (with a precision at most), and no more than two. */
static int message_conversions(const char *m)
{
    int n = 0;
    for (const char *p = m; (p = strchr(p, '%')); ) {
        p++;
        if (*p == '%') {
            p++;
            continue;
        }
        if (*p == '.') {
            p++;
            if (*p < '0' || *p > '9')
                return -1;
            while (*p >= '0' && *p <= '9')
                p++;
        }
        if (*p != 's')
            return -1;
        n++;
    }
    return n;
}

static void test_rows(void)
{
    for (int k = 0; k < CG_E_COUNT; k++) {
        const struct cg_error_row *r = &cg_errors[k];
        char what[64];
        snprintf(what, sizeof what, "row %d (%s)", k, r->label ? r->label : "?");
        if (!(r->http >= 100 && r->http <= 599 && r->phrase && *r->phrase && r->label &&
              *r->label && r->message && cg_error_of_code(r->code) == (enum cg_error)r->code))
            unit_fail(__FILE__, __LINE__, "a status, phrase, label, message and a code", what);
        int conv = r->message ? message_conversions(r->message) : -1;
        if (conv < 0 || conv > 2)
            unit_fail(__FILE__, __LINE__, "only %s in the message, at most two", what);
        CHECK(r->cls != CG_CLASS_CODE || !*r->message);
        for (int j = 0; j < k; j++) {
            if (!strcmp(cg_errors[j].label, r->label))
                unit_fail(__FILE__, __LINE__, "labels are unique", what);
            /* One status, one Status line. */
            if (cg_errors[j].http == r->http && strcmp(cg_errors[j].phrase, r->phrase))
                unit_fail(__FILE__, __LINE__, "one phrase per status", what);
        }
    }
}

/* The CODE rows are grpc-gateway's mapping (SPEC §1), each code its kind. */
static void test_codes(void)
{
    static const int http[] = {200, 499, 500, 400, 504, 404, 409, 403, 429,
                               400, 409, 400, 501, 500, 503, 500, 401};
    int codes = 0;
    for (int k = 0; k < CG_E_COUNT; k++)
        codes += cg_errors[k].cls == CG_CLASS_CODE;
    CHECK(codes == 17);
    for (int c = 0; c < 17; c++) {
        CHECK(cg_error_of_code(c) == (enum cg_error)c);
        CHECK(cg_errors[c].cls == CG_CLASS_CODE && cg_errors[c].code == c);
        CHECK(cg_http_status(c) == http[c]);
    }
    CHECK_STR(cg_code_name(CG_NOT_FOUND), "NOT_FOUND");
    CHECK_STR(cg_code_name(CG_UNAUTHENTICATED), "UNAUTHENTICATED");
    CHECK_STR(cg_code_name(99), "UNKNOWN");
    CHECK(cg_http_status(-1) == 500 && cg_http_status(17) == 500);
    CHECK(cg_error_row(CG_E_COUNT) == &cg_errors[CG_E_UNKNOWN]);
}

/* Every verdict has its own kind of class AUTH, and every AUTH row is a
 * verdict. */
static void test_auth(void)
{
    CHECK(auth_result_error(AUTH_OK) == CG_E_OK);
    CHECK_STR(auth_result_name(AUTH_OK), "ok");
    CHECK(auth_result_error(AUTH_RESULT_COUNT) == CG_E_UNKNOWN);
    int seen[CG_E_COUNT] = {0};
    for (int r = 1; r < AUTH_RESULT_COUNT; r++) {
        enum cg_error k = auth_result_error((enum auth_result)r);
        CHECK(k > CG_E_OK && k < CG_E_COUNT && cg_errors[k].cls == CG_CLASS_AUTH);
        CHECK(!seen[k]);
        seen[k] = 1;
        CHECK_STR(auth_result_name((enum auth_result)r), cg_errors[k].label);
        /* A refused credential is a 401 with WWW-Authenticate; only running
         * out of memory is the gateway's own failure. */
        if (r == AUTH_INTERNAL)
            CHECK(cg_errors[k].http == 500 && cg_errors[k].code == CG_INTERNAL);
        else
            CHECK(cg_errors[k].http == 401 && cg_errors[k].code == CG_UNAUTHENTICATED);
    }
    for (int k = 0; k < CG_E_COUNT; k++)
        if (cg_errors[k].cls == CG_CLASS_AUTH && !seen[k])
            unit_fail(__FILE__, __LINE__, "every AUTH row is an auth_result", cg_errors[k].label);
}

/* The reasons of cuegw_auth_failures_total, in the order a scrape shows
 * them: dashboards and alerts name them, so none may change. */
static void test_reason_labels(void)
{
    static const char *const want[] = {
        "missing", "bad_header", "malformed", "bad_alg", "unsupported", "bad_signature",
        "expired", "not_yet_valid", "bad_claim", "read_only", "policy",
        "no_credential_configured", "bad_setting", "cross_site"};
    size_t n = 0;
    for (int k = 0; k < CG_E_COUNT; k++) {
        int reason = (cg_errors[k].cls == CG_CLASS_AUTH && k != CG_E_AUTH_INTERNAL) ||
                     cg_errors[k].cls == CG_CLASS_DENY;
        if (!reason)
            continue;
        if (n < sizeof want / sizeof *want)
            CHECK_STR(cg_errors[k].label, want[n]);
        n++;
    }
    CHECK(n == sizeof want / sizeof *want);
}

/* What SPEC §1 says of the gateway's own errors, and the status carrying a
 * kind through to the answer. */
static void test_status(void)
{
    struct cg_status st;
    cg_status_clear(&st);
    CHECK(cg_fail_kind(&st, CG_E_BODY_TOO_LARGE, "request body", "100") == -1);
    CHECK(st.code == CG_RESOURCE_EXHAUSTED && cg_status_http(&st) == 413);
    CHECK_STR(st.msg, "request body is larger than the 100-byte limit (GRPC_MAX_MESSAGE_SIZE)");
    cg_fail_kind(&st, CG_E_METHOD_NOT_ALLOWED, "GET", "POST");
    CHECK(st.code == CG_UNIMPLEMENTED && cg_status_http(&st) == 405);
    CHECK_STR(st.msg, "method GET is not allowed; use POST");
    cg_fail_kind(&st, CG_E_DENY_POLICY, NULL, NULL);     /* NULL reads as "" */
    CHECK(st.code == CG_PERMISSION_DENIED && cg_status_http(&st) == 403);
    CHECK_STR(st.msg, "  not allowed for this caller");
    cg_fail_kind(&st, CG_E_UNKNOWN_METHOD, "/x", NULL);
    CHECK(st.code == CG_NOT_FOUND && cg_status_http(&st) == 404);
    /* cg_fail forgets the kind: the code decides again. */
    cg_fail(&st, CG_ALREADY_EXISTS, "x");
    CHECK(cg_status_kind(&st) == CG_E_ALREADY_EXISTS && cg_status_http(&st) == 409);
    st.kind = 9999;
    CHECK(cg_status_http(&st) == 500);
}

int main(void)
{
    test_rows();
    test_codes();
    test_auth();
    test_reason_labels();
    test_status();
    return unit_report("errors");
}
