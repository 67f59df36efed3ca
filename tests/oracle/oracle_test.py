#!/usr/bin/python3
"""Differential test of cuegw's JSON <-> protobuf transcoder (SPEC section 1).

The oracle is python3-protobuf's google.protobuf.json_format (Debian's
/usr/bin/python3). For every message type of the schema -- nested types and
map entries included -- random, fully populated messages are sent through the
C transcoder (tests/tools/transcode_tool.c, one long-running process speaking
a framed protocol on stdin/stdout) and the results compared with the oracle:

  tojson  protobuf wire bytes -> our JSON, compared semantically with
          json_format.MessageToDict(including_default_value_fields=True),
          for protobuf's own encoding (pb) and for another valid encoding
          of the same message (rewired: packed fields unpacked, fields out
          of order, map entries without default key/value, unknown fields);
  topb    several JSON spellings of the same message (camelCase and proto
          names, 64-bit ints as numbers, enums as numbers, URL-safe
          unpadded base64, our own tojson output) -> our wire bytes,
          compared with json_format.Parse of the same text;
  nul     a string holding U+0000 is refused or carried intact, both ways.

json_format refuses float texts beyond FLT_MAX even when they round to
FLT_MAX (its own output for FLT_MAX, 3.4028235e+38, among them), where Go's
protojson reads FLT_MAX; such texts are checked against the source message
instead (--no-fallback skips them). Failures name the type, the message's
index and the field path; `--seed S --only '^type$'` reproduces one type.

Usage:
  /usr/bin/python3 tests/oracle/oracle_test.py --tool build/tests/transcode-tool \
      --schema build/gen/schema.pb [--per-type 20] [--seed N]

The last line is `oracle: N passed, N failed`; the exit status is 1 when any
check failed, when the tool crashed or hung, or when fewer than all of the
schema's message types were covered. Standard library and google.protobuf only.
"""

import argparse
import base64
import binascii
import json
import math
import os
import random
import re
import select
import struct
import subprocess
import sys
import tempfile
import time

try:
    from google.protobuf import descriptor_pb2, descriptor_pool, json_format
    from google.protobuf import message_factory
    from google.protobuf.descriptor import FieldDescriptor as FD
except ImportError as e:  # pragma: no cover
    sys.stderr.write('oracle_test: google.protobuf is missing (%s); run it with '
                     'Debian\'s /usr/bin/python3 and python3-protobuf\n' % e)
    print('oracle: 0 passed, 1 failed')
    sys.exit(1)

EXPECTED_TYPES = 725
DEFAULT_SEED = 20240611
MAX_DEPTH = 4

# --------------------------------------------------------------------------
# Schema

T_INT32 = {FD.TYPE_INT32, FD.TYPE_SINT32, FD.TYPE_SFIXED32}
T_UINT32 = {FD.TYPE_UINT32, FD.TYPE_FIXED32}
T_INT64 = {FD.TYPE_INT64, FD.TYPE_SINT64, FD.TYPE_SFIXED64}
T_UINT64 = {FD.TYPE_UINT64, FD.TYPE_FIXED64}
T_32 = T_INT32 | T_UINT32
T_64 = T_INT64 | T_UINT64
T_MSG = {FD.TYPE_MESSAGE, FD.TYPE_GROUP}

TYPE_NAMES = {v: k[5:].lower() for k, v in vars(FD).items()
              if k.startswith('TYPE_') and isinstance(v, int)}


def is_map(f):
    return (f.type == FD.TYPE_MESSAGE and f.label == FD.LABEL_REPEATED
            and f.message_type.GetOptions().map_entry)


def is_repeated(f):
    return f.label == FD.LABEL_REPEATED


def load_schema(path):
    with open(path, 'rb') as fh:
        fds = descriptor_pb2.FileDescriptorSet.FromString(fh.read())
    pool = descriptor_pool.DescriptorPool()
    # protoc --include_imports writes files in dependency order.
    for fp in fds.file:
        pool.Add(fp)
    descs = []

    def walk(d):
        descs.append(d)
        for n in d.nested_types:
            walk(n)

    for fp in fds.file:
        fd = pool.FindFileByName(fp.name)
        for d in fd.message_types_by_name.values():
            walk(d)
    if hasattr(message_factory, 'GetMessageClass'):
        get_class = message_factory.GetMessageClass
    else:
        factory = message_factory.MessageFactory(pool)
        get_class = factory.GetPrototype
    return pool, [(d, get_class(d)) for d in descs]


# --------------------------------------------------------------------------
# Numbers

def f32(x):
    """x rounded to float32 (beyond the range: infinity, as strtof)."""
    try:
        return struct.unpack('<f', struct.pack('<f', x))[0]
    except OverflowError:
        return math.copysign(float('inf'), x)


def f32_bits(x):
    return struct.pack('<f', f32(x))


def f64_bits(x):
    return struct.pack('<d', x)


def sig_digits(text):
    """Significant digits of a JSON number text (trailing zeros of the
    mantissa do not count; 100 has one)."""
    t = text.lstrip('-')
    mant = re.split('[eE]', t)[0].replace('.', '')
    return len(mant.lstrip('0').rstrip('0'))


def shortest_f32_digits(v):
    for p in range(1, 10):
        if f32(float('%.*g' % (p, v))) == v:
            return p
    return 9


def shortest_f64_digits(v):
    return sig_digits(repr(v))


FLOAT_SPECIAL = {'NaN': float('nan'), 'Infinity': float('inf'),
                 '-Infinity': float('-inf')}


class FText(float):
    """A float that remembers its JSON text."""
    text = ''


class IText(int):
    """An int that remembers its JSON text."""
    text = ''


def _parse_float(s):
    v = FText(s)
    v.text = s
    return v


def _parse_int(s):
    v = IText(s)
    v.text = s
    return v


class StrictJSONError(ValueError):
    pass


