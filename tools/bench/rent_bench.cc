// rent_bench: the rent flow's throughput and latency (issue 2, "Design for
// speed from the start": >= 2,000 rentals/s on a 2-core machine with
// nats-server and every service on it; p99 < 20 ms at 1,000/s).
//
// By default it starts its own system on free loopback ports, the way
// tests/e2e/system.h does: a `nats-server -js` with its store in a temp dir,
// one payment_server and one rental_server (--payment_address pointing at the
// payment server), each with its own RocksDB folder. --rental_args and
// --payment_args pass extra flags to those binaries (e.g.
// --rental_args="--workers=128"). With --rental_address it targets running
// services instead (then --payment_address is only health-checked).
//
// Then:
//  1. adds --books books with --copies copies each;
//  2. phase "max": closed loop, --concurrency RentBook calls always in flight
//     (gRPC callback client; distinct customer and request ids, random book)
//     for --duration_s: rentals/s, p50/p90/p99/max latency, errors by code;
//  3. phase "steady": open loop at --rate calls/s for --duration_s; latency is
//     measured from each call's scheduled send time, so a stall on the server
//     is charged to every call it delays (no coordinated omission);
//  4. a summary line and the machine's core count.
// For the system it starts, it also prints the CPU each process used in each
// phase (from /proc), which shows where the two cores go.
//
// Bounded: every call has a deadline (--deadline_ms), the phases have fixed
// durations, the steady phase caps its in-flight calls. Loopback only; stops by
// itself; removes its temp dir (copy the logs out with --keep_logs_dir).
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "rentmesh/rental/v1/rental.grpc.pb.h"
#include "rentmesh/telemetry/grpc_metrics_interceptor.h"
#include "rentmesh/testing/nats_server.h"
#include "rentmesh/testing/subprocess.h"
#include "rentmesh/testing/test_env.h"

ABSL_FLAG(int, duration_s, 10, "seconds of each phase");
ABSL_FLAG(int, rate, 1000, "calls/s of the steady (open-loop) phase");
ABSL_FLAG(int, concurrency, 64, "calls in flight in the max (closed-loop) phase");
ABSL_FLAG(int, books, 200, "books to add before the phases");
ABSL_FLAG(int, copies, 100000, "copies of each book");
ABSL_FLAG(int, deadline_ms, 5000, "deadline of each RentBook call");
ABSL_FLAG(std::string, phases, "max,steady", "phases to run, comma-separated: max, steady");
ABSL_FLAG(std::string, rental_address, "",
          "a running rental service to target (empty: start a system on loopback)");
ABSL_FLAG(std::string, payment_address, "",
          "with --rental_address: the running payment service (health-checked only)");
ABSL_FLAG(std::string, rental_args, "",
          "extra flags for the rental_server this tool starts, space-separated");
ABSL_FLAG(std::string, payment_args, "",
          "extra flags for the payment_server this tool starts, space-separated");
ABSL_FLAG(std::string, keep_logs_dir, "",
          "if set, the started processes' logs are copied there before cleanup");
ABSL_FLAG(int, max_inflight, 20000, "steady phase: calls in flight above this are not sent "
                                    "(counted as CLIENT_SKIPPED errors)");

