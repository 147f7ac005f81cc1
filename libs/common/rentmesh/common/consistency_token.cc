#include "rentmesh/common/consistency_token.h"

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace rentmesh {

std::string FormatConsistencyToken(absl::string_view stream, uint64_t sequence) {
  return absl::StrCat(stream, ":", sequence);
}

absl::StatusOr<std::vector<StreamPosition>> ParseConsistencyToken(absl::string_view token) {
  std::vector<StreamPosition> out;
  if (token.empty()) return out;
  for (absl::string_view part : absl::StrSplit(token, ',')) {
    std::vector<absl::string_view> kv = absl::StrSplit(part, absl::MaxSplits(':', 1));
    StreamPosition pos;
    if (kv.size() != 2 || kv[0].empty() || !absl::SimpleAtoi(kv[1], &pos.sequence)) {
      return absl::InvalidArgumentError(
          absl::StrCat("consistency_token: expected STREAM:sequence[,...], got \"", part, "\""));
    }
    pos.stream = std::string(kv[0]);
    out.push_back(std::move(pos));
  }
  return out;
}

}  // namespace rentmesh
