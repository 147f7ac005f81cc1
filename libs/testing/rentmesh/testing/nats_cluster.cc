#include "rentmesh/testing/nats_cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"

namespace rentmesh::testing {
namespace {

const char* NatsServerBinary() {
  return access("/usr/bin/nats-server", X_OK) == 0 ? "/usr/bin/nats-server"
                                                   : "/usr/sbin/nats-server";
}

// Connects to host:port with a short timeout; -1 when that fails.
int ConnectTo(const std::string& host, int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  timeval tv{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1 ||
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool Accepting(const std::string& host, int port) {
  int fd = ConnectTo(host, port);
  if (fd < 0) return false;
  close(fd);
  return true;
}

// GET /healthz?js-server-only=true on the monitoring port; true on HTTP 200:
// the node serves, knows the meta leader and is current with it. Not whether
// every stream and consumer placed on it is current: after partitions a
// node's full /healthz was seen to stay "consumer ... is not current" for a
// minute and more for an ephemeral (R1) consumer, while the node served
// every request; what the node holds is checked by the tests themselves.
// `body` gets the answer's body (why a node is not healthy).
bool Healthy(const std::string& host, int port, std::string& body) {
  body = "no answer";
  int fd = ConnectTo(host, port);
  if (fd < 0) return false;
  std::string req =
      absl::StrCat("GET /healthz?js-server-only=true HTTP/1.0\r\nHost: ", host, "\r\n\r\n");
  bool ok = write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size());
  std::string answer;
  char buf[1024];
  ssize_t n;
  while (ok && (n = read(fd, buf, sizeof buf)) > 0) answer.append(buf, n);
  close(fd);
  if (size_t at = answer.find("\r\n\r\n"); at != std::string::npos) body = answer.substr(at + 4);
  return answer.find(" 200 ") != std::string::npos && answer.find(" 200 ") < answer.find("\r\n");
}

}  // namespace

absl::StatusOr<std::unique_ptr<NatsCluster>> NatsCluster::StartOnLoopback(
    int nodes, std::string authorization) {
  std::vector<NatsNodeAddress> addresses(nodes);
  for (NatsNodeAddress& a : addresses) {
    a.client_port = PickFreePort();
    a.cluster_port = PickFreePort();
    a.monitor_port = PickFreePort();
  }
  return Start(std::move(addresses), std::move(authorization));
}

absl::StatusOr<std::unique_ptr<NatsCluster>> NatsCluster::Start(std::vector<NatsNodeAddress> nodes,
                                                                std::string authorization) {
  std::unique_ptr<NatsCluster> c(new NatsCluster());
  c->authorization_ = std::move(authorization);
  for (NatsNodeAddress& a : nodes) c->nodes_.push_back(Node{std::move(a), "", nullptr});
  for (int i = 0; i < c->size(); ++i) {
    Node& n = c->nodes_[i];
    n.config_path = c->dir_.Sub(absl::StrCat("n", i, ".conf"));
    std::ofstream(n.config_path) << c->Config(i);
  }
  // All at once: each node retries its routes until the others are up.
  for (int i = 0; i < c->size(); ++i) {
    if (absl::Status s = c->Launch(i); !s.ok()) return s;
  }
  return c;
}

NatsCluster::~NatsCluster() {
  for (int i = 0; i < size(); ++i) Stop(i);
}

std::string NatsCluster::Config(int node) const {
  const NatsNodeAddress& me = nodes_[node].address;
  std::vector<std::string> routes;
  for (int j = 0; j < size(); ++j) {
    if (j == node) continue;
    const NatsNodeAddress& peer = nodes_[j].address;
    routes.push_back(absl::StrCat("nats://", peer.host, ":", peer.cluster_port));
  }
  return absl::StrCat("server_name: n", node, "\n",                                    //
                      "listen: \"", me.host, ":", me.client_port, "\"\n",              //
                      "http: \"", me.host, ":", me.monitor_port, "\"\n",               //
                      "ping_interval: \"2s\"\nping_max: 2\n",                          //
                      "jetstream { store_dir: \"", dir_.Sub(absl::StrCat("n", node)),  //
                      "\" }\n",                                                        //
                      "cluster {\n  name: rentmesh-test\n  listen: \"", me.host, ":",
                      me.cluster_port, "\"\n  routes: [", absl::StrJoin(routes, ", "), "]\n}\n",
                      authorization_, "\n");
}

std::string NatsCluster::urls() const {
  std::vector<std::string> all;
  for (int i = 0; i < size(); ++i) all.push_back(url(i));
  return absl::StrJoin(all, ",");
}

std::string NatsCluster::url(int node) const {
  const NatsNodeAddress& a = nodes_[node].address;
  return absl::StrCat("nats://", a.host, ":", a.client_port);
}

std::string NatsCluster::log_path(int node) const {
  return dir_.Sub(absl::StrCat("n", node, ".log"));
}

absl::Status NatsCluster::Launch(int node) {
  Node& n = nodes_[node];
  std::vector<std::string> argv;
  if (!n.address.netns.empty()) argv = {"/usr/sbin/ip", "netns", "exec", n.address.netns};
  argv.insert(argv.end(), {NatsServerBinary(), "-c", n.config_path});
  n.process = std::make_unique<Subprocess>(argv, log_path(node));
  absl::Time deadline = absl::Now() + absl::Seconds(15);
  while (absl::Now() < deadline) {
    if (!n.process->Running()) {
      return absl::InternalError(
          absl::StrCat("nats-server n", node, " exited; see ", log_path(node)));
    }
    if (Accepting(n.address.host, n.address.client_port)) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return absl::DeadlineExceededError(absl::StrCat("nats-server n", node, " did not listen"));
}

bool NatsCluster::Running(int node) {
  return nodes_[node].process && nodes_[node].process->Running();
}

void NatsCluster::Kill(int node) {
  if (nodes_[node].process) nodes_[node].process->Kill();
}

void NatsCluster::Stop(int node) {
  if (nodes_[node].process) nodes_[node].process->Stop(SIGTERM);
}

void NatsCluster::Freeze(int node) {
  if (nodes_[node].process) ::kill(nodes_[node].process->pid(), SIGSTOP);
}

void NatsCluster::Thaw(int node) {
  if (nodes_[node].process) ::kill(nodes_[node].process->pid(), SIGCONT);
}

absl::Status NatsCluster::Restart(int node) {
  Stop(node);
  return Launch(node);
}

absl::Status NatsCluster::WaitHealthy(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  for (int i = 0; i < size(); ++i) {
    if (!Running(i)) continue;
    const NatsNodeAddress& a = nodes_[i].address;
    std::string body;
    while (!Healthy(a.host, a.monitor_port, body)) {
      if (absl::Now() > deadline) {
        return absl::DeadlineExceededError(
            absl::StrCat("nats-server n", i, " is not healthy: /healthz says ", body));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  return absl::OkStatus();
}

}  // namespace rentmesh::testing
