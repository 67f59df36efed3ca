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
  shapes  more valid wire bytes that json_format's serializer never writes
          (the first --shape-per-type messages of each type), each compared
          with MessageToDict of Python's parsing of THE SAME BYTES:
            split          a singular message in several occurrences (merged),
                           at any depth, splits inside splits, empty pieces
            concat         whole serialized messages one after another
            shuffle        every record in random order, repeated elements
                           among other fields
            unknown        unknown fields: varint, 64-bit, length-delimited,
                           32-bit
            groups         start/end groups, nested and empty, unknown and on
                           known field numbers
            packed_mix     one repeated scalar field packed and unpacked,
                           several packed runs, empty packed records
            oneof_twice    a oneof set twice (same member; two members when
                           the schema has a oneof of two), an explicit default
            scalar_repeat  singular scalars and strings given several times
            maps           entries missing key/value/both, duplicate keys,
                           value before key, key or value twice, a message
                           value split, unknown fields inside an entry
            wrong_wire_type  a known field with a wire type its type never
                           has (parsers keep it as an unknown field)
            nul_string     strings holding U+0000 (JSON `\\u0000`), map keys
                           and values included
          Each shape counts its cases and their features; a full run fails
          when a shape, or a feature the schema can hold, has no case;
  topb    several JSON spellings of the same message (camelCase and proto
          names, 64-bit ints as numbers, enums as numbers, URL-safe
          unpadded base64, our own tojson output) -> our wire bytes,
          compared with json_format.Parse of the same text;
  nul     a string holding U+0000 is carried intact both ways (refusing it
          is a failure).

json_format refuses float texts beyond FLT_MAX even when they round to
FLT_MAX (its own output for FLT_MAX, 3.4028235e+38, among them), where Go's
protojson reads FLT_MAX; such texts are checked against the source message
instead (--no-fallback skips them). Failures name the type, the message's
index, the shape and the field path (and what the shape did where);
`--seed S --only '^type$' --shapes '^shape$'` reproduces one case.

Usage:
  /usr/bin/python3 tests/oracle/oracle_test.py --tool build/tests/transcode-tool \
      --schema build/gen/schema.pb [--per-type 20] [--seed N] \
      [--shape-per-type 4] [--shapes REGEX] [--only REGEX] [--dump DIR]

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
DEFAULT_SHAPE_PER_TYPE = 4
TOPB_VARIANTS = ('camel', 'proto_names', 'int64_numbers', 'enum_numbers', 'bytes_urlsafe',
                 'mixed_names', 'ours')
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
# Wire shapes for tojson: valid encodings that json_format's serializer never
# writes but another encoder (Java's, Go's, a hand-made one) may, each sent to
# the tool and compared with json_format's reading of THE SAME BYTES. A shape
# works on a tree of the message's records: a known message field's payload is
# a Sub (its records), a group a plain list. Each change is noted as
# (feature, field path): the failure report lists them, and the summary counts
# the cases of each feature so that no check passes without cases.

class Sub(list):
    """A known message field's payload as records; piece: made by a split."""

    def __init__(self, desc, recs=(), piece=False):
        list.__init__(self, recs)
        self.desc = desc
        self.piece = piece


def wire_tag(num, wt):
    return enc_varint(num << 3 | wt)


def parse_tree(desc, b):
    recs = []
    for num, wt, v in read_records(b):
        f = desc.fields_by_number.get(num)
        if f is not None and wt == 2 and f.type == FD.TYPE_MESSAGE:
            v = Sub(f.message_type, parse_tree(f.message_type, v))
        recs.append((num, wt, v))
    return recs


def write_tree(recs):
    out = []

    def put(recs):
        for num, wt, v in recs:
            out.append(wire_tag(num, wt))
            if wt == 3:                      # a group: its records, then its end
                put(v)
                out.append(wire_tag(num, 4))
            elif wt == 0:
                out.append(enc_varint(v))
            elif wt == 2:
                v = write_tree(v) if isinstance(v, list) else v
                out.append(enc_varint(len(v)))
                out.append(v)
            else:
                out.append(v)
    put(recs)
    return b''.join(out)


def field_path(path, f, i):
    p = '%s.%s' % (path, f.json_name) if path else f.json_name
    if is_map(f):
        return '%s{entry %d}' % (p, i)
    return '%s[%d]' % (p, i) if is_repeated(f) else p


