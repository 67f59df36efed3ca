#!/usr/bin/python3
"""Stand-in Cuebot for cuegw's integration tests and `make demo`.

A real gRPC server on loopback that answers every unary method of every
service in the compiled schema (a FileDescriptorSet): a small sample farm
(farm.py) answers the common read methods, every other method gets its empty
response. A small HTTP control server scripts failures, delays and
large responses, and records the calls it received.

Usage:
  /usr/bin/python3 tests/cuebot/standin.py --schema build/gen/schema.pb
      [--grpc-port N] [--control-port N] [--host 127.0.0.1]
      [--ports-file F] [--workers K]
      [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]

With --tls-cert, gRPC is served over TLS; with --tls-client-ca too, only to
clients that present a certificate signed by that CA (mutual TLS).

Port 0 (the default) picks a free port. Once both servers listen, the ports
are written to --ports-file as {"grpc": P, "control": P} (atomically) and one
line "standin: grpc HOST:P control HOST:P" goes to stdout (without
--ports-file, as `make standin` runs it, a second line says how to point
cuegw at it).

Control API (JSON in and out):
  POST /script  {"method": "/pkg.Svc/Method" or "*", "code": 0,
                 "message": "", "delay_ms": 0, "response_bytes": 0,
                 "fill": "random", "times": N}      -> {"ok": true, "id": N}
      ("message_b64": base64 instead of "message": the status message as
      those raw bytes, valid UTF-8 or not, as a hostile Cuebot could send;
      "response_b64": base64 of wire bytes answered exactly as they are,
      valid or not, such as a singular field split into many occurrences)
      Applies to the next matching calls (the latest matching script wins;
      without "times" until /reset). After delay_ms, a non-zero code aborts
      the call with that status and message; otherwise response_bytes > 0
      answers a valid response of at least that many bytes (built when the
      script is posted, for a named method); "fill": "random" answers a
      response with every field populated, the same for every call of a
      method (filler.py); else the farm answers as usual.
      "hold": true keeps each matching call waiting, before the rest of its
      script and its answer, until POST /release (or /reset, or the client
      gives up), so a test can tell the calls in flight apart by events
      rather than by timing.
  POST /release wakes every held call              -> {"ok": true, "held": N}
  POST /reset   clears scripts and the call log -> {"ok": true}
  GET  /calls   [{"method", "request", "metadata", "peer", "at", "done"}...],
                oldest first (peer: the client's address as gRPC names it,
                "ipv4:127.0.0.1:PORT"; at: arrival, done: when the handler
                returned or null while it runs, Unix seconds), the
                last 5000; request is json_format.MessageToDict (camelCase,
                fields left at their default omitted, 64-bit ints as strings);
                ?method=/pkg.Svc/M keeps only that method's calls
  GET  /health  {"ok": true}

Needs Debian's python3-grpcio and python3-protobuf (use /usr/bin/python3).
"""

import argparse
import base64
import collections
import http.server
import json
import os
import select
import signal
import socket
import sys
import threading
import time
import urllib.parse
from concurrent import futures

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format
from google.protobuf import message_factory

# Keep the source tree free of __pycache__ directories.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bulk  # noqa: E402
import farm as farm_mod  # noqa: E402
import filler  # noqa: E402

CALL_LOG_MAX = 5000
CODES = {c.value[0]: c for c in grpc.StatusCode}


def load_schema(path):
    fds = descriptor_pb2.FileDescriptorSet()
    with open(path, 'rb') as f:
        fds.ParseFromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    # The set may list a file before the files it imports.
    pending = list(fds.file)
    while pending:
        left = []
        for fd in pending:
            try:
                pool.Add(fd)
            except TypeError:
                left.append(fd)
        if len(left) == len(pending):
            raise SystemExit('standin: cannot load %s: unresolved imports in %s'
                             % (path, ', '.join(fd.name for fd in left)))
        pending = left
    factory = message_factory.MessageFactory(pool)

    def cls(full_name):
        return factory.GetPrototype(pool.FindMessageTypeByName(full_name))

    methods = []
    for fd in fds.file:
        for svc in fd.service:
            sdesc = pool.FindServiceByName(
                (fd.package + '.' if fd.package else '') + svc.name)
            for m in sdesc.methods:
                methods.append(('/%s/%s' % (sdesc.full_name, m.name), m))
    return cls, methods


