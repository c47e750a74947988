import { h } from './dom.ts';

/** A file and where it sat in a dropped or chosen folder. */
export interface ChosenFile {
  readonly file: File;
  readonly path: string;
}

/** The event a drop zone fires; it decides nothing itself. */
export class FilesChosenEvent extends Event {
  constructor(readonly files: ChosenFile[]) {
    super('files-chosen', { bubbles: true });
  }
}

const readEntries = (reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> =>
  new Promise((resolve, reject) => reader.readEntries(resolve, reject));

/** Every file under a dropped entry, folders walked (a reader gives at most 100 per call). */
const walk = async (entry: FileSystemEntry, prefix = ''): Promise<ChosenFile[]> => {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) =>
      (entry as FileSystemFileEntry).file(resolve, reject),
    );
    return [{ file, path: `${prefix}${file.name}` }];
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  const found: ChosenFile[] = [];
  for (let batch = await readEntries(reader); batch.length > 0; batch = await readEntries(reader)) {
    for (const child of batch) found.push(...(await walk(child, `${prefix}${entry.name}/`)));
  }
  return found;
};

/**
 * `<sf-drop-zone>`: gathers files dropped on it (folders included) or picked with its two
 * buttons, and fires `files-chosen`. It uploads nothing: the page decides what to do.
 * Its state shows as the `dragover` attribute, styled by CSS.
 */
export class DropZone extends HTMLElement {
  connectedCallback(): void {
    if (this.childElementCount > 0) return;
    const files = h('input', {
      type: 'file',
      multiple: true,
      hidden: true,
      'data-testid': 'file-input',
    });
    const folder = h('input', {
      type: 'file',
      multiple: true,
      hidden: true,
      webkitdirectory: true,
      'data-testid': 'folder-input',
    });
    const pick = (input: HTMLInputElement) => () => input.click();
    const chosen = (input: HTMLInputElement) => () => {
      const list = [...(input.files ?? [])].map((file) => ({
        file,
        path: file.webkitRelativePath || file.name,
      }));
      input.value = '';
      if (list.length > 0) this.dispatchEvent(new FilesChosenEvent(list));
    };
    files.addEventListener('change', chosen(files));
    folder.addEventListener('change', chosen(folder));
    this.setAttribute('role', 'group');
    this.setAttribute('aria-label', 'Add files');
    this.append(
      h('p', { class: 'drop-hint' }, 'Drop files or folders here, or'),
      h(
        'div',
        { class: 'drop-actions' },
        h('button', { type: 'button', onclick: pick(files) }, 'Choose files'),
        h('button', { type: 'button', onclick: pick(folder) }, 'Choose a folder'),
      ),
      files,
      folder,
    );
    this.addEventListener('dragover', (event) => {
      event.preventDefault();
      this.toggleAttribute('dragover', true);
    });
    this.addEventListener('dragleave', () => this.toggleAttribute('dragover', false));
    this.addEventListener('drop', (event) => {
      event.preventDefault();
      this.toggleAttribute('dragover', false);
      void this.gather(event.dataTransfer);
    });
  }

  private async gather(data: DataTransfer | null): Promise<void> {
    if (!data) return;
    const entries = [...data.items]
      .map((item) => item.webkitGetAsEntry?.())
      .filter((entry): entry is FileSystemEntry => Boolean(entry));
    const chosen =
      entries.length > 0
        ? (await Promise.all(entries.map((entry) => walk(entry)))).flat()
        : [...data.files].map((file) => ({ file, path: file.name }));
    if (chosen.length > 0) this.dispatchEvent(new FilesChosenEvent(chosen));
  }
}

if (!customElements.get('sf-drop-zone')) customElements.define('sf-drop-zone', DropZone);
