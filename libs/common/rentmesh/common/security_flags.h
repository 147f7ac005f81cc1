#pragma once

#include <grpcpp/security/credentials.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "rentmesh/common/caller_authenticator.h"
#include "rentmesh/common/grpc_server.h"
#include "rentmesh/common/service_token.h"

namespace rentmesh {

// The identity, TLS and limit flags every service binary shares:
//   --trust_mesh                   believe x-rentmesh-* headers (Istio strips them at the
//                                  ingress; its AuthorizationPolicy limits callers)
//   --jwt_public_key_file / --jwt_jwks_file, --jwt_issuer, --jwt_audience
//                                  customer/librarian tokens, the same keys as the edge
//   --service_jwt_public_key_file / --service_jwt_jwks_file
//                                  verify service tokens (sub = calling service)
//   --service_jwt_private_key_file signs this service's own calls to others
//   --tls_cert_file, --tls_key_file, --tls_ca_file, --tls_require_client_cert
//   --grpc_max_message_bytes, --grpc_max_concurrent_streams
// Read only from a main.

// Who may call this server. Without --trust_mesh a key is required (a
// server that cannot verify anyone would refuse everyone).
absl::StatusOr<std::unique_ptr<CallerAuthenticator>> CallerAuthenticatorFromFlags();
// The token this service attaches to its outgoing calls; null when
// --service_jwt_private_key_file is not set.
absl::StatusOr<std::unique_ptr<ServiceTokenSource>> ServiceTokenFromFlags(
    const std::string& service);
// TLS (mTLS with --tls_require_client_cert) and limits of this server.
absl::StatusOr<GrpcServerOptions> GrpcServerOptionsFromFlags();
// Credentials of this service's channels to other services: TLS trusting
// --tls_ca_file (presenting --tls_cert_file as client certificate) when set,
// plaintext otherwise.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentialsFromFlags();

}  // namespace rentmesh
