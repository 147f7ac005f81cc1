#include "rentmesh/telemetry/grpc_metrics_interceptor.h"

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <condition_variable>
#include <mutex>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rentmesh/telemetry/metric_names.h"

namespace rentmesh::telemetry {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Answers every method at once: UNAVAILABLE for ".../Pay", OK otherwise.
class ScriptedGenericService final : public grpc::CallbackGenericService {
 public:
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    const bool fail = context->method().size() >= 4 &&
                      context->method().compare(context->method().size() - 4, 4, "/Pay") == 0;
    return new Reactor(fail ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "payment down")
                            : grpc::Status::OK);
  }

 private:
  class Reactor final : public grpc::ServerGenericBidiReactor {
   public:
    explicit Reactor(const grpc::Status& status) { Finish(status); }
    void OnDone() override { delete this; }
  };
};

// Exercises the interceptor through a real server on port 0 holding the
// built-in grpc.health.v1.Health (called with a hand-encoded request) and a
// scripted generic service, so the test needs no generated code.
class GrpcMetricsInterceptorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterCallbackGenericService(&scripted_);
    builder.experimental().SetInterceptorCreators(
        MakeGrpcServerInterceptors(registry_, /*count_probes=*/count_probes_));
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    server_->GetHealthCheckService()->SetServingStatus(true);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port_),
                                   grpc::InsecureChannelCredentials());
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  grpc::StatusCode Check(const std::string& service_name) {
    // HealthCheckRequest{service = service_name}: field 1, wire type 2.
    std::string bytes;
    if (!service_name.empty()) {
      bytes.push_back('\x0a');
      bytes.push_back(static_cast<char>(service_name.size()));
      bytes += service_name;
    }
    return Call("/grpc.health.v1.Health/Check", bytes);
  }
  grpc::StatusCode CallScripted(const std::string& method) { return Call(method, ""); }

  // Calls `method` with `bytes` as the serialized request; returns the code.
  grpc::StatusCode Call(const std::string& method, const std::string& bytes) {
    grpc::Slice slice(bytes);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    grpc::GenericStub stub(channel_);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    grpc::Status result;
    stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response, [&](grpc::Status s) {
      std::lock_guard<std::mutex> lock(mu);
      result = std::move(s);
      done = true;
      cv.notify_one();
    });
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done; });
    return result.error_code();
  }

  // The tests below drive the interceptor through health checks, so they
  // count probes; ProbesAreNotCountedByDefault checks the default.
  bool count_probes_ = true;
  MetricsRegistry registry_;
  ScriptedGenericService scripted_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(GrpcMetricsInterceptorTest, CountsEveryCallByServiceMethodAndCode) {
  ASSERT_EQ(Check(""), grpc::StatusCode::OK);
  ASSERT_EQ(Check(""), grpc::StatusCode::OK);
  ASSERT_EQ(Check("no.such.Service"), grpc::StatusCode::NOT_FOUND);

  const std::string text = registry_.ExposeText();
  EXPECT_THAT(text, HasSubstr("rentmesh_grpc_server_handled_total{service=\"grpc.health.v1."
                              "Health\",method=\"Check\",code=\"OK\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("rentmesh_grpc_server_handled_total{service=\"grpc.health.v1."
                              "Health\",method=\"Check\",code=\"NOT_FOUND\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("rentmesh_grpc_server_handling_seconds_count{service=\"grpc."
                              "health.v1.Health\",method=\"Check\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("rentmesh_grpc_server_handling_seconds_bucket{service=\"grpc."
                              "health.v1.Health\",method=\"Check\",le=\"+Inf\"} 3\n"));
}

TEST_F(GrpcMetricsInterceptorTest, RecordsTheCodeTheHandlerFinishedWith) {
  ASSERT_EQ(CallScripted("/rentmesh.payment.v1.PaymentService/Pay"), grpc::StatusCode::UNAVAILABLE);
  ASSERT_EQ(CallScripted("/rentmesh.payment.v1.PaymentService/GetPayment"), grpc::StatusCode::OK);

  const std::string text = registry_.ExposeText();
  EXPECT_THAT(text, HasSubstr("rentmesh_grpc_server_handled_total{service=\"rentmesh.payment.v1."
                              "PaymentService\",method=\"Pay\",code=\"UNAVAILABLE\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("rentmesh_grpc_server_handled_total{service=\"rentmesh.payment.v1."
                              "PaymentService\",method=\"GetPayment\",code=\"OK\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("method=\"Pay\",code=\"OK\"")));
}

class GrpcMetricsInterceptorDefaultsTest : public GrpcMetricsInterceptorTest {
 protected:
  void SetUp() override {
    count_probes_ = false;
    GrpcMetricsInterceptorTest::SetUp();
  }
};

TEST_F(GrpcMetricsInterceptorDefaultsTest, ProbesAreNotCountedByDefault) {
  ASSERT_EQ(Check(""), grpc::StatusCode::OK);
  std::string text = registry_.ExposeText();
  EXPECT_EQ(text.find("grpc.health.v1.Health"), std::string::npos) << text;
}

TEST(GrpcCodeNameTest, NamesEveryCanonicalCode) {
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::OK), "OK");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::RESOURCE_EXHAUSTED), "RESOURCE_EXHAUSTED");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::UNAVAILABLE), "UNAVAILABLE");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
  EXPECT_EQ(GrpcCodeName(static_cast<grpc::StatusCode>(99)), "UNKNOWN");
}

TEST(SplitGrpcMethodTest, SplitsServiceAndMethod) {
  EXPECT_EQ(SplitGrpcMethod("/rentmesh.payment.v1.PaymentService/Pay"),
            std::make_pair(std::string("rentmesh.payment.v1.PaymentService"), std::string("Pay")));
  EXPECT_EQ(SplitGrpcMethod("garbage"),
            std::make_pair(std::string("unknown"), std::string("garbage")));
  EXPECT_EQ(SplitGrpcMethod("/onlyservice/"),
            std::make_pair(std::string("unknown"), std::string("/onlyservice/")));
}

}  // namespace
}  // namespace rentmesh::telemetry