namespace rentmesh::bench {
namespace {

using rental::v1::RentalService;
using Clock = std::chrono::steady_clock;

std::string CodeName(int code) {
  if (code == -1) return "CLIENT_SKIPPED";
  return std::string(rentmesh::telemetry::GrpcCodeName(static_cast<grpc::StatusCode>(code)));
}

// CPU time (user + system) of a process in seconds, from /proc/<pid>/stat.
double CpuSeconds(pid_t pid) {
  std::ifstream f(pid > 0 ? absl::StrCat("/proc/", pid, "/stat") : std::string("/proc/self/stat"));
  std::string line;
  if (!std::getline(f, line)) return 0;
  // The command name (field 2) is in parentheses and may hold spaces.
  size_t close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> fields = absl::StrSplit(line.substr(close + 2), ' ');
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  if (fields.size() < 13) return 0;
  double ticks = std::stod(fields[11]) + std::stod(fields[12]);
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Busy and total CPU time of the whole machine in seconds, from /proc/stat.
std::pair<double, double> MachineCpu() {
  std::ifstream f("/proc/stat");
  std::string cpu;
  f >> cpu;
  double v[10] = {0};
  for (double& x : v) f >> x;
  double total = 0;
  for (int i = 0; i < 8; ++i) total += v[i];  // guest time is already in user
  const double idle = v[3] + v[4];             // idle + iowait
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  return {(total - idle) / hz, total / hz};
}

struct Proc {
  std::string name;
  pid_t pid;  // 0: this process
};

// CPU use of the processes over an interval, in % of one core.
class CpuMeter {
 public:
  explicit CpuMeter(std::vector<Proc> procs) : procs_(std::move(procs)) {}
  void Begin() {
    start_ = Clock::now();
    before_.clear();
    for (const Proc& p : procs_) before_.push_back(CpuSeconds(p.pid));
    machine_before_ = MachineCpu();
  }
  // `rentals`: the calls that succeeded, to print the CPU cost of each (a
  // figure that other load on the machine does not skew as much as rentals/s).
  std::string End(int64_t rentals) {
    double wall = std::chrono::duration<double>(Clock::now() - start_).count();
    std::string out = "  cpu (% of one core):";
    std::string per = "  cpu per rental (us):";
    double total = 0, total_per = 0;
    for (size_t i = 0; i < procs_.size(); ++i) {
      double used = CpuSeconds(procs_[i].pid) - before_[i];
      double pct = 100.0 * used / wall;
      total += pct;
      absl::StrAppendFormat(&out, " %s %.0f", procs_[i].name, pct);
      if (rentals > 0) {
        double us = 1e6 * used / static_cast<double>(rentals);
        total_per += us;
        absl::StrAppendFormat(&per, " %s %.0f", procs_[i].name, us);
      }
    }
    if (rentals > 0) absl::StrAppendFormat(&per, " | total %.0f", total_per);
    const std::pair<double, double> m = MachineCpu();
    const int cores = static_cast<int>(std::thread::hardware_concurrency());
    const double busy = m.second > machine_before_.second
                            ? 100.0 * cores * (m.first - machine_before_.first) /
                                  (m.second - machine_before_.second)
                            : 0;
    // The machine's busy time beyond these processes is other load (it skews the figures).
    absl::StrAppendFormat(&out, " | total %.0f; whole machine busy %.0f of %d", total, busy,
                          100 * cores);
    return rentals > 0 ? absl::StrCat(out, "\n", per) : out;
  }

 private:
  std::vector<Proc> procs_;
  std::vector<double> before_;
  std::pair<double, double> machine_before_;
  Clock::time_point start_;
};

// The system this tool starts: nats-server, payment, rental, all on loopback.
class LocalSystem {
 public:
  absl::Status Start(const std::vector<std::string>& rental_args,
                     const std::vector<std::string>& payment_args) {
    absl::StatusOr<std::unique_ptr<testing::NatsServer>> nats = testing::NatsServer::Start();
    if (!nats.ok()) return nats.status();
    nats_ = *std::move(nats);
    nats_url_ = nats_->url();

    payment_address_ = testing::FreeLoopbackAddress();
    payment_ = StartService("payment", payment_address_, payment_args);
    if (absl::Status s = testing::WaitForServing(payment_address_, absl::Seconds(30)); !s.ok()) {
      return absl::UnavailableError(absl::StrCat("payment did not start: ", s.message(), "\n",
                                                 LogTail("payment")));
    }
    rental_address_ = testing::FreeLoopbackAddress();
    std::vector<std::string> rargs = {"--payment_address=" + payment_address_,
                                      "--returns_address=" + testing::FreeLoopbackAddress()};
    rargs.insert(rargs.end(), rental_args.begin(), rental_args.end());
    rental_ = StartService("rental", rental_address_, rargs);
    if (absl::Status s = testing::WaitForServing(rental_address_, absl::Seconds(30)); !s.ok()) {
      return absl::UnavailableError(absl::StrCat("rental did not start: ", s.message(), "\n",
                                                 LogTail("rental")));
    }
    return absl::OkStatus();
  }

  // Stops rental, then payment, then nats (SIGTERM, then SIGKILL), copying the
  // logs out if asked. The temp dir goes with this object.
  void Stop(const std::string& keep_logs_dir) {
    if (rental_) rental_->Stop(SIGTERM);
    if (payment_) payment_->Stop(SIGTERM);
    if (nats_) nats_->Stop();
    if (!keep_logs_dir.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(keep_logs_dir, ec);
      std::filesystem::copy_file(nats_->log_path(), keep_logs_dir + "/nats-server.log",
                                 std::filesystem::copy_options::overwrite_existing, ec);
      for (const char* name : {"rental.log", "payment.log"}) {
        std::filesystem::copy_file(dir_.Sub(name), keep_logs_dir + "/" + name,
                                   std::filesystem::copy_options::overwrite_existing, ec);
      }
      std::printf("rent_bench: logs copied to %s\n", keep_logs_dir.c_str());
    }
  }

  std::vector<Proc> Procs() const {
    return {{"nats-server", nats_->pid()},
            {"rental", rental_->pid()},
            {"payment", payment_->pid()},
            {"rent_bench", 0}};
  }
  bool AllRunning() { return nats_->Running() && rental_->Running() && payment_->Running(); }
  const std::string& rental_address() const { return rental_address_; }
  const std::string& payment_address() const { return payment_address_; }
  const std::string& nats_url() const { return nats_url_; }

 private:
  std::unique_ptr<testing::Subprocess> StartService(const std::string& service,
                                                    const std::string& address,
                                                    const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {testing::ServiceBinary(service), "--grpc_address=" + address,
                                     "--admin_address=" + testing::FreeLoopbackAddress(),
                                     "--nats_url=" + nats_url_, "--data_dir=" + dir_.Sub(service),
                                     // The bench measures the saga, called without tokens as
                                     // inside a mesh (identity has its own tests).
                                     "--trust_mesh"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return std::make_unique<testing::Subprocess>(argv, dir_.Sub(service + ".log"));
  }

  std::string LogTail(const std::string& service) {
    std::ifstream f(dir_.Sub(service + ".log"));
    std::vector<std::string> lines;
    for (std::string l; std::getline(f, l);) lines.push_back(l);
    size_t from = lines.size() > 20 ? lines.size() - 20 : 0;
    return absl::StrJoin(lines.begin() + from, lines.end(), "\n");
  }

  testing::TempDir dir_;
  std::string nats_url_, payment_address_, rental_address_;
  std::unique_ptr<testing::NatsServer> nats_;
  std::unique_ptr<testing::Subprocess> payment_, rental_;
};

// Latencies and outcomes of one phase; filled from gRPC's callback threads.
class Recorder {
 public:
  void Record(int code, double latency_ms, const std::string& message) {
    std::lock_guard<std::mutex> l(mu_);
    if (code == 0) {
      ok_latencies_.push_back(latency_ms);
    } else {
      auto& e = errors_[code];
      if (e.first++ == 0) e.second = message;
    }
    all_latencies_.push_back(latency_ms);
  }
  void RecordSkipped() {
    std::lock_guard<std::mutex> l(mu_);
    auto& e = errors_[-1];
    if (e.first++ == 0) e.second = "too many calls in flight in the client";
  }

  struct Summary {
    int64_t ok = 0, errors = 0;
    double p50 = 0, p90 = 0, p99 = 0, max = 0;
    std::string errors_text;
  };
  // Percentiles over every completed call (errors included: a fast error is
  // still a latency the caller saw; the ok count says how many succeeded).
  Summary Summarize() {
    std::lock_guard<std::mutex> l(mu_);
    Summary s;
    s.ok = static_cast<int64_t>(ok_latencies_.size());
    std::vector<double> v = all_latencies_;
    std::sort(v.begin(), v.end());
    auto pct = [&](double p) {
      if (v.empty()) return 0.0;
      size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
      return v[std::min(i, v.size() - 1)];
    };
    s.p50 = pct(0.50);
    s.p90 = pct(0.90);
    s.p99 = pct(0.99);
    s.max = v.empty() ? 0 : v.back();
    std::vector<std::string> parts;
    for (const auto& [code, e] : errors_) {
      s.errors += e.first;
      parts.push_back(absl::StrFormat("%s %d (e.g. \"%s\")", CodeName(code), e.first,
                                      e.second.substr(0, 160)));
    }
    s.errors_text = parts.empty() ? "none" : absl::StrJoin(parts, "; ");
    return s;
  }

 private:
  std::mutex mu_;
  std::vector<double> ok_latencies_, all_latencies_;
  std::map<int, std::pair<int64_t, std::string>> errors_;
};

// Issues RentBook calls with unique customer and request ids on random books.
class Renter {
 public:
  Renter(std::shared_ptr<grpc::Channel> channel, std::vector<std::string> books,
         std::string run_id, absl::Duration deadline)
      : stub_(RentalService::NewStub(channel)),
        books_(std::move(books)),
        run_id_(std::move(run_id)),
        deadline_(absl::ToChronoNanoseconds(deadline)) {}

  // Starts one call; `done(code, message)` runs on a gRPC thread.
  template <typename Done>
  void Rent(Done done) {
    struct Call {
      grpc::ClientContext ctx;
      rental::v1::RentBookRequest req;
      rental::v1::Rental resp;
    };
    auto* call = new Call();
    uint64_t n = seq_.fetch_add(1, std::memory_order_relaxed);
    uint64_t r = n * 0x9E3779B97F4A7C15ull;
    r ^= r >> 29;
    call->req.set_customer_id(absl::StrCat("bc-", run_id_, "-", n));
    call->req.set_request_id(absl::StrCat("br-", n));
    call->req.set_book_id(books_[r % books_.size()]);
    call->req.set_days(1);
    call->ctx.set_deadline(std::chrono::system_clock::now() + deadline_);
    stub_->async()->RentBook(&call->ctx, &call->req, &call->resp,
                             [call, done = std::move(done)](grpc::Status s) mutable {
                               done(static_cast<int>(s.error_code()), s.error_message());
                               delete call;
                             });
  }
  RentalService::Stub& stub() { return *stub_; }

 private:
  std::unique_ptr<RentalService::Stub> stub_;
  std::vector<std::string> books_;
  std::string run_id_;
  std::chrono::nanoseconds deadline_;
  std::atomic<uint64_t> seq_{0};
};

// Waits until `inflight` reaches zero.
struct InFlight {
  std::mutex mu;
  std::condition_variable cv;
  int64_t n = 0;
  void Add() {
    std::lock_guard<std::mutex> l(mu);
    ++n;
  }
  int64_t Count() {
    std::lock_guard<std::mutex> l(mu);
    return n;
  }
  void Done() {
    std::lock_guard<std::mutex> l(mu);
    if (--n == 0) cv.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return n == 0; });
  }
};

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct PhaseResult {
  bool ran = false;
  double rate = 0;
  Recorder::Summary s;
};

PhaseResult RunMax(Renter& renter, int concurrency, absl::Duration duration) {
  Recorder rec;
  InFlight inflight;
  const Clock::time_point start = Clock::now();
  const Clock::time_point end = start + absl::ToChronoNanoseconds(duration);
  std::function<void()> launch;
  launch = [&]() {
    inflight.Add();
    Clock::time_point sent = Clock::now();
    renter.Rent([&, sent](int code, const std::string& msg) {
      Clock::time_point now = Clock::now();
      rec.Record(code, Ms(now - sent), msg);
      if (now < end) launch();
      inflight.Done();
    });
  };
  for (int i = 0; i < concurrency; ++i) launch();
  inflight.Wait();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  PhaseResult r;
  r.ran = true;
  r.s = rec.Summarize();
  r.rate = static_cast<double>(r.s.ok) / elapsed;
  std::printf(
      "rent_bench: phase max: concurrency %d for %.1f s: %lld ok, %lld errors in %.2f s = %.0f "
      "rentals/s\n"
      "  latency p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n"
      "  errors: %s\n",
      concurrency, absl::ToDoubleSeconds(duration), static_cast<long long>(r.s.ok),
      static_cast<long long>(r.s.errors), elapsed, r.rate, r.s.p50, r.s.p90, r.s.p99, r.s.max,
      r.s.errors_text.c_str());
  return r;
}

PhaseResult RunSteady(Renter& renter, int rate, absl::Duration duration, int max_inflight) {
  Recorder rec;
  InFlight inflight;
  const int64_t total = static_cast<int64_t>(rate * absl::ToDoubleSeconds(duration));
  const Clock::time_point start = Clock::now() + std::chrono::milliseconds(10);
  const auto period = std::chrono::nanoseconds(1000000000LL / std::max(1, rate));
  int64_t sent = 0, behind = 0;
  for (int64_t i = 0; i < total; ++i) {
    Clock::time_point scheduled = start + i * period;
    Clock::time_point now = Clock::now();
    if (now < scheduled) {
      std::this_thread::sleep_until(scheduled);
    } else if (now - scheduled > std::chrono::milliseconds(1)) {
      ++behind;  // the sender itself fell behind (its latency is still charged from `scheduled`)
    }
    if (inflight.Count() >= max_inflight) {
      rec.RecordSkipped();
      continue;
    }
    inflight.Add();
    ++sent;
    renter.Rent([&, scheduled](int code, const std::string& msg) {
      rec.Record(code, Ms(Clock::now() - scheduled), msg);
      inflight.Done();
    });
  }
  const double send_window = std::chrono::duration<double>(Clock::now() - start).count();
  inflight.Wait();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  PhaseResult r;
  r.ran = true;
  r.s = rec.Summarize();
  r.rate = static_cast<double>(r.s.ok) / elapsed;
  std::printf(
      "rent_bench: phase steady: target %d/s for %.1f s: sent %lld in %.2f s (%.0f/s; sender late "
      ">1 ms: %lld), %lld ok, %lld errors, all answered after %.2f s = %.0f rentals/s\n"
      "  latency from scheduled send: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n"
      "  errors: %s\n",
      rate, absl::ToDoubleSeconds(duration), static_cast<long long>(sent), send_window,
      static_cast<double>(sent) / send_window, static_cast<long long>(behind),
      static_cast<long long>(r.s.ok), static_cast<long long>(r.s.errors), elapsed, r.rate,
      r.s.p50, r.s.p90, r.s.p99, r.s.max, r.s.errors_text.c_str());
  return r;
}

absl::Status AddBooks(RentalService::Stub& stub, const std::vector<std::string>& books,
                      int copies) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  absl::Status first_error;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (size_t i = next++; i < books.size(); i = next++) {
        rental::v1::AddBookRequest req;
        req.set_book_id(books[i]);
        req.set_title("Benchmark book " + books[i]);
        req.set_copies(copies);
        req.mutable_daily_fee()->set_currency("KRW");
        req.mutable_daily_fee()->set_amount_minor(1000);
        rental::v1::Book book;
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        grpc::Status s = stub.AddBook(&ctx, req, &book);
        if (!s.ok()) {
          std::lock_guard<std::mutex> l(mu);
          if (first_error.ok()) {
            first_error = absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                                       absl::StrCat("AddBook ", books[i], ": ", s.error_message()));
          }
          return;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  return first_error;
}

std::vector<std::string> SplitArgs(const std::string& s) {
  return absl::StrSplit(s, absl::ByAnyChar(" \t"), absl::SkipEmpty());
}

int Main() {
  const int duration_s = absl::GetFlag(FLAGS_duration_s);
  const int rate = absl::GetFlag(FLAGS_rate);
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  const int books = absl::GetFlag(FLAGS_books);
  const int copies = absl::GetFlag(FLAGS_copies);
  const int deadline_ms = absl::GetFlag(FLAGS_deadline_ms);
  if (duration_s < 1 || duration_s > 600 || rate < 1 || rate > 100000 || concurrency < 1 ||
      concurrency > 10000 || books < 1 || books > 100000 || copies < 1 || deadline_ms < 1) {
    std::fprintf(stderr, "rent_bench: flag out of range (duration_s 1..600, rate 1..100000, "
                         "concurrency 1..10000, books 1..100000, copies >= 1)\n");
    return 2;
  }
  bool run_max = false, run_steady = false;
  for (absl::string_view p :
       absl::StrSplit(absl::GetFlag(FLAGS_phases), ',', absl::SkipWhitespace())) {
    if (p == "max") {
      run_max = true;
    } else if (p == "steady") {
      run_steady = true;
    } else {
      std::fprintf(stderr, "rent_bench: unknown phase \"%s\" (max, steady)\n",
                   std::string(p).c_str());
      return 2;
    }
  }
  const unsigned cores = std::thread::hardware_concurrency();

  // The system under test.
  std::unique_ptr<LocalSystem> local;
  std::string rental_address = absl::GetFlag(FLAGS_rental_address);
  std::vector<Proc> procs = {{"rent_bench", 0}};
  if (rental_address.empty()) {
    local = std::make_unique<LocalSystem>();
    std::vector<std::string> rental_args = SplitArgs(absl::GetFlag(FLAGS_rental_args));
    std::vector<std::string> payment_args = SplitArgs(absl::GetFlag(FLAGS_payment_args));
    std::printf("rent_bench: starting nats-server, payment_server %s, rental_server %s\n",
                absl::StrJoin(payment_args, " ").c_str(), absl::StrJoin(rental_args, " ").c_str());
    if (absl::Status s = local->Start(rental_args, payment_args); !s.ok()) {
      std::fprintf(stderr, "rent_bench: %s\n", std::string(s.message()).c_str());
      local->Stop(absl::GetFlag(FLAGS_keep_logs_dir));
      return 1;
    }
    rental_address = local->rental_address();
    procs = local->Procs();
    std::printf("rent_bench: nats %s, payment %s, rental %s\n", local->nats_url().c_str(),
                local->payment_address().c_str(), rental_address.c_str());
  } else {
    if (absl::Status s = testing::WaitForServing(rental_address, absl::Seconds(5)); !s.ok()) {
      std::fprintf(stderr, "rent_bench: rental at %s is not serving: %s\n",
                   rental_address.c_str(), std::string(s.message()).c_str());
      return 1;
    }
    const std::string payment_address = absl::GetFlag(FLAGS_payment_address);
    if (!payment_address.empty()) {
      if (absl::Status s = testing::WaitForServing(payment_address, absl::Seconds(5)); !s.ok()) {
        std::fprintf(stderr, "rent_bench: payment at %s is not serving: %s\n",
                     payment_address.c_str(), std::string(s.message()).c_str());
        return 1;
      }
    }
    std::printf("rent_bench: targeting rental %s\n", rental_address.c_str());
  }

  // A run id keeps the book, customer and request ids of this run apart from
  // earlier runs against the same services.
  const std::string run_id = absl::StrFormat(
      "%x%x", static_cast<unsigned>(absl::ToUnixMillis(absl::Now()) & 0xffffffff),
      static_cast<unsigned>(getpid()));
  std::vector<std::string> book_ids;
  for (int i = 0; i < books; ++i) book_ids.push_back(absl::StrCat("bench-", run_id, "-", i));

  int rc = 0;
  {
    auto channel = grpc::CreateChannel(rental_address, grpc::InsecureChannelCredentials());
    Renter renter(channel, book_ids, run_id, absl::Milliseconds(deadline_ms));
    Clock::time_point t0 = Clock::now();
    if (absl::Status s = AddBooks(renter.stub(), book_ids, copies); !s.ok()) {
      std::fprintf(stderr, "rent_bench: could not add the books: %s\n",
                   std::string(s.message()).c_str());
      rc = 1;
    } else {
      std::printf("rent_bench: added %d books x %d copies in %.2f s\n", books, copies,
                  std::chrono::duration<double>(Clock::now() - t0).count());
      std::fflush(stdout);
      CpuMeter cpu(procs);
      PhaseResult max, steady;
      if (run_max) {
        cpu.Begin();
        max = RunMax(renter, concurrency, absl::Seconds(duration_s));
        std::printf("%s\n", cpu.End(max.s.ok).c_str());
        std::fflush(stdout);
      }
      if (run_steady) {
        cpu.Begin();
        steady = RunSteady(renter, rate, absl::Seconds(duration_s),
                           absl::GetFlag(FLAGS_max_inflight));
        std::printf("%s\n", cpu.End(steady.s.ok).c_str());
        std::fflush(stdout);
      }
      if (local && !local->AllRunning()) {
        std::printf("rent_bench: WARNING: a process of the system exited during the run\n");
        rc = 1;
      }
      std::string line = "rent_bench:";
      if (max.ran) {
        absl::StrAppendFormat(&line, " max %.0f rentals/s p50 %.1f ms p99 %.1f ms", max.rate,
                              max.s.p50, max.s.p99);
        if (max.s.errors > 0) absl::StrAppendFormat(&line, " (%d errors)", max.s.errors);
      }
      if (steady.ran) {
        absl::StrAppendFormat(&line, "%s steady %.0f/s p50 %.1f ms p99 %.1f ms",
                              max.ran ? " |" : "", steady.rate, steady.s.p50, steady.s.p99);
        if (steady.s.errors > 0) absl::StrAppendFormat(&line, " (%d errors)", steady.s.errors);
      }
      absl::StrAppendFormat(&line, " | %u cores", cores);
      std::printf("%s\n", line.c_str());
      std::string targets = "rent_bench: targets:";
      if (max.ran) {
        absl::StrAppendFormat(&targets, " max >= 2000 rentals/s %s;",
                              max.rate >= 2000 && max.s.errors == 0 ? "MET" : "NOT MET");
      }
      if (steady.ran) {
        absl::StrAppendFormat(&targets, " p99 < 20 ms at %d/s %s", rate,
                              steady.s.p99 < 20 && steady.s.errors == 0 ? "MET" : "NOT MET");
      }
      std::printf("%s\n", targets.c_str());
    }
  }
  if (local) local->Stop(absl::GetFlag(FLAGS_keep_logs_dir));
  return rc;
}

}  // namespace
}  // namespace rentmesh::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return rentmesh::bench::Main();
}
