/* The gateway's settings (SPEC §2-§4), read once at start-up from the
 * process environment (spawn-fcgi, lighttpd bin-environment, mod_fcgid
 * FcgidInitialEnv, systemd EnvironmentFile). Which settings there are, their
 * kinds, defaults and help are in settings.def, the one table everything
 * else (loading, --help, --check-config, the docs' test) reads.
 *
 * A blank value means unset, so a web server config that passes an empty
 * variable behaves like one that does not pass it. A bad value stops
 * start-up with a message naming the variable; the value itself is quoted
 * only for settings that are not secret. */
#ifndef CUEGW_CONFIG_H
#define CUEGW_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "base/log.h"
#include "base/origin.h"
#include "base/status.h"

struct policy;

/* How a setting's value is read (see settings.def). */
enum setting_kind {
    KIND_STRING,        /* any text, kept as is */
    KIND_FILE,          /* a file's path, checked when it is opened */
    KIND_ENDPOINT,      /* CUEBOT_ENDPOINT's list, checked by the upstream */
    KIND_ADDRS,         /* a comma list of IP addresses, checked by fcgi/listen.c */
    KIND_POLICY,        /* the policy file, loaded once all else is read */
    KIND_PREFIX,        /* URL_PREFIX: "" or /x[/y], trailing '/' trimmed */
    KIND_PATH,          /* a whole URL path */
    KIND_PATH_OR_OFF,   /* the same, or "off" */
    KIND_DIR,           /* an absolute directory */
    KIND_ORIGINS,       /* a list of web origins (base/origin.h) */
    KIND_DURATION,      /* "30s", "500ms", "2m", "1h", plain seconds -> ms */
    KIND_BYTES,         /* a byte count */
    KIND_MIB,           /* whole MiB, stored in bytes */
    KIND_SECONDS,       /* whole seconds */
    KIND_INT,           /* a plain number */
    KIND_SWITCH,        /* exactly 1 or 0 */
    KIND_ENUM,          /* one of the choices, stored as its index */
};

#define SF_SECRET      1u   /* never quoted in a message nor shown */
#define SF_PER_REQUEST 2u   /* may come with a request (SETTINGS_FROM_PARAMS=1) */
#define SF_DERIVED     4u   /* the default text says what unset means */
#define SF_ANYCASE     8u   /* choices match whatever the case */
#define SF_EARLY      16u   /* read from the environment before all else */

enum setting_group {
#define SETTING_GROUP(ID, TITLE) GROUP_##ID,
#define SETTING(...)
#include "ops/settings.def"
#undef SETTING_GROUP
#undef SETTING
    GROUP_COUNT
};

enum setting_id {
#define SETTING_GROUP(ID, TITLE)
#define SETTING(NAME, ...) SET_##NAME,
#include "ops/settings.def"
#undef SETTING_GROUP
#undef SETTING
    SETTING_COUNT
};

struct setting {
    const char *name;
    enum setting_group group;
    enum setting_kind kind;
    size_t off, size;           /* of its field in struct cg_config */
    long long lo, hi;
    const char *choices;        /* KIND_ENUM */
    unsigned flags;             /* SF_* */
    const char *def;            /* the default as the docs show it */
    const char *help;
};

extern const struct setting settings[SETTING_COUNT];
extern const char *const setting_group_titles[GROUP_COUNT];
/* "duration", "bytes", ...: what --list-settings shows. */
const char *setting_kind_name(enum setting_kind kind);

struct cg_config {
    /* Cuebot */
    const char *cuebot_endpoint;        /* CUEBOT_ENDPOINT, comma list */
    int64_t request_timeout_ms;         /* REQUEST_TIMEOUT */
    size_t max_request;                 /* GRPC_MAX_MESSAGE_SIZE, bytes */
    size_t max_response;                /* GRPC_MAX_RECV_MSG_MB, in bytes */
    int share_reads;                    /* SHARE_READS */
    int read_cache_ms;                  /* READ_CACHE_MS; 0: no cache */
    int keepalive_time_ms;              /* GRPC_KEEPALIVE_TIME; 0: gRPC's */
    int keepalive_timeout_ms;           /* GRPC_KEEPALIVE_TIMEOUT; 0: gRPC's */
    const char *tls_ca, *tls_cert, *tls_key;

