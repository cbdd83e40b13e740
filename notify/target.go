package notify

import (
	"encoding/json"
	"log/slog"
	"strings"
)

// WebhookType says which payload a webhook receives.
type WebhookType string

// The webhook types meshmon can deliver to.
const (
	// TypeDiscord receives Discord embeds (nodeconf's discord_webhook).
	TypeDiscord WebhookType = "discord"
	// TypeJSON receives the generic JSONPayload (nodeconf's webhook), for
	// Slack-compatible and self-hosted receivers.
	TypeJSON WebhookType = "json"
)

// Webhook is one configured webhook: a local name, its type and its URL.
//
// The URL is a secret (it carries the webhook's token): it is kept in an
// unexported field and every way of printing a Webhook — fmt's verbs, slog
// and JSON — shows only the name and type. Only Sender reads the URL, to post.
type Webhook struct {
	// Name is the webhook's name in nodeconf ("default" for a single URL).
	// It is local to this node and may differ between cluster members.
	Name string
	// Type selects the payload format.
	Type WebhookType

	// url is behind a pointer so that even a raw print of an enclosing value
	// (fmt cannot call String on unexported fields) shows an address only.
	url *string
}

// NewWebhook returns a webhook. Surrounding white space is trimmed from url.
func NewWebhook(name string, typ WebhookType, url string) Webhook {
	u := strings.TrimSpace(url)
	return Webhook{Name: name, Type: typ, url: &u}
}

// secretURL returns the URL; only the Sender and ClusterHash use it.
func (w Webhook) secretURL() string {
	if w.url == nil {
		return ""
	}
	return *w.url
}

// String returns "<type> webhook <name>"; never the URL.
func (w Webhook) String() string { return string(w.Type) + " webhook " + w.Name }

// GoString is String, so %#v does not print the URL either.
func (w Webhook) GoString() string { return w.String() }

// LogValue implements slog.LogValuer: the name and type, never the URL.
func (w Webhook) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", w.Name), slog.String("type", string(w.Type)))
}

// MarshalJSON encodes the name and type only.
func (w Webhook) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Name string      `json:"name"`
		Type WebhookType `json:"type"`
	}{w.Name, w.Type})
}
