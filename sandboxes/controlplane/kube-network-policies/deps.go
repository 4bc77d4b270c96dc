//go:build tools

// Packages the patches in patches/ import, so that go.mod and go.sum record their modules.
package tools

import (
	_ "github.com/google/nftables/xt"
	_ "k8s.io/client-go/tools/clientcmd"
)
