import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `npm run lint:workflows`: actionlint over .github/workflows, with shellcheck over their `run:`
 * scripts. The version is pinned because each release adds checks: a newer one on a laptop could
 * fail where CI passes. `--install` builds the pinned release with Go (from the Go module proxy)
 * into .syncflow/bin, as `.ci/run` does; shellcheck comes from Debian (`apt-get install shellcheck`).
 */
export const ACTIONLINT_VERSION = '1.7.12';
const ACTIONLINT_MODULE = 'github.com/rhysd/actionlint/cmd/actionlint';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const binDir = join(root, '.syncflow', 'bin');
const workflowsDir = join(root, '.github', 'workflows');
const installHint = `npx tsx scripts/lint-workflows.ts --install (needs Go; it runs go install ${ACTIONLINT_MODULE}@v${ACTIONLINT_VERSION})`;

function fail(message: string): never {
  console.error(`lint:workflows: ${message}`);
  process.exit(1);
}

/** The first executable named `name` in .syncflow/bin, then on PATH. */
const findTool = (name: string): string | undefined =>
  [binDir, ...(process.env.PATH ?? '').split(delimiter)]
    .filter(Boolean)
    .map((dir) => join(dir, name))
    .find((path) => existsSync(path));

/** `v1.7.12` from the first line of `actionlint -version`, or undefined if it does not run. */
const versionOf = (actionlint: string): string | undefined => {
  const run = spawnSync(actionlint, ['-version'], { encoding: 'utf8' });
  return run.status === 0 ? run.stdout.split('\n')[0]?.trim() : undefined;
};

const install = () => {
  const existing = join(binDir, 'actionlint');
  if (existsSync(existing) && versionOf(existing) === `v${ACTIONLINT_VERSION}`) {
    console.log(`actionlint v${ACTIONLINT_VERSION} already in .syncflow/bin`);
    return;
  }
  if (spawnSync('go', ['version'], { stdio: 'ignore' }).status !== 0) {
    fail(
      `Go is needed to build actionlint v${ACTIONLINT_VERSION} (CI machines have it); or put that release of actionlint on PATH`,
    );
  }
  mkdirSync(binDir, { recursive: true });
  console.log(`go install ${ACTIONLINT_MODULE}@v${ACTIONLINT_VERSION} into .syncflow/bin`);
  execFileSync('go', ['install', `${ACTIONLINT_MODULE}@v${ACTIONLINT_VERSION}`], {
    stdio: 'inherit',
    env: { ...process.env, GOBIN: binDir },
  });
};

const lint = () => {
  const actionlint = findTool('actionlint');
  if (!actionlint) fail(`actionlint is not installed: ${installHint}`);
  const version = versionOf(actionlint);
  if (version !== `v${ACTIONLINT_VERSION}`) {
    fail(
      `${actionlint} is actionlint ${version ?? '(does not run)'}, the project pins v${ACTIONLINT_VERSION}: ${installHint}`,
    );
  }
  // Without shellcheck actionlint silently skips the run: scripts, the part most likely wrong.
  const shellcheck = findTool('shellcheck');
  if (!shellcheck) fail('shellcheck is not installed: apt-get install shellcheck (Debian)');
  const files = existsSync(workflowsDir)
    ? readdirSync(workflowsDir).filter((name) => /\.ya?ml$/.test(name))
    : [];
  if (files.length === 0) fail('no workflow in .github/workflows');
  const run = spawnSync(
    actionlint,
    [
      `-shellcheck=${shellcheck}`,
      // No workflow runs Python; an empty value turns the pyflakes integration off explicitly.
      '-pyflakes=',
      ...files.map((name) => join('.github', 'workflows', name)),
    ],
    { cwd: root, stdio: 'inherit' },
  );
  if (run.status !== 0) fail(`actionlint found problems (exit ${run.status ?? run.signal})`);
  console.log(`actionlint ${version}: ${files.length} workflows, no problems`);
};

if (process.argv.includes('--install')) install();
else lint();
