#include "testing/fake_services.h"

#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "rentmesh/common/caller_identity.h"
#include "rentmesh/common/grpc_status.h"

namespace rentmesh::gateway::testing {

using grpc::ServerContext;
using grpc::Status;
namespace rv1 = rentmesh::rental::v1;
namespace pv1 = rentmesh::payment::v1;
namespace tv1 = rentmesh::returns::v1;
namespace vv1 = rentmesh::view::v1;

void MetadataRecorder::Record(const ServerContext& ctx) {
  absl::MutexLock lock(&mu_);
  last_.clear();
  for (const auto& [k, v] : ctx.client_metadata()) {
    last_.emplace(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
  }
}

std::string MetadataRecorder::Last(const std::string& key) const {
  absl::MutexLock lock(&mu_);
  auto it = last_.find(key);
  return it == last_.end() ? "<absent>" : it->second;
}

struct FakeBackends::State {
  absl::Mutex mu;
  std::map<std::string, rv1::Book> books ABSL_GUARDED_BY(mu);
  std::map<std::string, rv1::Rental> rentals ABSL_GUARDED_BY(mu);
  std::map<std::string, pv1::Payment> payments ABSL_GUARDED_BY(mu);
  std::map<std::string, tv1::Return> returns ABSL_GUARDED_BY(mu);
  int next_id ABSL_GUARDED_BY(mu) = 1;
};

namespace {

Status Err(const absl::Status& s) { return ToGrpcStatus(s); }
Status Invalid(const std::string& m) { return Status(grpc::StatusCode::INVALID_ARGUMENT, m); }
Status NotFound(const std::string& m) { return Status(grpc::StatusCode::NOT_FOUND, m); }
Status Precondition(const std::string& m) {
  return Status(grpc::StatusCode::FAILED_PRECONDITION, m);
}

vv1::RentalSummary Summary(const rv1::Rental& r) {
  vv1::RentalSummary s;
  s.set_rental_id(r.rental_id());
  s.set_customer_id(r.customer_id());
  s.set_book_id(r.book_id());
  s.set_book_title(r.book_title());
  s.set_days(r.days());
  *s.mutable_amount_paid() = r.fee();
  s.set_status(r.status() == rv1::RENTAL_STATUS_RETURNED    ? vv1::RENTAL_STATE_RETURNED
               : r.status() == rv1::RENTAL_STATUS_CANCELLED ? vv1::RENTAL_STATE_CANCELLED
                                                            : vv1::RENTAL_STATE_RENTED);
  return s;
}

class FakeRental final : public rv1::RentalService::Service {
 public:
  FakeRental(FakeBackends::State& s, MetadataRecorder& r) : s_(s), rec_(r) {}

  Status AddBook(ServerContext* ctx, const rv1::AddBookRequest* req, rv1::Book* out) override {
    rec_.Record(*ctx);
    if (auto a = CallerIdentity::FromMeshHeaders(*ctx).AuthorizeLibrarian(); !a.ok()) return Err(a);
    if (req->book_id().empty() || req->copies() < 1)
      return Invalid("book_id and copies >= 1 required");
    absl::MutexLock lock(&s_.mu);
    auto it = s_.books.find(req->book_id());
    if (it != s_.books.end()) {
      if (it->second.title() != req->title() || it->second.copies() != req->copies()) {
        return Status(grpc::StatusCode::ALREADY_EXISTS, "book exists with other fields");
      }
      *out = it->second;
      return Status::OK;
    }
    rv1::Book b;
    b.set_book_id(req->book_id());
    b.set_title(req->title());
    b.set_copies(req->copies());
    b.set_copies_available(req->copies());
    *b.mutable_daily_fee() = req->daily_fee();
    b.set_version(1);
    s_.books[b.book_id()] = b;
    *out = b;
    return Status::OK;
  }
  Status StockBook(ServerContext* ctx, const rv1::StockBookRequest* req, rv1::Book* out) override {
    rec_.Record(*ctx);
    if (auto a = CallerIdentity::FromMeshHeaders(*ctx).AuthorizeLibrarian(); !a.ok()) return Err(a);
    if (req->copies() < 1) return Invalid("copies must be >= 1");
    absl::MutexLock lock(&s_.mu);
    auto it = s_.books.find(req->book_id());
    if (it == s_.books.end()) return NotFound("no book " + req->book_id());
    it->second.set_copies(it->second.copies() + req->copies());
    it->second.set_copies_available(it->second.copies_available() + req->copies());
    it->second.set_version(it->second.version() + 1);
    *out = it->second;
    return Status::OK;
  }
  Status GetBook(ServerContext* ctx, const rv1::GetBookRequest* req, rv1::Book* out) override {
    rec_.Record(*ctx);
    int n;
    if (absl::StartsWith(req->book_id(), "status-") &&
        absl::SimpleAtoi(req->book_id().substr(7), &n)) {
      return Status(static_cast<grpc::StatusCode>(n),
                    "injected status " + req->book_id().substr(7));
    }
    if (absl::StartsWith(req->book_id(), "sleep-") &&
        absl::SimpleAtoi(req->book_id().substr(6), &n)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(n));
      if (ctx->IsCancelled()) return Status(grpc::StatusCode::CANCELLED, "cancelled");
      out->set_book_id(req->book_id());
      return Status::OK;
    }
    absl::MutexLock lock(&s_.mu);
    auto it = s_.books.find(req->book_id());
    if (it == s_.books.end()) return NotFound("no book " + req->book_id());
    *out = it->second;
    return Status::OK;
  }
  Status ListBooks(ServerContext* ctx, const rv1::ListBooksRequest* req,
                   rv1::ListBooksResponse* out) override {
    rec_.Record(*ctx);
    absl::MutexLock lock(&s_.mu);
    for (const auto& [id, b] : s_.books) {
      if (req->page_size() > 0 && out->books_size() >= req->page_size()) break;
      *out->add_books() = b;
    }
    return Status::OK;
  }
  Status RentBook(ServerContext* ctx, const rv1::RentBookRequest* req, rv1::Rental* out) override {
    rec_.Record(*ctx);
    if (auto a = CallerIdentity::FromMeshHeaders(*ctx).AuthorizeCustomer(req->customer_id());
        !a.ok())
      return Err(a);
    if (req->customer_id().empty() || req->days() < 1)
      return Invalid("customer_id and days >= 1 required");
    absl::MutexLock lock(&s_.mu);
    auto it = s_.books.find(req->book_id());
    if (it == s_.books.end()) return NotFound("no book " + req->book_id());
    if (it->second.copies_available() < 1) return Precondition("no copy left");
    it->second.set_copies_available(it->second.copies_available() - 1);
    rv1::Rental r;
    r.set_rental_id(absl::StrCat("rental-", s_.next_id++));
    r.set_customer_id(req->customer_id());
    r.set_book_id(req->book_id());
    r.set_book_title(it->second.title());
    r.set_days(req->days());
    r.set_status(rv1::RENTAL_STATUS_RENTED);
    r.mutable_fee()->set_currency(it->second.daily_fee().currency());
    r.mutable_fee()->set_amount_minor(it->second.daily_fee().amount_minor() * req->days());
    r.set_payment_id(absl::StrCat("payment-", r.rental_id()));
    r.set_request_id(req->request_id());
    r.mutable_rented_at()->set_seconds(1700000000);
    s_.rentals[r.rental_id()] = r;
    pv1::Payment p;
    p.set_payment_id(r.payment_id());
    p.set_rental_id(r.rental_id());
    p.set_customer_id(r.customer_id());
    p.set_kind(pv1::PAYMENT_KIND_RENTAL_FEE);
    p.set_status(pv1::PAYMENT_STATUS_APPROVED);
    *p.mutable_amount() = r.fee();
    s_.payments[p.payment_id()] = p;
    *out = r;
    return Status::OK;
  }
  Status GetRental(ServerContext* ctx, const rv1::GetRentalRequest* req,
                   rv1::Rental* out) override {
    return Transition(ctx, req->rental_id(), out, [](rv1::Rental&) { return Status::OK; });
  }
  Status ReturnBook(ServerContext* ctx, const rv1::ReturnBookRequest* req,
                    rv1::Rental* out) override {
    // Like the real rental service, recording the return is rental's call to
    // returns (ProcessReturn is internal), not the client's.
    return Transition(ctx, req->rental_id(), out, [this, req](rv1::Rental& r) {
      if (r.status() != rv1::RENTAL_STATUS_RENTED) return Precondition("rental is not rented");
      r.set_status(rv1::RENTAL_STATUS_RETURNED);
      r.set_return_id("return-" + r.rental_id());
      tv1::Return& ret = s_.returns[r.return_id()];
      ret.set_return_id(r.return_id());
      ret.set_rental_id(r.rental_id());
      ret.set_book_id(r.book_id());
      ret.set_customer_id(r.customer_id());
      ret.set_condition(req->condition() == rv1::BOOK_CONDITION_DAMAGED ? tv1::CONDITION_DAMAGED
                                                                        : tv1::CONDITION_GOOD);
      return Status::OK;
    });
  }
  Status CancelRental(ServerContext* ctx, const rv1::CancelRentalRequest* req,
                      rv1::Rental* out) override {
    const std::string reason = req->reason();
    return Transition(ctx, req->rental_id(), out, [reason](rv1::Rental& r) {
      if (r.status() != rv1::RENTAL_STATUS_RENTED) return Precondition("rental is not rented");
      r.set_status(rv1::RENTAL_STATUS_CANCELLED);
      r.set_cancel_reason(reason);
      return Status::OK;
    });
  }

 private:
  template <typename F>
  Status Transition(ServerContext* ctx, const std::string& id, rv1::Rental* out, F change) {
    rec_.Record(*ctx);
    absl::MutexLock lock(&s_.mu);
    auto it = s_.rentals.find(id);
    if (it == s_.rentals.end()) return NotFound("no rental " + id);
    if (auto a = CallerIdentity::FromMeshHeaders(*ctx).AuthorizeCustomer(it->second.customer_id());
        !a.ok()) {
      return Err(a);
    }
    if (Status st = change(it->second); !st.ok()) return st;
    *out = it->second;
    return Status::OK;
  }

  FakeBackends::State& s_;
  MetadataRecorder& rec_;
};

class FakePayment final : public pv1::PaymentService::Service {
 public:
  FakePayment(FakeBackends::State& s, MetadataRecorder& r) : s_(s), rec_(r) {}
  Status Pay(ServerContext* ctx, const pv1::PayRequest* req, pv1::Payment* out) override {
    rec_.Record(*ctx);
    if (auto a = CallerIdentity::FromMeshHeaders(*ctx).AuthorizeCustomer(req->customer_id());
        !a.ok())
      return Err(a);
    if (req->rental_id().empty()) return Invalid("rental_id required");
    absl::MutexLock lock(&s_.mu);
    pv1::Payment& p = s_.payments["payment-" + req->rental_id()];
    if (p.payment_id().empty()) {
      p.set_payment_id("payment-" + req->rental_id());
      p.set_rental_id(req->rental_id());
      p.set_customer_id(req->customer_id());
      p.set_status(pv1::PAYMENT_STATUS_APPROVED);
      *p.mutable_amount() = req->amount();
    }
    *out = p;
    return Status::OK;
  }
  Status Refund(ServerContext* ctx, const pv1::RefundRequest* req, pv1::Payment* out) override {
    rec_.Record(*ctx);
    absl::MutexLock lock(&s_.mu);
    auto it = s_.payments.find(req->payment_id());
    if (it == s_.payments.end()) return NotFound("no payment " + req->payment_id());
    if (auto a = CallerIdentity::FromMeshHeaders(*ctx).AuthorizeCustomer(it->second.customer_id());
        !a.ok()) {
      return Err(a);
    }
    it->second.set_status(pv1::PAYMENT_STATUS_REFUNDED);
    it->second.set_refund_reason(req->reason());
    *out = it->second;
    return Status::OK;
  }
  Status GetPayment(ServerContext* ctx, const pv1::GetPaymentRequest* req,
                    pv1::Payment* out) override {
    rec_.Record(*ctx);
    absl::MutexLock lock(&s_.mu);
    auto it = s_.payments.find(req->payment_id());
    if (it == s_.payments.end()) return NotFound("no payment " + req->payment_id());
    if (auto a = CallerIdentity::FromMeshHeaders(*ctx).AuthorizeCustomer(it->second.customer_id());
        !a.ok()) {
      return Err(a);
    }
    *out = it->second;
    return Status::OK;
  }
  Status ListRentalPayments(ServerContext* ctx, const pv1::ListRentalPaymentsRequest* req,
                            pv1::ListRentalPaymentsResponse* out) override {
    rec_.Record(*ctx);
    absl::MutexLock lock(&s_.mu);
    for (const auto& [id, p] : s_.payments) {
      if (p.rental_id() != req->rental_id()) continue;
      if (auto a = CallerIdentity::FromMeshHeaders(*ctx).AuthorizeCustomer(p.customer_id());
          !a.ok())
        return Err(a);
      *out->add_payments() = p;
    }
    return Status::OK;
  }

 private:
  FakeBackends::State& s_;
  MetadataRecorder& rec_;
};

class FakeReturns final : public tv1::ReturnService::Service {
 public:
  FakeReturns(FakeBackends::State& s, MetadataRecorder& r) : s_(s), rec_(r) {}
  Status ProcessReturn(ServerContext* ctx, const tv1::ProcessReturnRequest* req,
                       tv1::Return* out) override {
    rec_.Record(*ctx);
    if (auto a = CallerIdentity::FromMeshHeaders(*ctx).AuthorizeCustomer(req->customer_id());
        !a.ok())
      return Err(a);
    if (req->rental_id().empty()) return Invalid("rental_id required");
    absl::MutexLock lock(&s_.mu);
    tv1::Return& r = s_.returns["return-" + req->rental_id()];
    if (r.return_id().empty()) {
      r.set_return_id("return-" + req->rental_id());
      r.set_rental_id(req->rental_id());
      r.set_book_id(req->book_id());
      r.set_customer_id(req->customer_id());
      r.set_condition(req->condition() == tv1::CONDITION_UNSPECIFIED ? tv1::CONDITION_GOOD
                                                                     : req->condition());
      *r.mutable_due_at() = req->due_at();
    }
    *out = r;
    return Status::OK;
  }
  Status GetReturn(ServerContext* ctx, const tv1::GetReturnRequest* req,
                   tv1::Return* out) override {
    return Find(ctx, req->return_id(), out);
  }
  Status GetRentalReturn(ServerContext* ctx, const tv1::GetRentalReturnRequest* req,
                         tv1::Return* out) override {
    return Find(ctx, "return-" + req->rental_id(), out);
  }

 private:
  Status Find(ServerContext* ctx, const std::string& id, tv1::Return* out) {
    rec_.Record(*ctx);
    absl::MutexLock lock(&s_.mu);
    auto it = s_.returns.find(id);
    if (it == s_.returns.end()) return NotFound("no return " + id);
    if (auto a = CallerIdentity::FromMeshHeaders(*ctx).AuthorizeCustomer(it->second.customer_id());
        !a.ok()) {
      return Err(a);
    }
    *out = it->second;
    return Status::OK;
  }
  FakeBackends::State& s_;
  MetadataRecorder& rec_;
};

class FakeView final : public vv1::ViewService::Service {
 public:
  FakeView(FakeBackends::State& s, MetadataRecorder& r) : s_(s), rec_(r) {}
  Status GetMyPage(ServerContext* ctx, const vv1::GetMyPageRequest* req,
                   vv1::GetMyPageResponse* out) override {
    rec_.Record(*ctx);
    if (auto a = CallerIdentity::FromMeshHeaders(*ctx).AuthorizeCustomer(req->customer_id());
        !a.ok())
      return Err(a);
    absl::MutexLock lock(&s_.mu);
    for (const auto& [id, r] : s_.rentals) {
      if (r.customer_id() == req->customer_id()) *out->add_rentals() = Summary(r);
    }
    return Status::OK;
  }
  Status GetRentalStatus(ServerContext* ctx, const vv1::GetRentalStatusRequest* req,
                         vv1::RentalStatusView* out) override {
    rec_.Record(*ctx);
    absl::MutexLock lock(&s_.mu);
    auto it = s_.rentals.find(req->rental_id());
    if (it == s_.rentals.end()) return NotFound("no rental " + req->rental_id());
    if (auto a = CallerIdentity::FromMeshHeaders(*ctx).AuthorizeCustomer(it->second.customer_id());
        !a.ok()) {
      return Err(a);
    }
    *out->mutable_rental() = Summary(it->second);
    out->add_timeline()->set_event_type("BookRented");
    return Status::OK;
  }
  Status ListCatalog(ServerContext* ctx, const vv1::ListCatalogRequest*,
                     vv1::ListCatalogResponse* out) override {
    rec_.Record(*ctx);
    absl::MutexLock lock(&s_.mu);
    for (const auto& [id, b] : s_.books) {
      vv1::CatalogEntry* e = out->add_books();
      e->set_book_id(b.book_id());
      e->set_title(b.title());
      e->set_copies(b.copies());
      e->set_copies_available(b.copies_available());
      *e->mutable_daily_fee() = b.daily_fee();
    }
    return Status::OK;
  }
  // Sends the customer's current rentals as changes, then ends.
  Status WatchMyPage(ServerContext* ctx, const vv1::WatchMyPageRequest* req,
                     grpc::ServerWriter<vv1::MyPageChange>* writer) override {
    rec_.Record(*ctx);
    if (auto a = CallerIdentity::FromMeshHeaders(*ctx).AuthorizeCustomer(req->customer_id());
        !a.ok())
      return Err(a);
    std::vector<vv1::MyPageChange> changes;
    {
      absl::MutexLock lock(&s_.mu);
      for (const auto& [id, r] : s_.rentals) {
        if (r.customer_id() != req->customer_id()) continue;
        vv1::MyPageChange c;
        *c.mutable_rental() = Summary(r);
        c.set_event_type("BookRented");
        changes.push_back(c);
      }
    }
    for (const auto& c : changes) writer->Write(c);
    // Customer "holder" keeps the stream open, like a real watch, until the
    // client goes away (bounded).
    for (int i = 0; req->customer_id() == "holder" && i < 40 && !ctx->IsCancelled(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return Status::OK;
  }

 private:
  FakeBackends::State& s_;
  MetadataRecorder& rec_;
};

}  // namespace

std::unique_ptr<FakeBackends> FakeBackends::Start() {
  std::unique_ptr<FakeBackends> b(new FakeBackends());
  b->recorder_ = std::make_unique<MetadataRecorder>();
  b->state_ = std::make_unique<State>();
  b->rental_ = std::make_unique<FakeRental>(*b->state_, *b->recorder_);
  b->payment_ = std::make_unique<FakePayment>(*b->state_, *b->recorder_);
  b->returns_ = std::make_unique<FakeReturns>(*b->state_, *b->recorder_);
  b->view_ = std::make_unique<FakeView>(*b->state_, *b->recorder_);
  const std::pair<const char*, grpc::Service*> services[] = {{"rental", b->rental_.get()},
                                                             {"payment", b->payment_.get()},
                                                             {"returns", b->returns_.get()},
                                                             {"view", b->view_.get()}};
  for (const auto& [name, svc] : services) {
    auto server = GrpcServer::Start("127.0.0.1:0", {svc});
    if (!server.ok()) {
      fprintf(stderr, "fake %s: %s\n", name, server.status().ToString().c_str());
      abort();
    }
    (*server)->SetServing(true);
    b->servers_[name] = *std::move(server);
  }
  return b;
}

FakeBackends::~FakeBackends() {
  for (auto& [name, s] : servers_) {
    if (s) s->Shutdown(absl::Milliseconds(100));
  }
}

std::map<std::string, std::string> FakeBackends::Addresses() const {
  std::map<std::string, std::string> out;
  for (const auto& [name, s] : servers_) out[name] = absl::StrCat("127.0.0.1:", s->port());
  return out;
}

void FakeBackends::Stop(const std::string& backend) {
  auto it = servers_.find(backend);
  if (it != servers_.end() && it->second) {
    it->second->Shutdown(absl::Milliseconds(50));
  }
}

}  // namespace rentmesh::gateway::testing
