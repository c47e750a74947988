import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CLI_PATH } from '../../support/cli.ts';

const help = async (...command: string[]): Promise<string> =>
  (
    await promisify(execFile)(process.execPath, [CLI_PATH, ...command, '--help'], {
      env: { ...process.env, NO_COLOR: '1' },
    })
  ).stdout;

/** Each option's entry in a help text, its wrapped lines joined. */
const optionEntries = (text: string): string[] =>
  (text.split(/\n\n/).find((block) => block.startsWith('Options:')) ?? '')
    .split('\n')
    .slice(1)
    .reduce<string[]>((entries, line) => {
      if (/^ {2}-/.test(line)) entries.push(line.trim().replace(/\s+/g, ' '));
      else entries[entries.length - 1] += ` ${line.trim()}`;
      return entries;
    }, []);

describe('syncflow --help', () => {
  const commands = [
    'login',
    'upload',
    'ls',
    'get',
    'watch',
    'rm',
    'reprocess',
    'users',
    'users add',
  ];

  it.each(commands)('%s: gives an example and each default once', async (command) => {
    const text = await help(...command.split(' '));
    expect(text).toMatch(/\nExamples:\n {2}\$ syncflow /);
    const entries = optionEntries(text);
    expect(entries.length).toBeGreaterThan(0);
    for (const entry of entries) expect(entry.match(/\(default:/g)?.length ?? 0).toBeLessThan(2);
  });

  it('users add says how the password is chosen, with its default once', async () => {
    const entry = optionEntries(await help('users', 'add')).find((e) =>
      e.startsWith('--password-stdin'),
    );
    expect(entry).toBe(
      '--password-stdin read the password from stdin instead of making a new random one (default: false)',
    );
  });
});
