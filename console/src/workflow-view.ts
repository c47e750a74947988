import {
  ApiError,
  type FileWorkflow,
  type SyncFlowApi,
  type WorkflowStep,
} from '../../client/src/index.ts';
import { formatDuration, h } from './dom.ts';

/** How often an open detail asks again while the execution runs. */
const POLL_MS = 2000;
/**
 * How long a video still queued or PROCESSING may go without an execution before the view stops
 * asking: the hand-off follows the processor's claim within seconds.
 */
const WAIT_FOR_HANDOFF_MS = 60_000;

/** `350 ms`, `4.2 s`, `3 min 5 s`: a step's time, finer than a file's. */
const formatStepTime = (ms: number): string =>
  ms < 1000 ? `${ms} ms` : ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : formatDuration(ms / 1000);

const stepItem = (step: WorkflowStep): HTMLLIElement =>
  h(
    'li',
    { class: 'step', 'data-status': step.status, 'data-testid': 'workflow-step' },
    h('span', { class: 'step-name' }, step.name),
    h('span', { class: 'badge', 'data-status': step.status }, step.status.toLowerCase()),
    h(
      'span',
      { class: 'step-time' },
      step.durationMs !== null ? formatStepTime(step.durationMs) : 'running…',
      step.retries > 0 ? ` · ${step.retries} ${step.retries === 1 ? 'retry' : 'retries'}` : '',
    ),
    step.error
      ? h(
          'span',
          { class: 'reason' },
          step.error.cause ? `${step.error.error}: ${step.error.cause}` : step.error.error,
        )
      : null,
  );

/**
 * A video's Step Functions execution in the file's detail: each state it entered, in order, with
 * its status and time. Asks again every two seconds while the execution runs (or while a video
 * being processed waits for its hand-off) and stops once it ended or the detail closed.
 */
export class WorkflowView {
  readonly element: HTMLElement;
  private readonly summary = h('p', {
    class: 'workflow-summary',
    'data-testid': 'workflow-status',
  });
  private readonly list = h('ol', { class: 'steps', 'aria-label': 'Workflow steps' });
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly controller = new AbortController();
  private readonly since = Date.now();

  constructor(
    private readonly api: SyncFlowApi,
    private readonly fileId: string,
    /** The file waits for or is in a run (not uploaded yet, queued, PROCESSING): its execution may come. */
    private readonly waiting: boolean,
  ) {
    this.element = h(
      'section',
      {
        class: 'workflow',
        'aria-labelledby': 'workflow-title',
        'aria-busy': 'true',
        'data-testid': 'workflow',
      },
      h('h3', { id: 'workflow-title' }, 'Workflow'),
      this.summary,
      this.list,
    );
    this.summary.textContent = 'Reading the workflow…';
    void this.refresh();
  }

  /** Stops asking (the detail closed or shows another file). */
  stop(): void {
    this.controller.abort();
    clearTimeout(this.timer);
  }

  private async refresh(): Promise<void> {
    let workflow: FileWorkflow | undefined;
    let again = false;
    try {
      workflow = await this.api.getFileWorkflow(this.fileId, this.controller.signal);
      again = workflow.status === 'RUNNING';
    } catch (error) {
      if (this.controller.signal.aborted) return;
      if (error instanceof ApiError && error.status === 404) {
        again = this.waiting && Date.now() - this.since < WAIT_FOR_HANDOFF_MS;
        this.summary.textContent = again
          ? 'Waiting for the workflow to start…'
          : 'No workflow has run for this file.';
      } else {
        // 503 and network errors: said, and asked again (the client already retried).
        again = true;
        this.summary.textContent = `Could not read the workflow: ${(error as Error).message}`;
      }
    }
    if (this.controller.signal.aborted) return;
    if (workflow) this.show(workflow);
    if (again) {
      this.timer = setTimeout(() => void this.refresh(), POLL_MS);
    } else {
      this.element.removeAttribute('aria-busy');
    }
  }

  private show(workflow: FileWorkflow): void {
    const took =
      workflow.stoppedAt !== null
        ? ` in ${formatStepTime(Date.parse(workflow.stoppedAt) - Date.parse(workflow.startedAt))}`
        : '';
    this.element.dataset.status = workflow.status;
    this.summary.replaceChildren(
      h('span', { class: 'badge', 'data-status': workflow.status }, workflow.status.toLowerCase()),
      ` ${workflow.name}${took}`,
      workflow.error
        ? h(
            'span',
            { class: 'reason' },
            workflow.error.cause
              ? `${workflow.error.error}: ${workflow.error.cause}`
              : workflow.error.error,
          )
        : '',
      workflow.truncated ? h('span', { class: 'reason' }, 'Only the first steps are shown.') : '',
    );
    this.list.replaceChildren(...workflow.steps.map(stepItem));
  }
}
