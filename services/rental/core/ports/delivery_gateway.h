#pragma once

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace rentmesh::rental {

struct DeliveryCancelRequest {
  std::string rental_id;
  std::string reason;
  // The idempotency key of the cancel (the rental cancel's request id).
  std::string request_id;
  std::map<std::string, std::string> trace;
};

// The delivery context, called synchronously while cancelling a rental.
class DeliveryGateway {
 public:
  virtual ~DeliveryGateway() = default;

  // Cancels the rental's delivery (idempotent; a rental with no delivery yet
  // gets a cancelled one), waiting at most until `deadline`. OK when it is
  // cancelled; FAILED_PRECONDITION when the copy was picked up or delivered
  // already; UNAVAILABLE / DEADLINE_EXCEEDED / RESOURCE_EXHAUSTED when the
  // delivery service cannot answer now (circuit open included); others pass
  // through.
  virtual absl::Status CancelDelivery(const DeliveryCancelRequest& request,
                                      absl::Time deadline) = 0;
};

}  // namespace rentmesh::rental
