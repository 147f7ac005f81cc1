#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace rentmesh::payment {

// Derives payment ids from their keys, so that a retry on any replica, or a
// redelivered event, names the same payment.
class PaymentIds {
 public:
  virtual ~PaymentIds() = default;
  // The one rental fee of a rental.
  virtual std::string RentalFee(absl::string_view rental_id) const = 0;
  // The late fee a return assessed.
  virtual std::string LateFee(absl::string_view rental_id, absl::string_view return_id) const = 0;
};

}  // namespace rentmesh::payment
