import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import pg from 'pg';

/**
 * A stand-in for the RDS Data API over a real PostgreSQL server, for tests: it speaks the
 * service's REST/JSON protocol (the AWS SDK's RDSDataClient talks to it through `endpoint`, or a
 * function through AWS_ENDPOINT_URL_RDS_DATA) and reproduces the documented behaviour the
 * repository depends on. Each behaviour names its source; where AWS documents nothing, the
 * choice is said to be one.
 *
 * Sources (quoted in the comments by short name):
 * - API reference: docs.aws.amazon.com/rdsdataservice/latest/APIReference (ExecuteStatement,
 *   BeginTransaction, Field, SqlParameter, ResultSetOptions).
 * - User guide: docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/data-api.html, its
 *   "Troubleshooting" and "JSON" pages.
 * - The service model in @aws-sdk/client-rds-data: operation paths and error shapes (status,
 *   `x-amzn-errortype`).
 * - typeorm-aurora-data-api-driver issue 164: "UnsupportedResultException: The result contains
 *   the unsupported data type regtype" on Aurora Serverless v2.
 */

/** PostgreSQL credentials a secret holds (Secrets Manager's `username` and `password`). */
export interface DbCredentials {
  readonly username: string;
  readonly password?: string;
}

/** The login a PostgreSQL URL carries, as a secret would hold it. */
export const credentialsOf = (postgresUrl: string): DbCredentials => {
  const url = new URL(postgresUrl);
  return {
    username: decodeURIComponent(url.username) || 'postgres',
    password: decodeURIComponent(url.password),
  };
};

export interface DataApiServerOptions {
  /** The PostgreSQL server statements run on; its user and database are replaced per call. */
  readonly postgresUrl: string;
  /** The cluster(s) the double answers for; others get BadRequestException. */
  readonly clusterArn: string | ((arn: string) => boolean);
  /**
   * What each `secretArn` logs in as: different secrets may be different PostgreSQL roles, as
   * in AWS, where the Data API signs in with the secret the caller names.
   */
  readonly secrets:
    | Readonly<Record<string, DbCredentials>>
    | ((secretArn: string) => Promise<DbCredentials | undefined>);
  /** The call timeout. AWS: 45 s. */
  readonly statementTimeoutMs?: number;
  /** A transaction no call used for this long is rolled back. AWS: 3 minutes. */
  readonly transactionIdleMs?: number;
  /** AWS: 1 MiB of result data per call. */
  readonly maxResponseBytes?: number;
  /** AWS: 64 KB per row. */
  readonly maxRowBytes?: number;
  /**
   * `formatRecordsAs: 'JSON'` also formats the rows of INSERT/UPDATE/DELETE … RETURNING. The API
   * reference says the parameter "only applies to SELECT statements and is ignored for other
   * types of statements"; whether a write's RETURNING rows count is not said, so tests run under
   * both readings. @default false
   */
  readonly formatReturningAsJson?: boolean;
}

/** An error the service answers, by its model name. */
export type DataApiErrorName =
  | 'BadRequestException'
  | 'DatabaseErrorException'
  | 'DatabaseNotFoundException'
  | 'DatabaseResumingException'
  | 'DatabaseUnavailableException'
  | 'SecretsErrorException'
  | 'StatementTimeoutException'
  | 'UnsupportedResultException';

export interface DataApiServer {
  /** `http://127.0.0.1:<port>`: give it to RDSDataClient as `endpoint`. */
  readonly endpoint: string;
  /** A client pointed at the double, with dummy credentials. */
  client(): RDSDataClient;
  /**
   * The next `times` calls (of any operation) answer `error`, as the service does while a
   * paused Aurora Serverless v2 resumes (DatabaseResumingException) or a writer restarts
   * (DatabaseUnavailableException). The statement does not run.
   */
  inject(error: DataApiErrorName, times?: number): void;
  /** Forgets every injected error not yet answered. */
  clearFaults(): void;
  /** Calls answered so far, by operation. */
  readonly calls: Readonly<Record<string, number>>;
  /** Transactions open now. */
  openTransactions(): number;
  stop(): Promise<void>;
}

