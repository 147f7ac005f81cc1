#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rentmesh/testing/subprocess.h"
#include "rentmesh/testing/test_env.h"

namespace rentmesh::testing {

// The NATS users of rentmesh, made by tools/nats_auth.sh (the same generator
// tools/run.sh uses, so the tests run with the permissions a real run has):
// one user per service, plus an unrestricted user for the tests' own setup
// and reads.
struct NatsAuth {
  std::string dir;
  // nats-server config holding only the `authorization { ... }` block, and
  // that block's text (for a config that includes it, e.g. a cluster node's).
  std::string auth_conf;
  std::string block;
  std::string client_user;
  std::string client_password;

  // <dir>/<user>.creds: for --nats_credentials or ConnectOptions.
  std::string CredentialsFile(absl::string_view user) const;
};

// Runs tools/nats_auth.sh into `dir` (created if missing) with the test
// client user "test".
absl::StatusOr<NatsAuth> MakeNatsAuth(const std::string& dir);

// Files for TLS to NATS made by tools/nats_tls.sh: a CA, a server
// certificate for 127.0.0.1/localhost and a client certificate.
struct NatsTls {
  std::string dir;
  std::string ca_file, server_cert_file, server_key_file, client_cert_file, client_key_file;
};
absl::StatusOr<NatsTls> MakeNatsTls(const std::string& dir);

// A real `nats-server -js` on a free loopback port with its own store in a
// temp dir. Stop/Start keep the port and the store, as a server restart would.
// Authorization is on (anonymous connections are refused); url() carries the
// test client user, so a test's own connections just work; services get
// plain_url() and their own credentials file (ServiceFlags).
class NatsServer {
 public:
  struct Options {
    bool auth = true;
    // TLS required on the client port (certificates from MakeNatsTls).
    bool tls = false;
  };
  static absl::StatusOr<std::unique_ptr<NatsServer>> Start() { return Start(Options()); }
  static absl::StatusOr<std::unique_ptr<NatsServer>> Start(Options options);
  ~NatsServer();

  // nats://test:<password>@127.0.0.1:<port> (tls:// with TLS).
  std::string url() const;
  // The same without credentials.
  std::string plain_url() const;
  int port() const { return port_; }
  const NatsAuth& auth() const { return auth_; }
  const NatsTls& tls() const { return tls_; }
  // --nats_url and --nats_credentials (and --nats_tls_ca with TLS) for the
  // service binary `service` (rental, payment, returns, view).
  std::vector<std::string> ServiceFlags(absl::string_view service) const;
  // The server process, e.g. to read its CPU time; -1 when stopped.
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  bool Running() { return process_ && process_->Running(); }
  std::string log_path() const { return dir_.Sub("nats-server.log"); }
  // The server log's permission violations ("Publish Violation",
  // "Subscription Violation") so far, one per line.
  std::string PermissionViolations() const;
  void Stop();
  absl::Status Restart();
  // SIGHUP: the server rereads its config (e.g. the users after a rotation)
  // without dropping clients; returns once it logged the reload.
  absl::Status Reload();

 private:
  NatsServer() = default;
  absl::Status Launch();

  TempDir dir_;
  Options options_;
  NatsAuth auth_;
  NatsTls tls_;
  int port_ = 0;
  std::unique_ptr<Subprocess> process_;
};

}  // namespace rentmesh::testing
