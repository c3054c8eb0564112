//go:build tools

// Package tools pins KWOK, which simulates the cluster's nodes and their pods' lifecycle.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
