// witness-verify report and witness-verify report-check (docs/report.md): the signed audit report of
// a period built from an export, verified first, and the check of a signed report.
#pragma once

namespace witness::tool
{

// argv[1] is "report" or "report-check"; returns the exit status (0 valid, 1 tampered or a signature
// that does not check, 2 usage or input error). Throws std::exception on input errors.
int report_command(int argc, char **argv);

} // namespace witness::tool
