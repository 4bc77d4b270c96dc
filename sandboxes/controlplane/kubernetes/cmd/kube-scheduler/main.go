// kube-scheduler for kubedojo's embedded cluster: the upstream scheduler of the pinned
// Kubernetes version with one out-of-tree plugin registered the way upstream documents it
// (app.WithPlugin, as sigs.k8s.io/scheduler-plugins does). See ../../realnode.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register" // as upstream's main: JSON logs and metrics
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
	"kubedojo.dev/controlplane/kubernetes/realnode"
)

func main() {
	command := app.NewSchedulerCommand(app.WithPlugin(realnode.Name, realnode.New))
	os.Exit(cli.Run(command))
}
