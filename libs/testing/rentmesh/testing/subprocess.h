#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace rentmesh::testing {

// A child process (a service binary, nats-server) whose output goes to a log
// file. Killed with SIGKILL on destruction if still running.
class Subprocess {
 public:
  // Starts argv[0] with the rest as arguments; stdout and stderr append to
  // `log_path`.
  Subprocess(std::vector<std::string> argv, std::string log_path);
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  bool Running();
  // Sends `sig` and waits up to `timeout` for the exit (then SIGKILL).
  // Returns the wait status.
  int Stop(int sig, absl::Duration timeout = absl::Seconds(10));
  // kill -9 and reap.
  void Kill();
  const std::string& log_path() const { return log_path_; }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  std::string log_path_;
};

}  // namespace rentmesh::testing
