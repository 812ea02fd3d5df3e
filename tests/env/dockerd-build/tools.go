//go:build tools

// The daemon's main packages, so `go mod tidy` keeps their modules; scripts/setup.sh
// builds them by import path (go build github.com/docker/docker/cmd/dockerd).
package tools

import (
	_ "github.com/docker/docker/cmd/docker-proxy"
	_ "github.com/docker/docker/cmd/dockerd"
)
