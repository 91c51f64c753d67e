// Module entry point: what PostgreSQL calls when it loads pg_witness.so.
#include "pg/common/pg_includes.hpp"

#include "pg/common/cpp_guard.hpp"
#include "pg/common/access_check.hpp"
#include "pg/capture/entry_ids.hpp"
#include "pg/capture/entry_store.hpp"
#include "pg/common/settings.hpp"
#include "pg/capture/capture_plan.hpp"
#include "pg/common/trail_catalog.hpp"
#include "pg/seal/sealer_worker.hpp"
#include "pg/seal/sealer_registry.hpp"
#include "pg/activity/activity_hooks.hpp"
#include "pg/activity/activity_queue.hpp"
#include "pg/activity/capture_control.hpp"

extern "C" {
#include "storage/ipc.h"
#include "utils/queryjumble.h"
}

extern "C" {
PG_MODULE_MAGIC;

void _PG_init(void);

static shmem_request_hook_type previous_shmem_request = nullptr;
static shmem_startup_hook_type previous_shmem_startup = nullptr;

static void witness_shmem_request(void)
{
	if (previous_shmem_request != nullptr)
		previous_shmem_request();
	witness::pg::sealer_registry_request();
	witness::pg::activity_queue_request();
	witness::pg::entry_ids_request();
}

static void witness_shmem_startup(void)
{
	if (previous_shmem_startup != nullptr)
		previous_shmem_startup();
	witness::pg::sealer_registry_startup();
	witness::pg::activity_queue_startup();
	witness::pg::entry_ids_startup();
}

void _PG_init(void)
{
	witness::set_interrupt_check(witness::pg::interrupt_would_raise);
	witness::pg::define_settings();
	witness::pg::register_catalog_invalidation();
	witness::pg::register_config_invalidation();
	witness::pg::register_entry_store();
	witness::pg::register_activity_hooks(process_shared_preload_libraries_in_progress);
	witness::pg::register_auditor_labels();
	if (process_shared_preload_libraries_in_progress) {
		previous_shmem_request = shmem_request_hook;
		shmem_request_hook = witness_shmem_request;
		previous_shmem_startup = shmem_startup_hook;
		shmem_startup_hook = witness_shmem_startup;
		witness::pg::register_launcher();
		witness::pg::register_capture_control();
		// Reads are recorded by query id (compute_query_id = auto computes them from now on).
		EnableQueryId();
	}
}
}
