"""Consent texts (pure): versioned templates in our own words, composed for one plan version.

A template is chosen by indication group (hair, face and body, medical work) and carries its
version; the composed text is exactly what the patient reads and signs, and its SHA-256 is kept
with the signature, so any change of wording, numbers or names gives another hash. Sections cite
the brief's facts. Needle-free delivery (F-TECHNIQUE) and fat reduction (F-INDICATIONS) add their
disclosures only where they apply.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

LANGUAGES = ("en", "tr", "de")


@dataclass(frozen=True)
class ConsentFacts:
    patient_name: str
    plan_reference: str
    plan_version: int
    indication: str
    area: str
    technique: str
    delivery: str
    ingredients: str
    sessions: int
    schedule: str
    minutes: int
    anaesthetic_cream: str  # "" when none
    needle_free: bool
    regional_fat: bool
    language: str


@dataclass(frozen=True)
class ConsentTemplate:
    code: str
    version: int
    groups: tuple[str, ...]
    expected: Mapping[str, str]  # by language


@dataclass(frozen=True)
class ConsentDocument:
    template: str
    version: int
    language: str
    title: str
    header: str
    sections: tuple[tuple[str, str], ...]
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


TITLE = {"en": "Consent to mesotherapy", "tr": "Mezoterapi için aydınlatılmış onam",
         "de": "Einwilligung in eine Mesotherapie"}

# (heading, text) per language; {placeholders} come from ConsentFacts.
COMMON: Mapping[str, tuple[tuple[str, str, str], ...]] = {
    "en": (
        ("what", "What will be done",
         "Treatment of {indication} on the {area}. Very small drops of a solution ({ingredients}) are "
         "placed into the middle layer of the skin, {technique}, with {delivery}. (F-TECHNIQUE, "
         "F-DEPTH, F-SOLUTION)"),
        ("sessions", "How many sessions",
         "{sessions} sessions: {schedule}. A session takes about {minutes} minutes and you go home "
         "afterwards; check-ups may be arranged between sessions. (F-SESSIONS, F-OUTPATIENT)"),
        ("cream", "Numbing cream",
         "{anaesthetic_cream} is put on the area 30 to 40 minutes before each session to make the "
         "injections more comfortable. (F-ANAESTHESIA)"),
        ("risks", "Risks and side effects",
         "Most reactions are mild and pass quickly: slight pain, sensitive skin, swelling, burning, "
         "itching, redness, bruising, red marks where the needle went in, dark spots, a rash, and "
         "sometimes nausea, vomiting or diarrhoea. Swelling and needle marks usually last 24 to 48 "
         "hours, longer around the eyes. Rarely there is bleeding, swelling with fluid, or an "
         "infection. If you think the area is infected, tell the doctor at once. (F-SIDE-EFFECTS)"),
        ("alternatives", "Other choices",
         "You may choose another treatment or no treatment at all. The doctor will explain the "
         "options that suit you."),
        ("photos", "Photographs",
         "Photographs help to compare before and after. Whether we may take and keep them is a "
         "separate choice below; saying no does not change your treatment. (F-PHOTOS)"),
        ("withdrawal", "Your right to stop",
         "You may withdraw this consent at any time without giving a reason. No further session "
         "will then be given."),
    ),
    "tr": (
        ("what", "Ne yapılacak",
         "{area} bölgesinde {indication} tedavisi. Bir solüsyonun ({ingredients}) çok küçük "
         "damlaları cildin orta katmanına yerleştirilir; teknik: {technique}, uygulama: "
         "{delivery}. (F-TECHNIQUE, F-DEPTH, F-SOLUTION)"),
        ("sessions", "Kaç seans",
         "{sessions} seans: {schedule}. Bir seans yaklaşık {minutes} dakika sürer ve ardından eve "
         "dönersiniz; seanslar arasında kontrol randevuları verilebilir. (F-SESSIONS, F-OUTPATIENT)"),
        ("cream", "Uyuşturucu krem",
         "Enjeksiyonları daha rahat hale getirmek için her seanstan 30–40 dakika önce bölgeye "
         "{anaesthetic_cream} sürülür. (F-ANAESTHESIA)"),
        ("risks", "Riskler ve yan etkiler",
         "Tepkilerin çoğu hafiftir ve çabuk geçer: hafif ağrı, hassas cilt, şişlik, yanma, kaşıntı, "
         "kızarıklık, morarma, iğne yerlerinde kırmızı izler, koyu lekeler, döküntü; bazen bulantı, "
         "kusma veya ishal. Şişlik ve iğne izleri genellikle 24–48 saat sürer, göz çevresinde daha "
         "uzun. Nadiren kanama, sıvı birikmesiyle şişlik veya enfeksiyon olur. Bölgenin enfekte "
         "olduğunu düşünürseniz hemen doktora haber verin. (F-SIDE-EFFECTS)"),
        ("alternatives", "Diğer seçenekler",
         "Başka bir tedaviyi seçebilir ya da hiç tedavi olmamayı tercih edebilirsiniz. Doktor size "
         "uygun seçenekleri anlatır."),
        ("photos", "Fotoğraflar",
         "Fotoğraflar öncesi ve sonrasını karşılaştırmaya yarar. Çekip saklamamıza izin verip "
         "vermemek aşağıda ayrı bir seçimdir; hayır demeniz tedavinizi değiştirmez. (F-PHOTOS)"),
        ("withdrawal", "Vazgeçme hakkınız",
         "Bu onamı istediğiniz zaman, gerekçe göstermeden geri alabilirsiniz. Bundan sonra başka "
         "seans yapılmaz."),
    ),
    "de": (
        ("what", "Was gemacht wird",
         "Behandlung von {indication} im Bereich {area}. Sehr kleine Tropfen einer Lösung "
         "({ingredients}) werden in die mittlere Hautschicht eingebracht; Technik: {technique}, "
         "Anwendung: {delivery}. (F-TECHNIQUE, F-DEPTH, F-SOLUTION)"),
        ("sessions", "Wie viele Sitzungen",
         "{sessions} Sitzungen: {schedule}. Eine Sitzung dauert etwa {minutes} Minuten, danach "
         "gehen Sie nach Hause; zwischen den Sitzungen können Kontrollen vereinbart werden. "
         "(F-SESSIONS, F-OUTPATIENT)"),
        ("cream", "Betäubungscreme",
         "{anaesthetic_cream} wird 30 bis 40 Minuten vor jeder Sitzung aufgetragen, damit die "
         "Injektionen angenehmer sind. (F-ANAESTHESIA)"),
        ("risks", "Risiken und Nebenwirkungen",
         "Die meisten Reaktionen sind leicht und klingen rasch ab: leichte Schmerzen, empfindliche "
         "Haut, Schwellung, Brennen, Juckreiz, Rötung, Blutergüsse, rote Einstichstellen, dunkle "
         "Flecken, Ausschlag, manchmal Übelkeit, Erbrechen oder Durchfall. Schwellung und "
         "Einstichstellen bleiben meist 24 bis 48 Stunden, um die Augen länger. Selten kommt es zu "
         "Blutungen, Schwellung mit Flüssigkeit oder einer Infektion. Wenn Sie eine Infektion "
         "vermuten, sagen Sie es sofort der Ärztin oder dem Arzt. (F-SIDE-EFFECTS)"),
        ("alternatives", "Andere Möglichkeiten",
         "Sie können eine andere Behandlung oder gar keine wählen. Ihre Ärztin oder Ihr Arzt "
         "erklärt Ihnen die passenden Möglichkeiten."),
        ("photos", "Fotos",
         "Fotos helfen, vorher und nachher zu vergleichen. Ob wir sie aufnehmen und aufbewahren "
         "dürfen, entscheiden Sie unten gesondert; ein Nein ändert nichts an Ihrer Behandlung. "
         "(F-PHOTOS)"),
        ("withdrawal", "Ihr Recht, aufzuhören",
         "Sie können diese Einwilligung jederzeit ohne Angabe von Gründen widerrufen. Danach wird "
         "keine weitere Sitzung durchgeführt."),
    ),
}

DISCLOSURES: Mapping[str, Mapping[str, tuple[str, str]]] = {
    "needle_free": {
        "en": ("Needle-free treatment", "Without a needle the solution is pushed into the skin by "
               "an ultrasound device. This avoids injections but works less well than treatment "
               "with a needle. (F-TECHNIQUE)"),
        "tr": ("İğnesiz tedavi", "İğne kullanılmadan solüsyon bir ultrason cihazıyla cilde itilir. "
               "Bu enjeksiyonu önler, ancak iğneli tedaviden daha az etkilidir. (F-TECHNIQUE)"),
        "de": ("Behandlung ohne Nadel", "Ohne Nadel wird die Lösung mit einem Ultraschallgerät in "
               "die Haut gebracht. Das erspart Injektionen, wirkt aber schwächer als die "
               "Behandlung mit Nadel. (F-TECHNIQUE)"),
    },
    "regional_fat": {
        "en": ("Fat reduction", "Removing local fat deposits with mesotherapy is not approved by "
               "the US Food and Drug Administration (FDA). (F-INDICATIONS)"),
        "tr": ("Yağ azaltma", "Bölgesel yağ birikimlerinin mezoterapiyle giderilmesi ABD Gıda ve "
               "İlaç Dairesi (FDA) tarafından onaylanmamıştır. (F-INDICATIONS)"),
        "de": ("Fettreduktion", "Die Entfernung örtlicher Fettpolster durch Mesotherapie ist von der "
               "US-Arzneimittelbehörde FDA nicht zugelassen. (F-INDICATIONS)"),
    },
}

SCHEDULE = {"en": "{n} every {d} days", "tr": "{d} günde bir, {n} seans",
            "de": "{n} im Abstand von {d} Tagen"}


def schedule_text(language: str, phases: list[tuple[int, int]]) -> str:
    """The interval phases in words: "6 every 14 days, then 6 every 35 days"."""
    lang = language if language in LANGUAGES else "en"
    joiner = {"en": ", then ", "tr": ", ardından ", "de": ", danach "}[lang]
    return joiner.join(SCHEDULE[lang].format(n=n, d=d) for n, d in phases if n)


EXPECTED_HEADING = {"en": "What to expect", "tr": "Ne beklenmeli", "de": "Was Sie erwarten können"}

TEMPLATES: tuple[ConsentTemplate, ...] = (
    ConsentTemplate("hair", 1, ("hair",), {
        "en": "Hair changes slowly: first signs often show within a few weeks, a clear change after "
              "two to three months, and the full effect at about six months. (F-HAIR)",
        "tr": "Saç yavaş değişir: ilk belirtiler çoğu zaman birkaç hafta içinde, belirgin değişiklik "
              "iki üç ay sonra, tam etki yaklaşık altı ayda görülür. (F-HAIR)",
        "de": "Haare verändern sich langsam: erste Zeichen oft nach wenigen Wochen, eine deutliche "
              "Veränderung nach zwei bis drei Monaten, die volle Wirkung nach etwa sechs Monaten. "
              "(F-HAIR)"}),
    ConsentTemplate("skin", 1, ("face_body",), {
        "en": "The result builds up over the series and differs from person to person; it is "
              "compared with the photos at the check-up after the last session. No result can be "
              "promised. (F-FACE-BODY)",
        "tr": "Sonuç seanslar boyunca oluşur ve kişiden kişiye değişir; son seanstan sonraki "
              "kontrolde fotoğraflarla karşılaştırılır. Hiçbir sonuç garanti edilemez. (F-FACE-BODY)",
        "de": "Das Ergebnis entsteht im Lauf der Serie und ist bei jedem Menschen anders; es wird "
              "bei der Kontrolle nach der letzten Sitzung mit den Fotos verglichen. Ein bestimmtes "
              "Ergebnis kann nicht versprochen werden. (F-FACE-BODY)"}),
    ConsentTemplate("medical", 1, ("pain", "rheumatic", "vascular"), {
        "en": "Relief usually comes gradually over the first sessions. It is reviewed at the "
              "check-ups; if it does not help, the plan is changed or stopped. (F-SESSIONS)",
        "tr": "Rahatlama genellikle ilk seanslar boyunca yavaş yavaş gelir. Kontrollerde "
              "değerlendirilir; yardımcı olmazsa plan değiştirilir veya durdurulur. (F-SESSIONS)",
        "de": "Die Linderung kommt meist allmählich während der ersten Sitzungen. Sie wird bei den "
              "Kontrollen beurteilt; hilft die Behandlung nicht, wird der Plan geändert oder "
              "beendet. (F-SESSIONS)"}),
)


def template_for(indication_group: str) -> ConsentTemplate:
    for template in TEMPLATES:
        if indication_group in template.groups:
            return template
    raise LookupError(f"no consent template for indication group {indication_group!r}")


def compose(template: ConsentTemplate, facts: ConsentFacts) -> ConsentDocument:
    """The exact text the patient reads, in their language (English when we have none)."""
    lang = facts.language if facts.language in LANGUAGES else "en"
    values = {k: str(v) for k, v in facts.__dict__.items()}
    sections: list[tuple[str, str]] = []
    for code, heading, text in COMMON[lang]:
        if code == "cream" and not facts.anaesthetic_cream:
            continue
        sections.append((heading, text.format(**values)))
        if code == "sessions":
            sections.append((EXPECTED_HEADING[lang], template.expected[lang]))
    for key, applies in (("needle_free", facts.needle_free), ("regional_fat", facts.regional_fat)):
        if applies:
            sections.insert(-3, DISCLOSURES[key][lang])
    header = f"{TITLE[lang]} — {facts.patient_name} — {facts.plan_reference} v{facts.plan_version}"
    body = "\n\n".join(f"{h}\n{t}" for h, t in sections)
    text = f"{header}\n\n{body}\n\n[{template.code} v{template.version}]"
    return ConsentDocument(template.code, template.version, lang, TITLE[lang], header,
                           tuple(sections), text)
