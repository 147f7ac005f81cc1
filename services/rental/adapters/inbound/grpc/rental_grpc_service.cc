#include "rental/adapters/inbound/grpc/rental_grpc_service.h"

#include <algorithm>
#include <vector>

#include "rental/adapters/mapping.h"
#include "rentmesh/common/caller_identity.h"
#include "rentmesh/common/consistency_token.h"
#include "rentmesh/common/grpc_status.h"
#include "rentmesh/common/pool_dispatch.h"
#include "rentmesh/common/trace_context.h"

namespace rentmesh::rental {
namespace {

constexpr char kStream[] = "RENTAL";

// The call's context; UNAUTHENTICATED for a bad token, or for an anonymous
// caller unless `anonymous_ok` (then it is restricted like a customer nobody is).
absl::StatusOr<CallContext> ContextOf(const CallerAuthenticator& auth,
                                      const grpc::CallbackServerContext& ctx, bool anonymous_ok) {
  absl::StatusOr<CallerIdentity> id = auth.Identify(ctx);
  if (!id.ok()) return id.status();
  if (!id->present && !anonymous_ok) return id->AuthorizeCustomer("");
  CallContext out;
  out.deadline = DeadlineOf(ctx);
  out.trace = TraceContext::FromServerContext(ctx).Headers();
  if (id->IsService()) {
    out.actor = Actor::Internal();
  } else {
    out.actor = id->HasRole(CallerIdentity::kLibrarianRole) ? Actor::Librarian(id->subject)
                                                            : Actor::Customer(id->subject);
  }
  return out;
}

// A read's context: `call` with the position the caller's consistency token
// names on the rental stream (positions on other streams do not concern this
// service); INVALID_ARGUMENT for a token that is not one.
absl::StatusOr<CallContext> ForRead(const CallContext& call, const std::string& token) {
  absl::StatusOr<std::vector<StreamPosition>> positions = ParseConsistencyToken(token);
  if (!positions.ok()) return positions.status();
  CallContext read = call;
  for (const StreamPosition& p : *positions) {
    if (p.stream == kStream) read.read_position = std::max(read.read_position, p.sequence);
  }
  return read;
}

}  // namespace

template <typename Fn>
grpc::ServerUnaryReactor* RentalGrpcService::Dispatch(grpc::CallbackServerContext* ctx, Fn fn,
                                                      bool anonymous_ok) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::StatusOr<CallContext> context = ContextOf(auth_, *ctx, anonymous_ok);
  if (!context.ok()) {
    reactor->Finish(ToGrpcStatus(context.status()));
    return reactor;
  }
  CallContext call = *std::move(context);
  const absl::Time deadline = call.deadline;
  FinishOnPool(pool_, reactor, deadline, "the rental service is overloaded; please retry shortly",
               [call = std::move(call), fn = std::move(fn)]() mutable { return fn(call); });
  return reactor;
}