def _no_dups(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise StrictJSONError('duplicate key %r' % k)
        d[k] = v
    return d


def _no_constant(name):
    raise StrictJSONError('non-JSON literal %s' % name)


def _oracle_int(s):
    # Python's json reads the JSON number -0 as the int 0, so json_format
    # would turn a float field's "-0" (Go protojson's spelling of -0.0) into
    # +0.0; read it as the number it is.
    return -0.0 if s == '-0' else int(s)


def oracle_parse(text, msg):
    """json_format.Parse, but with -0 read as negative zero."""
    js = json.loads(text, object_pairs_hook=_no_dups, parse_int=_oracle_int)
    return json_format.ParseDict(js, msg)


def strict_loads(text):
    return json.loads(text, object_pairs_hook=_no_dups, parse_constant=_no_constant,
                      parse_float=_parse_float, parse_int=_parse_int)


def short(v, n=120):
    r = repr(v)
    if len(r) > n:
        r = r[:n // 2] + '...(%d chars)...' % len(r) + r[-n // 4:]
    return r


# --------------------------------------------------------------------------
# Random messages

INT32_EXT = [-2 ** 31, 2 ** 31 - 1, 0, -1, 1]
UINT32_EXT = [0, 1, 2 ** 32 - 1, 2 ** 31]
INT64_EXT = [-2 ** 63, 2 ** 63 - 1, 0, -1, 1, 2 ** 53 + 1, -(2 ** 53) - 1]
UINT64_EXT = [0, 1, 2 ** 64 - 1, 2 ** 63, 2 ** 53 + 1]
FLOAT_EXT = [f32(x) for x in (0.0, -0.0, 0.1, 1e-45, 3.4028235e38, -3.4028235e38,
                             -1.5, float('nan'), float('inf'), float('-inf'),
                             1.17549435e-38, 16777216.0, 1e10, 0.3)]
DOUBLE_EXT = [0.0, -0.0, 5e-324, 1.7976931348623157e308, -1.7976931348623157e308,
              0.1, 1e21, 1e-7, 123456789.125, -1.5, float('nan'), float('inf'),
              float('-inf'), 2.2250738585072014e-308, 9007199254740993.0, 1e22]

STR_FIXED = [
    '',
    'plain ascii',
    'h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c\u8a9e \U0001F600 \U0001D11E \U0010FFFF',
    ''.join(chr(i) for i in range(1, 32)) + '\x7f',
    '"quotes" and \\backslashes\\ and / slash \'single\'',
    'line\u2028sep\u2029para',
    '\ufeffbom \ufffd\uffff',
    '</script><!-- &amp; -->',
    '\U0001F468\u200d\U0001F469\u200d\U0001F467 \u0301e',
]


def _alphabet():
    """Code points weighted as: half printable ASCII, some controls, the
    rest 2-, 3- and 4-byte UTF-8 (no surrogates, never U+0000)."""
    r = random.Random(1)
    out = [chr(c) for c in range(0x20, 0x7f)] * 6
    out += [chr(c) for c in range(1, 0x20)] + ['\x7f', '\u2028', '\u2029', '"', '\\']
    out += [chr(r.randint(0x80, 0x7ff)) for _ in range(150)]
    out += [chr(c) for c in (r.randint(0x800, 0xfffd) for _ in range(300))
            if not 0xd800 <= c <= 0xdfff]
    out += [chr(r.randint(0x10000, 0x10ffff)) for _ in range(150)]
    return out


ALPHABET = _alphabet()


class Gen:
    def __init__(self, rng):
        self.rng = rng

    def pick(self, ext, fallback, p_ext=0.5):
        if self.rng.random() < p_ext:
            return self.rng.choice(ext)
        return fallback()

    def rand_int(self, lo, hi):
        rng = self.rng
        bits = rng.randint(0, (hi - lo).bit_length())
        v = rng.getrandbits(bits) if bits else 0
        if lo < 0 and rng.random() < 0.5:
            v = -v
        return max(lo, min(hi, v))

    def rand_f32(self):
        rng = self.rng
        if rng.random() < 0.5:
            while True:
                v = struct.unpack('<f', struct.pack('<I', rng.getrandbits(32)))[0]
                if not (math.isnan(v) or math.isinf(v)):
                    return v
        return f32(round(rng.uniform(-1e6, 1e6), rng.randint(0, 4)))

    def rand_f64(self):
        rng = self.rng
        if rng.random() < 0.5:
            while True:
                v = struct.unpack('<d', struct.pack('<Q', rng.getrandbits(64)))[0]
                if not (math.isnan(v) or math.isinf(v)):
                    return v
        return round(rng.uniform(-1e9, 1e9), rng.randint(0, 6))

    def rand_str(self, allow_long=True):
        rng = self.rng
        r = rng.random()
        if allow_long and r < 0.02:
            return ''.join(rng.choices(ALPHABET, k=10000))
        if r < 0.4:
            return rng.choice(STR_FIXED)
        if r < 0.6:
            return ''.join(rng.choices(ALPHABET[:95], k=rng.randint(0, 24)))
        return ''.join(rng.choices(ALPHABET, k=rng.randint(0, 24)))

    def rand_bytes(self):
        rng = self.rng
        r = rng.random()
        if r < 0.15:
            return b''
        if r < 0.3:
            return bytes(range(256))
        if r < 0.4:
            return b'\xfb\xff\xfe\x3e\x3f'  # '+' and '/' in standard base64
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 40)))

    def scalar(self, f, is_key=False):
        t = f.type
        rng = self.rng
        if t in T_INT32:
            return self.pick(INT32_EXT, lambda: self.rand_int(-2 ** 31, 2 ** 31 - 1))
        if t in T_UINT32:
            return self.pick(UINT32_EXT, lambda: self.rand_int(0, 2 ** 32 - 1))
        if t in T_INT64:
            return self.pick(INT64_EXT, lambda: self.rand_int(-2 ** 63, 2 ** 63 - 1))
        if t in T_UINT64:
            return self.pick(UINT64_EXT, lambda: self.rand_int(0, 2 ** 64 - 1))
        if t == FD.TYPE_FLOAT:
            return self.pick(FLOAT_EXT, self.rand_f32)
        if t == FD.TYPE_DOUBLE:
            return self.pick(DOUBLE_EXT, self.rand_f64)
        if t == FD.TYPE_BOOL:
            return rng.random() < 0.5
        if t == FD.TYPE_STRING:
            return self.rand_str(allow_long=not is_key)
        if t == FD.TYPE_BYTES:
            return self.rand_bytes()
        if t == FD.TYPE_ENUM:
            nums = [v.number for v in f.enum_type.values]
            if rng.random() < 0.12:
                cands = [max(nums) + 1, max(nums) + 1000, -1, 2 ** 31 - 1, -2 ** 31, 77]
                cands = [c for c in cands if c not in nums and -2 ** 31 <= c < 2 ** 31]
                return rng.choice(cands)
            return rng.choice(nums)
        raise AssertionError('no generator for %s' % f.full_name)

    def fill(self, msg, depth):
        rng = self.rng
        desc = msg.DESCRIPTOR
        chosen = {}
        for o in desc.oneofs:
            chosen[o.name] = None if rng.random() < 0.2 else rng.choice(o.fields).name
        for f in desc.fields:
            forced = False
            if f.containing_oneof is not None:
                if chosen[f.containing_oneof.name] != f.name:
                    continue
                forced = True
            self.set_field(msg, f, depth, forced)

    def set_field(self, msg, f, depth, forced):
        rng = self.rng
        deeper = depth + 1 < MAX_DEPTH
        if is_map(f):
            m = getattr(msg, f.name)
            kf = f.message_type.fields_by_name['key']
            vf = f.message_type.fields_by_name['value']
            for _ in range(rng.randint(0, 4)):
                k = self.scalar(kf, is_key=True)
                if vf.type in T_MSG:
                    sub = m[k]
                    if deeper:
                        self.fill(sub, depth + 1)
                else:
                    m[k] = self.scalar(vf)
        elif is_repeated(f):
            r = getattr(msg, f.name)
            if f.type in T_MSG:
                if not deeper:
                    return
                for _ in range(rng.randint(0, 4 if depth < 2 else 2)):
                    self.fill(r.add(), depth + 1)
            else:
                r.extend(self.scalar(f) for _ in range(rng.randint(0, 4)))
        elif f.type in T_MSG:
            if not deeper:
                if forced:
                    getattr(msg, f.name).SetInParent()
                return
            if forced or rng.random() < 0.85:
                sub = getattr(msg, f.name)
                sub.SetInParent()
                self.fill(sub, depth + 1)
        else:
            setattr(msg, f.name, self.scalar(f))


