"""Staff browse the pack in words: indications under their group's name, with their fact ids."""

from __future__ import annotations

from django.urls import reverse

from mesoclinic.knowledge.pack import load_pack


def test_indications_are_listed_under_their_group_label_with_fact(cast) -> None:
    pack = load_pack()
    body = cast.client_for(cast.nurse).get(reverse("knowledge:browse")).content.decode()
    wrinkles = pack.indications["wrinkles"]
    group = pack.indication_groups[wrinkles.group]
    row = body[body.index(f"<code class=\"small\">{wrinkles.code}</code>"):]
    row = row[: row.index("</tr>")]
    assert f"<td>{group.label}</td>" in row
    assert wrinkles.fact in row
    assert f"version {pack.version}" in body
