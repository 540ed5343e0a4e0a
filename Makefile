# Cordon top-level build.  `make` builds build/cordon-dp; `make test`,
# `make demo` and `make bench` install their own dependencies first.

BUILD	?= build
SAN	?= 0
CC	?= gcc

DPDK_CFLAGS := $(shell pkg-config --cflags libdpdk 2>/dev/null)
DPDK_LIBS   := $(shell pkg-config --libs libdpdk 2>/dev/null) -lrte_net_ring

OPT	?= -O2 -g
CFLAGS	:= $(OPT) $(EXTRA_CFLAGS)
CFLAGS	+= -std=gnu11 -Wall -Wextra -Werror -I. $(DPDK_CFLAGS) -MMD -MP \
	   -fno-strict-aliasing
LDLIBS	:= $(DPDK_LIBS) -lmaxminddb -lconfig -lpcap -ljansson -lssl -lcrypto -lsystemd \
	   -lnetsnmpagent -lnetsnmp -lcurl -lnftnl -lmnl \
	   -lm -lpthread

ifeq ($(SAN),1)
CFLAGS	+= -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined
LDFLAGS	+= -fsanitize=address,undefined
endif

# Everything but the programs' main files goes into one archive that the
# binaries and the unit tests link: tests run the real code.
MAINS	 := dataplane/main.c control/cli/cordonctl.c control/daemon/cordond.c \
	    control/cli/cordon-knock.c
LIB_SRCS := $(filter-out $(MAINS),$(wildcard core/*/*.c wire/*.c \
	    config/*/*.c dataplane/*/*.c control/*/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
LIB	 := $(BUILD)/libcordon.a

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tools/%)

PROGS	:= $(BUILD)/cordon-dp $(BUILD)/cordonctl $(BUILD)/cordond \
	   $(BUILD)/cordon-knock

.PHONY: all deps test demo bench fuzz lint clean unit asan check-config

all: $(PROGS) $(UNIT_BINS) $(TOOL_BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/cordon-dp: $(BUILD)/obj/dataplane/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/cordond: $(BUILD)/obj/control/daemon/cordond.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The CLI is a thin client: jansson and its own files, nothing else.
$(BUILD)/cordonctl: $(BUILD)/obj/control/cli/cordonctl.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ -ljansson

# The knock client: builds, signs and sends one datagram (docs/knock.md).
$(BUILD)/cordon-knock: $(BUILD)/obj/control/cli/cordon-knock.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ -lssl -lcrypto -ljansson

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) -lcmocka $(LDLIBS)

$(BUILD)/tools/%: tests/tools/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

deps:
	@appliance/deps.sh

# The sanitizer build lives in its own tree.
asan:
	$(MAKE) BUILD=build-asan SAN=1 OPT="-O1 -g" all

test: deps
	$(MAKE) all
	$(MAKE) asan
	$(MAKE) fuzz-build
	tests/run.sh

unit: all
	tests/run.sh unit

demo: deps
	$(MAKE) all
	appliance/demo/demo.sh

bench: deps
	$(MAKE) all
	bench/run.sh

FUZZ_SECONDS ?= 300
FUZZ_CC	 := clang
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -I. \
	      $(DPDK_CFLAGS) -Wall -Wextra -Werror
FUZZ_CONF_SRCS := tests/fuzz/fuzz_conf.c $(wildcard config/load/*.c) \
		  config/policy/pol_compile.c core/stats/reasons.c \
		  $(wildcard core/geo/*.c)

fuzz-build: $(BUILD)/fuzz/fuzz_pkt $(BUILD)/fuzz/fuzz_conf \
	    $(BUILD)/fuzz/fuzz_syslog $(BUILD)/fuzz/fuzz_knock \
	    $(BUILD)/fuzz/fuzz_jwt $(BUILD)/fuzz/fuzz_claims

# The JWT verifier with a fixed key set (control/ident/jose_*.c).
# The JWKS cache is written with the state folder's one file writer.
$(BUILD)/fuzz/fuzz_jwt: tests/fuzz/fuzz_jwt.c $(wildcard control/ident/jose_*.c) \
		control/store/store_io.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ -ljansson -lssl -lcrypto -lcurl \
	    -lconfig

# Claims of a verified token against identity rules (control/ident/idm*).
$(BUILD)/fuzz/fuzz_claims: tests/fuzz/fuzz_claims.c $(wildcard config/load/*.c) \
		control/ident/idm.c control/ident/idm_match.c \
		core/stats/reasons.c $(wildcard core/geo/*.c)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ -lconfig -ljansson -ldl

$(BUILD)/fuzz/fuzz_knock: tests/fuzz/fuzz_knock.c control/ident/knock_wire.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^

$(BUILD)/fuzz/fuzz_syslog: tests/fuzz/fuzz_syslog.c \
		control/daemon/cd_syslog_fmt.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^

$(BUILD)/fuzz/fuzz_conf: $(FUZZ_CONF_SRCS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ -lconfig -ldl

$(BUILD)/fuzz/fuzz_pkt: tests/fuzz/fuzz_pkt.c core/pkt/pkt_parse.c \
		core/pkt/pkt_reject.c core/stats/reasons.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^

fuzz: deps fuzz-build
	tests/fuzz/run.sh $(FUZZ_SECONDS) pkt
	tests/fuzz/run.sh $(FUZZ_SECONDS) conf
	tests/fuzz/run.sh $(FUZZ_SECONDS) syslog
	tests/fuzz/run.sh $(FUZZ_SECONDS) knock
	tests/fuzz/run.sh $(FUZZ_SECONDS) claims
	tests/fuzz/run.sh $(FUZZ_SECONDS) jwt

lint:
	@tools/lint.sh

clean:
	rm -rf build build-asan

-include $(LIB_OBJS:.o=.d) $(BUILD)/obj/dataplane/main.d \
	 $(BUILD)/obj/control/cli/cordonctl.d \
	 $(BUILD)/obj/control/cli/cordon-knock.d \
	 $(BUILD)/obj/control/daemon/cordond.d

# make format rewrites the C files as .clang-format writes them (make lint
# checks that); make bench-compare BASE=<git ref> runs the fast-path
# benchmark of BASE and of this tree side by side (docs/benchmarks.md).
.PHONY: format bench-compare
format:
	@tools/lint.sh --apply

bench-compare: all
	BUILD=$(BUILD) bench/compare.sh $(BASE)
