/**
 * Names that are Object.prototype members (`__proto__`, `constructor`, `toString`, …) are refused
 * wherever a definition declares a name, with a message naming the field; lookups by such a name
 * find nothing rather than the prototype's member (issue 11, item 4).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RunTracker } from '../../src/engine/state';
import { loadCatalog } from '../../src/pipelines/catalog';
import { resolveParameters } from '../../src/pipelines/parameters';
import { pipelineSchema, type PipelineInput } from '../../src/pipelines/schema';
import { PipelineValidationError, validatePipeline } from '../../src/pipelines/validate';

const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype);

function definition(patch: Partial<PipelineInput> = {}): PipelineInput {
  return {
    name: 'names',
    title: 'Names',
    steps: [{ id: 'work', kind: 'activity', activity: 'work' }],
    ...patch,
  };
}

function problemsOf(input: unknown): { path: string; message: string }[] {
  const result = validatePipeline(input);
  assert.equal(result.ok, false, 'the definition was accepted');
  return result.ok ? [] : result.problems;
}

describe('prototype member names in definitions', () => {
  test('a step id "constructor" fails validation with a message naming the field', () => {
    const problems = problemsOf(definition({ steps: [{ id: 'constructor', kind: 'activity', activity: 'work' }] }));
    assert.deepEqual(problems, [
      { path: 'names.steps[0].id', message: 'step id "constructor" is reserved: it is a member of every JavaScript object (Object.prototype); choose another name' },
    ]);
  });

  test('every Object.prototype member that is otherwise a well-formed step id is refused', () => {
    const wellFormed = PROTOTYPE_NAMES.filter((name) => /^[A-Za-z][A-Za-z0-9_-]{0,62}$/.test(name));
    assert.ok(wellFormed.includes('toString') && wellFormed.includes('hasOwnProperty') && wellFormed.includes('valueOf'));
    for (const id of wellFormed) {
      const problems = problemsOf(definition({ steps: [{ id, kind: 'activity', activity: 'work' }] }));
      assert.ok(problems.some((p) => p.path === 'names.steps[0].id' && p.message.includes(`"${id}" is reserved`)), `${id}: ${JSON.stringify(problems)}`);
    }
  });

  test('a declared parameter named "constructor", "toString" or "__proto__" is refused at definition load', () => {
    // JSON.parse keeps "__proto__" as an own key, as a definition read from a file would have it.
    const input = JSON.parse(
      JSON.stringify(definition()).replace(/}$/, ',"parameters":{"constructor":{"type":"string"},"toString":{"type":"string"},"__proto__":{"type":"string"},"day":{"type":"date"}}}'),
    ) as unknown;
    assert.throws(
      () => loadCatalog([input as PipelineInput]),
      (error: unknown) => {
        assert.ok(error instanceof PipelineValidationError);
        const paths = error.problems.map((p) => p.path).sort();
        assert.deepEqual(paths, ['names.parameters.__proto__', 'names.parameters.constructor', 'names.parameters.toString']);
        assert.ok(error.problems.every((p) => /^parameter "[^"]+" is reserved/.test(p.message)));
        return true;
      },
    );
  });

  test('a schedule named "constructor", or setting a parameter "__proto__", is refused', () => {
    const input = JSON.parse(
      JSON.stringify(definition({ schedules: [{ name: 'constructor', cron: '0 2 * * *' }, { name: 'nightly', cron: '0 2 * * *' }] })).replace('"name":"nightly"', '"name":"nightly","parameters":{"__proto__":{"x":1}}'),
    ) as unknown;
    const problems = problemsOf(input);
    assert.deepEqual(
      problems.map((p) => p.path).sort(),
      ['names.schedules[0].name', 'names.schedules[1].parameters.__proto__'],
    );
    assert.match(problems.find((p) => p.path === 'names.schedules[0].name')?.message ?? '', /schedule name "constructor" is reserved/);
  });
});

describe('lookups by name use own properties only', () => {
  const pipeline = pipelineSchema.parse(definition({ parameters: { day: { type: 'date', default: '2026-03-01' } } }));

  test('run parameters named after prototype members are refused, never silently dropped', () => {
    for (const name of ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__']) {
      const given = JSON.parse(`{"${name}":"x"}`) as unknown;
      const result = resolveParameters(pipeline, given);
      assert.equal(result.ok, false, name);
      if (!result.ok) assert.deepEqual(result.problems.map((p) => p.path), [`parameters.${name}`]);
    }
    // A declared parameter is still filled from its default.
    assert.deepEqual(resolveParameters(pipeline, {}), { ok: true, parameters: { day: '2026-03-01' } });
  });

  test('a step whose id is a prototype member is not taken as reused from an earlier run', () => {
    // Built without validation, as a crafted run input could be.
    const tracker = new RunTracker({ runId: 'r', pipeline: { name: 'names', steps: [{ id: 'constructor' }, { id: 'toString' }] }, resumeFrom: { runId: 'r0', steps: {} } }, 0);
    assert.equal(tracker.status('constructor'), 'pending');
    assert.equal(tracker.status('toString'), 'pending');
  });
});
