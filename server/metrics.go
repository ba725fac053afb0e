package server

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/store"
)

// Metrics are the collector's counters, written out in the Prometheus
// text exposition format (version 0.0.4) at /metrics.
type Metrics struct {
	received            atomic.Int64 // packets read from the sockets
	malformed           atomic.Int64 // not HEP, or HEP without a SIP message in it
	nonSIP              atomic.Int64 // HEP of another payload type, keep-alives
	rtcpReports         atomic.Int64 // agents' RTCP reports (HEP type 5) decoded
	qosReports          atomic.Int64 // agents' RTP statistics reports (HEP types 34-37) decoded
	reportsUnmatched    atomic.Int64 // reports about no open call (too late, or no such call)
	mediaWaiting        atomic.Int64 // finished calls waiting for their agents' last reports
	mediaWaitCapped     atomic.Int64 // finished calls stored without that wait: too many waited
	dropped             atomic.Int64 // queue full: messages of any call, admitted ones too
	shedCalls           atomic.Int64 // new calls and exchanges refused whole: the queue was past its soft watermark
	shedMessages        atomic.Int64 // messages of refused calls, their first ones included
	shedFull            atomic.Int64 // generations of refused Call-IDs ended early, full
	analyzed            atomic.Int64
	dialogs             atomic.Int64
	forced              atomic.Int64 // open calls finished early under memory pressure
	rawExpired          atomic.Int64
	retained            atomic.Int64 // calls deleted by retention
	pruned              atomic.Int64 // calls deleted to keep the store within --max-db-size
	tcpConns            atomic.Int64
	endpointsUntracked  atomic.Int64 // endpoints seen after the analyzer's table was full
	fingerprintsRotated atomic.Int64 // fingerprint generations ended early, full
	kernelDropsHEP      atomic.Int64 // datagrams the kernel dropped on the HEP socket (SO_RXQ_OVFL)
	kernelDropsSIP      atomic.Int64 // and on the plain SIP socket
	tcpRefused          atomic.Int64
	tcpEvicted          atomic.Int64 // idle connections closed to make room at the limit
	tcpIdleClosed       atomic.Int64 // connections closed for sending nothing in time
	openCalls           atomic.Int64
	rawBytes            atomic.Int64 // message bytes held for open calls, quiet ones compressed
	queueLen            atomic.Int64
	uploads             atomic.Int64
	uploadsBusy         atomic.Int64 // uploads refused with 503: every slot taken
	restamped           atomic.Int64 // messages whose own time was too far from the collector's clock
	authFailed          atomic.Int64 // requests with wrong credentials
	authThrottled       atomic.Int64 // requests refused with 429: too many failed logins from the client

	mu         sync.Mutex
	calls      map[[2]string]int64 // outcome, fault
	regs       map[string]int64    // outcome
	writeCount int64
	writeErr   int64
	writeSum   float64
	writeHist  []int64 // cumulative per bucket, as Prometheus wants
	buffer     func() store.BufferStats
}

// SetBuffer makes /metrics show the store's write buffer (the ClickHouse
// spool): its size, and the calls dropped when it was full.
func (m *Metrics) SetBuffer(f func() store.BufferStats) {
	m.mu.Lock()
	m.buffer = f
	m.mu.Unlock()
}

// writeBuckets are the upper bounds, in seconds, of the store write
// latency histogram.
var writeBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

// NewMetrics returns zeroed metrics.
func NewMetrics() *Metrics {
	return &Metrics{calls: map[[2]string]int64{}, regs: map[string]int64{}, writeHist: make([]int64, len(writeBuckets))}
}

func (m *Metrics) countCall(c *analyze.Call) {
	m.mu.Lock()
	m.calls[[2]string{c.Outcome, c.Fault}]++
	m.mu.Unlock()
}

func (m *Metrics) countRegister(r *analyze.Register) {
	m.mu.Lock()
	m.regs[r.Outcome]++
	m.mu.Unlock()
}

func (m *Metrics) observeWrite(d time.Duration, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		m.writeErr++
		return
	}
	s := d.Seconds()
	m.writeCount++
	m.writeSum += s
	for i, b := range writeBuckets {
		if s <= b {
			m.writeHist[i]++
		}
	}
}

// Snapshot is a copy of the main counters, for tests and the load script.
type Snapshot struct {
	Received, Malformed, NonSIP, Dropped, Analyzed, Forced, Calls int64
	ShedCalls                                                     int64 // new calls and exchanges refused whole under overload
	Shed                                                          int64 // messages of refused calls
	RTCP                                                          int64 // RTCP reports decoded
	QoS                                                           int64 // RTP statistics reports decoded
	ReportsUnmatched                                              int64 // RTCP and RTP statistics reports about no open call
	MediaWaitCapped                                               int64 // finished calls stored without waiting for reports
}

