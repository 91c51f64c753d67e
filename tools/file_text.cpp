// read_file_text (file_text.hpp).
#include "file_text.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace witness::tool
{

std::string read_file_text(const std::string &path, const char *what, size_t limit)
{
	std::ifstream in(path, std::ios::binary);
	if (!in)
		throw std::runtime_error(std::string("cannot open ") + what + " " + path);
	std::ostringstream ss;
	ss << in.rdbuf();
	std::string text = ss.str();
	if (text.size() > limit)
		throw std::runtime_error(std::string(what) + " " + path + " is larger than " + std::to_string(limit) + " bytes");
	return text;
}

} // namespace witness::tool
