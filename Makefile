# Parley — GNU Makefile.  `make run` builds and starts parleyd on 127.0.0.1:8080
# with its data in ./data; `make test` builds and runs every test.  Both install
# missing Debian packages first (scripts/install-deps.sh).

CC      ?= cc
BUILD   ?= build
PKGS    := libuv jansson sqlite3 libsodium libmagic libjpeg libpng libwebp
CFLAGS  ?= -O2 -g
override CFLAGS += -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror \
           -Wshadow -Wno-unused-parameter -Wno-missing-field-initializers -Isrc -Iinclude $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lhttp_parser -lwslay -lpthread -lm
TEST_LDLIBS := $(shell pkg-config --libs cmocka zlib 2>/dev/null)
LISTEN  ?= 127.0.0.1:8080
DATA    ?= ./data

SERVER_SRCS := $(wildcard src/util/*.c src/net/*.c src/api/*.c src/core/*.c src/store/*.c \
                 src/bus/*.c src/safety/*.c src/media/*.c)
LIB_SRCS    := $(wildcard src/lib/*.c)
CLI_SRCS    := $(wildcard src/cli/*.c)
UNIT_SRCS   := $(wildcard tests/unit/*.c)
INTEG_SRCS  := $(wildcard tests/integration/test_*.c)
INTEG_HELP  := $(filter-out $(INTEG_SRCS),$(wildcard tests/integration/*.c))
BENCH_SRCS  := $(wildcard bench/*.c)

SERVER_OBJS := $(SERVER_SRCS:%.c=$(BUILD)/obj/%.o)
LIB_OBJS    := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
CLI_OBJS    := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_BINS   := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
INTEG_BINS  := $(INTEG_SRCS:tests/integration/%.c=$(BUILD)/tests/integration/%)
INTEG_HOBJS := $(INTEG_HELP:%.c=$(BUILD)/obj/%.o)

PARLEYD := $(BUILD)/parleyd
PARLEY  := $(BUILD)/parley

.SECONDARY:
.PHONY: all run test unit integration asan fuzz bench deps docs check-docs lint clean
all: $(PARLEYD) $(PARLEY) $(BUILD)/libparley.a

deps:
	@sh scripts/install-deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libparleyd.a: $(SERVER_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libparley.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(PARLEYD): $(BUILD)/obj/src/parleyd/main.o $(BUILD)/libparleyd.a
	$(CC) $(CFLAGS) $^ -o $@ $(LDFLAGS) $(LDLIBS)

$(PARLEY): $(CLI_OBJS) $(BUILD)/libparley.a
	$(CC) $(CFLAGS) $^ -o $@ $(LDFLAGS) $(LDLIBS)

$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/libparleyd.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $^ -o $@ $(LDFLAGS) $(LDLIBS) $(TEST_LDLIBS)

$(BUILD)/tests/integration/%: $(BUILD)/obj/tests/integration/%.o $(INTEG_HOBJS) $(BUILD)/libparley.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $^ -o $@ $(LDFLAGS) $(LDLIBS) $(TEST_LDLIBS)

run: deps $(PARLEYD) $(PARLEY)
	$(PARLEYD) --listen $(LISTEN) --data $(DATA)

# Every test: unit tests, then integration tests against the real daemon, then
# the checks that docs/api.md matches the method table and docs/operations.md's
# settings table the config table.
test: deps all $(UNIT_BINS) $(INTEG_BINS)
	@sh scripts/run-tests.sh $(BUILD)

unit: $(UNIT_BINS)
	@sh scripts/run-tests.sh $(BUILD) unit

integration: all $(INTEG_BINS)
	@sh scripts/run-tests.sh $(BUILD) integration

asan:
	$(MAKE) BUILD=build-asan CC=clang \
	  CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
	  LDFLAGS="-fsanitize=address,undefined" test

docs: $(PARLEYD)
	$(PARLEYD) --print-api-docs > docs/api.md

check-docs: $(PARLEYD)
	@$(PARLEYD) --print-api-docs | diff -u docs/api.md - && echo "docs/api.md matches the method table"
	@$(PARLEYD) --print-config-docs > $(BUILD)/config-docs.md
	@awk '/^\| setting \| environment \|/ { on = 1 } on && !/^\|/ { exit } on { print }' docs/operations.md | \
		diff -u - $(BUILD)/config-docs.md && echo "docs/operations.md's settings table matches the code"

fuzz:
	@sh scripts/fuzz.sh

bench: deps all
	@sh bench/run.sh $(BUILD)

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --std=c11 --inline-suppr -Isrc -Iinclude src/

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# Refreshes docs/screenshots/*.png (the web app at desktop and phone size)
# with the browser-test harness: tests/web/run.sh starts a fresh parleyd.
.PHONY: screenshots
screenshots: deps $(PARLEYD)
	@sh tests/web/run.sh $(BUILD) screenshots
