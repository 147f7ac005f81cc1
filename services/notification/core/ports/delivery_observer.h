#pragma once

#include "absl/strings/string_view.h"

namespace rentmesh::notification {

// Sees deliveries, for metrics. Thread-safe and cheap.
class DeliveryObserver {
 public:
  virtual ~DeliveryObserver() = default;
  // The channel took the message.
  virtual void Sent(absl::string_view channel) = 0;
  // A delivery recorded as failed for good.
  virtual void Failed(absl::string_view channel) = 0;
  // An attempt failed and the delivery will be tried again.
  virtual void Retried(absl::string_view channel) = 0;
  // A redelivered event whose delivery was already recorded: not sent again.
  virtual void Duplicate(absl::string_view channel) = 0;
};

}  // namespace rentmesh::notification
