package server

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sipcause/sipcause/catalog"
	"github.com/sipcause/sipcause/report"
	"github.com/sipcause/sipcause/store"
)

// brokenWords lists the words inside sel that the browser laid out over
// more than one line (a word broken in half), and the badges and column
// headers (.pill, .fault, th, and on a phone the label before each cell)
// that take more than one line.
const brokenWords = `((sel) => {
	const bad = [];
	const lines = (r) => new Set(Array.from(r.getClientRects()).filter(x => x.width > 0).map(x => Math.round(x.top))).size;
	for (const root of document.querySelectorAll(sel)) {
		const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
		let n;
		while ((n = walk.nextNode())) {
			// Words; a break after a hyphen (media-instellingen) is allowed.
			const re = /[^\s\-\u2010]+-?/g;
			let m;
			while ((m = re.exec(n.textContent))) {
				const r = document.createRange();
				r.setStart(n, m.index);
				r.setEnd(n, m.index + m[0].length);
				if (lines(r) > 1) bad.push("word: " + m[0]);
			}
		}
		for (const el of root.querySelectorAll('.pill, .fault, th')) {
			const r = document.createRange();
			r.selectNodeContents(el);
			if (lines(r) > 1) bad.push("on two lines: " + el.textContent);
		}
		for (const td of root.querySelectorAll('td[data-label]')) {
			const b = getComputedStyle(td, '::before');
			if (b.content !== 'none' && b.display !== 'none' && b.whiteSpace !== 'nowrap') bad.push("label may wrap: " + td.dataset.label);
		}
	}
	// The window's width less its scroll bar: what a reader sees.
	const seen = document.documentElement.clientWidth;
	if (document.documentElement.scrollWidth > seen + 1) bad.push("page wider than the window: " + document.documentElement.scrollWidth + " > " + seen);
	for (const root of document.querySelectorAll(sel)) {
		// Nothing sticks out of the window, and a table not out of its column.
		for (const el of [root, ...root.querySelectorAll('*')]) {
			const r = el.getBoundingClientRect();
			if (r.width > 0 && r.right > seen + 1) { bad.push("past the window's edge: " + el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " ends at " + Math.round(r.right) + " > " + seen); break; }
		}
		const p = root.parentElement, pr = p.getBoundingClientRect();
		const inner = pr.right - parseFloat(getComputedStyle(p).paddingRight) - parseFloat(getComputedStyle(p).borderRightWidth);
		if (root.getBoundingClientRect().right > inner + 1) bad.push(root.tagName.toLowerCase() + "#" + root.id + " wider than its column: ends at " + Math.round(root.getBoundingClientRect().right) + " > " + Math.round(inner));
	}
	return bad;
})`

// uploadAndStore uploads a capture on /analyze with "store" ticked and
// returns the note the report page shows.
func uploadAndStore(t *testing.T, ctx context.Context, base, path string) string {
	t.Helper()
	file, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx,
		chromedp.Navigate(base+"/analyze"),
		chromedp.SetUploadFiles(css(`#file`), []string{file}),
		chromedp.Click(css(`#store`)),
		chromedp.Click(css(`#analyze`)),
		chromedp.WaitVisible(css(`#stored`)),
	)
	return run(t, ctx, chromedp.Text(css(`#stored`)))
}

