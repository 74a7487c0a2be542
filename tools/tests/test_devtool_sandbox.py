"""What `make run` does with the sandbox's state, without starting it (fast): the
emulator keeps it under .cache/sandbox/<database>, OEC_FRESH=1 forgets it."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import devtool


def test_the_sandbox_keeps_its_state_per_database_under_cache():
    cmd = [str(part) for part in devtool.sandbox_cmd()]
    state_dir = Path(cmd[cmd.index("--state-dir") + 1])
    assert state_dir == ROOT / ".cache" / "sandbox" / devtool.RUN_DB
    assert cmd[1:3] == ["-m", "azure_emulator"]


def test_fresh_start_forgets_the_sandbox(tmp_path, monkeypatch):
    monkeypatch.setattr(devtool, "CACHE", tmp_path)
    monkeypatch.setattr(devtool, "RUN_DB", "oec_fresh_start_test_never_created")
    state_dir = devtool.sandbox_dir()
    (state_dir / "azurite").mkdir(parents=True)
    (state_dir / "emulator.json").write_text("{}")
    stamp = tmp_path / "db-oec_fresh_start_test_never_created.stamp"
    stamp.write_text("installed")
    devtool.start_fresh(devtool.venv_env(devtool.ensure_postgres()))
    assert not state_dir.exists()
    assert not stamp.exists()
