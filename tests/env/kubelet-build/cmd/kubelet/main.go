// Command kubelet is the upstream node agent, built from the k8s.io/kubernetes
// module so tests start pods the way a real node does. It lives in its own
// wrapper module (not kube-build) so adding it did not change the cache key of
// the kube-apiserver build.
package main

import (
	"context"
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kubelet/app"
)

func main() {
	os.Exit(cli.Run(app.NewKubeletCommand(context.Background())))
}
