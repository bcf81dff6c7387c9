"""The views API: compile, validate, run over each kind of source, materialise, the
``$viewdefinition-run`` function and the ``helios view`` command."""

from __future__ import annotations

import json
import re
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import helios_persistence as hp
from helios_persistence.errors import HeliosError, InvalidViewDefinition
from helios_persistence.views import compile as compile_view
from helios_persistence.views import materialize, run, run_operation, validate
from helios_persistence.views.cli import main as view_main

PATIENTS = [
    {
        "resourceType": "Patient",
        "id": "a",
        "gender": "female",
        "active": True,
        "name": [{"use": "official", "family": "Alpha", "given": ["Ann", "Amy"]}],
        "telecom": [{"system": "phone", "value": "1"}, {"system": "email", "value": "a@x"}],
    },
    {"resourceType": "Patient", "id": "b", "gender": "male", "name": [{"family": "Beta"}]},
    {
        "resourceType": "Observation",
        "id": "o",
        "status": "final",
        "code": {"text": "t"},
        "subject": {"reference": "Patient/a"},
        "valueQuantity": {"value": 5.5, "unit": "kg"},
    },
]

VIEW = {
    "resourceType": "ViewDefinition",
    "resource": "Patient",
    "select": [
        {
            "column": [
                {"name": "id", "path": "getResourceKey()"},
                {"name": "gender", "path": "gender"},
                {"name": "active", "path": "active", "type": "boolean"},
            ]
        },
        {
            "forEachOrNull": "telecom",
            "column": [{"name": "system", "path": "system"}, {"name": "value", "path": "value"}],
        },
    ],
}

EXPECTED = [
    {"id": "a", "gender": "female", "active": True, "system": "phone", "value": "1"},
    {"id": "a", "gender": "female", "active": True, "system": "email", "value": "a@x"},
    {"id": "b", "gender": "male", "active": None, "system": None, "value": None},
]


def _sorted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True))


# -- compile -------------------------------------------------------------------------------------
@pytest.mark.parametrize("dialect", ["duckdb", "sqlite", "postgres"])
def test_compile_gives_text_params_and_columns(dialect: str) -> None:
    compiled = compile_view(VIEW, dialect=dialect)
    assert compiled.text.startswith("SELECT ")
    assert "Patient" in compiled.params.values()
    assert [c.name for c in compiled.columns] == ["id", "gender", "active", "system", "value"]
    assert compiled.columns[2].type == "boolean"


@settings(max_examples=25, deadline=None)
@given(text=st.text(max_size=30).filter(lambda s: "'" not in s and "\\" not in s))
def test_values_are_bound_never_in_the_sql_text(text: str) -> None:
    value = "§" + text  # a marker no SQL text has, so any occurrence is a leaked value
    view = {
        "resource": "Patient",
        "constant": [{"name": "c", "valueString": value}],
        "select": [
            {"column": [{"name": "x", "path": f"name.where(family = %c).given.join('{value}')"}]}
        ],
        "where": [{"path": f"gender = '{value}' or gender = %c"}],
    }
    for dialect in ("duckdb", "sqlite", "postgres"):
        compiled = compile_view(view, dialect=dialect)
        assert value in compiled.params.values()
        assert "§" not in compiled.text


# -- validation ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("view", "where", "words"),
    [
        ({"select": [{"column": [{"name": "id", "path": "id"}]}]}, "resource", "required"),
        (
            {"resource": "Patinet", "select": [{"column": [{"name": "id", "path": "id"}]}]},
            "resource",
            "Patinet",
        ),
        (
            {"resource": "Patient", "select": [{"column": [{"name": "1x", "path": "id"}]}]},
            "select[0].column[0].name",
            "must match",
        ),
        (
            {
                "resource": "Patient",
                "select": [
                    {"column": [{"name": "a", "path": "id"}]},
                    {"column": [{"name": "a", "path": "gender"}]},
                ],
            },
            "select",
            "more than once",
        ),
        (
            {
                "resource": "Patient",
                "select": [
                    {
                        "forEach": "name",
                        "forEachOrNull": "name",
                        "column": [{"name": "a", "path": "family"}],
                    }
                ],
            },
            "select[0]",
            "together",
        ),
        (
            {"resource": "Patient", "select": [{"column": [{"name": "a", "path": "name.("}]}]},
            "select[0].column[0].path",
            "not valid FHIRPath",
        ),
        (
            {
                "resource": "Patient",
                "select": [{"column": [{"name": "a", "path": "name.family", "collection": False}]}],
            },
            "select[0].column[0].path",
            "collection",
        ),
        (
            {
                "resource": "Patient",
                "select": [{"column": [{"name": "a", "path": "id"}]}],
                "where": [{"path": "name.family"}],
            },
            "where[0].path",
            "boolean",
        ),
        (
            {
                "resource": "Patient",
                "select": [{"column": [{"name": "a", "path": "name.aggregate($this)"}]}],
            },
            "select[0].column[0].path",
            "aggregate()",
        ),
        (
            {
                "resource": "Patient",
                "constant": [{"name": "k"}],
                "select": [{"column": [{"name": "a", "path": "%k"}]}],
            },
            "constant[0]",
            "value[x]",
        ),
        (
            {
                "resource": "Patient",
                "select": [
                    {
                        "unionAll": [
                            {"column": [{"name": "a", "path": "id"}]},
                            {"column": [{"name": "b", "path": "id"}]},
                        ]
                    }
                ],
            },
            "select[0].unionAll[1]",
            "same columns",
        ),
    ],
)
def test_invalid_views_name_the_offending_element(view: Any, where: str, words: str) -> None:
    with pytest.raises(InvalidViewDefinition) as info:
        validate(view)
    assert info.value.expression == where
    assert words in str(info.value)
    assert info.value.outcome["issue"][0]["expression"] == [where]


