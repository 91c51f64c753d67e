// Merkle tree hash against the published CT vectors and a literal RFC 9162 reference; inclusion proofs.
#include "merkle.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "canonical_json.hpp"
#include "sha256.hpp"

using namespace witness;

namespace
{

// Reads the whole file into out; false when it cannot be opened.
bool read_file(const std::string &path, std::string &out)
{
	std::ifstream in(path, std::ios::binary);
	if (!in)
		return false;
	std::ostringstream ss;
	ss << in.rdbuf();
	out = ss.str();
	return true;
}

// The array of strings under "key" in the vector file (plain strings without escapes suffice there).
std::vector<std::string> string_array(const std::string &json, const std::string &key)
{
	std::vector<std::string> items;
	size_t pos = json.find("\"" + key + "\"");
	if (pos == std::string::npos)
		throw std::runtime_error("key " + key + " not found");
	pos = json.find('[', pos);
	const size_t end = json.find(']', pos);
	if (pos == std::string::npos || end == std::string::npos)
		throw std::runtime_error("array " + key + " malformed");
	for (;;) {
		const size_t open = json.find('"', pos + 1);
		if (open == std::string::npos || open > end)
			break;
		const size_t close = json.find('"', open + 1);
		items.push_back(json.substr(open + 1, close - open - 1));
		pos = close;
	}
	return items;
}

Hash hash_from_hex(const std::string &hex)
{
	const std::string bytes = from_hex(hex);
	if (bytes.size() != 32)
		throw std::runtime_error("not a 32-byte hash: " + hex);
	Hash h;
	std::copy(bytes.begin(), bytes.end(), h.begin());
	return h;
}

// MTH exactly as written in RFC 9162 2.1.1, with copies of the sub-lists.
Hash reference_root(const std::vector<Hash> &d)
{
	if (d.empty())
		return sha256("");
	if (d.size() == 1)
		return d[0];
	size_t k = 1;
	while (2 * k < d.size())
		k *= 2;
	const std::vector<Hash> left(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(k));
	const std::vector<Hash> right(d.begin() + static_cast<std::ptrdiff_t>(k), d.end());
	std::string buf(1, '\x01');
	const Hash l = reference_root(left), r = reference_root(right);
	buf.append(l.begin(), l.end());
	buf.append(r.begin(), r.end());
	return sha256(buf);
}

// For each step of leaf i's path in a tree of n leaves, leaf upwards: true when the sibling is on the
// left. Follows the recursive PATH definition of RFC 9162 2.1.3.1.
std::vector<bool> sibling_sides(size_t i, size_t n)
{
	std::vector<bool> sides;
	while (n > 1) {
		size_t k = 1;
		while (2 * k < n)
			k *= 2;
		sides.insert(sides.begin(), i >= k);
		if (i < k) {
			n = k;
		} else {
			i -= k;
			n -= k;
		}
	}
	return sides;
}

std::vector<Hash> make_leaves(size_t n)
{
	std::vector<Hash> leaves;
	for (size_t i = 0; i < n; i++)
		leaves.push_back(merkle_leaf_hash("leaf " + std::to_string(i)));
	return leaves;
}

struct Vectors {
	std::vector<std::string> leaves, leaf_hashes, roots;
};

Vectors load_vectors()
{
	const std::string path = std::string(WITNESS_TESTVECTORS_DIR) + "/rfc6962-merkle.json";
	std::string json;
	if (!read_file(path, json))
		throw std::runtime_error("Merkle test vectors not found at " + path +
		                         " (they ship in test/unit/vectors; -DWITNESS_TESTVECTORS_DIR points elsewhere)");
	if (!json_is_valid(json))
		throw std::runtime_error(path + " is not valid JSON");
	return Vectors{string_array(json, "leaves_hex"), string_array(json, "leaf_hashes_hex"),
	               string_array(json, "roots_hex")};
}

} // namespace

TEST(Merkle, LeafAndNodeHashPrefixes)
{
	EXPECT_EQ(merkle_leaf_hash("abc"), sha256(std::string("\x00"
	                                                      "abc",
	                                                      4)));
	const Hash a = sha256("a"), b = sha256("b");
	std::string buf(1, '\x01');
	buf.append(a.begin(), a.end());
	buf.append(b.begin(), b.end());
	EXPECT_EQ(merkle_node_hash(a, b), sha256(buf));
	EXPECT_NE(merkle_node_hash(a, b), merkle_node_hash(b, a));
}

TEST(Merkle, PublishedVectors)
{
	Vectors v;
	try {
		v = load_vectors();
	} catch (const std::exception &e) {
		FAIL() << e.what();
	}
	ASSERT_EQ(v.leaves.size(), 8u);
	ASSERT_EQ(v.leaf_hashes.size(), 8u);
	ASSERT_EQ(v.roots.size(), 9u);
	std::vector<Hash> leaf_hashes;
	for (size_t i = 0; i < v.leaves.size(); i++) {
		const Hash h = merkle_leaf_hash(from_hex(v.leaves[i]));
		EXPECT_EQ(to_hex(h), v.leaf_hashes[i]) << "leaf " << i;
		leaf_hashes.push_back(h);
	}
	for (size_t n = 0; n <= leaf_hashes.size(); n++) {
		const std::vector<Hash> prefix(leaf_hashes.begin(), leaf_hashes.begin() + static_cast<std::ptrdiff_t>(n));
		const Hash root = merkle_root(prefix);
		EXPECT_EQ(to_hex(root), v.roots[n]) << "tree of " << n << " leaves";
		for (size_t i = 0; i < n; i++)
			EXPECT_TRUE(
			    merkle_verify_inclusion(prefix[i], i, n, merkle_inclusion_proof(prefix, i), hash_from_hex(v.roots[n])))
			    << "leaf " << i << " of " << n;
	}
}

