package workload

import (
	"context"
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/conversion"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	podutil "k8s.io/kubernetes/pkg/api/pod"
	"k8s.io/kubernetes/pkg/apis/core"
	k8score "k8s.io/kubernetes/pkg/apis/core/v1"
	"k8s.io/kubernetes/pkg/apis/core/v1/helper/qos"
	corevalidation "k8s.io/kubernetes/pkg/apis/core/validation"
	"k8s.io/kubernetes/pkg/apis/policy"
	k8spolicy "k8s.io/kubernetes/pkg/apis/policy/v1"
	policyvalidation "k8s.io/kubernetes/pkg/apis/policy/validation"
	k8sscheduling "k8s.io/kubernetes/pkg/apis/scheduling/v1"
	schedulingvalidation "k8s.io/kubernetes/pkg/apis/scheduling/validation"
	"k8s.io/kubernetes/plugin/pkg/admission/priority"
)

// apiServer does to a new object what kube-apiserver does when it is created, with
// upstream's own code: defaulting, the Priority admission plugin (a pod's priority and
// preemption policy from its PriorityClass, or from the globalDefault class), the pod
// strategy's status (phase Pending, the QoS class), and validation. A Workload's
// objects are therefore exactly what the scheduler would see in a cluster, and a
// scenario the API server would refuse is refused.
//
// One difference: a pod's spec.schedulerName is left empty when it was not set, where
// the API server would default it to default-scheduler. The engine gives such pods the
// scheduler name of the profile under test.
type apiServer struct {
	priority *priority.Plugin
	classes  cache.Indexer
}

// newAPIServer knows the given PriorityClasses.
func newAPIServer(classes []*schedulingv1.PriorityClass) (*apiServer, error) {
	// The informer is never started: the plugin only reads its indexer, filled here.
	f := informers.NewSharedInformerFactory(nil, 0)
	p := priority.NewPlugin()
	p.SetExternalKubeInformerFactory(f)
	indexer := f.Scheduling().V1().PriorityClasses().Informer().GetIndexer()
	for _, pc := range classes {
		if err := indexer.Add(pc); err != nil {
			return nil, err
		}
	}
	return &apiServer{priority: p, classes: indexer}, nil
}

// createPod defaults, admits and validates p in place, as a pod create request.
func (a *apiServer) createPod(p *v1.Pod) field.ErrorList {
	schedulerName := p.Spec.SchedulerName
	k8score.SetObjectDefaults_Pod(p)
	p.Spec.SchedulerName = schedulerName

	var in core.Pod
	if err := k8score.Convert_v1_Pod_To_core_Pod(p, &in, nil); err != nil {
		return field.ErrorList{field.InternalError(nil, err)}
	}
	attrs := admission.NewAttributesRecord(&in, nil, core.Kind("Pod").WithVersion("v1"), p.Namespace, p.Name,
		core.Resource("pods").WithVersion("v1"), "", admission.Create, &metav1.CreateOptions{}, false, nil)
	if err := a.priority.Admit(context.Background(), attrs, nil); err != nil {
		return field.ErrorList{field.Forbidden(field.NewPath("spec", "priorityClassName"), admissionMessage(err))}
	}
	p.Spec.PriorityClassName = in.Spec.PriorityClassName
	p.Spec.Priority = in.Spec.Priority
	if in.Spec.PreemptionPolicy != nil {
		policy := v1.PreemptionPolicy(*in.Spec.PreemptionPolicy)
		p.Spec.PreemptionPolicy = &policy
	}
	p.Status.Phase = v1.PodPending
	p.Status.QOSClass = qos.ComputePodQOS(p)

	opts := podutil.GetValidationOptionsFromPodSpecAndMeta(&in.Spec, nil, &in.ObjectMeta, nil)
	return corevalidation.ValidatePodCreate(&in, opts)
}

// admissionMessage is an admission error without the "pods "x" is forbidden: " the
// API server puts in front of it: the caller names the pod.
func admissionMessage(err error) string {
	if s, ok := err.(interface{ Status() metav1.Status }); ok {
		if d := s.Status().Details; d != nil && len(d.Causes) > 0 {
			return d.Causes[0].Message
		}
	}
	msg := err.Error()
	if _, after, ok := strings.Cut(msg, "is forbidden: "); ok {
		return after
	}
	return msg
}

