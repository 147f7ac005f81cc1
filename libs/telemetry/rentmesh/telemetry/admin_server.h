#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "rentmesh/telemetry/metrics.h"

namespace httplib {
class Server;
}

namespace rentmesh::telemetry {

// The admin HTTP endpoint of a service (kept off the gRPC port so that the
// mesh can scrape and probe it without touching the API):
//   GET /metrics  Prometheus text exposition of the registry
//   GET /healthz  200 "ok" when health_fn returns OK, 503 with the message otherwise
// Serves on its own threads until destroyed.
class AdminServer final {
 public:
  // Returns OK when the instance can serve; the message of a non-OK status is
  // shown to the caller. Called on an HTTP thread; must be thread-safe.
  using HealthFn = std::function<absl::Status()>;

  // An extra route (e.g. a service's admin operations). The handler gets the
  // query parameters and answers an HTTP status and a body (JSON or text).
  struct Reply {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
  };
  struct Route {
    std::string method;  // "GET" or "POST"
    std::string path;
    std::function<Reply(const std::map<std::string, std::string>& params)> handler;
  };

  // Listens on `address` ("0.0.0.0:9451", "[::]:9451", "127.0.0.1:0" picks a
  // free port). `registry` must outlive the server. Fails with
  // INVALID_ARGUMENT for a malformed address, UNAVAILABLE when it cannot bind.
  static absl::StatusOr<std::unique_ptr<AdminServer>> Start(std::string_view address,
                                                            const MetricsRegistry& registry,
                                                            HealthFn health_fn,
                                                            std::vector<Route> routes = {});
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  int port() const { return port_; }

 private:
  AdminServer(std::unique_ptr<httplib::Server> server, int port);

  std::unique_ptr<httplib::Server> server_;
  int port_;
  std::thread thread_;
};

// Splits "host:port" / "[v6]:port" into host and port; exposed for tests.
absl::StatusOr<std::pair<std::string, int>> ParseHostPort(std::string_view address);

}  // namespace rentmesh::telemetry
