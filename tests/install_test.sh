#!/bin/sh
# `make install` lays its files under DESTDIR + PREFIX and nowhere else.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
dest=$(mktemp -d "${TMPDIR:-/tmp}/cuegw-install.XXXXXX") || exit 1
trap 'rm -rf "$dest"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
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
         apache/cuegw-proxy-fcgi.conf conf/nginx-cuegw.conf conf/nginx-cuegw-fastcgi.conf conf/nginx-cuegw-basic-auth.conf \
         conf/cuegw.env conf/nginx-cuegw-secrets.conf.example lighttpd/cuegw-secrets.conf.example \
         apache/cuegw-secrets.conf.example; do
    check cmp -s "$top/$f" "$dest/opt/cuegw-test/share/cuegw/$f"
done
# The systemd unit runs the cuegw of this PREFIX (not /usr/local's, nor one
# under DESTDIR) and points at this PREFIX's README; the rest is as shipped.
unit="$dest/opt/cuegw-test/share/cuegw/conf/cuegw.service"
exec_path=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
check test "$exec_path" = /opt/cuegw-test/bin/cuegw
check test -x "$dest$exec_path"
doc_path=$(sed -n 's/^Documentation=file://p' "$unit")
check test "$doc_path" = /opt/cuegw-test/share/doc/cuegw/README.md
check test -f "$dest$doc_path"
check test -z "$(grep -v '^#' "$unit" | grep -n '/usr/local')"
check sh -c 'sed "s|/opt/cuegw-test/|/usr/local/|" "$1" | cmp -s - "$2"' _ "$unit" "$top/conf/cuegw.service"
check test "$(stat -c %a "$unit")" = 644
check test -x "$dest/opt/cuegw-test/share/cuegw/conf/spawn-fcgi.sh"
# The manual page, installed where man(1) looks, renders without a warning.
man8="$dest/opt/cuegw-test/share/man/man8/cuegw.8"
check cmp -s "$top/docs/cuegw.8" "$man8"
if command -v groff >/dev/null 2>&1; then
    warnings=$(groff -man -Tutf8 -ww -z "$man8" 2>&1)
    check test -z "$warnings"
else
    echo "FAIL: groff is not installed (tools/install-deps.sh installs groff-base)"
    failed=$((failed + 1))
fi
# Its FILES section names every file installed, or a directory ending in
# "/" that holds it, as PREFIX/...
files=$(sed -n '/^\.SH FILES/,/^\.SH EXAMPLES/p' "$man8" | sed 's/\\-/-/g')
for rel in $(cd "$dest/opt/cuegw-test" && find . -type f | sed 's|^\./||'); do
    d2=$(echo "$rel" | cut -d/ -f1-2)
    d3=$(echo "$rel" | cut -d/ -f1-3)
    echo "$files" | grep -qF -e "PREFIX/$rel" -e "PREFIX/$d2/" -e "PREFIX/$d3/" ||
        { echo "FAIL: cuegw(8) FILES does not name PREFIX/$rel"; failed=$((failed + 1)); }
done
# --help points at it and --check-config is there.
help=$("$dest/opt/cuegw-test/bin/cuegw" --help)
check test -n "$(echo "$help" | grep -F 'cuegw(8)')"
check test -n "$(echo "$help" | grep -F -- '--check-config')"
# The example env file lists every setting --help lists.
for name in $(echo "$help" | grep -oE '^  [A-Z][A-Z0-9_]+' | tr -d ' '); do
    grep -q "^$name=" "$dest/opt/cuegw-test/share/cuegw/conf/cuegw.env" || { echo "FAIL: $name not in cuegw.env"; failed=$((failed + 1)); }
done
# The OpenAPI document is the installed binary's own (site root).
check sh -c 'URL_PREFIX= "$1/bin/cuegw" --openapi | cmp -s - "$1/share/cuegw/openapi.json"' _ "$dest/opt/cuegw-test"
# Nothing outside the prefix.
other=$(cd "$dest" && find . -type f | grep -v '^\./opt/cuegw-test/' | wc -l)
check test "$other" -eq 0
# A fresh machine: without protoc-c, the build names the command that installs it.
bin=$dest/bin-without-tools
mkdir "$bin"
for t in mkdir sh dirname; do ln -s "$(command -v $t)" "$bin/$t"; done
out=$(PATH="$bin" "$(command -v make)" -C "$top" -s BUILD="$dest/fresh" "$dest/fresh/gen/.stamp" 2>&1)
check test $? -ne 0
check test -n "$(echo "$out" | grep -F 'protoc-c not found: run `sudo sh tools/install-deps.sh` (or `make deps`)')"
# The dependency check knows every tool the suites run: here all are present,
# and with a PATH that lacks them it names them (nginx, spawn-fcgi, wrk, ...).
check sh "$top/tools/ensure-deps.sh" --check
out=$(PATH="$bin" SBIN_DIR="$bin" APACHE_MODULES_DIR="$bin" sh "$top/tools/ensure-deps.sh" --check 2>&1)
check test $? -eq 1
for t in lighttpd nginx apache2 mod_fcgid.so spawn-fcgi wrk valgrind clang protoc-c gnuplot; do
    check test -n "$(echo "$out" | grep -w -- "$t")"
done
rm -rf "$bin"
echo "install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
