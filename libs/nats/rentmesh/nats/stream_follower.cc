#include "rentmesh/nats/stream_follower.h"

#include <algorithm>
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
  if (f->options_.stall_check > absl::ZeroDuration()) {
    StreamFollower* self = f.get();
    f->watcher_ = std::thread([self] { self->WatchStalls(); });
  }
  return f;
}

void StreamFollower::WatchStalls() {
  uint64_t seen = applied();
  while (!stop_watch_.WaitForNotificationWithTimeout(options_.stall_check)) {
    const uint64_t now = applied();
    if (now != seen) {  // delivery is moving
      seen = now;
      continue;
    }
    absl::StatusOr<uint64_t> last = js_.LastSequence(options_.stream);
    if (!last.ok() || *last <= now) continue;
    ReadTail(*last);
    seen = applied();
  }
}

StreamFollower::~StreamFollower() {
  stop_watch_.Notify();
  if (watcher_.joinable()) watcher_.join();
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
  StreamMessage m = ToStreamMessage(msg, self->options_.all_headers);
  natsMsg_Destroy(msg);
  if (self->options_.tamper_delivery) self->options_.tamper_delivery(m);
  int pending = 0;
  natsSubscription_GetPending(sub, &pending, nullptr);
  absl::MutexLock lock(&self->apply_mu_);
  self->Accept(std::move(m));
  if (pending == 0 || self->batch_.size() >= self->options_.max_batch) self->Flush();
}

void StreamFollower::Accept(StreamMessage m) const {
  if (m.sequence <= last_accepted_) return;  // delivered again after a reset
  if (m.sequence > last_accepted_ + 1) {
    LogWarn("stream follower: delivery skipped messages; reading them by sequence",
            {{"stream", options_.stream},
             {"from", absl::StrCat(last_accepted_ + 1)},
             {"to", absl::StrCat(m.sequence - 1)}});
    if (!FillGap(last_accepted_ + 1, m.sequence - 1)) return;  // this one waits too
  }
  if (each_from_leader_) {
    // Delivery only says that the stream moved; the message is the leader's.
    FillGap(m.sequence, m.sequence);
    return;
  }
  last_accepted_ = m.sequence;
  last_delivered_ = m.sequence;
  batch_.push_back(std::move(m));
}

bool StreamFollower::FillGap(uint64_t from, uint64_t to) const {
  for (uint64_t seq = from; seq <= to; ++seq) {
    // NOT_FOUND is not taken as "deleted": on a cluster a server that has
    // not caught up (or was cut off) answers so for a message the stream
    // holds. Our streams never delete; a follower waits rather than skip.
    absl::StatusOr<StreamMessage> m = js_.GetMessage(options_.stream, seq);
    if (!m.ok()) {
      LogWarn("stream follower: cannot read a missing message yet",
              {{"stream", options_.stream},
               {"sequence", absl::StrCat(seq)},
               {"error", m.status().ToString()}});
      return false;
    }
    ++gap_filled_;
    last_accepted_ = seq;
    batch_.push_back(std::move(*m));
    if (batch_.size() >= options_.max_batch) Flush();
  }
  return true;
}

bool StreamFollower::VerifyBatch() const {
  if (last_delivered_ == 0) {  // all read from the leader
    for (const StreamMessage& m : batch_) last_ts_ = std::max(last_ts_, m.timestamp_ns);
    return true;
  }
  auto delivered = std::find_if(batch_.rbegin(), batch_.rend(), [this](const StreamMessage& m) {
    return m.sequence == last_delivered_;
  });
  if (delivered == batch_.rend()) return true;
  absl::StatusOr<StreamMessage> truth = js_.GetMessage(options_.stream, last_delivered_);
  if (!truth.ok()) {
    LogWarn("stream follower: cannot compare delivered messages with the stream leader yet",
            {{"stream", options_.stream},
             {"sequence", absl::StrCat(last_delivered_)},
             {"error", truth.status().ToString()}});
    return false;
  }
  bool same = SameStoredMessage(*truth, *delivered);
  // A diverged copy may agree at the batch's last message and differ inside
  // it: a message stamped well before its predecessor is compared too.
  for (size_t i : same ? OlderThanPredecessor(batch_, last_ts_) : std::vector<size_t>()) {
    absl::StatusOr<StreamMessage> t = js_.GetMessage(options_.stream, batch_[i].sequence);
    if (!t.ok()) {
      LogWarn("stream follower: cannot compare a delivered message with the stream leader yet",
              {{"stream", options_.stream},
               {"sequence", absl::StrCat(batch_[i].sequence)},
               {"error", t.status().ToString()}});
      return false;
    }
    if (!SameStoredMessage(*t, batch_[i])) {
      same = false;
      break;
    }
  }
  if (same) {
    last_delivered_ = 0;
    for (const StreamMessage& m : batch_) last_ts_ = std::max(last_ts_, m.timestamp_ns);
    return true;
  }
  const uint64_t from = batch_.front().sequence;
  const uint64_t to = batch_.back().sequence;
  LogWarn(
      "stream follower: the server delivering this stream holds another history than the stream "
      "leader (a diverged replica); reading the batch from the leader",
      {{"stream", options_.stream},
       {"from", absl::StrCat(from)},
       {"to", absl::StrCat(to)},
       {"sequence", absl::StrCat(last_delivered_)}});
  replaced_ += batch_.size();
  // A diverged copy need not differ at every batch's last message (copies
  // that hold the same messages in another order agree at some sequences):
  // from now on every message is read from the leader.
  each_from_leader_ = true;
  if (FlowObserver* obs = js_.observer()) {
    obs->Diverged(absl::StrCat(options_.stream, "-follower"), batch_.size());
  }
  batch_.clear();
  last_delivered_ = 0;
  last_accepted_ = from - 1;
  // Flushes (and so applies) what it read as the batch fills; what it could
  // not read yet waits for the next delivery or CatchUp.
  FillGap(from, to);
  return true;
}

