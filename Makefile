# PGXS build of the pg_witness extension: the pure C++ core (src/core) plus the PostgreSQL glue (src/pg).
# `make`, `make install`, `make installcheck` (pg_regress, test/sql against test/expected, on the server named by PGHOST/PGPORT).

EXTENSION = pg_witness
MODULE_big = pg_witness
DATA = pg_witness--0.1.sql pg_witness--0.1--0.2.sql

CORE_SRCS = $(sort $(wildcard src/core/*.cpp))
PG_SRCS = $(sort $(wildcard src/pg/*.cpp src/pg/*/*.cpp))
OBJS = $(CORE_SRCS:.cpp=.o) $(PG_SRCS:.cpp=.o)

# pg_regress files: test/sql/NAME.sql against test/expected/NAME.out; results land in ./results.
REGRESS_OPTS = --inputdir=test
REGRESS = install track capture types guards ddl seal digest batch trail_brin bypass bypass_ddl bad_input attribution seal_concurrent export seal_status erasure subject_export encryption rotation roles permission_events activity holds subject_access_roles verification_status checkpoint collector retention eras partitions retention_partitions audit_report retention_archive summary exports alerts views prove_chunks stored_leaf subject_buckets subject_moves entry_ids lookup_unlogged capture_nested verify_ranges seal_cancel

PG_CONFIG ?= pg_config
PG_CXXFLAGS = -std=c++17 -Wno-register -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -fno-omit-frame-pointer
PG_CPPFLAGS = -Isrc
SHLIB_LINK = -lstdc++ -lcrypto -lz

# Recompile when a header changes: a stale object built against an older class layout corrupts memory.
override autodepend = yes

# No LLVM bitcode for JIT inlining: it needs clang, and trigger code gains nothing from it.
override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Server headers are not our code: include them as system headers so -Werror applies to ours only.
override CPPFLAGS := $(patsubst -I%,-isystem %,$(filter -I$(includedir_server)%,$(CPPFLAGS))) $(filter-out -I$(includedir_server)%,$(CPPFLAGS))

