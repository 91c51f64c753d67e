// openssl enc's salted AES-256-CBC / PBKDF2-HMAC-SHA256 format against the openssl command line.
// Each vector's ciphertext was made with OpenSSL 3.0's CLI (one command each, wrapped here), which with
// an explicit salt (-S) prints the ciphertext without its "Salted__" header:
//   printf 'hello pg_witness\n' | openssl enc -aes-256-cbc -pbkdf2 -iter 1000 -md sha256
//       -S 0102030405060708 -pass pass:secret | xxd -p
//   head -c 100 /dev/zero | tr '\0' a | openssl enc -aes-256-cbc -pbkdf2 -iter 10000 -md sha256
//       -S a0a1a2a3a4a5a6a7 -pass 'pass:correct horse' -a
//   printf '' | openssl enc -aes-256-cbc -pbkdf2 -iter 1 -md sha256 -S 0000000000000000 -pass pass:x | xxd -p
#include "openssl_enc.hpp"

#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "sha256.hpp"

using witness::base64;
using witness::from_hex;
using witness::openssl_dec;
using witness::OpensslEncryptor;

namespace
{

std::string hex(const std::string &bytes)
{
	return witness::to_hex(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size());
}

// The whole file, data given in pieces of `piece` bytes.
std::string encrypt(const std::string &pass, const std::string &salt, int iter, const std::string &data, size_t piece)
{
	OpensslEncryptor enc(pass, salt, iter);
	std::string out = enc.header();
	for (size_t i = 0; i < data.size(); i += piece)
		enc.update(std::string_view(data).substr(i, piece), out);
	enc.finish(out);
	return out;
}

} // namespace

TEST(OpensslEnc, MatchesCliShortText)
{
	const std::string salt = from_hex("0102030405060708");
	const std::string file = encrypt("secret", salt, 1000, "hello pg_witness\n", 5);
	EXPECT_EQ(hex(file.substr(0, 16)), "53616c7465645f5f0102030405060708"); // "Salted__" || salt
	EXPECT_EQ(hex(file.substr(16)), "0df0f9684ee51c518f91f8fa89648c3bb2125e997dcd65df2a0689ff5a992519");
	EXPECT_EQ(openssl_dec("secret", file, 1000), "hello pg_witness\n");
}

TEST(OpensslEnc, MatchesCliBase64)
{
	const std::string file = encrypt("correct horse", from_hex("a0a1a2a3a4a5a6a7"), 10000, std::string(100, 'a'), 7);
	const std::string ct = file.substr(16);
	// openssl enc -a: 64 characters (48 bytes) per line.
	EXPECT_EQ(base64(ct.substr(0, 48)), "MznRr3OcBTYXNGlr8XTBFOkCGsA8Jqj0hYELZ5dx9Ao3tXU+ygWYSSzsqyuMXhyD");
	EXPECT_EQ(base64(ct.substr(48, 48)), "qr3ne2I7S6dZZh1x9tF19umxB/6kaxL8YZDLDOqqv48FsfA54lHVKL/weMC64VA8");
	EXPECT_EQ(base64(ct.substr(96)), "/jt7ua7tUow3BsBMBA5BGQ==");
}

TEST(OpensslEnc, MatchesCliEmpty)
{
	const std::string file = encrypt("x", std::string(8, '\0'), 1, "", 1);
	EXPECT_EQ(hex(file.substr(16)), "59b51536b4034dd395791f1c897bcaee");
	EXPECT_EQ(openssl_dec("x", file, 1), "");
}

TEST(OpensslEnc, PiecesDoNotMatter)
{
	std::string data;
	for (int i = 0; i < 1000; i++)
		data += std::to_string(i) + ",";
	const std::string salt = from_hex("0011223344556677");
	const std::string whole = encrypt("p", salt, 10, data, data.size());
	EXPECT_EQ(encrypt("p", salt, 10, data, 1), whole);
	EXPECT_EQ(encrypt("p", salt, 10, data, 17), whole);
	EXPECT_EQ(openssl_dec("p", whole, 10), data);
}

TEST(OpensslEnc, WrongPassphraseOrIterationsFail)
{
	const std::string file = encrypt("right", from_hex("0102030405060708"), 100, std::string(40, 'z'), 40);
	EXPECT_THROW(openssl_dec("wrong", file, 100), std::runtime_error);
	EXPECT_THROW(openssl_dec("right", "not salted", 100), std::runtime_error);
}

TEST(OpensslEnc, RefusesBadParameters)
{
	EXPECT_THROW(OpensslEncryptor("", std::string(8, 'a'), 1), std::invalid_argument);
	EXPECT_THROW(OpensslEncryptor("p", std::string(7, 'a'), 1), std::invalid_argument);
	EXPECT_THROW(OpensslEncryptor("p", std::string(8, 'a'), 0), std::invalid_argument);
	OpensslEncryptor enc("p", std::string(8, 'a'), 1);
	std::string out;
	enc.finish(out);
	EXPECT_THROW(enc.update("x", out), std::logic_error);
}

TEST(OpensslEnc, Base64Padding)
{
	EXPECT_EQ(base64(""), "");
	EXPECT_EQ(base64("f"), "Zg==");
	EXPECT_EQ(base64("fo"), "Zm8=");
	EXPECT_EQ(base64("foo"), "Zm9v");
	EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
}
