package store

// The HTTP interface of ClickHouse, kept to what sipcause needs: a query
// with an optional body (an INSERT's rows), the answer read whole, failover
// over the listed servers. The official Go client speaks the native
// protocol and needs a much newer server than Debian's 18.16; this works
// against every release since then.

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// chConn sends queries to one of several ClickHouse servers over HTTP(S).
// A server that cannot be reached is skipped for the next one in the
// list; an error ClickHouse itself returns is not retried elsewhere.
type chConn struct {
	hosts    []string // host:port
	scheme   string   // http or https
	user     string
	password string
	client   *http.Client
	cur      atomic.Int32 // index of the server that answered last
}

// chError is an error ClickHouse returned (the query was refused); other
// errors mean the server could not be reached.
type chError struct {
	host, msg string
	status    int
}

func (e *chError) Error() string {
	return fmt.Sprintf("store: clickhouse %s: %d %s", e.host, e.status, strings.TrimSpace(e.msg))
}

// chOutage are the ClickHouse error codes that say the query could not run
// now (a shard behind a Distributed table unreachable, the server busy,
// out of memory or disk, the login refused), not that the query or its
// rows are wrong: a batch refused with one of them waits in the spool
// however long it takes, it is never set aside.
var chOutage = map[int]bool{
	159:  true, // TIMEOUT_EXCEEDED
	192:  true, // UNKNOWN_USER
	193:  true, // WRONG_PASSWORD
	194:  true, // REQUIRED_PASSWORD
	195:  true, // IP_ADDRESS_NOT_ALLOWED
	202:  true, // TOO_MANY_SIMULTANEOUS_QUERIES
	209:  true, // SOCKET_TIMEOUT
	210:  true, // NETWORK_ERROR
	241:  true, // MEMORY_LIMIT_EXCEEDED
	242:  true, // TABLE_IS_READ_ONLY
	243:  true, // NOT_ENOUGH_SPACE
	252:  true, // TOO_MANY_PARTS
	279:  true, // ALL_CONNECTION_TRIES_FAILED
	394:  true, // QUERY_WAS_CANCELLED
	425:  true, // SYSTEM_ERROR
	516:  true, // AUTHENTICATION_FAILED
	1000: true, // POCO_EXCEPTION: "Connection refused" and other socket errors
}

