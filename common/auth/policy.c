#include "auth/policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/schema.h"

/* A policy file is a short list kept by hand; anything much larger is a
 * mistake (a wrong path, say), not a policy. */
#define POLICY_MAX_BYTES (1u << 20)
#define POLICY_MAX_LINE 4096

enum rule_kind { RULE_ROLE, RULE_USER, RULE_DEFAULT };

struct rule {
    enum rule_kind kind;
    char *name;            /* NULL for the default rule */
    char **patterns;
    size_t n_patterns;
    int line;              /* in the file, for warnings */
};

struct policy {
    struct rule *rules;
    size_t n_rules;
    char *path;            /* the file, for warnings */
};

int policy_glob(const char *pattern, const char *text, size_t n)
{
    /* Iterative, with one backtrack point: the last '*' seen. Linear in
     * practice and never recursive, whatever the pattern. */
    const char *p = pattern, *star = NULL;
    size_t i = 0, mark = 0;
    while (i < n) {
        if (*p == '*') {
            star = p++;
            mark = i;
        } else if (*p && *p == text[i]) {
            p++;
            i++;
        } else if (star) {
            p = star + 1;
            i = ++mark;
        } else {
            return 0;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

static int applies(const struct rule *r, const char *role, const char *user)
{
    if (r->kind == RULE_ROLE)
        return role && !strcmp(r->name, role);
    if (r->kind == RULE_USER)
        return user && !strcmp(r->name, user);
    return 0;
}

static int rule_allows(const struct rule *r, const char *method, size_t len)
{
    for (size_t i = 0; i < r->n_patterns; i++)
        if (policy_glob(r->patterns[i], method, len))
            return 1;
    return 0;
}

int policy_allows(const struct policy *p, const char *role, const char *user,
                  const char *method, size_t len)
{
    int named = 0;
    for (size_t i = 0; i < p->n_rules; i++) {
        const struct rule *r = &p->rules[i];
        if (!applies(r, role, user))
            continue;
        named = 1;
        if (rule_allows(r, method, len))
            return 1;
    }
    if (named)
        return 0;
    for (size_t i = 0; i < p->n_rules; i++)
        if (p->rules[i].kind == RULE_DEFAULT && rule_allows(&p->rules[i], method, len))
            return 1;
    return 0;
}

void policy_free(struct policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_rules; i++) {
        free(p->rules[i].name);
        for (size_t k = 0; k < p->rules[i].n_patterns; k++)
            free(p->rules[i].patterns[k]);
        free(p->rules[i].patterns);
    }
    free(p->rules);
    free(p->path);
    free(p);
}

static int pattern_ok(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '/' || *s == '*' || *s == '_'))
            return 0;
    return 1;
}

static int name_ok(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || (unsigned char)*s == 0x7f)
            return 0;
    return 1;
}

/* Splits a line in place into space- or tab-separated words. */
static size_t words(char *line, char **w, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
        if (n == max)
            return max + 1;
        w[n++] = t;
    }
    return n;
}

#define MAX_WORDS 256

static int add_rule(struct policy *p, char **w, size_t n, const char *path, int line,
                    struct cg_status *st)
{
    struct rule r = {.line = line};
    size_t first;
    if (!strcmp(w[0], "role") || !strcmp(w[0], "user")) {
        if (n < 3)
            return cg_fail(st, CG_INVALID_ARGUMENT,
                           "ACCESS_POLICY: %.80s:%d: expected '%s <name> <pattern>...'", path,
                           line, w[0]);
        if (!name_ok(w[1]))
            return cg_fail(st, CG_INVALID_ARGUMENT, "ACCESS_POLICY: %.80s:%d: bad name", path, line);
        r.kind = w[0][0] == 'r' ? RULE_ROLE : RULE_USER;
        first = 2;
    } else if (!strcmp(w[0], "default")) {
        if (n < 2)
            return cg_fail(st, CG_INVALID_ARGUMENT,
                           "ACCESS_POLICY: %.80s:%d: expected 'default <pattern>...'", path, line);
        r.kind = RULE_DEFAULT;
        first = 1;
    } else {
        return cg_fail(st, CG_INVALID_ARGUMENT,
                       "ACCESS_POLICY: %.80s:%d: a rule starts with role, user or default, not '%.40s'",
                       path, line, w[0]);
    }
    for (size_t i = first; i < n; i++) {
        if (!pattern_ok(w[i]))
            return cg_fail(st, CG_INVALID_ARGUMENT,
                           "ACCESS_POLICY: %.80s:%d: pattern '%.60s' may hold only letters, digits, "
                           "'.', '/', '_' and '*'", path, line, w[i]);
        if (w[i][0] == '/')
            return cg_fail(st, CG_INVALID_ARGUMENT,
                           "ACCESS_POLICY: %.80s:%d: pattern '%.60s': write package.Service/Method "
                           "without the leading '/'", path, line, w[i]);
    }
    struct rule *grown = realloc(p->rules, (p->n_rules + 1) * sizeof *grown);
    if (!grown)
        return cg_fail(st, CG_RESOURCE_EXHAUSTED, "ACCESS_POLICY: out of memory");
    p->rules = grown;
    r.name = first == 2 ? strdup(w[1]) : NULL;
    r.patterns = calloc(n - first, sizeof *r.patterns);
    int oom = (first == 2 && !r.name) || !r.patterns;
    for (size_t i = first; i < n && !oom; i++)
        if (!(r.patterns[r.n_patterns++] = strdup(w[i])))
            oom = 1;
    p->rules[p->n_rules++] = r;     /* owned by p from here, freed with it */
    if (oom)
        return cg_fail(st, CG_RESOURCE_EXHAUSTED, "ACCESS_POLICY: out of memory");
    return 0;
}

