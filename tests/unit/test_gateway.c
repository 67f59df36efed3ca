/* Settings, CORS, request ids, and the Vary header of the request
 * handler's answers, driven through a fake FastCGI request (no web server,
 * no Cuebot: a call that passes every check answers 503). The handler's
 * answers, successes included, are the cases of tests/data (test_cases.c);
 * the whole path through real servers is in tests/integration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops/config.h"
#include "http/cors.h"
#include "http/gateway.h"
#include "base/log.h"
#include "auth/policy.h"
#include "http/request_id.h"
#include "pb/schema.h"
#include "unit.h"

/* ---- settings ------------------------------------------------------------ */

struct kv { const char *k, *v; };

static const char *kv_get(void *ctx, const char *name)
{
    for (const struct kv *p = ctx; p->k; p++)
        if (!strcmp(p->k, name))
            return p->v;
    return NULL;
}

static int load(struct kv *vars, struct cg_config *c, struct cg_status *st)
{
    cg_status_clear(st);
    return config_load(c, kv_get, vars, st);
}

static void test_durations(void)
{
    CHECK(config_parse_duration("30s") == 30000);
    CHECK(config_parse_duration("500ms") == 500);
    CHECK(config_parse_duration("2m") == 120000);
    CHECK(config_parse_duration("1h") == 3600000);
    CHECK(config_parse_duration("30") == 30000);
    CHECK(config_parse_duration("0.5") == 500);
    CHECK(config_parse_duration("1.5s") == 1500);
    CHECK(config_parse_duration("") == -1);
    CHECK(config_parse_duration("-1s") == -1);
    CHECK(config_parse_duration("+1s") == -1);
    CHECK(config_parse_duration(" 1s") == -1);
    CHECK(config_parse_duration("1 s") == -1);
    CHECK(config_parse_duration("1d") == -1);
    CHECK(config_parse_duration("abc") == -1);
    CHECK(config_parse_duration("nan") == -1);
    CHECK(config_parse_duration("inf") == -1);
    CHECK(config_parse_duration("25h") == -1);
}

