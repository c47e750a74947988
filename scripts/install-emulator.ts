import { ensureMinistack } from './lib/ministack.ts';

/** Installs (once) the pinned MiniStack into .syncflow/venv; later runs reuse it. */
const bin = await ensureMinistack((line) => console.log(line));
console.log(`MiniStack ready: ${bin}`);