// checkPod checks that p is what createPod makes of it: admitted with the priority
// its class gives, its QoS class recorded, valid. It does not change p.
func (a *apiServer) checkPod(p *v1.Pod) field.ErrorList {
	c := p.DeepCopy()
	c.Spec.Priority, c.Spec.PreemptionPolicy = nil, nil
	if errs := a.createPod(c); len(errs) > 0 {
		return errs
	}
	var errs field.ErrorList
	if !equalInt32(p.Spec.Priority, c.Spec.Priority) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "priority"), deref(p.Spec.Priority),
			fmt.Sprintf("must be %d, what PriorityClass %q gives", deref(c.Spec.Priority), c.Spec.PriorityClassName)))
	}
	if c.Spec.PreemptionPolicy != nil && (p.Spec.PreemptionPolicy == nil || *p.Spec.PreemptionPolicy != *c.Spec.PreemptionPolicy) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "preemptionPolicy"), p.Spec.PreemptionPolicy,
			fmt.Sprintf("must be %s, what PriorityClass %q gives", *c.Spec.PreemptionPolicy, c.Spec.PriorityClassName)))
	}
	if p.Status.QOSClass != c.Status.QOSClass {
		errs = append(errs, field.Invalid(field.NewPath("status", "qosClass"), p.Status.QOSClass,
			fmt.Sprintf("must be %s, the QoS class of the pod's requests and limits", c.Status.QOSClass)))
	}
	return errs
}

func equalInt32(a, b *int32) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func deref(p *int32) any {
	if p == nil {
		return nil
	}
	return *p
}

// createNode defaults (allocatable from capacity) and validates n in place.
func createNode(n *v1.Node) field.ErrorList {
	k8score.SetObjectDefaults_Node(n)
	return checkNode(n)
}

// validateAs converts a v1 object to its internal API type, which upstream validation
// takes, and validates it.
func validateAs[V, In any](obj *V, convert func(*V, *In, conversion.Scope) error, validate func(*In) field.ErrorList) field.ErrorList {
	var in In
	if err := convert(obj, &in, nil); err != nil {
		return field.ErrorList{field.InternalError(nil, err)}
	}
	return validate(&in)
}

// checkNode validates n as the API server would on create.
func checkNode(n *v1.Node) field.ErrorList {
	return validateAs(n, k8score.Convert_v1_Node_To_core_Node, corevalidation.ValidateNode)
}

// createPriorityClass defaults (preemptionPolicy PreemptLowerPriority) and validates pc.
func createPriorityClass(pc *schedulingv1.PriorityClass) field.ErrorList {
	k8sscheduling.SetObjectDefaults_PriorityClass(pc)
	return checkPriorityClass(pc)
}

func checkPriorityClass(pc *schedulingv1.PriorityClass) field.ErrorList {
	return validateAs(pc, k8sscheduling.Convert_v1_PriorityClass_To_scheduling_PriorityClass, schedulingvalidation.ValidatePriorityClass)
}

// checkPDB validates a PodDisruptionBudget as the API server would on create.
func checkPDB(pdb *policyv1.PodDisruptionBudget) field.ErrorList {
	return validateAs(pdb, k8spolicy.Convert_v1_PodDisruptionBudget_To_policy_PodDisruptionBudget,
		func(in *policy.PodDisruptionBudget) field.ErrorList {
			return policyvalidation.ValidatePodDisruptionBudget(in, policyvalidation.PodDisruptionBudgetValidationOptions{})
		})
}

// checkNamespace validates a Namespace as the API server would on create.
func checkNamespace(ns *v1.Namespace) field.ErrorList {
	return validateAs(ns, k8score.Convert_v1_Namespace_To_core_Namespace, corevalidation.ValidateNamespace)
}

// systemPriorityClasses are the classes every cluster has (system-node-critical,
// system-cluster-critical): the API server creates them itself.
func systemPriorityClasses() []*schedulingv1.PriorityClass {
	classes := k8sscheduling.SystemPriorityClasses()
	for i, pc := range classes {
		classes[i] = pc.DeepCopy()
		k8sscheduling.SetObjectDefaults_PriorityClass(classes[i])
	}
	return classes
}
