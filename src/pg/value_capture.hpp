// Turns column values into JSON values whose text does not depend on session settings.
#pragma once

#include "pg/table_config.hpp"

namespace witness::pg {

// One captured value: its canonical JSON kind and text, and the jsonb value stored in the trail.
struct CapturedValue {
	JsonKind kind;
	const char *text;
	size_t len;
	Datum numeric; // Number: the Numeric stored in jsonb
	Jsonb *nested; // Raw: the jsonb column value
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

// Adds `"name": value` to a jsonb object under construction.
void push_jsonb_field(JsonbParseState **state, const char *name, size_t name_len, const CapturedValue &v);

} // namespace witness::pg
