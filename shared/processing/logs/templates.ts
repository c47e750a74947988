/**
 * Message templates (a log message with its variable parts replaced by placeholders) and a
 * bounded counter for the most frequent values of a column that may have millions of them.
 */

// One pass with alternatives, longest shapes first: an id must not be eaten as numbers. IPv6
// needs all eight groups or a `::`, so a time such as 10:00:01 stays numbers.
const VARIABLE =
  /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})|(\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b)|(\b(?:(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}|(?:[0-9a-f]{1,4}:){1,6}:(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,5})?)(?![0-9a-f:]))|(\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{16,}\b)|(0x[0-9a-f]+|\d+(?:\.\d+)?)/gi;

const placeholder = (
  _m: string,
  uuid?: string,
  ipv4?: string,
  ipv6?: string,
  hash?: string,
): string => (uuid ? '<id>' : ipv4 || ipv6 ? '<ip>' : hash ? '<hash>' : '<n>');

const MAX_TEMPLATE_CHARS = 200;

/**
 * The message with UUIDs as `<id>`, IPv4/IPv6 addresses as `<ip>`, long hex strings as `<hash>`
 * and numbers as `<n>`, cut to 200 characters: `user 42 logged in from 10.0.0.1` and
 * `user 7 logged in from 10.0.0.9` are one template, `user <n> logged in from <ip>`.
 */
export const messageTemplate = (message: string): string => {
  const cut =
    message.length > 4 * MAX_TEMPLATE_CHARS ? message.slice(0, 4 * MAX_TEMPLATE_CHARS) : message;
  const template = cut.replace(VARIABLE, placeholder);
  return template.length > MAX_TEMPLATE_CHARS ? template.slice(0, MAX_TEMPLATE_CHARS) : template;
};

/**
 * A copy of a string that holds only its own characters. A substring in V8 can keep the whole
 * chunk it was cut from alive; a key kept in a long-lived map must not (64 KiB per key).
 */
export const detach = (value: string): string => ` ${value}`.slice(1);

export interface Counted {
  readonly value: string;
  readonly count: number;
}

/**
 * Counts values in bounded memory. Until `capacity` distinct values the counts are exact; past it,
 * the table is pruned back to its `capacity` largest entries whenever it doubles, so the frequent
 * values stay and a value's count can be short by at most `maxError` (reported).
 */
export class TopCounter {
  private counts = new Map<string, number>();
  private pruned = 0;

  constructor(private readonly capacity = 5000) {}

  add(value: string, n = 1): void {
    const counts = this.counts;
    const current = counts.get(value);
    if (current !== undefined) {
      counts.set(value, current + n);
      return;
    }
    counts.set(detach(value), n);
    if (counts.size >= 2 * this.capacity) this.prune();
  }

  /** Largest count a pruned value could have had: the error bound of every count reported. */
  get maxError(): number {
    return this.pruned;
  }

  /** Every value kept with its count, to merge into another counter. */
  entries(): [string, number][] {
    return [...this.counts];
  }

  top(n: number): Counted[] {
    return [...this.counts]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, n)
      .map(([value, count]) => ({ value, count }));
  }

  private prune(): void {
    const sorted = [...this.counts].sort((a, b) => b[1] - a[1]);
    const dropped = sorted[this.capacity]?.[1] ?? 0;
    this.pruned = Math.max(this.pruned, dropped);
    this.counts = new Map(sorted.slice(0, this.capacity));
  }
}
