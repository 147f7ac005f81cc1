#include "rentmesh/common/grpc_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <signal.h>

#include <csignal>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace rentmesh {

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(
    const std::string& address, const std::vector<grpc::Service*>& services,
    Interceptors interceptors) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
  for (grpc::Service* s : services) builder.RegisterService(s);
  if (!interceptors.empty()) builder.experimental().SetInterceptorCreators(std::move(interceptors));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", address));
  }
  auto out = std::unique_ptr<GrpcServer>(new GrpcServer(std::move(server), port));
  out->SetServing(false);
  if (auto* health = out->server_->GetHealthCheckService()) {
    health->SetServingStatus(kLivenessService, true);
  }
  return out;
}

GrpcServer::~GrpcServer() { Shutdown(absl::ZeroDuration()); }

void GrpcServer::SetServing(bool serving) {
  if (auto* health = server_->GetHealthCheckService()) health->SetServingStatus("", serving);
}

void GrpcServer::SetLive(bool live) {
  if (shut_down_) return;
  if (auto* health = server_->GetHealthCheckService()) {
    health->SetServingStatus(kLivenessService, live);
  }
}

void GrpcServer::Shutdown(absl::Duration grace) {
  if (shut_down_.exchange(true)) return;
  // Every entry, liveness included, goes NOT_SERVING.
  if (auto* health = server_->GetHealthCheckService()) health->Shutdown();
  server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(grace));
  server_->Wait();
}

void BlockTerminationSignals() {
  // A shell starts background jobs with SIGINT ignored; an ignored signal
  // never reaches sigwait, so restore the defaults before blocking.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForTerminationSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

}  // namespace rentmesh
