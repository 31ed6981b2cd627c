"""The start-up banner: the new admin password in a box, and how to set a new one on every start."""
import pytest

from config.admin_account import PASSWORD_HINT, banner

pytestmark = pytest.mark.no_postgres


def test_banner_boxes_the_generated_password_and_the_hint():
    text = banner("http://127.0.0.1:8000/", "Created admin account: user 'admin', password s3cret")
    lines = text.strip().splitlines()
    assert lines[0].startswith("+-") and lines[-1] == lines[0]
    assert all(line.startswith("| ") and line.endswith(" |") for line in lines[1:-1])
    assert len({len(line) for line in lines}) == 1
    assert any("password s3cret" in line for line in lines)
    assert any("./linkshot password" in line for line in lines)


def test_every_start_says_how_to_set_a_new_password():
    text = banner("http://127.0.0.1:8000/", None)
    assert PASSWORD_HINT in text and "changepassword" in text
    assert "Created admin account" not in text
