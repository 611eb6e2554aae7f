"""`mesoclinic seed`: synthetic patients in bulk, with planner statistics on PostgreSQL."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from mesoclinic.patients.models import Patient, PatientNameWord


def _statistics(table: str) -> tuple[float, int, int]:
    """pg_class's row estimate, the analyse count and the columns with pg_stats rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.reltuples, s.analyze_count,"
            " (SELECT count(*) FROM pg_stats p WHERE p.schemaname = 'public' AND p.tablename = %s)"
            " FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.relname = %s",
            [table, table],
        )
        row = cursor.fetchone()
    assert row is not None
    return float(row[0]), int(row[1]), int(row[2])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # statistics of committed rows, as the command leaves
def test_seed_leaves_postgresql_with_planner_statistics() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    tables = ["patients_patient", "patients_patientnameword", "patients_medicalhistory"]
    # Manual ANALYZE runs only: autovacuum's count separately (autoanalyze_count).
    runs_before = [_statistics(table)[1] for table in tables]
    out = StringIO()
    call_command("seed", "--patients", "120", "--clinics", "2", stdout=out)
    assert out.getvalue().endswith("(tables analysed)\n")
    assert [_statistics(table)[1] for table in tables] == [n + 1 for n in runs_before]
    # Small tables are read whole: the estimates are the exact row counts.
    words = PatientNameWord.objects.count()
    assert [_statistics(table)[0] for table in tables] == [120.0, float(words), 120.0]
    assert _statistics("patients_patient")[2] == len(Patient._meta.concrete_fields)

def test_seed_on_sqlite_says_nothing_of_statistics(db) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the PostgreSQL test covers it there")
    out = StringIO()
    call_command("seed", "--patients", "3", stdout=out)
    assert out.getvalue().startswith("seeded 3 patients in 1 clinics in ")
    assert "analysed" not in out.getvalue()
    assert Patient.objects.count() == 3
