#include "seal_schedule.hpp"

#include <algorithm>

namespace witness
{

SealPick pick_due(const SealSchedule *records, size_t n, int64_t now, int64_t interval_us, int64_t reprobe_us,
                  int64_t cap_us) noexcept
{
	long best = -1;
	int64_t best_key = 0;
	int64_t next_due = now + cap_us;
	for (size_t i = 0; i < n; i++) {
		const SealSchedule &r = records[i];
		if (!r.in_use || r.running)
			continue;
		int64_t due, key;
		if (r.wake || r.last_start == 0) {
			due = 0;
			key = 0;
		} else if (r.absent) {
			due = r.last_start + reprobe_us;
			key = r.last_start;
		} else {
			due = r.last_start + interval_us;
			key = r.unsealed_since;
		}
		if (due > now) {
			next_due = std::min(next_due, due);
			continue;
		}
		if (best < 0 || key < best_key) {
			best = (long)i;
			best_key = key;
		}
	}
	if (best >= 0)
		return {best, 0};
	return {-1, std::max<int64_t>(next_due - now, 1)};
}

} // namespace witness
