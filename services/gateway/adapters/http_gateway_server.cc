#include "gateway/adapters/http_gateway_server.h"

#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gateway/adapters/event_http_server.h"
#include "gateway/core/error_mapping.h"

namespace rentmesh::gateway {
namespace {

HttpRequest ToGatewayRequest(const httplib::Request& req) {
  HttpRequest out;
  out.method = req.method;
  out.target = req.target;
  out.headers.reserve(req.headers.size());
  for (const auto& [k, v] : req.headers) out.headers.emplace_back(absl::AsciiStrToLower(k), v);
  out.body = req.body;
  return out;
}

void WriteResponse(HttpResponse r, httplib::Response& res) {
  res.status = r.status;
  for (const auto& [k, v] : r.headers) res.set_header(k, v);
  if (!r.stream) {
    res.set_content(r.body, r.content_type);
    return;
  }
  // std::function needs a copyable callable: share the source.
  std::shared_ptr<ChunkSource> source(std::move(r.stream));
  auto first = std::make_shared<std::string>(std::move(r.body));
  res.set_chunked_content_provider(
      r.content_type,
      [source, first](size_t, httplib::DataSink& sink) {
        if (!first->empty()) {
          std::string head;
          head.swap(*first);
          if (!sink.write(head.data(), head.size())) return false;
        }
        std::optional<std::string> chunk = source->NextChunk();
        if (!chunk.has_value()) {
          sink.done();
          return true;
        }
        return sink.write(chunk->data(), chunk->size());
      },
      [source](bool success) {
        if (!success) source->Cancel();
      });
}

}  // namespace

HttpGatewayServer::HttpGatewayServer(std::unique_ptr<httplib::Server> server, int port)
    : server_(std::move(server)), port_(port) {}
HttpGatewayServer::HttpGatewayServer(std::unique_ptr<EventHttpServer> server, int port)
    : event_(std::move(server)), port_(port) {}

absl::StatusOr<std::unique_ptr<HttpGatewayServer>> HttpGatewayServer::Start(
    const HttpServerOptions& options, GatewayHandler& handler) {
  if (options.engine == HttpEngine::kEvent) {
    EventHttpServer::Options o;
    o.host = options.host;
    o.port = options.port;
    o.loops = options.loops;
    o.blocking_threads = options.threads;
    o.max_connections = options.max_connections;
    o.max_head_bytes = options.max_head_bytes;
    o.max_body_bytes = options.max_body_bytes;
    o.keep_alive_max_requests = options.keep_alive_max_requests;
    o.idle_timeout = absl::Seconds(options.keep_alive_timeout_seconds);
    o.read_timeout = absl::Seconds(options.read_timeout_seconds);
    o.write_timeout = absl::Seconds(options.write_timeout_seconds);
    absl::StatusOr<std::unique_ptr<EventHttpServer>> server = EventHttpServer::Start(o, handler);
    if (!server.ok()) return server.status();
    const int port = (*server)->port();
    return std::unique_ptr<HttpGatewayServer>(new HttpGatewayServer(*std::move(server), port));
  }
  auto server = std::make_unique<httplib::Server>();
  const int threads = options.threads;
  server->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server->set_keep_alive_max_count(options.keep_alive_max_requests);
  server->set_keep_alive_timeout(options.keep_alive_timeout_seconds);
  server->set_read_timeout(options.read_timeout_seconds);
  server->set_write_timeout(options.write_timeout_seconds);
  server->set_payload_max_length(options.max_body_bytes);
  server->set_tcp_nodelay(true);
  server->set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
  });
  auto handle = [&handler](const httplib::Request& req, httplib::Response& res) {
    WriteResponse(handler.Handle(ToGatewayRequest(req), req.remote_addr), res);
  };
  server->Get(".*", handle);
  server->Post(".*", handle);
  server->Put(".*", handle);
  server->Patch(".*", handle);
  server->Delete(".*", handle);
  server->Options(".*", handle);
  // Errors the library produces itself (413 over the body limit, 400 on a
  // malformed request line) get the same JSON shape as the gateway's own.
  server->set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        absl::Status s = res.status == 413 ? absl::InvalidArgumentError("request body too large")
                         : res.status == 404
                             ? absl::NotFoundError("no route")
                             : absl::InvalidArgumentError(absl::StrCat("HTTP ", res.status));
        res.set_content(StatusJson(s), "application/json");
        return httplib::Server::HandlerResponse::Handled;
      }));
  server->set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        res.status = 500;
        res.set_content(StatusJson(absl::InternalError("internal error")), "application/json");
      });
  int port = options.port;
  if (port == 0) {
    port = server->bind_to_any_port(options.host);
    if (port <= 0) return absl::UnavailableError(absl::StrCat("cannot bind ", options.host, ":0"));
  } else if (!server->bind_to_port(options.host, port)) {
    return absl::UnavailableError(absl::StrCat("cannot bind ", options.host, ":", port));
  }
  auto out = std::unique_ptr<HttpGatewayServer>(new HttpGatewayServer(std::move(server), port));
  httplib::Server* raw = out->server_.get();
  out->thread_ = std::thread([raw] { raw->listen_after_bind(); });
  // A stop() before the loop runs is lost (the loop would then never end):
  // return only once it runs.
  for (int i = 0; i < 5000 && !raw->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return out;
}

void HttpGatewayServer::Stop() {
  if (event_) event_->Stop();
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

HttpGatewayServer::~HttpGatewayServer() { Stop(); }

}  // namespace rentmesh::gateway
