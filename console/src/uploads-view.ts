import type { JournalEntry } from '../../client/src/index.ts';
import { announce, formatBytes, formatDuration, h } from './dom.ts';
import type { UploadItem, UploadState } from './upload-item.ts';
import type { UploadQueue } from './upload-queue.ts';

const LABELS: Record<UploadState, string> = {
  queued: 'Waiting',
  uploading: 'Uploading',
  paused: 'Paused',
  uploaded: 'Uploaded',
  processing: 'Processing',
  processed: 'Processed',
  failed: 'Failed',
  rejected: 'Rejected',
  cancelled: 'Cancelled',
};

/** What a person hears when an upload changes state. */
const spoken = (item: UploadItem): string | undefined => {
  const name = item.file.name;
  switch (item.state) {
    case 'uploaded':
      return `${name} uploaded`;
    case 'processing':
      return `${name} processing`;
    case 'processed':
      return `${name} processed`;
    case 'failed':
      return `${name} failed: ${item.reason ?? ''}`;
    case 'rejected':
      return `${name} rejected: ${item.reason ?? ''}`;
    case 'paused':
      return `${name} paused`;
    case 'cancelled':
      return `${name} cancelled`;
    default:
      return undefined;
  }
};

/** One row of the upload list, redrawn at most once a frame. */
const row = (item: UploadItem, queue: UploadQueue): HTMLLIElement => {
  const bar = h('progress', {
    max: item.total,
    value: 0,
    'aria-label': `${item.file.name} progress`,
  });
  const status = h('span', { class: 'status' });
  const detail = h('span', { class: 'detail' });
  const pause = h('button', { type: 'button', onclick: () => queue.pause(item) }, 'Pause');
  const resume = h('button', { type: 'button', onclick: () => queue.resume(item) }, 'Resume');
  const cancel = h('button', { type: 'button', onclick: () => void queue.cancel(item) }, 'Cancel');
  for (const [button, verb] of [
    [pause, 'Pause'],
    [resume, 'Resume'],
    [cancel, 'Cancel'],
  ] as const) {
    button.setAttribute('aria-label', `${verb} ${item.file.name}`);
  }
  const li = h(
    'li',
    { class: 'upload', id: item.id, 'data-testid': 'upload', 'data-name': item.file.name },
    h('span', { class: 'name', title: item.path }, item.path),
    h('span', { class: 'size' }, formatBytes(item.total)),
    bar,
    status,
    detail,
    h('span', { class: 'actions' }, pause, resume, cancel),
  );
  let scheduled = false;
  let lastState: UploadState | undefined;
  const draw = () => {
    scheduled = false;
    li.dataset.state = item.state;
    li.dataset.resumed = String(item.resumed);
    bar.value = item.loaded;
    const percent = item.total > 0 ? Math.floor((item.loaded / item.total) * 100) : 100;
    status.textContent = `${LABELS[item.state]}${item.state === 'uploading' ? ` ${percent}%` : ''}`;
    detail.textContent =
      item.state === 'uploading' && item.speed > 0
        ? `${formatBytes(item.speed)}/s, ${formatDuration(item.secondsLeft)} left`
        : (item.reason ?? (item.resumed && item.state === 'uploading' ? 'resumed' : ''));
    pause.hidden = !item.can('paused') || item.state === 'queued';
    resume.hidden = !(item.state === 'paused' || item.state === 'failed');
    cancel.hidden = !item.can('cancelled');
    if (item.state !== lastState) {
      lastState = item.state;
      const words = spoken(item);
      if (words) announce(words);
    }
  };
  item.onChange(() => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(draw);
  });
  draw();
  return li;
};

/**
 * The upload panel: the list of uploads with their progress, and the total with its speed and
 * time left. Unfinished uploads from before a reload are offered for resuming.
 */
export const uploadsView = (
  queue: UploadQueue,
  unfinished: () => JournalEntry[],
  discard: (entry: JournalEntry) => void,
) => {
  const list = h('ul', { class: 'uploads', 'aria-label': 'Uploads' });
  const total = h('p', { class: 'total', 'data-testid': 'total' });
  const pending = h('div', { class: 'unfinished' });
  const drawPending = () => {
    const entries = unfinished();
    pending.replaceChildren();
    if (entries.length === 0) return;
    pending.append(
      h('h3', {}, 'Unfinished uploads'),
      h(
        'ul',
        {},
        entries.map((entry) =>
          h(
            'li',
            { 'data-testid': 'unfinished' },
            `${entry.filename} (${formatBytes(entry.size)}, ${Object.keys(entry.crcs).length} of ${entry.partCount} parts sent) — choose the same file again to resume. `,
            h(
              'button',
              {
                type: 'button',
                onclick: () => {
                  discard(entry);
                  drawPending();
                },
                'aria-label': `Discard ${entry.filename}`,
              },
              'Discard',
            ),
          ),
        ),
      ),
    );
  };
  let scheduled = false;
  const drawTotal = () => {
    scheduled = false;
    const active = queue.items.filter(
      (i) => i.state === 'uploading' || i.state === 'queued' || i.state === 'paused',
    );
    if (active.length === 0) {
      total.textContent =
        queue.items.length > 0 ? 'No uploads running.' : 'Nothing uploaded in this session yet.';
      drawPending();
      return;
    }
    const bytes = active.reduce((sum, i) => sum + i.total, 0);
    const loaded = active.reduce((sum, i) => sum + i.loaded, 0);
    const speed = active.reduce((sum, i) => sum + (i.state === 'uploading' ? i.speed : 0), 0);
    total.textContent = `${active.length} uploading: ${formatBytes(loaded)} of ${formatBytes(bytes)}${
      speed > 0 ? `, ${formatBytes(speed)}/s, ${formatDuration((bytes - loaded) / speed)} left` : ''
    }`;
  };
  queue.onAdded((item) => {
    list.prepend(row(item, queue));
    item.onChange(() => {
      if (scheduled) return;
      scheduled = true;
      requestAnimationFrame(drawTotal);
    });
    drawTotal();
  });
  drawPending();
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': 'uploads-title' },
    h('h2', { id: 'uploads-title' }, 'Uploads'),
    total,
    pending,
    list,
  );
};
