// The UTC days whose entries the calling role may all see: what witness.daily_summary and
// witness.actor_activity show of their per-day counts (docs/monitoring.md). Pure glue: no core code, no
// C++ object with a destructor in a frame an error can leave.
#include "pg/common/access_check.hpp"

extern "C" {
#include "funcapi.h"
#include "utils/date.h"
#include "utils/datetime.h"
}

extern "C" {
PG_FUNCTION_INFO_V1(witness_visible_days);
Datum witness_visible_days(PG_FUNCTION_ARGS);

// witness._visible_days(): [first_day, end_day) as dates, infinite unless the role is a time-limited
// auditor; then the days wholly inside its period [since, till), so that a count never includes an
// entry it may not see. Raises 42501 for an expired auditor, like witness.access_check().
Datum witness_visible_days(PG_FUNCTION_ARGS)
{
	TupleDesc desc;
	if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "pg_witness: witness._visible_days() must return a record");
	desc = BlessTupleDesc(desc);
	TimestampTz since = DT_NOBEGIN, till = DT_NOEND;
	DateADT first = DATEVAL_NOBEGIN, end = DATEVAL_NOEND;
	if (witness::pg::access_period(&since, &till)) {
		// TimestampTz and DateADT both count from 2000-01-01 (UTC): a day d covers
		// [d * USECS_PER_DAY, (d + 1) * USECS_PER_DAY).
		if (!TIMESTAMP_NOT_FINITE(since)) {
			int64 d = since / USECS_PER_DAY;
			if (d * USECS_PER_DAY < since) // round up to the first whole day (toward +inf)
				d++;
			first = (DateADT)d;
		}
		if (!TIMESTAMP_NOT_FINITE(till)) {
			int64 d = till / USECS_PER_DAY;
			if (d * USECS_PER_DAY > till) // round down (toward -inf): the day till falls in is not whole
				d--;
			end = (DateADT)d;
		}
		if (first > end)
			first = end;
	}
	Datum values[2] = {DateADTGetDatum(first), DateADTGetDatum(end)};
	bool nulls[2] = {false, false};
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
}
