package textlog

import (
	"bytes"
	"net/netip"
	"strconv"
	"time"
)

// Kinds of log that Detect tells apart.
const (
	KindRaw             = "raw"              // SIP messages pasted one after the other
	KindSngrep          = "sngrep"           // sngrep "Save as .txt"
	KindAsteriskPJSIP   = "asterisk-pjsip"   // Asterisk "pjsip set logger on"
	KindAsteriskChanSIP = "asterisk-chansip" // Asterisk "sip set debug on"
	KindFreeSWITCH      = "freeswitch"       // FreeSWITCH/sofia-sip "sofia global siptrace on"
	KindKamailio        = "kamailio"         // Kamailio sipdump text files, xlog "[src -> dst] $mb"
	KindPJSIP           = "pjsip"            // pjsip message log (Avaya B179, B199 ...), plain or in syslog
	KindAvayaIPO        = "avaya-ipo"        // Avaya IP Office System Monitor text
	KindAvayaJ100       = "avaya-j100"       // Avaya J100-series phone syslog
	KindAvayaSipserver  = "avaya-sipserver"  // Avaya iView/Equinox sipserver.log
)

func newClassifier(kind string) classifier {
	switch kind {
	case KindSngrep:
		return &sngrepLog{}
	case KindAsteriskPJSIP:
		return &asteriskLog{pjsip: true}
	case KindAsteriskChanSIP:
		return &asteriskLog{}
	case KindFreeSWITCH:
		return &freeswitchLog{}
	case KindKamailio:
		return &kamailioLog{}
	case KindPJSIP:
		return &pjsipLog{}
	case KindAvayaIPO:
		return &ipoLog{}
	case KindAvayaJ100:
		return &j100Log{}
	case KindAvayaSipserver:
		return &sipserverLog{}
	}
	return rawLog{}
}

// sniffers in the order Detect tries them on each line.
var sniffers = []struct {
	kind  string
	sniff func([]byte) bool
}{
	{KindAvayaSipserver, sniffSipserver},
	{KindAvayaIPO, func(l []byte) bool { _, ok := ipoIntro(l); return ok }},
	{KindAvayaJ100, sniffJ100},
	{KindPJSIP, sniffPJSIP},
	{KindAsteriskPJSIP, func(l []byte) bool { _, ok := asteriskPJSIPIntro(l); return ok }},
	{KindAsteriskChanSIP, func(l []byte) bool { _, _, ok := chanSIPLine(l); return ok }},
	{KindFreeSWITCH, func(l []byte) bool { _, ok := freeswitchIntro(l); return ok }},
	{KindKamailio, sniffKamailio},
	{KindSngrep, func(l []byte) bool { _, ok := sngrepIntro(l); return ok }},
}

// Detect tells the format of a log from its first bytes (64 KiB is
// plenty): the first line that only one format writes decides. A log
// with SIP start lines but no such line is "raw". ok is false when head
// holds no SIP at all.
func Detect(head []byte) (kind string, ok bool) {
	raw := false
	for len(head) > 0 {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		for _, s := range sniffers {
			if s.sniff(line) {
				return s.kind, true
			}
		}
		if !raw && isStartLine(line) {
			raw = true
		}
	}
	if raw {
		return KindRaw, true
	}
	return "", false
}

// parseAddrPort parses "1.2.3.4:5060", "[::1]:5060" and the unbracketed
// "2001:db8::1:5060" (sngrep).
func parseAddrPort(b []byte) (netip.AddrPort, bool) {
	s := string(b)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap, true
	}
	i := bytes.LastIndexByte(b, ':')
	if i < 0 {
		return netip.AddrPort{}, false
	}
	a, err := netip.ParseAddr(s[:i])
	if err != nil {
		return netip.AddrPort{}, false
	}
	p, err := strconv.ParseUint(s[i+1:], 10, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a, uint16(p)), true
}

