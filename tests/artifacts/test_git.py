"""Git credentials travel through the environment and an askpass helper, never argv or logs."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from galapagos_core.artifacts.builds.git import Git, GitCredentials, GitError, redact_url


async def test_password_is_never_in_argv_and_askpass_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}
    original = asyncio.create_subprocess_exec

    async def spy(*args: str, **kwargs: Any) -> asyncio.subprocess.Process:
        seen["args"], seen["env"] = args, kwargs["env"]
        return await original(*args, **kwargs)

    monkeypatch.setattr(asyncio, "create_subprocess_exec", spy)
    git = Git(tmp_path, GitCredentials(username="bot", password=SecretStr("s3cr3t")), timeout=30)
    with pytest.raises(GitError) as failure:
        await git.run("ls-remote", "https://bot:s3cr3t@127.0.0.1:9/none.git")
    assert "s3cr3t" not in str(failure.value)
    assert all("s3cr3t" not in arg for arg in seen["args"][:-1])
    env = seen["env"]
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    answer = await asyncio.to_thread(
        subprocess.run,
        [env["GIT_ASKPASS"], "Password for 'https://example.com': "],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert answer.stdout == "s3cr3t\n"
    user = await asyncio.to_thread(
        subprocess.run,
        [env["GIT_ASKPASS"], "Username for x"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert user.stdout == "bot\n"


def test_urls_lose_their_credentials() -> None:
    assert redact_url("https://u:p@github.com/org/r.git") == "https://github.com/org/r.git"
    assert redact_url("file:///srv/repo") == "file:///srv/repo"
