// Package harness is what berth's API-server tests share on top of
// internal/localcluster, the control plane itself: builders of nodes, pods per QoS class,
// PriorityClasses and PDBs on upstream's st.Make* wrappers; waits for conditions and
// events; pod creation that waits out PriorityClass admission lag; the scheduler run in
// the test process; kustomize; and RunTests, one cluster per test package. Nothing
// outside test/ imports it.
package harness
