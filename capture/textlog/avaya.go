package textlog

import (
	"bytes"
	"net/netip"
	"strconv"
	"time"
)

// ipoLog reads Avaya IP Office System Monitor text: "3309492437mS SIP Rx:
// TCP 1.2.3.4:5060 -> 10.0.0.1:23588", then the message indented by
// blanks. The mS counter is the system's uptime.
type ipoLog struct {
	indent int // leading blanks of the message's first line, -1 before it
}

// ipoStamp parses the uptime at the start of a Monitor line.
func ipoStamp(l []byte) (time.Duration, []byte, bool) {
	i := 0
	for i < len(l) && isDigit(l[i]) {
		i++
	}
	if i == 0 || i > 15 || !bytes.HasPrefix(l[i:], []byte("mS ")) {
		return 0, nil, false
	}
	ms, err := strconv.ParseInt(string(l[:i]), 10, 64)
	if err != nil {
		return 0, nil, false
	}
	return time.Duration(ms) * time.Millisecond, l[i+3:], true
}

func ipoIntro(l []byte) (meta, bool) {
	var m meta
	up, rest, ok := ipoStamp(l)
	if !ok || !bytes.HasPrefix(rest, []byte("SIP ")) {
		return m, false
	}
	// "SIP Rx: ", "SIP Tx: ", and variants such as "SIP Reg/Opt Rx: ".
	i := bytes.Index(rest, []byte("x: "))
	if i < 1 || (rest[i-1] != 'R' && rest[i-1] != 'T') {
		return m, false
	}
	f := bytes.Fields(rest[i+3:])
	if len(f) != 4 || string(f[2]) != "->" {
		return m, false
	}
	if m.src, ok = parseAddrPort(f[1]); !ok {
		return m, false
	}
	if m.dst, ok = parseAddrPort(f[3]); !ok {
		return m, false
	}
	m.transport = normTransport(f[0])
	m.time = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).Add(up)
	return m, true
}

func (p *ipoLog) classify(line []byte) classified {
	if m, ok := ipoIntro(line); ok {
		p.indent = -1
		return classified{kind: lineIntro, meta: m}
	}
	if _, _, ok := ipoStamp(line); ok {
		return classified{kind: lineOther}
	}
	n := 0
	for n < len(line) && line[n] == ' ' {
		n++
	}
	if n == 0 && len(line) > 0 && p.indent > 0 {
		// Monitor breaks long lines; the rest starts at column 0.
		return classified{kind: lineJoin, text: line}
	}
	if p.indent < 0 && n < len(line) {
		p.indent = n
	}
	return classified{text: line[min(n, max(p.indent, 0)):]}
}

// sipserverLog reads the Avaya iView/Equinox sipserver.log: every line is
// "2016-11-04 08:07:41.305 [.INFO] [..MESSAGE] text"; a message starts
// with "<--- 1.2.3.4:5060 1 1028" (received from) or "---> ..." (sent to),
// the fields being the peer, the transport (0 UDP, 1 TCP, 2 SCTP, 3 TLS,
// as in the RADVISION SIP stack) and the length.
type sipserverLog struct{}

// sipserverLine splits a line into its time, tag and text.
func sipserverLine(l []byte) (time.Time, []byte, []byte, bool) {
	t, n, ok := parseDateTime(l)
	if !ok {
		return time.Time{}, nil, nil, false
	}
	rest := l[n:]
	var tag []byte
	for range 2 {
		if len(rest) < 3 || rest[0] != ' ' || rest[1] != '[' {
			return time.Time{}, nil, nil, false
		}
		end := bytes.IndexByte(rest, ']')
		if end < 0 {
			return time.Time{}, nil, nil, false
		}
		tag, rest = rest[2:end], rest[end+1:]
	}
	return t, tag, bytes.TrimPrefix(rest, []byte{' '}), true
}

func sniffSipserver(l []byte) bool {
	_, tag, text, ok := sipserverLine(l)
	return ok && string(tag) == "..MESSAGE" &&
		(bytes.HasPrefix(text, []byte("<--- ")) || bytes.HasPrefix(text, []byte("---> ")))
}

