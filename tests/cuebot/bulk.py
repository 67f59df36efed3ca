"""Responses of a chosen size, for scripts with response_bytes: tests use them
to push the gateway's message limits and its large-response path.

The wire bytes are assembled by concatenation rather than by building and
serializing a message of millions of elements: that keeps a 50 MB answer well
under a second of server time, and every such answer still parses as the
method's response type.
"""

from google.protobuf.descriptor import FieldDescriptor as FD

# No message of the schema uses this number, so a reader skips it as an
# unknown field; it pads responses that have nothing else to fill.
UNKNOWN_FIELD = 9999
MAX_DEPTH = 6
CACHE_ENTRIES = 2


def varint(n):
    out = bytearray()
    while n > 0x7f:
        out.append((n & 0x7f) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def ld_tag(number):
    """Tag of a length-delimited field."""
    return varint(number << 3 | 2)


def _is_map(f):
    return f.message_type is not None and f.message_type.GetOptions().map_entry


def _find_path(desc, want, depth=0, seen=()):
    """First field (depth first, in field order) satisfying want(), reached
    through singular message fields only; the list of fields leading to it."""
    if depth > MAX_DEPTH or desc.full_name in seen:
        return None
    seen = seen + (desc.full_name,)
    for f in desc.fields:
        if want(f):
            return [f]
        if f.type == FD.TYPE_MESSAGE and f.label != FD.LABEL_REPEATED:
            sub = _find_path(f.message_type, want, depth + 1, seen)
            if sub:
                return [f] + sub
    return None


def _repeated_message(f):
    return (f.type == FD.TYPE_MESSAGE and f.label == FD.LABEL_REPEATED
            and not _is_map(f))


def _string(f):
    return f.type == FD.TYPE_STRING


def populate(msg, depth=0):
    """Give every field of msg a plausible non-default value (one member per
    oneof, maps left empty, nesting cut at a small depth)."""
    done_oneofs = set()
    for f in msg.DESCRIPTOR.fields:
        if f.containing_oneof is not None:
            if f.containing_oneof.name in done_oneofs:
                continue
            done_oneofs.add(f.containing_oneof.name)
        if _is_map(f):
            continue
        if f.type == FD.TYPE_MESSAGE:
            if depth >= 2:
                continue
            if f.label == FD.LABEL_REPEATED:
                populate(getattr(msg, f.name).add(), depth + 1)
            else:
                sub = getattr(msg, f.name)
                sub.SetInParent()
                populate(sub, depth + 1)
            continue
        value = _scalar(f)
        if f.label == FD.LABEL_REPEATED:
            getattr(msg, f.name).extend([value, value])
        else:
            setattr(msg, f.name, value)
    return msg


def _scalar(f):
    t = f.type
    if t == FD.TYPE_STRING:
        return '%s-sample' % f.name
    if t == FD.TYPE_BYTES:
        return b'sample'
    if t == FD.TYPE_BOOL:
        return True
    if t in (FD.TYPE_FLOAT, FD.TYPE_DOUBLE):
        return 2.5
    if t == FD.TYPE_ENUM:
        values = f.enum_type.values
        return values[1].number if len(values) > 1 else values[0].number
    return 7


def _wrapped(wrappers, length):
    """Size of a body of the given length inside the singular message
    fields wrappers (outermost first)."""
    for f in reversed(wrappers):
        length += len(ld_tag(f.number)) + len(varint(length))
    return length


class Padder:
    """Builds serialized responses of at least N bytes (a few bytes over at
    most). sample(type_name) gives a populated message of a type, or None."""

    def __init__(self, cls, sample):
        self.cls = cls
        self.sample = sample
        self.cache = []

    def build(self, desc, target):
        key = (desc.full_name, target)
        for k, data in self.cache:
            if k == key:
                return data
        data = self._build(desc, target)
        self.cache = (self.cache + [(key, data)])[-CACHE_ENTRIES:]
        return data

    def _element(self, desc):
        msg = self.sample(desc.full_name)
        if msg is None:
            msg = populate(self.cls(desc.full_name)())
        return msg

    def _build(self, desc, target):
        plan = self._element_plan(desc, target) or _string_plan(desc)
        wrappers, body_len, body = plan

        def total(k):
            return _wrapped(wrappers, body_len(k))

        # Length prefixes grow with k, so step back from the first guess to
        # the smallest k that still reaches the target.
        k = max(0, target - total(0))
        while k > 0 and total(k - 1) >= target:
            k -= 1
        while total(k) < target:
            k += 1

        lengths = []
        length = body_len(k)
        for f in reversed(wrappers):
            lengths.append(length)
            length += len(ld_tag(f.number)) + len(varint(length))
        parts = []
        for f, inner in zip(wrappers, reversed(lengths)):
            parts += [ld_tag(f.number), varint(inner)]
        return b''.join(parts + body(k))

    def _element_plan(self, desc, target):
        """Copies of one element in the first repeated message field, the
        last copy padded through its first string field (or an unknown
        field) to land on the target. None when the type has no such field
        or the target is smaller than one element."""
        path = _find_path(desc, _repeated_message)
        if not path:
            return None
        leaf, wrappers = path[-1], path[:-1]
        elem = self._element(leaf.message_type)
        eb = elem.SerializeToString()
        rec_tag = ld_tag(leaf.number)
        full_rec = rec_tag + varint(len(eb)) + eb
        pad_field = next((f for f in leaf.message_type.fields
                          if f.type == FD.TYPE_STRING
                          and f.label != FD.LABEL_REPEATED), None)
        base = elem.__class__()
        base.CopyFrom(elem)
        if pad_field is not None:
            base.ClearField(pad_field.name)
        bb = base.SerializeToString()
        pad_tag = ld_tag(pad_field.number if pad_field else UNKNOWN_FIELD)
        n = max(0, (target - 64) // len(full_rec) - 1)

        def inner(k):
            return len(bb) + len(pad_tag) + len(varint(k)) + k

        def body_len(k):
            return (n * len(full_rec) + len(rec_tag) + len(varint(inner(k)))
                    + inner(k))

        def body(k):
            return [full_rec * n, rec_tag, varint(inner(k)), bb,
                    pad_tag, varint(k), b'x' * k]

        if n == 0 and _wrapped(wrappers, body_len(0)) > target:
            return None
        return wrappers, body_len, body


def _string_plan(desc):
    """One string of the chosen length in the first string field reachable
    through singular message fields, or in an unknown field at the top."""
    path = _find_path(desc, _string) or []
    pad_tag = ld_tag(path[-1].number if path else UNKNOWN_FIELD)

    def body_len(k):
        return len(pad_tag) + len(varint(k)) + k

    def body(k):
        return [pad_tag, varint(k), b'x' * k]

    return path[:-1], body_len, body