# --------------------------------------------------------------------------
# The tool

class ToolFailure(Exception):
    pass


class Tool:
    def __init__(self, path, timeout):
        self.path = path
        self.timeout = timeout
        self.errlog = tempfile.TemporaryFile()
        self.p = None
        self.crashes = 0
        self.requests = 0
        self.start()

    def start(self):
        self.p = subprocess.Popen([self.path], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=self.errlog)
        self.wfd = self.p.stdin.fileno()
        self.rfd = self.p.stdout.fileno()
        os.set_blocking(self.wfd, False)
        self.buf = b''

    def stderr_tail(self, n=1500):
        try:
            self.errlog.seek(0)
            data = self.errlog.read()
            self.errlog.seek(0)
            self.errlog.truncate()
        except OSError:
            return ''
        return data[-n:].decode('utf-8', 'replace')

    def _dead(self, what):
        """Reports why the tool died and restarts it."""
        try:
            self.p.kill()
        except OSError:
            pass
        rc = self.p.wait()
        if rc < 0:
            how = 'killed by signal %d' % -rc
        else:
            how = 'exit status %d' % rc
        tail = self.stderr_tail()
        self.crashes += 1
        for fh in (self.p.stdin, self.p.stdout):
            try:
                fh.close()
            except OSError:
                pass
        self.start()
        msg = '%s (%s)' % (what, how)
        if tail.strip():
            msg += '; stderr: ' + tail.strip()
        raise ToolFailure(msg)

    def _write(self, data, deadline):
        view = memoryview(data)
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                self._dead('tool hung: not reading its input')
            _, w, _ = select.select([], [self.wfd], [], left)
            if not w:
                continue
            try:
                n = os.write(self.wfd, view)
            except BlockingIOError:
                continue
            except (BrokenPipeError, OSError):
                self._dead('tool closed its input mid-request')
            view = view[n:]

    def _fill(self, deadline, want):
        def done():
            if want is None:
                return b'\n' in self.buf
            return len(self.buf) >= want
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                self._dead('tool hung: no reply')
            r, _, _ = select.select([self.rfd], [], [], left)
            if not r:
                continue
            need = (want - len(self.buf)) if want is not None else 0
            chunk = os.read(self.rfd, max(need, 1 << 16))
            if not chunk:
                self._dead('tool exited: EOF %s' % (
                    'before a reply' if not self.buf else 'mid-reply'))
            self.buf += chunk

    def call(self, op, tname, data):
        self.requests += 1
        deadline = time.monotonic() + self.timeout
        self._write(b'%s %s %d\n' % (op.encode(), tname.encode(), len(data)) + data, deadline)
        self._fill(deadline, None)
        line, self.buf = self.buf.split(b'\n', 1)
        m = re.fullmatch(rb'(ok|err) (0|[1-9][0-9]*)', line)
        if not m:
            self._dead('bad reply header %r' % line[:80])
        n = int(m.group(2))
        self._fill(deadline, n)
        body, self.buf = self.buf[:n], self.buf[n:]
        return m.group(1).decode(), body

    def close(self):
        """Ends the tool; returns an error text when it did not exit 0."""
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            rc = self.p.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return 'tool did not exit when its input closed'
        if self.buf or self.p.stdout.read():
            return 'tool wrote bytes after its last reply'
        if rc != 0:
            tail = self.stderr_tail()
            return 'tool exited with status %d at end of input%s' % (
                rc, ('; stderr: ' + tail.strip()) if tail.strip() else '')
        return None


# --------------------------------------------------------------------------
# Direction 1: compare our JSON with MessageToDict

class Diffs:
    """Collects differences as (path, kind, ours, oracle)."""

    def __init__(self):
        self.items = []

    def add(self, path, kind, ours, oracle):
        self.items.append((path, kind, ours, oracle))

    def __bool__(self):
        return bool(self.items)


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


INT_TEXT = re.compile(r'-?(0|[1-9][0-9]*)\Z')
STD_B64 = re.compile(r'(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?\Z')


