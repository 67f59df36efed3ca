/* ACCESS_POLICY: which callers may call which methods (SPEC §2).
 *
 * The file is plain text, one rule a line; '#' starts a comment:
 *
 *   role <name> <pattern>...    callers whose JWT "role" claim is <name>
 *   user <name> <pattern>...    the caller named <name>: REMOTE_USER under
 *                               AUTH_MODE=remote-user, else the JWT "sub"
 *   default <pattern>...        every other authenticated caller
 *
 * A pattern is matched against "package.Service/Method" (no leading '/');
 * '*' matches any run of characters, '/' and '.' included, so
 * "show.ShowInterface/Get*" allows one interface's Get methods, "job.*"
 * all of package job, "*" everything. A call is allowed
 * when any pattern of any rule that applies to the caller matches. A caller
 * no rule names falls to the default rule, and without one is refused.
 *
 * The whole policy is read once at start-up; any error stops start-up with
 * the file's line number. */
#ifndef CUEGW_POLICY_H
#define CUEGW_POLICY_H

#include <stddef.h>

#include "base/status.h"

struct policy;

/* Reads the file at path. NULL with st naming the line on any error. */
struct policy *policy_load(const char *path, struct cg_status *st);

/* Whether a caller with this role (may be NULL) and user name (may be NULL)
 * may call method ("show.ShowInterface/GetShows", len bytes). */
int policy_allows(const struct policy *p, const char *role, const char *user,
                  const char *method, size_t len);

/* '*'-glob match of text[0..n) against a NUL-terminated pattern. */
int policy_glob(const char *pattern, const char *text, size_t n);

/* Calls report for each pattern that matches none of the schema's methods
 * (schema_init must have run), with the file and the line it is on: a
 * misspelt pattern allows nothing and is otherwise silent. */
void policy_each_unmatched(const struct policy *p,
                           void (*report)(void *ctx, const char *path, int line,
                                          const char *pattern),
                           void *ctx);

void policy_free(struct policy *p);

#endif
