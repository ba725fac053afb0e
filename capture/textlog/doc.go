// Package textlog reads SIP messages out of text logs, for the many
// cases where a PBX or phone log is all there is instead of a pcap.
//
// NewReader detects the log's format from its first 64 KiB (Detect) and
// then streams it line by line: memory is bounded by MaxLineLength and
// MaxMessageSize whatever the input. Formats read:
//
//   - raw: SIP messages pasted one after the other, blank-line separated;
//   - sngrep: sngrep's "Save as .txt" export;
//   - asterisk-pjsip: "pjsip set logger on" (console or full log);
//   - asterisk-chansip: "sip set debug on";
//   - freeswitch: sofia-sip's siptrace ("recv 612 bytes from udp/[...]");
//   - kamailio: the sipdump module's text files and xlog lines printing
//     "[$si:$sp -> $Ri:$Rp] $mb";
//   - pjsip: pjsip's message log (Avaya B179, B199, pjsua), plain, in
//     syslog or in Kiwi/SolarWinds syslog columns;
//   - avaya-ipo: Avaya IP Office System Monitor text;
//   - avaya-j100: Avaya J100-series phone syslog, records split in parts;
//   - avaya-sipserver: Avaya iView/Equinox sipserver.log.
//
// Each Message carries the log line it starts on, the time and addresses
// the log gives, and the payload with CRLF line ends restored and the
// body fitted to Content-Length where the log allows (RFC 3261 §7.5,
// §18.3). A message that cannot be read is skipped; Skipped counts them
// and Problems says where they were, as *ParseError values.
//
// Usage:
//
//	r := textlog.NewReader("pbx.log", f)
//	for {
//		m, err := r.Next()
//		if err == io.EOF {
//			break
//		}
//		if err != nil {
//			return err
//		}
//		analyze(m.Time, m.Src, m.Dst, m.Payload)
//	}
//
// The package imports nothing of sipcause's, so that package capture can
// import it.
package textlog
