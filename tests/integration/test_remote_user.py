#!/usr/bin/python3
"""AUTH_MODE=remote-user through each front server, started from the shipped
configuration with its opt-in HTTP basic auth: the front checks the
credentials against a password file and passes the user to cuegw as
REMOTE_USER, and cuegw trusts only that.

  lighttpd           CUEGW_AUTH_CONF=lighttpd/cuegw-basic-auth.conf (mod_auth)
  nginx              cuegw-auth.conf -> conf/nginx-cuegw-basic-auth.conf
  apache-fcgid       -DCUEGW_BASIC_AUTH with apache/cuegw-fcgid.conf
  apache-proxy-fcgi  -DCUEGW_BASIC_AUTH with apache/cuegw-proxy-fcgi.conf

Each runs with ACCESS_POLICY "user alice show.ShowInterface/GetShows" and
no default, and with a JWT secret configured too (which remote-user mode
must ignore).

Usage: test_remote_user.py --cuegw BUILD/cuegw --schema BUILD/gen/schema.pb
"""

import base64
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import front_apache  # noqa: E402
import front_nginx  # noqa: E402
import auth_matrix  # noqa: E402
import harness  # noqa: E402

SECRET = "remote-user-jwt-secret-0123456789"
USERS = {"alice": "alice-password", "bob": "bob-password"}
POLICY = "# only alice, only GetShows; no default\nuser alice show.ShowInterface/GetShows\n"
SHOWS = "/show.ShowInterface/GetShows"
JOBS = "/job.JobInterface/GetJobs"
KINDS = ["lighttpd", "nginx", "apache-fcgid", "apache-proxy-fcgi"]



def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def start(kind, args, standin, policy):
    common = {"CUEBOT_ENDPOINT": standin.endpoint, "AUTH_MODE": "remote-user",
              "ACCESS_POLICY": policy, "LOG_LEVEL": "info"}
    if kind == "lighttpd":
        return harness.Lighttpd(args.cuegw, dict(common, JWT_SECRET=SECRET, URL_PREFIX="/cue"),
                                workers=1, basic_auth=USERS).start(), "/cue"
    if kind == "nginx":
        return front_nginx.Nginx(args.cuegw, dict(common, SETTINGS_FROM_PARAMS="1"),
                                 {"JWT_SECRET": SECRET}, workers=1, basic_auth=USERS).start(), ""
    if kind == "apache-fcgid":
        return front_apache.ApacheFcgid(args.cuegw, dict(common, URL_PREFIX="/cue"),
                                        {"JWT_SECRET": SECRET}, workers=1,
                                        basic_auth=USERS).start(), "/cue"
    return front_apache.ApacheProxyFcgi(args.cuegw, common, {"JWT_SECRET": SECRET}, workers=1,
                                        basic_auth=USERS).start(), ""


def code_of(r):
    try:
        return json.loads(r.body).get("code")
    except (ValueError, AttributeError):
        return None


def run_front(c, kind, front, prefix):
    def post(path, headers):
        h = {"Content-Type": "application/json"}
        h.update(headers)
        return harness.request(front.port, "POST", prefix + path, "{}", h, timeout=30)

    def from_front(r):
        # The front's own refusal (basic auth), not cuegw's Bearer one.
        return r.status == 401 and (r.header("www-authenticate") or "").startswith("Basic")

    alice = {"Authorization": basic("alice", USERS["alice"])}
    r = post(SHOWS, alice)
    ok = r.status == 200
    if ok:
        try:
            ok = isinstance(json.loads(r.body)["shows"]["shows"], list)
        except (ValueError, KeyError, TypeError):
            ok = False
    c.check(ok, "%s: valid basic credentials -> 200 GetShows" % kind, (r.status, r.body[:300]))
    r = post(JOBS, alice)
    c.check(r.status == 403 and code_of(r) == 7,
            "%s: ACCESS_POLICY names REMOTE_USER: alice -> 403 on GetJobs" % kind,
            (r.status, r.body[:300]))
    r = post(SHOWS, {"Authorization": basic("bob", USERS["bob"])})
    c.check(r.status == 403 and code_of(r) == 7,
            "%s: bob, valid but not in the policy, -> 403 (REMOTE_USER is the user)" % kind,
            (r.status, r.body[:300]))
    r = post(SHOWS, {"Authorization": basic("bob", USERS["bob"]), "Remote-User": "alice"})
    c.check(r.status == 403,
            "%s: bob with a forged Remote-User: alice header stays bob (403)" % kind,
            (r.status, r.body[:300]))
    r = post(SHOWS, {"Authorization": basic("alice", "wrong-password")})
    c.check(from_front(r), "%s: wrong password -> 401 from the front" % kind,
            (r.status, r.headers))
    r = post(SHOWS, {"Authorization": basic("mallory", "alice-password")})
    c.check(from_front(r), "%s: unknown user -> 401 from the front" % kind, (r.status, r.headers))
    r = post(SHOWS, {})
    c.check(from_front(r), "%s: no credentials -> 401" % kind, (r.status, r.headers))
    r = post(SHOWS, {"Remote-User": "alice"})
    c.check(r.status == 401, "%s: a forged Remote-User header alone -> 401" % kind,
            (r.status, r.body[:300]))
    r = post(SHOWS, {"Authorization": "Bearer " + harness.sign_jwt(SECRET, {"sub": "alice"})})
    c.check(r.status == 401, "%s: a valid bearer JWT alone -> 401 (tokens are ignored)" % kind,
            (r.status, r.body[:300]))


def run(c, args):
    standin = harness.Standin(args.schema).start()
    policy = auth_matrix.policy_file(POLICY)

    def whole(kind):
        front, prefix = start(kind, args, standin, policy)
        run_front(c, kind, front, prefix)
        front.stop()

    for kind in KINDS:
        if not args.only or args.only == kind:
            harness.run_step(c, kind, lambda: whole(kind))


def main():
    return harness.suite_main("integration-remote-user", run,
                              lambda ap: ap.add_argument("--only", choices=KINDS))

if __name__ == "__main__":
    sys.exit(main())
