"""Reads the cold tier back as an analyst would, for tests/archive.rs.

    archive_read.py ROOT RELATION [--engine pyarrow|duckdb]

ROOT is the folder ARCHIVE_URL (file://) names, RELATION `samples` or `aggregates`. The
relation's folder is read as one Hive-partitioned Parquet dataset (`sample_type=...`,
`month=...` folders) by pyarrow's dataset API or by DuckDB's read_parquet, and every row is
printed as a JSON line: the partition columns, uuids as text, times as microseconds since the
epoch (exact), binary as lowercase hex. A folder without files prints nothing.
"""

import argparse
import json
import pathlib
import sys

PARTITIONS = {"sample_type": "VARCHAR", "month": "VARCHAR"}
TIMES = {"samples": ["start_time", "end_time"], "aggregates": ["period_start"]}
BINARY = {"samples": ["details"], "aggregates": []}


def with_pyarrow(folder: pathlib.Path, relation: str):
    import pyarrow as pa
    import pyarrow.dataset as ds

    partitioning = ds.partitioning(
        pa.schema([(name, pa.string()) for name in PARTITIONS]), flavor="hive"
    )
    table = ds.dataset(str(folder), format="parquet", partitioning=partitioning).to_table()
    for name in TIMES[relation]:
        column = table.column(name)
        assert pa.types.is_timestamp(column.type), f"{name} is {column.type}"
        assert column.type.unit == "us" and column.type.tz == "UTC", f"{name} is {column.type}"
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, column.cast(pa.int64()))
    for row in table.to_pylist():
        for name in BINARY[relation]:
            if row[name] is not None:
                row[name] = row[name].hex()
        yield row


def with_duckdb(folder: pathlib.Path, relation: str):
    import duckdb

    replaced = [f"epoch_us({name}) AS {name}" for name in TIMES[relation]]
    replaced += [f"lower(hex({name})) AS {name}" for name in BINARY[relation]]
    types = ", ".join(f"'{name}': '{kind}'" for name, kind in PARTITIONS.items())
    query = (
        f"SELECT * REPLACE ({', '.join(replaced)}) "
        f"FROM read_parquet($glob, hive_partitioning = true, hive_types = {{{types}}})"
    )
    connection = duckdb.connect()
    result = connection.execute(query, {"glob": str(folder / "**" / "*.parquet")})
    names = [column[0] for column in result.description]
    for values in result.fetchall():
        yield dict(zip(names, values))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=pathlib.Path)
    parser.add_argument("relation", choices=sorted(TIMES))
    parser.add_argument("--engine", choices=["pyarrow", "duckdb"], default="pyarrow")
    args = parser.parse_args()
    folder = args.root / args.relation
    if not any(folder.rglob("*.parquet")):
        return 0
    rows = with_pyarrow if args.engine == "pyarrow" else with_duckdb
    for row in rows(folder, args.relation):
        print(json.dumps(row, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
