// The `fcnrt` subcommands. Each takes its arguments (after the command name)
// and returns the exit code; errors propagate as fcnrt::Error or cli::UsageError.
#pragma once

#include <string>
#include <vector>

namespace fcnrt::cli {

int run_command(const std::vector<std::string>& args);
int info_command(const std::vector<std::string>& args);
int densify_command(const std::vector<std::string>& args);
int segment_command(const std::vector<std::string>& args);
int bench_command(const std::vector<std::string>& args);
int eval_command(const std::vector<std::string>& args);
int zoo_command(const std::vector<std::string>& args);
#ifdef FCNRT_WITH_ONNX
int import_command(const std::vector<std::string>& args);
#endif

extern const char* const kRunHelp;
extern const char* const kInfoHelp;
extern const char* const kDensifyHelp;
extern const char* const kSegmentHelp;
extern const char* const kBenchHelp;
extern const char* const kEvalHelp;
extern const char* const kZooHelp;
#ifdef FCNRT_WITH_ONNX
extern const char* const kImportHelp;
#endif

}  // namespace fcnrt::cli
