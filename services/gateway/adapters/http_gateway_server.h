#pragma once

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "gateway/core/gateway_handler.h"

namespace httplib {
class Server;
}

namespace rentmesh::gateway {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0 picks a free port
  // Worker threads; each keep-alive connection holds one while it is open.
  int threads = 64;
  size_t max_body_bytes = 1 << 20;
  int keep_alive_max_requests = 100000;
  // Slow clients: an idle keep-alive connection is closed after this long...
  int keep_alive_timeout_seconds = 30;
  // ...a request whose bytes stop arriving for this long is dropped, and so
  // is a response (or watch stream) the client stops reading.
  int read_timeout_seconds = 10;
  int write_timeout_seconds = 10;
};

// The HTTP/1.1 (keep-alive) front door, on cpp-httplib: every request goes to
// the GatewayHandler. Server-streaming responses are sent chunked.
class HttpGatewayServer final {
 public:
  // Binds and starts serving on a thread of its own. `handler` must outlive
  // the server. UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpGatewayServer>> Start(const HttpServerOptions& options,
                                                                  GatewayHandler& handler);
  ~HttpGatewayServer();  // Stop()s.

  int port() const { return port_; }
  // Stops accepting, lets requests in progress finish, joins the workers.
  void Stop();

 private:
  HttpGatewayServer(std::unique_ptr<httplib::Server> server, int port);

  std::unique_ptr<httplib::Server> server_;
  int port_;
  std::thread thread_;
};

}  // namespace rentmesh::gateway
