#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "rentmesh/testing/subprocess.h"
#include "rentmesh/testing/test_env.h"

namespace rentmesh::testing {

// A real `nats-server -js` on a free loopback port with its own store in a
// temp dir. Stop/Start keep the port and the store, as a server restart would.
class NatsServer {
 public:
  static absl::StatusOr<std::unique_ptr<NatsServer>> Start();
  ~NatsServer();

  std::string url() const;
  int port() const { return port_; }
  // The server process, e.g. to read its CPU time; -1 when stopped.
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  bool Running() { return process_ && process_->Running(); }
  std::string log_path() const { return dir_.Sub("nats-server.log"); }
  void Stop();
  absl::Status Restart();

 private:
  NatsServer() = default;
  absl::Status Launch();

  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<Subprocess> process_;
};

}  // namespace rentmesh::testing
