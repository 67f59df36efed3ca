"""Zero-downtime secret rotation under load, through any front server that
has set_params() (rewrite the secrets the web server hands to cuegw) and
reload() (its graceful reload). The runbook, as the README gives it:

  1. the new secret becomes JWT_SECRET (and AUTH_TOKEN), the old one
     EXPIRING_JWT_SECRET (EXPIRING_AUTH_TOKEN); graceful reload;
  2. clients switch to tokens of the new secret;
  3. the expiring values are removed; graceful reload.

Load runs the whole time, half the clients with JWTs and half with static
tokens. Every request must succeed. A request on a kept-alive connection
that the server closed during a reload, before answering anything, is
retried once on a new connection, as HTTP clients do; that retry is
counted, never hidden. After step 3, old credentials must get 401 and new
ones 200.
"""

import http.client
import threading
import time

import harness
from harness import sign_jwt

OLD_SECRET, NEW_SECRET = "rotation-old-secret-0123456789", "rotation-new-secret-9876543210"
OLD_TOKEN, NEW_TOKEN = "rotation-old-static-token-aaaa", "rotation-new-static-token-bbbb"
PATH = "/show.ShowInterface/GetShows"


def initial_params():
    return {"JWT_SECRET": OLD_SECRET, "EXPIRING_JWT_SECRET": "", "AUTH_TOKEN": OLD_TOKEN,
            "EXPIRING_AUTH_TOKEN": ""}


class Load:
    def __init__(self, port, clients):
        self.port = port
        self.clients = clients
        self.creds = {"jwt": "Bearer " + sign_jwt(OLD_SECRET, {"sub": "load", "exp": int(time.time()) + 3600}),
                      "static": "Bearer " + OLD_TOKEN}
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.ok = 0
        self.retried = 0
        self.errors = []

    def served(self):
        with self.lock:
            return self.ok

    def switch_to_new(self):
        with self.lock:
            self.creds = {"jwt": "Bearer " + sign_jwt(NEW_SECRET, {"sub": "load", "exp": int(time.time()) + 3600}),
                          "static": "Bearer " + NEW_TOKEN}

    def _one(self, conn, kind):
        with self.lock:
            auth = self.creds[kind]
        conn.request("POST", PATH, body=b"{}", headers={"Authorization": auth,
                                                         "Content-Type": "application/json"})
        r = conn.getresponse()
        body = r.read()
        return r.status, body

    def _client(self, kind):
        conn, fresh = None, True
        while not self.stop.is_set():
            if conn is None:
                conn, fresh = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30), True
            try:
                status, body = self._one(conn, kind)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as e:
                conn.close()
                conn = None
                if fresh:
                    with self.lock:
                        self.errors.append("%s: %r on a new connection" % (kind, e))
                else:
                    with self.lock:
                        self.retried += 1
                continue
            except OSError as e:
                conn.close()
                conn = None
                with self.lock:
                    self.errors.append("%s: %r" % (kind, e))
                time.sleep(0.05)
                continue
            fresh = False
            with self.lock:
                if status == 200:
                    self.ok += 1
                else:
                    self.errors.append("%s: HTTP %d %s" % (kind, status, body[:120]))
        if conn is not None:
            conn.close()

    def start(self):
        self.threads = [threading.Thread(target=self._client, args=("jwt" if i % 2 == 0 else "static",))
                        for i in range(self.clients)]
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(60)


PHASE = 200            # requests served in each phase of the runbook
PHASE_BOUND = 120.0    # seconds; only when to give up on a phase


def run(c, label, front, post, clients=8):
    """front: set_params/reload, and wait_old_gone() where a reload leaves
    old processes serving what they hold; post(path, headers) -> Response.
    Each phase of the runbook lasts until the load has had PHASE more
    requests served, however busy the machine is. Clients switch to the
    new credentials only once nothing of the configuration of before the
    first reload serves (a kept-alive connection included), which knows
    only the old ones."""
    load = Load(front.port, clients)
    load.start()

    def phase(name):
        want = load.served() + PHASE
        ok = harness.wait_until(lambda: load.served() >= want or load.errors, PHASE_BOUND, 0.02)
        c.check(ok and load.served() >= want, "%s: %d requests served while %s" % (label, PHASE, name),
                (load.served(), want, load.errors[:3]))

    def settle(name):
        gone = getattr(front, "wait_old_gone", lambda: True)()
        c.check(gone, "%s: after %s, the processes of before it have finished" % (label, name))

    try:
        phase("the old credentials are in use")
        front.set_params({"JWT_SECRET": NEW_SECRET, "EXPIRING_JWT_SECRET": OLD_SECRET,
                          "AUTH_TOKEN": NEW_TOKEN, "EXPIRING_AUTH_TOKEN": OLD_TOKEN})
        front.reload()
        phase("the new secrets are in place beside the expiring ones")
        settle("the first reload")
        load.switch_to_new()
        phase("the clients use the new credentials")
        front.set_params({"JWT_SECRET": NEW_SECRET, "EXPIRING_JWT_SECRET": "",
                          "AUTH_TOKEN": NEW_TOKEN, "EXPIRING_AUTH_TOKEN": ""})
        front.reload()
        phase("only the new secrets are in place")
        settle("the second reload")
    finally:
        load.finish()
    print("%s rotation: %d requests served, %d unexpected failures, %d stale keep-alive retries"
          % (label, load.ok, len(load.errors), load.retried))
    c.check(load.ok > 100, "%s: the load ran (%d requests)" % (label, load.ok), load.ok)
    c.check(not load.errors, "%s: no request failed during the rotation" % label, load.errors[:5])
    old_jwt = "Bearer " + sign_jwt(OLD_SECRET, {"sub": "late", "exp": int(time.time()) + 600})
    new_jwt = "Bearer " + sign_jwt(NEW_SECRET, {"sub": "late", "exp": int(time.time()) + 600})
    for name, auth, want in (("old JWT", old_jwt, 401), ("old static token", "Bearer " + OLD_TOKEN, 401),
                             ("new JWT", new_jwt, 200), ("new static token", "Bearer " + NEW_TOKEN, 200)):
        r = post(PATH, {"Authorization": auth, "Content-Type": "application/json"})
        c.check(r.status == want, "%s: after the rotation, the %s gets %d" % (label, name, want), r.status)
    return load
