#include "rentmesh/common/security_flags.h"

#include <fstream>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"

ABSL_FLAG(bool, trust_mesh, false,
          "trust the service mesh: believe x-rentmesh-* identity headers and treat a call "
          "without them as an internal service (Istio strips them at the ingress); otherwise "
          "every caller proves itself with a JWT");
ABSL_FLAG(std::string, jwt_public_key_file, "",
          "customer/librarian tokens: PEM public key (the same as the gateway's)");
ABSL_FLAG(std::string, jwt_jwks_file, "", "customer/librarian tokens: JWKS (the gateway's)");
ABSL_FLAG(std::string, jwt_issuer, "rentmesh-dev", "required \"iss\" of every token (empty: any)");
ABSL_FLAG(std::string, jwt_audience, "rentmesh", "required \"aud\" of every token (empty: any)");
ABSL_FLAG(std::string, service_jwt_public_key_file, "",
          "PEM public key that verifies service tokens (sub = the calling service)");
ABSL_FLAG(std::string, service_jwt_jwks_file, "",
          "JWKS of service token keys (several during a rotation)");
ABSL_FLAG(std::string, service_jwt_private_key_file, "",
          "PEM private key signing this service's token for its calls to other services");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate chain: serve gRPC over TLS (and present it as client certificate)");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of --tls_cert_file");
ABSL_FLAG(std::string, tls_ca_file, "",
          "PEM CA bundle: verifies the services this one calls (and clients, with "
          "--tls_require_client_cert)");
ABSL_FLAG(bool, tls_require_client_cert, false,
          "mTLS: refuse clients without a certificate signed by --tls_ca_file");
ABSL_FLAG(int, grpc_max_message_bytes, 4 << 20, "largest gRPC message received or sent");
ABSL_FLAG(int, grpc_max_concurrent_streams, 256, "concurrent calls per client connection");

namespace rentmesh {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("--", flag, ": cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::StatusOr<std::unique_ptr<JwtVerifier>> VerifierOf(const std::string& pem_flag,
                                                        const std::string& jwks_flag,
                                                        const std::string& pem_file,
                                                        const std::string& jwks_file) {
  if (pem_file.empty() && jwks_file.empty()) return nullptr;
  JwtVerifierConfig config;
  config.issuer = absl::GetFlag(FLAGS_jwt_issuer);
  config.audience = absl::GetFlag(FLAGS_jwt_audience);
  if (!pem_file.empty()) {
    absl::StatusOr<std::string> pem = ReadFile(pem_flag, pem_file);
    if (!pem.ok()) return pem.status();
    config.public_key_pem = *std::move(pem);
  }
  if (!jwks_file.empty()) {
    absl::StatusOr<std::string> jwks = ReadFile(jwks_flag, jwks_file);
    if (!jwks.ok()) return jwks.status();
    config.jwks_json = *std::move(jwks);
  }
  return JwtVerifier::Create(config);
}

}  // namespace

absl::StatusOr<std::unique_ptr<CallerAuthenticator>> CallerAuthenticatorFromFlags() {
  CallerAuthenticator::Options options;
  options.trust_mesh = absl::GetFlag(FLAGS_trust_mesh);
  absl::StatusOr<std::unique_ptr<JwtVerifier>> users =
      VerifierOf("jwt_public_key_file", "jwt_jwks_file", absl::GetFlag(FLAGS_jwt_public_key_file),
                 absl::GetFlag(FLAGS_jwt_jwks_file));
  if (!users.ok()) return users.status();
  absl::StatusOr<std::unique_ptr<JwtVerifier>> services = VerifierOf(
      "service_jwt_public_key_file", "service_jwt_jwks_file",
      absl::GetFlag(FLAGS_service_jwt_public_key_file), absl::GetFlag(FLAGS_service_jwt_jwks_file));
  if (!services.ok()) return services.status();
  options.user_tokens = *std::move(users);
  options.service_tokens = *std::move(services);
  if (!options.trust_mesh && options.user_tokens == nullptr && options.service_tokens == nullptr) {
    return absl::InvalidArgumentError(
        "callers must be verified: give --jwt_public_key_file or --jwt_jwks_file (customer "
        "tokens) and --service_jwt_public_key_file or --service_jwt_jwks_file (service "
        "tokens), or --trust_mesh inside a "
        "service mesh that authenticates callers");
  }
  return std::make_unique<CallerAuthenticator>(std::move(options));
}

