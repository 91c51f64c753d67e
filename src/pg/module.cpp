// Module entry point: what PostgreSQL calls when it loads pg_witness.so.
#include "pg/common/pg_includes.hpp"

#include "pg/common/cpp_guard.hpp"
#include "pg/capture/entry_store.hpp"
#include "pg/common/settings.hpp"
#include "pg/capture/capture_plan.hpp"
#include "pg/common/trail_catalog.hpp"
#include "pg/seal/sealer_worker.hpp"

extern "C" {
PG_MODULE_MAGIC;

void _PG_init(void);

void _PG_init(void)
{
	witness::set_interrupt_check(witness::pg::interrupt_would_raise);
	witness::pg::define_settings();
	witness::pg::register_catalog_invalidation();
	witness::pg::register_config_invalidation();
	witness::pg::register_entry_store();
	if (process_shared_preload_libraries_in_progress)
		witness::pg::register_launcher();
}
}