def cmp_scalar(f, ours, exp, path, d):
    t = f.type
    if t in T_MSG:
        if not isinstance(ours, dict):
            d.add(path, 'expected an object', ours, exp)
        else:
            cmp_message(f.message_type, ours, exp, path, d)
    elif t in T_32:
        if not isinstance(ours, int) or isinstance(ours, bool):
            d.add(path, '32-bit int is not a JSON integer', ours, exp)
        elif int(ours) != exp:
            d.add(path, 'int value', ours, exp)
    elif t in T_64:
        if not isinstance(ours, str):
            d.add(path, '64-bit int is not a JSON string', ours, exp)
        elif not INT_TEXT.match(ours):
            d.add(path, '64-bit int string is not a plain integer', ours, exp)
        elif int(ours) != int(exp):
            d.add(path, 'int64 value', ours, exp)
    elif t == FD.TYPE_BOOL:
        if not isinstance(ours, bool) or ours != exp:
            d.add(path, 'bool value', ours, exp)
    elif t == FD.TYPE_STRING:
        if not isinstance(ours, str) or ours != exp:
            d.add(path, 'string value', ours, exp)
    elif t == FD.TYPE_BYTES:
        if not isinstance(ours, str):
            d.add(path, 'bytes not a string', ours, exp)
        elif not STD_B64.match(ours):
            d.add(path, 'bytes not standard padded base64', ours, exp)
        elif base64.b64decode(ours, validate=True) != base64.b64decode(exp):
            d.add(path, 'bytes value', ours, exp)
    elif t == FD.TYPE_ENUM:
        if isinstance(exp, str):
            if ours != exp or not isinstance(ours, str):
                d.add(path, 'enum name', ours, exp)
        else:
            if not isinstance(ours, int) or isinstance(ours, bool) or ours != exp:
                d.add(path, 'unknown enum number', ours, exp)
    elif t in (FD.TYPE_FLOAT, FD.TYPE_DOUBLE):
        single = t == FD.TYPE_FLOAT
        if isinstance(exp, str):
            if ours != exp:
                d.add(path, 'float special value', ours, exp)
            return
        if not is_num(ours):
            d.add(path, 'float is not a JSON number', ours, exp)
            return
        text = getattr(ours, 'text', repr(ours))
        # From the text: an integer-looking "-0" is a float field's -0.0.
        val = float(text)
        if single:
            if f32_bits(val) != f32_bits(exp):
                d.add(path, 'float32 value', text, exp)
                return
            v = f32(exp)
            if v != 0 and sig_digits(text) > shortest_f32_digits(v):
                d.add(path, 'float32 text not shortest (%d digits, %d suffice)'
                      % (sig_digits(text), shortest_f32_digits(v)), text, exp)
        else:
            if f64_bits(val) != f64_bits(exp):
                d.add(path, 'double value', text, exp)
                return
            if exp != 0 and sig_digits(text) > shortest_f64_digits(exp):
                d.add(path, 'double text not shortest', text, exp)
    else:
        d.add(path, 'unhandled field type', ours, exp)


def cmp_value(f, ours, exp, path, d):
    if is_map(f):
        if not isinstance(ours, dict):
            d.add(path, 'map is not an object', ours, exp)
            return
        if set(ours) != set(exp):
            d.add(path, 'map keys', sorted(ours), sorted(exp))
            return
        vf = f.message_type.fields_by_name['value']
        for k in exp:
            cmp_scalar(vf, ours[k], exp[k], '%s[%s]' % (path, json.dumps(k)), d)
    elif is_repeated(f):
        if not isinstance(ours, list):
            d.add(path, 'repeated is not an array', ours, exp)
            return
        if len(ours) != len(exp):
            d.add(path, 'array length %d vs %d' % (len(ours), len(exp)), ours, exp)
            return
        for i, (a, b) in enumerate(zip(ours, exp)):
            cmp_scalar(f, a, b, '%s[%d]' % (path, i), d)
    else:
        cmp_scalar(f, ours, exp, path, d)


def cmp_message(desc, ours, exp, path, d):
    names = set()
    for f in desc.fields:
        name = f.json_name
        names.add(name)
        p = '%s.%s' % (path, name) if path else name
        in_o, in_e = name in ours, name in exp
        if not in_e:
            if not in_o:
                if f.type in T_MSG and not is_repeated(f) and f.containing_oneof is None:
                    d.add(p, 'unset message field missing (want null)', '<absent>', '<absent>')
                continue
            if f.type in T_MSG and not is_repeated(f) and f.containing_oneof is None:
                if ours[name] is not None:
                    d.add(p, 'unset message field not null', ours[name], '<absent>')
            else:
                d.add(p, 'unexpected key (oracle omits it)', ours[name], '<absent>')
            continue
        if not in_o:
            d.add(p, 'missing key', '<absent>', exp[name])
            continue
        cmp_value(f, ours[name], exp[name], p, d)
    for k in ours:
        if k not in names:
            d.add('%s.%s' % (path, k) if path else k, 'key is not a field json_name',
                  ours[k], '<absent>')


# --------------------------------------------------------------------------
# Other valid wire encodings of a message, for tojson: what protobuf's own
# serializer never writes but a parser must read (Cuebot is Java; a site may
# run another version of the schema).

T_WT = {}
for _t in (FD.TYPE_INT32, FD.TYPE_INT64, FD.TYPE_UINT32, FD.TYPE_UINT64, FD.TYPE_SINT32,
           FD.TYPE_SINT64, FD.TYPE_BOOL, FD.TYPE_ENUM):
    T_WT[_t] = 0
for _t in (FD.TYPE_FIXED64, FD.TYPE_SFIXED64, FD.TYPE_DOUBLE):
    T_WT[_t] = 1
for _t in (FD.TYPE_FIXED32, FD.TYPE_SFIXED32, FD.TYPE_FLOAT):
    T_WT[_t] = 5


def read_varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7f) << shift
        shift += 7
        if c < 0x80:
            return v, i


def enc_varint(v):
    out = bytearray()
    while True:
        c = v & 0x7f
        v >>= 7
        if v:
            out.append(c | 0x80)
        else:
            out.append(c)
            return bytes(out)


def read_records(b):
    """[(field number, wire type, value)]: an int for varints, bytes else."""
    recs, i = [], 0
    while i < len(b):
        key, i = read_varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(b, i)
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        elif wt == 5:
            v, i = b[i:i + 4], i + 4
        elif wt == 2:
            n, i = read_varint(b, i)
            v, i = b[i:i + n], i + n
        else:
            raise ValueError('wire type %d' % wt)
        recs.append((num, wt, v))
    return recs


