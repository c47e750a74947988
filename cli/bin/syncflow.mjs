#!/usr/bin/env node
// The `syncflow` command: the TypeScript sources run through tsx's loader, as the project's
// other tools do (npm start, npm run redrive), so there is no build step to forget.
import { register } from 'tsx/esm/api';

// `users add` uses the AWS SDK, whose notice about older Node.js versions is not the user's concern.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

register();
const { main } = await import('../main.ts');
const code = await main(process.argv.slice(2));
// Open sockets or timers must not keep a finished command alive; stdout is flushed first.
process.stdout.write('', () => process.exit(code));
