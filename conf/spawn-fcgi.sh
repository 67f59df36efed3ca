#!/bin/sh
# cuegw on a shared web host, without root: spawn-fcgi starts a pool of
# cuegw processes on a unix socket in your own directory, and the host's
# web server sends the API requests there (nginx: conf/nginx-cuegw.conf,
# with `server unix:SOCKET;` in its upstream).
#
#   spawn-fcgi.sh start | stop | restart | status
#
# Taken from the environment (default in brackets):
#   CUEGW_HOME          [$HOME/cuegw]
#   CUEGW_ENV           [$CUEGW_HOME/cuegw.env] the settings: a copy of
#                       conf/cuegw.env, mode 600. cuegw sees only what this
#                       file sets (plus PATH and HOME), never the rest of
#                       your login environment.
#   CUEGW_RUN_DIR       [$CUEGW_HOME/run] holds cuegw.sock (the socket),
#                       cuegw.pid (one pid a line) and cuegw.log (stderr of
#                       every process: access lines and errors)
#   CUEGW_BIN           [PREFIX/bin/cuegw when this script is the one
#                       `make install` put in PREFIX/share/cuegw/conf, else
#                       cuegw on PATH, else $CUEGW_HOME/bin/cuegw]
#   CUEGW_WORKERS       [2] processes; each serves WORKER_THREADS requests
#                       at once (cuegw.env) on any number of connections, so
#                       a burst of requests queues on the socket for a free
#                       thread rather than for a process: about one process
#                       per CPU holds CueWeb's bursts (make loadtest,
#                       tests/bench/README.md)
#   CUEGW_SOCKET_GROUP  [unset] a group of yours that the web server's user
#                       is in; the run directory and the socket get it.
#                       Leave it unset when the web server runs as you.
#
# The socket is a trust boundary. Whoever can connect to it can send
# FastCGI parameters, and with SETTINGS_FROM_PARAMS=1 those include
# JWT_SECRET: only you and the web server may reach it (mode 0660 in a
# directory of mode 0710).
#
# spawn-fcgi forks the processes and leaves; nothing replaces one that
# dies. `status` says so (exit 1) and `restart` brings the pool back, for
# example from cron:
#   @reboot          /path/to/spawn-fcgi.sh start
#   */5 * * * *      /path/to/spawn-fcgi.sh status >/dev/null || /path/to/spawn-fcgi.sh restart
set -u

home=${CUEGW_HOME:-${HOME:-/nonexistent}/cuegw}
env_file=${CUEGW_ENV:-$home/cuegw.env}
run_dir=${CUEGW_RUN_DIR:-$home/run}
workers=${CUEGW_WORKERS:-2}
group=${CUEGW_SOCKET_GROUP:-}
sock=$run_dir/cuegw.sock
pid_file=$run_dir/cuegw.pid
log=$run_dir/cuegw.log

die() {
    echo "spawn-fcgi.sh: $*" >&2
    exit 2
}

# `make install` puts this script in PREFIX/share/cuegw/conf and the
# binary in PREFIX/bin: that one first, so that a cuegw installed in a home
# directory is not passed over for another one on PATH.
find_bin() {
    beside=$(cd "$(dirname "$0")/../../.." 2>/dev/null && pwd)/bin/cuegw
    if [ -n "${CUEGW_BIN:-}" ]; then
        echo "$CUEGW_BIN"
    elif [ -x "$beside" ] && [ -f "$beside" ]; then
        echo "$beside"
    elif command -v cuegw >/dev/null 2>&1; then
        command -v cuegw
    else
        echo "$home/bin/cuegw"
    fi
}

# The pids of the pool that are still running cuegw (a pid file outlives
# a reboot, and its numbers may have been reused since).
# Printed on one line, separated by spaces.
live_pids() {
    [ -f "$pid_file" ] || return 0
    found=
    while read -r pid || [ -n "$pid" ]; do
        case $pid in '' | *[!0-9]*) continue ;; esac
        # A process that has exited may linger as a zombie until init reaps it.
        case $(ps -o stat= -o comm= -p "$pid" 2>/dev/null) in
        Z*) ;;
        *" cuegw") found="$found${found:+ }$pid" ;;
        esac
    done <"$pid_file"
    echo "$found"
}

count() {
    # shellcheck disable=SC2086 # one word per pid
    set -- $1
    echo $#
}

# SHUTDOWN_TIMEOUT from the env file, in whole seconds, rounded up.
shutdown_seconds() {
    # shellcheck disable=SC1090 # the operator's file
    t=$( (set -a; . "$env_file" >/dev/null 2>&1; echo "${SHUTDOWN_TIMEOUT:-}") )
    unit=1
    case $t in
    *ms) t=0 ;;
    *s) t=${t%s} ;;
    *m) t=${t%m} unit=60 ;;
    *h) t=${t%h} unit=3600 ;;
    esac
    t=${t%%.*}
    case $t in
    *[!0-9]*) echo 30 ;;
    *) echo $(( (${t:-0} + 1) * unit )) ;;
    esac
}

