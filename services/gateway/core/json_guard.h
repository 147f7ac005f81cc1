#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace rentmesh::gateway {

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool IsValidUtf8(absl::string_view s);

// Cheap pre-check of a JSON request body before the protobuf parser sees it:
// INVALID_ARGUMENT when it is not UTF-8 or nests arrays/objects deeper than
// `max_depth`. Does not validate the JSON grammar (the parser does).
absl::Status CheckJsonBody(absl::string_view body, int max_depth);

}  // namespace rentmesh::gateway
