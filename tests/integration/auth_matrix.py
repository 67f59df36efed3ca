"""The authentication and authorization matrix (SPEC §2), run through any
front server: each case is an Authorization header (or none) and the
status the gateway must answer. Tokens are signed by python3-jwt, or built
by hand for the attacks it refuses to produce.

A front under test is started with these settings (as environment or as
per-request parameters, whichever the deployment uses):
  JWT_SECRET=SECRET  EXPIRING_JWT_SECRET=OLD_SECRET  AUTH_TOKEN=TOKEN
  EXPIRING_AUTH_TOKEN="" (blank: unset)  ACCESS_POLICY=<policy_file()>
"""

import base64
import hashlib
import hmac
import json
import os
import tempfile
import time

from harness import sign_jwt

SECRET = "matrix-secret-current-0123456789"
OLD_SECRET = "matrix-secret-expiring-9876543210"
TOKEN = "matrix-static-token-abcdefghijklmnop"

SETTINGS = {"JWT_SECRET": SECRET, "EXPIRING_JWT_SECRET": OLD_SECRET, "AUTH_TOKEN": TOKEN,
            "EXPIRING_AUTH_TOKEN": ""}

POLICY = """# the matrix's policy
role admin *
role reader */Get* */Find*
user carol show.ShowInterface/GetShows
default show.ShowInterface/GetShows
"""

READ = "/show.ShowInterface/GetShows"
WRITE = "/show.ShowInterface/CreateShow"
JOBS = "/job.JobInterface/GetJobs"


def policy_file(text=POLICY):
    """Writes a policy to a temporary file, readable by cuegw processes that
    run as the web server's user."""
    fd, path = tempfile.mkstemp(prefix="cuegw-policy-", suffix=".txt")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)
    return path


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_token(header, claims, key=None, digest=hashlib.sha256):
    head = _b64(json.dumps(header).encode())
    body = _b64(json.dumps(claims).encode())
    signing = (head + "." + body).encode()
    sig = _b64(hmac.new(key.encode(), signing, digest).digest()) if key is not None else ""
    return head + "." + body + "." + sig


def cases():
    now = int(time.time())
    admin = {"sub": "tester", "role": "admin"}

    def jwt(secret=SECRET, alg="HS256", **claims):
        c = dict(admin)
        c.setdefault("exp", now + 600)
        c.update(claims)
        c = {k: v for k, v in c.items() if v is not None}
        return "Bearer " + sign_jwt(secret, c, alg)

    valid = jwt()
    return [
        # (name, Authorization header or None, path, expected status)
        ("missing", None, READ, 401),
        ("empty header", "", READ, 401),
        ("malformed token", "Bearer not.a.jwt", READ, 401),
        ("two-part token", "Bearer " + valid.split()[1].rsplit(".", 1)[0], READ, 401),
        ("wrong scheme", "Basic " + base64.b64encode(b"user:pass").decode(), READ, 401),
        ("token scheme", "Token " + valid.split()[1], READ, 401),
        ("lower-case bearer", "bearer " + valid.split()[1], READ, 200),
        ("wrong secret", jwt(secret="not-the-secret"), READ, 401),
        ("expired", jwt(exp=now - 120), READ, 401),
        ("not yet valid", jwt(nbf=now + 600), READ, 401),
        ("alg none", "Bearer " + hand_token({"alg": "none", "typ": "JWT"}, dict(admin, exp=now + 600)), READ, 401),
        ("alg None signed", "Bearer " + hand_token({"alg": "None", "typ": "JWT"}, dict(admin, exp=now + 600), SECRET), READ, 401),
        ("RS256 confusion", "Bearer " + hand_token({"alg": "RS256", "typ": "JWT"}, dict(admin, exp=now + 600), SECRET), READ, 401),
        ("tampered payload", "Bearer " + ".".join([valid.split()[1].split(".")[0],
                                                  _b64(json.dumps(dict(admin, role="admin", sub="mallory", exp=now + 600)).encode()),
                                                  valid.split()[1].split(".")[2]]), READ, 401),
        ("exp as string", "Bearer " + hand_token({"alg": "HS256", "typ": "JWT"}, dict(admin, exp=str(now + 600)), SECRET), READ, 401),
        ("HS256 valid", jwt(alg="HS256"), READ, 200),
        ("HS384 valid", jwt(alg="HS384"), READ, 200),
        ("HS512 valid", jwt(alg="HS512"), READ, 200),
        ("no exp", jwt(exp=None), READ, 200),
        ("expiring secret accepted", jwt(secret=OLD_SECRET), READ, 200),
        ("blank expiring token ignored", "Bearer ", READ, 401),
        ("token signed with empty secret", "Bearer " + hand_token({"alg": "HS256", "typ": "JWT"}, dict(admin, exp=now + 600), ""), READ, 401),
        ("static token", "Bearer " + TOKEN, READ, 200),
        ("static token prefix", "Bearer " + TOKEN[:-1], READ, 401),
        ("static token longer", "Bearer " + TOKEN + "x", READ, 401),
        # Over cuegw's 8 KiB cap; a front server with a smaller header limit
        # may refuse it first (nginx 400, lighttpd 431), which is as good.
        ("oversized token", "Bearer " + "a" * 12000, READ, (401, 400, 431)),
        ("policy: admin writes", jwt(), WRITE, 200),
        ("policy: reader reads", jwt(role="reader"), JOBS, 200),
        ("policy: reader may not write", jwt(role="reader"), WRITE, 403),
        ("policy: named user", jwt(role=None, sub="carol"), READ, 200),
        ("policy: named user denied", jwt(role=None, sub="carol"), JOBS, 403),
        ("policy: default allows", jwt(role="nobody"), READ, 200),
        ("policy: default denies", jwt(role="nobody"), JOBS, 403),
        ("policy: static token falls to default", "Bearer " + TOKEN, JOBS, 403),
    ]


