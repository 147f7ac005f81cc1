#pragma once

#include <initializer_list>
#include "absl/strings/string_view.h"
#include <utility>

namespace rentmesh {

// Structured logs: one JSON object per line on stderr, e.g.
// {"ts":"...","level":"info","msg":"listening","service":"rental","addr":"127.0.0.1:50051"}.
// Field values are strings; pass trace_id / request_id as fields where known.
using LogField = std::pair<absl::string_view, absl::string_view>;

void SetLogService(absl::string_view service);
// Drops info and warn lines (errors still go out): for fuzzers and benchmarks
// that feed millions of inputs a service would log about.
void SetLogErrorsOnly(bool errors_only);
void LogInfo(absl::string_view msg, std::initializer_list<LogField> fields = {});
void LogWarn(absl::string_view msg, std::initializer_list<LogField> fields = {});
void LogError(absl::string_view msg, std::initializer_list<LogField> fields = {});

}  // namespace rentmesh
