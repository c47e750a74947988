import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CloudFormationClient, GetTemplateCommand } from '@aws-sdk/client-cloudformation';
import { stageConfig } from '../infra/stages.ts';

/**
 * What the deploy workflow runs for one stage (.github/workflows/deploy.yml):
 *
 *   npx tsx scripts/deploy-stage.ts diff <stage>     cdk diff against the deployed template
 *   npx tsx scripts/deploy-stage.ts deploy <stage>   cdk deploy, its outputs in the summary
 *
 * The stage is synthesised once (`cdk synth`, which bundles the functions) and the diff or deploy
 * then works on that cloud assembly, so what is diffed is what is deployed and the summary holds
 * the diff, not the bundler's output. The diff reads the deployed template itself
 * (`cloudformation:GetTemplate`, all a pull request's role may do) and hands it to
 * `cdk diff --template`. Extra `-c` settings come from SYNCFLOW_CDK_CONTEXT, e.g.
 * `alarmEmail=ops@example.com notificationSender=files@example.com`. With GITHUB_STEP_SUMMARY
 * set (GitHub Actions), the result is appended there as Markdown.
 */

/** The `-c` settings of infra/app.ts a deployed stage may take; the others are for emulators. */
export const DEPLOY_CONTEXT_KEYS = [
  'alarmEmail',
  'corsOrigins',
  'notificationSender',
  'notificationSenderIdentity',
  'sourceMaps',
] as const;

/** GitHub refuses a step summary above 1 MiB; a first diff of a whole stack can come near. */
const SUMMARY_LIMIT = 900_000;

/**
 * `-c key=value` arguments from whitespace-separated `key=value` pairs. Throws on a key infra/app.ts
 * does not read for a deployed stage, which would otherwise be ignored without a word.
 */
export const cdkContextArgs = (value: string | undefined): string[] =>
  (value ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .flatMap((pair) => {
      const match = /^([A-Za-z]+)=(.*)$/.exec(pair);
      const key = match?.[1] ?? '';
      if (!(DEPLOY_CONTEXT_KEYS as readonly string[]).includes(key)) {
        throw new Error(
          `SYNCFLOW_CDK_CONTEXT: ${JSON.stringify(pair)} is not key=value with a key of ${DEPLOY_CONTEXT_KEYS.join(', ')}`,
        );
      }
      return ['-c', pair];
    });

/** Text in a Markdown code block, cut to `limit` characters, fenced so no backtick run ends it. */
export const codeBlock = (text: string, limit = SUMMARY_LIMIT): string => {
  const cut =
    text.length > limit
      ? `${text.slice(0, limit)}\n… ${text.length - limit} more characters: see the job's log`
      : text;
  const longestRun = Math.max(2, ...(cut.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  return `${fence}\n${cut.trimEnd()}\n${fence}\n`;
};

/**
 * The template CloudFormation holds for the stack, or undefined when there is no such stack (a
 * first deploy: the diff is then the whole stack). Any other error (no permission, throttling)
 * is thrown: an empty diff that only looks right is worse than a failed job.
 */
export const readDeployedTemplate = async (
  cfn: CloudFormationClient,
  stackName: string,
): Promise<string | undefined> => {
  try {
    const answer = await cfn.send(
      new GetTemplateCommand({ StackName: stackName, TemplateStage: 'Original' }),
    );
    return answer.TemplateBody;
  } catch (error) {
    if ((error as Error).name === 'ValidationError' && /does not exist/.test(String(error))) {
      return undefined;
    }
    throw error;
  }
};

const summary = (markdown: string) => {
  const file = process.env.GITHUB_STEP_SUMMARY;
  if (file) appendFileSync(file, markdown);
};

/** Runs the CDK CLI of node_modules; its output is passed through, and returned when captured. */
const cdk = (args: string[], capture = false): string => {
  const run = spawnSync('npx', ['cdk', ...args], {
    stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  const output = capture ? `${run.stdout}${run.stderr}` : '';
  if (capture) process.stdout.write(output);
  if (run.status !== 0) {
    throw new Error(`cdk ${args[0]} failed (exit ${run.status ?? run.signal})`);
  }
  return output;
};

const main = async (command: string | undefined, stageName: string | undefined) => {
  if ((command !== 'diff' && command !== 'deploy') || !stageName) {
    console.error('Usage: npx tsx scripts/deploy-stage.ts diff|deploy <stage>');
    process.exit(2);
  }
  const stage = stageConfig(stageName);
  const stackName = `SyncFlow-${stage.name}`;
  const context = cdkContextArgs(process.env.SYNCFLOW_CDK_CONTEXT);
  const assembly = resolve(mkdtempSync(join(tmpdir(), 'syncflow-assembly-')));
  try {
    cdk(['synth', stackName, '-c', `stage=${stage.name}`, ...context, '--output', assembly, '-q']);

    if (command === 'diff') {
      const deployed = await readDeployedTemplate(new CloudFormationClient({}), stackName);
      const templateFile = join(assembly, 'deployed.template');
      writeFileSync(templateFile, deployed ?? '{}');
      const note = deployed === undefined ? ` (not deployed yet: the whole stack is new)` : '';
      console.log(`Comparing ${stackName} with its deployed template${note}`);
      const diff = cdk(
        ['diff', stackName, '--app', assembly, '--template', templateFile, '--no-color'],
        true,
      );
      summary(`### cdk diff ${stackName}${note}\n\n${codeBlock(diff)}\n`);
      return;
    }

    const outputsFile = join(assembly, 'outputs.json');
    cdk([
      'deploy',
      stackName,
      '--app',
      assembly,
      '--require-approval',
      'never',
      '--ci',
      '--no-color',
      '--outputs-file',
      outputsFile,
    ]);
    const outputs =
      (JSON.parse(readFileSync(outputsFile, 'utf8')) as Record<string, Record<string, string>>)[
        stackName
      ] ?? {};
    const rows = Object.entries(outputs).map(([key, value]) => `| ${key} | \`${value}\` |`);
    summary(`### Deployed ${stackName}\n\n| output | value |\n| --- | --- |\n${rows.join('\n')}\n`);
  } finally {
    // The bundled functions of a stage come to tens of megabytes.
    rmSync(assembly, { recursive: true, force: true });
  }
};

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv[2], process.argv[3]).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
