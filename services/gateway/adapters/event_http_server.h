#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/core/gateway_handler.h"
#include "rentmesh/common/work_pool.h"

namespace rentmesh::gateway {

// The HTTP/1.1 front door on epoll: a few event-loop threads own every
// connection, so an open keep-alive connection costs a file descriptor and
// its buffers, not a thread. A unary route is handled without blocking
// (GatewayHandler::HandleAsync): the loop parses the request and starts the
// backend call, and the backend's completion writes the response straight to
// the socket. /healthz and server-streaming routes run on a small pool of
// blocking threads (a watch holds one while it is open).
//
// One request per connection is in flight at a time (pipelined requests are
// read and answered in order). Limits answer before anything reaches the
// handler: 431 for a head over the limit, 413 for a body over it, 400 for
// what cannot be framed safely, and the connection closes after each of
// those. Slow clients are dropped: a connection idle between requests after
// the keep-alive timeout, a request whose bytes stop arriving after the read
// timeout, a response the client stops reading after the write timeout.
class EventHttpServer final {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    int port = 8080;  // 0 picks a free port
    // Event-loop threads; 0: one per core, at most 4.
    int loops = 0;
    // Threads for /healthz and open watch streams.
    int blocking_threads = 64;
    // Connections beyond this are closed as they are accepted.
    int max_connections = 20000;
    size_t max_head_bytes = 32 << 10;
    size_t max_body_bytes = 1 << 20;
    int keep_alive_max_requests = 100000;
    absl::Duration idle_timeout = absl::Seconds(30);
    absl::Duration read_timeout = absl::Seconds(10);
    absl::Duration write_timeout = absl::Seconds(10);
  };

  // Binds and starts serving. `handler` must outlive the server.
  // UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<EventHttpServer>> Start(const Options& options,
                                                                GatewayHandler& handler);
  ~EventHttpServer();  // Stop()s.
  EventHttpServer(const EventHttpServer&) = delete;
  EventHttpServer& operator=(const EventHttpServer&) = delete;

  int port() const { return port_; }
  // Stops accepting, lets requests in progress finish (open streams are
  // cancelled), closes every connection and joins the threads.
  void Stop();

  // Open connections (for tests and metrics).
  int connections() const { return connections_.load(); }

  struct Conn;
  struct Loop;

 private:
  EventHttpServer(const Options& options, GatewayHandler& handler);

  void Run(Loop& loop);
  void Accept(Loop& loop);
  void OnEvent(Loop& loop, Conn* c, uint32_t events);
  void ReadAndProcess(Loop& loop, Conn* c);
  void Process(Loop& loop, Conn* c);
  void Dispatch(Conn* c, HttpRequest request, bool keep_alive, bool head);
  // A response for the request in flight (any thread).
  void Complete(Conn* c, const HttpResponse& response, bool keep_alive);
  void StreamResponse(Conn* c, HttpResponse response);
  void AfterWrite(Conn* c);
  // Sends what is left of the connection's response, without blocking.
  enum class Sent { kAll, kBlocked, kFailed };
  static Sent SendPending(Conn& c);
  void Arm(Conn* c, uint32_t events);
  void Close(Loop& loop, Conn* c);
  void Sweep(Loop& loop);
  bool SendAllBlocking(Conn* c, const std::string& bytes);

  const Options options_;
  GatewayHandler& handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::unique_ptr<WorkPool> blocking_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<int> connections_{0};
  // Requests handed to the handler and not yet answered.
  std::atomic<int> in_flight_{0};
};

}  // namespace rentmesh::gateway
