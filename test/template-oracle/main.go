// Test-only tool: the template oracle. Renders templates with Go's own text/template ("go" mode) or
// with consul-template's exported template API ("consul" mode, the version Vault 1.15.6's Agent is
// built with), so the TypeScript engine and functions can be compared with the real thing.
//
// Input on stdin: one case object or a JSON array of them:
//
//	{ "mode": "go" | "consul", "name": "t", "template": "...", "data": <json>,
//	  "leftDelim": "", "rightDelim": "", "missingKey": "default" | "zero" | "error", "env": {"K": "V"} }
//
// Output on stdout: one result per case (an array when the input was one):
//
//	{ "output": "..." } or { "error": "<Go's error text>" }
//
// "go" mode: data decoded with json.Decoder.UseNumber (as Vault's Go client decodes responses), the
// template named `name`, Option("missingkey=…") when given, Delims when given, and a few test
// functions (all `func(args ...interface{})`, as the engine sees a caller's functions) whose
// TypeScript twins live in the engine's tests: oracleEcho returns its arguments as []interface{},
// oracleFail fails with fmt.Sprint(args...), oracleNil returns nil, oracleSecret returns a
// consul-template *dependency.Secret whose Data is its first argument (when a map); oracleRepeat
// (string, int) and oracleFlag (bool, ...interface{}) have typed parameters; oracleStrings and
// oracleStringMap return a []string and a map[string]string; oraclePem a dependency.PemEncoded.
// "consul" mode: template.NewTemplate + Execute with an empty Brain and `env` as the environment
// (consul-template parses with the name "", executes with nil dot, missingkey=zero unless
// missingKey is "error"); `data`, when given, is reachable as the function `oracleData`.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	gotemplate "text/template"

	"github.com/hashicorp/consul-template/dependency"
	cttemplate "github.com/hashicorp/consul-template/template"
)

var testFuncs = gotemplate.FuncMap{
	"oracleEcho": func(args ...interface{}) interface{} { return args },
	"oracleFail": func(args ...interface{}) (interface{}, error) { return nil, errors.New(fmt.Sprint(args...)) },
	"oracleNil":  func(args ...interface{}) interface{} { return nil },
	// Typed parameters: the engine checks calls against a declared signature (goParams) as Go does.
	"oracleRepeat": func(s string, n int) string { return strings.Repeat(s, n) },
	"oracleFlag":   func(b bool, rest ...interface{}) string { return fmt.Sprint(b, len(rest)) },
	// A struct value with a method (consul-template's PemEncoded has Data() returning itself).
	"oraclePem": func(args ...interface{}) dependency.PemEncoded {
		return dependency.PemEncoded{Cert: "cert", Key: "key", CA: "ca"}
	},
	// Typed containers: []string and map[string]string results.
	"oracleStrings": func(args ...interface{}) []string {
		out := []string{}
		for _, a := range args {
			out = append(out, fmt.Sprint(a))
		}
		return out
	},
	"oracleStringMap": func(args ...interface{}) map[string]string {
		out := map[string]string{}
		for i := 0; i+1 < len(args); i += 2 {
			out[fmt.Sprint(args[i])] = fmt.Sprint(args[i+1])
		}
		return out
	},
	"oracleSecret": func(args ...interface{}) *dependency.Secret {
		s := &dependency.Secret{RequestID: "req-1", LeaseDuration: 2764800}
		if len(args) > 0 {
			if m, ok := args[0].(map[string]interface{}); ok {
				s.Data = m
			}
		}
		return s
	},
}

type oracleCase struct {
	Mode       string            `json:"mode"`
	Name       string            `json:"name"`
	Template   string            `json:"template"`
	Data       json.RawMessage   `json:"data"`
	LeftDelim  string            `json:"leftDelim"`
	RightDelim string            `json:"rightDelim"`
	MissingKey string            `json:"missingKey"`
	Env        map[string]string `json:"env"`
}

type oracleResult struct {
	Output *string `json:"output,omitempty"`
	Error  *string `json:"error,omitempty"`
}

func decodeData(raw json.RawMessage) (interface{}, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v interface{}
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func renderGo(c oracleCase) (string, error) {
	data, err := decodeData(c.Data)
	if err != nil {
		return "", fmt.Errorf("oracle: bad data: %w", err)
	}
	t := gotemplate.New(c.Name).Funcs(testFuncs)
	t.Delims(c.LeftDelim, c.RightDelim)
	if c.MissingKey != "" {
		t.Option("missingkey=" + c.MissingKey)
	}
	if _, err := t.Parse(c.Template); err != nil {
		return "", err
	}
	var out bytes.Buffer
	err = t.Execute(&out, data)
	// Go keeps what was written before an execution error; the error is what a caller sees.
	return out.String(), err
}

func renderConsul(c oracleCase) (string, error) {
	data, err := decodeData(c.Data)
	if err != nil {
		return "", fmt.Errorf("oracle: bad data: %w", err)
	}
	in := &cttemplate.NewTemplateInput{
		Contents:      c.Template,
		LeftDelim:     c.LeftDelim,
		RightDelim:    c.RightDelim,
		ErrMissingKey: c.MissingKey == "error",
	}
	if data != nil {
		in.ExtFuncMap = map[string]interface{}{"oracleData": func() interface{} { return data }}
	}
	t, err := cttemplate.NewTemplate(in)
	if err != nil {
		return "", err
	}
	keys := make([]string, 0, len(c.Env))
	for k := range c.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	env := make([]string, 0, len(keys))
	for _, k := range keys {
		env = append(env, k+"="+c.Env[k])
	}
	res, err := t.Execute(&cttemplate.ExecuteInput{Brain: cttemplate.NewBrain(), Env: env})
	if err != nil {
		return "", err
	}
	return string(res.Output), nil
}

func run(c oracleCase) (res oracleResult) {
	defer func() {
		if r := recover(); r != nil {
			msg := fmt.Sprintf("oracle: panic: %v", r)
			res = oracleResult{Error: &msg}
		}
	}()
	var out string
	var err error
	switch c.Mode {
	case "go", "":
		out, err = renderGo(c)
	case "consul":
		out, err = renderConsul(c)
	default:
		err = fmt.Errorf("oracle: unknown mode %q", c.Mode)
	}
	if err != nil {
		msg := err.Error()
		return oracleResult{Error: &msg}
	}
	return oracleResult{Output: &out}
}

func main() {
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	trimmed := bytes.TrimSpace(input)
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var cases []oracleCase
		if err := json.Unmarshal(trimmed, &cases); err != nil {
			fmt.Fprintln(os.Stderr, "oracle: bad input:", err)
			os.Exit(2)
		}
		results := make([]oracleResult, len(cases))
		for i, c := range cases {
			results[i] = run(c)
		}
		_ = enc.Encode(results)
		return
	}
	var c oracleCase
	if err := json.Unmarshal(trimmed, &c); err != nil {
		fmt.Fprintln(os.Stderr, "oracle: bad input:", err)
		os.Exit(2)
	}
	_ = enc.Encode(run(c))
}
