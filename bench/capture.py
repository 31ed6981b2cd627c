"""Capture throughput: pages per minute and peak Chromium memory over local pages.

Serves pages on loopback, captures them with N worker processes x M browser contexts each (one
Chromium per process, as in the capture worker), and writes the figures under "## Capture" (or
--section) in bench/RESULTS.md. The layout the product's worker runs is always among the rows.
Each row runs with the capture's egress proxy on (the product) or off (the browser connecting by
itself), so the proxy's cost is measured against a baseline of the same run.

Two kinds of pages: "simple" (a heading, text, one local image) and "heavy", standing in for news
and encyclopedia articles: dozens of images, styles and scripts on other hosts that do not resolve
here, local images of which some answer slowly and some are missing, and a long text. Names are
resolved by tests.support.offline_dns, so nothing leaves the machine.

    .venv/bin/python bench/capture.py --pages 200 --layouts 1x1 1x2 2x1 --quiet-s 0.2 0.5
    .venv/bin/python bench/capture.py --pages 100 --site heavy --layouts 2x1 1x4 --egress on
"""
from __future__ import annotations

import argparse
import itertools
import logging
import multiprocessing
import os
import platform
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config.launcher import services  # noqa: E402
from snapshots.capture import CaptureConfig, CaptureError, Capturer  # noqa: E402
from tests.support import offline_dns  # noqa: E402
from tests.support.offline_dns import LOOPBACK_SUFFIX  # noqa: E402
from tests.support.pageserver import LoopbackServer, blob, never_finishes, page, png_bytes, send  # noqa: E402

log = logging.getLogger("bench.capture")
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SAFETY_ARGS = ["--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
               "--proxy-server=http://127.0.0.1:9"]
PROFILES = {
    "full": {},  # screenshot, thumbnail, full page, HTML, MHTML, PDF, text, favicon
    "lean": {"keep_pdf": False, "keep_mhtml": False, "keep_full_page": False},
}


def machine() -> str:
    memory_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal:"))
    return f"{os.cpu_count()}-core {platform.machine()}, {memory_kib / 2**20:.0f} GiB"


def product_layout() -> str:
    """The layout `./linkshot up` runs: a prefork worker whose children each drive one Chromium and run
    one task at a time, so "<concurrency>x1"."""
    command = services(8000, Path("/tmp"))["worker"]
    return f"{command[command.index('--concurrency') + 1]}x1"


def simple_page(number: int) -> str:
    paragraphs = "".join(
        f"<p>Paragraph {k} of page {number}: a simple local page with a heading, some text and a logo, "
        f"standing in for a typical bookmark target.</p>" for k in range(12))
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Page {number}</title>'
            f'<meta name="description" content="Bench page {number}"><link rel="icon" href="/logo.png">'
            f"<style>body{{font-family:sans-serif;max-width:50em;margin:2em auto}}</style></head>"
            f'<body><h1>Page {number}</h1><img src="/logo.png" width="64">{paragraphs}</body></html>')


def heavy_page(number: int, hang_port: int = 0) -> str:
    """An article with what real ones carry: assets on a dozen other hosts, slow and missing ones,
    hosts that never answer a connection, a request a script keeps open and images added late."""
    hosts = [f"{name}.news-{number % 7}.example" for name in
             ("cdn", "static", "img", "fonts", "ads", "analytics", "tags", "video", "social", "comments")]
    remote = "".join(f'<link rel="stylesheet" href="https://{hosts[k % 10]}/css/{k}.css">' for k in range(6))
    remote += "".join(f'<script src="https://{hosts[(k + 3) % 10]}/js/{k}.js"></script>' for k in range(8))
    images = "".join(f'<img src="https://{hosts[k % 10]}/img/{number}-{k}.jpg" width="300" height="200">'
                     for k in range(24))
    if hang_port:  # trackers and ad servers that take the connection attempt and never complete it
        hanging = [f"{name}.hang-{number % 5}{LOOPBACK_SUFFIX}:{hang_port}" for name in ("ads", "pixel", "track")]
        remote += "".join(f'<script async src="https://{host}/tag.js"></script>' for host in hanging)
        images += "".join(f'<img src="https://{hanging[k % 3]}/px/{number}-{k}.gif" width="1" height="1">'
                          for k in range(4))
    local = "".join(f'<img src="/img/{kind}/{number}-{k}.png" width="120">'
                    for k, kind in enumerate(("fast", "fast", "fast", "slow", "slow", "missing")))
    paragraphs = "".join(f"<p>Paragraph {k} of article {number}. " + "Reporting on what happened, and why. " * 12
                         + "</p>" for k in range(30))
    # A live-update request the page keeps open, and images its script adds after the load event.
    late = (f"<script>fetch('/live/{number}').catch(() => {{}});"
            "addEventListener('load', () => setTimeout(() => { for (let k = 0; k < 3; k++) {"
            f" const img = new Image(); img.src = '/img/late/{number}-' + k + '.png';"
            " document.querySelector('article').append(img); } }, 400));</script>")
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Article {number}</title>'
            f'<meta name="description" content="Heavy bench page {number}">{remote}'
            f"<style>body{{font-family:serif;max-width:42em;margin:2em auto}} img{{display:block}}</style></head>"
            f"<body><header><nav>Home / World / Article</nav></header><main><article><h1>Article {number}</h1>"
            f"{local}{images}{paragraphs}</article></main><footer>footer</footer>{late}</body></html>")


