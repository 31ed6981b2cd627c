"""Memory of the embedded default's Celery worker processes with both models loaded, by process.

    flock /tmp/linkshot-bench.lock .venv/bin/python bench/worker_memory.py [--pages 50] \
        [--code before=/tmp/linkshot-main] [--code after=.] [--write]

Each --code LABEL=DIR starts `./linkshot up`'s launcher from that checkout (bench/suggest_platform.py:
web, the Celery worker(s), beat, a private Redis) on a fresh data dir, with the same exported models.
One person gets a tag per page family; a third of the pages (bench/memory_site.py: standard-library
documentation text and two photo-like JPEGs each, served on 127.0.0.1) are added tagged, then the rest
untagged; once every analysis is done, all of them are queued again at once (one full batch: the
models' largest peak, as after an import or `reanalyze`); then --single links are saved one at a
time, each waited for (the latency a person saving a link sees). Every process under the launcher is sampled
from /proc/PID/smaps_rollup twice a second, peaks kept per phase, and once more at the end:
  worker main     a Celery worker's main process (parent of its pool)
  worker child N  its prefork children (the processes that run tasks)
  driver          the Playwright driver (node) a capture child starts; Chromium, its child, apart
Totals: "worker" is what bench/suggest_platform.py's memory_mb() counts as the worker role: every
process whose command line is a Celery worker (main processes and their children); the drivers are
"other" there and are added here in their own column. Also per process: whether it mapped
onnxruntime and torch's shared libraries (torch imported), and the analysis latency after capture.
"""
from __future__ import annotations

import argparse
import json
import os
import platform as host
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.memory_site import FAMILIES, build  # noqa: E402
from bench.process_tree import descendants, smaps_rollup  # noqa: E402
from bench.results_file import replace_section  # noqa: E402
from bench.suggest_eval import PASSWORD, _seconds, serve, wait_analysed  # noqa: E402
from bench.suggest_platform import ROOT, Platform  # noqa: E402

HEADING = "Worker memory with the models loaded"