grpc::ServerUnaryReactor* RentalGrpcService::AddBook(grpc::CallbackServerContext* ctx,
                                                     const v1::AddBookRequest* req,
                                                     v1::Book* resp) {
  return Dispatch(ctx, [this, req, resp](const CallContext& call) -> absl::Status {
    AddBookCommand cmd{req->book_id(), req->title(), req->copies(),
                       mapping::FromProto(req->daily_fee())};
    absl::StatusOr<domain::Book> book = service_.AddBook(cmd, call);
    if (!book.ok()) return book.status();
    *resp = mapping::ToProto(*book, kStream);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RentalGrpcService::StockBook(grpc::CallbackServerContext* ctx,
                                                       const v1::StockBookRequest* req,
                                                       v1::Book* resp) {
  return Dispatch(ctx, [this, req, resp](const CallContext& call) -> absl::Status {
    absl::StatusOr<domain::Book> book =
        service_.StockBook({req->book_id(), req->copies(), req->request_id()}, call);
    if (!book.ok()) return book.status();
    *resp = mapping::ToProto(*book, kStream);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RentalGrpcService::GetBook(grpc::CallbackServerContext* ctx,
                                                     const v1::GetBookRequest* req,
                                                     v1::Book* resp) {
  return Dispatch(
      ctx,
      [this, req, resp](const CallContext& call) -> absl::Status {
        absl::StatusOr<CallContext> read = ForRead(call, req->consistency_token());
        if (!read.ok()) return read.status();
        absl::StatusOr<domain::Book> book = service_.GetBook(req->book_id(), *read);
        if (!book.ok()) return book.status();
        *resp = mapping::ToProto(*book, kStream);
        return absl::OkStatus();
      },
      /*anonymous_ok=*/true);
}

grpc::ServerUnaryReactor* RentalGrpcService::ListBooks(grpc::CallbackServerContext* ctx,
                                                       const v1::ListBooksRequest* req,
                                                       v1::ListBooksResponse* resp) {
  return Dispatch(
      ctx,
      [this, req, resp](const CallContext& call) -> absl::Status {
        absl::StatusOr<BookPage> page =
            service_.ListBooks(req->page_size(), req->page_token(), call);
        if (!page.ok()) return page.status();
        for (const auto& b : page->books) *resp->add_books() = mapping::ToProto(b, kStream);
        resp->set_next_page_token(page->next_page_token);
        return absl::OkStatus();
      },
      /*anonymous_ok=*/true);
}

grpc::ServerUnaryReactor* RentalGrpcService::RentBook(grpc::CallbackServerContext* ctx,
                                                      const v1::RentBookRequest* req,
                                                      v1::Rental* resp) {
  return Dispatch(ctx, [this, req, resp](const CallContext& call) -> absl::Status {
    absl::StatusOr<domain::Rental> r = service_.RentBook(
        {req->customer_id(), req->book_id(), req->days(), req->request_id(), req->hold_id()}, call);
    if (!r.ok()) return r.status();
    *resp = mapping::ToProto(*r, kStream);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RentalGrpcService::GetRental(grpc::CallbackServerContext* ctx,
                                                       const v1::GetRentalRequest* req,
                                                       v1::Rental* resp) {
  return Dispatch(ctx, [this, req, resp](const CallContext& call) -> absl::Status {
    absl::StatusOr<CallContext> read = ForRead(call, req->consistency_token());
    if (!read.ok()) return read.status();
    absl::StatusOr<domain::Rental> r = service_.GetRental(req->rental_id(), *read);
    if (!r.ok()) return r.status();
    *resp = mapping::ToProto(*r, kStream);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RentalGrpcService::ReturnBook(grpc::CallbackServerContext* ctx,
                                                        const v1::ReturnBookRequest* req,
                                                        v1::Rental* resp) {
  return Dispatch(ctx, [this, req, resp](const CallContext& call) -> absl::Status {
    absl::StatusOr<domain::Rental> r = service_.ReturnBook(
        {req->rental_id(), req->condition() == v1::BOOK_CONDITION_DAMAGED, req->request_id()},
        call);
    if (!r.ok()) return r.status();
    *resp = mapping::ToProto(*r, kStream);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RentalGrpcService::CancelRental(grpc::CallbackServerContext* ctx,
                                                          const v1::CancelRentalRequest* req,
                                                          v1::Rental* resp) {
  return Dispatch(ctx, [this, req, resp](const CallContext& call) -> absl::Status {
    absl::StatusOr<domain::Rental> r =
        service_.CancelRental({req->rental_id(), req->reason(), req->request_id()}, call);
    if (!r.ok()) return r.status();
    *resp = mapping::ToProto(*r, kStream);
    return absl::OkStatus();
  });
}

namespace {
v1::CustomerTier ToProto(const CustomerTierView& view) {
  v1::CustomerTier out = mapping::ToProto(view.record, kStream);
  out.set_tier(view.tier);
  out.set_discount_percent(view.discount_percent);
  return out;
}
}  // namespace

grpc::ServerUnaryReactor* RentalGrpcService::SetCustomerTier(grpc::CallbackServerContext* ctx,
                                                             const v1::SetCustomerTierRequest* req,
                                                             v1::CustomerTier* resp) {
  return Dispatch(ctx, [this, req, resp](const CallContext& call) -> absl::Status {
    absl::StatusOr<CustomerTierView> t =
        service_.SetCustomerTier({req->customer_id(), req->tier(), req->request_id()}, call);
    if (!t.ok()) return t.status();
    *resp = ToProto(*t);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RentalGrpcService::GetCustomerTier(grpc::CallbackServerContext* ctx,
                                                             const v1::GetCustomerTierRequest* req,
                                                             v1::CustomerTier* resp) {
  return Dispatch(ctx, [this, req, resp](const CallContext& call) -> absl::Status {
    absl::StatusOr<CustomerTierView> t = service_.GetCustomerTier(req->customer_id(), call);
    if (!t.ok()) return t.status();
    *resp = ToProto(*t);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RentalGrpcService::HoldBook(grpc::CallbackServerContext* ctx,
                                                      const v1::HoldBookRequest* req,
                                                      v1::Hold* resp) {
  return Dispatch(ctx, [this, req, resp](const CallContext& call) -> absl::Status {
    absl::StatusOr<domain::Rental> h = service_.HoldBook(
        {req->customer_id(), req->book_id(), req->request_id(), req->wait_if_unavailable()}, call);
    if (!h.ok()) return h.status();
    *resp = mapping::ToHoldProto(*h, kStream);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RentalGrpcService::ListHolds(grpc::CallbackServerContext* ctx,
                                                       const v1::ListHoldsRequest* req,
                                                       v1::ListHoldsResponse* resp) {
  return Dispatch(ctx, [this, req, resp](const CallContext& call) -> absl::Status {
    absl::StatusOr<std::vector<domain::Rental>> holds =
        service_.ListHolds(req->customer_id(), call);
    if (!holds.ok()) return holds.status();
    for (const auto& h : *holds) *resp->add_holds() = mapping::ToHoldProto(h, kStream);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RentalGrpcService::ReleaseHold(grpc::CallbackServerContext* ctx,
                                                         const v1::ReleaseHoldRequest* req,
                                                         v1::Hold* resp) {
  return Dispatch(ctx, [this, req, resp](const CallContext& call) -> absl::Status {
    absl::StatusOr<domain::Rental> h =
        service_.ReleaseHold({req->hold_id(), req->reason(), req->request_id()}, call);
    if (!h.ok()) return h.status();
    *resp = mapping::ToHoldProto(*h, kStream);
    return absl::OkStatus();
  });
}

}  // namespace rentmesh::rental
