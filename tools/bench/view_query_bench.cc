// View query throughput against the machine's gRPC floor.
//
// Seeds 5,000 rentals of 500 customers (15,000 events), starts view_server,
// then drives it with the same closed-loop client (16 calls in flight, one
// channel, callback API), in three interleaved 1 s rounds, for: the floor
// (grpc.health.v1.Health/Check, an empty unary call on the same server),
// GetMyPage (served from the view's first-page cache after the first read),
// GetMyPage with that cache defeated, and GetRentalStatus. Prints calls/s,
// p50/p99 and the ratio to the floor.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "rentmesh/view/v1/view.grpc.pb.h"
#include "view_bench_support.h"

namespace rentmesh::view::bench {
namespace {

constexpr int kCustomers = 500;
constexpr int kRentalsPerCustomer = 10;
constexpr int kInFlight = 16;
constexpr int kRounds = 3;
const absl::Duration kMeasure = absl::Seconds(1);

struct LoopResult {
  double per_second = 0;
  int64_t errors = 0;
  double p50_us = 0;
  double p99_us = 0;
};

// Keeps `in_flight` calls of `method` going for `duration`, cycling through
// the pre-serialized requests.
LoopResult ClosedLoop(grpc::GenericStub& stub, const std::string& method,
                      const std::vector<std::string>& requests, int in_flight,
                      absl::Duration duration) {
  struct Slot {
    std::unique_ptr<grpc::ClientContext> ctx;
    grpc::ByteBuffer request, response;
    absl::Time started;
  };
  std::mutex mu;
  std::condition_variable cv;
  int active = in_flight;
  std::vector<double> latencies;
  std::atomic<int64_t> done{0}, errors{0};
  std::atomic<size_t> next{0};
  const absl::Time start = absl::Now();
  const absl::Time end = start + duration;
  std::vector<Slot> slots(in_flight);

  std::function<void(Slot&)> issue = [&](Slot& slot) {
    slot.ctx = std::make_unique<grpc::ClientContext>();
    slot.ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    const std::string& body = requests[next.fetch_add(1) % requests.size()];
    grpc::Slice s(body);
    slot.request = grpc::ByteBuffer(&s, 1);
    slot.started = absl::Now();
    stub.UnaryCall(slot.ctx.get(), method, grpc::StubOptions(), &slot.request, &slot.response,
                   [&, slot_ptr = &slot](grpc::Status st) {
                     const absl::Time now = absl::Now();
                     if (!st.ok()) ++errors;
                     ++done;
                     {
                       std::lock_guard<std::mutex> lock(mu);
                       latencies.push_back(absl::ToDoubleMicroseconds(now - slot_ptr->started));
                     }
                     if (now < end) {
                       issue(*slot_ptr);
                       return;
                     }
                     std::lock_guard<std::mutex> lock(mu);
                     if (--active == 0) cv.notify_all();
                   });
  };
  for (Slot& s : slots) issue(s);
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return active == 0; });
  LoopResult r;
  r.per_second = done.load() / absl::ToDoubleSeconds(absl::Now() - start);
  r.errors = errors.load();
  r.p50_us = Percentile(latencies, 0.50);
  r.p99_us = Percentile(latencies, 0.99);
  return r;
}

LoopResult Median(std::vector<LoopResult> v) {
  std::sort(v.begin(), v.end(),
            [](const LoopResult& a, const LoopResult& b) { return a.per_second < b.per_second; });
  return v[v.size() / 2];
}

void Print(const char* name, const LoopResult& r, double floor) {
  std::printf("%-28s %9.0f calls/s  p50 %6.0f us  p99 %6.0f us  errors %lld", name, r.per_second,
              r.p50_us, r.p99_us, static_cast<long long>(r.errors));
  if (floor > 0) std::printf("  ratio to floor %.2f", r.per_second / floor);
  std::printf("\n");
}

