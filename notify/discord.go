package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/meshmon/meshmon/health"
)

// Discord's limits on an execute-webhook request, in characters.
const (
	// DiscordMaxEmbeds is the most embeds one message may carry.
	DiscordMaxEmbeds = 10
	// DiscordMaxTotal is the most characters all embeds of a message may
	// hold together (titles, descriptions, field names and values, footers,
	// author names).
	DiscordMaxTotal = 6000
	// DiscordMaxTitle is the most characters of an embed title.
	DiscordMaxTitle = 256
	// DiscordMaxDescription is the most characters of an embed description.
	DiscordMaxDescription = 4096
	// DiscordMaxFields is the most fields of one embed.
	DiscordMaxFields = 25
	// DiscordMaxFieldName is the most characters of a field name.
	DiscordMaxFieldName = 256
	// DiscordMaxFieldValue is the most characters of a field value.
	DiscordMaxFieldValue = 1024
	// DiscordMaxFooter is the most characters of a footer text.
	DiscordMaxFooter = 2048
	// DiscordMaxContent is the most characters of a message's content.
	DiscordMaxContent = 2000
)

// Embed colours (0xRRGGBB).
const (
	// ColorOffline is red.
	ColorOffline = 0xED4245
	// ColorOnline is green.
	ColorOnline = 0x57F287
	// ColorDegraded is amber.
	ColorDegraded = 0xFFA500
	// ColorLeft is grey.
	ColorLeft = 0x95A5A6
)

// DiscordMessage is the JSON body of Discord's execute-webhook request.
type DiscordMessage struct {
	// Content is plain text shown above the embeds (and in push
	// notifications): the alerts' titles.
	Content string `json:"content,omitempty"`
	// Username overrides the webhook's display name when set.
	Username string `json:"username,omitempty"`
	// Embeds are one per alert.
	Embeds []DiscordEmbed `json:"embeds"`
	// AllowedMentions is always empty, so no text can ping anyone.
	AllowedMentions DiscordAllowedMentions `json:"allowed_mentions"`
}

// DiscordAllowedMentions restricts which mentions in a message notify.
type DiscordAllowedMentions struct {
	// Parse lists the mention types to honour; empty means none.
	Parse []string `json:"parse"`
}

// DiscordEmbed is one embed of a message.
type DiscordEmbed struct {
	// Title is the alert's headline (at most DiscordMaxTitle characters).
	Title string `json:"title"`
	// Description gives the outage on recovery and notes covered alerts.
	Description string `json:"description,omitempty"`
	// Color is the bar's colour, 0xRRGGBB.
	Color int `json:"color"`
	// Timestamp is the transition time, RFC 3339.
	Timestamp string `json:"timestamp,omitempty"`
	// Fields are the details, at most DiscordMaxFields.
	Fields []DiscordField `json:"fields,omitempty"`
	// Footer names the sender and meshmon's version.
	Footer *DiscordFooter `json:"footer,omitempty"`
}

// DiscordField is one name/value field of an embed.
type DiscordField struct {
	// Name is the field's label (at most DiscordMaxFieldName characters).
	Name string `json:"name"`
	// Value is its text (at most DiscordMaxFieldValue characters).
	Value string `json:"value"`
	// Inline lets Discord lay fields out side by side.
	Inline bool `json:"inline,omitempty"`
}

// DiscordFooter is an embed's footer.
type DiscordFooter struct {
	// Text is "sent by <node> · meshmon <version>".
	Text string `json:"text"`
}

// chars is how many characters of the message's total budget e uses.
func (e DiscordEmbed) chars() int {
	n := utf8.RuneCountInString(e.Title) + utf8.RuneCountInString(e.Description)
	for _, f := range e.Fields {
		n += utf8.RuneCountInString(f.Name) + utf8.RuneCountInString(f.Value)
	}
	if e.Footer != nil {
		n += utf8.RuneCountInString(e.Footer.Text)
	}
	return n
}

// DiscordFormatter builds Discord messages from alerts. It is pure.
type DiscordFormatter struct {
	// SentBy is the sending node's node_id, shown in the footer.
	SentBy string
	// Version is shown in the footer; default version.Version.
	Version string
	// Username overrides the webhook's display name; default: keep it.
	Username string
}

// DiscordBatch is one message and the alert IDs it delivers.
type DiscordBatch struct {
	// Message is the request body.
	Message DiscordMessage
	// AlertIDs are the alerts it delivers, covered ones included.
	AlertIDs []string
}

