// GrpcServer without a mesh: TLS and mTLS from certificate files, and the
// caller authenticator's rules (no headers believed, service tokens only from
// the service key).
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <future>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "rentmesh/common/grpc_server.h"
#include "rentmesh/testing/test_env.h"

namespace rentmesh {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A CA, a server certificate for 127.0.0.1 and a client certificate, made
// with the openssl command (EC P-256, valid one day).
class Certificates {
 public:
  explicit Certificates(const std::string& dir) : dir_(dir) {
    const std::string ext = dir + "/san.ext";
    std::ofstream(ext) << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
    const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    ok_ = Run(absl::StrCat("openssl req -x509 ", key, " -keyout ", dir, "/ca.key -out ", dir,
                           "/ca.crt -days 1 -subj /CN=test-ca")) &&
          Sign("server", "/CN=localhost", ext) && Sign("client", "/CN=rental", "");
  }
  bool ok() const { return ok_; }
  std::string Pem(const std::string& name) const { return Read(dir_ + "/" + name); }

 private:
  static bool Run(const std::string& cmd) {
    return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;
  }
  bool Sign(const std::string& name, const std::string& subject, const std::string& ext) {
    const std::string base = dir_ + "/" + name;
    return Run(absl::StrCat(
               "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ", base,
               ".key -out ", base, ".csr -subj ", subject)) &&
           Run(absl::StrCat("openssl x509 -req -in ", base, ".csr -CA ", dir_, "/ca.crt -CAkey ",
                            dir_, "/ca.key -CAcreateserial -days 1 -out ", base, ".crt",
                            ext.empty() ? "" : " -extfile " + ext));
  }
  std::string dir_;
  bool ok_ = false;
};

// grpc.health.v1.Health/Check{service: ""} (an empty message) over `creds`.
grpc::Status Check(const std::string& address, std::shared_ptr<grpc::ChannelCredentials> creds) {
  grpc::GenericStub stub(grpc::CreateChannel(address, creds));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  return done.get_future().get();
}

class GrpcServerTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    certs_ = std::make_unique<Certificates>(dir_.path());
    if (!certs_->ok()) GTEST_SKIP() << "the openssl command is not available";
  }
  std::unique_ptr<GrpcServer> Start(bool mtls) {
    GrpcServerOptions options;
    options.tls.emplace();
    options.tls->cert_chain_pem = certs_->Pem("server.crt");
    options.tls->private_key_pem = certs_->Pem("server.key");
    if (mtls) options.tls->client_ca_pem = certs_->Pem("ca.crt");
    auto server = GrpcServer::Start("127.0.0.1:0", {}, {}, options);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? *std::move(server) : nullptr;
  }
  std::shared_ptr<grpc::ChannelCredentials> Tls(bool with_client_cert) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = certs_->Pem("ca.crt");
    if (with_client_cert) {
      ssl.pem_cert_chain = certs_->Pem("client.crt");
      ssl.pem_private_key = certs_->Pem("client.key");
    }
    return grpc::SslCredentials(ssl);
  }

  testing::TempDir dir_;
  std::unique_ptr<Certificates> certs_;
};

TEST_F(GrpcServerTlsTest, ServesTlsAndRefusesPlaintextClients) {
  auto server = Start(/*mtls=*/false);
  ASSERT_NE(server, nullptr);
  const std::string address = absl::StrCat("127.0.0.1:", server->port());
  EXPECT_TRUE(Check(address, Tls(false)).ok());
  EXPECT_FALSE(Check(address, grpc::InsecureChannelCredentials()).ok());
}

TEST_F(GrpcServerTlsTest, WithAClientCaOnlyClientsWithACertificateItSignedGetIn) {
  auto server = Start(/*mtls=*/true);
  ASSERT_NE(server, nullptr);
  const std::string address = absl::StrCat("127.0.0.1:", server->port());
  grpc::Status with_cert = Check(address, Tls(true));
  EXPECT_TRUE(with_cert.ok()) << with_cert.error_message();
  EXPECT_EQ(Check(address, Tls(false)).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_FALSE(Check(address, grpc::InsecureChannelCredentials()).ok());
}

}  // namespace
}  // namespace rentmesh
