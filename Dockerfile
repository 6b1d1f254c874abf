# syntax=docker/dockerfile:1
# `dora serve` in a container: docs/serve.md, "Deploying".
#
#   docker build -t dora .
#   docker run -p 8080:8080 -v dora-data:/data \
#     -e DORA_INGEST_TOKEN="$(cat token)" dora
#
# The image listens on 0.0.0.0:8080 and keeps its store in /data/dora.db
# (a volume), as the unprivileged user `dora` (uid 65532). A listener off
# loopback needs the ingest token: the image names its variable
# (DORA_INGEST_TOKEN), so a container started without it says so and exits 2.
# Flags after the image name override these defaults (a flag wins over its
# DORA_* variable), e.g. `--config /etc/dora/dora.toml`.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# The registry and the target directory are cache mounts: a rebuild after a
# source change compiles only the workspace's crates.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --locked --release -p dora-cli --features serve,github,gitlab,kubernetes,opencost \
    && cp target/release/dora /usr/local/bin/dora

FROM debian:bookworm-slim
# CA certificates for the GitHub, GitLab and Kubernetes API clients.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 65532 dora \
    && useradd --system --uid 65532 --gid dora --home-dir /data --shell /usr/sbin/nologin dora \
    && mkdir -p /data && chown dora:dora /data
COPY --from=build /usr/local/bin/dora /usr/local/bin/dora
USER 65532:65532
WORKDIR /data
VOLUME ["/data"]
ENV DORA_LISTEN=0.0.0.0:8080 \
    DORA_STORE=/data/dora.db \
    DORA_INGEST_TOKEN_ENV=DORA_INGEST_TOKEN
EXPOSE 8080
# GET /healthz over bash's /dev/tcp (the slim image has no HTTP client).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["dora", "serve"]
