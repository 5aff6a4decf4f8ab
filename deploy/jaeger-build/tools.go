//go:build tools

// Package tools pins cmd/jaeger so `go mod tidy` keeps its dependencies.
package tools

import _ "github.com/jaegertracing/jaeger/cmd/jaeger"
