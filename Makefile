# rfm: PGXS build.  `make && make install`, then `make installcheck` against a
# running server (tools/test.sh runs the full suite on a throwaway cluster;
# tools/sandbox.sh does the same against a private copy of PostgreSQL).

EXTENSION = rfm
MODULE_big = rfm
OBJS = $(patsubst %.c,%.o,$(wildcard src/*.c))
# Released scripts are kept as they are; each newer upgrade script is joined
# from the per-area files of its folder in ext/ (see ext/README.md).
DATA = rfm--1.0.sql rfm--1.0--1.1.sql
DATA_built = rfm--1.1--1.2.sql
EXTRA_CLEAN = rfm--1.1--1.2.sql


# setup installs the extension and loads the shared data sets: it runs first.
REGRESS = setup rules groups summary summary_state summary_tz summary_repeat summarize score segment lifecycle action btyd btyd_recovery btyd_limits btyd_uncertainty btyd_scoring pnbd bgbb holdout model model_v12 model_customers model_incremental report
REGRESS_OPTS = --inputdir=.

# Concurrency of model refreshes (isolationtester): specs in
# test/isolation/specs, expected output in test/isolation/expected, results in
# output_iso/.  installcheck runs them after the pg_regress suite (and only if
# it passed), before the TAP tests, in a fresh database (isolation_regression).
ISOLATION = refresh_reads refresh_twice refresh_writes refresh_incremental
ISOLATION_OPTS = --inputdir=test/isolation

TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
# A function or macro used without its declaration links into a library the
# server then refuses to load (undefined symbol): always an error.
PG_CFLAGS += -Werror=implicit-function-declaration
ifdef RFM_WERROR
PG_CFLAGS += -Werror
endif

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS does not track headers: rebuild every object when one changes
$(OBJS): $(wildcard src/*.h)

rfm--1.1--1.2.sql: $(sort $(wildcard ext/rfm--1.1--1.2/*.sql))
	cat $^ > $@
