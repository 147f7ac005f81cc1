#include "rentmesh/testing/test_env.h"

#include <arpa/inet.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/stub_options.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace rentmesh::testing {

namespace {

bool Bindable(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

// The low end of the kernel's ephemeral range (outgoing connections take
// their local ports from it).
int EphemeralLow() {
  std::ifstream f("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 32768, high = 60999;
  f >> low >> high;
  return low;
}

}  // namespace

int PickFreePort() {
  // Not from the ephemeral range: a port picked there and released could be
  // taken by any outgoing connection (a NATS or gRPC client) before the
  // server that was meant to get it binds it. Random, so concurrent tests
  // rarely try the same ports.
  static const int high = EphemeralLow();
  const int low = std::min(10000, high / 2);
  thread_local absl::BitGen gen;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    int port = absl::Uniform(gen, low, high);
    if (Bindable(port)) return port;
  }
  // Fall back to the kernel's choice.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

std::string FreeLoopbackAddress() { return absl::StrCat("127.0.0.1:", PickFreePort()); }

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "rentmesh-test-XXXXXX").string();
  char* p = mkdtemp(tmpl.data());
  path_ = p != nullptr ? std::string(p) : tmpl;
}

TempDir::~TempDir() {
  if (const char* keep = std::getenv("RENTMESH_KEEP_TMP"); keep != nullptr && keep[0] == '1') {
    std::fprintf(stderr, "kept %s (RENTMESH_KEEP_TMP=1)\n", path_.c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

bool Eventually(const std::function<bool()>& pred, absl::Duration timeout, absl::Duration poll) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (pred()) return true;
    absl::SleepFor(poll);
  }
  return pred();
}

std::string TempDir::Sub(absl::string_view name) const { return absl::StrCat(path_, "/", name); }

std::string ServiceBinary(absl::string_view service) {
  return absl::StrCat(RENTMESH_BINARY_DIR, "/services/", service, "/", service, "_server");
}

std::string ToolBinary(absl::string_view tool) {
  return absl::StrCat(RENTMESH_BINARY_DIR, "/tools/", tool, "/", tool);
}

absl::Status WaitForServing(const std::string& address, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  // grpc.health.v1.HealthCheckRequest{service:""} is an empty message.
  while (absl::Now() < deadline) {
    // A fresh channel each time: a kept one would sit in reconnect backoff
    // after the server restarts.
    grpc::GenericStub stub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    grpc::ByteBuffer request;
    grpc::Slice empty("");
    request = grpc::ByteBuffer(&empty, 1);
    grpc::ByteBuffer response;
    grpc::Status st;
    bool done = false;
    std::mutex mu;
    std::condition_variable cv;
    stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                   [&](grpc::Status s) {
                     std::lock_guard<std::mutex> lock(mu);
                     st = std::move(s);
                     done = true;
                     cv.notify_one();
                   });
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return done; });
    }
    if (st.ok()) {
      std::vector<grpc::Slice> slices;
      response.Dump(&slices);
      std::string bytes;
      for (auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
      // HealthCheckResponse{status: SERVING(1)} encodes as 08 01.
      if (bytes.size() == 2 && bytes[0] == 0x08 && bytes[1] == 0x01) return absl::OkStatus();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::DeadlineExceededError(absl::StrCat(address, " did not report SERVING"));
}

}  // namespace rentmesh::testing