static void test_config(void)
{
    struct cg_config c;
    struct cg_status st;
    struct kv minimal[] = {{"JWT_SECRET", "s"}, {NULL, NULL}};
    CHECK(load(minimal, &c, &st) == 0);
    CHECK_STR(c.cuebot_endpoint, "localhost:8443");
    CHECK(c.request_timeout_ms == 30000);
    CHECK(c.max_request == 4194304);
    CHECK(c.max_response == 256u * 1024 * 1024);
    CHECK_STR(c.cors_origins, "*");
    CHECK(c.url_prefix_len == 0 && c.health_path == NULL);
    CHECK(c.log_level == CG_LOG_INFO && c.shutdown_timeout_ms == 30000);

    struct kv full[] = {{"JWT_SECRET", "s"}, {"CUEBOT_ENDPOINT", "a:1,b:2"},
                        {"REQUEST_TIMEOUT", "500ms"}, {"GRPC_MAX_MESSAGE_SIZE", "1024"},
                        {"GRPC_MAX_RECV_MSG_MB", "64"}, {"URL_PREFIX", "/cue/"},
                        {"HEALTH_PATH", "/healthz"}, {"LOG_LEVEL", "WARN"},
                        {"LOG_FORMAT", "json"}, {"READ_ONLY", "1"},
                        {"GRPC_KEEPALIVE_TIME", "20s"}, {NULL, NULL}};
    CHECK(load(full, &c, &st) == 0);
    CHECK_STR(c.cuebot_endpoint, "a:1,b:2");
    CHECK(c.request_timeout_ms == 500 && c.max_request == 1024);
    CHECK(c.max_response == 64u * 1024 * 1024);
    CHECK(c.url_prefix_len == 4 && !strncmp(c.url_prefix, "/cue", 4));
    CHECK_STR(c.health_path, "/healthz");
    CHECK(c.log_level == CG_LOG_WARN && c.log_json == 1 && c.auth.read_only == 1);
    CHECK(c.keepalive_time_ms == 20000);

    /* Blank means unset, for every setting. */
    struct kv blank[] = {{"JWT_SECRET", "s"}, {"REQUEST_TIMEOUT", ""}, {"URL_PREFIX", "  "},
                         {"EXPIRING_JWT_SECRET", " "}, {"CUEBOT_ENDPOINT", ""}, {NULL, NULL}};
    CHECK(load(blank, &c, &st) == 0);
    CHECK(c.request_timeout_ms == 30000 && c.url_prefix_len == 0);
    CHECK(c.auth.expiring_jwt_secret == NULL);
    CHECK_STR(c.cuebot_endpoint, "localhost:8443");

    /* A bad value names its variable. */
    static const struct { const char *name, *value; } bad[] = {
        {"REQUEST_TIMEOUT", "soon"}, {"REQUEST_TIMEOUT", "0"},
        {"GRPC_MAX_MESSAGE_SIZE", "4MB"}, {"GRPC_MAX_MESSAGE_SIZE", "0"},
        {"GRPC_MAX_RECV_MSG_MB", "-1"}, {"GRPC_MAX_RECV_MSG_MB", "4096"},
        {"GRPC_KEEPALIVE_TIME", "x"}, {"URL_PREFIX", "cue"}, {"URL_PREFIX", "/a b"},
        {"URL_PREFIX", "/a?b"}, {"HEALTH_PATH", "healthz"}, {"JWT_LEEWAY", "-5"},
        {"JWT_LEEWAY", "1.5"}, {"AUTH_MODE", "ldap"}, {"READ_ONLY", "maybe"},
        {"LOG_LEVEL", "loud"}, {"LOG_FORMAT", "xml"}, {"SHUTDOWN_TIMEOUT", "never"},
        {"CUEBOT_TLS_CERT", "/c.pem"}, {"ACCESS_POLICY", "/nonexistent/policy"},
        {"SETTINGS_FROM_PARAMS", "perhaps"},
        /* One grammar for every switch: exactly 1 or 0, as documented. */
        {"READ_ONLY", "2"}, {"READ_ONLY", "true"}, {"READ_ONLY", "yes"}, {"READ_ONLY", "on"},
        {"READ_ONLY", "false"}, {"READ_ONLY", "01"}, {"READ_ONLY", "1 "},
        {"SETTINGS_FROM_PARAMS", "yes"}, {"SETTINGS_FROM_PARAMS", "true"},
        {"ALLOW_NON_LOOPBACK", "on"}, {"ALLOW_NON_LOOPBACK", "2"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct kv vars[] = {{"JWT_SECRET", "s"}, {bad[i].name, bad[i].value}, {NULL, NULL}};
        int rc = load(vars, &c, &st);
        CHECK(rc == -1);
        const char *want = !strcmp(bad[i].name, "CUEBOT_TLS_CERT") ? "CUEBOT_TLS_KEY" : bad[i].name;
        if (strncmp(st.msg, want, strlen(want)))
            unit_fail(__FILE__, __LINE__, "the message names the variable", st.msg);
        else
            unit_passed++;
    }

    /* Every switch takes 1 and 0, and its refusal says so. */
    static const char *const switches[] = {"READ_ONLY", "SETTINGS_FROM_PARAMS", "ALLOW_NON_LOOPBACK"};
    for (size_t i = 0; i < 3; i++) {
        struct kv on[] = {{"JWT_SECRET", "s"}, {switches[i], "1"}, {NULL, NULL}};
        struct kv off[] = {{"JWT_SECRET", "s"}, {switches[i], "0"}, {NULL, NULL}};
        struct kv bad_value[] = {{"JWT_SECRET", "s"}, {switches[i], "yes"}, {NULL, NULL}};
        CHECK(load(on, &c, &st) == 0);
        CHECK(load(off, &c, &st) == 0);
        CHECK(load(bad_value, &c, &st) == -1 && strstr(st.msg, "expected 1 or 0"));
    }
    struct kv lb[] = {{"JWT_SECRET", "s"}, {"ALLOW_NON_LOOPBACK", "1"}, {"SETTINGS_FROM_PARAMS", "1"},
                      {NULL, NULL}};
    CHECK(load(lb, &c, &st) == 0 && c.allow_non_loopback == 1 && c.settings_from_params == 1);
    int sw = -1;
    CHECK(config_parse_switch("1", &sw) == 0 && sw == 1);
    CHECK(config_parse_switch("0", &sw) == 0 && sw == 0);
    CHECK(config_parse_switch("TRUE", &sw) == -1 && config_parse_switch("", &sw) == -1);
    CHECK(config_parse_switch(NULL, &sw) == -1);

    /* No credential: refused, unless the front server authenticates. */
    struct kv none[] = {{"CUEBOT_ENDPOINT", "x:1"}, {NULL, NULL}};
    CHECK(load(none, &c, &st) == -1 && strstr(st.msg, "no credential"));
    struct kv remote[] = {{"AUTH_MODE", "remote-user"}, {NULL, NULL}};
    CHECK(load(remote, &c, &st) == 0 && c.auth.remote_user == 1);
    struct kv token[] = {{"AUTH_TOKEN", "t"}, {NULL, NULL}};
    CHECK(load(token, &c, &st) == 0);
    struct kv params_only[] = {{"SETTINGS_FROM_PARAMS", "1"}, {NULL, NULL}};
    CHECK(load(params_only, &c, &st) == 0 && !auth_settings_usable(&c.auth));

    /* Without SETTINGS_FROM_PARAMS=1 no parameter is a setting: whoever
     * reaches the socket must not choose the secret or lift READ_ONLY. */
    struct kv env_only[] = {{"JWT_SECRET", "old"}, {"READ_ONLY", "1"}, {NULL, NULL}};
    CHECK(load(env_only, &c, &st) == 0 && !c.settings_from_params);
    struct auth_settings as;
    struct kv forged[] = {{"JWT_SECRET", "attacker"}, {"EXPIRING_JWT_SECRET", "attacker"},
                          {"AUTH_TOKEN", "x"}, {"EXPIRING_AUTH_TOKEN", "x"},
                          {"JWT_LEEWAY", "86400"}, {"READ_ONLY", "0"}, {NULL, NULL}};
    CHECK(config_request_auth(&c, kv_get, forged, &as, &st) == 0);
    CHECK_STR(as.jwt_secret, "old");
    CHECK(as.expiring_jwt_secret == NULL && as.auth_token == NULL &&
          as.expiring_auth_token == NULL && as.jwt_leeway == 0 && as.read_only == 1);
    struct kv blanked[] = {{"JWT_SECRET", ""}, {"JWT_LEEWAY", "soon"}, {NULL, NULL}};
    CHECK(config_request_auth(&c, kv_get, blanked, &as, &st) == 0);
    CHECK_STR(as.jwt_secret, "old");

    /* With it, present parameters replace the process's own, blank ones
     * unset them, absent ones leave them. */
    struct kv env[] = {{"JWT_SECRET", "old"}, {"AUTH_TOKEN", "tok"},
                       {"SETTINGS_FROM_PARAMS", "1"}, {NULL, NULL}};
    CHECK(load(env, &c, &st) == 0);
    struct kv p1[] = {{"JWT_SECRET", "new"}, {"EXPIRING_JWT_SECRET", "old"},
                      {"HTTP_AUTH_TOKEN", "client"}, {NULL, NULL}};
    CHECK(config_request_auth(&c, kv_get, p1, &as, &st) == 0);
    CHECK_STR(as.jwt_secret, "new");
    CHECK_STR(as.expiring_jwt_secret, "old");
    CHECK_STR(as.auth_token, "tok");           /* HTTP_* is a client header: ignored */
    struct kv p2[] = {{"AUTH_TOKEN", ""}, {"READ_ONLY", "1"}, {"JWT_LEEWAY", "30"}, {NULL, NULL}};
    CHECK(config_request_auth(&c, kv_get, p2, &as, &st) == 0);
    CHECK(as.auth_token == NULL && as.read_only == 1 && as.jwt_leeway == 30);
    CHECK_STR(as.jwt_secret, "old");
    struct kv p3[] = {{"JWT_LEEWAY", "soon"}, {NULL, NULL}};
    CHECK(config_request_auth(&c, kv_get, p3, &as, &st) == -1 && !strncmp(st.msg, "JWT_LEEWAY", 10));
    /* A secret's value never appears in a message. */
    struct kv secret_bad[] = {{"JWT_SECRET", "hunter2-secret"}, {"JWT_LEEWAY", "x"}, {NULL, NULL}};
    CHECK(load(secret_bad, &c, &st) == -1 && !strstr(st.msg, "hunter2"));
}

/* Loads JWT_SECRET=s and name=value: checks that it loads when `says` is
 * NULL, else that it is refused with a message that starts with the name
 * and holds `says`. */
static void check_setting(const char *name, const char *value, const char *says)
{
    struct cg_config c;
    struct cg_status st;
    struct kv vars[] = {{"JWT_SECRET", "s"}, {name, value}, {NULL, NULL}};
    int rc = load(vars, &c, &st);
    if (says ? rc == -1 && !strncmp(st.msg, name, strlen(name)) && strstr(st.msg, says) : rc == 0)
        unit_passed++;
    else
        unit_fail(__FILE__, __LINE__, value, rc ? st.msg : "loaded");
    if (rc == 0)
        config_free(&c);
}

/* Each CUEBOT_ENDPOINT entry is checked at load: gRPC itself takes a URL
 * or a missing port and then only fails to connect. */
static void test_endpoints(void)
{
    static const char *const good[] = {
        "127.0.0.1:8443", "a:1, b:2,", "[::1]:8443", "[fe80::1]:1,cuebot:65535",
        "dns:///cuebot.example.com:8443", "unix:/run/cuebot.sock", "unix:///run/cuebot.sock",
        "cue-bot_1.example.com:443",
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        check_setting("CUEBOT_ENDPOINT", good[i], NULL);
    static const struct { const char *value, *says; } bad[] = {
        {"127.0.0.1", "has no port"}, {"http://127.0.0.1:33897", "is a URL"},
        {"https://cuebot:443", "is a URL"}, {"a:1,b", "\"b\" has no port"},
        {"::1:8443", "in brackets"}, {"[::1]", "[IPv6 address]:port"},
        {"[::1]8443", "[IPv6 address]:port"}, {"[zz]:1", "[IPv6 address]:port"},
        {"host:0", "port 1 to 65535"}, {"host:65536", "port 1 to 65535"},
        {"host:", "port 1 to 65535"}, {"host:08443", "port 1 to 65535"},
        {":8443", "port 1 to 65535"}, {"ho/st:1", "port 1 to 65535"},
        {"unix:run/cuebot.sock", "unix:/absolute/path"}, {"dns://8.8.8.8/cuebot:1", "is a URL"},
        /* The message quotes the whole entry and nothing of the next. */
        {"dns:///cuebot,b:1", "\"dns:///cuebot\" has no port"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        check_setting("CUEBOT_ENDPOINT", bad[i].value, bad[i].says);
}

/* In $TMPDIR (make check's scratch directory), else /tmp. */
static const char *write_tmp(const char *name, const char *text)
{
    static char path[4][600];
    static int next;
    char *p = path[next++ % 4];
    const char *dir = getenv("TMPDIR");
    snprintf(p, sizeof path[0], "%s/cuegw-unit-%d-%s", dir && *dir ? dir : "/tmp", (int)getpid(), name);
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
    return p;
}

/* The TLS files are read at load, and each must hold what it is for. */
static void test_tls_files(void)
{
    struct cg_config c;
    struct cg_status st;
    const char *cert = write_tmp("cert", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    const char *key = write_tmp("key", "-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n");
    const char *both = write_tmp("both", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
                                         "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n");
    const char *text = write_tmp("text", "not pem\n");
    struct kv ok[] = {{"JWT_SECRET", "s"}, {"CUEBOT_TLS_CA", cert}, {"CUEBOT_TLS_CERT", cert},
                      {"CUEBOT_TLS_KEY", key}, {NULL, NULL}};
    CHECK(load(ok, &c, &st) == 0);
    static const struct { const char *var, *says; int file; } bad[] = {
        {"CUEBOT_TLS_CA", "cannot open", 0}, {"CUEBOT_TLS_CA", "holds a private key", 1},
        {"CUEBOT_TLS_CA", "holds a private key", 2}, {"CUEBOT_TLS_CA", "holds no certificate", 3},
        {"CUEBOT_TLS_CERT", "holds no certificate", 1}, {"CUEBOT_TLS_KEY", "holds no private key", 4},
        {"CUEBOT_TLS_KEY", "cannot open", 0}, {"CUEBOT_TLS_CA", "not a regular file", 5},
    };
    const char *files[] = {"/nonexistent.pem", key, both, text, cert, "/tmp"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct kv vars[] = {{"JWT_SECRET", "s"}, {"CUEBOT_TLS_CERT", cert}, {"CUEBOT_TLS_KEY", key},
                            {bad[i].var, files[bad[i].file]}, {NULL, NULL}};
        /* kv_get takes the first match: the one under test goes first. */
        struct kv first[] = {vars[3], vars[1], vars[2], vars[0], {NULL, NULL}};
        if (load(first, &c, &st) != -1 || strncmp(st.msg, bad[i].var, strlen(bad[i].var)) ||
            !strstr(st.msg, bad[i].says) || strstr(st.msg, "MII"))
            unit_fail(__FILE__, __LINE__, bad[i].says, st.msg);
        else
            unit_passed++;
    }
    unlink(cert);
    unlink(key);
    unlink(both);
    unlink(text);
}

/* ---- access policy ------------------------------------------------------ */

#define M(s) (s), strlen(s)

struct unmatched {
    int n, line[4];
    char pattern[4][64], path[80];
};

static void note_unmatched(void *ctx, const char *path, int line, const char *pattern)
{
    struct unmatched *u = ctx;
    if (u->n < 4) {
        u->line[u->n] = line;
        snprintf(u->pattern[u->n], sizeof u->pattern[0], "%s", pattern);
        snprintf(u->path, sizeof u->path, "%s", path);
    }
    u->n++;
}

static void test_policy(void)
{
    CHECK(policy_glob("*", M("a.B/C")));
    CHECK(policy_glob("show.ShowInterface/Get*", M("show.ShowInterface/GetShows")));
    CHECK(!policy_glob("show.ShowInterface/Get*", M("show.ShowInterface/CreateShow")));
    CHECK(policy_glob("*/Get*", M("job.JobInterface/GetJobs")));
    CHECK(!policy_glob("*/Get*", M("job.JobInterface/KillJob")));
    CHECK(policy_glob("job.*", M("job.FrameInterface/Retry")));
    CHECK(!policy_glob("job.*", M("host.HostInterface/GetHosts")));
    CHECK(policy_glob("a*b*c", M("aXXbYYc")) && !policy_glob("a*b*c", M("aXXbYY")));
    CHECK(!policy_glob("GetShows", M("GetShowsX")) && !policy_glob("GetShowsX", M("GetShows")));

    struct cg_status st;
    cg_status_clear(&st);
    struct policy *p = policy_load(write_tmp("policy", 
        "# farm policy\n"
        "role admin *\n"
        "role wrangler job.JobInterface/* job.FrameInterface/*   # wranglers\n"
        "user alice show.ShowInterface/CreateShow\n"
        "default */Get* */Find*\n"), &st);
    CHECK(p != NULL);
    if (p) {
        CHECK(policy_allows(p, "admin", NULL, M("host.HostInterface/Lock")));
        CHECK(policy_allows(p, "wrangler", NULL, M("job.JobInterface/KillJob")));
        CHECK(!policy_allows(p, "wrangler", NULL, M("host.HostInterface/GetHosts")));
        CHECK(policy_allows(p, NULL, "alice", M("show.ShowInterface/CreateShow")));
        CHECK(!policy_allows(p, NULL, "alice", M("show.ShowInterface/GetShows")));
        CHECK(policy_allows(p, NULL, "bob", M("show.ShowInterface/GetShows")));
        CHECK(!policy_allows(p, NULL, "bob", M("show.ShowInterface/CreateShow")));
        CHECK(!policy_allows(p, "nobody", NULL, M("job.JobInterface/KillJob")));
        policy_free(p);
    }
    p = policy_load(write_tmp("policy", "role admin *\n"), &st);
    CHECK(p && !policy_allows(p, NULL, "bob", M("show.ShowInterface/GetShows")));
    policy_free(p);

    static const struct { const char *text; const char *where; } bad[] = {
        {"role admin\n", ":1:"},
        {"# ok\nrole admin *\nallow everything\n", ":3:"},
        {"default /show.ShowInterface/GetShows\n", ":1:"},
        {"\n\nuser bob show.Show-Interface\n", ":3:"},
        {"role admin show.ShowInterface/Get?\n", ":1:"},
        {"# only comments\n\n", "no rules"},
        {"default\n", ":1:"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cg_status_clear(&st);
        p = policy_load(write_tmp("policy", bad[i].text), &st);
        CHECK(p == NULL);
        if (!strstr(st.msg, bad[i].where) || strncmp(st.msg, "ACCESS_POLICY:", 14))
            unit_fail(__FILE__, __LINE__, "the error names the line", st.msg);
        else
            unit_passed++;
        policy_free(p);
    }

    /* A pattern that matches no method allows nothing: reported with its
     * line, for --check-config to warn about. */
    CHECK(schema_init(&st) == 0);
    p = policy_load(write_tmp("policy", "role admin *\n"
                                        "role ops job.JobInterface/Get* Job.JobInterface/Kill*\n"
                                        "\n"
                                        "default show.ShowInterface/GetShow show.*/Get*\n"), &st);
    CHECK(p != NULL);
    if (p) {
        struct unmatched found = {0};
        policy_each_unmatched(p, note_unmatched, &found);
        CHECK(found.n == 2);
        CHECK(found.line[0] == 2 && !strcmp(found.pattern[0], "Job.JobInterface/Kill*"));
        CHECK(found.line[1] == 4 && !strcmp(found.pattern[1], "show.ShowInterface/GetShow"));
        CHECK(strstr(found.path, "/cuegw-unit-") != NULL);
        policy_free(p);
    }
    unlink(write_tmp("policy", ""));
}

/* ---- CORS and request ids ------------------------------------------------ */

/* The CORS calls take a list read once at start-up; these read it per call. */
static const char *allow_origin(const char *list, const char *origin)
{
    struct origin_list l;
    struct cg_status st;
    if (origin_list_parse(&l, "CORS_ALLOWED_ORIGINS", list, &st))
        return "(list refused)";
    const char *r = cors_allow_origin(&l, origin);
    origin_list_free(&l);
    return r;
}

static int cross_site(const char *list, int wildcard_allows,
                      const char *(*get)(void *, const char *), void *ctx)
{
    struct origin_list l;
    struct cg_status st;
    if (origin_list_parse(&l, "CORS_ALLOWED_ORIGINS", list, &st))
        return -1;
    int r = cors_cross_site(&l, wildcard_allows, get, ctx);
    origin_list_free(&l);
    return r;
}

static void test_cors(void)
{
    /* The list is checked at load: an entry that is no origin would match
     * nothing a browser sends. */
    static const char *const good[] = {"*", "null", "https://a.example, http://b.example:8080",
                                       "https://[::1]:8443", "app+x://host", " https://a.example ,"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        check_setting("CORS_ALLOWED_ORIGINS", good[i], NULL);
    static const char *const bad[] = {"example.com", "https://a.example, example.com",
                                      "https://example.com/", "https://", "://x", "1http://x",
                                      "https://a.example:99999", "https://user@host"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        check_setting("CORS_ALLOWED_ORIGINS", bad[i], "is not an origin");

    CHECK_STR(allow_origin("*", "https://a.example"), "*");
    CHECK_STR(allow_origin("https://a.example, https://b.example", "https://b.example"),
              "https://b.example");
    CHECK_STR(allow_origin("https://A.example", "https://a.EXAMPLE"), "https://a.EXAMPLE");
    CHECK(allow_origin("https://a.example", "https://a.example.evil") == NULL);
    CHECK(allow_origin("https://a.example", "https://a.exampl") == NULL);
    CHECK(allow_origin("https://a.example", NULL) == NULL);
    CHECK(allow_origin("*", "bad origin") == NULL);
    CHECK(allow_origin("*", "x\r\nSet-Cookie: a") == NULL);
    CHECK(allow_origin("https://a.example,*", "https://z.example") != NULL);

    char out[256];
    cors_allow_headers(NULL, out, sizeof out);
    CHECK_STR(out, "Authorization, Content-Type");
    cors_allow_headers("authorization, x-request-id, x-evil", out, sizeof out);
    CHECK_STR(out, "Authorization, Content-Type, X-Request-Id");
}

static void test_cross_site(void)
{
    /* A browser on the gateway's own origin, through an http front. */
#define HOST {"HTTP_HOST", "gw.example:8080"}
    const char *list = "https://app.example, null";
    struct kv none[] = {HOST, {NULL, NULL}};
    CHECK(cross_site(list, 1, kv_get, none) == 0);
    CHECK(cross_site("*", 0, kv_get, none) == 0);
    struct kv own[] = {HOST, {"HTTP_ORIGIN", "http://gw.example:8080"}, {NULL, NULL}};
    CHECK(cross_site("https://app.example", 0, kv_get, own) == 0);
    struct kv own_case[] = {HOST, {"HTTP_ORIGIN", "HTTP://GW.Example:8080"}, {NULL, NULL}};
    CHECK(cross_site("", 0, kv_get, own_case) == 0);
    struct kv other_port[] = {HOST, {"HTTP_ORIGIN", "http://gw.example:8081"}, {NULL, NULL}};
    CHECK(cross_site("https://app.example", 1, kv_get, other_port) == 1);
    struct kv other_scheme[] = {HOST, {"HTTP_ORIGIN", "https://gw.example:8080"}, {NULL, NULL}};
    CHECK(cross_site("https://app.example", 1, kv_get, other_scheme) == 1);
    struct kv longer[] = {HOST, {"HTTP_ORIGIN", "http://gw.example:8080.evil"}, {NULL, NULL}};
    CHECK(cross_site("", 0, kv_get, longer) == 1);
    struct kv path[] = {HOST, {"HTTP_ORIGIN", "http://gw.example:8080/"}, {NULL, NULL}};
    CHECK(cross_site("", 0, kv_get, path) == 1);
    struct kv userinfo[] = {{"HTTP_HOST", "evil@gw.example"}, {"HTTP_ORIGIN", "http://evil@gw.example"},
                            {NULL, NULL}};
    CHECK(cross_site("", 0, kv_get, userinfo) == 1);

    /* Default ports, written or not, and the scheme from HTTPS or
     * REQUEST_SCHEME. */
    struct kv tls[] = {{"HTTP_HOST", "gw.example"}, {"HTTPS", "on"},
                       {"HTTP_ORIGIN", "https://gw.example:443"}, {NULL, NULL}};
    CHECK(cross_site("", 0, kv_get, tls) == 0);
    struct kv tls_off[] = {{"HTTP_HOST", "gw.example"}, {"HTTPS", "off"},
                           {"HTTP_ORIGIN", "https://gw.example"}, {NULL, NULL}};
    CHECK(cross_site("", 0, kv_get, tls_off) == 1);
    struct kv scheme[] = {{"HTTP_HOST", "gw.example:443"}, {"REQUEST_SCHEME", "https"},
                          {"HTTP_ORIGIN", "https://gw.example"}, {NULL, NULL}};
    CHECK(cross_site("", 0, kv_get, scheme) == 0);
    struct kv plain80[] = {{"HTTP_HOST", "gw.example:80"}, {"HTTP_ORIGIN", "http://gw.example"},
                           {NULL, NULL}};
    CHECK(cross_site("", 0, kv_get, plain80) == 0);
    struct kv by_name[] = {{"SERVER_NAME", "gw.example"}, {"SERVER_PORT", "8080"},
                           {"HTTP_ORIGIN", "http://gw.example:8080"}, {NULL, NULL}};
    CHECK(cross_site("", 0, kv_get, by_name) == 0);
    struct kv v6[] = {{"HTTP_HOST", "[::1]:8080"}, {"HTTP_ORIGIN", "http://[::1]:8080"}, {NULL, NULL}};
    CHECK(cross_site("", 0, kv_get, v6) == 0);
    struct kv no_host[] = {{"HTTP_ORIGIN", "http://gw.example"}, {NULL, NULL}};
    CHECK(cross_site("", 0, kv_get, no_host) == 1);

    /* Other origins: listed ones pass; the wildcard only where it counts;
     * "null" only when listed. */
    struct kv evil[] = {HOST, {"HTTP_ORIGIN", "https://evil.example"}, {NULL, NULL}};
    CHECK(cross_site(list, 1, kv_get, evil) == 1);
    CHECK(cross_site("*", 1, kv_get, evil) == 0);
    CHECK(cross_site("*", 0, kv_get, evil) == 1);
    struct kv app[] = {HOST, {"HTTP_ORIGIN", "https://APP.example"}, {NULL, NULL}};
    CHECK(cross_site(list, 0, kv_get, app) == 0);
    CHECK(cross_site("*, https://app.example", 0, kv_get, app) == 0);
    struct kv null_origin[] = {HOST, {"HTTP_ORIGIN", "null"}, {NULL, NULL}};
    CHECK(cross_site("*", 1, kv_get, null_origin) == 1);
    CHECK(cross_site(list, 0, kv_get, null_origin) == 0);

    /* Sec-Fetch-Site: cross-site needs an allowed Origin; the own origin
     * does not count then. */
    struct kv marked[] = {HOST, {"HTTP_SEC_FETCH_SITE", "cross-site"}, {NULL, NULL}};
    CHECK(cross_site("*", 1, kv_get, marked) == 1);
    struct kv marked_own[] = {HOST, {"HTTP_SEC_FETCH_SITE", "Cross-Site"},
                              {"HTTP_ORIGIN", "http://gw.example:8080"}, {NULL, NULL}};
    CHECK(cross_site("", 0, kv_get, marked_own) == 1);
    struct kv marked_app[] = {HOST, {"HTTP_SEC_FETCH_SITE", "cross-site"},
                              {"HTTP_ORIGIN", "https://app.example"}, {NULL, NULL}};
    CHECK(cross_site(list, 0, kv_get, marked_app) == 0);
    struct kv same[] = {HOST, {"HTTP_SEC_FETCH_SITE", "same-origin"},
                        {"HTTP_ORIGIN", "http://gw.example:8080"}, {NULL, NULL}};
    CHECK(cross_site("", 0, kv_get, same) == 0);
    struct kv nav[] = {HOST, {"HTTP_SEC_FETCH_SITE", "none"}, {NULL, NULL}};
    CHECK(cross_site("", 0, kv_get, nav) == 0);
#undef HOST
}

static void test_request_ids(void)
{
    char a[REQUEST_ID_SIZE], b[REQUEST_ID_SIZE];
    request_id_make("abc-123", a);
    CHECK_STR(a, "abc-123");
    request_id_make(NULL, a);
    request_id_make(NULL, b);
    CHECK(strlen(a) == 32 && strlen(b) == 32 && strcmp(a, b) != 0);
    request_id_make("has space", a);
    CHECK(strlen(a) == 32);
    request_id_make("quote\"", a);
    CHECK(strlen(a) == 32);
    char longid[200];
    memset(longid, 'x', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    request_id_make(longid, a);
    CHECK(strlen(a) == 32);
    request_id_make("", a);
    CHECK(strlen(a) == 32);
}

/* ---- the handler ---------------------------------------------------------- */

struct fake {
    const struct kv *params;
    const char *body;
    size_t body_len, body_pos;
    char out[8192];
    size_t out_len;
};

static const char *fake_param(void *ctx, const char *name)
{
    struct fake *f = ctx;
    return kv_get((void *)f->params, name);
}

static long fake_read(void *ctx, char *buf, size_t n)
{
    struct fake *f = ctx;
    size_t left = f->body_len - f->body_pos;
    size_t k = n < left ? n : left;
    if (k > 7)
        k = 7;              /* short reads, as a socket gives them */
    memcpy(buf, f->body + f->body_pos, k);
    f->body_pos += k;
    return (long)k;
}

static int fake_write(void *ctx, const char *p, size_t n)
{
    struct fake *f = ctx;
    if (n > sizeof f->out - 1 - f->out_len)
        return -1;
    memcpy(f->out + f->out_len, p, n);
    f->out_len += n;
    f->out[f->out_len] = '\0';
    return 0;
}

static const char *serve(struct gateway *g, struct fake *f, const struct kv *params,
                         const char *body)
{
    memset(f, 0, sizeof *f);
    f->params = params;
    f->body = body ? body : "";
    f->body_len = strlen(f->body);
    struct cg_request_io io = {.param = fake_param, .read = fake_read, .write = fake_write, .ctx = f};
    gateway_handle(g, &io);
    return f->out;
}

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The one Vary header of an answer's header block: its value, or "" when
 * there is none, "(twice)" when there are more. */
static const char *vary_of(const char *out)
{
    static char v[128];
    const char *end = strstr(out, "\r\n\r\n");
    const char *p = strstr(out, "\r\nVary: ");
    if (!p || (end && p > end))
        return "";
    p += strlen("\r\nVary: ");
    const char *again = strstr(p, "\r\nVary: ");
    if (again && (!end || again < end))
        return "(twice)";
    size_t n = strcspn(p, "\r");
    if (n >= sizeof v)
        n = sizeof v - 1;
    memcpy(v, p, n);
    v[n] = '\0';
    return v;
}

/* Every answer depends on the request's Origin (an allowed one gets
 * Access-Control-Allow-Origin, no Origin gets none, another may be
 * refused), so every answer says Vary: Origin, whether or not it carries
 * CORS headers; Sec-Fetch-Site too wherever the cross-site check read it. */
static void test_vary(void)
{
    struct cg_status st;
    struct cg_config c;
    struct kv vars[] = {{"AUTH_TOKEN", "tok-1"}, {"HEALTH_PATH", "/healthz"},
                        {"CORS_ALLOWED_ORIGINS", "https://app.example"}, {NULL, NULL}};
    CHECK(load(vars, &c, &st) == 0);
    struct gateway g;
    CHECK(gateway_init(&g, &c, NULL, &st) == 0);
    struct fake f;
    const char *out;

    struct kv bare[] = {{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/"}, {NULL, NULL}};
    out = serve(&g, &f, bare, NULL);
    CHECK(starts(out, "Status: 401") && !strcmp(vary_of(out), "Origin, Sec-Fetch-Site"));
    struct kv call[] = {{"REQUEST_METHOD", "POST"}, {"REQUEST_URI", "/show.ShowInterface/GetShows"},
                        {"HTTP_AUTHORIZATION", "Bearer tok-1"}, {NULL, NULL}};
    out = serve(&g, &f, call, "{}");
    CHECK(starts(out, "Status: 503") && !strcmp(vary_of(out), "Origin, Sec-Fetch-Site"));
    struct kv health[] = {{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/healthz"}, {NULL, NULL}};
    out = serve(&g, &f, health, NULL);
    CHECK(starts(out, "Status: 503") && !strcmp(vary_of(out), "Origin, Sec-Fetch-Site"));

    /* A disallowed origin: the preflight, the health answer and a refused
     * call, none with CORS headers, all with Vary. */
    struct kv pre[] = {{"REQUEST_METHOD", "OPTIONS"}, {"REQUEST_URI", "/show.ShowInterface/GetShows"},
                       {"HTTP_ORIGIN", "https://evil.example"},
                       {"HTTP_ACCESS_CONTROL_REQUEST_METHOD", "POST"}, {NULL, NULL}};
    out = serve(&g, &f, pre, NULL);
    CHECK(starts(out, "Status: 204") && !strstr(out, "Access-Control-") &&
          !strcmp(vary_of(out), "Origin, Sec-Fetch-Site"));
    struct kv evil_health[] = {{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/healthz"},
                               {"HTTP_ORIGIN", "https://evil.example"}, {NULL, NULL}};
    out = serve(&g, &f, evil_health, NULL);
    CHECK(!strstr(out, "Access-Control-") && !strcmp(vary_of(out), "Origin, Sec-Fetch-Site"));

    /* A listed origin: only Origin decides. */
    struct kv app[] = {{"REQUEST_METHOD", "POST"}, {"REQUEST_URI", "/show.ShowInterface/GetShows"},
                       {"HTTP_ORIGIN", "https://app.example"}, {"HTTP_AUTHORIZATION", "Bearer tok-1"},
                       {NULL, NULL}};
    out = serve(&g, &f, app, "{}");
    CHECK(strstr(out, "Access-Control-Allow-Origin: https://app.example\r\n") &&
          !strcmp(vary_of(out), "Origin"));
    gateway_free(&g);
    config_free(&c);

    /* AUTH_MODE=remote-user: the wildcard does not allow by itself, an own
     * origin passes only while Sec-Fetch-Site is not cross-site. */
    struct kv ru_vars[] = {{"AUTH_MODE", "remote-user"}, {NULL, NULL}};
    CHECK(load(ru_vars, &c, &st) == 0);
    CHECK(gateway_init(&g, &c, NULL, &st) == 0);
    struct kv own[] = {{"REQUEST_METHOD", "POST"}, {"REQUEST_URI", "/show.ShowInterface/GetShows"},
                       {"HTTP_HOST", "gw.example"}, {"HTTP_ORIGIN", "http://gw.example"},
                       {"REMOTE_USER", "ann"}, {NULL, NULL}};
    out = serve(&g, &f, own, "{}");
    CHECK(starts(out, "Status: 503") && strstr(out, "Access-Control-Allow-Origin: *\r\n") &&
          !strcmp(vary_of(out), "Origin, Sec-Fetch-Site"));
    gateway_free(&g);
    config_free(&c);
}

int main(void)
{
    log_setup(CG_LOG_ERROR, 0);   /* access lines would only clutter the output */
    test_durations();
    test_config();
    test_endpoints();
    test_tls_files();
    test_policy();
    test_cors();
    test_cross_site();
    test_request_ids();
    test_vary();
    return unit_report("gateway");
}
