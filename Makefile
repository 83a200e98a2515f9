# berth — the README's two commands are `make run` and `make test`.
SHELL := /usr/bin/env bash
GO ?= go
BIN := $(CURDIR)/bin

BERTH_VERSION ?= v0.1.0-dev
# The kube-scheduler version berth embeds is whatever go.mod pins.
KUBE_VERSION := $(shell $(GO) list -m -f '{{.Version}}' k8s.io/kubernetes)
KUBE_MINOR := $(word 2,$(subst ., ,$(KUBE_VERSION)))
LDFLAGS := -X github.com/berth-sched/berth/pkg/version.Berth=$(BERTH_VERSION) \
	-X k8s.io/component-base/version.gitVersion=$(KUBE_VERSION) \
	-X k8s.io/component-base/version.gitMajor=1 \
	-X k8s.io/component-base/version.gitMinor=$(KUBE_MINOR)

TEST_TIMEOUT ?= 45m

# The container image (make image): berth-scheduler on an empty base, built by
# hack/image with go-containerregistry; no container engine needed. IMAGE is the name
# and tag recorded in the archive (docker load tags it so); manifests/ and the chart
# name the same one.
IMAGE ?= berth-scheduler:$(BERTH_VERSION)
IMAGE_ARCH ?= $(shell $(GO) env GOARCH)
IMAGE_TAR ?= $(BIN)/berth-scheduler-image.tar
# The image's only timestamp: the last commit's time, so rebuilding a commit anywhere
# gives the same digest (https://reproducible-builds.org/specs/source-date-epoch/).
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
GIT_COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
# The binary the image ships is bin/berth-scheduler itself when this machine is
# linux/IMAGE_ARCH, else a cross-build beside it.
ifeq ($(shell $(GO) env GOOS)/$(shell $(GO) env GOARCH),linux/$(IMAGE_ARCH))
IMAGE_BINARY := $(BIN)/berth-scheduler
IMAGE_BINARY_TARGET := build-scheduler
else
IMAGE_BINARY := $(BIN)/linux_$(IMAGE_ARCH)/berth-scheduler
IMAGE_BINARY_TARGET := build-scheduler-cross
endif
# berth-scheduler is built as it ships: static (CGO_ENABLED=0; the image has no libc),
# without build-machine paths or VCS stamps (-trimpath -buildvcs=false; the image's
# labels carry the commit), stripped. The e2e tests run this very binary.
SCHEDULER_BUILD = CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -ldflags '-s -w $(LDFLAGS)'

.PHONY: all build build-scheduler build-scheduler-cross build-local build-sim sim test test-bench-short unit run bench bench-plugins bench-scheduler bench-rss lint image clean k8s-version

all: build

build: build-scheduler build-local build-sim

build-scheduler:
	$(SCHEDULER_BUILD) -o $(BIN)/berth-scheduler ./cmd/berth-scheduler

build-local:
	$(GO) build -o $(BIN)/berth-local ./cmd/berth-local

build-sim:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/berth-sim ./cmd/berth-sim

# Everything CI runs: lint, unit tests, the integration and e2e tests on the real
# control plane (which drive bin/berth-scheduler as a process and check the image), and
# the scheduler benchmark's short workloads.
test: lint build-scheduler image test-bench-short
	BERTH_SCHEDULER=$(BIN)/berth-scheduler BERTH_IMAGE=$(IMAGE_TAR) $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

# Every bench-scheduler test case's short (2-10 node) workloads under both profiles,
# with no timing threshold: a workload that no longer runs to the end (a pod left
# pending, a template upstream changed, a plugin that stops signing pods where
# batching is expected) fails CI, while timings stay in make bench. Each workload
# starts its own API server and etcd, which is most of its cost: ~3-4 minutes on 2
# shared cores. -run . adds the benchmark harness's own tests.
# -short also shrinks TestSchedulerPeakRSS (bench-rss) to a 5-node smoke run; without it
# that test would measure at full size. The per-plugin benchmarks (bench-plugins) run
# once each for the same reason (~25 s): one broke unnoticed when only make bench ran it.
test-bench-short: build-scheduler
	BERTH_SCHEDULER=$(BIN)/berth-scheduler $(GO) test -tags benchmark -short -count=1 -timeout 20m -run . -bench . -benchtime 1x ./test/benchmark/ \
		-args -perf-scheduling-label-filter=short -data-items-dir=$${TMPDIR:-/tmp}/berth-scheduler-perf-short
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x ./pkg/plugins/...