class Control:
    """Scripts and the call log, shared by gRPC handlers and the HTTP side."""

    def __init__(self):
        self.lock = threading.Lock()
        self.scripts = []
        self.next_id = 1
        self.calls = collections.deque(maxlen=CALL_LOG_MAX)
        self.held = []                  # threading.Event of each held call

    def hold(self, context):
        """Waits until /release (or /reset) or the client goes away."""
        done = threading.Event()
        with self.lock:
            self.held.append(done)
        if context.add_callback(done.set):
            done.wait()
        with self.lock:
            if done in self.held:
                self.held.remove(done)

    def release(self):
        with self.lock:
            held, self.held = self.held, []
        for e in held:
            e.set()
        return len(held)

    def add_script(self, script):
        with self.lock:
            script['id'] = self.next_id
            self.next_id += 1
            self.scripts.append(script)
            return script['id']

    def reset(self):
        with self.lock:
            self.scripts.clear()
            self.calls.clear()
        self.release()

    def take(self, method):
        """The latest live script matching method, with one use spent."""
        with self.lock:
            for s in reversed(self.scripts):
                if s['method'] in ('*', method):
                    if s['times'] is not None:
                        s['times'] -= 1
                        if s['times'] <= 0:
                            self.scripts.remove(s)
                    return dict(s)
            return None

    def record(self, entry):
        with self.lock:
            self.calls.append(entry)

    def call_list(self, method=None):
        with self.lock:
            return [c for c in self.calls if method is None or c['method'] == method]


def metadata_dict(context):
    out = {}
    for key, value in context.invocation_metadata() or ():
        if isinstance(value, bytes):
            value = base64.b64encode(value).decode('ascii')
        # Repeated keys are rare in tests; keep every value readable.
        out[key] = out[key] + ',' + value if key in out else value
    return out


def serialize(reply):
    # Padded replies arrive as ready-made wire bytes.
    if isinstance(reply, bytes):
        return reply
    return reply.SerializeToString()


class Handler(grpc.GenericRpcHandler):
    def __init__(self, cls, methods, farm, control, padder):
        self.farm = farm
        self.control = control
        self.padder = padder
        self.table = {}
        for path, m in methods:
            if m.client_streaming or m.server_streaming:
                continue
            in_cls = cls(m.input_type.full_name)
            out_cls = cls(m.output_type.full_name)
            self.table[path] = grpc.unary_unary_rpc_method_handler(
                self._behaviour(path, out_cls, m.output_type),
                request_deserializer=in_cls.FromString,
                response_serializer=serialize)

    def service(self, handler_call_details):
        return self.table.get(handler_call_details.method)

    def _behaviour(self, path, out_cls, out_desc):
        answer = farm_mod.ANSWERS.get(path)

        def call(request, context):
            entry = {
                'method': path,
                'request': json_format.MessageToDict(
                    request, preserving_proto_field_name=False),
                'metadata': metadata_dict(context),
                # Which client connection sent it, when it arrived and when
                # its answer left: the fault tests tell the calls one
                # gateway process had in flight from another's by these.
                # 'done' is there from the start so that /calls never sees
                # the dict change size.
                'peer': context.peer(),
                'at': time.time(),
                'done': None}
            self.control.record(entry)
            try:
                return respond(request, context)
            finally:
                entry['done'] = time.time()

        def respond(request, context):
            script = self.control.take(path)
            if script:
                if script['hold']:
                    self.control.hold(context)
                    if not context.is_active():
                        return out_cls()
                if script['delay_ms'] > 0:
                    done = threading.Event()
                    # The callback fires when the client cancels or its
                    # deadline passes, which ends the wait early.
                    if context.add_callback(done.set):
                        done.wait(script['delay_ms'] / 1000.0)
                    if not context.is_active():
                        return out_cls()
                if script['code'] != 0:
                    context.abort(CODES[script['code']], script['message'])
                if script['response'] is not None:
                    return script['response']
                if script['response_bytes'] > 0:
                    return self.padder.build(out_desc, script['response_bytes'])
                if script['fill'] == 'random':
                    return filler.build(out_cls, path)
            reply = out_cls()
            if answer is not None:
                try:
                    answer(self.farm, request, reply)
                except farm_mod.NotFound as e:
                    context.abort(grpc.StatusCode.NOT_FOUND, str(e))
            return reply

        return call


