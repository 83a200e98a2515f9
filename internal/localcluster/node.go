package localcluster

import (
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// KWOKNodeAnnotation marks the nodes the node simulator manages (value "fake"), as the
// kwok tool itself does by default.
const KWOKNodeAnnotation = "kwok.x-k8s.io/node"

// Node is a node for the simulator to manage: capacity and allocatable both
// allocatable, the hostname label, and the zone label when zone is not empty.
func Node(name string, allocatable v1.ResourceList, zone string) *v1.Node {
	labels := map[string]string{v1.LabelHostname: name}
	if zone != "" {
		labels[v1.LabelTopologyZone] = zone
	}
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Labels:      labels,
			Annotations: map[string]string{KWOKNodeAnnotation: "fake"},
		},
		Status: v1.NodeStatus{Capacity: allocatable.DeepCopy(), Allocatable: allocatable.DeepCopy()},
	}
}
