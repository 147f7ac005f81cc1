#include "rentmesh/telemetry/admin_server.h"

#include <httplib.h>

#include <chrono>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace rentmesh::telemetry {

absl::StatusOr<std::pair<std::string, int>> ParseHostPort(std::string_view address) {
  std::string_view host;
  std::string_view port_text;
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return absl::InvalidArgumentError(absl::StrCat("bad address: ", std::string(address)));
    }
    host = address.substr(1, close - 1);
    port_text = address.substr(close + 2);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string_view::npos || address.find(':') != colon) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad address (want host:port): ", std::string(address)));
    }
    host = address.substr(0, colon);
    port_text = address.substr(colon + 1);
  }
  int port = 0;
  if (host.empty() ||
      !absl::SimpleAtoi(absl::string_view(port_text.data(), port_text.size()), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad address: ", std::string(address)));
  }
  return std::make_pair(std::string(host), port);
}

absl::StatusOr<std::unique_ptr<AdminServer>> AdminServer::Start(std::string_view address,
                                                                const MetricsRegistry& registry,
                                                                HealthFn health_fn,
                                                                std::vector<Route> routes) {
  absl::StatusOr<std::pair<std::string, int>> host_port = ParseHostPort(address);
  if (!host_port.ok()) return host_port.status();
  auto server = std::make_unique<httplib::Server>();
  // httplib's default also sets SO_REUSEPORT, which would let a second process
  // share the port silently; keep only SO_REUSEADDR (fast restart).
  server->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server->Get("/metrics", [&registry](const httplib::Request&, httplib::Response& res) {
    res.set_content(registry.ExposeText(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server->Get("/healthz", [health_fn = std::move(health_fn)](const httplib::Request&,
                                                             httplib::Response& res) {
    const absl::Status status = health_fn ? health_fn() : absl::OkStatus();
    res.status = status.ok() ? 200 : 503;
    res.set_content(status.ok() ? std::string("ok\n") : absl::StrCat(status.ToString(), "\n"),
                    "text/plain; charset=utf-8");
  });
  for (Route& route : routes) {
    auto handler = [fn = std::move(route.handler)](const httplib::Request& req,
                                                   httplib::Response& res) {
      std::map<std::string, std::string> params;
      for (const auto& [k, v] : req.params) params[k] = v;
      Reply reply = fn(params);
      res.status = reply.status;
      res.set_content(reply.body, reply.content_type.c_str());
    };
    if (route.method == "POST") {
      server->Post(route.path, std::move(handler));
    } else {
      server->Get(route.path, std::move(handler));
    }
  }
  const auto& [host, requested_port] = *host_port;
  int port = requested_port;
  if (requested_port == 0) {
    port = server->bind_to_any_port(host);
    if (port <= 0)
      return absl::UnavailableError(absl::StrCat("cannot listen on ", std::string(address)));
  } else if (!server->bind_to_port(host, requested_port)) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", std::string(address)));
  }
  return std::unique_ptr<AdminServer>(new AdminServer(std::move(server), port));
}

AdminServer::AdminServer(std::unique_ptr<httplib::Server> server, int port)
    : server_(std::move(server)), port_(port) {
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // httplib's stop() is a no-op until the accept loop runs; wait for it so the
  // destructor cannot race past it and then block in join forever.
  while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

AdminServer::~AdminServer() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace rentmesh::telemetry
