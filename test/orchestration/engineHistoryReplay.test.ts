/**
 * Issue 26, engine code versioning: histories recorded from earlier engines (test/fixtures/
 * histories/engine-<n>.json, recorded by record.ts in the development host) replay on the engine
 * that ships without a non-determinism error — the same actions at every wake-up. These are the
 * runs a deploy finds in flight: an engine change that fails this test would break them, and must
 * ship under new orchestrator names instead (src/engine/README.md, "Engine versions").
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { replayFromScratch } from '../../src/devhost';
import type { HistoryEvent } from '../../src/devhost/history';
import { engineOrchestrators } from '../../src/engine';
import type { PipelineDefinition } from '../../src/pipelines/schema';

interface HistorySet {
  readonly recordedWith: string;
  readonly definitions: Readonly<Record<string, PipelineDefinition>>;
  readonly instances: readonly { readonly instanceId: string; readonly name: string; readonly executions: readonly (readonly HistoryEvent[])[] }[];
}

const folder = join(__dirname, '..', 'fixtures', 'histories');
const sets = readdirSync(folder).filter((f) => /^engine-\d+\.json$/.test(f)).sort();

describe('recorded histories replay on the shipped engine', () => {
  test('there is at least one recorded set', () => assert.ok(sets.length > 0));
  test('the recorded sets cover a continue-as-new (an instance with more than one execution)', () => {
    const continued = sets.flatMap((file) =>
      (JSON.parse(readFileSync(join(folder, file), 'utf8')) as HistorySet).instances.filter((i) => i.executions.length > 1).map((i) => `${file}: ${i.instanceId} (${i.name}, ${i.executions.length} executions)`),
    );
    assert.ok(continued.length > 0, 'no recorded history continues as new');
  });
  for (const file of sets) {
    test(`${file}: every execution replays to the actions it recorded`, async () => {
      const set = JSON.parse(readFileSync(join(folder, file), 'utf8')) as HistorySet;
      const handlers = new Map(engineOrchestrators({ definitions: { get: (version) => set.definitions[version] } }).map((o) => [o.name, o] as const));
      const problems: string[] = [];
      let executions = 0;
      for (const instance of set.instances) {
        const registration = handlers.get(instance.name);
        if (!registration) {
          problems.push(`${instance.instanceId}: orchestrator "${instance.name}" is no longer registered`);
          continue;
        }
        for (const [n, history] of instance.executions.entries()) {
          executions++;
          const report = await replayFromScratch(registration, history, instance.instanceId);
          for (const m of report.mismatches) problems.push(`${instance.instanceId} (${instance.name}) execution ${n}: ${m}`);
        }
      }
      assert.deepEqual(problems, []);
      assert.ok(executions > 20, `${executions} executions replayed`);
    });
  }
});
