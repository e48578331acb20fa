"""No page's markup asks for an inline style the pages' Content-Security-Policy refuses: the policy
(recaudo_common.page_policy) allows styles from our own files and the <style> blocks it hashes, and a style
attribute cannot be allowed by a hash (only with 'unsafe-hashes'), so a browser would ignore it. Every template and
page script of the platform is read, so a new one is covered without a browser test of its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from recaudo_common.testing import REPOSITORY_ROOT

pytestmark = pytest.mark.unit
# A style attribute in markup, written in a template or built by a page's script (innerHTML, setAttribute).
STYLE_ATTRIBUTE = re.compile(r"<[a-zA-Z][^>]*\sstyle\s*=|setAttribute\(\s*[\"']style[\"']")


def page_files() -> list[Path]:
    roots = [REPOSITORY_ROOT / "libs", REPOSITORY_ROOT / "services"]
    return sorted(p for root in roots for p in root.glob("*/src/**/*") if p.suffix in {".html", ".js"})


def test_no_template_or_page_script_writes_a_style_attribute() -> None:
    files = page_files()
    assert any(p.name == "layout.html" for p in files) and any(p.name == "dashboard.js" for p in files)
    offending = [f"{p.relative_to(REPOSITORY_ROOT)}:{text.count(chr(10), 0, m.start()) + 1}"
                 for p in files for text in [p.read_text(encoding="utf-8")] for m in STYLE_ATTRIBUTE.finditer(text)]
    assert offending == [], offending
