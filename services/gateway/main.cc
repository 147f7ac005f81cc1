// Composition root of the REST edge: flags -> Config -> route table ->
// backends -> JWT verifier -> handler -> HTTP server; shuts down in reverse.
#include <grpcpp/security/credentials.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/synchronization/mutex.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gateway/adapters/grpc_backend_caller.h"
#include "gateway/adapters/http_gateway_server.h"
#include "gateway/core/gateway_handler.h"
#include "gateway/core/jwt_verifier.h"
#include "gateway/core/openapi.h"
#include "gateway/core/route_table.h"
#include "rentmesh/common/grpc_server.h"
#include "rentmesh/common/log.h"
#include "rentmesh/telemetry/service_telemetry.h"

ABSL_FLAG(std::string, http_address, "127.0.0.1:8080", "HTTP listen address host:port");
ABSL_FLAG(std::string, grpc_address, "127.0.0.1:50050",
          "gRPC address serving grpc.health.v1 (for probes) and reflection");
ABSL_FLAG(std::string, rental_address, "127.0.0.1:50051", "RentalService (rentmesh.rental.*)");
ABSL_FLAG(std::string, payment_address, "127.0.0.1:50052", "PaymentService (rentmesh.payment.*)");
ABSL_FLAG(std::string, returns_address, "127.0.0.1:50053", "ReturnService (rentmesh.returns.*)");
ABSL_FLAG(std::string, view_address, "127.0.0.1:50054", "ViewService (rentmesh.view.*)");
ABSL_FLAG(std::string, delivery_address, "127.0.0.1:50055",
          "DeliveryService (rentmesh.delivery.*)");
ABSL_FLAG(std::string, notification_address, "127.0.0.1:50056",
          "NotificationService (rentmesh.notification.*)");
ABSL_FLAG(std::string, admin_address, "127.0.0.1:9450",
          "admin/metrics address (reserved; not served yet)");
ABSL_FLAG(int64_t, default_timeout_ms, 10000, "deadline of a call without a Grpc-Timeout header");
ABSL_FLAG(int64_t, max_timeout_ms, 300000, "upper bound on a client's Grpc-Timeout");
ABSL_FLAG(int64_t, stream_timeout_ms, 3600000, "deadline of a streaming call without Grpc-Timeout");
ABSL_FLAG(int64_t, max_body_bytes, 1 << 20, "larger request bodies answer 413");
ABSL_FLAG(std::string, http_engine, "event",
          "HTTP server: event (epoll loops own the connections; unary calls block no thread) "
          "or threaded (cpp-httplib, a thread per open keep-alive connection)");
ABSL_FLAG(int, http_threads, 64,
          "event: threads for /healthz and open watch streams; threaded: HTTP worker threads "
          "(each open keep-alive connection holds one)");
ABSL_FLAG(int, http_loops, 0, "event: event-loop threads (0: one per core, at most 4)");
ABSL_FLAG(int, http_max_connections, 20000,
          "event: connections open at once; more are closed as they are accepted");
ABSL_FLAG(int64_t, max_header_bytes, 16 << 10,
          "larger request headers (names + values) answer 431; one line is at most 8 KiB");
ABSL_FLAG(int, http_read_timeout_s, 10, "a request whose bytes stop arriving this long is dropped");
ABSL_FLAG(int, http_write_timeout_s, 10, "a client that stops reading this long is dropped");
ABSL_FLAG(int, http_idle_timeout_s, 30, "an idle keep-alive connection is closed after this long");
ABSL_FLAG(double, rate_limit_per_second, 50,
          "sustained requests per second per client address (0: no limit); over it: 429");
ABSL_FLAG(double, rate_limit_burst, 100, "requests a client may send at once");
ABSL_FLAG(int, max_open_streams, 32,
          "open watch streams at once (each holds an HTTP thread; must stay below "
          "--http_threads); more answer 429");
ABSL_FLAG(std::string, jwt_public_key_file, "", "PEM public key (RSA -> RS256, EC P-256 -> ES256)");
ABSL_FLAG(std::string, jwt_jwks_file, "", "JWKS file with the accepted signing keys");
ABSL_FLAG(std::string, jwt_issuer, "rentmesh-dev", "required \"iss\" (empty: not checked)");
ABSL_FLAG(std::string, jwt_audience, "rentmesh", "required \"aud\" (empty: not checked)");
ABSL_FLAG(bool, auth_disabled, false,
          "accept calls without a JWT (no identity is passed to the services)");
ABSL_FLAG(std::string, backend_tls_ca_file, "",
          "PEM CA bundle: call the services over TLS, verifying them with it (no mesh)");
ABSL_FLAG(std::string, backend_tls_cert_file, "",
          "PEM client certificate for services that require mTLS");
ABSL_FLAG(std::string, backend_tls_key_file, "", "PEM private key of --backend_tls_cert_file");
ABSL_FLAG(bool, dump_openapi, false, "print the OpenAPI document to stdout and exit");

