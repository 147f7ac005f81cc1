#include "rentmesh/nats/durable_consumer.h"

#include <algorithm>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "rentmesh/common/log.h"

namespace rentmesh::nats {

bool IsPermanentError(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kUnimplemented:
      return true;
    default:
      return false;
  }
}

absl::Duration RedeliveryBackoff(uint64_t num_delivered, absl::Duration initial,
                                 absl::Duration max) {
  absl::Duration d = initial;
  for (uint64_t i = 1; i < num_delivered && d < max; ++i) d *= 2;
  return std::min(d, max);
}

absl::StatusOr<std::unique_ptr<DurableConsumer>> DurableConsumer::Start(JetStream& js,
                                                                        Options options,
                                                                        Handler handler) {
  if (options.max_deliver < 1) return absl::InvalidArgumentError("max_deliver must be at least 1");
  if (options.batch < 1) return absl::InvalidArgumentError("batch must be at least 1");
  StreamSpec dl{
      kDeadLetterStream, {"deadletter.>"}, options.dead_letter_replicas, absl::Minutes(2)};
  dl.discard_new = false;  // dead letters may age out; they never block the consumers
  dl.max_age = options.dead_letter_max_age;
  dl.max_bytes = options.dead_letter_max_bytes;
  if (absl::Status s = js.EnsureStream(dl); !s.ok()) return s;
  std::unique_ptr<DurableConsumer> c(
      new DurableConsumer(js, std::move(options), std::move(handler)));
  if (absl::Status s = c->CreateOrUpdate(); !s.ok()) return s;
  jsSubOptions sub_opts;
  jsSubOptions_Init(&sub_opts);
  sub_opts.Stream = c->options_.stream.c_str();
  sub_opts.Consumer = c->options_.durable.c_str();  // bind to the durable set up above
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_PullSubscribe(&c->sub_, js.context(), c->options_.filter_subject.c_str(),
                                  c->options_.durable.c_str(), nullptr, &sub_opts, &jerr);
  if (s != NATS_OK) {
    return FromNatsStatus(s, jerr, absl::StrCat("durable consumer ", c->options_.durable));
  }
  c->thread_ = std::thread([p = c.get()] { p->Loop(); });
  return c;
}

absl::Status DurableConsumer::CreateOrUpdate() {
  jsConsumerConfig cfg;
  jsConsumerConfig_Init(&cfg);
  cfg.Durable = options_.durable.c_str();
  cfg.FilterSubject = options_.filter_subject.c_str();
  cfg.AckPolicy = js_AckExplicit;
  cfg.DeliverPolicy = js_DeliverAll;
  // Unlimited on the server: this class decides when a message is given up
  // (dead-lettered), so the server never drops one on its own.
  cfg.MaxDeliver = -1;
  cfg.AckWait = absl::ToInt64Nanoseconds(options_.ack_wait);
  cfg.MaxAckPending = 4096;

  jsConsumerInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetConsumerInfo(&info, js_.context(), options_.stream.c_str(),
                                    options_.durable.c_str(), nullptr, &jerr);
  if (s == NATS_OK) {
    const bool same = info->Config != nullptr && info->Config->MaxDeliver == cfg.MaxDeliver &&
                      info->Config->AckWait == cfg.AckWait &&
                      info->Config->MaxAckPending == cfg.MaxAckPending;
    jsConsumerInfo_Destroy(info);
    if (same) return absl::OkStatus();
    // A durable an older version created (e.g. with MaxDeliver 5): bring it
    // to these settings; its position and pending messages stay.
    info = nullptr;
    jerr = static_cast<jsErrCode>(0);
    s = js_UpdateConsumer(&info, js_.context(), options_.stream.c_str(), &cfg, nullptr, &jerr);
    if (info != nullptr) jsConsumerInfo_Destroy(info);
    return FromNatsStatus(s, jerr, absl::StrCat("update durable consumer ", options_.durable));
  }
  info = nullptr;
  jerr = static_cast<jsErrCode>(0);
  s = js_AddConsumer(&info, js_.context(), options_.stream.c_str(), &cfg, nullptr, &jerr);
  if (info != nullptr) jsConsumerInfo_Destroy(info);
  if (s != NATS_OK && (jerr == JSConsumerNameExistErr || jerr == JSConsumerExistingActiveErr)) {
    return CreateOrUpdate();  // another replica created it meanwhile
  }
  return FromNatsStatus(s, jerr, absl::StrCat("create durable consumer ", options_.durable));
}

DurableConsumer::~DurableConsumer() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  if (sub_ != nullptr) natsSubscription_Destroy(sub_);  // keeps the durable on the server
}

