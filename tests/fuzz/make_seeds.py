#!/usr/bin/python3
"""Writes the committed seed inputs of the fuzz targets (tests/fuzz/seeds).

Run again when the input formats or the schema change:
  /usr/bin/python3 tests/fuzz/make_seeds.py --schema build/gen/schema.pb

The seeds are small real inputs: request bodies and responses of the stand-in
Cuebot's sample farm (tests/cuebot/farm.py), fully populated messages
(tests/cuebot/filler.py), tokens signed with the targets' fixed secrets,
and requests with odd URIs and parameters. Each target's comment describes
its input format; the secrets and type numbering here must match them.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'cuebot'))

from google.protobuf import descriptor_pb2, json_format  # noqa: E402

import farm as farm_mod  # noqa: E402
import filler  # noqa: E402
import standin  # noqa: E402

# fuzz_json_decode.c: request_types[], in order.
REQUEST_TYPES = [
    'show.ShowGetShowsRequest', 'job.JobGetJobsRequest', 'job.JobGetFramesRequest',
    'host.HostGetHostsRequest', 'filter.FilterCreateActionRequest',
    'job.JobSetMinCoresRequest', 'job.LayerSetMinMemoryRequest',
    'job.FrameSetCheckpointStateRequest', 'department.DeptAddTasksRequest',
    'host.ProcKillRequest', 'report.RqdReportStatusRequest', 'job.JobAddCommentRequest',
]
# fuzz_auth.c and fuzz_request.c
AUTH_SECRET_1 = b'fuzz-secret-one'
AUTH_SECRET_2 = b'fuzz-secret-two-longer-than-one-sha256-block-of-sixty-four-bytes-0123'
REQ_SECRET_1 = b'fuzz-request-secret-1'
REQ_SECRET_2 = b'fuzz-request-secret-2'
REQ_TOKEN = 'fuzz-request-token-1'
YEAR_2100 = 4102444800

JOB1 = farm_mod.make_id(5, 1)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()


def jwt(header, payload, secret, alg='sha256'):
    h = b64url(json.dumps(header, separators=(',', ':')).encode()
               if isinstance(header, dict) else header.encode())
    p = b64url(json.dumps(payload, separators=(',', ':')).encode()
               if not isinstance(payload, str) else payload.encode())
    if secret is None:
        return h + '.' + p + '.'
    mac = hmac.new(secret, (h + '.' + p).encode(), getattr(hashlib, alg)).digest()
    return h + '.' + p + '.' + b64url(mac)


def write(target, name, data):
    d = os.path.join(HERE, 'seeds', target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def all_type_names(schema_path):
    """Every message type's full name, nested ones included, sorted as
    strcmp sorts them (fuzz_types.c numbers them in this order)."""
    fds = descriptor_pb2.FileDescriptorSet()
    with open(schema_path, 'rb') as f:
        fds.ParseFromString(f.read())
    names = []

    def walk(prefix, d):
        names.append(prefix + d.name)
        for n in d.nested_type:
            walk(prefix + d.name + '.', n)
    for fd in fds.file:
        for d in fd.message_type:
            walk(fd.package + '.' if fd.package else '', d)
    return sorted(names, key=lambda n: n.encode())


def type_number(names, full_name):
    return names.index(full_name)


# Farm calls whose request bodies and answers make the seeds.
FARM_CALLS = [
    ('/show.ShowInterface/GetShows', 'show.ShowGetShowsRequest', {}),
    ('/job.JobInterface/GetJobs', 'job.JobGetJobsRequest',
     {'r': {'shows': ['testing'], 'includeFinished': True}}),
    ('/job.JobInterface/GetFrames', 'job.JobGetFramesRequest',
     {'job': {'id': JOB1}, 'req': {'states': {'frameStates': ['RUNNING', 'DEAD']}, 'page': 1, 'limit': 100}}),
    ('/host.HostInterface/GetHosts', 'host.HostGetHostsRequest', {'r': {}}),
    ('/job.JobInterface/GetLayers', 'job.JobGetLayersRequest', {'job': {'name': 'pipe-sh10-comp_v12'}}),
    ('/facility.AllocationInterface/GetAll', 'facility.AllocGetAllRequest', {}),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--schema', required=True, help='compiled FileDescriptorSet (build/gen/schema.pb)')
    args = ap.parse_args()
    cls, methods = standin.load_schema(args.schema)
    names = all_type_names(args.schema)
    for target in ('json_decode', 'pb_encode', 'auth', 'request'):
        d = os.path.join(HERE, 'seeds', target)
        for old in os.listdir(d) if os.path.isdir(d) else []:
            os.remove(os.path.join(d, old))
    farm = farm_mod.Farm(cls)

    # ---- json_decode: selector byte + JSON ----------------------------------
    def req_seed(name, type_name, body):
        if type_name in REQUEST_TYPES:
            prefix = bytes([REQUEST_TYPES.index(type_name)])
        else:
            n = type_number(names, type_name)
            prefix = bytes([0xC0 | (n >> 8), n & 0xFF])
        write('json_decode', name, prefix + (body if isinstance(body, bytes) else body.encode()))

    for path, req_type, body in FARM_CALLS:
        req_seed('farm-' + path.split('/')[-1].lower() + '-' + req_type.split('.')[0],
                 req_type, json.dumps(body))
    for t in ['filter.FilterCreateActionRequest', 'department.DeptAddTasksRequest',
              'host.ProcKillRequest', 'report.RqdReportStatusRequest']:
        msg = filler.build(cls(t), t)
        req_seed('filled-' + t, t, json_format.MessageToJson(msg, indent=None))
    req_seed('proto-names-job', 'job.JobSetMinCoresRequest',
             '{"job": {"id": "%s", "min_cores": 1.5, "uid": 0}, "val": "Infinity"}' % JOB1)
    req_seed('odd-strings', 'job.JobAddCommentRequest',
             '{"job":{"name":"a\\u00e9\\ud83d\\ude00\\n\\"\\/"},"newComment":'
             '{"subject":"\xc3\xa9\xe2\x9c\x93","message":"x","timestamp":"-9223372036854775808"}}')
    req_seed('numbers', 'job.LayerSetMinMemoryRequest',
             '{"layer":{"minMemory":1e3,"minCores":-0,"maxCores":3.4028235e38},'
             '"memory":"18446744073709551615"}')
    req_seed('enum-number', 'job.FrameSetCheckpointStateRequest',
             '{"frame":{"state":3,"checkpointState":"ENABLED"},"state":99}')
    req_seed('deep', 'job.JobGetJobsRequest', '{"x":' + '[' * 99 + ']' * 99 + '}')
    req_seed('any-type-job', 'job.Job', '{"id":"j","uid":0,"jobStats":null}')
    req_seed('any-type-entry', 'department.Department', '{"tiTask":"t"}')

    # ---- pb_encode: type number (2 bytes) + chunk byte + wire ----------------
    def resp_seed(name, msg, chunk=0):
        n = type_number(names, msg.DESCRIPTOR.full_name)
        write('pb_encode', name, bytes([n >> 8, n & 0xFF, chunk]) + msg.SerializeToString())

    by_path = dict(methods)
    for path, req_type, body in FARM_CALLS:
        out_type = by_path[path].output_type.full_name
        req = json_format.ParseDict(body, cls(req_type)())
        resp = cls(out_type)()
        farm_mod.ANSWERS[path](farm, req, resp)
        resp_seed('farm-' + path.split('/')[-1].lower() + '-' + path.split('.')[0].strip('/'),
                  resp, chunk=200)
    for t in ['host.ProcSeq', 'report.HostReport', 'job.JobSeq', 'department.Department',
              'filter.Action', 'rqd.RunFrame']:
        if t in names:
            resp_seed('filled-' + t, filler.build(cls(t), t), chunk=0)
    big = cls('host.Proc')()
    big.child_processes = bytes(range(256)) * 2
    resp_seed('bytes-larger-than-chunk', big, chunk=0)

    # ---- auth: settings byte + Authorization value ---------------------------
    def auth_seed(name, cfg, value):
        write('auth', name, bytes([cfg]) + value.encode())

    hs256 = {'alg': 'HS256', 'typ': 'JWT'}
    claims = {'sub': 'alice', 'role': 'admin', 'exp': 1800000000, 'iat': 1700000000}
    auth_seed('hs256-valid', 0x01, 'Bearer ' + jwt(hs256, claims, AUTH_SECRET_1))
    auth_seed('hs512-second-secret', 0x03,
              'Bearer ' + jwt({'alg': 'HS512'}, {'sub': 'bob'}, AUTH_SECRET_2, 'sha512'))
    auth_seed('hs384-nbf-ahead', 0x01, 'Bearer ' + jwt(
        {'alg': 'HS384'}, {'sub': 'c', 'nbf': 1700000100}, AUTH_SECRET_1, 'sha384'))
    auth_seed('hs384-nbf-leeway', 0x21, 'Bearer ' + jwt(
        {'alg': 'HS384'}, {'sub': 'c', 'nbf': 1700000100}, AUTH_SECRET_1, 'sha384'))
    auth_seed('expired-in-2100', 0x81, 'Bearer ' + jwt(hs256, claims, AUTH_SECRET_1))
    auth_seed('exp-string', 0x01, 'Bearer ' + jwt(hs256, {'exp': '1800000000'}, AUTH_SECRET_1))
    auth_seed('exp-fraction', 0x01, 'Bearer ' + jwt(hs256, {'exp': 1800000000.5}, AUTH_SECRET_1))
    auth_seed('alg-none', 0x01, 'Bearer ' + jwt({'alg': 'none'}, {'sub': 'x'}, None))
    auth_seed('alg-lowercase', 0x01, 'Bearer ' + jwt({'alg': 'hs256'}, {'sub': 'x'}, AUTH_SECRET_1))
    auth_seed('crit-header', 0x01, 'Bearer ' + jwt(
        {'alg': 'HS256', 'crit': ['b64'], 'b64': False}, {'sub': 'x'}, AUTH_SECRET_1))
    auth_seed('typ-number', 0x01, 'Bearer ' + jwt({'alg': 'HS256', 'typ': 1}, {}, AUTH_SECRET_1))
    auth_seed('payload-array', 0x01, 'Bearer ' + jwt(hs256, '[1,2]', AUTH_SECRET_1))
    auth_seed('empty-secret', 0x40, 'Bearer ' + jwt(hs256, {'sub': 'x'}, b'x'))
    auth_seed('static-token', 0x0C, 'Bearer fuzz-static-token-1')
    auth_seed('static-token-spaces', 0x0C, ' \tbearer   fuzz-static-token-2 \t')
    auth_seed('remote-user', 0x10, 'alice')
    auth_seed('basic-scheme', 0x01, 'Basic dXNlcjpwYXNz')
    auth_seed('two-words', 0x05, 'Bearer fuzz-static-token-1 extra')

    # ---- request: settings byte, I/O byte, NAME=VALUE lines, empty line, body -
    req_jwt = jwt(hs256, {'sub': 'alice', 'role': 'admin', 'exp': YEAR_2100}, REQ_SECRET_1)
    viewer_jwt = jwt(hs256, {'sub': 'vic', 'role': 'viewer'}, REQ_SECRET_2)
    param_jwt = jwt(hs256, {'sub': 'p'}, b'secret-from-the-web-server')

    def http_seed(name, cfg, io, params, body=b''):
        text = ''.join('%s=%s\n' % kv for kv in params) + '\n'
        write('request', name, bytes([cfg, io]) + text.encode() + body)

    post = [('REQUEST_METHOD', 'POST'), ('CONTENT_TYPE', 'application/json')]
    getjobs = json.dumps(FARM_CALLS[1][2]).encode()
    http_seed('static-token-getshows', 0x00, 0x0F, post + [
        ('REQUEST_URI', '/show.ShowInterface/GetShows'),
        ('HTTP_AUTHORIZATION', 'Bearer ' + REQ_TOKEN), ('CONTENT_LENGTH', '2')], b'{}')
    http_seed('jwt-getjobs', 0x00, 0x03, post + [
        ('REQUEST_URI', '/job.JobInterface/GetJobs'), ('HTTP_AUTHORIZATION', 'Bearer ' + req_jwt),
        ('CONTENT_LENGTH', str(len(getjobs))), ('HTTP_X_REQUEST_ID', 'req-42'),
        ('HTTP_ORIGIN', 'https://example.org')], getjobs)
    http_seed('prefix-cgi-split-query', 0x45, 0x08, post + [
        ('SCRIPT_NAME', '/cue'), ('PATH_INFO', '/job.JobInterface/GetJobs'),
        ('QUERY_STRING', 'access_token=x'),
        ('HTTP_AUTHORIZATION', 'Bearer ' + viewer_jwt), ('HTTP_ORIGIN', 'https://APP.example')],
        getjobs)
    http_seed('prefix-uri-query', 0x04, 0x0F, post + [
        ('REQUEST_URI', '/cue/show.ShowInterface/GetShows?token=' + req_jwt),
        ('HTTP_AUTHORIZATION', 'Bearer ' + REQ_TOKEN)], b'{}')
    http_seed('health', 0x0C, 0x00, [('REQUEST_METHOD', 'GET'), ('REQUEST_URI', '/cue/healthz?x=1')])
    http_seed('preflight', 0x40, 0x00, [
        ('REQUEST_METHOD', 'OPTIONS'), ('REQUEST_URI', '/show.ShowInterface/GetShows'),
        ('HTTP_ORIGIN', 'https://other.example:8443'),
        ('HTTP_ACCESS_CONTROL_REQUEST_METHOD', 'POST'),
        ('HTTP_ACCESS_CONTROL_REQUEST_HEADERS', 'content-type, X-Request-Id, x-other')])
    http_seed('read-only-kill', 0x20, 0x0F, post + [
        ('REQUEST_URI', '/job.JobInterface/Kill'), ('HTTP_AUTHORIZATION', 'Bearer ' + REQ_TOKEN)],
        b'{"job":{"id":"%s"}}' % JOB1.encode())
    http_seed('policy-admin-jwt', 0x10, 0x0F, post + [
        ('REQUEST_URI', '/job.JobInterface/Kill'), ('HTTP_AUTHORIZATION', 'Bearer ' + req_jwt)],
        b'{}')
    http_seed('policy-viewer-jwt', 0x11, 0x0F, post + [
        ('REQUEST_URI', '/show.ShowInterface/CreateShow'),
        ('HTTP_AUTHORIZATION', 'Bearer ' + viewer_jwt)], b'{}')
    http_seed('remote-user-policy', 0x12, 0x0F, post + [
        ('REQUEST_URI', '/show.ShowInterface/CreateShow'), ('REMOTE_USER', 'alice'),
        ('HTTP_REMOTE_USER', 'mallory')], b'{"name":"new"}')
    http_seed('settings-from-params', 0x03, 0x0F, post + [
        ('REQUEST_URI', '/show.ShowInterface/GetShows'),
        ('JWT_SECRET', 'secret-from-the-web-server'), ('HTTP_JWT_SECRET', 'client'),
        ('JWT_LEEWAY', '30'), ('READ_ONLY', '1'),
        ('HTTP_AUTHORIZATION', 'Bearer ' + param_jwt)], b'')
    http_seed('params-ignored-without-opt-in', 0x20, 0x0F, post + [
        ('REQUEST_URI', '/job.JobInterface/Kill'),
        ('JWT_SECRET', 'secret-from-the-web-server'), ('READ_ONLY', '0'),
        ('AUTH_TOKEN', 'x'), ('HTTP_AUTHORIZATION', 'Bearer ' + param_jwt)], b'{}')
    http_seed('cross-site-remote-user-form', 0x12, 0x0F, [
        ('REQUEST_METHOD', 'POST'), ('CONTENT_TYPE', 'text/plain'),
        ('REQUEST_URI', '/job.JobInterface/Kill'), ('REMOTE_USER', 'alice'),
        ('HTTP_HOST', 'gw.example'), ('HTTP_ORIGIN', 'https://evil.example'),
        ('HTTP_SEC_FETCH_SITE', 'cross-site')], b'{"pad":"="}')
    http_seed('same-origin-remote-user', 0x12, 0x0F, post + [
        ('REQUEST_URI', '/show.ShowInterface/GetShows'), ('REMOTE_USER', 'alice'),
        ('HTTPS', 'on'), ('HTTP_HOST', 'GW.example:443'), ('HTTP_ORIGIN', 'https://gw.example'),
        ('HTTP_SEC_FETCH_SITE', 'same-origin')], b'{}')
    http_seed('cross-site-no-origin', 0x40, 0x0F, post + [
        ('REQUEST_URI', '/show.ShowInterface/GetShows'), ('HTTP_SEC_FETCH_SITE', 'cross-site'),
        ('HTTP_AUTHORIZATION', 'Bearer bad')], b'{}')
    http_seed('no-settings', 0x03, 0x0F, post + [
        ('REQUEST_URI', '/show.ShowInterface/GetShows'), ('HTTP_AUTHORIZATION', 'Bearer x')])
    http_seed('body-over-limit', 0x80, 0x02, post + [
        ('REQUEST_URI', '/show.ShowInterface/GetShows'), ('CONTENT_LENGTH', '10'),
        ('HTTP_AUTHORIZATION', 'Bearer ' + REQ_TOKEN)], b'{"x":"' + b'a' * 100 + b'"}')
    http_seed('odd-uris', 0x00, 0x0F, post + [
        ('REQUEST_URI', '/show.ShowInterface/GetShows%2F..//x\xc3'), ('CONTENT_LENGTH', '1x'),
        ('HTTP_AUTHORIZATION', 'Bearer ' + REQ_TOKEN), ('HTTP_X_REQUEST_ID', 'has space')])
    http_seed('get-method', 0x00, 0x0F, [
        ('REQUEST_METHOD', 'GET'), ('REQUEST_URI', '/'),
        ('HTTP_AUTHORIZATION', 'Bearer ' + REQ_TOKEN)])
    http_seed('bad-json', 0x00, 0x01, post + [
        ('REQUEST_URI', '/job.JobInterface/GetJobs'),
        ('HTTP_AUTHORIZATION', 'Bearer ' + REQ_TOKEN)], b'{"r":{"shows":[1]}}')
    http_seed('bad-leeway', 0x01, 0x0F, post + [
        ('REQUEST_URI', '/show.ShowInterface/GetShows'), ('JWT_LEEWAY', 'soon'),
        ('HTTP_AUTHORIZATION', 'Bearer ' + req_jwt)])
    http_seed('metrics', 0x04, 0x00, [
        ('REQUEST_METHOD', 'GET'), ('REQUEST_URI', '/cue/metrics'),
        ('HTTP_AUTHORIZATION', 'Bearer ' + REQ_TOKEN)])
    http_seed('client-leaves', 0x00, 0x2F, post + [
        ('REQUEST_URI', '/show.ShowInterface/GetShows'),
        ('HTTP_AUTHORIZATION', 'Bearer ' + REQ_TOKEN)], b'{}')
    print('make_seeds: %d message types; seeds written under %s'
          % (len(names), os.path.join(HERE, 'seeds')))


if __name__ == '__main__':
    main()