def parse_script(body, known):
    if not isinstance(body, dict):
        raise ValueError('body must be a JSON object')
    method = body.get('method', '*')
    if not isinstance(method, str) or not method:
        raise ValueError('method must be a string')
    if method != '*' and not method.startswith('/'):
        method = '/' + method
    if method != '*' and method not in known:
        raise ValueError('unknown method %s' % method)

    def integer(name, default, low):
        v = body.get(name, default)
        if v is None:
            return default
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise ValueError('%s must be an integer >= %d' % (name, low))
        return v

    code = integer('code', 0, 0)
    if code not in CODES:
        raise ValueError('code must be a gRPC status code (0..16)')
    message = body.get('message', '')
    if message is None:
        message = ''
    if not isinstance(message, str):
        raise ValueError('message must be a string')
    if body.get('message_b64') is not None:
        # grpcio sends a bytes message as it is (no UTF-8 encoding).
        message = base64.b64decode(body['message_b64'])
    response = None
    if body.get('response_b64') is not None:
        response = base64.b64decode(body['response_b64'])
    hold = body.get('hold', False)
    if not isinstance(hold, bool):
        raise ValueError('hold must be true or false')
    fill = body.get('fill')
    if fill not in (None, 'random'):
        raise ValueError('fill must be "random" when given')
    return {'method': method, 'code': code, 'message': message, 'fill': fill,
            'response': response,
            'delay_ms': integer('delay_ms', 0, 0),
            'response_bytes': integer('response_bytes', 0, 0),
            'times': integer('times', None, 1),
            'hold': hold}


