#pragma once

// Shared pieces of the view benchmarks: a nats-server, the view_server binary,
// a pipelined JetStream publisher of realistic envelopes, percentiles.

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <nats/nats.h>

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "rentmesh/events/envelope.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/testing/nats_server.h"
#include "rentmesh/testing/subprocess.h"
#include "rentmesh/testing/test_env.h"

namespace rentmesh::view::bench {

[[noreturn]] inline void Die(absl::string_view what, const absl::Status& s) {
  std::fprintf(stderr, "%s: %s\n", std::string(what).c_str(), s.ToString().c_str());
  std::exit(1);
}

inline common::v1::Money Krw(int64_t minor) {
  common::v1::Money m;
  m.set_currency("KRW");
  m.set_amount_minor(minor);
  return m;
}

// Publishes without waiting for each acknowledgement (NATS.c async publish),
// as a busy writer fleet would; Drain() waits for every ack.
class PipelinedPublisher {
 public:
  explicit PipelinedPublisher(nats::JetStream& js) {
    jsOptions o;
    jsOptions_Init(&o);
    o.PublishAsync.MaxPending = 8192;
    o.PublishAsync.StallWait = 10000;
    natsConnection_JetStream(&js_, js.connection(), &o);
  }
  ~PipelinedPublisher() { jsCtx_Destroy(js_); }

  void Publish(const events::v1::Envelope& env, const std::string& subject) {
    nats::PublishRequest r = events::ToPublishRequest(env, subject, std::nullopt);
    natsMsg* m = nullptr;
    natsMsg_Create(&m, r.subject.c_str(), nullptr, r.data.data(), static_cast<int>(r.data.size()));
    natsMsgHeader_Set(m, "Nats-Msg-Id", r.msg_id.c_str());
    for (const auto& [k, v] : r.headers) natsMsgHeader_Set(m, k.c_str(), v.c_str());
    natsStatus s = js_PublishMsgAsync(js_, &m, nullptr);
    if (s != NATS_OK) {
      natsMsg_Destroy(m);
      Die("async publish", absl::InternalError(natsStatus_GetText(s)));
    }
  }
  void Drain() {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 30000;
    if (natsStatus s = js_PublishAsyncComplete(js_, &po); s != NATS_OK) {
      Die("waiting for publish acks", absl::InternalError(natsStatus_GetText(s)));
    }
  }

 private:
  jsCtx* js_ = nullptr;
};

// One rental as the writers record it: RentalRequested and BookRented on
// rental.book.<book>, PaymentApproved on payment.rental.<rental>.
inline void PublishRental(PipelinedPublisher& pub, const std::string& rental,
                          const std::string& book, const std::string& customer, absl::Time at) {
  auto seal = [&](events::v1::Envelope& env, const char* type) {
    events::EnvelopeHeader h;
    h.aggregate_type = type;
    h.aggregate_id = type[0] == 'p' ? absl::StrCat("pay-", rental) : book;
    h.correlation_id = rental;
    h.occurred_at = at;
    h.producer = "bench";
    events::Seal(h, env);
  };
  events::v1::Envelope requested;
  auto* rq = requested.mutable_rental_requested();
  rq->set_rental_id(rental);
  rq->set_book_id(book);
  rq->set_customer_id(customer);
  rq->set_days(3);
  *rq->mutable_fee() = Krw(3000);
  rq->set_book_title("Dune");
  seal(requested, "book");
  pub.Publish(requested, absl::StrCat("rental.book.", book));

  events::v1::Envelope rented;
  auto* br = rented.mutable_book_rented();
  br->set_rental_id(rental);
  br->set_book_id(book);
  br->set_customer_id(customer);
  br->set_days(3);
  *br->mutable_fee() = Krw(3000);
  br->set_payment_id(absl::StrCat("pay-", rental));
  *br->mutable_rented_at() = events::ToProtoTime(at);
  *br->mutable_due_at() = events::ToProtoTime(at + absl::Hours(72));
  br->set_book_title("Dune");
  seal(rented, "book");
  pub.Publish(rented, absl::StrCat("rental.book.", book));

  events::v1::Envelope paid;
  auto* pa = paid.mutable_payment_approved();
  pa->set_payment_id(absl::StrCat("pay-", rental));
  pa->set_rental_id(rental);
  pa->set_customer_id(customer);
  *pa->mutable_amount() = Krw(3000);
  seal(paid, "payment");
  pub.Publish(paid, absl::StrCat("payment.rental.", rental));
}

inline void EnsureStreams(nats::JetStream& js) {
  for (auto [name, subjects] : {std::pair<const char*, const char*>{"RENTAL", "rental.>"},
                                {"PAYMENT", "payment.>"},
                                {"RETURNS", "returns.>"}}) {
    if (absl::Status s = js.EnsureStream({name, {subjects}, 1, absl::Minutes(2)}); !s.ok()) {
      Die("ensure stream", s);
    }
  }
}

// The view_server binary on a free loopback port, serving once caught up.
struct ViewServerProcess {
  std::string address;
  std::unique_ptr<testing::Subprocess> process;
  absl::Duration start_to_serving;

  static ViewServerProcess Start(const std::string& nats_url, const std::string& data_dir,
                                 const std::string& log_path) {
    ViewServerProcess v;
    v.address = testing::FreeLoopbackAddress();
    const absl::Time start = absl::Now();
    v.process = std::make_unique<testing::Subprocess>(
        std::vector<std::string>{testing::ServiceBinary("view"), "--grpc_address=" + v.address,
                                 "--admin_address=" + testing::FreeLoopbackAddress(),
                                 "--nats_url=" + nats_url, "--data_dir=" + data_dir},
        log_path);
    if (absl::Status s = WaitServing(v.address, start + absl::Seconds(60)); !s.ok()) {
      Die("view_server did not become ready", s);
    }
    v.start_to_serving = absl::Now() - start;
    return v;
  }

  // Polls grpc.health.v1 every 10 ms on a fresh channel each time, so the
  // figure is not stretched by a channel's reconnect backoff.
  static absl::Status WaitServing(const std::string& address, absl::Time deadline) {
    while (absl::Now() < deadline) {
      auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
      grpc::GenericStub stub(channel);
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
      grpc::Slice empty("");  // HealthCheckRequest{service: ""} is empty
      grpc::ByteBuffer request(&empty, 1), response;
      std::mutex mu;
      std::condition_variable cv;
      std::optional<grpc::Status> status;
      stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                     [&](grpc::Status st) {
                       std::lock_guard<std::mutex> lock(mu);
                       status = std::move(st);
                       cv.notify_all();
                     });
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return status.has_value(); });
      }
      std::vector<grpc::Slice> slices;
      if (status->ok() && response.Dump(&slices).ok()) {
        std::string bytes;
        for (const grpc::Slice& sl : slices) {
          bytes.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
        }
        if (bytes == std::string("\x08\x01", 2)) return absl::OkStatus();  // SERVING
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    return absl::DeadlineExceededError(absl::StrCat(address, " did not report SERVING"));
  }
};

inline double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * (v.size() - 1));
  return v[i];
}

}  // namespace rentmesh::view::bench
