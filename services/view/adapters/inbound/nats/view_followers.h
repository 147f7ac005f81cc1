#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/applied_positions.h"
#include "core/view_service.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/nats/stream_follower.h"

namespace rentmesh::view {

// The streams the view follows: RENTAL rental.>, PAYMENT payment.>, RETURNS returns.>,
// DELIVERY delivery.>.
struct FollowedStream {
  std::string name;
  std::string subjects;
};
std::vector<FollowedStream> DefaultFollowedStreams();

// One StreamFollower per stream, each from the position stored in the view's
// store, feeding batches to ViewService::ApplyBatch (each on its own thread;
// the service serializes them).
//
// The streams are created with EnsureStream when missing (same spec as their
// writers: file storage, `replicas`, 2-minute duplicate window), so the view
// can start before the services that write them. EnsureStream on an existing
// stream only reasserts the subjects and replicas it already has.
class ViewFollowers {
 public:
  static absl::StatusOr<std::unique_ptr<ViewFollowers>> Start(
      nats::JetStream& js, ViewService& service, const std::vector<FollowedStream>& streams,
      int replicas);
  // Stops the followers in reverse order of start.
  ~ViewFollowers();

  // Waits until everything the streams hold now is applied.
  absl::Status CatchUp(absl::Time deadline) const;
  // The streams' last sequences now (a JetStream round trip per stream).
  absl::StatusOr<std::vector<StreamSequence>> Heads() const;
  // Each follower with its stream's name, e.g. for a liveness watch.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (size_t i = 0; i < followers_.size(); ++i) fn(names_[i], *followers_[i]);
  }

 private:
  explicit ViewFollowers(nats::JetStream& js) : js_(js) {}

  nats::JetStream& js_;
  std::vector<std::string> names_;
  std::vector<std::unique_ptr<nats::StreamFollower>> followers_;
};

// The follower batch handler for `stream`: messages that are not envelopes
// are logged and skipped (their position still counts as applied).
nats::StreamFollower::BatchHandler ProjectionHandler(ViewService& service, std::string stream);

}  // namespace rentmesh::view
