import {
  type ColumnType,
  describeType,
  glueType,
  MAX_DECIMAL_PRECISION,
  parseColumnType,
  sameType,
} from './column-types.ts';

/** One column of a dataset (the Glue table all of a dataset's files are read through). */
export interface DatasetColumn {
  readonly sqlName: string;
  readonly type: ColumnType;
}

/** A dataset's columns in table order; new columns are appended, never reordered. */
export type DatasetSchema = readonly DatasetColumn[];

export type Evolution =
  | {
      readonly ok: true;
      readonly schema: DatasetSchema;
      /** Whether the table must be created or updated. */
      readonly changed: boolean;
      readonly added: readonly string[];
      readonly widened: readonly {
        readonly sqlName: string;
        readonly from: string;
        readonly to: string;
      }[];
    }
  | { readonly ok: false; readonly reason: string };

/**
 * The smallest type both fit without losing a value, or undefined when there is none.
 * integer + double → double; integer + decimal → a decimal with room for every 64-bit integer;
 * decimal + decimal → the decimal that holds both; date + timestamp (no zone) → timestamp.
 * Everything else (a number becoming text, a decimal becoming a double, a boolean becoming a number,
 * timestamps with and without a zone) would change or lose values, so it is refused.
 */
export const widen = (a: ColumnType, b: ColumnType): ColumnType | undefined => {
  if (sameType(a, b)) return a;
  const pair = (x: ColumnType['kind'], y: ColumnType['kind']): boolean =>
    (a.kind === x && b.kind === y) || (a.kind === y && b.kind === x);
  if (pair('integer', 'double')) return { kind: 'double' };
  if (a.kind === 'decimal' && b.kind === 'decimal') {
    const scale = Math.max(a.scale, b.scale);
    const digits = Math.max(a.precision - a.scale, b.precision - b.scale);
    return digits + scale > MAX_DECIMAL_PRECISION
      ? undefined
      : { kind: 'decimal', precision: digits + scale, scale };
  }
  if (pair('integer', 'decimal')) {
    const d = (a.kind === 'decimal' ? a : b) as { precision: number; scale: number };
    // A 64-bit integer has up to 19 digits.
    const digits = Math.max(19, d.precision - d.scale);
    return digits + d.scale > MAX_DECIMAL_PRECISION
      ? undefined
      : { kind: 'decimal', precision: digits + d.scale, scale: d.scale };
  }
  if (a.kind === 'date' && b.kind === 'timestamp' && !b.withZone) return b;
  if (b.kind === 'date' && a.kind === 'timestamp' && !a.withZone) return a;
  return undefined;
};

/**
 * The dataset's schema once a new file joins it: a column the dataset lacks is added at the end;
 * a column whose type differs widens where no value is lost (see {@link widen}), otherwise the
 * file is refused with a reason naming the column. Columns the file lacks stay (its rows read them
 * as null). The file is then written in the dataset's types.
 */
export const evolveSchema = (
  current: DatasetSchema | undefined,
  file: readonly DatasetColumn[],
): Evolution => {
  if (current === undefined || current.length === 0) {
    return {
      ok: true,
      schema: file.map((c) => ({ sqlName: c.sqlName, type: c.type })),
      changed: true,
      added: file.map((c) => c.sqlName),
      widened: [],
    };
  }
  const byName = new Map(current.map((c, i) => [c.sqlName, i]));
  const schema: DatasetColumn[] = current.map((c) => ({ ...c }));
  const added: string[] = [];
  const widened: { sqlName: string; from: string; to: string }[] = [];
  const refused: string[] = [];
  for (const column of file) {
    const at = byName.get(column.sqlName);
    if (at === undefined) {
      schema.push({ sqlName: column.sqlName, type: column.type });
      added.push(column.sqlName);
      continue;
    }
    const existing = schema[at] as DatasetColumn;
    if (sameType(existing.type, column.type)) continue;
    const wider = widen(existing.type, column.type);
    if (wider === undefined) {
      refused.push(
        `column "${column.sqlName}" is ${describeType(column.type)} in this file but ${describeType(existing.type)} in the dataset`,
      );
      continue;
    }
    if (!sameType(wider, existing.type)) {
      widened.push({
        sqlName: column.sqlName,
        from: describeType(existing.type),
        to: describeType(wider),
      });
      schema[at] = { sqlName: column.sqlName, type: wider };
    }
  }
  if (refused.length > 0) {
    return {
      ok: false,
      reason: `The file does not fit its dataset: ${refused.join('; ')}.`,
    };
  }
  return {
    ok: true,
    schema,
    changed: added.length > 0 || widened.length > 0,
    added,
    widened,
  };
};

/** A column as the catalog keeps it (structurally the catalog adapter's column). */
export interface TableColumn {
  readonly name: string;
  readonly type: string;
  readonly comment?: string;
}

/**
 * The dataset's columns for its table: the Hive DDL type Athena reads, and this pipeline's own
 * type in the comment (the DDL type alone cannot tell a timestamp with a zone from one without).
 */
export const toTableColumns = (schema: DatasetSchema): TableColumn[] =>
  schema.map((c) => ({ name: c.sqlName, type: glueType(c.type), comment: describeType(c.type) }));

const FROM_DDL: Record<string, ColumnType> = {
  boolean: { kind: 'boolean' },
  bigint: { kind: 'integer' },
  double: { kind: 'double' },
  date: { kind: 'date' },
  timestamp: { kind: 'timestamp', withZone: false },
  string: { kind: 'string' },
};

/** The dataset's schema back from its table's columns; a column of a type it never writes is refused. */
export const fromTableColumns = (columns: readonly TableColumn[]): DatasetSchema =>
  columns.map((c) => {
    const type =
      (c.comment ? parseColumnType(c.comment) : undefined) ??
      FROM_DDL[c.type] ??
      parseColumnType(c.type);
    if (type === undefined) {
      throw new Error(`Column ${c.name} has type ${c.type}, which datasets do not use`);
    }
    return { sqlName: c.name, type };
  });
