#include "adapters/inbound/grpc/view_grpc_service.h"

#include <google/protobuf/arena.h>
#include <grpcpp/support/message_allocator.h>

#include <deque>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "rentmesh/common/caller_identity.h"
#include "rentmesh/common/consistency_token.h"
#include "rentmesh/common/grpc_status.h"
#include "rentmesh/events/envelope.h"

namespace rentmesh::view {
namespace {

using events::ToProtoTime;

v1::RentalState ToProto(RentalState s) {
  switch (s) {
    case RentalState::kPending:
      return v1::RENTAL_STATE_PENDING;
    case RentalState::kRented:
      return v1::RENTAL_STATE_RENTED;
    case RentalState::kReturned:
      return v1::RENTAL_STATE_RETURNED;
    case RentalState::kCancelled:
      return v1::RENTAL_STATE_CANCELLED;
    case RentalState::kFailed:
      return v1::RENTAL_STATE_FAILED;
  }
  return v1::RENTAL_STATE_UNSPECIFIED;
}

v1::DeliveryStatus ToProto(DeliveryState s) {
  switch (s) {
    case DeliveryState::kNone:
      return v1::DELIVERY_STATUS_UNSPECIFIED;
    case DeliveryState::kRequested:
      return v1::DELIVERY_STATUS_REQUESTED;
    case DeliveryState::kAssigned:
      return v1::DELIVERY_STATUS_ASSIGNED;
    case DeliveryState::kPickedUp:
      return v1::DELIVERY_STATUS_PICKED_UP;
    case DeliveryState::kDelivered:
      return v1::DELIVERY_STATUS_DELIVERED;
    case DeliveryState::kCancelled:
      return v1::DELIVERY_STATUS_CANCELLED;
  }
  return v1::DELIVERY_STATUS_UNSPECIFIED;
}

void ToProto(const Money& m, common::v1::Money* out) {
  out->set_currency(m.currency);
  out->set_amount_minor(m.minor);
}

void SetTime(absl::Time t, google::protobuf::Timestamp* (v1::RentalSummary::*field)(),
             v1::RentalSummary* out) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return;
  *(out->*field)() = ToProtoTime(t);
}

const grpc::Status kPoolFull(grpc::StatusCode::RESOURCE_EXHAUSTED,
                             "the view is overloaded; try again shortly");

// A WatchMyPage stream: receives the customer's changes from the WatchHub and
// writes them one at a time. At most `max_buffer` changes wait; a watcher that
// falls further behind is ended with RESOURCE_EXHAUSTED (it may reconnect and
// re-read its page) rather than growing without bound.
class MyPageWatchReactor final : public grpc::ServerWriteReactor<v1::MyPageChange>,
                                 public MyPageSink {
 public:
  MyPageWatchReactor(WatchHub& hub, const std::string& customer_id, size_t max_buffer)
      : hub_(hub), max_buffer_(max_buffer) {
    // Initial metadata tells the client the watch is registered.
    StartSendInitialMetadata();
    const uint64_t id = hub_.Subscribe(customer_id, *this);
    absl::MutexLock lock(&mu_);
    id_ = id;
  }

  // MyPageSink
  bool OnChange(const MyPageChange& change) override {
    absl::MutexLock lock(&mu_);
    if (finished_) return false;
    v1::MyPageChange msg;
    ToProto(change.rental, msg.mutable_rental());
    msg.set_event_type(change.event_type);
    if (!writing_) {
      current_ = std::move(msg);
      writing_ = true;
      StartWrite(&current_);
      return true;
    }
    if (queue_.size() >= max_buffer_) {
      FinishLocked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                "the watcher fell too far behind; reconnect and re-read the page"));
      return false;
    }
    queue_.push_back(std::move(msg));
    return true;
  }
  void OnClose(const absl::Status& why) override {
    absl::MutexLock lock(&mu_);
    FinishLocked(ToGrpcStatus(why));
  }

  // grpc::ServerWriteReactor
  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the watch stream broke"));
    } else if (!finished_ && !queue_.empty()) {
      current_ = std::move(queue_.front());
      queue_.pop_front();
      writing_ = true;
      StartWrite(&current_);
      return;
    }
    if (pending_finish_.has_value()) {
      Finish(*pending_finish_);
      pending_finish_.reset();
    }
  }
  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    FinishLocked(grpc::Status::CANCELLED);
  }
  void OnDone() override {
    uint64_t id;
    {
      absl::MutexLock lock(&mu_);
      id = id_;
    }
    hub_.Unsubscribe(id);  // After this no OnChange runs, so deleting is safe.
    delete this;
  }

 private:
  // Finish exactly once, and never while a write is outstanding.
  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    queue_.clear();
    if (writing_) {
      pending_finish_ = status;
    } else {
      Finish(status);
    }
  }

  WatchHub& hub_;
  const size_t max_buffer_;
  absl::Mutex mu_;
  uint64_t id_ ABSL_GUARDED_BY(mu_) = 0;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> pending_finish_ ABSL_GUARDED_BY(mu_);
  v1::MyPageChange current_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::MyPageChange> queue_ ABSL_GUARDED_BY(mu_);
};

