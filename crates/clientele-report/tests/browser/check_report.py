#!/usr/bin/env python3
"""Real-browser check of a Clientele HTML report.

Loads the report in headless Chromium, speaking the Chrome DevTools Protocol
over --remote-debugging-pipe (standard library only), and checks:

  * load time (wall clock navigate -> load event, and the page's own
    performance.timing) is under --max-load-seconds;
  * no console errors, uncaught exceptions, error log entries, failed requests,
    or requests to anything other than file:/data:/blob:/about: URLs;
  * every expected `section.report-section[data-section=KEY]` exists and has an
    h2 and a non-empty p.reading or p.absent;
  * every `figure.chart` has a rendered svg, a g.marks group whose shape count
    equals data-marks (> 0), and drawn marks consistent with the embedded
    `<script type="application/json" class="chart-data">`;
  * optionally a full-page PNG screenshot.

Usage:
  python3 check_report.py REPORT.html --expect-sections a,b,c \
      [--screenshot out.png] [--max-load-seconds 2.0] [--json results.json] \
      [--chromium PATH] [--timeout 60]

Exit status: 0 = all checks passed, 1 = at least one check failed,
2 = the check could not be run (no Chromium, browser failed to start, bad
arguments, report file missing).
"""

import argparse
import base64
import json
import os
import pathlib
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

SHAPE_TAGS = ("rect", "circle", "ellipse", "line", "polyline", "polygon", "path")
KNOWN_KINDS = ("bar", "heatmap", "line", "scatter")
ALLOWED_SCHEMES = ("file:", "data:", "blob:", "about:")
BAR_TOLERANCE_PX = 0.5
REL_EPS = 1e-9
MAX_SCREENSHOT_HEIGHT = 16000  # Chromium cannot rasterize arbitrarily tall pages

EXIT_OK, EXIT_FAIL, EXIT_SETUP = 0, 1, 2


class SetupError(Exception):
    """The check could not be run at all (exit 2)."""


class GlobalTimeout(Exception):
    pass


class BrowserGone(Exception):
    pass


class CdpError(Exception):
    def __init__(self, method, error):
        super().__init__("%s failed: %s" % (method, error))
        self.method = method
        self.error = error


# ---------------------------------------------------------------------------
# Results bookkeeping


class Results:
    def __init__(self):
        self.failures = []  # list of {"code": str, "message": str}
        self.warnings = []
        self.facts = {}

    def fail(self, code, message):
        self.failures.append({"code": code, "message": message})

    def warn(self, code, message):
        self.warnings.append({"code": code, "message": message})


# ---------------------------------------------------------------------------
# Chromium discovery and launch


def find_chromium(explicit):
    candidates = []
    if explicit:
        candidates.append(explicit)
    elif os.environ.get("CHROMIUM"):
        candidates.append(os.environ["CHROMIUM"])
    else:
        candidates.extend(["chromium", "chromium-browser", "google-chrome"])
    for cand in candidates:
        if os.sep in cand:
            if os.path.isfile(cand) and os.access(cand, os.X_OK):
                return os.path.abspath(cand)
        else:
            found = shutil.which(cand)
            if found:
                return found
    return None


