"""The pages' Content-Security-Policy: an inline block's hash as CSP computes it, a template's blocks found, and
one whose content varies refused (it could never match its hash)."""

from pathlib import Path

import pytest

from recaudo_common.page_policy import digest, for_templates, inline_blocks, policy

pytestmark = pytest.mark.unit


def test_the_hash_of_an_inline_block_is_the_one_the_csp_spec_shows() -> None:
    # CSP Level 3, "Hash usage for script elements" (https://www.w3.org/TR/CSP3/#grammardef-hash-source).
    assert digest("alert('Hello, world.');") == "'sha256-qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng='"


def test_a_templates_inline_blocks_are_allowed_by_hash_and_nothing_else_inline(tmp_path: Path) -> None:
    (tmp_path / "base.html").write_text("<style>\n  p { color: red; }\n</style>{% block c %}{% endblock %}")
    (tmp_path / "go.html").write_text('<form id="f"></form><script>document.forms[0].submit();</script>'
                                      '<script src="/own.js"></script>')
    csp = for_templates(tmp_path)["content-security-policy"]
    assert f"style-src 'self' {digest(chr(10) + '  p { color: red; }' + chr(10))}" in csp
    assert f"script-src 'self' {digest('document.forms[0].submit();')}" in csp
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp and "base-uri 'none'" in csp
    assert "script-src" not in policy() and "style-src" not in policy()  # default-src 'self' alone


def test_an_inline_block_with_a_template_expression_is_refused(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text("<script>var who = '{{ name }}';</script>")
    with pytest.raises(ValueError, match="template expression"):
        inline_blocks(tmp_path / "page.html")
