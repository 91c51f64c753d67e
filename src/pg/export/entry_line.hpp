// One entry as an export line (docs/verification.md, "Export format"): shared by witness.export_trail()
// and the archive files of retention (src/pg/retention/write_archive.cpp).
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// Appends the line of the entry whose columns (witness.entry's attribute order) are values/nulls.
void append_entry_line(StringInfo out, const Datum *values, const bool *nulls);

} // namespace witness::pg
