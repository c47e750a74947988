import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEFAULT_PIPELINE_ENVIRONMENTS } from '../../infra/pipeline-stack.ts';

/**
 * What actionlint cannot know about the workflows: that CI installs what .ci/run does, that
 * credentials only come through OIDC to the jobs that need them, and that the deploy workflow
 * deploys the environments the pipeline stack makes roles for. actionlint checks the rest
 * (npm run lint:workflows).
 */

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Job {
  if?: string;
  needs?: string | string[];
  uses?: string;
  with?: Record<string, unknown>;
  permissions?: Record<string, string>;
  environment?: string | { name: string };
  concurrency?: { group: string; 'cancel-in-progress'?: boolean };
  strategy?: { matrix: { include: { stage: string; role: string; context: string }[] } };
  steps?: Step[];
}
interface Workflow {
  name: string;
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

const dir = join(process.cwd(), '.github', 'workflows');
const workflows = Object.fromEntries(
  readdirSync(dir)
    .filter((file) => file.endsWith('.yml'))
    .map((file) => [file, parse(readFileSync(join(dir, file), 'utf8')) as Workflow]),
);
const workflow = (file: string): Workflow => {
  const found = workflows[file];
  if (!found) throw new Error(`No .github/workflows/${file}`);
  return found;
};
const allJobs = Object.entries(workflows).flatMap(([file, wf]) =>
  Object.entries(wf.jobs).map(([id, job]) => ({ name: `${file}#${id}`, job })),
);
const CONFIGURE_AWS = 'aws-actions/configure-aws-credentials@';

describe('ci workflow', () => {
  const ci = workflow('ci.yml');
  const steps = ci.jobs.test?.steps ?? [];

  it('runs .ci/run on pushes to main and on pull requests', () => {
    expect(Object.keys(ci.on)).toEqual(expect.arrayContaining(['push', 'pull_request']));
    expect(steps.at(-1)?.run).toBe('bash .ci/run');
  });

  it('installs, as root, every Debian package .ci/run installs', () => {
    // .ci/run runs apt-get as the root it is in CI here; the runner is not root.
    const packagesOf = (script: string) =>
      [...script.matchAll(/apt-get install ([^\n>|&;]+)/g)].flatMap((m) =>
        (m[1] ?? '').split(/\s+/).filter((word) => word && !word.startsWith('-')),
      );
    const ciRun = packagesOf(readFileSync(join(process.cwd(), '.ci', 'run'), 'utf8'));
    expect(ciRun.length).toBeGreaterThan(0);
    const installed = steps
      .filter((step) => step.run?.includes('sudo apt-get install'))
      .flatMap((step) => packagesOf(step.run ?? ''));
    // A package whose program a step puts where .ci/run looks (Chrome as /usr/bin/chromium).
    const linked = steps.flatMap((step) =>
      [...(step.run ?? '').matchAll(/ln -sf .* \/usr\/bin\/(\S+)/g)].map((m) => m[1] ?? ''),
    );
    expect([...installed, ...linked]).toEqual(expect.arrayContaining(ciRun));
  });
});

describe('every workflow', () => {
  it('pins each action by a full commit hash', () => {
    const external = allJobs.flatMap(({ name, job }) =>
      (job.steps ?? [])
        .map((step) => step.uses)
        .filter((uses): uses is string => uses !== undefined && !uses.startsWith('./'))
        .map((uses) => `${name}: ${uses}`),
    );
    expect(external.length).toBeGreaterThan(0);
    for (const entry of external) expect(entry).toMatch(/: [\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
  });

  it('grants an OIDC token only to the jobs that assume an AWS role, and never uses keys', () => {
    for (const [file, wf] of Object.entries(workflows)) {
      expect(wf.permissions?.['id-token'], file).toBeUndefined();
    }
    for (const { name, job } of allJobs) {
      const assumes = (job.steps ?? []).filter((step) => step.uses?.startsWith(CONFIGURE_AWS));
      const callsDeploy = job.uses === './.github/workflows/deploy-stage.yml';
      expect(job.permissions?.['id-token'], name).toBe(
        assumes.length > 0 || callsDeploy ? 'write' : undefined,
      );
      for (const step of assumes) {
        expect(Object.keys(step.with ?? {}).sort(), name).toEqual([
          'aws-region',
          'role-session-name',
          'role-to-assume',
        ]);
      }
    }
  });
});

describe('deploy workflow', () => {
  const deploy = workflow('deploy.yml');
  const stage = workflow('deploy-stage.yml');

  it('starts from a passed ci run, and asks for no permission at the top', () => {
    expect(deploy.permissions).toEqual({});
    expect(stage.permissions).toEqual({});
    expect(deploy.on.workflow_run).toEqual(
      expect.objectContaining({ workflows: [workflow('ci.yml').name], branches: ['main'] }),
    );
    expect(deploy.jobs.dev?.if).toMatch(/workflow_run\.conclusion == 'success'/);
    expect(deploy.jobs.dev?.if).toMatch(/workflow_run\.event == 'push'/);
  });

  it('deploys the pipeline stack environments in order, prod after dev', () => {
    const deployJobs = Object.entries(deploy.jobs).filter(
      ([, job]) => job.uses === './.github/workflows/deploy-stage.yml',
    );
    expect(deployJobs.map(([, job]) => job.with?.stage)).toEqual([
      ...DEFAULT_PIPELINE_ENVIRONMENTS,
    ]);
    expect(deploy.jobs.prod?.needs).toBe('dev');
  });

  it('deploys each stage in its GitHub environment, one deploy per environment at a time', () => {
    const job = stage.jobs.deploy;
    expect(job?.environment).toMatch(/^\$\{\{ inputs\.stage \}\}$/);
    expect(job?.concurrency?.group).toMatch(/^deploy-\$\{\{ inputs\.stage \}\}$/);
    expect(job?.concurrency?.['cancel-in-progress']).toBe(false);
  });

  it('diffs every stage it deploys on pull requests', () => {
    const matrix = deploy.jobs.diff?.strategy?.matrix.include ?? [];
    expect(matrix.map((entry) => entry.stage)).toEqual([...DEFAULT_PIPELINE_ENVIRONMENTS]);
    for (const entry of matrix) {
      // The pipeline stack's outputs name the variables (infra/pipeline-stack.ts).
      expect(entry.role).toBe(`AWS_DIFF_ROLE_ARN_${entry.stage.toUpperCase()}`);
    }
    expect(deploy.jobs.diff?.if).toMatch(/github\.event_name == 'pull_request'/);
  });
});
