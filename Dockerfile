# persistd and persistctl on Debian 12.
#
#   docker build -t persist .
#   docker run -p 50051:50051 -p 9090:9090 -v persist-data:/data persist
#   docker run ... persist --listen=0.0.0.0:50051 --data=/data/persist.wal \
#       --config=/etc/persist/persistd.json      (arguments go to persistd)
#
# The build stage runs exactly the README's test command (which installs
# the build dependencies with scripts/install-deps.sh, as CI does); the
# runtime stage installs the libraries scripts/runtime-deps.sh lists, which
# CI checks against what the binaries load (scripts/check-runtime-deps.sh).

FROM debian:12 AS build
WORKDIR /src
COPY . .
RUN scripts/test.sh

FROM debian:12-slim
COPY scripts/runtime-deps.sh /tmp/runtime-deps.sh
RUN /tmp/runtime-deps.sh && rm /tmp/runtime-deps.sh
# Schemas given as .proto files may import the well-known types; persistd
# reads them from where libprotobuf-dev puts them.
COPY --from=build /usr/include/google/protobuf/*.proto /usr/include/google/protobuf/
COPY --from=build /src/build/release/service/persistd /src/build/release/clients/cli/persistctl /usr/local/bin/
RUN groupadd --system --gid 10001 persist \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
        --shell /usr/sbin/nologin persist \
    && mkdir /data && chown 10001:10001 /data
USER 10001:10001
WORKDIR /data
VOLUME /data
# gRPC: persist.v1.Persist, grpc.health.v1 and reflection; Prometheus
# metrics (GET /metrics); with --health_listen, a plaintext health port.
EXPOSE 50051 9090 50052
# Plaintext on 50051. With TLS, add --health_listen=0.0.0.0:50052 and point
# the check there (docker run --health-cmd "persistctl --addr=127.0.0.1:50052
# health"), or use the orchestrator's own probes.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s \
    CMD ["persistctl", "--addr=127.0.0.1:50051", "health"]
ENTRYPOINT ["persistd"]
CMD ["--listen=0.0.0.0:50051", "--data=/data/persist.wal", \
     "--metrics_listen=0.0.0.0:9090"]