// Embed renders one alert: colour by kind, a title such as "db-1 is
// offline", fields for the network, since when (and from … to … with the
// duration on recovery), how many observers agree, the last RTT, and a
// footer naming the sender and meshmon's version. Every part is cut to
// Discord's limits; the total stays under 4,000 characters.
func (f DiscordFormatter) Embed(a Alert) DiscordEmbed {
	e := DiscordEmbed{
		Title:  truncate(a.Title(), DiscordMaxTitle),
		Footer: &DiscordFooter{Text: truncate(fmt.Sprintf("sent by %s · meshmon %s", f.SentBy, versionOr(f.Version)), 1024)},
	}
	if !a.At.IsZero() {
		e.Timestamp = a.At.UTC().Format(time.RFC3339)
	}
	field := func(name, value string, inline bool) {
		e.Fields = append(e.Fields, DiscordField{
			Name: truncate(name, DiscordMaxFieldName), Value: truncate(value, DiscordMaxFieldValue), Inline: inline,
		})
	}
	field("Network", a.Network, true)
	if a.IsMonitor() {
		f.monitorEmbed(&e, a, field)
		return e
	}
	var desc []string
	switch a.Kind {
	case KindOffline:
		e.Color = ColorOffline
		field("Offline since", stamp(a.Since, true), true)
	case KindDegraded:
		e.Color = ColorDegraded
		field("Degraded since", stamp(a.Since, true), true)
	case KindLeft:
		e.Color = ColorLeft
		field("Left at", stamp(a.Since, false), true)
	default:
		e.Color = ColorOnline
		was := string(a.From)
		if a.From == health.StatusLeft {
			was = "gone"
		}
		desc = append(desc, fmt.Sprintf("Was %s from %s to %s.", was, stamp(a.Since, false), stamp(a.Until, false)))
		field("Was "+was+" since", stamp(a.Since, false), true)
		if d := a.Duration(); d > 0 {
			field("Duration", humanDuration(d), true)
		}
	}
	if a.Kind == KindDegraded {
		field("Suspected by", fmt.Sprintf("%d of %d observers", a.Suspecting, a.Live), true)
	} else {
		field("Agreed by", fmt.Sprintf("%d of %d observers", a.Agreeing, a.Live), true)
	}
	field("Last RTT", rttString(a.LastRTT), true)
	if n := len(a.Covers); n > 0 {
		desc = append(desc, fmt.Sprintf("Includes %d earlier change(s) that were not sent on their own.", n))
	}
	e.Description = truncate(strings.Join(desc, "\n"), DiscordMaxDescription)
	return e
}

// monitorEmbed renders a monitor alert: what is probed, since when (from …
// to … with the duration on recovery), and the evidence of each vantage
// point as the description.
func (f DiscordFormatter) monitorEmbed(e *DiscordEmbed, a Alert, field func(name, value string, inline bool)) {
	if a.Target != "" {
		field("Target", a.Target, true)
	}
	desc := []string{a.Evidence}
	switch a.Kind {
	case KindMonitorDown:
		e.Color = ColorOffline
		field("Down since", stamp(a.Since, true), true)
		field("Agreed by", fmt.Sprintf("%d of %d vantage points", a.Agreeing, a.Live), true)
	case KindMonitorWarning:
		e.Color = ColorDegraded
		field("Agreed by", fmt.Sprintf("%d of %d vantage points", a.Agreeing, a.Live), true)
	default:
		e.Color = ColorOnline
		desc = append([]string{fmt.Sprintf("Was down from %s to %s.", stamp(a.Since, false), stamp(a.Until, false))}, desc...)
		if d := a.Duration(); d > 0 {
			field("Duration", humanDuration(d), true)
		}
	}
	if n := len(a.Covers); n > 0 {
		desc = append(desc, fmt.Sprintf("Includes %d earlier change(s) that were not sent on their own.", n))
	}
	e.Description = truncate(strings.Join(desc, "\n"), DiscordMaxDescription)
}

// stamp renders t as a Discord timestamp (shown in each reader's time zone),
// with a relative "(3 minutes ago)" when rel; "unknown" for a zero time.
func stamp(t time.Time, rel bool) string {
	if t.IsZero() {
		return "unknown"
	}
	s := fmt.Sprintf("<t:%d:f>", t.Unix())
	if rel {
		s += fmt.Sprintf(" (<t:%d:R>)", t.Unix())
	}
	return s
}

// Batches groups alerts into messages, in order, each within Discord's
// limits: at most DiscordMaxEmbeds embeds and DiscordMaxTotal characters.
func (f DiscordFormatter) Batches(alerts []Alert) []DiscordBatch {
	var out []DiscordBatch
	var cur DiscordBatch
	var titles []string
	total := 0
	flush := func() {
		if len(cur.Message.Embeds) == 0 {
			return
		}
		cur.Message.Content = truncate(strings.Join(titles, " · "), DiscordMaxContent)
		cur.Message.Username = f.Username
		cur.Message.AllowedMentions.Parse = []string{}
		out = append(out, cur)
		cur, titles, total = DiscordBatch{}, nil, 0
	}
	for _, a := range alerts {
		e := f.Embed(a)
		n := e.chars()
		if len(cur.Message.Embeds) == DiscordMaxEmbeds || total+n > DiscordMaxTotal {
			flush()
		}
		cur.Message.Embeds = append(cur.Message.Embeds, e)
		cur.AlertIDs = append(cur.AlertIDs, a.IDs()...)
		titles = append(titles, a.Title())
		total += n
	}
	flush()
	return out
}

// Format implements Formatter.
func (f DiscordFormatter) Format(alerts []Alert) ([]Payload, error) {
	batches := f.Batches(alerts)
	out := make([]Payload, 0, len(batches))
	for _, b := range batches {
		body, err := json.Marshal(b.Message)
		if err != nil {
			return nil, fmt.Errorf("discord payload: %w", err)
		}
		out = append(out, Payload{AlertIDs: b.AlertIDs, Body: body})
	}
	return out, nil
}