absl::StatusOr<std::unique_ptr<ServiceTokenSource>> ServiceTokenFromFlags(
    const std::string& service) {
  const std::string file = absl::GetFlag(FLAGS_service_jwt_private_key_file);
  if (file.empty()) return nullptr;
  absl::StatusOr<std::string> pem = ReadFile("service_jwt_private_key_file", file);
  if (!pem.ok()) return pem.status();
  ServiceTokenConfig config;
  config.service = service;
  config.private_key_pem = *std::move(pem);
  config.issuer = absl::GetFlag(FLAGS_jwt_issuer);
  config.audience = absl::GetFlag(FLAGS_jwt_audience);
  return ServiceTokenSource::Create(std::move(config));
}

absl::StatusOr<GrpcServerOptions> GrpcServerOptionsFromFlags() {
  GrpcServerOptions options;
  options.max_message_bytes = absl::GetFlag(FLAGS_grpc_max_message_bytes);
  options.max_concurrent_streams = absl::GetFlag(FLAGS_grpc_max_concurrent_streams);
  if (options.max_message_bytes < 1024 || options.max_concurrent_streams < 1) {
    return absl::InvalidArgumentError(
        "--grpc_max_message_bytes must be >= 1024 and --grpc_max_concurrent_streams >= 1");
  }
  const std::string cert = absl::GetFlag(FLAGS_tls_cert_file);
  const std::string key = absl::GetFlag(FLAGS_tls_key_file);
  const std::string ca = absl::GetFlag(FLAGS_tls_ca_file);
  const bool mtls = absl::GetFlag(FLAGS_tls_require_client_cert);
  if (cert.empty() != key.empty()) {
    return absl::InvalidArgumentError("--tls_cert_file and --tls_key_file go together");
  }
  if (mtls && (cert.empty() || ca.empty())) {
    return absl::InvalidArgumentError(
        "--tls_require_client_cert needs --tls_cert_file, --tls_key_file and --tls_ca_file");
  }
  if (cert.empty()) return options;
  absl::StatusOr<std::string> cert_pem = ReadFile("tls_cert_file", cert);
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<std::string> key_pem = ReadFile("tls_key_file", key);
  if (!key_pem.ok()) return key_pem.status();
  options.tls.emplace();
  options.tls->cert_chain_pem = *std::move(cert_pem);
  options.tls->private_key_pem = *std::move(key_pem);
  if (mtls) {
    absl::StatusOr<std::string> ca_pem = ReadFile("tls_ca_file", ca);
    if (!ca_pem.ok()) return ca_pem.status();
    options.tls->client_ca_pem = *std::move(ca_pem);
  }
  return options;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentialsFromFlags() {
  const std::string ca = absl::GetFlag(FLAGS_tls_ca_file);
  if (ca.empty()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  absl::StatusOr<std::string> ca_pem = ReadFile("tls_ca_file", ca);
  if (!ca_pem.ok()) return ca_pem.status();
  ssl.pem_root_certs = *std::move(ca_pem);
  const std::string cert = absl::GetFlag(FLAGS_tls_cert_file);
  const std::string key = absl::GetFlag(FLAGS_tls_key_file);
  if (!cert.empty() && !key.empty()) {
    absl::StatusOr<std::string> cert_pem = ReadFile("tls_cert_file", cert);
    if (!cert_pem.ok()) return cert_pem.status();
    absl::StatusOr<std::string> key_pem = ReadFile("tls_key_file", key);
    if (!key_pem.ok()) return key_pem.status();
    ssl.pem_cert_chain = *std::move(cert_pem);
    ssl.pem_private_key = *std::move(key_pem);
  }
  return grpc::SslCredentials(ssl);
}

}  // namespace rentmesh