def run(c, label, post):
    """post(path, headers) -> harness.Response through the front."""
    for name, auth, path, want in cases():
        headers = {"Content-Type": "application/json"}
        if auth is not None:
            headers["Authorization"] = auth
        r = post(path, headers)
        if isinstance(want, tuple):
            c.check(r.status in want, "%s: %s -> %s" % (label, name, want), (r.status, r.body[:100]))
            continue
        ok = c.check(r.status == want, "%s: %s -> %d" % (label, name, want), (r.status, r.body[:200]))
        if ok and want == 401:
            c.check(r.header("www-authenticate") == "Bearer", "%s: %s carries WWW-Authenticate" % (label, name),
                    r.headers)
        if ok and want in (401, 403):
            try:
                code = json.loads(r.body)["code"]
            except (ValueError, KeyError, TypeError):
                code = None
            c.check(code == (16 if want == 401 else 7), "%s: %s has code %s" % (label, name, 16 if want == 401 else 7),
                    r.body[:200])
    # A client header that looks like a setting is a header, nothing more.
    forged = "Bearer " + sign_jwt("x", {"sub": "mallory", "role": "admin", "exp": int(time.time()) + 600})
    for hdr in ({"JWT-Secret": "x"}, {"Auth-Token": forged.split()[1]}, {"Expiring-Jwt-Secret": "x"}):
        h = {"Authorization": forged, "Content-Type": "application/json"}
        h.update(hdr)
        r = post(READ, h)
        c.check(r.status == 401, "%s: client header %s changes nothing" % (label, list(hdr)[0]), r.status)


def check_logs_clean(c, label, log_text):
    """No secret or token may reach a log line."""
    for what, value in (("JWT_SECRET", SECRET), ("EXPIRING_JWT_SECRET", OLD_SECRET), ("AUTH_TOKEN", TOKEN)):
        c.check(value not in log_text, "%s: %s never appears in the logs" % (label, what))
    now_token = sign_jwt(SECRET, {"sub": "x"}).split(".")[0]   # a JWT header prefix: eyJ...
    c.check(now_token not in log_text, "%s: no token appears in the logs" % label)
