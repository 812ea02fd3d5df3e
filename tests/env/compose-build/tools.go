//go:build tools

// The compose command's main package, so `go mod tidy` keeps its modules;
// scripts/setup.sh builds it by import path (github.com/docker/compose/v5/cmd).
package tools

import _ "github.com/docker/compose/v5/cmd"