def walk_tree(desc, recs, path, fn):
    """fn(desc, records, path) -> records, applied to every message of the
    tree, the innermost first (so a shape also acts inside its own work)."""
    seen, out = {}, []
    for num, wt, v in recs:
        if isinstance(v, Sub):
            i = seen.get(num, 0)
            seen[num] = i + 1
            p = field_path(path, desc.fields_by_number[num], i)
            v = Sub(v.desc, walk_tree(v.desc, v, p, fn), v.piece)
        out.append((num, wt, v))
    return fn(desc, out, path)


def scatter(rng, base, new, lo=0, hi=None):
    """base with the records of new inserted, in their order, at random
    places between base[lo] and base[hi] (both ends included)."""
    hi = len(base) if hi is None else hi
    pos = sorted(rng.randint(lo, hi) for _ in new)
    out, j = [], 0
    for i in range(len(base) + 1):
        while j < len(new) and pos[j] == i:
            out.append(new[j])
            j += 1
        if i < len(base):
            out.append(base[i])
    return out


def default_record(f):
    """An explicit record of f's default value (proto3 never writes one)."""
    wt = T_WT.get(f.type, 2)
    return (f.number, wt, {0: 0, 1: bytes(8), 5: bytes(4), 2: b''}[wt])


WT_NAMES = {0: 'varint', 1: '64-bit', 2: 'length-delimited', 5: '32-bit'}


def fixed_bytes(rng, n):
    return rng.getrandbits(8 * n).to_bytes(n, 'little')


def free_numbers(desc, rng):
    used = set(desc.fields_by_number)
    top = max(used or [0])
    cands = [top + 1, top + 2, 2 ** 29 - 1, 19000, rng.randint(top + 1, 2 ** 29 - 1)]
    cands += [n for n in range(1, top) if n not in used]      # gaps: reserved numbers
    return [n for n in cands if n not in used]


class Shaper:
    """One shape applied to one message: its random stream, its notes."""

    def __init__(self, rng, classes):
        self.rng = rng
        self.classes = classes
        self.gen = Gen(rng)
        self.edits = []                      # (feature, path)

    def note(self, feature, path, field=None):
        if field is not None:
            path = '%s.%s' % (path, field.json_name) if path else field.json_name
        self.edits.append((feature, path or '<top>'))

    def value_records(self, desc, f):
        """The records of a random value of f (one element, when repeated)."""
        m = self.classes[desc.full_name]()
        self.gen.set_field(m, f, MAX_DEPTH - 2, True)
        recs = [r for r in parse_tree(desc, m.SerializeToString(deterministic=True))
                if r[0] == f.number]
        if is_repeated(f) and recs:
            recs = [self.rng.choice(recs)]
        return recs or [default_record(f)]

    def unknown_value(self, wt, depth=0):
        rng = self.rng
        if wt == 0:
            return rng.choice([0, 1, 300, 2 ** 63, 2 ** 64 - 1, rng.getrandbits(64)])
        if wt in (1, 5):
            return fixed_bytes(rng, 8 if wt == 1 else 4)
        if wt == 2:
            return rng.choice([b'', b'\x08\x01', b'junk\x00\xff',
                               fixed_bytes(rng, rng.randint(1, 24))])
        return [self.unknown_record(rng.randint(1, 2 ** 29 - 1), depth + 1)
                for _ in range(rng.randint(0, 3))]

    def unknown_record(self, num, depth=0, wts=(0, 1, 2, 5, 3)):
        """A record of any wire type; groups nest at most 3 deep."""
        wt = self.rng.choice([w for w in wts if w != 3 or depth < 3])
        return (num, wt, self.unknown_value(wt, depth))


def level_shape(fn):
    """A shape that acts on every message of the tree (fn(sh, desc, records,
    path) -> records)."""
    def shape(sh, desc, cls, wire):
        tree = walk_tree(desc, parse_tree(desc, wire), '',
                         lambda d, recs, path: fn(sh, d, recs, path))
        return write_tree(tree)
    shape.__doc__ = fn.__doc__
    return shape


def singular_msg(f):
    return f is not None and f.type == FD.TYPE_MESSAGE and not is_repeated(f)


def split_sub(rng, num, v, kmax=4):
    """The records of a singular message payload v cut into 2..kmax
    occurrences (some may be empty); their concatenation is v."""
    k = rng.randint(2, kmax)
    cuts = [0] + sorted(rng.randint(0, len(v)) for _ in range(k - 1)) + [len(v)]
    return [(num, 2, Sub(v.desc, v[a:b], True)) for a, b in zip(cuts, cuts[1:])]


def interleaved(recs, num):
    """Whether field num's records in recs have other records between them."""
    at = [i for i, r in enumerate(recs) if r[0] == num]
    return len(at) > 1 and at[-1] - at[0] >= len(at)


