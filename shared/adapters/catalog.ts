import {
  AlreadyExistsException,
  type Column,
  ConcurrentModificationException,
  CreateDatabaseCommand,
  CreateTableCommand,
  EntityNotFoundException,
  GetTableCommand,
  type GlueClient,
  type Table,
  type TableInput,
  UpdateTableCommand,
} from '@aws-sdk/client-glue';

/** A column of a catalogued table: its Hive DDL type, and the pipeline's own type in `comment`. */
export interface CatalogColumn {
  readonly name: string;
  readonly type: string;
  readonly comment?: string;
}

/**
 * A date partition key that Athena computes from the query itself (partition projection): no
 * crawler, no partitions to register. Paths are Hive style, `<key>=YYYY-MM-DD/`.
 */
export interface DateProjection {
  readonly key: string;
  /** First date of the projection's range, `YYYY-MM-DD`; the range runs to NOW. */
  readonly from: string;
}

/** A Parquet table over everything under `location`, partitioned by one projected date. */
export interface ParquetTable {
  readonly database: string;
  readonly name: string;
  /** `s3://bucket/prefix/`, ending in a slash. */
  readonly location: string;
  readonly columns: readonly CatalogColumn[];
  readonly partition: DateProjection;
  readonly description?: string;
}

const PARQUET_STORAGE = {
  InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
  OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
  SerdeInfo: {
    SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
    Parameters: { 'serialization.format': '1' },
  },
};

const tableInput = (table: ParquetTable): TableInput => {
  const key = table.partition.key;
  const location = table.location.endsWith('/') ? table.location : `${table.location}/`;
  return {
    Name: table.name,
    ...(table.description && { Description: table.description }),
    TableType: 'EXTERNAL_TABLE',
    Parameters: {
      EXTERNAL: 'TRUE',
      classification: 'parquet',
      'parquet.compression': 'SNAPPY',
      'projection.enabled': 'true',
      [`projection.${key}.type`]: 'date',
      [`projection.${key}.format`]: 'yyyy-MM-dd',
      [`projection.${key}.range`]: `${table.partition.from},NOW`,
      [`projection.${key}.interval`]: '1',
      [`projection.${key}.interval.unit`]: 'DAYS',
      'storage.location.template': `${location}${key}=\${${key}}/`,
    },
    StorageDescriptor: {
      ...PARQUET_STORAGE,
      Location: location,
      Columns: table.columns.map(
        (c): Column => ({ Name: c.name, Type: c.type, ...(c.comment && { Comment: c.comment }) }),
      ),
    },
    PartitionKeys: [{ Name: key, Type: 'date' }],
  };
};

export type EvolveColumns = (
  current: readonly CatalogColumn[] | undefined,
) => { readonly columns: readonly CatalogColumn[] } | undefined;

/**
 * The Glue Data Catalog as the pipeline uses it: one database per stage, Parquet tables with
 * partition projection, created or evolved as files arrive. The client is injected.
 */
export class Catalog {
  constructor(private readonly glue: GlueClient) {}

  /** Creates the database unless it exists. */
  async ensureDatabase(name: string, description?: string): Promise<void> {
    try {
      await this.glue.send(
        new CreateDatabaseCommand({
          DatabaseInput: { Name: name, ...(description && { Description: description }) },
        }),
      );
    } catch (error) {
      if (!(error instanceof AlreadyExistsException)) throw error;
    }
  }

  /** A table's columns, or undefined when there is no such table. */
  async columns(database: string, name: string): Promise<CatalogColumn[] | undefined> {
    const table = await this.get(database, name);
    return table === undefined ? undefined : columnsOf(table);
  }

  /**
   * Creates the table, or updates it, with the columns `evolve` returns from the current ones
   * (undefined: no change needed). Glue refuses an update made from a version another writer has
   * replaced meanwhile; `evolve` then runs again on the newer columns, so two files of one dataset
   * arriving together cannot drop each other's new columns.
   */
  async putTable(
    table: Omit<ParquetTable, 'columns'>,
    evolve: EvolveColumns,
    attempts = 5,
  ): Promise<'created' | 'updated' | 'unchanged'> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(table.database, table.name);
      const next = evolve(current === undefined ? undefined : columnsOf(current));
      if (next === undefined) return 'unchanged';
      const input = tableInput({ ...table, columns: next.columns });
      try {
        if (current === undefined) {
          await this.glue.send(
            new CreateTableCommand({ DatabaseName: table.database, TableInput: input }),
          );
          return 'created';
        }
        await this.glue.send(
          new UpdateTableCommand({
            DatabaseName: table.database,
            TableInput: input,
            ...(current.VersionId && { VersionId: current.VersionId }),
          }),
        );
        return 'updated';
      } catch (error) {
        const raced =
          error instanceof ConcurrentModificationException ||
          (current === undefined && error instanceof AlreadyExistsException);
        if (!raced || attempt >= attempts) throw error;
      }
    }
  }

  private async get(database: string, name: string): Promise<Table | undefined> {
    try {
      const response = await this.glue.send(
        new GetTableCommand({ DatabaseName: database, Name: name }),
      );
      return response.Table;
    } catch (error) {
      if (error instanceof EntityNotFoundException) return undefined;
      throw error;
    }
  }
}

const columnsOf = (table: Table): CatalogColumn[] =>
  (table.StorageDescriptor?.Columns ?? []).map((c) => ({
    name: c.Name ?? '',
    type: c.Type ?? 'string',
    ...(c.Comment && { comment: c.Comment }),
  }));
