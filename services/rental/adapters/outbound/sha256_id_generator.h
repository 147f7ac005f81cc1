#pragma once

#include "rental/core/ports/id_generator.h"
#include "rentmesh/common/ids.h"

namespace rentmesh::rental {

// Random ids, and derived ids from SHA-256 of the parts (stable everywhere).
class Sha256IdGenerator final : public IdGenerator {
 public:
  std::string NewId(absl::string_view prefix) override { return rentmesh::NewId(prefix); }
  std::string DerivedId(absl::string_view prefix,
                        std::initializer_list<absl::string_view> parts) override {
    return rentmesh::DerivedId(prefix, parts);
  }
};

}  // namespace rentmesh::rental
