// grpc_gateway_peer: grpc-gateway (v1, Debian's golang-github-grpc-ecosystem-grpc-gateway-dev)
// in front of rental_server, the peer that tools/bench/rest_edge_bench.sh measures the
// rentmesh gateway against. It serves RentalService's google.api.http routes only.
//
// The RentalService stubs (rental.pb.go, rental.pb.gw.go) are not kept here:
// rest_edge_bench.sh generates them from proto/rentmesh/rental/v1/rental.proto
// into the package rentmesh/rental/v1 of a temporary GOPATH and builds this
// file there (GO111MODULE=off, with /usr/share/gocode on GOPATH).
//
// JSON: proto3's JSON mapping with lowerCamelCase names and every field printed,
// as the rentmesh gateway answers (grpc-gateway's default keeps the proto names
// and leaves zero values out), so both edges send the same bytes' worth.
package main

import (
	"context"
	"flag"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/runtime"
	"google.golang.org/grpc"

	rentalpb "rentmesh/rental/v1"
)

func main() {
	httpAddr := flag.String("http_address", "127.0.0.1:8081", "HTTP listen address host:port")
	rentalAddr := flag.String("rental_address", "127.0.0.1:50051", "RentalService gRPC address")
	flag.Parse()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	mux := runtime.NewServeMux(runtime.WithMarshalerOption(runtime.MIMEWildcard,
		&runtime.JSONPb{OrigName: false, EmitDefaults: true}))
	opts := []grpc.DialOption{grpc.WithInsecure()}
	if err := rentalpb.RegisterRentalServiceHandlerFromEndpoint(ctx, mux, *rentalAddr, opts); err != nil {
		log.Fatalf("grpc_gateway_peer: %v", err)
	}

	srv := &http.Server{Addr: *httpAddr, Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout: 30 * time.Second}
	go func() {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
		<-stop
		shutdown, done := context.WithTimeout(context.Background(), 2*time.Second)
		defer done()
		srv.Shutdown(shutdown)
	}()
	log.Printf("grpc_gateway_peer: http %s -> rental %s", *httpAddr, *rentalAddr)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		log.Fatalf("grpc_gateway_peer: %v", err)
	}
}