@level_shape
def shape_split(sh, desc, recs, path):
    """A singular message field's payload in several occurrences, the later
    ones among the other fields; splits inside splits."""
    rng = sh.rng
    out, queues = [], []
    for num, wt, v in recs:
        f = desc.fields_by_number.get(num)
        if isinstance(v, Sub) and singular_msg(f) and rng.random() < 0.6:
            pieces = split_sub(rng, num, v)
            sh.note('split', path, f)
            if any(len(p[2]) == 0 for p in pieces):
                sh.note('empty piece', path, f)
            if any(isinstance(x[2], Sub) and x[2].piece for x in v):
                sh.note('split inside split', path, f)
            out.append(pieces[0])
            queues.append((f, pieces[1:]))
            continue
        out.append((num, wt, v))
        for f, rest in queues:
            if rest and rng.random() < 0.5:
                out.append(rest.pop(0))
    for f, rest in queues:
        out.extend(rest)
        if interleaved(out, f.number):
            sh.note('pieces among other fields', path, f)
    return out


def shape_concat(sh, desc, cls, wire):
    """Whole serialized messages one after another: protobuf merges them."""
    rng = sh.rng
    parts = [wire]
    for _ in range(rng.randint(1, 2)):
        if rng.random() < 0.25:
            parts.append(wire)
            sh.note('message twice', '<top>')
            continue
        m = cls()
        sh.gen.fill(m, 0)
        for f in desc.fields:
            if rng.random() < 0.5:
                m.ClearField(f.name)
        b = m.SerializeToString(deterministic=True)
        parts.append(b)
        sh.note('merged with another' if b and wire else 'merged with an empty one', '<top>')
    return b''.join(parts)


@level_shape
def shape_shuffle(sh, desc, recs, path):
    """Every record in random order: fields interleaved, repeated fields'
    elements (unpacked first, most of the time) among the others."""
    rng = sh.rng
    new = []
    for num, wt, v in recs:
        f = desc.fields_by_number.get(num)
        if f is not None and wt == 2 and is_repeated(f) and f.type in T_WT \
                and rng.random() < 0.7:
            new.extend(unpack(f, v))
        else:
            new.append((num, wt, v))
    order = list(range(len(new)))
    rng.shuffle(order)
    if order != sorted(order):
        sh.note('shuffled', path)
    new = [new[i] for i in order]
    for f in desc.fields:
        if is_repeated(f) and interleaved(new, f.number):
            sh.note('repeated elements among other fields', path, f)
    return new


@level_shape
def shape_unknown(sh, desc, recs, path):
    """Fields the schema does not know, of wire types varint, 64-bit,
    length-delimited and 32-bit."""
    rng = sh.rng
    if rng.random() < 0.3:
        return recs
    nums = free_numbers(desc, rng)
    new = []
    for _ in range(rng.randint(1, 4)):
        r = sh.unknown_record(rng.choice(nums), wts=(0, 1, 2, 5))
        new.append(r)
        sh.note(WT_NAMES[r[1]], '%s#%d' % (path, r[0]))
    return scatter(rng, recs, new)


def group_depth(recs):
    return max([1 + group_depth(v) for _, wt, v in recs if wt == 3] or [0])


@level_shape
def shape_groups(sh, desc, recs, path):
    """Groups (start group ... end group), nested, empty, with any content:
    under field numbers the schema does not know, and under known ones
    (a wire type that does not match: skipped too)."""
    rng = sh.rng
    if rng.random() < 0.3:
        return recs
    nums = free_numbers(desc, rng)
    new = []
    for _ in range(rng.randint(1, 2)):
        known = desc.fields and rng.random() < 0.3
        num = rng.choice(desc.fields).number if known else rng.choice(nums)
        g = (num, 3, sh.unknown_value(3))
        new.append(g)
        where = '%s#%d' % (path, num)
        sh.note('group on a known field' if known else 'unknown group', where)
        if not g[2]:
            sh.note('empty group', where)
        if group_depth(g[2]) >= 1:
            sh.note('nested group', where)
    return scatter(rng, recs, new)


def encode_elem(wt, v):
    return enc_varint(v) if wt == 0 else v


