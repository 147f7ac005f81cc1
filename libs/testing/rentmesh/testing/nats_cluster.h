#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "rentmesh/testing/subprocess.h"
#include "rentmesh/testing/test_env.h"

namespace rentmesh::testing {

// Where one node of a NatsCluster listens. `netns` empty: the node runs in
// this network namespace; otherwise inside that (existing) namespace, through
// `ip netns exec`, and `host` must be reachable from here.
struct NatsNodeAddress {
  std::string host = "127.0.0.1";
  int client_port = 0;
  int cluster_port = 0;
  int monitor_port = 0;
  std::string netns;
};

// A JetStream cluster of real `nats-server -js` nodes, each with its own
// store, routed to every other node. Kill/Stop/Restart keep a node's ports and
// store, as a server crash and restart would. Route and client pings are
// short (2 s) so that a partitioned or killed peer is noticed within seconds.
class NatsCluster {
 public:
  // `nodes` nodes on 127.0.0.1, free ports. `authorization`: a nats-server
  // `authorization { ... }` block for the client port of every node (e.g.
  // NatsAuth::block), empty for none.
  static absl::StatusOr<std::unique_ptr<NatsCluster>> StartOnLoopback(
      int nodes = 3, std::string authorization = "");
  // One node per address; waits until each node accepts clients.
  static absl::StatusOr<std::unique_ptr<NatsCluster>> Start(std::vector<NatsNodeAddress> nodes,
                                                            std::string authorization = "");
  ~NatsCluster();
  NatsCluster(const NatsCluster&) = delete;
  NatsCluster& operator=(const NatsCluster&) = delete;

  // "nats://h:p,nats://h:p,...", the form NATS clients take for a cluster.
  std::string urls() const;
  std::string url(int node) const;
  int size() const { return static_cast<int>(nodes_.size()); }
  const NatsNodeAddress& address(int node) const { return nodes_[node].address; }
  std::string log_path(int node) const;

  bool Running(int node);
  // kill -9.
  void Kill(int node);
  // SIGTERM (lame duck is not waited for beyond 10 s).
  void Stop(int node);
  // SIGSTOP / SIGCONT: the node keeps its connections but answers nothing,
  // as a node behind a partition looks to its peers.
  void Freeze(int node);
  void Thaw(int node);
  // Starts a stopped or killed node again and waits until it accepts clients.
  absl::Status Restart(int node);
  // Waits until every running node answers its /healthz with "ok" (JetStream
  // has a meta leader and the node is current).
  absl::Status WaitHealthy(absl::Duration timeout);

 private:
  struct Node {
    NatsNodeAddress address;
    std::string config_path;
    std::unique_ptr<Subprocess> process;
  };
  NatsCluster() = default;
  absl::Status Launch(int node);
  std::string Config(int node) const;

  TempDir dir_;
  std::string authorization_;
  std::vector<Node> nodes_;
};

}  // namespace rentmesh::testing