// TestBrowserWebUI drives the finished web UI in Chromium, once per
// language, on real captures uploaded and stored through /analyze: the
// calls table at 1280 and 390 pixels wide, the registrations page, the
// dashboard, and the list and the call page agreeing in language. Times
// are shown in the server's zone (Europe/Amsterdam here).
func TestBrowserWebUI(t *testing.T) {
	ctx := browser(t)
	ams, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Skip("no zoneinfo for Europe/Amsterdam:", err)
	}
	failed := "../examples/failed-calls.pcapng"
	regCaptures := []string{
		sharedCapture(t, "goffinet-sip_captures__sip-register-wrong_password-401-403-401-403.pcapng"),
		sharedCapture(t, "goffinet-sip_captures__sip-register-to-repo-proxy.pcapng"),
		sharedCapture(t, "nDPI__sip_hello.pcapng"),
	}
	for _, lang := range []catalog.Lang{catalog.English, catalog.Dutch} {
		t.Run(string(lang), func(t *testing.T) {
			l := labelsFor(lang)
			st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "ui.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			ts := httptest.NewServer(NewHandler(HandlerOptions{Lang: catalog.English, Location: ams}, st, NewMetrics()))
			defer ts.Close()
			do(t, ctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(ts.URL+"/calls?lang="+string(lang)))

			t.Run("stored-upload", func(t *testing.T) {
				// Not ticked: nothing is stored.
				file, _ := filepath.Abs(failed)
				do(t, ctx, chromedp.Navigate(ts.URL+"/analyze"), chromedp.SetUploadFiles(css(`#file`), []string{file}),
					chromedp.Click(css(`#analyze`)), chromedp.WaitReady(css(`svg`)))
				if s, _ := st.Stats(context.Background()); s.Calls != 0 {
					t.Fatalf("an upload without the box ticked stored %d calls", s.Calls)
				}
				note := uploadAndStore(t, ctx, ts.URL, failed)
				want := storedText(l, 9, 0, "failed-calls.pcapng")
				if !strings.Contains(note, want) {
					t.Errorf("note %q, want %q", note, want)
				}
				// The uploaded capture's report shows the server's zone, as /calls does.
				if body := run(t, ctx, chromedp.Text(css(`body`))); !strings.Contains(body, "04:28:14") || !strings.Contains(body, "Europe/Amsterdam") {
					t.Errorf("the upload's report is not in local time (04:28:14, Europe/Amsterdam)")
				}
				// The reason, what an agent reads first, gets room: not
				// five words a line next to the wide badges.
				if w := run(t, ctx, chromedp.Evaluate[float64](`document.querySelector('td.why').getBoundingClientRect().width`)); w < 220 {
					t.Errorf("the report's reason column is %.0f px wide at 1280 px", w)
				}
				if over := run(t, ctx, chromedp.Evaluate[float64](`(() => { const s = document.querySelector('.scroll'); return s.scrollWidth - s.clientWidth })()`)); over > 1 {
					t.Errorf("the report's calls table is %.0f px wider than the page at 1280 px", over)
				}
				shotView(t, ctx, "stored-upload-"+string(lang))
				// The note's link finds the calls under /calls.
				do(t, ctx, chromedp.Click(css(`#stored a`)), chromedp.WaitVisible(css(`#calls`)))
				rows := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#calls tbody tr').length`))
				if rows != 9 {
					t.Errorf("the stored capture's 9 calls: %d rows under /calls", rows)
				}
				for _, p := range regCaptures {
					uploadAndStore(t, ctx, ts.URL, p)
				}
				if s, _ := st.Stats(context.Background()); s.Registrations == 0 {
					t.Error("the register captures stored no registrations")
				}
			})

			for _, width := range []int64{1280, 390} {
				t.Run(fmt.Sprintf("calls-%d", width), func(t *testing.T) {
					do(t, ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(ts.URL+"/calls"), chromedp.WaitVisible(css(`#calls`)))
					if bad := run(t, ctx, chromedp.Evaluate[[]string](brokenWords+`('#calls, header.top, form.search')`)); len(bad) > 0 {
						t.Errorf("%d px: %s", width, strings.Join(bad, "; "))
					}
					// Times are local: the capture was made at 03:28 UTC, 04:28 in Amsterdam.
					first := run(t, ctx, chromedp.Text(css(`#calls tbody tr:last-child td`)))
					wantDay := map[catalog.Lang]string{catalog.English: "2026-11-27 04:", catalog.Dutch: "27-11-2026 04:"}[lang]
					if !strings.HasPrefix(first, wantDay) {
						t.Errorf("oldest call at %q, want %s… (local time, %s order)", first, wantDay, lang)
					}
					zone := run(t, ctx, chromedp.Text(css(`p.zone`)))
					if !strings.Contains(zone, "Europe/Amsterdam") {
						t.Errorf("zone note %q", zone)
					}
					shot(t, ctx, fmt.Sprintf("calls-%d-%s", width, lang))
				})
			}
			do(t, ctx, chromedp.EmulateViewport(1280, 900))

			t.Run("list-and-call-agree", func(t *testing.T) {
				// A busy call: its summary in the list is the call page's.
				do(t, ctx, chromedp.Navigate(ts.URL+"/calls?status=486"), chromedp.WaitVisible(css(`#calls`)))
				listed := run(t, ctx, chromedp.Text(css(`#calls tbody tr td.why`)))
				do(t, ctx, chromedp.Click(css(`#calls tbody tr a`)), chromedp.WaitVisible(css(`#summary`)))
				page := run(t, ctx, chromedp.Text(css(`#summary`)))
				if listed == "" || listed != page {
					t.Errorf("list says %q, call page says %q", listed, page)
				}
				main := run(t, ctx, chromedp.Text(css(`main`)))
				for _, w := range map[catalog.Lang][]string{catalog.Dutch: {"Berichtenverloop", "Tijd tot overgaan", "Oorzaak ligt bij"}, catalog.English: {"Message flow", "Cause lies with"}}[lang] {
					if !strings.Contains(main, w) {
						t.Errorf("call page lacks %q", w)
					}
				}
				shot(t, ctx, "call-"+string(lang))
			})

			t.Run("registrations", func(t *testing.T) {
				for _, width := range []int64{1280, 390} {
					do(t, ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(ts.URL+"/registrations"), chromedp.WaitVisible(css(`#regs`)))
					if w := run(t, ctx, chromedp.Evaluate[int](`window.innerWidth`)); w != int(width) {
						t.Errorf("window %d px wide, want %d", w, width)
					}
					if bad := run(t, ctx, chromedp.Evaluate[[]string](brokenWords+`('#regs, form.search')`)); len(bad) > 0 {
						t.Errorf("%d px: %s", width, strings.Join(bad, "; "))
					}
					// The box is a box, next to its words, not stretched over the
					// line with the box drawn in its middle.
					if w := run(t, ctx, chromedp.Evaluate[float64](`document.querySelector('#latest').getBoundingClientRect().width`)); w > 24 {
						t.Errorf("%d px: the check box is %.0f px wide", width, w)
					}
					shot(t, ctx, fmt.Sprintf("registrations-%d-%s", width, lang))
				}
				do(t, ctx, chromedp.EmulateViewport(1280, 900))
				text := run(t, ctx, chromedp.Text(css(`#regs`)))
				// The wrong password: the newest attempt of that address failed, and the page says why.
				failedWord, registeredWord := report.OutcomeLabel(lang, "failed", 0, ""), report.OutcomeLabel(lang, "registered", 0, "")
				if !strings.Contains(text, failedWord) || !strings.Contains(text, registeredWord) {
					t.Errorf("registrations: want both %q and %q:\n%s", failedWord, registeredWord, text)
				}
				failedRows := run(t, ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#regs tr.r-failed td.why')).map(td => td.textContent)`))
				if len(failedRows) == 0 {
					t.Fatal("no failed registration listed")
				}
				for _, why := range failedRows {
					if len(strings.TrimSpace(why)) < 20 {
						t.Errorf("a failed registration without a reason: %q", why)
					}
				}
				advice := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#regs tr.r-failed details.advice li').length`))
				if advice == 0 {
					t.Error("failed registrations come without advice")
				}
				// Only the latest per address by default; unticked, every attempt.
				latest := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#regs tbody tr').length`))
				// What the form sends with the box unticked.
				do(t, ctx, chromedp.Navigate(ts.URL+"/registrations?f=1&aor="), chromedp.WaitVisible(css(`#regs`)))
				all := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#regs tbody tr').length`))
				if all <= latest {
					t.Errorf("every attempt: %d rows, latest per address: %d", all, latest)
				}
			})

			t.Run("lookup", func(t *testing.T) {
				do(t, ctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(ts.URL+"/lookup?q=486"), chromedp.WaitVisible(css(`#lookup-result`)))
				res := run(t, ctx, chromedp.Text(css(`#lookup-result`)))
				if strings.Count(res, "RFC 3261") != 1 {
					t.Errorf("lookup 486 names RFC 3261 %d times", strings.Count(res, "RFC 3261"))
				}
				shot(t, ctx, "lookup-"+string(lang))
				do(t, ctx, chromedp.Navigate(ts.URL+"/lookup?q="+url.QueryEscape("Q.850;cause=abc")), chromedp.WaitVisible(css(`p.error`)))
				if e := run(t, ctx, chromedp.Text(css(`p.error`))); strings.Contains(e, "catalog") || strings.Contains(e, "%!") || !strings.Contains(e, "RFC 3326") {
					t.Errorf("lookup error %q", e)
				}
				shotView(t, ctx, "lookup-error-"+string(lang))
			})

			t.Run("dashboard", func(t *testing.T) {
				for _, width := range []int64{1280, 390} {
					do(t, ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(ts.URL+"/dashboard?range=1h"), chromedp.WaitVisible(css(`#chart-by-cause`)))
					// The period's dates stay whole (no "2026-11-" / "27").
					if n := run(t, ctx, chromedp.Evaluate[int](`(() => { const r = document.createRange(); r.selectNodeContents(document.querySelector('#period')); return new Set(Array.from(r.getClientRects()).map(x => Math.round(x.top))).size })()`)); n != 1 {
						t.Errorf("%d px: the period's start takes %d lines", width, n)
					}
					if bad := run(t, ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('.ranges a')).filter(a => { const r = document.createRange(); r.selectNodeContents(a); return new Set(Array.from(r.getClientRects()).map(x => Math.round(x.top))).size > 1 }).map(a => a.textContent)`)); len(bad) > 0 {
						t.Errorf("%d px: periods on two lines: %q", width, bad)
					}
					shot(t, ctx, fmt.Sprintf("dashboard-%d-%s", width, lang))
				}
				do(t, ctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(ts.URL+"/dashboard?range=1h"), chromedp.WaitVisible(css(`#chart-by-cause`)))
				// Each chart fills its card.
				ratios := run(t, ctx, chromedp.Evaluate[[]float64](`Array.from(document.querySelectorAll('section.chart')).map(s => s.querySelector('svg').getBoundingClientRect().width / (s.clientWidth - 36))`))
				for i, r := range ratios {
					if r < 0.97 || r > 1.03 {
						t.Errorf("chart %d is %.0f%% of its card's width", i, r*100)
					}
				}
				// Every ratio comes with a sentence.
				meanings := run(t, ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#kpis .kpi')).filter(k => k.id !== 'kpi-attempts').map(k => (k.querySelector('.m') || {}).textContent || '')`))
				for i, m := range meanings {
					if len(m) < 20 {
						t.Errorf("ratio %d without a sentence: %q", i, m)
					}
				}
				cause := run(t, ctx, chromedp.Text(css(`#chart-by-cause .legend`)))
				side := run(t, ctx, chromedp.Text(css(`#chart-by-side .legend`)))
				for _, w := range []string{"486 Busy Here", "503 Service Unavailable", catalog.FaultRemote.Label(lang)} {
					if !strings.Contains(cause+side, w) {
						t.Errorf("failures by cause and side lack %q: %q / %q", w, cause, side)
					}
				}
				bars := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#chart-by-peer rect.bar').length`))
				numbers := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#top-numbers tbody tr').length`))
				peers := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#top-peers tbody tr').length`))
				if bars == 0 || numbers == 0 || peers == 0 {
					t.Errorf("failures by peer: %d bars; top numbers %d, top peers %d", bars, numbers, peers)
				}
				if lang == catalog.Dutch {
					body := run(t, ctx, chromedp.Text(css(`main`)))
					for _, en := range []string{"registrations", "Session attempts", "Post-dial", "Failed calls"} {
						if strings.Contains(body, en) {
							t.Errorf("English %q on the Dutch dashboard", en)
						}
					}
					if v := run(t, ctx, chromedp.Text(css(`#kpi-ser .v`))); strings.Contains(v, ".") {
						t.Errorf("SER %q: a decimal point on the Dutch page", v)
					}
				}
			})
		})
	}
}

// shotView saves what the window shows (not the whole page) with -screenshots.
func shotView(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if *screenshots == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	os.MkdirAll(*screenshots, 0o755)
	os.WriteFile(filepath.Join(*screenshots, name+".png"), png, 0o644)
}
