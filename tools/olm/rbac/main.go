// olm-rbac prints the ServiceAccount, Roles, RoleBindings, ClusterRoles and
// ClusterRoleBindings that OLM generates for a ClusterServiceVersion, as a JSON list.
//
// In OLM these objects are not made by olm-operator: the catalog operator's resolver computes
// them with resolver.RBACForClusterServiceVersion and its InstallPlan creates them, before
// olm-operator checks the CSV's requirements and creates the Deployment. The install test
// (test/integration/olm.test.ts) cannot run the catalog operator (it unpacks bundle images),
// so it calls OLM's own function through this command and creates what it returns, as the
// InstallPlan's steps would.
//
//	usage: olm-rbac < csv.json     (the CSV as stored in the cluster: namespace and uid set)
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/operator-framework/api/pkg/operators/v1alpha1"
	"github.com/operator-framework/operator-lifecycle-manager/pkg/controller/registry/resolver"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func main() {
	var csv v1alpha1.ClusterServiceVersion
	if err := json.NewDecoder(os.Stdin).Decode(&csv); err != nil {
		fail("reading the CSV from stdin: %v", err)
	}
	if csv.GetNamespace() == "" || csv.GetUID() == "" {
		fail("the CSV needs metadata.namespace and metadata.uid (pass it as read back from the cluster)")
	}
	perms, err := resolver.RBACForClusterServiceVersion(&csv)
	if err != nil {
		fail("%v", err)
	}
	names := make([]string, 0, len(perms))
	for n := range perms {
		names = append(names, n)
	}
	sort.Strings(names)

	out := []map[string]interface{}{}
	add := func(gvk schema.GroupVersionKind, o runtime.Object) {
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			fail("%v", err)
		}
		u["apiVersion"], u["kind"] = gvk.GroupVersion().String(), gvk.Kind
		delete(u, "status")
		out = append(out, u)
	}
	rbacGV := schema.GroupVersion{Group: "rbac.authorization.k8s.io", Version: "v1"}
	for _, n := range names {
		p := perms[n]
		if p.ServiceAccount.GetNamespace() == "" {
			p.ServiceAccount.SetNamespace(csv.GetNamespace()) // the InstallPlan creates it in its own namespace
		}
		add(schema.GroupVersionKind{Version: "v1", Kind: "ServiceAccount"}, p.ServiceAccount)
		for _, r := range p.Roles {
			add(rbacGV.WithKind("Role"), r)
		}
		for _, r := range p.RoleBindings {
			add(rbacGV.WithKind("RoleBinding"), r)
		}
		for _, r := range p.ClusterRoles {
			add(rbacGV.WithKind("ClusterRole"), r)
		}
		for _, r := range p.ClusterRoleBindings {
			add(rbacGV.WithKind("ClusterRoleBinding"), r)
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fail("%v", err)
	}
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "olm-rbac: "+format+"\n", args...)
	os.Exit(1)
}
