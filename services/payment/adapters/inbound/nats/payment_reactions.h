#pragma once

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "payment/core/payment_service.h"
#include "rentmesh/nats/durable_consumer.h"
#include "rentmesh/nats/jetstream.h"

namespace rentmesh::payment {

// Payment's reactions to other contexts' events, as DurableConsumer handlers:
//   RENTAL  RentalCancelled                    -> refund the rental fee (PaymentRefunded)
//   RENTAL  RentalAborted                      -> void it, or leave a tombstone (PaymentVoided)
//   RETURNS ReturnCompleted with total_fee > 0 -> charge the late fee (LateFeeCharged)
// Other event types are acknowledged and ignored. An unparseable body, or a
// use case error, is returned so the consumer redelivers it with backoff and
// dead-letters it after max_deliver. The events written carry the triggering
// event's id as causation and its trace context.
class PaymentReactions final {
 public:
  explicit PaymentReactions(PaymentService& payments) : payments_(payments) {}

  absl::Status OnRentalEvent(const nats::StreamMessage& msg);
  absl::Status OnReturnsEvent(const nats::StreamMessage& msg);

 private:
  PaymentService& payments_;
};

// The two shared durables every payment replica opens: "payment-reactions" on
// RENTAL (rental.>) and "payment-returns" on RETURNS (returns.>). Both streams
// are declared first (same spec as their owners), as payment may start before
// them. Destroying it stops fetching; the durables stay on the server.
class PaymentReactionConsumers final {
 public:
  static constexpr char kRentalDurable[] = "payment-reactions";
  static constexpr char kReturnsDurable[] = "payment-returns";

  struct Options {
    int stream_replicas = 1;
    int max_deliver = 5;
    absl::Duration fetch_wait = absl::Milliseconds(500);
  };

  static absl::StatusOr<std::unique_ptr<PaymentReactionConsumers>> Start(
      nats::JetStream& js, PaymentReactions& reactions, const Options& options);

  const nats::DurableConsumer& rental() const { return *rental_; }
  const nats::DurableConsumer& returns() const { return *returns_; }

 private:
  PaymentReactionConsumers(std::unique_ptr<nats::DurableConsumer> rental,
                           std::unique_ptr<nats::DurableConsumer> returns)
      : rental_(std::move(rental)), returns_(std::move(returns)) {}

  std::unique_ptr<nats::DurableConsumer> rental_;
  std::unique_ptr<nats::DurableConsumer> returns_;
};

}  // namespace rentmesh::payment
