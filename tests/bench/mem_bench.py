#!/usr/bin/python3
"""The transcoder's memory bench on adversarial shapes (`make bench-memory`):
every shape of tests/bench/shapes.c at a few sizes, each case transcoded
once in a fresh `transcode-mem` process, so no case inherits another's heap.

Per case: the input's size, whether it transcoded and to the right output,
the arena's own peak, the process's growth (VmHWM after minus VmRSS before,
the high-water mark reset once the input was made), CPU time and MB/s of
input, and the peak a gateway request would hold, checked against issue
13's targets:

  request   peak = body + max(arena peak, RSS growth)
            target <= 3 x body + 1 MiB
  response  peak = wire + one output chunk (64 KiB) + max(arena peak, RSS growth)
            target <= 1.2 x wire + 1 MiB
            (the JSON streams out through a 64 KiB buffer whose sink keeps a
            hash; the wire bytes' producer, gRPC, is not counted)

A case whose arena reached the cap (--cap-mb, default 1024: today's code
would otherwise take GBs) shows its peak as ">=". Each process may use at
most --cpu-limit seconds of CPU. Prints the table and writes it as JSON to
BUILD/bench/memory.json. Figures only: the exit status is 1 only when a case
could not be run at all.

Usage: mem_bench.py --build BUILD [--quick] [--shapes a,b] [--cap-mb N]
                    [--cpu-limit S]
"""

import argparse
import json
import os
import resource
import subprocess
import sys

MiB = 1 << 20
CHUNK = 64 * 1024          # CG_RESPONSE_CHUNK
REQUEST_LIMIT = 4194304    # the default body limit (GRPC_MAX_MESSAGE_SIZE)
SPLIT_20MB = 19944511      # make_farm.py's jobssplit: 50,000 jobs, 45,197 occurrences

# shape -> sizes in bytes (the first is the --quick size)
SIZES = {
    "req-empty-objects": [64 * 1024, MiB, REQUEST_LIMIT],
    "req-short-strings": [64 * 1024, MiB, REQUEST_LIMIT],
    "req-unknown-keys": [64 * 1024, MiB, REQUEST_LIMIT],
    "req-deep": [64 * 1024, MiB, REQUEST_LIMIT],
    "req-map": [64 * 1024, MiB, REQUEST_LIMIT],
    "resp-split-jobs": [1995000, SPLIT_20MB],
    "resp-shows-0a020a00": [64 * 1024, MiB, 4 * MiB],
    "resp-empty-msgs": [64 * 1024, 4 * MiB],
    "resp-empty-jobs": [64 * 1024, 4 * MiB],
    "resp-deep": [64 * 1024, MiB],
    "resp-map": [MiB, 8 * MiB],
    "resp-map-fat": [MiB, 16 * MiB],
}


def target(dir_, n):
    return 3 * n + MiB if dir_ == "request" else 1.2 * n + MiB


def run_case(args, shape, size):
    cmd = [os.path.join(args.build, "tests", "transcode-mem"), shape, str(size),
           "--arena-cap", str(args.cap_mb * MiB)]
    farm = os.path.join(args.build, "bench", "job.JobGetJobsResponse.pb")
    if shape == "resp-split-jobs" and os.path.exists(farm):
        cmd += ["--farm", farm]

    def limit():
        resource.setrlimit(resource.RLIMIT_CPU, (args.cpu_limit, args.cpu_limit + 5))

    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       preexec_fn=limit, timeout=args.cpu_limit * 4 + 60)
    try:
        out = json.loads(r.stdout)
    except ValueError:
        why = "killed after %d s of CPU" % args.cpu_limit if r.returncode in (-24, -9) \
            else "exit %d: %s" % (r.returncode, r.stderr.strip()[-200:])
        return {"shape": shape, "size": size, "crashed": why}
    out["size"] = size
    held = max(out["arena_peak"], out["rss_delta"])
    n = out["in_bytes"]
    out["gw_peak"] = n + held + (CHUNK if out["dir"] == "response" else 0)
    out["target"] = target(out["dir"], n)
    out["capped"] = out["arena_peak"] + 2 * MiB > out["arena_cap"]
    out["meets"] = bool(out["ok"] and out["verified"] == "yes" and out["gw_peak"] <= out["target"])
    return out


def mb(n):
    return "%.2f" % (n / 1e6) if n < 10e6 else "%.1f" % (n / 1e6)


HEAD = "%-20s %8s %-31s %6s %8s %8s %9s %7s %9s %7s %8s  %s" % (
    "shape", "in MB", "what", "output", "arena MB", "RSS+ MB", "peak MB", "x in",
    "target MB", "CPU s", "MB/s in", "verdict")


def fmt(r):
    if "crashed" in r:
        return "%-20s %8s %-31s %s" % (r["shape"], mb(r["size"]), "", "MISSES: " + r["crashed"])
    n = r["in_bytes"]
    peak = (">=" if r["capped"] else "") + mb(r["gw_peak"])
    if not r["ok"]:
        outcome = "failed"
    else:
        outcome = "right" if r["verified"] == "yes" else "WRONG"
    verdict = "meets" if r["meets"] else "MISSES"
    if not r["ok"]:
        verdict += " (%s%s)" % ("arena cap hit: " if r["capped"] else "", r["error"][:60])
    elif r["verified"] != "yes":
        verdict += " (output %s)" % r["verified"]
    rate = n / r["cpu_s"] / 1e6 if r["cpu_s"] > 0 else 0
    return "%-20s %8s %-31s %6s %8s %8s %9s %7.1f %9s %7.2f %8.0f  %s" % (
        r["shape"], mb(n), r["note"][:31], outcome, mb(r["arena_peak"]), mb(r["rss_delta"]),
        peak, r["gw_peak"] / n if n else 0, mb(r["target"]), r["cpu_s"], rate, verdict)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--quick", action="store_true", help="the smallest size of each shape only")
    ap.add_argument("--shapes", default=",".join(SIZES))
    ap.add_argument("--cap-mb", type=int, default=1024, help="arena cap per case, MiB")
    ap.add_argument("--cpu-limit", type=int, default=60, help="CPU seconds per case")
    args = ap.parse_args()
    rows, broken = [], False
    print("adversarial shapes, each case once in a fresh process (figures, not assertions)")
    print(HEAD, flush=True)
    for shape in args.shapes.split(","):
        if shape not in SIZES:
            print("mem_bench: no shape %s" % shape, file=sys.stderr)
            broken = True
            continue
        for size in SIZES[shape][:1] if args.quick else SIZES[shape]:
            r = run_case(args, shape, size)
            broken = broken or ("crashed" in r and "killed" not in r["crashed"])
            rows.append(r)
            print(fmt(r), flush=True)
    print("peak: what a gateway request holds at its worst: requests, the body + max(arena, RSS "
          "growth);\nresponses, the wire + one 64 KiB output chunk + max(arena, RSS growth). "
          "target: requests 3 x body + 1 MiB,\nresponses 1.2 x wire + 1 MiB. x in: peak / input. "
          "MB/s in: input bytes per CPU second.\nArena capped at %d MiB a case ('>=': the cap "
          "was hit)." % args.cap_mb)
    met = sum(1 for r in rows if r.get("meets"))
    print("memory targets: %d of %d cases meet them" % (met, len(rows)))
    out = os.path.join(args.build, "bench", "memory.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(rows, f, indent=1)
    print("wrote %s" % out)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
