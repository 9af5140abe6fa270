# sockspec: build, test, fuzz, bench. `make help` lists the targets.
GO        ?= go
BIN       ?= bin/sockspec
# Go's own test timeout must fire after Ginkgo's and never at its 10-minute default.
TEST_TIMEOUT ?= 25m
FUZZTIME  ?= 20s
BENCHTIME ?= 1x
PKGS      ?= ./...

.PHONY: help build check check-all test test-netns vet fuzz bench clean

help:
	@echo "make build      build $(BIN)"
	@echo "make check      build, then check the built-in reference chat server (the main job)"
	@echo "make test       go vet, then every test with -race (wildcard-address tests in a private network namespace)"
	@echo "make fuzz       run every fuzz target for FUZZTIME (default $(FUZZTIME))"
	@echo "make bench      run the benchmarks (BENCHTIME, default $(BENCHTIME) iterations)"

build:
	$(GO) build -o $(BIN) ./cmd/sockspec

check: build
	./$(BIN) check chat

check-all: build
	./$(BIN) check all

vet:
	$(GO) vet $(PKGS)

test: vet
	$(GO) test -race -timeout $(TEST_TIMEOUT) $(PKGS)
	@$(MAKE) --no-print-directory test-netns

# Tests that bind wildcard addresses (0.0.0.0, ::) run in a private network namespace, where
# they expose nothing; they are skipped, with a note, where unshare -rn or ip is missing or
# not permitted.
test-netns:
	@if unshare -rn true 2>/dev/null && command -v ip >/dev/null; then \
	  SOCKSPEC_NETNS=1 unshare -rn sh -c 'ip link set lo up && $(GO) test -race -count=1 -run Wildcard ./servers/udp/'; \
	else \
	  echo "test-netns: skipped (unshare -rn or ip not available here)"; \
	fi

# Each fuzz target alone: -fuzz must match exactly one target in one package.
fuzz:
	@set -e; for pkg in $$($(GO) list ./fuzz/...); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$target"; \
	    $(GO) test -run='^$$' -fuzz="^$$target$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=1s $$pkg; \
	  done; \
	done

bench:
	$(GO) test -run='^$$' -bench=. -benchtime=$(BENCHTIME) -timeout 30m $(PKGS)

clean:
	rm -rf bin