def write_records(recs):
    out = []
    for num, wt, v in recs:
        out.append(enc_varint(num << 3 | wt))
        if wt == 0:
            out.append(enc_varint(v))
        elif wt == 2:
            out.append(enc_varint(len(v)))
            out.append(v)
        else:
            out.append(v)
    return b''.join(out)


def unpack(f, payload):
    wt = T_WT[f.type]
    recs, i = [], 0
    while i < len(payload):
        if wt == 0:
            v, i = read_varint(payload, i)
        else:
            n = 8 if wt == 1 else 4
            v, i = payload[i:i + n], i + n
        recs.append((f.number, wt, v))
    return recs


def rewire(desc, b, rng):
    """The same message, encoded otherwise: packed repeated scalars unpacked,
    fields in another order (each field's own records kept in order), map
    entries without their default key or value, unknown fields of every wire
    type added. None of it changes the message's JSON."""
    recs = []
    for num, wt, v in read_records(b):
        f = desc.fields_by_number.get(num)
        if f is not None and wt == 2:
            if f.type in T_MSG:
                v = rewire(f.message_type, v, rng)
            elif is_repeated(f) and f.type in T_WT and rng.random() < 0.7:
                recs.extend(unpack(f, v))
                continue
        recs.append((num, wt, v))
    if desc.GetOptions().map_entry:
        recs = [r for r in recs
                if not (r[2] in (0, b'') and rng.random() < 0.7)]
    groups = {}
    for r in recs:
        groups.setdefault(r[0], []).append(r)
    order = list(groups)
    rng.shuffle(order)
    recs = [r for num in order for r in groups[num]]
    used = set(desc.fields_by_number)
    free = [n for n in (max(used or [0]) + 1, 99, 1000, 2 ** 29 - 1) if n not in used]
    for _ in range(rng.randint(0, 3)):
        num = rng.choice(free)
        wt = rng.choice((0, 1, 2, 5))
        v = {0: rng.getrandbits(64), 1: rng.getrandbits(64).to_bytes(8, 'little'),
             2: b'\x08\x01junk', 5: b'\xff\xff\xff\x7f'}[wt]
        recs.insert(rng.randint(0, len(recs)), (num, wt, v))
    return write_records(recs)


# --------------------------------------------------------------------------
# Direction 2 helpers

def to_num64(f, v):
    if f.type in T_64 and isinstance(v, str):
        return int(v)
    return v


def to_urlsafe(f, v):
    if f.type == FD.TYPE_BYTES and isinstance(v, str):
        return base64.urlsafe_b64encode(base64.b64decode(v)).rstrip(b'=').decode()
    return v


def transform(desc, js, fn):
    out = {}
    for f in desc.fields:
        name = f.json_name
        if name not in js:
            continue
        v = js[name]
        if is_map(f):
            vf = f.message_type.fields_by_name['value']
            out[name] = {k: (transform(vf.message_type, x, fn) if vf.type in T_MSG
                             else fn(vf, x)) for k, x in v.items()}
        elif is_repeated(f):
            out[name] = [transform(f.message_type, x, fn) if f.type in T_MSG else fn(f, x)
                         for x in v]
        elif f.type in T_MSG:
            out[name] = transform(f.message_type, v, fn)
        else:
            out[name] = fn(f, v)
    return out


def mixed(desc, js, rng):
    """Field names randomly proto or camel, keys in random order."""
    items = []
    for f in desc.fields:
        name = f.json_name
        if name not in js:
            continue
        v = js[name]
        if is_map(f):
            vf = f.message_type.fields_by_name['value']
            if vf.type in T_MSG:
                v = {k: mixed(vf.message_type, x, rng) for k, x in v.items()}
        elif f.type in T_MSG:
            if is_repeated(f):
                v = [mixed(f.message_type, x, rng) for x in v]
            else:
                v = mixed(f.message_type, v, rng)
        items.append((f.name if rng.random() < 0.5 else name, v))
    rng.shuffle(items)
    return dict(items)


def scalar_eq(f, a, b):
    if f.type == FD.TYPE_FLOAT:
        return f32_bits(a) == f32_bits(b)
    if f.type == FD.TYPE_DOUBLE:
        return f64_bits(a) == f64_bits(b)
    return a == b and type(a) == type(b)


def diff_msgs(desc, a, b, path, d):
    """Field-level differences between two messages of type desc (a=ours)."""
    for f in desc.fields:
        p = '%s.%s' % (path, f.name) if path else f.name
        va, vb = getattr(a, f.name), getattr(b, f.name)
        if is_map(f):
            vf = f.message_type.fields_by_name['value']
            ka, kb = set(va.keys()), set(vb.keys())
            if ka != kb:
                d.add(p, 'map keys', sorted(ka, key=repr), sorted(kb, key=repr))
                continue
            for k in ka:
                if vf.type in T_MSG:
                    diff_msgs(vf.message_type, va[k], vb[k], '%s[%r]' % (p, k), d)
                elif not scalar_eq(vf, va[k], vb[k]):
                    d.add('%s[%r]' % (p, k), 'map value (%s)' % TYPE_NAMES[vf.type],
                          va[k], vb[k])
        elif is_repeated(f):
            if len(va) != len(vb):
                d.add(p, 'count %d vs %d' % (len(va), len(vb)), list(va), list(vb))
                continue
            for i, (x, y) in enumerate(zip(va, vb)):
                if f.type in T_MSG:
                    diff_msgs(f.message_type, x, y, '%s[%d]' % (p, i), d)
                elif not scalar_eq(f, x, y):
                    d.add('%s[%d]' % (p, i), 'value (%s)' % TYPE_NAMES[f.type], x, y)
        else:
            if f.type in T_MSG or f.containing_oneof is not None:
                ha, hb = a.HasField(f.name), b.HasField(f.name)
                if ha != hb:
                    d.add(p, 'presence', 'set' if ha else 'unset', 'set' if hb else 'unset')
                    continue
                if not ha:
                    continue
            if f.type in T_MSG:
                diff_msgs(f.message_type, va, vb, p, d)
            elif not scalar_eq(f, va, vb):
                d.add(p, 'value (%s)' % TYPE_NAMES[f.type], va, vb)


