// Module entry point: what PostgreSQL calls when it loads pg_witness.so.
#include "pg/pg_includes.hpp"

#include "pg/cpp_guard.hpp"
#include "pg/entry_store.hpp"
#include "pg/settings.hpp"
#include "pg/table_config.hpp"
#include "pg/trail_catalog.hpp"
#include "pg/worker.hpp"

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
