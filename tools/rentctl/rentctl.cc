// rentctl: call any rentmesh RPC with JSON, like grpcurl, from the contracts
// compiled into it (Debian ships no grpcurl).
//
//   rentctl list
//   rentctl [--addr=host:port] [--header=k:v]... call rentmesh.rental.v1.RentalService/AddBook
//       '{"bookId":"dune","title":"Dune","copies":2,"dailyFee":{"currency":"KRW","amountMinor":1500}}'
//   rentctl wait 127.0.0.1:50051 [...]
//   rentctl --addr=host:port call grpc.health.v1.Health/Check '{"service":"liveness"}'
//
// Without --addr the service's default local port is used (rental 50051,
// payment 50052, returns 50053, view 50054, delivery 50055, notification 50056). The response is
// printed as JSON; an error prints its code and message on stderr and exits 1.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "rentmesh/delivery/v1/delivery.pb.h"
#include "rentmesh/notification/v1/notification.pb.h"
#include "rentmesh/payment/v1/payment.pb.h"
#include "rentmesh/rental/v1/rental.pb.h"
#include "rentmesh/returns/v1/returns.pb.h"
#include "rentmesh/telemetry/grpc_metrics_interceptor.h"
#include "rentmesh/testing/test_env.h"
#include "rentmesh/view/v1/view.pb.h"

ABSL_FLAG(std::string, addr, "", "server address; default: the service's local default port");
ABSL_FLAG(std::vector<std::string>, header, {},
          "metadata to send, key:value (repeatable, comma-separated)");
ABSL_FLAG(int, deadline_ms, 10000, "call deadline");

