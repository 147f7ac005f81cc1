// The REST shim's cost: the same read (GetBook) and write (StockBook) calls,
// at the same closed-loop load (N concurrent clients, M requests each), sent
//   (a) through the gateway: HTTP/1.1 keep-alive + JSON -> gateway -> gRPC, and
//   (b) directly over gRPC to the same backend,
// printing p50/p99/mean latency, throughput and the gateway/direct ratios.
//
// By default it starts in-process backends (the gateway tests' fakes) and an
// in-process gateway on 127.0.0.1 (auth off, to measure the shim itself;
// --jwt adds RS256 verification per request). With --rental_address it
// targets a running rental service instead (the gateway still runs
// in-process, pointing at it). Loopback only; bounded by --requests.
#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gateway/adapters/grpc_backend_caller.h"
#include "gateway/adapters/http_gateway_server.h"
#include "gateway/core/gateway_handler.h"
#include "rentmesh/rental/v1/rental.grpc.pb.h"
#include "testing/fake_services.h"
#include "testing/test_keys.h"

ABSL_FLAG(int, concurrency, 8, "concurrent clients per run");
ABSL_FLAG(int, requests, 2000, "requests per client per run (after warm-up)");
ABSL_FLAG(int, warmup, 100, "warm-up requests per client per run");
ABSL_FLAG(std::string, rental_address, "", "a running rental service (default: in-process fake)");
ABSL_FLAG(bool, jwt, false, "verify an RS256 JWT on every gateway request");
ABSL_FLAG(bool, read_token, false,
          "reads carry the book's consistency token (answered from the replica's state once "
          "applied, no question to the stream leader)");

namespace rentmesh::gateway {
namespace {

namespace rv1 = rentmesh::rental::v1;
using Clock = std::chrono::steady_clock;

struct Stats {
  double p50_us = 0, p99_us = 0, mean_us = 0, rps = 0;
  int errors = 0;
};

// Runs `call` (returns false on error) `requests` times on each of
// `concurrency` threads after a warm-up; latencies of all threads pooled.
template <typename MakeWorker>
Stats Run(int concurrency, int requests, int warmup, MakeWorker make_worker) {
  std::vector<std::vector<double>> lat(concurrency);
  std::atomic<int> errors{0};
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&, t] {
      auto call = make_worker(t);
      for (int i = 0; i < warmup; ++i) call(i);
      ready++;
      while (!go) std::this_thread::yield();
      lat[t].reserve(requests);
      for (int i = 0; i < requests; ++i) {
        const auto start = Clock::now();
        if (!call(warmup + i)) errors++;
        lat[t].push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
      }
    });
  }
  while (ready < concurrency) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const auto start = Clock::now();
  go = true;
  for (auto& th : threads) th.join();
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  Stats s;
  s.p50_us = all[all.size() / 2];
  s.p99_us = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  double sum = 0;
  for (double v : all) sum += v;
  s.mean_us = sum / all.size();
  s.rps = all.size() / secs;
  s.errors = errors;
  return s;
}

void Print(const char* name, const Stats& s) {
  absl::PrintF("  %-28s p50 %8.1f us  p99 %8.1f us  mean %8.1f us  %9.0f req/s  errors %d\n", name,
               s.p50_us, s.p99_us, s.mean_us, s.rps, s.errors);
}