TEST(Merkle, RootMatchesReferenceDefinition)
{
	EXPECT_EQ(to_hex(merkle_root({})), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	const std::vector<Hash> leaves = make_leaves(130);
	for (size_t n = 0; n <= leaves.size(); n++) {
		const std::vector<Hash> prefix(leaves.begin(), leaves.begin() + static_cast<std::ptrdiff_t>(n));
		EXPECT_EQ(merkle_root(prefix), reference_root(prefix)) << n;
	}
}

// The streaming root equals the reference at every size, including the published vectors' sizes, so
// that witness-verify, which keeps only a frontier per block, computes the roots the sealer sealed.
TEST(Merkle, FrontierRootEqualsTheReferenceAtEverySize)
{
	const std::vector<Hash> leaves = make_leaves(300);
	MerkleFrontier f;
	EXPECT_EQ(f.root(), merkle_root({}));
	for (size_t n = 1; n <= leaves.size(); n++) {
		f.append(leaves[n - 1]);
		const std::vector<Hash> prefix(leaves.begin(), leaves.begin() + static_cast<std::ptrdiff_t>(n));
		ASSERT_EQ(f.root(), reference_root(prefix)) << n;
		ASSERT_EQ(f.size(), n);
	}
}

TEST(Merkle, ProofLengths)
{
	const std::vector<Hash> leaves = make_leaves(64);
	EXPECT_TRUE(merkle_inclusion_proof({leaves[0]}, 0).empty());
	EXPECT_EQ(merkle_inclusion_proof(leaves, 5).size(), 6u);
	const std::vector<Hash> seven(leaves.begin(), leaves.begin() + 7);
	EXPECT_EQ(merkle_inclusion_proof(seven, 6).size(), 2u); // sibling {4,5} then {0..3}
	EXPECT_EQ(merkle_inclusion_proof(seven, 0).size(), 3u);
}

TEST(Merkle, ProofIndexOutOfRange)
{
	EXPECT_THROW(merkle_inclusion_proof({}, 0), std::out_of_range);
	EXPECT_THROW(merkle_inclusion_proof(make_leaves(3), 3), std::out_of_range);
}

TEST(Merkle, InclusionProofsForAllSizesAndIndices)
{
	const std::vector<Hash> all = make_leaves(64);
	for (size_t n = 1; n <= all.size(); n++) {
		const std::vector<Hash> leaves(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n));
		const Hash root = merkle_root(leaves);
		for (size_t i = 0; i < n; i++) {
			SCOPED_TRACE("leaf " + std::to_string(i) + " of " + std::to_string(n));
			const std::vector<Hash> path = merkle_inclusion_proof(leaves, i);
			ASSERT_TRUE(merkle_verify_inclusion(leaves[i], i, n, path, root));

			Hash flipped = leaves[i];
			flipped[i % 32] ^= static_cast<uint8_t>(1u << (i % 8));
			EXPECT_FALSE(merkle_verify_inclusion(flipped, i, n, path, root));

			for (size_t j = 0; j < n + 2; j++) {
				if (j == i)
					continue;
				EXPECT_FALSE(merkle_verify_inclusion(leaves[i], j, n, path, root)) << "index " << j;
			}

			// The path does not bind the tree size (the root does): a wrong size is rejected exactly
			// when it changes the shape of the path.
			for (size_t m = 0; m <= 2 * n + 1; m++) {
				if (m == n)
					continue;
				const bool same_shape = i < m && sibling_sides(i, m) == sibling_sides(i, n);
				EXPECT_EQ(merkle_verify_inclusion(leaves[i], i, m, path, root), same_shape) << "size " << m;
			}

			if (!path.empty()) {
				std::vector<Hash> truncated(path.begin(), path.end() - 1);
				EXPECT_FALSE(merkle_verify_inclusion(leaves[i], i, n, truncated, root));
				std::vector<Hash> bad_sibling = path;
				bad_sibling.front()[0] ^= 0x80;
				EXPECT_FALSE(merkle_verify_inclusion(leaves[i], i, n, bad_sibling, root));
			}
			std::vector<Hash> extended = path;
			extended.push_back(root);
			EXPECT_FALSE(merkle_verify_inclusion(leaves[i], i, n, extended, root));

			Hash bad_root = root;
			bad_root[31] ^= 1;
			EXPECT_FALSE(merkle_verify_inclusion(leaves[i], i, n, path, bad_root));
		}
	}
}

TEST(Merkle, TreeSizeIsBoundByTheRootNotByThePath)
{
	const std::vector<Hash> leaves = make_leaves(64);
	const Hash root = merkle_root(leaves);
	const std::vector<Hash> path = merkle_inclusion_proof(leaves, 0);
	EXPECT_TRUE(merkle_verify_inclusion(leaves[0], 0, 64, path, root));
	EXPECT_FALSE(merkle_verify_inclusion(leaves[0], 0, 32, path, root));
	EXPECT_FALSE(merkle_verify_inclusion(leaves[0], 0, 65, path, root));
	EXPECT_FALSE(merkle_verify_inclusion(leaves[0], 0, 0, path, root));
	// Leaf 0's path has the same shape in every tree of 33 to 64 leaves, so the size cannot be told
	// from it; callers take the size from the same authenticated header as the root.
	EXPECT_TRUE(merkle_verify_inclusion(leaves[0], 0, 33, path, root));
}
