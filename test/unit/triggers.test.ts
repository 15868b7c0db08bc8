/**
 * Event triggers without a host: definitions refused when they could never start a run, blob path
 * patterns, and exactly-once starts (the run id derives from what fired the trigger).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCatalog } from '../../src/pipelines/catalog';
import type { PipelineInput } from '../../src/pipelines/schema';
import { PipelineValidationError } from '../../src/pipelines/validate';
import type { TriggerEvent } from '../../src/triggers/history';
import { compilePattern, matchPattern, patternProblems } from '../../src/triggers/pathPattern';
import { fireDownstream } from '../../src/triggers/pipelineSucceeded';
import type { FirePorts } from '../../src/triggers/fire';

const upstream: PipelineInput = { name: 'load', title: 'Load', parameters: { day: { type: 'date', default: { run: 'logicalDate' } } }, steps: [{ id: 'copy', kind: 'activity', activity: 'noop' }] };
const downstream = (triggers: PipelineInput['triggers'], parameters: PipelineInput['parameters'] = { day: { type: 'date' } }): PipelineInput => ({
  name: 'report', title: 'Report', parameters, steps: [{ id: 'build', kind: 'activity', activity: 'noop' }], triggers,
});

function problems(inputs: PipelineInput[]): string {
  try {
    loadCatalog(inputs);
    return '';
  } catch (error) {
    assert.ok(error instanceof PipelineValidationError, String(error));
    return error.problems.map((p) => `${p.path}: ${p.message}`).join('\n');
  }
}

void describe('trigger definitions', () => {
  void test('a trigger that could never start its run is refused when the definitions load', () => {
    assert.match(problems([upstream, downstream([{ name: 'after', pipelineSucceeded: { pipeline: 'lod', parameters: { day: { upstream: 'logicalDate' } } } }])]), /report\.triggers\[0\]\.pipelineSucceeded\.pipeline: unknown pipeline "lod" \(known: load, report\)/);
    assert.match(problems([upstream, downstream([{ name: 'after', pipelineSucceeded: { pipeline: 'load', parameters: { day: { output: { step: 'nope', path: '$.x' } } } } }], { day: { type: 'date', default: '2026-01-01' } })]), /pipeline "load" has no step "nope" \(steps: copy\)/);
    assert.match(problems([upstream, downstream([{ name: 'after', pipelineSucceeded: { pipeline: 'load' } }])]), /report\.triggers\[0\]\.parameters\.day: required date parameter is missing: this trigger could never start a run/);
    assert.match(problems([upstream, downstream([{ name: 'landed', blobCreated: { container: 'exports', path: 'exports/{dya}/done.json' } }])]), /\{dya\} names no parameter of this pipeline \(declared: day\): the pattern could never start a run/);
    assert.match(problems([upstream, downstream([{ name: 'landed', blobCreated: { container: 'exports', path: '/exports/{day}/' } }])]), /starts with '\/'.*\n.*ends with '\/'/);
    assert.match(problems([upstream, downstream([{ name: 'landed', blobCreated: { container: 'Exports', path: '{day}.json' } }])]), /"Exports" is not a container name/);
    assert.match(problems([upstream, downstream([{ name: 'x', blobCreated: { container: 'exports', path: '{day}{hour}.json' } }], { day: { type: 'date' }, hour: { type: 'string' } })]), /\{hour\} follows another placeholder directly/);
    // A loop of triggers would start runs forever.
    const a: PipelineInput = { ...upstream, triggers: [{ name: 'after-report', pipelineSucceeded: { pipeline: 'report', parameters: {} } }] };
    assert.match(problems([a, downstream([{ name: 'after', pipelineSucceeded: { pipeline: 'load', parameters: { day: { upstream: 'logicalDate' } } } }])]), /pipeline triggers loop: (load → report → load|report → load → report)/);
    assert.equal(problems([upstream, downstream([{ name: 'after', pipelineSucceeded: { pipeline: 'load', parameters: { day: { upstream: 'logicalDate' } } } }])]), '');
  });

  void test('blob path patterns: placeholders take one segment, * one segment, ** any', () => {
    const p = compilePattern('exports/{day}/**/done-*.json');
    assert.deepEqual(matchPattern(p, 'exports/2026-03-27/a/b/done-1.json'), { day: '2026-03-27' });
    assert.deepEqual(matchPattern(p, 'exports/2026-03-27/done-x.json'), { day: '2026-03-27' });
    assert.equal(matchPattern(p, 'exports/2026/03/done-1.txt'), undefined);
    assert.equal(matchPattern(compilePattern('exports/{day}/done.json'), 'exports/a/b/done.json'), undefined);
    assert.equal(p.literalPrefix, 'exports/');
    assert.deepEqual(patternProblems('exports/{day}/done.json'), []);
  });
});

