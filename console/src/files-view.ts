import {
  ApiError,
  type FileDetail,
  type FileQuery,
  type FileStatus,
  type FileSummary,
  type MediaMetadata,
  type SortOrder,
  type SyncFlowApi,
  type TabularMetadata,
} from '../../client/src/index.ts';
import { announce, formatBytes, h } from './dom.ts';
import { WorkflowView } from './workflow-view.ts';

const STATUSES: FileStatus[] = [
  'PENDING_UPLOAD',
  'UPLOADED',
  'PROCESSING',
  'PROCESSED',
  'FAILED',
  'REJECTED',
  'EXPIRED',
];
const TYPES: [string, string][] = [
  ['', 'Any type'],
  ['image/*', 'Images'],
  ['text/*', 'Text'],
  ['application/pdf', 'PDF'],
  ['application/*', 'Other documents'],
];
const SORTS: [SortOrder, string][] = [
  ['-createdAt', 'Newest first'],
  ['createdAt', 'Oldest first'],
  ['filename', 'Name A–Z'],
  ['-filename', 'Name Z–A'],
  ['-size', 'Largest first'],
  ['size', 'Smallest first'],
];
const PAGE_SIZES = ['10', '5', '20', '50'];

const label = (text: string, control: HTMLElement) => h('label', {}, h('span', {}, text), control);

const select = (name: string, options: [string, string][]) =>
  h(
    'select',
    { name },
    options.map(([value, text]) => h('option', { value }, text)),
  );

const statusBadge = (status: string) =>
  h('span', { class: 'badge', 'data-status': status }, status.replace('_', ' ').toLowerCase());

/**
 * The file list: filters, sort, pages by cursor (a stack of cursors for going back), thumbnails,
 * and a detail dialog with metadata, derivatives, downloads, delete and reprocess.
 */
export class FilesView {
  readonly element: HTMLElement;
  private readonly body = h('tbody');
  private readonly pageInfo = h('span', { class: 'page-info', 'aria-live': 'polite' });
  private readonly prev = h('button', { type: 'button' }, 'Previous page');
  private readonly next = h('button', { type: 'button' }, 'Next page');
  private readonly form: HTMLFormElement;
  private readonly dialog = h('dialog', { class: 'detail', 'aria-labelledby': 'detail-title' });
  /** Cursors of the pages before this one; the first page has none. */
  private cursors: (string | undefined)[] = [];
  private cursor: string | undefined;
  private nextCursor: string | null = null;
  private rows = new Map<string, HTMLTableRowElement>();
  private loading: AbortController | undefined;
  /** The open detail's workflow, which asks Step Functions again while it runs. */
  private workflow: WorkflowView | undefined;

