#include "rentmesh/testing/nats_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace rentmesh::testing {
namespace {

bool Accepting(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

}  // namespace

absl::StatusOr<std::unique_ptr<NatsServer>> NatsServer::Start() {
  std::unique_ptr<NatsServer> s(new NatsServer());
  s->port_ = PickFreePort();
  if (absl::Status st = s->Launch(); !st.ok()) return st;
  return s;
}

NatsServer::~NatsServer() { Stop(); }

std::string NatsServer::url() const { return absl::StrCat("nats://127.0.0.1:", port_); }

absl::Status NatsServer::Launch() {
  const char* bin = access("/usr/bin/nats-server", X_OK) == 0 ? "/usr/bin/nats-server" : "/usr/sbin/nats-server";
  process_ = std::make_unique<Subprocess>(
      std::vector<std::string>{bin, "-js", "-a", "127.0.0.1", "-p", absl::StrCat(port_), "-sd",
                               dir_.Sub("jetstream")},
      dir_.Sub("nats-server.log"));
  absl::Time deadline = absl::Now() + absl::Seconds(15);
  while (absl::Now() < deadline) {
    if (!process_->Running()) {
      return absl::InternalError(absl::StrCat("nats-server exited; see ", process_->log_path()));
    }
    if (Accepting(port_)) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return absl::DeadlineExceededError("nats-server did not start listening");
}

void NatsServer::Stop() {
  if (process_) process_->Stop(SIGTERM);
  process_.reset();
}

absl::Status NatsServer::Restart() {
  Stop();
  return Launch();
}

}  // namespace rentmesh::testing
