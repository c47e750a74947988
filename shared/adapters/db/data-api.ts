import type {
  ArrayValue,
  ColumnMetadata,
  ExecuteStatementCommandOutput,
  Field,
  RDSDataClient,
  SqlParameter,
} from '@aws-sdk/client-rds-data';
import type { Database, QueryOptions, SqlValue } from './connect.ts';
import { invocationTimeLeft } from './deadline.ts';

/** What the Data API driver needs; `client` is injected by tests and the Data API double. */
export interface DataApiConfig {
  readonly resourceArn: string;
  readonly secretArn: string;
  readonly database: string;
  readonly client?: RDSDataClient;
  /**
   * Error names that mean "the database is not there yet, ask again": the call did not run.
   * @default DEFAULT_RETRY_ON
   */
  readonly retryOn?: readonly string[];
  /** Time retries may take when no invocation deadline is known (init, scripts). @default 20 s */
  readonly retryBudgetMs?: number;
  /** First and longest wait between retries. @default 1 s and 5 s */
  readonly retryDelayMs?: { readonly first: number; readonly max: number };
}

/**
 * Errors after which the statement did not run and a later call can succeed:
 * - DatabaseResumingException: an Aurora Serverless v2 at 0 ACU is waking up (seconds); a client
 *   error to the SDK, which does not retry it;
 * - DatabaseUnavailableException: a 504 the SDK retries three times by itself, too few for a
 *   writer that is restarting.
 */
export const DEFAULT_RETRY_ON: readonly string[] = [
  'DatabaseResumingException',
  'DatabaseUnavailableException',
];

/**
 * Also DatabaseNotFoundException: on a first deploy the cluster exists before its writer can
 * answer. Only the migrator waits for that; a function that meets it has a wrong configuration.
 */
export const MIGRATION_RETRY_ON: readonly string[] = [
  ...DEFAULT_RETRY_ON,
  'DatabaseNotFoundException',
];

/** Time kept back from the invocation's deadline to answer after the last try. */
const RESERVE_MS = 3_000;

/** A response the driver cannot read as rows: never turned into "no rows". */
export class DataApiResponseError extends Error {
  override readonly name = 'DataApiResponseError';
  constructor(
    message: string,
    readonly sql: string,
  ) {
    super(`${message} (statement: ${sql.replace(/\s+/g, ' ').slice(0, 120)})`);
  }
}

/** A value as an RDS Data API parameter `:pN`; types are spelled in the SQL (`$1::uuid`). */
export const dataApiParameter = (value: SqlValue, index: number): SqlParameter => {
  const name = `p${index + 1}`;
  if (value === null) return { name, value: { isNull: true } };
  if (value instanceof Date) return { name, value: { stringValue: value.toISOString() } };
  if (typeof value === 'boolean') return { name, value: { booleanValue: value } };
  if (typeof value === 'number') {
    return Number.isSafeInteger(value)
      ? { name, value: { longValue: value } }
      : { name, value: { doubleValue: value } };
  }
  if (typeof value === 'string') return { name, value: { stringValue: value } };
  return { name, value: { stringValue: JSON.stringify(value.value) } };
};

/** `$1` → `:p1`, outside quoted strings (the Data API names its parameters). */
export const toNamedParameters = (text: string): string =>
  text.replace(/('(?:[^']|'')*')|\$(\d+)/g, (match, quoted: string | undefined, n: string) =>
    quoted ? match : `:p${n}`,
  );

/**
 * Whether a statement answers with rows: a query, or a write with RETURNING. An answer without
 * records to such a statement is an error, never an empty result.
 */
export const returnsRows = (sql: string): boolean => {
  const head = sql.replace(/^(\s|--[^\n]*\n|\/\*[\s\S]*?\*\/)*/, '');
  if (/^(SELECT|WITH|VALUES|TABLE|SHOW)\b/i.test(head)) return true;
  return /^(INSERT|UPDATE|DELETE)\b/i.test(head) && /\bRETURNING\b/i.test(head);
};

const arrayItems = (value: ArrayValue | null): unknown[] | null => {
  if (value === null) return null;
  if (value.arrayValues) return value.arrayValues.map(arrayItems);
  return (
    value.stringValues ??
    value.longValues ??
    value.doubleValues ??
    value.booleanValues ??
    []
  ).slice();
};

const fieldValue = (field: Field, sql: string): unknown => {
  if (field.isNull) return null;
  if (field.stringValue !== undefined) return field.stringValue;
  if (field.longValue !== undefined) return field.longValue;
  if (field.doubleValue !== undefined) return field.doubleValue;
  if (field.booleanValue !== undefined) return field.booleanValue;
  if (field.blobValue !== undefined) return Buffer.from(field.blobValue);
  if (field.arrayValue !== undefined) return arrayItems(field.arrayValue);
  throw new DataApiResponseError(`A field of no known kind: ${JSON.stringify(field)}`, sql);
};