absl::StatusOr<uint64_t> DurableConsumer::Pending() const {
  // Asked of the stream's consumer by name: the subscription's own info call
  // fails when this instance joined a durable an earlier one created.
  jsConsumerInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetConsumerInfo(&info, js_.context(), options_.stream.c_str(),
                                    options_.durable.c_str(), nullptr, &jerr);
  if (s != NATS_OK) return FromNatsStatus(s, jerr, "consumer info");
  uint64_t pending =
      info->NumPending + static_cast<uint64_t>(std::max<int64_t>(0, info->NumAckPending));
  jsConsumerInfo_Destroy(info);
  return pending;
}

void DurableConsumer::Loop() {
  const int64_t wait_ms = absl::ToInt64Milliseconds(options_.fetch_wait);
  // Messages still in hand are told "in progress" this often, so that none
  // waits past AckWait behind slower ones.
  const absl::Duration progress_every = options_.ack_wait / 3;
  while (!stopping_) {
    natsMsgList list{nullptr, 0};
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = natsSubscription_Fetch(&list, sub_, options_.batch, wait_ms, &jerr);
    if (s == NATS_TIMEOUT) continue;
    if (s != NATS_OK) {
      // Disconnected or the server is restarting: NATS.c reconnects; try again shortly.
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    std::vector<StreamMessage> fetched;
    fetched.reserve(list.Count);
    for (int i = 0; i < list.Count; ++i) {
      fetched.push_back(ToStreamMessage(list.Msgs[i]));
      if (options_.tamper_delivery) options_.tamper_delivery(fetched.back());
    }
    std::vector<bool> from_leader;
    if (!ToLeaderCopies(fetched, from_leader)) {
      for (int i = 0; i < list.Count; ++i) Nak(list.Msgs[i], fetched[i]);
      natsMsgList_Destroy(&list);
      continue;
    }
    absl::Time signalled = absl::Now();
    for (int i = 0; i < list.Count; ++i) {
      if (absl::Now() - signalled >= progress_every) {
        for (int j = i; j < list.Count; ++j) {
          natsStatus ps = natsMsg_InProgress(list.Msgs[j], nullptr);
          if (ps != NATS_OK) {
            StreamMessage m = ToStreamMessage(list.Msgs[j], false);
            CheckAck(ps, static_cast<jsErrCode>(0), "in_progress", m);
          }
        }
        signalled = absl::Now();
      }
      Handle(list.Msgs[i], std::move(fetched[i]), from_leader[i]);
      list.Msgs[i] = nullptr;
    }
    natsMsgList_Destroy(&list);
  }
}

void DurableConsumer::CheckAck(natsStatus s, jsErrCode jerr, const char* op,
                               const StreamMessage& m) {
  if (s == NATS_OK) return;
  ++ack_failures_;
  if (FlowObserver* obs = js_.observer()) obs->AckFailed(options_.durable, op);
  const std::string seq = absl::StrCat(m.sequence);
  const std::string error = FromNatsStatus(s, jerr, op).ToString();
  LogWarn("acknowledgement not taken by the server; the message comes back after AckWait",
          {{"consumer", options_.durable},
           {"op", op},
           {"subject", m.subject},
           {"sequence", seq},
           {"error", error}});
}

void DurableConsumer::Nak(natsMsg* msg, const StreamMessage& m) {
  absl::Duration delay =
      RedeliveryBackoff(m.num_delivered, options_.backoff_initial, options_.backoff_max);
  CheckAck(natsMsg_NakWithDelay(msg, absl::ToInt64Milliseconds(delay), nullptr),
           static_cast<jsErrCode>(0), "nak", m);
}

absl::Status DurableConsumer::DeadLetterOf(const StreamMessage& m, const absl::Status& error) {
  PublishRequest dead;
  dead.subject = absl::StrCat("deadletter.", options_.durable);
  dead.data = m.data;
  dead.headers = m.headers;
  dead.headers.erase("Nats-Msg-Id");
  dead.headers.erase("Nats-Expected-Last-Subject-Sequence");
  dead.headers[kDeadLetterStreamHeader] = options_.stream;
  dead.headers[kDeadLetterSequenceHeader] = absl::StrCat(m.sequence);
  dead.headers[kDeadLetterSubjectHeader] = m.subject;
  dead.headers[kDeadLetterConsumerHeader] = options_.durable;
  dead.headers[kDeadLetterErrorHeader] = error.ToString();
  dead.headers[kDeadLetterDeliveriesHeader] = absl::StrCat(m.num_delivered);
  // A retry after a crash between storing and terminating stores it once.
  dead.msg_id = absl::StrCat(options_.durable, ":", options_.stream, ":", m.sequence);
  return js_.Publish(dead).status();
}

namespace {

// NATS subject matching: `*` one token, `>` the rest (at least one token).
bool SubjectMatches(absl::string_view filter, absl::string_view subject) {
  std::vector<absl::string_view> f = absl::StrSplit(filter, '.');
  std::vector<absl::string_view> t = absl::StrSplit(subject, '.');
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] == ">") return t.size() > i;
    if (i >= t.size() || (f[i] != "*" && f[i] != t[i])) return false;
  }
  return f.size() == t.size();
}

}  // namespace