def test_unsupported_function_is_not_supported_and_named() -> None:
    view = {
        "resource": "Patient",
        "select": [{"column": [{"name": "a", "path": "name.descendants()"}]}],
    }
    with pytest.raises(InvalidViewDefinition, match=r"descendants\(\)") as info:
        compile_view(view)
    assert info.value.outcome["issue"][0]["code"] == "not-supported"


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("value.ofType(Quantity) > 1 year", "'year' has no fixed length"),
        ("value.ofType(Quantity) + 5 'mg'", "operator '+' on quantities"),
    ],
)
def test_quantity_operations_we_cannot_do_are_not_supported(path: str, words: str) -> None:
    view = {
        "resource": "Observation",
        "select": [{"column": [{"name": "a", "path": path, "type": "boolean"}]}],
    }
    with pytest.raises(InvalidViewDefinition, match=re.escape(words)) as info:
        compile_view(view)
    assert info.value.expression == "select[0].column[0].path"
    assert info.value.outcome["issue"][0]["code"] == "not-supported"


@given(st.decimals(min_value=0, max_value=10**7, places=3), st.sampled_from(["mg", "g", "ug"]))
@settings(max_examples=15, deadline=None)
def test_quantity_literals_compare_across_units(amount: Decimal, unit: str) -> None:
    """``value > X 'unit'`` agrees with the comparison done in milligrams in Python."""
    from helios_persistence import ucum

    stored = [Decimal("0.004"), Decimal("5"), Decimal("7000.5")]  # in mg
    resources = [
        {
            "resourceType": "Observation",
            "id": f"o{i}",
            "status": "final",
            "code": {"text": "x"},
            "valueQuantity": {"value": float(v), "code": "mg"},
        }
        for i, v in enumerate(stored)
    ]
    view = {
        "resource": "Observation",
        "select": [
            {
                "column": [
                    {"name": "id", "path": "id"},
                    {"name": "gt", "path": f"value.ofType(Quantity) > {amount:f} '{unit}'"},
                ]
            }
        ],
    }
    in_mg = ucum.convert(amount, unit)[0] / ucum.canonical("mg").factor  # type: ignore[index]
    rows = {r["id"]: r["gt"] for r in run(view, resources).to_pylist()}
    assert rows == {f"o{i}": v > in_mg for i, v in enumerate(stored)}


def test_a_view_given_as_json_text() -> None:
    assert validate(json.dumps(VIEW)).resource == "Patient"
    with pytest.raises(InvalidViewDefinition, match="not valid JSON"):
        compile_view("{nope")


# -- sources -------------------------------------------------------------------------------------
def test_run_over_a_list_of_resources() -> None:
    table = run(VIEW, PATIENTS)
    assert table.column_names == ["id", "gender", "active", "system", "value"]
    assert str(table.schema.field("active").type) == "bool"
    assert _sorted(table.to_pylist()) == _sorted(EXPECTED)


def test_run_over_an_ndjson_file_and_folder(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "Patient.ndjson").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in PATIENTS[:2]))
    (folder / "Observation.ndjson").write_bytes(orjson.dumps(PATIENTS[2]) + b"\n")
    assert _sorted(run(VIEW, folder).to_pylist()) == _sorted(EXPECTED)
    assert _sorted(run(VIEW, folder / "Patient.ndjson").to_pylist()) == _sorted(EXPECTED)
    assert _sorted(run(VIEW, f"file://{folder}").to_pylist()) == _sorted(EXPECTED)
    with pytest.raises(InvalidViewDefinition, match="not a file or a folder"):
        run(VIEW, tmp_path / "missing")


def _load(store: Any, tenant: str, resources: list[dict[str, Any]]) -> None:
    ctx = hp.TenantContext.for_tenant(tenant)
    for resource in resources:
        store.update(ctx, resource)