class Browser:
    """A headless Chromium child speaking CDP over fds 3 (in) and 4 (out)."""

    def __init__(self, executable, window=(1400, 1000)):
        self.executable = executable
        self.profile = tempfile.mkdtemp(prefix="clientele-report-chromium-")
        self.log_path = os.path.join(self.profile, "chromium-stderr.log")
        self.proc = None
        self.window = window
        self._to_browser = None
        self._from_browser = None
        self._buf = bytearray()
        self._next_id = 0
        self.pending_events = []  # (method, params, sessionId) not yet consumed
        self.listeners = []

    def start(self):
        # Create the pipes first: after this, fds 3 and 4 of this process are
        # guaranteed to be in use, so subprocess's internal error pipe cannot
        # land on 3/4 and be clobbered by the dup2 calls below.
        child_in_r, parent_out_w = os.pipe()   # we write, browser reads (fd 3)
        parent_in_r, child_out_w = os.pipe()   # browser writes (fd 4), we read

        def wire_fds():
            import fcntl
            a = fcntl.fcntl(child_in_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(child_out_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)  # dup2 results are inheritable
            os.dup2(b, 4)
            os.close(a)
            os.close(b)

        args = [
            self.executable,
            "--headless=new",
            "--remote-debugging-pipe",
            "--user-data-dir=" + self.profile,
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--metrics-recording-only",
            "--mute-audio",
            "--hide-scrollbars",
            "--force-color-profile=srgb",
            # Any attempt to resolve a host name fails: a self-contained report
            # never needs one, and the checker must not touch the network.
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--window-size=%d,%d" % self.window,
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.append("--no-sandbox")
        args.append("about:blank")

        log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                pass_fds=(3, 4),
                preexec_fn=wire_fds,
                start_new_session=True,  # own process group, killed as a unit
            )
        except OSError as exc:
            raise SetupError("cannot start %s: %s" % (self.executable, exc))
        finally:
            log.close()
            os.close(child_in_r)
            os.close(child_out_w)
        self._to_browser = parent_out_w
        self._from_browser = parent_in_r

    def log_tail(self, n=15):
        try:
            with open(self.log_path, "rb") as fh:
                lines = fh.read().decode("utf-8", "replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return ""

    # -- wire protocol ------------------------------------------------------

    def send(self, method, params=None, session=None):
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode("utf-8") + b"\0"
        view = memoryview(data)
        while view:
            try:
                n = os.write(self._to_browser, view)
            except BrokenPipeError:
                raise BrowserGone("browser closed its command pipe")
            view = view[n:]
        return self._next_id

    def _read_message(self, deadline):
        """Return the next parsed message, or None at the deadline."""
        while True:
            nul = self._buf.find(b"\0")
            if nul >= 0:
                raw = bytes(self._buf[:nul])
                del self._buf[: nul + 1]
                return json.loads(raw.decode("utf-8"))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                ready, _, _ = select.select([self._from_browser], [], [], remaining)
            except InterruptedError:
                continue
            if not ready:
                return None
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserGone("browser closed its event pipe (exit code %s)"
                                  % (self.proc.poll() if self.proc else "?"))
            self._buf.extend(chunk)

    def _dispatch_event(self, msg):
        event = (msg.get("method"), msg.get("params", {}), msg.get("sessionId"))
        for listener in self.listeners:
            listener(*event)
        self.pending_events.append(event)

    def call(self, method, params=None, session=None, timeout=15.0):
        msg_id = self.send(method, params, session)
        deadline = time.monotonic() + timeout
        while True:
            msg = self._read_message(deadline)
            if msg is None:
                raise CdpError(method, "no reply within %.0f s" % timeout)
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise CdpError(method, msg["error"])
                return msg.get("result", {})
            if "method" in msg:
                self._dispatch_event(msg)

    def wait_event(self, method, session=None, timeout=10.0, predicate=None):
        """Wait for (and consume) an event; returns params or None on timeout."""
        def matches(ev):
            return (ev[0] == method and (session is None or ev[2] == session)
                    and (predicate is None or predicate(ev[1])))

        for i, ev in enumerate(self.pending_events):
            if matches(ev):
                del self.pending_events[i]
                return ev[1]
        deadline = time.monotonic() + timeout
        while True:
            msg = self._read_message(deadline)
            if msg is None:
                return None
            if "method" in msg:
                self._dispatch_event(msg)
                ev = self.pending_events[-1]
                if matches(ev):
                    self.pending_events.pop()
                    return ev[1]

    def pump(self, seconds):
        """Process incoming events for a while."""
        deadline = time.monotonic() + seconds
        while True:
            msg = self._read_message(deadline)
            if msg is None:
                return
            if "method" in msg:
                self._dispatch_event(msg)

    # -- shutdown -----------------------------------------------------------

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.send("Browser.close")
                self.proc.wait(timeout=3)
            except Exception:
                pass
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                self.proc.wait(timeout=5)
            except Exception:
                pass
        elif self.proc is not None:
            # Browser exited; make sure no helper process of its group lingers.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
        for fd in (self._to_browser, self._from_browser):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._to_browser = self._from_browser = None
        shutil.rmtree(self.profile, ignore_errors=True)


# ---------------------------------------------------------------------------
# Page-side collection (pure facts; judgement happens in Python)

LAYOUT_SETTLED_JS = r"""
new Promise(resolve => {
  let done = false;
  const finish = v => { if (!done) { done = true; resolve(v); } };
  requestAnimationFrame(() => requestAnimationFrame(() => finish('raf')));
  setTimeout(() => finish('timeout'), 1000);
})
"""

TIMING_JS = r"""
new Promise(resolve => {
  const started = Date.now();
  const poll = () => {
    const t = performance.timing;
    if (t.loadEventEnd > 0 || Date.now() - started > 3000) {
      const nav = (performance.getEntriesByType('navigation') || [])[0];
      resolve({
        navigationStart: t.navigationStart,
        domContentLoadedEventEnd: t.domContentLoadedEventEnd,
        loadEventEnd: t.loadEventEnd,
        load_ms: t.loadEventEnd > 0 ? t.loadEventEnd - t.navigationStart : null,
        dom_content_loaded_ms: t.domContentLoadedEventEnd > 0
          ? t.domContentLoadedEventEnd - t.navigationStart : null,
        nav_entry_load_end_ms: nav ? nav.loadEventEnd : null,
        transfer_size: nav ? nav.transferSize : null,
      });
    } else {
      setTimeout(poll, 10);
    }
  };
  poll();
})
"""

COLLECT_JS = r"""
(() => {
  const SHAPES = %(shapes)s;
  const num = v => (typeof v === 'number' && isFinite(v)) ? v : null;
  const text = el => el ? (el.textContent || '').replace(/\s+/g, ' ').trim() : null;
  const main = document.querySelector('main#clientele-report');
  const sections = Array.from(document.querySelectorAll('section.report-section')).map((s, i) => {
    const h2 = s.querySelector('h2');
    return {
      index: i,
      key: s.getAttribute('data-section'),
      id: s.id || null,
      in_main: !!(main && main.contains(s)),
      h2: text(h2),
      readings: Array.from(s.querySelectorAll('p.reading')).map(text),
      absents: Array.from(s.querySelectorAll('p.absent')).map(text),
      charts: s.querySelectorAll('figure.chart').length,
    };
  });
  const figures = Array.from(document.querySelectorAll('figure.chart')).map((f, i) => {
    const sec = f.closest('section.report-section');
    const svgs = f.querySelectorAll('svg');
    const marksGroups = f.querySelectorAll('svg g.marks');
    const svg = marksGroups.length ? marksGroups[0].ownerSVGElement : (svgs[0] || null);
    let svgSize = null;
    if (svg) {
      const r = svg.getBoundingClientRect();
      svgSize = { width: num(r.width), height: num(r.height), top: num(r.top + window.scrollY) };
    }
    const selector = SHAPES.map(t => 'svg g.marks ' + t).join(',');
    const shapes = Array.from(f.querySelectorAll(selector));
    const byTag = {};
    for (const el of shapes) { const t = el.localName; byTag[t] = (byTag[t] || 0) + 1; }
    const rects = shapes.filter(el => el.localName === 'rect').map(el => {
      let b = null;
      try { b = el.getBBox(); } catch (e) { b = null; }
      const cs = getComputedStyle(el);
      return {
        x: b ? num(b.x) : null, y: b ? num(b.y) : null,
        width: b ? num(b.width) : null, height: b ? num(b.height) : null,
        fill_attr: el.getAttribute('fill'),
        fill: cs.fill, stroke: cs.stroke,
      };
    });
    const polylineVertices = shapes.filter(el => el.localName === 'polyline')
      .map(el => (el.points ? el.points.numberOfItems : null));
    const dataEl = f.querySelector('script.chart-data');
    return {
      index: i,
      chart: f.getAttribute('data-chart'),
      kind_attr: f.getAttribute('data-kind'),
      marks_attr: f.getAttribute('data-marks'),
      section: sec ? sec.getAttribute('data-section') : null,
      svg_count: svgs.length,
      has_svg: !!svg,
      svg_size: svgSize,
      marks_groups: marksGroups.length,
      shape_count: shapes.length,
      shapes_by_tag: byTag,
      rects: rects,
      polyline_vertices: polylineVertices,
      chart_data_present: !!dataEl,
      chart_data_type: dataEl ? dataEl.getAttribute('type') : null,
      chart_data_text: dataEl ? dataEl.textContent : null,
      caption: text(f.querySelector('figcaption')),
    };
  });
  const de = document.documentElement;
  return {
    title: document.title,
    ready_state: document.readyState,
    has_main: !!main,
    sections: sections,
    figures: figures,
    document_size: { width: de.scrollWidth, height: de.scrollHeight },
  };
})()
""" % {"shapes": json.dumps(list(SHAPE_TAGS))}


def evaluate(browser, session, expression, timeout=15.0):
    res = browser.call("Runtime.evaluate", {
        "expression": expression,
        "returnByValue": True,
        "awaitPromise": True,
        "userGesture": False,
    }, session=session, timeout=timeout)
    if "exceptionDetails" in res:
        det = res["exceptionDetails"]
        desc = (det.get("exception") or {}).get("description") or det.get("text")
        raise CdpError("Runtime.evaluate", "page script threw: %s" % desc)
    return res.get("result", {}).get("value")


# ---------------------------------------------------------------------------
# Judgement


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v \
        and v not in (float("inf"), float("-inf"))


def check_sections(collected, expected, res):
    sections = collected["sections"]
    if not collected["has_main"]:
        res.fail("missing-main", "no <main id=\"clientele-report\"> element")
    seen = {}
    for s in sections:
        key = s["key"]
        label = "section %r" % key if key else "section #%d (no data-section)" % s["index"]
        if not key:
            res.fail("section-structure", "%s has no data-section attribute" % label)
        elif key in seen:
            res.fail("duplicate-section", "section %r appears more than once" % key)
        else:
            seen[key] = s
        if collected["has_main"] and not s["in_main"]:
            res.warn("section-outside-main", "%s is outside main#clientele-report" % label)
        if not s["h2"]:
            res.fail("section-structure", "%s has no (non-empty) <h2>" % label)
        readings = [t for t in s["readings"] if t]
        absents = [t for t in s["absents"] if t]
        if not readings and not absents:
            res.fail("section-structure",
                     "%s has neither a non-empty p.reading nor a non-empty p.absent" % label)
    for key in expected:
        if key not in seen:
            res.fail("missing-section", "expected section %r not found "
                     "(no section.report-section[data-section=%r])" % (key, key))
    unexpected = [k for k in seen if k not in expected]
    for key in unexpected:
        res.warn("unexpected-section", "section %r is present but was not expected" % key)
    return {
        "found": [s["key"] for s in sections],
        "expected": list(expected),
        "missing": [k for k in expected if k not in seen],
        "unexpected": unexpected,
    }


def bar_rects(fig):
    """All rects in g.marks, and the filled ones (plotters may add stroke-only outlines)."""
    rects = fig["rects"]
    return rects, [r for r in rects if (r["fill"] or "").strip() != "none"
                   and (r["fill_attr"] or "").strip() != "none"]


def check_bar(fig, data, label, res, detail):
    values = data.get("values")
    orientation = data.get("orientation")
    if orientation not in ("vertical", "horizontal"):
        res.fail("chart-data", "%s: bar orientation must be \"vertical\" or \"horizontal\", "
                 "got %r" % (label, orientation))
        return
    if not isinstance(values, list) or not values:
        res.fail("chart-data", "%s: bar chart-data needs a non-empty \"values\" array" % label)
        return
    if not all(is_number(v) for v in values):
        res.fail("chart-data", "%s: bar values must all be finite numbers: %r" % (label, values))
        return
    all_rects, filled = bar_rects(fig)
    if len(filled) == len(values):
        bars = filled
    elif len(all_rects) == len(values):
        bars = all_rects
    else:
        res.fail("bar-count", "%s: %d values but %d rects in g.marks (%d filled); cannot "
                 "match bars to values" % (label, len(values), len(all_rects), len(filled)))
        return
    dim = "height" if orientation == "vertical" else "width"
    lengths = [b[dim] for b in bars]
    if any(l is None for l in lengths):
        res.fail("bar-geometry", "%s: could not measure bar %s (getBBox failed)" % (label, dim))
        return
    mags = [abs(v) for v in values]
    detail["bar_values"] = values
    detail["bar_lengths_px"] = [round(l, 3) for l in lengths]
    violations = []
    for i in range(len(mags)):
        for j in range(len(mags)):
            if mags[i] - mags[j] > REL_EPS * max(mags[i], mags[j]):
                if lengths[i] < lengths[j] - BAR_TOLERANCE_PX:
                    violations.append((i, j))
    for i, j in violations[:5]:
        res.fail("bar-order", "%s: bar %d (value %g) is drawn shorter than bar %d (value %g): "
                 "%.2f px < %.2f px" % (label, i, values[i], j, values[j], lengths[i], lengths[j]))
    if len(violations) > 5:
        res.fail("bar-order", "%s: ... and %d more bar ordering violations"
                 % (label, len(violations) - 5))
    imax = max(range(len(mags)), key=lambda k: mags[k])
    longest = max(lengths)
    if lengths[imax] < longest - BAR_TOLERANCE_PX:
        res.fail("bar-order", "%s: the largest value (bar %d, %g) is not the longest bar "
                 "(%.2f px vs %.2f px)" % (label, imax, values[imax], lengths[imax], longest))
    if mags[imax] > 0 and longest <= 0:
        res.fail("bar-geometry", "%s: all bars have zero length although values are non-zero"
                 % label)


def check_figure(fig, res):
    name = fig["chart"] or "#%d" % fig["index"]
    label = "chart %r (section %r)" % (name, fig["section"])
    detail = {
        "index": fig["index"], "chart": fig["chart"], "section": fig["section"],
        "kind_attr": fig["kind_attr"], "data_marks": fig["marks_attr"],
        "shape_count": fig["shape_count"], "shapes_by_tag": fig["shapes_by_tag"],
        "svg_size": fig["svg_size"], "marks_groups": fig["marks_groups"],
        "polyline_vertices": fig["polyline_vertices"],
    }
    if not fig["chart"]:
        res.warn("chart-name", "figure.chart #%d has no data-chart attribute" % fig["index"])
    if not fig["section"]:
        res.warn("chart-outside-section", "%s is not inside a section.report-section" % label)

    # b. svg, size, marks group, mark count
    if not fig["has_svg"]:
        res.fail("chart-svg", "%s has no <svg>" % label)
    else:
        size = fig["svg_size"] or {}
        if not (size.get("width") or 0) > 0 or not (size.get("height") or 0) > 0:
            res.fail("chart-svg", "%s: svg has zero rendered size (%sx%s)"
                     % (label, size.get("width"), size.get("height")))
    if fig["marks_groups"] == 0:
        res.fail("chart-marks", "%s: no <g class=\"marks\"> in the svg" % label)
    marks_attr = fig["marks_attr"]
    expected_marks = None
    if marks_attr is None:
        res.fail("marks-mismatch", "%s: figure has no data-marks attribute" % label)
    else:
        try:
            expected_marks = int(marks_attr.strip())
        except ValueError:
            res.fail("marks-mismatch", "%s: data-marks=%r is not an integer" % (label, marks_attr))
        else:
            if expected_marks <= 0:
                res.fail("marks-mismatch", "%s: data-marks=%d must be > 0" % (label, expected_marks))
            if expected_marks != fig["shape_count"]:
                res.fail("marks-mismatch", "%s: data-marks=%d but g.marks contains %d shapes %s"
                         % (label, expected_marks, fig["shape_count"],
                            json.dumps(fig["shapes_by_tag"], sort_keys=True)))

    # c. drawn values vs data
    if not fig["chart_data_present"]:
        res.fail("chart-data", "%s: no <script type=\"application/json\" class=\"chart-data\">"
                 % label)
        return detail
    if (fig["chart_data_type"] or "").strip().lower() != "application/json":
        res.fail("chart-data", "%s: chart-data script has type=%r, expected application/json"
                 % (label, fig["chart_data_type"]))
    try:
        data = json.loads(fig["chart_data_text"] or "")
    except ValueError as exc:
        res.fail("chart-data", "%s: chart-data is not valid JSON: %s" % (label, exc))
        return detail
    if not isinstance(data, dict):
        res.fail("chart-data", "%s: chart-data must be a JSON object" % label)
        return detail
    kind = data.get("kind")
    detail["kind"] = kind
    if kind not in KNOWN_KINDS:
        res.fail("chart-data", "%s: unknown chart kind %r (expected one of %s)"
                 % (label, kind, ", ".join(KNOWN_KINDS)))
        return detail
    if fig["kind_attr"] is not None and fig["kind_attr"] != kind:
        res.fail("chart-data", "%s: data-kind=%r disagrees with chart-data kind %r"
                 % (label, fig["kind_attr"], kind))
    by_tag = fig["shapes_by_tag"]
    if kind == "bar":
        check_bar(fig, data, label, res, detail)
    elif kind == "heatmap":
        rows, cols, cells = data.get("rows"), data.get("cols"), data.get("cells")
        detail.update(rows=rows, cols=cols, cells=cells)
        if not (is_int(rows) and is_int(cols) and is_int(cells)) or rows <= 0 or cols <= 0 \
                or cells < 0:
            res.fail("chart-data", "%s: heatmap needs positive integer rows/cols and a "
                     "non-negative integer cells, got rows=%r cols=%r cells=%r"
                     % (label, rows, cols, cells))
        else:
            nrect = by_tag.get("rect", 0)
            if cells != nrect:
                res.fail("heatmap-cells", "%s: chart-data says %d non-empty cells but g.marks "
                         "has %d rects" % (label, cells, nrect))
            if cells > rows * cols:
                res.fail("heatmap-cells", "%s: %d cells exceed the %dx%d grid"
                         % (label, cells, rows, cols))
    else:  # line / scatter
        points = data.get("points")
        detail["points"] = points
        if not is_int(points) or points < 0:
            res.fail("chart-data", "%s: %s chart-data needs a non-negative integer \"points\", "
                     "got %r" % (label, kind, points))
        elif kind == "scatter":
            ncirc = by_tag.get("circle", 0)
            if ncirc != points:
                res.fail("scatter-points", "%s: chart-data says %d points but g.marks has %d "
                         "circles" % (label, points, ncirc))
        else:
            nlines = by_tag.get("polyline", 0) + by_tag.get("path", 0)
            if nlines == 0:
                res.fail("line-missing", "%s: line chart has no polyline/path in g.marks" % label)
            verts = [v for v in fig["polyline_vertices"] if isinstance(v, int)]
            if verts and by_tag.get("path", 0) == 0 and sum(verts) < points:
                res.warn("line-points", "%s: chart-data says %d points but the polylines have "
                         "only %d vertices" % (label, points, sum(verts)))
    return detail


# ---------------------------------------------------------------------------
# Screenshot


def png_size(data):
    if len(data) >= 24 and data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    return None


def take_screenshot(browser, session, path, res):
    metrics = browser.call("Page.getLayoutMetrics", session=session)
    content = metrics.get("cssContentSize") or metrics.get("contentSize") or {}
    width = max(1, int(round(content.get("width", 1400))))
    height = max(1, int(round(content.get("height", 1000))))
    if height > MAX_SCREENSHOT_HEIGHT:
        res.warn("screenshot-clipped", "page is %d px tall; screenshot clipped to %d px"
                 % (height, MAX_SCREENSHOT_HEIGHT))
        height = MAX_SCREENSHOT_HEIGHT
    shot = browser.call("Page.captureScreenshot", {
        "format": "png",
        "captureBeyondViewport": True,
        "fromSurface": True,
        "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
    }, session=session, timeout=30)
    data = base64.b64decode(shot.get("data", ""))
    out = pathlib.Path(path)
    if out.parent and not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    dims = png_size(data)
    info = {"path": str(out.resolve()), "bytes": len(data),
            "width": dims[0] if dims else None, "height": dims[1] if dims else None,
            "content_css_size": [width, height]}
    if not data or dims is None:
        res.fail("screenshot", "screenshot %s is empty or not a PNG (%d bytes)" % (out, len(data)))
    return info


# ---------------------------------------------------------------------------
# Main flow


def describe_remote_object(obj):
    if "value" in obj:
        v = obj["value"]
        return v if isinstance(v, str) else json.dumps(v)
    return obj.get("description") or obj.get("unserializableValue") or obj.get("type", "?")


def run_check(args, res, chromium):
    report = pathlib.Path(args.report).resolve()
    url = report.as_uri()
    res.facts.update(report=str(report), url=url, chromium_path=chromium)

    console_errors, console_warnings = [], []
    requests, external, failed_requests = {}, [], []

    def listener(method, params, session):
        if method == "Runtime.consoleAPICalled":
            kind = params.get("type")
            text = " ".join(str(describe_remote_object(a)) for a in params.get("args", []))
            frames = (params.get("stackTrace") or {}).get("callFrames") or []
            where = ("%s:%s" % (frames[0].get("url"), frames[0].get("lineNumber", 0) + 1)
                     if frames else "")
            entry = {"source": "console." + kind, "text": text, "where": where}
            if kind in ("error", "assert"):
                console_errors.append(entry)
            elif kind == "warning":
                console_warnings.append(entry)
        elif method == "Runtime.exceptionThrown":
            det = params.get("exceptionDetails", {})
            exc = det.get("exception") or {}
            text = exc.get("description") or det.get("text") or "exception"
            where = "%s:%s" % (det.get("url", ""), det.get("lineNumber", 0) + 1)
            console_errors.append({"source": "exception", "text": text, "where": where})
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            rec = {"source": "log." + entry.get("source", "?"), "text": entry.get("text", ""),
                   "where": entry.get("url", "")}
            if entry.get("level") == "error":
                console_errors.append(rec)
            elif entry.get("level") == "warning":
                console_warnings.append(rec)
        elif method == "Network.requestWillBeSent":
            req_url = params.get("request", {}).get("url", "")
            requests[params.get("requestId")] = req_url
            if not req_url.lower().startswith(ALLOWED_SCHEMES):
                external.append(req_url)
        elif method == "Network.loadingFailed":
            failed_requests.append({
                "url": requests.get(params.get("requestId"), "?"),
                "error": params.get("errorText", ""),
                "blocked": params.get("blockedReason"),
            })

    browser = Browser(chromium, window=(args.width, args.height))
    browser.listeners.append(listener)
    navigating = False
    try:
        browser.start()
        try:
            version = browser.call("Browser.getVersion", timeout=20)
        except (CdpError, BrowserGone) as exc:
            raise SetupError("Chromium did not answer on the DevTools pipe: %s\n%s"
                             % (exc, browser.log_tail()))
        res.facts["chromium_version"] = version.get("product")
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.call("Target.attachToTarget",
                               {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.call(domain + ".enable", session=session)
        browser.call("Emulation.setDeviceMetricsOverride", {
            "width": args.width, "height": args.height, "deviceScaleFactor": 1,
            "mobile": False}, session=session)
        browser.pending_events.clear()

        navigating = True
        t0 = time.monotonic()
        nav = browser.call("Page.navigate", {"url": url}, session=session,
                           timeout=max(10.0, 5 * args.max_load_seconds))
        if nav.get("errorText"):
            res.fail("navigate", "navigation to %s failed: %s" % (url, nav["errorText"]))
            return
        loaded = browser.wait_event("Page.loadEventFired", session=session,
                                    timeout=max(10.0, 5 * args.max_load_seconds))
        wall_ms = (time.monotonic() - t0) * 1000.0
        if loaded is None:
            res.fail("load-time", "load event did not fire within %.0f s"
                     % max(10.0, 5 * args.max_load_seconds))
            return
        timing = evaluate(browser, session, TIMING_JS) or {}
        evaluate(browser, session, LAYOUT_SETTLED_JS)
        browser.pump(0.25)  # late console messages / requests
        collected = evaluate(browser, session, COLLECT_JS, timeout=30)
        browser.pump(0.05)

        limit_ms = args.max_load_seconds * 1000.0
        page_ms = timing.get("load_ms")
        res.facts["load"] = {
            "wall_ms": round(wall_ms, 1),
            "page_load_ms": page_ms,
            "dom_content_loaded_ms": timing.get("dom_content_loaded_ms"),
            "limit_ms": limit_ms,
            "performance_timing": timing,
        }
        if wall_ms > limit_ms:
            res.fail("load-time", "wall-clock load took %.0f ms (limit %.0f ms)"
                     % (wall_ms, limit_ms))
        if page_ms is None:
            res.warn("load-time", "performance.timing.loadEventEnd was not set")
        elif page_ms > limit_ms:
            res.fail("load-time", "page load (loadEventEnd - navigationStart) took %d ms "
                     "(limit %.0f ms)" % (page_ms, limit_ms))

        res.facts["title"] = collected.get("title")
        res.facts["document_size"] = collected.get("document_size")
        res.facts["sections"] = check_sections(collected, args.expected, res)
        res.facts["section_details"] = collected["sections"]
        charts = [check_figure(fig, res) for fig in collected["figures"]]
        res.facts["charts"] = charts
        res.facts["totals"] = {
            "sections": len(collected["sections"]),
            "charts": len(charts),
            "marks": sum(f["shape_count"] for f in collected["figures"]),
        }
        if args.screenshot:
            res.facts["screenshot"] = take_screenshot(browser, session, args.screenshot, res)
        browser.pump(0.05)
    except GlobalTimeout:
        if not navigating:
            raise SetupError("timed out after %.0f s before the report was opened\n%s"
                             % (args.timeout, browser.log_tail()))
        res.fail("timeout", "global timeout of %.0f s hit while checking the report "
                 "(page hung?)" % args.timeout)
    except BrowserGone as exc:
        if not navigating:
            raise SetupError("%s\n%s" % (exc, browser.log_tail()))
        res.fail("browser-crash", "%s\n%s" % (exc, browser.log_tail()))
    except CdpError as exc:
        if not navigating:
            raise SetupError("%s\n%s" % (exc, browser.log_tail()))
        res.fail("cdp", str(exc))
    finally:
        signal.alarm(0)
        browser.close()
        res.facts["console_errors"] = console_errors
        res.facts["console_warnings"] = console_warnings
        res.facts["network"] = {
            "requests": sorted(set(requests.values())),
            "external": external,
            "failed": failed_requests,
        }
        for e in console_errors:
            res.fail("console-error", "%s: %s%s" % (e["source"], e["text"],
                                                   " (at %s)" % e["where"] if e["where"] else ""))
        for u in external:
            res.fail("network", "report fetched from network: %s" % u)
        for f in failed_requests:
            if f["url"] not in external:
                res.fail("network", "request failed: %s (%s)" % (f["url"], f["error"]))
        for w in console_warnings:
            res.warn("console-warning", "%s: %s" % (w["source"], w["text"]))
        others = sorted({u for u in requests.values() if u.lower().startswith("file:")
                         and u.split("#", 1)[0] != url})
        res.facts["network"]["other_local_files"] = others
        for u in others:
            res.warn("local-file", "report loads another local file (not self-contained "
                     "once moved): %s" % u)


def print_summary(args, res, elapsed):
    f = res.facts
    out = []
    out.append("Clientele report browser check")
    out.append("  report:     %s" % f.get("report", args.report))
    if f.get("chromium_path"):
        out.append("  chromium:   %s (%s)" % (f["chromium_path"], f.get("chromium_version", "?")))
    load = f.get("load")
    if load:
        page = ("%d ms" % load["page_load_ms"]) if load["page_load_ms"] is not None else "n/a"
        out.append("  load:       %.0f ms wall (navigate -> load event), %s in page "
                   "(loadEventEnd - navigationStart); limit %.0f ms"
                   % (load["wall_ms"], page, load["limit_ms"]))
    secs = f.get("sections")
    if secs:
        out.append("  sections:   %d found [%s]; expected %d, missing %d [%s], unexpected %d"
                   % (len(secs["found"]), ", ".join(str(k) for k in secs["found"]),
                      len(secs["expected"]), len(secs["missing"]), ", ".join(secs["missing"]),
                      len(secs["unexpected"])))
    totals = f.get("totals")
    if totals:
        out.append("  charts:     %d" % totals["charts"])
        for c in f.get("charts", []):
            size = c.get("svg_size") or {}
            out.append("    - %-24s %-8s marks=%-4s data-marks=%-4s svg=%sx%s"
                       % (c.get("chart"), c.get("kind") or c.get("kind_attr"),
                          c.get("shape_count"), c.get("data_marks"),
                          _fmt(size.get("width")), _fmt(size.get("height"))))
        out.append("  marks:      %d total" % totals["marks"])
    if "console_errors" in f:
        out.append("  console:    %d errors, %d warnings"
                   % (len(f["console_errors"]), len(f["console_warnings"])))
        net = f["network"]
        out.append("  network:    %d requests, %d non-file/data, %d failed"
                   % (len(net["requests"]), len(net["external"]), len(net["failed"])))
    shot = f.get("screenshot")
    if shot:
        out.append("  screenshot: %s (%sx%s px, %d bytes)"
                   % (shot["path"], shot["width"], shot["height"], shot["bytes"]))
    out.append("  elapsed:    %.2f s" % elapsed)
    for w in res.warnings:
        out.append("WARN [%s] %s" % (w["code"], w["message"]))
    for x in res.failures:
        out.append("FAIL [%s] %s" % (x["code"], x["message"]))
    if res.failures:
        out.append("RESULT: FAIL (%d failure%s)" % (len(res.failures),
                                                   "" if len(res.failures) == 1 else "s"))
    else:
        out.append("RESULT: PASS")
    print("\n".join(out))
    sys.stdout.flush()


def _fmt(v):
    return "?" if v is None else ("%g" % round(v, 1))


def write_json(path, args, res, elapsed, exit_code):
    doc = dict(res.facts)
    doc.update({
        "ok": exit_code == EXIT_OK,
        "exit_code": exit_code,
        "elapsed_s": round(elapsed, 3),
        "expected_sections": args.expected,
        "max_load_seconds": args.max_load_seconds,
        "failures": res.failures,
        "warnings": res.warnings,
    })
    p = pathlib.Path(path)
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def parse_args(argv):
    ap = argparse.ArgumentParser(description="Check a Clientele HTML report in headless Chromium.")
    ap.add_argument("report", help="path to the report .html file")
    ap.add_argument("--expect-sections", required=True,
                    help="comma-separated section keys that must be present (may be empty)")
    ap.add_argument("--screenshot", help="write a full-page PNG screenshot here")
    ap.add_argument("--max-load-seconds", type=float, default=2.0)
    ap.add_argument("--json", help="write all results as JSON here")
    ap.add_argument("--chromium", help="Chromium executable (default: $CHROMIUM, then PATH)")
    ap.add_argument("--timeout", type=float, default=60.0,
                    help="global timeout in seconds for the whole check (default 60)")
    ap.add_argument("--width", type=int, default=1400, help="viewport width (default 1400)")
    ap.add_argument("--height", type=int, default=1000, help="viewport height (default 1000)")
    args = ap.parse_args(argv)
    args.expected = [k.strip() for k in args.expect_sections.split(",") if k.strip()]
    return args


def main(argv=None):
    started = time.monotonic()
    args = parse_args(argv if argv is not None else sys.argv[1:])
    res = Results()

    def on_alarm(signum, frame):
        raise GlobalTimeout()

    def on_term(signum, frame):
        raise KeyboardInterrupt()

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)  # so `finally` kills the browser
    signal.alarm(max(1, int(round(args.timeout))))
    exit_code = EXIT_SETUP
    try:
        if not os.path.isfile(args.report):
            raise SetupError("report file not found: %s" % args.report)
        chromium = find_chromium(args.chromium)
        if chromium is None:
            where = args.chromium or os.environ.get("CHROMIUM") or \
                "chromium, chromium-browser, google-chrome on PATH"
            raise SetupError("no Chromium found (looked for: %s). Install it, e.g. "
                             "`apt-get install -y --no-install-recommends chromium`, or pass "
                             "--chromium PATH / set CHROMIUM." % where)
        run_check(args, res, chromium)
        exit_code = EXIT_FAIL if res.failures else EXIT_OK
    except SetupError as exc:
        signal.alarm(0)
        print("SETUP ERROR: %s" % exc, file=sys.stderr)
        res.fail("setup", str(exc))
        exit_code = EXIT_SETUP
    except GlobalTimeout:
        print("SETUP ERROR: global timeout of %.0f s" % args.timeout, file=sys.stderr)
        res.fail("timeout", "global timeout of %.0f s" % args.timeout)
        exit_code = EXIT_SETUP
    finally:
        signal.alarm(0)
    elapsed = time.monotonic() - started
    if exit_code != EXIT_SETUP or res.facts:
        print_summary(args, res, elapsed)
    if args.json:
        write_json(args.json, args, res, elapsed, exit_code)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
