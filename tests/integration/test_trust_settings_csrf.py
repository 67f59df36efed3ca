#!/usr/bin/python3
"""Trust boundaries (issue 12), straight over FastCGI to a `cuegw --listen`
pool and through each shipped front started from its shipped files:

Per-request settings are opt-in. JWT_SECRET, EXPIRING_JWT_SECRET,
AUTH_TOKEN, EXPIRING_AUTH_TOKEN, JWT_LEEWAY and READ_ONLY arrive as FastCGI
parameters only to a process run with SETTINGS_FROM_PARAMS=1; otherwise
whoever reaches the socket (every local user, for a loopback TCP port)
could pick the secret. A parameter named HTTP_* (a client's header) is
never a setting, whatever the process runs with.

  raw FastCGI        each setting sent as a parameter to a pool without
                     SETTINGS_FROM_PARAMS changes nothing; HTTP_<name>
                     changes nothing in a pool with it
  each front         as shipped (SETTINGS_FROM_PARAMS=1, the secrets in
                     the front's file): a client header of each setting's
                     name, in both spellings, changes nothing
  nginx, Apache      a pool run without SETTINGS_FROM_PARAMS ignores the
  mod_proxy_fcgi     settings its front sends (lighttpd and mod_fcgid
                     spawn cuegw with SETTINGS_FROM_PARAMS=1 themselves)

Cross-site requests (SPEC §2). A request from a page of another site
(Origin not allowed and not the request's own; or Sec-Fetch-Site:
cross-site without an allowed Origin; Origin: null unless listed) is
answered 403, code 7, before authentication, and the stand-in Cuebot never
sees it. Each request carries an X-Request-Id of its own, which cuegw
sends to Cuebot: "never reached Cuebot" means no recorded call has it.
Token mode and AUTH_MODE=remote-user (the front's basic auth, the
browser's cached credentials, a text/plain form post), raw and through
lighttpd, nginx + spawn-fcgi, Apache mod_fcgid and mod_proxy_fcgi.

Usage: test_trust_settings_csrf.py --cuegw BUILD/cuegw --schema BUILD/gen/schema.pb
           [--only raw|lighttpd|nginx|apache-fcgid|apache-proxy-fcgi]
"""

import base64
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import auth_matrix  # noqa: E402
import fcgi_client  # noqa: E402
import front_apache  # noqa: E402
import front_nginx  # noqa: E402
import harness  # noqa: E402

SECRET = "trust-operator-secret-0123456789abcdef"
ATTACKER = "trust-attacker-secret-0123456789abcdef"
STATIC = "trust-attacker-static-token-0123456789"
USERS = {"alice": "alice-password"}
POLICY = "role admin *\nuser alice *\ndefault show.ShowInterface/Get*\n"
SHOWS = "/show.ShowInterface/GetShows"
KILL = "/job.JobInterface/Kill"
EVIL = "https://evil.example"
APP = "https://app.example"
# A cross-site <form enctype="text/plain"> whose one field is named
# '{"pad":"' with the value '"}' posts this: JSON that cuegw reads.
FORM_BODY = '{"pad":"="}'
KINDS = ["raw", "lighttpd", "nginx", "apache-fcgid", "apache-proxy-fcgi"]

_rids = itertools.count(1)


def new_rid(tag):
    return "trust-%s-%d-%d" % (tag, os.getpid(), next(_rids))


def admin_token(secret, **claims):
    c = {"sub": "mallory", "role": "admin"}
    c.update(claims)
    return harness.sign_jwt(secret, c)


def expired_token(secret):
    return admin_token(secret, exp=int(time.time()) - 3600)


def code_of(body):
    try:
        return json.loads(body).get("code")
    except (ValueError, AttributeError):
        return None


def reached(standin, rid):
    """Whether Cuebot received a call carrying this request id."""
    return any(call["metadata"].get("x-request-id") == rid for call in standin.calls())