// Request and response of a unary call on one protobuf arena: building a
// page of summaries is then a few bump allocations, freed at once.
template <typename Request, typename Response>
class ArenaMessageAllocator final : public grpc::MessageAllocator<Request, Response> {
 public:
  grpc::MessageHolder<Request, Response>* AllocateMessages() override { return new Holder(); }

 private:
  class Holder final : public grpc::MessageHolder<Request, Response> {
   public:
    Holder() {
      this->set_request(google::protobuf::Arena::CreateMessage<Request>(&arena_));
      this->set_response(google::protobuf::Arena::CreateMessage<Response>(&arena_));
    }
    void Release() override { delete this; }
    void FreeRequest() override {}

   private:
    google::protobuf::Arena arena_;
  };
};

}  // namespace

ViewGrpcService::ViewGrpcService(ViewService& service, WorkPool& pool, Options options,
                                 const CallerAuthenticator& auth)
    : service_(service), pool_(pool), options_(std::move(options)), auth_(auth) {
  my_page_allocator_ =
      std::make_unique<ArenaMessageAllocator<v1::GetMyPageRequest, v1::GetMyPageResponse>>();
  status_allocator_ =
      std::make_unique<ArenaMessageAllocator<v1::GetRentalStatusRequest, v1::RentalStatusView>>();
  catalog_allocator_ =
      std::make_unique<ArenaMessageAllocator<v1::ListCatalogRequest, v1::ListCatalogResponse>>();
  SetMessageAllocatorFor_GetMyPage(my_page_allocator_.get());
  SetMessageAllocatorFor_GetRentalStatus(status_allocator_.get());
  SetMessageAllocatorFor_ListCatalog(catalog_allocator_.get());
}

absl::Status ViewGrpcService::AuthorizeCustomer(const grpc::CallbackServerContext& ctx,
                                                const std::string& customer_id) const {
  absl::StatusOr<CallerIdentity> caller = auth_.Identify(ctx);
  if (!caller.ok()) return caller.status();
  return caller->AuthorizeCustomer(customer_id);
}

void ToProto(const RentalView& r, v1::RentalSummary* out) {
  out->set_rental_id(r.rental_id);
  out->set_customer_id(r.customer_id);
  out->set_book_id(r.book_id);
  out->set_book_title(r.book_title);
  out->set_status(ToProto(r.State()));
  ToProto(r.AmountPaid(), out->mutable_amount_paid());
  ToProto(r.LateFee(), out->mutable_late_fee());
  ToProto(r.refunded, out->mutable_refund());
  SetTime(r.rented ? r.rented_at : absl::InfinitePast(), &v1::RentalSummary::mutable_rented_at,
          out);
  SetTime(r.rented ? r.due_at : absl::InfinitePast(), &v1::RentalSummary::mutable_due_at, out);
  SetTime(r.ReturnedAt(), &v1::RentalSummary::mutable_returned_at, out);
  SetTime(r.cancelled ? r.cancelled_at : absl::InfinitePast(),
          &v1::RentalSummary::mutable_cancelled_at, out);
  out->set_days(r.days);
  if (!r.base_fee.currency.empty()) {
    ToProto(r.base_fee, out->mutable_base_fee());
    ToProto(r.discount, out->mutable_discount());
    ToProto(Money{r.base_fee.currency, r.base_fee.minor - r.discount.minor},
            out->mutable_charged());
    out->set_tier(r.tier);
    out->set_discount_percent(r.discount_percent);
  }
  out->set_delivery_status(ToProto(r.delivery.State()));
  out->set_delivery_id(r.delivery.delivery_id);
  out->set_courier_id(r.delivery.courier_id);
  SetTime(r.delivery.delivered ? r.delivery.delivered_at : absl::InfinitePast(),
          &v1::RentalSummary::mutable_delivered_at, out);
  out->set_return_pickup_status(ToProto(r.return_pickup.State()));
}

