"""``lgetl sandbox``: banner, flags, runtime config, clean stop on Ctrl-C, option errors."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request

import orjson


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return orjson.loads(response.read())


def test_banner_prints_base_url_accounts_and_config(cli_sandbox):
    """The banner shows the URL, both accounts with their secrets, and the knobs."""
    running = cli_sandbox("--rate-limit", "7", "--seed", "3", "--batch-persist", "always")
    assert running.base_url.startswith("http://127.0.0.1:")
    accounts = _get(f"{running.base_url}/_sandbox/accounts")
    for account in accounts.values():
        for value in account.values():
            assert value in running.banner
    assert "rate_limit=7" in running.banner
    assert "batch_persist=always" in running.banner


def test_flags_reach_the_server_config(cli_sandbox):
    """Each flag sets its SandboxConfig field (read back through the admin route)."""
    running = cli_sandbox(
        "--rate-limit", "0", "--latency-ms", "2.5", "--seed", "9", "--fault-rate", "0.1",
        "--index-lag-ms", "30", "--token-ttl", "60", "--synthetic-leads", "10",
    )  # fmt: skip
    config = _get(f"{running.base_url}/_sandbox/config")
    port = int(running.base_url.rsplit(":", 1)[1])
    assert config == {
        "host": "127.0.0.1", "port": port, "rate_limit": 0, "latency_ms": 2.5, "seed": 9,
        "fault_rate": 0.1, "index_lag_ms": 30.0, "token_ttl": 60.0, "synthetic_leads": 10,
        "batch_persist": "never",
    }  # fmt: skip


def test_ctrl_c_stops_cleanly_with_exit_zero(cli_sandbox):
    """SIGINT: exit 0, no traceback; SIGTERM likewise."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        running = cli_sandbox()
        _get(f"{running.base_url}/_sandbox/config")
        code, out, err = running.stop(sig)
        assert code == 0, err
        assert "Traceback" not in err
        assert "sandbox stopped" in out


def test_invalid_option_is_one_line_and_exit_2():
    """A bad knob value is reported as one red line with exit code 2."""
    result = subprocess.run(
        [sys.executable, "-m", "etl.cli", "sandbox", "--fault-rate", "2"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "fault_rate must be between 0 and 1" in result.stderr
    assert "Traceback" not in result.stderr


def test_port_in_use_is_a_clear_error(cli_sandbox):
    """Binding a taken port fails with exit 2 and says to pick another --port."""
    running = cli_sandbox()
    port = running.base_url.rsplit(":", 1)[1]
    result = subprocess.run(
        [sys.executable, "-m", "etl.cli", "sandbox", "--port", port],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--port" in result.stderr
    assert "Traceback" not in result.stderr
