//go:build linux

package main

import (
	"reflect"
	"testing"
)

// iptablesOutput is `iptables -L OUTPUT -v -x -n` (iptables 1.8.9, nf_tables)
// after installCounters with meshmon's rules, plus a foreign rule.
const iptablesOutput = `Chain OUTPUT (policy ACCEPT 1234 packets, 99999 bytes)
    pkts      bytes target     prot opt in     out     source               destination         
    2210   338652            0    --  *      eth0    0.0.0.0/0            0.0.0.0/0            /* mmbench:total */
    2190   336000            6    --  *      eth0    0.0.0.0/0            0.0.0.0/0            multiport ports 4001 /* mmbench:libp2p tcp/4001 */
       0        0            17   --  *      eth0    0.0.0.0/0            0.0.0.0/0            multiport ports 4001 /* mmbench:libp2p quic udp/4001 */
      20     2652            6    --  *      eth0    0.0.0.0/0            0.0.0.0/0            multiport ports 8000 /* mmbench:http tcp/8000 */
       7      420 DROP       6    --  *      *       0.0.0.0/0            10.0.0.1             /* someone else's */
`

func TestParseCounters(t *testing.T) {
	got, err := parseCounters(iptablesOutput)
	if err != nil {
		t.Fatal(err)
	}
	want := counts{
		"total":                {2210, 338652},
		"libp2p tcp/4001":      {2190, 336000},
		"libp2p quic udp/4001": {0, 0},
		"http tcp/8000":        {20, 2652},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parseCounters = %v; want %v", got, want)
	}
}

func TestParseCountersErrors(t *testing.T) {
	for name, in := range map[string]string{
		"no total rule":  "Chain OUTPUT (policy ACCEPT)\n       1  2  6 -- * eth0 0/0 0/0 /* mmbench:http tcp/8000 */\n",
		"bad bytes":      "      1  x  0 -- * eth0 0/0 0/0 /* mmbench:total */\n",
		"unterminated":   "      1  2  0 -- * eth0 0/0 0/0 /* mmbench:total\n",
		"empty output":   "",
		"only a comment": "/* mmbench:total */",
	} {
		t.Run(name, func(t *testing.T) {
			if got, err := parseCounters(in); err == nil {
				t.Fatalf("parseCounters(%q) = %v, nil; want an error", in, got)
			}
		})
	}
}
