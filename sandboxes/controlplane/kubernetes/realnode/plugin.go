// Package realnode is a kube-scheduler plugin for kubedojo's embedded cluster, where one real
// node (kubelet + containerd) sits beside nodes simulated by kwok. It sends a Pod to the real
// node when that node can run it, and leaves placement to the standard plugins otherwise:
//
//   - Filter: the real node is refused for a Pod whose images it cannot get (the node is
//     offline, the image is not in its store, or the Pod asks to pull Always), for a Pod with a
//     PersistentVolumeClaim (volumes are simulated), and for Pods of a sandbox whose lab runs on
//     simulated nodes, unless the Pod selects the real node itself.
//   - Score: the real node wins for Pods that state no placement preference of their own;
//     Pods that do (preferred affinity, pod (anti-)affinity, topology spread) are scored by the
//     standard plugins alone, so the scheduling lessons behave as on any cluster.
package realnode

import (
	"context"
	"fmt"
	"strings"

	"github.com/distribution/reference"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	corelisters "k8s.io/client-go/listers/core/v1"
	fwk "k8s.io/kube-scheduler/framework"
)

const (
	// Name is the plugin's name in the scheduler's configuration.
	Name = "KubedojoRealNode"
	// NodeLabel tells real and simulated nodes apart ("real" or "simulated").
	NodeLabel = "kubedojo.dev/node"
	// RegistryAnnotation on the real node says whether it can pull ("online") or not ("offline").
	RegistryAnnotation = "kubedojo.dev/registry-access"
	// NamespaceAnnotation on a sandbox's namespace: "simulated" keeps its Pods off the real node.
	NamespaceAnnotation = "kubedojo.dev/nodes"
)

// Plugin implements Filter and Score; it reads namespaces through the scheduler's informers.
type Plugin struct {
	namespaces corelisters.NamespaceLister
}

var _ fwk.FilterPlugin = &Plugin{}
var _ fwk.ScorePlugin = &Plugin{}
var _ fwk.EnqueueExtensions = &Plugin{}

// New is the plugin's factory, registered with app.WithPlugin.
func New(_ context.Context, _ runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
	namespaces := h.SharedInformerFactory().Core().V1().Namespaces()
	// Asking for the informer registers it before the scheduler starts the factory.
	namespaces.Informer()
	return &Plugin{namespaces: namespaces.Lister()}, nil
}

func (p *Plugin) Name() string { return Name }

// EventsToRegister: a node that gains an image or comes online may now take a refused Pod.
func (p *Plugin) EventsToRegister(_ context.Context) ([]fwk.ClusterEventWithHint, error) {
	return []fwk.ClusterEventWithHint{{Event: fwk.ClusterEvent{Resource: fwk.Node, ActionType: fwk.Add | fwk.Update}}}, nil
}

func isReal(node *v1.Node) bool { return node.Labels[NodeLabel] == "real" }

func (p *Plugin) simulatedOnly(pod *v1.Pod) bool {
	if pod.Spec.NodeSelector[NodeLabel] == "real" {
		return false
	}
	ns, err := p.namespaces.Get(pod.Namespace)
	return err == nil && ns.Annotations[NamespaceAnnotation] == "simulated"
}

func (p *Plugin) Filter(_ context.Context, _ fwk.CycleState, pod *v1.Pod, nodeInfo fwk.NodeInfo) *fwk.Status {
	node := nodeInfo.Node()
	if node == nil || !isReal(node) {
		return nil
	}
	if p.simulatedOnly(pod) {
		return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, "node(s) are real, and this sandbox's lab runs on simulated nodes")
	}
	if claim := claimOf(pod); claim != "" {
		// kwok provisions the cluster's volumes and they exist only on paper.
		return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, fmt.Sprintf("node(s) are real and volume %q is a PersistentVolumeClaim, which this cluster only simulates", claim))
	}
	if node.Annotations[RegistryAnnotation] != "offline" {
		return nil
	}
	if reason := MissingImage(pod, node); reason != "" {
		return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, reason)
	}
	return nil
}

func claimOf(pod *v1.Pod) string {
	for _, v := range pod.Spec.Volumes {
		if v.PersistentVolumeClaim != nil || v.Ephemeral != nil {
			return v.Name
		}
	}
	return ""
}

// MissingImage names the first image an offline node cannot provide, or returns "".
func MissingImage(pod *v1.Pod, node *v1.Node) string {
	have := map[string]bool{}
	for _, image := range node.Status.Images {
		for _, name := range image.Names {
			have[normalize(name)] = true
		}
	}
	containers := append(append([]v1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...)
	for _, c := range containers {
		if c.ImagePullPolicy == v1.PullAlways {
			return fmt.Sprintf("node(s) are offline and image %s is pulled Always (use a tag and imagePullPolicy: IfNotPresent)", c.Image)
		}
		if !have[normalize(c.Image)] {
			return fmt.Sprintf("node(s) are offline and do not have image %s (kubedojo images list)", c.Image)
		}
	}
	return ""
}

// normalize gives an image reference its full form (docker.io/library/nginx:latest), so that a
// Pod's short name matches what the kubelet reports.
func normalize(image string) string {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return strings.TrimSpace(image)
	}
	return reference.TagNameOnly(named).String()
}

// HasOwnPreferences is true when the Pod asks for a placement of its own: the standard plugins
// then decide alone.
func HasOwnPreferences(pod *v1.Pod) bool {
	if len(pod.Spec.TopologySpreadConstraints) > 0 {
		return true
	}
	a := pod.Spec.Affinity
	if a == nil {
		return false
	}
	if a.NodeAffinity != nil && len(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) > 0 {
		return true
	}
	return a.PodAffinity != nil || a.PodAntiAffinity != nil
}

func (p *Plugin) Score(_ context.Context, _ fwk.CycleState, pod *v1.Pod, nodeInfo fwk.NodeInfo) (int64, *fwk.Status) {
	node := nodeInfo.Node()
	if node == nil || !isReal(node) || HasOwnPreferences(pod) {
		return 0, nil
	}
	return fwk.MaxNodeScore, nil
}

func (p *Plugin) ScoreExtensions() fwk.ScoreExtensions { return nil }
