// The names in witness.archive_directory that start with a prefix: witness._orphan_archive_files()
// picks out this database's archive files that no committed retention run names, those a server
// crash left behind (docs/retention.md, "A run that does not commit").
#include "pg/common/pg_includes.hpp"

#include "pg/common/arguments.hpp"
#include "pg/common/settings.hpp"

extern "C" {
#include "storage/fd.h"
#include "utils/array.h"
}

using namespace witness::pg;

extern "C" {
PG_FUNCTION_INFO_V1(witness_archive_directory_files);
Datum witness_archive_directory_files(PG_FUNCTION_ARGS);

// witness._archive_directory_files(prefix): text[] of the matching names, NULL when the directory is
// not set or has none. A directory that cannot be read is a WARNING, not an error: the caller, an
// erasure, goes on.
Datum witness_archive_directory_files(PG_FUNCTION_ARGS)
{
	require_nargs(fcinfo, 1);
	require_not_null(fcinfo, 0, "prefix");
	const char *dir = setting_archive_directory;
	if (dir == nullptr || dir[0] == '\0')
		PG_RETURN_NULL();
	char *prefix = text_to_cstring(PG_GETARG_TEXT_PP(0));
	const size_t prefix_len = strlen(prefix);
	ArrayBuildState *names = nullptr;
	DIR *d = AllocateDir(dir);
	struct dirent *de;
	while ((de = ReadDirExtended(d, dir, WARNING)) != nullptr) {
		CHECK_FOR_INTERRUPTS();
		if (strncmp(de->d_name, prefix, prefix_len) == 0)
			names = accumArrayResult(names, CStringGetTextDatum(de->d_name), false, TEXTOID, CurrentMemoryContext);
	}
	if (d != nullptr)
		FreeDir(d);
	if (names == nullptr)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(makeArrayResult(names, CurrentMemoryContext));
}
}
