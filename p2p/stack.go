package p2p

import (
	"github.com/libp2p/go-libp2p/config"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/core/transport"
	"github.com/libp2p/go-libp2p/p2p/host/autonat"
	"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	tptu "github.com/libp2p/go-libp2p/p2p/net/upgrader"
	circuit "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/proto"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	"github.com/libp2p/go-libp2p/p2p/protocol/holepunch"
	"github.com/libp2p/go-libp2p/p2p/protocol/identify"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	tls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"go.uber.org/fx"
)

// The libp2p stack, without the root go-libp2p package.
//
// NewHost fills a config.Config itself and calls its NewNode, which is what
// libp2p.New does after it has applied its options and FallbackDefaults.
// The root package is not imported on purpose: its defaults are package
// variables that name the WebSocket, WebTransport and WebRTC transports, so
// importing it links them (pion/webrtc and the rest, 4.5 MB of a 35.7 MB
// binary) whether a host uses them or not, and every node maps those pages.
// meshmon speaks TCP and QUIC, and circuit relay v2 through members; no
// member announces another transport. docs/performance.md has the
// measurement (binary size and RSS before and after).
//
// The defaults below are libp2p v0.51's FallbackDefaults for the fields
// NewHost leaves empty, minus those three transports. stack_test.go checks
// them against libp2p's own, so an upgrade that changes libp2p's defaults
// fails a test instead of drifting silently. libp2p documents config.Config
// as not a stable interface: a go-libp2p upgrade may need this file changed,
// and the tests of this package (and e2e/nat) say when.

// withStackDefaults fills the fields of cfg that NewHost does not set, as
// libp2p.New's FallbackDefaults would: TCP and QUIC transports, TLS then
// Noise, yamux, an in-memory peerstore, the circuit relay v2 client
// transport, the default resource manager and black-hole detectors.
func withStackDefaults(cfg *config.Config) error {
	if cfg.Transports == nil {
		cfg.Transports = []fx.Option{transportOption(tcp.NewTCPTransport), transportOption(quic.NewTransport)}
	}
	if cfg.Muxers == nil {
		cfg.Muxers = []tptu.StreamMuxer{{ID: yamux.ID, Muxer: yamux.DefaultTransport}}
	}
	if cfg.SecurityTransports == nil {
		cfg.SecurityTransports = []config.Security{{ID: tls.ID, Constructor: tls.New}, {ID: noise.ID, Constructor: noise.New}}
	}
	if cfg.Peerstore == nil {
		ps, err := pstoremem.NewPeerstore()
		if err != nil {
			return err
		}
		cfg.Peerstore = ps
	}
	if !cfg.RelayCustom {
		cfg.RelayCustom, cfg.Relay = true, true
	}
	if cfg.ResourceManager == nil {
		limits := rcmgr.DefaultLimits
		serviceLimits(&limits)
		mgr, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits.AutoScale()))
		if err != nil {
			return err
		}
		cfg.ResourceManager = mgr
	}
	if !cfg.CustomUDPBlackHoleSuccessCounter && cfg.UDPBlackHoleSuccessCounter == nil {
		cfg.UDPBlackHoleSuccessCounter = &swarm.BlackHoleSuccessCounter{N: 100, MinSuccesses: 5, Name: "UDP"}
	}
	if !cfg.CustomIPv6BlackHoleSuccessCounter && cfg.IPv6BlackHoleSuccessCounter == nil {
		cfg.IPv6BlackHoleSuccessCounter = &swarm.BlackHoleSuccessCounter{N: 100, MinSuccesses: 5, Name: "IPv6"}
	}
	return nil
}

// transportOption is libp2p.Transport(constructor) for a constructor that
// is given no options.
func transportOption(constructor any) fx.Option {
	return fx.Provide(fx.Annotate(constructor, fx.As(new(transport.Transport)), fx.ResultTags(`group:"transport"`)))
}

