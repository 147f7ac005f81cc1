// libFuzzer target for the edge's request handling: request-target parsing,
// route lookup, query/path/body transcoding, header forwarding, JWT parsing and
// the error paths. Input layout (all parts optional):
//   <METHOD> <TARGET>\n<header-name>: <value>\n...\n\n<body>
// The backend is a fake that checks every request that reaches it parses as
// the route's request type (nothing half-parsed may get through).
#include <google/protobuf/message.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "gateway/core/gateway_handler.h"
#include "gateway/core/jwt_verifier.h"
#include "gateway/core/route_table.h"
#include "gateway_test.pb.h"

namespace rentmesh::gateway {
namespace {

class CheckingBackend final : public BackendCaller {
 public:
  explicit CheckingBackend(const RouteTable& routes) : routes_(routes) {}
  absl::StatusOr<std::string> Unary(const BackendCall& call) override {
    Check(call);
    return std::string();
  }
  std::unique_ptr<MessageStream> ServerStream(const BackendCall& call) override {
    Check(call);
    class Empty final : public MessageStream {
     public:
      absl::StatusOr<std::optional<std::string>> Next() override {
        return std::optional<std::string>();
      }
      void Cancel() override {}
    };
    return std::make_unique<Empty>();
  }

 private:
  void Check(const BackendCall& call) {
    if (call.method_path == "/grpc.health.v1.Health/Check") return;
    for (const Route& r : routes_.routes()) {
      if (r.grpc_path != call.method_path) continue;
      std::unique_ptr<google::protobuf::Message> m(
          google::protobuf::MessageFactory::generated_factory()
              ->GetPrototype(r.method->input_type())
              ->New());
      if (!m->ParseFromString(call.request)) abort();  // a half-parsed request reached a backend
      for (const auto& [k, v] : call.metadata) {
        for (char c : v) {
          if (c < 0x20 || c > 0x7E) abort();  // metadata gRPC would refuse
        }
      }
      return;
    }
    abort();  // a call to a method with no route
  }
  const RouteTable& routes_;
};

struct Fixture {
  Fixture() {
    (void)rentmesh::gatewaytest::v1::Item::descriptor();
    routes = std::make_unique<RouteTable>(*RouteTable::FromGeneratedPool("rentmesh."));
    backend = std::make_unique<CheckingBackend>(*routes);
    GatewayOptions o;
    o.max_body_bytes = 4096;
    plain = std::make_unique<GatewayHandler>(o, *routes, *backend, nullptr);
    JwtVerifierConfig jwt;
    // A fixed P-256 key: token parsing and rejection paths get exercised.
    jwt.jwks_json =
        R"({"keys":[{"kty":"EC","crv":"P-256","kid":"k","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]})";
    jwt.issuer = "rentmesh-dev";
    authed = std::make_unique<GatewayHandler>(o, *routes, *backend, *JwtVerifier::Create(jwt));
  }
  std::unique_ptr<RouteTable> routes;
  std::unique_ptr<CheckingBackend> backend;
  std::unique_ptr<GatewayHandler> plain;
  std::unique_ptr<GatewayHandler> authed;
};

}  // namespace
}  // namespace rentmesh::gateway

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto* fixture =
      new rentmesh::gateway::Fixture();  // libFuzzer entry point: one per process
  std::string input(reinterpret_cast<const char*>(data), size);
  rentmesh::gateway::HttpRequest req;
  const size_t blank = input.find("\n\n");
  const std::string head = input.substr(0, blank);
  if (blank != std::string::npos) req.body = input.substr(blank + 2);
  std::vector<std::string> lines = absl::StrSplit(head, '\n');
  if (!lines.empty()) {
    std::vector<std::string> first = absl::StrSplit(lines[0], absl::MaxSplits(' ', 1));
    req.method = first[0];
    req.target = first.size() > 1 ? first[1] : "/";
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == std::string::npos) continue;
    req.headers.emplace_back(absl::AsciiStrToLower(lines[i].substr(0, colon)),
                             std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1))));
  }
  const bool use_auth = !req.body.empty() && (static_cast<unsigned char>(req.body[0]) & 1);
  auto& handler = use_auth ? *fixture->authed : *fixture->plain;
  rentmesh::gateway::HttpResponse res = handler.Handle(req);
  if (res.status < 200 || res.status > 599) abort();
  if (res.stream) {
    while (res.stream->NextChunk()) {
    }
  }
  return 0;
}