// outage reports whether ClickHouse refused because something was
// unavailable rather than because of what was sent: one of the chOutage
// codes, or an HTTP gateway's 502, 503 or 504 in front of ClickHouse.
func (e *chError) outage() bool {
	switch e.status {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	_, rest, ok := strings.Cut(e.msg, "Code: ")
	if !ok {
		return false
	}
	end := 0
	for end < len(rest) && end < 6 && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	code, err := strconv.Atoi(rest[:end])
	return err == nil && chOutage[code]
}

func newCHConn(hosts []string, secure bool, tlsConf *tls.Config, user, password string) *chConn {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 8
	tr.TLSClientConfig = tlsConf
	scheme := "http"
	if secure {
		scheme = "https"
	}
	// No overall client timeout: an INSERT of a large batch may take a
	// while; callers bound each query with their context.
	return &chConn{hosts: hosts, scheme: scheme, user: user, password: password, client: &http.Client{Transport: tr}}
}

// do runs query on the current server, failing over to the next ones
// when a server cannot be reached. body, when not nil, is sent after the
// query (the rows of an INSERT ... FORMAT TabSeparated).
func (c *chConn) do(ctx context.Context, query string, body []byte) ([]byte, error) {
	if body == nil {
		return c.doChunks(ctx, query, nil)
	}
	return c.doChunks(ctx, query, [][]byte{body})
}

// doChunks is do with a body in pieces, sent one after the other: the
// rows of several spooled batches go out without being copied into one.
func (c *chConn) doChunks(ctx context.Context, query string, body [][]byte) ([]byte, error) {
	start := int(c.cur.Load())
	var errs []error
	for k := range c.hosts {
		i := (start + k) % len(c.hosts)
		out, err := c.doOn(ctx, c.hosts[i], query, body)
		var ce *chError
		if err == nil || errors.As(err, &ce) || ctx.Err() != nil {
			if err == nil {
				c.cur.Store(int32(i))
			}
			return out, err
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// doOn runs query on one server.
func (c *chConn) doOn(ctx context.Context, host, query string, body [][]byte) ([]byte, error) {
	u := url.URL{Scheme: c.scheme, Host: host, Path: "/"}
	v := url.Values{}
	// Tuned per query rather than in the server's profile, so that a
	// stock server works: wait for all shards on an INSERT into a
	// Distributed table, so that an acknowledged batch is stored.
	v.Set("insert_distributed_sync", "1")
	var rd io.Reader
	size := int64(-1)
	if body != nil {
		v.Set("query", query)
		rds := make([]io.Reader, len(body))
		size = 0
		for i, b := range body {
			rds[i] = bytes.NewReader(b)
			size += int64(len(b))
		}
		rd = io.MultiReader(rds...)
	} else {
		rd = strings.NewReader(query)
	}
	u.RawQuery = v.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("store: clickhouse: %w", err)
	}
	if size >= 0 {
		req.ContentLength = size
	}
	if c.user != "" || c.password != "" {
		req.SetBasicAuth(c.user, c.password)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("store: clickhouse %s: %w", host, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("store: clickhouse %s: %w", host, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &chError{host: host, status: resp.StatusCode, msg: string(out)}
	}
	return out, nil
}

// onEach runs query on every listed server (creating the local tables of
// a cluster): all must answer.
func (c *chConn) onEach(ctx context.Context, query string) error {
	for _, h := range c.hosts {
		if _, err := c.doOn(ctx, h, query, nil); err != nil {
			return err
		}
	}
	return nil
}

// quote makes s a ClickHouse string literal.
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '\'':
			b.WriteByte('\\')
			b.WriteByte(c)
		case 0:
			b.WriteString(`\0`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// tsvField appends s escaped for ClickHouse's TabSeparated format, which
// carries any bytes: the raw SIP messages go through it unchanged. Runs
// without a byte to escape are copied whole. It takes bytes too, so that
// a call's JSON and packed messages are not copied into strings first.
func tsvField[S string | []byte](b []byte, s S) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		var e byte
		switch s[i] {
		case '\\':
			e = '\\'
		case '\t':
			e = 't'
		case '\n':
			e = 'n'
		case '\r':
			e = 'r'
		case 0:
			e = '0'
		default:
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, '\\', e)
		start = i + 1
	}
	return append(b, s[start:]...)
}

// tsvRows splits a TabSeparated answer into rows of unescaped fields.
func tsvRows(b []byte) ([][]string, error) {
	var rows [][]string
	for len(b) > 0 {
		var row []string
		var f []byte
		i := 0
	line:
		for ; i < len(b); i++ {
			switch c := b[i]; c {
			case '\t':
				row = append(row, string(f))
				f = f[:0]
			case '\n':
				break line
			case '\\':
				if i+1 >= len(b) {
					return nil, errors.New("store: clickhouse: damaged TabSeparated answer")
				}
				i++
				switch e := b[i]; e {
				case 't':
					f = append(f, '\t')
				case 'n':
					f = append(f, '\n')
				case 'r':
					f = append(f, '\r')
				case '0':
					f = append(f, 0)
				case 'b':
					f = append(f, '\b')
				case 'f':
					f = append(f, '\f')
				case 'a':
					f = append(f, '\a')
				case 'v':
					f = append(f, '\v')
				default:
					f = append(f, e)
				}
			default:
				f = append(f, c)
			}
		}
		row = append(row, string(f))
		rows = append(rows, row)
		if i >= len(b) {
			break
		}
		b = b[i+1:]
	}
	return rows, nil
}

// backoff is the wait before retry n (0-based) of a failed write: from
// 100 ms doubling to 10 s.
func backoff(n int) time.Duration {
	d := 100 * time.Millisecond << min(n, 7)
	return min(d, 10*time.Second)
}
