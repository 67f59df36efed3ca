#!/bin/sh
# Installs the Debian 12 packages cuegw needs to build and to run its tests.
# Run as root (or with sudo): sh tools/install-deps.sh
set -eu
export DEBIAN_FRONTEND=noninteractive
# Build: C toolchain, the schema compilers, and the libraries cuegw links.
BUILD_PKGS="gcc make pkg-config protobuf-c-compiler libprotobuf-c-dev protobuf-compiler
  libfcgi-dev libgrpc-dev libjwt-dev libjson-c-dev libssl-dev"
# The Debian package (make deb) and its checker.
DEB_PKGS="dpkg-dev debhelper lintian"
# Tests and benchmark: Debian's Python with protobuf (the JSON oracle), gRPC and
# JWT; the web servers the integration tests start; load and debug tools;
# gnuplot draws make loadtest's plot.
TEST_PKGS="python3 python3-protobuf python3-grpcio python3-jwt
  lighttpd apache2 libapache2-mod-fcgid nginx-light spawn-fcgi curl wrk
  clang libclang-rt-14-dev valgrind groff-base gnuplot-nox"
# The OpenAPI test runs an npm validator (tests/openapi) on Node.js: Debian's
# nodejs and npm, unless the machine already has node and npm (NodeSource's
# nodejs brings its own npm and conflicts with Debian's npm package).
NODE_PKGS=""
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    NODE_PKGS="nodejs npm"
fi
# Another apt or dpkg run (unattended-upgrades, a colleague's install) holds
# the lock for a while: wait up to 10 minutes for it instead of failing.
APT="apt-get -o DPkg::Lock::Timeout=600"
$APT update
# shellcheck disable=SC2086
$APT install -y --no-install-recommends $BUILD_PKGS $DEB_PKGS $TEST_PKGS $NODE_PKGS