namespace rentmesh::gateway {
namespace {

struct Config {
  HttpServerOptions http;
  std::map<std::string, std::string> backends;
  std::string admin_address;
  GatewayOptions gateway;
  bool auth_disabled = false;
  bool http_engine_ok = true;
  std::string jwt_public_key_file;
  std::string jwt_jwks_file;
  JwtVerifierConfig jwt;

  static Config FromFlags() {
    Config c;
    const std::string http = absl::GetFlag(FLAGS_http_address);
    const size_t colon = http.rfind(':');
    c.http.host = colon == std::string::npos ? http : http.substr(0, colon);
    if (colon == std::string::npos || !absl::SimpleAtoi(http.substr(colon + 1), &c.http.port))
      c.http.port = -1;
    c.http.threads = absl::GetFlag(FLAGS_http_threads);
    const std::string engine = absl::GetFlag(FLAGS_http_engine);
    c.http.engine = engine == "threaded" ? HttpEngine::kThreaded : HttpEngine::kEvent;
    c.http_engine_ok = engine == "event" || engine == "threaded";
    c.http.loops = absl::GetFlag(FLAGS_http_loops);
    c.http.max_connections = absl::GetFlag(FLAGS_http_max_connections);
    c.http.max_body_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_max_body_bytes));
    c.http.read_timeout_seconds = absl::GetFlag(FLAGS_http_read_timeout_s);
    c.http.write_timeout_seconds = absl::GetFlag(FLAGS_http_write_timeout_s);
    c.http.keep_alive_timeout_seconds = absl::GetFlag(FLAGS_http_idle_timeout_s);
    c.gateway.max_header_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_max_header_bytes));
    c.gateway.rate_limit.per_second = absl::GetFlag(FLAGS_rate_limit_per_second);
    c.gateway.rate_limit.burst = absl::GetFlag(FLAGS_rate_limit_burst);
    c.gateway.max_open_streams = absl::GetFlag(FLAGS_max_open_streams);
    c.backends = {{"rental", absl::GetFlag(FLAGS_rental_address)},
                  {"payment", absl::GetFlag(FLAGS_payment_address)},
                  {"returns", absl::GetFlag(FLAGS_returns_address)},
                  {"view", absl::GetFlag(FLAGS_view_address)},
                  {"delivery", absl::GetFlag(FLAGS_delivery_address)},
                  {"notification", absl::GetFlag(FLAGS_notification_address)}};
    c.admin_address = absl::GetFlag(FLAGS_admin_address);
    c.gateway.default_timeout = absl::Milliseconds(absl::GetFlag(FLAGS_default_timeout_ms));
    c.gateway.max_timeout = absl::Milliseconds(absl::GetFlag(FLAGS_max_timeout_ms));
    c.gateway.stream_timeout = absl::Milliseconds(absl::GetFlag(FLAGS_stream_timeout_ms));
    c.gateway.max_body_bytes = c.http.max_body_bytes;
    c.auth_disabled = absl::GetFlag(FLAGS_auth_disabled);
    c.jwt_public_key_file = absl::GetFlag(FLAGS_jwt_public_key_file);
    c.jwt_jwks_file = absl::GetFlag(FLAGS_jwt_jwks_file);
    c.jwt.issuer = absl::GetFlag(FLAGS_jwt_issuer);
    c.jwt.audience = absl::GetFlag(FLAGS_jwt_audience);
    return c;
  }

  absl::Status Validate() const {
    if (http.port < 0 || http.port > 65535)
      return absl::InvalidArgumentError("--http_address must be host:port");
    if (http.threads < 1) return absl::InvalidArgumentError("--http_threads must be >= 1");
    if (!http_engine_ok) return absl::InvalidArgumentError("--http_engine must be event or threaded");
    if (http.loops < 0 || http.loops > 64) {
      return absl::InvalidArgumentError("--http_loops must be 0..64");
    }
    if (http.max_connections < 1) {
      return absl::InvalidArgumentError("--http_max_connections must be >= 1");
    }
    if (http.max_body_bytes < 1) return absl::InvalidArgumentError("--max_body_bytes must be >= 1");
    if (http.read_timeout_seconds < 1 || http.write_timeout_seconds < 1 ||
        http.keep_alive_timeout_seconds < 1) {
      return absl::InvalidArgumentError("HTTP timeouts must be >= 1 s");
    }
    if (gateway.max_header_bytes < 1024)
      return absl::InvalidArgumentError("--max_header_bytes must be >= 1024");
    if (gateway.rate_limit.per_second < 0 ||
        (gateway.rate_limit.per_second > 0 && gateway.rate_limit.burst < 1)) {
      return absl::InvalidArgumentError(
          "--rate_limit_per_second must be >= 0 and --rate_limit_burst >= 1");
    }
    if (gateway.max_open_streams < 1 || gateway.max_open_streams >= http.threads) {
      return absl::InvalidArgumentError(
          "--max_open_streams must be >= 1 and below --http_threads (the REST API needs threads)");
    }
    if (gateway.default_timeout <= absl::ZeroDuration() ||
        gateway.max_timeout <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError("timeouts must be positive");
    }
    if (!auth_disabled && jwt_public_key_file.empty() && jwt_jwks_file.empty()) {
      return absl::InvalidArgumentError(
          "JWT verification needs --jwt_public_key_file or --jwt_jwks_file (or --auth_disabled)");
    }
    return absl::OkStatus();
  }
};

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int Fail(const absl::Status& s) {
  LogError("startup failed", {{"error", s.ToString()}});
  return 1;
}