absl::Time ViewGrpcService::WaitDeadline(const grpc::CallbackServerContext& ctx,
                                         absl::Duration cap) const {
  const absl::Time capped = absl::Now() + cap;
  const auto call_deadline = ctx.deadline();
  if (call_deadline == std::chrono::system_clock::time_point::max()) return capped;
  return std::min(capped, absl::FromChrono(call_deadline));
}

namespace {

void Complete(grpc::ServerUnaryReactor* reactor, const std::optional<absl::Status>& status) {
  if (status.has_value()) reactor->Finish(ToGrpcStatus(*status));
}

}  // namespace

void ViewGrpcService::RunOnPool(grpc::ServerUnaryReactor* reactor, Answer answer) {
  auto task = [reactor, answer] { Complete(reactor, answer()); };
  if (!pool_.TrySubmit(task)) reactor->Finish(kPoolFull);
}

void ViewGrpcService::AfterToken(grpc::CallbackServerContext* ctx,
                                 grpc::ServerUnaryReactor* reactor, const std::string& token,
                                 Answer answer) {
  absl::StatusOr<std::vector<StreamPosition>> parsed = ParseConsistencyToken(token);
  if (!parsed.ok()) {
    reactor->Finish(ToGrpcStatus(parsed.status()));
    return;
  }
  if (parsed->empty()) {
    Complete(reactor, answer());
    return;
  }
  std::vector<StreamSequence> positions;
  for (StreamPosition& p : *parsed) positions.push_back({std::move(p.stream), p.sequence});
  if (absl::Status s = service_.positions().Validate(positions); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return;
  }
  // A token already applied is answered here at once; otherwise the call is
  // parked and answered on the pool by whichever thread applies the token.
  bool ready_now = false;
  service_.positions().WhenApplied(
      std::move(positions), WaitDeadline(*ctx, options_.max_token_wait),
      [this, reactor, answer, &ready_now, caller = std::this_thread::get_id()](absl::Status s) {
        if (!s.ok()) {
          reactor->Finish(ToGrpcStatus(s));
        } else if (std::this_thread::get_id() == caller) {
          ready_now = true;
        } else {
          RunOnPool(reactor, answer);
        }
      });
  if (ready_now) Complete(reactor, answer());
}

