#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "rental/core/domain/rental_domain.h"

namespace rentmesh::rental {

struct PaymentRequest {
  // The idempotency key: calling again for the same rental returns the first
  // outcome and never charges twice.
  std::string rental_id;
  std::string customer_id;
  domain::Money amount;
  std::string description;
  std::map<std::string, std::string> trace;
};

struct PaymentOutcome {
  bool approved = false;
  std::string payment_id;
  // Why it was declined.
  std::string decline_reason;
};

// The payment context, called synchronously while renting.
class PaymentGateway {
 public:
  virtual ~PaymentGateway() = default;

  // Takes the payment, waiting at most until `deadline`. A decline is an
  // outcome (approved = false), not an error. Errors mean the outcome is not
  // known: UNAVAILABLE (down, circuit open), DEADLINE_EXCEEDED (slow),
  // RESOURCE_EXHAUSTED (overloaded), or another code for a contract breach.
  virtual absl::StatusOr<PaymentOutcome> Pay(const PaymentRequest& request,
                                             absl::Time deadline) = 0;

  // False while calls are known to fail at once (the circuit breaker is
  // open): renting then answers UNAVAILABLE without reserving a copy.
  virtual bool Accepting() = 0;
};

}  // namespace rentmesh::rental
