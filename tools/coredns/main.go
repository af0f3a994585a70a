// Command coredns is CoreDNS (github.com/coredns/coredns, pinned in go.mod) with only the
// plugins the node tier's cluster DNS uses: the kubernetes plugin answering for cluster.local
// and the reverse zones from the apiserver, plus bind, errors, log, health, ready, cache and
// loadbalance. No forward plugin: test pods resolve cluster names only and nothing is sent
// to an upstream resolver. Built by scripts/node-build.sh; see docs/test-cluster.md.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
)

// directives in the order of CoreDNS's own core/dnsserver/zdirectives.go (the order in which
// a query passes the plugins), restricted to the plugins linked in above.
var directives = []string{"bind", "ready", "health", "errors", "log", "loadbalance", "cache", "kubernetes"}

func main() {
	dnsserver.Directives = directives
	coremain.Run()
}