@level_shape
def shape_packed(sh, desc, recs, path):
    """Repeated scalars packed and unpacked within one field: several packed
    runs, single elements between them, empty packed records."""
    rng = sh.rng
    for f in desc.fields:
        if not (is_repeated(f) and f.type in T_WT):
            continue
        wt = T_WT[f.type]
        elems = []
        rest = []
        for r in recs:
            if r[0] != f.number:
                rest.append(r)
            elif r[1] == 2:
                elems.extend(unpack(f, r[2]))
            else:
                elems.append(r)
        if not elems and rng.random() < 0.7:
            continue
        new, packed_runs, singles = [], 0, 0
        i = 0
        while i < len(elems):
            n = rng.randint(1, max(1, len(elems) - i))
            run = elems[i:i + n]
            i += n
            if rng.random() < 0.5:
                new.append((f.number, 2, b''.join(encode_elem(wt, e[2]) for e in run)))
                packed_runs += 1
            else:
                new.extend(run)
                singles += len(run)
        if rng.random() < 0.3 or not elems:
            new.insert(rng.randint(0, len(new)), (f.number, 2, b''))
            sh.note('empty packed record', path, f)
        if packed_runs >= 2:
            sh.note('several packed runs', path, f)
        if packed_runs and singles:
            sh.note('packed and unpacked in one field', path, f)
        elif singles:
            sh.note('unpacked', path, f)
        elif packed_runs:
            sh.note('packed', path, f)
        recs = scatter(rng, rest, new)
    return recs


@level_shape
def shape_oneof(sh, desc, recs, path):
    """A oneof set more than once: the same member twice (a message member
    merges), two different members (the last wins), A B A, an explicit
    default last."""
    rng = sh.rng
    for o in desc.oneofs:
        members = {f.number: f for f in o.fields}
        at = [i for i, r in enumerate(recs) if r[0] in members]
        last = members[recs[at[-1]][0]] if at else rng.choice(o.fields)
        others = [f for f in o.fields if f is not last]
        end = at[-1] if at else len(recs)
        early = sh.value_records(desc, last)
        sh.note('same member twice', path, last)
        if others and rng.random() < 0.6:
            other = rng.choice(others)
            if rng.random() < 0.5:                   # A B A
                early = sh.value_records(desc, last) + sh.value_records(desc, other) + early
                sh.note('A B A', path, other)
            else:
                early = sh.value_records(desc, other) + early
            sh.note('two different members', path, other)
        recs = scatter(rng, recs[:end], early) + recs[end:]
        if not at:
            recs = scatter(rng, recs, sh.value_records(desc, last), end + len(early))
            sh.note('unset member set twice', path, last)
        if last.type not in T_MSG and rng.random() < 0.3:
            recs.append(default_record(last))
            sh.note('explicit default last', path, last)
    return recs


def scalar_kind(f):
    if f.type == FD.TYPE_STRING:
        return 'string'
    if f.type == FD.TYPE_BYTES:
        return 'bytes'
    return WT_NAMES[T_WT[f.type]]


@level_shape
def shape_scalars(sh, desc, recs, path):
    """Singular scalars and strings given several times: the last wins
    (an explicit default value last, too)."""
    rng = sh.rng
    for f in desc.fields:
        if is_repeated(f) or f.type in T_MSG or f.containing_oneof is not None \
                or rng.random() < 0.5:
            continue
        at = [i for i, r in enumerate(recs) if r[0] == f.number]
        early = []
        for _ in range(rng.randint(1, 3)):
            early += sh.value_records(desc, f)
        end = at[-1] if at else len(recs)
        recs = scatter(rng, recs[:end], early) + recs[end:]
        sh.note('%s given several times' % scalar_kind(f), path, f)
        if rng.random() < 0.3:
            recs.append(default_record(f))
            sh.note('explicit default last', path, f)
    return recs


MAP_OPS = ('missing key', 'missing value', 'missing key and value', 'value before key',
           'key twice', 'value twice', 'split value', 'unknown field in entry',
           'duplicate key', 'duplicate key later')


