/**
 * Asterai notebook: highlight each `%%asterai LANG` cell in its own language.
 *
 * JupyterLab 4 highlights every code cell of a notebook in the kernel's language (IPython here). This
 * plugin watches each code cell's source and, when its first line is `%%asterai LANG ...`, sets that cell's
 * editor mime type to LANG's CodeMirror language; when the magic goes away the cell gets the notebook's
 * mime type back. It makes no network calls: CodeMirror languages load from JupyterLab's own bundles.
 *
 * Two races are avoided (DESIGN.md section 6). The editor loads a language asynchronously after each mime
 * type change and the last load to finish wins, so (1) a language is loaded *before* the mime type is set,
 * and a newer edit of the same cell supersedes an older pending one; (2) when the notebook resets every
 * cell to its own mime type (it does on each `language_info` change, e.g. when the kernel starts), the
 * cell's language is re-applied only after the notebook's language has loaded and its editor update has run.
 * The magic is matched only once its line is complete (a newline follows it): while `%%asterai cpp` is
 * being typed, the cell does not flash through C on the way.
 */

import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICellModel } from '@jupyterlab/cells';
import { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import { INotebookModel, INotebookTracker, Notebook, NotebookPanel } from '@jupyterlab/notebook';

import table from './languages.json';

const PLUGIN_ID = 'asterai-jupyterlab:highlight';
const PLAIN = 'none'; // the registry's plain-text language (mime text/plain)

interface ILanguageEntry {
  aliases: string[];
  editor: string;
  fallback?: string;
}

/** Canonical cell language -> CodeMirror language name; the kernel can add languages at run time. */
const editorNames = new Map<string, string[]>();
/** Name or alias as written after `%%asterai` (lower case) -> canonical language. */
const canonical = new Map<string, string>();

function addLanguage(name: string, entry: ILanguageEntry): void {
  const key = name.toLowerCase();
  editorNames.set(key, [entry.editor, entry.fallback ?? PLAIN]);
  canonical.set(key, key);
  for (const alias of entry.aliases) {
    canonical.set(alias.toLowerCase(), key);
  }
}

for (const [name, entry] of Object.entries(table.languages as Record<string, ILanguageEntry>)) {
  addLanguage(name, entry);
}

/** What the Asterai kernel's kernel_info reply says under `asterai`. */
interface IKernelLanguages {
  languages?: unknown;
  aliases?: unknown;
}

/** Adds the kernel's languages and aliases the table lacks; whether anything was added. */
function learnLanguages(info: IKernelLanguages): boolean {
  let added = false;
  for (const name of Array.isArray(info.languages) ? info.languages : []) {
    if (typeof name === 'string' && !editorNames.has(name.toLowerCase())) {
      addLanguage(name, { aliases: [], editor: name });
      added = true;
    }
  }
  const aliases = info.aliases;
  if (aliases && typeof aliases === 'object' && !Array.isArray(aliases)) {
    for (const [name, list] of Object.entries(aliases as Record<string, unknown>)) {
      const key = canonical.get(name.toLowerCase());
      for (const alias of Array.isArray(list) ? list : []) {
        if (key && typeof alias === 'string' && !canonical.has(alias.toLowerCase())) {
          canonical.set(alias.toLowerCase(), key);
          added = true;
        }
      }
    }
  }
  return added;
}

/**
 * The canonical language named by a cell's `%%asterai LANG` line, or null. Leading blank lines are
 * allowed (IPython drops them); the magic line must be complete, i.e. followed by a newline.
 */
function magicLanguage(source: string): string | null {
  const match = /^(?:[ \t]*\r?\n)*%%asterai[ \t]+([^\s]+)[^\n]*\n/.exec(source);
  return match ? (canonical.get(match[1].toLowerCase()) ?? null) : null;
}

/** Per code cell: what we set last, and a counter so that only the newest pending update applies. */
interface ICellState {
  wanted: string | null;
  generation: number;
}

function nextTask(): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, 0));
}

class Highlighter {
  private readonly states = new WeakMap<ICellModel, ICellState>();

  constructor(private readonly languages: IEditorLanguageRegistry) {}

