// Command kstatus prints what Flux's health checks make of Kubernetes objects: it reads JSON
// objects from stdin (one array, or a stream of objects) and writes one JSON line per object,
// {"status": ..., "message": ...}, computed by the kstatus library Flux's kustomize-controller
// uses (github.com/fluxcd/cli-utils/pkg/kstatus/status, at the version tools/flux/go.mod pins).
// Test-only: the integration suite runs it on the Memcached objects the operator wrote.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

type result struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "kstatus:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	dec := json.NewDecoder(in)
	enc := json.NewEncoder(out)
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		// apimachinery's decoder keeps whole numbers as int64, as unstructured objects need.
		var objects []map[string]any
		if len(raw) > 0 && raw[0] == '[' {
			if err := utiljson.Unmarshal(raw, &objects); err != nil {
				return err
			}
		} else {
			var o map[string]any
			if err := utiljson.Unmarshal(raw, &o); err != nil {
				return err
			}
			objects = append(objects, o)
		}
		for _, o := range objects {
			res, err := status.Compute(&unstructured.Unstructured{Object: o})
			if err != nil {
				return fmt.Errorf("%v: %w", o["metadata"], err)
			}
			if err := enc.Encode(result{Status: res.Status.String(), Message: res.Message}); err != nil {
				return err
			}
		}
	}
}
