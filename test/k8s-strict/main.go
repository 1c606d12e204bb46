// Test-only tool: decodes Kubernetes manifests strictly into the Kubernetes API's own Go types
// (k8s.io/api), the way the API server's strict field validation does: an unknown or misspelled
// field, a wrong type or a duplicate key is an error. Usage: k8s-strict FILE...; prints one JSON
// line per document ({"file","kind","name","checked","error"}) and exits 1 when any failed.
// Kinds it has no type for are reported with checked=false.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"
)

type result struct {
	File    string `json:"file"`
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Checked bool   `json:"checked"`
	Error   string `json:"error,omitempty"`
}

func target(apiVersion, kind string) any {
	switch apiVersion + "/" + kind {
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}
	case "v1/Secret":
		return &corev1.Secret{}
	case "v1/Service":
		return &corev1.Service{}
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}
	case "networking.k8s.io/v1/NetworkPolicy":
		return &networkingv1.NetworkPolicy{}
	}
	return nil
}

// documents splits a YAML stream on document separators (lines that are exactly "---").
func documents(data []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if strings.TrimRight(line, "\r\n") == "---" {
			docs = append(docs, append([]byte(nil), cur.Bytes()...))
			cur.Reset()
			continue
		}
		cur.WriteString(line)
	}
	return append(docs, cur.Bytes())
}

func main() {
	failed := false
	out := json.NewEncoder(os.Stdout)
	for _, file := range os.Args[1:] {
		data, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		for _, doc := range documents(data) {
			var meta struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Metadata   struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			r := result{File: file}
			if err := yaml.Unmarshal(doc, &meta); err != nil {
				r.Error = err.Error()
			} else if meta.Kind == "" {
				continue // a comment-only document, or not an object
			} else {
				r.Kind, r.Name = meta.Kind, meta.Metadata.Name
				if t := target(meta.APIVersion, meta.Kind); t != nil {
					r.Checked = true
					if err := yaml.UnmarshalStrict(doc, t); err != nil {
						r.Error = err.Error()
					}
				}
			}
			if r.Error != "" {
				failed = true
			}
			_ = out.Encode(r)
		}
	}
	if failed {
		os.Exit(1)
	}
}
