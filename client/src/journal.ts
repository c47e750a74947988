/**
 * What a multipart upload needs to carry on after a page reload or a crash: its session and the
 * CRC64NVME of each part already sent (so the whole file's checksum needs no second read of
 * them). Keyed by a fingerprint of the file, so choosing the same file again finds it.
 */
export interface JournalEntry {
  readonly fileId: string;
  readonly uploadId: string;
  readonly partSize: number;
  readonly partCount: number;
  readonly filename: string;
  readonly size: number;
  /** Part number → the part's CRC64NVME in base64. */
  readonly crcs: Record<string, string>;
  readonly startedAt: string;
}

export interface ResumeJournal {
  get(key: string): JournalEntry | undefined;
  set(key: string, entry: JournalEntry): void;
  delete(key: string): void;
  /** Every unfinished upload, to offer resuming them. */
  entries(): [string, JournalEntry][];
}

export const memoryJournal = (): ResumeJournal => {
  const map = new Map<string, JournalEntry>();
  return {
    get: (key) => map.get(key),
    set: (key, entry) => {
      map.set(key, entry);
    },
    delete: (key) => {
      map.delete(key);
    },
    entries: () => [...map.entries()],
  };
};

const PREFIX = 'syncflow.upload:';

/** A journal in the browser's `localStorage`: it survives reloads and closed tabs. */
export const localStorageJournal = (storage: Storage = localStorage): ResumeJournal => ({
  get(key) {
    const raw = storage.getItem(PREFIX + key);
    if (raw === null) return undefined;
    try {
      return JSON.parse(raw) as JournalEntry;
    } catch {
      storage.removeItem(PREFIX + key);
      return undefined;
    }
  },
  set(key, entry) {
    storage.setItem(PREFIX + key, JSON.stringify(entry));
  },
  delete(key) {
    storage.removeItem(PREFIX + key);
  },
  entries() {
    const found: [string, JournalEntry][] = [];
    for (let i = 0; i < storage.length; i++) {
      const name = storage.key(i);
      if (!name?.startsWith(PREFIX)) continue;
      const entry = this.get(name.slice(PREFIX.length));
      if (entry) found.push([name.slice(PREFIX.length), entry]);
    }
    return found;
  },
});

/** A file as the uploader needs it: a Blob, with a name and a date when it is a File. */
export interface UploadFile extends Blob {
  readonly name?: string;
  readonly lastModified?: number;
}

/**
 * The same file chosen again gives the same key: its name, size, date and type, and the API it
 * goes to (another stack's session would be unknown there).
 */
export const fingerprint = (file: UploadFile, apiUrl: string, filename?: string): string =>
  [apiUrl, filename ?? file.name ?? '', file.size, file.lastModified ?? 0, file.type].join('|');
