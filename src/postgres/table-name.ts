import { describeValue } from '../core/errors.js';

/** A checked table name, with the SQL spellings the queue needs. */
export interface TableName {
  /** As given, e.g. `jobs` or `app.jobs`. */
  readonly name: string;
  /** Quoted for SQL: `"app"."jobs"`. */
  readonly sql: string;
  /** The partitions table beside it: `"app"."jobs_partitions"`. */
  readonly partitionsSql: string;
  /** The unqualified name, for index names: `jobs`. */
  readonly bare: string;
}

const PART = /^[a-z_][a-z0-9_]*$/;

/**
 * Checks a table name (`table` or `schema.table`, lower-case letters, digits
 * and underscores, each part at most 50 characters so the names derived from
 * it fit PostgreSQL's 63) and returns its SQL spellings. Throws a TypeError or
 * RangeError naming the value.
 *
 * @example
 * tableName('app.jobs').sql; // '"app"."jobs"'
 */
export function tableName(name: unknown): TableName {
  if (typeof name !== 'string') throw new TypeError(`option table must be a string, got ${describeValue(name)}`);
  const parts = name.split('.');
  if (parts.length > 2 || parts.some((part) => !PART.test(part) || part.length > 50)) {
    throw new RangeError(
      `option table must be an identifier or schema.identifier of lower-case letters, digits and underscores, got ${describeValue(name)}`,
    );
  }
  const quote = (part: string) => `"${part}"`;
  const bare = parts[parts.length - 1]!;
  const schema = parts.length === 2 ? `${quote(parts[0]!)}.` : '';
  return { name, sql: `${schema}${quote(bare)}`, partitionsSql: `${schema}${quote(`${bare}_partitions`)}`, bare };
}
