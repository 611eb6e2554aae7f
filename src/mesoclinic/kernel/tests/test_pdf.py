"""Printed documents: our fonts embedded, Turkish and German letters intact, nothing fetched."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from pypdf import PdfReader

from mesoclinic.kernel import pdf


def _render(body: str) -> PdfReader:
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    fonts, fetcher = FontConfiguration(), pdf._fetcher()
    data = HTML(string=f'<body style="font-family: Mesoclinic Sans">{body}</body>',
                url_fetcher=fetcher, base_url=pdf.FONTS.as_uri() + "/").write_pdf(
        stylesheets=[CSS(string=pdf.FONT_CSS, font_config=fonts, url_fetcher=fetcher)],
        font_config=fonts)
    return PdfReader(BytesIO(data))


@pytest.mark.parametrize("name", ["Ayşe Işıklı-Yılmaz", "Jürgen Weiß", "İlkay Öztürk", "Çağrı Ğüneş"])
def test_names_with_diacritics_come_out_exactly(name):
    assert name in _render(f"<p>{name}</p>").pages[0].extract_text()


def test_the_shipped_font_is_embedded():
    page = _render("<p>Mesoclinic</p>").pages[0]
    resources: Any = page["/Resources"]
    fonts = {f.get_object()["/BaseFont"] for f in resources["/Font"].values()}
    assert all("Mesoclinic-Sans" in str(f) for f in fonts)


@pytest.mark.parametrize("url", ["https://example.com/logo.png", "file:///etc/passwd",
                                 "http://127.0.0.1:8000/secret"])
def test_the_renderer_fetches_nothing_but_our_fonts(url):
    fetcher = pdf._fetcher()
    with pytest.raises(pdf.RefusedFetch):
        fetcher.fetch(url)


def test_a_document_with_a_remote_image_still_renders_without_it():
    reader = _render('<p>Quote</p><img src="https://example.com/logo.png">')
    assert "Quote" in reader.pages[0].extract_text()