int Run() {
  BlockTerminationSignals();
  SetLogService("gateway");
  Config config = Config::FromFlags();
  absl::StatusOr<RouteTable> routes = RouteTable::FromGeneratedPool("rentmesh.");
  if (!routes.ok()) return Fail(routes.status());
  if (absl::GetFlag(FLAGS_dump_openapi)) {
    OpenApiOptions openapi;
    openapi.bearer_auth = !config.auth_disabled;
    std::cout << BuildOpenApi(*routes, openapi) << "\n";
    return 0;
  }
  if (absl::Status s = config.Validate(); !s.ok()) return Fail(s);

  std::shared_ptr<grpc::ChannelCredentials> backend_credentials;
  if (const std::string ca = absl::GetFlag(FLAGS_backend_tls_ca_file); !ca.empty()) {
    grpc::SslCredentialsOptions ssl;
    absl::StatusOr<std::string> ca_pem = ReadFile(ca);
    if (!ca_pem.ok()) return Fail(ca_pem.status());
    ssl.pem_root_certs = *ca_pem;
    if (const std::string cert = absl::GetFlag(FLAGS_backend_tls_cert_file); !cert.empty()) {
      absl::StatusOr<std::string> cert_pem = ReadFile(cert);
      absl::StatusOr<std::string> key_pem = ReadFile(absl::GetFlag(FLAGS_backend_tls_key_file));
      if (!cert_pem.ok()) return Fail(cert_pem.status());
      if (!key_pem.ok()) return Fail(key_pem.status());
      ssl.pem_cert_chain = *cert_pem;
      ssl.pem_private_key = *key_pem;
    }
    backend_credentials = grpc::SslCredentials(ssl);
  }
  absl::StatusOr<std::unique_ptr<GrpcBackendCaller>> backends =
      GrpcBackendCaller::Create(config.backends, backend_credentials);
  if (!backends.ok()) return Fail(backends.status());

  std::unique_ptr<JwtVerifier> verifier;
  if (!config.auth_disabled) {
    if (!config.jwt_public_key_file.empty()) {
      absl::StatusOr<std::string> pem = ReadFile(config.jwt_public_key_file);
      if (!pem.ok()) return Fail(pem.status());
      config.jwt.public_key_pem = *pem;
    }
    if (!config.jwt_jwks_file.empty()) {
      absl::StatusOr<std::string> jwks = ReadFile(config.jwt_jwks_file);
      if (!jwks.ok()) return Fail(jwks.status());
      config.jwt.jwks_json = *jwks;
    }
    absl::StatusOr<std::unique_ptr<JwtVerifier>> v = JwtVerifier::Create(config.jwt);
    if (!v.ok()) return Fail(v.status());
    verifier = *std::move(v);
  } else {
    LogWarn("authentication disabled: every caller is treated as inside the mesh");
  }

  std::atomic<bool> ready{false};
  absl::StatusOr<std::unique_ptr<telemetry::ServiceTelemetry>> telemetry =
      telemetry::ServiceTelemetry::Start(absl::GetFlag(FLAGS_admin_address), [&ready] {
        return ready ? absl::OkStatus() : absl::UnavailableError("not ready");
      });
  if (!telemetry.ok()) return Fail(telemetry.status());

  GatewayHandler handler(config.gateway, *routes, **backends, std::move(verifier));
  absl::StatusOr<std::unique_ptr<HttpGatewayServer>> server =
      HttpGatewayServer::Start(config.http, handler);
  if (!server.ok()) return Fail(server.status());
  // gRPC health (and reflection) for the mesh's native probes; the REST
  // edge itself is HTTP.
  absl::StatusOr<std::unique_ptr<GrpcServer>> health =
      GrpcServer::Start(absl::GetFlag(FLAGS_grpc_address), {});
  if (!health.ok()) return Fail(health.status());
  (*health)->SetServing(true);
  ready = true;
  LogInfo("listening", {{"addr", absl::StrCat(config.http.host, ":", (*server)->port())},
                        {"grpc_health", absl::GetFlag(FLAGS_grpc_address)},
                        {"admin_port", std::to_string((*telemetry)->admin_port())},
                        {"routes", std::to_string(routes->routes().size())},
                        {"auth", config.auth_disabled ? "disabled" : "jwt"}});

  const int sig = WaitForTerminationSignal();
  LogInfo("shutting down", {{"signal", std::to_string(sig)}});
  (*telemetry)->StopAdmin();
  ready = false;
  (*health)->Shutdown(absl::Seconds(1));
  (*server)->Stop();
  server->reset();
  return 0;
}

}  // namespace
}  // namespace rentmesh::gateway

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  // absl's lock-order graph (on in Debian's build) costs every Mutex lock
  // and destruction on the hot path; the tests keep it on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return rentmesh::gateway::Run();
}
