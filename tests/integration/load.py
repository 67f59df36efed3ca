"""Concurrent client load for the fault and soak tests: a bounded number of
threads, each sending requests one after another on fresh connections
until told to stop, every answer kept with its start and end times."""

import http.client
import itertools
import threading
import time


class Answer:
    """One request's outcome. status is None when the client gave up
    (timeout or connection error); error says why."""

    __slots__ = ("kind", "rid", "start", "end", "status", "body", "error")

    def __init__(self, kind, rid, start):
        self.kind, self.rid, self.start = kind, rid, start
        self.end = None
        self.status = self.body = self.error = None

    @property
    def elapsed(self):
        return self.end - self.start

    def __repr__(self):
        return "Answer(%s %s: %s %s%s, %.2fs)" % (
            self.kind, self.rid, self.status, (self.body or b"")[:120],
            " " + self.error if self.error else "", self.elapsed if self.end else -1)


def one(port, kind, method, path, body, headers, timeout, rid=""):
    """One HTTP request on a fresh connection, as an Answer."""
    a = Answer(kind, rid, time.time())
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        a.status, a.body = r.status, r.read()
    except Exception as e:  # a hang or a dropped connection is an outcome
        a.status, a.error = None, "%s: %s" % (type(e).__name__, e)
    finally:
        c.close()
    a.end = time.time()
    return a


class Load:
    """threads clients against port. pick(i) returns (kind, method, path,
    body bytes, headers) for the client's i-th request; an X-Request-Id
    naming the request is added. timeout bounds every request: a client
    that waits longer records the request as hung (status None). digest,
    when given, turns each Answer into what is kept (a long run keeps a
    verdict, not every body)."""

    def __init__(self, port, pick, threads, timeout, prefix="load", digest=None):
        self.port, self.pick, self.timeout, self.prefix = port, pick, timeout, prefix
        self.digest = digest or (lambda a: a)
        self.answers = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._counter = itertools.count()
        self._threads = [threading.Thread(target=self._client, args=(n,), daemon=True)
                         for n in range(threads)]

    def _client(self, n):
        i = 0
        while not self._stop.is_set():
            kind, method, path, body, headers = self.pick(i)
            i += 1
            rid = "%s-%d-%d" % (self.prefix, n, next(self._counter))
            headers = dict(headers, **{"X-Request-Id": rid})
            a = self.digest(one(self.port, kind, method, path, body, headers, self.timeout, rid))
            with self._lock:
                self.answers.append(a)

    def start(self):
        for t in self._threads:
            t.start()
        return self

    def answered(self):
        """The answers so far, in the order they ended (the clients go on)."""
        with self._lock:
            return list(self.answers)

    def stop(self):
        """Stops the clients after their current request; returns every
        answer, in the order they ended."""
        self._stop.set()
        for t in self._threads:
            t.join(self.timeout + 5)
        with self._lock:
            return list(self.answers)
