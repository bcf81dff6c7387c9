"""The three PostgreSQL tenancy strategies, and row-level security as the application role.

The application role is a plain role (no superuser, no BYPASSRLS): superusers are never bound
by row-level security, so the proof that a query without a tenant filter sees only its
tenant must run as such a role.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from pg_helpers import drop_schemas
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from sqlite_helpers import observation, patient

from helios_persistence.backends.postgres.schema import SCHEMA_VERSION, current_version, migrate
from helios_persistence.backends.postgres.tenancy import tenant_name
from helios_persistence.errors import NotFound
from helios_persistence.store_urls import open_store
from helios_persistence.tenancy import TenantContext, TenantId

A = TenantContext.for_tenant("acme")
B = TenantContext.for_tenant("globex")


def _with_user(url: str, user: str, password: str) -> str:
    params = conninfo_to_dict(url)
    return f"postgresql://{user}:{password}@{params['host']}:{params['port']}/{params['dbname']}"


@pytest.fixture
def app_role(pg_admin: Any, pg_db: Any, pg_url: str) -> Iterator[tuple[str, str]]:
    """A login role without superuser or BYPASSRLS; dropped afterwards."""
    name, password = f"helios_app_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    pg_admin.execute(
        sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD {}").format(
            sql.Identifier(name), sql.Literal(password)
        )
    )
    dbname = conninfo_to_dict(pg_url)["dbname"]
    pg_admin.execute(
        sql.SQL("GRANT CONNECT, CREATE ON DATABASE {} TO {}").format(
            sql.Identifier(dbname), sql.Identifier(name)
        )
    )
    try:
        yield name, password
    finally:
        pg_db.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(name)))
        pg_admin.execute(
            sql.SQL("REVOKE ALL ON DATABASE {} FROM {}").format(
                sql.Identifier(dbname), sql.Identifier(name)
            )
        )
        pg_admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def _grant(conn: Any, schema: str, role: str) -> None:
    s, r = sql.Identifier(schema), sql.Identifier(role)
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(s, r))
    conn.execute(
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}").format(
            s, r
        )
    )
    conn.execute(sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(s, r))


def _load(store: Any) -> None:
    store.update(A, patient(id="p1", family="Acme-Smith"))
    store.update(A, observation("Patient/p1", id="o1"))
    store.update(B, patient(id="p1", family="Globex-Smith"))
    store.update(B, patient(id="p2", family="Globex-Jones"))


def _raw(url: str, schema: str, tenant: str | None, query: str) -> list[Any]:
    """Run ``query`` (no tenant filter in it) in a transaction that set the tenant."""
    with psycopg.connect(url) as conn:
        conn.execute("SELECT set_config('search_path', %s, true)", [schema])
        if tenant is not None:
            conn.execute("SELECT set_config('helios.tenant', %s, true)", [tenant])
        return conn.execute(query).fetchall()


def test_rls_binds_the_application_role(
    make_store: Any, pg_url: str, pg_db: Any, app_role: tuple[str, str]
) -> None:
    role, password = app_role
    owner = make_store()  # the schema is created and owned by the migrating (super)user
    _grant(pg_db, owner.schema, role)
    app_url = _with_user(pg_url, role, password)
    app = open_store(f"{app_url}?schema={owner.schema}")
    try:
        _load(app)  # the store works as the application role, RLS and all
        assert app.read(A, "Patient", "p1").resource["name"][0]["family"] == "Acme-Smith"
        assert app.search(B, "Patient?name:contains=smith").ids == ["Patient/p1"]
        assert app.search(A, "Patient?_content=acme").ids == ["Patient/p1"]
        assert app.search(A, "Observation?subject:Patient.name=acme").ids == ["Observation/o1"]
        assert sorted(str(t) for t in app.tenants()) == ["acme", "globex"]
    finally:
        app.close()
    everything = "SELECT tenant, id FROM resources ORDER BY id"
    # a query that forgets the tenant filter sees only the transaction's tenant
    assert _raw(app_url, owner.schema, "acme", everything) == [("acme", "o1"), ("acme", "p1")]
    assert _raw(app_url, owner.schema, "globex", everything) == [
        ("globex", "p1"),
        ("globex", "p2"),
    ]
    assert _raw(app_url, owner.schema, None, everything) == []  # no tenant: nothing
    for table in ("history", "idx_string", "resource_text", "param_text", "outbox"):
        tenants = _raw(app_url, owner.schema, "globex", f"SELECT DISTINCT tenant FROM {table}")
        assert tenants == [("globex",)], table
    # ... and cannot write rows of another tenant
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        _raw(
            app_url, owner.schema, "acme",
            "INSERT INTO outbox (tenant, type, id, version, operation, created_at) "
            "VALUES ('globex', 'Patient', 'x', 1, 'upsert', 0) RETURNING seq",
        )  # fmt: skip
    # the superuser (BYPASSRLS) sees everyone: the policies are what filtered
    assert len(_raw(pg_url, owner.schema, "acme", everything)) == 4


def test_force_rls_binds_the_owner_too(pg_url: str, pg_db: Any, app_role: tuple[str, str]) -> None:
    role, password = app_role
    app_url = _with_user(pg_url, role, password)
    schema = f"f{uuid.uuid4().hex[:10]}"
    store = open_store(f"{app_url}?schema={schema}&force_rls=true")  # the role owns the tables
    try:
        _load(store)
        assert store.search(A, "Patient").ids == ["Patient/p1"]
        everything = "SELECT tenant, id FROM resources ORDER BY id"
        assert _raw(app_url, schema, "globex", everything) == [("globex", "p1"), ("globex", "p2")]
    finally:
        store.close()
        drop_schemas(pg_db, schema)


def test_schema_per_tenant_creates_and_migrates_on_first_use(make_store: Any, pg_db: Any) -> None:
    store = make_store("tenancy=schema")
    _load(store)
    prefix = store.schema
    for ctx in (A, B):
        name = tenant_name(prefix, ctx.tenant_key)
        assert current_version(pg_db, name) == SCHEMA_VERSION
        rows = pg_db.execute(
            sql.SQL("SELECT DISTINCT tenant FROM {}").format(sql.Identifier(name, "resources"))
        ).fetchall()
        assert rows == [(ctx.tenant_key,)]
    assert store.tenants() == [TenantId("acme"), TenantId("globex")]
    # the store's own schema holds no resources, only the tenant registry
    shared = sql.Identifier(prefix, "resources")
    assert pg_db.execute(sql.SQL("SELECT count(*) FROM {}").format(shared)).fetchone() == (0,)
    # a tenant schema left at an older version is upgraded on first use
    old = TenantContext.for_tenant("old/tenant")
    old_schema = tenant_name(prefix, old.tenant_key)
    migrate(pg_db, old_schema, upto=1)
    assert current_version(pg_db, old_schema) == 1
    store.update(old, patient(id="p1"))
    assert current_version(pg_db, old_schema) == SCHEMA_VERSION
    assert store.search(old, "Patient?name:contains=mit").ids == ["Patient/p1"]


def test_database_per_tenant_creates_databases_and_bounds_pools(
    make_store: Any, pg_db: Any
) -> None:
    store = make_store("tenancy=database&max_tenant_pools=2&tenant_pool_size=2")
    tenants = [TenantContext.for_tenant(f"t{i}") for i in range(4)]
    for round_ in range(2):
        for i, ctx in enumerate(tenants):
            store.update(ctx, patient(id="p", family=f"fam{i}-{round_}"))
            assert store._tenancy.open_pools() <= 2
    for i, ctx in enumerate(tenants):
        assert store.read(ctx, "Patient", "p").resource["name"][0]["family"] == f"fam{i}-1"
        assert store.history(ctx)["total"] == 2
    names = {store._tenancy.database_name(c.tenant_key) for c in tenants}
    found = {r[0] for r in pg_db.execute("SELECT datname FROM pg_database").fetchall()}
    assert names <= found
    assert store.tenants() == [TenantId(f"t{i}") for i in range(4)]


def test_database_names_are_distinct_and_valid() -> None:
    names = {tenant_name("helios_it_1234_abcdef", t) for t in ("acme", "Acme", "acme/x", "a" * 64)}
    assert len(names) == 4
    assert all(len(n) <= 63 and n == n.lower() for n in names)


@pytest.mark.parametrize("query", [
    "Observation?_include=Observation:subject",
    "Observation?subject:Patient.name=globex",
    "Patient?_has:Observation:subject:status=final",
])  # fmt: skip
def test_includes_and_chains_never_cross_tenants(tstore: Any, query: str) -> None:
    tstore.update(B, patient(id="p1", family="Globex"))
    tstore.update(B, observation("Patient/p1", id="theirs"))
    tstore.update(A, observation("Patient/p1", id="o1"))  # A's reference to a p1 it lacks
    result = tstore.search(A, query)
    assert [r["id"] for r in result.included] == []
    assert result.ids in ([], ["Observation/o1"])
    if "name=globex" in query or "_has" in query:
        assert result.ids == []
    with pytest.raises(NotFound):
        tstore.read(A, "Patient", "p1")


def test_rls_hides_other_tenants_names(
    make_store: Any, pg_url: str, pg_db: Any, app_role: tuple[str, str]
) -> None:
    """``helios_tenants`` is under row-level security too: raw SQL as the application role
    sees the transaction's tenant only; ``store.tenants()`` still lists every tenant."""
    role, password = app_role
    owner = make_store()
    _grant(pg_db, owner.schema, role)
    app_url = _with_user(pg_url, role, password)
    with open_store(f"{app_url}?schema={owner.schema}") as app:
        _load(app)
        assert app.tenants() == [TenantId("acme"), TenantId("globex")]
    names = "SELECT tenant FROM helios_tenants ORDER BY tenant"
    assert _raw(app_url, owner.schema, None, names) == []
    assert _raw(app_url, owner.schema, "acme", names) == [("acme",)]
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        _raw(
            app_url,
            owner.schema,
            "acme",
            "INSERT INTO helios_tenants VALUES ('initech', NULL, 0) RETURNING tenant",
        )


