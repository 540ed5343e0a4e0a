# Cordon top-level build.  `make` builds build/cordon-dp; `make test`,
# `make demo` and `make bench` install their own dependencies first.

BUILD	?= build
SAN	?= 0
CC	?= gcc

DPDK_CFLAGS := $(shell pkg-config --cflags libdpdk 2>/dev/null)
DPDK_LIBS   := $(shell pkg-config --libs libdpdk 2>/dev/null) -lrte_net_ring

OPT	?= -O2 -g
CFLAGS	:= $(OPT) $(EXTRA_CFLAGS)
CFLAGS	+= -std=gnu11 -Wall -Wextra -Werror -MMD -MP -fno-strict-aliasing
LDLIBS	:= $(DPDK_LIBS) -lmaxminddb -lconfig -lpcap -ljansson -lssl -lcrypto -lsystemd \
	   -lnetsnmpagent -lnetsnmp -lcurl -lnftnl -lmnl -lseccomp \
	   -lm -lpthread
LDLIBS	+= -lseccomp

ifeq ($(SAN),1)
CFLAGS	+= -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined
LDFLAGS	+= -fsanitize=address,undefined
endif

# The layers, lowest first (docs/architecture.md).  Each is one archive,
# and a layer's files are compiled seeing only the folders it may include:
# build/inc/LAYER holds a link to each of them and replaces -I., so an
# include against the grain is "file not found".  DPDK's headers are for
# the dataplane alone; the other layers get its -march only.
LAYERS	 := core wire config dataplane control
SEES_core	:= core
SEES_wire	:= core wire
SEES_config	:= core wire config
SEES_dataplane	:= core wire config dataplane
SEES_control	:= core wire config control
CFLAGS_dataplane := $(DPDK_CFLAGS)
LAYER_CFLAGS = -iquote $(BUILD)/inc/$(1) \
	$(or $(CFLAGS_$(1)),$(filter -march=% -m%,$(DPDK_CFLAGS)))
# Tests, tools and fuzzers see every layer.
TEST_CFLAGS := -I. $(DPDK_CFLAGS)

# The programs' main files stay out of the archives, which the binaries
# and the unit tests link highest layer first: tests run the real code.
MAINS	 := dataplane/main.c control/cli/cordonctl.c control/daemon/cordond.c \
	    control/cli/cordon-knock.c
SRCS_core	:= $(wildcard core/*/*.c)
SRCS_wire	:= $(wildcard wire/*.c)
SRCS_config	:= $(wildcard config/*/*.c)
SRCS_dataplane	:= $(filter-out $(MAINS),$(wildcard dataplane/*/*.c))
SRCS_control	:= $(filter-out $(MAINS),$(wildcard control/*/*.c))
LIB_SRCS := $(foreach l,$(LAYERS),$(SRCS_$(l)))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
layer_lib = $(BUILD)/lib/libcordon-$(1).a
reverse	 = $(if $(1),$(call reverse,$(wordlist 2,$(words $(1)),$(1))) \
	   $(firstword $(1)))
# A layer's program links its archive, then those below, highest first.
layer_libs = $(foreach l,$(call reverse,$(SEES_$(1))),$(call layer_lib,$(l)))
LIBS_dataplane	:= $(call layer_libs,dataplane)
LIBS_control	:= $(call layer_libs,control)
LIBS_all	:= $(foreach l,control dataplane config wire core,\
		   $(call layer_lib,$(l)))
# Linked whole, on their own: a symbol reference against the grain is an
# undefined symbol there, whatever the programs happen to pull in.
LAYER_OKS := $(LAYERS:%=$(BUILD)/layers/%.ok) $(BUILD)/layers/includes.ok

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tools/%)

PROGS	:= $(BUILD)/cordon-dp $(BUILD)/cordonctl $(BUILD)/cordond \
	   $(BUILD)/cordon-knock
# A test-only cordond whose identity child calls mount(2) on a marker
# token (CORDON_TEST_SYSCALL, tests/ctl/test_ident_proc.py): never
# installed; `make CORDON_TEST_SYSCALL=1` puts the same into every build.
TESTSYS	:= $(BUILD)/tests/cordond-testsys
ifeq ($(CORDON_TEST_SYSCALL),1)
CFLAGS	+= -DCORDON_TEST_SYSCALL
endif

.PHONY: all deps test demo bench fuzz lint clean unit asan check-config \
	layers

all: $(PROGS) $(UNIT_BINS) $(TOOL_BINS) $(LAYER_OKS) $(TESTSYS)