# --------------------------------------------------------------------------
# The run

class Run:
    def __init__(self, args, tool):
        self.args = args
        self.tool = tool
        self.passed = 0
        self.failed = 0
        self.stats = {}       # (direction, variant) -> [passed, failed]
        self.refused = {}     # variant -> count of json_format refusals
        self.refused_why = {}
        self.fallback = {}    # variant -> checked against the source instead
        self.oracle_drift = {}
        self.reports = []
        self.kinds = {}       # summary key -> [count, first example]
        self.fatal = []
        self.nul_outcome = {}  # (op, ok|err) -> count
        self.ndump = 0

    def result(self, direction, variant, ok):
        s = self.stats.setdefault((direction, variant), [0, 0])
        if ok:
            s[0] += 1
            self.passed += 1
        else:
            s[1] += 1
            self.failed += 1

    def fail(self, direction, variant, tname, idx, lines, kinds=(), data=None, op=None):
        self.result(direction, variant, False)
        head = '%s/%s %s #%d' % (direction, variant, tname, idx)
        for k in kinds or ('other',):
            key = (direction, variant, k)
            e = self.kinds.setdefault(key, [0, head])
            e[0] += 1
        if len(self.reports) < self.args.max_report:
            self.reports.append('FAIL ' + head + '\n' + '\n'.join('    ' + l for l in lines))
        if self.args.dump and data is not None:
            os.makedirs(self.args.dump, exist_ok=True)
            self.ndump += 1
            fn = os.path.join(self.args.dump, '%04d-%s-%s-%s-%d.%s' % (
                self.ndump, direction, variant, tname, idx, 'json' if op == 'topb' else 'pb'))
            with open(fn, 'wb') as fh:
                fh.write(data)

    def call(self, direction, variant, tname, idx, op, data):
        """Calls the tool; a crash or hang is a failure (returns None)."""
        try:
            return self.tool.call(op, tname, data)
        except ToolFailure as e:
            self.fatal.append('%s %s #%d: %s' % (op, tname, idx, e))
            self.fail(direction, variant, tname, idx,
                      ['TOOL FAILURE on `%s %s` (%d input bytes): %s'
                       % (op, tname, len(data), e)], ('tool crash/hang',), data, op)
            if self.tool.crashes > self.args.max_crashes:
                raise
            return None

    @staticmethod
    def diff_lines(d):
        lines, kinds = [], []
        for path, kind, ours, exp in d.items[:12]:
            lines.append('%s: %s: ours %s, oracle %s' % (path, kind, short(ours), short(exp)))
        if len(d.items) > 12:
            lines.append('... %d more differences' % (len(d.items) - 12))
        for path, kind, _, _ in d.items:
            k = re.sub(r'\(\d+ digits, \d+ suffice\)', '', kind).strip()
            if k not in kinds:
                kinds.append(k)
        return lines, kinds

    # --- direction 1 -------------------------------------------------------
    def tojson(self, desc, tname, idx, wire, oracle_dict, variant='pb'):
        r = self.call('tojson', variant, tname, idx, 'tojson', wire)
        if r is None:
            return None, None
        status, body = r
        if status != 'ok':
            self.fail('tojson', variant, tname, idx,
                      ['tool refused valid wire bytes: %s'
                       % short(body.decode('utf-8', 'replace'), 300)],
                      ('refused',), wire, 'tojson')
            return None, None
        try:
            text = body.decode('utf-8')
        except UnicodeDecodeError as e:
            self.fail('tojson', variant, tname, idx, ['output is not UTF-8: %s' % e],
                      ('not UTF-8',), wire, 'tojson')
            return None, None
        try:
            ours = strict_loads(text)
        except ValueError as e:
            self.fail('tojson', variant, tname, idx,
                      ['output is not strict JSON: %s; text %s' % (e, short(text, 300))],
                      ('not strict JSON',), wire, 'tojson')
            return None, text
        if not isinstance(ours, dict):
            self.fail('tojson', variant, tname, idx,
                      ['output is not an object: %s' % short(text)],
                      ('not an object',), wire, 'tojson')
            return None, text
        d = Diffs()
        cmp_message(desc, ours, oracle_dict, '', d)
        if d:
            lines, kinds = self.diff_lines(d)
            self.fail('tojson', variant, tname, idx, lines, kinds, wire, 'tojson')
            return False, text
        self.result('tojson', variant, True)
        return True, text

    # --- direction 2 -------------------------------------------------------
    def topb(self, desc, cls, tname, idx, variant, text, source, source_ok):
        data = text.encode('utf-8')
        fallback = None
        try:
            expected = cls()
            oracle_parse(text, expected)
        except (json_format.ParseError, ValueError, TypeError) as e:
            self.refused[variant] = self.refused.get(variant, 0) + 1
            why = re.sub(r'^(Failed to parse \w+ field: )+', '', str(e))
            why = re.sub(r'\d+(\.\d+)?(e[-+]?\d+)?', 'N', why.split(' at ')[0])[:60]
            self.refused_why[why] = self.refused_why.get(why, 0) + 1
            # json_format refuses float texts beyond FLT_MAX even when they
            # round to FLT_MAX, among them its own output for FLT_MAX
            # (3.4028235e+38); Go's protojson reads them as FLT_MAX.
            quirk = 'Float value too' in str(e)
            if not (source_ok and quirk) or self.args.no_fallback:
                return
            # The variant is a lossless spelling of the source message, so the
            # source is what json_format would have produced.
            self.fallback[variant] = self.fallback.get(variant, 0) + 1
            expected = source
            fallback = str(e)
        else:
            if source_ok and (expected.SerializeToString(deterministic=True)
                              != source.SerializeToString(deterministic=True)):
                self.oracle_drift[variant] = self.oracle_drift.get(variant, 0) + 1
        r = self.call('topb', variant, tname, idx, 'topb', data)
        if r is None:
            return
        status, body = r
        if status != 'ok':
            if fallback:
                self.fail('topb', variant, tname, idx,
                          ['tool refused a lossless spelling of the source message: %s'
                           % short(body.decode('utf-8', 'replace'), 300),
                           '(json_format refuses it too: %s; Go protojson accepts it)'
                           % short(fallback, 200),
                           'input: %s' % short(text, 300)],
                          ('refused (float text rounding to +-FLT_MAX)',), data, 'topb')
                return
            self.fail('topb', variant, tname, idx,
                      ['tool refused JSON the oracle accepts: %s'
                       % short(body.decode('utf-8', 'replace'), 300),
                       'input: %s' % short(text, 300)], ('refused',), data, 'topb')
            return
        try:
            ours = cls.FromString(body)
        except Exception as e:  # DecodeError and friends
            self.fail('topb', variant, tname, idx,
                      ['output is not valid wire bytes for the type: %s' % e],
                      ('bad wire bytes',), data, 'topb')
            return
        a = ours.SerializeToString(deterministic=True)
        b = expected.SerializeToString(deterministic=True)
        if a == b:
            self.result('topb', variant, True)
            return
        d = Diffs()
        diff_msgs(desc, ours, expected, '', d)
        if not d:
            d.add('', 'wire bytes differ (unknown fields?)', binascii.hexlify(a[:60]),
                  binascii.hexlify(b[:60]))
        lines, kinds = self.diff_lines(d)
        self.fail('topb', variant, tname, idx, lines, kinds, data, 'topb')

    # --- one message --------------------------------------------------------
    def one(self, desc, cls, tname, idx, rng):
        msg = cls()
        Gen(rng).fill(msg, 0)
        # deterministic: map entries sorted, so that a seed reproduces a run
        wire = msg.SerializeToString(deterministic=True)
        # The oracle works from the bytes as parsed: a map entry type's message
        # (standalone) serializes an unset message value as present, though
        # HasField said no.
        msg = cls.FromString(wire)
        try:
            oracle_dict = json_format.MessageToDict(msg, including_default_value_fields=True)
            json.loads(json_format.MessageToJson(msg, including_default_value_fields=True))
        except Exception as e:
            self.fatal.append('oracle failed on %s #%d: %s' % (tname, idx, e))
            self.fail('tojson', 'pb', tname, idx, ['oracle error: %s' % e], ('oracle error',))
            return
        ok1, ours_text = self.tojson(desc, tname, idx, wire, oracle_dict)
        # The same message encoded otherwise; the oracle reads those bytes.
        wire2 = rewire(desc, wire, rng)
        try:
            other = cls.FromString(wire2)
            other_dict = json_format.MessageToDict(other, including_default_value_fields=True)
        except Exception as e:
            self.fatal.append('oracle failed on rewired %s #%d: %s' % (tname, idx, e))
            self.fail('tojson', 'rewired', tname, idx, ['oracle error: %s' % e],
                      ('oracle error',))
        else:
            self.tojson(desc, tname, idx, wire2, other_dict, 'rewired')

        defaults = idx % 2 == 0
        asc = rng.random() < 0.5
        variants = [
            ('camel', json_format.MessageToJson(
                msg, including_default_value_fields=defaults), True),
            ('proto_names', json_format.MessageToJson(
                msg, including_default_value_fields=not defaults,
                preserving_proto_field_name=True, indent=None), True),
            ('int64_numbers', json.dumps(transform(desc, oracle_dict, to_num64),
                                         ensure_ascii=asc), True),
            ('enum_numbers', json_format.MessageToJson(
                msg, including_default_value_fields=defaults,
                use_integers_for_enums=True, indent=0), True),
            ('bytes_urlsafe', json.dumps(transform(desc, oracle_dict, to_urlsafe),
                                         ensure_ascii=not asc, separators=(',', ':')), True),
            ('mixed_names', json.dumps(mixed(desc, oracle_dict, rng),
                                       ensure_ascii=asc, indent=rng.choice([None, 1])), True),
        ]
        if ours_text is not None:
            variants.append(('ours', ours_text, bool(ok1)))
        for variant, text, lossless in variants:
            self.topb(desc, cls, tname, idx, variant, text, msg, lossless)

    # --- U+0000 ------------------------------------------------------------
    def count_nul(self, op, status):
        self.nul_outcome[(op, status)] = self.nul_outcome.get((op, status), 0) + 1

    def nul_checks(self, descs):
        """A string holding U+0000 is refused or carried intact, never cut:
        in a singular string, a repeated string, and a map key and value."""
        cases = []
        for desc, cls in descs:
            for f in desc.fields:
                if is_map(f):
                    e = f.message_type.fields_by_name
                    kind = 'map' if (e['key'].type == FD.TYPE_STRING
                                     and e['value'].type == FD.TYPE_STRING) else None
                elif f.type == FD.TYPE_STRING and f.containing_oneof is None:
                    kind = 'repeated' if is_repeated(f) else 'singular'
                else:
                    kind = None
                if kind and not any(c[2] == kind for c in cases):
                    cases.append((desc, cls, kind, f))
        for n, (desc, cls, kind, f) in enumerate(cases):
            for s in ('a\x00b', '\x00', 'tail\x00', '\x00\U0001F600\x00'):
                want = {'singular': s, 'repeated': ['x', s], 'map': {s: s, 'k': 'v'}}[kind]
                self.nul_topb(desc, cls, n, f, want)
                self.nul_tojson(desc, cls, n, f, want)

    @staticmethod
    def _pyval(kind, v):
        return list(v) if kind == 'repeated' else dict(v) if kind == 'map' else v

    def nul_topb(self, desc, cls, n, f, want):
        tname = desc.full_name
        kind = 'map' if is_map(f) else 'repeated' if is_repeated(f) else 'singular'
        text = json.dumps({f.json_name: want})
        r = self.call('nul', 'topb', tname, n, 'topb', text.encode())
        if r is None:
            return
        status, body = r
        if status == 'ok':
            try:
                got = self._pyval(kind, getattr(cls.FromString(body), f.name))
            except Exception as e:  # DecodeError and friends
                got = 'undecodable: %s' % e
            if got != want:
                self.fail('nul', 'topb', tname, n,
                          ['%s: JSON %s came back as %s (cut short?)'
                           % (f.name, text, short(got))], ('U+0000 not intact',),
                          text.encode(), 'topb')
                return
        self.count_nul('topb', status)
        self.result('nul', 'topb', True)

    def nul_tojson(self, desc, cls, n, f, want):
        tname = desc.full_name
        m = cls()
        if is_map(f):
            getattr(m, f.name).update(want)
        elif is_repeated(f):
            getattr(m, f.name).extend(want)
        else:
            setattr(m, f.name, want)
        wire = m.SerializeToString()
        r = self.call('nul', 'tojson', tname, n, 'tojson', wire)
        if r is None:
            return
        status, body = r
        if status == 'ok':
            try:
                got = strict_loads(body.decode('utf-8')).get(f.json_name)
            except Exception as e:  # not UTF-8, not strict JSON
                got = 'not strict JSON: %s' % e
            if got != want or b'\x00' in body:
                self.fail('nul', 'tojson', tname, n,
                          ['%s holding %r came out as %s'
                           % (f.name, want, short(body.decode('utf-8', 'replace'), 200))],
                          ('U+0000 not intact',), wire, 'tojson')
                return
        self.count_nul('tojson', status)
        self.result('nul', 'tojson', True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--tool', required=True, help='path to transcode-tool')
    ap.add_argument('--schema', required=True, help='FileDescriptorSet of the schema')
    ap.add_argument('--per-type', type=int, default=20, help='messages per type (20)')
    ap.add_argument('--seed', type=int, default=DEFAULT_SEED)
    ap.add_argument('--only', metavar='REGEX',
                    help='only types whose full name matches (then coverage is not enforced)')
    ap.add_argument('--max-report', type=int, default=40,
                    help='failures printed in full (40)')
    ap.add_argument('--dump', metavar='DIR', help='write each failing input into DIR')
    ap.add_argument('--timeout', type=float, default=20.0, help='seconds per reply (20)')
    ap.add_argument('--max-crashes', type=int, default=25)
    ap.add_argument('--expect-types', type=int, default=EXPECTED_TYPES,
                    help='message types the schema must have, all covered (%d)'
                    % EXPECTED_TYPES)
    ap.add_argument('--no-fallback', action='store_true',
                    help='skip variant texts json_format refuses, instead of checking '
                         'them against the source message')
    args = ap.parse_args()

    t0 = time.monotonic()
    print('oracle: seed %d, %d messages per type, protobuf %s (%s)' % (
        args.seed, args.per_type, getattr(sys.modules['google.protobuf'], '__version__', '?'),
        _impl()))
    try:
        pool, descs = load_schema(args.schema)
    except Exception as e:
        print('oracle: cannot load schema %s: %s' % (args.schema, e))
        print('oracle: 0 passed, 1 failed')
        return 1
    if args.only:
        descs = [x for x in descs if re.search(args.only, x[0].full_name)]
    nmaps = sum(1 for d, _ in descs if d.GetOptions().map_entry)
    if not (os.path.isfile(args.tool) and os.access(args.tool, os.X_OK)):
        print('oracle: tool %s is missing or not executable' % args.tool)
        print('oracle: 0 passed, 1 failed')
        return 1
    tool = Tool(args.tool, args.timeout)
    run = Run(args, tool)
    covered = set()
    nmsgs = 0
    aborted = None
    try:
        for desc, cls in descs:
            tname = desc.full_name
            for i in range(args.per_type):
                rng = random.Random('%d:%s:%d' % (args.seed, tname, i))
                run.one(desc, cls, tname, i, rng)
                nmsgs += 1
            covered.add(tname)
        run.nul_checks(descs)
    except ToolFailure as e:
        aborted = 'too many tool failures, stopped: %s' % e
    end_err = tool.close()
    if end_err:
        run.fatal.append(end_err)
        run.result('tool', 'exit', False)

    for r in run.reports:
        print(r)
    if run.failed > len(run.reports):
        print('... %d more failures not shown (--max-report)' % (run.failed - len(run.reports)))
    if run.kinds:
        print('oracle: failures by kind (count, first example):')
        for (direction, variant, kind), (cnt, ex) in sorted(run.kinds.items(),
                                                            key=lambda x: -x[1][0]):
            print('  %6d  %s/%s: %s   [e.g. %s]' % (cnt, direction, variant, kind, ex))
    for f in run.fatal[:10]:
        print('oracle: TOOL: %s' % f)
    print('oracle: covered %d types (%d map entries), %d messages; %d requests to the tool, '
          '%d tool restarts' % (len(covered), nmaps, nmsgs, tool.requests, tool.crashes))
    for direction in ('tojson', 'topb', 'nul', 'tool'):
        rows = [(v, s) for (dd, v), s in sorted(run.stats.items()) if dd == direction]
        if not rows:
            continue
        tp = sum(s[0] for _, s in rows)
        tf = sum(s[1] for _, s in rows)
        detail = ', '.join('%s %d/%d' % (v, s[0], s[0] + s[1]) for v, s in rows)
        print('oracle: %-6s %d passed, %d failed  (%s)' % (direction, tp, tf, detail))
    if run.nul_outcome:
        print('oracle: U+0000: %s' % ', '.join(
            '%s %s %d' % (op, 'carried intact' if st == 'ok' else 'refused', n)
            for (op, st), n in sorted(run.nul_outcome.items())))
    if run.refused:
        print('oracle: json_format refused %d variant texts (%s); reasons: %s; '
              '%d of them checked against the source message instead' % (
                  sum(run.refused.values()),
                  ', '.join('%s %d' % kv for kv in sorted(run.refused.items())),
                  '; '.join('%s x%d' % kv for kv in sorted(run.refused_why.items(),
                                                          key=lambda x: -x[1])[:5]),
                  sum(run.fallback.values())))
    if run.oracle_drift:
        print('oracle: note: json_format parsed %d variant texts to something other than '
              'the source message (%s)' % (sum(run.oracle_drift.values()), ', '.join(
                  '%s %d' % kv for kv in sorted(run.oracle_drift.items()))))
    failed = run.failed
    need = len(descs) if args.only else args.expect_types
    if len(covered) < need:
        print('oracle: only %d of %d types covered' % (len(covered), need))
        failed += 1
    if aborted:
        print('oracle: ' + aborted)
        failed += 1
    print('oracle: %.1f s' % (time.monotonic() - t0))
    print('oracle: %d passed, %d failed' % (run.passed, failed))
    return 1 if failed else 0


def _impl():
    try:
        from google.protobuf.internal import api_implementation
        return api_implementation.Type()
    except Exception:
        return '?'


if __name__ == '__main__':
    sys.exit(main())
