# cuegw build. Everything generated or compiled lands in $(BUILD); nothing
# generated is ever committed. Build against a site's own Cuebot schema with
#   make PROTO_DIR=/path/to/OpenCue/proto/src

PROTO_DIR ?= proto
BUILD     ?= build
PREFIX    ?= /usr/local
DESTDIR   ?=
CC        ?= cc
PYTHON    ?= /usr/bin/python3

# SANITIZE=address,undefined builds everything with those sanitizers.
SANITIZE  ?=
OPT       ?= -O2 -g

WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
DEPFLAGS   = -MMD -MP
SANFLAGS  := $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all,)
CPPFLAGS  += -I common -I fcgi -I $(BUILD)/gen -D_GNU_SOURCE
CFLAGS    := -std=c11 $(OPT) $(SANFLAGS) $(CFLAGS_EXTRA)
LDFLAGS   += $(SANFLAGS)
LIBS_PB   := -lprotobuf-c
# The gRPC core and libjwt are shared libraries on Debian; linking them
# directly is enough (their own dependencies come along by soname). cuegw
# speaks FastCGI itself (fcgi/fcgi_in.c, outq.c: libfcgi's API blocks on
# the socket) and takes only the protocol's constants from libfcgi-dev's
# fastcgi.h; the benchmark's trivial responder links libfcgi. json-c
# builds the OpenAPI document (common/http/openapi*.c) and nothing else.
LIBS_ALL  := $(LIBS_PB) -lgrpc -lgpr -ljwt -ljson-c -lcrypto -lm

PROTOS     := $(wildcard $(PROTO_DIR)/*.proto)
PROTO_NAMES:= $(notdir $(PROTOS:.proto=))
GEN_C      := $(PROTO_NAMES:%=$(BUILD)/gen/%.pb-c.c)
GEN_H      := $(PROTO_NAMES:%=$(BUILD)/gen/%.pb-c.h)
GEN_OBJ    := $(PROTO_NAMES:%=$(BUILD)/obj/gen/%.pb-c.o) $(BUILD)/obj/gen/schema_index.o

# The FastCGI decoder and output queue go in the library too, for the unit
# tests and the fuzz targets; only fcgi/ itself uses them.
FCGI_CORE  := fcgi/fcgi_in.c fcgi/outq.c
COMMON_SRC := $(wildcard common/*/*.c) $(FCGI_CORE)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
LIB        := $(BUILD)/libcuegw.a

UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_BIN   := $(BUILD)/tests/transcode-tool
CALL_BIN   := $(BUILD)/tests/cuebot-call
FCGI_SRC   := $(filter-out $(FCGI_CORE),$(wildcard fcgi/*.c))
FCGI_OBJ   := $(FCGI_SRC:%.c=$(BUILD)/obj/%.o)
GATEWAY    := $(BUILD)/cuegw
BENCH_BIN  := $(BUILD)/tests/transcode-bench
MEM_BIN    := $(BUILD)/tests/transcode-mem
SHAPES_OBJ := $(BUILD)/obj/tests/bench/shapes.o

.PHONY: deb all check unit-test oracle-test integration-test schema-check bench bench-transcode bench-memory loadtest clean install demo deps standin
all: $(LIB) $(GATEWAY) $(TOOL_BIN) $(CALL_BIN)

# ---- generated schema code -------------------------------------------------
# The schema compilers are the first tools a fresh machine lacks: say what
# to install rather than let the shell say "protoc-c: No such file".
$(BUILD)/gen/.stamp: $(PROTOS)
	@for t in protoc-c protoc; do command -v $$t >/dev/null 2>&1 || { \
	    echo "$$t not found: run \`sudo sh tools/install-deps.sh\` (or \`make deps\`)" >&2; exit 1; }; done
	@mkdir -p $(BUILD)/gen
	@test -n "$(PROTOS)" || { echo "no .proto files in PROTO_DIR=$(PROTO_DIR)" >&2; exit 1; }
	protoc-c -I$(PROTO_DIR) --c_out=$(BUILD)/gen $(PROTOS)
	protoc -I$(PROTO_DIR) --include_imports --descriptor_set_out=$(BUILD)/gen/schema.pb $(PROTOS)
	@touch $@
$(GEN_C) $(GEN_H) $(BUILD)/gen/schema.pb: $(BUILD)/gen/.stamp

$(BUILD)/gen/schema_index.c: $(BUILD)/gen/.stamp tools/gen-schema-index.sh
	sh tools/gen-schema-index.sh $(BUILD)/gen $(GEN_H) > $@.tmp && mv $@.tmp $@

# protoc-c's output is not ours to keep warning-clean, so -Werror stops here.
$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c $(BUILD)/gen/.stamp
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -w -c $< -o $@

# ---- our code ----------------------------------------------------------------
$(BUILD)/obj/%.o: %.c $(BUILD)/gen/.stamp
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(DEPFLAGS) -c $< -o $@

$(LIB): $(COMMON_OBJ) $(GEN_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/tests/test_%: $(BUILD)/obj/tests/unit/test_%.o $(BUILD)/obj/tests/unit/unit.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LIBS_ALL) -o $@

$(TOOL_BIN): $(BUILD)/obj/tests/tools/transcode_tool.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LIBS_ALL) -o $@

$(GATEWAY): $(FCGI_OBJ) $(LIB)
	$(CC) $(LDFLAGS) $^ $(LIBS_ALL) -o $@

$(CALL_BIN): $(BUILD)/obj/tests/tools/cuebot_call.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LIBS_ALL) -o $@

$(BENCH_BIN): $(BUILD)/obj/tests/bench/transcode_bench.o $(SHAPES_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LIBS_ALL) -o $@

# The memory bench's one-case runner and the codec memory regression tests
# share the adversarial shapes (tests/bench/shapes.c).
$(MEM_BIN): $(BUILD)/obj/tests/bench/mem_bench.o $(SHAPES_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LIBS_ALL) -o $@

$(BUILD)/tests/test_codec_memory: $(BUILD)/obj/tests/unit/test_codec_memory.o \
                                  $(BUILD)/obj/tests/unit/unit.o $(SHAPES_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LIBS_ALL) -o $@

# The whole-path benchmark's own tools: the C stand-in Cuebot and the two
# floors (a bare gRPC client, a trivial FastCGI responder).
$(BUILD)/tests/bench-standin: $(BUILD)/obj/tests/bench/standin_c.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ -lgrpc -lgpr -lpthread -o $@

# The gRPC floor links cuegw's library for --client cuegw (its own client
# under the same load).
$(BUILD)/tests/bench-grpc-floor: $(BUILD)/obj/tests/bench/grpc_floor.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LIBS_ALL) -lpthread -o $@

$(BUILD)/tests/bench-trivial-fcgi: $(BUILD)/obj/tests/bench/trivial_fcgi.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LIBS_ALL) -lfcgi -lpthread -o $@

# ---- tests -------------------------------------------------------------------
# Every suite prints "N passed, N failed"; the last line sums them all.
# Installs the Debian packages first when something is missing (needs root
# or sudo), so `make demo` and `make check` work on a fresh machine.
deps:
	@sh tools/ensure-deps.sh

check: deps
	@$(MAKE) --no-print-directory all $(UNIT_BIN) $(FUZZ_REPLAY) $(BUILD)/tests/bench-standin $(BUILD)/tests/bench-trivial-fcgi
	@sh tests/run-all.sh $(BUILD) "$(PYTHON)" "$(PROTO_DIR)"

unit-test: $(UNIT_BIN)
	@for t in $(UNIT_BIN); do $$t || exit 1; done

oracle-test: $(TOOL_BIN)
	$(PYTHON) tests/oracle/oracle_test.py --tool $(TOOL_BIN) --schema $(BUILD)/gen/schema.pb

integration-test: all
	$(PYTHON) tests/integration/test_lighttpd.py --cuegw $(GATEWAY) --schema $(BUILD)/gen/schema.pb

# A local gateway with the stand-in Cuebot on 127.0.0.1:8448; Ctrl-C stops it.
demo: deps
	@$(MAKE) --no-print-directory all
	@$(PYTHON) tools/demo.py --cuegw $(GATEWAY) --schema $(BUILD)/gen/schema.pb

# The stand-in Cuebot alone (tests/cuebot/standin.py, the sample farm of
# `make demo`), to try a deployment without a real Cuebot: it prints its
# address for CUEBOT_ENDPOINT. STANDIN_PORT (default: a free port) and
# STANDIN_HOST place it; Ctrl-C stops it.
STANDIN_PORT ?= 0
STANDIN_HOST ?= 127.0.0.1
standin: deps
	@$(MAKE) --no-print-directory $(BUILD)/gen/schema.pb
	@exec $(PYTHON) tests/cuebot/standin.py --schema $(BUILD)/gen/schema.pb \
	    --host $(STANDIN_HOST) --grpc-port $(STANDIN_PORT)

# Needs the reference schema in ../shared (make check skips it without).
schema-check:
	@test -x ../shared/tools/schema-diff || { \
	    echo "schema-check: ../shared/tools/schema-diff not found: the reference schema lives beside this repository" >&2; exit 1; }
	../shared/tools/schema-diff $(PROTO_DIR)

# The whole path (wrk -> nginx or lighttpd -> cuegw -> a C stand-in Cuebot)
# against its floors; prints one table, writes $(BUILD)/bench/bench.json.
# BENCH_ARGS passes options (--seconds, --workers, --threads, --fronts,
# --quick); see tests/bench/README.md.
BENCH_TOOLS := $(BUILD)/tests/bench-standin $(BUILD)/tests/bench-grpc-floor $(BUILD)/tests/bench-trivial-fcgi
bench: deps all $(BENCH_TOOLS)
	$(PYTHON) tests/bench/make_farm.py --schema $(BUILD)/gen/schema.pb --out $(BUILD)/bench
	$(PYTHON) tests/bench/bench.py --build $(BUILD) $(BENCH_ARGS)

# The CueWeb-shaped load test (issue 15): N browsers through every shipped
# front, SHARE_READS on and off; prints one table, writes
# $(BUILD)/loadtest/loadtest.json and p99.png. LOAD_ARGS passes options
# (--quick, --fronts, --clients, --seconds, --share-reads); see
# tests/bench/README.md. About 10 minutes by default.
loadtest: deps all $(BUILD)/tests/bench-standin $(BUILD)/tests/bench-trivial-fcgi
	$(PYTHON) tests/bench/make_farm.py --schema $(BUILD)/gen/schema.pb --loadtest $(BUILD)/loadtest/farm
	$(PYTHON) tests/bench/loadtest.py --build $(BUILD) $(LOAD_ARGS)

# The transcoder alone: protobuf <-> JSON throughput and peak memory.
bench-transcode: $(BENCH_BIN)
	$(PYTHON) tests/bench/make_farm.py --schema $(BUILD)/gen/schema.pb --out $(BUILD)/bench
	$(BENCH_BIN) $(BUILD)/bench

# The transcoder on adversarial shapes, both directions, each case once in
# a fresh process: peak memory against the issue-13 targets, CPU, then the
# throughput of bench-transcode. MEM_ARGS passes options (--quick, --shapes,
# --cap-mb); see tests/bench/README.md. Prints figures; fails on no timing.
bench-memory: $(MEM_BIN) $(BENCH_BIN)
	$(PYTHON) tests/bench/make_farm.py --schema $(BUILD)/gen/schema.pb --out $(BUILD)/bench
	$(PYTHON) tests/bench/mem_bench.py --build $(BUILD) $(MEM_ARGS)
	BENCH_SECONDS=0.5 $(BENCH_BIN) $(BUILD)/bench

# The schema is installed beside the gateway so a site can see (and diff)
# exactly which Cuebot wire facts this build speaks.
# The web server configurations and the example secrets files (*.example)
# go to share/cuegw as examples to copy: a site's own /etc is the
# operator's to edit, never ours to overwrite.
# The systemd unit is the one file among them that names where cuegw is
# installed: its paths follow PREFIX (never DESTDIR, a staging root).
install: all $(BUILD)/openapi.json
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/cuegw/proto $(DESTDIR)$(PREFIX)/share/doc/cuegw
	install -d $(DESTDIR)$(PREFIX)/share/cuegw/lighttpd $(DESTDIR)$(PREFIX)/share/cuegw/apache $(DESTDIR)$(PREFIX)/share/cuegw/conf
	install -m 755 $(GATEWAY) $(DESTDIR)$(PREFIX)/bin/cuegw
	install -m 644 $(PROTOS) $(DESTDIR)$(PREFIX)/share/cuegw/proto/
	install -m 644 $(BUILD)/openapi.json $(DESTDIR)$(PREFIX)/share/cuegw/
	install -m 644 lighttpd/*.conf lighttpd/*.example $(DESTDIR)$(PREFIX)/share/cuegw/lighttpd/
	install -m 644 apache/*.conf apache/*.example $(DESTDIR)$(PREFIX)/share/cuegw/apache/
	install -m 644 conf/*.conf conf/*.example conf/cuegw.env $(DESTDIR)$(PREFIX)/share/cuegw/conf/
	sed -e 's|^ExecStart=/usr/local/|ExecStart=$(PREFIX)/|' \
	    -e 's|^Documentation=file:/usr/local/|Documentation=file:$(PREFIX)/|' \
	    conf/cuegw.service > $(DESTDIR)$(PREFIX)/share/cuegw/conf/cuegw.service.tmp
	chmod 644 $(DESTDIR)$(PREFIX)/share/cuegw/conf/cuegw.service.tmp
	mv $(DESTDIR)$(PREFIX)/share/cuegw/conf/cuegw.service.tmp $(DESTDIR)$(PREFIX)/share/cuegw/conf/cuegw.service
	install -m 755 conf/spawn-fcgi.sh $(DESTDIR)$(PREFIX)/share/cuegw/conf/
	install -m 644 README.md $(DESTDIR)$(PREFIX)/share/doc/cuegw/
	install -d $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 644 docs/cuegw.8 $(DESTDIR)$(PREFIX)/share/man/man8/

# The Debian package (debian/), built from a copy of the tree in
# $(BUILD)/deb/src so that neither the tree nor its parent directory gets
# the package build's files; the .deb lands in $(BUILD)/deb/. make's own
# variables (BUILD=, SANITIZE= of an outer make) are kept out of the
# package build. lintian must then find nothing above its info tags.
# Needs the build dependencies of debian/control, debhelper and lintian
# (tools/install-deps.sh installs them).
DEB_DIR  := $(BUILD)/deb
DEB_JOBS ?= 2
deb:
	@for t in dpkg-buildpackage dh lintian; do command -v $$t >/dev/null 2>&1 || { \
	    echo "$$t not found: run \`sudo sh tools/install-deps.sh\`" >&2; exit 1; }; done
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/src
	tar -cf - --exclude=./.git --exclude='./build*' --exclude=./$(BUILD) --exclude=./debian/build \
	    --exclude=node_modules . | tar -C $(DEB_DIR)/src -xf -
	cd $(DEB_DIR)/src && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	    dpkg-buildpackage -b -us -uc -j$(DEB_JOBS) > ../build.log 2>&1 \
	    || { tail -n 40 ../build.log; echo "deb: the package build failed; see $(DEB_DIR)/build.log" >&2; exit 1; }
	lintian --fail-on error,warning --display-info $(DEB_DIR)/cuegw_*.changes
	@ls $(DEB_DIR)/cuegw_*.deb

# The OpenAPI document of this build's routes, for a gateway at the site
# root (URL_PREFIX is blanked so the file does not depend on the caller's
# environment; `URL_PREFIX=/cue cuegw --openapi` prints one for a mount).
.PHONY: openapi
openapi: $(BUILD)/openapi.json
$(BUILD)/openapi.json: $(GATEWAY)
	URL_PREFIX= $(GATEWAY) --openapi > $@.tmp && mv $@.tmp $@

clean:
	rm -rf $(BUILD)

# ---- reliability (tests/valgrind, tests/soak) ------------------------------
# `make valgrind`: a `cuegw --listen` pool under valgrind memcheck takes
# 10,000 mixed requests over FastCGI and is stopped with SIGTERM; it fails on
# any memcheck error or definitely/indirectly lost block. Needs the plain
# build (memcheck cannot run a sanitized binary); CI runs it after `make check`.
# `make soak`: a few minutes of mixed load through nginx and lighttpd
# (SOAK_SECONDS per front, default 120); prints counts, errors by kind,
# latency and each worker's RSS, and passes on zero unexpected answers and
# under 1 MB of RSS growth per worker. Not part of `make check`.
SOAK_SECONDS ?= 120
.PHONY: valgrind soak
valgrind: deps all
	@$(PYTHON) tests/valgrind/run.py --cuegw $(GATEWAY) --schema $(BUILD)/gen/schema.pb

soak: deps all
	@$(PYTHON) tests/soak/soak.py --cuegw $(GATEWAY) --schema $(BUILD)/gen/schema.pb --seconds $(SOAK_SECONDS)

# ---- fuzzing (tests/fuzz) ---------------------------------------------------
# libFuzzer targets built with clang: the library sources are compiled a
# second time into $(FUZZ_DIR)/obj with coverage instrumentation, AddressSan-
# itizer and UndefinedBehaviorSanitizer. `make fuzz FUZZ_SECONDS=N` runs every
# target for N seconds (two at a time with make -j2), each with its corpus in
# $(FUZZ_DIR)/corpus/<target> started from tests/fuzz/seeds and regressions;
# the fuzzers' own output goes to $(FUZZ_DIR)/logs and a summary is printed.
# It fails when any target finds a crash or a broken invariant.
# The same targets are also built with $(CC) around tests/fuzz/replay_main.c;
# `make check` replays every seed and regression through them.
FUZZ_TARGETS := json_decode pb_encode auth request fcgi_in
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_CFLAGS  := -std=c11 -O1 -g -fno-omit-frame-pointer -fno-sanitize-recover=all \
                -fsanitize=fuzzer-no-link,address,undefined
FUZZ_LIB_OBJ := $(COMMON_SRC:%.c=$(FUZZ_DIR)/obj/%.o) \
                $(PROTO_NAMES:%=$(FUZZ_DIR)/obj/gen/%.pb-c.o) $(FUZZ_DIR)/obj/gen/schema_index.o
FUZZ_HELPERS := tests/fuzz/json_valid.c tests/fuzz/jwt_oracle.c tests/fuzz/fuzz_types.c
FUZZ_BIN     := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_REPLAY  := $(FUZZ_TARGETS:%=$(BUILD)/tests/fuzz-replay-%)

.PHONY: fuzz fuzz-build
# Kept between runs (make would delete them as intermediate files).
.SECONDARY: $(FUZZ_LIB_OBJ) $(FUZZ_HELPERS:%.c=$(FUZZ_DIR)/obj/%.o) \
            $(FUZZ_TARGETS:%=$(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o) \
            $(FUZZ_HELPERS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/tests/fuzz/replay_main.o \
            $(FUZZ_TARGETS:%=$(BUILD)/obj/tests/fuzz/fuzz_%.o)
$(FUZZ_DIR)/obj/gen/%.o: $(BUILD)/gen/%.c $(BUILD)/gen/.stamp
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -w -c $< -o $@

$(FUZZ_DIR)/obj/%.o: %.c $(BUILD)/gen/.stamp
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) $(WARN) $(DEPFLAGS) -c $< -o $@

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o $(FUZZ_HELPERS:%.c=$(FUZZ_DIR)/obj/%.o) $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $^ $(LIBS_ALL) -o $@

$(BUILD)/tests/fuzz-replay-%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(FUZZ_HELPERS:%.c=$(BUILD)/obj/%.o) \
                              $(BUILD)/obj/tests/fuzz/replay_main.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LIBS_ALL) -o $@

fuzz-build: $(FUZZ_BIN)

# Each run rule records its verdict instead of failing, so every target
# gets its time even when an earlier one found something; `fuzz` then
# prints the summary and fails if any did.
fuzz: $(FUZZ_TARGETS:%=fuzz-run-%)
	@sh tests/fuzz/run.sh --summary $(FUZZ_DIR) $(FUZZ_TARGETS)

fuzz-run-%: $(FUZZ_DIR)/fuzz_%
	@sh tests/fuzz/run.sh $* $(FUZZ_DIR) $(FUZZ_SECONDS)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
-include $(shell find $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)