# Each per-request setting: the parameters (or headers) an attacker sends,
# the Authorization it comes with, the path, and what a process that
# ignores them answers (with the process's own settings: JWT_SECRET=SECRET,
# READ_ONLY=1).
def setting_cases():
    return [
        ("JWT_SECRET", ATTACKER, "Bearer " + admin_token(ATTACKER), SHOWS, 401),
        ("EXPIRING_JWT_SECRET", ATTACKER, "Bearer " + admin_token(ATTACKER), SHOWS, 401),
        ("AUTH_TOKEN", STATIC, "Bearer " + STATIC, SHOWS, 401),
        ("EXPIRING_AUTH_TOKEN", STATIC, "Bearer " + STATIC, SHOWS, 401),
        ("JWT_LEEWAY", "86400", "Bearer " + expired_token(SECRET), SHOWS, 401),
        ("READ_ONLY", "0", "Bearer " + admin_token(SECRET), KILL, 403),
    ]


def header_spellings(name):
    """How a client may spell a header that a front turns into HTTP_<name>:
    as the setting is written, and in the usual header style."""
    return [name, "-".join(w.capitalize() for w in name.split("_"))]


# ---- raw FastCGI --------------------------------------------------------


def start_pool(args, standin, address, extra):
    env = {"PATH": os.environ.get("PATH", ""), "CUEBOT_ENDPOINT": standin.endpoint,
           "JWT_SECRET": SECRET, "READ_ONLY": "1", "LOG_LEVEL": "warn",
           "ACCESS_POLICY": auth_matrix.policy_file(POLICY)}
    env.update({k: os.environ[k] for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")
                if k in os.environ})
    env.update(extra)
    log = tempfile.NamedTemporaryFile(prefix="cuegw-trust-", suffix=".log", delete=False)
    proc = subprocess.Popen([args.cuegw, "--listen", address if isinstance(address, str)
                             else "%s:%d" % address, "--workers", "1"],
                            env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    log.close()

    class Pool:
        def stop(self):
            harness.stop_process(proc, 10)

        def error_log(self):
            return harness.read_logs(log.name)
    pool = Pool()
    harness._started.append(pool)
    harness.servers.append(pool)
    ok = harness.wait_until(lambda: _answers(address), 60, 0.05)
    if not ok:
        raise RuntimeError("cuegw --listen %r did not answer:\n%s" % (address, pool.error_log()))
    return pool


def _answers(address):
    try:
        fcgi_client.request(address, {"REQUEST_METHOD": "GET", "REQUEST_URI": "/"}, timeout=2)
        return True
    except OSError:
        return False


def fcgi(address, path, params, authorization=None, rid=None, body=b"{}"):
    p = {"REQUEST_METHOD": "POST", "REQUEST_URI": path, "CONTENT_TYPE": "application/json",
         "HTTP_HOST": "gw.example", "HTTP_X_REQUEST_ID": rid or new_rid("raw")}
    if authorization:
        p["HTTP_AUTHORIZATION"] = authorization
    p.update(params)
    status, headers, out, _ = fcgi_client.request(address, p, body)
    return status, headers, out


def raw_settings(c, args, standin):
    port = harness.free_port()
    address = ("127.0.0.1", port)
    # The bug as reported: a loopback TCP pool with JWT_SECRET, READ_ONLY=1
    # and ACCESS_POLICY in its environment, no SETTINGS_FROM_PARAMS.
    start_pool(args, standin, address, {})
    good = "Bearer " + admin_token(SECRET)
    status, _, body = fcgi(address, SHOWS, {}, good)
    c.check(status == 200, "raw: the operator's own token works", (status, body[:200]))
    for name, value, auth, path, want in setting_cases():
        rid = new_rid("raw-" + name)
        status, _, body = fcgi(address, path, {name: value}, auth, rid)
        c.check(status == want and not reached(standin, rid),
                "raw: parameter %s=%s without SETTINGS_FROM_PARAMS is ignored (%d, Cuebot "
                "not called)" % (name, value[:12], want), (status, body[:200]))
    rid = new_rid("raw-combo")
    status, _, body = fcgi(address, KILL, {"JWT_SECRET": ATTACKER, "READ_ONLY": "0"},
                           "Bearer " + admin_token(ATTACKER), rid)
    c.check(status == 401 and not reached(standin, rid),
            "raw: JWT_SECRET and READ_ONLY=0 with a token of that secret: 401, no Kill",
            (status, body[:200]))
    rid = new_rid("raw-blank")
    status, _, body = fcgi(address, SHOWS, {"JWT_SECRET": ""}, good, rid)
    c.check(status == 200 and reached(standin, rid),
            "raw: a blank JWT_SECRET parameter does not unset the process's secret",
            (status, body[:200]))

    # Opted in: the parameters are settings (the control that shows the
    # path is live), but never under their HTTP_ names.
    sock = os.path.join(tempfile.mkdtemp(prefix="cuegw-trust-"), "cuegw.sock")
    start_pool(args, standin, sock, {"SETTINGS_FROM_PARAMS": "1"})
    status, _, body = fcgi(sock, SHOWS, {"JWT_SECRET": ATTACKER}, "Bearer " + admin_token(ATTACKER))
    c.check(status == 200, "raw: with SETTINGS_FROM_PARAMS=1 the JWT_SECRET parameter is read",
            (status, body[:200]))
    for name, value, auth, path, want in setting_cases():
        rid = new_rid("raw-http-" + name)
        status, _, body = fcgi(sock, path, {"HTTP_" + name: value}, auth, rid)
        c.check(status == want and not reached(standin, rid),
                "raw: parameter HTTP_%s is never a setting, even with SETTINGS_FROM_PARAMS=1"
                % name, (status, body[:200]))


def raw_cross_site(c, args, standin):
    for mode in ("token", "remote-user"):
        sock = os.path.join(tempfile.mkdtemp(prefix="cuegw-trust-"), "cuegw.sock")
        extra = {"CORS_ALLOWED_ORIGINS": APP, "READ_ONLY": ""}
        creds = {"HTTP_AUTHORIZATION": "Bearer " + admin_token(SECRET)}
        if mode == "remote-user":
            extra = {"AUTH_MODE": "remote-user", "CORS_ALLOWED_ORIGINS": "%s, *" % APP,
                     "READ_ONLY": ""}
            creds = {"REMOTE_USER": "alice"}
        pool = start_pool(args, standin, sock, extra)
        own = {"HTTP_HOST": "gw.example:8443", "HTTPS": "on"}
        cases = [
            ("no Origin", {}, 200),
            ("own origin", dict(own, HTTP_ORIGIN="https://GW.example:8443"), 200),
            ("listed origin", {"HTTP_ORIGIN": APP}, 200),
            ("another origin", {"HTTP_ORIGIN": EVIL}, 403),
            ("own host over http", dict(own, HTTP_ORIGIN="http://gw.example:8443"), 403),
            ("Origin: null", {"HTTP_ORIGIN": "null"}, 403),
            ("Sec-Fetch-Site: cross-site, no Origin", {"HTTP_SEC_FETCH_SITE": "cross-site"}, 403),
            ("Sec-Fetch-Site: cross-site, own origin",
             dict(own, HTTP_ORIGIN="https://gw.example:8443", HTTP_SEC_FETCH_SITE="cross-site"), 403),
        ]
        for what, headers, want in cases:
            rid = new_rid("raw-xs")
            params = dict(creds, CONTENT_TYPE="text/plain")
            params.update(headers)
            status, hdrs, body = fcgi(sock, KILL, params, rid=rid, body=FORM_BODY.encode())
            got = reached(standin, rid)
            if want == 200:
                ok = status == 200 and got
            else:
                ok = (status == 403 and code_of(body) == 7 and b"origin" in body
                      and "access-control-allow-origin" not in hdrs and not got)
            c.check(ok, "raw %s: %s -> %d%s" % (mode, what, want,
                                                "" if want == 200 else ", Cuebot not called"),
                    (status, hdrs, body[:200], got))
        rid = new_rid("raw-xs-vary")
        status, hdrs, body = fcgi(sock, SHOWS, dict(creds, HTTP_ORIGIN=EVIL), rid=rid)
        c.check(status == 403 and "origin" in (hdrs.get("vary") or "").lower(),
                "raw %s: the refusal says Vary: Origin" % mode, (status, hdrs))
        if mode == "token":
            status, hdrs, body = fcgi(sock, SHOWS, {"HTTP_ORIGIN": EVIL,
                                                    "HTTP_AUTHORIZATION": "Bearer wrong"})
            c.check(status == 403 and code_of(body) == 7,
                    "raw token: a bad token from another origin is 403, not 401 (no oracle)",
                    (status, body[:200]))
            status, hdrs, body = fcgi(sock, "/metrics", dict(creds, HTTP_ORIGIN=EVIL,
                                                             REQUEST_METHOD="GET"))
            c.check(status == 403 and code_of(body) == 7, "raw token: /metrics too",
                    (status, body[:200]))
            status, hdrs, body = fcgi(sock, SHOWS, {
                "REQUEST_METHOD": "OPTIONS", "HTTP_ORIGIN": APP,
                "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST"})
            c.check(status == 204 and hdrs.get("access-control-allow-origin") == APP,
                    "raw token: the preflight of a listed origin still answers 204",
                    (status, hdrs))
        pool.stop()

    # Token mode with the wildcard: every origin but "null" may call, as
    # before (a bearer token is not ambient).
    sock = os.path.join(tempfile.mkdtemp(prefix="cuegw-trust-"), "cuegw.sock")
    pool = start_pool(args, standin, sock, {"READ_ONLY": ""})
    creds = {"HTTP_AUTHORIZATION": "Bearer " + admin_token(SECRET)}
    rid = new_rid("raw-xs-wild")
    status, hdrs, body = fcgi(sock, SHOWS, dict(creds, HTTP_ORIGIN=EVIL), rid=rid)
    c.check(status == 200 and hdrs.get("access-control-allow-origin") == "*" and reached(standin, rid),
            "raw token, CORS_ALLOWED_ORIGINS=*: another origin may call", (status, hdrs, body[:200]))
    rid = new_rid("raw-xs-wild-null")
    status, hdrs, body = fcgi(sock, SHOWS, dict(creds, HTTP_ORIGIN="null"), rid=rid)
    c.check(status == 403 and not reached(standin, rid),
            "raw token, CORS_ALLOWED_ORIGINS=*: Origin: null is not covered by the wildcard",
            (status, hdrs, body[:200]))
    pool.stop()


# ---- fronts ---------------------------------------------------------------


def start_front(kind, args, standin, env, params, basic_auth=None):
    """A front from its shipped files, as each suite starts it: lighttpd and
    mod_fcgid spawn cuegw with SETTINGS_FROM_PARAMS=1 (their configs set
    it), the secrets arrive from the front's file."""
    if kind == "lighttpd":
        settings = dict(env, **params)
        return harness.Lighttpd(args.cuegw, settings, workers=1, basic_auth=basic_auth).start()
    if kind == "nginx":
        return front_nginx.Nginx(args.cuegw, env, params, workers=1,
                                 basic_auth=basic_auth).start()
    if kind == "apache-fcgid":
        return front_apache.ApacheFcgid(args.cuegw, env, params, workers=1,
                                        basic_auth=basic_auth).start()
    return front_apache.ApacheProxyFcgi(args.cuegw, env, params, workers=1,
                                        basic_auth=basic_auth).start()


def post(front, path, headers, body="{}", content_type="application/json", method="POST"):
    h = {"Content-Type": content_type, "X-Request-Id": new_rid(front.name)}
    h.update(headers)
    r = harness.request(front.port, method, path, body if method == "POST" else None, h,
                        timeout=30)
    r.rid = h["X-Request-Id"]
    return r


def front_headers(c, kind, front, standin):
    """Shipped mode (SETTINGS_FROM_PARAMS=1): no client header is a setting."""
    r = post(front, SHOWS, {"Authorization": "Bearer " + admin_token(SECRET)})
    c.check(r.status == 200, "%s: the operator's token works" % kind, (r.status, r.body[:200]))
    for name, value, auth, path, want in setting_cases():
        for header in header_spellings(name):
            r = post(front, path, {"Authorization": auth, header: value})
            c.check(r.status == want and not reached(standin, r.rid),
                    "%s: header \"%s: %s\" is not a setting (%d, Cuebot not called)"
                    % (kind, header, value[:12], want), (r.status, r.body[:200]))


def front_opt_out(c, kind, args, standin):
    """A pool run without SETTINGS_FROM_PARAMS, its front sending a setting
    anyway (a leftover secrets file, say): it is ignored. One setting at a
    time, each by a graceful reload of the front with its file rewritten."""
    env = {"CUEBOT_ENDPOINT": standin.endpoint, "JWT_SECRET": SECRET, "READ_ONLY": "1",
           "ACCESS_POLICY": auth_matrix.policy_file(POLICY), "SETTINGS_FROM_PARAMS": "0"}
    front = start_front(kind, args, standin, env, {})
    for name, value, auth, path, want in setting_cases():
        front.set_params({name: value})
        front.reload()
        r = post(front, SHOWS, {"Authorization": "Bearer " + admin_token(SECRET)})
        c.check(r.status == 200, "%s without SETTINGS_FROM_PARAMS, the front sending %s: the "
                "pool's own secret works" % (kind, name), (r.status, r.body[:200]))
        r = post(front, path, {"Authorization": auth})
        c.check(r.status == want and not reached(standin, r.rid),
                "%s without SETTINGS_FROM_PARAMS: %s from the front is ignored (%d, Cuebot "
                "not called)" % (kind, name, want), (r.status, r.body[:200]))
    front.stop()


def own_origin(front):
    return "http://127.0.0.1:%d" % front.port


def check_refused(c, what, r, standin):
    c.check(r.status == 403 and code_of(r.body) == 7 and b"origin" in r.body
            and r.header("access-control-allow-origin") is None
            and "origin" in (r.header("vary") or "").lower()
            and not reached(standin, r.rid),
            what + " -> 403, code 7, Vary: Origin, Cuebot not called",
            (r.status, r.headers, r.body[:200]))


def check_served(c, what, r, standin):
    c.check(r.status == 200 and reached(standin, r.rid), what + " -> 200, reaches Cuebot",
            (r.status, r.body[:200]))


def front_cross_site_token(c, kind, front, standin):
    auth = {"Authorization": "Bearer " + admin_token(SECRET)}
    check_served(c, "%s token: no Origin" % kind, post(front, SHOWS, auth), standin)
    check_served(c, "%s token: its own origin" % kind,
                 post(front, SHOWS, dict(auth, Origin=own_origin(front))), standin)
    r = post(front, SHOWS, dict(auth, Origin=APP))
    check_served(c, "%s token: a listed origin" % kind, r, standin)
    c.check(r.header("access-control-allow-origin") == APP,
            "%s token: and it gets Access-Control-Allow-Origin" % kind, r.headers)
    check_refused(c, "%s token: another origin" % kind,
                  post(front, SHOWS, dict(auth, Origin=EVIL)), standin)
    check_refused(c, "%s token: Origin: null" % kind,
                  post(front, SHOWS, dict(auth, Origin="null")), standin)
    check_refused(c, "%s token: Sec-Fetch-Site: cross-site without Origin" % kind,
                  post(front, SHOWS, dict(auth, **{"Sec-Fetch-Site": "cross-site"})), standin)
    r = post(front, SHOWS, {"Authorization": "Bearer wrong", "Origin": EVIL})
    c.check(r.status == 403, "%s token: a bad token from another origin -> 403, not 401" % kind,
            (r.status, r.body[:200]))
    r = post(front, "/metrics", dict(auth, Origin=EVIL), method="GET")
    c.check(r.status == 403 and code_of(r.body) == 7, "%s token: /metrics from another origin "
            "-> 403" % kind, (r.status, r.body[:200]))


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def front_cross_site_remote_user(c, kind, args, standin):
    env = {"CUEBOT_ENDPOINT": standin.endpoint, "AUTH_MODE": "remote-user",
           "ACCESS_POLICY": auth_matrix.policy_file(POLICY),
           "CORS_ALLOWED_ORIGINS": "%s, *" % APP}
    if kind == "nginx":
        env["SETTINGS_FROM_PARAMS"] = "1"
    front = start_front(kind, args, standin, env, {"JWT_SECRET": SECRET}, basic_auth=USERS)
    cached = {"Authorization": basic("alice", USERS["alice"])}

    def form(headers):
        # What a browser's <form enctype="text/plain" method="post"> sends.
        return post(front, KILL, dict(cached, **headers), body=FORM_BODY,
                    content_type="text/plain")
    check_served(c, "%s remote-user: a form without Origin (no browser)" % kind, form({}),
                 standin)
    check_served(c, "%s remote-user: a form from its own origin" % kind,
                 form({"Origin": own_origin(front)}), standin)
    check_served(c, "%s remote-user: a form from a listed origin" % kind,
                 form({"Origin": APP}), standin)
    check_refused(c, "%s remote-user: a form from another origin (\"*\" is listed too)" % kind,
                  form({"Origin": EVIL, "Sec-Fetch-Site": "cross-site"}), standin)
    check_refused(c, "%s remote-user: Origin only, another origin" % kind,
                  form({"Origin": EVIL}), standin)
    check_refused(c, "%s remote-user: Origin: null" % kind, form({"Origin": "null"}), standin)
    check_refused(c, "%s remote-user: Sec-Fetch-Site: cross-site without Origin" % kind,
                  form({"Sec-Fetch-Site": "cross-site"}), standin)
    check_refused(c, "%s remote-user: same host, another port" % kind,
                  form({"Origin": "http://127.0.0.1:%d" % (front.port + 1)}), standin)
    r = post(front, "/metrics", dict(cached, Origin=EVIL), method="GET")
    c.check(r.status == 403 and code_of(r.body) == 7,
            "%s remote-user: /metrics from another origin -> 403" % kind, (r.status, r.body[:200]))
    front.stop()


def run_front(c, kind, args, standin):
    env = {"CUEBOT_ENDPOINT": standin.endpoint, "READ_ONLY": "1",
           "ACCESS_POLICY": auth_matrix.policy_file(POLICY), "CORS_ALLOWED_ORIGINS": APP}
    if kind == "nginx":
        env["SETTINGS_FROM_PARAMS"] = "1"     # the pool as conf/ ships it behind nginx
    front = start_front(kind, args, standin, env, {"JWT_SECRET": SECRET})
    front_headers(c, kind, front, standin)
    front_cross_site_token(c, kind, front, standin)
    front.stop()
    front_cross_site_remote_user(c, kind, args, standin)
    if kind in ("nginx", "apache-proxy-fcgi"):
        front_opt_out(c, kind, args, standin)


def run(c, args):
    standin = harness.Standin(args.schema).start()
    if not args.only or args.only == "raw":
        harness.run_step(c, "raw-settings", lambda: raw_settings(c, args, standin))
        harness.run_step(c, "raw-cross-site", lambda: raw_cross_site(c, args, standin))
    for kind in KINDS[1:]:
        if not args.only or args.only == kind:
            harness.run_step(c, kind, lambda: run_front(c, kind, args, standin))


def main():
    return harness.suite_main("trust-settings-csrf", run,
                              lambda ap: ap.add_argument("--only", choices=KINDS))


if __name__ == "__main__":
    sys.exit(main())
