#include "returns_config.h"

#include "absl/strings/str_cat.h"

namespace rentmesh::returns {

absl::Status ReturnsConfig::Validate() const {
  if (absl::Status s = StreamOwnerConfig::Validate(); !s.ok()) return s;
  if (absl::Status s = fees.Validate(); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("fees: ", s.message()));
  }
  return absl::OkStatus();
}

}  // namespace rentmesh::returns
