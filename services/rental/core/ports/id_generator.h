#pragma once

#include <initializer_list>
#include <string>

#include "absl/strings/string_view.h"

namespace rentmesh::rental {

// Makes ids. Derived ids must be stable across processes and replicas, so a
// retried request maps to the same rental anywhere.
class IdGenerator {
 public:
  virtual ~IdGenerator() = default;
  virtual std::string NewId(absl::string_view prefix) = 0;
  virtual std::string DerivedId(absl::string_view prefix,
                                std::initializer_list<absl::string_view> parts) = 0;
};

}  // namespace rentmesh::rental