def slow_image(image: bytes):
    """Answers after 0.2-1.0 s, different per image (a busy image server)."""
    def handle(handler) -> None:
        time.sleep(0.2 + (sum(handler.path.encode()) % 9) / 10)
        send(handler, 200, image, "image/png")
    return handle


class Blackhole:
    """A loopback port whose accept queue is kept full: a connection attempt there hangs until the
    connecting side gives up (as for a host that drops packets), it is never refused."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port = self.listener.getsockname()[1]
        self.fillers = []
        for _ in range(3):  # never accepted: they fill the queue, so the kernel drops later SYNs
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", self.port))
            self.fillers.append(filler)

    def close(self) -> None:
        for sock in (*self.fillers, self.listener):
            sock.close()


class Site:
    """The bench's pages on one loopback server, and (heavy pages) a port that never answers."""

    def __init__(self, pages: int, kind: str = "simple") -> None:
        self.kind = kind
        self.blackhole = Blackhole() if kind == "heavy" else None
        self.server = LoopbackServer("127.0.0.1")
        server, image = self.server, png_bytes(64, 64)
        server.routes["/logo.png"] = blob(image, "image/png")
        for number in range(pages):
            html = simple_page(number) if kind == "simple" else heavy_page(number, self.blackhole.port)
            server.routes[f"/p/{number}"] = page(html)
            for k in range(3):
                server.routes[f"/img/fast/{number}-{k}.png"] = blob(image, "image/png")
                server.routes[f"/img/late/{number}-{k}.png"] = slow_image(image)
            for k in (3, 4):
                server.routes[f"/img/slow/{number}-{k}.png"] = slow_image(image)
            server.routes[f"/live/{number}"] = never_finishes(server, 30)

    @property
    def port(self) -> int:
        return self.server.port

    def url(self, path: str) -> str:
        return self.server.url(path)

    @property
    def allowed_private(self) -> list[str]:
        return [f"127.0.0.1:{self.server.port}"] + ([f"127.0.0.1:{self.blackhole.port}"] if self.blackhole else [])

    def close(self) -> None:
        self.server.close()
        if self.blackhole:
            self.blackhole.close()


def serve(pages: int, kind: str = "simple") -> Site:
    return Site(pages, kind)


def worker(urls: list[str], contexts: int, config: CaptureConfig, out) -> None:
    engine = Capturer(config)
    try:
        engine.capture(urls[0])  # warm-up: launch the browser outside the timed part
        cpu_before, started = tree_cpu_seconds(os.getpid()), time.time()
        results = engine.capture_many(urls, contexts)
        ended, cpu_after = time.time(), tree_cpu_seconds(os.getpid())
        failures = [str(r) for r in results if isinstance(r, CaptureError)]
        steps: dict[str, float] = {}
        for result in results:
            for step, seconds in getattr(result, "timings", {}).items():
                steps[step] = steps.get(step, 0.0) + seconds / len(results)
        out.put((started, ended, len(results), failures, cpu_after - cpu_before, steps))
    finally:
        engine.close()