// hostOnly is the address of a host named without a port, or zero.
func hostOnly(b []byte) netip.AddrPort {
	a, err := netip.ParseAddr(string(b))
	if err != nil {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(a, 0)
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return len(b) > 0
}

// rawLog reads SIP messages pasted one after the other.
type rawLog struct{}

func (rawLog) classify(line []byte) classified { return classified{text: line} }

// sngrepLog reads sngrep's text export: each message follows a line
// "2016/05/25 10:21:47.123456 10.0.0.1:5060 -> 10.0.0.2:5060".
type sngrepLog struct{}

func sngrepIntro(l []byte) (meta, bool) {
	var m meta
	day, ok := parseDate(l)
	if !ok || len(l) < 12 || l[4] != '/' || l[10] != ' ' {
		return m, false
	}
	tod, n, ok := parseClock(l[11:])
	if !ok {
		return m, false
	}
	rest := l[11+n:]
	if len(rest) < 1 || rest[0] != ' ' {
		return m, false
	}
	src, dst, ok := bytes.Cut(rest[1:], []byte(" -> "))
	if !ok {
		return m, false
	}
	if m.src, ok = parseAddrPort(src); !ok {
		return m, false
	}
	if m.dst, ok = parseAddrPort(dst); !ok {
		return m, false
	}
	m.time = day.Add(tod)
	return m, true
}

func (*sngrepLog) classify(line []byte) classified {
	if m, ok := sngrepIntro(line); ok {
		return classified{kind: lineIntro, meta: m}
	}
	return classified{text: line}
}

// asteriskLog reads Asterisk console or "full" log output from the PJSIP
// logger (res_pjsip_logger) or chan_sip debug.
type asteriskLog struct {
	pjsip bool
	yl    yearless
	last  time.Time // time of the last log record, for chan_sip intros
}

// asteriskStamp parses the "[Mar 18 10:21:47]" or
// "[2024-03-18 10:21:47.123]" at the start of a log record.
func (a *asteriskLog) stamp(l []byte) (time.Time, []byte, bool) {
	if len(l) < 2 || l[0] != '[' {
		return time.Time{}, nil, false
	}
	end := bytes.IndexByte(l, ']')
	if end < 0 {
		return time.Time{}, nil, false
	}
	in, rest := l[1:end], bytes.TrimPrefix(l[end+1:], []byte{' '})
	if t, n, ok := parseDateTime(in); ok && n == len(in) {
		return t, rest, true
	}
	mon, day, n, ok := parseMonthDay(in)
	if !ok || n >= len(in) || in[n] != ' ' {
		return time.Time{}, nil, false
	}
	tod, k, ok := parseClock(in[n+1:])
	if !ok || n+1+k != len(in) {
		return time.Time{}, nil, false
	}
	return a.yl.at(mon, day, tod), rest, true
}

// asteriskPJSIPIntro parses "<--- Received SIP request (1066 bytes) from
// UDP:1.2.3.4:5060 --->" or "<--- Transmitting SIP response (NNN bytes)
// to TLS:[::1]:5061 --->" anywhere in a line.
func asteriskPJSIPIntro(l []byte) (meta, bool) {
	var m meta
	i := bytes.Index(l, []byte("<--- "))
	if i < 0 {
		return m, false
	}
	rest := l[i+5:]
	var rx bool
	switch {
	case bytes.HasPrefix(rest, []byte("Received SIP ")):
		rx = true
	case bytes.HasPrefix(rest, []byte("Transmitting SIP ")):
	default:
		return m, false
	}
	_, after, ok := bytes.Cut(rest, []byte(" bytes) "))
	if !ok {
		return m, false
	}
	dir := []byte("to ")
	if rx {
		dir = []byte("from ")
	}
	after, ok = bytes.CutPrefix(after, dir)
	if !ok {
		return m, false
	}
	addr, _, ok := bytes.Cut(after, []byte(" --->"))
	if !ok {
		return m, false
	}
	tr, hp, ok := bytes.Cut(addr, []byte{':'})
	if !ok {
		return m, false
	}
	ap, ok := parseAddrPort(hp)
	if !ok {
		return m, false
	}
	m.transport = normTransport(tr)
	if rx {
		m.src = ap
	} else {
		m.dst = ap
	}
	return m, true
}

// chanSIPLine parses the chan_sip debug lines that frame a message:
// "<--- SIP read from UDP:1.2.3.4:5060 --->" and "(Reliably |Re)Transmitting
// (NAT) to 1.2.3.4:5060:" introduce one; "<------------->" and "---" end
// one. It returns lineIntro or lineEnd.
func chanSIPLine(l []byte) (classified, lineKind, bool) {
	var c classified
	if string(l) == "<------------->" || string(l) == "---" {
		return c, lineEnd, true
	}
	if rest, ok := bytes.CutPrefix(l, []byte("<--- SIP read from ")); ok {
		addr, ok := bytes.CutSuffix(rest, []byte(" --->"))
		if !ok {
			return c, 0, false
		}
		tr, hp, ok := bytes.Cut(addr, []byte{':'})
		if !ok {
			return c, 0, false
		}
		ap, ok := parseAddrPort(hp)
		if !ok {
			return c, 0, false
		}
		c.meta.src, c.meta.transport = ap, normTransport(tr)
		return c, lineIntro, true
	}
	rest := bytes.TrimPrefix(l, []byte("Reliably "))
	switch {
	case bytes.HasPrefix(rest, []byte("Transmitting (")):
	case bytes.HasPrefix(rest, []byte("Retransmitting #")):
	default:
		return c, 0, false
	}
	_, addr, ok := bytes.Cut(rest, []byte(") to "))
	if !ok {
		return c, 0, false
	}
	addr, ok = bytes.CutSuffix(addr, []byte(":"))
	if !ok {
		return c, 0, false
	}
	ap, ok := parseAddrPort(addr)
	if !ok {
		return c, 0, false
	}
	c.meta.dst = ap
	return c, lineIntro, true
}

func (a *asteriskLog) classify(line []byte) classified {
	t, rest, stamped := a.stamp(line)
	if stamped {
		a.last = t
	}
	if a.pjsip {
		if m, ok := asteriskPJSIPIntro(line); ok {
			m.time = a.last
			return classified{kind: lineIntro, meta: m}
		}
		if stamped {
			return classified{kind: lineOther}
		}
		return classified{text: line}
	}
	// chan_sip's verbose output starts with the record's prefix, but its
	// text may begin on that line or on the next one.
	body := line
	if stamped {
		if _, after, ok := bytes.Cut(rest, []byte(": ")); ok {
			body = after
		} else {
			body = nil
		}
	}
	if c, kind, ok := chanSIPLine(body); ok {
		c.kind = kind
		c.meta.time = a.last
		return c
	}
	if stamped {
		return classified{kind: lineOther}
	}
	return classified{text: line}
}

// freeswitchLog reads sofia-sip's tport log ("sofia global siptrace on"):
// "recv 1234 bytes from udp/[1.2.3.4]:5060 at 10:21:47.123456:", a dashed
// line, the message indented by three spaces, a dashed line.
type freeswitchLog struct {
	clock  dayClock
	opened bool
}

func freeswitchIntro(l []byte) (meta, bool) {
	var m meta
	var rx bool
	rest, ok := bytes.CutPrefix(l, []byte("recv "))
	if ok {
		rx = true
	} else if rest, ok = bytes.CutPrefix(l, []byte("send ")); !ok {
		return m, false
	}
	n, rest, ok := bytes.Cut(rest, []byte(" bytes "))
	if !ok || !allDigits(n) {
		return m, false
	}
	if rx {
		rest, ok = bytes.CutPrefix(rest, []byte("from "))
	} else {
		rest, ok = bytes.CutPrefix(rest, []byte("to "))
	}
	if !ok {
		return m, false
	}
	tr, rest, ok := bytes.Cut(rest, []byte("/["))
	if !ok {
		return m, false
	}
	host, rest, ok := bytes.Cut(rest, []byte("]:"))
	if !ok {
		return m, false
	}
	port, rest, ok := bytes.Cut(rest, []byte(" at "))
	if !ok {
		return m, false
	}
	if i := bytes.IndexAny(port, "/;"); i >= 0 {
		port = port[:i] // flow label, ";comp=sigcomp"
	}
	a, err := netip.ParseAddr(string(host))
	if err != nil {
		return m, false
	}
	p, err := strconv.ParseUint(string(port), 10, 16)
	if err != nil {
		return m, false
	}
	tod, k, ok := parseClock(rest)
	if !ok || k+1 != len(rest) || rest[k] != ':' {
		return m, false
	}
	ap := netip.AddrPortFrom(a, uint16(p))
	if rx {
		m.src = ap
	} else {
		m.dst = ap
	}
	m.transport = normTransport(tr)
	m.time = time.Time{}.Add(tod) // made absolute by the caller
	return m, true
}

func isDashes(l []byte, min int) bool {
	if len(l) < min {
		return false
	}
	for _, c := range l {
		if c != '-' {
			return false
		}
	}
	return true
}

func (f *freeswitchLog) classify(line []byte) classified {
	if m, ok := freeswitchIntro(line); ok {
		m.time = f.clock.at(m.time.Sub(time.Time{}))
		f.opened = false
		return classified{kind: lineIntro, meta: m}
	}
	if isDashes(bytes.TrimLeft(line, " "), 20) {
		if !f.opened {
			f.opened = true
			return classified{kind: lineSkip}
		}
		f.opened = false
		return classified{kind: lineEnd}
	}
	if t, _, ok := parseDateTime(line); ok {
		// A FreeSWITCH log record: it dates the siptrace lines after it.
		f.clock.setDate(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC))
		return classified{kind: lineOther}
	}
	if bytes.HasPrefix(line, []byte("   *** message truncated")) {
		return classified{kind: lineSkip}
	}
	for i := 0; i < 3 && len(line) > 0 && line[0] == ' '; i++ {
		line = line[1:]
	}
	return classified{text: line}
}

