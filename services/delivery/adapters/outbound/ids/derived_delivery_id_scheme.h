#pragma once

#include <string>

#include "core/ports/delivery_id_scheme.h"
#include "rentmesh/common/ids.h"

namespace rentmesh::delivery {

// delivery_id = DerivedId("dlv-", {rental_id, "OUTBOUND" | "RETURN"}).
class DerivedDeliveryIdScheme final : public DeliveryIdScheme {
 public:
  std::string DeliveryIdOf(absl::string_view rental_id, DeliveryKind kind) const override {
    return DerivedId("dlv-", {rental_id, KindName(kind)});
  }
};

}  // namespace rentmesh::delivery
