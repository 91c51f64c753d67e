// Which database the background sealer serves next: due ones only, oldest unsealed first.
#include "seal_schedule.hpp"

#include <vector>

#include <gtest/gtest.h>

using namespace witness;

namespace
{

constexpr int64_t kSecond = 1000000;
constexpr int64_t kInterval = kSecond;
constexpr int64_t kReprobe = 300 * kSecond;
constexpr int64_t kCap = kSecond;
constexpr int64_t kNow = 1000 * kSecond;

// A database with pg_witness whose last pass started at last_start, and whose last complete pass
// started at unsealed_since.
SealSchedule installed(int64_t last_start, int64_t unsealed_since)
{
	SealSchedule s{};
	s.in_use = true;
	s.last_start = last_start;
	s.unsealed_since = unsealed_since;
	return s;
}

SealPick pick(const std::vector<SealSchedule> &r, int64_t now = kNow)
{
	return pick_due(r.data(), r.size(), now, kInterval, kReprobe, kCap);
}

} // namespace

TEST(SealSchedule, NothingRecordedWaitsTheCap)
{
	std::vector<SealSchedule> none;
	EXPECT_EQ(pick(none).index, -1);
	EXPECT_EQ(pick(none).wait_us, kCap);
	std::vector<SealSchedule> unused(3);
	EXPECT_EQ(pick(unused).index, -1);
}

TEST(SealSchedule, DueOnceAnIntervalHasPassedSinceTheLastStart)
{
	std::vector<SealSchedule> r = {installed(kNow - kInterval / 4, kNow - kInterval / 4)};
	SealPick p = pick(r);
	EXPECT_EQ(p.index, -1);
	EXPECT_EQ(p.wait_us, kInterval * 3 / 4);
	EXPECT_EQ(pick(r, kNow + kInterval * 3 / 4).index, 0);
}

TEST(SealSchedule, OldestUnsealedFirst)
{
	// All three are due; the second's last complete pass is the oldest (its last pass was busy or
	// failed), then the third's.
	std::vector<SealSchedule> r = {installed(kNow - 2 * kSecond, kNow - 2 * kSecond),
	                               installed(kNow - 2 * kSecond, kNow - 9 * kSecond),
	                               installed(kNow - 3 * kSecond, kNow - 5 * kSecond)};
	EXPECT_EQ(pick(r).index, 1);
	r[1].running = true;
	EXPECT_EQ(pick(r).index, 2);
	r[2].running = true;
	EXPECT_EQ(pick(r).index, 0);
	r[0].running = true;
	EXPECT_EQ(pick(r).index, -1);
	EXPECT_EQ(pick(r).wait_us, kCap); // nothing left to wait for but the running ones
}

TEST(SealSchedule, TiesGoToTheLowerIndex)
{
	std::vector<SealSchedule> r = {installed(kNow - 2 * kSecond, kNow - 4 * kSecond),
	                               installed(kNow - 2 * kSecond, kNow - 4 * kSecond)};
	EXPECT_EQ(pick(r).index, 0);
}

TEST(SealSchedule, WokenAndNewDatabasesGoFirst)
{
	std::vector<SealSchedule> r = {installed(kNow - 5 * kSecond, kNow - 60 * kSecond),
	                               installed(kNow - kInterval / 10, kNow - kInterval / 10)};
	EXPECT_EQ(pick(r).index, 0);
	// CREATE EXTENSION committed in the second: due at once, although its last pass was just now.
	r[1].wake = true;
	EXPECT_EQ(pick(r).index, 1);
	r[1].wake = false;
	// A database never looked at.
	SealSchedule fresh{};
	fresh.in_use = true;
	r.push_back(fresh);
	EXPECT_EQ(pick(r).index, 2);
}

TEST(SealSchedule, DatabasesWithoutTheExtensionAreLookedAtRarely)
{
	SealSchedule absent = installed(kNow - 10 * kSecond, kNow - 10 * kSecond);
	absent.absent = true;
	std::vector<SealSchedule> r = {absent};
	SealPick p = pick(r);
	EXPECT_EQ(p.index, -1);
	EXPECT_EQ(p.wait_us, kCap);
	EXPECT_EQ(pick(r, kNow - 10 * kSecond + kReprobe).index, 0);
	// A wake (CREATE EXTENSION) makes it due at once.
	r[0].wake = true;
	EXPECT_EQ(pick(r).index, 0);
}

TEST(SealSchedule, WaitIsTheTimeToTheFirstDueAndAtLeastOne)
{
	std::vector<SealSchedule> r = {installed(kNow - kInterval + 300, 0), installed(kNow - kInterval + 100, 0)};
	EXPECT_EQ(pick(r).wait_us, 100);
	r = {installed(kNow - kInterval + 1, 0)};
	EXPECT_EQ(pick(r).wait_us, 1);
}
