import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { type VideoJob, videoExecutionName } from '../domain/video-workflow.ts';

/** What starting a file's video execution did. */
export interface VideoStart {
  /** False when an execution of that name existed already (a replayed event, a redelivery). */
  readonly started: boolean;
  readonly executionArn: string;
}

/**
 * What every execution ARN of a state machine begins with:
 * `arn:aws:states:region:account:stateMachine:Name` → `…:execution:Name:`.
 */
export const executionArnPrefix = (stateMachineArn: string): string =>
  `${stateMachineArn.replace(':stateMachine:', ':execution:')}:`;

/**
 * Starts the video workflow for one file version, named by `videoExecutionName`. Step
 * Functions keeps a Standard machine's execution names for 90 days: a second start of the same
 * name answers the running execution (same input) or `ExecutionAlreadyExists` (finished, or
 * other input). Either way no second execution runs, and this says so instead of failing.
 */
export const startVideoWorkflow = async (
  sfn: SFNClient,
  stateMachineArn: string,
  job: VideoJob,
): Promise<VideoStart> => {
  const name = videoExecutionName(job);
  const executionArn = `${executionArnPrefix(stateMachineArn)}${name}`;
  try {
    const response = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify({ job }) }),
    );
    return { started: true, executionArn: response.executionArn ?? executionArn };
  } catch (error) {
    if ((error as Error).name === 'ExecutionAlreadyExists') return { started: false, executionArn };
    throw error;
  }
};
