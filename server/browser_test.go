package server

import (
	"context"
	"flag"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sipcause/sipcause/catalog"
	"github.com/sipcause/sipcause/server/internal/synth"
	"github.com/sipcause/sipcause/store"
)

var screenshots = flag.String("screenshots", "", "write a PNG of each page the browser tests visit to this directory")

// xssCorpus are values a hostile caller can put in SIP headers; each would
// set window.__xss or document.title if a page let it run.
var xssCorpus = []string{
	`<script>window.__xss=1</script>`,
	`<img src=x onerror=window.__xss=2>`,
	`'><svg onload=window.__xss=3>`,
	`</title><script>document.title='pwned'</script>`,
	`<iframe srcdoc="<script>parent.__xss=5</script>"></iframe>`,
	`javascript:window.__xss=6`,
	`<a href=javascript:window.__xss=7>x</a>`,
	`{{.}}<style>body{display:none}</style>`,
}

// filledStore runs the collector over synthetic calls sent by HEP, among
// them calls carrying the XSS corpus, and returns the store it wrote.
func filledStore(t *testing.T) *store.SQLite {
	t.Helper()
	r := startCollector(t, "", CollectorOptions{})
	base := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var pkts [][]byte
	for i := range 60 {
		o := synth.CallOptions{Status: []int{200, 486, 404, 503, 200, 480}[i%6]}
		call := synth.Call(i, base.Add(time.Duration(i)*37*time.Second), o)
		// The answered calls come with an agent's RTP statistics (HEP
		// type 34): audio both ways on some, one way on the others, so
		// that the dashboard has MOS and one-way calls to draw.
		if o.Status == 200 {
			id := fmt.Sprintf("synth-%d@sipcause.test", i)
			ua := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 4000)
			px := netip.MustParseAddrPort("10.0.0.1:30000")
			at := base.Add(time.Duration(i)*37*time.Second + time.Second)
			back := 1000
			if i%6 == 4 {
				back = 0
			}
			pkts = append(pkts, withRTCP(call, [][]byte{
				hepReport(34, ua, px, at, id, rtpAgentReport(id, ua, px, 1000, i%5, 1, 4.4-float64(i)/100, "PERIODIC")),
				hepReport(34, px, ua, at, id, rtpAgentReport(id, px, ua, back, 0, 1, 4.2, "PERIODIC")),
			})...)
			continue
		}
		pkts = append(pkts, hepOf(call)...)
	}
	for i, x := range xssCorpus {
		o := synth.CallOptions{
			CallID:      "xss-" + string(rune('a'+i)) + "@sipcause.test",
			Caller:      "3199000000" + string(rune('0'+i)),
			DisplayName: x, UserAgent: x, Status: 486,
			Reason:     `Q.850;cause=17;text="` + strings.ReplaceAll(x, `"`, `'`) + `"`,
			SDPSession: x,
		}
		pkts = append(pkts, hepOf(synth.Call(100+i, base.Add(time.Hour+time.Duration(i)*time.Minute), o))...)
	}
	sendUDP(t, r.col.HEPAddr(), pkts)
	r.waitReceived(t, int64(len(pkts)))
	r.stop(t)
	st, err := store.OpenSQLite(r.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func requireChromium(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: browser tests start Chromium")
	}
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Skip("browser tests: chromium not installed (Debian: apt-get install chromium)")
	return ""
}

func browser(t *testing.T) context.Context {
	t.Helper()
	exe := requireChromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		// As on a phone, scroll bars take no room: the screenshots show the
		// whole width the page was laid out in (not 15 px less).
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1000),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelT(); cancelB(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Skipf("browser tests: chromium does not start: %v", err)
	}
	return ctx
}

func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if *screenshots == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	os.MkdirAll(*screenshots, 0o755)
	os.WriteFile(filepath.Join(*screenshots, name+".png"), png, 0o644)
}

// notExecuted checks that nothing from the corpus ran on the current page
// and that no markup from it reached the DOM.
func notExecuted(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	xss, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__xss !== undefined || (window.parent && window.parent.__xss !== undefined)`))
	if err != nil {
		t.Fatalf("%s: %v", page, err)
	}
	title, _ := chromedp.Run(ctx, chromedp.Title())
	scripts, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.scripts.length + document.querySelectorAll('iframe,img,main style').length`))
	handlers, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[onerror],[onload],a[href^="javascript"]').length`))
	if xss || title == "pwned" || scripts != 0 || handlers != 0 {
		t.Errorf("%s: injected markup is live: __xss=%v title=%q scripts/iframes/img/style=%d handlers=%d", page, xss, title, scripts, handlers)
	}
}

func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

type css = chromedp.CSS

