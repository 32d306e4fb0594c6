# syntax=docker/dockerfile:1
# The boxoffice binary in a small Debian image, run as an unprivileged user.
# `serve` (the default command) applies the embedded migrations before it
# listens, so no separate step runs. Built and started nowhere in this
# repository's tests (no Docker engine there): see docs/operations.md, "Scale-out".

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Pure Go (pgx, go-redis, Fiber): a static binary that needs no libc.
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/boxoffice ./cmd/boxoffice

FROM debian:bookworm-slim
# ca-certificates: TLS to Stripe and SMTP servers.
RUN apt-get update \
	&& apt-get install -y --no-install-recommends ca-certificates \
	&& rm -rf /var/lib/apt/lists/* \
	&& useradd --system --create-home --home-dir /var/lib/boxoffice --uid 10001 boxoffice \
	&& install -d -o boxoffice -g boxoffice /var/lib/boxoffice/media
COPY --from=build /out/boxoffice /usr/local/bin/boxoffice
USER boxoffice
# Without SMTP_URL, confirmation mail is written as .eml files under here;
# event images go to media/ (MEDIA_DIR), made here so a volume mounted on it
# starts owned by the app's user.
WORKDIR /var/lib/boxoffice
ENV LISTEN_ADDR=:8080
EXPOSE 8080
# The image has no curl: the binary asks its own /readyz (200 when Postgres
# answers, even with Redis down; see `boxoffice healthcheck --help`).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
	CMD ["boxoffice", "healthcheck"]
ENTRYPOINT ["boxoffice"]
CMD ["serve"]