// kamailioLog reads the sipdump module's text files and xlog lines that
// print "[$si:$sp -> $Ri:$Rp]" before $mb.
type kamailioLog struct {
	yl     yearless
	inHead bool
	m      meta
	srcIP  netip.Addr
	dstIP  netip.Addr
}

const (
	sipdumpStart = "===================="
	sipdumpData  = "~~~~~~~~~~~~~~~~~~~~"
	sipdumpEnd   = "||||||||||||||||||||"
)

func sniffKamailio(l []byte) bool {
	if string(l) == sipdumpStart {
		return true
	}
	_, _, ok := arrowBracket(l)
	return ok
}

// arrowBracket finds "[1.2.3.4:5060 -> 5.6.7.8:5060]" in a line and
// returns the addresses and the text after it.
func arrowBracket(l []byte) (meta, []byte, bool) {
	var m meta
	i := bytes.Index(l, []byte(" -> "))
	if i < 0 {
		return m, nil, false
	}
	open := bytes.LastIndexByte(l[:i], '[')
	end := bytes.IndexByte(l[i:], ']')
	if open < 0 || end < 0 {
		return m, nil, false
	}
	end += i
	// IPv6 addresses bring their own brackets: "[[::1]:5060 -> ...]".
	if open > 0 && l[open-1] == '[' {
		open--
	}
	for end+1 < len(l) && l[end+1] == ']' {
		end++
	}
	src, ok := parseAddrPort(l[open+1 : i])
	if !ok {
		return m, nil, false
	}
	dst, ok := parseAddrPort(l[i+4 : end])
	if !ok {
		return m, nil, false
	}
	m.src, m.dst = src, dst
	return m, bytes.TrimPrefix(l[end+1:], []byte{' '}), true
}

