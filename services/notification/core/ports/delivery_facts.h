#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace rentmesh::notification {

// What a delivery step's notice needs and its event does not carry: whose
// delivery it is and which book (from the delivery's DeliveryRequested), the
// book's title (from the rental's BookRented) and the courier's name (from
// the courier's CourierAdded).
struct DeliveryFacts {
  std::string customer_id;
  std::string book_id;
  // "" when unknown.
  std::string book_title;
  std::string courier_name;
};

// This replica's fold of those facts.
class DeliveryDirectory {
 public:
  virtual ~DeliveryDirectory() = default;
  // The facts of delivery `delivery_id` (of rental `rental_id`, by courier
  // `courier_id`, which may be ""); nullopt when the delivery was never
  // requested (nobody to tell).
  virtual absl::StatusOr<std::optional<DeliveryFacts>> Find(
      const std::string& delivery_id, const std::string& rental_id,
      const std::string& courier_id) const = 0;
};

}  // namespace rentmesh::notification
