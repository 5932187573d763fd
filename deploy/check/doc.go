// Package deploycheck validates deploy/ offline, in the normal test run:
// the Kubernetes manifests decoded strictly into the k8s.io/api types, the
// Dockerfile through BuildKit's own parser, compose.yaml and the systemd
// unit, and the static binary the Dockerfile builds. It is a module of its
// own so that k8s.io/api and BuildKit never reach the waymark binary's
// dependencies.
package deploycheck