  constructor(private readonly api: SyncFlowApi) {
    const statusSelect = select('status', [
      ['', 'Any status'],
      ...STATUSES.map((s): [string, string] => [s, s.replace('_', ' ').toLowerCase()]),
    ]);
    this.form = h(
      'form',
      { class: 'filters', role: 'search', 'aria-label': 'Filter files' },
      label('Name starts with', h('input', { name: 'q', type: 'search', autocomplete: 'off' })),
      label('Status', statusSelect),
      label('Type', select('contentType', TYPES)),
      label('Sort', select('sort', SORTS)),
      label(
        'Per page',
        select(
          'limit',
          PAGE_SIZES.map((n): [string, string] => [n, n]),
        ),
      ),
      h('button', { type: 'submit' }, 'Apply'),
    );
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.reload();
    });
    this.form.addEventListener('change', () => this.reload());
    this.prev.addEventListener('click', () => {
      this.cursor = this.cursors.pop();
      void this.load();
    });
    this.next.addEventListener('click', () => {
      if (!this.nextCursor) return;
      this.cursors.push(this.cursor);
      this.cursor = this.nextCursor;
      void this.load();
    });
    this.element = h(
      'section',
      { class: 'panel', 'aria-labelledby': 'files-title' },
      h('h2', { id: 'files-title' }, 'Files'),
      this.form,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'files' },
          h('caption', { class: 'sr-only' }, 'Your files'),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['', 'Name', 'Status', 'Size', 'Type', 'Added'].map((t) =>
                h('th', { scope: 'col' }, t),
              ),
            ),
          ),
          this.body,
        ),
      ),
      h('nav', { class: 'pager', 'aria-label': 'Pages' }, this.prev, this.pageInfo, this.next),
      this.dialog,
    );
    this.dialog.addEventListener('close', () => this.workflow?.stop());
  }

  private query(): FileQuery {
    const data = new FormData(this.form);
    const value = (name: string) => {
      const v = String(data.get(name) ?? '').trim();
      return v === '' ? undefined : v;
    };
    return {
      ...(value('q') && { q: value('q') }),
      ...(value('status') && { status: value('status') as FileStatus }),
      ...(value('contentType') && { contentType: value('contentType') }),
      sort: (value('sort') ?? '-createdAt') as SortOrder,
      limit: Number(value('limit') ?? 10),
      ...(this.cursor && { cursor: this.cursor }),
    };
  }

  /** Back to the first page with the current filters (after a filter change, a reconnect). */
  reload(): void {
    this.cursors = [];
    this.cursor = undefined;
    void this.load();
  }

  async load(): Promise<void> {
    this.loading?.abort();
    const controller = new AbortController();
    this.loading = controller;
    this.element.setAttribute('aria-busy', 'true');
    try {
      const page = await this.api.listFiles(this.query(), controller.signal);
      if (controller.signal.aborted) return;
      this.nextCursor = page.nextCursor;
      this.rows.clear();
      this.body.replaceChildren(...page.items.map((file) => this.row(file)));
      if (page.items.length === 0) {
        this.body.append(h('tr', {}, h('td', { colspan: 6, class: 'empty' }, 'No files match.')));
      }
      const number = this.cursors.length + 1;
      this.pageInfo.textContent = `Page ${number}`;
      this.prev.disabled = this.cursors.length === 0 && this.cursor === undefined;
      this.next.disabled = !page.nextCursor;
    } catch (error) {
      if (controller.signal.aborted) return;
      this.body.replaceChildren(
        h(
          'tr',
          {},
          h(
            'td',
            { colspan: 6, class: 'error' },
            `Could not load files: ${(error as Error).message}`,
          ),
        ),
      );
    } finally {
      if (this.loading === controller) this.element.removeAttribute('aria-busy');
    }
  }

  private row(file: FileSummary): HTMLTableRowElement {
    const thumb = file.thumbnailUrl
      ? h('img', {
          src: file.thumbnailUrl,
          alt: '',
          width: 48,
          height: 48,
          loading: 'lazy',
          class: 'thumb',
        })
      : h(
          'span',
          { class: 'thumb placeholder', 'aria-hidden': 'true' },
          (file.contentType.split('/')[1] ?? '?').slice(0, 4),
        );
    const open = h(
      'button',
      { type: 'button', class: 'link', onclick: () => void this.open(file.fileId) },
      file.filename,
    );
    const tr = h(
      'tr',
      { 'data-file-id': file.fileId, 'data-testid': 'file-row' },
      h('td', {}, thumb),
      h(
        'td',
        { class: 'name' },
        open,
        file.reason ? h('span', { class: 'reason' }, file.reason) : null,
      ),
      h('td', { class: 'status-cell' }, statusBadge(file.status)),
      h('td', {}, formatBytes(file.size)),
      h('td', {}, file.contentType),
      h(
        'td',
        {},
        h('time', { datetime: file.createdAt }, new Date(file.createdAt).toLocaleString()),
      ),
    );
    this.rows.set(file.fileId, tr);
    return tr;
  }

  /** The status a file's row shows, if the list has it. */
  private statusShown(fileId: string): string | undefined {
    return (
      this.rows.get(fileId)?.querySelector('.status-cell .badge')?.getAttribute('data-status') ??
      undefined
    );
  }

  /** A live status change: the row shows it at once; a new end state may bring a thumbnail. */
  applyStatus(fileId: string, status: FileStatus, reason?: string): void {
    const tr = this.rows.get(fileId);
    if (!tr) return;
    // A new run (a reprocess) counts its progress from nothing again.
    delete tr.dataset.progress;
    tr.querySelector('.status-cell')?.replaceChildren(statusBadge(status));
    if (reason) tr.querySelector('.name')?.append(h('span', { class: 'reason' }, reason));
  }

  /**
   * A long run's progress (a video's transcode): the status cell says how far it is. Messages
   * may arrive out of order (the notifier's queue keeps none): the cell only moves forward.
   */
  applyProgress(fileId: string, percent: number): void {
    const tr = this.rows.get(fileId);
    if (!tr) return;
    if (percent <= Number(tr.dataset.progress ?? -1)) return;
    tr.dataset.progress = String(percent);
    tr.querySelector('.status-cell')?.replaceChildren(
      statusBadge('PROCESSING'),
      h('span', { class: 'progress' }, ` ${percent}%`),
    );
  }

  async open(fileId: string): Promise<void> {
    let file: FileDetail;
    try {
      file = await this.api.getFile(fileId);
    } catch (error) {
      announce(`Could not open the file: ${(error as Error).message}`);
      return;
    }
    const image = file.metadata.image;
    const tabular = file.metadata.tabular;
    const logs = file.metadata.logs;
    const media = file.metadata.media;
    const thumbnail = file.derivatives.find((d) => d.name.startsWith('thumbnail'));
    const rendition = file.derivatives.find((d) => d.name === 'web.mp4');
    const preview = file.derivatives.find((d) => d.name.startsWith('preview'));
    const facts: [string, string][] = [
      ['Status', file.status],
      ['Kind', file.dataset ? `${file.kind} (dataset ${file.dataset})` : file.kind],
      ['Size', `${formatBytes(file.size)} (${file.size} bytes)`],
      [
        'Type',
        file.contentType +
          (file.declaredContentType !== file.contentType
            ? ` (declared ${file.declaredContentType})`
            : ''),
      ],
      ['SHA-256', file.sha256 ?? '—'],
      ['Added', new Date(file.createdAt).toLocaleString()],
      ['Processed', file.processedAt ? new Date(file.processedAt).toLocaleString() : '—'],
      ...(file.status === 'PROCESSING' && file.progress !== null
        ? ([['Progress', `${file.progress}%`]] as [string, string][])
        : []),
      ...(media ? mediaFacts(media) : []),
      ...(image
        ? ([['Image', `${image.width} × ${image.height} ${image.format}`]] as [string, string][])
        : []),
      ...Object.entries(image?.exif ?? {})
        .slice(0, 12)
        .map(([k, v]): [string, string] => [k, String(v)]),
      ...(tabular
        ? ([
            ['Rows', `${tabular.rowCount} (${tabular.malformed.count} malformed)`],
            ['Athena table', `${tabular.table.database}.${tabular.table.table}`],
          ] as [string, string][])
        : []),
      ...(logs
        ? ([
            ['Log format', logs.format],
            ['Lines', `${logs.lines} (${logs.parsed} parsed, ${logs.unparsed} not)`],
            ['Error rate', `${(logs.errorRate * 100).toFixed(1)} %`],
            [
              'Time range',
              logs.timeRange
                ? `${new Date(logs.timeRange.from).toLocaleString()} – ${new Date(logs.timeRange.to).toLocaleString()}`
                : '—',
            ],
            ['Athena table', `${logs.table.database}.${logs.table.table}`],
          ] as [string, string][])
        : []),
    ];
    this.workflow?.stop();
    // A video's Step Functions execution, its steps live while it runs.
    this.workflow =
      file.kind === 'video' && file.status !== 'EXPIRED'
        ? new WorkflowView(
            this.api,
            file.fileId,
            ['PENDING_UPLOAD', 'UPLOADED', 'PROCESSING'].includes(file.status),
          )
        : undefined;
    const close = h('button', { type: 'button', onclick: () => this.dialog.close() }, 'Close');
    const remove = h('button', { type: 'button', class: 'danger' }, 'Delete');
    const reprocess = h('button', { type: 'button' }, 'Reprocess');
    remove.addEventListener('click', async () => {
      if (!confirm(`Delete ${file.filename}? This cannot be undone.`)) return;
      try {
        await this.api.deleteFile(file.fileId);
        announce(`${file.filename} deleted`);
        this.dialog.close();
        void this.load();
      } catch (error) {
        announce(`Delete failed: ${(error as Error).message}`);
      }
    });
    reprocess.addEventListener('click', async () => {
      const shown = this.statusShown(file.fileId);
      try {
        await this.api.reprocessFile(file.fileId);
        announce(`${file.filename} queued for processing again`);
        // Under load the run's own pushes can beat this answer: only a row nobody moved since
        // the click is set back to UPLOADED.
        if (this.statusShown(file.fileId) === shown) this.applyStatus(file.fileId, 'UPLOADED');
        this.dialog.close();
      } catch (error) {
        announce(
          error instanceof ApiError && error.status === 409
            ? error.message
            : `Reprocess failed: ${(error as Error).message}`,
        );
      }
    });
    // A video plays its web rendition (the poster frame first); an audio file plays as it is.
    const player = rendition
      ? h('video', {
          src: rendition.url,
          controls: true,
          preload: 'metadata',
          ...(preview && { poster: preview.url }),
          class: 'detail-media',
          'data-testid': 'detail-video',
        })
      : media && !media.video && file.status === 'PROCESSED' && file.download
        ? h('audio', {
            src: file.download.url,
            controls: true,
            preload: 'metadata',
            class: 'detail-media',
            'data-testid': 'detail-audio',
          })
        : null;
    const parts: (HTMLElement | null)[] = [
      h('h2', { id: 'detail-title' }, file.filename),
      file.status === 'PROCESSING' && file.progress !== null
        ? h('progress', {
            max: '100',
            value: String(file.progress),
            'aria-label': 'Processing progress',
            'data-testid': 'detail-progress',
          })
        : null,
      player ??
        (thumbnail
          ? h('img', {
              src: thumbnail.url,
              alt: `Thumbnail of ${file.filename}`,
              class: 'detail-thumb',
              'data-testid': 'detail-thumbnail',
            })
          : null),
      file.reason ? h('p', { class: 'reason' }, file.reason) : null,
      h(
        'dl',
        {},
        facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
      ),
      this.workflow?.element ?? null,
      tabular ? schemaTable(tabular) : null,
      tabular ? previewTable(tabular) : null,
      h(
        'ul',
        { class: 'downloads', 'aria-label': 'Downloads' },
        file.download
          ? h(
              'li',
              {},
              h('a', { href: file.download.url, download: file.filename }, 'Download original'),
            )
          : null,
        file.derivatives.map((d) =>
          h(
            'li',
            {},
            h(
              'a',
              { href: d.url, target: '_blank', rel: 'noopener' },
              d.width !== undefined && d.height !== undefined
                ? `${d.name} (${d.width} × ${d.height}, ${formatBytes(d.size)})`
                : `${d.name} (${formatBytes(d.size)})`,
            ),
          ),
        ),
      ),
      h('div', { class: 'dialog-actions' }, reprocess, remove, close),
    ];
    this.dialog.replaceChildren(...parts.filter((p): p is HTMLElement => p !== null));
    this.dialog.showModal();
    close.focus();
  }
}