start() {
    pids=$(live_pids)
    if [ -n "$pids" ]; then
        echo "cuegw is already running: $(count "$pids") processes ($pids); see status"
        return 0
    fi
    bin=$(find_bin)
    command -v spawn-fcgi >/dev/null 2>&1 || die "spawn-fcgi is not installed"
    [ -x "$bin" ] || die "no cuegw binary at $bin (set CUEGW_BIN)"
    [ -r "$env_file" ] || die "cannot read the settings file $env_file (set CUEGW_ENV)"
    case $env_file in /*) ;; *) env_file=$(pwd)/$env_file ;; esac
    case $workers in '' | *[!0-9]* | 0) die "CUEGW_WORKERS: expected a number from 1, got '$workers'" ;; esac
    umask 077
    mkdir -p "$run_dir" || die "cannot create $run_dir"
    if [ -n "$group" ]; then
        chgrp "$group" "$run_dir" || die "cannot give $run_dir to group $group"
        chmod 0710 "$run_dir"
    else
        chmod 0700 "$run_dir"
    fi
    rm -f "$pid_file"
    # A clean environment holding only the env file's settings; each
    # process's stderr is appended to the log (spawn-fcgi itself points
    # stdout and stderr of what it forks at /dev/null). The shell before
    # cuegw execs it, so the pids spawn-fcgi records are cuegw's own.
    # shellcheck disable=SC2016 # expanded by the inner shells
    env -i PATH="${PATH:-/usr/bin:/bin}" HOME="${HOME:-/}" \
        CUEGW_ENV_FILE="$env_file" CUEGW_LOG="$log" \
        /bin/sh -c 'set -a && . "$CUEGW_ENV_FILE" && set +a && unset CUEGW_ENV_FILE && exec "$@"' sh \
        spawn-fcgi -s "$sock" -M 0660 -F "$workers" -P "$pid_file" -- \
        /bin/sh -c 'exec "$0" 2>>"$CUEGW_LOG"' "$bin" >>"$log" 2>&1
    rc=$?
    if [ $rc -ne 0 ]; then
        # Any process it did start goes too; a bad setting has ended them
        # already, with the reason in the log.
        stop >/dev/null
        echo "spawn-fcgi.sh: spawn-fcgi failed (status $rc); the end of $log:" >&2
        tail -n 5 "$log" >&2
        return 1
    fi
    if [ -n "$group" ]; then
        chgrp "$group" "$sock" || die "cannot give $sock to group $group"
    fi
    # cuegw checks its settings before it serves: a bad one ends the
    # processes at once, with the reason in the log.
    sleep 0.5
    n=$(count "$(live_pids)")
    if [ "$n" -ne "$workers" ]; then
        echo "spawn-fcgi.sh: $n of $workers cuegw processes are running; the end of $log:" >&2
        tail -n 5 "$log" >&2
        stop >/dev/null
        return 1
    fi
    echo "cuegw: $n processes on $sock"
}

stop() {
    pids=$(live_pids)
    if [ -n "$pids" ]; then
        # SIGTERM: each process finishes the request in hand, then exits.
        # shellcheck disable=SC2086 # one word per pid
        kill -TERM $pids 2>/dev/null
        wait_s=$(( $(shutdown_seconds) + 5 ))
        end=$(( $(date +%s) + wait_s ))
        while [ -n "$(live_pids)" ] && [ "$(date +%s)" -lt "$end" ]; do
            sleep 0.1
        done
        left=$(live_pids)
        if [ -n "$left" ]; then
            echo "spawn-fcgi.sh: still running after ${wait_s}s, killing: $left" >&2
            # shellcheck disable=SC2086
            kill -KILL $left 2>/dev/null
        fi
    fi
    rm -f "$pid_file" "$sock"
    echo "cuegw: stopped"
}

status() {
    pids=$(live_pids)
    want=0
    [ -f "$pid_file" ] && want=$(grep -c '[0-9]' "$pid_file")
    n=$(count "$pids")
    if [ "$n" -eq 0 ]; then
        echo "cuegw is not running"
        return 3
    fi
    if [ "$n" -lt "$want" ]; then
        echo "cuegw: $n of $want processes running ($pids); restart replaces the missing ones"
        return 1
    fi
    echo "cuegw: $n processes running ($pids) on $sock"
    return 0
}

case ${1:-} in
start) start ;;
stop) stop ;;
restart) stop >/dev/null; start ;;
status) status ;;
*) echo "usage: $0 start|stop|restart|status" >&2; exit 2 ;;
esac
