// read_file_text (file_text.hpp).
#include "file_text.hpp"

#include <fstream>
#include <stdexcept>

namespace witness::tool
{

// Reads at most limit + 1 bytes: the whole file was read into memory before its size was compared,
// and /dev/zero given as a digest took 8 GB before the refusal (an attack review).
std::string read_file_text(const std::string &path, const char *what, size_t limit)
{
	std::ifstream in(path, std::ios::binary);
	if (!in)
		throw std::runtime_error(std::string("cannot open ") + what + " " + path);
	std::string text;
	char chunk[1 << 16];
	while (text.size() <= limit && in.read(chunk, sizeof(chunk)).gcount() > 0)
		text.append(chunk, static_cast<size_t>(in.gcount()));
	if (in.bad())
		throw std::runtime_error(std::string("cannot read ") + what + " " + path);
	if (text.size() > limit)
		throw std::runtime_error(std::string(what) + " " + path + " is larger than " + std::to_string(limit) + " bytes");
	return text;
}

} // namespace witness::tool