func TestBrowser(t *testing.T) {
	ctx := browser(t)
	st := filledStore(t)
	ts := httptest.NewServer(NewHandler(HandlerOptions{Lang: catalog.English}, st, NewMetrics()))
	defer ts.Close()

	t.Run("search", func(t *testing.T) {
		do(t, ctx,
			chromedp.Navigate(ts.URL+"/calls"),
			chromedp.SetValue(css(`input[name=number]`), "31200000007"),
			chromedp.Submit(css(`input[name=number]`)),
			chromedp.WaitVisible(css(`#calls`)),
		)
		rows := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#calls tbody tr').length`))
		first := run(t, ctx, chromedp.Text(css(`#calls tbody tr`)))
		if rows != 1 || !strings.Contains(first, "31200000007") {
			t.Errorf("search for 31200000007: %d rows, first %q", rows, first)
		}
		shot(t, ctx, "search")
	})

	t.Run("detail", func(t *testing.T) {
		do(t, ctx, chromedp.Click(css(`#calls tbody tr a`)), chromedp.WaitVisible(css(`#ladder`)))
		expl := run(t, ctx, chromedp.Text(css(`#explanation`)))
		arrows := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#ladder g.msg').length`))
		if len(expl) < 20 || arrows < 4 {
			t.Errorf("detail: explanation %q, %d arrows in the ladder", expl, arrows)
		}
		shot(t, ctx, "detail")
	})

	t.Run("language", func(t *testing.T) {
		do(t, ctx, chromedp.Click(css(`#lang-switch`)), chromedp.WaitVisible(css(`#ladder`)))
		lang := run(t, ctx, chromedp.AttributeValue(css(`html`), "lang"))
		nav := run(t, ctx, chromedp.Text(css(`header nav a`)))
		if lang.Value != "nl" || nav != "Gesprekken" {
			t.Errorf("after the switch: lang=%q, first nav %q", lang.Value, nav)
		}
		shot(t, ctx, "detail-nl")
		// The cookie keeps the choice on the next page.
		do(t, ctx, chromedp.Navigate(ts.URL+"/dashboard"))
		lang = run(t, ctx, chromedp.AttributeValue(css(`html`), "lang"))
		if lang.Value != "nl" {
			t.Errorf("language not kept: %q", lang.Value)
		}
		shot(t, ctx, "dashboard-nl")
		do(t, ctx, chromedp.Navigate(ts.URL+"/calls?lang=en"))
	})

	t.Run("upload", func(t *testing.T) {
		file, err := filepath.Abs(sharedCapture(t, "sngrep__aaa.pcap"))
		if err != nil {
			t.Fatal(err)
		}
		do(t, ctx,
			chromedp.Navigate(ts.URL+"/analyze"),
			chromedp.SetUploadFiles(css(`#file`), []string{file}),
			chromedp.Click(css(`#analyze`)),
			chromedp.WaitReady(css(`svg`)),
		)
		body := run(t, ctx, chromedp.Text(css(`body`)))
		if !strings.Contains(body, "sngrep__aaa.pcap") {
			t.Errorf("upload: the report does not name the file:\n%.500s", body)
		}
		shot(t, ctx, "upload-report")
	})

	t.Run("lookup", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(ts.URL+"/lookup?q=486"))
		res := run(t, ctx, chromedp.Text(css(`#lookup-result`)))
		if !strings.Contains(res, "Busy Here") {
			t.Errorf("lookup 486: %q", res)
		}
		shot(t, ctx, "lookup")
	})

	t.Run("dashboard", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(ts.URL+"/dashboard?range=6h"))
		charts := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('svg.chart').length`))
		// Six of calls and failures, three of audio: by verdict, MOS and
		// one-way calls over time.
		if charts != 9 {
			t.Errorf("dashboard: %d charts, want 9", charts)
		}
		// The MOS chart: a mean and a worst line with a dot per bucket
		// that had calls, within the plot, and a legend in the page's
		// language; the one-way chart: the 10 one-way calls as bars.
		dots := run(t, ctx, chromedp.Evaluate[[]int](`Array.from(document.querySelectorAll('#chart-mos circle.dot')).map(c => +c.getAttribute('cy'))`))
		if len(dots) == 0 || len(dots)%2 != 0 {
			t.Errorf("MOS chart: %d dots", len(dots))
		}
		for _, y := range dots {
			if y < chartT || y > chartT+chartPH {
				t.Errorf("MOS dot at y=%d, outside the plot", y)
			}
		}
		lang := run(t, ctx, chromedp.AttributeValue(css(`html`), "lang"))
		l := labelsFor(catalog.Lang(lang.Value))
		if legend := run(t, ctx, chromedp.Text(css(`#chart-mos .legend`))); !strings.Contains(legend, l["mos_mean"]) || !strings.Contains(legend, l["mos_worst"]) || l["mos_mean"] == "" {
			t.Errorf("%s MOS chart legend %q", lang.Value, legend)
		}
		oneWay := run(t, ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#chart-one-way rect.bar title')).map(t => t.textContent)`))
		total := 0
		for _, s := range oneWay {
			n, _ := strconv.Atoi(s[strings.LastIndex(s, " ")+1:])
			total += n
		}
		if total != 10 {
			t.Errorf("one-way chart: %d calls in %q; want 10", total, oneWay)
		}
		shot(t, ctx, "dashboard")
	})

	t.Run("xss", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(ts.URL+"/calls?number=3199000000"), chromedp.WaitVisible(css(`#calls`)))
		notExecuted(t, ctx, "search")
		shot(t, ctx, "xss-search")
		for i := range xssCorpus {
			id := "xss-" + string(rune('a'+i)) + "@sipcause.test"
			for _, lang := range []string{"en", "nl"} {
				do(t, ctx, chromedp.Navigate(ts.URL+"/calls/"+id+"?lang="+lang))
				text := run(t, ctx, chromedp.TextContent(css(`main`)))
				notExecuted(t, ctx, id)
				if !strings.Contains(text, "User-Agent: "+xssCorpus[i]) {
					t.Errorf("%s: the raw message does not show the User-Agent as text", id)
				}
			}
			do(t, ctx, chromedp.Navigate(ts.URL+"/calls/"+id+"?view=report"))
			notExecuted(t, ctx, id+" report")
		}
		do(t, ctx, chromedp.Navigate(ts.URL+"/calls/xss-a@sipcause.test?lang=en"))
		shot(t, ctx, "xss-detail")
	})
}
