#pragma once

#include <grpcpp/server_context.h>

#include <memory>

#include "absl/status/statusor.h"
#include "rentmesh/common/caller_identity.h"
#include "rentmesh/common/jwt_verifier.h"

namespace rentmesh {

// Establishes who calls a gRPC server, from the call's metadata.
//
// Not trusting the mesh (the default): only "authorization: Bearer <JWT>"
// counts. A token verified with the service key (role "service") is that
// service; a token verified with the edge's keys is a customer or librarian
// (a "service" role in it is dropped). A bad or unverifiable token is
// UNAUTHENTICATED; no token is anonymous. x-rentmesh-* headers are ignored.
//
// Trusting the mesh (--trust_mesh, Istio strips x-rentmesh-* at the ingress and
// its AuthorizationPolicy limits callers): a valid service token still names
// its service; otherwise the x-rentmesh-* headers are the caller, and a call
// without them is a service the mesh let through.
class CallerAuthenticator final {
 public:
  struct Options {
    bool trust_mesh = false;
    // Customer and librarian tokens (the edge's keys/JWKS). May be null.
    std::unique_ptr<JwtVerifier> user_tokens;
    // Service tokens (the service key). May be null: no service identities.
    std::unique_ptr<JwtVerifier> service_tokens;
  };

  explicit CallerAuthenticator(Options options) : options_(std::move(options)) {}
  // A mesh-trusting authenticator with no keys (tests of the services'
  // rules, and the --trust_mesh default).
  static std::unique_ptr<CallerAuthenticator> TrustingMesh();

  bool trusts_mesh() const { return options_.trust_mesh; }

  // The caller of the call; UNAUTHENTICATED when it sent a token that does
  // not verify.
  absl::StatusOr<CallerIdentity> Identify(const grpc::ServerContextBase& ctx) const;

 private:
  Options options_;
};

}  // namespace rentmesh