# Only the layer checks (tests/layers/test_layers.sh).
layers: $(LAYER_OKS)

define LAYER_RULES
$(BUILD)/obj/$(1)/%.o: $(1)/%.c | $(BUILD)/inc/$(1)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) $$(call LAYER_CFLAGS,$(1)) -c $$< -o $$@

# Links are added and removed, never remade: a compile may be reading.
$(BUILD)/inc/$(1): Makefile
	@mkdir -p $$@
	@for d in $(SEES_$(1)); do \
	    [ "$$$$(readlink $$@/$$$$d)" = $(CURDIR)/$$$$d ] || \
	    ln -sfn $(CURDIR)/$$$$d $$@/$$$$d; done
	@for l in $$@/*; do case " $(SEES_$(1)) " in *" $$$${l##*/} "*) ;; \
	    *) rm -f $$$$l ;; esac; done
	@touch $$@

$(call layer_lib,$(1)): $(SRCS_$(1):%.c=$(BUILD)/obj/%.o)
	@mkdir -p $$(dir $$@)
	@rm -f $$@
	ar rcs $$@ $$^

$(BUILD)/layers/$(1).ok: $(call layer_libs,$(1)) $(BUILD)/layers/main.o \
		tools/layers_built.sh
	$$(CC) $$(LDFLAGS) -o $(BUILD)/layers/$(1) $(BUILD)/layers/main.o \
	    -Wl,--whole-archive $$< -Wl,--no-whole-archive \
	    $$(filter-out $$<,$$(call layer_libs,$(1))) $$(LDLIBS)
	tools/layers_built.sh $(1) "$(SEES_$(1))" $$< \
	    $(SRCS_$(1):%.c=$(BUILD)/obj/%.d)
	@touch $$@
endef
$(foreach l,$(LAYERS),$(eval $(call LAYER_RULES,$(l))))

$(BUILD)/layers/main.o:
	@mkdir -p $(dir $@)
	echo 'int main(void) { return 0; }' | $(CC) $(CFLAGS) -x c -c - -o $@

# Written by hand, the grain is checked where no compiler looks: headers
# no file of their layer includes, and "../" paths.
$(BUILD)/layers/includes.ok: tools/layers.sh $(LIB_SRCS) $(MAINS) \
		$(wildcard core/*/*.h wire/*.h config/*/*.h dataplane/*/*.h \
		control/*/*.h)
	@mkdir -p $(dir $@)
	tools/layers.sh
	@touch $@

$(BUILD)/cordon-dp: $(BUILD)/obj/dataplane/main.o $(LIBS_dataplane)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# cordon-dp with a test-only trigger (dp_sandbox.c, CDP_TEST_SYSCALL):
# SIGUSR2 attempts an exec, which the seccomp filter must punish.  Never
# installed: tests/dp/test_sandbox.py runs it.
all: $(BUILD)/tests/cordon-dp-sysc
$(BUILD)/tests/cordon-dp-sysc: $(BUILD)/obj/dataplane/main.o \
		dataplane/dp/dp_sandbox.c $(LIBS_dataplane)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call LAYER_CFLAGS,dataplane) -DCDP_TEST_SYSCALL \
	    $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/cordond: $(BUILD)/obj/control/daemon/cordond.o $(LIBS_control)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/testsys/ident_proc.o: control/ident/ident_proc.c \
		| $(BUILD)/inc/control
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call LAYER_CFLAGS,control) -DCORDON_TEST_SYSCALL \
	    -c $< -o $@

# Its own ident_proc.o comes first: the archive's is never pulled in.
$(TESTSYS): $(BUILD)/obj/control/daemon/cordond.o \
		$(BUILD)/obj/testsys/ident_proc.o $(LIBS_control)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The CLI is a thin client: jansson and its own files, and libconfig to
# check and flatten the file of load override|merge (cli_load.c).
$(BUILD)/cordonctl: $(BUILD)/obj/control/cli/cordonctl.o $(LIBS_control)
	$(CC) $(LDFLAGS) -o $@ $^ -ljansson -lconfig

# The knock client: builds, signs and sends one datagram (docs/knock.md).
$(BUILD)/cordon-knock: $(BUILD)/obj/control/cli/cordon-knock.o \
		$(LIBS_control)
	$(CC) $(LDFLAGS) -o $@ $^ -lssl -lcrypto -ljansson

