"""Every printed document (consent, quote, later aftercare sheets and invoices) is a Django template
rendered to PDF by WeasyPrint.

The fonts ship with the code (DejaVu Sans covers the Turkish and German letters), so a document reads the
same on any machine. The renderer fetches nothing from the network: only our own font files and
data: URLs (a drawn signature) are served to it; any other URL is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string

FONTS = Path(__file__).resolve().parent / "pdf_fonts"
FONT_CSS = f"""
@font-face {{ font-family: "Mesoclinic Sans"; font-weight: normal;
  src: url("{(FONTS / 'DejaVuSans.ttf').as_uri()}"); }}
@font-face {{ font-family: "Mesoclinic Sans"; font-weight: bold;
  src: url("{(FONTS / 'DejaVuSans-Bold.ttf').as_uri()}"); }}
"""


class RefusedFetch(ValueError):
    """A document tried to load something from outside the package."""


def _fetcher() -> Any:
    from weasyprint.urls import URLFetcher

    class LocalOnly(URLFetcher):
        """Our font files and data: URLs; anything else is refused."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("file:"):
                path = Path(url.removeprefix("file://").split("?")[0]).resolve()
                if path.parent != FONTS or path.suffix != ".ttf":
                    raise RefusedFetch(f"a printed document may not load {url[:80]!r}")
            elif not url.startswith("data:"):
                raise RefusedFetch(f"a printed document may not load {url[:80]!r}")
            return super().fetch(url, headers)

    return LocalOnly(allowed_protocols={"file", "data"})


def render_pdf(template_name: str, context: dict[str, Any], *,
               request: HttpRequest | None = None) -> bytes:
    """The template rendered to PDF bytes (in the active language and time zone)."""
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    html = render_to_string(template_name, context, request=request)
    fonts = FontConfiguration()
    fetcher = _fetcher()
    document = HTML(string=html, url_fetcher=fetcher, base_url=FONTS.as_uri() + "/")
    css = CSS(string=FONT_CSS, font_config=fonts, url_fetcher=fetcher)
    pdf: bytes = document.write_pdf(stylesheets=[css], font_config=fonts)
    return pdf