void describe('pipeline succeeded: exactly once per upstream run', () => {
  void test('the same upstream run ending twice (a retried activity) starts one downstream run', async () => {
    const catalog = loadCatalog([upstream, downstream([{ name: 'after', pipelineSucceeded: { pipeline: 'load', parameters: { day: { upstream: 'logicalDate' } } } }])]);
    const runs = new Map<string, unknown>();
    const events: TriggerEvent[] = [];
    const ports: FirePorts = {
      start: (s) => {
        if (runs.has(s.runId)) return Promise.resolve(false);
        runs.set(s.runId, s.parameters);
        return Promise.resolve(true);
      },
      record: (e) => {
        events.push(e);
        return Promise.resolve();
      },
      now: () => new Date('2026-03-28T06:00:00Z'),
      log: { info: () => undefined, error: () => undefined },
    };
    const ended = { run: { runId: 'sched:load:daily:20260327T0100Z', pipeline: 'load', status: 'succeeded' as const, steps: [] }, trigger: { kind: 'schedule' as const, scheduledFor: '2026-03-27T01:00:00Z' }, parameters: { day: '2026-03-27' } };
    assert.equal(await fireDownstream(ended, catalog, ports), 1);
    assert.equal(await fireDownstream(ended, catalog, ports), 0);
    assert.deepEqual([...runs.values()], [{ day: '2026-03-27' }]);
    assert.deepEqual(events.map((e) => e.outcome), ['started', 'duplicate']);
    assert.equal(await fireDownstream({ ...ended, run: { ...ended.run, status: 'failed' as const } }, catalog, ports), 0);
  });
});

void describe('cost of triggers and waits', () => {
  void test('a blob trigger and waiting steps get their own lines, counted from the definitions', async () => {
    const { estimateMonthlyCost, readInfraParameters, seedRunMeasurement, shippedPrices } = await import('../../src/cost');
    const landing: PipelineInput = {
      name: 'landing', title: 'Landing', parameters: { day: { type: 'date' } },
      triggers: [{ name: 'done', blobCreated: { container: 'exports', path: 'daily/{day}/done.json' } }],
      steps: [
        { id: 'wait', kind: 'waitFor', blob: { container: 'https://a.blob.core.windows.net/c', path: 'x' }, checkEvery: { initial: '1m', factor: 2, max: '15m' } },
        { id: 'ok', kind: 'approval', dependsOn: ['wait'] },
      ],
    };
    const catalog = loadCatalog([landing]);
    const e = estimateMonthlyCost({ pipelines: catalog.pipelines, infra: await readInfraParameters('.'), measurement: seedRunMeasurement(), prices: shippedPrices() });
    const grid = e.lines.find((l) => l.name === 'Event Grid (blob-created triggers)');
    assert.match(grid?.basis ?? '', /1 blob triggers × 31 events .* = 93; 100,000 free/);
    assert.equal(grid?.monthly, 0);
    const waits = e.lines.find((l) => l.name === 'Waiting steps (waitFor, approval)');
    // 60 min: waitFor checks at 0, 1, 3, 7, 15, 30, 45, 60 min = 8; approval every 60 s = 61.
    assert.match(waits?.basis ?? '', /landing\.wait: 31 runs × 8 checks, landing\.ok: 31 runs × 61 checks .* = 2,139 checks/);
    assert.ok((waits?.monthly ?? 0) > 0);
  });
});
