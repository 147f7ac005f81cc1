#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "rentmesh/common/grpc_server.h"
#include "rentmesh/payment/v1/payment.grpc.pb.h"
#include "rentmesh/rental/v1/rental.grpc.pb.h"
#include "rentmesh/returns/v1/returns.grpc.pb.h"
#include "rentmesh/view/v1/view.grpc.pb.h"

namespace rentmesh::gateway::testing {

// The metadata of the last call any fake received (header-forwarding tests).
class MetadataRecorder final {
 public:
  void Record(const grpc::ServerContext& ctx);
  // The value of `key` in the last call; "<absent>" when it was not sent.
  std::string Last(const std::string& key) const;

 private:
  mutable absl::Mutex mu_;
  std::multimap<std::string, std::string> last_ ABSL_GUARDED_BY(mu_);
};

// In-memory stand-ins for the four rentmesh services, with the same
// authorization rules (CallerIdentity from x-rentmesh-* metadata) and error
// codes as their contracts. Test hooks: GetBook with book_id "status-<n>"
// fails with canonical code n; "sleep-<ms>" answers after that delay.
class FakeBackends final {
 public:
  // Starts one gRPC server per service on 127.0.0.1:0 (health SERVING).
  static std::unique_ptr<FakeBackends> Start();
  ~FakeBackends();

  // backend name -> "127.0.0.1:<port>", for GrpcBackendCaller.
  std::map<std::string, std::string> Addresses() const;
  MetadataRecorder& metadata() { return *recorder_; }
  // Stops the named backend ("rental", ...) to simulate an outage.
  void Stop(const std::string& backend);

  struct State;  // the shared in-memory store

 private:
  FakeBackends() = default;
  std::unique_ptr<MetadataRecorder> recorder_;
  std::unique_ptr<State> state_;
  std::unique_ptr<grpc::Service> rental_, payment_, returns_, view_;
  std::map<std::string, std::unique_ptr<GrpcServer>> servers_;
};

}  // namespace rentmesh::gateway::testing