/** `1 h 2 min 3.4 s`, `12.0 s`. */
const formatMediaDuration = (seconds: number): string => {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return [h ? `${h} h` : '', h || m ? `${m} min` : '', `${s.toFixed(1)} s`]
    .filter(Boolean)
    .join(' ');
};

/** What the probe said of a video or audio file, as rows of the detail's list. */
const mediaFacts = (media: MediaMetadata): [string, string][] => {
  const facts: [string, string][] = [
    ['Duration', formatMediaDuration(media.durationSeconds)],
    ['Container', media.container],
  ];
  const { video, audio } = media;
  if (video) {
    facts.push([
      'Video',
      [
        `${video.codec}${video.profile ? ` ${video.profile}` : ''}`,
        `${video.displayWidth} × ${video.displayHeight}`,
        video.rotation ? `turned ${video.rotation}°` : '',
        video.frameRate
          ? `${video.frameRate} fps${video.variableFrameRate ? ' (variable)' : ''}`
          : '',
      ]
        .filter(Boolean)
        .join(', '),
    ]);
  }
  if (audio) {
    facts.push([
      'Audio',
      [
        audio.codec,
        audio.channels ? `${audio.channels} ch` : '',
        audio.sampleRate ? `${audio.sampleRate} Hz` : '',
      ]
        .filter(Boolean)
        .join(', '),
    ]);
  }
  if (media.creationTime) facts.push(['Recorded', new Date(media.creationTime).toLocaleString()]);
  for (const note of media.notes ?? []) facts.push(['Note', note]);
  return facts;
};

