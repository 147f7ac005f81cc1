#pragma once

#include <string>

#include "payment/core/ports/payment_ids.h"
#include "rentmesh/common/ids.h"

namespace rentmesh::payment {

// Payment ids as every service derives them (SHA-256 of the key parts):
// the rental fee is DerivedId("pay-", {rental_id, "RENTAL_FEE"}), a late fee
// DerivedId("pay-", {rental_id, "LATE_FEE", return_id}).
class DerivedPaymentIds final : public PaymentIds {
 public:
  // PaymentIds
  std::string RentalFee(absl::string_view rental_id) const override {
    return DerivedId("pay-", {rental_id, "RENTAL_FEE"});
  }
  std::string LateFee(absl::string_view rental_id, absl::string_view return_id) const override {
    return DerivedId("pay-", {rental_id, "LATE_FEE", return_id});
  }
};

}  // namespace rentmesh::payment