// Snapshot returns the main counters.
func (m *Metrics) Snapshot() Snapshot {
	s := Snapshot{Received: m.received.Load(), Malformed: m.malformed.Load(), NonSIP: m.nonSIP.Load(),
		Dropped: m.dropped.Load(), ShedCalls: m.shedCalls.Load(), Shed: m.shedMessages.Load(), Analyzed: m.analyzed.Load(), Forced: m.forced.Load(), RTCP: m.rtcpReports.Load(),
		QoS: m.qosReports.Load(), ReportsUnmatched: m.reportsUnmatched.Load(), MediaWaitCapped: m.mediaWaitCapped.Load()}
	m.mu.Lock()
	for _, n := range m.calls {
		s.Calls += n
	}
	m.mu.Unlock()
	return s
}

// WritePrometheus writes every metric in the Prometheus text format.
func (m *Metrics) WritePrometheus(w io.Writer) error {
	var err error
	p := func(format string, a ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, a...)
		}
	}
	counter := func(name, help string, v int64) {
		p("# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
	}
	gauge := func(name, help string, v int64) {
		p("# HELP %s %s\n# TYPE %s gauge\n%s %d\n", name, help, name, name, v)
	}
	counter("sipcause_packets_received_total", "Packets read from the HEP and SIP sockets.", m.received.Load())
	p("# HELP sipcause_packets_rejected_total Packets not analyzed, by reason.\n# TYPE sipcause_packets_rejected_total counter\n")
	p("sipcause_packets_rejected_total{reason=\"malformed\"} %d\n", m.malformed.Load())
	p("sipcause_packets_rejected_total{reason=\"not_sip\"} %d\n", m.nonSIP.Load())
	p("sipcause_packets_rejected_total{reason=\"queue_full\"} %d\n", m.dropped.Load())
	p("sipcause_packets_rejected_total{reason=\"shed\"} %d\n", m.shedMessages.Load())
	p("# HELP sipcause_kernel_drops_total Datagrams the kernel dropped before sipcause read them (receive buffer full), by socket.\n# TYPE sipcause_kernel_drops_total counter\n")
	p("sipcause_kernel_drops_total{socket=\"hep\"} %d\n", m.kernelDropsHEP.Load())
	p("sipcause_kernel_drops_total{socket=\"sip\"} %d\n", m.kernelDropsSIP.Load())
	counter("sipcause_rtcp_reports_total", "RTCP reports (HEP payload type 5) decoded and handed to the analyzer.", m.rtcpReports.Load())
	counter("sipcause_rtp_stats_reports_total", "RTP statistics reports (HEP payload types 34 to 37) decoded and handed to the analyzer.", m.qosReports.Load())
	counter("sipcause_media_reports_unmatched_total", "RTCP and RTP statistics reports about no open call: it was stored already, or never seen.", m.reportsUnmatched.Load())
	counter("sipcause_media_wait_capped_total", "Finished calls stored without waiting for their agents' last reports, because --max-media-waiting calls already waited.", m.mediaWaitCapped.Load())
	counter("sipcause_endpoints_untracked_total", "Endpoints seen after the analyzer's endpoint table (65536) was full: their roles are not worked out.", m.endpointsUntracked.Load())
	counter("sipcause_fingerprint_generations_full_total", "Retransmission-fingerprint generations ended early because they were full.", m.fingerprintsRotated.Load())
	counter("sipcause_messages_dropped_total", "SIP messages dropped because the analyzer queue was full, whatever call they belonged to: calls stored since may lack messages.", m.dropped.Load())
	counter("sipcause_calls_shed_total", "New calls and exchanges (REGISTER, OPTIONS, ...) refused whole because the analyzer queue was past half its budget; they are not stored.", m.shedCalls.Load())
	counter("sipcause_messages_shed_total", "SIP messages of refused calls and exchanges, the first ones included, kept from the analyzer.", m.shedMessages.Load())
	counter("sipcause_shed_generations_full_total", "Generations of refused Call-IDs ended early because they were full: refused calls were remembered for less than 5 minutes.", m.shedFull.Load())
	counter("sipcause_messages_analyzed_total", "SIP messages fed to the analyzer.", m.analyzed.Load())
	counter("sipcause_dialogs_total", "Non-INVITE exchanges seen (OPTIONS, SUBSCRIBE, ...).", m.dialogs.Load())
	counter("sipcause_calls_forced_total", "Open calls finished early because the open-call limit was reached.", m.forced.Load())
	counter("sipcause_raw_expired_total", "Message sets of calls the analyzer gave up without reporting, forgotten.", m.rawExpired.Load())
	counter("sipcause_retention_deleted_calls_total", "Calls deleted by retention.", m.retained.Load())
	counter("sipcause_db_pruned_calls_total", "Oldest calls deleted to keep the database within --max-db-size.", m.pruned.Load())
	counter("sipcause_hep_tcp_refused_total", "HEP TCP connections refused: too many from one address.", m.tcpRefused.Load())
	counter("sipcause_hep_tcp_evicted_total", "HEP TCP connections idle the longest, closed to make room at the connection limit.", m.tcpEvicted.Load())
	counter("sipcause_hep_tcp_idle_closed_total", "HEP TCP connections closed for sending no packet in time.", m.tcpIdleClosed.Load())
	counter("sipcause_time_restamped_total", "Messages whose own timestamp was too far from the collector's clock, analyzed at their arrival time.", m.restamped.Load())
	counter("sipcause_uploads_total", "Captures analyzed through the web UI or the API.", m.uploads.Load())
	counter("sipcause_auth_failures_total", "Requests to the UI or API with wrong credentials.", m.authFailed.Load())
	counter("sipcause_auth_throttled_total", "Requests refused with 429 because their client had too many failed logins.", m.authThrottled.Load())
	counter("sipcause_uploads_busy_total", "Uploads answered 503 because every upload slot was taken.", m.uploadsBusy.Load())
	gauge("sipcause_hep_tcp_connections", "Open HEP TCP connections.", m.tcpConns.Load())
	gauge("sipcause_open_calls", "Calls open in the analyzer.", m.openCalls.Load())
	gauge("sipcause_media_waiting_calls", "Finished calls waiting for their agents' last RTCP and RTP statistics reports.", m.mediaWaiting.Load())
	gauge("sipcause_raw_bytes", "Bytes of raw messages held for the open calls, compressed for calls quiet for a quarter of a second (budget: a quarter of --max-memory).", m.rawBytes.Load())
	gauge("sipcause_queue_length", "Messages waiting for the analyzer.", m.queueLen.Load())

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.buffer != nil {
		b := m.buffer()
		gauge("sipcause_store_spool_bytes", "Batches on local disk waiting for the database.", b.Bytes)
		gauge("sipcause_store_spool_batches", "Batches on local disk waiting for the database.", b.Batches)
		counter("sipcause_store_spool_retries_total", "Inserts into the database that failed and wait for a retry.", b.Retries)
		counter("sipcause_store_spool_damaged_total", "Spool files torn by a system crash, set aside.", b.Damaged)
		counter("sipcause_store_spool_rejected_total", "Spool files the database refused again and again, set aside.", b.Rejected)
		p("# HELP sipcause_store_dropped_total Calls and registrations dropped because the spool was full.\n# TYPE sipcause_store_dropped_total counter\n")
		p("sipcause_store_dropped_total{kind=\"call\"} %d\nsipcause_store_dropped_total{kind=\"registration\"} %d\n", b.DroppedCalls, b.DroppedRegs)
	}
	p("# HELP sipcause_calls_total Finished calls by outcome and fault.\n# TYPE sipcause_calls_total counter\n")
	keys := slices.SortedFunc(maps.Keys(m.calls), func(a, b [2]string) int {
		if a[0] != b[0] {
			return cmpString(a[0], b[0])
		}
		return cmpString(a[1], b[1])
	})
	for _, k := range keys {
		p("sipcause_calls_total{outcome=%q,fault=%q} %d\n", k[0], k[1], m.calls[k])
	}
	p("# HELP sipcause_registrations_total Finished registrations by outcome.\n# TYPE sipcause_registrations_total counter\n")
	for _, k := range slices.Sorted(maps.Keys(m.regs)) {
		p("sipcause_registrations_total{outcome=%q} %d\n", k, m.regs[k])
	}
	p("# HELP sipcause_store_write_seconds Time to write one batch to the store.\n# TYPE sipcause_store_write_seconds histogram\n")
	for i, b := range writeBuckets {
		p("sipcause_store_write_seconds_bucket{le=\"%g\"} %d\n", b, m.writeHist[i])
	}
	p("sipcause_store_write_seconds_bucket{le=\"+Inf\"} %d\n", m.writeCount)
	p("sipcause_store_write_seconds_sum %g\nsipcause_store_write_seconds_count %d\n", m.writeSum, m.writeCount)
	p("# HELP sipcause_store_write_errors_total Batches the store refused.\n# TYPE sipcause_store_write_errors_total counter\nsipcause_store_write_errors_total %d\n", m.writeErr)
	return err
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