/** A tabular file's columns: name, type, nulls, range. */
const schemaTable = (tabular: TabularMetadata): HTMLElement =>
  h(
    'table',
    { class: 'schema', 'aria-label': 'Columns', 'data-testid': 'detail-schema' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['Column', 'Type', 'Nulls', 'Min', 'Max'].map((t) => h('th', {}, t)),
      ),
    ),
    h(
      'tbody',
      {},
      tabular.columns.map((c) =>
        h(
          'tr',
          {},
          h('td', {}, c.name),
          h('td', {}, c.type),
          h('td', {}, String(c.nullCount)),
          h('td', {}, c.min ?? '—'),
          h('td', {}, c.max ?? '—'),
        ),
      ),
    ),
  );

/** A tabular file's first rows, as the record keeps them. */
const previewTable = (tabular: TabularMetadata): HTMLElement =>
  h(
    'table',
    { class: 'preview', 'aria-label': 'First rows', 'data-testid': 'detail-preview' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        tabular.preview.columns.map((c) => h('th', {}, c)),
      ),
    ),
    h(
      'tbody',
      {},
      tabular.preview.rows.map((row) =>
        h(
          'tr',
          {},
          row.map((v) => h('td', {}, v === null ? '—' : String(v))),
        ),
      ),
    ),
  );
