package web

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

func TestBadgeSVG(t *testing.T) {
	for _, tc := range []struct {
		name, label, message, color string
	}{
		{"plain", "prod", "4/5 online", badgeYellow},
		{"escaped", `a<b>&"c'`, "99.99%", badgeGreen},
		{"control characters dropped", "x\x01y", "down", badgeRed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svg := badgeSVG(tc.label, tc.message, tc.color)
			// Well-formed XML whose texts are the label and the message.
			dec := xml.NewDecoder(strings.NewReader(svg))
			var texts []string
			var inText bool
			for {
				tok, err := dec.Token()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("badgeSVG(%q, %q) is not well-formed XML: %v\n%s", tc.label, tc.message, err, svg)
				}
				switch tok := tok.(type) {
				case xml.StartElement:
					inText = tok.Name.Local == "text"
				case xml.CharData:
					if inText {
						texts = append(texts, string(tok))
					}
				case xml.EndElement:
					inText = false
				}
			}
			label := strings.Map(func(r rune) rune {
				if r < 0x20 {
					return -1
				}
				return r
			}, tc.label)
			if len(texts) != 4 || texts[1] != label || texts[3] != tc.message {
				t.Errorf("badge texts = %q; want label %q and message %q (each with its shadow)", texts, label, tc.message)
			}
			if !strings.Contains(svg, `fill="`+tc.color+`"`) {
				t.Errorf("badge lacks colour %s", tc.color)
			}
		})
	}
}

func TestFmtPercent(t *testing.T) {
	p := func(f float64) *float64 { return &f }
	for _, tc := range []struct {
		in   *float64
		want string
	}{
		{nil, "no data"}, {p(100), "100%"}, {p(99.999), "99.99%"}, {p(83.3333), "83.33%"}, {p(0), "0.00%"},
	} {
		if got := fmtPercent(tc.in); got != tc.want {
			t.Errorf("fmtPercent(%v) = %q; want %q", deref(tc.in), got, tc.want)
		}
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestBadges reads the fixture's badges: server-03 offline (red), the
// network with 2 of 5 members up, server-03's 24 h uptime from the store.
func TestBadges(t *testing.T) {
	srv := serve(t, newFixture(t).full())
	for _, tc := range []struct {
		path       string
		code       int
		want       []string
		color      string
		wantHeader string
	}{
		{"/badge/prod/nodes/server-03/status.svg", 200, []string{">server-03<", ">offline<"}, badgeRed, "image/svg+xml"},
		{"/badge/prod/nodes/server-01/status.svg", 200, []string{">online<"}, badgeGreen, "image/svg+xml"},
		// Colour as the dashboard grades the network (warning: yellow).
		{"/badge/prod/status.svg", 200, []string{">prod<", ">2/5 online<"}, badgeYellow, "image/svg+xml"},
		{"/badge/prod/nodes/server-03/uptime.svg", 200, []string{">server-03 uptime 24h<", ">83.33%<"}, badgeRed, "image/svg+xml"},
		{"/badge/prod/nodes/server-01/uptime.svg?range=30d", 200, []string{">100%<"}, badgeGreen, "image/svg+xml"},
		{"/badge/prod/nodes/server-04/uptime.svg", 200, []string{">no data<"}, badgeGrey, "image/svg+xml"},
		{"/badge/prod/nodes/ghost/status.svg", 404, []string{">not found<"}, badgeGrey, "image/svg+xml"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp := get(t, srv.URL+tc.path, nil)
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.code || resp.Header.Get("Content-Type") != tc.wantHeader {
				t.Fatalf("GET %s = %d %s; want %d %s", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), tc.code, tc.wantHeader)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("GET %s lacks %q:\n%s", tc.path, w, b)
				}
			}
			if !strings.Contains(string(b), `fill="`+tc.color+`"`) {
				t.Errorf("GET %s: want colour %s:\n%s", tc.path, tc.color, b)
			}
		})
	}
	if resp := get(t, srv.URL+"/badge/prod/status.svg", nil); resp.Header.Get("Cache-Control") != "max-age=60" {
		t.Errorf("badge Cache-Control = %q; want max-age=60", resp.Header.Get("Cache-Control"))
	} else {
		resp.Body.Close()
	}
}
