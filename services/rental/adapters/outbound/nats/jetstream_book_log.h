#pragma once

#include <string>

#include "rental/core/ports/book_log.h"
#include "rentmesh/events/envelope.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/nats/stream_follower.h"

namespace rentmesh::rental {

// The books' histories in the JetStream stream RENTAL, one subject per book
// ("rental.book.<book_id>") and one per customer with a tier
// ("rental.customer.<token>"), appended with Nats-Expected-Last-Subject-Sequence.
// Progress in applying them is the StreamFollower's.
class JetStreamBookLog final : public BookLog {
 public:
  static constexpr char kStream[] = "RENTAL";
  static constexpr char kSubjects[] = "rental.>";
  static std::string SubjectOf(absl::string_view book_id);
  // "rental.customer.<token>" (mapping::CustomerToken).
  static std::string CustomerSubjectOf(absl::string_view customer_id);

  JetStreamBookLog(nats::JetStream& js, const nats::StreamFollower& follower)
      : js_(js), follower_(follower) {}

  // BookLog
  absl::StatusOr<uint64_t> Append(const domain::BookEvent& event, absl::Time occurred_at,
                                  uint64_t expected_position, const EventContext& ctx) override;
  absl::StatusOr<uint64_t> AppendTier(const domain::CustomerTierSet& event, absl::Time occurred_at,
                                      uint64_t expected_position, const EventContext& ctx) override;
  absl::Status CatchUp(absl::Time deadline) override;
  absl::Status WaitApplied(uint64_t position, absl::Time deadline) override;
  std::string StreamName() const override { return kStream; }

 private:
  absl::StatusOr<uint64_t> Publish(events::v1::Envelope& env, const std::string& subject,
                                   events::EnvelopeHeader header, absl::Time occurred_at,
                                   uint64_t expected_position, const EventContext& ctx);

  nats::JetStream& js_;
  const nats::StreamFollower& follower_;
};

}  // namespace rentmesh::rental
