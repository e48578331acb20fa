"""The headers every HTML page answers with, written once: the Content-Security-Policy (scripts and styles only our
own, never framed, no <base>, forms only to us or a payment gateway) and the rest (no framing, no caching, no
sniffing). A page's inline <style> or <script> is allowed by its hash, computed here from the template itself."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

# form-action: the debtor's "Pagar" form is answered by redirects that end at the gateway's own checkout (Wompi's,
# Mercado Pago's init_point, Stripe's session, PayU's web checkout form), and a browser checks every hop against the
# policy of the page whose form started it; those are https addresses of the gateway's choosing.
BASE = ("default-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "object-src 'none'",
        "form-action 'self' https:")
_INLINE = re.compile(r"<(style|script)>(.*?)</\1>", re.DOTALL)


def digest(text: str) -> str:
    """A CSP source allowing one inline block whose content is exactly `text`."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def inline_blocks(*templates: Path) -> tuple[list[str], list[str]]:
    """The hash sources of the attribute-less <style> and <script> blocks of these templates (their contents must
    hold no template expression, or the page's block would not match its hash)."""
    styles: list[str] = []
    scripts: list[str] = []
    for template in templates:
        text = template.read_text(encoding="utf-8")
        if any("{{" in body or "{%" in body for _, body in _INLINE.findall(text)):
            raise ValueError(f"{template.name}: an inline <style> or <script> with a template expression has no "
                             "fixed hash")
        more_styles, more_scripts = page_blocks(text)
        styles += more_styles
        scripts += more_scripts
    return styles, scripts


def page_blocks(html: str) -> tuple[list[str], list[str]]:
    """The hash sources of the attribute-less <style> and <script> blocks of a page as it is sent."""
    found = _INLINE.findall(html)
    return [digest(b) for k, b in found if k == "style"], [digest(b) for k, b in found if k == "script"]


def policy(*, styles: Iterable[str] = (), scripts: Iterable[str] = (), more: Iterable[str] = ()) -> str:
    """The policy: BASE (default-src 'self' covers scripts and styles: our own files only), scripts and styles
    from 'self' plus the given sources when there are any, and any further directives."""
    scripts, styles = list(scripts), list(styles)
    return "; ".join([*BASE, *([" ".join(["script-src 'self'", *scripts])] if scripts else []),
                      *([" ".join(["style-src 'self'", *styles])] if styles else []), *more])


def headers(csp: str, *, referrer: str = "no-referrer") -> dict[str, str]:
    """Every header an HTML page answers with."""
    return {"content-security-policy": csp, "x-frame-options": "DENY", "cache-control": "no-store",
            "referrer-policy": referrer, "x-content-type-options": "nosniff"}


def for_templates(folder: Path, *, referrer: str = "no-referrer") -> dict[str, str]:
    """The headers of pages rendered from the templates of `folder`, their inline blocks allowed by hash."""
    styles, scripts = inline_blocks(*sorted(folder.glob("*.html")))
    return headers(policy(styles=styles, scripts=scripts), referrer=referrer)
