#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/status.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "rentmesh/common/circuit_breaker.h"
#include "rentmesh/common/clock.h"

namespace rentmesh {

// The fast fallback of a synchronous call to another service, spread over
// every replica it is given: a deadline on every call and a circuit breaker
// per endpoint (one address: a replica, or a name gRPC balances round-robin
// over its addresses).
//
// Transient failures (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED)
// open an endpoint's breaker. A call starts at the next endpoint in turn,
// skips open ones, and when an endpoint answers UNAVAILABLE or
// RESOURCE_EXHAUSTED (the call did not run there, or was refused) tries the
// next one within the same deadline, so the called RPC must be idempotent.
// While every endpoint is open, a call fails at once with UNAVAILABLE.
template <typename Stub>
class EndpointFailover final {
 public:
  using MakeStub = std::function<std::unique_ptr<Stub>(std::shared_ptr<grpc::Channel>)>;
  // `authorize` adds the caller's credentials to each call (may be empty);
  // `circuit_message` is the UNAVAILABLE text while every circuit is open.
  EndpointFailover(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                   const MakeStub& make_stub, CircuitBreaker::Options breaker_options,
                   const Clock& clock, std::function<void(grpc::ClientContext&)> authorize,
                   std::string circuit_message)
      : authorize_(std::move(authorize)), circuit_message_(std::move(circuit_message)) {
    for (const auto& channel : channels) {
      endpoints_.push_back(
          {make_stub(channel), std::make_unique<CircuitBreaker>(breaker_options, clock)});
    }
  }

  // Runs `call` on one endpoint after another as described above, with
  // `deadline` and `trace` (metadata) on its context. Returns the status of
  // the endpoint that answered (any code but a transient one), or the last
  // transient failure.
  grpc::Status Call(absl::Time deadline, const std::map<std::string, std::string>& trace,
                    const std::function<grpc::Status(Stub&, grpc::ClientContext&)>& call) {
    const size_t n = endpoints_.size();
    const size_t first = next_.fetch_add(1, std::memory_order_relaxed);
    grpc::Status last(grpc::StatusCode::UNAVAILABLE, circuit_message_);
    for (size_t i = 0; i < n; ++i) {
      if (absl::Now() >= deadline) break;
      Endpoint& e = endpoints_[(first + i) % n];
      if (!e.breaker->Allow()) continue;
      grpc::ClientContext ctx;
      if (authorize_) authorize_(ctx);
      ctx.set_deadline(absl::ToChronoTime(deadline));
      for (const auto& [k, v] : trace) ctx.AddMetadata(k, v);
      grpc::Status st = call(*e.stub, ctx);
      if (IsTransient(st.error_code())) {
        e.breaker->RecordFailure();
        last = st;
        if (TryNext(st.error_code())) continue;
        return st;  // DEADLINE_EXCEEDED: the deadline is spent
      }
      e.breaker->RecordSuccess();
      return st;
    }
    return last;
  }

  // False while calls are known to fail at once (every circuit open).
  bool Accepting() {
    for (Endpoint& e : endpoints_) {
      if (e.breaker->WouldAllow()) return true;
    }
    return false;
  }

  // True while no endpoint's circuit is closed (each open, or half-open with
  // a probe to come or in flight): for the rentmesh_circuit_open gauge.
  bool CircuitOpen() {
    for (Endpoint& e : endpoints_) {
      if (e.breaker->state() == CircuitBreaker::State::kClosed) return false;
    }
    return !endpoints_.empty();
  }

  static bool IsTransient(grpc::StatusCode c) {
    return c == grpc::StatusCode::UNAVAILABLE || c == grpc::StatusCode::DEADLINE_EXCEEDED ||
           c == grpc::StatusCode::RESOURCE_EXHAUSTED;
  }

 private:
  // The call did not run on that endpoint (or was refused before running):
  // another endpoint may take it within the same deadline.
  static bool TryNext(grpc::StatusCode c) {
    return c == grpc::StatusCode::UNAVAILABLE || c == grpc::StatusCode::RESOURCE_EXHAUSTED;
  }

  struct Endpoint {
    std::unique_ptr<Stub> stub;
    std::unique_ptr<CircuitBreaker> breaker;
  };
  std::vector<Endpoint> endpoints_;
  std::atomic<size_t> next_{0};
  const std::function<void(grpc::ClientContext&)> authorize_;
  const std::string circuit_message_;
};

// Channels for a comma-separated list of addresses (each host:port, or a
// gRPC target such as dns:///payment-headless:50052), balanced round-robin
// over the addresses a name resolves to.
std::vector<std::shared_ptr<grpc::Channel>> FailoverChannels(
    const std::string& addresses, const std::shared_ptr<grpc::ChannelCredentials>& credentials);

}  // namespace rentmesh
