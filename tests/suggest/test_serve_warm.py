"""`replykit serve` pays each model's first question before it listens (issue 13, cold start):
the first question maps in the weights it reads (tens of MB for MiniLM) and takes 0.06-10 s
on the shared machine (docs/benchmarks.md "Cold start and memory"); after the warm-up the
first suggestion at 100k took 0.8 s instead of 2.4-4.5 s."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CLI = [sys.executable, "-c", "from cli.main import cli; cli()"]


def resident_weights(pid: int) -> tuple[int, int]:
    """(resident kB, mapped kB) of the .safetensors weight files the process maps."""
    resident = size = 0
    weights = False
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if "-" in fields[0] and len(fields) >= 5:  # a mapping's first line
            weights = fields[-1].endswith(".safetensors")
        elif weights and fields[0] == "Size:":
            size += int(fields[1])
        elif weights and fields[0] == "Rss:":
            resident += int(fields[1])
    return resident, size


def test_serve_has_read_the_model_weights_before_it_listens(tmp_path):
    (tmp_path / "config.toml").write_text('multilingual_model = ""\n', encoding="utf-8")
    server = subprocess.Popen(
        [*CLI, "--home", str(tmp_path), "serve", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = server.stdout.readline()  # printed once the models are ready, before listening
        assert line.startswith("replykit serving"), line + server.stdout.read()
        resident, size = resident_weights(server.pid)
        # a question reads every transformer layer (about half of MiniLM's file; the word
        # embeddings only at its tokens): 48% resident after the warm-up, 4% without it
        assert size > 0 and resident > size / 3, (resident, size)
    finally:
        server.kill()
        server.wait()
        server.stdout.close()
