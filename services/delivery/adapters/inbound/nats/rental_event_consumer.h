#pragma once

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/delivery_service.h"
#include "rentmesh/nats/durable_consumer.h"
#include "rentmesh/nats/jetstream.h"

namespace rentmesh::delivery {

// The durable "delivery-rental" on RENTAL (rental.book.>), shared by the
// replicas: each BookRented becomes the rental's delivery. Not one of our
// events (events::ParseTrustedEnvelope) -> dead-lettered at once; another
// event -> acked; a transient failure -> redelivered with backoff.
class RentalEventConsumer final {
 public:
  static constexpr char kDurable[] = "delivery-rental";

  struct Options {
    int stream_replicas = 1;
    absl::Duration max_wait = absl::Seconds(5);
    absl::Duration backoff_initial = absl::Milliseconds(100);
    absl::Duration backoff_max = absl::Seconds(30);
    absl::Duration ack_wait = absl::Seconds(30);
  };

  // The RENTAL stream as its owner specifies it (created when missing, as
  // delivery may start first).
  static nats::StreamSpec RentalStream(int replicas);

  static absl::StatusOr<std::unique_ptr<nats::DurableConsumer>> Start(nats::JetStream& js,
                                                                      DeliveryService& service,
                                                                      const Options& options);
};

// The handler of one message (public for tests).
absl::Status HandleRentalEvent(DeliveryService& service, const nats::StreamMessage& msg,
                               absl::Duration max_wait);

}  // namespace rentmesh::delivery
