#!/usr/bin/python3
"""The OpenAPI document (`cuegw --openapi`, OPENAPI_PATH), checked four ways:

1. three npm OpenAPI tools (@apidevtools/swagger-parser's validator,
   `redocly lint` with its recommended rules and `spectral lint` with every
   rule of Spectral's OpenAPI ruleset, pinned in package-lock.json,
   installed into the build directory at test time) accept it, and reject
   deliberately broken copies of it;
2. against the compiled descriptor set, read by python-protobuf and not by
   cuegw: exactly the SPEC's 273 routes of its 22 interfaces, and for every
   message the JSON names and types of protobuf's JSON mapping;
3. what python-protobuf's json_format writes for every message validates
   against the document's schemas;
4. through lighttpd (the shipped config) and the stand-in Cuebot: the
   served document is byte for byte `cuegw --openapi`, a request body built
   from the document alone reaches Cuebot as the message it describes for
   every route, and every answer validates against the documented schema;
5. a TypeScript client generated from it (openapi-typescript) calls the
   gateway, and its types admit null where the gateway writes null (an
   unset message field) and nowhere else (a string field).

Usage: test_openapi.py --cuegw BUILD/cuegw --schema BUILD/gen/schema.pb --work BUILD/openapi
"""

import argparse
import base64
import concurrent.futures
import copy
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
sys.path.insert(0, os.path.join(TOP, "tests", "cuebot"))
import harness  # noqa: E402
import test_lighttpd  # noqa: E402
from harness import request, sign_jwt  # noqa: E402

from google.protobuf import json_format, message_factory  # noqa: E402
from google.protobuf.descriptor import FieldDescriptor as FD  # noqa: E402

import filler  # noqa: E402

# SPEC §1: the interfaces a gateway serves (the integration test's list,
# written from the SPEC, not from cuegw), and how many methods they have.
SPEC_SERVICES = test_lighttpd.SERVICES
SPEC_ROUTES = 273
# SPEC §1: the HTTP statuses grpc-gateway maps the gRPC codes to, and the
# gateway's own 413 for a body over the limit.
SPEC_ERROR_STATUSES = {499, 500, 400, 504, 404, 409, 403, 429, 501, 503, 401, 413}
COMPONENT_NAME = re.compile(r"^[a-zA-Z0-9.\-_]+$")
REF = "#/components/schemas/"
PRESENCE_NOTE = "Written only when set"
SECRET = "openapi-test-secret-0123456789"


# ---- running cuegw --openapi --------------------------------------------

def print_doc(cuegw, prefix=None):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    if prefix is not None:
        env["URL_PREFIX"] = prefix
    return subprocess.run([cuegw, "--openapi"], env=env, capture_output=True, timeout=60)


# ---- the npm validators -------------------------------------------------

# What install_validator must leave, or the install is redone: a test that
# cannot run a validator fails, it never skips.
NPM_MODULES = (("@apidevtools", "swagger-parser"), ("@redocly", "cli"), ("@stoplight", "spectral-cli"))


def install_validator(work):
    """npm ci from the committed lock file into WORK/node, once per lock."""
    harness.need("node")
    npm = harness.need("npm")
    dest = os.path.join(work, "node")
    os.makedirs(dest, exist_ok=True)
    with open(os.path.join(HERE, "package-lock.json"), "rb") as f:
        lock = f.read()
    stamp = os.path.join(dest, "installed.lock")
    have = all(os.path.isdir(os.path.join(dest, "node_modules", *m)) for m in NPM_MODULES)
    if have and os.path.exists(stamp) and open(stamp, "rb").read() == lock:
        return dest
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(os.path.join(HERE, name), os.path.join(dest, name))
    # Spectral pulls in @scarf/scarf, whose install script reports the
    # install to its vendor unless told not to.
    r = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=dest,
                       env=dict(os.environ, SCARF_ANALYTICS="false"),
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError("npm ci failed (%d): %s" % (r.returncode, (r.stdout + r.stderr)[-1500:]))
    with open(stamp, "wb") as f:
        f.write(lock)
    return dest


def validate(modules, files):
    """{file: (valid, error)} from validate.cjs."""
    r = subprocess.run([harness.need("node"), os.path.join(HERE, "validate.cjs"), modules] + files,
                       capture_output=True, text=True, timeout=120)
    out = {}
    for line in r.stdout.splitlines():
        if line.startswith("{"):
            v = json.loads(line)
            out[v["file"]] = (v["valid"], v.get("error", ""))
    if r.returncode not in (0, 1) or len(out) != len(files):
        raise RuntimeError("validator failed (%d): %s" % (r.returncode, (r.stdout + r.stderr)[-1500:]))
    return out


def lint_config(work):
    """Redocly's recommended rules alone: a config of our own, so that no
    redocly.yaml around the tree is read."""
    config = os.path.join(work, "redocly.yaml")
    with open(config, "w") as f:
        f.write("extends:\n  - recommended\n")
    return config


