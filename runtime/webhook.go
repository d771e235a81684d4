package runtime

import (
	"fmt"
	"net/url"
	"strings"
)

// check refuses a webhook URL that could never be POSTed to, when New
// runs: before, a malformed one (e.g. "127.0.0.1:9000/alerts", without
// "http://") was accepted and failed only at the first alert, retried. An
// empty URL (no webhook) is fine.
func (c WebhookConfig) check() error {
	if c.URL == "" {
		return nil
	}
	u, err := url.Parse(c.URL)
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Opaque == "" {
		return nil
	}
	example := "http://127.0.0.1:9000/alerts"
	if !strings.Contains(c.URL, "://") && !strings.HasPrefix(c.URL, "/") && !strings.ContainsAny(c.URL, " \t\r\n") {
		example = "http://" + c.URL
	}
	return fmt.Errorf("Health.Webhook.URL %q: want an absolute http:// or https:// URL with a host, e.g. %s", c.URL, example)
}
