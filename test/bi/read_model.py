#!/usr/bin/env python3
"""Read an rfm model the way a BI tool does, and check what it finds.

    read_model.py CONNINFO MODEL

CONNINFO is a libpq connection string; MODEL the name of a model of
rfm_create_model.  The script

  * lists the model's views through the system catalogs, as BI tools do
    (pg_class with relkind 'v' joined to pg_namespace; pg_attribute with
    format_type; obj_description and col_description), and through
    information_schema.tables, which lists views (and would leave
    materialized views out);
  * checks that every view of the model (and its history table) and every
    column has a comment, and that the columns are exactly those of
    rfm_model_columns(), in its order, with its types and descriptions;
  * reads every view through a cursor and checks cursor.description: the
    column names and type OIDs a client sees;
  * reads the raw orders with a plain SELECT * of the model's source table and
    computes, in Python with exact Decimals, the customers with an order on
    or before as_of, their net revenue and the Pareto curve, and compares
    them with _customers, _pareto and _segments.

It prints one TAP-like line per check ("ok N - ..." / "not ok N - ...") and
finally "N passed, N failed"; the exit status is 1 when a check failed, 2
when it could not run.
"""

import decimal
import math
import sys
from decimal import Decimal, ROUND_HALF_UP

import psycopg2

VIEWS = ["_summary", "_fit", "_customers", "_segments", "_pareto"]
HISTORY = "_history"

# Type OIDs of the built-in types of the views (pg_type.h): what
# cursor.description reports as type_code.
BUILTIN_OIDS = {
    "boolean": 16,
    "bigint": 20,
    "integer": 23,
    "text": 25,
    "double precision": 701,
    "timestamp with time zone": 1184,
    "numeric": 1700,
    "jsonb": 3802,
}
CUSTOMER_TYPE = "the customer column's type"
PARETO_PERCENTS = (1, 20, 50, 100)


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def ok(self, cond, name, detail=None):
        n = self.passed + self.failed + 1
        if cond:
            self.passed += 1
            print(f"ok {n} - {name}")
        else:
            self.failed += 1
            print(f"not ok {n} - {name}")
            if detail is not None:
                for line in str(detail).splitlines():
                    print(f"#   {line}")
        sys.stdout.flush()
        return cond

    def eq(self, got, want, name):
        return self.ok(got == want, name, f"got:  {got!r}\nwant: {want!r}")


def catalog_relations(cur, schema):
    """Every table and view of a schema, as a BI tool's browser
    lists them: {name: (oid, relkind, populated, comment)}."""
    cur.execute(
        """
        SELECT c.relname, c.oid, c.relkind, c.relispopulated,
               pg_catalog.obj_description(c.oid, 'pg_class')
        FROM pg_catalog.pg_class c
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
        ORDER BY c.relname
        """,
        (schema,),
    )
    return {r[0]: r[1:] for r in cur.fetchall()}


def catalog_columns(cur, oid):
    """The columns of a relation in order: (name, type, type oid, comment)."""
    cur.execute(
        """
        SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.atttypid,
               pg_catalog.col_description(a.attrelid, a.attnum)
        FROM pg_catalog.pg_attribute a
        WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum
        """,
        (oid,),
    )
    return cur.fetchall()


def share(part, total, like):
    """part / total rounded as PostgreSQL rounds numeric division (half away
    from zero) to the scale of the server's result `like`."""
    exact = part / total
    return exact.quantize(Decimal(1).scaleb(like.as_tuple().exponent), rounding=ROUND_HALF_UP)


