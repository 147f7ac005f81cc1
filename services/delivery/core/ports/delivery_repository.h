#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/domain/delivery.h"

namespace rentmesh::delivery {

// Reads of this replica's local state (the fold of the DELIVERY stream). It
// may lag the stream: callers catch up through DeliveryEventLog before they
// trust an absence or refuse a command. Errors: the store cannot be read.
class DeliveryRepository {
 public:
  virtual ~DeliveryRepository() = default;

  // The delivery with `delivery_id`; nullopt when none was applied.
  virtual absl::StatusOr<std::optional<Delivery>> FindDelivery(
      absl::string_view delivery_id) const = 0;
  // The stream sequence of the last message on the subject of the rental's
  // delivery of `kind`, whether it took effect or not (0: none): what the
  // next append must expect.
  virtual absl::StatusOr<uint64_t> SubjectSequence(absl::string_view rental_id,
                                                   DeliveryKind kind) const = 0;
  virtual absl::StatusOr<std::optional<Courier>> FindCourier(
      absl::string_view courier_id) const = 0;
  // Couriers of `region` ("" for every region), in courier-id order.
  virtual absl::StatusOr<std::vector<Courier>> ListCouriers(absl::string_view region) const = 0;
  // Ids of REQUESTED deliveries of `region` ("" for every region), at most
  // `limit`.
  virtual absl::StatusOr<std::vector<std::string>> RequestedDeliveries(absl::string_view region,
                                                                       size_t limit) const = 0;
};

}  // namespace rentmesh::delivery