func (k *kamailioLog) classify(line []byte) classified {
	switch string(line) {
	case sipdumpStart:
		k.inHead, k.m, k.srcIP, k.dstIP = true, meta{}, netip.Addr{}, netip.Addr{}
		return classified{kind: lineEnd}
	case sipdumpData:
		k.inHead = false
		return classified{kind: lineIntro, meta: k.m}
	case sipdumpEnd:
		return classified{kind: lineEnd}
	}
	if k.inHead {
		key, val, _ := bytes.Cut(line, []byte(": "))
		switch string(key) {
		case "time":
			sec, frac, _ := bytes.Cut(val, []byte{'.'})
			s, err1 := strconv.ParseInt(string(sec), 10, 64)
			us, err2 := strconv.ParseInt(string(frac), 10, 64)
			if err1 == nil && err2 == nil && len(frac) == 6 {
				k.m.time = time.Unix(s, us*1000).UTC()
			}
		case "proto":
			tr, _, _ := bytes.Cut(val, []byte{' '})
			k.m.transport = normTransport(tr)
		case "srcip":
			k.srcIP, _ = netip.ParseAddr(string(val))
			k.m.src = netip.AddrPortFrom(k.srcIP, k.m.src.Port())
		case "dstip":
			k.dstIP, _ = netip.ParseAddr(string(val))
			k.m.dst = netip.AddrPortFrom(k.dstIP, k.m.dst.Port())
		case "srcport":
			if p, err := strconv.ParseUint(string(val), 10, 16); err == nil {
				k.m.src = netip.AddrPortFrom(k.srcIP, uint16(p))
			}
		case "dstport":
			if p, err := strconv.ParseUint(string(val), 10, 16); err == nil {
				k.m.dst = netip.AddrPortFrom(k.dstIP, uint16(p))
			}
		}
		return classified{kind: lineSkip}
	}
	if m, text, ok := arrowBracket(line); ok {
		if h, ok := parseSyslog(line); ok {
			m.time = k.yl.at(h.mon, h.day, h.tod)
		} else if t, _, ok := parseDateTime(line); ok {
			m.time = t
		}
		return classified{kind: lineIntro, meta: m, text: text}
	}
	return classified{text: line}
}
