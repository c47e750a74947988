import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { linkTargets, problemWith, ROOT } from '../support/doc-links.ts';

/** Every Markdown document a reader of the repository meets: the README and docs/. */
const documents = (): string[] => {
  const docs = (dir: string): string[] =>
    readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory()
        ? docs(join(dir, entry.name))
        : entry.name.endsWith('.md')
          ? [join(dir, entry.name)]
          : [],
    );
  return ['README.md', ...docs('docs')];
};

describe('links in README.md and docs/', () => {
  it('stay inside the repository and lead to files that exist', () => {
    const problems: string[] = [];
    let checked = 0;
    for (const file of documents()) {
      for (const target of linkTargets(readFileSync(join(ROOT, file), 'utf8'))) {
        checked++;
        const problem = problemWith(file, target);
        if (problem) problems.push(`${file}: ${problem}`);
      }
    }
    expect(problems).toEqual([]);
    // The README alone links to its docs and screenshots: a checker that finds nothing is broken.
    expect(checked).toBeGreaterThan(10);
  });

  it('the README links to the architecture', () => {
    const targets = linkTargets(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    expect(targets).toContain('docs/architecture.md');
  });
});

describe('the link checker', () => {
  it('refuses links that leave the repository or lead nowhere', () => {
    const page = [
      'See [the design](../shared/DESIGN.md), [AWS](https://aws.amazon.com/lambda/pricing/),',
      '<https://example.com/x>, www.example.org, [mail](mailto:a@example.com),',
      '[gone](docs/missing.md), [no heading](docs/cost.md#no-such-heading),',
      '![shot](docs/screenshots/none.png) and <a href="http://example.net">this</a>.',
      '[ref]: https://example.com/ref',
    ].join('\n');
    const problems = linkTargets(page)
      .map((target) => problemWith('README.md', target))
      .filter(Boolean);
    expect(problems).toEqual([
      'leaves the repository: ../shared/DESIGN.md',
      'links outside the repository: https://aws.amazon.com/lambda/pricing/',
      'links outside the repository: mailto:a@example.com',
      'no such file in the repository: docs/missing.md',
      'no heading #no-such-heading in docs/cost.md',
      'no such file in the repository: docs/screenshots/none.png',
      'links outside the repository: https://example.com/ref',
      'links outside the repository: https://example.com/x',
      'links outside the repository: http://example.net',
      'links outside the repository: www.example.org',
    ]);
  });

  it('lets code, loopback addresses, files and headings of the repository through', () => {
    const page = [
      'Run `curl https://example.com` or:',
      '```sh',
      'open https://example.com/in-a-block',
      '```',
      'The console at [127.0.0.1](http://127.0.0.1:5173/) or http://localhost:5173,',
      '[costs](docs/cost.md#scale-notes-what-dominates-and-what-a-team-can-turn-down),',
      '[deploy](docs/deploy.md#deploying-from-github-actions), [top](#links), [tests](test/unit).',
      '# Links',
    ].join('\n');
    const problems = linkTargets(page)
      .map((target) => (target === '#links' ? undefined : problemWith('README.md', target)))
      .filter(Boolean);
    expect(problems).toEqual([]);
  });
});
