import {
  type FileEventMessage,
  localStorageJournal,
  type Session,
  type SessionStore,
  type StackConfig,
  SyncFlowClient,
} from '../../client/src/index.ts';
import { announce, h } from './dom.ts';
import { DropZone, type FilesChosenEvent } from './drop-zone.ts';
import { FilesView } from './files-view.ts';
import type { UploadState } from './upload-item.ts';
import { UploadQueue } from './upload-queue.ts';
import { uploadsView } from './uploads-view.ts';

/** What the console is told about its stack: config.json beside the page, made at deploy. */
interface ConsoleConfig extends StackConfig {
  readonly stage: string;
  /** The local stack's demo user, offered on its sign-in form; absent in AWS. */
  readonly demoUser?: { readonly email: string; readonly password: string };
}

/** Tokens for this tab only, so a reload keeps the user signed in; never the password. */
const tabSessions = (): SessionStore => ({
  load: () => {
    const raw = sessionStorage.getItem('syncflow.session');
    return raw ? (JSON.parse(raw) as Session) : undefined;
  },
  save: (session) => {
    if (session) sessionStorage.setItem('syncflow.session', JSON.stringify(session));
    else sessionStorage.removeItem('syncflow.session');
  },
});

const main = document.getElementById('main') as HTMLElement;

const signInView = (client: SyncFlowClient, config: ConsoleConfig, done: () => void) => {
  const error = h('p', { class: 'error', role: 'alert' });
  const email = h('input', {
    name: 'email',
    type: 'email',
    autocomplete: 'username',
    required: true,
    value: config.demoUser?.email,
  });
  const password = h('input', {
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
    value: config.demoUser?.password,
  });
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    { class: 'panel sign-in', 'aria-labelledby': 'sign-in-title' },
    h('h2', { id: 'sign-in-title' }, 'Sign in'),
    config.demoUser ? h('p', {}, `The local stack's demo user is filled in.`) : null,
    h('label', {}, h('span', {}, 'Email'), email),
    h('label', {}, h('span', {}, 'Password'), password),
    submit,
    error,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    error.textContent = '';
    try {
      await client.auth.signIn(email.value.trim(), password.value);
      password.value = '';
      done();
    } catch (e) {
      error.textContent = (e as Error).message;
    } finally {
      submit.disabled = false;
    }
  });
  return form;
};

const STATE_OF: Record<Exclude<FileEventMessage['type'], 'file.progress'>, UploadState> = {
  'file.processing': 'processing',
  'file.processed': 'processed',
  'file.failed': 'failed',
  'file.rejected': 'rejected',
};