namespace {

namespace pb = google::protobuf;

// Linking these descriptors into the binary registers every contract.
const pb::FileDescriptor* const kContracts[] = {
    rentmesh::rental::v1::Book::descriptor()->file(),
    rentmesh::payment::v1::Payment::descriptor()->file(),
    rentmesh::returns::v1::Return::descriptor()->file(),
    rentmesh::view::v1::RentalSummary::descriptor()->file(),
    rentmesh::delivery::v1::Delivery::descriptor()->file(),
    rentmesh::notification::v1::Notification::descriptor()->file(),
};

// grpc.health.v1 is not among the generated contracts (gRPC serves it from its
// own library), so its descriptor is built here: Health/Check answers like
// grpcurl's, e.g. {"status": "SERVING"}.
const pb::DescriptorPool& Pool() {
  static const pb::DescriptorPool* pool = [] {
    auto* p = new pb::DescriptorPool(pb::DescriptorPool::generated_pool());
    pb::FileDescriptorProto f;
    f.set_name("grpc/health/v1/health.proto");
    f.set_package("grpc.health.v1");
    f.set_syntax("proto3");
    pb::DescriptorProto* req = f.add_message_type();
    req->set_name("HealthCheckRequest");
    pb::FieldDescriptorProto* svc = req->add_field();
    svc->set_name("service");
    svc->set_number(1);
    svc->set_type(pb::FieldDescriptorProto::TYPE_STRING);
    svc->set_label(pb::FieldDescriptorProto::LABEL_OPTIONAL);
    pb::DescriptorProto* resp = f.add_message_type();
    resp->set_name("HealthCheckResponse");
    pb::EnumDescriptorProto* st = resp->add_enum_type();
    st->set_name("ServingStatus");
    const char* names[] = {"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"};
    for (int i = 0; i < 4; ++i) {
      pb::EnumValueDescriptorProto* v = st->add_value();
      v->set_name(names[i]);
      v->set_number(i);
    }
    pb::FieldDescriptorProto* status = resp->add_field();
    status->set_name("status");
    status->set_number(1);
    status->set_type(pb::FieldDescriptorProto::TYPE_ENUM);
    status->set_type_name(".grpc.health.v1.HealthCheckResponse.ServingStatus");
    status->set_label(pb::FieldDescriptorProto::LABEL_OPTIONAL);
    pb::ServiceDescriptorProto* health = f.add_service();
    health->set_name("Health");
    pb::MethodDescriptorProto* check = health->add_method();
    check->set_name("Check");
    check->set_input_type(".grpc.health.v1.HealthCheckRequest");
    check->set_output_type(".grpc.health.v1.HealthCheckResponse");
    if (p->BuildFile(f) == nullptr) std::cerr << "rentctl: could not build the health descriptor\n";
    return p;
  }();
  return *pool;
}

std::string DefaultAddress(const std::string& package) {
  if (absl::StartsWith(package, "rentmesh.rental.")) return "127.0.0.1:50051";
  if (absl::StartsWith(package, "rentmesh.payment.")) return "127.0.0.1:50052";
  if (absl::StartsWith(package, "rentmesh.returns.")) return "127.0.0.1:50053";
  if (absl::StartsWith(package, "rentmesh.view.")) return "127.0.0.1:50054";
  if (absl::StartsWith(package, "rentmesh.delivery.")) return "127.0.0.1:50055";
  if (absl::StartsWith(package, "rentmesh.notification.")) return "127.0.0.1:50056";
  return "127.0.0.1:50051";
}

int List() {
  for (const pb::FileDescriptor* f : kContracts) {
    for (int s = 0; s < f->service_count(); ++s) {
      const pb::ServiceDescriptor* svc = f->service(s);
      for (int m = 0; m < svc->method_count(); ++m) {
        std::cout << svc->full_name() << "/" << svc->method(m)->name()
                  << (svc->method(m)->server_streaming() ? "  (server streaming)" : "") << "\n";
      }
    }
  }
  std::cout << "grpc.health.v1.Health/Check\n";
  return 0;
}

int Call(const std::string& target, const std::string& json) {
  std::vector<std::string> parts = absl::StrSplit(target, '/');
  if (parts.size() != 2) {
    std::cerr << "method must look like package.Service/Method\n";
    return 2;
  }
  const pb::MethodDescriptor* method = Pool().FindMethodByName(parts[0] + "." + parts[1]);
  if (method == nullptr) {
    std::cerr << "unknown method " << target << " (see: rentctl list)\n";
    return 2;
  }
  if (method->server_streaming() || method->client_streaming()) {
    std::cerr << "rentctl calls unary methods only\n";
    return 2;
  }
  pb::DynamicMessageFactory factory;
  std::unique_ptr<pb::Message> request(factory.GetPrototype(method->input_type())->New());
  std::unique_ptr<pb::Message> response(factory.GetPrototype(method->output_type())->New());
  if (auto st = pb::util::JsonStringToMessage(json.empty() ? "{}" : json, request.get());
      !st.ok()) {
    std::cerr << "bad request JSON: " << st.ToString() << "\n";
    return 2;
  }
  std::string address = absl::GetFlag(FLAGS_addr);
  if (address.empty()) address = DefaultAddress(method->service()->file()->package());

  grpc::GenericStub stub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(absl::GetFlag(FLAGS_deadline_ms)));
  for (const std::string& h : absl::GetFlag(FLAGS_header)) {
    std::vector<std::string> kv = absl::StrSplit(h, absl::MaxSplits(':', 1));
    if (kv.size() == 2)
      ctx.AddMetadata(kv[0], std::string(absl::StripLeadingAsciiWhitespace(kv[1])));
  }
  std::string bytes = request->SerializeAsString();
  grpc::Slice slice(bytes);
  grpc::ByteBuffer in(&slice, 1), out;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(&ctx, absl::StrCat("/", method->service()->full_name(), "/", method->name()),
                 grpc::StubOptions(), &in, &out, [&](grpc::Status s) {
                   std::lock_guard<std::mutex> lock(mu);
                   status = std::move(s);
                   done = true;
                   cv.notify_one();
                 });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
  if (!status.ok()) {
    std::cerr << "ERROR " << status.error_code() << " ("
              << rentmesh::telemetry::GrpcCodeName(status.error_code())
              << "): " << status.error_message() << "\n";
    return 1;
  }
  std::vector<grpc::Slice> slices;
  out.Dump(&slices);
  std::string payload;
  for (auto& s : slices) payload.append(reinterpret_cast<const char*>(s.begin()), s.size());
  response->ParseFromString(payload);
  pb::util::JsonPrintOptions opts;
  opts.add_whitespace = true;
  opts.always_print_primitive_fields = true;
  std::string text;
  (void)pb::util::MessageToJsonString(*response, &text, opts);
  std::cout << text;
  return 0;
}

int Wait(const std::vector<char*>& addresses) {
  for (size_t i = 2; i < addresses.size(); ++i) {
    absl::Status s = rentmesh::testing::WaitForServing(addresses[i], absl::Seconds(60));
    if (!s.ok()) {
      std::cerr << s << "\n";
      return 1;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("rentctl list | call <pkg.Service/Method> [json] | wait <addr>...");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() >= 2 && std::string(args[1]) == "list") return List();
  if (args.size() >= 3 && std::string(args[1]) == "call")
    return Call(args[2], args.size() > 3 ? args[3] : "");
  if (args.size() >= 3 && std::string(args[1]) == "wait") return Wait(args);
  std::cerr << "usage: rentctl list | call <pkg.Service/Method> [json] | wait <addr>...\n";
  return 2;
}