bool DurableConsumer::ToLeaderCopies(std::vector<StreamMessage>& fetched,
                                     std::vector<bool>& from_leader) {
  from_leader.assign(fetched.size(), false);
  if (fetched.empty()) return true;
  // True when `m` was replaced by the leader's copy; nullopt when the leader
  // could not be asked.
  auto to_leader = [this](StreamMessage& m) -> std::optional<bool> {
    absl::StatusOr<StreamMessage> truth = js_.GetMessage(options_.stream, m.sequence);
    if (!truth.ok()) {
      LogWarn("durable consumer: cannot compare a delivered message with the stream leader yet",
              {{"consumer", options_.durable},
               {"sequence", absl::StrCat(m.sequence)},
               {"error", truth.status().ToString()}});
      return std::nullopt;
    }
    if (SameStoredMessage(*truth, m)) return false;
    truth->num_delivered = m.num_delivered;
    m = std::move(*truth);
    return true;
  };
  std::optional<bool> last = to_leader(fetched.back());
  if (!last.has_value()) return false;
  if (!*last) {
    // A diverged copy may agree at the batch's last message and differ
    // inside it: a message stamped well before its predecessor is compared
    // too (a redelivered one is, needlessly but harmlessly).
    bool inside = false;
    for (size_t i : OlderThanPredecessor(fetched, 0)) {
      std::optional<bool> r = to_leader(fetched[i]);
      if (!r.has_value()) return false;
      if (*r) {
        from_leader[i] = true;
        inside = true;
      }
    }
    if (!inside) return true;
  } else {
    from_leader.back() = true;
  }
  for (size_t i = 0; i + 1 < fetched.size(); ++i) {
    if (from_leader[i]) continue;  // replaced above
    std::optional<bool> r = to_leader(fetched[i]);
    if (!r.has_value()) return false;
    from_leader[i] = *r;
  }
  const uint64_t replaced =
      static_cast<uint64_t>(std::count(from_leader.begin(), from_leader.end(), true));
  LogWarn(
      "durable consumer: the server delivering holds another history than the stream leader (a "
      "diverged replica); handling the leader's messages instead",
      {{"consumer", options_.durable}, {"messages", absl::StrCat(replaced)}});
  diverged_ += replaced;
  if (FlowObserver* obs = js_.observer()) obs->Diverged(options_.durable, replaced);
  return true;
}

void DurableConsumer::Handle(natsMsg* msg, StreamMessage m, bool from_leader) {
  FlowObserver* obs = js_.observer();
  if (from_leader && !options_.filter_subject.empty() &&
      !SubjectMatches(options_.filter_subject, m.subject)) {
    // The leader's message at this sequence is not for this consumer.
    jsErrCode jerr = static_cast<jsErrCode>(0);
    CheckAck(natsMsg_AckSync(msg, nullptr, &jerr), jerr, "ack", m);
    natsMsg_Destroy(msg);
    return;
  }
  if (m.num_delivered > 1) {
    ++redelivered_;
    if (obs != nullptr) obs->Redelivered(options_.durable);
  }
  absl::Status st = handler_(m);
  const std::string seq = absl::StrCat(m.sequence);
  const std::string deliveries = absl::StrCat(m.num_delivered);
  const std::string error = st.ToString();
  if (st.ok()) {
    jsErrCode jerr = static_cast<jsErrCode>(0);
    CheckAck(natsMsg_AckSync(msg, nullptr, &jerr), jerr, "ack", m);
    ++handled_;
    if (obs != nullptr) obs->Consumed(options_.durable, m.Header(kEventTypeHeader));
  } else if (IsPermanentError(st) ||
             m.num_delivered >= static_cast<uint64_t>(options_.max_deliver)) {
    absl::Status dead = DeadLetterOf(m, st);
    if (dead.ok()) {
      CheckAck(natsMsg_Term(msg, nullptr), static_cast<jsErrCode>(0), "term", m);
      ++dead_lettered_;
      if (obs != nullptr) obs->DeadLettered(options_.durable);
      LogError("event dead-lettered", {{"consumer", options_.durable},
                                       {"subject", m.subject},
                                       {"sequence", seq},
                                       {"deliveries", deliveries},
                                       {"error", error}});
    } else {
      // Never dropped: kept on the stream and tried again later.
      ++dead_letter_failures_;
      if (obs != nullptr) obs->DeadLetterFailed(options_.durable);
      const std::string dead_error = dead.ToString();
      LogError("cannot store the dead letter; the message is kept and retried",
               {{"consumer", options_.durable},
                {"subject", m.subject},
                {"sequence", seq},
                {"deliveries", deliveries},
                {"error", error},
                {"dead_letter_error", dead_error}});
      Nak(msg, m);
    }
  } else {
    Nak(msg, m);
    LogWarn("event handling failed; will be redelivered", {{"consumer", options_.durable},
                                                           {"subject", m.subject},
                                                           {"sequence", seq},
                                                           {"deliveries", deliveries},
                                                           {"error", error}});
  }
  natsMsg_Destroy(msg);
}

