#!/bin/sh
# Makes sure the Debian packages the build and the tests need are present,
# installing them with tools/install-deps.sh when one is missing, so that
# `make demo` and `make check` work on a fresh Debian 12 machine.
# Installing needs root: run as root, or have sudo.
# With --check it only reports: prints what is missing and exits 1, or 0.
# SBIN_DIR and APACHE_MODULES_DIR (tests/install_test.sh) move where the
# daemons and Apache's modules are looked for.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
sbin=${SBIN_DIR:-/usr/sbin}
modules=${APACHE_MODULES_DIR:-/usr/lib/apache2/modules}
missing=""
# Every program a build or a test suite runs (tests/run-all.sh, make bench,
# make loadtest, make valgrind, make fuzz, make deb); daemons live in
# /usr/sbin, often not in a user's PATH.
for cmd in cc make pkg-config protoc-c protoc lighttpd nginx apache2 htpasswd spawn-fcgi \
           curl wrk valgrind clang node npm groff setpriv dpkg-buildpackage dh lintian gnuplot; do
    command -v "$cmd" >/dev/null 2>&1 || [ -x "$sbin/$cmd" ] || missing="$missing $cmd"
done
for h in grpc/grpc.h fastcgi.h jwt.h json-c/json_object.h protobuf-c/protobuf-c.h; do
    [ -f "/usr/include/$h" ] || missing="$missing $h"
done
# Apache's FastCGI modules are files, not programs.
for m in mod_fcgid.so mod_proxy_fcgi.so; do
    [ -f "$modules/$m" ] || missing="$missing $m"
done
/usr/bin/python3 -c 'import grpc, jwt, google.protobuf' 2>/dev/null || missing="$missing python3-modules"
[ -z "$missing" ] && exit 0
if [ "${1:-}" = --check ]; then
    echo "cuegw: missing:$missing (sudo sh tools/install-deps.sh installs them)" >&2
    exit 1
fi
echo "cuegw: missing:$missing; installing the Debian packages (tools/install-deps.sh)" >&2
if [ "$(id -u)" -eq 0 ]; then
    sh "$here/install-deps.sh"
elif command -v sudo >/dev/null 2>&1; then
    sudo sh "$here/install-deps.sh"
else
    echo "cuegw: run 'sh tools/install-deps.sh' as root first" >&2
    exit 1
fi