def test_run_over_a_sqlite_store_sees_one_tenant_and_no_deleted() -> None:
    store = hp.open_store("sqlite://")
    with store:
        _load(store, "t1", PATIENTS)
        _load(store, "t2", [{"resourceType": "Patient", "id": "z", "gender": "other"}])
        ctx = hp.TenantContext.for_tenant("t1")
        assert _sorted(run(VIEW, store, ctx).to_pylist()) == _sorted(EXPECTED)
        store.delete(ctx, "Patient", "b")
        ids = {r["id"] for r in run(VIEW, store, ctx).to_pylist()}
        assert ids == {"a"}
        other = run(VIEW, store, hp.TenantContext.for_tenant("t2")).to_pylist()
        assert other == [
            {"id": "z", "gender": "other", "active": None, "system": None, "value": None}
        ]
        with pytest.raises(InvalidViewDefinition, match="TenantContext"):
            run(VIEW, store)


@pytest.mark.services
def test_run_over_a_postgres_store(postgres_url: str) -> None:
    import psycopg

    schema = f"v{uuid.uuid4().hex[:10]}"
    store = hp.open_store(f"{postgres_url}?schema={schema}")
    try:
        _load(store, "t1", PATIENTS)
        _load(store, "t2", [{"resourceType": "Patient", "id": "z", "gender": "other"}])
        table = run(VIEW, store, hp.TenantContext.for_tenant("t1"))
        assert _sorted(table.to_pylist()) == _sorted(EXPECTED)
    finally:
        store.close()
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_materialise_as_parquet_and_duckdb_table(tmp_path: Path) -> None:
    import duckdb

    conn = duckdb.connect()
    out = tmp_path / "patients.parquet"
    materialize(VIEW, PATIENTS, parquet=out, duckdb_conn=conn, table="patient_view")
    assert _sorted(pq.read_table(out).to_pylist()) == _sorted(EXPECTED)
    assert conn.execute("SELECT count(*) FROM patient_view").fetchone() == (3,)
    with pytest.raises(InvalidViewDefinition, match="duckdb_conn"):
        materialize(VIEW, PATIENTS, table="t")


# -- $viewdefinition-run -------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["json", "ndjson", "csv", "parquet"])
def test_viewdefinition_run_formats(fmt: str, tmp_path: Path) -> None:
    result = run_operation(VIEW, resources=PATIENTS, _format=fmt)
    assert result.rows == 3
    if fmt == "json":
        assert _sorted(orjson.loads(result.body)) == _sorted(EXPECTED)
    elif fmt == "ndjson":
        rows = [orjson.loads(line) for line in result.body.splitlines()]
        assert _sorted(rows) == _sorted(EXPECTED)
    elif fmt == "csv":
        lines = result.body.decode().splitlines()
        assert lines[0] == "id,gender,active,system,value"
        assert sorted(lines[1:]) == [
            "a,female,true,email,a@x",
            "a,female,true,phone,1",
            "b,male,,,",
        ]
    else:
        path = tmp_path / "x.parquet"
        path.write_bytes(result.body)
        assert _sorted(pq.read_table(path).to_pylist()) == _sorted(EXPECTED)


def test_viewdefinition_run_limit_and_bad_arguments() -> None:
    assert run_operation(VIEW, resources=PATIENTS, _limit=1).rows == 1
    with pytest.raises(InvalidViewDefinition, match="_format"):
        run_operation(VIEW, resources=PATIENTS, _format="xml")
    with pytest.raises(InvalidViewDefinition, match="either"):
        run_operation(VIEW)
    with pytest.raises(InvalidViewDefinition, match="_limit"):
        run_operation(VIEW, resources=PATIENTS, _limit=-1)


# -- helios view ---------------------------------------------------------------------------------
def test_cli_view_run_and_sql(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    view_file = tmp_path / "view.json"
    view_file.write_text(json.dumps(VIEW))
    data = tmp_path / "data.ndjson"
    data.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in PATIENTS))
    out = tmp_path / "rows.parquet"
    assert (
        view_main(
            ["run", str(view_file), "--source", str(data), "--format", "parquet", "--out", str(out)]
        )
        == 0
    )
    assert _sorted(pq.read_table(out).to_pylist()) == _sorted(EXPECTED)
    assert view_main(["run", str(view_file), "--source", str(data), "--format", "ndjson"]) == 0
    printed = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert _sorted(printed) == _sorted(EXPECTED)
    assert view_main(["sql", str(view_file), "--dialect", "sqlite"]) == 0
    text = capsys.readouterr().out
    assert "json_each" in text.lower() and ":p" in text
    assert view_main(["run", str(view_file), "--source", "https://example.org/x"]) == 2
    assert "no network" in capsys.readouterr().err


def test_cli_view_run_over_a_sqlite_store_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.db"
    store = hp.open_store(f"sqlite:///{db}")
    with store:
        _load(store, "default", PATIENTS)
    view_file = tmp_path / "view.json"
    view_file.write_text(json.dumps(VIEW))
    assert view_main(["run", str(view_file), "--source", f"sqlite:///{db}", "--format", "csv"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 4


def test_errors_are_helios_errors() -> None:
    assert issubclass(InvalidViewDefinition, HeliosError)
    assert hp.views.compile is compile_view