def make_control_handler(control, known, padder):
    class ControlHandler(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def log_message(self, fmt, *args):
            pass

        def reply(self, status, obj):
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def read_json(self):
            n = int(self.headers.get('Content-Length') or 0)
            raw = self.rfile.read(n) if n > 0 else b''
            return json.loads(raw) if raw.strip() else {}

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            if url.path == '/health':
                self.reply(200, {'ok': True})
            elif url.path == '/calls':
                q = urllib.parse.parse_qs(url.query)
                self.reply(200, control.call_list(q.get('method', [None])[0]))
            else:
                self.reply(404, {'error': 'no such path'})

        def do_POST(self):
            path = urllib.parse.urlsplit(self.path).path
            try:
                body = self.read_json()
            except (ValueError, UnicodeDecodeError) as e:
                self.reply(400, {'error': 'bad JSON: %s' % e})
                return
            if path == '/script':
                try:
                    script = parse_script(body, known)
                except ValueError as e:
                    self.reply(400, {'error': str(e)})
                    return
                if script['response_bytes'] > 0 and script['method'] != '*':
                    # Building a large answer touches every page of it; doing
                    # it now keeps that time out of the scripted call.
                    padder.build(known[script['method']].output_type,
                                 script['response_bytes'])
                self.reply(200, {'ok': True, 'id': control.add_script(script)})
            elif path == '/release':
                self.reply(200, {'ok': True, 'held': control.release()})
            elif path == '/reset':
                control.reset()
                self.reply(200, {'ok': True})
            else:
                self.reply(404, {'error': 'no such path'})

    return ControlHandler


def host_port(host, port):
    return '[%s]:%d' % (host, port) if ':' in host else '%s:%d' % (host, port)


def write_ports(path, ports):
    tmp = '%s.tmp.%d' % (path, os.getpid())
    with open(tmp, 'w') as f:
        json.dump(ports, f)
        f.write('\n')
    os.replace(tmp, path)


def server_credentials(args):
    def read(path):
        with open(path, 'rb') as f:
            return f.read()
    client_ca = read(args.tls_client_ca) if args.tls_client_ca else None
    return grpc.ssl_server_credentials([(read(args.tls_key), read(args.tls_cert))],
                                       root_certificates=client_ca,
                                       require_client_auth=client_ca is not None)


def main():
    ap = argparse.ArgumentParser(description='Stand-in Cuebot for cuegw tests.')
    ap.add_argument('--schema', required=True, help='compiled FileDescriptorSet')
    ap.add_argument('--grpc-port', type=int, default=0)
    ap.add_argument('--control-port', type=int, default=0)
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--ports-file')
    ap.add_argument('--workers', type=int, default=16)
    ap.add_argument('--tls-cert', help='serve gRPC over TLS with this certificate (PEM)')
    ap.add_argument('--tls-key', help='the private key of --tls-cert (PEM)')
    ap.add_argument('--tls-client-ca', help='require a client certificate signed by this CA '
                    '(mutual TLS, as a Cuebot set up for it does)')
    args = ap.parse_args()

    cls, methods = load_schema(args.schema)
    farm = farm_mod.Farm(cls)
    known = dict(methods)
    stray = sorted(set(farm_mod.ANSWERS) - set(known))
    if stray:
        print('standin: warning: farm answers methods not in the schema: %s'
              % ', '.join(stray), file=sys.stderr)
    control = Control()
    padder = bulk.Padder(cls, farm.sample)
    handler = Handler(cls, methods, farm, control, padder)

    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max(1, args.workers)),
        handlers=[handler],
        options=[
            ('grpc.max_send_message_length', -1),
            ('grpc.max_receive_message_length', -1),
            # Without this a second stand-in could bind the same port and
            # share its calls; a restart after a kill still binds at once
            # (gRPC sets SO_REUSEADDR).
            ('grpc.so_reuseport', 0),
        ])
    try:
        if args.tls_cert:
            grpc_port = server.add_secure_port(host_port(args.host, args.grpc_port),
                                               server_credentials(args))
        else:
            grpc_port = server.add_insecure_port(host_port(args.host, args.grpc_port))
    except RuntimeError:
        grpc_port = 0
    if grpc_port == 0:
        print('standin: cannot listen on %s for gRPC'
              % host_port(args.host, args.grpc_port), file=sys.stderr)
        return 1
    server.start()

    http_cls = http.server.ThreadingHTTPServer
    if ':' in args.host:
        http_cls = type('HTTP6', (http_cls,), {'address_family': socket.AF_INET6})
    try:
        httpd = http_cls((args.host, args.control_port),
                         make_control_handler(control, known, padder))
    except OSError as e:
        print('standin: cannot listen on %s for control: %s'
              % (host_port(args.host, args.control_port), e), file=sys.stderr)
        server.stop(0)
        return 1
    control_port = httpd.server_address[1]
    threading.Thread(target=httpd.serve_forever, kwargs={'poll_interval': 0.1},
                     daemon=True).start()

    # gRPC's own threads may take the signal; Python then runs the handler
    # only when the main thread next runs bytecode. The wakeup pipe gets a
    # byte from whichever thread took it, so the main thread wakes at once.
    stop = threading.Event()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    if args.ports_file:
        write_ports(args.ports_file, {'grpc': grpc_port, 'control': control_port})
    print('standin: grpc %s control %s' % (host_port(args.host, grpc_port),
                                           host_port(args.host, control_port)))
    if not args.ports_file:     # run by hand (`make standin`)
        print('standin: a Cuebot with the sample farm; point cuegw at it with '
              'CUEBOT_ENDPOINT=%s. Ctrl-C stops it.' % host_port(args.host, grpc_port))
    sys.stdout.flush()

    while not stop.is_set():
        ready, _, _ = select.select([wake_r], [], [], 5.0)
        if ready:
            os.read(wake_r, 512)
    # Cancelling in-flight calls wakes delayed handlers; exiting without
    # waiting for pool threads keeps shutdown well under a second.
    server.stop(0).wait(0.5)
    httpd.server_close()
    sys.stdout.flush()
    os._exit(0)


if __name__ == '__main__':
    sys.exit(main())
