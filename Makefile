# exo-actors — see README.md. Every target works on a fresh machine with Go and
# (for `proto`) protoc installed; .ci/run installs both.

GO          ?= go
BIN         := bin
EXO         := $(BIN)/exo-actors
# A cold -race build of every package takes ~3.3 min on 2 cores (198 s measured
# 2026-11-23, docs/operations.md); the TestMain builds of the runner binary count
# against -timeout too (~2.5 min worst package, cold). 15m leaves ~6x headroom
# without hiding a hang for long.
TEST_TIMEOUT ?= 15m
PROTO_DIR   := messages/exo/v1
PROTOC_GEN_GO := $(BIN)/protoc-gen-go
# The Python runner SDK's generated code (runner_pb2.py), from the same .proto.
PY_PROTO_OUT := sdk/python/exo_runner

.PHONY: all build test lint proto proto-check demo bench chaos clean

all: lint build test

build:
	$(GO) build -o $(EXO) ./cmd/exo-actors

# The tests built without -race (//go:build !race: a member in the test
# process, whose grpc global logger the race detector flags, docs/traps.md)
# run after, without it.
test:
	$(GO) vet ./...
	$(GO) test -race -timeout $(TEST_TIMEOUT) ./...
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) -run '^TestEtcdRejoinEndsEveryGoroutine$$' ./actors/membership/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run ./internal/tools/closecheck .

# protoc-gen-go is built from the version go.mod pins, so `make proto` is
# reproducible; protoc itself comes from Debian's protobuf-compiler.
$(PROTOC_GEN_GO): go.mod go.sum
	$(GO) build -o $(PROTOC_GEN_GO) google.golang.org/protobuf/cmd/protoc-gen-go

proto: $(PROTOC_GEN_GO)
	protoc --plugin=protoc-gen-go=$(PROTOC_GEN_GO) \
		--proto_path=. --go_out=. --go_opt=paths=source_relative \
		$(PROTO_DIR)/*.proto
	protoc --proto_path=$(PROTO_DIR) --python_out=$(PY_PROTO_OUT) $(PROTO_DIR)/runner.proto

# Regenerates into a scratch tree and compares with the committed code, ignoring
# only the line that names the protoc version.
proto-check: $(PROTOC_GEN_GO)
	@tmp=$$(mktemp -d); \
	protoc --plugin=protoc-gen-go=$(PROTOC_GEN_GO) --proto_path=. --go_out=$$tmp \
		--go_opt=paths=source_relative $(PROTO_DIR)/*.proto && \
	for f in $(PROTO_DIR)/*.pb.go; do \
		if ! diff -u -I '^// 	protoc ' $$f $$tmp/$$f; then \
			echo "generated code $$f is out of date: run 'make proto' and commit"; rm -rf $$tmp; exit 1; fi; \
	done; \
	mkdir -p $$tmp/py && protoc --proto_path=$(PROTO_DIR) --python_out=$$tmp/py $(PROTO_DIR)/runner.proto && \
	for f in $$tmp/py/*_pb2.py; do \
		if ! diff -u $(PY_PROTO_OUT)/$$(basename $$f) $$f; then \
			echo "generated code $(PY_PROTO_OUT)/$$(basename $$f) is out of date: run 'make proto' and commit"; rm -rf $$tmp; exit 1; fi; \
	done; rm -rf $$tmp; echo "generated code is current"

# The cluster demo: 3 node processes under every fault kind, seed 1 (about
# 15 s on 2 cores; docs/operations.md "The cluster demo"). The one-process
# scenario with the live table: bin/exo-actors demo.
demo: build
	$(EXO) demo --nodes 3 --chaos all --seed 1

# Every row at full size, about 4 minutes on 2 cores (3.3-3.7 min measured,
# docs/performance.md): its table. BENCH_FLAGS=--quick for the short run
# (about 35 s), --json for the raw numbers, --only ROW for one row (and the
# rows measured with it; docs/operations.md "make bench").
BENCH_FLAGS ?=
bench: build
	$(EXO) bench $(BENCH_FLAGS)

# A chaos run: 3 node processes and in-process systems under a seeded
# schedule of every fault kind for 60s, invariants checked as it runs and
# at the end (docs/reliability.md). CHAOS_FLAGS=--json for the summary as
# JSON; another --seed replays another schedule.
CHAOS_FLAGS ?=
chaos: build
	$(EXO) chaos --duration 60s --seed 1 --nodes 3 $(CHAOS_FLAGS)

clean:
	rm -rf $(BIN)