/** The model's HTTP status per error (service model in @aws-sdk/client-rds-data). */
const STATUS: Record<DataApiErrorName | 'TransactionNotFoundException', number> = {
  BadRequestException: 400,
  DatabaseErrorException: 400,
  DatabaseNotFoundException: 404,
  DatabaseResumingException: 400,
  DatabaseUnavailableException: 504,
  SecretsErrorException: 400,
  StatementTimeoutException: 400,
  UnsupportedResultException: 400,
  TransactionNotFoundException: 404,
};

class ServiceError extends Error {
  constructor(
    readonly errorName: DataApiErrorName,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** How a PostgreSQL type comes back in a record (API reference, Field; JDBC type codes). */
type Kind = 'string' | 'long' | 'double' | 'boolean' | 'blob';
interface ColumnType {
  readonly typeName: string;
  readonly jdbc: number;
  readonly kind: Kind;
  readonly array?: boolean;
}
const scalar = (typeName: string, jdbc: number, kind: Kind): ColumnType => ({
  typeName,
  jdbc,
  kind,
});
const arrayOf = (typeName: string, kind: Kind): ColumnType => ({
  typeName,
  jdbc: 2003,
  kind,
  array: true,
});

/**
 * The result types the double returns, by OID; every other type answers
 * UnsupportedResultException. The service's own list is not published type by type: this one
 * holds the types the user guide's data type mapping names (numbers, text, booleans, dates and
 * times, UUID, JSON, binary, arrays), and refuses the rest, as the service was seen refusing
 * `regtype` and `char` (issue 164 above). `void` (a function with no result, such as
 * `pg_advisory_xact_lock`) is refused too: a guess on the safe side, since no mapping names it.
 */
const COLUMN_TYPES: ReadonlyMap<number, ColumnType> = new Map([
  [16, scalar('bool', -7, 'boolean')],
  [17, scalar('bytea', -2, 'blob')],
  [19, scalar('name', 12, 'string')],
  [20, scalar('int8', -5, 'long')],
  [21, scalar('int2', 5, 'long')],
  [23, scalar('int4', 4, 'long')],
  [25, scalar('text', 12, 'string')],
  [26, scalar('oid', -5, 'long')],
  [114, scalar('json', 1111, 'string')],
  [700, scalar('float4', 7, 'double')],
  [701, scalar('float8', 8, 'double')],
  [1042, scalar('bpchar', 1, 'string')],
  [1043, scalar('varchar', 12, 'string')],
  [1082, scalar('date', 91, 'string')],
  [1083, scalar('time', 92, 'string')],
  [1114, scalar('timestamp', 93, 'string')],
  [1184, scalar('timestamptz', 93, 'string')],
  [1266, scalar('timetz', 92, 'string')],
  [1700, scalar('numeric', 2, 'string')],
  [2950, scalar('uuid', 1111, 'string')],
  [3802, scalar('jsonb', 1111, 'string')],
  [1000, arrayOf('_bool', 'boolean')],
  [1005, arrayOf('_int2', 'long')],
  [1007, arrayOf('_int4', 'long')],
  [1009, arrayOf('_text', 'string')],
  [1015, arrayOf('_varchar', 'string')],
  [1016, arrayOf('_int8', 'long')],
  [1022, arrayOf('_float8', 'double')],
  [2951, arrayOf('_uuid', 'string')],
]);

/**
 * How a parameter is bound, by the kind of value it carries: "stringValue" is a character
 * varying, so `uuid_column = :id` fails as it does in AWS ("operator does not exist: uuid =
 * character varying") unless the SQL casts or the parameter has a typeHint (API reference,
 * SqlParameter: a typeHint sends "the corresponding String parameter value … as an object of"
 * that type).
 */
const TYPE_HINTS: Record<string, string> = {
  DATE: 'date',
  DECIMAL: 'numeric',
  JSON: 'json',
  TIME: 'time',
  TIMESTAMP: 'timestamp',
  UUID: 'uuid',
};

interface WireParameter {
  readonly name?: string;
  readonly typeHint?: string;
  readonly value?: Record<string, unknown>;
}

const bindParameter = (parameter: WireParameter): { value: unknown; cast: string } => {
  const value = parameter.value ?? {};
  const hint = parameter.typeHint ? TYPE_HINTS[parameter.typeHint] : undefined;
  if (parameter.typeHint && !hint) {
    throw new ServiceError('BadRequestException', `Unknown typeHint ${parameter.typeHint}`);
  }
  if (value.isNull === true) return { value: null, cast: hint ? `::${hint}` : '' };
  if ('stringValue' in value) return { value: value.stringValue, cast: `::${hint ?? 'varchar'}` };
  if ('longValue' in value) return { value: String(value.longValue), cast: '::int8' };
  if ('doubleValue' in value) return { value: String(value.doubleValue), cast: '::float8' };
  if ('booleanValue' in value) return { value: value.booleanValue, cast: '::bool' };
  if ('blobValue' in value) {
    return { value: Buffer.from(String(value.blobValue), 'base64'), cast: '::bytea' };
  }
  // API reference, ExecuteStatement: "Array parameters are not supported."
  throw new ServiceError('BadRequestException', 'Array parameters are not supported');
};

/**
 * Named parameters (`:name`) to PostgreSQL's `$n`, each with the cast of its value's kind; text
 * inside quotes, dollar quotes and comments is left alone, and `::type` is a cast, not a name.
 */
export const bindNamedParameters = (
  sql: string,
  parameters: readonly WireParameter[],
): { text: string; values: unknown[] } => {
  const byName = new Map(parameters.map((p) => [p.name ?? '', p]));
  const positions = new Map<string, number>();
  const values: unknown[] = [];
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const rest = sql.slice(i);
    const skip =
      /^'(?:[^']|'')*'/.exec(rest) ??
      /^"(?:[^"]|"")*"/.exec(rest) ??
      /^--[^\n]*/.exec(rest) ??
      /^\/\*[\s\S]*?\*\//.exec(rest) ??
      /^(\$[A-Za-z_]*\$)[\s\S]*?\1/.exec(rest) ??
      /^::/.exec(rest);
    if (skip) {
      out += skip[0];
      i += skip[0].length;
      continue;
    }
    const named = /^:([A-Za-z_][A-Za-z0-9_]*)/.exec(rest);
    if (named?.[1]) {
      const name = named[1];
      const parameter = byName.get(name);
      if (!parameter) {
        throw new ServiceError('BadRequestException', `No value specified for parameter ${name}`);
      }
      let position = positions.get(name);
      const bound = bindParameter(parameter);
      if (position === undefined) {
        values.push(bound.value);
        position = values.length;
        positions.set(name, position);
      }
      out += `$${position}${bound.cast}`;
      i += named[0].length;
      continue;
    }
    out += sql[i];
    i += 1;
  }
  return { text: out, values };
};

