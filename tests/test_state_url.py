"""Where the state store lives: --state / LGETL_STATE / XDG default, and URL masking."""

from __future__ import annotations

import os

import pytest

from state import StateUnavailable, mask_url, resolve_state_url


def test_default_is_under_xdg_state_home():
    """Without --state or LGETL_STATE the store is $XDG_STATE_HOME/lgetl/state.sqlite."""
    env = {"XDG_STATE_HOME": "/srv/state", "HOME": "/home/me"}
    assert resolve_state_url(None, env) == "sqlite:////srv/state/lgetl/state.sqlite"


def test_default_falls_back_to_home_local_state():
    """Without XDG_STATE_HOME the default is ~/.local/state/lgetl/state.sqlite."""
    assert (
        resolve_state_url(None, {"HOME": "/home/me"})
        == "sqlite:////home/me/.local/state/lgetl/state.sqlite"
    )


def test_relative_xdg_state_home_is_ignored():
    """The XDG spec says a relative XDG_STATE_HOME is invalid: fall back to HOME."""
    env = {"XDG_STATE_HOME": "relative/dir", "HOME": "/home/me"}
    assert resolve_state_url(None, env) == "sqlite:////home/me/.local/state/lgetl/state.sqlite"


def test_env_var_is_used_when_no_option():
    """LGETL_STATE applies when --state is not given."""
    env = {"LGETL_STATE": "/data/lg.sqlite", "HOME": "/home/me"}
    assert resolve_state_url(None, env) == "sqlite:////data/lg.sqlite"


def test_option_wins_over_env_var():
    """--state overrides LGETL_STATE."""
    env = {"LGETL_STATE": "/data/env.sqlite"}
    assert resolve_state_url("/data/opt.sqlite", env) == "sqlite:////data/opt.sqlite"


def test_tilde_path_expands_with_env_home():
    """A ~ path expands with the given environment's HOME (the function is pure)."""
    assert resolve_state_url("~/s.db", {"HOME": "/home/x"}) == "sqlite:////home/x/s.db"


def test_relative_path_is_made_absolute():
    """A relative path is resolved against the current directory, once, at start."""
    assert resolve_state_url("s.db", {}) == f"sqlite:///{os.path.abspath('s.db')}"


def test_url_is_passed_through():
    """A value with :// is a SQLAlchemy URL, kept as given."""
    url = "postgresql+psycopg://lg:pw@db.internal:5432/lgetl"
    assert resolve_state_url(url, {}) == url


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_bare_postgres_scheme_selects_psycopg(scheme):
    """postgresql:// and postgres:// mean psycopg 3, the only driver installed."""
    assert resolve_state_url(f"{scheme}://u@h/db", {}) == "postgresql+psycopg://u@h/db"


def test_unparseable_url_is_a_config_error_without_the_password():
    """A broken URL exits 2 with a message that does not echo the password."""
    with pytest.raises(StateUnavailable) as info:
        resolve_state_url("postgresql+psycopg://u:s3cret@h:notaport/db", {})
    assert info.value.exit_code == 2
    assert "s3cret" not in str(info.value)


def test_mask_url_hides_the_password():
    """Passwords never appear in messages or reprs."""
    masked = mask_url("postgresql+psycopg://lg:s3cret@db/lgetl?options=-csearch_path%3Dx")
    assert "s3cret" not in masked
    assert masked.startswith("postgresql+psycopg://lg:***@db/lgetl")
