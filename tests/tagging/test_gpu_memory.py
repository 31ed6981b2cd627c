"""reanalyze --jobs N starts no more processes than the GPU's free memory holds (as the driver's
nvidia-smi reports it), and leaves a CPU host's processes alone."""
from __future__ import annotations

import io
import os
import stat

import pytest

from tagging.analysis import gpu_memory
from tagging.analysis.gpu_memory import GIB, per_process_bytes, processes_that_fit
from tagging.management.commands.reanalyze import Command

pytestmark = pytest.mark.no_postgres


@pytest.fixture
def nvidia_smi(tmp_path, monkeypatch):
    """A stand-in for the driver's tool on PATH: answers ``free`` MiB (or fails) and notes its arguments."""
    calls = tmp_path / "calls"

    def install(free: str, status: int = 0):
        tool = tmp_path / "nvidia-smi"
        tool.write_text(f'#!/bin/sh\necho "$@" >> {calls}\necho "{free}"\nexit {status}\n')
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
        monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
        return calls
    return install


def test_an_80_gb_card_holds_fewer_than_16_processes_at_batch_512():
    h100_free = 81_000 * 2**20  # what nvidia-smi showed free on an idle H100 80GB, about
    assert processes_that_fit(16, 512, h100_free) == 12
    assert processes_that_fit(16, 512, 140 * GIB) == 16  # an H200 holds them all
    assert processes_that_fit(16, 128, h100_free) == 16  # smaller batches need less
    assert per_process_bytes(128) < per_process_bytes(512) == 6 * GIB


def test_at_least_one_process_and_unknown_memory_changes_nothing():
    assert processes_that_fit(8, 512, 1 * GIB) == 1
    assert processes_that_fit(8, 512, None) == 8
    assert processes_that_fit(2, 512, 140 * GIB) == 2  # never more than asked for


def test_free_memory_is_read_from_the_driver_for_the_first_visible_gpu(nvidia_smi, monkeypatch):
    calls = nvidia_smi("61234")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert gpu_memory.free_bytes() == 61234 * 2**20
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,1")
    assert gpu_memory.free_bytes() == 61234 * 2**20
    first, second = calls.read_text().splitlines()
    assert "--query-gpu=memory.free" in first and "--id" not in first
    assert second.endswith("--id 3")


def test_no_driver_or_a_failing_one_means_unknown(nvidia_smi, monkeypatch, tmp_path):
    nvidia_smi("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver", status=9)
    assert gpu_memory.free_bytes() is None
    nvidia_smi("No devices were found")
    assert gpu_memory.free_bytes() is None
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    assert gpu_memory.free_bytes() is None


def test_the_command_lowers_jobs_on_a_gpu_host_and_says_why(nvidia_smi, settings):
    nvidia_smi(str(20 * 1024))  # 20 GiB free
    settings.LINKSHOT_INFERENCE_BACKEND = "torch-cuda"
    command = Command(stdout=io.StringIO())
    assert command._jobs_that_fit(16, 512) == 3
    said = command.stdout.getvalue()
    assert "--jobs 16 lowered to 3" in said and "6.0 GiB" in said and "20.0 GiB free" in said


def test_a_cpu_backend_keeps_every_process(nvidia_smi, settings):
    nvidia_smi("1024")  # a small GPU that the models do not use
    settings.LINKSHOT_INFERENCE_BACKEND = "cpu"
    command = Command(stdout=io.StringIO())
    assert command._jobs_that_fit(4, 512) == 4
    assert command.stdout.getvalue() == ""