/** PostgreSQL's array literal (`{a,"b c",NULL}`), one dimension deep or more. */
const parseArray = (literal: string): unknown[] => {
  let i = 0;
  const parse = (): unknown[] => {
    const items: unknown[] = [];
    i += 1; // {
    while (literal[i] !== '}') {
      if (literal[i] === '{') items.push(parse());
      else if (literal[i] === '"') {
        let value = '';
        i += 1;
        while (literal[i] !== '"') {
          if (literal[i] === '\\') i += 1;
          value += literal[i];
          i += 1;
        }
        i += 1;
        items.push(value);
      } else {
        let value = '';
        while (literal[i] !== ',' && literal[i] !== '}') {
          value += literal[i];
          i += 1;
        }
        items.push(value === 'NULL' ? null : value);
      }
      if (literal[i] === ',') i += 1;
    }
    i += 1; // }
    return items;
  };
  return parse();
};

/** Text as the service returns it: timestamps with a zone as UTC without one (session is UTC). */
const textValue = (type: ColumnType, raw: string): string =>
  type.typeName === 'timestamptz' ? raw.replace(/\+00$/, '') : raw;

const scalarValue = (kind: Kind, raw: string): unknown => {
  switch (kind) {
    case 'long':
      return Number(raw);
    case 'double':
      return Number(raw);
    case 'boolean':
      return raw === 't';
    case 'blob':
      return Buffer.from(raw.slice(2), 'hex').toString('base64');
    case 'string':
      return raw;
  }
};

/** A cell as a Field of `records` (API reference, Field). */
const field = (type: ColumnType, raw: string | null): Record<string, unknown> => {
  if (raw === null) return { isNull: true };
  if (type.array) {
    const key = `${type.kind}Values`;
    const items = parseArray(raw).map((item) =>
      item === null ? null : scalarValue(type.kind, String(item)),
    );
    return { arrayValue: { [key]: items } };
  }
  const value = scalarValue(type.kind, textValue(type, raw));
  return { [`${type.kind}Value`]: value };
};

