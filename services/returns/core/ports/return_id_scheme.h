#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace rentmesh::returns {

// How a rental's return id is derived: a retry on any replica must get the
// same id, so it is a pure function of the rental id.
class ReturnIdScheme {
 public:
  virtual ~ReturnIdScheme() = default;
  virtual std::string ReturnIdOf(absl::string_view rental_id) const = 0;
};

}  // namespace rentmesh::returns