func (*sipserverLog) classify(line []byte) classified {
	t, tag, text, ok := sipserverLine(line)
	if !ok {
		return classified{text: line} // a body line the logger broke
	}
	if string(tag) != "..MESSAGE" {
		return classified{kind: lineOther}
	}
	rx := bytes.HasPrefix(text, []byte("<--- "))
	if !rx && !bytes.HasPrefix(text, []byte("---> ")) {
		return classified{text: text}
	}
	text = text[5:]
	f := bytes.Fields(text)
	if len(f) == 3 && allDigits(f[1]) && allDigits(f[2]) {
		if ap, ok := parseAddrPort(f[0]); ok {
			m := meta{time: t}
			if rx {
				m.src = ap
			} else {
				m.dst = ap
			}
			switch string(f[1]) {
			case "0":
				m.transport = "udp"
			case "1":
				m.transport = "tcp"
			case "2":
				m.transport = "sctp"
			case "3":
				m.transport = "tls"
			}
			return classified{kind: lineIntro, meta: m}
		}
	}
	return classified{text: text}
}

// j100Log reads the syslog of Avaya J100-series phones: records
// "<167>Jan 11 09:01:09 192.168.50.94 SIPMESSAGE: -04:00 2022 920 1 .TEL |
// 0 text", a SIPMESSAGE record holding "Outbound SIP message to
// 1.2.3.4:5096" or "Inbound SIP message from ip = 1.2.3.4 port: 5096" and
// then the message, its start line prefixed "TX " or "RX ". A long record
// is split into parts, "[Part 02 of 02]" following the first part's last
// bytes on the same line, possibly in the middle of a message line.
type j100Log struct {
	carry    []byte
	hasCarry bool
	joined   []byte
	last     time.Time
	host     netip.AddrPort
}

// j100Record is the header of one J100 syslog record.
type j100Record struct {
	time time.Time
	host netip.AddrPort
	tag  []byte
	part int // k of "[Part k of n]", 0 without one
	text []byte
}

// parseJ100 parses a record header at the start of l.
func parseJ100(l []byte) (j100Record, bool) {
	var r j100Record
	h, ok := parseSyslog(l)
	if !ok || len(h.host) == 0 {
		return r, false
	}
	// "-04:00 2022 920 1 .TEL | 0 text": zone, year, milliseconds, ...
	f := h.rest
	if len(f) < 7 || (f[0] != '-' && f[0] != '+') || f[3] != ':' || f[6] != ' ' {
		return r, false
	}
	zh, ok1 := two(f[1:3])
	zm, ok2 := two(f[4:6])
	if !ok1 || !ok2 {
		return r, false
	}
	off := zh*3600 + zm*60
	if f[0] == '-' {
		off = -off
	}
	f = f[7:]
	sp := bytes.IndexByte(f, ' ')
	if sp != 4 || !allDigits(f[:4]) {
		return r, false
	}
	year, _ := strconv.Atoi(string(f[:4]))
	f = f[5:]
	sp = bytes.IndexByte(f, ' ')
	if sp < 1 || sp > 3 || !allDigits(f[:sp]) {
		return r, false
	}
	ms, _ := strconv.Atoi(string(f[:sp]))
	bar := bytes.Index(f, []byte(" | "))
	if bar < 0 {
		return r, false
	}
	f = f[bar+3:]
	if sp = bytes.IndexByte(f, ' '); sp >= 0 && allDigits(f[:sp]) {
		f = f[sp+1:]
	} else if allDigits(f) {
		f = nil
	}
	zone := time.FixedZone("", off)
	r.time = time.Date(year, h.mon, h.day, 0, 0, 0, ms*int(time.Millisecond), zone).Add(h.tod)
	r.host = hostOnly(h.host)
	r.tag = h.tag
	if rest, ok := bytes.CutPrefix(f, []byte("[Part ")); ok && len(rest) >= 2 && allDigits(rest[:2]) {
		r.part = int(rest[0]-'0')*10 + int(rest[1]-'0')
		if end := bytes.IndexByte(rest, ']'); end >= 0 {
			f = rest[end+1:]
		}
	}
	r.text = f
	return r, true
}

