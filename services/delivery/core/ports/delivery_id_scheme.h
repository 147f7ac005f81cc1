#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "core/domain/delivery.h"

namespace rentmesh::delivery {

// How a rental's delivery id is derived: a retry on any replica (and the
// rental service) must find the same id, so it is a pure function of the
// rental id and the kind.
class DeliveryIdScheme {
 public:
  virtual ~DeliveryIdScheme() = default;
  virtual std::string DeliveryIdOf(absl::string_view rental_id, DeliveryKind kind) const = 0;
};

}  // namespace rentmesh::delivery
