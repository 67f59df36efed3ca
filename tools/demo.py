#!/usr/bin/python3
"""`make demo`: a local gateway to try by hand.

Starts the stand-in Cuebot with its sample farm (or uses the Cuebot named by
CUEBOT_ENDPOINT), and lighttpd from lighttpd/lighttpd.conf with a pool of
cuegw processes on 127.0.0.1:8448 (DEMO_PORT overrides), then prints a curl
command with a freshly signed token. Runs in the foreground; Ctrl-C stops
everything it started and removes its files (all under one scratch
directory, see harness.py).
"""

import argparse
import os
import secrets
import signal
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
import harness  # noqa: E402


def print_tails(run_dir, lines=20):
    """The last lines of the run's logs, shown before the directory goes."""
    for name in ("error.log", "cuegw.log", "lighttpd.out", "standin.log"):
        text = harness.read_logs(os.path.join(run_dir, name))
        if text:
            print("--- %s ---\n%s" % (name, "\n".join(text.splitlines()[-lines:])), file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cuegw", required=True)
    ap.add_argument("--schema", required=True)
    ap.add_argument("--port", type=int, default=int(os.environ.get("DEMO_PORT", "8448")))
    ap.add_argument("--workers", type=int, default=4)
    args = ap.parse_args()

    # Ctrl-C reaches the whole process group, lighttpd included; the flag
    # tells that stop apart from lighttpd dying on its own.
    stop = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.append(1))
    try:
        endpoint = os.environ.get("CUEBOT_ENDPOINT", "").strip()
        if endpoint:
            print("demo: fronting the Cuebot at %s" % endpoint)
        else:
            standin = harness.Standin(args.schema).start()
            endpoint = standin.endpoint
            print("demo: stand-in Cuebot with the sample farm at %s (log: %s/standin.log)"
                  % (endpoint, standin.log_dir))
        secret = os.environ.get("JWT_SECRET", "").strip() or secrets.token_urlsafe(32)
        settings = {"CUEBOT_ENDPOINT": endpoint, "JWT_SECRET": secret,
                    "HEALTH_PATH": "/healthz", "LOG_LEVEL": "info"}
        for name in harness.cuegw_settings_names():     # pass the user's own settings on
            if name not in settings and os.environ.get(name):
                settings[name] = os.environ[name]
        try:
            harness.wait_for_port(args.port, timeout=0.2)
            print("demo: port %d is already in use; stop what runs there or set DEMO_PORT"
                  % args.port, file=sys.stderr)
            return 1
        except RuntimeError:
            pass
        web = harness.Lighttpd(args.cuegw, settings, workers=args.workers, port=args.port).start()
        token = harness.sign_jwt(secret, {"sub": "demo", "exp": int(time.time()) + 12 * 3600})
        prefix = settings.get("URL_PREFIX", "").rstrip("/")
        print("demo: cuegw behind lighttpd at http://127.0.0.1:%d%s/ (%d workers)"
              % (args.port, prefix, args.workers))
        print("demo: access lines and cuegw's errors: %s" % os.path.join(web.run_dir, "cuegw.log"))
        print("demo: lighttpd's own errors:           %s" % os.path.join(web.run_dir, "error.log"))
        print("demo: (removed when the demo stops)")
        print()
        print("Try it (the token is valid for 12 hours):")
        print()
        print("  curl -s -X POST -H 'Authorization: Bearer %s' \\" % token)
        print("       -H 'Content-Type: application/json' -d '{}' \\")
        print("       http://127.0.0.1:%d%s/show.ShowInterface/GetShows" % (args.port, prefix))
        print()
        print("Press Ctrl-C to stop.", flush=True)
        while not stop:
            if web.proc.poll() is not None:
                time.sleep(0.5)
                if stop:
                    break
                print("demo: lighttpd exited; the end of its logs:", file=sys.stderr)
                print_tails(web.run_dir)
                return 1
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    except RuntimeError as e:
        print("demo: %s" % e, file=sys.stderr)
        for s in harness._started:
            print_tails(getattr(s, "run_dir", None) or s.log_dir)
        return 1
    finally:
        harness.stop_all()
        print("\ndemo: stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
