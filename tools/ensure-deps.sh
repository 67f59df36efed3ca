#!/bin/sh
# Makes sure the Debian packages the build and the tests need are present,
# installing them with tools/install-deps.sh when one is missing, so that
# `make demo` and `make check` work on a fresh Debian 12 machine.
# Installing needs root: run as root, or have sudo.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
missing=""
for cmd in cc make pkg-config protoc-c protoc lighttpd curl node npm groff; do
    command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing="$missing $cmd"
done
for h in grpc/grpc.h fastcgi.h jwt.h protobuf-c/protobuf-c.h; do
    [ -f "/usr/include/$h" ] || missing="$missing $h"
done
/usr/bin/python3 -c 'import grpc, jwt, google.protobuf' 2>/dev/null || missing="$missing python3-modules"
[ -z "$missing" ] && exit 0
echo "cuegw: missing:$missing; installing the Debian packages (tools/install-deps.sh)" >&2
if [ "$(id -u)" -eq 0 ]; then
    sh "$here/install-deps.sh"
elif command -v sudo >/dev/null 2>&1; then
    sudo sh "$here/install-deps.sh"
else
    echo "cuegw: run 'sh tools/install-deps.sh' as root first" >&2
    exit 1
fi
