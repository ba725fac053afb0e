package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/sipcause/sipcause/server/internal/synth"
)

// selfSigned returns a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "sipcause test collector"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// TestHEPOverTLS: an agent sending HEP over TLS (heplify -nt tls) has its
// calls analyzed as over TCP; a client that speaks no TLS to that port
// gets nothing in; and the TLS connections count against the same limit
// per source as the plain TCP ones.
func TestHEPOverTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	r := startCollector(t, "", CollectorOptions{HEPTLSAddr: "127.0.0.1:0", MaxTCPPerSource: 3,
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}})
	if r.col.HEPTLSAddr() == "" {
		t.Fatal("no HEP over TLS address")
	}

	// Plain HEP to the TLS port: the handshake fails, nothing is read,
	// the stream is counted as malformed.
	plain, err := net.Dial("tcp", r.col.HEPTLSAddr())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range hepOf(synth.Call(999, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), synth.CallOptions{Status: 480})) {
		plain.Write(p)
	}
	plain.SetReadDeadline(time.Now().Add(5 * time.Second))
	plain.Read(make([]byte, 64)) // the server answers with a TLS alert or closes
	plain.Close()

	var stream []byte
	var n int
	for i := range 20 {
		for _, p := range hepOf(synth.Call(i, time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC), synth.CallOptions{Status: 486})) {
			stream = append(stream, p...)
			n++
		}
	}
	c, err := tls.Dial("tcp", r.col.HEPTLSAddr(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	for len(stream) > 0 {
		k := min(len(stream), 1000)
		if _, err := c.Write(stream[:k]); err != nil {
			t.Fatal(err)
		}
		stream = stream[k:]
	}

	// The limit per source holds across TCP and TLS: with the TLS
	// connection open, two plain ones fill it and a third is refused.
	var held []net.Conn
	for range 3 {
		hc, err := net.Dial("tcp", r.col.HEPAddr())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, hc)
	}
	deadline := time.Now().Add(10 * time.Second)
	for r.m.tcpRefused.Load() < 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := r.m.tcpRefused.Load(); got != 1 {
		t.Errorf("refused %d connections, want 1 (the fourth from one address over TCP and TLS)", got)
	}
	for _, hc := range held {
		hc.Close()
	}
	c.Close()
	r.waitReceived(t, int64(n))
	r.stop(t)
	// The plain client on the TLS port is one malformed stream.
	if s := r.m.Snapshot(); s.Calls != 20 || s.Malformed != 1 {
		t.Errorf("over TLS: %+v, want 20 calls and one malformed stream", s)
	}
}

// TestHEPOverTLSNeedsCertificate: no listener without a certificate.
func TestHEPOverTLSNeedsCertificate(t *testing.T) {
	if _, err := NewCollector(CollectorOptions{HEPTLSAddr: "127.0.0.1:0"}, nil, NewMetrics()); err == nil {
		t.Error("HEP over TLS without a certificate accepted")
	}
}
