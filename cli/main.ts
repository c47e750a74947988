import { readFileSync } from 'node:fs';
import { Command as Commander, CommanderError, Option } from 'commander';
import { get } from './commands/get.ts';
import { login } from './commands/login.ts';
import { ls } from './commands/ls.ts';
import { reprocess } from './commands/reprocess.ts';
import { rm } from './commands/rm.ts';
import { upload } from './commands/upload.ts';
import { usersAdd } from './commands/users.ts';
import { watch } from './commands/watch.ts';
import { type Command, type Context, createContext } from './lib/command.ts';
import { LOCAL_PROFILE } from './lib/config.ts';
import { describeError, EXIT } from './lib/errors.ts';
import { Output } from './lib/output.ts';

const COMMANDS: readonly Command<never>[] = [
  login,
  upload,
  ls,
  get,
  watch,
  rm,
  reprocess,
  usersAdd,
] as never;

const version = (): string =>
  (
    JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    }
  ).version;

/** What a group of commands is for, in `syncflow --help`, and examples for its own help. */
const GROUPS: Readonly<Record<string, { summary: string; examples: readonly string[] }>> = {
  users: {
    summary: "The local stack's users (in AWS, an administrator's Cognito work)",
    examples: ['syncflow users add ana@example.com', 'syncflow users add --help'],
  },
};

interface GlobalFlags {
  readonly profile: string;
  readonly json: boolean;
  readonly quiet: boolean;
  readonly color: boolean;
}

/**
 * `syncflow`: the command line of SyncFlow, on the client library. Each command is a module of
 * `commands/` (summary, examples, flags, a `run` that returns data); this file wires them to
 * commander, prints what they return (a table or one `{result}` / `{error}` JSON envelope),
 * and ends with the exit codes of lib/errors.ts.
 */
export const main = async (
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> => {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    // The first Ctrl-C lets work stop cleanly (the journal is always current); a second one
    // does not wait.
    if (interrupts > 1) process.exit(EXIT.interrupted);
    controller.abort(new Error('Interrupted'));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A reader that went away (`syncflow ls | head`) is not an error of ours.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(EXIT.ok);
    throw error;
  });

  const wantsJson = argv.includes('--json');
  let exitCode: number = EXIT.ok;
  const program = new Commander('syncflow')
    .description('Upload, list, fetch and follow files in a SyncFlow stack.')
    .version(version(), '-V, --version')
    .addOption(
      new Option('--profile <name>', 'the stack to use (see `syncflow login`)')
        .env('SYNCFLOW_PROFILE')
        .default(LOCAL_PROFILE),
    )
    .option('--json', 'print one JSON object: {"result": …} or {"error": {code, message}}', false)
    .option('-q, --quiet', 'no progress and no notes on stderr', false)
    .option('--no-color', 'no colour (also: NO_COLOR set, or not a terminal)')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({
      outputError: (text, write) => {
        if (wantsJson) {
          process.stdout.write(
            `${JSON.stringify({ error: { code: 'USAGE', message: text.replace(/^error: /, '').trim() } })}\n`,
          );
        } else write(text);
      },
    })
    .addHelpText(
      'after',
      [
        '',
        'Exit codes: 0 ok, 1 a file or call failed, 2 wrong usage, 4 not signed in, 130 interrupted.',
        'Config (profiles, tokens, upload journal): $SYNCFLOW_CONFIG_DIR or ~/.config/syncflow.',
        '',
        'Examples:',
        '  $ syncflow login',
        '  $ syncflow upload photos/ --wait',
        '  $ syncflow ls --status FAILED',
      ].join('\n'),
    );

  const groups = new Map<string, Commander>();
  for (const command of COMMANDS as readonly Command[]) {
    const [group, name] = command.name.includes(' ')
      ? (command.name.split(' ') as [string, string])
      : [undefined, command.name];
    let parent = program;
    if (group) {
      const about = GROUPS[group];
      parent =
        groups.get(group) ??
        program
          .command(group)
          .description(about?.summary ?? `${group} commands`)
          .addHelpText(
            'after',
            about ? `\nExamples:\n${about.examples.map((e) => `  $ ${e}`).join('\n')}` : '',
          );
      groups.set(group, parent);
    }
    const sub = parent.command(`${name}${command.args ? ` ${command.args}` : ''}`);
    sub
      .summary(command.summary)
      .description(`${command.summary}.\n\n${command.description ?? ''}`.trim())
      .addHelpText('after', `\nExamples:\n${command.examples.map((e) => `  $ ${e}`).join('\n')}`);
    for (const flag of command.flags) {
      const option = new Option(flag.flags, flag.description);
      if (flag.default !== undefined) option.default(flag.default);
      if (flag.parse) option.argParser(flag.parse as (value: string) => unknown);
      sub.addOption(option);
    }
    sub.action(async (...params: unknown[]) => {
      const self = params[params.length - 1] as Commander;
      const positional = params
        .slice(0, -2)
        .flatMap((p) => (Array.isArray(p) ? p : p === undefined ? [] : [p])) as string[];
      const globals = self.optsWithGlobals() as GlobalFlags;
      const out = new Output({ json: globals.json, quiet: globals.quiet, colour: globals.color });
      const ctx: Context = createContext({
        out,
        profileName: globals.profile,
        signal: controller.signal,
        env,
      });
      try {
        const result = await command.run(ctx, positional, self.opts());
        if (result.data !== undefined) {
          if (out.json) out.result(result.data);
          else for (const line of result.print?.() ?? []) out.data(line);
        }
        exitCode = result.exitCode;
      } catch (error) {
        const described = describeError(error);
        exitCode = controller.signal.aborted ? EXIT.interrupted : described.exitCode;
        if (out.json) out.error(error);
        else out.warn(`syncflow: ${described.message}`);
      } finally {
        ctx.close();
      }
    });
  }

  try {
    await program.parseAsync(argv as string[], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.code === 'commander.help'
      )
        return EXIT.ok;
      return EXIT.usage;
    }
    const described = describeError(error);
    if (wantsJson)
      process.stdout.write(
        `${JSON.stringify({ error: { code: described.code, message: described.message } })}\n`,
      );
    else process.stderr.write(`syncflow: ${described.message}\n`);
    return described.exitCode;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return exitCode;
};