def lint(modules, config, path):
    """`redocly lint` of one file: (errors, warnings, [(severity, rule,
    pointer)]). Telemetry and the update check off: no network."""
    env = dict(os.environ, REDOCLY_TELEMETRY="off", REDOCLY_SUPPRESS_UPDATE_NOTICE="true")
    modules, config, path = (os.path.abspath(p) for p in (modules, config, path))
    cli = os.path.join(modules, "node_modules", "@redocly", "cli", "bin", "cli.js")
    r = subprocess.run([harness.need("node"), cli, "lint", "--config", config, "--format=json",
                        "--max-problems=100000", path], cwd=os.path.dirname(config), env=env,
                       capture_output=True, text=True, timeout=300)
    try:
        out = json.loads(r.stdout)
        totals = out["totals"]
    except (ValueError, KeyError):
        raise RuntimeError("redocly lint failed (%d): %s" % (r.returncode, (r.stdout + r.stderr)[-1500:]))
    problems = [(p["severity"], p["ruleId"], p["location"][0].get("pointer")) for p in out["problems"]]
    return totals["errors"], totals["warnings"], problems


def spectral_config(work):
    """Every rule of Spectral's OpenAPI ruleset (Spectral's own default,
    "recommended", leaves some out), less two the document should not
    meet."""
    config = os.path.join(work, "spectral.yaml")
    with open(config, "w") as f:
        f.write('extends: [["spectral:oas", "all"]]\n'
                'rules:\n'
                # OpenAPI 3.1 names a license by its SPDX identifier, and a
                # License Object may not have both that and a url.
                '  license-url: off\n'
                # The contact for an API is whoever deploys the gateway.
                '  info-contact: off\n')
    return config


def spectral(modules, config, paths):
    """`spectral lint` of the files at once: {path: [(rule, severity,
    pointer)]}, severity 0 error to 3 hint."""
    cli = os.path.abspath(os.path.join(modules, "node_modules", "@stoplight", "spectral-cli", "dist",
                                       "index.js"))
    paths = [os.path.abspath(p) for p in paths]
    r = subprocess.run([harness.need("node"), cli, "lint", "--ruleset", os.path.abspath(config), "-f", "json",
                        "--fail-severity=error", "--quiet"] + paths, cwd=os.path.dirname(config),
                       capture_output=True, text=True, timeout=600)
    # No output is "nothing found" only with status 0: a Spectral that did
    # not run must fail the test, not pass it.
    try:
        results = json.loads(r.stdout) if r.stdout.strip() or r.returncode else []
    except ValueError:
        results = None
    if not isinstance(results, list) or r.returncode not in (0, 1):
        raise RuntimeError("spectral lint failed (%d): %s" % (r.returncode, (r.stdout + r.stderr)[-1500:]))
    out = {p: [] for p in paths}
    for x in results:
        out.setdefault(os.path.abspath(x["source"]), []).append(
            (x["code"], x["severity"], "/" + "/".join(str(k) for k in x["path"])))
    return out


# Who must reject a broken copy. swagger-parser 10 validates a 3.1 document
# against the OpenAPI 3.1 meta-schema, which leaves Schema Objects to JSON
# Schema's own dialect and does not look into them: redocly does.
BOTH = ("swagger-parser", "redocly")
REDOCLY = ("redocly",)
# What Spectral alone must find (a style rule, not an invalid document):
# the rule it must name.
SPECTRAL = {"an operation without description": "operation-description",
            "a tag without description": "tag-description",
            "no license": "info-license"}


def broken_copies(doc):
    """Documents each made invalid in one way, with the validators that
    must reject it."""
    out = {}
    d = copy.deepcopy(doc)
    del d["info"]["version"]
    out["no info.version"] = (d, BOTH)
    d = copy.deepcopy(doc)
    d["components"]["schemas"]["job.Job"]["properties"]["jobStats"]["oneOf"][0]["$ref"] = REF + "job.NoSuchType"
    out["a $ref to no component"] = (d, BOTH)
    d = copy.deepcopy(doc)
    d["components"]["schemas"]["job.Job"]["properties"]["name"]["type"] = "text"
    out["a type JSON schema does not have"] = (d, REDOCLY)
    d = copy.deepcopy(doc)
    d["components"]["schemas"]["job.Job"]["properties"]["jobStats"]["oneOf"] = "yes"
    out["oneOf that is not a list"] = (d, REDOCLY)
    d = copy.deepcopy(doc)
    del d["paths"]["/job.JobInterface/GetJobs"]["post"]["requestBody"]["content"]
    out["a request body without content"] = (d, BOTH)
    d = copy.deepcopy(doc)
    del d["paths"]["/show.ShowInterface/GetShows"]["post"]["responses"]["200"]["description"]
    out["a response without description"] = (d, BOTH)
    d = copy.deepcopy(doc)
    d["paths"]["/show.ShowInterface/GetShows"]["post"]["responses"]["2OO"] = \
        d["paths"]["/show.ShowInterface/GetShows"]["post"]["responses"].pop("200")
    out["a status that is not one"] = (d, BOTH)
    d = copy.deepcopy(doc)
    del d["paths"]["/show.ShowInterface/GetShows"]["post"]["description"]
    out["an operation without description"] = (d, ())
    d = copy.deepcopy(doc)
    del d["tags"][0]["description"]
    out["a tag without description"] = (d, ())
    d = copy.deepcopy(doc)
    del d["info"]["license"]
    out["no license"] = (d, ())
    return out


