// The chaos suite: the real binaries under client load with retries, while a
// fault injector kills, restarts or partitions processes; then an auditor
// checks every invariant against the streams. One test per scenario; each
// prints its table and fails on any violation. See docs/chaos.md.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "auditor.h"
#include "chaos_system.h"
#include "load_driver.h"
#include "netns_lab.h"
#include "rentmesh/telemetry/grpc_metrics_interceptor.h"

namespace rentmesh::chaos {
namespace {

// Seconds of faults per scenario (CHAOS_FAULT_SECONDS overrides, e.g. for a
// longer run by hand).
absl::Duration FaultTime() {
  const char* s = std::getenv("CHAOS_FAULT_SECONDS");
  int n = s != nullptr ? std::atoi(s) : 0;
  return absl::Seconds(n > 0 ? n : 60);
}

absl::Duration Between(absl::BitGen& gen, double lo_s, double hi_s) {
  return absl::Seconds(absl::Uniform(gen, lo_s, hi_s));
}

std::string Table(const std::string& title, const std::vector<OpRecord>& records,
                  const std::map<std::string, int>& faults, const AuditReport& report) {
  std::map<std::string, int> by_kind, by_code;
  int ok = 0, ok_first = 0, ok_after_retry = 0;
  std::vector<absl::Duration> latencies;
  for (const OpRecord& r : records) {
    ++by_kind[OpName(r.kind)];
    ++by_code[std::string(telemetry::GrpcCodeName(r.final_code))];
    if (r.final_code == grpc::StatusCode::OK) {
      ++ok;
      (r.first_attempt_ok ? ok_first : ok_after_retry)++;
    }
    latencies.push_back(r.latency);
  }
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) {
    if (latencies.empty()) return 0.0;
    return absl::ToDoubleMilliseconds(
        latencies[std::min(latencies.size() - 1, size_t(p * latencies.size()))]);
  };
  auto join = [](const std::map<std::string, int>& m) {
    std::vector<std::string> parts;
    for (const auto& [k, v] : m) parts.push_back(absl::StrCat(k, " ", v));
    return parts.empty() ? std::string("-") : absl::StrJoin(parts, ", ");
  };
  std::ostringstream o;
  auto row = [&](const std::string& k, const std::string& v) {
    o << absl::StrFormat("| %-54s | %s\n", k, v);
  };
  o << "\n=== " << title << "\n";
  row("operations", absl::StrCat(records.size(), " (", join(by_kind), ")"));
  row("OK: on first attempt / after retries", absl::StrCat(ok_first, " / ", ok_after_retry));
  row("final answers by code", join(by_code));
  row("latency p50 / p99 (with retries)",
      absl::StrFormat("%.0f ms / %.0f ms", pct(0.5), pct(0.99)));
  row("faults per target", join(faults));
  row("events RENTAL / PAYMENT / RETURNS",
      absl::StrCat(report.rental_events, " / ", report.payment_events, " / ",
                   report.returns_events));
  row("rentals in the stream", absl::StrCat(report.rentals));
  row("stream sequences unreadable (info)", absl::StrCat(report.unreadable_sequences));
  row("messages in DEADLETTER (info)", absl::StrCat(report.dead_letters));
  row("inapplicable RENTAL events (info)", join(report.inapplicable));
  row("inapplicable PAYMENT events (info)", absl::StrCat(report.inapplicable_payment_events));
  row("books over their copies in every-event fold (info)",
      absl::StrCat(report.books_over_copies_in_raw_fold));
  row("audit clean after", report.clean_after_seconds < 0
                               ? std::string("never (within the settle bound)")
                               : absl::StrFormat("%.1f s", report.clean_after_seconds));
  row("view matched after", report.view_match_seconds < 0
                                ? std::string("never (within the bound)")
                                : absl::StrFormat("%.1f s", report.view_match_seconds));
  for (const std::string& name : ViolationNames()) {
    row("VIOLATION " + name, absl::StrCat(report.violations.at(name)));
  }
  row("violations total", absl::StrCat(report.total()));
  for (const auto& [name, examples] : report.examples) {
    for (const std::string& e : examples) o << "  [" << name << "] " << e << "\n";
  }
  for (const std::string& e : report.inapplicable_examples) o << "  [info] " << e << "\n";
  return o.str();
}

class ChaosTest : public ::testing::Test {
 protected:
  // Starts the system and the load; `faults` runs the injector on this thread
  // (children die with the thread that started them) for FaultTime().
  void Run(const std::string& title, ChaosSystem::Nats nats, NetnsLab* lab,
           const std::function<void(ChaosSystem&, absl::Time end, std::map<std::string, int>&)>&
               faults) {
    auto system = ChaosSystem::Start(nats, lab);
    ASSERT_TRUE(system.ok()) << system.status();
    ChaosSystem& sys = **system;
    auto books = sys.AddBooks(5, 3);
    ASSERT_TRUE(books.ok()) << books.status();

    LoadOptions load;
    load.rental_addresses = sys.rental_addresses();
    load.books = *books;
    load.request_prefix = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    LoadDriver driver(load);
    driver.Start();
    std::map<std::string, int> injected;
    faults(sys, absl::Now() + FaultTime(), injected);

    // Faults stopped: everything back up, the load drained, a settle period
    // for the reconciler (3 s delay by default) and the reactions; the audit
    // then repeats until clean or its own bound.
    absl::Status up = sys.EnsureAllUp(absl::Seconds(60));
    driver.Stop();
    // Not back up is a failure, but the audit still runs: its table says
    // what the system looks like in that state.
    EXPECT_TRUE(up.ok()) << up;
    absl::SleepFor(absl::Seconds(5));

    AuditInput in;
    in.nats_urls = sys.nats_urls();
    in.rental_addresses = sys.rental_addresses();
    in.view_address = sys.view_address();
    in.records = driver.records();
    absl::StatusOr<AuditReport> report = Audit(in);
    ASSERT_TRUE(report.ok()) << report.status();
    std::cout << Table(title, in.records, injected, *report) << std::flush;
    EXPECT_GT(in.records.size(), 300u) << "the load did not run";
    if (report->total() > 0) std::cout << "logs kept in " << KeepLogs(sys.logs()) << "\n";
    EXPECT_EQ(report->total(), 0) << "invariants violated; see the table above";
  }