@level_shape
def shape_maps(sh, desc, recs, path):
    """Map entries as other encoders write them: key or value or both
    missing, duplicate keys (the last wins), value before key, key or value
    given twice, a message value split in several occurrences, unknown
    fields inside an entry."""
    rng = sh.rng
    for f in desc.fields:
        if not is_map(f):
            continue
        ed = f.message_type
        kf, vf = ed.fields_by_name['key'], ed.fields_by_name['value']
        entries = [i for i, r in enumerate(recs) if r[0] == f.number and isinstance(r[2], Sub)]
        if not entries or rng.random() < 0.3:        # a new entry to work on
            recs = scatter(rng, recs, [(f.number, 2, Sub(
                ed, sh.value_records(ed, kf) + sh.value_records(ed, vf)))])
            entries = [i for i, r in enumerate(recs)
                       if r[0] == f.number and isinstance(r[2], Sub)]
        out = []
        for n, r in enumerate(recs):
            if n not in entries or rng.random() < 0.3:
                out.append(r)
                continue
            ent = list(r[2])
            keys = [x for x in ent if x[0] == 1]
            ops = [op for op in MAP_OPS if op != 'split value' or vf.type == FD.TYPE_MESSAGE]
            op = rng.choice(ops)
            where = '%s{entry %d}' % ('%s.%s' % (path, f.json_name) if path else f.json_name,
                                      entries.index(n))
            if op == 'missing key':
                ent = [x for x in ent if x[0] != 1]
            elif op == 'missing value':
                ent = [x for x in ent if x[0] != 2]
            elif op == 'missing key and value':
                ent = []
            elif op == 'value before key':
                ent = [x for x in ent if x[0] == 2] + [x for x in ent if x[0] != 2]
                if not keys:
                    ent += sh.value_records(ed, kf)
            elif op == 'key twice':
                ent = sh.value_records(ed, kf) + ent
            elif op == 'value twice':
                ent = scatter(rng, ent, sh.value_records(ed, vf))
            elif op == 'split value':
                vals = [x for x in ent if x[0] == 2 and isinstance(x[2], Sub)] or \
                    [x for x in sh.value_records(ed, vf) if isinstance(x[2], Sub)]
                if not vals:
                    vals = [(2, 2, Sub(vf.message_type))]
                ent = [x for x in ent if x[0] != 2]
                ent = scatter(rng, ent, split_sub(rng, 2, vals[-1][2]))
            elif op == 'unknown field in entry':
                ent = scatter(rng, ent, [sh.unknown_record(rng.randint(3, 99),
                                                           wts=(0, 1, 2, 5))])
            elif op in ('duplicate key', 'duplicate key later'):
                other = [(f.number, 2, Sub(ed, keys + sh.value_records(ed, vf)))]
                if op == 'duplicate key':
                    out.extend(other)
                else:
                    out.append((f.number, 2, Sub(ed, ent)))
                    sh.note(op, where)
                    out.extend(other)
                    continue
            sh.note(op, where)
            out.append((f.number, 2, Sub(ed, ent)))
        recs = out
    return recs


@level_shape
def shape_wrong_wt(sh, desc, recs, path):
    """A known field number with a wire type its type never has (a varint
    for a string, 32 bits for a varint, length-delimited for a singular
    scalar...): parsers keep it as an unknown field. Debian 12's
    python3-protobuf 3.21 does so in both its backends (cpp and python),
    as do C++ and Go; a length-delimited record of a repeated scalar is
    packed, so it is never used as a mismatch."""
    rng = sh.rng
    for f in desc.fields:
        if rng.random() < 0.7:
            continue
        valid = {T_WT.get(f.type, 2)}
        if is_repeated(f) and f.type in T_WT:
            valid.add(2)                         # packed
        wt = rng.choice([w for w in (0, 1, 2, 5) if w not in valid])
        at = [i for i, r in enumerate(recs) if r[0] == f.number]
        recs = scatter(rng, recs, [(f.number, wt, sh.unknown_value(wt))])
        what = ('a map' if is_map(f) else 'a message' if f.type in T_MSG
                else TYPE_NAMES[f.type])
        sh.note('%s as %s' % (what, WT_NAMES[wt]), path, f)
        if at:
            sh.note('beside a valid occurrence', path, f)
    return recs


class NulGen(Gen):
    """Strings hold U+0000: alone, first, last, several."""

    def rand_str(self, allow_long=True):
        s = Gen.rand_str(self, allow_long)
        if self.rng.random() < 0.7:
            for _ in range(self.rng.randint(1, 2)):
                i = self.rng.randint(0, len(s))
                s = s[:i] + '\x00' + s[i:]
        return s


def shape_nul(sh, desc, cls, wire):
    """A message whose strings hold U+0000 (JSON: \\u0000), at any depth,
    map keys and values included."""
    m = cls()
    NulGen(sh.rng).fill(m, 0)
    wire = m.SerializeToString(deterministic=True)

    def find(d, recs, path):
        for num, wt, v in recs:
            f = d.fields_by_number.get(num)
            if f is None or f.type != FD.TYPE_STRING or b'\x00' not in v:
                continue
            if d.GetOptions().map_entry:
                kind = 'map key' if num == 1 else 'map value'
            else:
                kind = 'repeated' if is_repeated(f) else 'singular'
            sh.note(kind + (' nested' if path else ''), path, f)
        return recs
    walk_tree(desc, parse_tree(desc, wire), '', find)
    return wire


