#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "rental/core/domain/rental_domain.h"

namespace rentmesh::rental {

struct ReturnRequest {
  std::string rental_id;
  std::string book_id;
  std::string customer_id;
  absl::Time due_at;
  bool damaged = false;
  // The rental's recorded discount, which its late fee gets too.
  int32_t late_fee_discount_percent = 0;
  std::map<std::string, std::string> trace;
};

struct ReturnOutcome {
  std::string return_id;
  absl::Time returned_at;
  // Late fee plus damage charge, charged by the payment service.
  domain::Money total_fee;
};

// The returns context, called synchronously while returning a book.
class ReturnsGateway {
 public:
  virtual ~ReturnsGateway() = default;

  // Processes the return (idempotent per rental), waiting at most until
  // `deadline`. Errors: UNAVAILABLE / DEADLINE_EXCEEDED / RESOURCE_EXHAUSTED
  // when the returns service cannot answer now; others pass through.
  virtual absl::StatusOr<ReturnOutcome> ProcessReturn(const ReturnRequest& request,
                                                      absl::Time deadline) = 0;
};

}  // namespace rentmesh::rental
