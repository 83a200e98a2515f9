# berth-scheduler image: a static binary on distroless, running as the nonroot user
# (65532). Build with `make image` where a Docker engine exists.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG LDFLAGS=""
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w ${LDFLAGS}" \
    -o /out/berth-scheduler ./cmd/berth-scheduler

FROM gcr.io/distroless/static:nonroot
COPY --from=build /out/berth-scheduler /usr/local/bin/berth-scheduler
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/berth-scheduler"]
