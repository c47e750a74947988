import { describe, expect, it } from 'vitest';
import { lambdaArn, renderVideoDefinition } from '../../support/video-definition.ts';

const arns = {
  probe: lambdaArn('probe'),
  transcode: lambdaArn('transcode'),
  poster: lambdaArn('poster'),
  record: lambdaArn('record'),
  publish: lambdaArn('publish'),
  fail: lambdaArn('fail'),
};

describe.each(['local', 'mediaconvert'] as const)('the video workflow (%s)', (transcoder) => {
  const asl = renderVideoDefinition(arns, transcoder);
  const tasks = Object.entries(asl.States).filter(([, s]) => s.Type === 'Task');

  it('gives every task a timeout and catches every error into the one failure path', () => {
    // MediaConvert's path copies the checked version first (StageSource).
    expect(tasks.length).toBe(transcoder === 'local' ? 6 : 7);
    for (const [name, state] of tasks) {
      expect(state.TimeoutSeconds, name).toBeGreaterThan(0);
      if (name === 'RecordFailure') continue;
      expect(state.Catch, name).toEqual([
        { ErrorEquals: ['States.ALL'], Next: 'RecordFailure', ResultPath: '$.error' },
      ]);
    }
    // The failure path records the reason, then fails the execution (the alarm sees it).
    expect(asl.States.RecordFailure?.Next).toBe('Failed');
    expect(asl.States.Failed?.Type).toBe('Fail');
  });

  it('retries Lambda’s transient errors and throttling on every function task', () => {
    for (const [name, state] of tasks.filter(([, s]) => s.Resource?.includes(':lambda:'))) {
      const retried = (state.Retry ?? []).flatMap((r) => r.ErrorEquals);
      expect(retried, name).toEqual(
        expect.arrayContaining([
          'Lambda.ServiceException',
          'Lambda.ClientExecutionTimeoutException',
          'Lambda.TooManyRequestsException',
        ]),
      );
    }
  });

  it('runs probe → (video) transcode → poster → record → publish, others straight to record', () => {
    expect(asl.StartAt).toBe('Probe');
    expect(asl.States.Probe?.Next).toBe('IsVideo');
    if (transcoder === 'local') {
      expect(asl.States.IsVideo?.Choices?.[0]?.Next).toBe('Transcode');
    } else {
      // MediaConvert cannot be given a version: the checked one is copied where the job reads.
      expect(asl.States.IsVideo?.Choices?.[0]?.Next).toBe('StageSource');
      expect(asl.States.StageSource?.Next).toBe('Transcode');
      expect(asl.States.StageSource?.Resource).toBe(lambdaArn('stage-source'));
    }
    expect(asl.States.IsVideo?.Default).toBe('Record');
    expect(asl.States.Transcode?.Next).toBe('Poster');
    expect(asl.States.Poster?.Next).toBe('Record');
    expect(asl.States.Record?.Next).toBe('Publish');
    expect(asl.States.Publish?.Next).toBe('Done');
  });

  it('transcodes with the stage’s transcoder', () => {
    const transcode = asl.States.Transcode;
    if (transcoder === 'local') {
      expect(transcode?.Resource).toBe(arns.transcode);
    } else {
      expect(transcode?.Resource).toBe('arn:aws:states:::mediaconvert:createJob.sync');
      expect(transcode?.Parameters).toMatchObject({
        Role: 'arn:aws:iam::000000000000:role/mediaconvert',
        JobTemplate: 'syncflow-web',
        'Settings.$': '$.probe.jobSettings',
        StatusUpdateInterval: 'SECONDS_10',
        UserMetadata: { 'fileId.$': '$.job.fileId', 'objectVersion.$': '$.job.objectVersion' },
      });
    }
  });
});
