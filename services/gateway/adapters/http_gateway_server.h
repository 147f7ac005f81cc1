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

class EventHttpServer;

// Which HTTP server carries the gateway.
enum class HttpEngine {
  // EventHttpServer: event loops own the connections; unary calls do not
  // block a thread.
  kEvent,
  // cpp-httplib: a thread per open keep-alive connection.
  kThreaded,
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0 picks a free port
  HttpEngine engine = HttpEngine::kEvent;
  // kThreaded: worker threads, each keep-alive connection holds one while it
  // is open. kEvent: threads for /healthz and open watch streams.
  int threads = 64;
  // kEvent: event-loop threads (0: one per core, at most 4) and the most
  // connections open at once.
  int loops = 0;
  int max_connections = 20000;
  size_t max_head_bytes = 32 << 10;
  size_t max_body_bytes = 1 << 20;
  int keep_alive_max_requests = 100000;
  // Slow clients: an idle keep-alive connection is closed after this long...
  int keep_alive_timeout_seconds = 30;
  // ...a request whose bytes stop arriving for this long is dropped, and so
  // is a response (or watch stream) the client stops reading.
  int read_timeout_seconds = 10;
  int write_timeout_seconds = 10;
};

// The HTTP/1.1 (keep-alive) front door: every request goes to the
// GatewayHandler, on the engine the options name. Server-streaming responses
// are sent chunked.
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
  HttpGatewayServer(std::unique_ptr<EventHttpServer> server, int port);

  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<EventHttpServer> event_;
  int port_;
  std::thread thread_;
};

}  // namespace rentmesh::gateway
