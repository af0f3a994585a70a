// olm-validate checks an Operator Lifecycle Manager bundle directory with the validators of
// github.com/operator-framework/api: the default bundle suite that `operator-sdk bundle
// validate` always runs (CSV, CRD, bundle), plus the OperatorHub suite (operatorhub v2,
// standard capabilities and categories, removed APIs for -k8s-version) and good practices,
// which `operator-sdk bundle validate --select-optional suite=operatorframework` adds.
//
// It prints one JSON document: {"errors": [...], "warnings": [...]} with each entry's
// validator, object, type, field and detail, and exits 1 when there is any error (2 when
// the bundle cannot be loaded at all).
//
//	usage: olm-validate [-k8s-version 1.34] BUNDLE_DIR
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/operator-framework/api/pkg/manifests"
	"github.com/operator-framework/api/pkg/validation"
	"github.com/operator-framework/api/pkg/validation/errors"
	interfaces "github.com/operator-framework/api/pkg/validation/interfaces"
)

type finding struct {
	Suite  string `json:"suite"`
	Object string `json:"object"`
	Type   string `json:"type"`
	Field  string `json:"field,omitempty"`
	Detail string `json:"detail"`
}

type report struct {
	Bundle   string    `json:"bundle"`
	CSV      string    `json:"csv"`
	Package  string    `json:"package"`
	Channels []string  `json:"channels"`
	Default  string    `json:"defaultChannel"`
	Suites   []string  `json:"suites"`
	Errors   []finding `json:"errors"`
	Warnings []finding `json:"warnings"`
}

type suite struct {
	name       string
	validators interfaces.Validators
}

func main() {
	k8sVersion := flag.String("k8s-version", "", "Kubernetes version the removed-APIs checks assume (e.g. 1.34)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: olm-validate [-k8s-version X.Y] BUNDLE_DIR")
		os.Exit(2)
	}
	dir := flag.Arg(0)

	bundle, err := manifests.GetBundleFromDir(dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "olm-validate: cannot load bundle %s: %v\n", dir, err)
		os.Exit(2)
	}
	if bundle.CSV == nil {
		fmt.Fprintf(os.Stderr, "olm-validate: no ClusterServiceVersion in %s\n", dir)
		os.Exit(2)
	}

	suites := []suite{
		{"default", validation.DefaultBundleValidators},
		{"operatorhub", interfaces.Validators{
			validation.OperatorHubV2Validator,
			validation.StandardCapabilitiesValidator,
			validation.StandardCategoriesValidator,
			validation.AlphaDeprecatedAPIsValidator,
		}},
		{"good-practices", interfaces.Validators{validation.GoodPracticesValidator}},
	}

	objs := bundle.ObjectsToValidate()
	if *k8sVersion != "" {
		// The optional-values convention of the library: a map[string]string among the objects.
		objs = append(objs, map[string]string{"k8s-version": *k8sVersion})
	}

	out := report{
		Bundle: dir, CSV: bundle.CSV.GetName(), Package: bundle.Package, Channels: bundle.Channels,
		Default: bundle.DefaultChannel, Errors: []finding{}, Warnings: []finding{},
	}
	for _, s := range suites {
		out.Suites = append(out.Suites, s.name)
		for _, result := range s.validators.Validate(objs...) {
			for _, e := range result.Errors {
				out.Errors = append(out.Errors, toFinding(s.name, result.Name, e))
			}
			for _, w := range result.Warnings {
				out.Warnings = append(out.Warnings, toFinding(s.name, result.Name, w))
			}
		}
	}

	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintf(os.Stderr, "olm-validate: %v\n", err)
		os.Exit(2)
	}
	if len(out.Errors) > 0 {
		os.Exit(1)
	}
}

func toFinding(suiteName, object string, e errors.Error) finding {
	return finding{Suite: suiteName, Object: object, Type: string(e.Type), Field: e.Field, Detail: e.Detail}
}
