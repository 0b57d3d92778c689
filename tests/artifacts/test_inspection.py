"""What a build learns from a package without running it: the import path and the
requirements."""

from __future__ import annotations

from pathlib import Path

import pytest

from galapagos_core.artifacts.builds.base import BuildFailure
from galapagos_core.artifacts.builds.inspection import check_import_path, requirements
from tests.gitrepos import write


def test_an_import_path_the_package_defines(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
            "serving/__init__.py": (
                "try:\n    from x import y\nexcept ImportError:\n    def build(args): ...\n"
            ),
            "serving/models.py": "if True:\n    class Model:\n        pass\n",
            "star.py": "from elsewhere import *\n",
            "aliased.py": "import numpy as np\nfrom a.b import c as handler\n",
        },
    )
    assert check_import_path(tmp_path, "main:app") == "main.py"
    assert check_import_path(tmp_path, "serving:build") == "serving/__init__.py"
    assert check_import_path(tmp_path, "serving.models:Model.predict") == "serving/models.py"
    assert check_import_path(tmp_path, "star:anything") == "star.py"  # taken at its word
    assert check_import_path(tmp_path, "aliased:handler") == "aliased.py"
    assert check_import_path(tmp_path, "aliased:np") == "aliased.py"


@pytest.mark.parametrize(
    ("files", "import_path", "words"),
    [
        ({"app.py": "x = 1\n"}, "main:app", "module 'main' is not in the package"),
        ({"main.py": "def helper():\n    app = 1\n"}, "main:app", "defines no 'app'"),
        ({"main.py": "app = (\n"}, "main:app", "main.py line 1"),
        ({"pkg/other.py": "app = 1\n"}, "pkg.main:app", "pkg/main.py or pkg/main/__init__.py"),
    ],
)
def test_an_import_path_that_is_not_there_fails_clearly(
    tmp_path: Path, files: dict[str, str | bytes], import_path: str, words: str
) -> None:
    write(tmp_path, files)
    with pytest.raises(BuildFailure) as failure:
        check_import_path(tmp_path, import_path)
    assert words in str(failure.value)
    assert import_path in str(failure.value)


def test_requirements_from_requirements_txt(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "requirements.txt": (
                "# serving\nscikit-learn>=1.5  # the model\n\n--index-url https://x\n"
                "-r more.txt\nrequests==2.32.3\n"
            ),
            "more.txt": "tinypkg @ file:///wheels/tinypkg-0.1-py3-none-any.whl\n",
            "pyproject.toml": '[project]\nname = "x"\ndependencies = ["ignored"]\n',
        },
    )
    assert requirements(tmp_path) == [
        "scikit-learn>=1.5",
        "tinypkg @ file:///wheels/tinypkg-0.1-py3-none-any.whl",
        "requests==2.32.3",
    ]


def test_requirements_from_pyproject_and_none(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": '[project]\nname = "x"\ndependencies = ["numpy<3"]\n'})
    assert requirements(tmp_path) == ["numpy<3"]
    assert requirements(tmp_path / "empty") == []
    write(tmp_path, {"broken/pyproject.toml": "[project\n"})
    with pytest.raises(BuildFailure, match=r"pyproject\.toml"):
        requirements(tmp_path / "broken")
