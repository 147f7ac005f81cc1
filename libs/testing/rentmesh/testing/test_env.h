#pragma once

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace rentmesh::testing {

// A TCP port on 127.0.0.1 that was free a moment ago.
int PickFreePort();

// "127.0.0.1:<free port>".
std::string FreeLoopbackAddress();

// A fresh directory, removed with everything in it on destruction (kept, and
// named on stderr, when RENTMESH_KEEP_TMP=1: to read a failed run's logs).
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(absl::string_view name) const;

 private:
  std::string path_;
};

// Path of a binary built by this project, e.g. ServiceBinary("rental") is
// <build>/services/rental/rental_server.
std::string ServiceBinary(absl::string_view service);
// Path of a tool built by this project, e.g. ToolBinary("quorum_guard") is
// <build>/tools/quorum_guard/quorum_guard.
std::string ToolBinary(absl::string_view tool);

// Polls `pred` every `poll` until it holds or `timeout` passes; the last
// answer of `pred`.
bool Eventually(const std::function<bool()>& pred, absl::Duration timeout = absl::Seconds(15),
                absl::Duration poll = absl::Milliseconds(20));

// Waits until a gRPC server at `address` reports SERVING on grpc.health.v1.
absl::Status WaitForServing(const std::string& address, absl::Duration timeout);

}  // namespace rentmesh::testing
