#include "rentmesh/nats/stream_follower.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "rentmesh/common/log.h"

namespace rentmesh::nats {

absl::StatusOr<std::unique_ptr<StreamFollower>> StreamFollower::Start(JetStream& js,
                                                                      Options options,
                                                                      BatchHandler handler) {
  std::unique_ptr<StreamFollower> f(new StreamFollower(js, std::move(options), std::move(handler)));
  jsSubOptions sub_opts;
  jsSubOptions_Init(&sub_opts);
  sub_opts.Stream = f->options_.stream.c_str();
  sub_opts.Ordered = true;
  if (f->options_.applied > 0) {
    sub_opts.Config.DeliverPolicy = js_DeliverByStartSequence;
    sub_opts.Config.OptStartSeq = f->options_.applied + 1;
  } else {
    sub_opts.Config.DeliverPolicy = js_DeliverAll;
  }
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_Subscribe(&f->sub_, js.context(), f->options_.subject.c_str(),
                              &StreamFollower::OnMessage, f.get(), nullptr, &sub_opts, &jerr);
  if (s != NATS_OK) {
    return FromNatsStatus(s, jerr, absl::StrCat("follow stream ", f->options_.stream));
  }
  natsSubscription_SetOnCompleteCB(f->sub_, &StreamFollower::OnComplete, f.get());
  // A rebuild delivers the whole stream at once; let it queue rather than
  // being dropped as a slow consumer.
  natsSubscription_SetPendingLimits(f->sub_, 4 * 1024 * 1024, 1024 * 1024 * 1024);
  return f;
}

StreamFollower::~StreamFollower() {
  if (sub_ != nullptr) {
    stopping_ = true;
    if (natsSubscription_Unsubscribe(sub_) == NATS_OK) {
      // Bounded: a handler never blocks for long (it writes a local batch).
      if (!done_.WaitForNotificationWithTimeout(absl::Seconds(30))) {
        LogError("a stream follower's callback did not return; leaking it",
                 {{"stream", options_.stream}});
        return;
      }
    }
    natsSubscription_Destroy(sub_);
  }
}

void StreamFollower::OnComplete(void* closure) {
  static_cast<StreamFollower*>(closure)->done_.Notify();
}

void StreamFollower::OnMessage(natsConnection*, natsSubscription* sub, natsMsg* msg,
                               void* closure) {
  auto* self = static_cast<StreamFollower*>(closure);
  if (self->stopping_.load(std::memory_order_relaxed)) {
    natsMsg_Destroy(msg);
    return;
  }
  self->batch_.push_back(ToStreamMessage(msg, self->options_.all_headers));
  natsMsg_Destroy(msg);
  int pending = 0;
  natsSubscription_GetPending(sub, &pending, nullptr);
  if (pending == 0 || self->batch_.size() >= self->options_.max_batch) self->Flush();
}

void StreamFollower::Flush() {
  if (batch_.empty()) return;
  absl::Status st = handler_(batch_);
  if (!st.ok()) {
    LogError("cannot apply events to the local store; aborting (the state is rebuilt on restart)",
             {{"stream", options_.stream}, {"error", st.ToString()}});
    std::abort();
  }
  uint64_t last = batch_.back().sequence;
  if (FlowObserver* obs = js_.observer()) {
    const std::string consumer = absl::StrCat(options_.stream, "-follower");
    for (const StreamMessage& m : batch_) obs->Consumed(consumer, m.Header(kEventTypeHeader));
  }
  batch_.clear();
  absl::MutexLock lock(&mu_);
  if (last > applied_) applied_ = last;
}

uint64_t StreamFollower::applied() const {
  absl::MutexLock lock(&mu_);
  return applied_;
}

absl::Status StreamFollower::WaitApplied(uint64_t sequence, absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  auto reached = [this, sequence]()
                     ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return applied_ >= sequence; };
  if (mu_.AwaitWithDeadline(absl::Condition(&reached), deadline)) return absl::OkStatus();
  return absl::DeadlineExceededError(absl::StrCat("stream ", options_.stream, " applied up to ",
                                                  applied_, ", waiting for ", sequence));
}

absl::Status StreamFollower::CatchUp(absl::Time deadline) const {
  absl::StatusOr<uint64_t> last = js_.LastSequence(options_.stream);
  if (!last.ok()) return last.status();
  return WaitApplied(*last, deadline);
}

}  // namespace rentmesh::nats