# (name, shape, on every message): shapes that only a few types can take
# (a map, a oneof, a repeated scalar somewhere inside) work on every message
# of the run, the others on the first --shape-per-type of each type.
SHAPES = [
    ('split', shape_split, False),
    ('concat', shape_concat, False),
    ('shuffle', shape_shuffle, False),
    ('unknown', shape_unknown, False),
    ('groups', shape_groups, False),
    ('packed_mix', shape_packed, True),
    ('oneof_twice', shape_oneof, True),
    ('scalar_repeat', shape_scalars, False),
    ('maps', shape_maps, True),
    ('wrong_wire_type', shape_wrong_wt, False),
    ('nul_string', shape_nul, False),
]

# Shapes that change nothing of the message by protobuf's rules (pieces of a
# message merge back, unknown records and groups and mismatched wire types
# are skipped, packing is free): json_format's reading of their bytes must
# be its reading of the source bytes, or the oracle itself is wrong.
SAME_AS_SOURCE = {'split', 'unknown', 'groups', 'packed_mix', 'wrong_wire_type'}

# What a message must hold, at some depth, for the every-message shapes to
# have anything to do.
SHAPE_NEEDS = {
    'packed_mix': lambda f: is_repeated(f) and f.type in T_WT,
    'oneof_twice': lambda f: f.containing_oneof is not None,
    'maps': is_map,
}


def holds(desc, need, memo, seen=()):
    """Whether a field of desc, or of a message type inside it, meets need."""
    if desc.full_name not in memo:
        if desc.full_name in seen:
            return False                     # a recursive type: decided above
        seen = seen + (desc.full_name,)
        memo[desc.full_name] = any(
            need(f) or (f.type == FD.TYPE_MESSAGE and holds(f.message_type, need, memo, seen))
            for f in desc.fields)
    return memo[desc.full_name]