def tree_cpu_seconds(root: int) -> float:
    """CPU time of root and its descendants, including reaped children (renderers of closed contexts)."""
    table, ticks = {}, os.sysconf("SC_CLK_TCK")
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            table[int(proc.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += table.get(pid, (0, 0))[1]
        stack.extend(child for child, (ppid, _cpu) in table.items() if ppid == pid)
    return total / ticks


class MemorySampler(threading.Thread):
    """Peak summed RSS (and PSS, which counts shared pages once) of the Chromium processes."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = self.peak_pss = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.2):
            rss, pss = chromium_memory(os.getpid())
            self.peak, self.peak_pss = max(self.peak, rss), max(self.peak_pss, pss)


def _proc_table() -> dict[int, tuple[int, str, int]]:
    table = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            name = stat[stat.index("(") + 1:stat.rindex(")")]
            fields = stat.rsplit(")", 1)[1].split()
            table[int(proc.name)] = (int(fields[1]), name, int(fields[21]) * os.sysconf("SC_PAGE_SIZE"))
        except (OSError, ValueError, IndexError):
            continue
    return table


def _pss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def chromium_memory(root: int) -> tuple[int, int]:
    table = _proc_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _name, _rss) in table.items():
        children.setdefault(ppid, []).append(pid)
    rss = pss = 0
    stack = [root]
    while stack:
        pid = stack.pop()
        for child in children.get(pid, []):
            stack.append(child)
            if "chrom" in table[child][1]:
                rss += table[child][2]
                pss += _pss(child)
    return rss, pss


@dataclass
class Run:
    layout: str
    profile: str
    pages: int
    seconds: float
    peak_bytes: int
    peak_pss: int
    cpu_seconds: float
    steps: dict[str, float]
    failures: list[str]
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average at the start and the end
    quiet_s: float = 0.0  # the network-quiet spell the capture waited for after the load event
    egress: bool = True  # through the capture's egress proxy (the product) or straight out
    kind: str = "simple"

    @property
    def per_minute(self) -> float:
        return self.pages / self.seconds * 60


def run_layout(server: Site, pages: int, workers: int, contexts: int, profile: str,
               quiet_s: float, egress: bool = True, kind: str = "simple") -> Run:
    config = CaptureConfig(allowed_private=server.allowed_private, extra_chromium_args=SAFETY_ARGS,
                           network_quiet_s=quiet_s, egress_proxy=egress,
                           resolver=offline_dns.getaddrinfo_with_loopback_names,
                           **PROFILES[profile])
    urls = [server.url(f"/p/{n}") for n in range(pages)]
    spawn = multiprocessing.get_context("spawn")
    out = spawn.Queue()
    procs = [spawn.Process(target=worker, args=(urls[i::workers], contexts, config, out)) for i in range(workers)]
    sampler = MemorySampler()
    sampler.start()
    load_before = os.getloadavg()[0]
    for proc in procs:
        proc.start()
    reports = [out.get() for _ in procs]
    for proc in procs:
        proc.join()
    sampler.stopped.set()
    seconds = max(r[1] for r in reports) - min(r[0] for r in reports)
    failures = [f for r in reports for f in r[3]]
    steps = {k: sum(r[5].get(k, 0) for r in reports) / len(reports) for k in reports[0][5]}
    return Run(f"{workers}x{contexts}", profile, sum(r[2] for r in reports), seconds, sampler.peak,
               sampler.peak_pss, sum(r[4] for r in reports), steps, failures, (load_before, os.getloadavg()[0]),
               quiet_s, egress, kind)


def table(runs: list[Run]) -> str:
    product = product_layout()
    lines = ["| processes x contexts | egress proxy | pages | quiet wait | assets | pages | seconds | pages/min | "
             "CPU-s/page | 2-core ceiling (pages/min) | peak Chromium RSS (sum) | peak Chromium PSS | failures | "
             "load average |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for run in runs:
        cpu = run.cpu_seconds / run.pages
        layout = f"{run.layout} (product)" if run.layout == product else run.layout
        egress = "on" if run.egress else "off"
        lines.append(f"| {layout} | {egress} | {run.kind} | {run.quiet_s:g} s | {run.profile} | {run.pages} | "
                     f"{run.seconds:.1f} | "
                     f"{run.per_minute:.0f} | {cpu:.2f} | {120 / cpu:.0f} | {run.peak_bytes / 2**20:.0f} MiB | "
                     f"{run.peak_pss / 2**20:.0f} MiB | {len(run.failures)} | {run.load[0]:.1f}-{run.load[1]:.1f} |")
    return "\n".join(lines)


def step_table(run: Run) -> str:
    steps = sorted(run.steps.items(), key=lambda item: -item[1])
    return (f"Mean seconds per step ({run.layout}, egress proxy {'on' if run.egress else 'off'}, {run.kind} pages, "
            f"quiet wait {run.quiet_s:g} s, {run.profile}): "
            + ", ".join(f"{name} {seconds:.2f}" for name, seconds in steps))


def write_results(text: str, section: str = "Capture") -> None:
    """Replace (or add) the "## <section>" section of RESULTS.md, leaving other sections alone."""
    existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    lines = existing.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == f"## {section}"), None)
    if start is None:
        new = existing.rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n"
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        new = "\n".join(lines[:start] + text.rstrip("\n").splitlines() + [""] + lines[end:]).rstrip("\n") + "\n"
    RESULTS.write_text(new)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--layouts", nargs="+", default=["2x1", "1x1", "1x2"])
    parser.add_argument("--profiles", nargs="+", default=["full"], choices=sorted(PROFILES))
    parser.add_argument("--quiet-s", nargs="+", type=float, default=[CaptureConfig().network_quiet_s],
                        help="network-quiet spells to compare (0.5 s is what Playwright's networkidle waits)")
    parser.add_argument("--site", default="simple", choices=("simple", "heavy"), help="which pages to capture")
    parser.add_argument("--egress", nargs="+", default=["on", "off"], choices=("on", "off"),
                        help="rows with the capture's egress proxy on (the product) and/or off (the baseline)")
    parser.add_argument("--section", default="Capture", help="the RESULTS.md section these figures replace")
    parser.add_argument("--note", default="", help="a line added under the table (e.g. machine load)")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--in-flight", nargs="+", type=int, default=None, metavar="N",
                        help="run the product's worker (the launcher's Celery command, real Redis and database) "
                             "once per value, with LINKSHOT_CAPTURE_PAGES_IN_FLIGHT=N; repeat values to alternate")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""),
                        help="with --in-flight: the database the worker uses (migrated; its rows are the bench's)")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""),
                        help="with --in-flight: the Redis database the worker uses (flushed before each row)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    if args.in_flight:
        main_product_worker(args)
        return
    layouts = args.layouts if product_layout() in args.layouts else [product_layout(), *args.layouts]
    server = serve(args.pages, args.site)
    runs = []
    try:
        for profile, quiet_s, layout, egress in itertools.product(args.profiles, args.quiet_s, layouts, args.egress):
            workers, contexts = (int(part) for part in layout.split("x"))
            runs.append(run_layout(server, args.pages, workers, contexts, profile, quiet_s, egress == "on", args.site))
            print(table(runs[-1:]).splitlines()[-1], flush=True)  # noqa: T201 - CLI progress
            if not args.no_write:  # after every layout, so a long run keeps what it measured
                write_results(report(runs, args.pages, args.note, args.section, args.site), args.section)
    finally:
        server.close()
    print(report(runs, args.pages, args.note, args.section, args.site))  # noqa: T201


def report(runs: list[Run], pages: int, note: str, section: str = "Capture", kind: str = "simple") -> str:
    firsts = {run.egress: run for run in reversed(runs)}  # the first row of each egress setting
    steps = "\n\n".join(step_table(run) for run in firsts.values())
    return (f"## {section}\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {machine()}, Debian Chromium via "
            f"Playwright, {pages} {kind} local pages (`bench/capture.py`). The product's worker runs "
            f"{product_layout()} (marked): a prefork Celery worker whose children each drive one Chromium and "
            f"capture one page at a time. Quiet wait: after the load event, how long no request may be open "
            f"before the capture goes on. Memory is sampled every 0.2 s: RSS summed over every Chromium process "
            f"(counts shared pages once per process) and PSS (shared pages split, the real footprint). "
            f"CPU-s/page counts the worker, the Playwright driver and all Chromium processes; the "
            f"ceiling is 120 CPU-s per minute divided by it. Egress proxy on: every connection of the browser "
            f"goes through the capture's checked proxy (the product); off: Chromium connects by itself (the "
            f"baseline, never run in the product).\n\n{table(runs)}\n\n{steps}\n\n{note}\n")


@dataclass
class WorkerRun:
    pages_in_flight: int
    figures: dict

    @property
    def per_minute(self) -> float:
        return self.figures["pages"] / self.figures["seconds"] * 60


def worker_table(runs: list[WorkerRun]) -> str:
    lines = ["| layout | pages in flight per child | egress proxy | pages | seconds | pages/min | CPU-s/page | "
             "most pages open in one child | peak Chromium RSS (sum) | peak Chromium PSS | failed | retried | "
             "load average |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for run in runs:
        f = run.figures
        lines.append(f"| {product_layout()} (product) | {run.pages_in_flight} | on | {f['pages']} | {f['seconds']:.1f} | "
                     f"{run.per_minute:.0f} | {f['cpu_seconds'] / f['pages']:.2f} | {f['most_in_flight']} | "
                     f"{f['peak_bytes'] / 2**20:.0f} MiB | {f['peak_pss'] / 2**20:.0f} MiB | {len(f['failures'])} | "
                     f"{f['retried']} | {f['load'][0]:.1f}-{f['load'][1]:.1f} |")
    return "\n".join(lines)


def worker_report(runs: list[WorkerRun], pages: int, kind: str, section: str, note: str) -> str:
    firsts = {run.pages_in_flight: run for run in reversed(runs)}
    steps = "\n\n".join(
        f"Mean seconds per step ({n} in flight): " + ", ".join(
            f"{name} {seconds:.2f}" for name, seconds in sorted(run.figures["steps"].items(), key=lambda i: -i[1]))
        for n, run in sorted(firsts.items()))
    return (f"## {section}\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {machine()}, Debian Chromium via "
            f"Playwright, {pages} {kind} local pages per row (`bench/capture.py --in-flight`). Each row starts the "
            f"product's worker (the launcher's Celery command: prefork, {product_layout().split('x')[0]} children, "
            f"each driving one Chromium; served queues cut to capture and capture_bulk) with "
            f"LINKSHOT_CAPTURE_PAGES_IN_FLIGHT set, on real Redis and Postgres, warms both browsers, then saves "
            f"all the pages' snapshots at once and times from the first message sent to the last snapshot "
            f"finished (the rows' own finish times). The egress proxy is on (the product has no switch to turn it "
            f"off). Memory is sampled every 0.2 s over every Chromium process of the worker: RSS summed and PSS "
            f"(shared pages split, the real footprint). CPU-s/page counts every process of the run: the bench "
            f"itself (loopback site, memory sampler, polling the rows), the worker, its Playwright drivers and "
            f"all Chromium processes.\n\n{worker_table(runs)}\n\n{steps}\n\n{note}\n")


def main_product_worker(args) -> None:
    from bench.capture_worker import run_product_worker, setup_django
    if not args.database_url or not args.redis_url:
        sys.exit("--in-flight needs --database-url and --redis-url (or DATABASE_URL and REDIS_URL)")
    site = serve(args.pages, args.site)
    for number in range(8):  # warm-up pages: each child's browser starts before the timed part
        site.server.routes[f"/warm/{number}"] = slow_image(png_bytes(8, 8))
    data_dir = setup_django(args.database_url, args.redis_url, site)
    urls = [site.url(f"/p/{n}") for n in range(args.pages)]
    runs: list[WorkerRun] = []
    try:
        for pages_in_flight in args.in_flight:
            warm = [site.url(f"/warm/{k}") for k in range(min(8, 2 * pages_in_flight))]
            figures = run_product_worker(site, urls, warm, pages_in_flight, data_dir, args.redis_url,
                                         MemorySampler, tree_cpu_seconds)
            runs.append(WorkerRun(pages_in_flight, figures))
            print(worker_table(runs[-1:]).splitlines()[-1], flush=True)  # noqa: T201 - CLI progress
            if figures["failures"]:
                print("failures:", figures["failures"][:5], flush=True)  # noqa: T201
            if not args.no_write:
                write_results(worker_report(runs, args.pages, args.site, args.section, args.note), args.section)
    finally:
        site.close()
    print(worker_report(runs, args.pages, args.site, args.section, args.note))  # noqa: T201


if __name__ == "__main__":
    main()
