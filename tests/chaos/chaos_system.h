#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "netns_lab.h"
#include "rentmesh/testing/nats_cluster.h"
#include "rentmesh/testing/nats_server.h"
#include "rentmesh/testing/subprocess.h"
#include "system.h"

namespace rentmesh::chaos {

// The system under test: two rental replicas (each spreading Pay over both
// payment replicas), two payment replicas, returns and view, as real binaries, on one
// nats-server or on a 3-node JetStream cluster with R3 streams (on loopback,
// or one node per network namespace of a NetnsLab).
//
// Every process is started and restarted from the thread that created the
// system (a child dies with the thread that forked it).
class ChaosSystem {
 public:
  enum class Nats { kSingle, kCluster };
  // `lab`: put each cluster node in its namespace (kCluster only; may be null).
  static absl::StatusOr<std::unique_ptr<ChaosSystem>> Start(Nats nats, NetnsLab* lab);

  // Targets of faults: "rental-1", "rental-2", "payment-1", "payment-2",
  // "returns", "view", and "nats" or "nats-0".."nats-2".
  std::vector<std::string> ServiceTargets() const;
  std::vector<std::string> NatsTargets() const;
  void Kill(const std::string& target);
  void Terminate(const std::string& target);  // SIGTERM, waits for the exit
  // Starts a target again without waiting for it to serve (nats: waits until
  // it listens).
  absl::Status Restart(const std::string& target);
  // Starts whatever is down and waits until everything serves.
  absl::Status EnsureAllUp(absl::Duration timeout);
  // Waits until `target` serves (services) or listens (nats).
  absl::Status WaitUp(const std::string& target, absl::Duration timeout);

  // Adds a few books with few copies on a rental replica; returns their ids.
  absl::StatusOr<std::vector<std::string>> AddBooks(int books, int copies);

  // For the test's own connections (the auditor): an unrestricted user.
  std::string nats_urls() const;
  std::vector<std::string> rental_addresses() const;
  std::string view_address() const;
  std::string logs() const { return dir_.path(); }

 private:
  ChaosSystem() = default;
  e2e::ServiceProcess& Add(const std::string& service, const std::string& name,
                           std::vector<std::string> args);
  e2e::ServiceProcess* Service(const std::string& target);

  testing::TempDir dir_;
  std::unique_ptr<testing::NatsServer> nats_;
  testing::NatsAuth auth_;  // cluster only; a single server has its own
  std::unique_ptr<testing::NatsCluster> cluster_;
  std::vector<std::unique_ptr<testing::Subprocess>> guards_;  // one per node
  std::map<std::string, std::unique_ptr<e2e::ServiceProcess>> services_;
  std::vector<std::string> order_;
};

}  // namespace rentmesh::chaos