def main(argv):
    if len(argv) != 3:
        print("usage: read_model.py CONNINFO MODEL", file=sys.stderr)
        return 2
    conninfo, model = argv[1], argv[2]
    decimal.getcontext().prec = 60
    t = Checks()

    conn = psycopg2.connect(conninfo)
    conn.set_session(readonly=True, autocommit=False)
    cur = conn.cursor()

    cur.execute(
        "SELECT schema_name, source, customer_column, time_column, amount_column, as_of"
        " FROM rfm_model WHERE name = %s",
        (model,),
    )
    row = cur.fetchone()
    if row is None:
        print(f"Bail out! model {model!r} not found in rfm_model")
        return 2
    schema, source, customer_col, time_col, amount_col, as_of = row
    if as_of is None:
        print("Bail out! the model has no fixed as_of; this check needs one")
        return 2

    # ---- Catalog: what a BI tool's browser shows ----
    rels = catalog_relations(cur, schema)
    views = sorted(name for name, r in rels.items() if r[1] == "v")
    t.eq([v for v in views if v in {model + s for s in VIEWS}], sorted(model + s for s in VIEWS),
         "pg_class lists the five views of the model")
    cur.execute(
        "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = %s ORDER BY table_name",
        (schema,),
    )
    in_info_schema = dict(cur.fetchall())
    t.ok(all(in_info_schema.get(model + s) == "VIEW" for s in VIEWS)
         and in_info_schema.get(model + HISTORY) == "BASE TABLE",
         "information_schema.tables shows the five views and the history table",
         sorted(in_info_schema.items()))

    cur.execute("SELECT view_suffix, column_name, data_type, description FROM rfm_model_columns()")
    documented = {}
    for suffix, column, data_type, description in cur.fetchall():
        documented.setdefault(suffix, []).append((column, data_type, description))
    t.eq(sorted(documented), sorted(VIEWS + [HISTORY]), "rfm_model_columns() documents the five views and the history")

    cur.execute(
        "SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a"
        " WHERE a.attrelid = %s::regclass AND a.attname = %s",
        (source, customer_col),
    )
    customer_type = cur.fetchone()[0]
    cur.execute("SELECT time_unit || 's' FROM rfm_model WHERE name = %s", (model,))
    units = cur.fetchone()[0]

    view_columns = {}
    for suffix in VIEWS + [HISTORY]:
        name = model + suffix
        what = "table" if suffix == HISTORY else "view"
        rel = rels.get(name)
        if not t.ok(rel is not None, f"{name}: exists"):
            continue
        oid, relkind, populated, comment = rel
        t.eq(relkind, "r" if suffix == HISTORY else "v", f"{name}: is a {what}")
        t.ok(populated, f"{name}: is populated (a BI tool can read it)")
        t.ok(bool(comment and comment.strip()), f"{name}: has a comment", repr(comment))

        cols = catalog_columns(cur, oid)
        view_columns[suffix] = cols
        want = documented.get(suffix, [])
        t.eq([c[0] for c in cols], [w[0] for w in want],
             f"{name}: columns are those of rfm_model_columns(), in order")
        uncommented = [c[0] for c in cols if not (c[3] and c[3].strip())]
        t.eq(uncommented, [], f"{name}: every column has a comment")
        # a model's comments say its time unit where the descriptions say "time units"
        t.eq([(c[0], c[3]) for c in cols],
             [(w[0], w[2].replace("Time units", units.capitalize()).replace("time units", units)) for w in want],
             f"{name}: column comments are the descriptions of rfm_model_columns(), in the model's time unit")
        t.eq([(c[0], c[1]) for c in cols],
             [(w[0], customer_type if w[1] == CUSTOMER_TYPE else w[1]) for w in want],
             f"{name}: column types are those of rfm_model_columns()")

    # ---- Reading the views through a cursor ----
    rows = {}
    for suffix in VIEWS:
        name = model + suffix
        cols = view_columns.get(suffix)
        if cols is None:
            continue
        # a server-side cursor, as BI tools stream large results
        with conn.cursor(name=f"bi_{suffix[1:]}") as c:
            c.itersize = 1000
            c.execute(f"SELECT * FROM {psycopg2.extensions.quote_ident(schema, c)}."
                      f"{psycopg2.extensions.quote_ident(name, c)}")
            data = c.fetchall()
            desc = [(d.name, d.type_code) for d in c.description]
        rows[suffix] = (desc, data)
        t.eq([d[0] for d in desc], [col[0] for col in cols], f"{name}: cursor.description names the documented columns")
        want_oids = []
        for colname, type_name, typid, _ in cols:
            want_oids.append(BUILTIN_OIDS.get(type_name, typid))
        t.eq([d[1] for d in desc], want_oids, f"{name}: cursor.description type OIDs (numeric 1700, float8 701, int8 20, ...)")
        unknown = sorted({col[1] for col in cols} - set(BUILTIN_OIDS) - {customer_type}
                         - {"rfm_bgnbd_model", "rfm_gamma_gamma_model", "rfm_pnbd_model"})
        t.eq(unknown, [], f"{name}: only the expected types")
        as_of_idx = [d[0] for d in desc].index("as_of")
        t.ok(all(r[as_of_idx] == as_of for r in data) and len(data) > 0,
             f"{name}: every row is as of the model's as_of ({as_of.isoformat()})",
             sorted({str(r[as_of_idx]) for r in data}))

    # ---- The figures, from the raw orders ----
    cur.execute(f"SELECT * FROM {source}")
    names = [d.name for d in cur.description]
    ci, ti, ai = names.index(customer_col), names.index(time_col), names.index(amount_col)
    revenue, orders = {}, {}
    raw_rows = 0
    for r in cur:
        raw_rows += 1
        customer, when, amount = r[ci], r[ti], r[ai]
        if customer is None or when is None or amount is None or when > as_of:
            continue
        amount = Decimal(amount)
        revenue[customer] = revenue.get(customer, Decimal(0)) + amount
        if amount >= 0:
            orders[customer] = orders.get(customer, 0) + 1
    # customers: those with an order (amount >= 0) on or before as_of
    revenue = {c: v for c, v in revenue.items() if c in orders}
    n = len(revenue)
    total = sum(revenue.values(), Decimal(0))
    print(f"# {raw_rows} orders read; {n} customers with an order on or before {as_of.isoformat()}, net revenue {total}")

    if "_customers" in rows:
        desc, data = rows["_customers"]
        idx = {d[0]: i for i, d in enumerate(desc)}
        t.eq(len(data), n, f"{model}_customers: one row per customer with an order on or before as_of ({n})")
        got = {r[idx["customer"]]: (r[idx["monetary"]], r[idx["frequency"]]) for r in data}
        t.eq(set(got), set(revenue), f"{model}_customers: exactly those customers")
        t.eq(sum((v[0] for v in got.values()), Decimal(0)), total,
             f"{model}_customers: monetary adds up to the net revenue ({total})")
        bad = [c for c in revenue if got.get(c) != (revenue[c], orders[c])]
        t.eq(bad[:5], [], f"{model}_customers: monetary and frequency of every customer")
        ranking = sorted(revenue, key=lambda c: (-revenue[c], c))
        t.eq([r[idx["customer"]] for r in sorted(data, key=lambda r: r[idx["revenue_rank"]])],
             ranking, f"{model}_customers: revenue_rank orders by revenue, ties by customer")

    if "_pareto" in rows:
        desc, data = rows["_pareto"]
        idx = {d[0]: i for i, d in enumerate(desc)}
        t.eq(sorted(r[idx["customer_percent"]] for r in data), list(range(1, 101)),
             f"{model}_pareto: one row per percent 1..100")
        by_percent = {r[idx["customer_percent"]]: r for r in data}
        ranked = sorted(revenue.items(), key=lambda kv: (-kv[1], kv[0]))
        for p in PARETO_PERCENTS:
            r = by_percent.get(p)
            if not t.ok(r is not None, f"{model}_pareto: has customer_percent {p}"):
                continue
            k = math.ceil(p * n / 100)
            top = sum((v for _, v in ranked[:k]), Decimal(0))
            t.eq(r[idx["customers"]], k, f"{model}_pareto: top {p}% is {k} customers")
            t.eq(r[idx["revenue"]], top, f"{model}_pareto: their revenue at {p}% ({top})")
            got_share = r[idx["revenue_share"]]
            want_share = share(top, total, got_share) if isinstance(got_share, Decimal) else None
            t.eq(got_share, want_share, f"{model}_pareto: revenue_share at {p}% ({want_share})")

    if "_segments" in rows:
        desc, data = rows["_segments"]
        idx = {d[0]: i for i, d in enumerate(desc)}
        t.eq(sum(r[idx["customers"]] for r in data), n, f"{model}_segments: customers add up to {n}")
        t.eq(sum((r[idx["revenue"]] for r in data), Decimal(0)), total,
             f"{model}_segments: revenue adds up to the net revenue ({total})")

    conn.rollback()
    conn.close()
    print(f"{t.passed} passed, {t.failed} failed")
    return 1 if t.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
