# jobgate's container image: built with the Swift 6 toolchain on Debian 12, run on debian:bookworm-slim with
# libmicrohttpd, QEMU for the image's architecture and qemu-utils. Data and the default image root are the
# volume /var/lib/jobgate. It listens on 0.0.0.0:8080 and so needs a token file: mount one (mode 0600, owned by
# uid 10001) at /run/secrets/jobgate-tokens. scripts/container-test.sh builds and runs it with buildah.
#
#   docker build -t jobgate .
#   docker run -d -p 8080:8080 -v jobgate-data:/var/lib/jobgate \
#     -v "$PWD/tokens:/run/secrets/jobgate-tokens:ro" jobgate

# The build image: Swift 6.2 or later (swift-prometheus needs 6.2) on Debian 12 (bookworm). SWIFT_IMAGE names
# another one, e.g. a local copy of the toolchain (scripts/container-test.sh makes one).
ARG SWIFT_IMAGE=swift:6.3-bookworm

FROM ${SWIFT_IMAGE} AS build
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmicrohttpd-dev libgnutls28-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN swift build -c release --static-swift-stdlib --product jobgate \
    && install -D -m 0755 "$(swift build -c release --show-bin-path)/jobgate" /out/jobgate

FROM debian:bookworm-slim
ARG VERSION=0.0.0-dev
LABEL org.opencontainers.image.title="jobgate" \
      org.opencontainers.image.description="HTTP/REST gateway with server-sent events for QEMU's storage jobs" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/jobgate/jobgate" \
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim"
# QEMU for the architecture the image is built for, as scripts/deps.sh picks it. tini is PID 1: it passes
# SIGTERM on to jobgate and reaps what exits (the QEMU engine is jobgate's child).
# hadolint ignore=DL3008
RUN case "$(dpkg --print-architecture)" in \
        amd64) qemu="qemu-system-x86" ;; arm64|armhf) qemu="qemu-system-arm" ;; ppc64el) qemu="qemu-system-ppc" ;; \
        s390x) qemu="qemu-system-s390x" ;; *) qemu="qemu-system-misc" ;; \
    esac \
    && apt-get update \
    && apt-get install -y --no-install-recommends libmicrohttpd12 "$qemu" qemu-utils curl tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 jobgate \
    && useradd --system --uid 10001 --gid jobgate --home-dir /var/lib/jobgate --shell /usr/sbin/nologin jobgate \
    && install -d -o jobgate -g jobgate -m 0750 /var/lib/jobgate /var/lib/jobgate/images
COPY --from=build /out/jobgate /usr/local/bin/jobgate
USER 10001:10001
WORKDIR /var/lib/jobgate
VOLUME ["/var/lib/jobgate"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/jobgate"]
# A container's engine lives and dies with it: stop it cleanly when jobgate stops.
CMD ["--listen", "0.0.0.0:8080", "--data-dir", "/var/lib/jobgate", "--token-file", "/run/secrets/jobgate-tokens", \
     "--stop-engine-on-exit", "--log-format", "json"]
