// ISO 8601 UTC timestamps with microseconds.
#include "utc_time.hpp"

#include <stdexcept>

#include <gtest/gtest.h>

using namespace witness;

TEST(UtcTime, FormatsKnownInstants)
{
	EXPECT_EQ(format_utc_us(0), "1970-01-01T00:00:00.000000Z");
	EXPECT_EQ(format_utc_us(1700000000123456), "2023-11-14T22:13:20.123456Z");
	EXPECT_EQ(format_utc_us(-1), "1969-12-31T23:59:59.999999Z");
	EXPECT_EQ(format_utc_us(951782400000000), "2000-02-29T00:00:00.000000Z");
	EXPECT_EQ(format_utc_us(-62135596800000000), "0001-01-01T00:00:00.000000Z");
	EXPECT_EQ(format_utc_us(253402300799999999), "9999-12-31T23:59:59.999999Z");
	EXPECT_THROW(format_utc_us(253402300800000000), std::invalid_argument);
	EXPECT_THROW(format_utc_us(-62135596800000001), std::invalid_argument);
}

TEST(UtcTime, RoundTrips)
{
	for (int64_t us : {int64_t(0), int64_t(-1), int64_t(1700000000123456), int64_t(4102444800000000),
	                   int64_t(-86400000000), int64_t(951868799999999), int64_t(-62135596800000000)})
		EXPECT_EQ(parse_utc_us(format_utc_us(us)), us) << us;
	for (int64_t us = -400LL * 366 * 86400000000; us < 400LL * 366 * 86400000000; us += 86400000000LL * 7 + 1234567)
		ASSERT_EQ(parse_utc_us(format_utc_us(us)), us) << us;
}

TEST(UtcTime, ParseIsStrict)
{
	for (const char *bad : {"2023-11-14T22:13:20Z", "2023-11-14 22:13:20.000000Z", "2023-11-14T22:13:20.000000+00",
	                        "2023-02-29T00:00:00.000000Z", "2023-13-01T00:00:00.000000Z", "2023-00-01T00:00:00.000000Z",
	                        "2023-01-01T24:00:00.000000Z", "2023-01-01T00:60:00.000000Z", "2023-01-01T00:00:60.000000Z",
	                        "0000-01-01T00:00:00.000000Z", "2023-01-0aT00:00:00.000000Z", ""})
		EXPECT_THROW(parse_utc_us(bad), std::invalid_argument) << bad;
	EXPECT_EQ(parse_utc_us("2024-02-29T12:00:00.500000Z"), 1709208000500000);
}

// The text of a timestamptz in an entry's values (docs/capture.md: ISO, UTC, fraction trimmed).
TEST(UtcTime, ParsesCapturedText)
{
	EXPECT_EQ(parse_captured_utc_us("2024-02-29 12:00:00+00"), 1709208000000000);
	EXPECT_EQ(parse_captured_utc_us("2024-02-29 12:00:00.5+00"), 1709208000500000);
	EXPECT_EQ(parse_captured_utc_us("2024-02-29 12:00:00.000001+00"), 1709208000000001);
	EXPECT_EQ(parse_captured_utc_us("2023-11-14 22:13:20.123456+00"), 1700000000123456);
	for (const char *bad : {"2024-02-29T12:00:00+00", "2024-02-29 12:00:00", "2024-02-29 12:00:00+01",
	                        "2024-02-29 12:00:00.+00", "2024-02-29 12:00:00.1234567+00", "2024-02-29 12:00:00,5+00",
	                        "2024-02-29 12:00:00.5x+00", "2023-02-29 12:00:00+00", "infinity", ""})
		EXPECT_THROW(parse_captured_utc_us(bad), std::invalid_argument) << bad;
}
