# tether: build, test and release.
#
#   make test      everything CI runs: installs what the tests need when it is
#                  missing, then gofmt, go mod tidy -diff, go vet, go test -race,
#                  fuzz targets briefly, cross-builds
#   make build     ./tether for this machine
#   make release   binaries for the boards people use, in dist/

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X tether/internal/cli.Version=$(VERSION)
PKGS      := ./...
# Fuzz targets run briefly in make test; FUZZTIME=5m for a real run.
FUZZTIME  ?= 3s

.PHONY: all build test deps fmt-check tidy-check vet gotest cross release clean fuzz

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o tether ./cmd/tether

test: deps fmt-check tidy-check vet gotest fuzz cross

# deps installs the real peers the tests use when they are missing:
# Debian's python3-websockets, chromium, nats-server and mosquitto, and
# playwright-core (no browser download) from npm.
deps:
	@./scripts/deps.sh

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './e2e/node_modules/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

# tidy-check fails when go.mod or go.sum are not what go mod tidy would
# write (a direct dependency marked indirect, a missing or stale sum).
tidy-check:
	@out=$$($(GO) mod tidy -diff) || { echo "go mod tidy needed:"; echo "$$out"; exit 1; }

vet:
	$(GO) vet $(PKGS)

gotest:
	$(GO) test -race -timeout 30m $(PKGS)

# fuzz runs every fuzz target for FUZZTIME (3s in make test).
fuzz:
	@FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

# cross checks that the boards people use still build.
cross:
	GOOS=linux GOARCH=arm GOARM=6 $(GO) build -o /dev/null ./cmd/tether
	GOOS=linux GOARCH=arm64 $(GO) build -o /dev/null ./cmd/tether
	GOOS=linux GOARCH=mipsle $(GO) build -o /dev/null ./cmd/tether
	GOOS=linux GOARCH=arm GOARM=6 CGO_ENABLED=0 $(GO) build -tags tether_device -o /dev/null ./cmd/tether

# release builds the full tool for each board (dist/tether-linux-*) and the
# device-only binary (dist/tether-device-linux-*: -tags tether_device, no hub,
# bench or demo command, no Prometheus, NATS or gws; static, CGO_ENABLED=0),
# which keeps a device's RSS well under 15 MB (docs/PERFORMANCE.md).
release:
	@mkdir -p dist
	GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/tether-linux-amd64 ./cmd/tether
	GOOS=linux GOARCH=arm GOARM=6 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/tether-linux-armv6 ./cmd/tether
	GOOS=linux GOARCH=arm GOARM=7 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/tether-linux-armv7 ./cmd/tether
	GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/tether-linux-arm64 ./cmd/tether
	GOOS=linux GOARCH=mipsle GOMIPS=softfloat $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/tether-linux-mipsle ./cmd/tether
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -tags tether_device -ldflags '$(LDFLAGS)' -o dist/tether-device-linux-amd64 ./cmd/tether
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=6 $(GO) build -trimpath -tags tether_device -ldflags '$(LDFLAGS)' -o dist/tether-device-linux-armv6 ./cmd/tether
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) build -trimpath -tags tether_device -ldflags '$(LDFLAGS)' -o dist/tether-device-linux-armv7 ./cmd/tether
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -tags tether_device -ldflags '$(LDFLAGS)' -o dist/tether-device-linux-arm64 ./cmd/tether
	CGO_ENABLED=0 GOOS=linux GOARCH=mipsle GOMIPS=softfloat $(GO) build -trimpath -tags tether_device -ldflags '$(LDFLAGS)' -o dist/tether-device-linux-mipsle ./cmd/tether
	@ls -l dist

clean:
	rm -rf tether dist
