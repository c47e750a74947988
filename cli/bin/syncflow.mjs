#!/usr/bin/env node
// The `syncflow` command: the TypeScript sources run through tsx's loader, as the project's
// other tools do (npm start, npm run redrive), so there is no build step to forget.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../main.ts');
const code = await main(process.argv.slice(2));
// Open sockets or timers must not keep a finished command alive; stdout is flushed first.
process.stdout.write('', () => process.exit(code));
