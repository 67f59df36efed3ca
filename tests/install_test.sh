#!/bin/sh
# `make install` lays its files under DESTDIR + PREFIX and nowhere else.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
passed=0
failed=0
check() { if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $*"; fi; }
make -C "$top" -s BUILD="$BUILD" install DESTDIR="$dest" PREFIX=/opt/cuegw-test >/dev/null
check test $? -eq 0
n=$(ls "$dest/opt/cuegw-test/share/cuegw/proto"/*.proto 2>/dev/null | wc -l)
check test "$n" -eq "$(ls "$top"/proto/*.proto | wc -l)"
check test -f "$dest/opt/cuegw-test/share/doc/cuegw/README.md"
check test -x "$dest/opt/cuegw-test/bin/cuegw"
check "$dest/opt/cuegw-test/bin/cuegw" --version
for f in lighttpd/cuegw.conf lighttpd/cuegw-basic-auth.conf apache/cuegw-fcgid.conf \
         apache/cuegw-proxy-fcgi.conf conf/nginx-cuegw.conf conf/nginx-cuegw-basic-auth.conf \
         conf/cuegw.env conf/cuegw.service; do
    check cmp -s "$top/$f" "$dest/opt/cuegw-test/share/cuegw/$f"
done
check test -x "$dest/opt/cuegw-test/share/cuegw/conf/spawn-fcgi.sh"
# Nothing outside the prefix.
other=$(cd "$dest" && find . -type f | grep -v '^\./opt/cuegw-test/' | wc -l)
check test "$other" -eq 0
echo "install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
