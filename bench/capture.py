"""Capture throughput: pages per minute and peak Chromium memory over local pages.

Serves pages on loopback, captures them with N worker processes x M browser contexts each (one
Chromium per process, as in the capture worker), and writes the figures under "## Capture" (or
--section) in bench/RESULTS.md. The layout the product's worker runs is always among the rows.
Each row runs with the capture's egress proxy on (the product) or off (the browser connecting by
itself), so the proxy's cost is measured against a baseline of the same run.

Two kinds of pages (bench/capture_site.py): "simple" (a heading, text, one local image) and
"heavy", standing in for news and encyclopedia articles: dozens of images, styles and scripts on
other hosts that do not resolve here or never answer, local images of which some answer slowly and
some are missing, and a long text. Names are resolved by tests.support.offline_dns, so nothing
leaves the machine.

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
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config.launcher import services  # noqa: E402
from snapshots.capture import CaptureConfig, CaptureError, Capturer  # noqa: E402
from bench.capture_site import Site, serve, slow_image  # noqa: E402
from bench.process_tree import MemorySampler, tree_cpu_seconds  # noqa: E402
from bench.results_file import replace_section  # noqa: E402
from tests.support import offline_dns  # noqa: E402
from tests.support.pageserver import png_bytes  # noqa: E402

log = logging.getLogger("bench.capture")
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
    """Replace (or add) the "## <section>" section of RESULTS.md with ``text`` (which opens with that heading)."""
    lines = text.rstrip("\n").splitlines()
    if lines and lines[0].strip() == f"## {section}":
        lines = lines[1:]
    while lines and not lines[0].strip():
        lines = lines[1:]
    replace_section(section, lines)


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
            figures = run_product_worker(site, urls, warm, pages_in_flight, data_dir, args.redis_url)
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
