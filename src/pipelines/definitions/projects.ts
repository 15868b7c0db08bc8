import { defineProjects } from '../../projects/schema';

/**
 * The app's projects and shared pools (docs/projects.md). Every pipeline without `project` is in
 * `default`, which may use any secret no other project claims and is read and operated with the
 * global Pipelines.Read / Pipelines.Operate roles. Declare a project to scope its secrets, its
 * roles and its alerts; declare a pool once for every pipeline that shares it, e.g.
 *
 *   projects: { finance: { secrets: { prefix: 'finance-' }, alerts: [{ on: ['failed'], channel: 'teams', webhook: { secret: 'finance-teams-webhook' } }] } },
 *   pools: { 'load-wh': { slots: 2, scope: 'step', description: 'COPY INTO on LOAD_WH' } },
 *
 * src/pipelines/examples/two-projects/ ships two projects sharing one pool (npm run demo -- --example two-projects).
 */
export const projectSetup = defineProjects({});