    /* HTTP surface */
    const char *url_prefix;             /* URL_PREFIX: "" or "/x[/y]" */
    size_t url_prefix_len;
    const char *health_path;            /* HEALTH_PATH or NULL */
    const char *openapi_path;           /* OPENAPI_PATH or NULL */
    const char *cors_origins;           /* CORS_ALLOWED_ORIGINS, as written */
    struct origin_list cors_allowed;    /* the same, read once */
    /* METRICS_PATH: the whole path as requested; NULL means the default,
     * URL_PREFIX + "/metrics", so the front routes it to cuegw. */
    const char *metrics_path;
    int metrics_off;                    /* METRICS_PATH=off */
    const char *metrics_dir;            /* METRICS_DIR or NULL (see metrics.h) */

    /* Authentication and authorization; the part in `auth` may be
     * overridden per request by FastCGI parameters. */
    struct auth_settings auth;
    int settings_from_params;           /* SETTINGS_FROM_PARAMS=1 */
    struct policy *policy;              /* ACCESS_POLICY, loaded; or NULL */

    /* Operation */
    enum log_level log_level;           /* LOG_LEVEL */
    int log_json;                       /* LOG_FORMAT=json */
    int64_t shutdown_timeout_ms;        /* SHUTDOWN_TIMEOUT */
    int worker_threads;                 /* WORKER_THREADS: requests a process serves at once */

    /* The FastCGI peer (SPEC §4): how long it may take to send a
     * request's params and its body, to take the answer, and to keep a
     * connection open between requests. */
    int64_t params_timeout_ms;          /* PARAMS_TIMEOUT */
    int64_t body_timeout_ms;            /* BODY_TIMEOUT */
    int64_t write_timeout_ms;           /* WRITE_TIMEOUT */
    int64_t idle_timeout_ms;            /* IDLE_TIMEOUT */
    int allow_non_loopback;             /* ALLOW_NON_LOOPBACK=1 (--allow-non-loopback) */
    const char *web_server_addrs;       /* FCGI_WEB_SERVER_ADDRS or NULL */

    const char *access_policy;          /* ACCESS_POLICY, the file's path */
    int allow_core_dumps;               /* ALLOW_CORE_DUMPS (acted on by fcgi/core_guard.c) */
    /* Each setting's value as given (not blank), or NULL: what --check-config
     * shows of the settings that differ from their defaults. */
    const char *given[SETTING_COUNT];
};

/* Where settings come from: returns the value of a variable or NULL. */
typedef const char *(*config_get_fn)(void *ctx, const char *name);

/* Fills c from `get` (the environment when get is NULL). Strings point into
 * what `get` returned, which must outlive c. Returns 0, or -1 with st's
 * message naming the first bad variable. */
int config_load(struct cg_config *c, config_get_fn get, void *ctx,
                struct cg_status *st);

/* The auth settings for one request: the process's own and, only when
 * the process runs with SETTINGS_FROM_PARAMS=1, each one the request's
 * parameters carry (`param`, by the plain setting name; blank means unset)
 * taking its place. Without it the parameters are not consulted at all.
 * Parameters named HTTP_* are client headers and are never consulted.
 * Returns -1 with st naming a parameter whose value is invalid. */
int config_request_auth(const struct cg_config *c, config_get_fn param, void *ctx,
                        struct auth_settings *out, struct cg_status *st);

/* Fills c with every default and then reads only setting `id` from `get`
 * (the environment when NULL), without the checks across settings: for
 * what needs one setting and no credential (cuegw --openapi). */
int config_load_one(struct cg_config *c, enum setting_id id, config_get_fn get, void *ctx,
                    struct cg_status *st);

/* Releases what config_load allocated (the policy). */
void config_free(struct cg_config *c);

/* An on/off setting (READ_ONLY, SETTINGS_FROM_PARAMS, ALLOW_NON_LOOPBACK,
 * ALLOW_CORE_DUMPS): exactly "1" or "0", as documented; true, yes, on and
 * the like are refused. Returns 0 with *out set, or -1. */
int config_parse_switch(const char *s, int *out);
/* What a refusal says after the variable's name. */
#define SWITCH_EXPECTED "expected 1 or 0 (not true/false or yes/no)"

/* "30s", "500ms", "2m", "1h" or plain seconds ("30", "0.5") -> ms.
 * Returns -1 for anything else, negative or over a day. */
int64_t config_parse_duration(const char *s);

#endif
