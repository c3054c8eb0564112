//go:build tools

// Package tools pins the Kubernetes provider plugin (the commit of pulumi-kubernetes v4.25.0,
// the one the module proxy serves). Its embedded schema is generated at build time by
// scripts/build-toolchain, in a copy of the module outside the repository.
package tools

import _ "github.com/pulumi/pulumi-kubernetes/provider/v4/cmd/pulumi-resource-kubernetes"
