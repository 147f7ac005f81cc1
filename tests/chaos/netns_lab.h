#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace rentmesh::chaos {

// Network namespaces for partition tests: one namespace per node, each joined
// by a veth pair to a bridge created here, with addresses in a private /24
// (10.213.X.0/24, X picked so that no route of this machine covers it) that
// exists only on that bridge and inside those namespaces. This namespace
// holds the bridge's address, so processes here (the services, the auditor)
// reach every node. Everything is removed on destruction; namespaces left
// behind by a killed run are removed by the next one.
class NetnsLab {
 public:
  // UNAVAILABLE (its message starts with "needs CAP_NET_ADMIN") when
  // namespaces cannot be created here.
  static absl::StatusOr<std::unique_ptr<NetnsLab>> Create(int nodes);
  ~NetnsLab();
  NetnsLab(const NetnsLab&) = delete;
  NetnsLab& operator=(const NetnsLab&) = delete;

  std::string Namespace(int node) const;
  // The node's address inside its namespace, reachable from here.
  std::string Host(int node) const;
  // Drops all traffic between `node` and the other nodes, both ways, by
  // blackhole routes for the peers' addresses inside the namespaces. Traffic
  // with this namespace (clients) keeps flowing.
  absl::Status Isolate(int node);
  // Removes what Isolate added.
  absl::Status Heal(int node);

 private:
  NetnsLab(int nodes, int subnet);
  std::string Bridge() const;
  std::string Veth(int node, bool inside) const;

  const int nodes_;
  const int subnet_;
  const int pid_;
};

}  // namespace rentmesh::chaos
