/**
 * The host.json settings the development host honours. Only `extensions.durableTask` matters here:
 * `overridableExistingInstanceStates` decides whether startNew may reuse an instance id.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

export type OverridableStates = 'NonRunningStates' | 'AnyState';

export interface DurableHostSettings {
  readonly overridableExistingInstanceStates: OverridableStates;
  readonly hubName: string;
}

const hostJsonSchema = z.looseObject({
  extensions: z
    .looseObject({
      durableTask: z
        .looseObject({
          hubName: z.string().optional(),
          overridableExistingInstanceStates: z.string().optional(),
        })
        .optional(),
    })
    .optional(),
});

export function readDurableSettings(hostJson: unknown): DurableHostSettings {
  const parsed = hostJsonSchema.parse(hostJson ?? {});
  const durable = parsed.extensions?.durableTask;
  const raw = durable?.overridableExistingInstanceStates;
  let overridable: OverridableStates = 'NonRunningStates';
  if (raw !== undefined) {
    if (/^anystate$/i.test(raw)) overridable = 'AnyState';
    else if (/^nonrunningstates$/i.test(raw)) overridable = 'NonRunningStates';
    else throw new Error(`host.json: extensions.durableTask.overridableExistingInstanceStates "${raw}" is not NonRunningStates or AnyState`);
  }
  return { overridableExistingInstanceStates: overridable, hubName: resolveSetting(durable?.hubName) ?? 'DevHostHub' };
}

/** host.json values like `%DURABLE_TASK_HUB%` name an app setting. */
function resolveSetting(value: string | undefined): string | undefined {
  const match = value === undefined ? null : /^%([^%]+)%$/.exec(value);
  if (!match) return value;
  const resolved = process.env[match[1] ?? ''];
  return resolved === undefined || resolved === '' ? undefined : resolved;
}

/** host.json from an explicit object, an explicit path, or ./host.json when present. */
export function loadHostJson(options: { hostJson?: unknown; hostJsonPath?: string }): unknown {
  if (options.hostJson !== undefined) return options.hostJson;
  const path = resolve(options.hostJsonPath ?? 'host.json');
  if (!existsSync(path)) {
    if (options.hostJsonPath !== undefined) throw new Error(`host.json not found at ${path}`);
    return {};
  }
  return JSON.parse(readFileSync(path, 'utf8')) as unknown;
}