def test_rls_on_tenant_names_with_schema_per_tenant(
    pg_url: str, pg_db: Any, app_role: tuple[str, str]
) -> None:
    role, password = app_role
    app_url = _with_user(pg_url, role, password)
    schema = f"f{uuid.uuid4().hex[:10]}"
    store = open_store(f"{app_url}?schema={schema}&tenancy=schema&force_rls=true")
    try:
        _load(store)
        assert store.tenants() == [TenantId("acme"), TenantId("globex")]
        names = "SELECT tenant FROM helios_tenants ORDER BY tenant"
        assert _raw(app_url, schema, None, names) == []
    finally:
        store.close()
        for name in [schema, *(tenant_name(schema, c.tenant_key) for c in (A, B))]:
            drop_schemas(pg_db, name)


@pytest.mark.parametrize("tenancy", ["shared", "schema", "database"])
def test_reads_never_create_a_tenant(make_store: Any, pg_db: Any, tenancy: str) -> None:
    store = make_store(f"tenancy={tenancy}")
    _load(store)
    stranger = TenantContext.for_tenant("never-seen")
    before = {r[0] for r in pg_db.execute("SELECT datname FROM pg_database").fetchall()}
    schemas = "SELECT nspname FROM pg_namespace ORDER BY 1"
    before_schemas = pg_db.execute(schemas).fetchall()
    with pytest.raises(NotFound):
        store.read(stranger, "Patient", "p1")
    assert store.search(stranger, "Patient?name=x").ids == []
    assert store.history(stranger)["total"] == 0
    assert store.history(stranger, "Patient")["total"] == 0
    after = {r[0] for r in pg_db.execute("SELECT datname FROM pg_database").fetchall()}
    after_schemas = pg_db.execute(schemas).fetchall()
    # (only the stranger's names: other stores on the shared server create theirs meanwhile)
    assert {n for n in after - before if "never_seen" in n} == set()
    assert [s for s in after_schemas if s not in before_schemas and "never_seen" in s[0]] == []
    assert TenantId("never-seen") not in store.tenants()
    store.update(stranger, patient(id="p1"))  # a write does create it
    assert TenantId("never-seen") in store.tenants()
    assert store.read(stranger, "Patient", "p1").id == "p1"
