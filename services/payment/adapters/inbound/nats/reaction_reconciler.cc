#include "payment/adapters/inbound/nats/reaction_reconciler.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "rentmesh/common/log.h"
#include "rentmesh/events/envelope.h"

namespace rentmesh::payment {

ReactionReconciler::ReactionReconciler(nats::JetStream& js, RocksDbRentalStatus& status,
                                       PaymentReactions& reactions, Options options)
    : js_(js), status_(status), reactions_(reactions), options_(options) {
  if (options_.every > absl::ZeroDuration()) thread_ = std::thread([this] { Loop(); });
}

ReactionReconciler::~ReactionReconciler() {
  stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

void ReactionReconciler::Loop() {
  while (!stop_.WaitForNotificationWithTimeout(options_.every)) RunOnce();
}

uint64_t ReactionReconciler::RunOnce() {
  absl::StatusOr<std::vector<uint64_t>> due =
      status_.DueReactions(absl::Now() - options_.after, options_.batch);
  if (!due.ok()) {
    LogWarn("cannot list the reactions due", {{"error", due.status().ToString()}});
    return 0;
  }
  uint64_t done = 0;
  for (uint64_t seq : *due) {
    if (stop_.HasBeenNotified()) break;
    absl::StatusOr<nats::StreamMessage> msg = js_.GetMessage(events::kRentalStream, seq);
    if (!msg.ok()) {  // the stream cannot be read now (no leader, cut off): next round
      LogWarn("cannot read the RENTAL stream for the reactions due; tried again later",
              {{"sequence", absl::StrCat(seq)}, {"error", msg.status().ToString()}});
      break;
    }
    absl::Status st = reactions_.OnRentalEvent(*msg);
    if (!st.ok()) {
      LogWarn("reaction due not done yet; tried again later",
              {{"sequence", absl::StrCat(seq)}, {"error", st.ToString()}});
      continue;
    }
    if (absl::Status s = status_.ReactionReconciled(seq); !s.ok()) {
      LogWarn("cannot mark a reaction done",
              {{"sequence", absl::StrCat(seq)}, {"error", s.ToString()}});
      continue;
    }
    ++done;
  }
  redriven_ += done;
  return done;
}

}  // namespace rentmesh::payment
