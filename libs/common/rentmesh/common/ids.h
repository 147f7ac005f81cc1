#pragma once

#include <string>
#include "absl/strings/string_view.h"

namespace rentmesh {

// A random 128-bit id as 32 lowercase hex digits prefixed by `prefix`.
std::string NewId(absl::string_view prefix);

// A stable id derived from `parts` (SHA-256 truncated to 128 bits, hex), so a
// retried request maps to the same id on any replica.
std::string DerivedId(absl::string_view prefix, std::initializer_list<absl::string_view> parts);

}  // namespace rentmesh