/**
 * Rows by column name from an ExecuteStatement answer. The driver asks for `records` with their
 * column metadata rather than `formatRecordsAs: 'JSON'`, which the API reference says applies to
 * SELECT statements only: an `UPDATE … RETURNING` may answer in `records` alone, and reading only
 * `formattedRecords` would see no rows. `formattedRecords` is still read if a response has it.
 */
export const rowsOf = <Row>(
  sql: string,
  output: Pick<ExecuteStatementCommandOutput, 'records' | 'columnMetadata' | 'formattedRecords'>,
): Row[] => {
  if (output.formattedRecords !== undefined) {
    const parsed: unknown = JSON.parse(output.formattedRecords);
    if (!Array.isArray(parsed)) {
      throw new DataApiResponseError('formattedRecords is not a JSON array', sql);
    }
    return parsed as Row[];
  }
  if (output.records === undefined) {
    if (returnsRows(sql)) {
      throw new DataApiResponseError(
        'The Data API answered a statement that returns rows without records',
        sql,
      );
    }
    return [];
  }
  const columns: ColumnMetadata[] = output.columnMetadata ?? [];
  return output.records.map((record) => {
    if (record.length !== columns.length) {
      throw new DataApiResponseError(
        `A record of ${record.length} fields came with ${columns.length} columns of metadata`,
        sql,
      );
    }
    const row: Record<string, unknown> = {};
    columns.forEach((column, i) => {
      const name = column.label || column.name;
      if (!name) throw new DataApiResponseError(`Column ${i + 1} has no name`, sql);
      row[name] = fieldValue(record[i] as Field, sql);
    });
    return row as Row;
  });
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The RDS Data API driver: one HTTPS call per statement, transactions by id. Calls the database
 * refused because it is resuming or not yet there are tried again with backoff, for as long as
 * the invocation has time (deadline.ts) or `retryBudgetMs` outside one.
 */
export const openDataApi = async (config: DataApiConfig): Promise<Database> => {
  const {
    BeginTransactionCommand,
    CommitTransactionCommand,
    ExecuteStatementCommand,
    RDSDataClient,
    RollbackTransactionCommand,
  } = await import('@aws-sdk/client-rds-data');
  // Captured like every other SDK client, so each statement shows in X-Ray as an RDS Data call.
  const { tracer } = await import('../../observability/powertools.ts');
  const client = config.client ?? tracer.captureAWSv3Client(new RDSDataClient({}));
  const target = {
    resourceArn: config.resourceArn,
    secretArn: config.secretArn,
    database: config.database,
  };
  const retryOn = new Set(config.retryOn ?? DEFAULT_RETRY_ON);
  const budget = config.retryBudgetMs ?? 20_000;
  const delays = config.retryDelayMs ?? { first: 1_000, max: 5_000 };

  const withRetries = async <T>(call: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        if (!retryOn.has((error as Error).name)) throw error;
        const wait = Math.min(delays.max, delays.first * 2 ** attempt) * (0.75 + Math.random() / 4);
        const left = invocationTimeLeft();
        const room = left === undefined ? budget - (Date.now() - started) : left - RESERVE_MS;
        if (room < wait) throw error;
        await sleep(wait);
      }
    }
  };

  const run =
    (transactionId?: string) =>
    async <Row>(
      text: string,
      params: readonly SqlValue[] = [],
      options: QueryOptions = {},
    ): Promise<Row[]> => {
      const sql = toNamedParameters(text);
      const send = () =>
        client.send(
          new ExecuteStatementCommand({
            ...target,
            sql,
            parameters: params.map(dataApiParameter),
            includeResultMetadata: true,
            ...(options.longRunning && { continueAfterTimeout: true }),
            ...(transactionId && { transactionId }),
          }),
        );
      // Inside a transaction a failed call has ended it: only the whole transaction may retry.
      const output = transactionId ? await send() : await withRetries(send);
      return rowsOf<Row>(sql, output);
    };

  return {
    query: run(),
    transaction: async (work) => {
      const { transactionId } = await withRetries(() =>
        client.send(new BeginTransactionCommand(target)),
      );
      if (!transactionId) throw new Error('The Data API began no transaction');
      const query = run(transactionId);
      try {
        const value = await work({
          query,
          transaction: () => Promise.reject(new Error('Transactions do not nest')),
        });
        await client.send(new CommitTransactionCommand({ ...target, transactionId }));
        return value;
      } catch (error) {
        await client
          .send(new RollbackTransactionCommand({ ...target, transactionId }))
          .catch(() => {});
        throw error;
      }
    },
  };
};
