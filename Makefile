# The two commands a new machine needs (Go installed): `make run` and `make test`.
.PHONY: run test build check vet

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
