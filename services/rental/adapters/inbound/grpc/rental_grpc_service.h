#pragma once

#include "rental/core/rental_service.h"
#include "rentmesh/common/work_pool.h"
#include "rentmesh/rental/v1/rental.grpc.pb.h"

namespace rentmesh::rental {

// RentalService over gRPC (callback API): maps messages to commands, runs the
// use case on the work pool (it blocks on JetStream and payment round trips,
// which gRPC threads must not), and maps absl::Status to grpc::Status. A full
// pool answers RESOURCE_EXHAUSTED at once.
class RentalGrpcService final : public v1::RentalService::CallbackService {
 public:
  RentalGrpcService(RentalService& service, WorkPool& pool) : service_(service), pool_(pool) {}

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

 private:
  template <typename Fn>
  grpc::ServerUnaryReactor* Dispatch(grpc::CallbackServerContext* ctx, Fn fn);

  RentalService& service_;
  WorkPool& pool_;
};

}  // namespace rentmesh::rental