# ---- a small validator for the document's own schemas ---------------------

HANDLED = {"type", "format", "properties", "additionalProperties", "items", "enum", "allOf",
           "oneOf", "$ref", "minimum", "maximum", "description", "deprecated", "required"}
NONFINITE = ("NaN", "Infinity", "-Infinity")
INT_RANGE = {"int32": (-2 ** 31, 2 ** 31 - 1), "int64": (-2 ** 63, 2 ** 63 - 1),
             "uint64": (0, 2 ** 64 - 1)}


class SchemaCheck:
    """Validates JSON values against the document's schemas, the way the
    document says (info.description): 64-bit integers as strings, NaN and
    the infinities as strings, and, for answers, every field present except
    the ones written only when set."""

    def __init__(self, doc):
        self.doc = doc

    def resolve(self, s):
        while "$ref" in s:
            s = self.doc["components"]["schemas"][s["$ref"][len(REF):]]
        return s

    def errors(self, value, schema, where="$", complete=False, null_messages=True):
        errs = []
        self._check(value, schema, where, complete, null_messages, errs)
        return errs

    def _check(self, v, s, where, complete, nulls, errs):
        unknown = set(s) - HANDLED
        if unknown:
            errs.append("%s: schema keywords this check does not know: %s" % (where, sorted(unknown)))
        if "$ref" in s:
            return self._check(v, self.resolve(s), where, complete, nulls, errs)
        if "oneOf" in s:
            found = [self.errors(v, b, where, complete, nulls) for b in s["oneOf"]]
            fits = sum(not e for e in found)
            if fits != 1:
                errs.append("%s: fits %d of oneOf's schemas, not one" % (where, fits))
                errs += found[0][:3] if not fits else []
        if v is None:
            if s.get("type") != "null" and "oneOf" not in s:
                errs.append("%s: null where the schema does not allow it" % where)
            return
        for sub in s.get("allOf", []):
            self._check(v, sub, where, complete, nulls, errs)
        t = s.get("type")
        fmt = s.get("format")
        if "enum" in s and v not in s["enum"]:
            errs.append("%s: %r is not one of the enum's values" % (where, v))
        if t == "object":
            if not isinstance(v, dict):
                return errs.append("%s: expected an object, got %r" % (where, v))
            props = s.get("properties", {})
            for k, item in v.items():
                if k in props:
                    self._check(item, props[k], "%s.%s" % (where, k), complete, nulls, errs)
                elif isinstance(s.get("additionalProperties"), dict):
                    self._check(item, s["additionalProperties"], "%s[%r]" % (where, k), complete,
                                nulls, errs)
                elif "additionalProperties" not in s:
                    errs.append("%s: member %s is not in the schema" % (where, k))
            for k in s.get("required", []):
                if k not in v:
                    errs.append("%s: required member %s is missing" % (where, k))
            if complete:
                for k, ps in props.items():
                    optional = PRESENCE_NOTE in ps.get("description", "") or \
                        (not nulls and "oneOf" in ps)
                    if k not in v and not optional:
                        errs.append("%s: member %s is missing (every field is written)" % (where, k))
        elif t == "array":
            if not isinstance(v, list):
                return errs.append("%s: expected an array, got %r" % (where, v))
            for i, item in enumerate(v):
                self._check(item, s["items"], "%s[%d]" % (where, i), complete, nulls, errs)
        elif t == "string":
            if not isinstance(v, str):
                return errs.append("%s: expected a string, got %r" % (where, v))
            if fmt in ("int64", "uint64"):
                lo, hi = INT_RANGE[fmt]
                if not re.fullmatch(r"-?[0-9]+", v) or not lo <= int(v) <= hi:
                    errs.append("%s: %r is not a %s" % (where, v, fmt))
            elif fmt == "byte":
                try:
                    base64.b64decode(v, validate=True)
                except ValueError:
                    errs.append("%s: %r is not base64" % (where, v))
        elif t == "integer":
            if not isinstance(v, int) or isinstance(v, bool):
                return errs.append("%s: expected an integer, got %r" % (where, v))
            lo, hi = INT_RANGE.get(fmt, (None, None))
            lo = s.get("minimum", lo)
            hi = s.get("maximum", hi)
            if (lo is not None and v < lo) or (hi is not None and v > hi):
                errs.append("%s: %d is out of range" % (where, v))
        elif t == "number":
            if v in NONFINITE:
                return
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                errs.append("%s: expected a number, got %r" % (where, v))
        elif t == "boolean":
            if not isinstance(v, bool):
                errs.append("%s: expected a boolean, got %r" % (where, v))
        elif t == "null":
            errs.append("%s: expected null, got %r" % (where, v))
        elif t is not None:
            errs.append("%s: unknown type %r" % (where, t))


