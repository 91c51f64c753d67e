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
};

void pin_output_settings(OutputSettings *saved);
void restore_output_settings(const OutputSettings *saved);

// Converts one column value (settings must be pinned).
void capture_value(const ColumnPlan &col, Datum value, bool isnull, CapturedValue *out);

} // namespace witness::pg
