// A Go orchestrator asking the slicegate decision service (`slicegate
// serve`) over HTTP: one placement through /v1/decisions, and the same
// question through the OpenID AuthZEN API (/access/v1/evaluation). No
// component runtime for Go embeds WIT components in-process today, so Go
// hosts ask the service; see host-examples/go/README.md.
//
//	go run . -url http://127.0.0.1:8080 request.json
//
// Exit status: 0 allowed, 2 denied, 1 no decision (unreachable, not
// ready, refused request). Any answer but an explicit allow is a deny.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// Decision is what /v1/decisions answers; Allowed is the only field to enforce.
type Decision struct {
	Allowed     bool `json:"allowed"`
	Determining []struct {
		PolicyID string `json:"policyId"`
		Permit   bool   `json:"permit"`
		Reason   string `json:"reason"`
	} `json:"determining"`
	Failure *struct {
		Kind   string `json:"kind"`
		Detail any    `json:"detail"`
	} `json:"failure"`
}

// Answer is the body of a /v1/decisions response.
type Answer struct {
	RequestID string `json:"requestId"`
	Bundle    struct {
		Name     string `json:"name"`
		Revision uint64 `json:"revision"`
	} `json:"bundle"`
	Decision Decision `json:"decision"`
}

// AuthZENAnswer is what /access/v1/evaluation answers.
type AuthZENAnswer struct {
	Decision bool           `json:"decision"`
	Context  map[string]any `json:"context"`
}

var client = &http.Client{Timeout: 30 * time.Second}

func post(url string, body any, out any) error {
	payload, err := json.Marshal(body)
	if err != nil {
		return err
	}
	resp, err := client.Post(url, "application/json", bytes.NewReader(payload))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	// 200 is a decision; 422 a refused request that is still a deny with reasons.
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnprocessableEntity {
		return fmt.Errorf("%s: HTTP %d: %s", url, resp.StatusCode, bytes.TrimSpace(data))
	}
	return json.Unmarshal(data, out)
}

// authzen maps a placement request onto an AuthZEN evaluation.
func authzen(req map[string]any) map[string]any {
	equipment, _ := req["equipment"].(map[string]any)
	slice, _ := req["slice"].(map[string]any)
	props := map[string]any{}
	for k, v := range slice {
		if k != "id" {
			props[k] = v
		}
	}
	props["site"], props["network"] = req["site"], req["network"]
	subject := map[string]any{}
	for k, v := range equipment {
		if k != "id" {
			subject[k] = v
		}
	}
	ctx := map[string]any{}
	for _, k := range []string{"peer", "remote", "at"} {
		if v, ok := req[k]; ok {
			ctx[k] = v
		}
	}
	return map[string]any{
		"subject":  map[string]any{"type": "equipment", "id": equipment["id"], "properties": subject},
		"action":   map[string]any{"name": req["operation"]},
		"resource": map[string]any{"type": "slice", "id": slice["id"], "properties": props},
		"context":  ctx,
	}
}

func main() {
	url := flag.String("url", "http://127.0.0.1:8080", "the decision service")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: client [-url URL] REQUEST.json")
		os.Exit(1)
	}
	raw, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
	var request map[string]any
	if err := json.Unmarshal(raw, &request); err != nil {
		fmt.Fprintln(os.Stderr, "error: the request is not JSON:", err)
		os.Exit(1)
	}
	var decided Answer
	if err := post(*url+"/v1/decisions", request, &decided); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
	decision := decided.Decision
	var answer AuthZENAnswer
	if err := post(*url+"/access/v1/evaluation", authzen(request), &answer); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
	verdict := map[bool]string{true: "ALLOW", false: "DENY"}
	fmt.Printf("/v1/decisions: %s (bundle %s revision %d)\n", verdict[decision.Allowed], decided.Bundle.Name, decided.Bundle.Revision)
	for _, p := range decision.Determining {
		fmt.Printf("  %s: %s\n", p.PolicyID, p.Reason)
	}
	if decision.Failure != nil {
		fmt.Printf("  failure: %s\n", decision.Failure.Kind)
	}
	fmt.Printf("/access/v1/evaluation: %s\n", verdict[answer.Decision])
	if decision.Allowed != answer.Decision {
		fmt.Fprintln(os.Stderr, "error: the two APIs disagree")
		os.Exit(1)
	}
	if !decision.Allowed {
		os.Exit(2)
	}
}
