package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/meshmon/meshmon/p2p/pb"
)

func heartbeatWith(clusters [][]byte) *pb.Heartbeat {
	return &pb.Heartbeat{Clusters: clusters}
}

// No ordinary way of printing a Webhook shows its URL.
func TestWebhookNeverPrintsURL(t *testing.T) {
	const secret = "https://discord.com/api/webhooks/1/very-secret-token"
	w := NewWebhook("ops", TypeDiscord, secret)
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "webhook", w)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "webhook", w)
	j, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	outs := []string{
		fmt.Sprint(w), fmt.Sprintf("%v %+v %#v %s %q", w, w, w, w, w), fmt.Sprintf("%v", []Webhook{w}),
		fmt.Sprintf("%+v", struct{ W Webhook }{w}), fmt.Sprintf("%+v %#v", struct{ w Webhook }{w}, struct{ w Webhook }{w}),
		buf.String(), string(j),
		fmt.Sprintf("%v", NewCluster("n", w)), fmt.Sprintf("%+v", NewCluster("n", w)),
	}
	for _, o := range outs {
		if strings.Contains(o, "very-secret-token") {
			t.Errorf("printed webhook contains its URL: %s", o)
		}
		if !strings.Contains(o, "ops") {
			t.Errorf("printed webhook lacks its name: %s", o)
		}
	}
}
