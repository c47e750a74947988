/** The states of one upload in the console and the moves between them. */
export type UploadState =
  | 'queued'
  | 'uploading'
  | 'paused'
  | 'uploaded'
  | 'processing'
  | 'processed'
  | 'failed'
  | 'rejected'
  | 'cancelled';

const MOVES: Record<UploadState, readonly UploadState[]> = {
  queued: ['uploading', 'paused', 'cancelled'],
  uploading: ['paused', 'uploaded', 'failed', 'rejected', 'cancelled'],
  paused: ['queued', 'cancelled'],
  // After the bytes are in: what the processor says, over the WebSocket (its start may be
  // missed or arrive after its end: the end is taken either way).
  uploaded: ['processing', 'processed', 'failed', 'rejected'],
  processing: ['processed', 'failed', 'rejected'],
  processed: [],
  // A failed upload may be given up too: its multipart session would otherwise wait for days.
  failed: ['queued', 'cancelled'],
  rejected: [],
  cancelled: [],
};

/** Thrown on a move the machine does not allow: a bug to see, not a state to be in. */
export class IllegalMove extends Error {
  constructor(from: UploadState, to: UploadState) {
    super(`An upload cannot go from ${from} to ${to}`);
    this.name = 'IllegalMove';
  }
}

let nextId = 0;

/**
 * One file's upload: a small state machine that refuses illegal moves, with progress, speed
 * (smoothed) and time left. Listeners hear every change; the view shows the state as an attribute.
 */
export class UploadItem {
  readonly id = `upload-${++nextId}`;
  state: UploadState = 'queued';
  loaded = 0;
  fileId: string | undefined;
  reason: string | undefined;
  resumed = false;
  /** Bytes per second, smoothed. */
  speed = 0;
  controller: AbortController | undefined;
  private lastSample: { at: number; loaded: number } | undefined;
  private readonly listeners = new Set<(item: UploadItem) => void>();

  constructor(
    readonly file: File,
    readonly path: string,
  ) {}

  get total(): number {
    return this.file.size;
  }

  /** Seconds left at the current speed. */
  get secondsLeft(): number {
    return this.speed > 0 ? (this.total - this.loaded) / this.speed : Number.POSITIVE_INFINITY;
  }

  can(to: UploadState): boolean {
    return MOVES[this.state].includes(to);
  }

  move(to: UploadState, reason?: string): void {
    if (!this.can(to)) throw new IllegalMove(this.state, to);
    this.state = to;
    if (reason !== undefined) this.reason = reason;
    if (to !== 'uploading') this.lastSample = undefined;
    this.emit();
  }

  progress(loaded: number, now = performance.now()): void {
    if (this.lastSample && now - this.lastSample.at >= 250) {
      const rate = ((loaded - this.lastSample.loaded) * 1000) / (now - this.lastSample.at);
      // An exponential average: steady figures while parts start and finish in bursts.
      this.speed = this.speed === 0 ? rate : 0.7 * this.speed + 0.3 * Math.max(0, rate);
      this.lastSample = { at: now, loaded };
    } else if (!this.lastSample) {
      this.lastSample = { at: now, loaded };
    }
    this.loaded = loaded;
    this.emit();
  }

  onChange(listener: (item: UploadItem) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(): void {
    for (const listener of this.listeners) listener(this);
  }
}
