#pragma once

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"

namespace rentmesh {

// A position in one stream: "RENTAL:42" means "the event stored at sequence 42
// of stream RENTAL". Mutating responses carry the position of the event they
// wrote; the view waits until it has applied it. Several positions are joined
// with commas ("RENTAL:42,PAYMENT:17").
struct StreamPosition {
  std::string stream;
  uint64_t sequence = 0;
};

std::string FormatConsistencyToken(absl::string_view stream, uint64_t sequence);

// INVALID_ARGUMENT on anything that is not a comma-separated list of
// STREAM:sequence; an empty token is an empty list.
absl::StatusOr<std::vector<StreamPosition>> ParseConsistencyToken(absl::string_view token);

}  // namespace rentmesh
