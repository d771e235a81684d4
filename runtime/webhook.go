package runtime

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/exo-actors/exo-actors/internal/errjoin"
)

// check refuses a webhook URL that could never be POSTed to, when New
// runs: before, a malformed one (e.g. "127.0.0.1:9000/alerts", without
// "http://") was accepted and failed only at the first alert, retried. An
// empty URL (no webhook) is fine.
func (c WebhookConfig) check() error {
	if err := CheckWebhookURL(c.URL); err != nil {
		return errjoin.Tag(ErrInvalidConfig, fmt.Errorf("Health.Webhook.URL %w", err))
	}
	return nil
}

// CheckWebhookURL is New's check of an alert webhook's URL, for a host
// that takes it from its own configuration: nil for an absolute http:// or
// https:// URL with a host, or for "" (no webhook); otherwise an error
// that quotes the URL and gives an example of the right form.
func CheckWebhookURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Opaque == "" {
		return nil
	}
	example := "http://127.0.0.1:9000/alerts"
	if !strings.Contains(raw, "://") && !strings.HasPrefix(raw, "/") && !strings.ContainsAny(raw, " \t\r\n") {
		example = "http://" + raw
	}
	return fmt.Errorf("%q: want an absolute http:// or https:// URL with a host, e.g. %s", raw, example)
}