def _read(pid: int) -> dict | None:
    base = Path(f"/proc/{pid}")
    try:
        stat = (base / "stat").read_text()
        command = (base / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        rollup = smaps_rollup(pid)
        sid = os.getsid(pid)
    except (OSError, ValueError, ProcessLookupError):
        return None
    return {"pid": pid, "ppid": int(stat.rsplit(")", 1)[1].split()[1]), "sid": sid, "command": command,
            "rss": rollup.get("Rss", 0) / 1024, "pss": rollup.get("Pss", 0) / 1024,
            "anon": rollup.get("Anonymous", 0) / 1024}


def _libraries(pid: int) -> set[str]:
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return set()
    return {name for name, mark in (("onnxruntime", "onnxruntime_pybind11_state"), ("torch", "libtorch_cpu"))
            if mark in maps}


def _descendants(processes: list[dict], root: int) -> list[dict]:
    """The launcher's process tree (Chromium included, whatever session it starts)."""
    by_pid = {p["pid"]: p for p in processes}
    return [by_pid[pid] for pid in descendants({p["pid"]: p["ppid"] for p in processes}, root)]


def _is_worker(command: str) -> bool:
    return "celery" in command and " worker" in command


def _queues(command: str) -> str:
    words = command.split()
    return words[words.index("-Q") + 1] if "-Q" in words else "all"


def classify(processes: list[dict]) -> dict[str, dict]:
    """role -> process, for the worker tree: 'worker[Q] main', 'worker[Q] child N', 'driver N'."""
    by_pid = {p["pid"]: p for p in processes}
    roles: dict[str, dict] = {}
    mains = sorted((p for p in processes if _is_worker(p["command"]) and not _is_worker(
        by_pid.get(p["ppid"], {}).get("command", ""))), key=lambda p: p["pid"])
    drivers = 0
    for main in mains:
        name = f"worker[{_queues(main['command'])}]"
        roles[f"{name} main"] = main
        children = sorted((p for p in processes if p["ppid"] == main["pid"]), key=lambda p: p["pid"])
        for n, child in enumerate(children, 1):
            roles[f"{name} child {n}"] = child
            for proc in processes:
                if proc["ppid"] == child["pid"] and "node" in proc["command"] and "chrom" not in proc["command"]:
                    drivers += 1
                    roles[f"driver {drivers}"] = proc
    return roles


class Sampler(threading.Thread):
    """Peak RSS/PSS per role and of the totals, sampled from /proc every half second."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root, self.stopped = root, threading.Event()
        self.peaks: dict[str, dict[str, dict[str, float]]] = {}
        self.phase = "load"
        self.libraries: dict[str, set[str]] = {}
        self.samples = 0

    def sample(self) -> dict[str, dict]:
        everything = [p for pid in os.listdir("/proc") if pid.isdigit() and (p := _read(int(pid)))]
        processes = _descendants(everything, self.root)
        roles = classify(processes)
        totals = {"worker": [p for r, p in roles.items() if r.startswith("worker")],
                  "driver": [p for r, p in roles.items() if r.startswith("driver")]}
        totals["worker + driver"] = totals["worker"] + totals["driver"]
        chromium = [p for p in processes if "chrom" in p["command"]]
        current = {role: {"rss": p["rss"], "pss": p["pss"]} for role, p in roles.items()}
        for name, group in {**{f"total {k}": v for k, v in totals.items()}, "chromium (apart)": chromium}.items():
            current[name] = {"rss": sum(p["rss"] for p in group), "pss": sum(p["pss"] for p in group),
                             "processes": len(group)}
        for role, figures in current.items():
            peak = self.peaks.setdefault(self.phase, {}).setdefault(role, {"rss": 0.0, "pss": 0.0})
            peak["rss"], peak["pss"] = max(peak["rss"], figures["rss"]), max(peak["pss"], figures["pss"])
            peak["processes"] = max(peak.get("processes", 0), figures.get("processes", 1))
        for role, p in roles.items():
            self.libraries.setdefault(role, set()).update(_libraries(p["pid"]))
        self.samples += 1
        return current

    def run(self) -> None:
        while not self.stopped.wait(0.5):
            self.sample()


def run_load(lab: Platform, base: str, listing: list[dict], timeout: float) -> dict:
    token = lab.token = lab.create_user("memory", PASSWORD)
    for tag in FAMILIES:
        lab.call("POST", "/api/tags/", {"name": tag}, token=token)
    tagged = listing[: len(listing) // 3]
    started = time.monotonic()
    for page in listing:
        lab.call("POST", "/api/links/", {"url": base + page["path"],
                                         "tags": page["tags"] if page in tagged else []}, token=token)
    links = wait_analysed(lab, token, len(listing), timeout)
    after_capture = [s for link in links if (s := _seconds((link.get("analysis") or {}).get("finished_at"),
                                                           (link.get("snapshot") or {}).get("finished_at"))) is not None]
    done = sum(1 for link in links if (link.get("analysis") or {}).get("status") == "done")
    return {"links": len(links), "analysed": done, "seconds": round(time.monotonic() - started, 1),
            "median_s_after_capture": round(statistics.median(after_capture), 2) if after_capture else None}


REANALYSE_ALL = """
from snapshots.models import Link
from tagging.analysis import jobs
from tagging.tasks import analyze_pending
print(jobs.queue_reanalysis(Link.objects.all(), "", True), "analyses queued")
analyze_pending.delay()
"""


def reanalyse_all(lab: Platform, count: int, timeout: float) -> dict:
    """Every link analysed again by the worker at once: one full batch, the models' largest peak."""
    env = {**lab.env, "CELERY_BROKER_URL": f"redis+socket://{lab.data_dir / 'redis.sock'}"}
    before = {link["id"]: (link.get("analysis") or {}).get("finished_at") for link in lab.all_links(lab.token)}
    started = time.monotonic()
    subprocess.run([sys.executable, "manage.py", "shell", "-c", REANALYSE_ALL], cwd=lab.root, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        links = lab.all_links(lab.token)
        again = [link for link in links if (link.get("analysis") or {}).get("status") == "done"
                 and (link.get("analysis") or {}).get("finished_at") != before.get(link["id"])]
        if len(again) >= count:
            break
        time.sleep(1)
    return {"reanalysed": len(again), "reanalysis_seconds": round(time.monotonic() - started, 1)}


def save_one_at_a_time(lab: Platform, base: str, listing: list[dict], count: int, timeout: float) -> dict:
    """Links saved one by one, each waited for: the latency a person saving a link sees."""
    token = lab.token
    after_capture = []
    for page in listing[:count]:
        created = lab.call("POST", "/api/links/", {"url": base + page["path"] + "?again"}, token=token)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            link = lab.call("GET", f"/api/links/{created['id']}/", token=token)
            if (link.get("analysis") or {}).get("status") in ("done", "failed"):
                break
            time.sleep(0.5)
        seconds = _seconds((link.get("analysis") or {}).get("finished_at"), (link.get("snapshot") or {}).get("finished_at"))
        if seconds is not None:
            after_capture.append(seconds)
    return {"single_saves": len(after_capture),
            "single_median_s_after_capture": round(statistics.median(after_capture), 2) if after_capture else None}


def measure(label: str, root: Path, tmp: Path, site, listing: list[dict], args) -> dict:
    data = tmp / label
    data.mkdir()
    lab = Platform(data, f"127.0.0.1:{site.server_address[1]}", {"LINKSHOT_MODELS_DIR": str(args.models)}, root=root)
    lab.start()
    try:
        sampler = Sampler(lab.proc.pid)
        sampler.start()
        load = run_load(lab, f"http://127.0.0.1:{site.server_address[1]}", listing, args.timeout)
        time.sleep(args.settle)  # the last batch's suggestions written, pools idle
        sampler.phase = "re-analysis"
        load.update(reanalyse_all(lab, len(listing), args.timeout))
        time.sleep(args.settle)
        sampler.phase = "single saves"
        load.update(save_one_at_a_time(lab, f"http://127.0.0.1:{site.server_address[1]}", listing, args.single,
                                       args.timeout))
        sampler.stopped.set()
        sampler.join()
        end = sampler.sample()
        sessions = (data / "platform.log").read_text(errors="replace").count("onnxruntime ") if (
            data / "platform.log").exists() else 0
    finally:
        lab.stop()
    return {"label": label, "root": str(root), "load": load, "peaks": sampler.peaks, "end": end,
            "libraries": {r: sorted(v) for r, v in sampler.libraries.items()}, "samples": sampler.samples,
            "ort_session_log_lines": sessions}


def table(results: list[dict]) -> list[str]:
    roles = []
    for result in results:
        for role in [*result["end"], *(r for peak in result["peaks"].values() for r in peak)]:
            if role not in roles:
                roles.append(role)
    roles.sort(key=lambda r: (r.startswith("total") or r.startswith("chromium"), r.startswith("chromium"), r))
    phases = ["load", "re-analysis", "single saves"]
    head = "| process | " + " | ".join(f"{r['label']} peak {phase} RSS / PSS MB" for r in results for phase in phases)
    head += " | " + " | ".join(f"{r['label']} end RSS / PSS MB | {r['label']} libraries" for r in results) + " |"
    lines = [head, "|---|" + "---|" * (len(results) * (len(phases) + 2))]
    figure = lambda f: f"{f['rss']:.0f} / {f['pss']:.0f}" if f else "-"  # noqa: E731
    for role in roles:
        cells = [figure(r["peaks"].get(phase, {}).get(role)) for r in results for phase in phases]
        for result in results:
            cells += [figure(result["end"].get(role)), ", ".join(result["libraries"].get(role, [])) or (
                "" if role.startswith(("total", "chrom")) else "-")]
        name = f"**{role}**" if role.startswith("total worker") else role
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--code", action="append", default=[], help="LABEL=DIR, a checkout to run (repeatable)")
    parser.add_argument("--models", type=Path, default=ROOT / "data" / "models",
                        help="exported ONNX files, shared by every checkout (export them first)")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--settle", type=float, default=5.0, help="seconds to wait after the last analysis")
    parser.add_argument("--single", type=int, default=10, help="links then saved one at a time")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    codes = [(c.split("=", 1)[0], Path(c.split("=", 1)[1]).resolve()) for c in args.code] or [("this", ROOT)]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="linkshot-memory-") as tmp:
        listing = build(Path(tmp) / "site", args.pages)
        site = serve(Path(tmp) / "site")
        results = []
        for label, root in codes:
            result = measure(label, root, Path(tmp), site, listing, args)
            print(json.dumps(result), flush=True)
            results.append(result)
        site.shutdown()
    load_after = os.getloadavg()
    lines = [
        f"`bench/worker_memory.py --pages {args.pages} " + " ".join(f"--code {c}" for c in args.code) + "`, "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {host.machine()}, {os.cpu_count()} cores, "
        f"load average {load_before[0]:.1f} before / {load_after[0]:.1f} after. "
        f"Load: {args.pages} links (standard-library documentation pages with two 800x500 JPEGs each, on "
        f"127.0.0.1), a third of them tagged, all captured and analysed by one platform per checkout "
        "(`./linkshot up`'s launcher, onnxruntime on the CPU), then all analysed again at once by the worker. "
        "Peak: the highest of twice-a-second samples in each phase; end: after the last analysis. \"total worker\" is what bench/suggest_platform.py's "
        "memory_mb() counts as the worker: every Celery worker process (main and pool children); the "
        "Playwright drivers (node) are a column of their own; Chromium is measured apart (its own budget).",
        "",
        *table(results),
        "",
        "| checkout | links analysed | load s | median s after capture (all at once) | re-analysed | "
        "re-analysis s | saved one at a time | median s after capture (one at a time) |",
        "|---|---|---|---|---|---|---|---|",
        *(f"| {r['label']} | {r['load']['analysed']}/{r['load']['links']} | {r['load']['seconds']} | "
          f"{r['load']['median_s_after_capture']} | {r['load']['reanalysed']} | {r['load']['reanalysis_seconds']} | "
          f"{r['load']['single_saves']} | {r['load']['single_median_s_after_capture']} |" for r in results),
        "",
    ]
    print("\n".join(lines))
    if args.write:
        replace_section(HEADING, lines)


if __name__ == "__main__":
    main()
