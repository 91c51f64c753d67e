// Long computations of the core stop when the host's interrupt check says so (interrupt.hpp), and
// leave nothing half done behind for the next computation.
#include "interrupt.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "canonical_json.hpp"
#include "json_value.hpp"
#include "merkle.hpp"
#include "openssl_enc.hpp"
#include "sha256.hpp"
#include "trail_verifier.hpp"

using namespace witness;

namespace
{

long checks = 0;     // calls of the check since the test began
long stop_after = 0; // the check says stop from this call on

bool counting_check() noexcept
{
	return ++checks > stop_after;
}

class Interrupt : public ::testing::Test
{
  protected:
	// Installs a check that says stop from its (after + 1)th call on.
	void stop_after_checks(long after)
	{
		checks = 0;
		stop_after = after;
		set_interrupt_check(counting_check);
	}
	void TearDown() override { set_interrupt_check(nullptr); }
};

std::vector<Hash> leaves(size_t n)
{
	std::vector<Hash> out(n);
	for (size_t i = 0; i < n; i++)
		out[i] = merkle_leaf_hash(std::to_string(i));
	return out;
}

std::string big_object(int members)
{
	std::string text = "{";
	for (int i = 0; i < members; i++)
		text += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":[" + std::to_string(i) + "]";
	return text + "}";
}

} // namespace

TEST_F(Interrupt, WithoutCheckNothingStops)
{
	EXPECT_NO_THROW(merkle_root(leaves(1000)));
	EXPECT_NO_THROW(parse_json(big_object(1000)));
}

TEST_F(Interrupt, StopsJsonParsingPartWay)
{
	stop_after_checks(100);
	EXPECT_THROW(parse_json(big_object(10000)), Interrupted);
	EXPECT_EQ(checks, 101);
	stop_after_checks(100);
	std::string out = "kept";
	EXPECT_THROW(canonical_json(big_object(10000), out), Interrupted);
	EXPECT_EQ(out, "kept");
	// Validation alone never stops: json_is_valid cannot throw.
	stop_after_checks(0);
	EXPECT_TRUE(json_is_valid(big_object(100)));
}

TEST_F(Interrupt, StopsMerkleTreesPartWay)
{
	const std::vector<Hash> l = leaves(4096);
	const Hash root = merkle_root(l);
	const std::vector<Hash> path = merkle_inclusion_proof(l, 17);
	stop_after_checks(1000);
	EXPECT_THROW(merkle_root(l), Interrupted);
	EXPECT_EQ(checks, 1001);
	stop_after_checks(10);
	EXPECT_THROW(merkle_inclusion_proof(l, 17), Interrupted);
	// Checking a proof is short and cannot throw: it never stops.
	stop_after_checks(0);
	EXPECT_TRUE(merkle_verify_inclusion(l[17], 17, l.size(), path, root));
	// The shared hasher was left clean.
	set_interrupt_check(nullptr);
	EXPECT_EQ(merkle_root(l), root);
}

TEST_F(Interrupt, StopsHashingOfLargeInputs)
{
	const std::string data(5 << 20, 'x');
	const Hash whole = sha256(data);
	Sha256 h;
	h.update("abc", 3);
	stop_after_checks(2);
	EXPECT_THROW(h.update(data.data(), data.size()), Interrupted);
	EXPECT_EQ(checks, 3);
	// The interrupted context starts afresh, not with "abc" and part of data in it.
	set_interrupt_check(nullptr);
	h.update(data);
	EXPECT_EQ(h.finish(), whole);
}

TEST_F(Interrupt, StopsVerification)
{
	BlockHeader header;
	header.block_no = 1;
	header.snapshot = "100:100:";
	header.entry_count = 0;
	header.merkle_root = merkle_root({});
	header.sealed_at_us = 1700000000000000;
	TrailVerifier v(nullptr, {StoredBlock{header, block_hash(header)}}, true, 0);
	stop_after_checks(0);
	EXPECT_THROW(v.finish(), Interrupted);
}

// The iteration count of an encrypted export is the caller's: a derivation of a billion iterations
// stops at the first check that says so, within a few thousand HMACs.
TEST_F(Interrupt, StopsKeyDerivationOfAnEncryptedExport)
{
	stop_after_checks(2);
	EXPECT_THROW(OpensslEncryptor("passphrase", "8 bytes!", 1000000000), Interrupted);
	EXPECT_EQ(checks, 3);
	set_interrupt_check(nullptr);
	EXPECT_NO_THROW(OpensslEncryptor("passphrase", "8 bytes!", 10000));
}
