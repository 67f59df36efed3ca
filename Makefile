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
CPPFLAGS  += -I common -I $(BUILD)/gen -D_GNU_SOURCE
CFLAGS    := -std=c11 $(OPT) $(SANFLAGS) $(CFLAGS_EXTRA)
LDFLAGS   += $(SANFLAGS)
LIBS_PB   := -lprotobuf-c
# The gRPC core, libfcgi and libjwt are shared libraries on Debian; linking
# them directly is enough (their own dependencies come along by soname).
LIBS_ALL  := $(LIBS_PB) -lgrpc -lgpr -lfcgi -ljwt -lcrypto -lm

PROTOS     := $(wildcard $(PROTO_DIR)/*.proto)
PROTO_NAMES:= $(notdir $(PROTOS:.proto=))
GEN_C      := $(PROTO_NAMES:%=$(BUILD)/gen/%.pb-c.c)
GEN_H      := $(PROTO_NAMES:%=$(BUILD)/gen/%.pb-c.h)
GEN_OBJ    := $(PROTO_NAMES:%=$(BUILD)/obj/gen/%.pb-c.o) $(BUILD)/obj/gen/schema_index.o

COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
LIB        := $(BUILD)/libcuegw.a

UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_BIN   := $(BUILD)/tests/transcode-tool
CALL_BIN   := $(BUILD)/tests/cuebot-call
FCGI_SRC   := $(wildcard fcgi/*.c)
FCGI_OBJ   := $(FCGI_SRC:%.c=$(BUILD)/obj/%.o)
GATEWAY    := $(BUILD)/cuegw
BENCH_BIN  := $(BUILD)/tests/transcode-bench

.PHONY: all check unit-test oracle-test integration-test schema-check bench clean install demo deps
all: $(LIB) $(GATEWAY) $(TOOL_BIN) $(CALL_BIN)

# ---- generated schema code -------------------------------------------------
$(BUILD)/gen/.stamp: $(PROTOS)
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

$(BENCH_BIN): $(BUILD)/obj/tests/bench/transcode_bench.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LIBS_ALL) -o $@

# ---- tests -------------------------------------------------------------------
# Every suite prints "N passed, N failed"; the last line sums them all.
# Installs the Debian packages first when something is missing (needs root
# or sudo), so `make demo` and `make check` work on a fresh machine.
deps:
	@sh tools/ensure-deps.sh

check: deps
	@$(MAKE) --no-print-directory all $(UNIT_BIN)
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

schema-check:
	../shared/tools/schema-diff $(PROTO_DIR)

bench: $(BENCH_BIN)
	$(PYTHON) tests/bench/make_farm.py --schema $(BUILD)/gen/schema.pb --out $(BUILD)/bench
	$(BENCH_BIN) $(BUILD)/bench

# The schema is installed beside the gateway so a site can see (and diff)
# exactly which Cuebot wire facts this build speaks.
# The web server configurations go to share/cuegw as examples to copy:
# a site's own /etc is the operator's to edit, never ours to overwrite.
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/cuegw/proto $(DESTDIR)$(PREFIX)/share/doc/cuegw
	install -d $(DESTDIR)$(PREFIX)/share/cuegw/lighttpd $(DESTDIR)$(PREFIX)/share/cuegw/apache $(DESTDIR)$(PREFIX)/share/cuegw/conf
	install -m 755 $(GATEWAY) $(DESTDIR)$(PREFIX)/bin/cuegw
	install -m 644 $(PROTOS) $(DESTDIR)$(PREFIX)/share/cuegw/proto/
	install -m 644 lighttpd/*.conf $(DESTDIR)$(PREFIX)/share/cuegw/lighttpd/
	install -m 644 apache/*.conf $(DESTDIR)$(PREFIX)/share/cuegw/apache/
	install -m 644 conf/*.conf conf/cuegw.env conf/cuegw.service $(DESTDIR)$(PREFIX)/share/cuegw/conf/
	install -m 755 conf/spawn-fcgi.sh $(DESTDIR)$(PREFIX)/share/cuegw/conf/
	install -m 644 README.md $(DESTDIR)$(PREFIX)/share/doc/cuegw/

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