def shape_requires(descs):
    """For each shape, the features (regular expressions) that a full run
    must have produced at least once; those the schema cannot hold (a oneof
    of two members, a map of messages) only when it can."""
    multi = any(len(o.fields) > 1 for d, _ in descs for o in d.oneofs)
    scalar_oneof = any(f.type not in T_MSG for d, _ in descs for o in d.oneofs
                       for f in o.fields)
    msg_map = any(is_map(f) and f.message_type.fields_by_name['value'].type in T_MSG
                  for d, _ in descs for f in d.fields)
    kinds = {scalar_kind(f) for d, _ in descs for f in d.fields
             if not is_repeated(f) and f.type not in T_MSG and f.containing_oneof is None}
    req = {
        'split': ['^split$', 'empty piece', 'split inside split', 'pieces among other'],
        'concat': ['message twice', 'merged with another'],
        'shuffle': ['shuffled', 'repeated elements among other fields'],
        'unknown': ['^varint$', '^64-bit$', '^length-delimited$', '^32-bit$'],
        'groups': ['unknown group', 'group on a known field', 'empty group', 'nested group'],
        'packed_mix': ['several packed runs', 'packed and unpacked in one field',
                       'empty packed record', '^unpacked$', '^packed$'],
        'oneof_twice': ['same member twice', 'unset member set twice']
        + (['two different members', 'A B A'] if multi else [])
        + (['explicit default last'] if scalar_oneof else []),
        'scalar_repeat': ['^%s given' % k for k in sorted(kinds)] + ['explicit default last'],
        'maps': ['^%s$' % op for op in MAP_OPS if op != 'split value' or msg_map],
        'wrong_wire_type': ['as varint$', 'as 64-bit$', 'as length-delimited$', 'as 32-bit$',
                            '^a message as', '^a map as', 'beside a valid occurrence'],
        'nul_string': ['^singular', '^repeated', '^map key', '^map value', ' nested$'],
    }
    unmet = []
    if not multi:
        unmet.append('no oneof of the schema has two members: "two different members" '
                     'and "A B A" cannot be made')
    return req, unmet


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
        self.classes = {}     # full name -> message class, every type
        self.features = {}    # shape -> {feature: cases}
        self.holds = {}       # shape -> {type: whether it can take the shape}
        self.oracle_same = {}  # True/False -> cases of SAME_AS_SOURCE shapes
        self.first = {}       # (direction, variant) -> first failure's report

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
        report = 'FAIL ' + head + '\n' + '\n'.join('    ' + l for l in lines)
        self.first.setdefault((direction, variant), report)
        if len(self.reports) < self.args.max_report:
            self.reports.append(report)
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
    def tojson(self, desc, tname, idx, wire, oracle_dict, variant='pb', notes=()):
        """notes: lines added to a failure's report (what a shape did where)."""
        def bad(lines, kinds):
            self.fail('tojson', variant, tname, idx, lines + list(notes), kinds, wire,
                      'tojson')

        r = self.call('tojson', variant, tname, idx, 'tojson', wire)
        if r is None:
            return None, None
        status, body = r
        if status != 'ok':
            bad(['tool refused valid wire bytes: %s'
                 % short(body.decode('utf-8', 'replace'), 300)], ('refused',))
            return None, None
        try:
            text = body.decode('utf-8')
        except UnicodeDecodeError as e:
            bad(['output is not UTF-8: %s' % e], ('not UTF-8',))
            return None, None
        try:
            ours = strict_loads(text)
        except ValueError as e:
            bad(['output is not strict JSON: %s; text %s' % (e, short(text, 300))],
                ('not strict JSON',))
            return None, text
        if not isinstance(ours, dict):
            bad(['output is not an object: %s' % short(text)], ('not an object',))
            return None, text
        d = Diffs()
        cmp_message(desc, ours, oracle_dict, '', d)
        if d:
            lines, kinds = self.diff_lines(d)
            bad(lines, kinds)
            return False, text
        self.result('tojson', variant, True)
        return True, text

    # --- direction 1: wire shapes -------------------------------------------
    def shapes(self, desc, cls, tname, idx, wire):
        """Every selected shape of this message's bytes, through the tool,
        against json_format's reading of the same bytes."""
        source = None
        for name, fn, every in SHAPES:
            if self.args.shapes and not re.search(self.args.shapes, name):
                continue
            if not (every or idx < self.args.shape_per_type):
                continue
            if name in SHAPE_NEEDS and not holds(desc, SHAPE_NEEDS[name],
                                                 self.holds.setdefault(name, {})):
                continue
            sh = Shaper(random.Random('%d:%s:%d:%s' % (self.args.seed, tname, idx, name)),
                        self.classes)
            try:
                data = fn(sh, desc, cls, wire)
                if not sh.edits:
                    continue                     # nothing to do on this message
                other = cls.FromString(data)
                expect = json_format.MessageToDict(other, including_default_value_fields=True)
            except Exception as e:  # a bug of the shape, or bytes Python refuses
                self.fatal.append('shape %s failed on %s #%d: %s: %s'
                                  % (name, tname, idx, type(e).__name__, e))
                self.fail('tojson', name, tname, idx, ['oracle or shape error: %s: %s'
                                                       % (type(e).__name__, e)],
                          ('oracle error',))
                continue
            if name in SAME_AS_SOURCE:
                if source is None:
                    source = json.dumps(json_format.MessageToDict(
                        cls.FromString(wire), including_default_value_fields=True),
                        sort_keys=True)
                same = json.dumps(expect, sort_keys=True) == source
                self.oracle_same[same] = self.oracle_same.get(same, 0) + 1
                if not same:
                    self.fail('tojson', name, tname, idx,
                              ['json_format read these bytes as another message than the '
                               'source, against protobuf\'s rules: the oracle is wrong here',
                               'shape %s did: %s' % (name, sh.edits[:8])],
                              ('oracle disagrees with protobuf\'s rules',), data, 'tojson')
                    continue
            feats = self.features.setdefault(name, {})
            for feat in {f for f, _ in sh.edits}:
                feats[feat] = feats.get(feat, 0) + 1
            shown = sh.edits[:8]
            notes = ['shape %s did: %s%s' % (name, '; '.join('%s at %s' % e for e in shown),
                                             ' ... (%d in all)' % len(sh.edits)
                                             if len(sh.edits) > len(shown) else ''),
                     'reproduce: --seed %d --only \'^%s$\' --shapes \'^%s$\''
                     % (self.args.seed, re.escape(tname), name)]
            self.tojson(desc, tname, idx, data, expect, name, notes)

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
        if self.args.shape_per_type > 0:
            self.shapes(desc, cls, tname, idx, wire)

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
        """A string holding U+0000 is carried intact both ways (SPEC 1:
        `\\u0000` in JSON), never refused nor cut: in a singular string, a
        repeated string, and a map key and value."""
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
        self.count_nul('topb', status)
        if status != 'ok':
            self.fail('nul', 'topb', tname, n,
                      ['%s: JSON %s refused: %s' % (f.name, text, short(
                          body.decode('utf-8', 'replace'), 200))], ('U+0000 refused',),
                      text.encode(), 'topb')
            return
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
        self.count_nul('tojson', status)
        if status != 'ok':
            self.fail('nul', 'tojson', tname, n,
                      ['%s holding %r refused: %s'
                       % (f.name, want, short(body.decode('utf-8', 'replace'), 200))],
                      ('U+0000 refused',), wire, 'tojson')
            return
        try:
            got = strict_loads(body.decode('utf-8')).get(f.json_name)
        except Exception as e:  # not UTF-8, not strict JSON
            got = 'not strict JSON: %s' % e
        if got != want or b'\x00' in body or b'\\u0000' not in body:
            self.fail('nul', 'tojson', tname, n,
                      ['%s holding %r came out as %s'
                       % (f.name, want, short(body.decode('utf-8', 'replace'), 200))],
                      ('U+0000 not intact',), wire, 'tojson')
            return
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
    ap.add_argument('--shape-per-type', type=int, default=DEFAULT_SHAPE_PER_TYPE,
                    metavar='N', help='messages per type whose bytes are also sent in '
                    'every wire shape (%d); the shapes few types can take work on '
                    'every message; 0: none (a full run then fails, its shapes '
                    'having no case)' % DEFAULT_SHAPE_PER_TYPE)
    ap.add_argument('--shapes', metavar='REGEX',
                    help='only the wire shapes whose name matches (then the shapes\' '
                         'case counts are checked for those only); --list-shapes names them')
    ap.add_argument('--list-shapes', action='store_true', help='list the wire shapes and exit')
    ap.add_argument('--no-fallback', action='store_true',
                    help='skip variant texts json_format refuses, instead of checking '
                         'them against the source message')
    args = ap.parse_args()
    if args.list_shapes:
        for name, fn, every in SHAPES:
            print('%-16s %s%s' % (name, ' '.join((fn.__doc__ or '').split()),
                                  ' (every message)' if every else ''))
        return 0

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
    all_descs = descs
    if args.only:
        descs = [x for x in descs if re.search(args.only, x[0].full_name)]
    nmaps = sum(1 for d, _ in descs if d.GetOptions().map_entry)
    if not (os.path.isfile(args.tool) and os.access(args.tool, os.X_OK)):
        print('oracle: tool %s is missing or not executable' % args.tool)
        print('oracle: 0 passed, 1 failed')
        return 1
    tool = Tool(args.tool, args.timeout)
    run = Run(args, tool)
    run.classes = {d.full_name: c for d, c in all_descs}
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
    failed = run.failed
    failed += shape_summary(run, args, all_descs)
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
    need = len(descs) if args.only else args.expect_types
    if len(covered) < need:
        print('oracle: only %d of %d types covered' % (len(covered), need))
        failed += 1
    if aborted:
        print('oracle: ' + aborted)
        failed += 1
    if run.first:
        print('oracle: first failure of each check:')
        for (direction, variant), rep in sorted(run.first.items()):
            print('  ' + rep.replace('\n', '\n  '))
    print('oracle: %.1f s' % (time.monotonic() - t0))
    print('oracle: %d passed, %d failed' % (run.passed, failed))
    return 1 if failed else 0


