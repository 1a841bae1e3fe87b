import { DuckDBInstance } from "@duckdb/node-api";

/**
 * Run `sql` on a fresh in-memory DuckDB, as an analyst would read Brink's Parquet output; rows as plain objects,
 * with BIGINT counts and run indices as numbers (they are small enough to compare so).
 */
export async function query(sql: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(":memory:");
  const connection = await db.connect();
  try {
    return (await connection.runAndReadAll(sql))
      .getRowObjectsJS()
      .map((row) =>
        Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === "bigint" ? Number(v) : v])),
      );
  } finally {
    connection.closeSync();
  }
}
