// The lookup key of a subject in clear. Expected values computed independently with Python's hashlib:
//
//   import hashlib
//   for s in [b"victim@example.com", b"atk:tdwinfpnRL:;/M3d<O6:", b""]:
//       h = hashlib.sha256(b"pg_witness subject lookup key v1\x00" + s).digest()
//       print(int.from_bytes(h[:8], "big") >> 1)
#include "subject_lookup_key.hpp"

#include <gtest/gtest.h>

using witness::clear_subject_key;

TEST(SubjectLookupKey, IndependentVectors)
{
	EXPECT_EQ(clear_subject_key("victim@example.com"), INT64_C(908992077752652643));
	EXPECT_EQ(clear_subject_key("atk:tdwinfpnRL:;/M3d<O6:"), INT64_C(8590954026830233028));
	EXPECT_EQ(clear_subject_key(""), INT64_C(4928021486277601579));
}

// The pair that collided under hashtextextended() (test/sql/subject_moves.sql) no longer does, and
// keys are never negative (negative keys are pseudonyms').
TEST(SubjectLookupKey, OldCollisionGoneAndNonNegative)
{
	EXPECT_NE(clear_subject_key("victim@example.com"), clear_subject_key("atk:tdwinfpnRL:;/M3d<O6:"));
	for (int i = 0; i < 1000; i++)
		EXPECT_GE(clear_subject_key("subject " + std::to_string(i)), 0);
}
