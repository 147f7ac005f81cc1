#pragma once

#include <string>

#include "rental/core/ports/book_log.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/nats/stream_follower.h"

namespace rentmesh::rental {

// The books' histories in the JetStream stream RENTAL, one subject per book
// ("rental.book.<book_id>"), appended with Nats-Expected-Last-Subject-Sequence.
// Progress in applying them is the StreamFollower's.
class JetStreamBookLog final : public BookLog {
 public:
  static constexpr char kStream[] = "RENTAL";
  static constexpr char kSubjects[] = "rental.>";
  static std::string SubjectOf(absl::string_view book_id);

  JetStreamBookLog(nats::JetStream& js, const nats::StreamFollower& follower)
      : js_(js), follower_(follower) {}

  // BookLog
  absl::StatusOr<uint64_t> Append(const domain::BookEvent& event, absl::Time occurred_at,
                                  uint64_t expected_position, const EventContext& ctx) override;
  absl::Status CatchUp(absl::Time deadline) override;
  absl::Status WaitApplied(uint64_t position, absl::Time deadline) override;
  std::string StreamName() const override { return kStream; }

 private:
  nats::JetStream& js_;
  const nats::StreamFollower& follower_;
};

}  // namespace rentmesh::rental
