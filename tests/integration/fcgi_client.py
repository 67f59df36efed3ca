"""A minimal FastCGI client (responder role), enough to talk to a
`cuegw --listen` pool directly, with no web server in between."""

import socket
import struct

BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = 1, 3, 4, 5, 6, 7


def _record(kind, content, request_id=1):
    out = b""
    for i in range(0, max(len(content), 1), 65535):
        chunk = content[i:i + 65535]
        pad = -len(chunk) % 8
        out += struct.pack(">BBHHBB", 1, kind, request_id, len(chunk), pad, 0) + chunk + b"\0" * pad
        if not content:
            break
    return out


def _length(n):
    return struct.pack(">B", n) if n < 128 else struct.pack(">I", n | 0x80000000)


def _params(params):
    body = b""
    for k, v in params.items():
        # bytes values pass as they are: hostile tests send what no str holds
        k, v = k.encode(), v if isinstance(v, bytes) else v.encode()
        body += _length(len(k)) + _length(len(v)) + k + v
    return body


def connect(address, timeout=30):
    s = socket.socket(socket.AF_UNIX) if isinstance(address, str) else socket.socket()
    s.settimeout(timeout)
    s.connect(address)
    return s


def request(address, params, body=b"", timeout=30):
    """Sends one request on a new connection; returns (status, headers dict,
    body bytes, stderr)."""
    s = connect(address, timeout)
    try:
        return request_on(s, params, body, keep=False)
    finally:
        s.close()


def request_on(s, params, body=b"", keep=True, request_id=1):
    """One request on an open connection; with keep, FCGI_KEEP_CONN asks
    the responder to leave the connection open for the next one."""
    params = dict(params)
    params.setdefault("CONTENT_LENGTH", str(len(body)))
    msg = _record(BEGIN_REQUEST, struct.pack(">HB5x", 1, 1 if keep else 0), request_id)
    msg += _record(PARAMS, _params(params), request_id) + _record(PARAMS, b"", request_id)
    msg += (_record(STDIN, body, request_id) if body else b"") + _record(STDIN, b"", request_id)
    s.sendall(msg)
    out, err = b"", b""
    for kind, _, content in records(s):
        if kind == STDOUT:
            out += content
        elif kind == STDERR:
            err += content
        elif kind == END_REQUEST:
            return _parse(out) + (err,)
    raise ConnectionError("connection closed before END_REQUEST")


def records(s):
    """The records arriving on s, as (type, request id, content), until the
    other side closes."""
    buf = b""
    while True:
        data = s.recv(65536)
        if not data:
            return
        buf += data
        while len(buf) >= 8:
            _, kind, rid, clen, plen, _ = struct.unpack(">BBHHBB", buf[:8])
            if len(buf) < 8 + clen + plen:
                break
            content, buf = buf[8:8 + clen], buf[8 + clen + plen:]
            yield kind, rid, content


def _parse(out):
    head, _, body = out.partition(b"\r\n\r\n")
    headers = {}
    for line in head.decode("latin-1").split("\r\n"):
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    status = int(headers.get("status", "200").split()[0])
    return status, headers, body
