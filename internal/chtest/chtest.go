// Package chtest starts ClickHouse servers for tests: the Debian
// clickhouse-server binary, each with its own configuration, data
// directory and ports under the test's temporary directory, listening on
// loopback only, and stopped when the test ends. Tests that need one skip
// when the binary is not installed (scripts/test installs it).
package chtest

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Server is one running clickhouse-server.
type Server struct {
	Dir     string
	HTTP    string // host:port of the HTTP interface
	HTTPS   string // host:port of the HTTPS interface, when started with TLS
	CAFile  string // the certificate the HTTPS interface uses (self-signed), PEM
	TCPPort int    // native port, for remote_servers
	cmd     *exec.Cmd
	done    chan struct{}
}

// Binary returns the clickhouse-server program, or "" when it is missing.
func Binary() string {
	if p, err := exec.LookPath("clickhouse-server"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/clickhouse-server"); err == nil {
		return "/usr/sbin/clickhouse-server"
	}
	return ""
}

// Start starts one server with no cluster.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartCluster(t, "", 1)[0]
}

// StartCluster starts n servers that all know one cluster called name in
// their remote_servers, one shard per server (name "" for none). The
// servers are stopped at the end of the test.
func StartCluster(t testing.TB, name string, n int) []*Server {
	t.Helper()
	if Binary() == "" {
		t.Skip("clickhouse-server is not installed (scripts/test installs it)")
	}
	ss, err := Launch(t.TempDir(), name, n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, s := range ss {
			s.Stop()
		}
	})
	return ss
}

// Launch starts n servers under dir as StartCluster does, for a
// TestMain; the caller stops them.
func Launch(dir, name string, n int) ([]*Server, error) {
	if Binary() == "" {
		return nil, errors.New("chtest: clickhouse-server is not installed")
	}
	ss := make([]*Server, n)
	for i := range ss {
		ss[i] = &Server{Dir: filepath.Join(dir, fmt.Sprintf("ch%d", i))}
		p1, err := freePort()
		if err != nil {
			return nil, err
		}
		p2, err := freePort()
		if err != nil {
			return nil, err
		}
		ss[i].HTTP = fmt.Sprintf("127.0.0.1:%d", p1)
		ss[i].TCPPort = p2
	}
	var remote strings.Builder
	if name != "" {
		fmt.Fprintf(&remote, "<remote_servers><%s>", name)
		for _, s := range ss {
			fmt.Fprintf(&remote, "<shard><replica><host>127.0.0.1</host><port>%d</port></replica></shard>", s.TCPPort)
		}
		fmt.Fprintf(&remote, "</%s></remote_servers>", name)
	}
	for i, s := range ss {
		if err := s.writeConfig(remote.String()); err != nil {
			return nil, err
		}
		if err := s.start(); err != nil {
			for _, s := range ss[:i] {
				s.Stop()
			}
			return nil, err
		}
	}
	return ss, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// StartTLS starts one server that also serves HTTPS, with a self-signed
// certificate for 127.0.0.1 (Server.CAFile).
func StartTLS(t testing.TB) *Server {
	t.Helper()
	if Binary() == "" {
		t.Skip("clickhouse-server is not installed (scripts/test installs it)")
	}
	s := &Server{Dir: filepath.Join(t.TempDir(), "ch-tls")}
	p1, err1 := freePort()
	p2, err2 := freePort()
	p3, err3 := freePort()
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	s.HTTP, s.HTTPS, s.TCPPort = fmt.Sprintf("127.0.0.1:%d", p1), fmt.Sprintf("127.0.0.1:%d", p3), p2
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cert, key, err := selfSigned()
	if err != nil {
		t.Fatal(err)
	}
	s.CAFile = filepath.Join(s.Dir, "server.crt")
	os.WriteFile(s.CAFile, cert, 0o644)
	os.WriteFile(filepath.Join(s.Dir, "server.key"), key, 0o600)
	tlsConf := fmt.Sprintf(`<https_port>%d</https_port>
  <openSSL><server><certificateFile>%[2]s/server.crt</certificateFile><privateKeyFile>%[2]s/server.key</privateKeyFile>
  <verificationMode>none</verificationMode><loadDefaultCAFile>false</loadDefaultCAFile><cacheSessions>true</cacheSessions>
  <disableProtocols>sslv2,sslv3</disableProtocols><preferServerCiphers>true</preferServerCiphers></server></openSSL>`, p3, s.Dir)
	if err := s.writeConfig(tlsConf); err != nil {
		t.Fatal(err)
	}
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// selfSigned makes an RSA certificate for 127.0.0.1, valid for a day.
func selfSigned() (certPEM, keyPEM []byte, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return certPEM, keyPEM, nil
}

func (s *Server) writeConfig(remote string) error {
	for _, d := range []string{"data", "tmp", "user_files", "log"} {
		if err := os.MkdirAll(filepath.Join(s.Dir, d), 0o755); err != nil {
			return err
		}
	}
	_, port, _ := net.SplitHostPort(s.HTTP)
	cfg := fmt.Sprintf(`<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>%[1]s/log/server.log</log><errorlog>%[1]s/log/error.log</errorlog><size>10M</size><count>1</count></logger>
  <http_port>%[2]s</http_port>
  <tcp_port>%[3]d</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>%[1]s/data/</path>
  <tmp_path>%[1]s/tmp/</tmp_path>
  <user_files_path>%[1]s/user_files/</user_files_path>
  <users_config>%[1]s/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
  %[4]s
</yandex>
`, s.Dir, port, s.TCPPort, remote)
	users := `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default>
    <sipcause><password>` + Password + `</password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></sipcause>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`
	if err := os.WriteFile(filepath.Join(s.Dir, "config.xml"), []byte(cfg), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.Dir, "users.xml"), []byte(users), 0o644)
}

// Password is the password of the user "sipcause" every test server has
// (the user "default" has none).
const Password = "s3cret-for-tests"

func (s *Server) start() error {
	s.cmd = exec.Command(Binary(), "--config-file="+filepath.Join(s.Dir, "config.xml"))
	s.cmd.Dir = s.Dir
	var out bytes.Buffer
	s.cmd.Stdout, s.cmd.Stderr = &out, &out
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("chtest: %w", err)
	}
	s.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(s.cmd, s.done)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			log, _ := os.ReadFile(filepath.Join(s.Dir, "log", "error.log"))
			s.cmd = nil
			return fmt.Errorf("chtest: clickhouse-server exited at start: %s\n%s", out.String(), tail(log))
		default:
		}
		resp, err := http.Get("http://" + s.HTTP + "/ping")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.Stop()
	return fmt.Errorf("chtest: clickhouse-server on %s did not answer within 60 s", s.HTTP)
}

func tail(b []byte) string {
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Stop stops the server (SIGTERM, then SIGKILL after 20 s). A stopped
// server keeps its data directory; Restart starts it again on the same
// ports.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
	s.cmd = nil
}

// Kill stops the server with SIGKILL, as a crash would.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.done
	s.cmd = nil
}

// Restart starts a stopped server again with the same data.
func (s *Server) Restart() error { return s.start() }

// URL returns a sipcause --store URL for database db on this server.
func (s *Server) URL(db string) string {
	return "clickhouse://" + s.HTTP + "/" + db
}