  // Copies the run's *.log files (not the stores) out of its temporary folder,
  // which goes with the system, so a failed run can be read afterwards.
  static std::string KeepLogs(const std::string& from) {
    namespace fs = std::filesystem;
    const fs::path to =
        fs::temp_directory_path() /
        absl::StrCat("rentmesh-chaos-logs-",
                     ::testing::UnitTest::GetInstance()->current_test_info()->name(), "-",
                     absl::ToUnixSeconds(absl::Now()));
    std::error_code ec;
    for (const auto& e : fs::recursive_directory_iterator(from, ec)) {
      if (!e.is_regular_file() || e.path().extension() != ".log") continue;
      const fs::path dest = to / fs::relative(e.path(), from);
      fs::create_directories(dest.parent_path(), ec);
      fs::copy_file(e.path(), dest, fs::copy_options::overwrite_existing, ec);
    }
    return to.string();
  }
};

TEST_F(ChaosTest, A_KillNineOfAnyProcessEveryFiveSeconds) {
  Run("A: kill -9 of a random process every ~5 s, restarted 1-3 s later",
      ChaosSystem::Nats::kSingle, nullptr,
      [](ChaosSystem& sys, absl::Time end, std::map<std::string, int>& injected) {
        absl::BitGen gen;
        std::vector<std::string> targets = sys.ServiceTargets();
        targets.push_back("nats");
        while (absl::Now() < end) {
          absl::Time next = absl::Now() + Between(gen, 4, 6);
          const std::string& t = targets[absl::Uniform<size_t>(gen, 0, targets.size())];
          sys.Kill(t);
          ++injected["kill -9 " + t];
          absl::SleepFor(Between(gen, 1, 3));
          (void)sys.Restart(t);
          absl::SleepFor(next - absl::Now());
        }
      });
}

TEST_F(ChaosTest, B_GracefulRollingRestartOfEveryProcess) {
  Run("B: graceful (SIGTERM) rolling restart of every process in turn, nats-server included",
      ChaosSystem::Nats::kSingle, nullptr,
      [](ChaosSystem& sys, absl::Time end, std::map<std::string, int>& injected) {
        std::vector<std::string> targets = sys.ServiceTargets();
        targets.push_back("nats");
        for (size_t i = 0; absl::Now() < end; ++i) {
          const std::string& t = targets[i % targets.size()];
          sys.Terminate(t);
          ++injected["SIGTERM " + t];
          (void)sys.Restart(t);
          (void)sys.WaitUp(t, absl::Seconds(30));
          absl::SleepFor(absl::Seconds(2));
        }
      });
}

TEST_F(ChaosTest, C_KillNineOfAClusterNodeEveryEightSeconds) {
  Run("C: 3-node JetStream cluster, R3 streams, kill -9 of a random node every ~8 s",
      ChaosSystem::Nats::kCluster, nullptr,
      [](ChaosSystem& sys, absl::Time end, std::map<std::string, int>& injected) {
        absl::BitGen gen;
        std::vector<std::string> targets = sys.NatsTargets();
        while (absl::Now() < end) {
          absl::Time next = absl::Now() + Between(gen, 7, 9);
          const std::string& t = targets[absl::Uniform<size_t>(gen, 0, targets.size())];
          sys.Kill(t);
          ++injected["kill -9 " + t];
          absl::SleepFor(Between(gen, 1, 3));
          (void)sys.Restart(t);
          absl::SleepFor(next - absl::Now());
        }
      });
}

// On demand only (RENTMESH_CHAOS_CLUSTER=1): under partitions nats-server
// 2.9.10 was seen to keep diverged copies of a stream and, once, to lose from
// PAYMENT a refund that payment had already folded (docs/cluster.md case 7).
// rentmesh reads around diverged copies and re-drives lost reactions, but does
// not undo what it folded from a history the final leader lacks, so D can
// still fail (of the four runs since the reactions reconciler, three passed and
// one had 168 violations) and the default run does not claim it.
bool PartitionScenarioOff() { return std::getenv("RENTMESH_CHAOS_CLUSTER") == nullptr; }

TEST_F(ChaosTest, D_OneClusterNodePartitionedFromTheOthersThenHealed) {
  if (PartitionScenarioOff()) {
    GTEST_SKIP() << "skipped: nats-server 2.9.10 can lose folded events under partitions "
                    "(docs/cluster.md case 7); run it with RENTMESH_CHAOS_CLUSTER=1";
  }
  absl::StatusOr<std::unique_ptr<NetnsLab>> lab = NetnsLab::Create(3);
  if (!lab.ok()) GTEST_SKIP() << "skipped: " << lab.status().message();
  Run("D: 3-node cluster, one node at a time partitioned from the other two for 10 s, then healed",
      ChaosSystem::Nats::kCluster, lab->get(),
      [&](ChaosSystem& sys, absl::Time end, std::map<std::string, int>& injected) {
        absl::BitGen gen;
        absl::SleepFor(absl::Seconds(3));
        for (int i = 0; absl::Now() < end; ++i) {
          const int node = absl::Uniform(gen, 0, 3);
          if (absl::Status s = (*lab)->Isolate(node); !s.ok()) {
            ADD_FAILURE() << s;
            return;
          }
          ++injected[absl::StrCat("partition nats-", node)];
          absl::SleepFor(absl::Seconds(10));
          EXPECT_TRUE((*lab)->Heal(node).ok());
          absl::SleepFor(absl::Seconds(8));
        }
        (void)sys;
      });
}

}  // namespace
}  // namespace rentmesh::chaos
