package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// goodProd is a production environment that passes every check.
func goodProd() map[string]string {
	return map[string]string{
		"BASE_URL":               "https://tickets.example",
		"PAYMENTS":               "stripe",
		"STRIPE_SECRET_KEY":      "sk_live_x",
		"STRIPE_PUBLISHABLE_KEY": "pk_live_x",
		"SECRET_KEY":             "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		"METRICS_TOKEN":          "k3Jd9w2LqPz8Rt5Vx",
	}
}

func TestProductionRefusesDevDefaults(t *testing.T) {
	tests := []struct {
		change map[string]string
		name   string
	}{
		{map[string]string{"PAYMENTS": "test"}, "PAYMENTS"},
		{map[string]string{"SECRET_KEY": ""}, "SECRET_KEY"},
		{map[string]string{"SECRET_KEY": "short"}, "SECRET_KEY"},
		{map[string]string{"SECRET_KEY": "insecure-dev-only-secret-change-me-now"}, "SECRET_KEY"},
		{map[string]string{"SECRET_KEY": strings.Repeat("cd", 32)}, "SECRET_KEY"},
		{map[string]string{"SECRET_KEY": strings.Repeat("0123456789abcdef", 4)}, "SECRET_KEY"},
		{map[string]string{"SECRET_KEY": "my-production-secret-key-please-do-not-share"}, "SECRET_KEY"},
		{map[string]string{"METRICS_TOKEN": ""}, "METRICS_TOKEN"},
		{map[string]string{"METRICS_TOKEN": "abc"}, "METRICS_TOKEN"},
		// BOXOFFICE_ENV=production applies the checks without https.
		{map[string]string{"BASE_URL": "http://10.0.0.5:8080", "BOXOFFICE_ENV": "production", "PAYMENTS": "test"}, "PAYMENTS"},
		{map[string]string{"BOXOFFICE_ENV": "prod"}, "BOXOFFICE_ENV"},
	}
	for _, tt := range tests {
		env := goodProd()
		for k, v := range tt.change {
			env[k] = v
		}
		c, err := loadConfig(func(k string) string { return env[k] }, 2)
		if err == nil {
			err = c.productionChecks()
		}
		if err == nil || !strings.Contains(err.Error(), tt.name) {
			t.Errorf("change %v: err = %v, want one naming %s", tt.change, err, tt.name)
		}
		if err != nil && env["SECRET_KEY"] != "" && strings.Contains(err.Error(), env["SECRET_KEY"]) {
			t.Errorf("the error shows the secret: %v", err)
		}
	}
	env := goodProd()
	c, err := loadConfig(func(k string) string { return env[k] }, 2)
	if err != nil || c.productionChecks() != nil || !c.Production {
		t.Errorf("a complete production config: %v %v production=%v", err, c.productionChecks(), c.Production)
	}
	// Development stays as easy as before: no variable at all.
	dev, err := loadConfig(func(string) string { return "" }, 2)
	if err != nil || dev.Production || dev.productionChecks() != nil {
		t.Errorf("dev defaults: %v production=%v", err, dev.Production)
	}
}

// TestServeRefusesProductionWithDevDefaults: the check is wired into serve,
// which exits before opening any connection.
func TestServeRefusesProductionWithDevDefaults(t *testing.T) {
	env := goodProd()
	env["PAYMENTS"] = "test"
	env["DATABASE_URL"] = "postgres://nobody@127.0.0.1:1/none"
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"serve"}, func(k string) string { return env[k] }, &out, &errb); code == 0 ||
		!strings.Contains(errb.String(), "PAYMENTS") {
		t.Errorf("serve: exit %d, stderr %q; want a refusal naming PAYMENTS", code, errb.String())
	}
	// migrate is not serve: an operator may run it with less.
	dev := goodProd()
	dev["METRICS_TOKEN"] = ""
	c, err := loadConfig(func(k string) string { return dev[k] }, 2)
	if err != nil {
		t.Errorf("loadConfig applies the production checks: %v", err)
	}
	_ = c
}

// TestComposeCarriesNoSecret: docker-compose.yml gives the app no default
// SECRET_KEY (compose refuses to start without one) and passes through what
// production needs and serve checks: STRIPE_PUBLISHABLE_KEY, METRICS_TOKEN
// and BOXOFFICE_ENV. make check-deploy loads the file; this reads what the
// app service is given.
func TestComposeCarriesNoSecret(t *testing.T) {
	raw, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var app []string // the app service's lines
	in := false
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "   ") && strings.TrimSpace(line) != "" {
			in = strings.TrimSpace(line) == "app:"
			continue
		}
		if in && !strings.HasPrefix(strings.TrimSpace(line), "#") {
			app = append(app, strings.TrimSpace(line))
		}
	}
	env := map[string]string{}
	for _, l := range app {
		if k, v, ok := strings.Cut(l, ":"); ok && k == strings.ToUpper(k) && !strings.ContainsAny(k, " -") {
			env[k] = strings.TrimSpace(v)
		}
	}
	if len(env) == 0 {
		t.Fatal("docker-compose.yml: no app service environment found")
	}
	if v := env["SECRET_KEY"]; !strings.HasPrefix(v, `"${SECRET_KEY:?`) {
		t.Errorf("SECRET_KEY is %s, want it required (${SECRET_KEY:?...}) with no default", v)
	}
	for _, k := range []string{"STRIPE_PUBLISHABLE_KEY", "METRICS_TOKEN", "BOXOFFICE_ENV"} {
		v, ok := env[k]
		if !ok {
			t.Errorf("the app is not given %s", k)
		} else if v != "" && !strings.HasPrefix(v, `"${`+k) {
			t.Errorf("%s is %s, want it passed through from the host", k, v)
		}
	}
}
