import { mediaConvertJobSettings } from '../../domain/mediaconvert-settings.ts';
import { judgeMedia, transcodePlan, type VideoLimits } from '../../domain/video.ts';
import {
  type ProbeStepResult,
  transcodeTargets,
  type VideoJob,
} from '../../domain/video-workflow.ts';
import { type ByteRangeReader, probeMedia } from './probe.ts';

export interface ProbeStepDeps {
  /** Opens the job's object version for ranged reads (S3 in the function). */
  readonly open: (job: VideoJob) => Promise<ByteRangeReader>;
  readonly limits: VideoLimits;
}

/**
 * The workflow's first step: probes the original by byte ranges and decides what becomes of it.
 * A file that is not media (a JPEG named `.mp4`) or is over the stage's limits is REJECTED,
 * media cut short is FAILED, both with the reason; audio is kept as it is; a video gets the plan
 * both transcoders follow. Only our own failures (S3 unreachable) throw.
 */
export const probeStep = async (deps: ProbeStepDeps, job: VideoJob): Promise<ProbeStepResult> => {
  const reader = await deps.open(job);
  const { finding } = await probeMedia(reader);
  if (finding.kind === 'not-media') return { outcome: 'REJECTED', reason: finding.reason };
  if (finding.kind === 'damaged') return { outcome: 'FAILED', reason: finding.reason };
  const verdict = judgeMedia(finding.media, deps.limits);
  if (verdict.outcome === 'VIDEO') {
    const plan = transcodePlan(verdict.media);
    const targets = transcodeTargets(job);
    return { ...verdict, plan, targets, jobSettings: mediaConvertJobSettings(plan, targets) };
  }
  return verdict;
};
