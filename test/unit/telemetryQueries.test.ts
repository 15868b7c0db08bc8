/**
 * Every KQL query in infra and the docs goes through Kusto's own parser and semantic checker
 * (npm @kusto/language-service-next) against Application Insights' `traces`, `requests`,
 * `customEvents`… columns, and every event field it reads is one that src/logging/events.ts
 * defines. The integration test test/integration/telemetry.test.ts checks the app really logs them.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { checkKql } from '../support/kql';
import { allQueries, eventFieldsRead, queryFiles, readsEvents } from '../support/kqlSources';
import { EVENT_SCHEMAS } from '../../src/logging/events';

/** Whether `path` names a field of the event schema (optional wrappers unwrapped, records open). */
function defines(schema: z.ZodType, path: readonly string[]): boolean {
  let current: z.ZodType = schema;
  for (const key of path) {
    while (current instanceof z.ZodOptional) current = current.unwrap() as z.ZodType;
    if (current instanceof z.ZodRecord) return true;
    if (!(current instanceof z.ZodObject)) return false;
    const next = (current.shape as Record<string, z.ZodType | undefined>)[key];
    if (!next) return false;
    current = next;
  }
  return true;
}

/** The field paths a query reads that none of the events it names defines. */
function undefinedFields(query: string): string[] {
  const read = eventFieldsRead(query);
  return read.fields.filter((path) => !read.events.some((name) => defines(EVENT_SCHEMAS[name], path))).map((p) => `e.${p.join('.')}`);
}

const queries = allQueries();

describe('KQL in infra and docs, checked by Kusto’s language service', () => {
  test('the sources are found: the five query files, the workbook’s four, the alert’s one, and the docs’ blocks', () => {
    assert.equal(queryFiles().length, 5);
    assert.equal(queries.filter((q) => q.path.includes('workbook.json:')).length, 4);
    assert.equal(queries.filter((q) => q.path.includes('alerts.bicep')).length, 1);
    assert.ok(queries.filter((q) => q.path.startsWith('docs/monitoring.md#')).length >= 5);
  });

  for (const query of queries) {
    test(`${query.path} parses and type-checks`, () => {
      assert.deepEqual(checkKql(query.text), []);
    });
  }

  test('a misspelt column, table or function fails the check, naming it', () => {
    const [first] = queryFiles();
    assert.ok(first);
    const column = checkKql(first.text.replace('timestamp', 'timestmap'));
    assert.ok(column.some((p) => p.severity === 'Error' && p.at === 'timestmap' && p.message.includes("'timestmap'")), JSON.stringify(column));
    const table = checkKql(first.text.replace(/^traces$/m, 'trace'));
    assert.ok(table.some((p) => p.severity === 'Error' && p.at === 'trace'), JSON.stringify(table));
    const fn = checkKql('traces | extend e = parse_jsn(message)');
    assert.ok(fn.some((p) => p.severity === 'Error' && p.at === 'parse_jsn'), JSON.stringify(fn));
    // A workspace column name is not an Application Insights one.
    assert.ok(checkKql('traces | where TimeGenerated > ago(1d)').some((p) => p.at === 'TimeGenerated'));
  });
});

describe('event fields the queries read are the ones src/logging/events.ts defines', () => {
  for (const query of queries.filter((q) => readsEvents(q.text))) {
    test(`${query.path}`, () => {
      assert.ok(eventFieldsRead(query.text).events.length > 0, 'names no event');
      assert.deepEqual(undefinedFields(query.text), []);
    });
  }

  test('a misspelt event field or an unknown event fails', () => {
    const query = 'traces | extend e = parse_json(message) | where tostring(e.event) == "run.finished" | project todouble(e.durationSecond), e.error.mesage';
    assert.deepEqual(undefinedFields(query), ['e.durationSecond', 'e.error.mesage']);
    assert.deepEqual(eventFieldsRead('traces | extend e = parse_json(message) | where tostring(e.event) == "run.finish"').events, []);
  });
});

describe('the Azure Monitor alert costs cents', () => {
  test('the failed/late rule is evaluated every 15 minutes or less often, split by pipeline only', () => {
    const bicep = readFileSync('infra/app/alerts.bicep', 'utf8');
    const minutes = Number(/evaluationFrequency: 'PT(\d+)M'/.exec(bicep)?.[1]);
    assert.ok(minutes >= 15, `evaluated every ${minutes} minutes`);
    const dimensions = [...bicep.matchAll(/\{ name: '(\w+)', operator: 'Include'/g)].map((m) => m[1]);
    assert.deepEqual(dimensions, ['pipeline']);
  });
});