func sniffJ100(l []byte) bool {
	r, ok := parseJ100(l)
	return ok && string(r.tag) == "SIPMESSAGE"
}

// recordStart finds a record header "<NNN>Mmm " in l after position 0.
func recordStart(l []byte) int {
	for i := 1; i < len(l); {
		j := bytes.IndexByte(l[i:], '<')
		if j < 0 {
			return -1
		}
		i += j
		k := i + 1
		for k < len(l) && k-i <= 4 && isDigit(l[k]) {
			k++
		}
		if k > i+1 && k < len(l) && l[k] == '>' {
			if _, _, _, ok := parseMonthDay(l[k+1:]); ok {
				return i
			}
		}
		i++
	}
	return -1
}

// j100Intro parses the line that announces a message.
func (p *j100Log) intro(text []byte) (meta, bool) {
	m := meta{time: p.last}
	if _, a, ok := bytes.Cut(text, []byte("Outbound SIP message to ")); ok {
		ap, ok := parseAddrPort(bytes.TrimSpace(a))
		if !ok {
			return m, false
		}
		m.src, m.dst = p.host, ap
		return m, true
	}
	if _, a, ok := bytes.Cut(text, []byte("Inbound SIP message from ip = ")); ok {
		host, port, ok := bytes.Cut(a, []byte(" port: "))
		if !ok {
			return m, false
		}
		ap, ok := parseAddrPort(append(append(append([]byte(nil), host...), ':'), bytes.TrimSpace(port)...))
		if !ok {
			return m, false
		}
		m.src, m.dst = ap, p.host
		return m, true
	}
	return m, false
}

func (p *j100Log) classify(line []byte) classified {
	if p.hasCarry {
		p.joined = append(append(p.joined[:0], p.carry...), line...)
		line, p.hasCarry = p.joined, false
	}
	if i := recordStart(line); i > 0 {
		if r, ok := parseJ100(line[i:]); ok {
			if r.part > 1 {
				// The record goes on: what came before is its first part's
				// last line, cut where the part ended.
				// Bounded: a line split in parts is still one line.
				p.carry = append(p.carry[:0], line[:min(i, MaxLineLength)]...)
				if len(r.text) > 0 {
					p.joined = append(append(p.joined[:0], p.carry...), r.text...)
					return p.text(p.joined)
				}
				p.hasCarry = true
				return classified{kind: lineSkip}
			}
			line = line[i:] // the tail of another record, glued to this one
		}
	}
	if r, ok := parseJ100(line); ok {
		if r.part > 1 {
			if len(r.text) == 0 {
				return classified{kind: lineSkip}
			}
			return p.text(r.text)
		}
		p.last, p.host = r.time, r.host
		if string(r.tag) != "SIPMESSAGE" {
			return classified{kind: lineOther}
		}
		if m, ok := p.intro(r.text); ok {
			return classified{kind: lineIntro, meta: m}
		}
		return classified{kind: lineEnd}
	}
	if m, ok := p.intro(line); ok {
		return classified{kind: lineIntro, meta: m}
	}
	return p.text(line)
}

func (p *j100Log) text(l []byte) classified {
	if len(l) > 3 && (bytes.HasPrefix(l, []byte("RX ")) || bytes.HasPrefix(l, []byte("TX "))) && isStartLine(l[3:]) {
		l = l[3:]
	}
	return classified{text: l}
}

// pjsipLog reads pjsip's message log: "TX 713 bytes Request msg
// REGISTER/cseq=31564 (tdta0x341fb8) to tls 1.2.3.4:5061:" or "RX ...
// from ...", the message, then "--end msg--" (or a dashed line). Lines may
// carry a syslog header and Kiwi syslog columns; the message lines then
// carry the same program tag, and lines of other programs in between are
// passed over.
type pjsipLog struct {
	yl      yearless
	clock   dayClock
	inMsg   bool
	wrapped int // message lines carry a syslog header: 1 yes, 0 no, -1 not known yet
	tag     []byte
}

