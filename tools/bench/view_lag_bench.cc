// Event-to-view lag while rentals flow at a steady rate.
//
// Publishes 1,000 rentals/s for 10 s (each rental = RentalRequested +
// BookRented on RENTAL and PaymentApproved on PAYMENT, pipelined to JetStream
// as the writers would), with view_server following the streams. Ten
// customers each watch their page (WatchMyPage). A rental's lag runs from the
// moment its last event was handed to the publisher to the moment a watcher
// sees it complete (RENTED with its payment). Prints p50/p99/max.
#include <grpcpp/grpcpp.h>

#include <mutex>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "rentmesh/view/v1/view.grpc.pb.h"
#include "view_bench_support.h"

namespace rentmesh::view::bench {
namespace {

constexpr int kRate = 1000;  // rentals per second
const absl::Duration kRun = absl::Seconds(10);
constexpr int kCustomers = 10;

int Main() {
  testing::TempDir dir;
  auto nats_server = testing::NatsServer::Start();
  if (!nats_server.ok()) Die("nats-server", nats_server.status());
  auto js = nats::JetStream::Connect((*nats_server)->url(), "bench", absl::Seconds(10));
  if (!js.ok()) Die("connect", js.status());
  EnsureStreams(**js);
  ViewServerProcess view =
      ViewServerProcess::Start((*nats_server)->url(), dir.Sub("view"), dir.Sub("view.log"));
  auto stub = v1::ViewService::NewStub(
      grpc::CreateChannel(view.address, grpc::InsecureChannelCredentials()));

  const int total = static_cast<int>(kRate * absl::ToInt64Seconds(kRun));
  std::mutex mu;
  std::vector<absl::Time> published(total, absl::InfiniteFuture());
  std::vector<absl::Time> visible(total, absl::InfiniteFuture());

  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::thread> watchers;
  for (int c = 0; c < kCustomers; ++c) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    grpc::ClientContext* ctx = contexts.back().get();
    v1::WatchMyPageRequest req;
    req.set_customer_id(absl::StrCat("cust-", c));
    std::shared_ptr<grpc::ClientReader<v1::MyPageChange>> reader(stub->WatchMyPage(ctx, req));
    reader->WaitForInitialMetadata();
    watchers.emplace_back([reader, &mu, &visible] {
      v1::MyPageChange change;
      while (reader->Read(&change)) {
        const absl::Time now = absl::Now();
        const v1::RentalSummary& r = change.rental();
        if (r.status() != v1::RENTAL_STATE_RENTED || r.amount_paid().amount_minor() == 0) continue;
        int i = 0;
        if (!absl::SimpleAtoi(absl::StripPrefix(r.rental_id(), "r-"), &i)) continue;
        std::lock_guard<std::mutex> lock(mu);
        if (i >= 0 && i < static_cast<int>(visible.size()) &&
            visible[i] == absl::InfiniteFuture()) {
          visible[i] = now;
        }
      }
      reader->Finish();
    });
  }

  PipelinedPublisher pub(**js);
  const absl::Time start = absl::Now();
  for (int i = 0; i < total; ++i) {
    const absl::Time due = start + absl::Seconds(1) * i / kRate;
    const absl::Time now = absl::Now();
    if (due > now) absl::SleepFor(due - now);
    PublishRental(pub, absl::StrCat("r-", i), absl::StrCat("book-", i % 100),
                  absl::StrCat("cust-", i % kCustomers), absl::Now());
    const absl::Time handed = absl::Now();
    std::lock_guard<std::mutex> lock(mu);
    published[i] = handed;
  }
  const absl::Duration publishing = absl::Now() - start;
  pub.Drain();
  // Let the last ones arrive.
  const absl::Time settle = absl::Now() + absl::Seconds(3);
  while (absl::Now() < settle) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (std::none_of(visible.begin(), visible.end(),
                       [](absl::Time t) { return t == absl::InfiniteFuture(); })) {
        break;
      }
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  for (auto& ctx : contexts) ctx->TryCancel();
  for (auto& t : watchers) t.join();

  std::vector<double> lags_ms;
  int missing = 0;
  for (int i = 0; i < total; ++i) {
    if (visible[i] == absl::InfiniteFuture()) {
      ++missing;
      continue;
    }
    lags_ms.push_back(absl::ToDoubleMilliseconds(visible[i] - published[i]));
  }
  std::printf("published %d rentals (%d events) in %.2f s = %.0f rentals/s\n", total, total * 3,
              absl::ToDoubleSeconds(publishing), total / absl::ToDoubleSeconds(publishing));
  std::printf(
      "event-to-view lag (last event published -> WatchMyPage shows it RENTED and paid):\n");
  std::printf("  p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms  (%zu measured, %d not seen)\n",
              Percentile(lags_ms, 0.50), Percentile(lags_ms, 0.90), Percentile(lags_ms, 0.99),
              Percentile(lags_ms, 1.0), lags_ms.size(), missing);
  view.process->Stop(SIGTERM);
  return missing == 0 ? 0 : 1;
}

}  // namespace
}  // namespace rentmesh::view::bench

int main() { return rentmesh::view::bench::Main(); }
