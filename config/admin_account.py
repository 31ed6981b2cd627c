"""The first admin account and the start-up banner that shows how to sign in.

The banner is the last thing the launcher prints before the servers' own logs, so a generated
password cannot scroll away in install or migration output.
"""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

PASSWORD_HINT = "New admin password: ./linkshot password [USER]  (or: python manage.py changepassword USER)"

_CREATE = (
    "from django.contrib.auth import get_user_model as g; U=g(); import os,sys\n"
    "if U.objects.exists(): sys.exit(3)\n"
    "U.objects.create_superuser(os.environ['LS_USER'], '', os.environ['LS_PASS'])\n"
)


def admin_user() -> str:
    return os.environ.get("LINKSHOT_ADMIN_USER", "admin")


def ensure_admin(root: Path, python: str = sys.executable) -> str | None:
    """Create the admin on a first start with no users; returns the line to show, None otherwise."""
    given = os.environ.get("LINKSHOT_ADMIN_PASSWORD")
    password = given or secrets.token_urlsafe(12)
    env = {**os.environ, "LS_USER": admin_user(), "LS_PASS": password}
    result = subprocess.run([python, "manage.py", "shell", "-c", _CREATE], cwd=root, env=env,
                            capture_output=True, text=True)
    if result.returncode == 3:
        return None
    if result.returncode != 0:
        raise RuntimeError(f"creating the admin account failed:\n{result.stderr}")
    shown = "(the one in LINKSHOT_ADMIN_PASSWORD)" if given else password
    return f"Created admin account: user {admin_user()!r}, password {shown}"


def banner(url: str, created: str | None) -> str:
    """A box with the address, the new account (once) and how to set a new password (always)."""
    lines = [f"Linkshot is running on {url}  (Ctrl-C stops it)"]
    if created:
        lines += ["", created, "This password is shown only once."]
    lines += ["", PASSWORD_HINT]
    width = max(len(line) for line in lines)
    rule = "+" + "-" * (width + 2) + "+"
    body = [f"| {line.ljust(width)} |" for line in lines]
    return "\n".join(["", rule, *body, rule, ""])


def change_password(root: Path, user: str | None, python: str = sys.executable) -> int:
    """Ask for a new password for ``user`` (the admin by default) on the terminal."""
    return subprocess.run([python, "manage.py", "changepassword", user or admin_user()], cwd=root).returncode
