// ISO 8601 UTC timestamps with microseconds, from the proleptic Gregorian calendar arithmetic of
// Howard Hinnant's days_from_civil / civil_from_days.
#include "utc_time.hpp"

#include <cstdio>
#include <stdexcept>

namespace witness
{

namespace
{

constexpr int64_t kUsPerDay = 86400000000;
// 0001-01-01T00:00:00Z and 10000-01-01T00:00:00Z in microseconds since the epoch.
constexpr int64_t kMinUs = -62135596800000000;
constexpr int64_t kEndUs = 253402300800000000;

int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = static_cast<unsigned>(y - era * 400);
	const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t &y, unsigned &m, unsigned &d)
{
	z += 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = static_cast<unsigned>(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
}

bool leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned days_in_month(int64_t y, unsigned m)
{
	static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && leap(y) ? 29 : days[m - 1];
}

[[noreturn]] void bad_time(std::string_view text)
{
	throw std::invalid_argument("invalid timestamp \"" + std::string(text.substr(0, 64)) +
	                            "\": expected YYYY-MM-DDTHH:MM:SS.ffffffZ in UTC");
}

// The fixed-width decimal number at text[pos..pos+width).
int64_t digits(std::string_view text, size_t pos, size_t width)
{
	int64_t v = 0;
	for (size_t i = pos; i < pos + width; i++) {
		if (text[i] < '0' || text[i] > '9')
			bad_time(text);
		v = v * 10 + (text[i] - '0');
	}
	return v;
}

} // namespace

std::string format_utc_us(int64_t us)
{
	if (us < kMinUs || us >= kEndUs)
		throw std::invalid_argument("timestamp out of range for ISO 8601 text: " + std::to_string(us) + " us");
	int64_t day = us / kUsPerDay, rem = us % kUsPerDay;
	if (rem < 0) {
		rem += kUsPerDay;
		day--;
	}
	int64_t y;
	unsigned m, d;
	civil_from_days(day, y, m, d);
	const int64_t sec = rem / 1000000;
	char buf[40];
	std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%06lldZ", static_cast<long long>(y), m, d,
	              static_cast<long long>(sec / 3600), static_cast<long long>(sec / 60 % 60),
	              static_cast<long long>(sec % 60), static_cast<long long>(rem % 1000000));
	return buf;
}

int64_t parse_utc_us(std::string_view text)
{
	// 0123456789012345678901234567
	// YYYY-MM-DDTHH:MM:SS.ffffffZ
	if (text.size() != 27 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
	    text[16] != ':' || text[19] != '.' || text[26] != 'Z')
		bad_time(text);
	const int64_t y = digits(text, 0, 4), mo = digits(text, 5, 2), d = digits(text, 8, 2);
	const int64_t h = digits(text, 11, 2), mi = digits(text, 14, 2), s = digits(text, 17, 2);
	const int64_t frac = digits(text, 20, 6);
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, static_cast<unsigned>(mo)) || h > 23 || mi > 59 ||
	    s > 59)
		bad_time(text);
	const int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
	return days * kUsPerDay + ((h * 60 + mi) * 60 + s) * 1000000 + frac;
}

int64_t parse_captured_utc_us(std::string_view text)
{
	// 0123456789012345678
	// YYYY-MM-DD HH:MM:SS[.f{1,6}]+00, rewritten into parse_utc_us's format.
	if (text.size() < 22 || text.size() > 29 || text[10] != ' ' || text.substr(text.size() - 3) != "+00")
		bad_time(text);
	std::string_view fraction = text.substr(19, text.size() - 22);
	if (!fraction.empty() && (fraction.size() < 2 || fraction[0] != '.'))
		bad_time(text);
	std::string iso(text.substr(0, 19));
	iso[10] = 'T';
	iso += '.';
	iso += fraction.empty() ? std::string_view() : fraction.substr(1);
	iso.append(27 - 1 - iso.size(), '0');
	iso += 'Z';
	return parse_utc_us(iso);
}

} // namespace witness