# ---- the schema, read independently of cuegw --------------------------------

def is_map(f):
    return f.type == FD.TYPE_MESSAGE and f.message_type.GetOptions().map_entry


def reachable(routes):
    """Messages and enums the routes' types reach; map entries are no type
    of their own (their value type is reached)."""
    msgs, enums, work = {}, {}, []
    for svc_m in routes.values():
        work += [svc_m.input_type, svc_m.output_type]
    while work:
        m = work.pop()
        if m.full_name in msgs:
            continue
        msgs[m.full_name] = m
        for f in m.fields:
            vf = f.message_type.fields_by_name["value"] if is_map(f) else f
            if vf.type == FD.TYPE_MESSAGE:
                work.append(vf.message_type)
            elif vf.type == FD.TYPE_ENUM:
                enums[vf.enum_type.full_name] = vf.enum_type
    return msgs, enums


def value_schema(f):
    """protobuf's JSON mapping for one value of field f."""
    t = f.type
    if t in (FD.TYPE_INT32, FD.TYPE_SINT32, FD.TYPE_SFIXED32):
        return {"type": "integer", "format": "int32"}
    if t in (FD.TYPE_UINT32, FD.TYPE_FIXED32):
        return {"type": "integer", "format": "int64", "minimum": 0, "maximum": 2 ** 32 - 1}
    if t in (FD.TYPE_INT64, FD.TYPE_SINT64, FD.TYPE_SFIXED64):
        return {"type": "string", "format": "int64"}
    if t in (FD.TYPE_UINT64, FD.TYPE_FIXED64):
        return {"type": "string", "format": "uint64"}
    if t == FD.TYPE_FLOAT:
        return {"type": "number", "format": "float"}
    if t == FD.TYPE_DOUBLE:
        return {"type": "number", "format": "double"}
    if t == FD.TYPE_BOOL:
        return {"type": "boolean"}
    if t == FD.TYPE_STRING:
        return {"type": "string"}
    if t == FD.TYPE_BYTES:
        return {"type": "string", "format": "byte"}
    if t == FD.TYPE_ENUM:
        return {"$ref": REF + f.enum_type.full_name}
    return {"$ref": REF + f.message_type.full_name}


def expected_field(f):
    """The schema the document must give field f (see SchemaCheck for how
    the notes are read)."""
    deprecated = f.GetOptions().deprecated
    presence = f.containing_oneof is not None
    if is_map(f):
        s = {"type": "object",
             "additionalProperties": value_schema(f.message_type.fields_by_name["value"])}
        if f.message_type.fields_by_name["key"].type != FD.TYPE_STRING:
            s["description"] = "KEY-NOTE"
    elif f.label == FD.LABEL_REPEATED:
        s = {"type": "array", "items": value_schema(f)}
    elif f.type == FD.TYPE_MESSAGE:
        s = {"oneOf": [value_schema(f), {"type": "null"}]}
    else:
        s = value_schema(f)
        if "$ref" in s and (deprecated or presence):
            s = {"allOf": [s]}
    if deprecated:
        s["deprecated"] = True
    if presence:
        s["description"] = "PRESENCE-NOTE"
    return s


def normalise_notes(s):
    """Descriptions are prose: keep only which note a field carries."""
    s = dict(s)
    d = s.get("description")
    if d is not None:
        s["description"] = "PRESENCE-NOTE" if d.startswith(PRESENCE_NOTE) else \
            "KEY-NOTE" if d.startswith("Keys are") else d
    return s