grpc::ServerUnaryReactor* ViewGrpcService::GetMyPage(grpc::CallbackServerContext* ctx,
                                                     const v1::GetMyPageRequest* request,
                                                     v1::GetMyPageResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (absl::Status s = ValidateId("customer_id", request->customer_id()); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  if (absl::Status s = AuthorizeCustomer(*ctx, request->customer_id()); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  AfterToken(ctx, reactor, request->consistency_token(),
             [this, request, response]() -> std::optional<absl::Status> {
               absl::StatusOr<ViewService::MyPage> page = service_.GetMyPage(
                   request->customer_id(), request->page_size(), request->page_token());
               if (!page.ok()) return page.status();
               for (const RentalView& r : page->rentals) ToProto(r, response->add_rentals());
               response->set_next_page_token(page->next_page_token);
               return absl::OkStatus();
             });
  return reactor;
}

grpc::ServerUnaryReactor* ViewGrpcService::GetRentalStatus(
    grpc::CallbackServerContext* ctx, const v1::GetRentalStatusRequest* request,
    v1::RentalStatusView* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (absl::Status s = ValidateId("rental_id", request->rental_id()); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  absl::StatusOr<CallerIdentity> caller = auth_.Identify(*ctx);
  if (caller.ok() && !caller->present) caller = caller->AuthorizeCustomer("");
  if (!caller.ok()) {
    reactor->Finish(ToGrpcStatus(caller.status()));
    return reactor;
  }
  auto answer = [this, request, response, caller = *std::move(caller)]() -> absl::Status {
    absl::StatusOr<RentalView> rental = service_.GetRentalStatus(request->rental_id());
    if (!rental.ok()) return rental.status();
    if (absl::Status s = caller.AuthorizeCustomer(rental->customer_id); !s.ok()) return s;
    ToProto(*rental, response->mutable_rental());
    for (const TimelineEntry& t : rental->timeline) {
      v1::TimelineEntry* e = response->add_timeline();
      e->set_event_type(t.event_type);
      *e->mutable_at() = ToProtoTime(t.at);
      e->set_description(t.description);
      e->set_event_id(t.event_id);
    }
    return absl::OkStatus();
  };
  // NOT_FOUND only after the projection has caught up with the streams' heads
  // as they are now: the rental may be in an event not applied yet.
  const absl::Time catch_up_deadline = WaitDeadline(*ctx, options_.max_catch_up_wait);
  Answer after_catch_up = [this, reactor, answer,
                           catch_up_deadline]() -> std::optional<absl::Status> {
    absl::StatusOr<std::vector<StreamSequence>> heads = options_.stream_heads();
    if (!heads.ok()) {
      return absl::UnavailableError(
          absl::StrCat("cannot reach the event streams to catch up before answering: ",
                       heads.status().message()));
    }
    service_.positions().WhenApplied(
        std::move(*heads), catch_up_deadline,
        [this, reactor, answer](const absl::Status& caught_up) {
          if (!caught_up.ok()) {
            // Lagging: not known to be absent, so no NOT_FOUND.
            reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                         "the view is catching up with the event streams; "
                                         "try again shortly"));
            return;
          }
          RunOnPool(reactor, [answer] { return answer(); });
        });
    return std::nullopt;
  };
  AfterToken(ctx, reactor, request->consistency_token(),
             [this, reactor, answer, after_catch_up]() -> std::optional<absl::Status> {
               absl::Status s = answer();
               if (s.code() != absl::StatusCode::kNotFound || !options_.stream_heads) return s;
               // The heads are a JetStream round trip: never on a gRPC thread.
               std::function<void()> later = [reactor, after_catch_up] {
                 Complete(reactor, after_catch_up());
               };
               if (!pool_.TrySubmit(std::move(later))) {
                 return absl::ResourceExhaustedError("the view is overloaded; try again shortly");
               }
               return std::nullopt;
             });
  return reactor;
}

grpc::ServerUnaryReactor* ViewGrpcService::ListCatalog(grpc::CallbackServerContext* ctx,
                                                       const v1::ListCatalogRequest* request,
                                                       v1::ListCatalogResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  AfterToken(ctx, reactor, request->consistency_token(),
             [this, request, response]() -> std::optional<absl::Status> {
               absl::StatusOr<ViewService::CatalogPage> page =
                   service_.ListCatalog(request->page_size(), request->page_token());
               if (!page.ok()) return page.status();
               for (const BookView& b : page->books) {
                 v1::CatalogEntry* e = response->add_books();
                 e->set_book_id(b.book_id);
                 e->set_title(b.title);
                 e->set_copies(b.copies);
                 e->set_copies_available(b.Available());
                 ToProto(b.daily_fee, e->mutable_daily_fee());
               }
               response->set_next_page_token(page->next_page_token);
               return absl::OkStatus();
             });
  return reactor;
}

grpc::ServerWriteReactor<v1::MyPageChange>* ViewGrpcService::WatchMyPage(
    grpc::CallbackServerContext* ctx, const v1::WatchMyPageRequest* request) {
  absl::Status s = ValidateId("customer_id", request->customer_id());
  if (s.ok()) s = AuthorizeCustomer(*ctx, request->customer_id());
  if (!s.ok()) {
    class Refused final : public grpc::ServerWriteReactor<v1::MyPageChange> {
     public:
      explicit Refused(const grpc::Status& st) { Finish(st); }
      void OnDone() override { delete this; }
    };
    return new Refused(ToGrpcStatus(s));
  }
  return new MyPageWatchReactor(service_.watches(), request->customer_id(),
                                options_.max_watch_buffer);
}

void ViewGrpcService::CloseWatches() {
  service_.watches().CloseAll(absl::UnavailableError("the view is shutting down; reconnect"));
}

}  // namespace rentmesh::view
