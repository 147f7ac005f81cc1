# syntax=docker/dockerfile:1
# One image with every rentmesh binary; the Kubernetes container command picks
# one (/usr/local/bin/<svc>_server). One image keeps the five services on the
# exact same build and cuts registry storage and pull time; the binaries share
# all their libraries. Build: docker build -t ghcr.io/rentmesh/rentmesh:0.1.0 .

FROM debian:12 AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config ca-certificates \
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev \
      librocksdb-dev libnats-dev libgtest-dev golang-github-gogo-googleapis-dev \
      libcpp-httplib-dev libjwt-dev libssl-dev nlohmann-json3-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \
    && cmake --build build -j"$(nproc)" --target \
         rental_server payment_server returns_server view_server gateway_server \
    && mkdir -p /out \
    && for b in rental payment returns view gateway; do \
         install -m 0755 "build/services/$b/${b}_server" /out/; \
       done \
    && strip /out/*

FROM debian:12-slim AS runtime
# Runtime libraries only (no compilers, no -dev packages).
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates libgrpc++1.51 libgrpc29 libprotobuf32 librocksdb7.8 libnats3.4 \
      libabsl20220623 libjwt0 libssl3 libcpp-httplib0.11 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 rentmesh \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/rentmesh --shell /usr/sbin/nologin rentmesh \
    && mkdir -p /var/lib/rentmesh && chown 10001:10001 /var/lib/rentmesh
COPY --from=build /out/ /usr/local/bin/
USER 10001:10001
WORKDIR /var/lib/rentmesh
# gRPC 50050-50054, REST 8080, admin (metrics/healthz) 9450-9454.
EXPOSE 50050-50054 8080 9450-9454
# No default service: the command names the binary, e.g.
#   docker run IMAGE rental_server --nats_url=nats://host:4222
ENTRYPOINT []
CMD ["rental_server", "--help"]
