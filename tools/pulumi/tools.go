//go:build tools

// Package tools pins the Pulumi CLI; pkg and sdk are required at the same version.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
