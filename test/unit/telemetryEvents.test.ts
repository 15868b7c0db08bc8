/**
 * The run events built from a finished run's state (src/logging/events.ts): what the workbook's
 * rows will say for steps that were retried, skipped or failed with a long error.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { emitRunEvents, EVENT_SCHEMAS, type EventLog } from '../../src/logging/events';
import type { FinishRunInput } from '../../src/engine/runPipeline';
import type { RunState } from '../../src/engine/types';

interface Line { level: string; fields: Record<string, unknown>; msg: string }

function recorder(): { log: EventLog; lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (fields: object, msg: string) => void lines.push({ level, fields: fields as Record<string, unknown>, msg });
  return { log: { info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

const longError = 'x'.repeat(40_000);
const run: RunState = {
  runId: 'r1',
  pipeline: 'p',
  status: 'failed',
  pipelineAttempt: 1,
  startedAt: '2026-11-26T10:00:00.000Z',
  endedAt: '2026-11-26T10:10:00.000Z',
  durationSeconds: 600,
  error: { class: 'transient', message: longError, stepId: 'load' },
  steps: [
    {
      id: 'load',
      status: 'failed',
      attempts: [
        { attempt: 1, startedAt: '2026-11-26T10:00:00.000Z', endedAt: '2026-11-26T10:00:30.000Z', status: 'failed', error: { class: 'transient', message: 'busy' } },
        { attempt: 2, startedAt: '2026-11-26T10:02:30.000Z', endedAt: '2026-11-26T10:03:45.000Z', status: 'failed', error: { class: 'transient', message: longError } },
      ],
      metrics: { rowsLoaded: 7, filesLoaded: 1 },
      error: { class: 'transient', message: longError },
    },
    { id: 'transform', status: 'skipped', attempts: [] },
  ],
};
const input: FinishRunInput = { run, trigger: { kind: 'manual' }, parameters: {} };

describe('run events from a finished run', () => {
  test('one step.finished per step, then run.finished; failures at warn/error; every line matches its schema', () => {
    const { log, lines } = recorder();
    emitRunEvents(log, input);
    assert.deepEqual(lines.map((l) => [l.fields['event'], l.level, l.fields['stepId']]), [
      ['step.finished', 'warn', 'load'],
      ['step.finished', 'info', 'transform'],
      ['run.finished', 'error', undefined],
    ]);
    for (const line of lines) assert.ok(EVENT_SCHEMAS[line.fields['event'] as 'run.finished'].safeParse(line.fields).success);
  });

  test('a retried step spans its retry wait; its longest attempt is what the timeout bounds; a skipped step has no duration', () => {
    const { log, lines } = recorder();
    emitRunEvents(log, input);
    const [load, transform] = lines.map((l) => l.fields);
    assert.equal(load?.['attempts'], 2);
    assert.equal(load?.['failedAttempts'], 2);
    assert.equal(load?.['durationSeconds'], 225);
    assert.equal(load?.['longestAttemptSeconds'], 75);
    assert.deepEqual(load?.['metrics'], { rowsLoaded: 7, filesLoaded: 1 });
    assert.equal(transform?.['attempts'], 0);
    assert.equal(transform?.['durationSeconds'], undefined);
  });

  test('an error is cut so the line fits a traces message (32,768 characters)', () => {
    const { log, lines } = recorder();
    emitRunEvents(log, input);
    const runLine = lines.at(-1)?.fields;
    assert.equal(runLine?.['failedStep'], 'load');
    assert.equal(runLine?.['rowsLoaded'], 7);
    for (const line of lines) assert.ok(JSON.stringify(line.fields).length < 32_768);
    assert.equal((runLine?.['error'] as { message: string }).message.length, 2_001);
  });

  test('a run that has not ended logs nothing', () => {
    const { log, lines } = recorder();
    emitRunEvents(log, { ...input, run: { ...run, status: 'running' } });
    assert.deepEqual(lines, []);
  });
});