def words(name):
    """CamelCase words, lower case but for acronyms."""
    return [w if sum(ch.isupper() for ch in w) > 1 else w.lower()
            for w in re.findall(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z0-9_]+|[A-Z]+", name)]


def expected_summary(m):
    """A sentence of the method's name; a name of one word also names the
    interface's object (FrameInterface/Delete: "Delete frame")."""
    w = words(m.name)
    if len(w) == 1:
        w += words(re.sub("Interface$", "", m.containing_service.name))
    text = " ".join(w)
    return text[:1].upper() + text[1:]


def check_structure(c, doc, pool, prefix_url):
    c.check(doc.get("openapi") == "3.1.0", "openapi 3.1.0", doc.get("openapi"))
    c.check(doc["info"].get("license") == {"name": "Apache-2.0", "identifier": "Apache-2.0"},
            "info.license: Apache-2.0, as OpenCue", doc["info"].get("license"))
    c.check(doc.get("servers") == [{"url": prefix_url, "description": doc["servers"][0].get("description")}],
            "servers: the relative URL %s" % prefix_url, doc.get("servers"))
    c.check(doc.get("security") == [{"bearer": []}] and
            doc["components"]["securitySchemes"]["bearer"].get("scheme") == "bearer" and
            doc["components"]["securitySchemes"]["bearer"].get("type") == "http",
            "every route needs the bearer scheme")

    routes = {}
    for name in SPEC_SERVICES:
        sv = pool.FindServiceByName(name)
        for m in sv.methods:
            if not (m.client_streaming or m.server_streaming):
                routes["/%s/%s" % (name, m.name)] = m
    c.check(len(routes) == SPEC_ROUTES, "the schema has the SPEC's %d unary methods" % SPEC_ROUTES,
            len(routes))
    paths = doc.get("paths", {})
    c.check(set(paths) == set(routes) and len(paths) == SPEC_ROUTES,
            "the document has exactly the %d routes" % SPEC_ROUTES,
            sorted(set(paths) ^ set(routes))[:10])

    schemas = doc["components"]["schemas"]
    responses = doc["components"]["responses"]
    err_name = None
    bad, op_ids = [], []
    for path, m in sorted(routes.items()):
        item = paths.get(path, {})
        op = item.get("post")
        if list(item) != ["post"] or op is None:
            bad.append("%s: not exactly one POST operation" % path)
            continue
        op_ids.append(op.get("operationId"))
        summary, described = op.get("summary", ""), op.get("description", "")
        if summary != expected_summary(m):
            bad.append("%s: summary %r, expected %r" % (path, summary, expected_summary(m)))
        if m.input_type.full_name not in described or m.output_type.full_name not in described:
            bad.append("%s: description %r does not name its messages" % (path, described))
        if op.get("tags") != [m.containing_service.full_name]:
            bad.append("%s: tags %r" % (path, op.get("tags")))
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        if body != {"$ref": REF + m.input_type.full_name}:
            bad.append("%s: request body %r" % (path, body))
        ok = op.get("responses", {}).get("200", {}).get("content", {}).get("application/json", {})
        if ok.get("schema") != {"$ref": REF + m.output_type.full_name}:
            bad.append("%s: 200 answer %r" % (path, ok))
        statuses = {int(k) for k in op.get("responses", {}) if k != "200"}
        if statuses != SPEC_ERROR_STATUSES:
            bad.append("%s: error statuses %s" % (path, sorted(statuses ^ SPEC_ERROR_STATUSES)))
        for k, r in op.get("responses", {}).items():
            if k == "200":
                continue
            target = responses.get(r.get("$ref", "").rsplit("/", 1)[-1], {})
            ref = target.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
            err_name = err_name or ref[len(REF):]
            if ref != REF + err_name:
                bad.append("%s: %s answer is not the error body: %r" % (path, k, r))
    c.check(not bad, "every route: one POST, its tag, summary and description, request and answer "
            "types, the error statuses",
            bad[:8])
    c.check(len(set(op_ids)) == len(op_ids) and None not in op_ids, "operationIds are unique",
            [i for i in op_ids if op_ids.count(i) > 1][:5])
    tags = [t["name"] for t in doc.get("tags", [])]
    c.check(sorted(tags) == sorted(SPEC_SERVICES), "one tag per interface", tags)
    c.check(all(t["name"] in t.get("description", "") for t in doc.get("tags", [])),
            "every tag has a description naming its interface", doc.get("tags"))
    c.check("WWW-Authenticate" in responses.get("Error401", {}).get("headers", {}),
            "the 401 answer declares WWW-Authenticate")

    err = schemas.get(err_name or "", {})
    c.check(err.get("required") == ["code", "message", "details"] and
            err.get("properties", {}).get("code", {}).get("type") == "integer" and
            err.get("properties", {}).get("message", {}).get("type") == "string" and
            err.get("properties", {}).get("details", {}).get("type") == "array",
            "the error body is {code, message, details}", err)

    msgs, enums = reachable(routes)
    names = set(schemas) - {err_name}
    c.check(names == set(msgs) | set(enums),
            "components: exactly the %d messages and %d enums the routes reach" % (len(msgs), len(enums)),
            sorted(names ^ (set(msgs) | set(enums)))[:10])
    c.check(all(COMPONENT_NAME.match(n) for n in schemas), "component names match %s" % COMPONENT_NAME.pattern,
            [n for n in schemas if not COMPONENT_NAME.match(n)][:5])

    bad = []
    for name, m in sorted(msgs.items()):
        s = schemas.get(name, {})
        props = s.get("properties", {})
        want = [f.json_name for f in m.fields]
        # Member order means nothing in JSON (cuegw writes fields by number).
        if s.get("type") != "object" or sorted(props) != sorted(want) or len(props) != len(want):
            bad.append("%s: properties %s, json_format names %s" % (name, list(props), want))
            continue
        for f in m.fields:
            got = normalise_notes(props[f.json_name])
            exp = expected_field(f)
            if got != exp:
                bad.append("%s.%s: %s, expected %s" % (name, f.json_name, got, exp))
    c.check(not bad, "every message's properties: json_format's names, protobuf JSON types",
            "; ".join(bad[:6]))
    bad = []
    for name, e in sorted(enums.items()):
        s = schemas.get(name, {})
        vals = s.get("enum", [])
        if s.get("type") != "string" or sorted(vals) != sorted(v.name for v in e.values) or \
                vals[:1] != [e.values_by_number[0].name if 0 in e.values_by_number else e.values[0].name]:
            bad.append("%s: %s" % (name, s))
    c.check(not bad, "every enum: a string of its value names, the default first", bad[:5])
    return msgs


def check_json_format(c, check, pool, msgs):
    """json_format's output for every message type, empty and filled,
    validates against the document (json_format leaves unset message fields
    out where cuegw writes null, so those may be missing here)."""
    factory = message_factory.MessageFactory(pool)
    bad = []
    for name, m in sorted(msgs.items()):
        cls = factory.GetPrototype(m)
        for label, msg in (("empty", cls()), ("filled", filler.build(cls, "openapi/" + name))):
            value = json_format.MessageToDict(msg, including_default_value_fields=True)
            errs = check.errors(value, {"$ref": REF + name}, name, complete=True, null_messages=False)
            if errs:
                bad.append("%s %s: %s" % (label, name, errs[:3]))
    c.check(not bad, "json_format's JSON of all %d message types validates against the document"
            % len(msgs), "; ".join(bad[:5]))


# ---- request bodies from the document alone ----------------------------------

OMIT = object()
MAX_NESTING = 4


def sample(check, s, depth=0):
    """A body a client would build from the schema: a value that is not the
    default for every field, except those written only when set (oneof
    members: the document says nothing of which exclude each other)."""
    s = check.resolve(s)
    if "allOf" in s or "oneOf" in s:    # the first is the message, never null
        return OMIT if depth >= MAX_NESTING else sample(check, (s.get("allOf") or s["oneOf"])[0], depth)
    if "enum" in s:
        return s["enum"][-1] if len(s["enum"]) > 1 else OMIT
    t, fmt = s.get("type"), s.get("format")
    if t == "object":
        if isinstance(s.get("additionalProperties"), dict):
            v = sample(check, s["additionalProperties"], depth + 1)
            return OMIT if v is OMIT else {"7": v}
        if depth >= MAX_NESTING:
            return OMIT
        out = {}
        for k, ps in s.get("properties", {}).items():
            if PRESENCE_NOTE in ps.get("description", ""):
                continue
            v = sample(check, ps, depth + 1)
            if v is not OMIT:
                out[k] = v
        return out
    if t == "array":
        v = sample(check, s["items"], depth + 1)
        return OMIT if v is OMIT else [v, v]
    if t == "string":
        return {"int64": "-9007199254740993", "uint64": "18446744073709551615",
                "byte": "AAEC/w=="}.get(fmt, "ünï \"cöde\"")
    if t == "integer":
        return s.get("maximum", -7)
    if t == "number":
        return 1.5 if fmt == "float" else 0.1
    if t == "boolean":
        return True
    raise ValueError("no sample for %r" % s)


def check_served(c, args, doc_bytes, doc, check):
    prefix, path = "/cue", "/cue/openapi.json"
    standin = harness.Standin(args.schema).start()
    standin.script(method="*", fill="random")
    srv = harness.Lighttpd(args.cuegw, {"CUEBOT_ENDPOINT": standin.endpoint, "JWT_SECRET": SECRET,
                                         "URL_PREFIX": prefix, "OPENAPI_PATH": path,
                                         "WORKER_THREADS": "4"},
                           workers=2).start()
    # The first requests for it arrive together: each process builds the
    # document once, whichever of its threads asks first.
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        first = list(pool.map(lambda _: request(srv.port, "GET", path), range(8)))
    c.check(all(f.status == 200 and f.body == doc_bytes for f in first),
            "8 simultaneous first GETs all get the whole document", [(f.status, len(f.body)) for f in first])
    r = request(srv.port, "GET", path)
    c.check(r.status == 200 and r.header("content-type") == "application/json",
            "GET OPENAPI_PATH without credentials: 200 application/json",
            (r.status, r.header("content-type"), r.body[:200]))
    c.check(r.body == doc_bytes, "the served document is `URL_PREFIX=%s cuegw --openapi` byte for byte"
            % prefix, (len(r.body), len(doc_bytes)))
    r = request(srv.port, "GET", path + "?x=1")
    c.check(r.status == 200 and r.body == doc_bytes, "a query string does not change the path")
    r = request(srv.port, "HEAD", path)
    c.check(r.status == 200 and r.header("content-length") == str(len(doc_bytes)) and not r.body,
            "HEAD OPENAPI_PATH: 200, its length, no body", (r.status, r.headers))
    r = request(srv.port, "POST", path, "{}")
    c.check(r.status == 405 and r.header("allow") == "GET, HEAD" and
            not check.errors(r.json(), {"$ref": REF + "cuegw.Error"}),
            "POST OPENAPI_PATH: 405, Allow: GET, HEAD, the error body", (r.status, r.headers, r.body[:200]))

    base = prefix  # the document's servers[0].url, relative to where it is served
    token = {"Authorization": "Bearer " + sign_jwt(SECRET), "Content-Type": "application/json"}
    bad_req, bad_resp, bad_status = [], [], []
    for route, item in sorted(doc["paths"].items()):
        op = item["post"]
        req_schema = op["requestBody"]["content"]["application/json"]["schema"]
        body = sample(check, req_schema)
        r = request(srv.port, "POST", base + route, json.dumps(body), token)
        if r.status != 200:
            bad_status.append("%s: %d %s" % (route, r.status, r.body[:200]))
            continue
        errs = check.errors(r.json(), op["responses"]["200"]["content"]["application/json"]["schema"],
                            route, complete=True)
        if errs:
            bad_resp.append("%s: %s" % (route, errs[:3]))
        calls = standin.calls()
        got = calls[-1]["request"] if calls and calls[-1]["method"] == route else None
        if got != body:
            bad_req.append("%s: sent %s, Cuebot got %s" % (route, json.dumps(body)[:300],
                                                           json.dumps(got)[:300]))
    c.check(not bad_status, "every documented route answers 200 to a body built from the document",
            bad_status[:5])
    c.check(not bad_req, "every route: the body built from the document reaches Cuebot as that message",
            bad_req[:3])
    c.check(not bad_resp, "every route: the answer (all fields filled) validates against the document",
            bad_resp[:5])

    r = request(srv.port, "POST", base + "/show.ShowInterface/GetShows", "{}")
    c.check(r.status == 401 and r.header("www-authenticate") == "Bearer" and
            not check.errors(r.json(), {"$ref": REF + "cuegw.Error"}),
            "401 without credentials: WWW-Authenticate and the documented error body",
            (r.status, r.body[:200]))
    standin.script(method="/job.JobInterface/GetJobs", code=5, message="no such job", times=1)
    r = request(srv.port, "POST", base + "/job.JobInterface/GetJobs", "{}", token)
    c.check(r.status == 404 and r.json().get("code") == 5 and
            not check.errors(r.json(), {"$ref": REF + "cuegw.Error"}),
            "a Cuebot error: the documented error body", (r.status, r.body[:200]))
    check_client(c, args, doc_bytes, srv.port, base, token)
    harness.stop_all()
    crashes = harness.crash_reports()
    c.check(not crashes, "no worker crashed", crashes[:3])


def tsc(node, bins, path, emit=True):
    """tsc --strict on one file, as a Node.js ES module."""
    return subprocess.run([node, os.path.join(bins, "typescript", "bin", "tsc"), "--strict",
                           "--target", "es2022", "--module", "nodenext", "--moduleResolution", "nodenext"]
                          + ([] if emit else ["--noEmit"]) + [path],
                          capture_output=True, text=True, timeout=300)


def check_null_types(c, node, bins, out):
    """The generated types say what the gateway writes: an unset message
    field is null, a string never is. tsc's exit status is the verdict."""
    r = tsc(node, bins, os.path.join(out, "nullable.ts"), emit=False)
    c.check(r.returncode == 0, "the generated types admit null for a message field "
            "(job.Job.jobStats = null type-checks)", (r.stdout + r.stderr)[-800:])
    r = tsc(node, bins, os.path.join(out, "not_nullable.ts"), emit=False)
    c.check(r.returncode != 0 and "not_nullable.ts" in r.stdout and "TS2322" in r.stdout and
            "'null'" in r.stdout, "the generated types refuse null for a string field "
            "(job.Job.name = null does not type-check)", (r.returncode, (r.stdout + r.stderr)[-800:]))


def check_client(c, args, doc_bytes, port, base, headers):
    """A client generated from the served document calls the gateway."""
    node = harness.need("node")
    modules = os.path.join(args.work, "node")
    out = os.path.join(modules, "client")
    os.makedirs(out, exist_ok=True)
    doc_path = os.path.join(out, "openapi.json")
    with open(doc_path, "wb") as f:
        f.write(doc_bytes)
    for name in ("client.ts", "nullable.ts", "not_nullable.ts"):
        shutil.copyfile(os.path.join(HERE, name), os.path.join(out, name))
    with open(os.path.join(out, "package.json"), "w") as f:
        f.write('{"type": "module"}\n')
    bins = os.path.join(modules, "node_modules")
    r = subprocess.run([node, os.path.join(bins, "openapi-typescript", "bin", "cli.js"), doc_path,
                        "-o", os.path.join(out, "cuegw.d.ts")], capture_output=True, text=True,
                       timeout=300)
    if not c.check(r.returncode == 0, "openapi-typescript generates the client's types",
                   (r.stdout + r.stderr)[-600:]):
        return
    check_null_types(c, node, bins, out)
    r = tsc(node, bins, os.path.join(out, "client.ts"))
    if not c.check(r.returncode == 0, "the generated client type-checks (tsc --strict), and its "
                   "types refuse a field of the wrong type", (r.stdout + r.stderr)[-800:]):
        return
    token = headers["Authorization"].split(" ", 1)[1]
    r = subprocess.run([node, os.path.join(out, "client.js"), "http://127.0.0.1:%d%s" % (port, base),
                        token], capture_output=True, text=True, timeout=60)
    got = json.loads(r.stdout) if r.returncode == 0 and r.stdout.startswith("{") else {}
    direct = request(port, "POST", base + "/show.ShowInterface/GetShows", "{}", headers)
    c.check(r.returncode == 0 and got.get("status") == 200 and got.get("data") == direct.json() and
            got.get("names") and got.get("error") is None,
            "the generated client calls GetShows through lighttpd and decodes the answer",
            (r.returncode, r.stdout[:300], r.stderr[-300:]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cuegw", required=True)
    ap.add_argument("--schema", required=True)
    ap.add_argument("--work", required=True, help="where the npm validator is installed")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    c = harness.Checks()
    try:
        run(c, args)
    except Exception as e:
        import traceback
        traceback.print_exc()
        c.check(False, "the test ran to its end", e)
    finally:
        harness.stop_all()
        if c.failed:
            harness.report_kept_logs(args.cuegw, "openapi")
    print("openapi: %d passed, %d failed" % (c.passed, c.failed))
    sys.exit(1 if c.failed else 0)


def run(c, args):
    r = print_doc(args.cuegw)
    c.check(r.returncode == 0 and r.stdout.endswith(b"\n"), "cuegw --openapi prints the document",
            (r.returncode, r.stderr[-300:]))
    root_bytes = r.stdout
    doc = json.loads(root_bytes)
    c.check(print_doc(args.cuegw).stdout == root_bytes, "the document is the same on every run")
    r = print_doc(args.cuegw, "/cue/")
    c.check(r.returncode == 0 and json.loads(r.stdout)["servers"][0]["url"] == "/cue",
            "URL_PREFIX=/cue/ gives the server URL /cue", r.stdout[:300])
    cue_bytes = print_doc(args.cuegw, "/cue").stdout
    c.check(cue_bytes == r.stdout, "URL_PREFIX /cue and /cue/ give the same document")
    r = print_doc(args.cuegw, "cue")
    c.check(r.returncode == 2 and b"URL_PREFIX" in r.stderr and not r.stdout,
            "a bad URL_PREFIX is refused, naming it", (r.returncode, r.stderr[-200:]))
    r = subprocess.run([args.cuegw], env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                                          "JWT_SECRET": SECRET, "OPENAPI_PATH": "openapi.json"},
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    c.check(r.returncode == 2 and b"OPENAPI_PATH" in r.stderr,
            "an OPENAPI_PATH that is not a path stops start-up, naming it", (r.returncode, r.stderr[-200:]))

    modules = install_validator(args.work)
    files, rejecters = {}, {}
    broken = sorted(broken_copies(doc).items())
    for name, (d, who) in [("root", (doc, ())), ("cue", (json.loads(cue_bytes), ()))] + broken:
        files[name] = os.path.join(args.work, "doc-%s.json" % re.sub(r"[^a-z0-9]+", "-", name.lower()))
        rejecters[name] = who
        with open(files[name], "w") as f:
            json.dump(d, f)
    results = validate(modules, list(files.values()))
    config = lint_config(args.work)
    # Spectral reads the documents it must judge in one run, beside redocly.
    spectral_files = [files[n] for n in files if n in ("root", "cue") or n in SPECTRAL]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        styled = pool.submit(spectral, modules, spectral_config(args.work), spectral_files)
        linted = dict(zip(files, pool.map(lambda p: lint(modules, config, p), files.values())))
        styled = styled.result()
    for name, path in files.items():
        valid, error = results[path]
        lint_out = linted[name]
        if name in ("root", "cue"):
            c.check(valid, "swagger-parser accepts the document (%s)" % name, error)
            c.check(lint_out[:2] == (0, 0), "redocly lint (recommended): no error and no warning "
                    "in the document (%s)" % name, lint_out[2][:8])
            found = styled[os.path.abspath(path)]
            c.check(not found, "spectral lint (spectral:oas, all rules): nothing to say of the "
                    "document (%s): every operation has a summary and a description, every tag a "
                    "description, the license is there" % name, found[:8])
            continue
        if name in SPECTRAL:
            found = styled[os.path.abspath(path)]
            c.check(any(f[0] == SPECTRAL[name] for f in found),
                    "spectral lint finds %s (%s)" % (name, SPECTRAL[name]), found[:8])
        if "swagger-parser" in rejecters[name]:
            c.check(not valid, "swagger-parser rejects a copy with %s" % name)
        if "redocly" in rejecters[name]:
            c.check(lint_out[0] > 0, "redocly lint rejects a copy with %s" % name, lint_out[:2])

    pool = harness.schema_pool(args.schema)
    check = SchemaCheck(doc)
    msgs = check_structure(c, doc, pool, "/")
    cue = json.loads(cue_bytes)
    c.check(cue["servers"][0]["url"] == "/cue" and dict(cue, servers=doc["servers"]) == doc,
            "under URL_PREFIX only the server URL changes")
    check_json_format(c, check, pool, msgs)
    check_served(c, args, cue_bytes, doc, check)


if __name__ == "__main__":
    main()
