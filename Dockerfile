# syntax=docker/dockerfile:1
# One image with every rentmesh binary; the Kubernetes container command picks
# one (/usr/local/bin/<svc>_server). One image keeps the five services on the
# exact same build and cuts registry storage and pull time; the binaries share
# all their libraries.
#   docker build -t ghcr.io/rentmesh/rentmesh:0.1.0 .
#   bash tools/build-image.sh      (podman, local debian:12 base, ccache mount)
# The `testtools` target adds curl and a grpcurl-compatible wrapper of rentctl
# for the chart's `helm test` pods where no public images can be pulled.

FROM debian:12 AS build-deps
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config ca-certificates ccache \
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev \
      librocksdb-dev libnats-dev libgtest-dev golang-github-gogo-googleapis-dev \
      libcpp-httplib-dev libjwt-dev libssl-dev nlohmann-json3-dev \
    && rm -rf /var/lib/apt/lists/*

FROM build-deps AS build
# Compiles go through ccache. tools/build-image.sh mounts a cache directory at
# /ccache (podman build -v DIR:/ccache), so a rebuild after one service changed
# recompiles only that service; without the mount the cache is simply cold.
ENV CCACHE_DIR=/ccache CCACHE_BASEDIR=/src CCACHE_NOHASHDIR=1 \
    CCACHE_COMPILERCHECK=content CCACHE_MAXSIZE=3G
ARG JOBS=2
WORKDIR /src
COPY . .
RUN cmake --preset default -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null \
    && ccache -z >/dev/null \
    && cmake --build build -j"${JOBS}" --target \
         rental_server payment_server returns_server view_server notification_server gateway_server \
         rentctl quorum_guard \
    && echo "ccache: $(ccache -s | grep -E '^ *(Hits|Misses):' | tr -s ' ' | tr '\n' ' ')" \
    && mkdir -p /out \
    && for b in rental payment returns view notification gateway; do \
         install -m 0755 "build/services/$b/${b}_server" /out/; \
       done \
    && install -m 0755 build/tools/rentctl/rentctl /out/ \
    && install -m 0755 build/tools/quorum_guard/quorum_guard /out/ \
    && strip --strip-all /out/*

FROM debian:12-slim AS runtime-base
# Runtime libraries only (no compilers, no -dev packages, no docs).
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates libgrpc++1.51 libgrpc29 libprotobuf32 librocksdb7.8 libnats3.4 \
      libabsl20220623 libjwt0 libssl3 libcpp-httplib0.11 \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log \
              /usr/share/doc/* /usr/share/man/* /usr/share/info/* /usr/share/locale/* \
    && groupadd --system --gid 10001 rentmesh \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/rentmesh --shell /usr/sbin/nologin rentmesh \
    && mkdir -p /var/lib/rentmesh && chown 10001:10001 /var/lib/rentmesh

FROM runtime-base AS runtime
COPY --from=build /out/ /usr/local/bin/
USER 10001:10001
WORKDIR /var/lib/rentmesh
# gRPC 50050-50054, REST 8080, admin (metrics/healthz) 9450-9454.
EXPOSE 50050-50054 8080 9450-9454
# No default service: the command names the binary, e.g.
#   docker run IMAGE rental_server --nats_url=nats://host:4222
ENTRYPOINT []
CMD ["rental_server", "--help"]

FROM runtime AS testtools
USER 0:0
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/*
COPY tools/containers/grpcurl /usr/local/bin/grpcurl
USER 10001:10001

# The default target is the service image.
FROM runtime