def shape_summary(run, args, descs):
    """Prints each shape's and each other check's case count and features;
    returns how many of them had no case where a full run needs one (a
    check that passes without cases proves nothing)."""
    req, unmet = shape_requires(descs)
    full = not args.only and args.per_type > 0
    bad = 0
    want = [name for name, _, _ in SHAPES if not args.shapes or re.search(args.shapes, name)]
    for name in want:
        p, f = run.stats.get(('tojson', name), (0, 0))
        feats = run.features.get(name, {})
        missing = [r for r in req[name] if not any(re.search(r, k) for k in feats)]
        print('oracle: shape %-16s %5d cases, %5d passed, %5d failed; %s' % (
            name, p + f, p, f, ', '.join('%s %d' % kv for kv in sorted(feats.items()))
            or 'no feature'))
        if full and (p + f == 0 or missing):
            print('oracle: shape %s: %s' % (name, 'NO CASE' if p + f == 0 else
                                            'no case of: ' + ', '.join(missing)))
            bad += 1
    if run.oracle_same:
        print('oracle: json_format read the bytes of %s as the source message in %d of %d '
              'cases' % ('/'.join(sorted(SAME_AS_SOURCE)), run.oracle_same.get(True, 0),
                         sum(run.oracle_same.values())))
    for note in unmet:
        print('oracle: note: ' + note)
    if full:
        for key in [('tojson', 'pb'), ('tojson', 'rewired'), ('nul', 'tojson'),
                    ('nul', 'topb')] + [('topb', v) for v in TOPB_VARIANTS]:
            if sum(run.stats.get(key, (0, 0))) == 0:
                print('oracle: %s/%s: NO CASE' % key)
                bad += 1
    elif want:
        print('oracle: (cases per shape not enforced with --only or --per-type 0)')
    return bad


def _impl():
    try:
        from google.protobuf.internal import api_implementation
        return api_implementation.Type()
    except Exception:
        return '?'


if __name__ == '__main__':
    sys.exit(main())