const appView = (client: SyncFlowClient) => {
  const queue = new UploadQueue(client.uploader);
  const files = new FilesView(client.api);
  const dropZone = new DropZone();
  const concurrency = h(
    'select',
    { name: 'concurrency' },
    [1, 2, 3, 4, 6].map((n) =>
      h('option', { value: n, selected: n === queue.concurrency }, String(n)),
    ),
  );
  concurrency.addEventListener('change', () => {
    queue.concurrency = Number(concurrency.value);
  });
  dropZone.addEventListener('files-chosen', (event) => {
    const chosen = (event as FilesChosenEvent).files;
    for (const { file, path } of chosen) queue.add(file, path);
    announce(`${chosen.length} file${chosen.length === 1 ? '' : 's'} added`);
  });
  // End states arrive over the WebSocket; one that beats the upload's own answer waits for it.
  const early = new Map<string, FileEventMessage>();
  // When each file last ended, by its event's time: pushes are not ordered, and a run's start
  // that arrives after its end must not show the file running again.
  const endedAt = new Map<string, number>();
  const isStale = (event: FileEventMessage): boolean => {
    const at = Date.parse(event.at ?? '') || Date.now();
    if (event.type !== 'file.processing') {
      endedAt.set(event.fileId, Math.max(endedAt.get(event.fileId) ?? 0, at));
      return false;
    }
    return at <= (endedAt.get(event.fileId) ?? Number.NEGATIVE_INFINITY);
  };
  const applyEvent = (event: FileEventMessage) => {
    if (event.type === 'file.progress') {
      files.applyProgress(event.fileId, event.progress ?? 0);
      return;
    }
    if (isStale(event)) return;
    files.applyStatus(event.fileId, event.status, event.reason);
    const item = queue.byFileId(event.fileId);
    if (!item) return;
    const to = STATE_OF[event.type];
    if (item.can(to)) item.move(to, event.reason);
    // Held until the upload's own answer; an end already held is not replaced by a start.
    else if (
      item.state === 'uploading' &&
      (event.type !== 'file.processing' || !early.has(event.fileId))
    )
      early.set(event.fileId, event);
  };
  queue.onAdded((item) =>
    item.onChange(() => {
      const waiting = item.fileId && early.get(item.fileId);
      if (waiting && item.state === 'uploaded') {
        early.delete(waiting.fileId);
        applyEvent(waiting);
      }
      if (item.state === 'uploaded' || item.state === 'processed' || item.state === 'rejected')
        void files.load();
    }),
  );
  // `#file=<fileId>` opens that file's view: the failure emails link here.
  const openLinked = () => {
    const linked = /^#file=([\w-]{1,64})$/.exec(location.hash)?.[1];
    if (linked) void files.open(linked);
  };
  window.addEventListener('hashchange', openLinked);
  openLinked();
  const liveState = document.getElementById('live-state') as HTMLElement;
  client.subscribe({
    onEvent: applyEvent,
    // Events sent while the connection was down are lost: read the list again.
    onReconnect: () => void files.load(),
    onState: (state) => {
      liveState.hidden = false;
      liveState.dataset.state = state;
      liveState.textContent =
        state === 'open' ? 'Live' : state === 'closed' ? 'Offline' : 'Reconnecting…';
    },
    // The handshake's refusal carries no words of the server's: the library says why.
    onRefused: (error) => {
      liveState.dataset.state = 'refused';
      liveState.textContent = `Offline: ${error.message}`;
    },
  });
  const unfinished = () => client.uploader.journal.entries().map(([, entry]) => entry);
  const discard = (entry: { fileId: string; uploadId: string }) => {
    for (const [key, e] of client.uploader.journal.entries())
      if (e.fileId === entry.fileId) client.uploader.journal.delete(key);
    void client.api.abortUpload(entry.fileId, entry.uploadId).catch(() => undefined);
  };
  void files.load();
  return h(
    'div',
    { class: 'layout' },
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'add-title' },
      h('h2', { id: 'add-title' }, 'Add files'),
      dropZone,
      h('label', { class: 'inline' }, h('span', {}, 'Files at once'), concurrency),
    ),
    uploadsView(queue, unfinished, discard),
    files.element,
  );
};

const start = async () => {
  const response = await fetch('config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error(`config.json answered ${response.status}`);
  const config = (await response.json()) as ConsoleConfig;
  const client = new SyncFlowClient(config, {
    sessions: tabSessions(),
    journal: localStorageJournal(),
  });
  const who = document.getElementById('who') as HTMLElement;
  const signOut = document.getElementById('sign-out') as HTMLButtonElement;
  const show = () => {
    const session = client.auth.session;
    if (!session) {
      who.hidden = true;
      signOut.hidden = true;
      main.replaceChildren(signInView(client, config, show));
      return;
    }
    who.hidden = false;
    who.textContent = session.email;
    signOut.hidden = false;
    main.replaceChildren(appView(client));
    main.focus();
  };
  signOut.addEventListener('click', () => {
    client.auth.signOut();
    location.reload();
  });
  show();
};

start().catch((error: unknown) => {
  main.replaceChildren(
    h(
      'p',
      { class: 'error', role: 'alert' },
      `The console could not start: ${(error as Error).message}`,
    ),
  );
});
