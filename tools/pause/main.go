// Command pause is the node tier's pod sandbox ("pause") image: PID 1 of each pod's sandbox
// container, which holds the pod's namespaces. It sleeps until SIGTERM or SIGINT and exits
// 0, and reaps any child that is re-parented to it meanwhile, so no zombie accumulates.
// Built statically by scripts/node-build.sh (there is no registry to pull one from).
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var status syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
