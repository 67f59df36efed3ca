"""Populated answers for scripts with "fill": "random": every field of the
response type gets a value (nested messages, repeated fields, maps, one
member of each oneof), from a generator seeded by the method's path, so the
same method always answers the same message and a test can compare what
the gateway turned into JSON with what a direct call returns.

NaN is left out: a message holding it never equals itself, which would
make such comparisons meaningless (the transcoder's own oracle covers it).
"""

import random

from google.protobuf.descriptor import FieldDescriptor as FD

MAX_DEPTH = 3
STRINGS = ["", "render", "ünïcödé ✓", "quote \" back\\slash", "tab\tnew\nline", "日本語", "😀 emoji"]
INT32 = [0, 1, -1, 2147483647, -2147483648, 42]
INT64 = [0, 1, -1, 9223372036854775807, -9223372036854775808, 2 ** 53 + 1]
UINT32 = [0, 1, 4294967295]
UINT64 = [0, 1, 18446744073709551615]
FLOATS = [0.0, -0.0, 0.1, 1.5, -2.25, 1e-7, 3.4e38, float("inf"), float("-inf")]


def _scalar(f, rng):
    t = f.type
    if t in (FD.TYPE_INT32, FD.TYPE_SINT32, FD.TYPE_SFIXED32):
        return rng.choice(INT32)
    if t in (FD.TYPE_INT64, FD.TYPE_SINT64, FD.TYPE_SFIXED64):
        return rng.choice(INT64)
    if t in (FD.TYPE_UINT32, FD.TYPE_FIXED32):
        return rng.choice(UINT32)
    if t in (FD.TYPE_UINT64, FD.TYPE_FIXED64):
        return rng.choice(UINT64)
    if t in (FD.TYPE_FLOAT, FD.TYPE_DOUBLE):
        return rng.choice(FLOATS) if rng.random() < 0.5 else rng.uniform(-1e6, 1e6)
    if t == FD.TYPE_BOOL:
        return rng.random() < 0.5
    if t == FD.TYPE_STRING:
        return rng.choice(STRINGS)
    if t == FD.TYPE_BYTES:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(8)))
    if t == FD.TYPE_ENUM:
        return rng.choice(f.enum_type.values).number
    raise ValueError("unexpected field type %d" % t)


def _is_map(f):
    return f.type == FD.TYPE_MESSAGE and f.message_type.GetOptions().map_entry


def fill(msg, rng, depth=0):
    desc = msg.DESCRIPTOR
    chosen = {o.name: rng.choice(o.fields) for o in desc.oneofs if o.fields}
    for f in desc.fields:
        if f.containing_oneof is not None and chosen.get(f.containing_oneof.name) is not f:
            continue
        if _is_map(f):
            kf, vf = f.message_type.fields_by_name["key"], f.message_type.fields_by_name["value"]
            m = getattr(msg, f.name)
            for _ in range(rng.randrange(1, 3)):
                k = _scalar(kf, rng)
                if vf.type == FD.TYPE_MESSAGE:
                    if depth < MAX_DEPTH:
                        fill(m[k], rng, depth + 1)
                else:
                    m[k] = _scalar(vf, rng)
        elif f.label == FD.LABEL_REPEATED:
            field = getattr(msg, f.name)
            for _ in range(rng.randrange(1, 4)):
                if f.type == FD.TYPE_MESSAGE:
                    if depth < MAX_DEPTH:
                        fill(field.add(), rng, depth + 1)
                else:
                    field.append(_scalar(f, rng))
        elif f.type == FD.TYPE_MESSAGE:
            if depth == 0 or (depth < MAX_DEPTH and rng.random() < 0.8):
                fill(getattr(msg, f.name), rng, depth + 1)
        else:
            setattr(msg, f.name, _scalar(f, rng))
    return msg


def build(out_cls, seed):
    return fill(out_cls(), random.Random(seed))
