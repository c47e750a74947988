import { parseArgs } from 'node:util';
import { STAGES } from '../infra/stages.ts';
import {
  ASSUMED,
  COST_KINDS,
  type CostKind,
  type Estimate,
  estimate,
  PRICE_REGION,
  PRICES,
  PRICES_READ_ON,
  parseFiles,
  parseMix,
  SERVICES,
} from './lib/cost-model.ts';

/**
 * `npm run cost -- --files 1e6 --mix image=0.7,csv=0.2,log=0.1 [--stage prod] [--json]`: what
 * that many files cost in AWS by the model of docs/cost.md.
 */
const HELP = `npm run cost -- [--files <n>] [--mix <kind=share,...>] [--stage <stage>] [--json]

Prices a number of files in AWS with the model of docs/cost.md: measured durations and sizes
(docs/benchmarks.md), the stage's settings (infra/stages.ts) and us-east-1 prices read on
${PRICES_READ_ON}. Prints the one-off cost of processing the files by service and by kind, what
keeping them costs each month, and the stage's own monthly cost with no file.

  --files <n>       how many files: 1000000, 1e6 or 1_000_000 (default 1e6)
  --mix <shares>    kinds and their shares, adding up to 1 (default image=0.7,csv=0.2,log=0.1);
                    kinds: ${COST_KINDS.join(', ')} (tabular and logs are accepted for csv and log);
                    an image is 4 MB, a CSV 50 MB, a log 100 MB, a video one minute
  --stage <stage>   an AWS stage of infra/stages.ts: dev or prod (default prod)
  --json            one JSON object instead of the table
  -h, --help        this text`;

// Piped into `head`, the table stops quietly when the reader has read enough.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const fail = (message: string): never => {
  console.error(`cost: ${message}`);
  console.error('(npm run cost -- --help explains the options)');
  process.exit(2);
};

let values: { files?: string; mix?: string; stage?: string; json?: boolean; help?: boolean };
try {
  ({ values } = parseArgs({
    options: {
      files: { type: 'string', default: '1e6' },
      mix: { type: 'string', default: 'image=0.7,csv=0.2,log=0.1' },
      stage: { type: 'string', default: 'prod' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  }));
} catch (error) {
  fail((error as Error).message);
  throw error;
}
if (values.help) {
  console.log(HELP);
  process.exit(0);
}

const stageName = values.stage ?? 'prod';
const stage = STAGES[stageName];
if (!stage) fail(`--stage ${stageName}: not a stage of infra/stages.ts (dev, prod)`);
if (stage?.database.kind !== 'aurora' || stage.emulatorEndpoint) {
  fail(`--stage ${stageName} runs on this machine, not in AWS: price dev or prod`);
}

let result: Estimate | undefined;
try {
  if (stage)
    result = estimate(stage, parseFiles(values.files ?? '1e6'), parseMix(values.mix ?? ''));
} catch (error) {
  fail((error as Error).message);
}
if (!result) throw new Error('unreachable: every failure above exits');

if (values.json) {
  console.log(JSON.stringify(result));
  process.exit(0);
}

const usd = (value: number): string =>
  value >= 100
    ? `$${Math.round(value).toLocaleString('en-US')}`
    : value >= 0.01
      ? `$${value.toFixed(2)}`
      : value > 0
        ? '<$0.01'
        : '-';
const row = (cells: readonly string[], widths: readonly number[]): string =>
  cells
    .map((cell, i) => (i === 0 ? cell.padEnd(widths[0] ?? 0) : cell.padStart(widths[i] ?? 0)))
    .join('  ');

const kinds = COST_KINDS.filter((k) => result.mix[k] !== undefined);
const share = (k: CostKind) => `${k} ${Math.round((result.mix[k] ?? 0) * 1000) / 10}%`;
console.log(
  `${result.files.toLocaleString('en-US')} files (${kinds.map(share).join(', ')}) on stage ${result.stage} (${result.architecture}), ${PRICE_REGION} prices read ${PRICES_READ_ON}\n`,
);

const perKindLines = kinds.map((kind) =>
  estimate(stage as NonNullable<typeof stage>, result.files * (result.mix[kind] ?? 0), {
    [kind]: 1,
  }),
);
const widths = [24, ...kinds.map(() => 12), 12];
console.log(row(['Processing (one-off)', ...kinds, 'total'], widths));
for (const service of SERVICES) {
  const total = result.processing.byService[service];
  if (total === undefined) continue;
  console.log(
    row(
      [service, ...perKindLines.map((e) => usd(e.processing.byService[service] ?? 0)), usd(total)],
      widths,
    ),
  );
}
console.log(
  row(
    [
      'total',
      ...kinds.map((k) => usd(result.processing.byKind[k] ?? 0)),
      usd(result.processing.usd),
    ],
    widths,
  ),
);
console.log(
  row(
    [
      'storage, each month kept',
      ...kinds.map((k) => usd(result.storagePerMonth.byKind[k] ?? 0)),
      usd(result.storagePerMonth.usd),
    ],
    widths,
  ),
);

console.log('\nLambda by function (one-off)');
for (const [name, value] of Object.entries(result.processing.lambdaByFunction).sort(
  (a, b) => b[1] - a[1],
)) {
  console.log(row([`  ${name}`, usd(value)], [40, 12]));
}

console.log(`\nStage ${result.stage} with no file, each month`);
for (const service of SERVICES) {
  const value = result.idlePerMonth.byService[service];
  if (value !== undefined) console.log(row([`  ${service}`, usd(value)], [40, 12]));
}
console.log(row(['  total', usd(result.idlePerMonth.usd)], [40, 12]));
console.log(
  row(['  + custom metrics in a month with files', usd(result.activeMetricsPerMonth)], [40, 12]),
);

console.log('\nPer 1,000,000 files of each kind: processing, then storage each month kept');
for (const kind of kinds) {
  const figures = result.perMillion[kind];
  if (figures)
    console.log(
      row([`  ${kind}`, usd(figures.processing), usd(figures.storagePerMonth)], [40, 12, 12]),
    );
}

const weak = Object.entries(PRICES).filter(([, p]) => 'caveat' in p);
console.log(
  `\nUpper bounds taken (docs/cost.md): ${ASSUMED.readsPerFile} read and ${ASSUMED.connectionsPerOwner} open connection per file, one message per invocation, every request authorised, every trace recorded, Parquet as large as its input. Weaker prices: ${weak.map(([name]) => name).join(', ')}. Free tiers, data transfer out, Cognito, Glue and Lambda's extra /tmp are not counted.`,
);
