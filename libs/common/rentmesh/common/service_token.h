#pragma once

#include <grpcpp/client_context.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace rentmesh {

struct ServiceTokenConfig {
  std::string service;          // "sub": the calling service, e.g. "rental"
  std::string private_key_pem;  // RSA (RS256) or EC P-256 (ES256) private key
  std::string issuer;           // "iss" (empty: none)
  std::string audience;         // "aud" (empty: none)
  absl::Duration ttl = absl::Minutes(10);
  // "roles": a service token says "service" (tools and tests mint customer
  // or librarian tokens with other roles).
  std::vector<std::string> roles = {"service"};
};

// Mints this service's own JWT (sub = service, roles = ["service"]) for its
// calls to other services, and re-mints it when half its lifetime is gone.
// Thread-safe.
class ServiceTokenSource final {
 public:
  // INVALID_ARGUMENT when the key does not parse or the service is empty.
  static absl::StatusOr<std::unique_ptr<ServiceTokenSource>> Create(
      ServiceTokenConfig config, std::function<absl::Time()> clock = &absl::Now);

  // A valid token; INTERNAL if signing fails.
  absl::StatusOr<std::string> Token();
  // Adds "authorization: Bearer <token>" to an outgoing call (nothing if
  // signing fails: the callee then answers UNAUTHENTICATED).
  void Attach(grpc::ClientContext& ctx);

 private:
  ServiceTokenSource(ServiceTokenConfig config, std::string alg, std::function<absl::Time()> clock)
      : config_(std::move(config)), alg_(std::move(alg)), clock_(std::move(clock)) {}

  const ServiceTokenConfig config_;
  const std::string alg_;
  const std::function<absl::Time()> clock_;
  absl::Mutex mu_;
  std::string token_ ABSL_GUARDED_BY(mu_);
  absl::Time refresh_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace rentmesh
