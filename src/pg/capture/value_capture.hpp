// Turns column values into JSON values whose text does not depend on session settings.
#pragma once

#include "pg/capture/capture_plan.hpp"

namespace witness::pg
{

// One captured value: its canonical JSON kind and text.
struct CapturedValue {
	JsonKind kind;
	const char *text;
	size_t len;
};

// Session settings that change how values print, pinned to fixed values while capturing.
struct OutputSettings {
	int date_style;
	int date_order;
	int interval_style;
	int float_digits;
	int bytea;
	pg_tz *timezone;
	bool quote_all;   // quote_all_identifiers
	bool path_pushed; // an override search path was pushed
};

// fixed_search_path: also sets the search path to pg_catalog alone (CapturePlan::fixed_search_path).
void pin_output_settings(OutputSettings *saved, bool fixed_search_path);
void restore_output_settings(const OutputSettings *saved);

// Converts one column value (settings must be pinned).
void capture_value(const ColumnPlan &col, Datum value, bool isnull, CapturedValue *out);

} // namespace witness::pg