# Unit tests only: no API server (internal/localcluster's cluster tests skip under -short).
unit:
	$(GO) test -count=1 -short $$($(GO) list ./... | grep -v /test/)

# A local control plane with simulated nodes, berth-scheduler on it, and the example
# workload; prints where each pod landed. ARGS=--once prints and exits.
run: build
	$(BIN)/berth-local --scheduler $(BIN)/berth-scheduler $(ARGS)

# berth-sim on an example: berth's recommended profile against upstream's default one on
# mixed QoS classes under memory pressure (docs/simulator.md). ARGS adds flags, e.g.
# ARGS="--out results" or ARGS="--sweep QoSAwarePreemption.guaranteedPriorityGap=0,1000".
SIM_SCENARIO ?= examples/sim/mixed-qos-memory-pressure.yaml
sim: build-sim
	$(BIN)/berth-sim run --scenario $(SIM_SCENARIO) --config default --config berth $(ARGS)

# Per-plugin Go benchmarks (each beside an upstream plugin's, in the same run), then the
# whole scheduler under berth's profile and upstream's default profile (scheduler_perf),
# then the berth-scheduler process's peak RSS under both. Figures and how to read them:
# docs/benchmarks.md.
BENCH_COUNT ?= 5
bench: bench-plugins bench-scheduler bench-rss

bench-plugins:
	set -o pipefail; $(GO) test -run '^$$' -bench . -benchmem -count $(BENCH_COUNT) ./pkg/plugins/... | tee bench-plugins.txt

# ~15-20 minutes per round on 2 quiet cores (docs/benchmarks.md); the berth/default
# table is printed at the end. ARGS=-perf-scheduling-label-filter=short runs the short
# versions (as make test does); ARGS can also pick test cases, e.g.
# ARGS=-test.bench=BenchmarkPerfScheduling/PreemptionAsync (a regular expression).
SCHED_BENCH_COUNT ?= 3
bench-scheduler:
	set -o pipefail; $(GO) test -tags benchmark -timeout 150m -run '^$$' -bench . -benchtime 1x -count 1 ./test/benchmark/ \
		-args -rounds=$(SCHED_BENCH_COUNT) -data-items-dir=$${TMPDIR:-/tmp}/berth-scheduler-perf $(ARGS) | tee bench-scheduler.txt

# The berth-scheduler binary's peak RSS (VmHWM) under both profiles in one run: 5000
# nodes, 10000 pods per run, 3 runs per profile in alternating order; about 10 minutes
# on 2 cores. RSS_ARGS="-rss-nodes=500 -rss-pods=1000 -rss-count=1" makes it smaller,
# RSS_ARGS=-test.short a smoke test.
bench-rss: build-scheduler
	set -o pipefail; BERTH_SCHEDULER=$(BIN)/berth-scheduler $(GO) test -tags benchmark -timeout 60m -count 1 -run '^TestSchedulerPeakRSS$$' -v ./test/benchmark/ \
		-args -data-items-dir=$${TMPDIR:-/tmp}/berth-scheduler-perf $(RSS_ARGS) | tee bench-rss.txt

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags benchmark ./test/benchmark/

# The OCI image as a tar (IMAGE_TAR): load it with `docker load -i`, or push it with
# skopeo or crane (docs/operations.md). Prints the tar, the image's digest and size.
# IMAGE_ARCH=arm64 cross-builds.
image: $(IMAGE_BINARY_TARGET)
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) $(GO) run ./hack/image --binary $(IMAGE_BINARY) --arch $(IMAGE_ARCH) \
		--tag $(IMAGE) --version $(BERTH_VERSION) --kube-version $(KUBE_VERSION) --revision '$(GIT_COMMIT)' --out $(IMAGE_TAR)

build-scheduler-cross:
	GOOS=linux GOARCH=$(IMAGE_ARCH) $(SCHEDULER_BUILD) -o $(IMAGE_BINARY) ./cmd/berth-scheduler

# Pin another Kubernetes release: make k8s-version V=v1.37.3
k8s-version:
	./hack/update-k8s-version.sh $(V)

clean:
	rm -rf $(BIN)
