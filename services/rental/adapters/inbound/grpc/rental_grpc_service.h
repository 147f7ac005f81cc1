#pragma once

#include "rental/core/rental_service.h"
#include "rentmesh/common/caller_authenticator.h"
#include "rentmesh/common/work_pool.h"
#include "rentmesh/rental/v1/rental.grpc.pb.h"

namespace rentmesh::rental {

// RentalService over gRPC (callback API): maps messages to commands, runs the
// use case on the work pool (it blocks on JetStream and payment round trips,
// which gRPC threads must not), and maps absl::Status to grpc::Status. A full
// pool answers RESOURCE_EXHAUSTED at once. `auth` says who calls: a customer
// or librarian becomes the use case's Actor, a service is unrestricted, and
// an anonymous caller may only read books (UNAUTHENTICATED otherwise).
class RentalGrpcService final : public v1::RentalService::CallbackService {
 public:
  RentalGrpcService(RentalService& service, WorkPool& pool, const CallerAuthenticator& auth)
      : service_(service), pool_(pool), auth_(auth) {}

  // v1::RentalService::CallbackService
  grpc::ServerUnaryReactor* AddBook(grpc::CallbackServerContext* ctx, const v1::AddBookRequest* req,
                                    v1::Book* resp) override;
  grpc::ServerUnaryReactor* StockBook(grpc::CallbackServerContext* ctx,
                                      const v1::StockBookRequest* req, v1::Book* resp) override;
  grpc::ServerUnaryReactor* GetBook(grpc::CallbackServerContext* ctx, const v1::GetBookRequest* req,
                                    v1::Book* resp) override;
  grpc::ServerUnaryReactor* ListBooks(grpc::CallbackServerContext* ctx,
                                      const v1::ListBooksRequest* req,
                                      v1::ListBooksResponse* resp) override;
  grpc::ServerUnaryReactor* RentBook(grpc::CallbackServerContext* ctx,
                                     const v1::RentBookRequest* req, v1::Rental* resp) override;
  grpc::ServerUnaryReactor* GetRental(grpc::CallbackServerContext* ctx,
                                      const v1::GetRentalRequest* req, v1::Rental* resp) override;
  grpc::ServerUnaryReactor* ReturnBook(grpc::CallbackServerContext* ctx,
                                       const v1::ReturnBookRequest* req, v1::Rental* resp) override;
  grpc::ServerUnaryReactor* CancelRental(grpc::CallbackServerContext* ctx,
                                         const v1::CancelRentalRequest* req,
                                         v1::Rental* resp) override;
  grpc::ServerUnaryReactor* SetCustomerTier(grpc::CallbackServerContext* ctx,
                                            const v1::SetCustomerTierRequest* req,
                                            v1::CustomerTier* resp) override;
  grpc::ServerUnaryReactor* GetCustomerTier(grpc::CallbackServerContext* ctx,
                                            const v1::GetCustomerTierRequest* req,
                                            v1::CustomerTier* resp) override;
  grpc::ServerUnaryReactor* HoldBook(grpc::CallbackServerContext* ctx,
                                     const v1::HoldBookRequest* req, v1::Hold* resp) override;
  grpc::ServerUnaryReactor* ListHolds(grpc::CallbackServerContext* ctx,
                                      const v1::ListHoldsRequest* req,
                                      v1::ListHoldsResponse* resp) override;
  grpc::ServerUnaryReactor* ReleaseHold(grpc::CallbackServerContext* ctx,
                                        const v1::ReleaseHoldRequest* req, v1::Hold* resp) override;

 private:
  template <typename Fn>
  grpc::ServerUnaryReactor* Dispatch(grpc::CallbackServerContext* ctx, Fn fn,
                                     bool anonymous_ok = false);

  RentalService& service_;
  WorkPool& pool_;
  const CallerAuthenticator& auth_;
};

}  // namespace rentmesh::rental