/** The same cell in `formattedRecords` (user guide, JSON page: numbers, booleans, text). */
const jsonValue = (type: ColumnType, raw: string | null): unknown => {
  if (raw === null) return null;
  if (type.array) {
    return parseArray(raw).map((item) =>
      item === null ? null : scalarValue(type.kind, String(item)),
    );
  }
  return scalarValue(type.kind, textValue(type, raw));
};

/** Every column as text, so the double formats values itself, as the service does. */
const RAW_TEXT = { getTypeParser: () => (value: string) => value };

interface Transaction {
  readonly client: pg.PoolClient;
  timer: NodeJS.Timeout;
  busy: number;
}

const readBody = (request: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });

/** Starts the double on 127.0.0.1 on a port of the system's choosing. */
export const startDataApiServer = async (options: DataApiServerOptions): Promise<DataApiServer> => {
  const statementTimeoutMs = options.statementTimeoutMs ?? 45_000;
  const transactionIdleMs = options.transactionIdleMs ?? 180_000;
  const maxResponseBytes = options.maxResponseBytes ?? 1024 * 1024;
  const maxRowBytes = options.maxRowBytes ?? 64 * 1024;
  const server = new URL(options.postgresUrl);
  const pools = new Map<string, pg.Pool>();
  const transactions = new Map<string, Transaction>();
  const injected: { name: DataApiErrorName; left: number }[] = [];
  const calls: Record<string, number> = {};
  const typeNames = new Map<number, string>();
  const admin = new pg.Pool({ connectionString: options.postgresUrl, max: 2 });
  // An idle connection the server ends (a shutdown, a cancelled backend) is no crash.
  const ignoreIdleErrors = (pool: pg.Pool): pg.Pool => pool.on('error', () => {});
  ignoreIdleErrors(admin);

  const credentialsFor = async (secretArn: unknown): Promise<DbCredentials> => {
    const arn = String(secretArn ?? '');
    const found =
      typeof options.secrets === 'function' ? await options.secrets(arn) : options.secrets[arn];
    if (!found) {
      throw new ServiceError(
        'SecretsErrorException',
        `Error fetching secret ${arn}: Secrets Manager can't find the specified secret.`,
      );
    }
    return found;
  };

  const checkCluster = (resourceArn: unknown): void => {
    const arn = String(resourceArn ?? '');
    const known =
      typeof options.clusterArn === 'function'
        ? options.clusterArn(arn)
        : options.clusterArn === arn;
    if (!known) throw new ServiceError('BadRequestException', `Invalid cluster arn: ${arn}`);
  };

  const poolFor = async (body: Record<string, unknown>): Promise<pg.Pool> => {
    checkCluster(body.resourceArn);
    const credentials = await credentialsFor(body.secretArn);
    const database = String(body.database || server.pathname.slice(1) || 'postgres');
    const key = `${credentials.username}\u0000${credentials.password ?? ''}\u0000${database}`;
    let pool = pools.get(key);
    if (!pool) {
      pool = new pg.Pool({
        host: server.hostname,
        port: Number(server.port || 5432),
        user: credentials.username,
        password: credentials.password ?? '',
        database,
        max: 6,
        // The service answers timestamps with a zone in UTC (see textValue).
        options: '-c TimeZone=UTC',
      });
      ignoreIdleErrors(pool);
      pools.set(key, pool);
    }
    return pool;
  };

  const typeName = async (oid: number): Promise<string> => {
    const known = typeNames.get(oid);
    if (known) return known;
    const { rows } = await admin.query<{ typname: string }>(
      'SELECT typname FROM pg_type WHERE oid = $1',
      [oid],
    );
    const name = rows[0]?.typname ?? `oid ${oid}`;
    typeNames.set(oid, name);
    return name;
  };

  /** API reference, ExecuteStatement: one statement, its rows as records or a JSON string. */
  const execute = async (body: Record<string, unknown>, client: pg.PoolClient) => {
    const { text, values } = bindNamedParameters(
      String(body.sql ?? ''),
      (body.parameters as WireParameter[] | undefined) ?? [],
    );
    const pending = client.query({ text, values, rowMode: 'array', types: RAW_TEXT });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // API reference, continueAfterTimeout: "By default, the statement stops running when
        // the call times out"; with it, the statement goes on and only the call ends.
        if (body.continueAfterTimeout !== true) {
          void admin.query('SELECT pg_cancel_backend($1)', [
            (client as unknown as { processID: number }).processID,
          ]);
        }
        reject(
          new ServiceError('StatementTimeoutException', 'Statement timed out', {
            dbConnectionId: (client as unknown as { processID: number }).processID,
          }),
        );
      }, statementTimeoutMs);
    });
    let result: pg.QueryArrayResult<(string | null)[]>;
    try {
      result = await Promise.race([pending, timeout]);
    } catch (error) {
      if (error instanceof ServiceError) {
        pending.catch(() => {});
        throw Object.assign(error, { pending });
      }
      const pgError = error as { message: string; code?: string };
      throw new ServiceError(
        'DatabaseErrorException',
        `ERROR: ${pgError.message}; SQLState: ${pgError.code ?? 'unknown'}`,
      );
    } finally {
      clearTimeout(timer);
    }
    if (result.fields.length === 0) {
      return { numberOfRecordsUpdated: result.rowCount ?? 0, generatedFields: [] };
    }
    const types: ColumnType[] = [];
    for (const column of result.fields) {
      const type = COLUMN_TYPES.get(column.dataTypeID);
      if (!type) {
        throw new ServiceError(
          'UnsupportedResultException',
          `The result contains the unsupported data type ${await typeName(column.dataTypeID)}.`,
        );
      }
      types.push(type);
    }
    let total = 0;
    for (const row of result.rows) {
      const size = row.reduce(
        (sum, cell) => sum + (cell === null ? 0 : Buffer.byteLength(cell)),
        0,
      );
      // User guide, Troubleshooting: "The Data API size limit is 64 KB per row".
      if (size > maxRowBytes) {
        throw new ServiceError('BadRequestException', 'Packet for query is too large');
      }
      total += size;
    }
    // API reference, ExecuteStatement: "If the binary response data from the database is more
    // than 1 MB, the call is terminated."
    if (total > maxResponseBytes) {
      throw new ServiceError(
        'BadRequestException',
        'Database returned more than the allowed response size limit',
      );
    }
    const columnMetadata = result.fields.map((column, i) => ({
      name: column.name,
      label: column.name,
      typeName: types[i]?.typeName,
      type: types[i]?.jdbc,
      arrayBaseColumnType: 0,
    }));
    const isSelect = result.command === 'SELECT';
    const json =
      body.formatRecordsAs === 'JSON' && (isSelect || options.formatReturningAsJson === true);
    const metadata = body.includeResultMetadata === true ? { columnMetadata } : {};
    const updated = isSelect ? 0 : (result.rowCount ?? 0);
    if (json) {
      const records = result.rows.map((row) =>
        Object.fromEntries(
          row.map((cell, i) => [result.fields[i]?.name, jsonValue(types[i] as ColumnType, cell)]),
        ),
      );
      return {
        formattedRecords: JSON.stringify(records),
        numberOfRecordsUpdated: updated,
        ...metadata,
      };
    }
    return {
      records: result.rows.map((row) => row.map((cell, i) => field(types[i] as ColumnType, cell))),
      numberOfRecordsUpdated: updated,
      ...metadata,
    };
  };

  const endTransaction = async (id: string, command: 'COMMIT' | 'ROLLBACK'): Promise<void> => {
    const tx = transactions.get(id);
    if (!tx) return;
    transactions.delete(id);
    clearTimeout(tx.timer);
    try {
      await tx.client.query(command);
      tx.client.release();
    } catch (error) {
      tx.client.release(error as Error);
      throw error;
    }
  };

  /**
   * API reference, BeginTransaction: "A transaction times out if no calls use its transaction
   * ID in three minutes. If a transaction times out before it's committed, it's rolled back
   * automatically."
   */
  const touch = (id: string, tx: Transaction): void => {
    clearTimeout(tx.timer);
    tx.timer = setTimeout(() => {
      if (tx.busy === 0) void endTransaction(id, 'ROLLBACK').catch(() => {});
    }, transactionIdleMs);
  };

  const transactionFor = (id: unknown): [string, Transaction] => {
    const key = String(id);
    const tx = transactions.get(key);
    // User guide, Troubleshooting: "Transaction <transaction_ID> is not found".
    if (!tx) throw new ServiceError('BadRequestException', `Transaction ${key} is not found`);
    return [key, tx];
  };

  const operations: Record<string, (body: Record<string, unknown>) => Promise<unknown>> = {
    '/Execute': async (body) => {
      if (body.transactionId) {
        const [id, tx] = transactionFor(body.transactionId);
        touch(id, tx);
        tx.busy += 1;
        try {
          return await execute(body, tx.client);
        } catch (error) {
          // User guide, Troubleshooting: a transaction ends when a call in it fails ("The
          // transaction was stopped because of an error from a previous call").
          const pending = (error as { pending?: Promise<unknown> }).pending;
          if (pending && body.continueAfterTimeout === true) {
            void pending.finally(() => endTransaction(id, 'ROLLBACK').catch(() => {}));
          } else {
            await (pending?.catch(() => {}) ?? Promise.resolve());
            await endTransaction(id, 'ROLLBACK').catch(() => {});
          }
          throw error;
        } finally {
          tx.busy -= 1;
          if (transactions.has(id)) touch(id, tx);
        }
      }
      const client = await (await poolFor(body)).connect();
      let answer: unknown;
      try {
        answer = await execute(body, client);
      } catch (error) {
        const pending = (error as { pending?: Promise<unknown> }).pending;
        // A statement left running after its call keeps its connection until it ends.
        if (pending) void pending.catch(() => {}).finally(() => client.release());
        else client.release();
        throw error;
      }
      client.release();
      return answer;
    },
    '/BeginTransaction': async (body) => {
      const client = await (await poolFor(body)).connect();
      await client.query('BEGIN');
      const id = randomBytes(48).toString('base64');
      const tx: Transaction = { client, timer: setTimeout(() => {}, 0), busy: 0 };
      transactions.set(id, tx);
      touch(id, tx);
      return { transactionId: id };
    },
    '/CommitTransaction': async (body) => {
      const [id] = transactionFor(body.transactionId);
      await endTransaction(id, 'COMMIT');
      return { transactionStatus: 'Transaction Committed' };
    },
    '/RollbackTransaction': async (body) => {
      const [id] = transactionFor(body.transactionId);
      await endTransaction(id, 'ROLLBACK');
      return { transactionStatus: 'Rollback Complete' };
    },
  };

  const answer = (response: ServerResponse, status: number, body: unknown, error?: string) => {
    const text = JSON.stringify(body);
    response.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': randomBytes(16).toString('hex'),
      ...(error && { 'x-amzn-errortype': error }),
    });
    response.end(text);
  };

  const http = createServer(async (request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    calls[path] = (calls[path] ?? 0) + 1;
    try {
      const body = JSON.parse((await readBody(request)) || '{}') as Record<string, unknown>;
      const fault = injected[0];
      if (fault) {
        fault.left -= 1;
        if (fault.left <= 0) injected.shift();
        const messages: Partial<Record<DataApiErrorName, string>> = {
          DatabaseResumingException:
            'The Aurora DB instance db-syncflow is resuming after being auto-paused. Please wait a few seconds and try again.',
          DatabaseNotFoundException: 'The DB cluster or instance was not found.',
        };
        throw new ServiceError(fault.name, messages[fault.name] ?? '');
      }
      const operation = operations[path];
      if (!operation || request.method !== 'POST') {
        throw new ServiceError('BadRequestException', `The double does not serve ${path}`);
      }
      answer(response, 200, await operation(body));
    } catch (error) {
      if (error instanceof ServiceError) {
        const body =
          error.errorName === 'DatabaseUnavailableException'
            ? {}
            : { message: error.message, ...error.extra };
        answer(response, STATUS[error.errorName], body, error.errorName);
      } else {
        answer(
          response,
          500,
          { message: (error as Error).message },
          'InternalServerErrorException',
        );
      }
    }
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;

  return {
    endpoint,
    client: () =>
      new RDSDataClient({
        endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      }),
    inject: (name, times = 1) => {
      injected.push({ name, left: times });
    },
    clearFaults: () => {
      injected.length = 0;
    },
    calls,
    openTransactions: () => transactions.size,
    stop: async () => {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      for (const id of [...transactions.keys()])
        await endTransaction(id, 'ROLLBACK').catch(() => {});
      await Promise.all([...pools.values()].map((pool) => pool.end()));
      await admin.end();
    },
  };
};