// serviceLimits is libp2p.SetDefaultServiceLimits (go-libp2p v0.51
// limits.go, MIT licence): the resource limits of libp2p's bundled services.
func serviceLimits(c *rcmgr.ScalingLimitConfig) {
	c.AddServiceLimit(identify.ServiceName,
		rcmgr.BaseLimit{StreamsInbound: 64, StreamsOutbound: 64, Streams: 128, Memory: 4 << 20},
		rcmgr.BaseLimitIncrease{StreamsInbound: 64, StreamsOutbound: 64, Streams: 128, Memory: 4 << 20})
	c.AddServicePeerLimit(identify.ServiceName,
		rcmgr.BaseLimit{StreamsInbound: 16, StreamsOutbound: 16, Streams: 32, Memory: 1 << 20},
		rcmgr.BaseLimitIncrease{})
	for _, id := range [...]protocol.ID{identify.ID, identify.IDPush} {
		c.AddProtocolLimit(id,
			rcmgr.BaseLimit{StreamsInbound: 64, StreamsOutbound: 64, Streams: 128, Memory: 4 << 20},
			rcmgr.BaseLimitIncrease{StreamsInbound: 64, StreamsOutbound: 64, Streams: 128, Memory: 4 << 20})
		c.AddProtocolPeerLimit(id,
			rcmgr.BaseLimit{StreamsInbound: 16, StreamsOutbound: 16, Streams: 32, Memory: 32 * (256<<20 + 16<<10)},
			rcmgr.BaseLimitIncrease{})
	}
	serviceAndProtocolLimit(c, ping.ServiceName, ping.ID,
		rcmgr.BaseLimit{StreamsInbound: 64, StreamsOutbound: 64, Streams: 64, Memory: 4 << 20},
		rcmgr.BaseLimitIncrease{StreamsInbound: 64, StreamsOutbound: 64, Streams: 64, Memory: 4 << 20})
	servicePeerAndProtocolPeerLimit(c, ping.ServiceName, ping.ID,
		rcmgr.BaseLimit{StreamsInbound: 2, StreamsOutbound: 3, Streams: 4, Memory: 32 * (256<<20 + 16<<10)},
		rcmgr.BaseLimitIncrease{})
	serviceAndProtocolLimit(c, autonat.ServiceName, autonat.AutoNATProto,
		rcmgr.BaseLimit{StreamsInbound: 64, StreamsOutbound: 64, Streams: 64, Memory: 4 << 20},
		rcmgr.BaseLimitIncrease{StreamsInbound: 4, StreamsOutbound: 4, Streams: 4, Memory: 2 << 20})
	servicePeerAndProtocolPeerLimit(c, autonat.ServiceName, autonat.AutoNATProto,
		rcmgr.BaseLimit{StreamsInbound: 2, StreamsOutbound: 2, Streams: 2, Memory: 1 << 20},
		rcmgr.BaseLimitIncrease{})
	serviceAndProtocolLimit(c, holepunch.ServiceName, holepunch.Protocol,
		rcmgr.BaseLimit{StreamsInbound: 32, StreamsOutbound: 32, Streams: 64, Memory: 4 << 20},
		rcmgr.BaseLimitIncrease{StreamsInbound: 8, StreamsOutbound: 8, Streams: 16, Memory: 4 << 20})
	servicePeerAndProtocolPeerLimit(c, holepunch.ServiceName, holepunch.Protocol,
		rcmgr.BaseLimit{StreamsInbound: 2, StreamsOutbound: 2, Streams: 2, Memory: 1 << 20},
		rcmgr.BaseLimitIncrease{})
	c.AddServiceLimit(relayv2.ServiceName,
		rcmgr.BaseLimit{StreamsInbound: 256, StreamsOutbound: 256, Streams: 256, Memory: 16 << 20},
		rcmgr.BaseLimitIncrease{StreamsInbound: 256, StreamsOutbound: 256, Streams: 256, Memory: 16 << 20})
	c.AddServicePeerLimit(relayv2.ServiceName,
		rcmgr.BaseLimit{StreamsInbound: 64, StreamsOutbound: 64, Streams: 64, Memory: 1 << 20},
		rcmgr.BaseLimitIncrease{})
	for _, id := range [...]protocol.ID{circuit.ProtoIDv2Hop, circuit.ProtoIDv2Stop} {
		c.AddProtocolLimit(id,
			rcmgr.BaseLimit{StreamsInbound: 640, StreamsOutbound: 640, Streams: 640, Memory: 16 << 20},
			rcmgr.BaseLimitIncrease{StreamsInbound: 640, StreamsOutbound: 640, Streams: 640, Memory: 16 << 20})
		c.AddProtocolPeerLimit(id,
			rcmgr.BaseLimit{StreamsInbound: 128, StreamsOutbound: 128, Streams: 128, Memory: 32 << 20},
			rcmgr.BaseLimitIncrease{})
	}
}

func serviceAndProtocolLimit(c *rcmgr.ScalingLimitConfig, service string, id protocol.ID, l rcmgr.BaseLimit, inc rcmgr.BaseLimitIncrease) {
	c.AddServiceLimit(service, l, inc)
	c.AddProtocolLimit(id, l, inc)
}

func servicePeerAndProtocolPeerLimit(c *rcmgr.ScalingLimitConfig, service string, id protocol.ID, l rcmgr.BaseLimit, inc rcmgr.BaseLimitIncrease) {
	c.AddServicePeerLimit(service, l, inc)
	c.AddProtocolPeerLimit(id, l, inc)
}
