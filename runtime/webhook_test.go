package runtime_test

import (
	"context"
	"strings"
	"testing"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestNewRefusesMalformedWebhookURL: a webhook URL that can never be POSTed
// to is refused by New, naming the field and showing an example; before, it
// was accepted and failed only at the first alert ("first path segment in
// URL cannot contain colon", retried 3 times).
func TestNewRefusesMalformedWebhookURL(t *testing.T) {
	for _, c := range []struct{ url, want string }{
		{"127.0.0.1:19481/alerts", `Health.Webhook.URL "127.0.0.1:19481/alerts": want an absolute http:// or https:// URL with a host, e.g. http://127.0.0.1:19481/alerts`},
		{"localhost:9000/alerts", `Health.Webhook.URL "localhost:9000/alerts": want an absolute http:// or https:// URL with a host, e.g. http://localhost:9000/alerts`},
		{"/alerts", `Health.Webhook.URL "/alerts": want an absolute http:// or https:// URL with a host, e.g. http://127.0.0.1:9000/alerts`},
		{"ftp://example.com/alerts", `Health.Webhook.URL "ftp://example.com/alerts": want an absolute http:// or https:// URL with a host, e.g. http://127.0.0.1:9000/alerts`},
		{"http:///alerts", `e.g. http://127.0.0.1:9000/alerts`},
		{"http://exa mple.com/", `Health.Webhook.URL "http://exa mple.com/": want an absolute`},
	} {
		cfg := config()
		cfg.Health.Webhook.URL = c.url
		sys, err := exo.New(cfg)
		if err == nil {
			_, _ = sys.Shutdown(context.Background())
			t.Errorf("URL %q accepted", c.url)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("URL %q: error %q, want one line with %q", c.url, err, c.want)
		}
	}
	cfg := config()
	cfg.Health.Webhook.URL = "https://alerts.example.com:8443/exo?team=infra"
	newSystem(t, cfg) // accepted
}
