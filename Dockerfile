# casl2 in a container (examples/network/compose.yaml runs the example network with it).
# Build: docker build -t casl2 .   Run: docker run --rm -v casl2-data:/data casl2 --help
# Stage 1 builds the release binary; stage 2 is a slim runtime with a non-root user and the
# data in a volume.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p casl2 --locked && cp target/release/casl2 /casl2

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --create-home casl2
COPY --from=build /casl2 /usr/local/bin/casl2
COPY examples/network /etc/casl2/network
USER casl2
WORKDIR /data
VOLUME /data
ENV CASL2_WALLET_DIR=/data/wallet
ENTRYPOINT ["casl2"]
CMD ["--help"]
