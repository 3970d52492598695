package server

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"mailserver/internal/testnet"
)

// Screen sizes the webmail's screenshots are taken at: a common phone and a common office laptop.
var screenSizes = []struct {
	name          string
	width, height int
}{{"phone", 390, 844}, {"desktop", 1366, 900}}

// browserSession is one headless Chromium driven over the DevTools protocol, on the webmail at base.
type browserSession struct {
	t     *testing.T
	ctx   context.Context // the tab's chromedp context
	base  string          // https://127.0.0.1:port
	shots string          // the folder screenshots are written to
}

// startChromium starts Debian's chromium headless for the test (a missing one fails under CI=true) and ends it
// when the test ends. Every step must finish within limit, so a stuck page cannot hang the test run.
func startChromium(t *testing.T, base string, limit time.Duration) *browserSession {
	t.Helper()
	path := testnet.RequireTool(t, "chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.WindowSize(screenSizes[1].width, screenSizes[1].height),
		// The server's certificate is self-signed; the browser only ever talks to 127.0.0.1.
		chromedp.Flag("ignore-certificate-errors", true),
		// Loopback only: any host name fails to resolve, so a page that reached for the network would show it.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.Flag("no-proxy-server", true),
		chromedp.UserDataDir(profileDownloadingPDFs(t)),
	)
	if os.Geteuid() == 0 {
		// Chromium refuses to start its sandbox as root (containers, CI); the mail's own sandbox is the iframe's.
		opts = append(opts, chromedp.NoSandbox)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	// The first Run starts the browser and must not carry the deadline (it would end the browser with it).
	if err := chromedp.Do(ctx); err != nil {
		cancelTab()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancelDeadline := context.WithTimeout(ctx, limit)
	t.Cleanup(func() { cancelDeadline(); cancelTab(); cancelAlloc() })
	shots := os.Getenv("WEBMAIL_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	return &browserSession{t: t, ctx: ctx, base: base, shots: shots}
}

// profileDownloadingPDFs is a browser profile set, as a user may set it in the browser's settings, to download
// PDFs rather than show them in its viewer: the attachment link then saves the file, to be compared.
func profileDownloadingPDFs(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	prefs := `{"plugins":{"always_open_pdf_externally":true},"download":{"prompt_for_download":false}}`
	if err := os.MkdirAll(filepath.Join(dir, "Default"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Default", "Preferences"), []byte(prefs), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// do runs the steps of what, failing the test at the first error.
func (b *browserSession) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// get runs one action that returns a value, failing the test on an error.
func browserGet[T any](b *browserSession, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// location is the tab's URL without the scheme and host.
func (b *browserSession) location() string {
	b.t.Helper()
	return strings.TrimPrefix(browserGet(b, "location", chromedp.Location()), b.base)
}

// screenshots saves the page at every screen size as name-<size>.png, checks each is a PNG of that size with
// something drawn on it, and puts the desktop size back.
func (b *browserSession) screenshots(name string) {
	b.t.Helper()
	for _, s := range screenSizes {
		b.do("viewport "+s.name, chromedp.EmulateViewport(int64(s.width), int64(s.height)))
		shot := browserGet(b, "screenshot "+name, chromedp.CaptureScreenshot())
		file := filepath.Join(b.shots, fmt.Sprintf("%s-%s-%dx%d.png", name, s.name, s.width, s.height))
		if err := os.WriteFile(file, shot, 0o644); err != nil {
			b.t.Fatal(err)
		}
		if err := checkScreenshot(shot, s.width, s.height); err != nil {
			b.t.Errorf("%s: %v", file, err)
		}
	}
	b.do("viewport back", chromedp.EmulateViewport(int64(screenSizes[1].width), int64(screenSizes[1].height)))
}

// checkScreenshot wants a PNG of width×height that is not one flat colour (a blank page, or a failed paint).
func checkScreenshot(shot []byte, width, height int) error {
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		return fmt.Errorf("not a PNG: %w", err)
	}
	if got := img.Bounds().Size(); got != (image.Point{width, height}) {
		return fmt.Errorf("size %v, want %dx%d", got, width, height)
	}
	first := img.At(0, 0)
	for y := 0; y < height; y += 3 {
		for x := 0; x < width; x += 3 {
			if img.At(x, y) != first {
				return nil
			}
		}
	}
	return fmt.Errorf("one flat colour: nothing drawn")
}