  /** The mime type for a canonical language: its CodeMirror language, else the fallback, else plain. */
  mimeFor(language: string): string {
    for (const name of editorNames.get(language) ?? [PLAIN]) {
      const spec = this.languages.findByName(name);
      if (spec) {
        return typeof spec.mime === 'string' ? spec.mime : spec.mime[0];
      }
    }
    return 'text/plain';
  }

  watchNotebook(panel: NotebookPanel): void {
    const notebook = panel.content;
    const attach = (model: INotebookModel | null): void => {
      if (!model) {
        return;
      }
      for (let i = 0; i < model.cells.length; i++) {
        this.watchCell(notebook, model.cells.get(i));
      }
      model.cells.changed.connect((_, change) => {
        if (change.type === 'add' || change.type === 'set') {
          for (const cell of change.newValues) {
            this.watchCell(notebook, cell);
          }
        }
      });
    };
    attach(notebook.model);
    notebook.modelChanged.connect(() => attach(notebook.model));
    // Languages the kernel reports (kernel_info's `asterai.languages`, and `asterai.aliases` as
    // {name: [alias, ...]} where the kernel sends it) highlight too; a name missing from the static table
    // is looked up by name in JupyterLab's registry.
    const readKernel = (): void => {
      const kernel = panel.sessionContext.session?.kernel;
      void kernel?.info
        .then(reply => {
          const info = (reply as unknown as { asterai?: IKernelLanguages }).asterai;
          if (info && learnLanguages(info)) {
            this.refresh(notebook);
          }
        })
        .catch(() => undefined); // no kernel_info (kernel gone): the static table stands
    };
    panel.sessionContext.kernelChanged.connect(readKernel);
    void panel.sessionContext.ready.then(readKernel);
  }

  private refresh(notebook: Notebook): void {
    const model = notebook.model;
    for (let i = 0; model && i < model.cells.length; i++) {
      const cell = model.cells.get(i);
      if (this.states.has(cell)) {
        void this.update(notebook, cell, false);
      }
    }
  }

  private watchCell(notebook: Notebook, cell: ICellModel): void {
    if (cell.type !== 'code' || this.states.has(cell)) {
      return;
    }
    this.states.set(cell, { wanted: null, generation: 0 });
    cell.sharedModel.changed.connect((_, change) => {
      if (change.sourceChange) {
        void this.update(notebook, cell, false);
      }
    });
    cell.mimeTypeChanged.connect((_, change) => {
      const state = this.states.get(cell);
      if (state?.wanted && change.newValue !== state.wanted) {
        // The notebook reset it (language_info changed, or the cell widget was created): put it back.
        void this.update(notebook, cell, true);
      }
    });
    void this.update(notebook, cell, false);
  }

  private async update(notebook: Notebook, cell: ICellModel, reset: boolean): Promise<void> {
    const state = this.states.get(cell);
    if (!state) {
      return;
    }
    const generation = ++state.generation;
    const language = magicLanguage(cell.sharedModel.getSource());
    if (language === null && state.wanted === null) {
      return; // never ours: the notebook manages it
    }
    const mime = language === null ? notebook.codeMimetype : this.mimeFor(language);
    try {
      if (reset) {
        // Let the editor finish loading the language the notebook just set before ours replaces it.
        await this.languages.getLanguage(cell.mimeType);
        await nextTask();
      }
      await this.languages.getLanguage(mime);
    } catch {
      // A language that fails to load: the editor shows plain text, as JupyterLab does itself.
    }
    if (generation !== state.generation) {
      return; // a newer edit of this cell is being applied
    }
    state.wanted = language === null ? null : mime;
    if (cell.mimeType !== mime) {
      cell.mimeType = mime;
    }
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Highlights each %%asterai LANG notebook cell in its own language.',
  autoStart: true,
  requires: [INotebookTracker, IEditorLanguageRegistry],
  activate: (_app: JupyterFrontEnd, tracker: INotebookTracker, languages: IEditorLanguageRegistry) => {
    const highlighter = new Highlighter(languages);
    tracker.forEach(panel => highlighter.watchNotebook(panel));
    tracker.widgetAdded.connect((_, panel) => highlighter.watchNotebook(panel));
  }
};

export default plugin;
