package cli

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipcause/sipcause/internal/sharedtest"
	"github.com/sipcause/sipcause/server"
)

// selfSigned writes a certificate and key for 127.0.0.1 and returns
// their paths.
func selfSigned(t *testing.T) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sipcause test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(k)
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return cert, key
}

// TestServeTLSAndTokenFile is the review's M6: with --tls-cert/--tls-key
// the web UI and API are served over HTTPS only, the token comes from a
// file (not the process list), and cookies are marked Secure.
func TestServeTLSAndTokenFile(t *testing.T) {
	cert, key := selfSigned(t)
	tokFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokFile, []byte("fil3-t0ken\n"), 0o600)
	addr := startServe(t, ServeOptions{TLSCert: cert, TLSKey: key, AuthTokenFile: tokFile})
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(cert)
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	get := func(url, auth string) (*http.Response, error) {
		req, _ := http.NewRequest("GET", url, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return resp, err
	}
	resp, err := get("https://"+addr+"/calls", "Bearer fil3-t0ken")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Errorf("token from the file: %d, want 200", resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		if !c.Secure {
			t.Errorf("cookie %s not Secure over HTTPS", c.Name)
		}
	}
	if resp, err := get("https://"+addr+"/calls", "Bearer wrong"); err != nil || resp.StatusCode != 401 {
		t.Errorf("wrong token: %v %v, want 401", resp, err)
	}
	if resp, err := http.Get("http://" + addr + "/calls"); err == nil && resp.StatusCode == 200 {
		t.Error("plain HTTP answered 200 on the HTTPS port")
	}
}

func TestServeFlagsRefused(t *testing.T) {
	cert, _ := selfSigned(t)
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	for name, o := range map[string]ServeOptions{
		"token and token file": {AuthToken: "a", AuthTokenFile: empty},
		"empty token file":     {AuthTokenFile: empty},
		"cert without key":     {TLSCert: cert},
		"key is no key":        {TLSCert: cert, TLSKey: cert},
		"HEP TLS without cert": {HEPTLS: "127.0.0.1:0"},
	} {
		o.HTTPAddr, o.DB = "127.0.0.1:0", filepath.Join(t.TempDir(), "x.db")
		err := Serve(t.Context(), o, &bytes.Buffer{})
		if _, ok := err.(*UsageError); !ok {
			t.Errorf("%s: %v, want a usage error", name, err)
		}
	}
}

// TestPasswd is the review's M7: `sipcause passwd NAME` prints a bcrypt
// line that --auth-users reads, salted (the same password twice gives two
// hashes), and basic auth accepts exactly that password.
func TestPasswd(t *testing.T) {
	line := func() string {
		var out, errb bytes.Buffer
		env := Env{Stdin: strings.NewReader("correct horse\n"), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
		if err := run([]string{"passwd", "anna"}, env); err != nil {
			t.Fatalf("passwd: %v %s", err, errb.String())
		}
		return out.String()
	}
	a, b := line(), line()
	if a == b || !strings.HasPrefix(a, "anna:$2a$12$") {
		t.Errorf("passwd printed %q and %q; want two different bcrypt lines", a, b)
	}
	users := filepath.Join(t.TempDir(), "users")
	os.WriteFile(users, []byte("# helpdesk\n"+a+strings.Replace(b, "anna", "bert", 1)), 0o600)
	addr := startServe(t, ServeOptions{AuthUsers: users})
	code := func(user, pass string) int {
		req, _ := http.NewRequest("GET", "http://"+addr+"/calls", nil)
		req.SetBasicAuth(user, pass)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := code("anna", "correct horse"); c != 200 {
		t.Errorf("right password: %d", c)
	}
	// The first request with bert's credentials pays for one bcrypt; the
	// next twenty together must cost less than that one (a wall-clock
	// bound would fail on a loaded machine, where bcrypt is slow too).
	start := time.Now()
	if c := code("bert", "correct horse"); c != 200 {
		t.Fatalf("right password: %d", c)
	}
	first := time.Since(start)
	start = time.Now()
	for range 20 {
		if c := code("bert", "correct horse"); c != 200 {
			t.Fatalf("right password: %d", c)
		}
	}
	if d := time.Since(start); d > first {
		t.Errorf("20 requests with known credentials took %v, one bcrypt %v: each paid for bcrypt", d, first)
	}
	if c := code("anna", "wrong horse"); c != 401 {
		t.Errorf("wrong password: %d", c)
	}
}

// TestUsersFileRefusals: a name given twice and the old unsalted SHA-256
// lines are refused, with the line and what to do.
func TestUsersFileRefusals(t *testing.T) {
	h, err := server.HashPassword([]byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"anna:" + string(h) + "\nanna:" + string(h) + "\n":                        "line 2: user \"anna\" given twice",
		"anna:ef797c8118f02dfb649607dd5d3f8c7623048c9c063d532cc95c5ed7a898a64f\n": "sipcause passwd anna",
		"anna\n": "line 1",
	} {
		_, err := server.ReadUsersFile(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ReadUsersFile(%.30q): %v; want an error with %q", in, err, want)
		}
	}
}

// TestExitCodesDamagedHeader is the review's L13: a pcap cut inside its
// file header is a damaged capture (exit 1, saying so), not "no capture"
// (2); a file that is no capture stays 2; next to a good capture it is
// skipped and the good one is reported (1).
func TestExitCodesDamagedHeader(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(sharedCaptures, "PcapPlusPlus__sip_reqs.pcap")
	whole, err := os.ReadFile(good)
	if err != nil {
		sharedtest.Missing(t, good, err)
	}
	cut, text := filepath.Join(dir, "cut.pcap"), filepath.Join(dir, "notes.txt")
	os.WriteFile(cut, whole[:10], 0o600)
	os.WriteFile(text, []byte("hello\n"), 0o600)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"analyze", cut}, ExitDamaged, "file header is cut short"},
		{[]string{"analyze", text}, ExitUsage, "not a pcap"},
		{[]string{"analyze", good, text}, ExitDamaged, "skipped"},
	} {
		var out, errb bytes.Buffer
		code := Main(tc.args, Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
		if code != tc.code || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errb.String(), tc.code, tc.want)
		}
	}
}
