#include "gateway/adapters/grpc_backend_caller.h"

#include <grpcpp/impl/client_unary_call.h>
#include <grpcpp/impl/rpc_method.h>

#include <deque>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "rentmesh/common/grpc_status.h"

namespace rentmesh::gateway {
namespace {

grpc::ByteBuffer ToByteBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string FromByteBuffer(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  out.reserve(buffer.Length());
  for (const grpc::Slice& s : slices)
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

void Prepare(const BackendCall& call, grpc::ClientContext& ctx) {
  ctx.set_deadline(absl::ToChronoTime(call.deadline));
  for (const auto& [k, v] : call.metadata) ctx.AddMetadata(k, v);
}

// A server-streaming call driven as a generic bidi stream (one request
// message, then half-close). Reads one message ahead of the consumer at most,
// so a slow HTTP client slows the backend stream instead of queueing memory.
class GrpcMessageStream final : public MessageStream,
                                public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  GrpcMessageStream(grpc::GenericStub& stub, const BackendCall& call)
      : request_(ToByteBuffer(call.request)) {
    Prepare(call, ctx_);
    stub.PrepareBidiStreamingCall(&ctx_, call.method_path, grpc::StubOptions(), this);
    StartWriteLast(&request_, grpc::WriteOptions());
    read_pending_ = true;
    StartRead(&incoming_);
    StartCall();
  }

  ~GrpcMessageStream() override {
    ctx_.TryCancel();
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&done_));
  }

  absl::StatusOr<std::optional<std::string>> Next() override {
    absl::MutexLock lock(&mu_);
    for (;;) {
      if (!queue_.empty()) {
        std::string m = std::move(queue_.front());
        queue_.pop_front();
        return std::optional<std::string>(std::move(m));
      }
      if (done_) {
        if (status_.ok()) return std::optional<std::string>();
        return FromGrpcStatus(status_);
      }
      if (!read_pending_ && !reads_ended_) {
        read_pending_ = true;
        mu_.Unlock();
        StartRead(&incoming_);
        mu_.Lock();
        continue;
      }
      mu_.Await(absl::Condition(
          +[](GrpcMessageStream* s) { return !s->queue_.empty() || s->done_; }, this));
    }
  }

  void Cancel() override { ctx_.TryCancel(); }

  // grpc::ClientBidiReactor
  void OnReadDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    read_pending_ = false;
    if (ok) {
      queue_.push_back(FromByteBuffer(incoming_));
    } else {
      reads_ended_ = true;
    }
  }
  void OnDone(const grpc::Status& status) override {
    absl::MutexLock lock(&mu_);
    status_ = status;
    done_ = true;
  }

 private:
  grpc::ClientContext ctx_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer incoming_;
  absl::Mutex mu_;
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);
  bool read_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_ended_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
};

// A stream that failed before it started.
class FailedStream final : public MessageStream {
 public:
  explicit FailedStream(absl::Status status) : status_(std::move(status)) {}
  absl::StatusOr<std::optional<std::string>> Next() override { return status_; }
  void Cancel() override {}

 private:
  absl::Status status_;
};

absl::Status NoBackend(const std::string& backend) {
  return absl::UnavailableError(
      absl::StrCat("no address configured for backend \"", backend, "\""));
}

}  // namespace

absl::StatusOr<std::unique_ptr<GrpcBackendCaller>> GrpcBackendCaller::Create(
    const std::map<std::string, std::string>& addresses,
    std::shared_ptr<grpc::ChannelCredentials> credentials) {
  if (credentials == nullptr) credentials = grpc::InsecureChannelCredentials();
  std::map<std::string, Backend> backends;
  for (const auto& [name, address] : addresses) {
    if (address.empty())
      return absl::InvalidArgumentError(absl::StrCat("empty address for ", name));
    grpc::ChannelArguments args;
    // Each gateway keeps its own connection per backend.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    // A backend that was down (starting, restarting) is tried again within a
    // second, not after gRPC's default backoff of up to 120 s: /healthz and
    // the first calls see it back at once.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    Backend b;
    b.channel = grpc::CreateCustomChannel(address, credentials, args);
    b.stub = std::make_unique<grpc::GenericStub>(b.channel);
    backends[name] = std::move(b);
  }
  return std::unique_ptr<GrpcBackendCaller>(new GrpcBackendCaller(std::move(backends)));
}

const GrpcBackendCaller::Backend* GrpcBackendCaller::Find(const std::string& backend) const {
  auto it = backends_.find(backend);
  return it == backends_.end() ? nullptr : &it->second;
}

absl::StatusOr<std::string> GrpcBackendCaller::Unary(const BackendCall& call) {
  const Backend* backend = Find(call.backend);
  if (backend == nullptr) return NoBackend(call.backend);
  grpc::ClientContext ctx;
  Prepare(call, ctx);
  const grpc::ByteBuffer request = ToByteBuffer(call.request);
  grpc::ByteBuffer response;
  // The blocking path generated sync stubs use: the call completes on this
  // thread's own completion queue, with no hand-off to a gRPC thread.
  const grpc::Status status = grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
      backend->channel.get(),
      grpc::internal::RpcMethod(call.method_path.c_str(), grpc::internal::RpcMethod::NORMAL_RPC),
      &ctx, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return FromByteBuffer(response);
}

void GrpcBackendCaller::UnaryAsync(const BackendCall& call,
                                   std::function<void(absl::StatusOr<std::string>)> done) {
  const Backend* backend = Find(call.backend);
  if (backend == nullptr) {
    done(NoBackend(call.backend));
    return;
  }
  // Lives until the callback, which gRPC runs exactly once.
  struct Pending {
    grpc::ClientContext ctx;
    grpc::ByteBuffer request;
    grpc::ByteBuffer response;
    std::function<void(absl::StatusOr<std::string>)> done;
  };
  auto* pending = new Pending;
  Prepare(call, pending->ctx);
  pending->request = ToByteBuffer(call.request);
  pending->done = std::move(done);
  backend->stub->UnaryCall(&pending->ctx, call.method_path, grpc::StubOptions(), &pending->request,
                           &pending->response, [pending](grpc::Status status) {
                             std::unique_ptr<Pending> owned(pending);
                             if (!status.ok()) {
                               owned->done(FromGrpcStatus(status));
                             } else {
                               owned->done(FromByteBuffer(owned->response));
                             }
                           });
}

std::unique_ptr<MessageStream> GrpcBackendCaller::ServerStream(const BackendCall& call) {
  const Backend* backend = Find(call.backend);
  if (backend == nullptr) return std::make_unique<FailedStream>(NoBackend(call.backend));
  return std::make_unique<GrpcMessageStream>(*backend->stub, call);
}

}  // namespace rentmesh::gateway