$(BUILD)/tests/%: tests/unit/%.c $(LIBS_all)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TEST_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBS_all) \
	    -lcmocka $(LDLIBS)

$(BUILD)/tools/%: tests/tools/%.c $(LIBS_all)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TEST_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBS_all) \
	    $(LDLIBS)

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
		  config/policy/pol_compile.c config/policy/pol_proxy.c \
		  core/prx/prx_hdr.c core/prx/prx_http.c \
		  core/stats/reasons.c \
		  core/pkt/pkt_parse.c core/pkt/pkt_tun.c \
		  $(wildcard core/geo/*.c) core/util/fail.c

fuzz-build: $(BUILD)/fuzz/fuzz_pkt $(BUILD)/fuzz/fuzz_conf \
	    $(BUILD)/fuzz/fuzz_syslog $(BUILD)/fuzz/fuzz_knock \
	    $(BUILD)/fuzz/fuzz_jwt $(BUILD)/fuzz/fuzz_claims \
	    $(BUILD)/fuzz/fuzz_prx $(BUILD)/fuzz/fuzz_prxflow \
	    $(BUILD)/fuzz/fuzz_proc_hdr \
	    $(BUILD)/fuzz/fuzz_proc_ident $(BUILD)/fuzz/fuzz_ident_child \
	    $(BUILD)/fuzz/fuzz_proc_ctl $(BUILD)/fuzz/fuzz_ctl_child \
	    $(BUILD)/fuzz/fuzz_mon_child $(BUILD)/fuzz/fuzz_proc_mon \
	    $(BUILD)/fuzz/fuzz_mon_snmp

# The JWT verifier with a fixed key set (control/ident/jose_*.c).
# The JWKS cache is written with the state folder's one file writer.
$(BUILD)/fuzz/fuzz_jwt: tests/fuzz/fuzz_jwt.c $(wildcard control/ident/jose_*.c) \
		control/store/store_io.c core/util/ropen.c core/util/sysuser.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ -ljansson -lssl -lcrypto -lcurl \
	    -lconfig

# Claims of a verified token against identity rules (control/ident/idm*).
$(BUILD)/fuzz/fuzz_claims: tests/fuzz/fuzz_claims.c $(wildcard config/load/*.c) \
		control/ident/idm.c control/ident/idm_match.c \
		core/prx/prx_hdr.c core/prx/prx_http.c \
		core/stats/reasons.c $(wildcard core/geo/*.c) core/util/fail.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ -lconfig -ljansson -ldl

# cordond's receiver of the identity child's messages (ident_msg.c) and
# its check of a proposal (cd_proc_ident_chk.c).
$(BUILD)/fuzz/fuzz_proc_ident: tests/fuzz/fuzz_proc_ident.c \
		control/ident/ident_msg.c control/daemon/cd_proc_ident_chk.c \
		control/ident/jose_json.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ -ljansson

# The identity child's receiver (ident_proc.c) with every parser behind
# it: tokens, JWKS documents, knocks, proof of possession.
$(BUILD)/fuzz/fuzz_ident_child: tests/fuzz/fuzz_ident_child.c \
		control/ident/ident_proc.c control/ident/ident_msg.c \
		$(wildcard control/ident/jose_*.c) \
		$(wildcard control/ident/knock_*.c) control/proc/proc_msg.c \
		control/daemon/cd_proc_ident_chk.c control/store/store_io.c \
		core/util/ropen.c core/util/sysuser.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ -ljansson -lssl -lcrypto -lcurl \
	    -lconfig

$(BUILD)/fuzz/fuzz_knock: tests/fuzz/fuzz_knock.c control/ident/knock_wire.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^

$(BUILD)/fuzz/fuzz_syslog: tests/fuzz/fuzz_syslog.c \
		core/slog/sl_fmt.c wire/dpc_record.c wire/dpc_proto.c \
		core/stats/reasons.c $(wildcard core/geo/*.c) core/util/fail.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^

$(BUILD)/fuzz/fuzz_conf: $(FUZZ_CONF_SRCS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ -lconfig -ldl

$(BUILD)/fuzz/fuzz_pkt: tests/fuzz/fuzz_pkt.c core/pkt/pkt_parse.c \
		core/pkt/pkt_reject.c core/pkt/pkt_tun.c core/stats/reasons.c \
		core/frag/frag.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^

# The proxy header parsers (core/prx), on their own.
$(BUILD)/fuzz/fuzz_prx: tests/fuzz/fuzz_prx.c core/prx/prx_hdr.c \
		core/prx/prx_http.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^

# Proxied flows through the table and the real classifier (core only).
$(BUILD)/fuzz/fuzz_prxflow: tests/fuzz/fuzz_prxflow.c \
		$(filter-out core/replay/%,$(wildcard core/*/*.c))
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^