int Main() {
  testing::TempDir dir;
  auto nats_server = testing::NatsServer::Start();
  if (!nats_server.ok()) Die("nats-server", nats_server.status());
  auto js = nats::JetStream::Connect((*nats_server)->url(), "bench", absl::Seconds(10));
  if (!js.ok()) Die("connect", js.status());
  EnsureStreams(**js);
  {
    PipelinedPublisher pub(**js);
    const absl::Time t0 = absl::Now() - absl::Hours(24 * 30);
    for (int c = 0; c < kCustomers; ++c) {
      for (int i = 0; i < kRentalsPerCustomer; ++i) {
        PublishRental(pub, absl::StrCat("r-", c, "-", i), absl::StrCat("book-", i % 50),
                      absl::StrCat("cust-", c), t0 + absl::Minutes(c * kRentalsPerCustomer + i));
      }
    }
    pub.Drain();
  }
  ViewServerProcess view =
      ViewServerProcess::Start((*nats_server)->url(), dir.Sub("view"), dir.Sub("view.log"));
  std::printf("seeded %d rentals (%d events); view_server ready in %.0f ms\n",
              kCustomers * kRentalsPerCustomer, kCustomers * kRentalsPerCustomer * 3,
              absl::ToDoubleMilliseconds(view.start_to_serving));

  auto channel = grpc::CreateChannel(view.address, grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  std::vector<std::string> health = {std::string()};
  std::vector<std::string> my_page, my_page_uncached, status;
  for (int c = 0; c < kCustomers; ++c) {
    v1::GetMyPageRequest req;
    req.set_customer_id(absl::StrCat("cust-", c));
    my_page.push_back(req.SerializeAsString());
    // The view caches first pages per (customer, page size); alternating
    // between two sizes that both hold the whole page defeats the cache.
    for (int size : {10, 11}) {
      req.set_page_size(size);
      my_page_uncached.push_back(req.SerializeAsString());
    }
    v1::GetRentalStatusRequest sreq;
    sreq.set_rental_id(absl::StrCat("r-", c, "-", c % kRentalsPerCustomer));
    status.push_back(sreq.SerializeAsString());
  }
  ClosedLoop(stub, "/grpc.health.v1.Health/Check", health, kInFlight, absl::Milliseconds(500));
  std::printf(
      "client: %d calls in flight on one channel; %d interleaved rounds of %s each, "
      "median of the rounds\n",
      kInFlight, kRounds, absl::FormatDuration(kMeasure).c_str());
  // The machine is shared: interleaving the three loops exposes them to the same load.
  std::vector<LoopResult> floors, pages, cold_pages, statuses;
  for (int round = 0; round < kRounds; ++round) {
    floors.push_back(ClosedLoop(stub, "/grpc.health.v1.Health/Check", health, kInFlight, kMeasure));
    pages.push_back(
        ClosedLoop(stub, "/rentmesh.view.v1.ViewService/GetMyPage", my_page, kInFlight, kMeasure));
    cold_pages.push_back(ClosedLoop(stub, "/rentmesh.view.v1.ViewService/GetMyPage",
                                    my_page_uncached, kInFlight, kMeasure));
    statuses.push_back(ClosedLoop(stub, "/rentmesh.view.v1.ViewService/GetRentalStatus", status,
                                  kInFlight, kMeasure));
  }
  LoopResult floor = Median(floors), page = Median(pages), cold = Median(cold_pages),
             one = Median(statuses);
  Print("floor (Health/Check)", floor, 0);
  Print("GetMyPage (10 rentals)", page, floor.per_second);
  Print("GetMyPage, page cache missed", cold, floor.per_second);
  Print("GetRentalStatus (timeline)", one, floor.per_second);
  int64_t errors = 0;
  for (const auto* v : {&floors, &pages, &cold_pages, &statuses}) {
    for (const LoopResult& r : *v) errors += r.errors;
  }
  view.process->Stop(SIGTERM);
  return errors == 0 ? 0 : 1;
}

}  // namespace
}  // namespace rentmesh::view::bench

int main() { return rentmesh::view::bench::Main(); }
