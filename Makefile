# The two commands a new machine needs (Go installed): `make run` and `make test`.
.PHONY: run test build check vet release

run:
	go run ./cmd/waymark serve

# Starts the Redis servers the tests need (installing redis-server if it is
# missing), then runs vet and every test with the race detector.
test:
	bash .ci/test.sh

build:
	CGO_ENABLED=0 go build -trimpath -o bin/waymark ./cmd/waymark

check:
	go run ./cmd/waymark check

vet:
	gofmt -l . | tee /dev/stderr | (! read)
	go vet ./...

# Static binaries for small VMs (amd64) and Raspberry Pi-class machines
# (arm64), with the version `waymark version` prints. deploy/Dockerfile
# builds the same way.
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
RELEASE_FLAGS = -trimpath -ldflags "-s -w -X main.version=$(VERSION)"

release:
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build $(RELEASE_FLAGS) -o bin/waymark-linux-amd64 ./cmd/waymark
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build $(RELEASE_FLAGS) -o bin/waymark-linux-arm64 ./cmd/waymark
