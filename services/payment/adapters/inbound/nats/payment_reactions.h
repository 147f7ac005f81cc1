#pragma once

#include <atomic>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "payment/adapters/outbound/rocksdb/rocksdb_rental_status.h"
#include "payment/core/payment_service.h"
#include "rentmesh/nats/durable_consumer.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/nats/stream_follower.h"

namespace rentmesh::payment {

// Whether the RENTAL event at a sequence was effective, once payment's own fold
// of RENTAL has applied it.
class RentalEffects {
 public:
  virtual ~RentalEffects() = default;
  // DEADLINE_EXCEEDED when the fold has not reached `sequence` by `deadline`.
  virtual absl::StatusOr<bool> Effective(uint64_t sequence, absl::Time deadline) const = 0;
};

// RentalEffects from a StreamFollower feeding a RocksDbRentalStatus.
class FollowedRentalEffects final : public RentalEffects {
 public:
  FollowedRentalEffects(const nats::StreamFollower& follower, const RocksDbRentalStatus& status)
      : follower_(follower), status_(status) {}
  absl::StatusOr<bool> Effective(uint64_t sequence, absl::Time deadline) const override {
    if (absl::Status s = follower_.WaitApplied(sequence, deadline); !s.ok()) return s;
    return status_.WasEffective(sequence);
  }

 private:
  const nats::StreamFollower& follower_;
  const RocksDbRentalStatus& status_;
};

// Payment's reactions to the rental's effective events, as a DurableConsumer
// handler on RENTAL:
//   RentalCancelled                 -> refund the rental fee (PaymentRefunded)
//   RentalAborted                   -> void it, or leave a tombstone (PaymentVoided)
//   BookReturned with late_fee > 0  -> charge the late fee (LateFeeCharged), with
//                                      the same payment id as ever (rental, return)
// An event that did not apply to the rental's state (RentalEffects) is
// acknowledged, counted as ineffective and changes nothing; so is any other
// type. returns' ReturnCompleted charges nothing: the late fee follows the
// rental's own transition, which a lost race or a crash never made.
// A message that is not one of ours (events::ParseTrustedEnvelope) is counted
// and returned as a permanent error, so it is dead-lettered at once; a
// use-case error is returned for the consumer to retry or dead-letter. The
// events written carry the triggering event's id as causation and its trace.
class PaymentReactions final {
 public:
  static constexpr char kConsumer[] = "payment-reactions";

  // `observer` may be null.
  PaymentReactions(PaymentService& payments, const RentalEffects& effects,
                   nats::FlowObserver* observer = nullptr)
      : payments_(payments), effects_(effects), observer_(observer) {}

  absl::Status OnRentalEvent(const nats::StreamMessage& msg);

  uint64_t untrusted() const { return untrusted_.load(); }
  uint64_t ineffective() const { return ineffective_.load(); }

 private:
  PaymentService& payments_;
  const RentalEffects& effects_;
  nats::FlowObserver* const observer_;
  std::atomic<uint64_t> untrusted_{0};
  std::atomic<uint64_t> ineffective_{0};
};

// The shared durable every payment replica opens: "payment-reactions" on
// RENTAL (rental.>). The stream is declared first (same spec as its owner),
// as payment may start before it. Destroying it stops fetching; the durable
// stays on the server. The durable "payment-returns" of older versions (late
// fees on ReturnCompleted) is deleted.
class PaymentReactionConsumers final {
 public:
  static constexpr char kRentalDurable[] = "payment-reactions";
  static constexpr char kRetiredReturnsDurable[] = "payment-returns";

  struct Options {
    int stream_replicas = 1;
    int max_deliver = 3000;
    absl::Duration backoff_initial = absl::Milliseconds(100);
    absl::Duration backoff_max = absl::Seconds(30);
    absl::Duration fetch_wait = absl::Milliseconds(500);
    absl::Duration dead_letter_max_age = absl::ZeroDuration();
    int64_t dead_letter_max_bytes = 0;
  };

  static absl::StatusOr<std::unique_ptr<PaymentReactionConsumers>> Start(
      nats::JetStream& js, PaymentReactions& reactions, const Options& options);

  const nats::DurableConsumer& rental() const { return *rental_; }
  nats::DurableConsumer& rental() { return *rental_; }

 private:
  explicit PaymentReactionConsumers(std::unique_ptr<nats::DurableConsumer> rental)
      : rental_(std::move(rental)) {}

  std::unique_ptr<nats::DurableConsumer> rental_;
};

}  // namespace rentmesh::payment
