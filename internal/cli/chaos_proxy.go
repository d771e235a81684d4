package cli

import (
	"errors"
	"io"
	"net"
	"sync"
)

// proxyState is where a cutProxy is. Transitions (under cutProxy.mu):
// open → cut (Cut: bytes in both directions are dropped, connections stay
// up, so only a heartbeat can notice); cut → open (Heal: every connection
// of the cut is reset first, as a partition that outlived TCP's patience
// would, then new connections are forwarded); any → closed (Close, final).
type proxyState int

const (
	proxyOpen proxyState = iota
	proxyCut
	proxyClosed
)

// cutProxy is a loopback TCP proxy between the chaos driver's client and one
// node: the driver dials the proxy, so cutting it stops the node's traffic
// while the node process runs on. It is the network-cut fault of
// exo-actors chaos (docs/reliability.md says why a proxy and not a hidden
// control in the node: the node's code stays what production runs).
type cutProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	state proxyState
	conns map[net.Conn]struct{} // every open connection, both sides; bounded by the client's connections
	wg    sync.WaitGroup        // the accept loop and every copier
}

// newCutProxy listens on 127.0.0.1:0 and forwards to target.
func newCutProxy(target string) (*cutProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept() // owned by p: Close waits through p.wg
	return p, nil
}

// Addr is the address to dial instead of the target.
func (p *cutProxy) Addr() string { return p.ln.Addr().String() }

func (p *cutProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.state == proxyClosed {
			p.mu.Unlock()
			c.Close()
			up.Close()
			return
		}
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.wg.Add(2)
		p.mu.Unlock()
		go p.copy(up, c) // owned by p: Close waits through p.wg
		go p.copy(c, up) // owned by p: Close waits through p.wg
	}
}

// copy forwards src to dst, dropping what it reads while the proxy is cut.
func (p *cutProxy) copy(dst, src net.Conn) {
	defer p.wg.Done()
	defer p.drop(dst, src)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			cut := p.state != proxyOpen
			p.mu.Unlock()
			if !cut {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return
			}
			return
		}
	}
}

func (p *cutProxy) drop(a, b net.Conn) {
	a.Close()
	b.Close()
	p.mu.Lock()
	delete(p.conns, a)
	delete(p.conns, b)
	p.mu.Unlock()
}

// Cut starts dropping every byte, both ways.
func (p *cutProxy) Cut() {
	p.mu.Lock()
	if p.state == proxyOpen {
		p.state = proxyCut
	}
	p.mu.Unlock()
}

// Heal resets the connections of the cut and forwards again.
func (p *cutProxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != proxyCut {
		return
	}
	for c := range p.conns {
		c.Close() // the copiers see the error, end and remove them
	}
	p.state = proxyOpen
}

// Close stops the proxy and waits for its goroutines.
func (p *cutProxy) Close() {
	p.mu.Lock()
	p.state = proxyClosed
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.ln.Close()
	p.wg.Wait()
}
