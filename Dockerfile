# syntax=docker/dockerfile:1
# healthpipe's image: the one `healthpipe` binary, every service a subcommand
# (`healthpipe gateway`, `process aggregation`, `registry`, `migrate`...; see k8s/).
#   docker build -t healthpipe/healthpipe:0.1.0 .
# The version is the workspace's (Cargo.toml); k8s/ pins the same tag.

# The release build, on the Debian release the runtime stage is (the same glibc and OpenSSL).
# librdkafka is compiled from source by rdkafka-sys against the image's OpenSSL and zlib.
FROM rust:1.95-bookworm AS builder
WORKDIR /src
COPY . .
# The cargo registry and target folder are build caches; the binary leaves the cache in the
# same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p healthpipe \
    && install -D -m 0755 target/release/healthpipe /out/healthpipe

# Runtime: glibc, zlib and libgcc come with the base; OpenSSL (PostgreSQL and Kafka TLS)
# and the CA certificates are added. Versions are Debian bookworm's current ones (security
# updates replace them, so they are not pinned: rebuild to pick them up).
FROM debian:bookworm-slim
LABEL org.opencontainers.image.title="healthpipe" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.description="Event-sourced pipeline for personal health data"
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libssl3 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=builder /out/healthpipe /usr/local/bin/healthpipe
# A numeric user (no passwd entry needed), as the manifests' runAsUser: nothing in the
# image runs as root, nothing writes to its file system, no shell is called.
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/healthpipe"]
CMD ["--help"]
