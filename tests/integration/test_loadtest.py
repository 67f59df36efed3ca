#!/usr/bin/python3
"""make loadtest's smoke case (issue 15): 10 CueWeb-shaped browsers for a
few seconds through lighttpd (tests/bench/loadtest.py on a farm of 40 jobs)
must get no error answer and no stale read, with reads of paused jobs
checked and every call reaching the stand-in. Its control: the same run on
a stand-in that ignores Pause (the manifest's read effects taken out) must
count stale reads, so the check can fail. The clean run also runs
lighttpd's floor row (--floors: the trivial responder in cuegw's place),
which must be answered without one Cuebot call. Timings are never
asserted.

Usage: test_loadtest.py --cuegw BUILD/cuegw --schema BUILD/gen/schema.pb
Prints "loadtest: N passed, M failed".
"""

import json
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.join(os.path.dirname(HERE), "bench")
sys.path.insert(0, HERE)
import harness  # noqa: E402

JOBS = 40


def make_farm(schema, out):
    r = subprocess.run([sys.executable, os.path.join(BENCH, "make_farm.py"), "--schema", schema,
                        "--loadtest", out, "--loadtest-jobs", str(JOBS)],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError("make_farm.py failed: %s" % (r.stdout + r.stderr)[-800:])


def ignoring_pause(farm, out):
    """A copy of farm whose stand-in answers every read as not paused."""
    os.makedirs(out)
    for name in os.listdir(farm):
        if name != "manifest.txt":
            os.symlink(os.path.join(farm, name), os.path.join(out, name))
    with open(os.path.join(farm, "manifest.txt")) as f:
        lines = [" ".join(line.split()[:3]) for line in f if line.strip()]
    with open(os.path.join(out, "manifest.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def run_loadtest(build, farm, out, floors=False):
    """lighttpd, 10 browsers, each acting every 2 s: the exit status and
    the JSON rows (cuegw's, then with floors the floor's)."""
    r = subprocess.run([sys.executable, os.path.join(BENCH, "loadtest.py"), "--build", build,
                        "--farm", farm, "--out", out, "--fronts", "lighttpd", "--clients", "10",
                        "--seconds", "4", "--warmup", "1", "--share-reads", "on",
                        "--act-every", "2"] + (["--floors"] if floors else []),
                       capture_output=True, text=True, timeout=300)
    print(r.stdout[-2000:], r.stderr[-1500:], sep="", flush=True)
    with open(os.path.join(out, "loadtest.json")) as f:
        rows = json.load(f)["rows"]
    if len(rows) != 1 + floors:
        raise RuntimeError("loadtest.py ran %d rows (exit %d)" % (len(rows), r.returncode))
    return r.returncode, rows


def run(c, args):
    build = os.path.dirname(os.path.abspath(args.cuegw))
    harness.need(os.path.join(build, "tests", "bench-standin"))
    harness.need(shutil.which("lighttpd") or "/usr/sbin/lighttpd")
    work = os.path.join(harness.SCRATCH, "loadtest")
    farm = os.path.join(work, "farm")
    make_farm(args.schema, farm)

    harness.need(os.path.join(build, "tests", "bench-trivial-fcgi"))
    rc, (row, floor) = run_loadtest(build, farm, os.path.join(work, "out"), floors=True)
    c.check(rc == 0, "loadtest.py exits 0 on a clean run", rc)
    c.check(row["requests"] > 0 and row["errors"] == 0,
            "every request of 10 browsers is answered 200",
            "%d requests, errors %s" % (row["requests"], row["statuses"]))
    c.check(row["checked_reads"] > 0 and row["stale"] == 0,
            "reads of a browser's own job after its Pause or Resume see it (no stale read)",
            "%d stale of %d checked: %s" % (row["stale"], row["checked_reads"], row["stale_reads"][:3]))
    calls = row["cuebot_by_method"]
    c.check(calls.get("unanswered", 0) == 0 and row["cuebot_calls"] > 0
            and all(calls.get("/job.JobInterface/" + m, 0) > 0 for m in ("GetJobs", "Pause", "Resume")),
            "the stand-in counted the calls, and found an answer for each", calls)
    c.check(floor.get("floor") and floor["front"] == "lighttpd" and floor["requests"] > 0
            and floor["errors"] == 0 and floor["cuebot_calls"] == 0 and floor["cpu_us"] > 0,
            "the floor row: every request answered by the trivial responder, no Cuebot call",
            {k: floor.get(k) for k in ("floor", "front", "requests", "errors", "statuses",
                                       "cuebot_by_method", "cpu_us")})

    stale_farm = os.path.join(work, "farm-ignoring-pause")
    ignoring_pause(farm, stale_farm)
    rc, (row,) = run_loadtest(build, stale_farm, os.path.join(work, "out-ignoring-pause"))
    c.check(row["stale"] > 0 and rc == 1,
            "a stand-in that ignores Pause gives stale reads, and loadtest.py exits 1",
            "%d stale of %d checked, exit %d" % (row["stale"], row["checked_reads"], rc))


if __name__ == "__main__":
    sys.exit(harness.suite_main("loadtest", run))
