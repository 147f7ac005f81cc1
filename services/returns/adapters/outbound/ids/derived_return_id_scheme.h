#pragma once

#include <string>

#include "core/ports/return_id_scheme.h"
#include "rentmesh/common/ids.h"

namespace rentmesh::returns {

// return_id = DerivedId("ret-", {rental_id}): the contract the rental service
// relies on to know a return's id without asking.
class DerivedReturnIdScheme final : public ReturnIdScheme {
 public:
  std::string ReturnIdOf(absl::string_view rental_id) const override {
    return DerivedId("ret-", {rental_id});
  }
};

}  // namespace rentmesh::returns