// pjsipIntro parses "RX|TX N bytes Request|Response msg ... from|to
// proto addr:port:" at the end of a line.
func pjsipIntro(l []byte) (meta, bool) {
	var m meta
	i := bytes.Index(l, []byte(" bytes Re"))
	if i < 0 {
		return m, false
	}
	j := i
	for j > 0 && isDigit(l[j-1]) {
		j--
	}
	if j == i || j < 3 || l[j-1] != ' ' || l[j-2] != 'X' || (l[j-3] != 'R' && l[j-3] != 'T') {
		return m, false
	}
	rx := l[j-3] == 'R'
	rest := l[i+len(" bytes "):]
	if !bytes.HasPrefix(rest, []byte("Request msg ")) && !bytes.HasPrefix(rest, []byte("Response msg ")) {
		return m, false
	}
	sep := []byte(" to ")
	if rx {
		sep = []byte(" from ")
	}
	k := bytes.LastIndex(rest, sep)
	if k < 0 {
		return m, false
	}
	f := bytes.Fields(rest[k+len(sep):])
	if len(f) != 2 {
		return m, false
	}
	addr, ok := bytes.CutSuffix(f[1], []byte(":"))
	if !ok {
		return m, false
	}
	ap, ok := parseAddrPort(addr)
	if !ok {
		return m, false
	}
	if rx {
		m.src = ap
	} else {
		m.dst = ap
	}
	m.transport = normTransport(f[0])
	return m, true
}

// pjsipUnwrap strips Kiwi columns and a syslog header from a line.
func (p *pjsipLog) unwrap(line []byte) (text []byte, wrapped bool, tag []byte, t time.Time, host netip.AddrPort) {
	var kiwi time.Time
	if kt, h, rest, ok := parseKiwi(line); ok {
		kiwi, host, line = kt, hostOnly(h), rest
	}
	h, ok := parseSyslog(line)
	if !ok {
		// A pjsua log on its own: "10:21:47.123 pjsua_core.c ...".
		if tod, _, ok := parseClock(line); ok && kiwi.IsZero() {
			t = p.clock.at(tod)
		}
		return line, false, nil, t, host
	}
	text, tag = h.rest, h.tag
	// pjsip's own record prefix "pjsip: 19:01:46.418 sender ..." has the
	// milliseconds that syslog lacks.
	tod, pj := h.tod, false
	if rest, ok := bytes.CutPrefix(text, []byte("pjsip: ")); ok {
		if d, _, ok := parseClock(rest); ok {
			tod, pj = d, true
		}
	}
	switch {
	case !kiwi.IsZero() && pj:
		y, mo, d := kiwi.Date()
		t = time.Date(y, mo, d, 0, 0, 0, 0, time.UTC).Add(tod)
	case !kiwi.IsZero():
		t = kiwi
	default:
		t = p.yl.at(h.mon, h.day, tod)
	}
	return text, true, tag, t, host
}

func sniffPJSIP(l []byte) bool {
	_, ok := pjsipIntro(l)
	return ok
}

func (p *pjsipLog) classify(line []byte) classified {
	text, wrapped, tag, t, host := p.unwrap(line)
	if m, ok := pjsipIntro(text); ok {
		m.time = t
		if host.Addr().IsValid() {
			if m.src.IsValid() {
				m.dst = host
			} else {
				m.src = host
			}
		}
		p.inMsg, p.wrapped = true, -1
		p.tag = append(p.tag[:0], tag...)
		return classified{kind: lineIntro, meta: m}
	}
	if !p.inMsg {
		if wrapped {
			return classified{kind: lineOther}
		}
		return classified{text: text}
	}
	if string(text) == "--end msg--" || isDashes(text, 10) {
		p.inMsg = false
		return classified{kind: lineEnd}
	}
	if p.wrapped < 0 {
		switch {
		case !wrapped:
			p.wrapped = 0
		case bytes.Equal(tag, p.tag):
			p.wrapped = 1
		}
	}
	switch {
	case p.wrapped < 0 || (p.wrapped == 1) != wrapped:
		return classified{kind: lineSkip} // another thread or program
	case wrapped && !bytes.Equal(tag, p.tag):
		return classified{kind: lineSkip}
	case wrapped && bytes.HasPrefix(text, []byte("pjsip: ")):
		p.inMsg = false
		return classified{kind: lineOther}
	}
	return classified{text: text}
}