struct policy *policy_load(const char *path, struct cg_status *st)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        cg_fail(st, CG_INVALID_ARGUMENT, "ACCESS_POLICY: cannot read %.120s: %s", path,
                strerror(errno));
        return NULL;
    }
    struct policy *p = calloc(1, sizeof *p);
    char buf[POLICY_MAX_LINE + 2];
    int line = 0, failed = !p;
    size_t total = 0;
    if (!p)
        cg_fail(st, CG_RESOURCE_EXHAUSTED, "ACCESS_POLICY: out of memory");
    while (!failed && fgets(buf, sizeof buf, f)) {
        line++;
        size_t len = strlen(buf);
        total += len;
        if (total > POLICY_MAX_BYTES) {
            failed = cg_fail(st, CG_INVALID_ARGUMENT, "ACCESS_POLICY: %.80s: larger than %u bytes",
                             path, POLICY_MAX_BYTES);
            break;
        }
        if (len == sizeof buf - 1 && buf[len - 1] != '\n') {
            failed = cg_fail(st, CG_INVALID_ARGUMENT, "ACCESS_POLICY: %.80s:%d: line longer than %d bytes",
                             path, line, POLICY_MAX_LINE);
            break;
        }
        char *hash = strchr(buf, '#');
        if (hash)
            *hash = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        char *w[MAX_WORDS + 1];
        size_t n = words(buf, w, MAX_WORDS);
        if (n == 0)
            continue;
        if (n > MAX_WORDS) {
            failed = cg_fail(st, CG_INVALID_ARGUMENT, "ACCESS_POLICY: %.80s:%d: more than %d words",
                             path, line, MAX_WORDS);
            break;
        }
        if (add_rule(p, w, n, path, line, st))
            failed = 1;
    }
    if (!failed && ferror(f))
        failed = cg_fail(st, CG_INVALID_ARGUMENT, "ACCESS_POLICY: error reading %.120s", path);
    fclose(f);
    if (!failed && p->n_rules == 0)
        failed = cg_fail(st, CG_INVALID_ARGUMENT,
                         "ACCESS_POLICY: %.80s: no rules; an empty policy would refuse every call",
                         path);
    if (!failed && !(p->path = strdup(path)))
        failed = cg_fail(st, CG_RESOURCE_EXHAUSTED, "ACCESS_POLICY: out of memory");
    if (failed) {
        policy_free(p);
        return NULL;
    }
    return p;
}

void policy_each_unmatched(const struct policy *p,
                           void (*report)(void *ctx, const char *path, int line,
                                          const char *pattern),
                           void *ctx)
{
    size_t methods = schema_method_count();
    for (size_t r = 0; r < p->n_rules; r++)
        for (size_t i = 0; i < p->rules[r].n_patterns; i++) {
            const char *pattern = p->rules[r].patterns[i];
            size_t m = 0;
            for (; m < methods; m++) {
                const struct method_info *mi = schema_method_at(m);
                /* Patterns name methods without the path's leading '/'. */
                if (policy_glob(pattern, mi->path + 1, mi->path_len - 1))
                    break;
            }
            if (m == methods)
                report(ctx, p->path, p->rules[r].line, pattern);
        }
}
