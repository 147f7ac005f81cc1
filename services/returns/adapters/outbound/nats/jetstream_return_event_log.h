#pragma once

#include <string>

#include "absl/time/time.h"
#include "core/ports/return_event_log.h"
#include "rentmesh/common/failpoints.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/nats/stream_follower.h"

namespace rentmesh::returns {

// The RETURNS stream on JetStream: ReturnCompleted is appended to
// "returns.rental.<rental_id>" with Nats-Expected-Last-Subject-Sequence 0, so
// the first writer for a rental wins on any replica; progress is this
// replica's StreamFollower.
//
// Failpoints: "returns.before_append", "returns.after_append" (crash).
class JetStreamReturnEventLog final : public ReturnEventLog {
 public:
  // The stream every returns replica ensures at startup.
  static nats::StreamSpec Stream(int replicas);
  static std::string RentalSubject(absl::string_view rental_id);

  // `follower` applies the RETURNS stream to this replica's state.
  JetStreamReturnEventLog(nats::JetStream& js, const nats::StreamFollower& follower,
                          const Failpoints& failpoints, absl::Duration publish_timeout)
      : js_(js), follower_(follower), failpoints_(failpoints), publish_timeout_(publish_timeout) {}

  // ReturnEventLog
  absl::StatusOr<AppendResult> AppendReturnCompleted(const ReturnInspection& inspection,
                                                     const EventTrace& trace) override;
  absl::Status WaitApplied(uint64_t sequence, absl::Time deadline) override;
  absl::Status CatchUp(absl::Time deadline) override;

 private:
  nats::JetStream& js_;
  const nats::StreamFollower& follower_;
  const Failpoints& failpoints_;
  const absl::Duration publish_timeout_;
};

}  // namespace rentmesh::returns
