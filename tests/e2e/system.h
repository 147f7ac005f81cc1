#pragma once

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "rentmesh/testing/nats_server.h"
#include "rentmesh/testing/subprocess.h"
#include "rentmesh/testing/test_env.h"

// End-to-end harness: a real nats-server -js and the real service binaries on
// free loopback ports, each with its own RocksDB folder in a temp dir.
namespace rentmesh::e2e {

class ServiceProcess {
 public:
  // `nats_flags`: --nats_url and the service's own NATS credentials.
  ServiceProcess(std::string service, std::string name, std::vector<std::string> nats_flags,
                 std::string data_dir, std::string log_dir, std::vector<std::string> extra_args)
      : service_(std::move(service)),
        name_(std::move(name)),
        address_(testing::FreeLoopbackAddress()),
        nats_flags_(std::move(nats_flags)),
        data_dir_(std::move(data_dir)),
        log_dir_(std::move(log_dir)),
        extra_args_(std::move(extra_args)) {}

  // Starts the binary and waits until it reports SERVING.
  absl::Status Start(const std::vector<std::string>& more_args = {}) {
    std::vector<std::string> argv = {testing::ServiceBinary(service_), "--grpc_address=" + address_,
                                     "--admin_address=" + testing::FreeLoopbackAddress(),
                                     "--data_dir=" + data_dir_};
    argv.insert(argv.end(), nats_flags_.begin(), nats_flags_.end());
    argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
    argv.insert(argv.end(), more_args.begin(), more_args.end());
    process_ =
        std::make_unique<testing::Subprocess>(argv, absl::StrCat(log_dir_, "/", name_, ".log"));
    return testing::WaitForServing(address_, absl::Seconds(30));
  }
  // Starts without waiting (for a process expected to crash or not yet ready).
  void StartNoWait(const std::vector<std::string>& more_args = {}) {
    std::vector<std::string> argv = {testing::ServiceBinary(service_), "--grpc_address=" + address_,
                                     "--admin_address=" + testing::FreeLoopbackAddress(),
                                     "--data_dir=" + data_dir_};
    argv.insert(argv.end(), nats_flags_.begin(), nats_flags_.end());
    argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
    argv.insert(argv.end(), more_args.begin(), more_args.end());
    process_ =
        std::make_unique<testing::Subprocess>(argv, absl::StrCat(log_dir_, "/", name_, ".log"));
  }
  void Stop() {
    if (process_) process_->Stop(SIGTERM);
  }
  void Kill() {
    if (process_) process_->Kill();
  }
  bool Running() { return process_ && process_->Running(); }
  const std::string& address() const { return address_; }
  const std::string& data_dir() const { return data_dir_; }
  std::shared_ptr<grpc::Channel> Channel() const {
    return grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
  }

 private:
  std::string service_, name_, address_;
  std::vector<std::string> nats_flags_;
  std::string data_dir_, log_dir_;
  std::vector<std::string> extra_args_;
  std::unique_ptr<testing::Subprocess> process_;
};

class System {
 public:
  static std::unique_ptr<System> Start() {
    auto s = std::unique_ptr<System>(new System());
    auto nats = testing::NatsServer::Start();
    if (!nats.ok()) return nullptr;
    s->nats_ = std::move(*nats);
    return s;
  }

  // Declares a process; call Start() on it.
  ServiceProcess& Add(const std::string& service, const std::string& name,
                      std::vector<std::string> args = {}) {
    // Each service connects as its own NATS user, with the permissions a
    // real run gives it (tools/nats_auth.sh).
    procs_.push_back(std::make_unique<ServiceProcess>(
        service, name, nats_->ServiceFlags(service), dir_.Sub(name), dir_.path(), std::move(args)));
    return *procs_.back();
  }

  // Stops every process (last started first), e.g. before reading the NATS
  // log for permission violations (shutdown deletes consumers too).
  void StopAll() {
    for (auto it = procs_.rbegin(); it != procs_.rend(); ++it) (*it)->Stop();
  }

  testing::NatsServer& nats() { return *nats_; }
  const std::string& dir() const { return dir_.path(); }

 private:
  System() = default;
  testing::TempDir dir_;
  std::unique_ptr<testing::NatsServer> nats_;
  std::vector<std::unique_ptr<ServiceProcess>> procs_;
};

inline void WithDeadline(grpc::ClientContext& ctx, absl::Duration d) {
  ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(d));
}

}  // namespace rentmesh::e2e
