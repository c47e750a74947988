import cliProgress from 'cli-progress';
import { formatBytes, formatDuration, type Output } from './output.ts';

/** What an upload run tells its progress display. */
export interface ProgressView {
  started(key: string, name: string, size: number): void;
  progress(key: string, loaded: number): void;
  /** The file is done (sent, skipped or failed); `size` counts towards the total. */
  finished(key: string, size: number): void;
  stop(): void;
}

/** Bytes a second over the last few seconds: a speed that follows changes, not the run's mean. */
class Speedometer {
  private readonly samples: { t: number; bytes: number }[] = [];
  constructor(private readonly windowMs = 5000) {}
  add(bytes: number, now = Date.now()): void {
    this.samples.push({ t: now, bytes });
    while (this.samples.length > 2 && now - (this.samples[0]?.t ?? now) > this.windowMs)
      this.samples.shift();
  }
  get bytesPerSecond(): number {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.t === first.t) return 0;
    return ((last.bytes - first.bytes) * 1000) / (last.t - first.t);
  }
}

const NAME_WIDTH = 28;
const fitName = (name: string): string =>
  name.length > NAME_WIDTH ? `…${name.slice(-(NAME_WIDTH - 1))}` : name.padEnd(NAME_WIDTH);

/** No display (not a terminal, --json, --quiet): the per-file lines say everything. */
export const silentProgress = (): ProgressView => ({
  started() {},
  progress() {},
  finished() {},
  stop() {},
});

/**
 * Bars on the terminal (stderr): one per file being sent, with its bytes, speed and time left,
 * and a total over all files; result lines are printed above them (cli-progress's `log`, which
 * clears the bars, prints and draws them again).
 */
export const terminalProgress = (out: Output, totals: { files: number; bytes: number }) => {
  const multibar = new cliProgress.MultiBar({
    stream: out.errorStream,
    hideCursor: true,
    // Ctrl-C is the CLI's to handle (it stops the uploads and then the display).
    gracefulExit: false,
    clearOnComplete: true,
    fps: 8,
    barsize: 24,
    barCompleteChar: '█',
    barIncompleteChar: '░',
    format: (options, params, payload: { label: string; detail: string }) => {
      const bar = cliProgress.Format.BarFormat(params.progress, options);
      const percent = `${Math.floor(params.progress * 100)}`.padStart(3);
      return `${payload.label} ${bar} ${percent}% ${payload.detail}`;
    },
  });
  const totalSpeed = new Speedometer();
  const started = Date.now();
  let doneBytes = 0;
  let doneFiles = 0;
  const active = new Map<
    string,
    { bar: cliProgress.SingleBar; name: string; size: number; loaded: number; speed: Speedometer }
  >();
  const detailOf = (loaded: number, size: number, speed: number, extra = ''): string => {
    const eta = speed > 0 ? formatDuration((size - loaded) / speed) : '--:--';
    return `${formatBytes(loaded)}/${formatBytes(size)} ${formatBytes(Math.round(speed))}/s ETA ${eta}${extra}`;
  };
  const total = multibar.create(Math.max(1, totals.bytes), 0, {
    label: fitName(`total (0/${totals.files} files)`),
    detail: '',
  });
  const redrawTotal = () => {
    let loaded = doneBytes;
    for (const file of active.values()) loaded += file.loaded;
    totalSpeed.add(loaded);
    // Until a few seconds have passed, the mean since the start is steadier than the window.
    const elapsed = (Date.now() - started) / 1000;
    const speed = elapsed < 3 ? loaded / Math.max(elapsed, 0.001) : totalSpeed.bytesPerSecond;
    total.update(loaded, {
      label: fitName(`total (${doneFiles}/${totals.files} files)`),
      detail: detailOf(loaded, totals.bytes, speed),
    });
  };
  out.divert((line) => multibar.log(`${line}\n`));
  return {
    started(key, name, size) {
      const speed = new Speedometer();
      speed.add(0);
      const bar = multibar.create(Math.max(1, size), 0, {
        label: fitName(name),
        detail: detailOf(0, size, 0),
      });
      active.set(key, { bar, name, size, loaded: 0, speed });
    },
    progress(key, loaded) {
      const file = active.get(key);
      if (!file) return;
      file.loaded = Math.min(loaded, file.size);
      file.speed.add(file.loaded);
      file.bar.update(file.loaded, {
        detail: detailOf(file.loaded, file.size, file.speed.bytesPerSecond),
      });
      redrawTotal();
    },
    finished(key, size) {
      const file = active.get(key);
      if (file) {
        multibar.remove(file.bar);
        active.delete(key);
      }
      doneBytes += size;
      doneFiles++;
      redrawTotal();
    },
    stop() {
      // Lines logged since the last frame are written on the next one: draw it before stopping.
      multibar.update();
      out.divert(undefined);
      multibar.stop();
    },
  } satisfies ProgressView;
};
