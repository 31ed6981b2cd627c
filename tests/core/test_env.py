"""The one true/false reading (environment variables here; the API's query flags use it too)."""
import pytest

from config.env import ConfigError, env_bool, parse_bool


@pytest.mark.parametrize("raw, value", [("1", True), ("TRUE", True), (" yes ", True), ("on", True),
                                        ("0", False), ("False", False), ("no", False), ("OFF", False)])
def test_parse_bool_reads_the_usual_words(raw, value):
    assert parse_bool(raw) is value


@pytest.mark.parametrize("raw", ["", "maybe", "2", "truthy"])
def test_parse_bool_refuses_anything_else(raw):
    with pytest.raises(ValueError):
        parse_bool(raw)


def test_env_bool_names_the_variable_and_keeps_the_default_when_unset(monkeypatch):
    monkeypatch.delenv("LINKSHOT_SOME_FLAG", raising=False)
    assert env_bool("LINKSHOT_SOME_FLAG", True) is True
    monkeypatch.setenv("LINKSHOT_SOME_FLAG", "off")
    assert env_bool("LINKSHOT_SOME_FLAG", True) is False
    monkeypatch.setenv("LINKSHOT_SOME_FLAG", "sometimes")
    with pytest.raises(ConfigError, match="LINKSHOT_SOME_FLAG"):
        env_bool("LINKSHOT_SOME_FLAG")