absl::StatusOr<std::vector<DeadLetter>> DurableConsumer::DeadLetters(size_t limit) const {
  std::vector<DeadLetter> out;
  const std::string subject = absl::StrCat("deadletter.", options_.durable);
  uint64_t next = 1;
  while (out.size() < limit) {
    jsDirectGetMsgOptions dg;
    jsDirectGetMsgOptions_Init(&dg);
    dg.Sequence = next;
    dg.NextBySubject = subject.c_str();
    natsMsg* raw = nullptr;
    natsStatus s = js_DirectGetMsg(&raw, js_.context(), kDeadLetterStream, nullptr, &dg);
    if (s == NATS_NOT_FOUND) break;
    if (s != NATS_OK) return FromNatsStatus(s, static_cast<jsErrCode>(0), "list dead letters");
    StreamMessage m = ToStreamMessage(raw);
    natsMsg_Destroy(raw);
    DeadLetter d;
    d.sequence = m.sequence;
    d.stream = m.Header(kDeadLetterStreamHeader);
    (void)absl::SimpleAtoi(m.Header(kDeadLetterSequenceHeader), &d.original_sequence);
    d.subject = m.Header(kDeadLetterSubjectHeader);
    d.consumer = m.Header(kDeadLetterConsumerHeader);
    if (d.consumer.empty()) d.consumer = options_.durable;
    d.error = m.Header(kDeadLetterErrorHeader);
    (void)absl::SimpleAtoi(m.Header(kDeadLetterDeliveriesHeader), &d.deliveries);
    d.timestamp_ns = m.timestamp_ns;
    out.push_back(std::move(d));
    if (m.sequence < next) break;  // defensive: never loop on one message
    next = m.sequence + 1;
  }
  return out;
}

absl::Status DurableConsumer::Replay(uint64_t dead_letter_sequence) {
  absl::StatusOr<StreamMessage> dead = js_.GetMessage(kDeadLetterStream, dead_letter_sequence);
  if (!dead.ok()) return dead.status();
  const std::string consumer = dead->Header(kDeadLetterConsumerHeader);
  const std::string expected_subject = absl::StrCat("deadletter.", options_.durable);
  if (dead->subject != expected_subject || (!consumer.empty() && consumer != options_.durable)) {
    return absl::InvalidArgumentError(absl::StrCat("dead letter ", dead_letter_sequence,
                                                   " belongs to ", dead->subject, ", not to ",
                                                   options_.durable));
  }
  const std::string stream = dead->Header(kDeadLetterStreamHeader);
  uint64_t original = 0;
  if (stream != options_.stream ||
      !absl::SimpleAtoi(dead->Header(kDeadLetterSequenceHeader), &original) || original == 0) {
    return absl::InvalidArgumentError(absl::StrCat("dead letter ", dead_letter_sequence,
                                                   " does not name a message of stream ",
                                                   options_.stream));
  }
  absl::StatusOr<StreamMessage> msg = js_.GetMessage(stream, original);
  if (!msg.ok()) return msg.status();
  uint64_t deliveries = 0;
  (void)absl::SimpleAtoi(dead->Header(kDeadLetterDeliveriesHeader), &deliveries);
  msg->num_delivered = deliveries + 1;
  absl::Status st = handler_(*msg);
  const std::string dl_seq = absl::StrCat(dead_letter_sequence);
  const std::string orig_seq = absl::StrCat(original);
  if (!st.ok()) {
    const std::string error = st.ToString();
    LogWarn("dead letter replay failed; the dead letter is kept", {{"consumer", options_.durable},
                                                                   {"dead_letter", dl_seq},
                                                                   {"subject", msg->subject},
                                                                   {"sequence", orig_seq},
                                                                   {"error", error}});
    return st;
  }
  absl::Status del = js_.DeleteMessage(kDeadLetterStream, dead_letter_sequence);
  if (!del.ok() && !absl::IsNotFound(del)) return del;
  LogInfo("dead letter replayed and removed", {{"consumer", options_.durable},
                                               {"dead_letter", dl_seq},
                                               {"subject", msg->subject},
                                               {"sequence", orig_seq}});
  return absl::OkStatus();
}

}  // namespace rentmesh::nats
