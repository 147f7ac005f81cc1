#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "payment/core/domain/rental_payments.h"

namespace rentmesh::payment {

// The local state: the payment events this replica has applied, by rental.
// It may lag the log; PaymentEventLog::CatchUp closes the gap.
class PaymentRepository {
 public:
  virtual ~PaymentRepository() = default;

  // The payments of `rental_id` as applied locally; an empty aggregate
  // (version 0) when there are none.
  virtual absl::StatusOr<RentalPayments> Load(absl::string_view rental_id) const = 0;

  // The rental a payment belongs to; nullopt when it is not known locally.
  virtual absl::StatusOr<std::optional<std::string>> FindRentalOf(
      absl::string_view payment_id) const = 0;
};

}  // namespace rentmesh::payment