int Main() {
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  const int requests = absl::GetFlag(FLAGS_requests);
  const int warmup = absl::GetFlag(FLAGS_warmup);

  std::unique_ptr<testing::FakeBackends> fakes;
  std::string rental = absl::GetFlag(FLAGS_rental_address);
  if (rental.empty()) {
    fakes = testing::FakeBackends::Start();
    rental = fakes->Addresses()["rental"];
  }
  auto routes = RouteTable::FromServices({rv1::Book::descriptor()->file()->service(0)});
  auto caller = GrpcBackendCaller::Create({{"rental", rental}});
  if (!routes.ok() || !caller.ok()) return 1;
  std::unique_ptr<JwtVerifier> verifier;
  std::string token;
  if (absl::GetFlag(FLAGS_jwt)) {
    const testing::KeyPair keys = testing::GenerateRsaKeyPair();
    JwtVerifierConfig c;
    c.public_key_pem = keys.public_pem;
    verifier = *JwtVerifier::Create(c);
    // A librarian: StockBook needs the role when an identity is present.
    token = testing::MintToken("RS256", keys.private_pem,
                               R"({"sub":"bench","roles":["librarian"],"exp":4102444800})");
  }
  GatewayHandler handler(GatewayOptions{}, *routes, **caller, std::move(verifier));
  HttpServerOptions http;
  http.port = 0;
  http.threads = std::max(16, concurrency * 2);
  auto server = HttpGatewayServer::Start(http, handler);
  if (!server.ok()) return 1;
  const int port = (*server)->port();

  // Seed one book (directly), shared by every run.
  auto channel = grpc::CreateChannel(rental, grpc::InsecureChannelCredentials());
  auto stub = rv1::RentalService::NewStub(channel);
  {
    grpc::ClientContext ctx;
    rv1::AddBookRequest req;
    req.set_book_id("bench-1");
    req.set_title("The Benchmark");
    req.set_copies(1);
    req.mutable_daily_fee()->set_amount_minor(500);
    rv1::Book out;
    grpc::Status s = stub->AddBook(&ctx, req, &out);
    if (!s.ok() && s.error_code() != grpc::StatusCode::ALREADY_EXISTS) {
      absl::FPrintF(stderr, "seeding failed: %s\n", s.error_message());
      return 1;
    }
  }

  // The book's token, for --read_token: what a client holds after its write.
  std::string book_token;
  if (absl::GetFlag(FLAGS_read_token)) {
    grpc::ClientContext ctx;
    if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
    rv1::GetBookRequest req;
    req.set_book_id("bench-1");
    rv1::Book out;
    grpc::Status s = stub->GetBook(&ctx, req, &out);
    if (!s.ok()) {
      absl::FPrintF(stderr, "reading the book's token failed: %s\n", s.error_message());
      return 1;
    }
    book_token = out.consistency_token();
  }

  auto grpc_read = [&](int) {
    return [&](int) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
      rv1::GetBookRequest req;
      req.set_book_id("bench-1");
      req.set_consistency_token(book_token);
      rv1::Book out;
      return stub->GetBook(&ctx, req, &out).ok();
    };
  };
  auto grpc_write = [&](int t) {
    return [&, t](int i) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      rv1::StockBookRequest req;
      req.set_book_id("bench-1");
      req.set_copies(1);
      req.set_request_id(absl::StrCat("g-", t, "-", i));
      rv1::Book out;
      return stub->StockBook(&ctx, req, &out).ok();
    };
  };
  auto http_worker = [&](bool write) {
    return [&, write](int t) {
      auto client = std::make_shared<httplib::Client>("127.0.0.1", port);
      client->set_keep_alive(true);
      client->set_tcp_nodelay(true);
      httplib::Headers h;
      if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
      const std::string read_path =
          book_token.empty() ? "/v1/books/bench-1"
                             : absl::StrCat("/v1/books/bench-1?consistencyToken=", book_token);
      return [client, h, write, t, read_path](int i) {
        if (write) {
          auto r = client->Post("/v1/books/bench-1:stock", h,
                                absl::StrCat(R"({"copies":1,"requestId":"h-)", t, "-", i, "\"}"),
                                "application/json");
          return r && r->status == 200;
        }
        auto r = client->Get(read_path, h);
        return r && r->status == 200;
      };
    };
  };

  absl::PrintF(
      "gateway_bench: %d clients x %d requests per run (+%d warm-up), backend %s%s, jwt %s, "
      "read token %s\n",
      concurrency, requests, warmup, rental, fakes ? " (in-process fake)" : "",
      token.empty() ? "off" : "RS256", book_token.empty() ? "none" : book_token);
  const Stats dr = Run(concurrency, requests, warmup, grpc_read);
  const Stats gr = Run(concurrency, requests, warmup, http_worker(false));
  const Stats dw = Run(concurrency, requests, warmup, grpc_write);
  const Stats gw = Run(concurrency, requests, warmup, http_worker(true));
  absl::PrintF("read  GET /v1/books/{id}        == RentalService.GetBook\n");
  Print("direct gRPC", dr);
  Print("via gateway (HTTP/JSON)", gr);
  absl::PrintF("  ratio gateway/direct       p50 %.2fx  p99 %.2fx  (added p50 %.1f us)\n",
               gr.p50_us / dr.p50_us, gr.p99_us / dr.p99_us, gr.p50_us - dr.p50_us);
  absl::PrintF("write POST /v1/books/{id}:stock == RentalService.StockBook\n");
  Print("direct gRPC", dw);
  Print("via gateway (HTTP/JSON)", gw);
  absl::PrintF("  ratio gateway/direct       p50 %.2fx  p99 %.2fx  (added p50 %.1f us)\n",
               gw.p50_us / dw.p50_us, gw.p99_us / dw.p99_us, gw.p50_us - dw.p50_us);
  (*server)->Stop();
  return (dr.errors + gr.errors + dw.errors + gw.errors) == 0 ? 0 : 2;
}

}  // namespace
}  // namespace rentmesh::gateway

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return rentmesh::gateway::Main();
}