# The channel of cordond's children: header and receive (control/proc).
$(BUILD)/fuzz/fuzz_proc_hdr: tests/fuzz/fuzz_proc_hdr.c \
		control/proc/proc_msg.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^
# The control child's channel: cordond's receiver, and the child's.
$(BUILD)/fuzz/fuzz_proc_ctl: tests/fuzz/fuzz_proc_ctl.c \
		control/daemon/cd_proc_ctl_in.c control/ctl/ctl_msg.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ -ljansson

$(BUILD)/fuzz/fuzz_ctl_child: tests/fuzz/fuzz_ctl_child.c \
		control/ctl/ctl_proc.c control/ctl/ctl_proc_in.c \
		control/ctl/ctl_proc_tick.c control/ctl/ctl_slot.c \
		control/ctl/ctl_msg.c core/util/clock.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ -ljansson
# The monitoring child's receiver (control/mon): HTTP and syslog targets
# come along, since the messages set them up.
$(BUILD)/fuzz/fuzz_mon_child: tests/fuzz/fuzz_mon_child.c \
		control/mon/mon_proc_in.c control/mon/mon_msg.c \
		control/mon/mon_http.c control/mon/mon_sl_net.c \
		control/mon/mon_sl_tls.c control/proc/proc_msg.c \
		control/mon/mon_snmpa.c control/mon/mon_snmpa_fd.c \
		control/mon/mon_snmp_msg.c core/util/clock.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ -lssl -lcrypto -lnetsnmpagent \
	    -lnetsnmp

# The SNMP decoders the monitoring child trusts cordond's values with.
$(BUILD)/fuzz/fuzz_mon_snmp: tests/fuzz/fuzz_mon_snmp.c \
		control/mon/mon_snmp_msg.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^

# cordond's checks of what the monitoring child sends.
$(BUILD)/fuzz/fuzz_proc_mon: tests/fuzz/fuzz_proc_mon.c \
		control/daemon/cd_proc_mon_chk.c control/mon/mon_msg.c \
		control/mon/mon_snmp_msg.c control/proc/proc_msg.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^

fuzz: deps fuzz-build
	tests/fuzz/run.sh $(FUZZ_SECONDS) pkt
	tests/fuzz/run.sh $(FUZZ_SECONDS) conf
	tests/fuzz/run.sh $(FUZZ_SECONDS) syslog
	tests/fuzz/run.sh $(FUZZ_SECONDS) knock
	tests/fuzz/run.sh $(FUZZ_SECONDS) claims
	tests/fuzz/run.sh $(FUZZ_SECONDS) jwt
	tests/fuzz/run.sh $(FUZZ_SECONDS) prx
	tests/fuzz/run.sh $(FUZZ_SECONDS) prxflow
	tests/fuzz/run.sh $(FUZZ_SECONDS) proc_hdr
	tests/fuzz/run.sh $(FUZZ_SECONDS) proc_ident
	tests/fuzz/run.sh $(FUZZ_SECONDS) ident_child
	tests/fuzz/run.sh $(FUZZ_SECONDS) proc_ctl
	tests/fuzz/run.sh $(FUZZ_SECONDS) ctl_child
	tests/fuzz/run.sh $(FUZZ_SECONDS) mon_child
	tests/fuzz/run.sh $(FUZZ_SECONDS) proc_mon
	tests/fuzz/run.sh $(FUZZ_SECONDS) mon_snmp

lint:
	@tools/lint.sh

clean:
	rm -rf build build-asan

-include $(LIB_OBJS:.o=.d) $(BUILD)/obj/dataplane/main.d \
	 $(BUILD)/obj/control/cli/cordonctl.d \
	 $(BUILD)/obj/control/cli/cordon-knock.d \
	 $(BUILD)/obj/control/daemon/cordond.d \
	 $(BUILD)/obj/testsys/ident_proc.d

# make format rewrites the C files as .clang-format writes them (make lint
# checks that); make bench-compare BASE=<git ref> runs the fast-path
# benchmark of BASE and of this tree side by side (docs/benchmarks.md).
.PHONY: format bench-compare
format:
	@tools/lint.sh --apply

bench-compare: all
	BUILD=$(BUILD) bench/compare.sh $(BASE)
