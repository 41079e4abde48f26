// The `fcnrt` subcommands. Each takes its arguments (after the command name)
// and returns the exit code; errors propagate as fcnrt::Error or cli::UsageError.
#pragma once

#include <string>
#include <vector>

namespace fcnrt::cli {

int run_command(const std::vector<std::string>& args);
int info_command(const std::vector<std::string>& args);
int densify_command(const std::vector<std::string>& args);

extern const char* const kRunHelp;
extern const char* const kInfoHelp;
extern const char* const kDensifyHelp;

}  // namespace fcnrt::cli
