import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';

/**
 * The project's documents never send a reader outside the repository: a clone has no
 * `../shared/`, and a page elsewhere changes or goes without the repository knowing. Every link
 * the README and docs/ render must be a file of the repository (with its heading, when it names
 * one). Addresses inside code spans and code blocks are examples, not links (`wss://…/dev?token=`,
 * `-c corsOrigins=https://app.example.com`), and stay allowed; so do http(s) links to localhost,
 * 127.0.0.1 or [::1], which point at the reader's own machine (a stack `npm start` runs), not at
 * a third party.
 */

/** The repository's root. */
export const ROOT = resolve(import.meta.dirname, '..', '..');

/** The text a reader sees rendered: fenced blocks, code spans and HTML comments removed. */
const prose = (markdown: string): string =>
  markdown
    .replace(/^([ \t]*)(```|~~~)[^\n]*\n[\s\S]*?^\1\2[^\n]*$/gm, '')
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/(`+)[\s\S]*?\1/g, '');

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
const slug = (heading: string): string =>
  heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

const anchorsOf = (markdown: string): Set<string> => {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  const withoutBlocks = markdown.replace(/^([ \t]*)(```|~~~)[^\n]*\n[\s\S]*?^\1\2[^\n]*$/gm, '');
  for (const match of withoutBlocks.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(match[1] ?? '');
    const count = seen.get(base) ?? 0;
    anchors.add(count === 0 ? base : `${base}-${count}`);
    seen.set(base, count + 1);
  }
  return anchors;
};

/** Every link target a Markdown file renders: inline links and images, references, autolinks, bare URLs, HTML. */
export const linkTargets = (markdown: string): string[] => {
  const text = prose(markdown);
  const targets: string[] = [];
  for (const m of text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+["'(][^)]*)?\)/g))
    targets.push(m[1] ?? '');
  for (const m of text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm))
    targets.push(m[1] ?? '');
  for (const m of text.matchAll(/<([a-z][a-z0-9+.-]*:[^>\s]+)>/gi)) targets.push(m[1] ?? '');
  for (const m of text.matchAll(/\b(?:href|src)\s*=\s*["']([^"']+)["']/gi))
    targets.push(m[1] ?? '');
  // Bare addresses GitHub turns into links, where they are not already a link's target above.
  const linked = new Set(targets);
  for (const m of text.matchAll(/\b(?:https?:\/\/|www\.)[^\s<>()[\]]+/gi)) {
    const url = (m[0] ?? '').replace(/[.,;:!?'"]+$/, '');
    if (![...linked].some((t) => t.startsWith(url) || url.startsWith(t))) targets.push(url);
  }
  return targets;
};

const LOOPBACK = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?(\/|$)/i;

/** Why a link of `file` (a path under the repository) leaves it or leads nowhere; undefined when it is fine. */
export const problemWith = (file: string, target: string): string | undefined => {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//') || /^www\./i.test(target)) {
    return LOOPBACK.test(target) ? undefined : `links outside the repository: ${target}`;
  }
  const [pathPart = '', anchor] = target.split('#', 2);
  const path = decodeURIComponent(pathPart);
  const resolved = path === '' ? resolve(ROOT, file) : resolve(ROOT, dirname(file), path);
  const inside = relative(ROOT, resolved);
  if (inside.startsWith(`..${sep}`) || inside === '..' || resolve(inside) === inside) {
    return `leaves the repository: ${target}`;
  }
  if (!existsSync(resolved)) return `no such file in the repository: ${target}`;
  if (anchor && resolved.endsWith('.md') && statSync(resolved).isFile()) {
    if (!anchorsOf(readFileSync(resolved, 'utf8')).has(anchor.toLowerCase())) {
      return `no heading #${anchor} in ${relative(ROOT, resolved)}`;
    }
  }
  return undefined;
};