void StreamFollower::Flush() const {
  if (!batch_.empty()) {
    if (!VerifyBatch()) return;  // applied once it can be checked
  }
  if (!batch_.empty()) {
    absl::Status st = handler_(batch_);
    if (!st.ok()) {
      LogError("cannot apply events to the local store; aborting (the state is rebuilt on restart)",
               {{"stream", options_.stream}, {"error", st.ToString()}});
      std::abort();
    }
    if (FlowObserver* obs = js_.observer()) {
      const std::string consumer = absl::StrCat(options_.stream, "-follower");
      for (const StreamMessage& m : batch_) obs->Consumed(consumer, m.Header(kEventTypeHeader));
    }
    batch_.clear();
  }
  absl::MutexLock lock(&mu_);
  if (last_accepted_ > applied_) applied_ = last_accepted_;
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

absl::StatusOr<uint64_t> StreamFollower::FreshLastSequence(absl::Time deadline) const {
  end_mu_.Lock();
  // The first round to start after this call began.
  const uint64_t round = end_asked_ + 1;
  while (end_answered_ < round) {
    if (end_asked_ == end_answered_) {  // nothing out: ask (it is `round`)
      ++end_asked_;
      end_mu_.Unlock();
      absl::StatusOr<uint64_t> last = js_.LastSequence(options_.stream);
      end_mu_.Lock();
      end_answer_ = std::move(last);
      ++end_answered_;
      continue;
    }
    // A question is out: wait for it (and, if it was asked before this call,
    // for the next one, which the first caller to see it answered asks).
    auto moved = [this, answered = end_answered_]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(end_mu_) {
      return end_answered_ != answered;
    };
    if (!end_mu_.AwaitWithDeadline(absl::Condition(&moved), deadline)) {
      end_mu_.Unlock();
      return absl::DeadlineExceededError(
          absl::StrCat("no answer from the leader of ", options_.stream, " in time"));
    }
  }
  // Answers come in order, so the last one is from a round >= `round`.
  absl::StatusOr<uint64_t> answer = end_answer_;
  end_mu_.Unlock();
  return answer;
}

uint64_t StreamFollower::end_queries() const {
  absl::MutexLock lock(&end_mu_);
  return end_asked_;
}

absl::Status StreamFollower::CatchUp(absl::Time deadline) const {
  absl::StatusOr<uint64_t> last = FreshLastSequence(deadline);
  if (!last.ok()) return last.status();
  for (;;) {
    const uint64_t before = applied();
    absl::Time step = std::min(deadline, absl::Now() + absl::Seconds(1));
    absl::Status s = WaitApplied(*last, step);
    if (s.ok() || absl::Now() >= deadline) return s;
    if (applied() != before) continue;  // delivery is moving: let it
    // Delivery stalled short of the stream's end: read the tail ourselves.
    ReadTail(*last);
  }
}

void StreamFollower::ReadTail(uint64_t last) const {
  absl::MutexLock lock(&apply_mu_);
  if (last_accepted_ < last) {
    LogWarn("stream follower: delivery stalled; reading the tail by sequence",
            {{"stream", options_.stream},
             {"from", absl::StrCat(last_accepted_ + 1)},
             {"to", absl::StrCat(last)}});
    FillGap(last_accepted_ + 1, std::min(last, last_accepted_ + 10000));
  }
  Flush();
}

}  // namespace rentmesh::nats
