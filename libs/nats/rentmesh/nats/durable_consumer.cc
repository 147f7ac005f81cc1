#include "rentmesh/nats/durable_consumer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "rentmesh/common/log.h"

namespace rentmesh::nats {

absl::StatusOr<std::unique_ptr<DurableConsumer>> DurableConsumer::Start(JetStream& js,
                                                                        Options options,
                                                                        Handler handler) {
  absl::Status dl = js.EnsureStream(
      {kDeadLetterStream, {"deadletter.>"}, options.dead_letter_replicas, absl::Minutes(2)});
  if (!dl.ok()) return dl;
  std::unique_ptr<DurableConsumer> c(
      new DurableConsumer(js, std::move(options), std::move(handler)));
  jsSubOptions sub_opts;
  jsSubOptions_Init(&sub_opts);
  sub_opts.Stream = c->options_.stream.c_str();
  sub_opts.Config.Durable = c->options_.durable.c_str();
  sub_opts.Config.AckPolicy = js_AckExplicit;
  sub_opts.Config.DeliverPolicy = js_DeliverAll;
  sub_opts.Config.MaxDeliver = c->options_.max_deliver;
  sub_opts.Config.AckWait = absl::ToInt64Nanoseconds(c->options_.ack_wait);
  sub_opts.Config.MaxAckPending = 4096;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_PullSubscribe(&c->sub_, js.context(), c->options_.filter_subject.c_str(),
                                  c->options_.durable.c_str(), nullptr, &sub_opts, &jerr);
  if (s != NATS_OK) {
    return FromNatsStatus(s, jerr, absl::StrCat("durable consumer ", c->options_.durable));
  }
  c->thread_ = std::thread([p = c.get()] { p->Loop(); });
  return c;
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
    for (int i = 0; i < list.Count; ++i) {
      Handle(list.Msgs[i]);
      list.Msgs[i] = nullptr;
    }
    natsMsgList_Destroy(&list);
  }
}

void DurableConsumer::Handle(natsMsg* msg) {
  StreamMessage m = ToStreamMessage(msg);
  FlowObserver* obs = js_.observer();
  if (m.num_delivered > 1) {
    ++redelivered_;
    if (obs != nullptr) obs->Redelivered(options_.durable);
  }
  absl::Status st = handler_(m);
  if (st.ok()) {
    natsMsg_Ack(msg, nullptr);
    ++handled_;
    if (obs != nullptr) obs->Consumed(options_.durable, m.Header(kEventTypeHeader));
  } else if (m.num_delivered >= static_cast<uint64_t>(options_.max_deliver)) {
    PublishRequest dead;
    dead.subject = absl::StrCat("deadletter.", options_.durable);
    dead.data = m.data;
    dead.headers = m.headers;
    dead.headers.erase("Nats-Msg-Id");
    dead.headers.erase("Nats-Expected-Last-Subject-Sequence");
    dead.headers["Rentmesh-Dead-Letter-Stream"] = options_.stream;
    dead.headers["Rentmesh-Dead-Letter-Sequence"] = absl::StrCat(m.sequence);
    dead.headers["Rentmesh-Dead-Letter-Subject"] = m.subject;
    dead.headers["Rentmesh-Dead-Letter-Error"] = st.ToString();
    dead.msg_id = absl::StrCat(options_.durable, ":", options_.stream, ":", m.sequence);
    absl::StatusOr<PubAck> ack = js_.Publish(dead);
    if (ack.ok()) {
      natsMsg_Term(msg, nullptr);
      ++dead_lettered_;
      if (obs != nullptr) obs->DeadLettered(options_.durable);
      LogError("event dead-lettered", {{"consumer", options_.durable},
                                       {"subject", m.subject},
                                       {"sequence", absl::StrCat(m.sequence)},
                                       {"error", st.ToString()}});
    } else {
      natsMsg_Nak(msg, nullptr);  // keep it until the dead letter is stored
    }
  } else {
    int64_t backoff_ms = std::min<int64_t>(5000, 100LL << std::min<uint64_t>(m.num_delivered, 6));
    natsMsg_NakWithDelay(msg, backoff_ms, nullptr);
    LogWarn("event handling failed; will be redelivered", {{"consumer", options_.durable},
                                                           {"subject", m.subject},
                                                           {"sequence", absl::StrCat(m.sequence)},
                                                           {"error", st.ToString()}});
  }
  natsMsg_Destroy(msg);
}

}  // namespace rentmesh::nats
