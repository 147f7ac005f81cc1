// quorum_guard: runs next to one nats-server of a JetStream cluster (a sidecar
// in each NATS pod, or one per node on a machine) and asks every stream or
// durable consumer leader that lost its quorum to step down, so that a
// partition that heals while it still leads cannot leave a second history
// (nats-server 2.9.10, docs/cluster.md case 8; rentmesh::nats::QuorumGuard).
//
//   quorum_guard --nats_url=nats://127.0.0.1:4222 [--admin_address=127.0.0.1:9457]
//
// Point it at its own server only: while that server is cut off from its
// peers, only it answers the guard. Metrics and health on the admin address.
#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "rentmesh/common/grpc_server.h"
#include "rentmesh/common/log.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/nats/nats_flags.h"
#include "rentmesh/nats/quorum_guard.h"
#include "rentmesh/telemetry/service_telemetry.h"

ABSL_FLAG(std::string, nats_url, "nats://127.0.0.1:4222",
          "The one NATS server this guard runs next to (not the cluster's list).");
ABSL_FLAG(std::string, admin_address, "127.0.0.1:9457", "Metrics and health (HTTP).");
ABSL_FLAG(int, poll_ms, 250, "How often every leader's quorum is read (100..5000).");
ABSL_FLAG(int, confirm_ms, 600,
          "How long a leader must lack its quorum before it is asked to step down (0..10000).");

namespace rentmesh {
namespace {

int Run() {
  const std::string url = absl::GetFlag(FLAGS_nats_url);
  const int poll_ms = absl::GetFlag(FLAGS_poll_ms);
  const int confirm_ms = absl::GetFlag(FLAGS_confirm_ms);
  if (url.empty() || url.find(',') != std::string::npos) {
    LogError("bad configuration", {{"error", "--nats_url must name exactly one server"}});
    return 2;
  }
  if (poll_ms < 100 || poll_ms > 5000 || confirm_ms < 0 || confirm_ms > 10000) {
    LogError("bad configuration",
             {{"error", "--poll_ms must be 100..5000, --confirm_ms 0..10000"}});
    return 2;
  }
  std::atomic<bool> ready{false};
  absl::StatusOr<std::unique_ptr<telemetry::ServiceTelemetry>> telemetry =
      telemetry::ServiceTelemetry::Start(absl::GetFlag(FLAGS_admin_address), [&ready] {
        return ready ? absl::OkStatus() : absl::UnavailableError("not connected yet");
      });
  if (!telemetry.ok()) {
    LogError("cannot start the admin server", {{"error", telemetry.status().ToString()}});
    return 1;
  }
  absl::StatusOr<std::unique_ptr<nats::JetStream>> js = nats::JetStream::Connect(
      url, "quorum-guard", absl::Seconds(60), nats::ConnectOptionsFromFlags());
  if (!js.ok()) {
    LogError("cannot connect to NATS", {{"error", js.status().ToString()}});
    return 1;
  }
  (*telemetry)->WatchNats(**js);
  telemetry::MetricsRegistry& registry = (*telemetry)->registry();
  telemetry::CounterFamily& stepdowns = registry.AddCounter(
      "rentmesh_quorum_guard_stepdowns_total",
      "Leaders without a quorum that this guard had step down, by group.", {"group"});
  telemetry::CounterFamily& failures = registry.AddCounter(
      "rentmesh_quorum_guard_stepdown_failures_total",
      "Step-downs asked for and not confirmed (asked again the next round), by group.", {"group"});
  telemetry::GaugeFamily& lost = registry.AddGauge(
      "rentmesh_quorum_guard_leader_without_quorum",
      "1 while the group's leader, as this guard's server sees it, lacks its quorum.", {"group"});

  std::atomic<bool> stop{false};
  std::thread rounds([&] {
    nats::QuorumGuard guard(js->get(), {.confirm = absl::Milliseconds(confirm_ms)});
    while (!stop.load()) {
      const absl::Time started = absl::Now();
      const uint64_t failed_before = guard.stepdown_failures();
      for (const nats::QuorumGuard::Check& c : guard.CheckOnce(started)) {
        lost.WithLabels({c.what}).Set(c.quorum.ok() || c.stepped_down ? 0 : 1);
        if (c.stepped_down) {
          stepdowns.WithLabels({c.what}).Increment();
          LogWarn("leader without quorum stepped down",
                  {{"group", c.what}, {"leader", c.leader}, {"why", c.quorum.ToString()}});
        }
      }
      if (guard.stepdown_failures() > failed_before) {
        failures.WithLabels({"any"}).Increment(
            static_cast<double>(guard.stepdown_failures() - failed_before));
      }
      ready = true;
      absl::SleepFor(absl::Milliseconds(poll_ms) - (absl::Now() - started));
    }
  });
  LogInfo("guarding", {{"nats", nats::RedactUrl(url)},
                       {"poll_ms", absl::StrCat(poll_ms)},
                       {"confirm_ms", absl::StrCat(confirm_ms)}});
  const int sig = WaitForTerminationSignal();
  LogInfo("stopping", {{"signal", absl::StrCat(sig)}});
  stop = true;
  rounds.join();
  (*telemetry)->StopAdmin();
  return 0;
}

}  // namespace
}  // namespace rentmesh

int main(int argc, char** argv) {
  rentmesh::BlockTerminationSignals();
  absl::ParseCommandLine(argc, argv);
  rentmesh::SetLogService("quorum-guard");
  return rentmesh::Run();
}
