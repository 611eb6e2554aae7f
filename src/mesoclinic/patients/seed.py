"""Synthetic patients for the demo and for benchmarks: varied names, ages and histories."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

GIVEN_F = ["Ayşe", "Elif", "Zeynep", "Şule", "Merve", "Anna", "Lena", "Sophie", "Marie", "Émilie",
           "Chloé", "Lucía", "María", "Giulia", "Sofia", "Irina", "Nadia", "Leyla", "Hélène", "Ingrid",
           "Özlem", "Gül", "Derya", "Julia", "Clara", "Ana", "Laura", "Sara", "Nour", "Yasmin"]
GIVEN_M = ["Mehmet", "Mustafa", "Ahmet", "Emre", "Burak", "Çağlar", "Lukas", "Jonas", "Felix",
           "Paul", "Jérôme", "Luis", "José", "Marco", "Ivan", "Omar", "Karim", "Søren", "Björn", "Ali"]
FAMILY = ["Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Öztürk", "Aydın", "Özdemir",
          "Arslan", "Doğan", "Kılıç", "Aslan", "Çetin", "Koç", "Kurt", "Özkan", "Şimşek", "Müller",
          "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schäfer",
          "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Martin", "Bernard", "Dubois",
          "Lefèvre", "García", "Martínez", "López", "Rossi", "Russo", "Ferrari", "Esposito",
          "Ivanova", "Petrov", "Haddad", "Nowak", "Kowalski", "Jørgensen", "Łukasik", "Nguyễn"]
STREETS = ["Abdi İpekçi Cd.", "Teşvikiye Cd.", "Rosenthaler Str.", "Torstraße", "Invalidenstraße",
           "Bağdat Cd.", "Friedrichstraße", "Valikonağı Cd."]


@dataclass(frozen=True)
class SyntheticPatient:
    given_name: str
    family_name: str
    birth_date: date
    sex: str
    phone: str
    email: str
    address: str
    preferred_language: str
    history: dict[str, str]


def _history(rng: random.Random, sex: str, age: int) -> dict[str, str]:
    """Mostly healthy adults, with a realistic share of every contraindication."""
    roll = rng.random()
    h = {"pregnant": "no", "breastfeeding": "no", "diabetes": "none",
         "insulin": "no", "cancer": "none", "multi_drug_therapy": "no", "heart_disease": "no",
         "stroke_history": "no", "liver_disorder": "no", "kidney_disorder": "no",
         "other_conditions": ""}
    if sex == "female" and age < 45 and roll < 0.06:
        h["pregnant"] = "yes"
    elif sex == "female" and age < 45 and roll < 0.10:
        h["breastfeeding"] = "yes"
    elif roll < 0.15:
        h["diabetes"], h["insulin"] = rng.choice([("type1", "yes"), ("type2", "yes"), ("type2", "no")])
    elif roll < 0.18:
        h["cancer"] = rng.choice(["active", "remission"])
    elif roll < 0.22:
        h["heart_disease"] = "yes"
        h["multi_drug_therapy"] = rng.choice(["yes", "no"])
    elif roll < 0.24:
        h["stroke_history"] = "yes"
    elif roll < 0.26:
        h[rng.choice(["liver_disorder", "kidney_disorder"])] = "yes"
    elif roll < 0.30:
        h[rng.choice(["pregnant", "diabetes", "cancer", "heart_disease"])] = "unknown"
    if rng.random() < 0.15:
        h["other_conditions"] = rng.choice(["Hypothyroidism, on levothyroxine", "Seasonal rhinitis",
                                            "Migraine with aura", "Mild asthma"])
    return h


def synthetic_patients(count: int, *, seed: int, today: date) -> Iterator[SyntheticPatient]:
    """A deterministic stream of plausible patients (same seed, same people)."""
    rng = random.Random(seed)
    for index in range(count):
        sex = "female" if rng.random() < 0.72 else rng.choice(["male", "male", "male", "other"])
        given = rng.choice(GIVEN_F if sex == "female" else GIVEN_M if sex == "male" else GIVEN_F + GIVEN_M)
        family = rng.choice(FAMILY)
        # Mostly 19–75, a few minors so the age rule has someone to refuse.
        age = rng.randint(16, 17) if rng.random() < 0.03 else rng.randint(19, 75)
        born = today - timedelta(days=age * 365 + rng.randint(0, 364))
        turkish = rng.random() < 0.5
        if turkish:
            digits = (rng.randint(30, 59), rng.randint(100, 999), rng.randint(10, 99), rng.randint(10, 99))
            phone = "+90 5{} {} {} {}".format(*digits)
        else:
            phone = f"+49 1{rng.randint(50, 79)} {rng.randint(1000000, 9999999)}"
        email_name = f"{given}.{family}".lower().encode("ascii", "ignore").decode() or "patient"
        yield SyntheticPatient(
            given_name=given,
            family_name=family,
            birth_date=born,
            sex=sex,
            phone=phone,
            email=f"{email_name}{index}@example.org",
            address=f"{rng.choice(STREETS)} {rng.randint(1, 180)}",
            preferred_language="tr" if turkish else rng.choice(["de", "en", "fr"]),
            history=_history(rng, sex, age),
        )
