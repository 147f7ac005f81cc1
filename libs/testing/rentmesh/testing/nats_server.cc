#include "rentmesh/testing/nats_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::Status RunScript(const std::string& script, const std::string& args) {
  const std::string cmd =
      absl::StrCat("bash '", RENTMESH_SOURCE_DIR, "/tools/", script, "' ", args, " >&2");
  int rc = std::system(cmd.c_str());
  if (rc != 0) return absl::InternalError(absl::StrCat(cmd, " failed: ", rc));
  return absl::OkStatus();
}

}  // namespace

std::string NatsAuth::CredentialsFile(absl::string_view user) const {
  return absl::StrCat(dir, "/", user, ".creds");
}

absl::StatusOr<NatsAuth> MakeNatsAuth(const std::string& dir) {
  NatsAuth auth;
  auth.dir = dir;
  auth.client_user = "test";
  if (absl::Status s = RunScript("nats_auth.sh", absl::StrCat("'", dir, "' --client test"));
      !s.ok()) {
    return s;
  }
  auth.auth_conf = absl::StrCat(dir, "/auth.conf");
  auth.block = ReadAll(auth.auth_conf);
  for (absl::string_view line : absl::StrSplit(ReadAll(auth.CredentialsFile("test")), '\n')) {
    if (absl::ConsumePrefix(&line, "password=")) auth.client_password = std::string(line);
  }
  if (auth.block.empty() || auth.client_password.empty()) {
    return absl::InternalError(absl::StrCat("tools/nats_auth.sh made no usable files in ", dir));
  }
  return auth;
}

absl::StatusOr<NatsTls> MakeNatsTls(const std::string& dir) {
  if (absl::Status s = RunScript("nats_tls.sh", absl::StrCat("'", dir, "'")); !s.ok()) return s;
  NatsTls tls;
  tls.dir = dir;
  tls.ca_file = dir + "/ca.pem";
  tls.server_cert_file = dir + "/server-cert.pem";
  tls.server_key_file = dir + "/server-key.pem";
  tls.client_cert_file = dir + "/client-cert.pem";
  tls.client_key_file = dir + "/client-key.pem";
  return tls;
}

absl::StatusOr<std::unique_ptr<NatsServer>> NatsServer::Start(Options options) {
  std::unique_ptr<NatsServer> s(new NatsServer());
  s->options_ = options;
  s->port_ = PickFreePort();
  if (options.auth) {
    absl::StatusOr<NatsAuth> auth = MakeNatsAuth(s->dir_.Sub("auth"));
    if (!auth.ok()) return auth.status();
    s->auth_ = std::move(*auth);
  }
  if (options.tls) {
    absl::StatusOr<NatsTls> tls = MakeNatsTls(s->dir_.Sub("tls"));
    if (!tls.ok()) return tls.status();
    s->tls_ = std::move(*tls);
  }
  // Everything in the config file, JetStream too: a reload (SIGHUP) applies
  // the file alone, and would switch off a JetStream enabled by flag.
  std::ofstream conf(s->dir_.Sub("nats.conf"));
  conf << "listen: 127.0.0.1:" << s->port_ << "\njetstream {\n  store_dir: \""
       << s->dir_.Sub("jetstream") << "\"\n}\n";
  // Included, not copied, so a rotation (tools/nats_auth.sh --rotate) takes
  // effect on Reload().
  if (options.auth) conf << "include \"auth/auth.conf\"\n";
  if (options.tls) {
    conf << "tls {\n  cert_file: \"" << s->tls_.server_cert_file << "\"\n  key_file: \""
         << s->tls_.server_key_file << "\"\n  ca_file: \"" << s->tls_.ca_file
         << "\"\n  timeout: 5\n}\n";
  }
  conf.close();
  if (absl::Status st = s->Launch(); !st.ok()) return st;
  return s;
}

NatsServer::~NatsServer() { Stop(); }

std::string NatsServer::url() const {
  if (!options_.auth) return plain_url();
  return absl::StrCat(options_.tls ? "tls://" : "nats://", auth_.client_user, ":",
                      auth_.client_password, "@127.0.0.1:", port_);
}

std::string NatsServer::plain_url() const {
  return absl::StrCat(options_.tls ? "tls://" : "nats://", "127.0.0.1:", port_);
}

std::vector<std::string> NatsServer::ServiceFlags(absl::string_view service) const {
  std::vector<std::string> flags = {absl::StrCat("--nats_url=", plain_url())};
  if (options_.auth) {
    flags.push_back(absl::StrCat("--nats_credentials=", auth_.CredentialsFile(service)));
  }
  if (options_.tls) flags.push_back(absl::StrCat("--nats_tls_ca=", tls_.ca_file));
  return flags;
}

std::string NatsServer::PermissionViolations() const {
  std::string out;
  for (absl::string_view line : absl::StrSplit(ReadAll(log_path()), '\n')) {
    if (absl::StrContains(line, "Violation")) absl::StrAppend(&out, line, "\n");
  }
  return out;
}

absl::Status NatsServer::Launch() {
  const char* bin =
      access("/usr/bin/nats-server", X_OK) == 0 ? "/usr/bin/nats-server" : "/usr/sbin/nats-server";
  process_ = std::make_unique<Subprocess>(
      std::vector<std::string>{bin, "-c", dir_.Sub("nats.conf")}, dir_.Sub("nats-server.log"));
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

absl::Status NatsServer::Reload() {
  if (!process_ || !process_->Running()) return absl::FailedPreconditionError("not running");
  const size_t before = ReadAll(log_path()).size();
  kill(process_->pid(), SIGHUP);
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    const std::string log = ReadAll(log_path());
    if (log.size() > before && absl::StrContains(log.substr(before), "Reloaded")) {
      return absl::OkStatus();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return absl::DeadlineExceededError("nats-server did not log a reload");
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
