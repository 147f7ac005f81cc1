#pragma once

#include <httplib.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace rentmesh::notification {

// A loopback HTTP server standing in for a customer's webhook: it keeps every
// request and answers with the status it is told to (200 by default).
class WebhookReceiver {
 public:
  struct Request {
    std::string body;
    std::map<std::string, std::string> headers;
    // What the receiver answered.
    int status = 0;
  };

  WebhookReceiver() {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      Request r;
      r.body = req.body;
      for (const auto& [k, v] : req.headers) r.headers[k] = v;
      absl::MutexLock lock(&mu_);
      r.status = status_;
      requests_.push_back(std::move(r));
      res.status = status_;
      res.set_content("{}", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // The socket listens once bound; connections wait in its backlog until
    // the accept loop runs.
  }
  ~WebhookReceiver() {
    server_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  void SetStatus(int status) {
    absl::MutexLock lock(&mu_);
    status_ = status;
  }
  std::vector<Request> requests() const {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable absl::Mutex mu_;
  int status_ ABSL_GUARDED_BY(mu_) = 200;
  std::vector<Request> requests_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rentmesh::notification
